"""Helpers of the attack suites (OWASP matrix, races, faults, logs).

- the route catalogue: every HttpApi route of template.yaml joined with its operation in the OpenAPI
  document built from the code, so that a new route is attacked without anyone listing it here;
- sample request bodies, schema-driven when a route is unknown to this file;
- :class:`SecretScanner`: finds secrets, pieces of secrets and digests in any text;
- :class:`IsolatedApi`: the real authorizer and handlers in-process, with module copies of its own,
  so that threads never share a Powertools resolver (Lambda never runs two requests in one instance);
- :class:`DynamoFaults`: throttling and 5xx injected inside botocore's send loop, so that the real
  retry policy runs, and :func:`backoff_clock` to pin and measure its back-off.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import re
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from io import BytesIO
from typing import Any

from devtools.local_api.gateway import Gateway
from devtools.local_api.runtime import LambdaFunction, LambdaRuntime
from devtools.template import HttpRoute
from tests.support import ROOT, SOURCE_IP, USER_AGENT, InProcessApi, template

DEFAULT_MAX_BODY_BYTES = 16 * 1024

# --- the route catalogue ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Operation:
    """One route of the template with what the OpenAPI document says about it."""

    route: HttpRoute
    spec: dict[str, Any]
    components: dict[str, Any] = field(repr=False, compare=False)

    @property
    def key(self) -> str:
        return f"{self.route.method} {self.route.path}"

    def __str__(self) -> str:
        return self.key

    @property
    def method(self) -> str:
        return self.route.method

    @property
    def authorized(self) -> bool:
        return self.route.authorized

    @property
    def path_parameters(self) -> list[str]:
        return re.findall(r"\{(\w+)\}", self.route.path)

    @property
    def takes_id(self) -> bool:
        return bool(self.path_parameters)

    @property
    def scope(self) -> str | None:
        """The scope the route needs (from the "Needs the `x` scope." line of its description)."""
        found = re.search(r"Needs the `([^`]+)` scope", self.spec.get("description", ""))
        return found.group(1) if found else None

    @property
    def admin_only(self) -> bool:
        return self.scope == "admin" or "admin" in self.spec.get("tags", [])

    @property
    def body_schema(self) -> dict[str, Any] | None:
        content = (self.spec.get("requestBody") or {}).get("content") or {}
        schema = (content.get("application/json") or {}).get("schema")
        return self.resolve(schema) if schema else None

    @property
    def body_required(self) -> bool:
        return bool((self.spec.get("requestBody") or {}).get("required"))

    @property
    def max_body_bytes(self) -> int:
        return int(self.spec.get("x-max-body-bytes") or DEFAULT_MAX_BODY_BYTES)

    @property
    def query_parameters(self) -> dict[str, dict[str, Any]]:
        return {
            p["name"]: plain_schema(self.resolve(p["schema"]))
            for p in self.spec.get("parameters", [])
            if p.get("in") == "query"
        }

    @property
    def success_status(self) -> int:
        return min(int(status) for status in self.spec["responses"] if status.startswith("2"))

    def url(self, token_id: str = "") -> str:
        return re.sub(r"\{\w+\}", token_id, self.route.path)

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            schema = self.components["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
        return schema

    def body_fields(self) -> set[str]:
        """The body's fields, with their aliases (``comment``, ``owner_email``)."""
        from tokensmith.http.binding import ALIASES

        names = set((self.body_schema or {}).get("properties", {}))
        return names | {alias for name, alias in ALIASES if name in names}


def plain_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """``anyOf: [X, null]`` → X (how pydantic spells an optional field)."""
    options = [s for s in schema.get("anyOf", []) if s.get("type") != "null"]
    if len(options) == 1:
        return {**{k: v for k, v in schema.items() if k != "anyOf"}, **options[0]}
    return schema


@lru_cache(maxsize=1)
def operations() -> tuple[Operation, ...]:
    """Every HttpApi route of template.yaml, in template order, with its OpenAPI operation."""
    from devtools.openapi import build_document, documented_routes

    document = build_document()
    found = []
    for route in documented_routes():
        spec = document["paths"][route.path][route.method.lower()]
        found.append(Operation(route, spec, document.get("components", {})))
    return tuple(found)


def minimal_instance(schema: dict[str, Any], resolve: Callable[[dict[str, Any]], dict[str, Any]]) -> Any:
    """The smallest value that the schema accepts (required properties only)."""
    schema = plain_schema(resolve(schema))
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object":
        return {name: minimal_instance(schema["properties"][name], resolve) for name in schema.get("required", [])}
    if kind == "array":
        return [minimal_instance(schema.get("items", {}), resolve) for _ in range(schema.get("minItems", 0))]
    if kind == "integer":
        return int(schema.get("minimum", 0))
    if kind == "number":
        return schema.get("minimum", 0)
    if kind == "boolean":
        return False
    if schema.get("format") == "date-time":
        return iso(datetime.now(UTC) + timedelta(days=30))
    return "x" * max(1, int(schema.get("minLength", 1)))


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def unique_name(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def sample_body(operation: Operation, *, secret: str | None = None) -> Any:
    """A body this route accepts and acts on (``secret``: a real secret, for routes that take one).

    Known routes get a body that does something; a route this file does not know gets the smallest
    body its schema accepts, so it is attacked too."""
    known: dict[str, Callable[[], Any]] = {
        "POST /v1/tokens": lambda: {"name": unique_name("created"), "scopes": ["tokens:read"]},
        "POST /v1/tokens/verify": lambda: {"token": secret or unknown_secret(), "scopes": ["tokens:read"]},
        "PATCH /v1/tokens/{token_id}": lambda: {"description": "changed by a test"},
        "PUT /v1/tokens/{token_id}": lambda: {"name": unique_name("replaced"), "scopes": ["tokens:read"]},
        "POST /v1/tokens/{token_id}/revoke": lambda: {"reason": "revoked by a test"},
        "POST /v1/tokens/{token_id}/rotate": lambda: {"grace_period_seconds": 0},
        "PATCH /v1/admin/tokens/{token_id}": lambda: {"status": "disabled"},
        "POST /v1/tokens/revoke-leaked": lambda: {"tokens": [secret or unknown_secret()]},
        "POST /v1/sessions": lambda: {"token": secret or unknown_secret()},
        "POST /v1/webhooks": lambda: {"url": "https://hooks.example.com/attack", "event_types": ["token.created"]},
        "PATCH /v1/webhooks/{webhook_id}": lambda: {"description": "changed by a test"},
    }
    if operation.key in known:
        return known[operation.key]()
    if operation.body_schema is None:
        return None
    return minimal_instance(operation.body_schema, operation.resolve)


def unknown_secret(prefix: str = "tks") -> str:
    """A well-formed secret (right prefix, length and checksum) of a token that does not exist."""
    from tokensmith.tokens import format as token_format

    return token_format.generate(prefix, str(uuid.uuid4()))


# --- secrets, pieces of secrets and digests ----------------------------------------------------------


class SecretScanner:
    """Knows every secret a suite has seen and finds any of them, any piece of one, or a digest of one,
    in a text. Also flags anything shaped like a secret or a SHA-256 digest, known or not."""

    WINDOW = 16  # a run of this many characters of a secret's random part counts as a leak

    def __init__(self, prefix: str = "tks") -> None:
        self.prefix = prefix
        self.secrets: set[str] = set()
        self._needles: dict[str, str] = {}
        self._shape = re.compile(rf"{re.escape(prefix)}_[0-9A-Za-z]{{60,}}")
        self._hex64 = re.compile(r"(?<![0-9a-fA-F])[0-9a-fA-F]{64}(?![0-9a-fA-F])")

    def add(self, secret: str) -> str:
        from tokensmith.tokens.format import START_CHARS

        if secret in self.secrets:
            return secret
        self.secrets.add(secret)
        digest = hashlib.sha256(secret.encode()).digest()
        label = f"secret {secret[: len(self.prefix) + 1 + START_CHARS]}…"
        needles = {
            secret: label,
            digest.hex(): f"sha256 hex of {label}",
            digest.hex().upper(): f"SHA256 HEX of {label}",
            digest.hex()[:24]: f"truncated sha256 of {label}",
            base64.b64encode(digest).decode(): f"base64 sha256 of {label}",
            base64.urlsafe_b64encode(digest).decode().rstrip("="): f"base64url sha256 of {label}",
        }
        # The characters after `start` (which is public) are the random part and the checksum.
        tail = secret[len(self.prefix) + 1 + START_CHARS :]
        for offset in range(0, len(tail) - self.WINDOW + 1, self.WINDOW // 2):
            needles[tail[offset : offset + self.WINDOW]] = f"characters {offset}+ of {label}"
        self._needles.update(needles)
        return secret

    def leaks(self, text: str, allowed: tuple[str, ...] = ()) -> list[str]:
        """What in ``text`` gives a secret away (``allowed``: secrets this text may carry whole)."""
        found = []
        for secret in allowed:
            text = text.replace(secret, "<allowed secret>")
        for needle, label in self._needles.items():
            if needle in text:
                found.append(label)
        for match in self._shape.findall(text):
            found.append(f"a secret-shaped string {match[:12]}…")
        for match in self._hex64.findall(text):
            found.append(f"a 64-hex-digit string {match[:12]}…")
        return found

    def report(self, text: str, limit: int = 5) -> str:
        """The lines of ``text`` that leak, each secret in them replaced by what it is (for messages)."""
        lines = [line for line in text.splitlines() if self.leaks(line)]
        shown = []
        for line in lines[:limit]:
            for needle, label in sorted(self._needles.items(), key=lambda item: -len(item[0])):
                line = line.replace(needle, f"<{label}>")
            shown.append(line[:400])
        return f"{len(lines)} leaking lines, e.g.:\n" + "\n".join(shown)


# --- isolated function instances ----------------------------------------------------------------------


class _GatewayOfOneInstance(Gateway):
    """The gateway of template.yaml over a runtime of its own (its own module copies, its own lock),
    throttling off (races send 50 requests at once); ``around_handler`` surrounds the route's function
    only, not the authorizer."""

    def __init__(self, around_handler: Callable[[], Any] | None) -> None:
        super().__init__(template(), ROOT, schedule_log=False, runtime=LambdaRuntime(ROOT), throttling=False)
        self.around_handler = around_handler

    def invoke_route(self, function: LambdaFunction, event: dict[str, Any]) -> Any:
        if self.around_handler is None:
            return super().invoke_route(function, event)
        with self.around_handler():
            return super().invoke_route(function, event)


class IsolatedApi(InProcessApi):
    """``tests.support.InProcessApi`` over a gateway of its own, with its own copies of the function
    modules (a cold start each). A function's router keeps the request being answered
    (``tokensmith.http.router``); one Lambda instance serves one request at a time, so give each
    thread an IsolatedApi of its own.

    ``around_handler``: a context manager factory entered around the function only (not the
    authorizer), e.g. to inject DynamoDB faults past the authorizer."""

    def __init__(self, around_handler: Callable[[], Any] | None = None) -> None:
        super().__init__(_GatewayOfOneInstance(around_handler))

    def warm(self, *route_keys: str) -> IsolatedApi:
        """Import the authorizer and the functions of these routes (default: all) now: a race starts
        with warm instances."""
        self.client.warm(*route_keys)
        return self

    def authorize(self, secret: str, source_ip: str = SOURCE_IP) -> dict[str, Any]:
        """The authorizer's answer to ``Authorization: Bearer <secret>`` on GET /v1/tokens/self."""
        headers = {"Authorization": f"Bearer {secret}", "User-Agent": USER_AGENT}
        return self.client.authorizer_answer("GET", "/v1/tokens/self", headers, source_ip=source_ip)


# --- DynamoDB faults -----------------------------------------------------------------------------------

# What DynamoDB answers (status, __type) for each fault.
FAULTS: dict[str, tuple[int, str, str]] = {
    "ProvisionedThroughputExceededException": (
        400,
        "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
        "The level of configured provisioned throughput for the table was exceeded.",
    ),
    "ThrottlingException": (
        400,
        "com.amazon.coral.availability#ThrottlingException",
        "Rate of requests exceeds the allowed throughput.",
    ),
    "InternalServerError": (500, "com.amazonaws.dynamodb.v20120810#InternalServerError", "Internal server error"),
}
# How DynamoDB reports a throttled transaction: the whole TransactWriteItems is cancelled, with a
# ThrottlingError among its cancellation reasons (documented for TransactWriteItems; botocore does
# not retry it).
TRANSACTION_THROTTLED = "TransactionCanceledException:ThrottlingError"


class _RawBody(BytesIO):
    def stream(self, **_: Any) -> Iterator[bytes]:
        chunk = self.read()
        while chunk:
            yield chunk
            chunk = self.read()


class DynamoFaults:
    """Fails a share of the DynamoDB HTTP attempts of one botocore client.

    Registered on ``before-send.dynamodb.*``: it runs once per attempt, after botocore serialized and
    signed the request and inside its retry loop, so botocore's own retry policy (attempts, back-off,
    retry quota) handles each fault exactly as it would a real one.

    Under moto, moto's own stubber listens on ``before-send`` as well, and botocore calls *every*
    handler of an event (the most specific first) and keeps the first answer: moto would still
    execute a request whose answer we replaced, i.e. write what DynamoDB had refused. So the
    injector takes moto's place on this client and hands moto only the attempts it lets through: a
    throttled or failed attempt never reaches the table, as with the real service's throttling.
    (A 5xx after which DynamoDB did apply the write cannot be modelled with moto: it ignores the
    ClientRequestToken that makes a retried TransactWriteItems idempotent.)"""

    def __init__(self, client: Any, seed: int = 0) -> None:
        from moto.core.models import botocore_stubber

        self.client = client
        self._moto = botocore_stubber
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self.rate = 0.0
        self.codes: tuple[str, ...] = ("ProvisionedThroughputExceededException",)
        self.operations: frozenset[str] | None = None  # None = every operation
        self.attempts: Counter[str] = Counter()  # per operation, every HTTP attempt
        self.injected: Counter[tuple[str, str]] = Counter()  # per (operation, code)
        client.meta.events.unregister("before-send", botocore_stubber)
        client.meta.events.register("before-send.dynamodb.*", self._before_send, unique_id="tests-attack-faults")

    def set(self, rate: float, codes: tuple[str, ...] | None = None, operations: set[str] | None = None) -> None:
        self.rate = rate
        if codes is not None:
            self.codes = codes
        self.operations = frozenset(operations) if operations else None

    @contextmanager
    def active(
        self, rate: float, codes: tuple[str, ...] | None = None, operations: set[str] | None = None
    ) -> Iterator[DynamoFaults]:
        saved = (self.rate, self.codes, self.operations)
        self.set(rate, codes, operations)
        try:
            yield self
        finally:
            self.rate, self.codes, self.operations = saved

    def reset_counts(self) -> None:
        self.attempts.clear()
        self.injected.clear()

    @property
    def injected_total(self) -> int:
        return sum(self.injected.values())

    def detach(self) -> None:
        self.client.meta.events.unregister("before-send.dynamodb.*", unique_id="tests-attack-faults")
        self.client.meta.events.register("before-send", self._moto)

    def _before_send(self, request: Any, event_name: str, **kwargs: Any) -> Any:
        from botocore.awsrequest import AWSResponse

        operation = event_name.rsplit(".", 1)[-1]
        with self._lock:
            self.attempts[operation] += 1
            targeted = self.operations is None or operation in self.operations
            fail = targeted and self.rate > 0 and self._random.random() < self.rate
            code = self._random.choice(self.codes) if fail else None
            if code:
                self.injected[(operation, code)] += 1
        if code is None:
            return self._moto(event_name=event_name, request=request, **kwargs)
        if code == TRANSACTION_THROTTLED:
            items = len(json.loads(request.body or b"{}").get("TransactItems", [])) or 1
            reasons = [{"Code": "ThrottlingError", "Message": "Throughput exceeds the current capacity of your table"}]
            reasons += [{"Code": "None"}] * (items - 1)
            document = {
                "__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
                "CancellationReasons": reasons,
                "Message": "Transaction cancelled, please refer cancellation reasons for specific reasons "
                f"[{', '.join(r['Code'] for r in reasons)}]",
            }
            status, body = 400, json.dumps(document).encode()
        else:
            status, kind, message = FAULTS[code]
            body = json.dumps({"__type": kind, "message": message}).encode()
        headers = {"Content-Type": "application/x-amz-json-1.0", "x-amzn-RequestId": uuid.uuid4().hex}
        return AWSResponse(request.url, status, headers, _RawBody(body))


@dataclass
class BackoffLedger:
    """The back-off botocore asked for, per thread."""

    sleeps: dict[int, list[float]] = field(default_factory=dict)

    def record(self, seconds: float) -> None:
        self.sleeps.setdefault(threading.get_ident(), []).append(seconds)

    def of_this_thread(self) -> list[float]:
        return list(self.sleeps.get(threading.get_ident(), []))

    def clear_this_thread(self) -> None:
        self.sleeps.pop(threading.get_ident(), None)


@contextmanager
def backoff_clock(client: Any, jitter: float | None = 0.9, real_sleep: bool = True) -> Iterator[BackoffLedger]:
    """Record every back-off sleep of botocore (and sleep it for real unless ``real_sleep`` is
    False); pin the jitter of ``client``'s retry back-off to ``jitter`` (None: leave it random).

    botocore's standard back-off is ``random() * 2 ** (attempt - 1)``; pinning ``random()`` makes a
    timing test deterministic: 0.9 is near the worst case without being it."""
    import botocore.endpoint

    ledger = BackoffLedger()
    real_time = botocore.endpoint.time

    class _Clock:
        def __getattr__(self, name: str) -> Any:
            return getattr(real_time, name)

        def sleep(self, seconds: float) -> None:
            ledger.record(seconds)
            if real_sleep:
                real_time.sleep(seconds)

    backoff, saved = None, None
    if jitter is not None:
        backoff = _retry_backoff(client)
        saved = backoff._random
        backoff._random = lambda: jitter
    botocore.endpoint.time = _Clock()
    try:
        yield ledger
    finally:
        botocore.endpoint.time = real_time
        if backoff is not None:
            backoff._random = saved


def _retry_backoff(client: Any) -> Any:
    """The ExponentialBackoff of ``client``'s standard retry handler (botocore internals)."""
    from botocore.retries.standard import RetryHandler

    handlers = client.meta.events._emitter._handlers.prefix_search("needs-retry.dynamodb.GetItem")
    for handler in handlers:
        owner = getattr(handler, "__self__", None)
        if isinstance(owner, RetryHandler):
            return owner._retry_policy._retry_backoff
    raise RuntimeError("botocore's standard RetryHandler is not where this helper expects it; update it")


def max_backoff_seconds(retries: int) -> float:
    """The longest back-off botocore's standard mode may sleep over ``retries`` retries."""
    return float(sum(min(2**attempt, 20) for attempt in range(retries)))


# --- odds and ends --------------------------------------------------------------------------------------


def run_threads(targets: list[Callable[[], Any]]) -> list[Any]:
    """Run each target in a thread of its own, all released at once; their results (or exceptions), in order."""
    barrier = threading.Barrier(len(targets))
    results: list[Any] = [None] * len(targets)

    def run(index: int, target: Callable[[], Any]) -> None:
        barrier.wait()
        try:
            results[index] = target()
        except BaseException as error:  # reported to the caller
            results[index] = error

    threads = [threading.Thread(target=run, args=(i, t)) for i, t in enumerate(targets)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def now_ns() -> int:
    """A clock every thread shares (monotonic): for before/after orderings across threads."""
    return time.monotonic_ns()
