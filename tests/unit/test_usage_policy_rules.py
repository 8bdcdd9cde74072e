"""Who may set and loosen a token's usage policies, their bounds, and how create, PATCH, PUT and the
admin route write them (the credits counter in the same change, the audit diff). Fakes, no I/O."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from tests.unit.conftest import ACME, META, OPERATOR, caller
from tokensmith.auth import TOKENS_READ, TOKENS_VERIFY, TOKENS_WRITE, Principal
from tokensmith.errors import Forbidden
from tokensmith.tokens import rules
from tokensmith.tokens.models import (
    AdminUpdateTokenRequest,
    CreateTokenRequest,
    ReplaceTokenRequest,
    UpdateTokenRequest,
    VerifyTokenRequest,
)

OWNER = caller("acme", TOKENS_READ, TOKENS_WRITE, TOKENS_VERIFY, "orders:read", owner="ada@example.com")
LIMIT = {"name": "minute", "limit": 100, "duration_seconds": 60}


def patch(tokens, principal, token_id, **body):
    return tokens.update_token(principal, token_id, UpdateTokenRequest.model_validate(body), META)


def as_itself(token_id: str, *scopes: str) -> Principal:
    return Principal(
        token_id, "acme", None, frozenset(scopes or (TOKENS_READ, TOKENS_WRITE, "tokens:manage", "orders:read"))
    )


# --- bounds ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "policy",
    [
        {"ratelimits": [LIMIT] * 2},  # a name twice
        {"ratelimits": [{**LIMIT, "name": f"w{i}"} for i in range(6)]},  # more than 5
        {"ratelimits": [{**LIMIT, "name": "Minute"}]},
        {"ratelimits": [{**LIMIT, "limit": 0}]},
        {"ratelimits": [{**LIMIT, "limit": 1_000_001}]},
        {"ratelimits": [{**LIMIT, "duration_seconds": 86_401}]},
        {"ratelimits": [{**LIMIT, "shared": "organization"}]},
        {"credits": {"remaining": -1}},
        {"credits": {"remaining": 5, "refill": {"interval": "weekly", "amount": 5}}},
        {"credits": {"remaining": 5, "refill": {"interval": "daily", "amount": 5, "day_of_month": 3}}},
        {"credits": {"remaining": 5, "refill": {"interval": "monthly", "amount": 5, "day_of_month": 32}}},
        {"credits": {"remaining": 5, "low_threshold": -1}},
        {"allowed_cidrs": ["10.0.0.0/33"]},
        {"allowed_cidrs": ["example.com"]},
        {"allowed_cidrs": [f"10.0.{i}.0/24" for i in range(51)]},
        {"meta": {"blob": "x" * 4100}},
        {"meta": {"a": {"b": {"c": {"d": {"e": {"f": 1}}}}}}},
    ],
)
def test_a_policy_out_of_bounds_is_refused(policy):
    with pytest.raises(ValidationError):
        CreateTokenRequest.model_validate({"name": "n", **policy})


@pytest.mark.parametrize("body", [{"cost": -1}, {"cost": 1001}, {"cost": 1.5}, {"cost": True}, {"ip": ""}])
def test_a_verify_body_out_of_bounds_is_refused(body):
    with pytest.raises(ValidationError):
        VerifyTokenRequest.model_validate({"token": "x", **body})


def test_cidrs_are_kept_in_their_canonical_form():
    request = CreateTokenRequest.model_validate({"name": "n", "allowed_cidrs": ["10.1.2.3/8", "2001:DB8::/32"]})

    assert request.allowed_cidrs == ["10.0.0.0/8", "2001:db8::/32"]


# --- what loosens --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "loosened"),
    [
        ({"ratelimits": [LIMIT]}, {"ratelimits": [{**LIMIT, "limit": 50}]}, []),
        ({"ratelimits": [LIMIT]}, {"ratelimits": [LIMIT, {**LIMIT, "name": "burst"}]}, []),
        ({"ratelimits": [LIMIT]}, {"ratelimits": [{**LIMIT, "limit": 101}]}, ["ratelimits"]),
        ({"ratelimits": [LIMIT]}, {"ratelimits": [{**LIMIT, "duration_seconds": 30}]}, ["ratelimits"]),
        ({"ratelimits": [LIMIT]}, {"ratelimits": None}, ["ratelimits"]),
        ({"ratelimits": [{**LIMIT, "shared": "owner"}]}, {"ratelimits": [LIMIT]}, ["ratelimits"]),
        # a longer window or another sharing looks stricter but moves the counter to a new, empty
        # window: a token could reset its own count by editing itself (found in review)
        ({"ratelimits": [LIMIT]}, {"ratelimits": [{**LIMIT, "duration_seconds": 3601}]}, ["ratelimits"]),
        ({"ratelimits": [LIMIT]}, {"ratelimits": [{**LIMIT, "shared": "owner"}]}, ["ratelimits"]),
        # a lower limit counted in fewer shards forgets the dropped shards' counts for the window
        ({"ratelimits": [{**LIMIT, "limit": 10_000}]}, {"ratelimits": [{**LIMIT, "limit": 9_999}]}, ["ratelimits"]),
        ({"ratelimits": [{**LIMIT, "limit": 2_000}]}, {"ratelimits": [{**LIMIT, "limit": 1_999}]}, ["ratelimits"]),
        ({"ratelimits": [{**LIMIT, "limit": 9_999}]}, {"ratelimits": [{**LIMIT, "limit": 9_000}]}, []),
        ({}, {"credits": {"remaining": 10}}, []),
        ({"credits": {"remaining": 10}}, {"credits": {"remaining": 5}}, []),
        ({"credits": {"remaining": 10}}, {"credits": {"remaining": 11}}, ["credits"]),
        ({"credits": {"remaining": 10}}, {"credits": None}, ["credits"]),
        (
            {"credits": {"remaining": 0, "refill": {"interval": "monthly", "amount": 5}}},
            {"credits": {"remaining": 0, "refill": {"interval": "daily", "amount": 5}}},
            ["credits"],
        ),
        # another refill day moves the period, so the next refill comes at once (found in review)
        (
            {"credits": {"remaining": 0, "refill": {"interval": "monthly", "amount": 5, "day_of_month": 1}}},
            {"credits": {"remaining": 0, "refill": {"interval": "monthly", "amount": 5, "day_of_month": 16}}},
            ["credits"],
        ),
        (
            {"credits": {"remaining": 0, "refill": {"interval": "daily", "amount": 5}}},
            {"credits": {"remaining": 0, "refill": {"interval": "monthly", "amount": 5}}},
            ["credits"],
        ),
        (
            {"credits": {"remaining": 3, "refill": {"interval": "monthly", "amount": 5, "day_of_month": 1}}},
            {"credits": {"remaining": 2, "refill": {"interval": "monthly", "amount": 4, "day_of_month": 1}}},
            [],
        ),
        ({}, {"allowed_cidrs": ["10.0.0.0/8"]}, []),
        ({"allowed_cidrs": ["10.0.0.0/8"]}, {"allowed_cidrs": ["10.1.0.0/16"]}, []),
        ({"allowed_cidrs": ["10.0.0.0/8"]}, {"allowed_cidrs": ["10.0.0.0/8", "11.0.0.0/8"]}, ["allowed_cidrs"]),
        ({"allowed_cidrs": ["10.0.0.0/8"]}, {"allowed_cidrs": None}, ["allowed_cidrs"]),
        ({"allowed_cidrs": ["10.0.0.0/8"]}, {"allowed_cidrs": ["::/0"]}, ["allowed_cidrs"]),
        ({"meta": '{"a":1}'}, {"meta": None}, []),
    ],
)
def test_what_loosens_a_policy(old, new, loosened):
    assert rules.loosened_policies({"id": "t", **old}, new, None) == loosened


def test_credits_above_what_is_left_now_are_a_grant_even_below_the_last_grant():
    assert rules.loosened_policies({"credits": {"remaining": 10}}, {"credits": {"remaining": 8}}, 3) == ["credits"]


# --- who may ---------------------------------------------------------------------------------------------


def test_an_owner_may_tighten_its_own_tokens_policies(tokens, given_token, repository):
    issued = given_token(OWNER, credits={"remaining": 10}, allowed_cidrs=["10.0.0.0/8"])

    patch(tokens, OWNER, issued.id, credits={"remaining": 5}, allowed_cidrs=["10.0.0.0/16"], ratelimits=[LIMIT])

    assert repository.credit_counters[issued.id]["remaining"] == 5
    assert repository.tokens[issued.id]["allowed_cidrs"] == ["10.0.0.0/16"]


@pytest.mark.parametrize(
    "loosening",
    [
        {"credits": {"remaining": 11}},
        {"allowed_cidrs": []},
        {"ratelimits": []},
        {"credits": None},
        {"ratelimits": None},
        {"allowed_cidrs": None},
    ],
)
def test_an_owner_without_tokens_manage_cannot_loosen_or_grant(tokens, given_token, repository, loosening):
    issued = given_token(OWNER, credits={"remaining": 10}, allowed_cidrs=["10.0.0.0/8"], ratelimits=[LIMIT])

    with pytest.raises(Forbidden) as refused:
        patch(tokens, OWNER, issued.id, **loosening)

    assert "tokens:manage" in refused.value.detail and repository.changes() == []


def test_a_manager_grants_credits_and_the_counter_is_set_in_the_same_change(tokens, given_token, repository):
    issued = given_token(credits={"remaining": 1})
    repository.credit_counters[issued.id]["remaining"] = 0

    patch(tokens, ACME, issued.id, credits={"remaining": 500, "low_threshold": 50})

    change = repository.only_change()
    assert change.change.grant_credits.remaining == 500
    assert repository.credit_counters[issued.id]["remaining"] == 500
    assert change.event["changes"]["credits"]["to"]["remaining"] == 500


def test_an_edit_that_is_no_grant_never_gives_back_credits_spent_since_it_read_them(
    tokens, given_token, repository, monkeypatch
):
    # Given an owner's token with 10 credits, and an edit that reads 10 left while 5 are spent meanwhile
    issued = given_token(OWNER, credits={"remaining": 10})
    live = type(tokens).live_credits
    reads: list[int | None] = []

    def spent_after_the_read(self, item):
        reads.append(live(self, item))
        repository.credit_counters[issued.id]["remaining"] = 5
        return reads[-1]

    monkeypatch.setattr(type(tokens), "live_credits", spent_after_the_read)

    # When the owner sets 8 credits (no grant, as read: 8 <= 10)
    with pytest.raises(Forbidden) as refused:
        patch(tokens, OWNER, issued.id, credits={"remaining": 8})

    # Then the write was conditional on the counter (found in review): it failed, the change was read
    # again, and 8 over the 5 now left is a grant the owner may not make; the 5 stay
    assert reads == [10, 5] and "tokens:manage" in refused.value.detail
    assert repository.credit_counters[issued.id]["remaining"] == 5


def test_a_manager_removes_credits_with_null_and_their_counter_goes_in_the_same_change(tokens, given_token, repository):
    # Given a token with credits and a rate limit
    issued = given_token(credits={"remaining": 10}, ratelimits=[LIMIT])

    # When a manager PATCHes credits: null and ratelimits: null
    patch(tokens, ACME, issued.id, credits=None, ratelimits=None)

    # Then the token is unlimited, and the one change deleted the credits counter with it
    stored = repository.tokens[issued.id]
    assert "credits" not in stored and "ratelimits" not in stored
    change = repository.only_change()
    assert change.change.credits_lifetime.delete and issued.id not in repository.credit_counters
    assert change.event["changes"]["credits"]["to"] is None
    assert tokens.verify(ACME, issued.secret, [], META).usage is None  # no policy left to apply


def test_an_omitted_policy_is_left_as_it_is(tokens, given_token, repository):
    issued = given_token(credits={"remaining": 10}, ratelimits=[LIMIT])

    patch(tokens, ACME, issued.id, name="renamed", meta=None)

    stored = repository.tokens[issued.id]
    assert (stored["credits"]["remaining"], stored["ratelimits"]) == (10, [LIMIT | {"shared": "token"}])
    assert repository.credit_counters[issued.id]["remaining"] == 10


def test_a_token_never_removes_its_own_credits(tokens, given_token, repository):
    issued = given_token(credits={"remaining": 10})

    with pytest.raises(Forbidden) as refused:
        patch(tokens, as_itself(issued.id), issued.id, credits=None)

    assert "own" in refused.value.detail and repository.credit_counters[issued.id]["remaining"] == 10


def test_a_token_never_loosens_its_own_policies_even_with_tokens_manage(tokens, given_token):
    issued = given_token(ratelimits=[LIMIT])

    with pytest.raises(Forbidden) as refused:
        patch(tokens, as_itself(issued.id), issued.id, ratelimits=[{**LIMIT, "limit": 1000}])

    assert "own" in refused.value.detail


def test_a_token_may_tighten_its_own_policies(tokens, given_token, repository):
    issued = given_token(ratelimits=[LIMIT])

    patch(tokens, as_itself(issued.id), issued.id, ratelimits=[{**LIMIT, "limit": 10}])

    assert repository.tokens[issued.id]["ratelimits"][0]["limit"] == 10


def test_a_put_without_the_policies_clears_them_which_only_a_manager_may(tokens, given_token, repository):
    issued = given_token(OWNER, ratelimits=[LIMIT], meta={"plan": "pro"})
    body = {"name": "deploy", "scopes": []}

    with pytest.raises(Forbidden):
        tokens.replace_token(OWNER, issued.id, ReplaceTokenRequest.model_validate(body), META)
    tokens.replace_token(ACME, issued.id, ReplaceTokenRequest.model_validate(body), META)

    assert "ratelimits" not in repository.tokens[issued.id] and "meta" not in repository.tokens[issued.id]


def test_an_admin_sets_policies_through_the_admin_route(admin_tokens, given_token, repository):
    issued = given_token(credits={"remaining": 1})
    request = AdminUpdateTokenRequest.model_validate({"credits": {"remaining": 1000}, "meta": {"tier": 2}})

    admin_tokens.admin_update_token(OPERATOR, issued.id, request, META)

    assert repository.credit_counters[issued.id]["remaining"] == 1000
    assert repository.tokens[issued.id]["meta"] == '{"tier":2}'


def test_a_token_under_policies_without_tokens_manage_creates_no_tokens(tokens, given_token):
    issued = given_token(OWNER, ratelimits=[LIMIT])
    limited = Principal(issued.id, "acme", "ada@example.com", OWNER.scopes)

    with pytest.raises(Forbidden):
        tokens.create_token(limited, CreateTokenRequest.model_validate({"name": "fresh budget"}), META)


def test_a_new_token_copies_its_organizations_cidrs_and_records_the_version(tokens, repository, given_token):
    repository.org_policies["acme"] = {"organization_id": "acme", "allowed_cidrs": ["192.0.2.0/24"], "version": 3}

    issued = given_token(meta={"plan": "pro"})

    stored = repository.tokens[issued.id]
    assert (stored["org_allowed_cidrs"], stored["org_policy_version"]) == (["192.0.2.0/24"], 3)


def test_verify_answers_meta_and_the_counters_state(tokens, given_token):
    issued = given_token(meta={"plan": "pro"}, credits={"remaining": 2}, ratelimits=[LIMIT])

    result = tokens.verify(ACME, issued.secret, [], META, ip="203.0.113.9", cost=1)

    assert result.code == "VALID" and result.usage.credits_remaining == 1
    assert result.usage.ratelimits[0].remaining == 99 and result.item["meta"] == '{"plan":"pro"}'


def test_another_organizations_verification_spends_nothing(tokens, given_token, repository):
    issued = given_token(credits={"remaining": 2})

    assert tokens.verify(caller("globex", TOKENS_VERIFY), issued.secret, [], META).code == "NOT_FOUND"
    assert repository.credit_counters[issued.id]["remaining"] == 2


def test_reading_a_token_shows_the_credits_left_now(tokens, given_token, repository, clock):
    issued = given_token(credits={"remaining": 10, "refill": {"interval": "daily", "amount": 7}})
    tokens.verify(ACME, issued.secret, [], META, cost=4)

    assert tokens.get_token(ACME, issued.id)["credits"]["remaining"] == 6
    clock.advance(86400)  # a new period: the next verification refills
    assert tokens.get_token(ACME, issued.id)["credits"]["remaining"] == 7
