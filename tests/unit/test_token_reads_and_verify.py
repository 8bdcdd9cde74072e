"""TokenService's reads, verify (with its last-use bookkeeping) and revoke_leaked: tenancy, codes,
and what each writes."""

from __future__ import annotations

import pytest

from tests.unit.conftest import ACME, DAY, GLOBEX, META, NOW, OPERATOR, caller, in_days, iso
from tests.unit.fakes import LastUseRecorded, RecordingRepository
from tokensmith.auth import TOKENS_VERIFY, Principal, RequestMeta
from tokensmith.errors import NotFound, ValidationFailed
from tokensmith.tokens.leaks import LeakedTokenRevoker, leaked_secrets, message_bodies, read_message
from tokensmith.tokens.models import CreateTokenRequest
from tokensmith.tokens.service import TokenService


def last_uses(repository) -> list[LastUseRecorded]:
    return [w for w in repository.writes if isinstance(w, LastUseRecorded)]


def tampered(secret: str) -> str:
    return secret[:-1] + ("A" if secret[-1] != "A" else "B")


# --- reads and tenancy -----------------------------------------------------------------------------


def test_another_organizations_token_is_not_found(tokens, token):
    # When globex reads acme's token, Then it is not found (never forbidden)
    with pytest.raises(NotFound):
        tokens.get_token(GLOBEX, token.id)


def test_an_admin_reads_any_organizations_token(tokens, token):
    # When the operator reads acme's token, Then it gets it
    assert tokens.get_token(OPERATOR, token.id)["organization_id"] == "acme"


def test_an_id_that_is_not_a_token_id_is_not_found_without_a_read(tokens, repository):
    # When acme reads "not-a-uuid", Then it is not found, and the table is not asked
    with pytest.raises(NotFound):
        tokens.get_token(ACME, "not-a-uuid")
    assert repository.reads == []


def test_get_self_answers_the_callers_own_token(tokens, token):
    # Given the caller is acme's token "deploy" itself
    me = Principal(token.id, "acme", None, frozenset())

    # When it asks for itself, Then it gets itself, without any scope
    assert tokens.get_self(me)["id"] == token.id


def test_a_listing_of_another_organization_is_not_found(tokens):
    # When acme lists globex's tokens, Then the organization is not found
    with pytest.raises(NotFound):
        tokens.list_tokens(ACME, organization_id="globex")


def test_a_listing_shows_the_callers_organization_newest_first(tokens, given_token, clock):
    # Given two acme tokens a second apart, and a globex token
    given_token(name="first")
    clock.advance(1)
    given_token(name="second")
    given_token(principal=GLOBEX, name="theirs")

    # When acme lists its tokens
    items, cursor = tokens.list_tokens(ACME)

    # Then it sees its own, newest first
    assert [i["name"] for i in items] == ["second", "first"] and cursor is None


def test_an_admin_lists_any_organization(tokens, given_token):
    # Given a globex token
    given_token(principal=GLOBEX, name="theirs")

    # When the operator lists globex, Then it sees it
    items, _ = tokens.list_tokens(OPERATOR, organization_id="globex")
    assert [i["name"] for i in items] == ["theirs"]


def test_the_events_of_another_organizations_token_are_not_found(tokens, token):
    # When globex lists the events of acme's token, Then it is not found
    with pytest.raises(NotFound):
        tokens.list_events(GLOBEX, token.id)


# --- verify ----------------------------------------------------------------------------------------


def test_a_live_secret_verifies_with_its_token(tokens, token):
    # When acme verifies its token's secret
    result = tokens.verify(ACME, token.secret, ["orders:read"], META)

    # Then it is valid, with the token
    assert (result.code, result.item["id"]) == ("VALID", token.id)


def test_a_secret_lacking_a_scope_is_insufficient(tokens, token):
    # When acme verifies it for a scope the token lacks
    result = tokens.verify(ACME, token.secret, ["orders:read", "orders:write"], META)

    # Then it is INSUFFICIENT_SCOPES, not valid
    assert result.code == "INSUFFICIENT_SCOPES" and not result.valid


def test_verifying_for_an_unknown_scope_is_refused(tokens, token):
    # When acme verifies for a scope the catalog does not have, Then it is a 422 naming it
    with pytest.raises(ValidationFailed, match="nope"):
        tokens.verify(ACME, token.secret, ["nope"], META)


@pytest.mark.parametrize("secret", ["tks_garbage", "", "tks_" + "0" * 71])
def test_a_secret_that_is_not_one_is_not_found(tokens, secret):
    # When acme verifies a string that is no secret, Then it is NOT_FOUND
    assert tokens.verify(ACME, secret, [], META).code == "NOT_FOUND"


def test_a_tampered_secret_is_not_found(tokens, token):
    # When acme verifies its secret with the last character changed, Then it is NOT_FOUND
    assert tokens.verify(ACME, tampered(token.secret), [], META).code == "NOT_FOUND"


def test_a_disabled_tokens_secret_says_disabled(tokens, token):
    # Given a disabled token
    tokens.disable_token(ACME, token.id, META)

    # When acme verifies its secret, Then it is DISABLED
    assert tokens.verify(ACME, token.secret, [], META).code == "DISABLED"


def test_a_secret_past_its_expiry_says_expired(tokens, given_token, clock):
    # Given a token past its expiry (not yet swept)
    short = given_token(expires_at=in_days(1))
    clock.advance(DAY)

    # When acme verifies its secret, Then it is EXPIRED
    assert tokens.verify(ACME, short.secret, [], META).code == "EXPIRED"


def test_another_organizations_secret_is_not_found_whatever_its_state(tokens, token):
    # Given acme's disabled token
    tokens.disable_token(ACME, token.id, META)

    # When globex verifies its secret, Then it learns nothing: NOT_FOUND without the token
    result = tokens.verify(GLOBEX, token.secret, [], META)
    assert (result.code, result.item) == ("NOT_FOUND", None)


def test_an_admin_verifies_any_organizations_secret(tokens, token):
    # When the operator verifies acme's secret, Then it is valid
    assert tokens.verify(OPERATOR, token.secret, [], META).valid


def test_last_use_is_written_at_most_once_per_interval_without_a_new_version(tokens, repository, token, clock):
    # When acme verifies the secret twenty times within the minute, then once more after it
    for _ in range(20):
        tokens.verify(ACME, token.secret, [], META)
    clock.advance(61)
    tokens.verify(ACME, token.secret, [], META)

    # Then last use is written twice, with the caller's address, and the version stays
    assert [(u.at, u.ip, u.user_agent) for u in last_uses(repository)] == [
        (iso(NOW), "203.0.113.7", "pytest/1.0"),
        (iso(clock()), "203.0.113.7", "pytest/1.0"),
    ]
    assert repository.changes() == [] and repository.tokens[token.id]["version"] == 1


def test_a_secret_that_does_not_verify_records_no_use(tokens, repository, token):
    # Given a disabled token
    tokens.disable_token(ACME, token.id, META)
    repository.forget_writes()

    # When acme verifies its secret, Then no last use is written
    tokens.verify(ACME, token.secret, [], META)
    assert last_uses(repository) == []


class LastUseFails(RecordingRepository):
    def record_last_use(self, *args, **kwargs):
        raise RuntimeError("DynamoDB hiccup")


def test_a_last_use_that_cannot_be_written_does_not_change_the_answer(settings, clock):
    # Given a store where last use cannot be written
    tokens = TokenService(store := LastUseFails(), settings, now=clock, counters=store, policies=store)
    _, secret = tokens.create_token(OPERATOR, CreateTokenRequest(name="svc"), META)

    # When the secret is verified, Then it is valid all the same
    assert tokens.verify(OPERATOR, secret, [], META).valid


# --- leaked secrets (tokens/leaks.py: the worker's revocation of queued reports) ----------------------


@pytest.fixture
def revoker(repository, settings, clock) -> LeakedTokenRevoker:
    return LeakedTokenRevoker(repository, settings, now=clock)


def report(revoker: LeakedTokenRevoker, secrets: list[str], meta: RequestMeta = META) -> int:
    """A report of ``secrets`` as the route queues it and the worker reads it back, then revoked."""
    leaks, carried = [], META
    for body in message_bodies(leaked_secrets(secrets, "tks"), meta):
        read, carried = read_message(body)
        leaks += read
    return revoker.revoke_reported(leaks, carried)


def test_leaked_secrets_of_live_tokens_are_revoked_by_the_system(revoker, repository, token, given_token):
    # Given globex's live token too
    theirs = given_token(principal=GLOBEX, name="theirs")

    # When both secrets are reported among junk
    revoked = report(revoker, [token.secret, theirs.secret, tampered(token.secret), "hello"])

    # Then both tokens are revoked with the reason "leaked", by the system
    assert revoked == 2
    for changed in repository.changes():
        assert changed.change.set_values["revoked_reason"] == "leaked"
        assert changed.event["type"] == "token.revoked" and changed.event["actor"] == {"system": "tokensmith"}
    assert {c.change.token_id for c in repository.changes()} == {token.id, theirs.id}


def test_junk_and_tampered_secrets_revoke_nothing(revoker, repository, token):
    # When only junk is reported, Then nothing is written
    assert report(revoker, [tampered(token.secret), "hello", "tks_x", ""]) == 0
    assert repository.writes == []


def test_a_reported_secret_of_an_ended_token_changes_nothing(tokens, revoker, repository, token):
    # Given a revoked token
    tokens.revoke_token(ACME, token.id, "rotated away", META)
    repository.forget_writes()

    # When its secret is reported, twice, Then nothing is written: the reason stays
    assert report(revoker, [token.secret, token.secret]) == 0
    assert repository.writes == []
    assert repository.tokens[token.id]["revoked_reason"] == "rotated away"


def test_a_reported_secret_of_a_token_past_its_expiry_changes_nothing(revoker, repository, given_token, clock):
    # Given a token past its expiry
    short = given_token(expires_at=in_days(1))
    clock.advance(DAY)

    # When its secret is reported, Then nothing is written
    assert report(revoker, [short.secret]) == 0
    assert repository.writes == []


def test_a_rotated_out_secret_in_its_grace_revokes_the_token(tokens, revoker, repository, token):
    # Given a token rotated with an hour of grace
    tokens.rotate_token(ACME, token.id, 3600, META)

    # When the old secret is reported, Then the token is revoked
    assert report(revoker, [token.secret]) == 1
    assert repository.tokens[token.id]["status"] == "revoked"


def test_a_report_with_an_if_match_header_still_revokes_and_tells_nothing(revoker, repository, token):
    # Given a report that carries a stray If-Match (the route reads it like every route)
    meta = RequestMeta(ip=META.ip, user_agent=META.user_agent, if_match=frozenset({99}))

    # When the real secret is reported, Then the queued message carries no precondition, and it is revoked
    assert read_message(message_bodies(leaked_secrets([token.secret], "tks"), meta)[0])[1].if_match is None
    assert report(revoker, [token.secret], meta) == 1
    assert repository.tokens[token.id]["revoked_reason"] == "leaked"


def test_verify_needs_only_the_verify_scope(tokens, token):
    # When a token holding only tokens:verify verifies, Then it may
    assert tokens.verify(caller("acme", TOKENS_VERIFY), token.secret, [], META).valid
