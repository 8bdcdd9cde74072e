"""End-to-end over HTTP against the local run (`make run`'s server, its queues and event plumbing on):
a manager previews a shorter lifetime, sees the token it would break, applies it with `enforce:
disable`, and a `token.disabled` webhook (reason `policy`) reaches a receiver that verifies it with the
reference `standardwebhooks` verifier; the policy's `enforcement` shows the progress."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from devtools.local_events import wait_until
from tests.e2e.conftest import Client, local_server
from tests.webhooks import webhook_receiver

pytestmark = pytest.mark.e2e

POLICY = "/v1/organizations/acme/policy"


@pytest.fixture(scope="module")
def running():
    with local_server("policy-e2e-admin", event_sources=True) as started:
        yield started


def in_days(days: int) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_a_previewed_non_compliant_token_is_disabled_by_enforce_and_the_webhook_says_why(running):
    server, admin_secret = running
    admin = Client(server.base_url, admin_secret)
    scopes = ["tokens:read", "tokens:write", "tokens:manage", "webhooks:read", "webhooks:write"]
    manager_body = {"name": "ops", "organization_id": "acme", "scopes": scopes, "expires_at": in_days(30)}
    acme = admin.as_(admin.request("POST", "/v1/tokens", json=manager_body).json()["secret"])

    with webhook_receiver() as receiver:
        # Given a webhook receiver of acme's, a token expiring in 30 days and one in 200
        registered = acme.request(
            "POST", "/v1/webhooks", json={"url": receiver.url("/hook"), "event_types": ["token.disabled"]}
        )
        assert registered.status_code == 201, registered.text
        whsec = registered.json()["secret"]
        short = acme.request("POST", "/v1/tokens", json={"name": "short", "expires_at": in_days(30)})
        long = acme.request("POST", "/v1/tokens", json={"name": "long", "expires_at": in_days(200)})
        assert (short.status_code, long.status_code) == (201, 201)
        long_id = long.json()["token"]["id"]

        # When the manager previews max_lifetime_days: 90
        candidate = {"max_lifetime_days": 90}
        preview = acme.request("POST", POLICY + "/preview", json=candidate)

        # Then only the 200-day token is listed, for its lifetime
        assert preview.status_code == 200, preview.text
        assert [(t["token_id"], t["reasons"]) for t in preview.json()["tokens"]] == [(long_id, ["lifetime"])]

        # When the manager applies it with enforce: disable
        put = acme.request("PUT", POLICY, json={**candidate, "enforce": "disable"})
        assert put.status_code == 200, put.text

        # Then within seconds a signed token.disabled webhook names the policy as the reason
        def disabled():
            payloads = [r.verified(whsec) for r in receiver.at("/hook")]
            return [p for p in payloads if p["data"]["token_id"] == long_id] or None

        [payload] = wait_until(disabled, timeout=30)
        assert payload["type"] == "token.disabled" and payload["data"]["reason"] == "policy"
        assert payload["data"]["details"] == {"policy_version": 1, "reasons": ["lifetime"]}

        # And the token is disabled, the other one is not, and the progress says so
        assert acme.request("GET", f"/v1/tokens/{long_id}").json()["status"] == "disabled"
        assert acme.request("GET", f"/v1/tokens/{short.json()['token']['id']}").json()["status"] == "active"
        enforcement = wait_until(lambda: acme.request("GET", POLICY).json()["enforcement"] or None, timeout=30)
        assert enforcement["action"] == "disable" and enforcement["disabled"] == 1

        # And a token made now beyond the lifetime is refused, naming expires_at
        refused = acme.request("POST", "/v1/tokens", json={"name": "too-long", "expires_at": in_days(120)})
        assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "expires_at"
