"""AdminTokenService.admin_update_token: the operator's override of status, expiry and owner."""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.unit.conftest import ACME, DAY, META, NOW, OPERATOR, epoch, in_days, iso
from tokensmith.errors import Conflict, ValidationFailed
from tokensmith.tokens.models import AdminUpdateTokenRequest


def override(admin_tokens, token_id, **body):
    return admin_tokens.admin_update_token(OPERATOR, token_id, AdminUpdateTokenRequest.model_validate(body), META)


@pytest.fixture
def lapsed(given_token, clock):
    """acme's "deploy", past its expiry (a day ago), not yet swept."""
    token = given_token(expires_at=in_days(1))
    clock.advance(2 * DAY)
    return token


# --- the body --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body, field",
    [
        ({}, None),
        ({"revoked_reason": "abuse"}, "revoked_reason"),
        ({"status": "active", "revoked_reason": "abuse"}, "revoked_reason"),
        ({"status": "revoked", "revoked": False}, "revoked"),
        ({"status": "active", "revoked": True}, "status"),
        ({"status": "disabled", "revoked": True}, "status"),
    ],
    ids=[
        "empty",
        "reason-without-revoking",
        "reason-with-active",
        "revoked-false-and-status-revoked",
        "revoked-true-and-status-active",
        "revoked-true-and-status-disabled",
    ],
)
def test_a_body_that_changes_nothing_or_contradicts_itself_is_refused(admin_tokens, repository, token, body, field):
    # When the operator sends it
    with pytest.raises(ValidationFailed) as refused:
        override(admin_tokens, token.id, **body)

    # Then it is a 422 (naming the field at fault), and nothing is read or written
    assert [e.field for e in refused.value.errors] == ([field] if field else [])
    assert repository.writes == [] and repository.reads == []


# --- final states ----------------------------------------------------------------------------------


def test_a_revoked_token_is_final_even_for_an_admin(tokens, admin_tokens, repository, token):
    # Given a revoked token
    tokens.revoke_token(ACME, token.id, "done", META)
    repository.forget_writes()

    # When the operator brings it back with a future expiry, Then it is a conflict, nothing written
    with pytest.raises(Conflict, match="final"):
        override(admin_tokens, token.id, status="active", expires_at=in_days(30))
    assert repository.writes == []


def test_a_deleted_token_is_final_even_for_an_admin(tokens, admin_tokens, repository, token):
    # Given a deleted token
    tokens.delete_token(ACME, token.id, META)
    repository.forget_writes()

    # When the operator brings it back, Then it is a conflict (deleted is final), and nothing is written
    with pytest.raises(Conflict, match="deleted"):
        override(admin_tokens, token.id, status="active", expires_at=in_days(30))
    assert repository.writes == []


# --- revoke ----------------------------------------------------------------------------------------


def test_an_admin_revokes_with_a_reason(admin_tokens, repository, token):
    # When the operator revokes with a reason
    override(admin_tokens, token.id, revoked=True, revoked_reason="abuse")

    # Then the token is revoked for that reason by the operator, and its name is released
    changed = repository.only_change()
    assert changed.change.set_values["status"] == "revoked"
    assert changed.event["reason"] == "abuse" and changed.event["actor"]["token_id"] == OPERATOR.token_id
    assert changed.change.release_name == "NAME#acme#-#deploy"


def test_an_admin_revoke_without_a_reason_says_who(admin_tokens, repository, token):
    # When the operator sends status: revoked alone
    override(admin_tokens, token.id, status="revoked")

    # Then the reason says an administrator did it
    assert repository.tokens[token.id]["revoked_reason"] == "revoked by an administrator"


# --- expire and restore ----------------------------------------------------------------------------


def test_an_admin_expires_a_token_now(admin_tokens, repository, token):
    # When the operator sets status: expired
    override(admin_tokens, token.id, status="expired")

    # Then it is expired now, purged after retention, out of the due index, its name released
    changed = repository.only_change()
    values = changed.change.set_values
    assert (values["status"], values["expired_at"], values["purge_at"]) == ("expired", iso(NOW), epoch(NOW) + 90 * DAY)
    assert changed.event["type"] == "token.expired"
    assert changed.change.release_name == "NAME#acme#-#deploy" and repository.guards == {}
    assert {"wake_pk", "wake_at"} <= set(changed.change.remove)


def test_an_expired_token_whose_expiry_is_ahead_comes_straight_back(admin_tokens, repository, token):
    # Given a token the operator expired, whose expires_at is still ahead
    override(admin_tokens, token.id, status="expired")
    repository.forget_writes()

    # When the operator sets it active
    restored = override(admin_tokens, token.id, status="active")

    # Then it is active, claims its name again, loses expired_at, and is back in the due index
    changed = repository.only_change()
    assert restored["status"] == "active" and changed.event["type"] == "token.updated"
    assert changed.change.claim_name.pk == "NAME#acme#-#deploy"
    assert "expired_at" in changed.change.remove
    assert changed.change.set_values["wake_pk"].startswith("WAKE#")


@pytest.mark.parametrize(
    "expires_at",
    [None, datetime(2001, 1, 1, tzinfo=NOW.tzinfo), in_days(400)],
    ids=["none", "past", "beyond-the-ceiling"],
)
def test_a_token_past_its_expiry_comes_back_only_with_a_future_expiry(admin_tokens, repository, lapsed, expires_at):
    # When the operator sets it active without a new expiry, with a past one, or one beyond the ceiling
    body = {"status": "active"} | ({"expires_at": expires_at} if expires_at else {})
    with pytest.raises(ValidationFailed) as refused:
        override(admin_tokens, lapsed.id, **body)

    # Then it is refused on expires_at, and nothing is written
    assert refused.value.errors[0].field == "expires_at"
    assert repository.writes == []


def test_a_token_past_its_expiry_comes_back_with_a_future_expiry(admin_tokens, repository, lapsed, clock):
    # When the operator sets it active with an expiry 30 days ahead
    restored = override(admin_tokens, lapsed.id, status="active", expires_at=in_days(32))

    # Then it is active until then, and its name guard lives until then
    change = repository.only_change().change
    assert restored["status"] == "active" and restored["expires_at"] == iso(in_days(32))
    assert change.claim_name.live_until == epoch(in_days(32))


def test_restoring_a_token_whose_name_was_taken_conflicts(admin_tokens, given_token, repository, token):
    # Given "deploy" expired by the operator, and a new "deploy" since
    override(admin_tokens, token.id, status="expired")
    given_token()

    # When the operator restores the first one, Then its name is taken: a conflict on the name
    with pytest.raises(Conflict) as refused:
        override(admin_tokens, token.id, status="active")
    assert refused.value.errors[0].field == "name"
    assert repository.tokens[token.id]["status"] == "expired"


# --- owner and status ------------------------------------------------------------------------------


def test_a_new_owner_moves_the_name_guard(admin_tokens, repository, given_token):
    # Given alice's "svc"
    svc = given_token(name="svc", owner="alice@example.com")

    # When the operator gives it to bob
    override(admin_tokens, svc.id, owner_email="bob@example.com")

    # Then bob's guard is claimed and alice's released, and the diff says so
    changed = repository.only_change()
    assert changed.change.claim_name.pk == "NAME#acme#bob@example.com#svc"
    assert changed.change.release_name == "NAME#acme#alice@example.com#svc"
    assert changed.event["changes"] == {"owner": {"from": "alice@example.com", "to": "bob@example.com"}}


def test_an_admin_disables_a_token_with_a_disabled_event(admin_tokens, repository, token):
    # When the operator sets status: disabled
    override(admin_tokens, token.id, status="disabled")

    # Then it is a token.disabled event
    assert repository.only_change().event["type"] == "token.disabled"


def test_an_override_that_changes_nothing_writes_nothing(admin_tokens, repository, token):
    # When the operator sets the status the token has
    override(admin_tokens, token.id, status="active")

    # Then nothing is written
    assert repository.writes == []
