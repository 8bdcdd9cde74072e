"""Sharded rate-limit windows (``tokens.window_shards``): a large window counted in shards, each in
its own partition, never admits more than its limit; refuses early by a bounded amount; and once
every shard is known full, refuses without writing. Over the in-memory counters; no I/O."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pytest

from tests.unit.fake_usage import UsageStore
from tokensmith.tokens import window_shards
from tokensmith.tokens.policies import MAX_COST, MAX_LIMIT
from tokensmith.tokens.usage import RATE_LIMITED, VALID, evaluate, window_keys
from tokensmith.tokens.usage_state import current_usage
from tokensmith.tokens.window_shards import MAX_SHARDS, SHARD_UNIT, shard_count, shares

NOW = int(datetime(2031, 3, 14, 12, 0, 20, tzinfo=UTC).timestamp())


@pytest.fixture(autouse=True)
def fresh_instance():
    """Each test is a fresh Lambda instance: nothing seen of any shard yet."""
    window_shards._seen.clear()
    window_shards._told.clear()


def token(*limits: dict) -> dict:
    return {"id": "t1", "organization_id": "acme", "owner": None, "ratelimits": list(limits)}


def minute(limit: int, name: str = "minute") -> dict:
    return {"name": name, "limit": limit, "duration_seconds": 60}


@pytest.mark.parametrize(
    ("limit", "count"), [(1, 1), (1999, 1), (2000, 2), (2999, 2), (9999, 9), (10_000, 10), (MAX_LIMIT, 10)]
)
def test_a_window_is_sharded_from_twice_the_unit_and_its_shares_add_up_to_its_limit(limit, count):
    assert shard_count(limit) == count and sum(shares(limit)) == limit
    assert count == 1 or min(shares(limit)) >= SHARD_UNIT >= MAX_COST  # any one cost fits an empty shard


def test_shards_are_partitions_of_their_own_and_shard_zero_is_the_unsharded_window():
    keys, _ = window_keys(token(), minute(10_000), NOW)
    [alone], _ = window_keys(token(), minute(1000), NOW)

    assert len({key["pk"] for key in keys}) == MAX_SHARDS and keys[0] == alone
    assert keys[3]["pk"] == alone["pk"] + "#3" and {key["sk"] for key in keys} == {alone["sk"]}


def test_a_sharded_window_admits_exactly_its_limit_and_the_usage_read_sums_its_shards():
    # Given a token limited to 2,000 a minute (two shards of 1,000)
    counters, item = UsageStore(), token(minute(2000))

    # When it is verified 2,100 times in the minute
    codes = Counter(evaluate(counters, item, None, 1, NOW).code for _ in range(2100))

    # Then exactly 2,000 were admitted, every shard is full, and the usage read says 0 left
    assert codes == Counter({VALID: 2000, RATE_LIMITED: 100})
    assert sorted(window["used"] for window in counters.windows.values()) == [1000, 1000]
    counters.tokens = {}
    assert current_usage(counters, {**item, "credits": None}, NOW)["ratelimits"][0]["remaining"] == 0


def test_once_every_shard_is_known_full_a_refusal_writes_nothing():
    counters, item = UsageStore(), token(minute(2000))
    for _ in range(2000):
        evaluate(counters, item, None, 1, NOW)
    evaluate(counters, item, None, 1, NOW)  # the refusal that finds both shards full, and reports it
    counters.counter_calls.clear()

    refusals = [evaluate(counters, item, None, 1, NOW) for _ in range(50)]

    assert {r.code for r in refusals} == {RATE_LIMITED} and counters.counter_calls == []
    assert all(r.ratelimits[0].remaining == 0 and not r.events for r in refusals)


def test_the_rate_limited_event_is_reported_once_per_window():
    counters, item = UsageStore(), token(minute(2000))
    outcomes = [evaluate(counters, item, None, 1, NOW) for _ in range(2010)]

    events = [event for outcome in outcomes for event, _ in outcome.events]
    assert events == ["token.rate_limited"] and counters.counter_calls.count("mark_window_notified") == 1


def test_a_costly_verification_is_refused_early_by_at_most_shards_times_cost_less_one():
    # Given two shards of 1,000 and verifications of cost 600
    counters, item = UsageStore(), token(minute(2000))

    # When three arrive
    codes = [evaluate(counters, item, None, 600, NOW).code for _ in range(3)]

    # Then two fit (one in each shard) and the third is refused with 800 left: within 2 × 599
    assert codes == [VALID, VALID, RATE_LIMITED]
    left = 2000 - sum(window["used"] for window in counters.windows.values())
    assert left == 800 <= shard_count(2000) * (600 - 1)


def test_a_refusal_by_a_later_window_gives_back_to_the_shard_that_took():
    counters, item = UsageStore(), token(minute(2000), minute(1, "tight"))

    codes = [evaluate(counters, item, None, 1, NOW).code for _ in range(3)]

    assert codes == [VALID, RATE_LIMITED, RATE_LIMITED]
    big = [w["used"] for (pk, _), w in counters.windows.items() if "#minute#" in pk]
    assert sum(big) == 1  # the two refused verifications took nothing, whichever shard they tried
