"""tokens.usage: the one evaluation of usage policies (addresses, rate limits, credits, events)
over the in-memory counters, and its calendar arithmetic. No I/O."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.unit.fake_usage import UsageStore
from tokensmith.tokens import usage
from tokensmith.tokens.usage import (
    IP_NOT_ALLOWED,
    RATE_LIMITED,
    USAGE_EXCEEDED,
    VALID,
    evaluate,
    ip_allowed,
    limit_headers,
    period_bounds,
)

NOW = int(datetime(2031, 3, 14, 12, 0, 20, tzinfo=UTC).timestamp())  # 20 s into a minute


def token(**policy) -> dict:
    return {"id": "t1", "organization_id": "acme", "owner": None, **policy}


def minute(limit: int, name: str = "minute") -> dict:
    return {"name": name, "limit": limit, "duration_seconds": 60}


# --- addresses --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "ip", "allowed"),
    [
        ({}, None, True),  # no list: anywhere, even without an address
        ({"allowed_cidrs": ["10.0.0.0/8"]}, "10.1.2.3", True),
        ({"allowed_cidrs": ["10.0.0.0/8"]}, "11.1.2.3", False),
        ({"allowed_cidrs": ["10.0.0.0/8"]}, None, False),  # unknown address: fail closed
        ({"allowed_cidrs": ["10.0.0.0/8"]}, "not-an-ip", False),
        ({"allowed_cidrs": ["2001:db8::/32"]}, "2001:db8::1", True),
        ({"allowed_cidrs": ["2001:db8::/32"]}, "10.1.2.3", False),
        ({"org_allowed_cidrs": ["192.0.2.0/24"]}, "192.0.2.1", True),
        ({"org_allowed_cidrs": ["192.0.2.0/24"]}, "10.1.2.3", False),
        # the organization's list binds whatever the token's says: both must hold
        ({"org_allowed_cidrs": ["192.0.2.0/24"], "allowed_cidrs": ["0.0.0.0/0"]}, "10.1.2.3", False),
        ({"org_allowed_cidrs": ["192.0.2.0/24"], "allowed_cidrs": ["192.0.2.0/28"]}, "192.0.2.9", True),
        ({"org_allowed_cidrs": ["192.0.2.0/24"], "allowed_cidrs": ["192.0.2.0/28"]}, "192.0.2.99", False),
    ],
)
def test_the_callers_address_must_fall_in_every_list_that_applies(policy, ip, allowed):
    assert ip_allowed(token(**policy), ip) is allowed


def test_an_address_outside_the_allowlist_is_refused_before_any_counting():
    counters = UsageStore()

    outcome = evaluate(counters, token(allowed_cidrs=["10.0.0.0/8"], ratelimits=[minute(5)]), "11.0.0.1", 1, NOW)

    assert outcome.code == IP_NOT_ALLOWED and counters.counter_calls == []


# --- rate limits ------------------------------------------------------------------------------------


def test_a_window_admits_its_limit_then_refuses_until_it_resets():
    counters, item = UsageStore(), token(ratelimits=[minute(2)])

    codes = [evaluate(counters, item, None, 1, NOW).code for _ in range(3)]
    refused = evaluate(counters, item, None, 1, NOW)
    next_window = evaluate(counters, item, None, 1, NOW + 40)

    assert codes == [VALID, VALID, RATE_LIMITED]
    assert refused.retry_after == 40 and refused.ratelimits[0].remaining == 0
    assert refused.ratelimits[0].as_answer()["reset_at"] == "2031-03-14T12:01:00Z"
    assert next_window.code == VALID and next_window.ratelimits[0].remaining == 1


def test_cost_counts_against_every_window_and_zero_costs_nothing():
    counters, item = UsageStore(), token(ratelimits=[minute(10), minute(5, "burst")])

    first = evaluate(counters, item, None, 4, NOW)
    free = evaluate(counters, item, None, 0, NOW)
    too_much = evaluate(counters, item, None, 2, NOW)

    assert [w.remaining for w in first.ratelimits] == [6, 1]
    assert free.code == VALID and [w.remaining for w in free.ratelimits] == [6, 1]
    assert too_much.code == RATE_LIMITED
    assert [w["used"] for w in counters.windows.values()] == [4, 4]  # the first window's 2 given back


def test_rate_limited_is_announced_once_per_window():
    counters, item = UsageStore(), token(ratelimits=[minute(1)])

    outcomes = [evaluate(counters, item, None, 1, NOW) for _ in range(4)]

    assert [len(o.events) for o in outcomes] == [0, 1, 0, 0]
    assert outcomes[1].events[0][0] == "token.rate_limited"


# --- credits ----------------------------------------------------------------------------------------


def test_credits_are_spent_and_a_refusal_spends_nothing_of_them_or_the_windows():
    counters, item = UsageStore(), token(credits={"remaining": 2}, ratelimits=[minute(10)])
    counters.credit_counters["t1"] = {"remaining": 2, "period": 0}

    codes = [evaluate(counters, item, None, 1, NOW).code for _ in range(3)]

    assert codes == [VALID, VALID, USAGE_EXCEEDED]
    assert counters.credit_counters["t1"]["remaining"] == 0
    assert [w["used"] for w in counters.windows.values()] == [2]


def test_credits_refill_lazily_at_the_first_verification_of_a_new_period():
    refill = {"interval": "daily", "amount": 3}
    counters, item = UsageStore(), token(credits={"remaining": 0, "refill": refill})
    yesterday = period_bounds(refill, NOW)[0] - 86400
    counters.credit_counters["t1"] = {"remaining": 0, "period": yesterday}

    outcome = evaluate(counters, item, None, 1, NOW)

    assert outcome.code == VALID and outcome.credits_remaining == 2
    assert counters.credit_counters["t1"] == {"remaining": 2, "period": yesterday + 86400}


def test_an_exhausted_token_is_told_when_its_next_refill_comes():
    refill = {"interval": "daily", "amount": 3}
    counters, item = UsageStore(), token(credits={"remaining": 0, "refill": refill})
    counters.credit_counters["t1"] = {"remaining": 0, "period": period_bounds(refill, NOW)[0]}

    outcome = evaluate(counters, item, None, 1, NOW)

    assert outcome.code == USAGE_EXCEEDED and outcome.retry_after == 12 * 3600 - 20


def test_credits_low_then_exhausted_are_each_announced_by_the_spend_that_crossed():
    counters, item = UsageStore(), token(credits={"remaining": 4, "low_threshold": 2})
    counters.credit_counters["t1"] = {"remaining": 4, "period": 0}

    events = [[e[0] for e in evaluate(counters, item, None, 1, NOW).events] for _ in range(5)]

    assert events == [[], ["token.credits_low"], [], ["token.credits_exhausted"], []]


@pytest.mark.parametrize(
    ("refill", "moment", "start", "end"),
    [
        ({"interval": "daily"}, "2031-03-14T12:00:00", "2031-03-14T00:00:00", "2031-03-15T00:00:00"),
        ({"interval": "monthly"}, "2031-03-14T12:00:00", "2031-03-01T00:00:00", "2031-04-01T00:00:00"),
        (
            {"interval": "monthly", "day_of_month": 15},
            "2031-03-14T12:00:00",
            "2031-02-15T00:00:00",
            "2031-03-15T00:00:00",
        ),
        # day 31: in a short month, the period starts on its last day
        (
            {"interval": "monthly", "day_of_month": 31},
            "2031-03-01T12:00:00",
            "2031-02-28T00:00:00",
            "2031-03-31T00:00:00",
        ),
        (
            {"interval": "monthly", "day_of_month": 5},
            "2031-01-02T00:00:00",
            "2030-12-05T00:00:00",
            "2031-01-05T00:00:00",
        ),
    ],
)
def test_refill_periods_follow_the_utc_calendar(refill, moment, start, end):
    def epoch(text: str) -> int:
        return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp())

    assert period_bounds(refill, epoch(moment)) == (epoch(start), epoch(end))


# --- what callers are told --------------------------------------------------------------------------


def test_the_ratelimit_header_fields_follow_the_ietf_draft():
    windows = [{"name": "minute", "limit": 100, "remaining": 0, "duration_seconds": 60, "reset_after": 40}]

    assert limit_headers("40", windows) == {
        "Retry-After": "40",
        "RateLimit-Policy": '"minute";q=100;w=60',
        "RateLimit": '"minute";r=0;t=40',
    }


def test_the_authorizer_context_holds_strings_only():
    counters, item = UsageStore(), token(ratelimits=[minute(1)])
    outcome = evaluate(counters, item, None, 1, NOW)

    context = usage.context_fields(outcome, '{"plan":"pro"}', NOW)

    assert all(isinstance(value, str) for value in context.values())
    assert context["meta"] == '{"plan":"pro"}' and context["code"] == VALID and context["credits"] == "null"


def test_an_owners_shared_limits_of_one_name_and_other_durations_count_apart():
    # Given two tokens of one owner sharing a limit named "default", one per minute, one per hour
    from tokensmith import table

    subject = table.rate_subject("t1", "acme", "ana@acme.example", "owner")
    assert subject == table.rate_subject("t2", "acme", "ana@acme.example", "owner")
    # When both windows start at the same second (every hour)
    minute = table.rate_window_key(subject, "default", 60, 3600)
    hour = table.rate_window_key(subject, "default", 3600, 3600)
    # Then they are two counters (found in review: one count, and the minute's TTL ended the hour's)
    assert minute != hour
