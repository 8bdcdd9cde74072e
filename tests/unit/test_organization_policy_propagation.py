"""An organization policy's copy onto its tokens (``organizations/propagation.py``): the PUT only
writes the policy and queues; the worker copies one bounded page per message, queues the next page,
then one delayed re-check pass, stops when a newer PUT replaced its version, and never overwrites a
newer copy."""

from __future__ import annotations

import pytest

from tests.unit.conftest import ACME, META
from tests.unit.fakes import FakePolicyQueue, drain_policy_queue
from tokensmith.errors import ServiceUnavailable
from tokensmith.organizations.propagation import (
    SETTLE_SECONDS,
    MalformedPolicyMessage,
    PolicyPropagator,
    PropagationStep,
    read_message,
)
from tokensmith.organizations.service import OrganizationPolicyService


@pytest.fixture
def queue() -> FakePolicyQueue:
    return FakePolicyQueue()


@pytest.fixture
def policies(repository, queue, clock) -> OrganizationPolicyService:
    return OrganizationPolicyService(repository, queue, now=clock)  # type: ignore[arg-type]


@pytest.fixture
def propagator(repository, queue) -> PolicyPropagator:
    return PolicyPropagator(repository, queue, page_size=100)  # type: ignore[arg-type]


def make_tokens(given_token, count: int) -> list[str]:
    return [given_token(name=f"t{n}").id for n in range(count)]


def test_the_put_writes_the_policy_and_queues_its_copy_without_reading_a_token(
    policies, repository, queue, given_token
):
    make_tokens(given_token, 3)
    repository.pages_read.clear()

    view = policies.put_policy(ACME, "acme", {"allowed_cidrs": ["192.0.2.0/24"]}, META)

    assert view["propagated"] is False and view["version"] == 1
    assert queue.sent == [(PropagationStep("acme", 1), 0)]
    assert repository.pages_read == []
    assert all("org_policy_version" not in t for t in repository.tokens.values())


def test_each_message_copies_at_most_one_page_and_queues_the_next_with_its_cursor(
    policies, propagator, repository, queue, given_token
):
    ids = make_tokens(given_token, 250)
    policies.put_policy(ACME, "acme", {"allowed_cidrs": ["192.0.2.0/24"]}, META)

    propagator.handle(queue.take())

    assert repository.pages_read == [100]
    assert sum(repository.tokens[i].get("org_policy_version") == 1 for i in ids) == 100
    [(following, delay)] = queue.sent
    assert (following.organization_id, following.version, following.recheck, delay) == ("acme", 1, False, 0)
    assert following.cursor is not None


def test_after_the_last_page_one_delayed_recheck_then_the_policy_is_propagated(
    policies, propagator, repository, queue, given_token
):
    ids = make_tokens(given_token, 250)
    policies.put_policy(ACME, "acme", {"allowed_cidrs": ["192.0.2.0/24"]}, META)

    handled = drain_policy_queue(propagator, queue)

    assert [s.recheck for s in handled] == [False, False, False, True, True, True]
    assert repository.pages_read == [100, 100, 50, 100, 100, 50]
    assert all(repository.tokens[i]["org_allowed_cidrs"] == ["192.0.2.0/24"] for i in ids)
    assert policies.get_policy(ACME, "acme")["propagated"] is True


def test_the_recheck_is_delayed_and_reaches_a_token_the_index_did_not_show_yet(
    policies, propagator, repository, queue, given_token
):
    [shown, late] = make_tokens(given_token, 2)
    policies.put_policy(ACME, "acme", {"allowed_cidrs": ["192.0.2.0/24"]}, META)
    repository.index_lag.add(late)

    propagator.handle(queue.take())
    [(recheck, delay)] = queue.sent
    assert recheck.recheck and delay == SETTLE_SECONDS
    assert policies.get_policy(ACME, "acme")["propagated"] is False
    repository.index_lag.clear()
    propagator.handle(queue.take())

    assert queue.sent == []
    assert [repository.tokens[i]["org_policy_version"] for i in (shown, late)] == [1, 1]
    assert policies.get_policy(ACME, "acme")["propagated"] is True


def test_a_newer_policy_stops_the_older_ones_copy(policies, propagator, repository, queue, given_token):
    [token_id] = make_tokens(given_token, 1)
    policies.put_policy(ACME, "acme", {"allowed_cidrs": ["192.0.2.0/24"]}, META)
    policies.put_policy(ACME, "acme", {"allowed_cidrs": ["198.51.100.0/24"]}, META)
    repository.pages_read.clear()

    propagator.handle(queue.take())  # version 1's message, after version 2 was written

    assert repository.pages_read == [] and "org_policy_version" not in repository.tokens[token_id]
    assert [step.version for step, _ in queue.sent] == [2]  # only the newer one's own message remains
    drain_policy_queue(propagator, queue)
    assert repository.tokens[token_id]["org_allowed_cidrs"] == ["198.51.100.0/24"]


def test_a_copy_never_overwrites_a_newer_one_and_a_redelivered_message_writes_nothing(
    policies, propagator, repository, queue, given_token
):
    [newer, older] = make_tokens(given_token, 2)
    policies.put_policy(ACME, "acme", {"allowed_cidrs": ["192.0.2.0/24"]}, META)
    repository.tokens[newer]["org_policy_version"] = 5  # as if a later policy already reached it
    message = queue.take()

    assert propagator.handle(message) == 1
    assert repository.tokens[newer]["org_policy_version"] == 5
    assert propagator.handle(message) == 0  # delivered twice: every write's condition fails
    assert repository.tokens[older]["org_policy_version"] == 1


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        "{}",
        '{"organization_id": "acme"}',
        '{"organization_id": "acme", "version": "1"}',
        '{"organization_id": "acme", "version": 0}',
        '{"organization_id": "a/b", "version": 1}',
        '{"organization_id": "acme", "version": 1, "cursor": 7}',
        '{"organization_id": "acme", "version": 1, "recheck": "yes"}',
        '{"organization_id": "acme", "version": 1, "page": -1}',
    ],
)
def test_a_message_this_code_did_not_write_is_refused(body):
    with pytest.raises(MalformedPolicyMessage):
        read_message(body)


def test_a_policy_whose_copy_could_not_be_queued_answers_503_to_be_sent_again(policies, queue):
    def unavailable(step, delay_seconds=0):
        raise RuntimeError("SQS is down")

    queue.send = unavailable

    with pytest.raises(ServiceUnavailable):
        policies.put_policy(ACME, "acme", {"allowed_cidrs": ["192.0.2.0/24"]}, META)
    assert policies.get_policy(ACME, "acme")["propagated"] is False
