"""DynamoDB throttling and 5xx under the real authorizer and handlers (moto).

Faults are injected per HTTP attempt inside botocore's send loop (``tests.attack.DynamoFaults``:
a ``before-send.dynamodb.*`` handler on the app's own client, ``aws.clients.client("dynamodb")``), so the
app's real retry configuration decides how often and how long to retry. A faulted attempt never
reaches the table.

- 100 % of calls failing: every API route answers 503 problem+json with Retry-After, within 3 s;
- a throttled *transaction* (TransactionCanceledException with ThrottlingError) is a 503 as well;
- the authorizer fails closed: a failed read is a refusal (403), never a 200 or a 500;
- 10 % (and 50 %) of calls failing over a long run of changes: only successes and 503s, and
  nothing half-written: every token has exactly the audit events its version implies, no orphan
  event or name guard, no token from a create that answered 503, no change from a change that did.
"""

from __future__ import annotations

import random
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.attack import (
    FAULTS,
    TRANSACTION_THROTTLED,
    DynamoFaults,
    IsolatedApi,
    Operation,
    backoff_clock,
    operations,
    run_threads,
    sample_body,
    unique_name,
)
from tests.integration.conftest import Tenant, make_tenant
from tokensmith.table import name_guard_pk

THROTTLING_AND_5XX = tuple(FAULTS)  # ProvisionedThroughputExceededException, ThrottlingException, InternalServerError
ANSWER_WITHIN_SECONDS = 3.0
MANAGER_SCOPES = ["tokens:read", "tokens:write", "tokens:manage", "tokens:verify", "webhooks:read", "webhooks:write"]
# Routes that never touch DynamoDB: revoke-leaked only queues (its worker revokes), so it answers 202 even
# while DynamoDB fails (and must: its answer may not depend on what the table holds).
# The GitHub secret scanning route refuses these requests (no GitHub signature) before any read: a signed one
# while DynamoDB fails is in test_github_secret_scanning.py.
NO_TABLE = {"POST /v1/tokens/revoke-leaked": 202, "POST /v1/secret-scanning/github": 401}


@pytest.fixture
def client(table):
    """The app's own DynamoDB client (the one every handler and the authorizer use)."""
    from tokensmith.aws.clients import client

    return client("dynamodb", None)


@pytest.fixture
def faults(client):
    injector = DynamoFaults(client, seed=20261122)
    yield injector
    injector.detach()


@dataclass
class World:
    admin: Tenant
    acme: Tenant
    target_id: str
    target_secret: str
    webhook_id: str
    session_cookie: str = ""  # a console session of the admin: the session routes act on it


@pytest.fixture
def world(api, admin, webhook_world, leak_queue) -> World:
    """Written before any fault: a tenant, a token and a webhook endpoint of theirs to act on."""
    acme = make_tenant(api, admin, "acme", scopes=MANAGER_SCOPES)
    created = api.post("/v1/tokens", secret=acme.secret, body={"name": "target", "scopes": ["tokens:read"]})
    assert created.status == 201, created.body
    webhook = api.post("/v1/webhooks", secret=acme.secret, body={"url": "https://hooks.example.com/target"})
    assert webhook.status == 201, webhook.body
    signed_in = api.post("/v1/sessions", body={"token": admin.secret})
    assert signed_in.status == 201, signed_in.body
    cookie = signed_in.cookies[0].split(";")[0]
    token_id, secret = created.body["token"]["id"], created.body["secret"]
    return World(admin, acme, token_id, secret, webhook.body["webhook"]["id"], cookie)


def request_of(operation: Operation, world: World) -> dict[str, Any]:
    """A request the route would act on (so it must reach DynamoDB), by a caller allowed to make it."""
    caller = world.admin.secret if operation.admin_only else world.acme.secret
    request = {
        "method": operation.method,
        "path": operation.url(path_value(operation, world)),
        "secret": caller if operation.authorized else None,
        "body": sample_body(operation, secret=world.target_secret),
    }
    if operation.route.path == "/v1/sessions/current":  # acts on the request's session cookie: the admin's
        request["cookies"] = [world.session_cookie]
        request["secret"] = world.admin.secret if operation.authorized else None
    return request


def path_value(operation: Operation, world: World) -> str:
    """The webhook endpoint, the caller's organization (its policy), or the token the route acts on."""
    if "{webhook_id}" in operation.route.path:
        return world.webhook_id
    return world.acme.organization_id if "{organization_id}" in operation.route.path else world.target_id


def problems_of_a_503(response, operation: Operation | None = None) -> list[str]:
    problems = []
    if operation is not None and operation.key in NO_TABLE:
        return [] if response.status == NO_TABLE[operation.key] else [f"status {response.status} {response.raw[:200]}"]
    if response.status != 503:
        problems.append(f"status {response.status} {response.raw[:200]}")
        return problems
    if response.headers.get("content-type") != "application/problem+json":
        problems.append(f"content-type {response.headers.get('content-type')}")
    if (response.body or {}).get("status") != 503:
        problems.append("the problem document does not say 503")
    retry_after = response.headers.get("retry-after", "")
    if not retry_after.isdigit() or int(retry_after) < 1:
        problems.append(f"Retry-After {retry_after!r}")
    return problems


# --- 100 % ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("code", THROTTLING_AND_5XX)
def test_every_route_answers_503_with_retry_after_within_3_seconds_when_every_call_fails(world, faults, client, code):
    """The back-off is recorded instead of slept (the jitter pinned at 0.9, near the worst case):
    answer time = the handler's real run time + the back-off botocore asked for."""
    api = IsolatedApi(around_handler=lambda: faults.active(1.0, (code,)))
    failures = []
    with backoff_clock(client, jitter=0.9, real_sleep=False) as ledger:
        for operation in operations():
            ledger.clear_this_thread()
            started = time.monotonic()
            response = api.request(**request_of(operation, world))
            backoff = ledger.of_this_thread()
            seconds = time.monotonic() - started + sum(backoff)
            problems = problems_of_a_503(response, operation)
            if seconds >= ANSWER_WITHIN_SECONDS:
                problems.append(
                    f"answered after {seconds:.2f} s: {len(backoff)} retries, back-off {[round(b, 2) for b in backoff]}"
                )
            if problems:
                failures.append(f"{operation}: {'; '.join(problems)}")
    assert faults.injected_total > 0
    assert not failures, "\n".join(failures)


def test_every_route_answers_503_within_3_seconds_of_real_wall_clock_time(world, faults, client):
    """The same on the real clock: every route at once, one thread (one Lambda instance) each,
    botocore really sleeping its back-off (jitter pinned at 0.9). The authorizer ran before the
    fault, so each function gets the context it produced."""
    loader = IsolatedApi()
    claims = {secret: loader.authorize(secret)["context"] for secret in (world.admin.secret, world.acme.secret)}
    requests = [(operation, request_of(operation, world)) for operation in operations()]
    apis = [IsolatedApi().warm() for _ in requests]

    def call(api: IsolatedApi, request: dict[str, Any]):
        request = dict(request, claims=claims.get(request["secret"]))
        started = time.monotonic()
        response = api.request(**request)
        return response, time.monotonic() - started

    with backoff_clock(client, jitter=0.9, real_sleep=True), faults.active(1.0, THROTTLING_AND_5XX):
        results = run_threads([lambda a=a, r=r: call(a, r) for a, (_, r) in zip(apis, requests, strict=True)])

    failures = []
    for (operation, _), result in zip(requests, results, strict=True):
        if isinstance(result, BaseException):
            failures.append(f"{operation}: raised {result!r}")
            continue
        response, seconds = result
        problems = problems_of_a_503(response, operation)
        if seconds >= ANSWER_WITHIN_SECONDS:
            problems.append(f"answered after {seconds:.2f} s of wall-clock time")
        if problems:
            failures.append(f"{operation}: {'; '.join(problems)}")
    assert not failures, "\n".join(failures)


def test_a_throttled_transaction_is_a_503_not_a_500(world, faults, client):
    """DynamoDB throttles a TransactWriteItems by cancelling it: TransactionCanceledException with
    the reason ThrottlingError (botocore does not retry it). Every route that writes must still
    answer 503 + Retry-After, and write nothing."""
    api = IsolatedApi(around_handler=lambda: faults.active(1.0, (TRANSACTION_THROTTLED,), {"TransactWriteItems"}))
    writers = []
    failures = []
    for operation in operations():
        before = faults.attempts["TransactWriteItems"]
        response = api.request(**request_of(operation, world))
        if faults.attempts["TransactWriteItems"] == before:
            continue  # this route wrote nothing (a read, or a refusal before any write)
        writers.append(operation.key)
        problems = problems_of_a_503(response)
        if problems:
            failures.append(f"{operation}: {'; '.join(problems)}")
    assert len(writers) >= 8, writers  # create, patch, put, disable, revoke, rotate, delete, admin patch, ...
    assert not failures, "\n".join(failures)
    target = IsolatedApi().get(f"/v1/tokens/{world.target_id}", secret=world.admin.secret)
    assert target.body["version"] == 1 and target.body["status"] == "active"


# --- the authorizer --------------------------------------------------------------------------------------


@pytest.mark.parametrize("code", THROTTLING_AND_5XX)
def test_the_authorizer_fails_closed_when_every_read_fails(world, faults, client, code):
    api = IsolatedApi()
    assert api.authorize(world.acme.secret)["isAuthorized"] is True
    assert api.get("/v1/tokens/self", secret=world.acme.secret).status == 200

    with backoff_clock(client, jitter=0.5, real_sleep=False), faults.active(1.0, (code,)):
        verdict = api.authorize(world.acme.secret)
        through_the_gateway = api.get("/v1/tokens/self", secret=world.acme.secret)

    assert verdict == {"isAuthorized": False}
    assert (through_the_gateway.status, through_the_gateway.body) == (403, {"message": "Forbidden"})


def test_the_authorizer_refuses_exactly_when_its_read_failed(world, faults, client):
    """With half the reads failing, each verdict matches what happened to its one GetItem: every
    attempt failed → refused; an attempt succeeded → authorized, with the right context. Never an
    exception (API Gateway would answer 500)."""
    api = IsolatedApi()
    outcomes = Counter()
    with backoff_clock(client, jitter=None, real_sleep=False), faults.active(0.5, THROTTLING_AND_5XX, {"GetItem"}):
        for _ in range(60):
            attempts, injected = faults.attempts["GetItem"], faults.injected_total
            verdict = api.authorize(world.acme.secret)
            made, failed = faults.attempts["GetItem"] - attempts, faults.injected_total - injected
            read_failed = made == failed
            if read_failed:
                assert verdict == {"isAuthorized": False}, (made, failed)
                outcomes["refused"] += 1
            else:
                assert verdict["isAuthorized"] is True, (made, failed)
                assert verdict["context"]["token_id"] == world.acme.token_id
                outcomes["authorized"] += 1
    assert outcomes["authorized"] > 0 and faults.injected_total > 0, outcomes


# --- 10 % and 50 %: no 500, nothing half-written -------------------------------------------------------


@dataclass
class Tracked:
    id: str
    organization_id: str
    secret: str
    version: int = 1
    deleted: bool = False


@dataclass
class Run:
    statuses: Counter = field(default_factory=Counter)
    unexpected: list[str] = field(default_factory=list)
    tokens: dict[str, Tracked] = field(default_factory=dict)
    failed_creates: int = 0


NAMES = [f"name-{n}" for n in range(8)]  # a small pool: creates and renames collide on purpose


def run_workload(api: IsolatedApi, managers: dict[str, Tenant], admin: Tenant, steps: int, seed: int) -> Run:
    rng = random.Random(seed)
    run = Run()

    def live() -> list[Tracked]:
        return [t for t in run.tokens.values() if not t.deleted]

    for step in range(steps):
        organization_id = rng.choice(sorted(managers))
        manager = managers[organization_id]
        kind = rng.choices(
            ["create", "patch", "put", "disable", "enable", "rotate", "revoke", "delete", "admin", "verify"],
            weights=[25, 15, 5, 8, 8, 10, 4, 4, 10, 6],
        )[0]
        token = rng.choice(live()) if live() and kind != "create" else None
        if kind != "create" and token is None:
            continue
        if token is not None:
            manager = managers[token.organization_id]
        path = f"/v1/tokens/{token.id}" if token else "/v1/tokens"
        if kind == "create":
            body = {"name": rng.choice(NAMES), "scopes": ["tokens:read"]}
            if rng.random() < 0.5:
                body["owner"] = "alice"
            response = api.post("/v1/tokens", secret=manager.secret, body=body)
        elif kind == "patch":
            body = {"name": rng.choice(NAMES)} if rng.random() < 0.5 else {"description": f"step {step}"}
            response = api.patch(path, secret=manager.secret, body=body)
        elif kind == "put":
            response = api.put(path, secret=manager.secret, body={"name": rng.choice(NAMES), "scopes": ["tokens:read"]})
        elif kind in ("disable", "enable"):
            response = api.post(f"{path}/{kind}", secret=manager.secret)
        elif kind == "rotate":
            grace = rng.choice([0, 60])
            response = api.post(f"{path}/rotate", secret=manager.secret, body={"grace_period_seconds": grace})
        elif kind == "revoke":
            response = api.post(f"{path}/revoke", secret=manager.secret, body={"reason": f"step {step}"})
        elif kind == "delete":
            response = api.delete(path, secret=manager.secret)
        elif kind == "admin":
            body = rng.choice([{"status": "disabled"}, {"status": "active"}, {"owner": rng.choice(["bob", "alice"])}])
            response = api.patch(f"/v1/admin/tokens/{token.id}", secret=admin.secret, body=body)
        else:
            response = api.post("/v1/tokens/verify", secret=manager.secret, body={"token": token.secret})

        run.statuses[response.status] += 1
        label = f"step {step}: {kind} → {response.status} {response.raw[:160]}"
        if response.status == 503:
            if problems_of_a_503(response):
                run.unexpected.append(f"{label}: {problems_of_a_503(response)}")
            if kind == "create":
                run.failed_creates += 1
        elif response.status == 403 and response.body == {"message": "Forbidden"}:
            pass  # the authorizer failed closed on a failed read
        elif response.status == 404 and token is not None and token.deleted:
            pass
        elif response.status == 409:
            pass  # a name taken, or a revoked token: the workload provokes both
        elif response.status == 403 and kind == "enable" and "re-enabling needs" in response.raw:
            pass  # the admin disabled it: a manager may not re-enable it (issue 13)
        elif response.status in (200, 201, 204):
            if kind == "create":
                token_body = response.body["token"]
                tracked = Tracked(token_body["id"], token_body["organization_id"], response.body["secret"])
                run.tokens[tracked.id] = tracked
            elif kind == "delete":
                token.version += 1
                token.deleted = True
            elif kind == "rotate":
                token.version = response.body["token"]["version"]
                token.secret = response.body["secret"]
            elif kind != "verify":
                token.version = response.body["version"]
        else:
            run.unexpected.append(label)
    return run


def table_contents(table_client, table_name: str = "tokensmith-test") -> tuple[dict, dict, dict]:
    from tokensmith.aws.dynamodb import from_item

    tokens, events, guards = {}, defaultdict(list), {}
    for page in table_client.get_paginator("scan").paginate(TableName=table_name, ConsistentRead=True):
        for raw in page["Items"]:
            item = from_item(raw)
            if item["sk"] == "TOKEN":
                tokens[item["id"]] = item
            elif item["sk"].startswith("EVENT#"):
                events[item["pk"].removeprefix("TOKEN#")].append(item)
            elif item["sk"] == "NAME":
                guards[item["pk"]] = item
            else:
                raise AssertionError(f"an item of no known kind: {item['pk']} / {item['sk']}")
    return tokens, events, guards


def consistency_problems(tokens: dict, events: dict, guards: dict) -> list[str]:
    problems = []
    for token_id, item in tokens.items():
        trail = sorted(events.get(token_id, []), key=lambda e: e["sk"])
        if len(trail) != item["version"]:
            problems.append(
                f"token {token_id} is at version {item['version']} with {len(trail)} events: "
                f"{[e['type'] for e in trail]}"
            )
        if trail and trail[0]["type"] != "token.created":
            problems.append(f"token {token_id}: the first event is {trail[0]['type']}")
        for event in trail:
            if event["token_id"] != token_id or event["organization_id"] != item["organization_id"]:
                problems.append(f"event {event['sk']} in {token_id}'s partition names {event['token_id']}")
        guard_pk = name_guard_pk(item["organization_id"], item.get("owner"), item["name"])
        if item["status"] in ("active", "disabled"):
            guard = guards.get(guard_pk)
            if guard is None or guard["token_id"] != token_id:
                problems.append(f"live token {token_id} ({item['name']!r}) does not hold its name guard {guard_pk}")
    for token_id in set(events) - set(tokens):
        problems.append(f"orphan events of a token that does not exist: {token_id}")
    for pk, guard in guards.items():
        holder = tokens.get(guard["token_id"])
        if holder is None:
            problems.append(f"orphan name guard {pk} held by a token that does not exist")
        elif holder["status"] not in ("active", "disabled"):
            problems.append(f"name guard {pk} still held by a {holder['status']} token")
        elif name_guard_pk(holder["organization_id"], holder.get("owner"), holder["name"]) != pk:
            problems.append(f"stale name guard {pk}: its token is now named {holder['name']!r}")
    return problems


@pytest.mark.parametrize("rate", [0.1, 0.5], ids=["10%", "50%"])
def test_partial_faults_answer_success_or_503_and_never_half_write(api, admin, table, faults, client, rate):
    managers = {
        org: make_tenant(api, admin, org, scopes=MANAGER_SCOPES, name=unique_name(org)) for org in ("acme", "globex")
    }
    before, _, _ = table_contents(table)
    isolated = IsolatedApi()

    with backoff_clock(client, jitter=None, real_sleep=False), faults.active(rate, THROTTLING_AND_5XX):
        run = run_workload(isolated, managers, admin, steps=80, seed=int(rate * 100))

    tokens, events, guards = table_contents(table)
    assert not run.unexpected, "\n".join(run.unexpected)
    assert faults.injected_total > 0
    assert run.statuses[500] == 0
    if rate >= 0.5:
        assert run.statuses[503] > 0, run.statuses  # the failure path really was taken
    assert sum(run.statuses[s] for s in (200, 201, 204)) > len(run.tokens), run.statuses

    problems = consistency_problems(tokens, events, guards)
    assert not problems, "\n".join(problems)
    # What the API answered is what the table holds: no token from a create that answered 503, no
    # change from a change that answered 503 (each token is at the version its last success showed).
    assert set(tokens) - set(before) == set(run.tokens), "a create that failed left a token behind"
    versions = {t.id: (t.version, tokens[t.id]["version"]) for t in run.tokens.values()}
    assert {i: v for i, v in versions.items() if v[0] != v[1]} == {}
