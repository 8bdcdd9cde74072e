"""``organizations.compliance.noncompliance``: the reasons a live token would not comply with a
candidate policy: ``lifetime``, ``allowlist`` (recent use, or its own list, outside the candidate's),
``inactivity`` (unused longer than the candidate's ``inactivity_days``). Never ``scopes``: the policy
has no scope field."""

from __future__ import annotations

import pytest

from tests.unit.conftest import NOW, epoch, in_days, iso
from tokensmith.organizations.compliance import noncompliance

EMPTY = {"allowed_cidrs": [], "max_lifetime_days": None, "require_expiry": False, "inactivity_days": None}


def policy(**fields):
    return {**EMPTY, **fields}


def token(**fields):
    return {
        "id": "t",
        "status": "active",
        "created_at": iso(in_days(-1)),
        "expires_epoch": epoch(in_days(30)),
        **fields,
    }


def test_an_empty_policy_finds_nothing_wrong_with_any_token():
    assert noncompliance(policy(), token(expires_epoch=None, scopes=["admin"]), NOW) == []


@pytest.mark.parametrize(
    ("candidate", "expires_epoch", "reasons"),
    [
        (policy(max_lifetime_days=60), epoch(in_days(30)), []),
        (policy(max_lifetime_days=10), epoch(in_days(30)), ["lifetime"]),
        (policy(max_lifetime_days=60), None, ["lifetime"]),
        (policy(require_expiry=True), None, ["lifetime"]),
        (policy(require_expiry=True), epoch(in_days(3000)), []),
    ],
)
def test_lifetime_is_an_expiry_missing_or_later_than_now_plus_max_lifetime_days(candidate, expires_epoch, reasons):
    assert noncompliance(candidate, token(expires_epoch=expires_epoch), NOW) == reasons


@pytest.mark.parametrize(
    ("used", "reasons"),
    [
        ({}, []),  # never used, no list of its own: nothing says it is used elsewhere
        ({"last_used_ip": "192.0.2.9"}, []),
        ({"last_used_ip": "198.51.100.9"}, ["allowlist"]),
        ({"last_used_ip": "2001:db8::1"}, ["allowlist"]),
        ({"last_used_ip": "192.0.2.9", "networks": [{"network": "198.51.100.0/24"}]}, ["allowlist"]),
        ({"networks": [{"network": "192.0.2.0/24"}]}, []),
        ({"allowed_cidrs": ["192.0.2.128/25"]}, []),
        ({"allowed_cidrs": ["198.51.100.0/24"]}, ["allowlist"]),  # it could verify from nowhere
    ],
)
def test_allowlist_is_recent_use_or_the_tokens_own_list_outside_the_candidates(used, reasons):
    assert noncompliance(policy(allowed_cidrs=["192.0.2.0/24"]), token(**used), NOW) == reasons


@pytest.mark.parametrize(
    ("used", "reasons"),
    [
        ({"last_used_at": iso(in_days(-29))}, []),
        ({"last_used_at": iso(in_days(-31))}, ["inactivity"]),
        ({"created_at": iso(in_days(-31))}, ["inactivity"]),  # never used: since its creation
        ({"created_at": iso(in_days(-90)), "last_used_at": iso(in_days(-1))}, []),
    ],
)
def test_inactivity_is_unused_for_longer_than_inactivity_days(used, reasons):
    assert noncompliance(policy(inactivity_days=30), token(**used), NOW) == reasons


def test_every_reason_is_given_in_one_order():
    candidate = policy(max_lifetime_days=1, allowed_cidrs=["192.0.2.0/24"], inactivity_days=1)
    stale = token(last_used_ip="198.51.100.9", last_used_at=iso(in_days(-2)))

    assert noncompliance(candidate, stale, NOW) == ["lifetime", "allowlist", "inactivity"]


@pytest.mark.parametrize(
    "ended",
    [{"status": "revoked"}, {"status": "deleted"}, {"status": "expired"}, {"expires_epoch": epoch(in_days(-1))}],
)
def test_a_token_that_is_not_live_is_not_concerned(ended):
    assert noncompliance(policy(max_lifetime_days=1, inactivity_days=1), token(**ended), NOW) == []


def test_a_disabled_token_is_live_and_concerned():
    assert noncompliance(policy(max_lifetime_days=1), token(status="disabled"), NOW) == ["lifetime"]
