"""SessionService: console sign-in (the codes, the session item, the audit event), current() and
sign-out, against the recording repository."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.unit.conftest import ACME, META, NOW, OPERATOR, epoch, in_days, iso
from tests.unit.fakes import EventPut, LastUseRecorded, SessionCreated, SessionEnded
from tokensmith.errors import Forbidden, Unauthorized
from tokensmith.sessions.cookies import SessionCookie, csrf_matches, new_cookie
from tokensmith.sessions.service import SessionService
from tokensmith.tokens import format as token_format

IP, AGENT = "198.51.100.4", "Firefox/140"
UNIFORM = "the token cannot open a console session"  # the one refusal of every sign-in


@pytest.fixture
def sessions(repository, settings) -> SessionService:
    return SessionService(repository, settings)


@pytest.fixture
def console_user(given_token):
    return given_token(name="console user", owner="alice@example.com", scopes=["tokens:read", "tokens:write"])


@pytest.fixture
def console_token(given_token):
    """acme's token with the console scope (made by the operator, who may grant it)."""
    return given_token(principal=OPERATOR, organization_id="acme", name="console", scopes=["console", "tokens:read"])


def sign_in(sessions, secret, now=NOW):
    return sessions.sign_in(secret, IP, AGENT, now=now)


def written(repository, kind):
    return [w for w in repository.writes if isinstance(w, kind)]


# --- sign-in ---------------------------------------------------------------------------------------


def test_sign_in_stores_the_session_by_the_digest_of_its_secret(sessions, repository, console_token):
    # When the console token signs in
    signed_in = sign_in(sessions, console_token.secret)

    # Then the session is stored under the digest of the cookie's secret, never the secret itself
    (created,) = written(repository, SessionCreated)
    assert created.session["session_digest"] == signed_in.cookie.digest
    assert signed_in.cookie.secret not in repr(repository.sessions) and console_token.secret not in repr(created)
    assert created.session["token_digest"] == token_format.digest(console_token.secret)


def test_a_session_lives_twelve_hours_and_thirty_idle_minutes(sessions, repository, console_token):
    # When the console token signs in
    sign_in(sessions, console_token.secret)

    # Then the session ends 12 hours from now, or after 30 minutes without a request, and is purged then
    (created,) = written(repository, SessionCreated)
    session = created.session
    assert (session["token_id"], session["organization_id"]) == (console_token.id, "acme")
    assert (session["created_at"], session["expires_at"]) == (iso(NOW), iso(NOW + timedelta(hours=12)))
    assert session["expires_epoch"] == epoch(NOW) + 12 * 3600
    assert (session["idle_seconds"], session["last_seen_epoch"]) == (1800, epoch(NOW))
    assert session["purge_at"] == epoch(NOW) + 1800
    assert (session["ip"], session["user_agent"]) == (IP, AGENT)


def test_sign_in_writes_a_session_created_event_of_the_token(sessions, repository, console_token):
    # When the console token signs in
    signed_in = sign_in(sessions, console_token.secret)

    # Then the token's audit trail gets session.created: by the token, from the browser, nothing secret
    (created,) = written(repository, SessionCreated)
    event = created.event
    assert (event["type"], event["token_id"]) == ("session.created", console_token.id)
    assert event["actor"] == {"token_id": console_token.id, "organization_id": "acme", "owner": None}
    assert (event["ip"], event["user_agent"], event["details"], event["changes"]) == (IP, AGENT, {"via": "console"}, {})
    assert signed_in.cookie.digest not in repr(event) and signed_in.cookie.secret not in repr(event)


def test_sign_in_records_the_use_of_the_token(sessions, repository, console_token):
    # When the console token signs in
    sign_in(sessions, console_token.secret)

    # Then its last use is the sign-in
    stored = repository.tokens[console_token.id]
    assert (stored["last_used_at"], stored["last_used_ip"]) == (iso(NOW), IP)


def test_sign_in_without_the_console_scope_is_the_same_401_as_any_refusal(sessions, repository, console_user):
    # When a live token without console signs in
    with pytest.raises(Unauthorized) as refused:
        sign_in(sessions, console_user.secret)

    # Then it gets the one refusal every secret gets (no oracle of a live secret), and no session
    assert refused.value.detail == UNIFORM
    assert repository.sessions == {}


def test_a_refused_sign_in_with_a_live_secret_is_a_use_and_an_audit_event(sessions, repository, console_user):
    # When a live token without console tries to sign in
    with pytest.raises(Unauthorized):
        sign_in(sessions, console_user.secret)

    # Then its token's trail says so, and its last use is recorded (the owner sees the attempt)
    (put,) = written(repository, EventPut)
    assert (put.event["type"], put.event["token_id"]) == ("session.refused", console_user.id)
    assert put.event["details"] == {"via": "console", "reason": "lacks the 'console' scope"}
    assert [use.token_id for use in written(repository, LastUseRecorded)] == [console_user.id]


def test_an_admin_token_may_sign_in(sessions, given_token):
    # Given an admin token
    operator = given_token(principal=OPERATOR, name="root", scopes=["admin"])

    # When it signs in, Then it has a session
    assert sign_in(sessions, operator.secret).token["id"] == operator.id


@pytest.mark.parametrize("secret", ["", "tks_garbage", "tks_" + "0" * 71])
def test_a_string_that_is_no_token_cannot_sign_in(sessions, repository, secret):
    # When it signs in, Then it gets the one refusal, and nothing is written
    with pytest.raises(Unauthorized) as refused:
        sign_in(sessions, secret)
    assert refused.value.detail == UNIFORM
    assert repository.sessions == {} and repository.writes == []


def test_a_disabled_token_cannot_sign_in(sessions, tokens, console_token):
    # Given the console token is disabled
    tokens.disable_token(OPERATOR, console_token.id, META)

    # When it signs in, Then it gets the one refusal, which does not say why
    with pytest.raises(Unauthorized) as refused:
        sign_in(sessions, console_token.secret)
    assert refused.value.detail == UNIFORM


def test_a_token_past_its_expiry_cannot_sign_in(sessions, given_token):
    # Given a console token that expired yesterday
    short = given_token(principal=OPERATOR, name="short", scopes=["console"], expires_at=in_days(1))

    # When it signs in two days from now, Then it gets the one refusal, which does not say why
    with pytest.raises(Unauthorized) as refused:
        sign_in(sessions, short.secret, now=in_days(2))
    assert refused.value.detail == UNIFORM


# --- current ---------------------------------------------------------------------------------------


def test_the_current_session_is_the_cookies_own(sessions, console_token):
    # Given a session of the console token
    signed_in = sign_in(sessions, console_token.secret)

    # When its cookie asks for the current session, Then it gets it, with the same CSRF token
    current = sessions.current(signed_in.cookie, now=NOW)
    assert current.session["session_digest"] == signed_in.cookie.digest
    assert current.cookie.csrf_token == signed_in.cookie.csrf_token


def test_without_a_cookie_there_is_no_current_session(sessions):
    # When a request without a cookie asks for its session, Then it is not authenticated
    with pytest.raises(Unauthorized, match="no console session"):
        sessions.current(None, now=NOW)


def test_a_cookie_whose_token_id_was_spliced_is_no_session(sessions, console_token, console_user):
    # Given a session of the console token, and its secret put behind another token's id
    signed_in = sign_in(sessions, console_token.secret)
    spliced = SessionCookie(console_user.id, signed_in.cookie.secret)

    # When that cookie asks for its current session, Then there is none
    with pytest.raises(Unauthorized, match="over"):
        sessions.current(spliced, now=NOW)


def test_a_session_idle_for_thirty_minutes_is_over(sessions, console_token):
    # Given a session signed in at NOW
    signed_in = sign_in(sessions, console_token.secret)

    # When it is asked for 30 minutes later, Then it is over
    with pytest.raises(Unauthorized, match="over"):
        sessions.current(signed_in.cookie, now=NOW + timedelta(minutes=30))


# --- the CSRF token -----------------------------------------------------------------------------------


def test_a_cookies_csrf_token_matches_only_that_cookie():
    # Given two sessions' cookies
    mine, other = new_cookie("0f0e0d0c-0000-4000-8000-000000000001"), new_cookie("0f0e0d0c-0000-4000-8000-000000000001")

    # Then only a cookie's own CSRF token matches it; nothing, a prefix or non-ASCII never does
    assert csrf_matches(mine, mine.csrf_token)
    assert not csrf_matches(mine, other.csrf_token)
    assert not csrf_matches(mine, None) and not csrf_matches(mine, "")
    assert not csrf_matches(mine, mine.csrf_token[:-1]) and not csrf_matches(mine, "é" * 43)


# --- sign-out --------------------------------------------------------------------------------------


def test_sign_out_deletes_the_session_with_a_session_ended_event(sessions, repository, console_token):
    # Given a session of the console token
    signed_in = sign_in(sessions, console_token.secret)

    # When it signs out
    sessions.sign_out(signed_in.cookie, console_token.id, IP, AGENT, now=NOW)

    # Then the session is gone, and the token's audit trail gets session.ended
    (ended,) = written(repository, SessionEnded)
    assert ended.session_digest == signed_in.cookie.digest and repository.sessions == {}
    assert (ended.event["type"], ended.event["token_id"]) == ("session.ended", console_token.id)
    assert (ended.event["details"], ended.event["changes"]) == ({"via": "console"}, {})


def test_signing_out_twice_writes_one_event(sessions, repository, console_token):
    # Given a session that signed out
    signed_in = sign_in(sessions, console_token.secret)
    sessions.sign_out(signed_in.cookie, console_token.id, IP, AGENT, now=NOW)

    # When it signs out again, Then nothing more is written
    sessions.sign_out(signed_in.cookie, console_token.id, IP, AGENT, now=NOW)
    assert len(written(repository, SessionEnded)) == 1


def test_signing_out_without_a_cookie_writes_nothing(sessions, repository):
    # When a request without a session cookie signs out, Then nothing is written
    sessions.sign_out(None, ACME.token_id, IP, AGENT, now=NOW)
    assert repository.writes == []


def test_sign_out_with_a_spliced_cookie_ends_no_session(sessions, repository, console_token, console_user):
    # Given a session of the console token, and its secret put behind another token's id
    signed_in = sign_in(sessions, console_token.secret)
    spliced = SessionCookie(console_user.id, signed_in.cookie.secret)

    # When the spliced cookie signs out, Then the session lives on
    sessions.sign_out(spliced, console_user.id, IP, AGENT, now=NOW)
    assert signed_in.cookie.digest in repository.sessions


def test_a_bearer_token_of_another_token_beside_a_cookie_ends_no_session(sessions, repository, console_token):
    # Given a session of the console token
    signed_in = sign_in(sessions, console_token.secret)
    repository.forget_writes()

    # When a request authorized by another token (a bearer) carries that cookie to sign out
    with pytest.raises(Forbidden, match="another token"):
        sessions.sign_out(signed_in.cookie, ACME.token_id, IP, AGENT, now=NOW)

    # Then the session lives on and nothing is written in its token's trail
    assert signed_in.cookie.digest in repository.sessions and repository.writes == []


def test_sign_in_and_sign_out_events_name_the_same_actor(sessions, repository, given_token):
    # Given alice's console token, signed in
    alices = given_token(
        principal=OPERATOR, organization_id="acme", name="alice", owner="alice@example.com", scopes=["console"]
    )
    signed_in = sign_in(sessions, alices.secret)

    # When it signs out
    sessions.sign_out(signed_in.cookie, alices.id, IP, AGENT, now=NOW)

    # Then both events name alice's token, with its owner
    (created,), (ended,) = written(repository, SessionCreated), written(repository, SessionEnded)
    assert ended.event["actor"] == created.event["actor"]
    assert created.event["actor"]["owner"] == "alice@example.com"


def test_a_token_with_an_allowlist_opens_no_session_from_elsewhere(sessions, given_token, repository):
    # Given a console token allowed only from 10.0.0.0/8
    issued = given_token(OPERATOR, organization_id="acme", scopes=["console"], allowed_cidrs=["10.0.0.0/8"])

    # When someone signs in with it from another address, Then it is the one refusal, and the trail says why
    with pytest.raises(Unauthorized):
        sessions.sign_in(issued.secret, "192.0.2.1", "browser")
    assert repository.events[-1]["type"] == "session.refused"
    assert repository.events[-1]["details"]["reason"] == "ip_not_allowed"


def test_a_session_asked_for_from_outside_its_tokens_allowlist_is_refused(sessions, given_token):
    # Given a session of a token allowed only from 10.0.0.0/8, opened from inside it
    issued = given_token(OPERATOR, organization_id="acme", scopes=["console"], allowed_cidrs=["10.0.0.0/8"])
    signed_in = sessions.sign_in(issued.secret, "10.1.2.3", "browser", now=NOW)

    # When its cookie asks for the current session from another address, Then it is refused (the
    # answer holds the CSRF token and the token's policies), and from inside it is answered
    with pytest.raises(Unauthorized, match="address"):
        sessions.current(signed_in.cookie, now=NOW, ip="192.0.2.1")
    assert sessions.current(signed_in.cookie, now=NOW, ip="10.9.9.9").cookie == signed_in.cookie
