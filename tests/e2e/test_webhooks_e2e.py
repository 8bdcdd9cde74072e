"""End-to-end over HTTP against the local run, with its event plumbing on (stream → publisher → bus → rule →
queue → delivery, all from template.yaml): a receiver on 127.0.0.1 gets exactly one webhook per change,
each accepted by the reference `standardwebhooks` verifier."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import requests

from devtools.local_events import wait_until
from tests.e2e.conftest import Client, call_from, local_server
from tests.webhooks import webhook_receiver

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def running():
    with local_server("webhooks-e2e-admin", event_sources=True) as started:
        yield started


def acme_hooks(running, name: str) -> tuple[Client, Client]:
    """(the admin, a token of acme's that manages its tokens and webhooks), over HTTP."""
    server, admin_secret = running
    admin = Client(server.base_url, admin_secret)
    scopes = ["tokens:read", "tokens:write", "webhooks:read", "webhooks:write"]
    created = admin.request("POST", "/v1/tokens", json={"name": name, "organization_id": "acme", "scopes": scopes})
    return admin, admin.as_(created.json()["secret"])


def test_every_change_of_a_token_arrives_once_signed(running):
    server, _ = running
    _, acme = acme_hooks(running, "hooks")

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


def test_a_new_location_arrives_signed_and_on_new_location_disable_ends_the_token_disabled(running):
    server, admin_secret = running
    admin = Client(server.base_url, admin_secret)
    scopes = ["tokens:read", "tokens:write", "tokens:manage", "webhooks:read", "webhooks:write"]
    created = admin.request("POST", "/v1/tokens", json={"name": "m", "organization_id": "roam", "scopes": scopes})
    roam = admin.as_(created.json()["secret"])

    with webhook_receiver() as receiver:
        # Given a receiver of token.new_location, and a token used from 127.0.0.1 (its first network)
        hook = {"url": receiver.url("/where"), "event_types": ["token.new_location"]}
        registered = roam.request("POST", "/v1/webhooks", json=hook)
        assert registered.status_code == 201, registered.text
        whsec = registered.json()["secret"]
        notify = roam.request("POST", "/v1/tokens", json={"name": "notify", "scopes": ["tokens:read"]}).json()
        assert call_from("127.0.0.1", server.base_url, notify["secret"], "/v1/tokens/self").status_code == 200

        # When it is used from 127.0.1.1: another /24
        assert call_from("127.0.1.1", server.base_url, notify["secret"], "/v1/tokens/self").status_code == 200

        # And, once the organization disables on a new location, a token made since is used from two networks
        policy = roam.request("PUT", "/v1/organizations/roam/policy", json={"on_new_location": "disable"})
        assert policy.status_code == 200, policy.text
        guarded = roam.request("POST", "/v1/tokens", json={"name": "guarded", "scopes": ["tokens:read"]}).json()
        assert call_from("127.0.0.1", server.base_url, guarded["secret"], "/v1/tokens/self").status_code == 200
        refused = call_from("127.0.2.1", server.base_url, guarded["secret"], "/v1/tokens/self")

        # Then the second request was refused, and the token is disabled
        assert refused.status_code == 403
        read = roam.request("GET", f"/v1/tokens/{guarded['token']['id']}").json()
        assert read["status"] == "disabled" and [n["network"] for n in read["networks"]] == [
            "127.0.2.0/24",
            "127.0.0.0/24",
        ]

        # And one signed token.new_location per token arrived, the second saying it disabled the token
        def arrived():
            payloads = [r.verified(whsec) for r in receiver.at("/where")]
            return payloads if len(payloads) >= 2 else None

        payloads = {p["data"]["token_id"]: p for p in wait_until(arrived, timeout=30)}
        assert len(receiver.at("/where")) == 2
        first, second = payloads[notify["token"]["id"]], payloads[guarded["token"]["id"]]
        assert first["type"] == second["type"] == "token.new_location"
        assert first["data"]["details"]["network"] == "127.0.1.0/24"
        assert first["data"]["details"]["previous_networks"] == ["127.0.0.0/24"]
        assert first["data"]["details"]["disabled"] is False
        assert second["data"]["details"]["disabled"] is True
        assert second["data"]["changes"] == {"status": {"from": "active", "to": "disabled"}}


def test_a_rotation_that_retires_on_first_use_completes_once_and_says_so_signed(running):
    admin, acme = acme_hooks(running, "retire")

    with webhook_receiver() as receiver:
        # Given a receiver of rotations, and a token rotated with an hour of grace, retiring on first use
        types = ["token.rotated", "token.rotation_completed"]
        registered = acme.request("POST", "/v1/webhooks", json={"url": receiver.url("/retire"), "event_types": types})
        assert registered.status_code == 201, registered.text
        whsec = registered.json()["secret"]
        token = acme.request("POST", "/v1/tokens", json={"name": "retiring", "scopes": ["tokens:read"]}).json()
        old, token_id = token["secret"], token["token"]["id"]
        body = {"grace_period_seconds": 3600, "retire_on_first_use": True}
        rotated = acme.request("POST", f"/v1/tokens/{token_id}/rotate", json=body)
        assert rotated.status_code == 200, rotated.text
        new = rotated.json()["secret"]
        assert admin.as_(old).request("GET", "/v1/tokens/self").status_code == 200  # the grace runs

        # When the new secret is used, twice
        assert admin.as_(new).request("GET", "/v1/tokens/self").status_code == 200
        assert admin.as_(new).request("GET", "/v1/tokens/self").status_code == 200

        # Then the old secret is refused like any wrong one, and one token.rotation_completed arrives,
        # after the token.rotated that records the flag, each signed per Standard Webhooks
        assert admin.as_(old).request("GET", "/v1/tokens/self").status_code == 403
        assert admin.request("POST", "/v1/tokens/verify", json={"token": old}).json()["code"] == "NOT_FOUND"

        def arrived():
            payloads = [r.verified(whsec) for r in receiver.at("/retire")]
            mine = [p for p in payloads if p["data"]["token_id"] == token_id]
            return mine if len(mine) >= 2 else None

        payloads = wait_until(arrived, timeout=30)
        by_type = {p["type"]: p for p in payloads}
        assert sorted(p["type"] for p in payloads) == types
        assert by_type["token.rotated"]["data"]["details"]["retire_on_first_use"] is True
        completed = by_type["token.rotation_completed"]["data"]
        assert completed["actor"] == {"system": "tokensmith"}
        assert completed["details"]["rotated_at"] == rotated.json()["token"]["modified_at"]
        for request in receiver.at("/retire"):
            assert old not in request.body.decode() and new not in request.body.decode()


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


# --- the OWASP matrix of tests/e2e/test_owasp.py, for the webhook routes ---------------------------------

ID_ROUTES = [
    ("GET", "/v1/webhooks/{id}", None),
    ("PATCH", "/v1/webhooks/{id}", {"enabled": False}),
    ("POST", "/v1/webhooks/{id}/rotate-secret", None),
    ("GET", "/v1/webhooks/{id}/deliveries", None),
    ("DELETE", "/v1/webhooks/{id}", None),
]


@pytest.fixture(scope="module")
def tenants(running):
    server, admin_secret = running
    admin = Client(server.base_url, admin_secret)
    clients = {}
    for org in ("bola-a", "bola-b"):
        body = {"name": "hooks", "organization_id": org, "scopes": ["webhooks:read", "webhooks:write"]}
        clients[org] = admin.as_(admin.request("POST", "/v1/tokens", json=body).json()["secret"])
    return admin, clients


@pytest.mark.parametrize("direction", ["a attacks b", "b attacks a"])
@pytest.mark.parametrize(("method", "route", "body"), ID_ROUTES, ids=[f"{m} {r}" for m, r, _ in ID_ROUTES])
def test_another_tenants_webhook_is_404_and_untouched(tenants, direction, method, route, body):
    _, clients = tenants
    attacker, victim = (clients["bola-a"], clients["bola-b"])[:: 1 if direction == "a attacks b" else -1]
    victim_url = f"http://127.0.0.1:9/victim/{uuid.uuid4().hex}"  # one per case: no organization has one twice
    created = victim.request("POST", "/v1/webhooks", json={"url": victim_url}).json()
    webhook_id = created["webhook"]["id"]
    before = victim.request("GET", f"/v1/webhooks/{webhook_id}").json()

    response = attacker.request(method, route.format(id=webhook_id), json=body)

    assert response.status_code == 404 and response.headers["content-type"] == "application/problem+json"
    assert "url" not in response.json() and "127.0.0.1" not in response.text  # nothing of the victim's
    assert victim.request("GET", f"/v1/webhooks/{webhook_id}").json() == before


ALL_ROUTES = [
    ("POST", "/v1/webhooks", "webhooks:write", {"url": "http://127.0.0.1:9/x"}),
    ("GET", "/v1/webhooks", "webhooks:read", None),
    *[(m, r, "webhooks:read" if m == "GET" else "webhooks:write", b) for m, r, b in ID_ROUTES],
]


@pytest.mark.parametrize(
    ("method", "route", "scope", "body"), ALL_ROUTES, ids=[f"{m} {r}" for m, r, _, _ in ALL_ROUTES]
)
def test_every_webhook_route_refuses_a_token_without_its_scope(tenants, method, route, scope, body):
    admin, clients = tenants
    owner = clients["bola-a"]
    hook_url = f"http://127.0.0.1:9/s/{uuid.uuid4().hex}"  # one per case: no organization has one URL twice
    webhook_id = owner.request("POST", "/v1/webhooks", json={"url": hook_url}).json()["webhook"]["id"]
    others = [
        s for s in ("tokens:read", "tokens:write", "tokens:verify", "webhooks:read", "webhooks:write") if s != scope
    ]
    if scope == "webhooks:write":
        others.remove("webhooks:read")  # read is not write, but make the point with as much as possible
        others.append("webhooks:read")
    made = admin.request(
        "POST",
        "/v1/tokens",
        json={"name": f"no {scope} {method} {route}", "organization_id": "bola-a", "scopes": others},
    )
    caller = admin.as_(made.json()["secret"])

    response = caller.request(method, route.format(id=webhook_id), json=body)

    assert response.status_code == 403 and scope in response.json()["detail"]


def test_no_answer_but_create_and_rotate_carries_a_signing_secret(tenants):
    _, clients = tenants
    owner = clients["bola-a"]
    created = owner.request("POST", "/v1/webhooks", json={"url": "http://127.0.0.1:9/secret"})
    webhook_id, first = created.json()["webhook"]["id"], created.json()["secret"]
    rotated = owner.request("POST", f"/v1/webhooks/{webhook_id}/rotate-secret")
    second = rotated.json()["secret"]
    assert created.text.count(first) == 1 and rotated.text.count(second) == 1 and first != second
    answers = [
        owner.request("GET", f"/v1/webhooks/{webhook_id}"),
        owner.request("GET", "/v1/webhooks", params={"limit": 100}),
        owner.request("PATCH", f"/v1/webhooks/{webhook_id}", json={"description": "d"}),
        owner.request("GET", f"/v1/webhooks/{webhook_id}/deliveries"),
        owner.request("PATCH", f"/v1/webhooks/{webhook_id}", json={"secret": first}),  # read-only: 422
        owner.request("DELETE", f"/v1/webhooks/{webhook_id}"),
    ]
    for answer in answers:
        text = answer.text + json.dumps(dict(answer.headers))
        assert "whsec_" not in text and "ciphertext" not in text, answer.request.method
