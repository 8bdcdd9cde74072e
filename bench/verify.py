"""Warm verification on DynamoDB Local, against a bare boto3 ``GetItem`` of the same item, and the
DynamoDB writes that 1,000 verifications of one token cause.

``python -m bench.verify [--rounds 20] [--calls 100] [--verifications 1000]`` (``make bench BENCH=verify``).
Method and figures: docs/performance.md.

1. Warm latency. One DynamoDB Local, the template's table, one token. Three subjects, each called
   in-process with its handler already imported and warmed up:

   - ``baseline``: ``boto3.client("dynamodb").get_item(Key=..., ConsistentRead=True)`` of the token's item;
   - ``authorizer``: ``functions/authorizer`` with the REQUEST event API Gateway sends (events/authorizer.json,
     the token's secret in ``Authorization``);
   - ``verify``: ``functions/verify_token`` with the HTTP API payload 2.0 event of
     ``POST /v1/tokens/verify`` (events/verify_token.json, the secret in the body, a caller holding
     ``tokens:verify`` in the authorizer context).

   - ``authorizer_cached`` and ``verify_cached``: the same two handlers, loaded a second time, each with
     a verification cache of ``VerifyCacheSeconds=5`` (``tokens/verification_cache.py``): the token is
     read once per 5 seconds, every other call answers from the instance's copy.

   ``--rounds`` x ``--calls`` cycles; each cycle calls every subject once, in an order shuffled anew
   each cycle (``bench.support.interleaved_samples``), so that load from the other users of the
   machine falls on all alike and no subject always follows the same one. Each call is timed alone
   (``perf_counter_ns``); printed: median and p99 per call, and each ratio to the baseline's.
2. Writes per verification. A fresh token (never used), verified ``--verifications`` times in a row
   by the authorizer, then another by ``POST /v1/tokens/verify``. Every DynamoDB call of the
   functions' own client is counted by a botocore event hook, and every one is asked for its consumed
   capacity (``ReturnConsumedCapacity=TOTAL``, added by a hook; nothing in the code changes), so the
   write count and the write units come from DynamoDB Local itself. Target: 1 write per token per
   minute (the run must last under a minute).
3. Managed-token operations, for the cost model only (no target): the warm duration and the DynamoDB
   units of ``GET /v1/tokens/{id}`` and ``PATCH /v1/tokens/{id}``.
4. Usage policies (``bench/verify_policies.py``): a rate limit, credits, an allowlist, each against
   a bare boto3 twin doing the same DynamoDB work, and the write units per verification.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import RESULTS, ROOT  # first: it puts layers/common on sys.path
from bench.support import (
    claims_of,
    environment,
    interleaved_samples,
    local_table,
    log,
    mint_token,
    summary_ms,
    write_results,
)
from bench.verify_policies import measure_policies, print_policies
from devtools.local_api.runtime import LambdaContext
from tokensmith.aws.dynamodb import to_item
from tokensmith.table import token_key

NAME = "verify"
TARGET_RATIO = 1.10  # warm verify median / bare GetItem median
TARGET_CACHED_RATIO = 0.5  # the same with VerifyCacheSeconds=5: well below one read
CACHE_SECONDS = 5
VERIFIERS = ("authorizer", "verify", "authorizer_cached", "verify_cached")
TARGET_WRITES_PER_MINUTE = 1
WRITE_OPERATIONS = {"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"}


def context() -> LambdaContext:
    """The Lambda context the gateway gives a handler (devtools.local_api.runtime)."""
    return LambdaContext("bench", memory_limit_in_mb=256, timeout_seconds=10)


def load_module(code_uri: str) -> Any:
    """``<code_uri>/app.py``, imported under a module name of its own (a new copy at each call)."""
    path = ROOT / code_uri / "app.py"
    spec = importlib.util.spec_from_file_location(f"bench_{Path(code_uri).name}", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_handler(code_uri: str) -> Callable[[dict[str, Any], Any], Any]:
    return load_module(code_uri).handler


def cached_handlers(seconds: int) -> tuple[Callable[..., Any], Callable[..., Any]]:
    """The authorizer's and the verify route's handlers, in copies of their modules whose instance
    verification cache keeps a valid secret's token ``seconds`` (as with ``VerifyCacheSeconds``)."""
    from tokensmith.settings import get_settings
    from tokensmith.tokens.repository import default_repository
    from tokensmith.tokens.service import TokenService
    from tokensmith.tokens.verification_cache import VerificationCache

    authorizer = load_module("functions/authorizer")
    authorizer_cache = VerificationCache(seconds)
    authorizer.instance_verification_cache = lambda: authorizer_cache
    verify = load_module("functions/verify_token")
    service = TokenService(default_repository(), get_settings(), verification_cache=VerificationCache(seconds))
    verify.token_service = lambda: service
    return authorizer.handler, verify.handler


def sample_event(name: str) -> dict[str, Any]:
    with open(ROOT / "events" / f"{name}.json", encoding="utf-8") as stream:
        return json.load(stream)


def authorizer_event(secret: str) -> dict[str, Any]:
    event = sample_event("authorizer")
    event["headers"]["authorization"] = f"Bearer {secret}"
    event["identitySource"] = [f"Bearer {secret}"]
    return event


def verify_event(secret: str, caller: dict[str, Any], scopes: list[str]) -> dict[str, Any]:
    event = sample_event("verify_token")
    event["body"] = json.dumps({"token": secret, "scopes": scopes})
    event["requestContext"]["authorizer"] = {"lambda": claims_of(caller)}
    return event


@contextlib.contextmanager
def quiet_stdout():
    """The functions' log lines and EMF documents go to /dev/null while timing (still written)."""
    saved = sys.stdout
    with open(os.devnull, "w", encoding="utf-8") as sink:
        sys.stdout = sink
        try:
            yield
        finally:
            sys.stdout = saved


# --- 1. warm latency ------------------------------------------------------------------------------------


def measure_latency(table: Any, rounds: int, calls: int) -> dict[str, Any]:
    import boto3

    caller, _ = mint_token(["tokens:verify"])
    item, secret = mint_token(["tokens:read"])
    baseline_client = boto3.client("dynamodb", endpoint_url=table.endpoint_url)
    key = to_item(token_key(item["id"]))
    authorizer = load_handler("functions/authorizer")
    verify = load_handler("functions/verify_token")
    authorizer_cached, verify_cached = cached_handlers(CACHE_SECONDS)
    auth_event = authorizer_event(secret)
    verify_body_event = verify_event(secret, caller, ["tokens:read"])

    def call_baseline() -> bool:
        return "Item" in baseline_client.get_item(TableName=table.table_name, Key=key, ConsistentRead=True)

    def call_authorizer() -> bool:
        return authorizer(auth_event, context())["isAuthorized"] is True

    def call_verify() -> bool:
        answer = verify(verify_body_event, context())
        return answer["statusCode"] == 200 and json.loads(answer["body"])["valid"] is True

    def call_authorizer_cached() -> bool:
        return authorizer_cached(auth_event, context())["isAuthorized"] is True

    def call_verify_cached() -> bool:
        answer = verify_cached(verify_body_event, context())
        return answer["statusCode"] == 200 and json.loads(answer["body"])["valid"] is True

    subjects: dict[str, Callable[[], bool]] = {
        "baseline": call_baseline,
        "authorizer": call_authorizer,
        "verify": call_verify,
        "authorizer_cached": call_authorizer_cached,
        "verify_cached": call_verify_cached,
    }
    started = time.perf_counter()
    with quiet_stdout():  # warm-up first: imports, clients, connections, the first last-use stamp
        samples, failures = interleaved_samples(subjects, rounds * calls)
    elapsed = time.perf_counter() - started
    result: dict[str, Any] = {name: summary_ms(times) for name, times in samples.items()}
    base = result["baseline"]
    for name in VERIFIERS:
        target = TARGET_CACHED_RATIO if name.endswith("_cached") else TARGET_RATIO
        result[name]["ratio_median"] = round(result[name]["median_ms"] / base["median_ms"], 3)
        result[name]["ratio_p99"] = round(result[name]["p99_ms"] / base["p99_ms"], 3)
        result[name]["target"] = target
        result[name]["within_target"] = result[name]["ratio_median"] <= target
    result["seconds"] = round(elapsed, 1)
    result["failures"] = failures
    return result


# --- 2. writes per verification ----------------------------------------------------------------------------


class CallCounter:
    """botocore hooks on one client: count every operation, and ask each for its consumed capacity."""

    def __init__(self, client: Any) -> None:
        self.calls: dict[str, int] = {}
        self.write_units = 0.0
        self.read_units = 0.0
        client.meta.events.register("provide-client-params.dynamodb", self._ask_capacity)
        client.meta.events.register("after-call.dynamodb", self._count)

    def _ask_capacity(self, params: dict[str, Any], **_: Any) -> None:
        params.setdefault("ReturnConsumedCapacity", "TOTAL")

    def _count(self, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        self.calls[model.name] = self.calls.get(model.name, 0) + 1
        consumed = parsed.get("ConsumedCapacity") or {}
        for entry in consumed if isinstance(consumed, list) else [consumed]:
            units = entry.get("CapacityUnits", 0) or 0
            if model.name in WRITE_OPERATIONS:
                self.write_units += units
            else:
                self.read_units += units

    def writes(self) -> int:
        return sum(n for name, n in self.calls.items() if name in WRITE_OPERATIONS)

    def reset(self) -> None:
        self.calls, self.write_units, self.read_units = {}, 0.0, 0.0


def measure_writes(verifications: int) -> dict[str, Any]:
    from tokensmith.tokens.repository import default_repository

    caller, _ = mint_token(["tokens:verify"])
    counter = CallCounter(default_repository().client)  # the functions' own, process-wide client
    authorizer = load_handler("functions/authorizer")
    verify = load_handler("functions/verify_token")
    result: dict[str, Any] = {}
    for name in ("authorizer", "verify"):
        item, secret = mint_token(["tokens:read"])  # never used yet: its first verification stamps it
        if name == "authorizer":
            event = authorizer_event(secret)

            def call(event: dict[str, Any] = event) -> bool:
                return authorizer(event, context())["isAuthorized"] is True
        else:
            event = verify_event(secret, caller, ["tokens:read"])

            def call(event: dict[str, Any] = event) -> bool:
                return json.loads(verify(event, context())["body"])["valid"] is True

        counter.reset()
        started = time.perf_counter()
        with quiet_stdout():
            valid = sum(call() for _ in range(verifications))
        elapsed = time.perf_counter() - started
        writes = counter.writes()
        result[name] = {
            "verifications": verifications,
            "valid": valid,
            "seconds": round(elapsed, 2),
            "calls": dict(sorted(counter.calls.items())),
            "writes": writes,
            "write_units": counter.write_units,
            "read_units": counter.read_units,
            "reads_per_verification": round(sum(counter.calls.values()) / verifications - writes / verifications, 4),
            "within_a_minute": elapsed < 60,
            "within_target": writes <= TARGET_WRITES_PER_MINUTE and elapsed < 60 and valid == verifications,
        }
    return result


# --- 3. managed-token operations (for the cost model) -----------------------------------------------------


def measure_operations(calls: int) -> dict[str, Any]:
    """Warm duration and DynamoDB units of two managed-token operations, for docs/performance.md's
    cost model: ``GET /v1/tokens/{id}`` (a read) and ``PATCH /v1/tokens/{id}`` (a change: a read and
    a transaction of the token and its audit event). Handlers in-process, sample events made real."""
    from tokensmith.tokens.repository import default_repository

    caller, _ = mint_token(["tokens:read", "tokens:write"])
    target, _ = mint_token(["tokens:read"])
    counter = CallCounter(default_repository().client)
    result: dict[str, Any] = {}
    for name, code_uri in (("get_token", "functions/get_token"), ("update_token", "functions/update_token")):
        handler = load_handler(code_uri)
        event = sample_event(name)
        event["pathParameters"] = {"token_id": target["id"]}
        event["rawPath"] = event["requestContext"]["http"]["path"] = f"/v1/tokens/{target['id']}"
        event["requestContext"]["authorizer"] = {"lambda": claims_of(caller)}
        times: list[float] = []
        statuses: set[int] = set()
        with quiet_stdout():
            for number in range(calls + 10):
                if name == "update_token":
                    event["body"] = json.dumps({"description": f"revision {number}"})
                if number == 10:
                    counter.reset()
                begin = time.perf_counter_ns()
                answer = handler(event, context())
                elapsed = (time.perf_counter_ns() - begin) / 1e9
                if number >= 10:  # the first ten warm up
                    times.append(elapsed)
                    statuses.add(answer["statusCode"])
        result[name] = {
            **summary_ms(times),
            "statuses": sorted(statuses),
            "calls_per_operation": {op: round(n / calls, 3) for op, n in sorted(counter.calls.items())},
            "read_units_per_operation": round(counter.read_units / calls, 3),
            "write_units_per_operation": round(counter.write_units / calls, 3),
        }
    return result


def policy_counter() -> CallCounter:
    """A call counter on the functions' own client (the counters share it with the repository)."""
    from tokensmith.tokens.repository import default_repository

    return CallCounter(default_repository().client)


# --- reporting ----------------------------------------------------------------------------------------------


def print_table(results: dict[str, Any]) -> None:
    latency, writes = results["latency"], results["writes"]
    print(f"\nWarm verify on DynamoDB Local (Python {results['environment']['python']}, in-process handlers)")
    columns = ("subject", "calls", "median ms", "p99 ms", "x median", "x p99", "target x median")
    widths = (44, 6, 10, 9, 9, 7, 16)
    header = " ".join(f"{c:>{w}}" if i else f"{c:<{w}}" for i, (c, w) in enumerate(zip(columns, widths, strict=True)))
    print(header)
    print("-" * len(header))
    labels = {
        "baseline": "bare boto3 GetItem (consistent)",
        "authorizer": "authorizer handler",
        "verify": "POST /v1/tokens/verify handler",
        "authorizer_cached": f"authorizer, VerifyCacheSeconds={CACHE_SECONDS}",
        "verify_cached": f"POST /v1/tokens/verify, VerifyCacheSeconds={CACHE_SECONDS}",
    }
    for name, label in labels.items():
        row = latency[name]
        ratio = "1.000" if name == "baseline" else f"{row['ratio_median']:.3f}"
        ratio_p99 = "1.000" if name == "baseline" else f"{row['ratio_p99']:.3f}"
        verdict = ""
        if name != "baseline":
            verdict = f"<= {row['target']:.2f} " + ("holds" if row["within_target"] else "MISSED")
        cells = (label, f"{row['n']}", f"{row['median_ms']:.3f}", f"{row['p99_ms']:.3f}", ratio, ratio_p99, verdict)
        print(" ".join(f"{c:>{w}}" if i else f"{c:<{w}}" for i, (c, w) in enumerate(zip(cells, widths, strict=True))))
    print(f"\nDynamoDB calls caused by {writes['authorizer']['verifications']:,} verifications of one fresh token")
    columns2 = ("path", "seconds", "calls", "writes", "write units", "target <= 1/min")
    widths2 = (34, 8, 30, 7, 12, 16)
    header2 = " ".join(
        f"{c:>{w}}" if i else f"{c:<{w}}" for i, (c, w) in enumerate(zip(columns2, widths2, strict=True))
    )
    print(header2)
    print("-" * len(header2))
    for name, label in (("authorizer", "authorizer handler"), ("verify", "POST /v1/tokens/verify handler")):
        row = writes[name]
        calls = ", ".join(f"{op} {n}" for op, n in row["calls"].items())
        verdict = "holds" if row["within_target"] else "MISSED"
        cells = (label, f"{row['seconds']:.1f}", calls, f"{row['writes']}", f"{row['write_units']:g}", verdict)
        print(" ".join(f"{c:>{w}}" if i else f"{c:<{w}}" for i, (c, w) in enumerate(zip(cells, widths2, strict=True))))


def print_operations(operations: dict[str, Any]) -> None:
    print("\nManaged-token operations, warm, in-process (for the cost model)")
    head = f"{'operation':<34} {'calls':>6} {'median ms':>10} {'p99 ms':>9} {'RRU/op':>7} {'WRU/op':>7}"
    print(f"{head}  DynamoDB calls/op")
    labels = {"get_token": "GET /v1/tokens/{id}", "update_token": "PATCH /v1/tokens/{id}"}
    for name, row in operations.items():
        calls = ", ".join(f"{op} {n:g}" for op, n in row["calls_per_operation"].items())
        print(
            f"{labels[name]:<34} {row['n']:>6} {row['median_ms']:>10.3f} {row['p99_ms']:>9.3f} "
            f"{row['read_units_per_operation']:>7g} {row['write_units_per_operation']:>7g}  {calls}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.verify", description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20, help="rounds (default 20)")
    parser.add_argument("--calls", type=int, default=100, help="cycles per round (default 100)")
    parser.add_argument("--verifications", type=int, default=1000, help="verifications of one token (writes)")
    parser.add_argument("--operations", type=int, default=200, help="calls of each managed-token operation")
    parser.add_argument("--output", default=str(RESULTS / f"{NAME}.json"), help="the JSON results ('' = none)")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    results: dict[str, Any] = {"benchmark": NAME, "environment": environment()}
    results["parameters"] = {
        "rounds": args.rounds,
        "calls": args.calls,
        "verifications": args.verifications,
        "operations": args.operations,
    }
    with local_table() as table:
        log(NAME, f"DynamoDB Local on {table.endpoint_url}; {args.rounds} x {args.calls} calls per subject")
        results["latency"] = measure_latency(table, args.rounds, args.calls)
        log(NAME, f"latency measured in {results['latency']['seconds']} s; counting writes")
        results["writes"] = measure_writes(args.verifications)
        log(NAME, "managed-token operations")
        results["operations"] = measure_operations(args.operations)
        log(NAME, "usage policies (bench/verify_policies.py)")
        results["policies"] = measure_policies(
            table, args.rounds, args.calls, load_handler, authorizer_event, context, policy_counter, quiet_stdout
        )
    write_results(NAME, results, args.output, started)
    print_table(results)
    print_operations(results["operations"])
    print_policies(results["policies"])
    latency_ok = all(results["latency"][name]["within_target"] for name in VERIFIERS)
    writes_ok = all(results["writes"][name]["within_target"] for name in ("authorizer", "verify"))
    policies = results["policies"]
    policies_ok = all(
        row["within_target"] for row in policies.values() if isinstance(row, dict) and "within_target" in row
    )
    failures = results["latency"]["failures"] + policies["failures"]
    return 0 if latency_ok and writes_ok and policies_ok and not failures else 1


if __name__ == "__main__":
    sys.exit(main())
