"""``GET /v1/tokens/{id}/usage``: where a token's rate limits and credits stand now, read in one call
of the counters and spending nothing, for whoever may read the token. Fakes, no I/O."""

from __future__ import annotations

import pytest

from tests.unit.conftest import ACME, GLOBEX, META, caller
from tokensmith.auth import TOKENS_READ, TOKENS_VERIFY, TOKENS_WRITE
from tokensmith.errors import Forbidden, NotFound

MINUTE = {"name": "minute", "limit": 100, "duration_seconds": 60}
HOUR = {"name": "hour", "limit": 1000, "duration_seconds": 3600}
DAILY = {"remaining": 10, "refill": {"interval": "daily", "amount": 7}}
OWNER = caller("acme", TOKENS_READ, TOKENS_WRITE, TOKENS_VERIFY, owner="ada@example.com")


def test_usage_shows_each_window_and_the_credits_left_in_one_read_spending_nothing(tokens, given_token, repository):
    # Given a token with two windows and daily credits, verified twice at 12:00 on 15 January 2030
    issued = given_token(ratelimits=[MINUTE, HOUR], credits=DAILY)
    for _ in range(2):
        tokens.verify(ACME, issued.secret, [], META)
    repository.counter_calls.clear()

    # When its usage is read, twice
    first = tokens.get_usage(ACME, issued.id)
    again = tokens.get_usage(ACME, issued.id)

    # Then each read is one call of the counters, and the second answers what the first did
    assert repository.counter_calls == ["get_counters", "get_counters"] and again == first
    assert first == {
        "ratelimits": [
            {"name": "minute", "limit": 100, "remaining": 98, "reset_at": "2030-01-15T12:01:00Z"},
            {"name": "hour", "limit": 1000, "remaining": 998, "reset_at": "2030-01-15T13:00:00Z"},
        ],
        "credits": {"remaining": 8, "refill": DAILY["refill"], "period_ends_at": "2030-01-16T00:00:00Z"},
    }


def test_a_window_nobody_counted_in_is_whole_and_credits_without_refill_have_no_period(tokens, given_token):
    issued = given_token(ratelimits=[MINUTE], credits={"remaining": 3})

    usage = tokens.get_usage(ACME, issued.id)

    assert usage["ratelimits"][0]["remaining"] == 100
    assert usage["credits"] == {"remaining": 3, "refill": None, "period_ends_at": None}


def test_credits_due_for_a_refill_show_the_refill_the_next_verification_makes(tokens, given_token, clock):
    issued = given_token(credits=DAILY)
    tokens.verify(ACME, issued.secret, [], META, cost=10)
    clock.advance(86400)

    credits = tokens.get_usage(ACME, issued.id)["credits"]

    assert (credits["remaining"], credits["period_ends_at"]) == (7, "2030-01-17T00:00:00Z")


def test_a_window_shared_by_the_owner_shows_what_every_token_of_the_owner_spent(tokens, given_token):
    shared = {**MINUTE, "shared": "owner"}
    first = given_token(owner="ada@example.com", ratelimits=[shared])
    second = given_token(owner="ada@example.com", name="other", ratelimits=[shared])
    tokens.verify(ACME, first.secret, [], META, cost=5)

    assert tokens.get_usage(ACME, second.id)["ratelimits"][0]["remaining"] == 95


def test_a_token_without_limits_or_credits_reads_no_counter(tokens, token, repository):
    repository.counter_calls.clear()

    assert tokens.get_usage(ACME, token.id) == {"ratelimits": [], "credits": None}
    assert repository.counter_calls == []


def test_another_organizations_or_another_owners_token_usage_is_not_found(tokens, given_token):
    issued = given_token(owner="bob@example.com", credits={"remaining": 3})

    with pytest.raises(NotFound):
        tokens.get_usage(GLOBEX, issued.id)
    with pytest.raises(NotFound):
        tokens.get_usage(OWNER, issued.id)


def test_reading_usage_takes_the_read_scope(tokens, given_token):
    issued = given_token(credits={"remaining": 3})

    with pytest.raises(Forbidden):
        tokens.get_usage(caller("acme", TOKENS_VERIFY), issued.id)
