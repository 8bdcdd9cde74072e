"""End-to-end over HTTP against the local run, with its event plumbing on (stream → publisher → bus → rule →
queue → delivery, all from template.yaml): a receiver on 127.0.0.1 gets exactly one webhook per change,
each accepted by the reference `standardwebhooks` verifier."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import requests

from devtools.local_events import wait_until
from tests.e2e.conftest import Client, local_server
from tests.webhook_receiver import webhook_receiver

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def running():
    with local_server("webhooks-e2e-admin", event_sources=True) as started:
        yield started


def test_every_change_of_a_token_arrives_once_signed(running):
    server, admin_secret = running
    admin = Client(server.base_url, admin_secret)
    scopes = ["tokens:read", "tokens:write", "webhooks:read", "webhooks:write"]
    created = admin.request("POST", "/v1/tokens", json={"name": "hooks", "organization_id": "acme", "scopes": scopes})
    acme = admin.as_(created.json()["secret"])

    with webhook_receiver() as receiver:
        # Given a receiver registered over HTTP
        registered = acme.request("POST", "/v1/webhooks", json={"url": receiver.url("/hook")})
        assert registered.status_code == 201, registered.text
        whsec, webhook_id = registered.json()["secret"], registered.json()["webhook"]["id"]

        # When a token goes through its whole life, and another one nears its expiry
        token = acme.request("POST", "/v1/tokens", json={"name": "ci", "scopes": ["tokens:read"]}).json()
        token_id, path = token["token"]["id"], f"/v1/tokens/{token['token']['id']}"
        assert acme.request("PATCH", path, json={"description": "nightly"}).status_code == 200
        assert acme.request("POST", f"{path}/disable").status_code == 200
        assert acme.request("POST", f"{path}/enable").status_code == 200
        rotated = acme.request("POST", f"{path}/rotate", json={"grace_period_seconds": 0})
        assert rotated.status_code == 200
        assert acme.request("POST", f"{path}/revoke", json={"reason": "rotated out"}).status_code == 200
        assert acme.request("DELETE", path).status_code == 204
        soon = (datetime.now(UTC) + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
        expiring = acme.request("POST", "/v1/tokens", json={"name": "soon", "expires_at": soon}).json()["token"]["id"]
        server.run_schedule("ExpireTokensFunction")

        # Then exactly one correctly signed webhook of the right type arrives for each change
        expected = {
            token_id: [
                "token.created",
                "token.updated",
                "token.disabled",
                "token.enabled",
                "token.rotated",
                "token.revoked",
                "token.deleted",
            ],
            expiring: ["token.created", "token.expiring"],
        }

        def arrived():
            payloads = [r.verified(whsec) for r in receiver.at("/hook")]
            mine = [p for p in payloads if p["data"].get("token_id") in expected]
            return mine if len(mine) >= sum(len(v) for v in expected.values()) else None

        payloads = wait_until(arrived, timeout=30)
        for subject, types in expected.items():
            assert sorted(p["type"] for p in payloads if p["data"]["token_id"] == subject) == sorted(types)
        requests_seen = receiver.at("/hook")
        assert len({r.headers["webhook-id"] for r in requests_seen}) == len(requests_seen)  # no duplicates
        for request in requests_seen:
            body = json.loads(request.body)
            assert set(body) == {"type", "timestamp", "data"}
            for secret in (token["secret"], rotated.json()["secret"], whsec):
                assert secret not in request.body.decode()

        # And the delivery log lists them, delivered at the first attempt
        log = acme.request("GET", f"/v1/webhooks/{webhook_id}/deliveries", params={"limit": 100}).json()["items"]
        assert len(log) >= len(payloads) and {e["outcome"] for e in log} == {"delivered"}


def test_the_local_run_refuses_private_addresses_but_allows_loopback(running):
    server, admin_secret = running
    admin = Client(server.base_url, admin_secret)
    refused = admin.request("POST", "/v1/webhooks", json={"url": "https://10.0.0.1/hook"})
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "url"
    allowed = admin.request("POST", "/v1/webhooks", json={"url": "http://127.0.0.1:9/hook"})
    assert allowed.status_code == 201
    assert (
        requests.delete(
            f"{server.base_url}/v1/webhooks/{allowed.json()['webhook']['id']}",
            headers={"Authorization": f"Bearer {admin_secret}"},
            timeout=10,
        ).status_code
        == 204
    )
