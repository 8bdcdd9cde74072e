"""OWASP API Security Top 10 (2023), over HTTP against the local gateway.

Every matrix is built from the template's routes joined with the OpenAPI document generated from
the code (``tests.attack.operations()``): a new route is attacked as soon as it is declared.

- API1 broken object-level authorization: two tenants × every route that takes an id (plus the
  ids hidden in queries, bodies and cursors) → 404, the target untouched;
- API2 broken authentication: missing, malformed, forged, unknown, disabled, revoked, expired,
  deleted and rotated-out bearer tokens × every authorized route → 401 (no credentials) or 403 from the gateway;
- API3 broken object-property-level authorization: no response carries a secret (but the one of
  a create or a rotate) or a digest — checked on *every* response of this module —, and writing a
  read-only or internal field through any body → 422, the target untouched;
- API5 broken function-level authorization: admin routes refuse non-admin tokens, every route
  refuses a token without its scope, and no scope escalation through create, PATCH, PUT, rotate;
- API4 unrestricted resource consumption: bodies over the route's limit → 413, query and body
  values past their bounds → 4xx.

The module prints one summary line with the number of route × case combinations per category.
"""

from __future__ import annotations

import base64
import contextlib
import json
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
import requests

from tests.attack import (
    Operation,
    SecretScanner,
    iso,
    operations,
    plain_schema,
    sample_body,
    unique_name,
    unknown_secret,
)
from tokensmith.auth import ADMIN, SERVICE_SCOPES
from tokensmith.models import READ_ONLY_FIELDS
from tokensmith.tokens import format as token_format

# Every route gets many requests in a row (revoke-leaked's burst is 5): this module's server does not
# throttle. The throttles are tested in tests/integration/test_throttling.py.
THROTTLING = False

pytestmark = pytest.mark.e2e

# The token routes. Their matrix takes every {id} for a token id; the webhook routes have their own
# (tests/e2e/test_webhooks_e2e.py: tenancy both ways, scopes, no secret in any answer), and so do the
# organization policy routes (tests/e2e/test_usage_policies.py: tenancy, scopes, who may loosen), and so has
# GitHub's secret scanning route (tests/*/test_github_secret_scanning*.py): only a GitHub-signed array reaches
# it, and its answer is GitHub's documented feedback, the SHA-256 of each string GitHub sent (not a digest it lacks).
OPERATIONS = tuple(
    op
    for op in operations()
    if not op.route.path.startswith(("/v1/webhooks", "/v1/organizations", "/v1/secret-scanning"))
)
AUTHORIZED = [op for op in OPERATIONS if op.authorized]
WITH_ID = [op for op in OPERATIONS if op.takes_id]
WITH_BODY = [op for op in OPERATIONS if op.body_schema is not None]
ADMIN_ONLY = [op for op in OPERATIONS if op.admin_only]
SCOPED = [op for op in AUTHORIZED if op.scope and not op.admin_only]
NON_ADMIN_SCOPES = [s for s in SERVICE_SCOPES if s != ADMIN]
PROBLEM = "application/problem+json"


# --- HTTP, with every response checked for secrets and digests --------------------------------------------


@dataclass
class Http:
    base_url: str
    scanner: SecretScanner
    responses: int = 0

    def call(
        self,
        method: str,
        path: str,
        secret: str | None = None,
        *,
        authorization: str | None = None,
        json: Any = None,
        data: bytes | str | None = None,
        headers: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
    ) -> requests.Response:
        headers = dict(headers or {})
        if authorization is not None:
            headers["Authorization"] = authorization
        elif secret is not None:
            headers["Authorization"] = f"Bearer {secret}"
        if data is not None:
            headers.setdefault("Content-Type", "application/json")
        response = requests.request(
            method, self.base_url + path, json=json, data=data, headers=headers, params=params, timeout=30
        )
        self.responses += 1
        self._check(response)
        return response

    def _check(self, response: requests.Response) -> None:
        """API3: no response carries a secret or a digest, but the new secret of a create or a rotate."""
        allowed: tuple[str, ...] = ()
        document = _json(response)
        if response.ok and isinstance(document, dict) and isinstance(document.get("secret"), str):
            allowed = (self.scanner.add(document["secret"]),)
            assert response.text.count(allowed[0]) == 1, "the new secret appears more than once"
            assert isinstance(document.get("token"), dict)
        text = response.text + "\n" + "\n".join(f"{k}: {v}" for k, v in response.headers.items())
        leaks = self.scanner.leaks(text, allowed)
        assert not leaks, f"{response.request.method} {response.request.path_url} → {response.status_code}: {leaks}"
        for key in _keys(document):
            assert "digest" not in key.lower(), f"a {key!r} field in {response.request.path_url}"
            assert key != "secret" or allowed, f"a 'secret' field in {response.request.path_url}"


def _json(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _keys(document: Any) -> list[str]:
    if isinstance(document, dict):
        return [*document, *(k for v in document.values() for k in _keys(v))]
    if isinstance(document, list):
        return [k for v in document for k in _keys(v)]
    return []


def is_problem(response: requests.Response, status: int) -> bool:
    return response.status_code == status and response.headers.get("Content-Type") == PROBLEM


def from_the_gateway(response: requests.Response, status: int) -> bool:
    """API Gateway's own answer (the function never ran): ``{"message": ...}``, not problem+json."""
    return response.status_code == status and set(_json(response) or {}) == {"message"}


# --- the world -------------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _fresh_singletons():
    """Speed only: overrides tests/conftest.py's fixture of that name, which drops the process-wide
    settings, DynamoDB client and service around every test. Here they serve one server with one
    environment for the whole module, and building a DynamoDB client anew for each of 600 tests
    would double the module's time. (The next module's tests clear them as usual.)"""
    yield


@dataclass
class World:
    http: Http
    admin: str
    orgs: tuple[str, str]  # two tenants
    auth_org: str  # where the dead credentials and the broken-authentication target live
    managers: dict[str, str] = field(default_factory=dict)  # org → secret with every non-admin scope
    manager_ids: dict[str, str] = field(default_factory=dict)
    dead: dict[str, str] = field(default_factory=dict)  # kind → a secret that must be refused
    auth_target: str = ""
    _callers: dict[tuple[str, ...], str] = field(default_factory=dict)
    _targets: dict[str, tuple[str, str]] = field(default_factory=dict)
    _expected: dict[str, Any] = field(default_factory=dict)

    def create(self, organization_id: str, caller: str | None = None, **body: Any) -> tuple[dict[str, Any], str]:
        """A token in ``organization_id`` (made by ``caller``, by default the admin)."""
        body = {"name": unique_name(), "scopes": ["tokens:read"], **body}
        if caller is None:
            body["organization_id"] = organization_id
        created = self.http.call("POST", "/v1/tokens", caller or self.admin, json=body)
        assert created.status_code == 201, created.text
        return created.json()["token"], created.json()["secret"]

    def snapshot(self, token_id: str) -> Any:
        """What a change would alter (read by the admin)."""
        got = self.http.call("GET", f"/v1/tokens/{token_id}", self.admin)
        if got.status_code == 404:
            return "gone"
        token = got.json()
        return {k: token[k] for k in ("version", "status", "name", "description", "scopes", "start", "expires_at")}

    def works(self, secret: str) -> bool:
        return self.http.call("GET", "/v1/tokens/self", secret).status_code == 200

    def caller(self, scopes: list[str]) -> str:
        """A token of the first tenant holding exactly ``scopes`` (made once)."""
        key = tuple(sorted(scopes))
        if key not in self._callers:
            self._callers[key] = self.create(self.orgs[0], scopes=list(key))[1]
        return self._callers[key]

    def target(self, key: str, creator: str | None = None, **body: Any) -> tuple[str, str]:
        """(id, secret) of a token of the first tenant that every request of the ``key`` family must
        leave alone (made once, by ``creator``: a secret, "admin", or by default the tenant's
        manager); see :meth:`untouched`."""
        if key not in self._targets:
            made_by = None if creator == "admin" else creator or self.managers[self.orgs[0]]
            token, secret = self.create(self.orgs[0], made_by, **body)
            self._targets[key] = token["id"], secret
            self._expected[token["id"]] = self.snapshot(token["id"])
        return self._targets[key]

    def untouched(self, token_id: str) -> bool:
        if token_id not in self._expected:
            self._expected[token_id] = self.snapshot(token_id)
            return True
        return self.snapshot(token_id) == self._expected[token_id]


@pytest.fixture(scope="module")
def world(server) -> World:
    running, admin = server
    scanner = SecretScanner()
    scanner.add(admin)
    suffix = uuid.uuid4().hex[:6]
    world = World(
        Http(running.base_url, scanner), admin, (f"owasp-a-{suffix}", f"owasp-b-{suffix}"), f"owasp-x-{suffix}"
    )
    for org in world.orgs:
        token, secret = world.create(org, scopes=NON_ADMIN_SCOPES, name="manager")
        world.managers[org], world.manager_ids[org] = secret, token["id"]
    world.auth_target = world.create(world.auth_org)[0]["id"]
    assert world.untouched(world.auth_target)
    world.dead = dead_credentials(world)
    return world


def dead_credentials(world: World) -> dict[str, str]:
    """Secrets that worked (as admins: every refusal below is the authorizer's), then were killed."""
    http, org, everything = world.http, world.auth_org, list(SERVICE_SCOPES)

    def admin_token(**body: Any) -> tuple[str, str]:
        token, secret = world.create(org, scopes=everything, **body)
        assert world.works(secret)
        return token["id"], secret

    dead: dict[str, str] = {}
    # The time-based ones first (an expiry and a grace period a few seconds ahead: a loaded CI machine
    # must still see them work), then the others while their clocks run; then wait for the end.
    expires = datetime.fromtimestamp(int(time.time()) + 5, UTC)
    _, dead["expired (expires_at passed)"] = admin_token(expires_at=iso(expires))
    token_id, dead["rotated out (grace over)"] = admin_token()
    rotated = http.call("POST", f"/v1/tokens/{token_id}/rotate", world.admin, json={"grace_period_seconds": 4})
    assert rotated.status_code == 200 and world.works(dead["rotated out (grace over)"])  # in its grace period
    grace_over = int(time.time()) + 4

    token_id, dead["disabled"] = admin_token()
    assert http.call("POST", f"/v1/tokens/{token_id}/disable", world.admin).status_code == 200
    token_id, dead["revoked"] = admin_token()
    assert http.call("POST", f"/v1/tokens/{token_id}/revoke", world.admin, json={"reason": "test"}).status_code == 200
    token_id, dead["expired (set by an admin)"] = admin_token()
    expired = http.call("PATCH", f"/v1/admin/tokens/{token_id}", world.admin, json={"status": "expired"})
    assert expired.status_code == 200
    token_id, dead["deleted"] = admin_token()
    assert http.call("DELETE", f"/v1/tokens/{token_id}", world.admin).status_code == 204
    token_id, dead["rotated out (no grace)"] = admin_token()
    assert http.call("POST", f"/v1/tokens/{token_id}/rotate", world.admin).status_code == 200

    time.sleep(max(0.0, max(expires.timestamp(), grace_over + 1) - time.time()) + 0.05)
    return dead


def malformed_credentials(admin: str) -> dict[str, str]:
    """Authorization header values built from a real, working admin secret."""
    prefix, _, rest = admin.partition("_")
    flipped = admin[:-1] + ("A" if admin[-1] != "A" else "B")
    forged = token_format.generate(prefix, token_format.parse(admin, prefix))  # right id, wrong 256 bits
    return {
        "scheme only": "Bearer",
        "garbage": "Bearer nope",
        "no scheme": admin,
        "Basic scheme": "Basic " + base64.b64encode(f"user:{admin}".encode()).decode(),
        "trailing junk": f"Bearer {admin} x",
        "truncated": f"Bearer {admin[:-7]}",
        "wrong checksum": f"Bearer {flipped}",
        "wrong prefix": f"Bearer ghp_{rest}",
        "unknown token": f"Bearer {unknown_secret(prefix)}",
        "forged (right id, wrong secret)": f"Bearer {forged}",
    }


AUTH_KINDS = [
    "missing",
    "empty",
    *malformed_credentials(unknown_secret()).keys(),
    "disabled",
    "revoked",
    "expired (expires_at passed)",
    "expired (set by an admin)",
    "deleted",
    "rotated out (no grace)",
    "rotated out (grace over)",
]


def caller_for(operation: Operation, world: World, organization_id: str) -> str | None:
    if not operation.authorized:
        return None
    return world.admin if operation.admin_only else world.managers[organization_id]


# --- API1: broken object-level authorization ---------------------------------------------------------------

BOLA_CASES = [(op, d) for op in WITH_ID for d in ("A attacks B", "B attacks A")]


@pytest.mark.parametrize(("operation", "direction"), BOLA_CASES, ids=[f"{o}-{d}" for o, d in BOLA_CASES])
def test_api1_another_tenants_token_id_is_404_and_untouched(world, operation, direction):
    attacker_org, victim_org = world.orgs if direction == "A attacks B" else reversed(world.orgs)
    victim, victim_secret = world.create(victim_org, world.managers[victim_org], description="theirs")
    before = world.snapshot(victim["id"])

    response = world.http.call(
        operation.method,
        operation.url(victim["id"]),
        world.managers[attacker_org],
        json=sample_body(operation, secret=victim_secret),
    )

    # an admin-only route refuses a non-admin token before it looks at the id
    assert is_problem(response, 403 if operation.admin_only else 404), response.text
    assert world.snapshot(victim["id"]) == before
    assert world.works(victim_secret)


BOLA_ELSEWHERE = ["list with organization_id", "create with organization_id", "verify", "list cursor", "events cursor"]
BOLA_ELSEWHERE_CASES = [(c, d) for c in BOLA_ELSEWHERE for d in ("A attacks B", "B attacks A")]


@pytest.mark.parametrize(("case", "direction"), BOLA_ELSEWHERE_CASES, ids=[f"{c}-{d}" for c, d in BOLA_ELSEWHERE_CASES])
def test_api1_ids_in_queries_bodies_and_cursors_reach_no_other_tenant(world, case, direction):
    attacker_org, victim_org = world.orgs if direction == "A attacks B" else reversed(world.orgs)
    attacker, http = world.managers[attacker_org], world.http
    victim, victim_secret = world.create(victim_org, world.managers[victim_org])
    if case == "list with organization_id":
        response = http.call("GET", "/v1/tokens", attacker, params={"organization_id": victim_org})
        assert is_problem(response, 404)
    elif case == "create with organization_id":
        before = len(
            http.call("GET", "/v1/tokens", world.admin, params={"organization_id": victim_org}).json()["items"]
        )
        response = http.call(
            "POST", "/v1/tokens", attacker, json={"name": unique_name(), "organization_id": victim_org}
        )
        assert is_problem(response, 403)
        after = http.call("GET", "/v1/tokens", world.admin, params={"organization_id": victim_org}).json()["items"]
        assert len(after) == before
    elif case == "verify":
        theirs = http.call("POST", "/v1/tokens/verify", attacker, json={"token": victim_secret})
        nobodys = http.call("POST", "/v1/tokens/verify", attacker, json={"token": unknown_secret()})
        not_found = {"valid": False, "code": "NOT_FOUND", "token": None, "ratelimits": [], "credits": None}
        assert theirs.json() == nobodys.json() == {**not_found, "meta": None}  # no counting, no meta either
    elif case == "list cursor":
        world.create(victim_org, world.managers[victim_org])
        page = http.call("GET", "/v1/tokens", world.managers[victim_org], params={"limit": "1"}).json()
        assert page["next_cursor"]
        response = http.call("GET", "/v1/tokens", attacker, params={"cursor": page["next_cursor"]})
        assert is_problem(response, 422)
        assert victim_org not in response.text
    else:
        path = f"/v1/tokens/{victim['id']}"
        assert http.call("PATCH", path, world.managers[victim_org], json={"description": "2nd event"}).ok
        page = http.call("GET", f"{path}/events", world.managers[victim_org], params={"limit": "1"}).json()
        assert page["next_cursor"]
        own = f"/v1/tokens/{world.manager_ids[attacker_org]}/events"
        response = http.call("GET", own, attacker, params={"cursor": page["next_cursor"], "limit": "1"})
        assert is_problem(response, 422)
        assert victim["id"] not in response.text
    assert world.works(victim_secret)


# --- API2: broken authentication ---------------------------------------------------------------------------

AUTH_CASES = [(op, kind) for op in AUTHORIZED for kind in AUTH_KINDS]


@pytest.mark.parametrize(("operation", "kind"), AUTH_CASES, ids=[f"{o}-{k}" for o, k in AUTH_CASES])
def test_api2_a_missing_or_refused_token_never_reaches_the_function(world, operation, kind):
    malformed = malformed_credentials(world.admin)
    if kind == "missing":
        authorization = None
    elif kind == "empty":
        authorization = ""
    elif kind in malformed:
        authorization = malformed[kind]
    else:
        authorization = f"Bearer {world.dead[kind]}"

    response = world.http.call(
        operation.method,
        operation.url(world.auth_target),
        authorization=authorization,
        json=sample_body(operation, secret=world.dead["revoked"]),
    )

    # API Gateway's own answer: the function never ran (the target is checked once, at the end). The
    # Authorization header is the authorizer's identity source: without it (or empty) API Gateway
    # answers 401 {"message":"Unauthorized"} itself; any credentials it refuses are the authorizer's 403.
    expected = 401 if kind in ("missing", "empty") else 403
    assert from_the_gateway(response, expected), (response.status_code, response.text)
    if expected == 401:
        assert response.json() == {"message": "Unauthorized"}


# --- API3: broken object-property-level authorization ------------------------------------------------------


@pytest.mark.parametrize("operation", OPERATIONS, ids=str)
def test_api3_a_successful_call_of_every_route_shows_no_secret_and_no_digest(world, operation):
    """Every route, called so that it succeeds, on a token with a history: a rotation in its grace
    period (two digests stored), an edit. The check itself runs in ``Http`` on every response."""
    org = world.orgs[0]
    manager = world.managers[org]
    token, secret = world.create(org, manager, description="with a history")
    path = f"/v1/tokens/{token['id']}"
    rotated = world.http.call("POST", f"{path}/rotate", manager, json={"grace_period_seconds": 3600})
    assert rotated.status_code == 200
    new_secret = rotated.json()["secret"]
    assert world.http.call("PATCH", path, manager, json={"icon": "https://example.com/i.png"}).ok
    body, headers = sample_body(operation, secret=new_secret), {}
    caller = caller_for(operation, world, org)
    if operation.route.path.startswith("/v1/sessions"):  # they act on a console session: open one
        signed_in = world.http.call("POST", "/v1/sessions", json={"token": world.admin})
        cookie = signed_in.headers["Set-Cookie"].split(";")[0]
        headers = {"Cookie": cookie}
        body = {"token": world.admin} if operation.method == "POST" else body
        caller = world.admin  # a session answers only to the token it was opened with

    response = world.http.call(
        operation.method,
        operation.url(token["id"]),
        caller,
        json=body,
        headers=headers,
    )

    assert response.status_code == operation.success_status, response.text
    document = _json(response)
    if isinstance(document, dict) and "secret" in document:  # create and rotate: a new secret, once
        assert set(document) == {"token", "secret"}
        assert document["secret"] not in (secret, new_secret)
        assert document["secret"].startswith(document["token"]["start"])


PROTECTED_FIELDS = sorted(
    READ_ONLY_FIELDS
    | {
        "organization_id",
        "owner",
        "owner_email",
        "revoked",
        "revoked_reason",
        "previous_secret_digest",
        "previous_valid_until",
        "expires_epoch",
        "purge_at",
        "deleted_at",
        "pk",
        "sk",
        "org_pk",
    }
)
FIELD_VALUES: dict[str, Any] = {
    "id": "00000000-0000-4000-8000-000000000000",
    "status": "active",
    "active": True,
    "start": "tks_AAAAAAAA",
    "version": 99,
    "secret": "tks_" + "A" * 71,
    "secret_digest": "00" * 32,
    "previous_secret_digest": "11" * 32,
    "audit": {"created": {"at": "2020-01-01T00:00:00Z", "by": "token:x"}},
    "revoked": True,
    "expires_epoch": 4102444800,
    "purge_at": 4102444800,
}
PROPERTY_CASES = [(op, name) for op in WITH_BODY for name in PROTECTED_FIELDS if name not in op.body_fields()]


@pytest.mark.parametrize(("operation", "name"), PROPERTY_CASES, ids=[f"{o}-{n}" for o, n in PROPERTY_CASES])
def test_api3_writing_a_read_only_or_internal_field_is_a_422(world, operation, name):
    """``organization_id`` is writable only on create (an admin's choice of tenant), ``status`` only
    through the admin route, ``owner`` on create and through the admin route: elsewhere they, every
    read-only field of the token and every internal attribute are refused, naming the field."""
    org = world.orgs[0]
    target, _ = world.target(f"property {operation}")
    body = {**sample_body(operation, secret=world.dead["revoked"]), name: FIELD_VALUES.get(name, "x")}

    response = world.http.call(operation.method, operation.url(target), caller_for(operation, world, org), json=body)

    assert is_problem(response, 422), response.text
    assert name in {error["field"] for error in response.json().get("errors", [])}, response.text
    assert not operation.takes_id or world.untouched(target)


# --- API5: broken function-level authorization -------------------------------------------------------------

WEAK_CALLERS = {
    "every non-admin scope": NON_ADMIN_SCOPES,
    "tokens:read only": ["tokens:read"],
    "tokens:write only": ["tokens:write"],
}
ADMIN_CASES = [(op, who) for op in ADMIN_ONLY for who in WEAK_CALLERS]


@pytest.mark.parametrize(("operation", "who"), ADMIN_CASES, ids=[f"{o}-{w}" for o, w in ADMIN_CASES])
def test_api5_admin_routes_refuse_every_non_admin_token(world, operation, who):
    target, _ = world.target("function level")

    response = world.http.call(
        operation.method, operation.url(target), world.caller(WEAK_CALLERS[who]), json=sample_body(operation)
    )

    assert is_problem(response, 403), response.text  # the function's refusal, not the gateway's
    assert world.untouched(target)


@pytest.mark.parametrize("operation", SCOPED, ids=str)
def test_api5_every_route_refuses_a_token_without_its_scope(world, operation):
    caller = world.caller([s for s in NON_ADMIN_SCOPES if s != operation.scope])
    target, target_secret = world.target("function level")

    response = world.http.call(
        operation.method, operation.url(target), caller, json=sample_body(operation, secret=target_secret)
    )

    assert is_problem(response, 403), response.text
    assert operation.scope in response.json()["detail"]
    assert world.untouched(target)


CALLER_SCOPES = ["tokens:read", "tokens:write"]
ESCALATIONS = ["create", "PATCH another token", "PATCH itself", "PUT", "rotate a stronger token"]
ESCALATION_CASES = [(how, s) for how in ESCALATIONS for s in SERVICE_SCOPES if s not in CALLER_SCOPES]


@pytest.mark.parametrize(("how", "scope"), ESCALATION_CASES, ids=[f"{h}-{s}" for h, s in ESCALATION_CASES])
def test_api5_no_scope_escalation(world, how, scope):
    """A tokens:read + tokens:write token never obtains a scope it lacks."""
    org, http = world.orgs[0], world.http
    caller = world.caller(CALLER_SCOPES)
    if how == "rotate a stronger token":
        target = world.target(f"holds {scope}", "admin", scopes=["tokens:read", scope])
    elif how == "PATCH itself":
        target = (world.http.call("GET", "/v1/tokens/self", caller).json()["id"], caller)
    else:
        target = world.target("made by the weak caller", caller)
    target_id, target_secret = target
    current = http.call("GET", f"/v1/tokens/{target_id}", world.admin).json()
    path = f"/v1/tokens/{target_id}"

    if how == "create":
        name = unique_name()
        response = http.call("POST", "/v1/tokens", caller, json={"name": name, "scopes": ["tokens:read", scope]})
    elif how.startswith("PATCH"):
        response = http.call("PATCH", path, caller, json={"scopes": [*current["scopes"], scope]})
    elif how == "PUT":
        response = http.call("PUT", path, caller, json={"name": current["name"], "scopes": [scope]})
    else:
        assert scope in current["scopes"]
        response = http.call("POST", f"{path}/rotate", caller, json={"grace_period_seconds": 0})

    assert response.status_code in (403, 422) and response.headers["Content-Type"] == PROBLEM, response.text
    assert scope in response.text
    assert world.untouched(target_id)
    assert world.works(target_secret)
    if how == "create":
        listed = http.call("GET", "/v1/tokens", world.admin, params={"organization_id": org, "limit": "100"})
        assert name not in listed.text


# --- API4: unrestricted resource consumption -----------------------------------------------------------------

SIZE_CASES = [(op, size) for op in WITH_BODY for size in ("at the limit", "one byte over")]


@pytest.mark.parametrize(("operation", "size"), SIZE_CASES, ids=[f"{o}-{s}" for o, s in SIZE_CASES])
def test_api4_a_body_over_the_routes_limit_is_a_413(world, operation, size):
    org = world.orgs[0]
    if size == "one byte over":
        target, target_secret = world.target("resources")
    else:  # this one may well succeed
        token, target_secret = world.create(org, world.managers[org])
        target = token["id"]
    document = json.dumps(sample_body(operation, secret=target_secret))
    limit = operation.max_body_bytes
    padded = document + " " * (limit - len(document.encode()) + (1 if size == "one byte over" else 0))

    response = world.http.call(operation.method, operation.url(target), caller_for(operation, world, org), data=padded)

    if size == "one byte over":
        assert is_problem(response, 413), response.text
        assert world.untouched(target)
    else:
        assert response.status_code < 500 and response.status_code != 413, response.text


def query_cases() -> list[tuple[Operation, str, str, str]]:
    """(route, parameter, case, value) for every bound of every query parameter."""
    cases = []
    for op in OPERATIONS:
        for name, schema in op.query_parameters.items():
            if schema.get("type") == "integer":
                if "maximum" in schema:
                    cases.append((op, name, "maximum", str(int(schema["maximum"]))))
                    cases.append((op, name, "maximum + 1", str(int(schema["maximum"]) + 1)))
                    cases.append((op, name, "10**12", str(10**12)))
                if "minimum" in schema:
                    cases.append((op, name, "minimum - 1", str(int(schema["minimum"]) - 1)))
                cases.append((op, name, "not an integer", "1e3"))
            if "maxLength" in schema:
                cases.append((op, name, "maxLength + 1", "a" * (schema["maxLength"] + 1)))
            if "enum" in schema:
                cases.append((op, name, "not in the enum", "everything"))
    return cases


QUERY_CASES = query_cases()


@pytest.mark.parametrize(
    ("operation", "name", "case", "value"), QUERY_CASES, ids=[f"{o}-{n}-{c}" for o, n, c, _ in QUERY_CASES]
)
def test_api4_query_values_past_their_bounds_are_422(world, operation, name, case, value):
    org = world.orgs[0]
    response = world.http.call(
        operation.method,
        operation.url(world.manager_ids[org]),
        caller_for(operation, world, org),
        params={name: value},
    )
    if case == "maximum":
        assert response.status_code == 200, response.text
        assert len(response.json()["items"]) <= int(value)
    else:
        assert is_problem(response, 422), response.text
        assert name in {e["field"] for e in response.json()["errors"]}


def body_bound_cases() -> list[tuple[Operation, str, str, Any]]:
    """(route, field, case, value) for every bound of every top-level body field."""
    cases = []
    for op in WITH_BODY:
        for name, raw in op.body_schema.get("properties", {}).items():
            schema = plain_schema(op.resolve(raw))
            if schema.get("type") == "string" and "enum" not in schema:
                if "maxLength" in schema:
                    cases.append((op, name, "maxLength + 1", "a" * (schema["maxLength"] + 1)))
                if schema.get("minLength", 0) >= 1:
                    cases.append((op, name, "empty", ""))
            if schema.get("type") == "array":
                items = plain_schema(op.resolve(schema.get("items", {})))
                if "maxItems" in schema:
                    cases.append((op, name, "maxItems + 1", [f"s{n}" for n in range(schema["maxItems"] + 1)]))
                if schema.get("minItems", 0) >= 1:
                    cases.append((op, name, "no items", []))
                if "maxLength" in items:
                    cases.append((op, name, "an item of maxLength + 1", ["a" * (items["maxLength"] + 1)]))
                if items.get("minLength", 0) >= 1:
                    cases.append((op, name, "an empty item", [""]))
            if schema.get("type") == "integer":
                if "maximum" in schema:
                    cases.append((op, name, "maximum + 1", int(schema["maximum"]) + 1))
                if "minimum" in schema:
                    cases.append((op, name, "minimum - 1", int(schema["minimum"]) - 1))
    return cases


BODY_BOUND_CASES = body_bound_cases()


@pytest.mark.parametrize(
    ("operation", "name", "case", "value"), BODY_BOUND_CASES, ids=[f"{o}-{n}-{c}" for o, n, c, _ in BODY_BOUND_CASES]
)
def test_api4_body_values_past_their_bounds_are_4xx(world, operation, name, case, value):
    org = world.orgs[0]
    target, target_secret = world.target("resources")
    body = {**sample_body(operation, secret=target_secret), name: value}

    response = world.http.call(operation.method, operation.url(target), caller_for(operation, world, org), json=body)

    assert response.status_code in (413, 422) and response.headers["Content-Type"] == PROBLEM, response.text
    if response.status_code == 422:
        assert any(e["field"].split(".")[0] == name for e in response.json()["errors"]), response.text
    assert world.untouched(target)


# --- inside an organization: who may do what to whose token ------------------------------------------------
#
# The rules of README "Security model" / product.md "Authorization inside an organization", written
# again here as a small table (not read from the product's auth.py): first the route's scope (403),
# then reach (another owner's token is 404, as another organization's is; tokens:manage and admin
# reach every token), then strength for every route that changes the token (403 when the target
# holds a scope the caller lacks; admin holds every service scope). Otherwise the route's 2xx.

READS, CHANGES = "reads", "changes"
# route → (the scope it needs, what it does, its success status)
TOKEN_ROUTES: dict[str, tuple[str, str, int]] = {
    "GET /v1/tokens/{token_id}": ("tokens:read", READS, 200),
    "PATCH /v1/tokens/{token_id}": ("tokens:write", CHANGES, 200),
    "PUT /v1/tokens/{token_id}": ("tokens:write", CHANGES, 200),
    "DELETE /v1/tokens/{token_id}": ("tokens:write", CHANGES, 204),
    "POST /v1/tokens/{token_id}/disable": ("tokens:write", CHANGES, 200),
    "POST /v1/tokens/{token_id}/enable": ("tokens:write", CHANGES, 200),
    "POST /v1/tokens/{token_id}/revoke": ("tokens:write", CHANGES, 200),
    "POST /v1/tokens/{token_id}/rotate": ("tokens:write", CHANGES, 200),
    "GET /v1/tokens/{token_id}/events": ("tokens:read", READS, 200),
    "GET /v1/tokens/{token_id}/usage": ("tokens:read", READS, 200),
    "PATCH /v1/admin/tokens/{token_id}": ("admin", CHANGES, 200),
}
ALICE, BOB = "alice@acme.test", "bob@acme.test"
RW = ("tokens:read", "tokens:write")


@dataclass(frozen=True)
class Who:
    """A token of the first tenant (``admin``: the platform's admin token, in its own organization)."""

    owner: str | None
    scopes: tuple[str, ...]
    admin: bool = False

    def holds(self, scope: str) -> bool:
        return scope in self.scopes or (self.admin and scope in SERVICE_SCOPES)

    def reaches(self, target: Who) -> bool:
        return self.admin or self.holds("tokens:manage") or self.owner == target.owner


PLATFORM_ADMIN = Who(None, (ADMIN,), admin=True)
ALICES = Who(ALICE, RW)  # the usual target: alice's token, as strong as alice's own
ALICES_STRONG = Who(ALICE, (*RW, "webhooks:read"))  # a target holding a scope alice's caller lacks
# caller kind → (caller, target)
CALLER_KINDS: dict[str, tuple[Who, Who]] = {
    "owner": (Who(ALICE, RW), ALICES),
    "other owner": (Who(BOB, RW), ALICES),
    "owner-less service token": (Who(None, RW), ALICES),
    "owner-less service token, owner-less target": (Who(None, RW), Who(None, RW)),
    "tokens:manage": (Who(None, (*RW, "tokens:manage")), ALICES),
    "tokens:manage, stronger target": (Who(None, (*RW, "tokens:manage")), ALICES_STRONG),
    "admin": (PLATFORM_ADMIN, ALICES),
    "weaker (lacks a scope the target holds)": (Who(ALICE, RW), ALICES_STRONG),
    "stronger (holds more than the target)": (Who(ALICE, (*RW, "webhooks:read", "webhooks:write")), ALICES_STRONG),
}


def expected_status(route: str, caller: Who, target: Who) -> int:
    scope, does, success = TOKEN_ROUTES[route]
    if not caller.holds(scope):
        return 403
    if not caller.reaches(target):
        return 404
    if does == CHANGES and not all(caller.holds(s) for s in target.scopes):
        return 403
    return success


INSIDE_ROUTES = [op for op in WITH_ID if op.key in TOKEN_ROUTES]
INSIDE_CASES = [(op, kind) for kind in CALLER_KINDS for op in INSIDE_ROUTES]


def _seeded(call: Any) -> requests.Response:
    """A seeding or observing request, retried when load alone refused it: on a loaded machine the
    embedded DynamoDB can answer too slowly, and then the authorizer fails closed (the gateway's own
    403) or the function answers 503. Never used for the request whose answer the rules decide."""
    for _ in range(5):
        response = call()
        if not (from_the_gateway(response, 403) or response.status_code == 503):
            return response
        time.sleep(0.5)
    return response


_CALLERS: dict[tuple[str, Who], str] = {}


def _caller(world: World, who: Who) -> str:
    """The secret of a token of ``who`` (made once: a caller is never the target of the matrix)."""
    if who.admin:
        return world.admin
    if (world.orgs[0], who) not in _CALLERS:
        _CALLERS[world.orgs[0], who] = _token_of(world, who)[1]
    return _CALLERS[world.orgs[0], who]


def _token_of(world: World, who: Who) -> tuple[str, str]:
    """(id, secret) of a fresh token of the first tenant, of ``who``'s owner and scopes."""
    body = {"name": unique_name("inside"), "scopes": list(who.scopes), "organization_id": world.orgs[0]}
    if who.owner is not None:
        body["owner"] = who.owner
    created = _seeded(lambda: world.http.call("POST", "/v1/tokens", world.admin, json=body))
    assert created.status_code == 201, created.text
    assert created.json()["token"].get("owner") == who.owner
    return created.json()["token"]["id"], created.json()["secret"]


def _stored(token_id: str) -> dict[str, Any] | None:
    """The token's item as stored (read straight from the table the local run serves)."""
    import os

    import boto3

    resource = boto3.resource(
        "dynamodb",
        endpoint_url=os.environ["DYNAMODB_ENDPOINT_URL"],
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    table = resource.Table(os.environ["TABLE_NAME"])
    return table.get_item(Key={"pk": f"TOKEN#{token_id}", "sk": "TOKEN"}, ConsistentRead=True).get("Item")


def _state(world: World, token_id: str) -> tuple[Any, Any, Any]:
    """What a refusal must leave as it was: the stored item, the admin's view, the audit trail."""
    path = f"/v1/tokens/{token_id}"
    view = _seeded(lambda: world.http.call("GET", path, world.admin))
    events = _seeded(lambda: world.http.call("GET", f"{path}/events", world.admin, params={"limit": "100"}))
    assert view.status_code == 200 and events.status_code == 200, (view.text, events.text)
    return _stored(token_id), view.json(), [event["id"] for event in events.json()["items"]]


@pytest.mark.parametrize(("operation", "kind"), INSIDE_CASES, ids=[f"{k}-{o}" for o, k in INSIDE_CASES])
def test_inside_an_organization_every_caller_kind_on_every_token_route(world, operation, kind):
    caller_who, target_who = CALLER_KINDS[kind]
    target_id, target_secret = _token_of(world, target_who)
    caller = _caller(world, caller_who)
    before = _state(world, target_id)
    expected = expected_status(operation.key, caller_who, target_who)

    response = world.http.call(
        operation.method, operation.url(target_id), caller, json=sample_body(operation, secret=target_secret)
    )

    # a rule's answer is the function's (problem+json), never the gateway's fail-closed 403
    assert response.status_code == expected, (expected, response.status_code, response.text)
    if expected >= 400:
        assert is_problem(response, expected), response.text
        if expected == 403 and TOKEN_ROUTES[operation.key][0] in caller_who.scopes:
            missing = sorted(s for s in target_who.scopes if not caller_who.holds(s))
            assert all(scope in response.json()["detail"] for scope in missing), response.text
        assert _state(world, target_id) == before, "a refused request changed its target"
        alive = _seeded(lambda: world.http.call("GET", "/v1/tokens/self", target_secret))
        assert alive.status_code == 200, alive.text


def test_the_caller_matrix_covers_every_token_route():
    """A new token route must take its place in the rule table (and so in the matrix)."""
    assert {op.key for op in WITH_ID} == set(TOKEN_ROUTES)
    assert {op.key: op.scope for op in INSIDE_ROUTES} == {route: row[0] for route, row in TOKEN_ROUTES.items()}


# --- the numbers ---------------------------------------------------------------------------------------------

MATRIX = {
    "API1 BOLA": len(BOLA_CASES) + len(BOLA_ELSEWHERE_CASES),
    "API2 broken authentication": len(AUTH_CASES),
    "API3 property level": len(OPERATIONS) + len(PROPERTY_CASES),
    "API5 function level": len(ADMIN_CASES) + len(SCOPED) + len(ESCALATION_CASES),
    "API4 resource consumption": len(SIZE_CASES) + len(QUERY_CASES) + len(BODY_BOUND_CASES),
    "inside an organization (caller kind × token route)": len(INSIDE_CASES),
}


def test_the_matrix_covers_every_route_and_reports_its_size(world, request):
    """Runs last: every route took part, the broken-authentication target is as it was, and one
    summary line (with the number of responses that were checked for secrets and digests)."""
    assert {op.key for op in AUTHORIZED} == {op.key for op, _ in AUTH_CASES}
    assert {op.key for op in WITH_ID} == {op.key for op, _ in BOLA_CASES}
    assert all(op.admin_only for op in OPERATIONS if "/admin/" in op.route.path)
    assert world.untouched(world.auth_target), "a request with a refused token changed its target"
    counts = Counter(MATRIX)
    line = (
        f"OWASP matrix over {len(OPERATIONS)} routes: "
        + ", ".join(f"{name} {count}" for name, count in counts.items())
        + f" = {sum(counts.values())} route×case combinations; "
        f"{world.http.responses} responses checked for secrets and digests"
    )
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is not None:
        with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
            reporter.write_line("")
            reporter.write_line(line)
    request.node.user_properties.append(("owasp_matrix", line))
