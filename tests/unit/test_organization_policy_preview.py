"""``POST .../policy/preview`` and ``PUT .../policy {enforce}`` (``organizations/service.py``,
``enforcement.py``, ``propagation.py``): the preview lists, a bounded page at a time, the live tokens
a candidate policy finds non-compliant and why, writing nothing; ``enforce: disable|revoke`` makes the
propagation worker disable or revoke them, each with its own audit event (reason ``policy``, actor the
policy's modifier), re-checking each token as it is just before the write, and counting its progress
page by page, once."""

from __future__ import annotations

import pytest

from tests.unit.conftest import ACME, GLOBEX, META, OPERATOR, caller, in_days, iso
from tests.unit.fakes import FakePolicyQueue, drain_policy_queue
from tokensmith.auth import TOKENS_READ, TOKENS_WRITE
from tokensmith.errors import Forbidden, NotFound, ValidationFailed
from tokensmith.organizations.enforcement import PolicyEnforcer
from tokensmith.organizations.propagation import PolicyPropagator
from tokensmith.organizations.service import OrganizationPolicyService
from tokensmith.tokens.policies import OrganizationPolicyRequest, PutOrganizationPolicyRequest

ALLOWLIST = {"allowed_cidrs": ["192.0.2.0/24"]}


@pytest.fixture
def policies(repository, clock) -> OrganizationPolicyService:
    """The service, queueing its steps on a :class:`FakePolicyQueue` (``queue``)."""
    return OrganizationPolicyService(repository, FakePolicyQueue(), now=clock)  # type: ignore[arg-type]


@pytest.fixture
def queue(policies) -> FakePolicyQueue:
    return policies.queue


@pytest.fixture
def propagator(repository, queue, settings, clock) -> PolicyPropagator:
    enforcer = PolicyEnforcer(repository, settings, now=clock, counters=repository, policies=repository)
    return PolicyPropagator(repository, queue, page_size=2, enforcer=enforcer)  # type: ignore[arg-type]


def preview(policies, body, principal=ACME, **paging):
    fields = OrganizationPolicyRequest.model_validate(body).model_dump()
    return policies.preview_policy(principal, "acme", fields, **paging)


def put(policies, body):
    return policies.put_policy(ACME, "acme", PutOrganizationPolicyRequest.model_validate(body).model_dump(), META)


def used_from(repository, token_id: str, ip: str) -> None:
    repository.tokens[token_id].update(last_used_ip=ip, last_used_at=iso(in_days(0)))


@pytest.fixture
def outside(given_token, repository) -> str:
    """acme's token last used from outside 192.0.2.0/24."""
    token_id = given_token(name="outside").id
    used_from(repository, token_id, "198.51.100.7")
    return token_id


@pytest.fixture
def inside(given_token, repository) -> str:
    token_id = given_token(name="inside").id
    used_from(repository, token_id, "192.0.2.7")
    return token_id


# --- preview ---------------------------------------------------------------------------------------------


def test_the_preview_lists_the_non_compliant_live_tokens_and_why_and_writes_nothing(
    policies, repository, outside, inside
):
    answer = preview(policies, {**ALLOWLIST, "max_lifetime_days": 400})

    assert answer["tokens"] == [
        {"token_id": outside, "name": "outside", "owner": None, "status": "active", "reasons": ["allowlist"]}
    ]
    assert answer["examined"] == 2 and answer["next_cursor"] is None
    assert repository.writes == [] and repository.org_policies == {}


def test_the_preview_leaves_out_tokens_that_are_not_live(policies, repository, tokens, outside):
    tokens.revoke_token(ACME, outside, "done with it", META)

    assert preview(policies, ALLOWLIST)["tokens"] == []


def test_each_preview_page_reads_at_most_limit_tokens_and_pages_on(policies, repository, given_token):
    for n in range(5):
        used_from(repository, given_token(name=f"t{n}").id, "198.51.100.7")

    first = preview(policies, ALLOWLIST, limit=2)
    second = preview(policies, ALLOWLIST, limit=2, cursor=first["next_cursor"])
    third = preview(policies, ALLOWLIST, limit=2, cursor=second["next_cursor"])

    assert repository.pages_read == [2, 2, 1]
    assert [len(p["tokens"]) for p in (first, second, third)] == [2, 2, 1]
    assert third["next_cursor"] is None
    assert len({t["token_id"] for p in (first, second, third) for t in p["tokens"]}) == 5


def test_the_preview_names_lifetime_and_inactivity_too(policies, repository, given_token):
    token_id = given_token(expires_at=iso(in_days(200))).id
    repository.tokens[token_id]["created_at"] = iso(in_days(-100))

    [found] = preview(policies, {"max_lifetime_days": 30, "inactivity_days": 90})["tokens"]

    assert found["reasons"] == ["lifetime", "inactivity"]


def test_the_preview_checks_the_candidate_as_a_put_does(policies):
    with pytest.raises(ValidationFailed) as refused:
        preview(policies, {"inactivity_notice_days": [3]})

    assert refused.value.errors[0].field == "inactivity_notice_days"


def test_the_preview_takes_what_the_put_takes(policies, outside):
    with pytest.raises(NotFound):
        preview(policies, ALLOWLIST, principal=GLOBEX)
    with pytest.raises(Forbidden):
        preview(policies, ALLOWLIST, principal=caller("acme", TOKENS_READ, TOKENS_WRITE))


# --- enforce ---------------------------------------------------------------------------------------------


def test_enforce_disable_disables_the_non_compliant_tokens_each_with_its_own_event(
    policies, propagator, repository, queue, outside, inside
):
    put(policies, {**ALLOWLIST, "enforce": "disable"})
    drain_policy_queue(propagator, queue)

    assert repository.tokens[outside]["status"] == "disabled"
    assert repository.tokens[inside]["status"] == "active"
    [event] = [e for e in repository.events if e["type"] == "token.disabled"]
    assert event["token_id"] == outside and event["reason"] == "policy"
    assert event["actor"] == ACME.actor
    assert event["details"] == {"policy_version": 1, "reasons": ["allowlist"]}
    assert repository.tokens[outside]["disabled_by"]["authority"] == "tokens:manage"


def test_enforce_revoke_revokes_with_reason_policy(policies, propagator, repository, queue, outside, inside):
    put(policies, {**ALLOWLIST, "enforce": "revoke"})
    drain_policy_queue(propagator, queue)

    assert repository.tokens[outside]["status"] == "revoked"
    assert repository.tokens[outside]["revoked_reason"] == "policy"
    assert repository.tokens[inside]["status"] == "active"


def test_the_progress_is_counted_page_by_page_and_ends_done(policies, propagator, repository, queue, given_token):
    for n in range(3):
        used_from(repository, given_token(name=f"t{n}").id, "198.51.100.7")
    given_token(name="compliant")
    put(policies, {**ALLOWLIST, "enforce": "disable"})

    propagator.handle(queue.take())
    halfway = policies.get_policy(ACME, "acme")["enforcement"]
    drain_policy_queue(propagator, queue)
    done = policies.get_policy(ACME, "acme")["enforcement"]

    assert (halfway["examined"], halfway["disabled"], halfway["done"]) == (2, 2, False)
    assert (done["action"], done["examined"], done["disabled"], done["revoked"], done["done"]) == (
        "disable",
        4,
        3,
        0,
        True,
    )
    assert done["by"] == {"token_id": ACME.token_id, "organization_id": "acme", "owner": None}


def test_a_redelivered_page_changes_nothing_twice_and_counts_nothing_again(
    policies, propagator, repository, queue, outside, inside
):
    put(policies, {**ALLOWLIST, "enforce": "disable"})
    message = queue.take()
    propagator.handle(message)
    events = len(repository.events)

    propagator.handle(message)

    assert len(repository.events) == events
    progress = policies.get_policy(ACME, "acme")["enforcement"]
    assert (progress["examined"], progress["disabled"]) == (2, 1)


def test_a_token_made_compliant_meanwhile_is_rechecked_and_left_alone(
    policies, propagator, repository, queue, outside, monkeypatch
):
    put(policies, {**ALLOWLIST, "enforce": "revoke"})
    read_page = repository.token_page

    def page_then_fixed(*args, **kwargs):
        page = read_page(*args, **kwargs)
        used_from(repository, outside, "192.0.2.9")  # its next use came from inside, after the page was read
        repository.tokens[outside]["version"] += 1
        return page

    monkeypatch.setattr(repository, "token_page", page_then_fixed)
    drain_policy_queue(propagator, queue)

    assert repository.tokens[outside]["status"] == "active"
    assert policies.get_policy(ACME, "acme")["enforcement"]["revoked"] == 0


def test_enforce_is_no_part_of_the_policy_and_none_leaves_tokens_alone(
    policies, propagator, repository, queue, outside
):
    put(policies, {**ALLOWLIST, "enforce": "disable"})
    drain_policy_queue(propagator, queue)
    repository.tokens[outside]["status"] = "active"  # re-enabled

    view = put(policies, ALLOWLIST)
    drain_policy_queue(propagator, queue)

    assert view["enforcement"] is None and "enforce" not in view
    assert repository.tokens[outside]["status"] == "active"


def test_enforcement_never_touches_a_token_stronger_than_the_policys_modifier(
    policies, propagator, repository, queue, given_token, outside
):
    # Given an admin token of acme (made by the platform's operator), last used from outside too
    stronger = given_token(OPERATOR, name="operator", organization_id="acme", scopes=["admin"]).id
    used_from(repository, stronger, "198.51.100.8")

    # When acme's manager (no admin) applies an allowlist with enforce: revoke
    put(policies, {**ALLOWLIST, "enforce": "revoke"})
    drain_policy_queue(propagator, queue)

    # Then only the token it may revoke itself is revoked (POST .../revoke of the other is a 403); the
    # progress says one was left for a caller that holds its scopes
    assert repository.tokens[outside]["status"] == "revoked"
    assert repository.tokens[stronger]["status"] == "active"
    progress = policies.get_policy(ACME, "acme")["enforcement"]
    assert (progress["revoked"], progress["skipped"]) == (1, 1)
