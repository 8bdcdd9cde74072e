"""Retire on first use (tokens/rotation.py): a rotation's grace that ends at the new secret's first
successful verification, once, with a ``token.rotation_completed`` event; the rules of the request."""

from __future__ import annotations

import copy

import pytest
from pydantic import ValidationError

from tests.unit.conftest import ACME, META, NOW, OPERATOR, epoch, iso
from tokensmith.errors import ValidationFailed
from tokensmith.secret_scanning.service import issued
from tokensmith.sessions.service import SessionService
from tokensmith.tokens import format as token_format
from tokensmith.tokens.models import (
    AdminUpdateTokenRequest,
    ReplaceTokenRequest,
    RotateTokenRequest,
    UpdateTokenRequest,
)
from tokensmith.tokens.rotation import GRACE_ATTRIBUTES, complete_rotation_on_first_use


def verifies(tokens, secret: str, scopes: tuple[str, ...] = ()) -> str:
    return tokens.verify(ACME, secret, list(scopes), META).code


def completions(repository) -> list[dict]:
    return [e for e in repository.events if e["type"] == "token.rotation_completed"]


@pytest.fixture
def rotated(tokens, repository, token):
    """acme's "deploy" rotated now with an hour of grace that ends at the new secret's first use:
    (old secret, new secret); the writes so far are forgotten."""
    _, new_secret = tokens.rotate_token(ACME, token.id, 3600, META, retire_on_first_use=True)
    repository.forget_writes()
    return token.secret, new_secret


# --- the request ------------------------------------------------------------------------------------


def test_a_rotation_that_retires_on_first_use_stores_the_flag_with_the_grace(tokens, repository, token):
    # When acme rotates with an hour of grace, retiring on first use
    tokens.rotate_token(ACME, token.id, 3600, META, retire_on_first_use=True)

    # Then the flag is stored beside the grace, and the token.rotated event records it
    changed = repository.only_change()
    assert changed.change.set_values["retire_on_first_use"] is True
    assert changed.change.set_values["previous_valid_epoch"] == epoch(NOW) + 3600
    assert changed.event["details"] == {"grace_period_seconds": 3600, "retire_on_first_use": True}


def test_retire_on_first_use_without_a_grace_period_is_a_422_naming_the_field(tokens, repository, token):
    # When acme asks to retire on first use with no grace period, Then it is refused, nothing read or written
    with pytest.raises(ValidationFailed) as refused:
        tokens.rotate_token(ACME, token.id, 0, META, retire_on_first_use=True)
    assert [e.field for e in refused.value.errors] == ["retire_on_first_use"]
    assert repository.writes == [] and repository.reads == []


def test_the_request_takes_only_a_boolean():
    # When the flag is a string, Then the body is refused (no "true" coerced)
    with pytest.raises(ValidationError):
        RotateTokenRequest.model_validate({"grace_period_seconds": 60, "retire_on_first_use": "true"})
    assert RotateTokenRequest.model_validate({}).retire_on_first_use is False


@pytest.mark.parametrize("model", [ReplaceTokenRequest, AdminUpdateTokenRequest])
def test_neither_a_replace_nor_the_admin_override_can_set_the_flag(model):
    # When a PUT or the admin override carries it, Then the body is refused (unknown field)
    with pytest.raises(ValidationError, match="retire_on_first_use"):
        model.model_validate({"name": "deploy", "retire_on_first_use": True})


def test_a_second_rotation_without_the_flag_replaces_it(tokens, repository, token, rotated):
    # When acme rotates again, with a grace but without the flag
    _, newest = tokens.rotate_token(ACME, token.id, 600, META)

    # Then the flag is gone: the newest secret's first use ends nothing, the previous secret works on
    assert "retire_on_first_use" not in repository.tokens[token.id]
    assert verifies(tokens, newest) == "VALID"
    assert verifies(tokens, rotated[1]) == "VALID"
    assert completions(repository) == []


def test_a_second_rotation_without_grace_removes_the_flag_with_the_grace(tokens, repository, token, rotated):
    # When acme rotates again without a grace period
    tokens.rotate_token(ACME, token.id, 0, META)

    # Then nothing of the grace is left
    assert set(GRACE_ATTRIBUTES) <= set(repository.only_change().change.remove)
    assert not set(GRACE_ATTRIBUTES) & set(repository.tokens[token.id])


def test_a_disable_ends_the_grace_and_the_flag(tokens, repository, token, rotated):
    # When acme disables the token during the grace
    tokens.disable_token(ACME, token.id, META)

    # Then the flag goes with the grace
    assert "retire_on_first_use" in repository.only_change().change.remove


# --- the first use --------------------------------------------------------------------------------------


def test_during_the_grace_the_old_secret_works_until_the_new_one_is_first_used(tokens, repository, rotated):
    old, new = rotated
    # Given the old secret still verifies (its use ends nothing)
    assert verifies(tokens, old) == "VALID"
    assert completions(repository) == []

    # When the new secret verifies for the first time
    assert verifies(tokens, new) == "VALID"

    # Then the old one is refused like any wrong secret, and the new one goes on
    assert verifies(tokens, old) == "NOT_FOUND"
    assert verifies(tokens, new) == "VALID"


def test_the_first_use_writes_one_rotation_completed_event_as_the_system(tokens, repository, token, rotated):
    # When the new secret verifies twice
    verifies(tokens, rotated[1])
    verifies(tokens, rotated[1])

    # Then one event, by the system, telling the rotation and the grace it cut short; never a digest
    (event,) = completions(repository)
    assert event["actor"] == {"system": "tokensmith"}
    assert event["details"] == {"rotated_at": iso(NOW), "grace_was_until": iso(NOW.replace(hour=13))}
    assert event["changes"] == {}
    assert "digest" not in repr(event) and rotated[1] not in repr(event)


def test_the_first_use_ends_the_grace_in_one_write_conditioned_on_what_it_read(tokens, repository, token, rotated):
    old, new = rotated
    # When the new secret verifies for the first time
    verifies(tokens, new)

    # Then one change: the grace and the flag removed (the old digest kept, as after a grace that ran
    # out), conditioned on the version read (the rotation, and so the digests), the grace and the flag,
    # and bumping the version (an If-Match from before is stale); no digest attribute named
    (changed,) = repository.changes()
    assert set(changed.change.remove) == {"previous_valid_until", "previous_valid_epoch", "retire_on_first_use"}
    assert repository.tokens[token.id]["previous_secret_digest"] == token_format.digest(old)
    assert changed.change.expect == {"previous_valid_epoch": epoch(NOW) + 3600, "retire_on_first_use": True}
    assert changed.change.expected_version == 2 and changed.change.increment_version
    assert not {"secret_digest", "previous_secret_digest"} & {*changed.change.set_values, *changed.change.remove}
    assert repository.tokens[token.id]["version"] == 3  # created, rotated, completed


def test_a_retired_secret_found_in_public_is_still_known_as_one_we_issued(tokens, repository, token, rotated):
    # Given the grace ended at the new secret's first use
    verifies(tokens, rotated[1])

    # Then GitHub secret scanning labels the old secret a true positive (dead, but ours), as after a
    # grace that ran out
    assert verifies(tokens, rotated[0]) == "NOT_FOUND"
    assert issued(repository.tokens[token.id], token_format.digest(rotated[0]))


def test_an_edit_between_the_read_and_the_write_leaves_the_grace_to_the_next_verification(
    tokens, repository, token, rotated
):
    # Given a verification read the token, then someone edited it
    seen = copy.deepcopy(repository.tokens[token.id])
    tokens.update_token(ACME, token.id, UpdateTokenRequest(description="edited"), META)
    digest = token_format.digest(rotated[1])

    # When that verification tries to end the grace, Then it does not (the version moved)
    assert complete_rotation_on_first_use(repository, tokens.settings, seen, digest, epoch(NOW)) is False

    # And the next verification of the new secret does
    assert verifies(tokens, rotated[1]) == "VALID"
    assert len(completions(repository)) == 1 and verifies(tokens, rotated[0]) == "NOT_FOUND"


def test_a_stale_read_ends_nothing_a_second_time(repository, settings, token, rotated):
    # Given two verifications that read the token before either wrote
    seen = copy.deepcopy(repository.tokens[token.id])
    digest = token_format.digest(rotated[1])

    # When both try to end the grace
    first = complete_rotation_on_first_use(repository, settings, seen, digest, epoch(NOW))
    second = complete_rotation_on_first_use(repository, settings, seen, digest, epoch(NOW))

    # Then only the first does, and there is one event
    assert (first, second) == (True, False)
    assert len(completions(repository)) == 1


def test_a_failed_write_never_changes_the_answer(tokens, repository, rotated, monkeypatch):
    # Given the table refuses the write
    def refuse(change, event):
        raise RuntimeError("throttled")

    monkeypatch.setattr(repository, "update_token", refuse)

    # When the new secret verifies, Then it is VALID, and the old one still works (the grace stands)
    assert verifies(tokens, rotated[1]) == "VALID"
    assert verifies(tokens, rotated[0]) == "VALID"
    assert completions(repository) == []


def test_a_console_sign_in_with_the_new_secret_is_a_first_use(repository, settings, tokens, given_token):
    # Given a console token rotated to retire its old secret on first use
    console = given_token(principal=OPERATOR, organization_id="acme", name="console", scopes=["console"])
    _, new = tokens.rotate_token(OPERATOR, console.id, 3600, META, retire_on_first_use=True)

    # When someone signs in to the console with the new secret
    SessionService(repository, settings).sign_in(new, "198.51.100.4", "Firefox/140", now=NOW)

    # Then that was the first use: the old secret is refused, one event
    assert verifies(tokens, console.secret) == "NOT_FOUND"
    assert len(completions(repository)) == 1


def test_a_verification_refused_for_its_scopes_ends_nothing(tokens, repository, rotated):
    # When the new secret is verified for a scope its token lacks
    assert verifies(tokens, rotated[1], ("orders:write",)) == "INSUFFICIENT_SCOPES"

    # Then the old secret still works
    assert verifies(tokens, rotated[0]) == "VALID"
    assert completions(repository) == []


def test_after_the_grace_has_run_out_the_first_use_writes_nothing(tokens, repository, rotated, clock):
    # Given the hour passed without the new secret being used
    clock.advance(3600)

    # When it is, Then the answer is VALID and nothing is written but the last use
    assert verifies(tokens, rotated[1]) == "VALID"
    assert repository.changes() == [] and completions(repository) == []


def test_a_rotation_without_the_flag_costs_nothing_more_to_verify(tokens, repository, token):
    # Given a rotation with a grace, not retiring on first use
    _, new = tokens.rotate_token(ACME, token.id, 3600, META)
    repository.forget_writes()

    # When the new secret verifies, Then one read and no change (the last use is no token change)
    assert verifies(tokens, new) == "VALID"
    assert repository.reads == [token.id] and repository.changes() == []
    assert verifies(tokens, token.secret) == "VALID"


def test_with_the_verify_cache_the_old_secret_lasts_at_most_the_setting_after_the_first_use(
    cached_tokens, clock, tokens, rotated
):
    # Given an instance with a 5-second copy that has just verified the old secret
    cached = cached_tokens
    old, new = rotated
    assert verifies(cached, old) == "VALID"

    # When the new secret is first used a moment later (elsewhere)
    clock.advance(1)
    assert verifies(tokens, new) == "VALID"

    # Then this instance accepts the old one until 5 s after its read, never later
    clock.advance(3.9)
    assert verifies(cached, old) == "VALID"
    clock.advance(0.1)
    assert verifies(cached, old) == "NOT_FOUND"


def test_a_copy_served_from_the_verify_cache_does_not_write_again(cached_tokens, repository, clock, rotated):
    # Given an instance with a 5-second copy whose failed first attempt left the grace in place
    cached = cached_tokens
    attempts = []
    real_update = repository.update_token

    def refuse_first(change, event):
        attempts.append(change)
        if len(attempts) == 1:
            raise RuntimeError("throttled")
        real_update(change, event)

    repository.update_token = refuse_first

    # When the new secret verifies ten times within the copy's life, then once after it
    for _ in range(10):
        assert verifies(cached, rotated[1]) == "VALID"
    assert len(attempts) == 1  # only the verification that read the token tried
    clock.advance(5)
    assert verifies(cached, rotated[1]) == "VALID"

    # Then the next read tried again, and ended the grace
    assert len(attempts) == 2 and len(completions(repository)) == 1
