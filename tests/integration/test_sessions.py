"""Console sessions: sign-in, the authorizer's cookie path, CSRF, lifetimes, tenancy, sign-out."""

from __future__ import annotations

import json

import pytest

from tests.integration.conftest import make_tenant
from tokensmith.sessions.cookies import COOKIE_NAME
from tokensmith.webhooks.event_types import EVENT_TYPES

# Every route behind the authorizer, reads included: each needs "Authorization: Session <csrf token>"
ROUTES = [
    ("GET", "/v1/tokens", None),
    ("GET", "/v1/tokens/{id}", None),
    ("GET", "/v1/tokens/{id}/events", None),
    ("POST", "/v1/tokens", {"name": "csrf-probe", "scopes": ["tokens:read"]}),
    ("PATCH", "/v1/tokens/{id}", {"description": "csrf"}),
    ("PUT", "/v1/tokens/{id}", {"name": "csrf-put", "scopes": ["tokens:read"]}),
    ("POST", "/v1/tokens/{id}/disable", None),
    ("POST", "/v1/tokens/{id}/enable", None),
    ("POST", "/v1/tokens/{id}/revoke", {"reason": "csrf"}),
    ("POST", "/v1/tokens/{id}/rotate", None),
    ("DELETE", "/v1/tokens/{id}", None),
    ("PATCH", "/v1/admin/tokens/{id}", {"status": "disabled"}),
    ("POST", "/v1/tokens/verify", {"token": "tks_x"}),
    ("DELETE", "/v1/sessions/current", None),
]


class Browser:
    """What a browser holds after signing in: the cookie jar and the CSRF token from the answer."""

    def __init__(self, api, response) -> None:
        assert response.status == 201, response.body
        (set_cookie,) = response.cookies
        self.api = api
        self.set_cookie = set_cookie
        self.cookie = set_cookie.split(";")[0]
        self.csrf = response.body["csrf_token"]
        self.body = response.body

    def request(self, method, path, csrf: bool | str = True, **kwargs):
        """``csrf``: True sends the session's own CSRF token as ``Authorization: Session <csrf>``, a
        string sends that one instead, False sends no Authorization header (the cookie alone)."""
        headers = dict(kwargs.pop("headers", {}) or {})
        if csrf is True:
            headers["Authorization"] = f"Session {self.csrf}"
        elif csrf:
            headers["Authorization"] = f"Session {csrf}"
        return self.api.request(method, path, headers=headers, cookies=[self.cookie], **kwargs)


def sign_in(api, secret, **kwargs) -> Browser:
    return Browser(api, api.post("/v1/sessions", body={"token": secret}, **kwargs))


@pytest.fixture
def console_user(api, admin):
    return make_tenant(api, admin, "acme", scopes=["tokens:read", "tokens:write", "console"], name="console-user")


@pytest.fixture
def browser(api, console_user) -> Browser:
    return sign_in(api, console_user.secret)


@pytest.fixture
def target(api, console_user):
    return api.post("/v1/tokens", secret=console_user.secret, body={"name": "target", "scopes": ["tokens:read"]}).body


# --- sign-in ---------------------------------------------------------------------------------------


def test_sign_in_sets_a_host_only_strict_http_only_cookie_and_returns_a_csrf_token(api, console_user):
    response = api.post("/v1/sessions", body={"token": console_user.secret})

    assert response.status == 201
    (cookie,) = response.cookies
    name, _, rest = cookie.partition("=")
    assert name == COOKIE_NAME
    attributes = {part.strip().split("=")[0] for part in rest.split(";")[1:]}
    assert {"Path", "Max-Age", "Secure", "HttpOnly", "SameSite"} <= attributes
    assert "Path=/" in cookie and "SameSite=Strict" in cookie and "Domain" not in cookie
    assert "Max-Age=43200" in cookie
    body = response.body
    assert body["csrf_token"] and body["csrf_token"] not in cookie
    assert body["token"]["id"] == console_user.token_id and body["idle_timeout_seconds"] == 1800
    assert {"tokens:read", "console", "admin", "orders:read"} <= set(body["scope_catalog"])
    assert body["webhook_event_types"] == list(EVENT_TYPES)  # what the console offers an endpoint
    assert body["max_token_lifetime_days"] == 365
    assert console_user.secret not in response.raw and cookie.split(";")[0].split("=", 1)[1] not in response.raw


def test_sign_in_takes_the_token_from_the_authorization_header_too(api, console_user):
    response = api.post("/v1/sessions", secret=console_user.secret)

    assert response.status == 201 and len(response.cookies) == 1


def test_the_session_is_stored_as_a_digest_only(api, browser, table):
    session_secret = browser.cookie.split("=", 1)[1].split(".", 1)[1]

    items = table.scan(TableName="tokensmith-test")["Items"]
    sessions = [i for i in items if i["pk"]["S"].startswith("SESSION#")]

    assert len(sessions) == 1
    assert session_secret not in str(items) and browser.csrf not in str(items)
    assert int(sessions[0]["purge_at"]["N"]) > 0


@pytest.mark.parametrize(
    "scopes, status",
    [(["tokens:read"], 401), (["tokens:read", "console"], 201), (["admin"], 201)],
)
def test_sign_in_needs_the_console_scope_or_admin(api, admin, scopes, status):
    holder = make_tenant(api, admin, "acme", scopes=scopes, name=f"holder-{'-'.join(scopes)}")
    if scopes == ["admin"]:
        holder = admin

    response = api.post("/v1/sessions", body={"token": holder.secret})

    assert response.status == status, response.body


@pytest.mark.parametrize("secret", ["", "tks_garbage", "tks_" + "0" * 71])
def test_sign_in_with_a_bad_token_is_401_in_words(api, secret):
    response = api.post("/v1/sessions", body={"token": secret} if secret else {})

    assert response.status in (401, 422)
    assert response.headers["content-type"] == "application/problem+json" and response.body["detail"]


def test_sign_in_with_a_disabled_token_is_401(api, console_user, admin):
    api.post(f"/v1/tokens/{console_user.token_id}/disable", secret=admin.secret)

    response = api.post("/v1/sessions", body={"token": console_user.secret})

    # the one refusal every secret gets: it does not say that the secret is real but disabled
    assert response.status == 401 and response.body["detail"] == "the token cannot open a console session"


# --- the cookie path of the authorizer ---------------------------------------------------------------


def test_the_cookie_acts_as_the_token_it_was_made_from(browser, console_user):
    me = browser.request("GET", "/v1/tokens/self")
    listed = browser.request("GET", "/v1/tokens")

    assert me.status == 200 and me.body["id"] == console_user.token_id
    assert listed.status == 200


def test_get_current_session_gives_the_same_csrf_token_back(browser):
    current = browser.request("GET", "/v1/sessions/current")

    assert current.status == 200
    assert current.body["csrf_token"] == browser.csrf
    assert current.body["expires_at"] == browser.body["expires_at"]


@pytest.mark.parametrize("method, path, body", ROUTES, ids=[f"{m} {p}" for m, p, _ in ROUTES])
def test_every_route_needs_the_csrf_token_beside_the_cookie(api, console_user, browser, target, method, path, body):
    url = path.replace("{id}", target["token"]["id"])
    other_session = sign_in(api, console_user.secret).csrf

    missing = browser.request(method, url, csrf=False, body=body)
    wrong = browser.request(method, url, csrf=browser.csrf[:-2] + "xx", body=body)
    crossed = browser.request(method, url, csrf=other_session, body=body)

    # without the header the gateway answers 401 itself; a wrong token, the authorizer 403
    assert (missing.status, wrong.status, crossed.status) == (401, 403, 403)
    assert missing.body == {"message": "Unauthorized"}
    # and nothing happened
    assert api.get(f"/v1/tokens/{target['token']['id']}", claims=claims_of(target)).body["status"] == "active"


def claims_of(created) -> dict[str, str]:
    token = created["token"]
    return {"token_id": "inspector", "organization_id": token["organization_id"], "owner": "", "scopes": "tokens:read"}


def test_with_the_csrf_token_unsafe_methods_work(browser, target):
    token_id = target["token"]["id"]

    disabled = browser.request("POST", f"/v1/tokens/{token_id}/disable")
    revoked = browser.request("POST", f"/v1/tokens/{token_id}/revoke", body={"reason": "from the console"})
    created = browser.request("POST", "/v1/tokens", body={"name": "made-in-console", "scopes": ["tokens:read"]})

    assert (disabled.status, revoked.status, created.status) == (200, 200, 201)


def test_reads_need_the_csrf_token_too(browser):
    assert browser.request("GET", "/v1/tokens").status == 200
    assert browser.request("GET", "/v1/tokens", csrf=False).status == 401
    assert browser.request("GET", "/v1/tokens", csrf=browser.csrf[::-1]).status == 403


def test_a_session_header_without_its_cookie_is_refused(api, browser):
    response = api.get("/v1/tokens/self", headers={"Authorization": f"Session {browser.csrf}"})

    assert response.status == 403


@pytest.mark.parametrize("authorization", ["Basic dXNlcjpwYXNz", "Session", "Bearer", "Token abc"])
def test_other_schemes_and_empty_credentials_are_refused(api, browser, authorization):
    response = api.get("/v1/tokens/self", headers={"Authorization": authorization}, cookies=[browser.cookie])

    assert response.status == 403


@pytest.mark.parametrize("action", ["disable", "revoke", "delete", "expire", "drop-console-scope"])
def test_the_session_dies_with_its_token(api, admin, browser, console_user, clock, action):
    path = f"/v1/tokens/{console_user.token_id}"
    if action == "disable":
        api.post(f"{path}/disable", secret=admin.secret)
    elif action == "revoke":
        api.post(f"{path}/revoke", secret=admin.secret, body={"reason": "gone"})
    elif action == "delete":
        api.delete(path, secret=admin.secret)
    elif action == "expire":
        api.patch(f"/v1/admin/tokens/{console_user.token_id}", secret=admin.secret, body={"status": "expired"})
    else:
        api.patch(path, secret=admin.secret, body={"scopes": ["tokens:read"]})

    assert browser.request("GET", "/v1/tokens/self").status == 403


def test_a_session_dies_when_its_token_passes_its_expiry(api, admin, clock):
    from datetime import UTC, datetime, timedelta

    soon = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    created = api.post(
        "/v1/tokens",
        secret=admin.secret,
        body={"name": "short", "organization_id": "acme", "scopes": ["console", "tokens:read"], "expires_at": soon},
    ).body
    browser = sign_in(api, created["secret"])
    assert browser.request("GET", "/v1/tokens/self").status == 200

    clock.advance(3601)

    assert browser.request("GET", "/v1/tokens/self").status == 403


def test_a_session_ends_after_the_idle_timeout(browser, clock):
    clock.advance(29 * 60)
    assert browser.request("GET", "/v1/tokens/self").status == 200  # refreshes the idle deadline
    clock.advance(29 * 60)
    assert browser.request("GET", "/v1/tokens/self").status == 200
    clock.advance(30 * 60 + 1)
    assert browser.request("GET", "/v1/tokens/self").status == 403


def test_a_session_ends_at_its_absolute_lifetime_however_active(browser, clock):
    for _ in range(30):
        clock.advance(29 * 60)
        if browser.request("GET", "/v1/tokens/self").status != 200:
            break
    else:
        pytest.fail("the session outlived its 12 hours")
    assert clock.offset >= 11.5 * 3600


def test_the_idle_deadline_is_written_at_most_once_a_minute(browser, clock, monkeypatch):
    from tokensmith.sessions.repository import SessionRepository

    touches = []
    real = SessionRepository.touch_session

    def counting(self, *args, **kwargs):
        touches.append(args)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(SessionRepository, "touch_session", counting)
    for _ in range(10):
        assert browser.request("GET", "/v1/tokens/self").status == 200
    clock.advance(61)
    for _ in range(10):
        assert browser.request("GET", "/v1/tokens/self").status == 200

    assert len(touches) == 1


def test_the_cookie_path_costs_one_batch_read(browser, monkeypatch, clock):
    from tokensmith.tokens import repository

    calls = []
    client = repository.default_repository().client
    real = client._make_api_call

    def counting(operation, params):
        calls.append(operation)
        return real(operation, params)

    monkeypatch.setattr(client, "_make_api_call", counting)
    from tests.support import LambdaContext, load_function

    event = {
        "cookies": [browser.cookie],
        "headers": {"authorization": f"Session {browser.csrf}"},
        "requestContext": {"http": {"method": "GET", "sourceIp": "1.2.3.4"}},
    }
    answer = load_function("functions/authorizer").handler(event, LambdaContext())

    assert answer["isAuthorized"] is True
    assert calls == ["BatchGetItem"]


# --- tenancy ------------------------------------------------------------------------------------------


def test_a_session_sees_only_its_organization(api, admin, browser):
    other = make_tenant(api, admin, "globex", scopes=["tokens:read", "tokens:write"], name="globex-token")

    assert browser.request("GET", f"/v1/tokens/{other.token_id}").status == 404
    assert browser.request("POST", f"/v1/tokens/{other.token_id}/disable").status == 404
    listed = browser.request("GET", "/v1/tokens").body["items"]
    assert {t["organization_id"] for t in listed} == {"acme"}


def test_a_session_cannot_escalate_its_scopes(browser):
    response = browser.request("POST", "/v1/tokens", body={"name": "stronger", "scopes": ["admin"]})

    assert response.status == 422


def test_a_cookie_cannot_be_spliced_onto_another_token(api, admin, browser):
    other = make_tenant(api, admin, "globex", scopes=["tokens:read", "console"], name="globex-console")
    session_secret = browser.cookie.split("=", 1)[1].split(".", 1)[1]
    spliced = f"{COOKIE_NAME}={other.token_id}.{session_secret}"

    # the CSRF token derives from the session secret alone: it matches the spliced cookie
    response = api.get("/v1/tokens/self", cookies=[spliced], headers={"Authorization": f"Session {browser.csrf}"})

    assert response.status == 403


@pytest.mark.parametrize(
    "cookie",
    [f"{COOKIE_NAME}=", f"{COOKIE_NAME}=garbage", f"{COOKIE_NAME}=" + "0" * 36 + "." + "a" * 43, "other=1"],
)
def test_malformed_or_unknown_cookies_are_refused(api, browser, cookie):
    headers = {"Authorization": f"Session {browser.csrf}"}
    assert api.get("/v1/tokens/self", cookies=[cookie], headers=headers).status == 403
    assert api.get("/v1/tokens/self", cookies=[cookie]).status == 401  # no Authorization header


def test_a_bearer_token_wins_over_a_cookie(api, browser, admin):
    response = api.get("/v1/tokens/self", secret=admin.secret, cookies=[browser.cookie])

    assert response.body["id"] == admin.token_id


# --- sign-out -----------------------------------------------------------------------------------------


def test_sign_out_deletes_the_session_and_expires_the_cookie(browser):
    response = browser.request("DELETE", "/v1/sessions/current")

    assert response.status == 204
    (expired,) = response.cookies
    assert expired.startswith(f"{COOKIE_NAME}=;") and "Max-Age=0" in expired
    assert browser.request("GET", "/v1/tokens/self").status == 403


def test_sign_out_needs_the_csrf_token(browser):
    assert browser.request("DELETE", "/v1/sessions/current", csrf=False).status == 401
    assert browser.request("DELETE", "/v1/sessions/current", csrf="wrong").status == 403
    assert browser.request("GET", "/v1/tokens/self").status == 200


def test_get_current_session_with_a_bearer_token_and_no_cookie_is_401(api, console_user):
    response = api.get("/v1/sessions/current", secret=console_user.secret)

    assert response.status == 401 and response.headers["content-type"] == "application/problem+json"


def test_get_current_session_needs_the_cookie_alone(browser):
    # a reloaded page has its cookie but not yet its CSRF token
    assert browser.request("GET", "/v1/sessions/current", csrf=False).status == 200


def test_get_current_session_of_an_ended_session_is_401(browser):
    assert browser.request("DELETE", "/v1/sessions/current").status == 204

    assert browser.request("GET", "/v1/sessions/current", csrf=False).status == 401


# --- logs ---------------------------------------------------------------------------------------------


def test_no_session_id_cookie_or_csrf_token_is_ever_logged(api, console_user, capfd, clock):
    browser = sign_in(api, console_user.secret)
    browser.request("GET", "/v1/tokens")
    browser.request("POST", "/v1/tokens", csrf=False, body={"name": "x", "scopes": []})
    browser.request("GET", "/v1/sessions/current")
    clock.advance(3600)
    browser.request("GET", "/v1/tokens")
    browser.request("DELETE", "/v1/sessions/current")
    api.get("/v1/tokens/self", cookies=[browser.cookie])

    logged = "".join(capfd.readouterr())
    session_secret = browser.cookie.split("=", 1)[1].split(".", 1)[1]
    assert "session refused" in logged  # the refusals are logged, with their code
    for secret in (session_secret, browser.csrf, console_user.secret):
        assert secret not in logged
        assert secret[:16] not in logged


def test_sign_in_and_sign_out_are_in_the_tokens_audit_trail(api, browser, console_user, admin):
    browser.request("DELETE", "/v1/sessions/current")

    events = api.get(f"/v1/tokens/{console_user.token_id}/events", secret=admin.secret)

    by_type = {event["type"]: event for event in events.body["items"]}
    assert {"session.created", "session.ended"} <= set(by_type)
    for event in (by_type["session.created"], by_type["session.ended"]):
        assert event["actor"]["token_id"] == console_user.token_id
        assert event["ip"] == "203.0.113.7" and event["details"] == {"via": "console"}
        assert event["changes"] == {}  # TokenEvent.changes is an object
    session_secret = browser.cookie.split("=", 1)[1].split(".", 1)[1]
    assert session_secret not in events.raw and browser.csrf not in events.raw


# --- found in review: a spliced cookie beside a bearer token, and rotation -------------------------


def test_a_bearer_token_with_another_tokens_id_spliced_into_its_cookie_reads_nothing(api, admin):
    # Given a tenant with a console session of its own, and the admin token's id (audit.created.by)
    attacker = make_tenant(api, admin, "evil", scopes=["console", "tokens:read"], name="evil")
    admin_id = api.get("/v1/tokens/self", secret=attacker.secret).body["audit"]["created"]["by"].removeprefix("token:")
    signed = api.post("/v1/sessions", body={"token": attacker.secret})
    session_secret = signed.cookies[0].split(";")[0].split("=", 1)[1].split(".", 1)[1]

    # When it asks for "its" session with its bearer token and a cookie naming the admin token
    spliced = [f"{COOKIE_NAME}={admin_id}.{session_secret}"]
    answer = api.get("/v1/sessions/current", secret=attacker.secret, cookies=spliced)

    # Then nothing of the admin token comes back (the route reads the cookie alone: a session whose
    # token id is not its own is no session)
    assert answer.status == 401, answer.body
    assert admin_id not in json.dumps(answer.body)
    # and its own cookie with its own bearer token still works
    own = [signed.cookies[0].split(";")[0]]
    assert api.get("/v1/sessions/current", secret=attacker.secret, cookies=own).status == 200


@pytest.mark.parametrize("grace", [0, 600])  # 600 s: inside the idle timeout
def test_rotating_a_tokens_secret_ends_the_sessions_opened_with_it_when_its_grace_ends(api, admin, clock, grace):
    # Given a session opened with a secret that then leaks, and is rotated out
    user = make_tenant(api, admin, "acme", scopes=["tokens:read", "tokens:write", "console"], name=f"u{grace}")
    thief = sign_in(api, user.secret)
    rotated = api.post(f"/v1/tokens/{user.token_id}/rotate", secret=user.secret, body={"grace_period_seconds": grace})
    assert rotated.status == 200, rotated.body

    # Then the session lives exactly as long as the old secret does
    if grace:
        assert thief.request("GET", "/v1/tokens/self").status == 200
        clock.advance(grace + 1)
    assert thief.request("GET", "/v1/tokens/self").status == 403
    assert thief.request("POST", "/v1/tokens", body={"name": "backdoor", "scopes": ["tokens:read"]}).status == 403
    # while a session opened with the new secret works
    assert sign_in(api, rotated.body["secret"]).request("GET", "/v1/tokens/self").status == 200
