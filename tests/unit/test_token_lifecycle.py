"""TokenService's lifecycle operations: disable, enable, revoke, rotate, delete."""

from __future__ import annotations

import pytest

from tests.unit.conftest import ACME, DAY, GLOBEX, META, NOW, OPERATOR, caller, epoch, in_days, iso
from tokensmith.auth import TOKENS_READ, TOKENS_WRITE
from tokensmith.errors import Conflict, Forbidden, NotFound
from tokensmith.tokens import format as token_format
from tokensmith.tokens.models import CreateTokenRequest, UpdateTokenRequest

GRACE = ("previous_secret_digest", "previous_valid_until", "previous_valid_epoch")


def verifies(tokens, secret: str) -> str:
    return tokens.verify(ACME, secret, [], META).code


# --- disable and enable ----------------------------------------------------------------------------


def test_disable_writes_the_status_and_a_disabled_event(tokens, repository, token):
    # When acme disables its token
    disabled = tokens.disable_token(ACME, token.id, META)

    # Then the status and the time are written at version 2, with a token.disabled event
    changed = repository.only_change()
    assert changed.change.set_values["status"] == "disabled"
    assert changed.change.set_values["disabled_at"] == iso(NOW)
    assert changed.event["type"] == "token.disabled"
    assert changed.event["changes"] == {"status": {"from": "active", "to": "disabled"}}
    assert disabled["version"] == 2


def test_a_disabled_token_keeps_its_name(tokens, repository, token):
    # When acme disables its token
    tokens.disable_token(ACME, token.id, META)

    # Then its name guard is neither released nor claimed again
    change = repository.only_change().change
    assert change.claim_name is None and change.release_name is None


def test_enable_writes_the_status_and_an_enabled_event(tokens, repository, token):
    # Given a disabled token
    tokens.disable_token(ACME, token.id, META)
    repository.forget_writes()

    # When acme enables it
    enabled = tokens.enable_token(ACME, token.id, META)

    # Then it is active again at version 3, with a token.enabled event
    assert repository.only_change().event["type"] == "token.enabled"
    assert enabled["status"] == "active" and enabled["version"] == 3


def test_disabling_a_disabled_token_writes_nothing(tokens, repository, token):
    # Given a disabled token
    tokens.disable_token(ACME, token.id, META)
    repository.forget_writes()

    # When acme disables it again
    answered = tokens.disable_token(ACME, token.id, META)

    # Then nothing is written, no event, and the version stays
    assert repository.writes == []
    assert answered["status"] == "disabled" and answered["version"] == 2


def test_enabling_an_active_token_writes_nothing(tokens, repository, token):
    # When acme enables its active token
    answered = tokens.enable_token(ACME, token.id, META)

    # Then nothing is written
    assert repository.writes == []
    assert answered["version"] == 1


def test_a_token_past_its_expiry_cannot_be_enabled(tokens, repository, given_token, clock):
    # Given a disabled token past its expiry
    short = given_token(expires_at=in_days(1), revoked=True)
    clock.advance(DAY)

    # When acme enables it, Then it is expired: a conflict
    with pytest.raises(Conflict, match="expired"):
        tokens.enable_token(ACME, short.id, META)
    assert repository.writes == []


# --- revoke ----------------------------------------------------------------------------------------


def test_revoke_writes_the_status_the_reason_and_a_purge_after_retention(tokens, repository, token, clock):
    # Given a day has passed
    clock.advance(DAY)

    # When acme revokes its token
    tokens.revoke_token(ACME, token.id, "laptop stolen", META)

    # Then it is revoked now, with the reason, and purged 90 days (the retention) from now
    values = repository.only_change().change.set_values
    assert values["status"] == "revoked" and values["revoked_reason"] == "laptop stolen"
    assert values["revoked_at"] == iso(clock())
    assert values["purge_at"] == epoch(clock()) + 90 * DAY


def test_the_revoked_event_carries_the_reason(tokens, repository, token):
    # When acme revokes its token
    tokens.revoke_token(ACME, token.id, "laptop stolen", META)

    # Then the token.revoked event says why and what changed
    event = repository.only_change().event
    assert event["type"] == "token.revoked" and event["reason"] == "laptop stolen"
    assert event["changes"]["status"] == {"from": "active", "to": "revoked"}
    assert event["changes"]["revoked_reason"] == {"from": None, "to": "laptop stolen"}


def test_revoke_releases_the_name_and_leaves_the_due_index(tokens, repository, token):
    # When acme revokes its token
    tokens.revoke_token(ACME, token.id, "done", META)

    # Then its name guard is released (and free), and the sweep no longer wakes for it
    change = repository.only_change().change
    assert change.release_name == "NAME#acme#-#deploy" and change.claim_name is None
    assert repository.guards == {}
    assert {"wake_pk", "wake_at"} <= set(change.remove)


def test_revoke_ends_a_rotation_grace(tokens, repository, token):
    # Given a token rotated with a grace period
    tokens.rotate_token(ACME, token.id, 3600, META)
    repository.forget_writes()

    # When acme revokes it
    tokens.revoke_token(ACME, token.id, "leaked", META)

    # Then the previous secret's attributes are removed: it stops verifying too
    assert set(GRACE) <= set(repository.only_change().change.remove)
    assert verifies(tokens, token.secret) == "NOT_FOUND"


@pytest.mark.parametrize(
    "operation",
    [
        lambda tokens, token_id: tokens.disable_token(ACME, token_id, META),
        lambda tokens, token_id: tokens.enable_token(ACME, token_id, META),
        lambda tokens, token_id: tokens.revoke_token(ACME, token_id, "again", META),
        lambda tokens, token_id: tokens.rotate_token(ACME, token_id, 0, META),
        lambda tokens, token_id: tokens.update_token(ACME, token_id, UpdateTokenRequest(description="x"), META),
    ],
    ids=["disable", "enable", "revoke", "rotate", "update"],
)
def test_a_revoked_token_is_final(tokens, repository, token, operation):
    # Given a revoked token
    tokens.revoke_token(ACME, token.id, "done", META)
    repository.forget_writes()

    # When acme changes it, Then it is a conflict, and nothing is written
    with pytest.raises(Conflict, match="revoked"):
        operation(tokens, token.id)
    assert repository.writes == []


def test_a_revoked_tokens_name_is_free_for_a_new_token(tokens, repository, token):
    # Given "deploy" is revoked
    tokens.revoke_token(ACME, token.id, "done", META)

    # When a new "deploy" is created
    item, _ = tokens.create_token(ACME, CreateTokenRequest(name="deploy"), META)

    # Then it holds the name
    assert repository.guards["NAME#acme#-#deploy"]["token_id"] == item["id"]


# --- rotate ----------------------------------------------------------------------------------------


def test_rotate_with_grace_keeps_the_old_digest_until_the_grace_ends(tokens, repository, token):
    # When acme rotates its token with a grace period of an hour
    _, new_secret = tokens.rotate_token(ACME, token.id, 3600, META)

    # Then the new digest replaces the old, which is kept with the end of the grace
    values = repository.only_change().change.set_values
    assert values["secret_digest"] == token_format.digest(new_secret)
    assert values["previous_secret_digest"] == token_format.digest(token.secret)
    assert values["previous_valid_until"] == iso(NOW.replace(hour=13))
    assert values["previous_valid_epoch"] == epoch(NOW) + 3600
    assert values["rotated_at"] == iso(NOW)


def test_the_rotated_event_tells_the_grace_and_no_secret(tokens, repository, token):
    # When acme rotates its token with a grace period of a minute
    _, new_secret = tokens.rotate_token(ACME, token.id, 60, META)

    # Then the token.rotated event has the grace, and no audited field changed (the start shows the
    # token id, which a rotation keeps), never a secret or a digest
    event = repository.only_change().event
    assert event["type"] == "token.rotated"
    assert event["details"] == {"grace_period_seconds": 60, "retire_on_first_use": False}
    assert event["changes"] == {}
    assert token_format.start_of(new_secret) == token_format.start_of(token.secret)
    assert token_format.digest(new_secret) not in repr(event) and new_secret not in repr(event)


def test_rotate_without_grace_removes_the_previous_secret(tokens, repository, token):
    # Given a token rotated with a grace period
    tokens.rotate_token(ACME, token.id, 3600, META)
    repository.forget_writes()

    # When acme rotates it again without one
    tokens.rotate_token(ACME, token.id, 0, META)

    # Then no previous secret is left
    assert set(GRACE) <= set(repository.only_change().change.remove)
    assert not set(GRACE) & set(repository.tokens[token.id])


def test_the_new_secret_verifies_and_the_old_one_only_during_the_grace(tokens, token, clock):
    # Given acme rotated its token with a grace period of a minute
    _, new_secret = tokens.rotate_token(ACME, token.id, 60, META)

    # Then both secrets verify within the minute, only the new one after it
    assert (verifies(tokens, new_secret), verifies(tokens, token.secret)) == ("VALID", "VALID")
    clock.advance(60)
    assert (verifies(tokens, new_secret), verifies(tokens, token.secret)) == ("VALID", "NOT_FOUND")


def test_without_grace_the_old_secret_stops_at_once(tokens, token):
    # When acme rotates its token without a grace period
    _, new_secret = tokens.rotate_token(ACME, token.id, 0, META)

    # Then only the new secret verifies
    assert (verifies(tokens, new_secret), verifies(tokens, token.secret)) == ("VALID", "NOT_FOUND")


def test_rotate_cannot_hand_out_a_token_stronger_than_the_caller(tokens, repository, given_token):
    # Given acme's token with orders:write, made by an admin
    stronger = given_token(principal=OPERATOR, organization_id="acme", scopes=["orders:write"])

    # When acme (without orders:write) rotates it, Then it is refused naming the scope
    with pytest.raises(Forbidden, match="orders:write"):
        tokens.rotate_token(ACME, stronger.id, 0, META)
    assert repository.writes == []


def test_rotating_an_id_that_is_not_a_token_id_reads_nothing(tokens, repository):
    # When acme rotates "not-a-uuid", Then it is not found, without a read
    with pytest.raises(NotFound):
        tokens.rotate_token(ACME, "not-a-uuid", 0, META)
    assert repository.reads == []


# --- delete ----------------------------------------------------------------------------------------


def test_delete_marks_the_token_deleted_and_purges_it_after_retention(tokens, repository, token):
    # When acme deletes its token
    tokens.delete_token(ACME, token.id, META)

    # Then it is marked deleted now, to be purged after the retention, with a token.deleted event
    changed = repository.only_change()
    assert changed.change.set_values["status"] == "deleted"
    assert changed.change.set_values["deleted_at"] == iso(NOW)
    assert changed.change.set_values["purge_at"] == epoch(NOW) + 90 * DAY
    assert changed.event["type"] == "token.deleted"


def test_delete_drops_the_token_from_its_organizations_list_and_frees_its_name(tokens, repository, token):
    # When acme deletes its token
    tokens.delete_token(ACME, token.id, META)

    # Then the by-organization index attributes are removed and the name guard released
    change = repository.only_change().change
    assert {"org_pk", "org_sk", "wake_pk", "wake_at"} <= set(change.remove)
    assert change.release_name == "NAME#acme#-#deploy" and repository.guards == {}


def test_a_deleted_token_is_not_found(tokens, token):
    # Given a deleted token
    tokens.delete_token(ACME, token.id, META)

    # When acme reads it, Then it is not found
    with pytest.raises(NotFound):
        tokens.get_token(ACME, token.id)


def test_a_deleted_tokens_audit_trail_stays_readable_for_who_manages_the_organization(tokens, token):
    # Given a deleted token
    tokens.delete_token(ACME, token.id, META)

    # When acme (tokens:manage) and the operator (admin) list its events, Then they are there, newest first
    for principal in (ACME, OPERATOR):
        events, _ = tokens.list_events(principal, token.id)
        assert [e["type"] for e in events] == ["token.deleted", "token.created"]


def test_a_deleted_tokens_audit_trail_is_not_found_for_an_owner(tokens, given_token):
    # Given alice's token, deleted by alice (who may read her own tokens, without tokens:manage)
    alice = caller("acme", TOKENS_READ, TOKENS_WRITE, owner="alice")
    token = given_token(alice)
    assert tokens.list_events(alice, token.id)[0]
    tokens.delete_token(alice, token.id, META)

    # When alice lists its events, Then the token is gone, as from every read
    with pytest.raises(NotFound):
        tokens.list_events(alice, token.id)


@pytest.mark.parametrize(
    "change",
    [
        lambda tokens, token_id: tokens.enable_token(ACME, token_id, META),
        lambda tokens, token_id: tokens.disable_token(ACME, token_id, META),
        lambda tokens, token_id: tokens.revoke_token(ACME, token_id, "gone", META),
        lambda tokens, token_id: tokens.rotate_token(ACME, token_id, 0, META),
        lambda tokens, token_id: tokens.update_token(ACME, token_id, UpdateTokenRequest(description="x"), META),
    ],
    ids=["enable", "disable", "revoke", "rotate", "update"],
)
def test_changing_a_deleted_token_is_a_conflict(tokens, repository, token, change):
    """Product spec: re-enabling or rotating a revoked, expired or deleted token → 409; deleted is final."""
    # Given a deleted token
    tokens.delete_token(ACME, token.id, META)
    repository.forget_writes()

    # When acme changes it, Then it is a conflict, and nothing is written
    with pytest.raises(Conflict, match="deleted"):
        change(tokens, token.id)
    assert repository.writes == []


def test_deleting_a_deleted_token_again_is_not_found(tokens, repository, token):
    tokens.delete_token(ACME, token.id, META)
    repository.forget_writes()

    with pytest.raises(NotFound):
        tokens.delete_token(ACME, token.id, META)
    assert repository.writes == []


def test_a_deleted_tokens_changes_are_not_found_in_another_organization(tokens, token):
    # Given acme's deleted token, When globex tries to enable it, Then there is no such token (tenancy first)
    tokens.delete_token(ACME, token.id, META)
    with pytest.raises(NotFound):
        tokens.enable_token(GLOBEX, token.id, META)


def test_verifying_a_deleted_token_says_deleted_and_shows_nothing_of_it(tokens, token):
    # Given a deleted token
    tokens.delete_token(ACME, token.id, META)

    # When acme verifies its secret, Then the code is DELETED and no token comes with it
    result = tokens.verify(ACME, token.secret, [], META)
    assert (result.code, result.item) == ("DELETED", None)


def test_deleting_an_expired_token_leaves_its_name_to_the_token_that_took_it(tokens, repository, given_token, clock):
    # Given "deploy" past its expiry, and a new "deploy" that took the name over
    old = given_token(expires_at=in_days(1))
    clock.advance(DAY + 1)
    new = given_token()

    # When acme deletes the old one
    tokens.delete_token(ACME, old.id, META)

    # Then the new token keeps its name
    assert repository.guards["NAME#acme#-#deploy"]["token_id"] == new.id
