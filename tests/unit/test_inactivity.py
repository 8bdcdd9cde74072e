"""Inactivity revocation (issue 16): the organization's ``inactivity_days`` puts its tokens in the
sweep's ``due`` index at last use + the threshold; the sweep writes ``token.inactive_soon`` notices,
once each, then revokes with reason ``inactive``; a use moves the wake-up on the last-use write only;
a new policy gives tokens already unused for longer the largest notice day of grace."""

from __future__ import annotations

import pytest

from tests.unit.conftest import ACME, DAY, META, epoch, in_days, iso
from tests.unit.fakes import FakePolicyQueue, LastUseRecorded, drain_policy_queue
from tokensmith.expiry.sweeper import ExpirySweeper
from tokensmith.organizations.propagation import PolicyPropagator
from tokensmith.organizations.service import OrganizationPolicyService
from tokensmith.tokens.models import UpdateTokenRequest
from tokensmith.tokens.policies import OrganizationPolicyRequest

POLICY = {"inactivity_days": 30, "inactivity_notice_days": [14, 3]}


@pytest.fixture
def queue() -> FakePolicyQueue:
    return FakePolicyQueue()


@pytest.fixture
def apply_policy(repository, queue, clock, settings):
    """PUT the organization policy and run the propagation worker until its queue is empty."""
    service = OrganizationPolicyService(repository, queue, now=clock, max_lifetime_days=365)  # type: ignore[arg-type]
    propagator = PolicyPropagator(repository, queue, page_size=100, expiry_notice_days=(7, 1), now=clock)  # type: ignore[arg-type]

    def apply(body: dict) -> None:
        service.put_policy(ACME, "acme", OrganizationPolicyRequest.model_validate(body).model_dump(), META)
        drain_policy_queue(propagator, queue)

    return apply


@pytest.fixture
def sweeper(repository, settings, clock) -> ExpirySweeper:
    return ExpirySweeper(repository, settings, now=clock)


def events_of(repository, token_id: str, event_type: str) -> list[dict]:
    return [e for e in repository.events if e["token_id"] == token_id and e["type"] == event_type]


def test_a_token_made_under_an_inactivity_policy_wakes_at_its_first_notice(apply_policy, given_token, repository):
    apply_policy(POLICY)

    token = repository.tokens[given_token().id]

    assert token["org_inactivity_days"] == 30 and token["wake_at"] == epoch(in_days(30 - 14))


def test_notices_once_each_then_revocation_with_reason_inactive(apply_policy, given_token, repository, sweeper, clock):
    # Given a token of an organization that revokes tokens unused for 30 days, warned 14 and 3 days before
    apply_policy(POLICY)
    token = given_token()
    revoke_at = epoch(in_days(30))

    # When the sweep runs at each notice day, twice, then at the deadline
    clock.advance(16 * DAY)
    first = [sweeper.sweep(), sweeper.sweep()]
    clock.advance(11 * DAY)
    second = sweeper.sweep()
    clock.advance(3 * DAY)
    last = sweeper.sweep()

    # Then one notice per day, each with the days left and the instant of the revocation
    assert [r.inactivity_notices for r in first] == [1, 0] and second.inactivity_notices == 1
    notices = events_of(repository, token.id, "token.inactive_soon")
    assert [n["details"]["days_left"] for n in notices] == [14, 3]
    assert {n["details"]["revoke_at"] for n in notices} == {iso(in_days(30))}
    assert notices[0]["details"]["last_used_at"] is None and notices[0]["actor"] == {"system": "tokensmith"}
    # And at the deadline the token is revoked by the system, with the usual revoke event
    assert last.revoked == 1
    stored = repository.tokens[token.id]
    assert stored["status"] == "revoked" and stored["revoked_reason"] == "inactive"
    assert stored["revoked_at"] == iso(in_days(30)) and epoch(in_days(30)) == revoke_at
    assert not {"wake_pk", "wake_at", "inactivity_notified_days"} & set(stored)
    assert stored["status_pk"].endswith("revoked")
    (revoked,) = events_of(repository, token.id, "token.revoked")
    assert revoked["reason"] == "inactive" and revoked["changes"]["status"] == {"from": "active", "to": "revoked"}
    assert revoked["details"] == {"last_used_at": None, "inactivity_days": 30}
    assert not repository.guards  # the name is free again


def test_a_use_pushes_the_wake_up_on_the_last_use_write_and_starts_the_notices_again(
    apply_policy, given_token, repository, sweeper, tokens, clock
):
    apply_policy(POLICY)
    token = given_token()
    clock.advance(20 * DAY)
    sweeper.sweep()  # the 14-day notice
    repository.forget_writes()

    tokens.verify(ACME, token.secret, [], META)

    (use,) = [w for w in repository.writes if isinstance(w, LastUseRecorded)]
    assert use.wake["wake_at"] == epoch(clock()) + 16 * DAY
    assert use.wake["inactivity_notified_days"] is None  # the notices are sent again before the new deadline
    assert len(repository.writes) == 1  # nothing but the last-use write
    clock.advance(16 * DAY)
    assert sweeper.sweep().inactivity_notices == 1


def test_a_token_without_inactivity_costs_what_it_cost(given_token, repository, tokens):
    token = given_token()

    tokens.verify(ACME, token.secret, [], META)

    (use,) = [w for w in repository.writes if isinstance(w, LastUseRecorded)]
    assert use.wake == {}


def test_a_token_used_after_the_sweep_saw_it_is_not_revoked_but_rescheduled(
    apply_policy, given_token, repository, sweeper, clock, settings
):
    # Given a token due for revocation, as the index shows it
    apply_policy({"inactivity_days": 30})
    token = given_token()
    clock.advance(31 * DAY)
    seen = repository.tokens[token.id]
    # When it is used between the index read and the write (the last-use write without the new wake-up,
    # as a race would have it), then the sweep acts on what it saw
    original_due_tokens = repository.due_tokens

    def stale_index(*args, **kwargs):
        items, start = original_due_tokens(*args, **kwargs)
        if any(item["id"] == token.id for item in items):
            seen.update({"last_used_at": iso(clock())})  # the write lands after the read
        return items, start

    repository.due_tokens = stale_index
    report = sweeper.sweep()

    # Then it is not revoked: the write was conditioned on the last use the sweep saw
    assert report.revoked == 0 and report.skipped == 1
    assert repository.tokens[token.id]["status"] == "active"
    # And the next run moves its wake-up to the new deadline, without an event
    repository.due_tokens = original_due_tokens
    events_before = len(repository.events)
    assert sweeper.sweep().rescheduled == 1
    assert repository.tokens[token.id]["wake_at"] == epoch(clock()) + 30 * DAY
    assert len(repository.events) == events_before


def test_a_new_policy_gives_long_unused_tokens_every_notice_first(
    apply_policy, given_token, repository, sweeper, clock
):
    # Given a token made 100 days ago and never used
    token = given_token()
    clock.advance(100 * DAY)

    # When its organization starts revoking tokens unused for 30 days, warned 14 and 3 days before
    apply_policy(POLICY)

    # Then it is revoked 14 days from now, not at the next sweep, after both notices
    stored = repository.tokens[token.id]
    assert stored["inactivity_not_before"] == epoch(clock()) + 14 * DAY
    assert sweeper.sweep().inactivity_notices == 1
    assert events_of(repository, token.id, "token.inactive_soon")[0]["details"]["days_left"] == 14
    clock.advance(11 * DAY)
    assert sweeper.sweep().inactivity_notices == 1
    clock.advance(3 * DAY - 60)
    assert sweeper.sweep().revoked == 0
    clock.advance(60)
    assert sweeper.sweep().revoked == 1


def test_an_unchanged_inactivity_keeps_the_grace_and_the_notices_sent(apply_policy, given_token, repository, clock):
    token = given_token()
    clock.advance(100 * DAY)
    apply_policy(POLICY)
    before = dict(repository.tokens[token.id])
    clock.advance(DAY)

    apply_policy({**POLICY, "allowed_cidrs": ["192.0.2.0/24"]})  # another field changes

    after = repository.tokens[token.id]
    assert after["inactivity_not_before"] == before["inactivity_not_before"]
    assert after["wake_at"] == before["wake_at"]


def test_removing_inactivity_leaves_the_expirys_wake_up_alone(apply_policy, given_token, repository):
    apply_policy(POLICY)
    token = given_token()  # with the deployment's default lifetime
    assert repository.tokens[token.id]["wake_at"] == epoch(in_days(30 - 14))

    apply_policy({})

    stored = repository.tokens[token.id]
    assert "org_inactivity_days" not in stored and stored["wake_at"] == stored["expires_epoch"] - 7 * DAY


def test_expiry_and_inactivity_share_the_wake_up(apply_policy, given_token, repository):
    apply_policy(POLICY)

    expiring = given_token(name="soon", expires_at=in_days(10).isoformat())
    lasting = given_token(name="long", expires_at=in_days(300).isoformat())

    assert repository.tokens[expiring.id]["wake_at"] == epoch(in_days(10 - 7))  # the expiry's notice first
    assert repository.tokens[lasting.id]["wake_at"] == epoch(in_days(30 - 14))  # the inactivity's first


def test_a_copy_races_a_use_and_reads_the_token_again(apply_policy, given_token, repository, clock):
    # Given a token unused for 100 days
    token = given_token()
    clock.advance(100 * DAY)
    original = repository.copy_to_token
    raced = []

    def used_meanwhile(read, policy, now_epoch, notice_days):
        if not raced:  # used between the worker's page read and its first write
            raced.append(True)
            repository.tokens[read["id"]]["last_used_at"] = iso(clock())
        return original(read, policy, now_epoch, notice_days)

    repository.copy_to_token = used_meanwhile

    # When the inactivity policy is copied onto it
    apply_policy(POLICY)

    # Then the copy read it again: its wake-up counts from the use, not from its creation
    stored = repository.tokens[token.id]
    assert raced and stored["org_policy_version"] == 1
    assert stored["wake_at"] == epoch(clock()) + 16 * DAY


def test_an_api_change_of_the_wake_up_is_conditioned_on_the_policy_copy(apply_policy, given_token, repository, tokens):
    apply_policy(POLICY)
    token = given_token()
    repository.forget_writes()

    tokens.update_token(ACME, token.id, UpdateTokenRequest.model_validate({"expires_at": in_days(5)}), META)

    (write,) = repository.writes
    assert write.change.expect == {"org_policy_version": 1}


def test_a_terminal_token_put_back_in_the_index_by_a_late_last_use_write_only_leaves_it(
    apply_policy, given_token, repository, sweeper, clock
):
    # Given a token revoked while its verification's last-use write was on its way (which sets a wake-up)
    apply_policy(POLICY)
    token = given_token()
    clock.advance(40 * DAY)
    stored = repository.tokens[token.id]
    stored.update({"status": "revoked", "revoked_reason": "laptop lost"})
    events_before = len(repository.events)

    report = sweeper.sweep()

    assert (report.revoked, report.rescheduled) == (0, 1)
    assert stored["revoked_reason"] == "laptop lost" and not {"wake_pk", "wake_at"} & set(stored)
    assert len(repository.events) == events_before


def test_an_inactive_revocation_moves_the_credits_counters_purge_with_the_tokens(
    apply_policy, given_token, repository, sweeper, clock
):
    # Given a metered token of an organization that revokes tokens unused for 30 days
    apply_policy(POLICY)
    token = given_token(credits={"remaining": 10})

    # When the sweep revokes it, unused
    clock.advance(30 * DAY)
    sweeper.sweep()
    sweeper.sweep()

    # Then its credits counter goes with it, as after POST .../revoke
    stored = repository.tokens[token.id]
    assert stored["status"] == "revoked"
    assert repository.credit_counters[token.id]["purge_at"] == stored["purge_at"]
