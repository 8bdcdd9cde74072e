"""A route's scope is declared once, on its service operation (``auth.requires``), and the OpenAPI
document says it from there. This proves the two agree for every route of the document: a token
holding every scope but the documented one is refused with 403, and a token holding just that scope
gets past the check with the very same request."""

import json
import re

from tests.integration.conftest import make_tenant
from tests.support import ROOT
from tokensmith.auth import ADMIN, SERVICE_SCOPES

CATALOG = ["orders:read", "orders:write"]  # tests/conftest.py's SCOPE_CATALOG
NEEDS = re.compile(r"Needs the `([^`]+)` scope\.")
# A body each route accepts, so that the request reaches the scope check (bodies are parsed first).
BODIES = {
    ("POST", "/v1/tokens"): {"name": "scoped"},
    ("PUT", "/v1/tokens/{token_id}"): {"name": "target", "scopes": []},
    ("PATCH", "/v1/tokens/{token_id}"): {"description": "checked"},
    ("POST", "/v1/tokens/{token_id}/revoke"): {"reason": "checked"},
    ("POST", "/v1/tokens/{token_id}/rotate"): {"grace_period_seconds": 0},
    ("POST", "/v1/tokens/verify"): {"token": "tks_not-a-real-one"},
    ("PATCH", "/v1/admin/tokens/{token_id}"): {"owner": "someone@acme.test"},
    ("POST", "/v1/webhooks"): {"url": "https://hooks.example.com/scoped"},
    ("PATCH", "/v1/webhooks/{webhook_id}"): {"description": "checked"},
    ("PUT", "/v1/organizations/{organization_id}/policy"): {"allowed_cidrs": []},
    ("POST", "/v1/organizations/{organization_id}/policy/preview"): {"max_lifetime_days": 30},
    ("POST", "/v1/webhooks/{webhook_id}/rotate-secret"): {"grace_period_seconds": 0},
}


def operations() -> dict[tuple[str, str], str]:
    """(method, path) → description of every operation of the OpenAPI document."""
    document = json.loads((ROOT / "docs" / "openapi.json").read_text())
    return {
        (method.upper(), path): operation["description"]
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
    }


def documented_scopes() -> list[tuple[str, str, str]]:
    """(method, path, scope) of every operation the OpenAPI document says needs a scope."""
    found = []
    for (method, path), description in operations().items():
        needs = NEEDS.search(description)
        if needs:
            found.append((method, path, needs.group(1)))
    return found


def test_only_the_callers_own_token_and_session_and_the_public_routes_need_no_scope():
    # Given the OpenAPI document
    scoped = {(method, path) for method, path, _ in documented_scopes()}

    # Then every other route names the scope it needs, and each route with a body has one here
    assert set(operations()) - scoped == {
        ("GET", "/v1/tokens/self"),
        ("POST", "/v1/tokens/revoke-leaked"),
        ("POST", "/v1/secret-scanning/github"),
        ("POST", "/v1/sessions"),
        ("GET", "/v1/sessions/current"),
        ("DELETE", "/v1/sessions/current"),
    }
    assert set(BODIES) <= scoped


def test_every_route_refuses_a_token_with_every_scope_but_its_own(api, admin, webhook_world, subtests):
    # Given a token and a webhook endpoint in acme
    target = api.post("/v1/tokens", secret=admin.secret, body={"name": "target", "organization_id": "acme"})
    assert target.status == 201, target.body
    hook = api.post(
        "/v1/webhooks", secret=admin.secret, body={"url": "https://hooks.example.com/t", "organization_id": "acme"}
    )
    assert hook.status == 201, hook.body
    ids = {"token_id": target.body["token"]["id"], "webhook_id": hook.body["webhook"]["id"], "organization_id": "acme"}
    everything = [*SERVICE_SCOPES, *CATALOG]

    for method, path, scope in documented_scopes():
        with subtests.test(route=f"{method} {path}", scope=scope):
            url = path.format(**ids)
            body = BODIES.get((method, path))
            # ("admin" stands for every service scope, so only the admin route may be offered it)
            others = [s for s in everything if s != scope and (s != ADMIN or scope == ADMIN)]
            lacking = make_tenant(api, admin, "acme", others, name=f"all but {scope} {method} {path}")
            holding = make_tenant(api, admin, "acme", [scope], name=f"only {scope} {method} {path}")

            # When each calls the route with the same request
            refused = api.request(method, url, secret=lacking.secret, body=body)
            allowed = api.request(method, url, secret=holding.secret, body=body)

            # Then the token without the documented scope is refused for lacking it, the other is not
            assert refused.status == 403, refused.body
            assert scope in refused.body["detail"]
            assert allowed.status != 403, allowed.body
