"""The console in a real browser: headless Chromium (Debian's, driven by Playwright) against the local
gateway, as `make run` serves it on http://127.0.0.1 (a secure context for Chromium, so the `Secure`,
`__Host-` session cookie works there).

Each page is screenshotted into test-artifacts/console/ (git-ignored). Without /usr/bin/chromium
these tests say so loudly and skip (`make test` installs it when run as root); under CI=true they
fail instead.
"""

from __future__ import annotations

import contextlib
import os
import time
import uuid
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests

from devtools.local_events import wait_until
from devtools.pytest_fixtures import running_in_ci
from tests.e2e.conftest import Client, call_from, local_server
from tests.webhooks import webhook_receiver

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "console"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
COOKIE = "__Host-tokensmith_session"


class ChromiumUnavailable(UserWarning):
    """The console's browser tests were skipped on this machine."""


@pytest.fixture(scope="module")
def chromium(request) -> Iterator[object]:
    if not os.access(CHROMIUM, os.X_OK):
        reason = f"{CHROMIUM} is missing (make test installs it as root: apt-get install chromium)"
        if running_in_ci():
            pytest.fail(f"{reason}; CI=true: the console's browser tests must run, not skip", pytrace=False)
        reporter = request.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(f"\nWARNING: console browser tests SKIPPED: {reason}", yellow=True, bold=True)
        warnings.warn(f"console browser tests SKIPPED: {reason}", ChromiumUnavailable, stacklevel=2)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@contextlib.contextmanager
def browser_page(chromium, **options) -> Iterator[object]:
    context = chromium.new_context(**options)
    page = context.new_page()
    page.set_default_timeout(10_000)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        yield page
    finally:
        context.close()
    assert not errors, f"script errors in the page: {errors}"


def shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


@pytest.fixture(scope="module")
def server():
    """The local run with its event sources on (the table's stream → webhooks), as `make run` has it."""
    with local_server("console-admin", event_sources=True) as started:
        yield started


@pytest.fixture(scope="module")
def base_url(server) -> str:
    return server[0].base_url


def seeded(client: Client, method: str, path: str, json=None) -> requests.Response:
    """A setup request, patient under load (as tests/e2e/test_owasp.py's ``_seeded``): a long read
    timeout, and retried when load alone refused it (the authorizer failing closed with the gateway's
    403, or a function's 503). Never used for a request whose answer a test decides."""
    headers = {"Authorization": f"Bearer {client.secret}"}
    for _ in range(5):
        response = requests.request(method, client.base_url + path, json=json, headers=headers, timeout=60)
        refused_by_load = response.status_code == 403 and response.text == '{"message":"Forbidden"}'
        if not (refused_by_load or response.status_code == 503):
            return response
        time.sleep(0.5)
    return response


@pytest.fixture(scope="module")
def console_user(server) -> tuple[str, str]:
    """(organization, secret) of a non-admin token that may open the console and manage its tokens."""
    running, admin_secret = server
    organization = f"acme-{uuid.uuid4().hex[:6]}"
    created = Client(running.base_url, admin_secret).request(
        "POST",
        "/v1/tokens",
        json={
            "name": "console user",
            "organization_id": organization,
            "scopes": ["console", "tokens:read", "tokens:write", "tokens:verify"],
        },
    )
    assert created.status_code == 201, created.text
    return organization, created.json()["secret"]


def sign_in(page, base_url: str, secret: str) -> None:
    page.goto(f"{base_url}/console")
    page.get_by_label("Token").fill(secret)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Tokens").wait_for()


# --- the page itself -------------------------------------------------------------------------------------


def test_the_console_is_served_with_strict_security_headers(base_url):
    page = requests.get(f"{base_url}/console", timeout=10)
    script = requests.get(f"{base_url}/console/console.js", timeout=10)

    assert page.status_code == 200 and page.headers["Content-Type"] == "text/html; charset=utf-8"
    assert script.status_code == 200 and script.headers["Content-Type"].startswith("text/javascript")
    for response in (page, script):
        csp = response.headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
        assert "unsafe-inline" not in csp
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "no-referrer"
    assert "<script>" not in page.text and " on" + "click=" not in page.text  # no inline script
    assert "http" not in page.text.replace("http-equiv", "")  # nothing from another origin
    for path in ("/console/nope.js", "/console/..%2Ftemplate.yaml", "/console/app.py"):
        assert requests.get(base_url + path, timeout=10).status_code == 404, path


@pytest.mark.parametrize("path", ["/", "/console/"])
def test_the_root_and_console_slash_lead_to_the_console(base_url, path):
    redirect = requests.get(base_url + path, timeout=10, allow_redirects=False)
    followed = requests.get(base_url + path, timeout=10)

    assert (redirect.status_code, redirect.headers["Location"]) == (302, "/console")
    assert followed.status_code == 200 and "<title>Tokensmith console</title>" in followed.text


def test_a_path_no_route_matches_is_still_api_gateways_404(base_url):
    response = requests.post(f"{base_url}/nowhere", timeout=10)

    assert (response.status_code, response.json()) == (404, {"message": "Not Found"})


# --- the journey ---------------------------------------------------------------------------------------------


def test_sign_in_create_read_the_secret_once_revoke_see_the_event_sign_out(chromium, base_url, console_user):
    organization, secret = console_user
    with browser_page(chromium, viewport={"width": 1280, "height": 800}) as page:
        # Given the sign-in page; a wrong token is refused in words
        page.goto(f"{base_url}/console")
        page.get_by_role("heading", name="Sign in").wait_for()
        shot(page, "01-sign-in")
        page.get_by_label("Token").fill("tks_not_a_real_token")
        page.get_by_label("Token").press("Enter")  # the keyboard is enough
        alert = page.get_by_role("alert")
        alert.wait_for()
        assert "Unauthorized: the token cannot open a console session" in alert.inner_text()

        # When the user signs in with a console token
        sign_in(page, base_url, secret)

        # Then the session cookie is host-only, Secure, HttpOnly and SameSite=Strict, invisible to scripts
        (cookie,) = [c for c in page.context.cookies() if c["name"] == COOKIE]
        assert (cookie["secure"], cookie["httpOnly"], cookie["sameSite"], cookie["path"]) == (True, True, "Strict", "/")
        assert COOKIE not in page.evaluate("document.cookie")
        assert secret not in page.content()
        assert organization in page.locator("#who").inner_text()
        shot(page, "02-tokens")

        # When they create a token
        page.get_by_role("link", name="Create token").click()
        page.get_by_role("heading", name="Create a token").wait_for()
        name = f"ci-{uuid.uuid4().hex[:6]}"
        page.get_by_label("Name").fill(name)
        page.get_by_label("tokens:read").check()
        assert page.get_by_label("admin").is_disabled()  # a scope the user's token does not hold
        shot(page, "03-create")
        page.get_by_role("button", name="Create token").click()

        # Then the secret is shown once, with a warning, and it works
        page.get_by_role("heading", name="Token created").wait_for()
        new_secret = page.get_by_label(f"Secret of “{name}”").input_value()
        assert new_secret.startswith("tks_")
        assert "shown only this once" in page.locator("#secret-warning").inner_text()
        page.get_by_role("button", name="Copy").click()
        page.get_by_role("status").filter(has_text="C").wait_for()
        shot(page, "04-secret-once")
        verified = Client(base_url, secret).request("POST", "/v1/tokens/verify", json={"token": new_secret})
        assert verified.json()["code"] == "VALID"

        # And once the user navigates away, the secret is in no page
        page.get_by_role("link", name="show the token").click()
        page.get_by_role("heading", name=name).wait_for()
        assert new_secret not in page.content()
        page.go_back()
        page.get_by_role("heading", name="Create a token").wait_for()
        assert new_secret not in page.content()
        page.go_forward()
        page.get_by_role("heading", name=name).wait_for()
        assert new_secret not in page.content()
        shot(page, "05-token")

        # When they revoke it, confirming with a reason
        page.get_by_role("button", name="Revoke").click()
        dialog = page.get_by_role("dialog")
        dialog.get_by_label("Reason").fill("rotated out by the console test")
        shot(page, "06-confirm-revoke")
        dialog.get_by_role("button", name="Revoke").click()

        # Then the token is revoked and its audit trail shows the event
        page.locator("#token-fields .badge.revoked").wait_for()
        events = page.locator("#events")
        assert "token.revoked" in events.inner_text() and "token.created" in events.inner_text()
        assert "rotated out by the console test" in events.inner_text()
        assert page.get_by_role("button", name="Enable").count() == 0
        shot(page, "07-revoked")

        # And the list shows it under its status filter
        page.goto(f"{base_url}/console#/tokens")
        page.get_by_label("Status").select_option("revoked")
        page.get_by_role("button", name="Show").click()
        page.get_by_role("link", name=name).wait_for()

        # When they sign out
        page.get_by_role("button", name="Sign out").click()

        # Then they are back on the sign-in page, the cookie is gone and the session is dead
        page.get_by_role("heading", name="Sign in").wait_for()
        assert "signed out" in page.get_by_role("alert").inner_text()
        assert not [c for c in page.context.cookies() if c["name"] == COOKIE]
        shot(page, "08-signed-out")


def test_a_request_with_the_cookie_but_without_the_csrf_token_is_refused(chromium, base_url, console_user):
    _, secret = console_user
    with browser_page(chromium) as page:
        sign_in(page, base_url, secret)
        create = "(body) => fetch('/v1/tokens', {method: 'POST', headers: {'Content-Type': 'application/json'}, body})"

        # A request from the page itself, with the cookie but no Authorization: Session <csrf token>
        status = page.evaluate(f"async () => (await ({create})(JSON.stringify({{name: 'csrf', scopes: []}}))).status")
        # The same through the browser context's cookie jar: writes and reads alike
        without = page.context.request.post(f"{base_url}/v1/tokens", data={"name": "csrf-2", "scopes": []})
        read = page.context.request.get(f"{base_url}/v1/tokens")
        # the one route a reloaded page calls with its cookie alone: it hands the CSRF token back
        csrf = page.context.request.get(f"{base_url}/v1/sessions/current").json()["csrf_token"]
        session = {"Authorization": f"Session {csrf}"}
        wrong = page.context.request.get(f"{base_url}/v1/tokens", headers={"Authorization": f"Session {csrf[::-1]}"})
        with_token = page.context.request.post(
            f"{base_url}/v1/tokens", data={"name": "csrf-ok", "scopes": []}, headers=session
        )
        read_with_token = page.context.request.get(f"{base_url}/v1/tokens", headers=session)

        # no Authorization header: API Gateway's own 401; the wrong CSRF token: the authorizer's 403
        assert (status, without.status, read.status) == (401, 401, 401)
        assert without.json() == {"message": "Unauthorized"}
        assert wrong.status == 403
        assert (with_token.status, read_with_token.status) == (201, 200)


def test_a_reloaded_page_stays_signed_in(chromium, base_url, console_user):
    _, secret = console_user
    with browser_page(chromium) as page:
        sign_in(page, base_url, secret)
        page.reload()
        page.get_by_role("heading", name="Tokens").wait_for()
        assert page.locator("#tokens tbody tr").count() >= 1


def test_the_console_reads_well_on_a_phone_and_shows_api_errors_in_words(chromium, base_url, server):
    _, admin_secret = server
    with browser_page(chromium, viewport={"width": 390, "height": 844}, is_mobile=True) as page:
        sign_in(page, base_url, admin_secret)
        shot(page, "09-phone-tokens")
        page.get_by_role("link", name="Create token").click()
        page.get_by_label("Name").fill("x")
        page.get_by_label("Organization").fill("not a valid organization!")
        page.get_by_role("button", name="Create token").click()
        alert = page.get_by_role("alert")
        alert.wait_for()
        assert alert.inner_text().startswith("Unprocessable Content: invalid request")
        assert "organization_id" in alert.inner_text() and "{" not in alert.inner_text()
        shot(page, "10-phone-error")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, "the page scrolls sideways on a phone"

        # A token's page, its usage and audit trail, and the webhook endpoints fit a phone too
        page.get_by_role("link", name="Tokens", exact=True).click()
        page.locator("#tokens a").first.click()
        page.locator("#events").wait_for()
        shot(page, "24-phone-token")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, "the token page scrolls sideways"
        page.get_by_role("link", name="Webhooks").click()
        page.get_by_role("heading", name="Webhook endpoints").wait_for()
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, "the webhooks page scrolls sideways"


def test_a_tokens_page_shows_the_networks_it_was_used_from_and_the_new_location(
    chromium, base_url, server, console_user
):
    # Given a token used from 127.0.0.1, then from 127.0.1.1 (another /24: a token.new_location)
    _, admin_secret = server
    organization, secret = console_user
    body = {"name": f"roaming-{uuid.uuid4().hex[:6]}", "organization_id": organization, "scopes": ["tokens:read"]}
    created = seeded(Client(base_url, admin_secret), "POST", "/v1/tokens", body)
    assert created.status_code == 201, created.text
    token_id, token_secret = created.json()["token"]["id"], created.json()["secret"]
    assert call_from("127.0.0.1", base_url, token_secret, "/v1/tokens/self").status_code == 200
    assert call_from("127.0.1.1", base_url, token_secret, "/v1/tokens/self").status_code == 200

    with browser_page(chromium, viewport={"width": 1280, "height": 1000}) as page:
        sign_in(page, base_url, secret)
        page.goto(f"{base_url}/console#/tokens/{token_id}")
        page.locator("#networks").wait_for()

        # Then the usage panel lists both networks, the newest first, and the trail says what happened
        rows = page.locator("#networks tbody tr")
        assert rows.count() == 2
        assert rows.nth(0).locator("td").first.inner_text() == "127.0.1.0/24"
        assert rows.nth(1).locator("td").first.inner_text() == "127.0.0.0/24"
        event = page.locator("#events tr", has_text="token.new_location").inner_text()
        assert "used from a new network: 127.0.1.0/24" in event and "seen before from: 127.0.0.0/24" in event
        assert "Tokensmith (automatic)" in event
        shot(page, "27-token-networks")


def test_an_admin_changes_the_admin_fields(chromium, base_url, server, console_user):
    running, admin_secret = server
    organization, _ = console_user
    created = Client(base_url, admin_secret).request(
        "POST", "/v1/tokens", json={"name": f"owned-{uuid.uuid4().hex[:6]}", "organization_id": organization}
    )
    token = created.json()["token"]
    with browser_page(chromium, viewport={"width": 1280, "height": 900}) as page:
        sign_in(page, base_url, admin_secret)
        page.goto(f"{base_url}/console#/tokens/{token['id']}")
        page.get_by_role("heading", name="Admin").wait_for()
        page.get_by_label("Status", exact=True).select_option("disabled")
        page.get_by_label("Owner", exact=True).fill("alice@example.com")
        page.get_by_role("button", name="Apply admin changes").click()
        page.get_by_role("dialog").get_by_role("button", name="Apply").click()
        page.locator("#token-fields .badge.disabled").wait_for()
        assert "alice@example.com" in page.locator("#token-fields").inner_text()
        shot(page, "11-admin")

    after = Client(base_url, admin_secret).request("GET", f"/v1/tokens/{token['id']}").json()
    assert (after["status"], after["owner"]) == ("disabled", "alice@example.com")


def test_the_token_list_pages_forward_and_back(chromium, base_url, server):
    _, admin_secret = server
    admin = Client(base_url, admin_secret)
    organization = f"paged-{uuid.uuid4().hex[:6]}"
    names = [f"token-{n:02d}" for n in range(22)]
    for name in [*names, "pager"]:
        scopes = ["console", "tokens:read"] if name == "pager" else []
        created = admin.request(
            "POST", "/v1/tokens", json={"name": name, "organization_id": organization, "scopes": scopes}
        )
        assert created.status_code == 201, created.text
    pager = created.json()["secret"]

    with browser_page(chromium) as page:
        sign_in(page, base_url, pager)
        first = page.locator("#tokens tbody tr").all_inner_texts()
        page.get_by_role("button", name="Next page").click()
        page.get_by_role("button", name="Previous page").wait_for()
        second = page.locator("#tokens tbody tr").all_inner_texts()
        assert page.get_by_role("button", name="Next page").count() == 0
        page.get_by_role("button", name="Previous page").click()
        page.get_by_role("button", name="Next page").wait_for()

        assert len(first) == 20 and len(second) == 3
        assert page.locator("#tokens tbody tr").all_inner_texts() == first
        shown = {row.split("\t")[0] for row in first + second}
        assert shown == {*names, "pager"}  # every token once, across the two pages


# --- who may do what (README, "Security model") -------------------------------------------------------------

ACTIONS = ("Edit", "Disable", "Enable", "Rotate", "Revoke", "Delete")


def offered(page) -> set[str]:
    """The actions the token page offers (the buttons are drawn only for what the API would allow)."""
    page.locator("#token-fields").wait_for()
    return {name for name in ACTIONS if page.get_by_role("button", name=name, exact=True).count()}


def test_an_owner_token_is_offered_only_what_it_may_do_and_reads_why_the_api_refuses(chromium, base_url, server):
    _, admin_secret = server
    admin = Client(base_url, admin_secret)
    organization = f"owners-{uuid.uuid4().hex[:6]}"
    expires = (datetime.now(UTC) + timedelta(days=30)).replace(hour=12, minute=0, second=0, microsecond=0)

    def make(name: str, scopes: list[str], **extra) -> dict:
        body = {"name": name, "organization_id": organization, "owner": "alice", "scopes": scopes, **extra}
        created = seeded(admin, "POST", "/v1/tokens", body)
        assert created.status_code == 201, created.text
        return created.json()

    alice = make("alice", ["tokens:read", "tokens:write", "console"], expires_at=expires.isoformat())
    stronger = make("alice-manager", ["tokens:read", "tokens:write", "tokens:manage"])
    weaker = make("alice-ci", ["tokens:read"])
    bound = make("alice-bound", ["tokens:read"])
    # the manager disables one of alice's tokens: re-enabling it needs tokens:manage
    disabled = seeded(admin.as_(stronger["secret"]), "POST", f"/v1/tokens/{bound['token']['id']}/disable")
    assert disabled.json()["disabled_by"]["authority"] == "tokens:manage", disabled.text

    with browser_page(chromium, viewport={"width": 1280, "height": 900}) as page:
        sign_in(page, base_url, alice["secret"])

        # A stronger token of her own owner: nothing to do, and the page says why
        page.goto(f"{base_url}/console#/tokens/{stronger['token']['id']}")
        page.get_by_role("heading", name="alice-manager").wait_for()
        assert offered(page) == set()
        assert "scopes your token lacks (tokens:manage)" in page.locator("#token-actions-why").inner_text()
        shot(page, "12-stronger-token")

        # A token the manager disabled: who did it, and no Enable for her (revoking and deleting stay hers)
        page.goto(f"{base_url}/console#/tokens/{bound['token']['id']}")
        page.get_by_role("heading", name="alice-bound").wait_for()
        by = page.locator("#disabled-by").inner_text()
        assert by == "disabled by alice-manager — re-enabling needs tokens:manage"  # its name, not its id
        assert offered(page) == {"Revoke", "Delete"}
        assert "re-enabling needs tokens:manage" in page.locator("#token-actions-why").inner_text()
        shot(page, "13-disabled-by-a-manager")

        # Her own token: every action, but its expiry only moves earlier
        page.goto(f"{base_url}/console#/tokens/{alice['token']['id']}")
        page.get_by_role("heading", name="alice", exact=True).wait_for()
        assert offered(page) == {"Edit", "Disable", "Rotate", "Revoke", "Delete"}
        page.get_by_role("button", name="Edit").click()
        dialog = page.get_by_role("dialog")
        latest = (expires.date() - timedelta(days=1)).isoformat()  # its own expiry is at noon: the day before
        assert dialog.get_by_label("Expires on").get_attribute("max") == latest
        assert "can only move earlier" in dialog.locator("#edit-expires-hint").inner_text()
        shot(page, "14-own-token-expiry")
        dialog.get_by_role("button", name="Cancel").click()

        # A weaker token of hers: every action
        page.goto(f"{base_url}/console#/tokens/{weaker['token']['id']}")
        page.get_by_role("heading", name="alice-ci").wait_for()
        assert offered(page) == {"Edit", "Disable", "Rotate", "Revoke", "Delete"}
        assert page.locator("#token-actions-why").count() == 0

        # When it becomes stronger behind the page's back, the API's refusal is shown in words
        grown = seeded(
            admin, "PATCH", f"/v1/tokens/{weaker['token']['id']}", {"scopes": ["tokens:read", "tokens:manage"]}
        )
        assert grown.status_code == 200, grown.text
        page.get_by_role("button", name="Rotate").click()
        page.get_by_role("dialog").get_by_role("button", name="Rotate").click()
        alert = page.get_by_role("alert")
        alert.filter(has_text="Forbidden").wait_for()
        assert "the token holds scopes the calling token lacks: tokens:manage" in alert.inner_text()
        # and the page, drawn again, now offers nothing
        page.locator("#token-actions-why").wait_for()
        assert offered(page) == set()
        shot(page, "15-refused-in-words")

        # The create form: the owner is hers, fixed; forced to another, the API says no in words
        page.goto(f"{base_url}/console#/create")
        page.get_by_role("heading", name="Create a token").wait_for()
        owner = page.get_by_label("Owner")
        assert owner.input_value() == "alice" and owner.get_attribute("readonly") is not None
        assert "own owner, alice, only" in page.locator("#owner-hint").inner_text()
        shot(page, "16-create-own-owner")
        page.get_by_label("Name").fill(f"for-bob-{uuid.uuid4().hex[:6]}")
        owner.evaluate("(input) => { input.readOnly = false; input.value = 'bob'; }")
        page.get_by_role("button", name="Create token").click()
        alert.filter(has_text="Forbidden").wait_for()
        assert "creates tokens for another owner" in alert.inner_text()

    after = admin.request("GET", f"/v1/tokens/{weaker['token']['id']}").json()
    assert after["version"] == grown.json()["version"]  # the refused rotation changed nothing


# --- edit, audit trail, webhooks, layout (issue 18) ----------------------------------------------------------


def test_a_token_is_edited_with_if_match_and_a_conflict_is_explained_in_words(chromium, base_url, server, console_user):
    running, admin_secret = server
    admin = Client(base_url, admin_secret)
    organization, _ = console_user
    soon = (datetime.now(UTC) + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    name = f"nightly-{uuid.uuid4().hex[:6]}"
    body = {"name": name, "organization_id": organization, "scopes": ["tokens:read"], "expires_at": soon}
    created = seeded(admin, "POST", "/v1/tokens", body)
    assert created.status_code == 201, created.text
    token_id = created.json()["token"]["id"]
    running.run_schedule("ExpireTokensFunction")  # the 7-day notice: a token.expiring event
    _, secret = console_user
    renamed = f"{name}-builds"
    later = (datetime.now(UTC) + timedelta(days=30)).date().isoformat()

    with browser_page(chromium, viewport={"width": 1280, "height": 1000}) as page:
        sign_in(page, base_url, secret)
        page.goto(f"{base_url}/console#/tokens/{token_id}")
        page.get_by_role("heading", name=name).wait_for()

        # The usage panel: never used yet; the notice's details in words, by Tokensmith itself
        assert "Never used" in page.locator("#usage").inner_text()
        expiring = page.locator("#events tr", has_text="token.expiring").inner_text()
        assert "(notice 7 days ahead)" in expiring and "expires 20" in expiring and "Tokensmith (automatic)" in expiring

        # When the user edits name, description, scopes and expiry
        page.get_by_role("button", name="Edit").click()
        dialog = page.get_by_role("dialog")
        dialog.get_by_label("Name").fill(renamed)
        dialog.get_by_label("Description").fill("builds every night")
        dialog.get_by_label("tokens:verify").check()
        assert dialog.get_by_label("admin").is_disabled()  # a scope the user's token lacks
        dialog.get_by_label("Expires on").fill(later)
        shot(page, "17-edit-token")
        dialog.get_by_role("button", name="Save").click()

        # Then the token shows the change, and its trail says before → after, by the user's name
        page.get_by_role("heading", name=renamed).wait_for()
        fields = page.locator("#token-fields").inner_text()
        assert "builds every night" in fields and "tokens:read tokens:verify" in fields
        updated = page.locator("#events tr", has_text="token.updated").inner_text()
        assert f"name: {name} → {renamed}" in updated
        assert "scopes: tokens:read → tokens:read tokens:verify" in updated
        assert "description: — → builds every night" in updated
        assert "console user" in updated  # the actor's name, not its id
        shot(page, "18-audit-before-after")

        # When someone else changes the token while the dialog is open
        page.get_by_role("button", name="Edit").click()
        dialog.get_by_label("Description").fill("mine")
        behind = seeded(admin, "PATCH", f"/v1/tokens/{token_id}", {"description": "theirs"})
        assert behind.status_code == 200, behind.text
        dialog.get_by_role("button", name="Save").click()

        # Then nothing is overwritten, the page says so in words and shows the token as it is now
        alert = page.get_by_role("alert")
        alert.filter(has_text="Not saved").wait_for()
        assert "someone changed this token after you opened it" in alert.inner_text()
        assert "theirs" in page.locator("#token-fields").inner_text()
        shot(page, "19-edit-conflict")

    after = admin.request("GET", f"/v1/tokens/{token_id}").json()
    assert (after["name"], after["description"]) == (renamed, "theirs")


def test_a_rotation_retires_the_old_secret_at_the_new_ones_first_use(chromium, base_url, server, console_user):
    running, admin_secret = server
    admin = Client(base_url, admin_secret)
    organization, secret = console_user
    name = f"rotating-{uuid.uuid4().hex[:6]}"
    body = {"name": name, "organization_id": organization, "scopes": ["tokens:read"]}
    created = seeded(admin, "POST", "/v1/tokens", body)
    assert created.status_code == 201, created.text
    token_id, old = created.json()["token"]["id"], created.json()["secret"]

    with browser_page(chromium, viewport={"width": 1280, "height": 1000}) as page:
        sign_in(page, base_url, secret)
        page.goto(f"{base_url}/console#/tokens/{token_id}")
        page.get_by_role("heading", name=name).wait_for()

        # When the user rotates it with the option: without a grace period the option is greyed out
        page.get_by_role("button", name="Rotate").click()
        dialog = page.get_by_role("dialog")
        option = dialog.get_by_label("End the grace period at the new secret's first use")
        dialog.get_by_label("Grace period (seconds) for the old secret").fill("0")
        assert option.is_disabled()
        dialog.get_by_label("Grace period (seconds) for the old secret").fill("3600")
        option.check()
        shot(page, "30-rotate-retire-on-first-use")
        dialog.get_by_role("button", name="Rotate").click()

        # Then the new secret is shown once; the old one works until the new one is used
        page.get_by_role("heading", name="Secret rotated").wait_for()
        new = page.get_by_label(f"Secret of “{name}”").input_value()
        assert Client(base_url, old).request("GET", "/v1/tokens/self").status_code == 200
        assert Client(base_url, new).request("GET", "/v1/tokens/self").status_code == 200
        assert Client(base_url, old).request("GET", "/v1/tokens/self").status_code == 403

        # And the token's trail says so in words
        page.get_by_role("link", name="show the token").click()
        page.get_by_role("heading", name=name).wait_for()
        rotated = page.locator("#events tr", has_text="token.rotated").inner_text()
        assert "retire_on_first_use: true" in rotated
        completed = page.locator("#events tr", has_text="token.rotation_completed").inner_text()
        assert "the new secret was used: the old one stopped working" in completed
        assert "Tokensmith (automatic)" in completed
        shot(page, "31-rotation-completed")


def _token_with_policies(admin: Client, organization: str) -> dict:
    body = {
        "name": f"metered-{uuid.uuid4().hex[:6]}",
        "organization_id": organization,
        "ratelimits": [{"name": "minute", "limit": 100, "duration_seconds": 60}],
        "credits": {"remaining": 50, "refill": {"interval": "daily", "amount": 50}, "low_threshold": 5},
        "allowed_cidrs": ["10.0.0.0/8"],
        "meta": {"plan": "pro"},
    }
    created = seeded(admin, "POST", "/v1/tokens", body)
    assert created.status_code == 201, created.text
    return created.json()["token"]


def test_a_tokens_usage_policies_are_shown_and_loosened_by_a_manager(chromium, base_url, server, console_user):
    _, admin_secret = server
    admin = Client(base_url, admin_secret)
    organization, _ = console_user
    token = _token_with_policies(admin, organization)
    usage = admin.request("GET", f"/v1/tokens/{token['id']}/usage").json()

    with browser_page(chromium, viewport={"width": 1280, "height": 1000}) as page:
        sign_in(page, base_url, admin_secret)  # admin: may loosen
        page.goto(f"{base_url}/console#/tokens/{token['id']}")
        page.get_by_role("heading", name=token["name"]).wait_for()

        # The panel shows the policies as GET /v1/tokens/{id} returns them, and where they stand now
        # as GET /v1/tokens/{id}/usage does: the window and the next refill, to the second
        assert page.locator("#policy-ratelimits").inner_text() == "minute: 100 per minute"
        window = page.locator("#policy-windows").inner_text()
        assert window.startswith("minute: 100 of 100 left until ") and window.endswith(" UTC")
        next_refill = usage["credits"]["period_ends_at"].replace("T", " ").replace("Z", " UTC")
        assert page.locator("#policy-next-refill").inner_text() == next_refill
        assert page.locator("#policy-credits").inner_text() == "50"
        assert page.locator("#policy-refill").inner_text() == "50 every day (UTC)"
        assert "Low at\n5" in page.locator("#policies").inner_text()
        assert page.locator("#policy-cidrs").inner_text() == "10.0.0.0/8"
        assert '"plan": "pro"' in page.locator("#policy-meta").inner_text()
        shot(page, "25-usage-policies")

        # When a manager raises the limit, grants credits and widens the allowlist
        page.get_by_role("button", name="Edit").click()
        dialog = page.get_by_role("dialog")
        assert dialog.locator("#edit-policies-tighten-only").count() == 0
        assert dialog.get_by_label("Credits left").get_attribute("max") is None
        dialog.get_by_label("Rate limits").fill("minute 200 60\nday 5000 86400 owner")
        dialog.get_by_label("Credits left").fill("500")
        dialog.get_by_label("Allowed from (CIDRs)").fill("10.0.0.0/8\n192.0.2.0/24")
        dialog.get_by_label("Meta (JSON object)").fill('{"plan": "enterprise"}')
        shot(page, "26-edit-usage-policies")
        dialog.get_by_role("button", name="Save").click()

        # Then the panel shows the new policies
        page.locator("#policy-credits", has_text="500").wait_for()
        assert page.locator("#policy-ratelimits").inner_text().splitlines() == [
            "minute: 200 per minute",
            "day: 5000 per day (shared by the owner's tokens)",
        ]
        assert page.locator("#policy-cidrs").inner_text().splitlines() == ["10.0.0.0/8", "192.0.2.0/24"]
        assert "enterprise" in page.locator("#policy-meta").inner_text()
        created = page.locator("#events tr", has_text="token.created").inner_text()
        assert '"name":"minute"' in created and "[object Object]" not in created
        after = admin.request("GET", f"/v1/tokens/{token['id']}").json()

        # When the manager empties "Credits left", the token is unlimited again (credits: null)
        page.get_by_role("button", name="Edit").click()
        page.get_by_role("dialog").get_by_label("Credits left").fill("")
        page.get_by_role("dialog").get_by_role("button", name="Save").click()
        page.locator("#policy-credits", has_text="unlimited").wait_for()
        assert page.locator("#policy-next-refill").count() == 0

    assert [limit["limit"] for limit in after["ratelimits"]] == [200, 5000]
    assert after["ratelimits"][1]["shared"] == "owner"
    assert (after["credits"]["remaining"], after["credits"]["refill"]) == (500, {"interval": "daily", "amount": 50})
    assert (after["allowed_cidrs"], after["meta"]) == (["10.0.0.0/8", "192.0.2.0/24"], {"plan": "enterprise"})
    assert admin.request("GET", f"/v1/tokens/{token['id']}").json()["credits"] is None


def test_a_session_without_tokens_manage_only_tightens_and_reads_the_apis_refusal(
    chromium, base_url, server, console_user
):
    _, admin_secret = server
    admin = Client(base_url, admin_secret)
    organization, secret = console_user  # console, tokens:read, tokens:write: no tokens:manage
    token = _token_with_policies(admin, organization)

    with browser_page(chromium, viewport={"width": 1280, "height": 1000}) as page:
        sign_in(page, base_url, secret)
        page.goto(f"{base_url}/console#/tokens/{token['id']}")
        page.get_by_role("heading", name=token["name"]).wait_for()

        # The dialog greys out what could only loosen, and says why
        page.get_by_role("button", name="Edit").click()
        dialog = page.get_by_role("dialog")
        assert "Loosening takes tokens:manage" in dialog.locator("#edit-policies-tighten-only").inner_text()
        assert dialog.get_by_label("Credits left").get_attribute("max") == "50"
        assert dialog.get_by_label("Refill amount").get_attribute("max") == "50"
        assert not dialog.locator("#edit-refill-interval option[value=monthly]").is_disabled()  # monthly: less often

        # When the user raises a limit anyway, the API refuses and the page says so in words
        dialog.get_by_label("Rate limits").fill("minute 1000 60")
        dialog.get_by_role("button", name="Save").click()
        alert = page.get_by_role("alert")
        alert.filter(has_text="tokens:manage").wait_for()
        assert "loosening usage policies or granting credits takes the 'tokens:manage' scope" in alert.inner_text()
        assert "ratelimits: loosening it takes 'tokens:manage'" in alert.inner_text()
        assert "{" not in alert.inner_text()
        shot(page, "27-loosening-refused")

        # When they tighten instead: a lower limit, fewer credits, a narrower allowlist
        page.get_by_role("button", name="Edit").click()
        dialog.get_by_label("Rate limits").fill("minute 10 60")
        dialog.get_by_label("Credits left").fill("20")
        dialog.get_by_label("Allowed from (CIDRs)").fill("10.1.0.0/16")
        dialog.get_by_role("button", name="Save").click()

        # Then it is saved and shown
        page.locator("#policy-ratelimits", has_text="minute: 10 per minute").wait_for()
        assert page.locator("#policy-credits").inner_text() == "20"
        assert page.locator("#policy-cidrs").inner_text() == "10.1.0.0/16"
        shot(page, "28-tightened")

    after = admin.request("GET", f"/v1/tokens/{token['id']}").json()
    assert (after["ratelimits"][0]["limit"], after["credits"]["remaining"]) == (10, 20)
    assert after["allowed_cidrs"] == ["10.1.0.0/16"]


def test_a_manager_reads_and_sets_the_organization_policy(chromium, base_url, server, console_user):
    _, admin_secret = server
    admin = Client(base_url, admin_secret)
    organization = f"policy-{uuid.uuid4().hex[:6]}"
    in_days = lambda days: (datetime.now(UTC) + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")  # noqa: E731
    body = {
        "name": "org manager",
        "organization_id": organization,
        "scopes": ["console", "tokens:read", "tokens:manage"],
        "expires_at": in_days(30),
    }
    created = seeded(admin, "POST", "/v1/tokens", body)
    assert created.status_code == 201, created.text
    manager = created.json()["secret"]
    long_lived = {"name": "long-lived", "organization_id": organization, "expires_at": in_days(200)}
    long_lived_id = seeded(admin, "POST", "/v1/tokens", long_lived).json()["token"]["id"]
    _, without_manage = console_user

    with browser_page(chromium, viewport={"width": 1280, "height": 900}) as page:
        # A session without tokens:manage is not offered the page
        sign_in(page, base_url, without_manage)
        assert page.locator("#nav-organization").is_hidden()
        page.get_by_role("button", name="Sign out").click()
        page.get_by_role("heading", name="Sign in").wait_for()

        # A manager reads the organization's policy: never set, anywhere, version 0
        sign_in(page, base_url, manager)
        page.get_by_role("link", name="Organization").click()
        page.get_by_role("heading", name=f"Organization {organization}").wait_for()
        assert page.locator("#org-policy-cidrs").inner_text() == "anywhere"
        assert "Version\n0" in page.locator("#org-policy").inner_text()

        # A CIDR that is none is refused in the API's words
        page.get_by_label("Allowed from (CIDRs)").fill("not-a-cidr")
        page.get_by_role("button", name="Save policy").click()
        alert = page.get_by_role("alert")
        alert.filter(has_text="allowed_cidrs").wait_for()
        assert "must be an IPv4 or IPv6 CIDR" in alert.inner_text() and "{" not in alert.inner_text()

        # When they set the list (PUT with If-Match), the page shows it
        page.get_by_label("Allowed from (CIDRs)").fill("127.0.0.0/8\n192.0.2.0/24")
        page.get_by_role("button", name="Save policy").click()
        page.locator("#org-policy-cidrs", has_text="192.0.2.0/24").wait_for()
        assert page.locator("#org-policy-cidrs").inner_text() == "127.0.0.0/8, 192.0.2.0/24"
        assert "Version\n1" in page.locator("#org-policy").inner_text()
        shot(page, "29-organization-policy")

        # And once the worker has copied it onto every token, the page says so
        path = f"/v1/organizations/{organization}/policy"
        wait_until(lambda: admin.request("GET", path).json()["propagated"], timeout=30)
        page.reload()
        page.locator("#org-policy-propagated", has_text="yes").wait_for()

        # A shorter lifetime, previewed: the 200-day token would not comply, and why
        page.get_by_label("Maximum lifetime (days)").fill("90")
        page.get_by_role("button", name="Preview").click()
        summary = page.locator("#org-preview-summary", has_text="would not comply")
        summary.wait_for()
        assert summary.inner_text().startswith("These 1 live tokens would not comply")
        assert "long-lived" in page.locator("#org-preview-list").inner_text()
        assert "(lifetime)" in page.locator("#org-preview-list").inner_text()
        shot(page, "30-organization-preview")

        # Applied with "disable them": the worker disables it, and the page shows the progress
        page.get_by_label("Live tokens that would not comply").select_option("disable")
        page.get_by_role("button", name="Save policy").click()
        page.locator("#org-policy-enforcement").wait_for()
        wait_until(lambda: admin.request("GET", path).json()["enforcement"]["done"], timeout=30)
        page.reload()
        page.locator("#org-policy-enforcement", has_text="done").wait_for()
        assert "1 disabled" in page.locator("#org-policy-enforcement").inner_text()
        assert "90 days" in page.locator("#org-policy").inner_text()
        shot(page, "31-organization-enforced")

    assert admin.request("GET", f"/v1/tokens/{long_lived_id}").json()["status"] == "disabled"
    after = admin.request("GET", f"/v1/organizations/{organization}/policy")
    assert after.json()["allowed_cidrs"] == ["127.0.0.0/8", "192.0.2.0/24"]
    assert (
        admin.request("PUT", f"/v1/organizations/{organization}/policy", json={"allowed_cidrs": []}).status_code == 200
    )


def test_the_organizations_webhook_endpoints_and_their_delivery_log(chromium, base_url, server):
    _, admin_secret = server
    admin = Client(base_url, admin_secret)
    organization = f"hooks-{uuid.uuid4().hex[:6]}"
    scopes = ["console", "tokens:read", "tokens:write", "webhooks:read", "webhooks:write"]
    created = seeded(
        admin, "POST", "/v1/tokens", {"name": "hook keeper", "organization_id": organization, "scopes": scopes}
    )
    assert created.status_code == 201, created.text
    keeper = admin.as_(created.json()["secret"])

    with webhook_receiver() as receiver, browser_page(chromium, viewport={"width": 1280, "height": 900}) as page:
        sign_in(page, base_url, created.json()["secret"])
        page.get_by_role("link", name="Webhooks").click()
        page.get_by_role("heading", name="Webhook endpoints").wait_for()
        assert "No webhook endpoints yet" in page.locator("main").inner_text()

        # When the user adds an endpoint for every event
        page.get_by_role("link", name="Add endpoint").click()
        page.get_by_label("URL").fill(receiver.url("/hook"))
        page.get_by_label("Description").fill("audit mirror")
        shot(page, "20-webhook-add")
        page.get_by_role("button", name="Add endpoint").click()

        # Then its signing secret is shown once
        page.get_by_role("heading", name="Endpoint added").wait_for()
        whsec = page.locator("#secret").input_value()
        assert whsec.startswith("whsec_")
        page.get_by_role("link", name="show the endpoint").click()
        page.get_by_role("heading", name="Webhook endpoint").wait_for()
        assert whsec not in page.content()
        webhook_id = page.url.rsplit("/", 1)[1]

        # When a token changes, Then the delivery log shows the delivery
        made = seeded(keeper, "POST", "/v1/tokens", {"name": "delivered", "scopes": ["tokens:read"]})
        assert made.status_code == 201, made.text
        wait_until(lambda: receiver.at("/hook"), timeout=30)
        path = f"/v1/webhooks/{webhook_id}/deliveries"
        wait_until(lambda: keeper.request("GET", path).json()["items"], timeout=30)
        page.reload()
        page.locator("#deliveries").wait_for()
        log = page.locator("#deliveries").inner_text()
        assert "token.created" in log and "delivered" in log and "200 in" in log
        shot(page, "21-webhook-deliveries")

        # When they disable it, Then it says so
        page.get_by_role("button", name="Disable").click()
        page.get_by_role("dialog").get_by_role("button", name="Disable").click()
        page.get_by_role("button", name="Enable").wait_for()
        assert "disabled" in page.locator("#webhook-fields").inner_text()

        # And the list shows the endpoint
        page.get_by_role("link", name="Webhooks").click()
        page.locator("#webhooks").get_by_role("link", name=receiver.url("/hook")).wait_for()
        assert "audit mirror" in page.locator("#webhooks").inner_text()
        shot(page, "22-webhooks")

    assert keeper.request("GET", f"/v1/webhooks/{webhook_id}").json()["enabled"] is False


def test_the_layout_keeps_names_whole_filters_aligned_and_no_ring_around_headings(chromium, base_url, server):
    _, admin_secret = server
    admin = Client(base_url, admin_secret)
    organization = f"layout-{uuid.uuid4().hex[:6]}"
    long_name = "nightly-integration-builds"
    every_scope = ["tokens:read", "tokens:write", "tokens:manage", "tokens:verify", "webhooks:read", "webhooks:write"]
    for name, scopes in ((long_name, every_scope), ("viewer", ["console", "tokens:read"])):
        body = {"name": name, "organization_id": organization, "scopes": scopes}
        made = seeded(admin, "POST", "/v1/tokens", body)
        assert made.status_code == 201, made.text

    with browser_page(chromium, viewport={"width": 1024, "height": 800}) as page:
        # The sign-in heading takes the focus without a ring around it
        page.goto(f"{base_url}/console")
        heading = page.get_by_role("heading", name="Sign in")
        heading.wait_for()
        assert page.evaluate("document.activeElement.tagName") == "H1"
        assert heading.evaluate("(h) => getComputedStyle(h).outlineStyle") == "none"

        sign_in(page, base_url, admin_secret)
        page.get_by_label("Organization").fill(organization)
        page.get_by_role("button", name="Show").click()
        link = page.locator("#tokens").get_by_role("link", name=long_name)
        link.wait_for()

        # A name is on one line, whatever the scopes column holds
        assert link.evaluate("(a) => a.getClientRects().length") == 1
        # The filter controls and the button share one bottom line
        bottoms = {
            round(box["y"] + box["height"])
            for box in (
                page.get_by_label("Status").bounding_box(),
                page.get_by_label("Organization").bounding_box(),
                page.get_by_role("button", name="Show").bounding_box(),
            )
        }
        assert len(bottoms) == 1, bottoms
        shot(page, "23-layout")
