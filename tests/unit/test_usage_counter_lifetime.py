"""A token's credits counter never outlives it: made with its credits, purged with it (the same
``purge_at``, moved by the change that moves the token's), deleted with its credits, and never
made again by a refill. (Rate windows carry their own ``purge_at``: two windows' length.) Fakes."""

from __future__ import annotations

from datetime import timedelta

from tests.unit.conftest import ACME, META, NOW, epoch, iso
from tokensmith.tokens.models import ReplaceTokenRequest, UpdateTokenRequest
from tokensmith.tokens.usage import evaluate

CREDITS = {"remaining": 10, "refill": {"interval": "daily", "amount": 10}}


def test_a_new_tokens_counter_is_purged_with_it(tokens, given_token, repository):
    issued = given_token(credits=CREDITS)

    purge_at = repository.tokens[issued.id]["purge_at"]
    assert purge_at is not None and repository.credit_counters[issued.id]["purge_at"] == purge_at


def test_a_revocation_moves_the_counters_purge_with_the_tokens(tokens, given_token, repository):
    issued = given_token(credits=CREDITS)

    tokens.revoke_token(ACME, issued.id, "done", META)

    token, counter = repository.tokens[issued.id], repository.credit_counters[issued.id]
    assert counter["purge_at"] == token["purge_at"] and repository.only_change().change.grant_credits is None
    assert counter["remaining"] == 10  # still readable on the revoked token, until both go


def test_a_deletion_and_a_new_expiry_move_it_too(tokens, given_token, repository):
    issued = given_token(credits=CREDITS)
    first = repository.credit_counters[issued.id]["purge_at"]

    later = iso(NOW + timedelta(days=30))
    tokens.update_token(ACME, issued.id, UpdateTokenRequest.model_validate({"expires_at": later}), META)
    moved = (repository.credit_counters[issued.id]["purge_at"], repository.tokens[issued.id]["purge_at"])
    tokens.delete_token(ACME, issued.id, META)

    assert moved[0] == moved[1] != first
    assert repository.credit_counters[issued.id]["purge_at"] == repository.tokens[issued.id]["purge_at"]


def test_a_change_that_leaves_the_purge_alone_leaves_the_counter_alone(tokens, given_token, repository):
    issued = given_token(credits=CREDITS)

    tokens.update_token(ACME, issued.id, UpdateTokenRequest.model_validate({"name": "renamed"}), META)

    assert repository.only_change().change.credits_lifetime is None


def test_a_put_without_credits_deletes_the_counter(tokens, given_token, repository):
    issued = given_token(credits=CREDITS)

    tokens.replace_token(ACME, issued.id, ReplaceTokenRequest.model_validate({"name": "n", "scopes": []}), META)

    assert issued.id not in repository.credit_counters


def test_a_verification_that_read_the_credits_before_they_went_makes_no_counter(tokens, given_token, repository, clock):
    # Given a token with a daily refill, read by a verification just before a manager removed its
    # credits (the removal deleted the counter), at the first verification of a new period
    issued = given_token(credits=CREDITS)
    stale = dict(repository.tokens[issued.id])
    tokens.update_token(ACME, issued.id, UpdateTokenRequest.model_validate({"credits": None}), META)
    clock.advance(86400)

    # When that verification spends on the token as it read it
    outcome = evaluate(repository, stale, None, 1, epoch(clock()))

    # Then it is refused (as a token out of credits would be) and no counter came back
    assert outcome.code == "USAGE_EXCEEDED" and issued.id not in repository.credit_counters
