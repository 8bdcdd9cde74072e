"""Fuzzing: schemathesis against the local gateway, every check, as an admin.

The server is the one of the other e2e tests (embedded DynamoDB, `serve_in_thread`, an admin token from
`tokensmith.bootstrap`); the contract is the document it serves on /openapi.json, built from the code.
Every operation gets schemathesis' examples, coverage and fuzzing phases with positive and negative data,
a stateful run follows the links schemathesis infers (create, then read, change, rotate, delete what was
created), and every response goes through every built-in check. Operations that take a {token_id} are
also sent the ids of real tokens (active, disabled, revoked), so that more than their 404 is exercised.
Zero 5xx and zero contract violations are expected.

    pytest tests/e2e/test_fuzz.py                      # 20 examples per operation and phase
    FUZZ_EXAMPLES=500 pytest tests/e2e/test_fuzz.py    # the long run (`make fuzz`)
    FUZZ_SEED=1234 or FUZZ_SEED=random                 # a seeded (printed) run; default: derandomized

What is not the application's doing is handled here, narrowly, each with its reason:
- `undeclared_method` replaces `unsupported_method`: API Gateway answers a method without a route 404;
- `schema_valid_data_accepted` replaces `positive_data_acceptance`: it lets through only the 422s of
  rules a static schema cannot state (`BUSINESS_RULES`);
- `negative_data_rejection` also takes 413, the documented answer to a body over the limit;
"""

from __future__ import annotations

import collections
import json
import os
import random
import time
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import hypothesis
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck
from hypothesis import strategies as st
from hypothesis.stateful import run_state_machine_as_test
from schemathesis.checks import CHECKS, CheckContext
from schemathesis.core.parameters import ParameterLocation
from schemathesis.engine import Status
from schemathesis.generation.meta import TestPhase
from schemathesis.openapi.checks import RejectedPositiveData, UnsupportedMethodResponse
from schemathesis.specs.openapi.checks import positive_data_acceptance, unsupported_method

from tests.e2e.conftest import local_server

FUZZ_HOOKS = "https://hooks.example.com/fuzz"

pytestmark = pytest.mark.e2e

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES") or 20)  # per operation and phase; `make fuzz` asks for 500
STATEFUL_SCENARIOS = max(20, EXAMPLES // 2)
_SEED = os.environ.get("FUZZ_SEED", "")
SEED = random.getrandbits(32) if _SEED == "random" else int(_SEED) if _SEED else None
if SEED is not None:  # in pytest's warnings summary, so that a failing random run can be replayed
    warnings.warn(f"fuzzing with FUZZ_SEED={SEED}", UserWarning, stacklevel=1)

# The built-in checks replaced by the narrower ones below; every other built-in check stays on.
REPLACED_CHECKS = {"unsupported_method", "positive_data_acceptance"}
# None: a request without Authorization is API Gateway's own 401 (the header is the authorizer's
# identity source), as `missing_required_header` expects.
DISABLED_CHECKS: set[str] = set()


NEGATIVE_DATA_REJECTED_WITH = [
    "400",
    "401",
    "403",
    "404",
    "405",
    "406",
    "409",
    "413",
    "415",
    "422",
    "428",
    "429",
    "5xx",
]


# --- the two narrowed checks -----------------------------------------------------------------------------


@schemathesis.check
def undeclared_method(ctx: CheckContext, response: schemathesis.Response, case: schemathesis.Case) -> bool | None:
    """`unsupported_method`, except that API Gateway's own 404 is a right answer.

    An HTTP API matches a route on method and path together: a method without a route is no route, and
    API Gateway answers it 404 {"message": "Not Found"} before any authorizer runs (the API's `$default`
    route, the console's function, gives the very same answer; the local gateway does the same). It
    never answers 405, which is what `unsupported_method` wants for a path without generated path
    parameters. Anything else (a 2xx, a 5xx, a problem from a function) still fails.
    """
    try:
        return unsupported_method(ctx, response, case)
    except UnsupportedMethodResponse:
        if response.status_code == 404 and _json(response) == {"message": "Not Found"}:
            return None
        raise


# 422s of rules that a static JSON Schema cannot state, as (field, the start of its message): the
# documented 422 of these operations. `positive_data_acceptance` takes every schema-valid request as
# one the server must accept; these are schema-valid and still wrong.
BUSINESS_RULES = {
    # ScopeCatalog is a deployment parameter; a token grants only scopes it holds itself.
    ("scopes", "unknown scope "): "the scope catalogue is a deployment parameter",
    ("scopes", "scope "): "no escalation: a token grants only the scopes it holds",
    # Relative to the clock and to MaxTokenLifetimeDays (a deployment parameter).
    ("expires_at", "must be in the future"): "relative to the clock",
    ("expires_at", "must be at most "): "MaxTokenLifetimeDays, a deployment parameter",
    ("expires_at", "required, in the future, to bring back an expired token"): "depends on the token's state",
    # The organization's policy (its max_lifetime_days and require_expiry), another resource's state.
    ("expires_at", "beyond the organization's max_lifetime_days "): "the organization's policy",
    ("expires_at", "required by the organization's policy"): "the organization's policy",
    # Cross-field rules of the admin override.
    ("revoked_reason", "give status: revoked or revoked: true with it"): "a rule across two fields",
    ("revoked", "contradicts status"): "a rule across two fields",
    ("status", "contradicts revoked"): "a rule across two fields",
    # Rotate: retire_on_first_use caps a grace period, so it needs one.
    ("retire_on_first_use", "requires grace_period_seconds > 0"): "a rule across two fields",
    # Webhook URLs: https only, and the host must resolve to public addresses (SSRF), which needs DNS.
    ("url", "refused: "): "https and public addresses only, checked by resolving the host",
    # Usage policies: rate limits unique by name (uniqueItems compares whole items); meta's size is
    # counted in bytes of JSON and its depth in levels, neither of which JSON Schema can state.
    ("ratelimits", "Value error, must not repeat a rate limit name"): "unique by one field of the items",
    ("meta", "Value error, must be at most "): "a size in bytes of serialized JSON",
    ("meta", "Value error, must nest at most "): "a nesting depth",
    # The organization policy: its lifetime against MaxTokenLifetimeDays, its notices against its inactivity.
    ("max_lifetime_days", "must be at most "): "MaxTokenLifetimeDays, a deployment parameter",
    ("inactivity_notice_days", "needs inactivity_days"): "a rule across two fields",
    ("inactivity_notice_days", "each day must be less than inactivity_days"): "a rule across two fields",
    # Cursors are opaque: only one the listing produced is valid.
    ("cursor", "invalid cursor"): "opaque cursors",
}
# 422s without field errors, by the start of their detail.
BUSINESS_RULE_DETAILS = {
    # PATCH /v1/admin/tokens/{id} with only omitted or null fields (null means unchanged, so `minProperties`
    # would not say it either).
    "the body changes nothing": "an admin override that overrides nothing",
}


@schemathesis.check
def schema_valid_data_accepted(
    ctx: CheckContext, response: schemathesis.Response, case: schemathesis.Case
) -> bool | None:
    """`positive_data_acceptance`, except for a 422 problem whose every field error is a `BUSINESS_RULES` one
    (or whose detail is a `BUSINESS_RULE_DETAILS` one). Any other rejection of valid data still fails."""
    try:
        return positive_data_acceptance(ctx, response, case)
    except RejectedPositiveData:
        if response.status_code == 422 and _is_business_rule_problem(response):
            return None
        raise


def _is_business_rule_problem(response: schemathesis.Response) -> bool:
    if not (response.headers.get("content-type") or [""])[0].startswith("application/problem+json"):
        return False
    problem = _json(response)
    if not isinstance(problem, dict):
        return False
    errors = problem.get("errors") or []
    if not errors:
        return any(str(problem.get("detail", "")).startswith(detail) for detail in BUSINESS_RULE_DETAILS)
    return all(
        any(
            error.get("field") == field_name and str(error.get("message", "")).startswith(start)
            for field_name, start in BUSINESS_RULES
        )
        for error in errors
    )


def _json(response: schemathesis.Response) -> Any:
    try:
        return json.loads(response.content)
    except ValueError:
        return None


# --- the server, its tokens and the schema -----------------------------------------------------------------


@dataclass
class Target:
    base_url: str
    admin_secret: str
    # Real tokens for the operations that take a {token_id}, one pool per operation (label), so that a
    # DELETE or a revoke does not starve the operations fuzzed after it.
    pools: dict[str, list[str]] = field(default_factory=dict)
    statuses: dict[str, collections.Counter[int]] = field(
        default_factory=lambda: collections.defaultdict(collections.Counter)
    )
    # The same, for the requests that named a token of the pools.
    real_token_statuses: dict[str, collections.Counter[int]] = field(
        default_factory=lambda: collections.defaultdict(collections.Counter)
    )
    failing: set[str] = field(default_factory=set)  # operations with a failed check (reported by their test)

    def request(self, method: str, path: str, body: Any = None) -> requests.Response:
        """A seeding request; a 503 (the embedded DynamoDB slower than the app's 1-second timeout on a
        loaded machine) is retried after its Retry-After, as the API tells clients to."""
        for _ in range(5):
            response = requests.request(
                method,
                self.base_url + path,
                json=body,
                headers={"Authorization": f"Bearer {self.admin_secret}"},
                timeout=10,
            )
            if response.status_code != 503:
                break
            time.sleep(int(response.headers.get("Retry-After", "1")))
        assert response.status_code < 300, (method, path, response.status_code, response.text)
        return response

    def seed_webhooks(self, label: str, number: int) -> list[str]:
        """Webhook endpoints (public https URLs, as tests/conftest.py's fake DNS resolves them)."""
        description = f"seeded by test_fuzz for {label}"
        ids = []
        for _ in range(number):  # one URL each: an organization never has two endpoints for one URL (409)
            body = {"url": f"{FUZZ_HOOKS}/{uuid.uuid4().hex}", "description": description}
            ids.append(self.request("POST", "/v1/webhooks", body).json()["webhook"]["id"])
        return ids

    def seed_pool(self, label: str, number: int) -> list[str]:
        """Tokens in every state a token_id route cares about: active ones, a disabled and a revoked one."""
        ids = []
        for index in range(number):
            created = self.request(
                "POST",
                "/v1/tokens",
                {
                    "name": f"fuzz {label} {index}",
                    "organization_id": "acme" if index % 2 else "platform",
                    "scopes": ["tokens:read", "tokens:write"] if index % 3 else ["tokens:verify"],
                    "description": "seeded by test_fuzz",
                },
            )
            ids.append(created.json()["token"]["id"])
        self.request("POST", f"/v1/tokens/{ids[-1]}/disable")
        self.request("POST", f"/v1/tokens/{ids[-2]}/revoke", {"reason": "seeded revoked"})
        return ids


@pytest.fixture(scope="module")
def target() -> Iterator[Target]:
    with local_server("fuzz-admin", throttling=False) as (running, secret):  # many examples per route
        yield Target(running.base_url, secret)


def fuzz_config(target: Target) -> schemathesis.Config:
    generation: dict[str, Any] = {
        "max-examples": EXAMPLES,
        "mode": "all",  # positive and negative data
        "deterministic": SEED is None,
        "database": "none",
    }
    return schemathesis.Config.from_dict(
        {
            **({"seed": SEED} if SEED is not None else {}),
            "headers": {"Authorization": f"Bearer {target.admin_secret}"},
            "checks": {
                "enabled": True,
                **{name: {"enabled": False} for name in REPLACED_CHECKS | DISABLED_CHECKS},
                # schemathesis' default list plus 413: how this API rejects a body over its limit (16 KiB,
                # documented), a rejection like the other 4xx, only missing from the default list.
                "negative_data_rejection": {"expected-statuses": NEGATIVE_DATA_REJECTED_WITH},
            },
            "generation": generation,
            "phases": {"stateful": {"max-steps": 8}},
        }
    )


@pytest.fixture(scope="module")
def fuzz_schema(target: Target) -> schemathesis.BaseSchema:
    schema = schemathesis.openapi.from_url(target.base_url + "/openapi.json", config=fuzz_config(target))
    assert schema.raw_schema["servers"] == [{"url": target.base_url, "description": "this local server (make run)"}]
    as_bearer_callers_without_preconditions(schema.raw_schema)
    for result in schema.get_all_operations():
        operation = result.ok()
        if "{token_id}" in operation.path:
            target.pools[operation.label] = target.seed_pool(operation.label, 5)
        elif "{webhook_id}" in operation.path:
            target.pools[operation.label] = target.seed_webhooks(operation.label, 3)

    @schema.hook
    def flatmap_case(context: schemathesis.HookContext, case: schemathesis.Case) -> Any:
        return realistic(case, target.pools.get(case.operation.label) or [])

    @schema.hook
    def after_call(context: schemathesis.HookContext, case: schemathesis.Case, response: Any) -> None:
        label = case.operation.label
        target.statuses[label][response.status_code] += 1
        if {case.path_parameters.get("token_id"), case.path_parameters.get("webhook_id")} & set(
            target.pools.get(label, ())
        ):
            target.real_token_statuses[label][response.status_code] += 1

    @schema.hook
    def after_validate(context: schemathesis.HookContext, case: schemathesis.Case, response: Any, results: Any) -> None:
        if any(result.status == Status.FAILURE for result in results):
            target.failing.add(case.operation.label)

    return schema


def as_bearer_callers_without_preconditions(document: dict[str, Any]) -> None:
    """The fuzzer calls as the admin's bearer token, unconditionally. The document also declares the
    console's cookie + CSRF token: generated values for them beside the bearer token are refused (403, as
    a spliced cookie must be: tests/integration/test_sessions.py), and schemathesis' ignored_auth check
    would send a junk cookie beside the valid bearer token and take the 200 for ignored auth (the
    sessions are tested in test_sessions.py and test_console.py). And `If-Match`: schemathesis generates
    values outside its pattern as positive data (`0`), whose 400 is the documented answer (its grammar
    is tested in tests/unit/test_client_mistakes.py, its 200 and 412 in test_generated_client.py)."""
    document["components"]["securitySchemes"] = {"bearerAuth": document["components"]["securitySchemes"]["bearerAuth"]}
    for path in document["paths"].values():
        for operation in path.values():
            if operation.get("security"):
                operation["security"] = [{"bearerAuth": []}]
            parameters = [p for p in operation.get("parameters", []) if p["name"] != "If-Match"]
            operation["parameters"] = parameters


# Scopes this deployment knows (the service's own; the template's ScopeCatalog is empty).
KNOWN_SCOPES = ["tokens:read", "tokens:write", "tokens:verify", "webhooks:read", "webhooks:write", "console"]


@st.composite
def realistic(draw: st.DrawFn, case: schemathesis.Case, pool: list[str]) -> schemathesis.Case:
    """Half of the time, a real token's id (from this operation's pool) instead of a generated one, and
    half of the time, values that pass the rules a schema cannot state (`BUSINESS_RULES`): scopes the
    deployment knows and an `expires_at` in the coming year. Without these, almost every generated id is a
    404 and almost every generated body a 422, and the code behind them is never reached. Only positive
    data is touched, so that a negative case stays negative, and never a stateful step, whose ids come
    from the responses it follows."""
    if case.meta is not None and case.meta.phase.name == TestPhase.STATEFUL:
        return case
    for name in ("token_id", "webhook_id"):
        if pool and name in case.path_parameters and _is_positive(case, ParameterLocation.PATH):
            if draw(st.booleans()):
                case.path_parameters = {**case.path_parameters, name: draw(st.sampled_from(pool))}
    if isinstance(case.body, dict) and _is_positive(case, ParameterLocation.BODY) and draw(st.booleans()):
        body = dict(case.body)
        if isinstance(body.get("scopes"), list):
            body["scopes"] = draw(st.lists(st.sampled_from(KNOWN_SCOPES), unique=True, max_size=3))
        if isinstance(body.get("url"), str):
            body["url"] = "https://hooks.example.com/" + draw(st.sampled_from(["a", "b?x=1", "c/d"]))
        if isinstance(body.get("expires_at"), str):
            expires = datetime.now(UTC) + timedelta(days=draw(st.integers(min_value=1, max_value=300)))
            body["expires_at"] = expires.strftime("%Y-%m-%dT%H:%M:%SZ")
        case.body = body
    return case


def _is_positive(case: schemathesis.Case, location: ParameterLocation) -> bool:
    meta = case.meta
    if meta is None:
        return True
    component = meta.components.get(location)
    return (component.mode if component else meta.generation.mode) == schemathesis.GenerationMode.POSITIVE


schema = schemathesis.pytest.from_fixture("fuzz_schema")

SETTINGS = hypothesis.settings(
    deadline=None,
    database=None,  # derandomized by default; FUZZ_SEED reproduces a random run
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)


def test_every_built_in_check_is_on_narrowed_or_disabled_with_a_reason(fuzz_schema: schemathesis.BaseSchema) -> None:
    config = fuzz_schema.config.checks_config_for()
    enabled = {name for name in CHECKS.get_all_names() if config.get_by_name(name=name).enabled}
    assert {"undeclared_method", "schema_valid_data_accepted"} <= enabled
    built_in = {check.__name__ for check in CHECKS.get_all() if check.__module__.startswith("schemathesis.")}
    assert built_in - enabled == REPLACED_CHECKS | DISABLED_CHECKS


@schema.parametrize()
@SETTINGS
def test_operation(case: schemathesis.Case) -> None:
    case.call_and_validate()


def test_stateful(fuzz_schema: schemathesis.BaseSchema) -> None:
    machine = fuzz_schema.as_state_machine()
    settings = hypothesis.settings(
        SETTINGS,
        max_examples=STATEFUL_SCENARIOS,
        stateful_step_count=8,
        derandomize=SEED is None,
        database=None,
    )
    run_state_machine_as_test(machine, settings=settings)


def test_fuzzing_reached_real_tokens(target: Target) -> None:
    """The fuzzing above did more than 404s: every operation that takes a {token_id} answered a real token
    with something else than 404 (its code ran, whatever it answered), and every operation answered 2xx
    at least once (printed; asserted only for the long run, where it no longer depends on luck)."""
    if not target.statuses:
        pytest.skip("runs after test_operation and test_stateful, in the same session")
    summary = {label: dict(sorted(counter.items())) for label, counter in sorted(target.statuses.items())}
    print("statuses per operation:", json.dumps(summary, indent=1))
    # An operation whose fuzzing failed stopped at its first failure: its own test reports it.
    unreached = [
        label
        for label in target.pools
        if label not in target.failing
        and not any(status != 404 for status in target.real_token_statuses.get(label, {}))
    ]
    assert not unreached, {label: dict(target.real_token_statuses.get(label, {})) for label in unreached}
    if EXAMPLES >= 100:
        without_success = [
            label
            for label, counter in summary.items()
            if label not in target.failing and not any(200 <= status < 300 for status in counter)
        ]
        assert not without_success, summary
