"""Inactivity revocation on DynamoDB Local: the conditional writes of the sweep, the last-use write
and the policy copy, and the index the sweep reads (``expiry/schedule.py``, ``expiry/sweeper.py``,
``organizations/repository.copy_to_token``)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from tests.dynamodb_local.conftest import run_concurrently
from tests.unit.fakes import FakePolicyQueue, drain_policy_queue
from tokensmith import clock
from tokensmith.auth import Principal, RequestMeta
from tokensmith.expiry.sweeper import ExpirySweeper
from tokensmith.organizations.propagation import PolicyPropagator
from tokensmith.organizations.repository import OrganizationPolicies
from tokensmith.organizations.service import OrganizationPolicyService
from tokensmith.settings import Settings
from tokensmith.tokens.models import CreateTokenRequest, UpdateTokenRequest
from tokensmith.tokens.service import TokenService
from tokensmith.tokens.verification import record_use

pytestmark = pytest.mark.dynamodb_local

T0 = datetime(2030, 1, 1, tzinfo=UTC)
DAY = timedelta(days=1)
MANAGER = Principal("caller", "acme", None, frozenset({"tokens:read", "tokens:write", "tokens:manage"}))
POLICY = {"inactivity_days": 30, "inactivity_notice_days": [14, 3]}


@pytest.fixture
def settings(repository):
    return replace(Settings.from_environ(), table_name=repository.table_name)


@pytest.fixture
def store(repository):
    return OrganizationPolicies(repository.table_name, client=repository.client)


def apply_policy(store, body: dict, at: datetime) -> None:
    queue = FakePolicyQueue()
    service = OrganizationPolicyService(store, queue, now=lambda: at, max_lifetime_days=3650)  # type: ignore[arg-type]
    service.put_policy(MANAGER, "acme", {**dict.fromkeys(("allowed_cidrs",), []), **body}, RequestMeta())
    propagator = PolicyPropagator(store, queue, page_size=10, now=lambda: at)  # type: ignore[arg-type]
    drain_policy_queue(propagator, queue)


def make(repository, settings, count: int, at: datetime = T0, name: str = "t") -> list[dict]:
    service = TokenService(repository, settings, now=lambda: at)
    return [
        service.create_token(MANAGER, CreateTokenRequest(name=f"{name}{n}"), RequestMeta())[0] for n in range(count)
    ]


def sweeper(repository, settings, at: datetime) -> ExpirySweeper:
    return ExpirySweeper(repository, settings, now=lambda: at)


def types_of(repository, token_id: str) -> list[str]:
    items, _ = repository.list_events(token_id, 100)
    return [e["type"] for e in items]


def test_the_last_use_write_moves_the_wake_up_in_the_index(repository, settings, store):
    # Given a token under a 30-day inactivity policy, its 14-day notice sent
    apply_policy(store, POLICY, T0)
    [token] = make(repository, settings, 1)
    assert sweeper(repository, settings, T0 + 16 * DAY).sweep().inactivity_notices == 1

    # When it is used on day 20 (the verification's one conditional last-use write)
    used = T0 + 20 * DAY
    assert record_use(repository, settings, repository.get_token(token["id"]), used, "192.0.2.1", "ua")

    # Then the index wakes it at the new first notice, no sooner, and the notices start again
    stored = repository.get_token(token["id"])
    assert stored["wake_at"] == clock.epoch(used + 16 * DAY) and "inactivity_notified_days" not in stored
    assert sweeper(repository, settings, used + 16 * DAY - timedelta(seconds=1)).sweep().inactivity_notices == 0
    assert sweeper(repository, settings, used + 16 * DAY).sweep().inactivity_notices == 1


def test_a_token_used_after_the_sweep_read_it_is_not_revoked_then_rescheduled(repository, settings, store, monkeypatch):
    apply_policy(store, {"inactivity_days": 30}, T0)
    [token] = make(repository, settings, 1)
    later = T0 + 31 * DAY
    original = repository.due_tokens

    def due_then_used(*args, **kwargs):
        page = original(*args, **kwargs)
        if page[0]:  # the sweep has read the token from the index; now it is used
            record_use(repository, settings, repository.get_token(token["id"]), later, None, None)
        return page

    monkeypatch.setattr(repository, "due_tokens", due_then_used)
    report = sweeper(repository, settings, later).sweep()

    assert report.revoked == 0 and report.skipped == 1
    assert repository.get_token(token["id"])["status"] == "active"
    assert "token.revoked" not in types_of(repository, token["id"])


def test_a_wake_up_left_stale_is_moved_without_an_event(repository, settings, store):
    # Given a token whose stored wake-up is older than what its last use says (an index read racing a use)
    apply_policy(store, {"inactivity_days": 30}, T0)
    [token] = make(repository, settings, 1)
    used = T0 + 10 * DAY
    repository.record_last_use(token["id"], clock.to_iso(used), clock.to_iso(used), None, None)

    report = sweeper(repository, settings, T0 + 31 * DAY).sweep()

    assert (report.revoked, report.rescheduled) == (0, 1)
    assert repository.get_token(token["id"])["wake_at"] == clock.epoch(used + 30 * DAY)
    assert types_of(repository, token["id"]) == ["token.created"]


def test_overlapping_sweeps_write_each_notice_and_revocation_once(repository, settings, store):
    apply_policy(store, POLICY, T0)
    tokens = make(repository, settings, 15)

    def sweep_twice_at(at: datetime) -> list:
        return run_concurrently(lambda _: sweeper(repository, settings, at).sweep(), 2)

    notices = sweep_twice_at(T0 + 16 * DAY) + sweep_twice_at(T0 + 27 * DAY)
    revocations = sweep_twice_at(T0 + 30 * DAY)

    assert sum(r.inactivity_notices for r in notices) == 30 and sum(r.revoked for r in revocations) == 15
    for token in tokens:
        types = types_of(repository, token["id"])
        assert types.count("token.inactive_soon") == 2 and types.count("token.revoked") == 1
        assert repository.get_token(token["id"])["revoked_reason"] == "inactive"


def test_the_copy_of_a_policy_races_a_use_and_reads_the_token_again(repository, settings, store, monkeypatch):
    # Given a token unused for 100 days
    [token] = make(repository, settings, 1)
    now = T0 + 100 * DAY
    original = store.copy_to_token
    raced: list[bool] = []

    def used_meanwhile(read, policy, now_epoch, notice_days):
        if not raced:  # the worker read the page; the token is used before its write
            raced.append(True)
            record_use(repository, settings, repository.get_token(read["id"]), now, None, None)
        return original(read, policy, now_epoch, notice_days)

    monkeypatch.setattr(store, "copy_to_token", used_meanwhile)

    # When the inactivity policy is copied onto it
    apply_policy(store, POLICY, now)

    # Then the first write failed its condition and the second counted from the use
    stored = repository.get_token(token["id"])
    assert raced and stored["org_policy_version"] == 1
    assert stored["wake_at"] == clock.epoch(now + 16 * DAY)


def test_the_copy_of_a_policy_races_an_expiry_edit_that_leaves_the_wake_up_alone(
    repository, settings, store, monkeypatch
):
    # Given a token expiring in 200 days under a 30-day inactivity policy (its wake-up: the first notice)
    service = TokenService(repository, settings, now=lambda: T0)
    request = CreateTokenRequest(name="edited", expires_at=T0 + 200 * DAY)
    [token] = [service.create_token(MANAGER, request, RequestMeta())[0]]
    apply_policy(store, POLICY, T0)
    wake_before = repository.get_token(token["id"])["wake_at"]
    original = store.copy_to_token
    raced: list[bool] = []

    def edited_meanwhile(read, policy, now_epoch, notice_days):
        if not raced:  # the worker read the page; the expiry moves to 100 days before its write
            raced.append(True)
            service.update_token(MANAGER, token["id"], UpdateTokenRequest(expires_at=T0 + 100 * DAY), RequestMeta())
            assert repository.get_token(token["id"])["wake_at"] == wake_before  # the edit left it alone
        return original(read, policy, now_epoch, notice_days)

    monkeypatch.setattr(store, "copy_to_token", edited_meanwhile)

    # When a policy of 300 days without notices is copied onto it
    apply_policy(store, {"inactivity_days": 300}, T0)

    # Then the copy read it again: its wake-up is the new expiry's first notice, not the old one's
    stored = repository.get_token(token["id"])
    assert raced and stored["org_policy_version"] == 2
    assert stored["wake_at"] == clock.epoch(T0 + 100 * DAY - 7 * DAY)


def test_the_sweep_reads_only_due_tokens(repository, settings, store):
    apply_policy(store, POLICY, T0)
    make(repository, settings, 5)
    make(repository, settings, 100, at=T0 + 20 * DAY, name="later")  # not due for weeks: never read

    report = sweeper(repository, settings, T0 + 30 * DAY).sweep()

    assert report.revoked == 5
    assert report.read_units <= 4 * 0.5  # 5 small index entries: one read unit per shard at most
