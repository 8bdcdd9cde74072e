"""Token lists at two organization sizes on DynamoDB Local: one page of 50 of every filter combination
of ``GET /v1/tokens`` costs the same in an organization of 1,000 tokens and one of 100,000.

``python -m bench.list [--small 1000] [--large 100000] [--rounds 60]`` (``make bench BENCH=list``).
Method and figures: docs/performance.md.

1. Load. One DynamoDB Local (in memory), the template's table. Two organizations, ``small`` and
   ``large`` tokens, the same mix in both: owners alice 60 %, bob 20 %, none 20 %; statuses active
   40 %, disabled 20 %, revoked 20 %, expired (stamped) 20 %; and, newest of all, 5 live tokens whose
   expiry has passed but that the sweep has not stamped (the ``expired`` list merges them in, the
   ``active`` list's filter drops them). Every item is built by the service's own builder
   (``TokenChanges.new_token_item``: the attributes ``create`` writes, list keys included); ended
   ones get their status and the change machinery's ``list_attributes``/``wake_attributes`` again.
   They are written with ``BatchWriteItem`` in the shape ``create_token`` writes
   (``repository.token_put_request``), 25 a call, two threads: minutes, not hours. No audit events
   and no name guards (lists read neither).
2. Measure. ``--rounds`` rounds; in each, every filter combination (none; owner alice; no owner, the
   implicit filter of a caller without an owner or ``tokens:manage``; each status; alice and each
   status), in an order shuffled each round, reads the first page of 50 of the small organization and
   of the large one back to back (which goes first alternates by round), through
   ``TokenRepository.list_tokens``. Printed per combination and size: the median time, the ``Query``
   calls and the read units DynamoDB Local reports (``ReturnConsumedCapacity``); the time ratio is the
   median of the rounds' large / small ratios (each pair under the same load), the read units' the
   ratio of the two. Target: ≤ 1.2 for time and ≤ 1.1 for
   read units, every combination; the exit status is 1 otherwise.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

from bench import RESULTS  # first: it puts layers/common on sys.path
from bench.support import environment, local_table, log, write_results
from devtools.local_aws import dynamodb_client
from tokensmith import clock
from tokensmith.auth import Principal, RequestMeta
from tokensmith.expiry.schedule import wake_attributes
from tokensmith.settings import get_settings
from tokensmith.tokens.changes import TokenChanges
from tokensmith.tokens.list_keys import list_attributes
from tokensmith.tokens.listing import OWNERLESS
from tokensmith.tokens.repository import TokenRepository, token_put_request

NAME = "list"
PAGE = 50
TARGET_TIME_RATIO = 1.2
TARGET_UNITS_RATIO = 1.1
SEED = 20261206  # the combinations' order in each round
OWNERS = ("alice@example.com",) * 3 + ("bob@example.com", None)  # 60 %, 20 %, 20 %
STATUSES = ("active", "active", "disabled", "revoked", "expired")  # 40 %, 20 %, 20 %, 20 %
OVERDUE = 5  # live tokens past their expiry, not stamped yet
ALICE = OWNERS[0]
COMBINATIONS: list[dict[str, str]] = [
    {},
    {"owner": ALICE},
    {"owner": OWNERLESS},
    *({"status": s} for s in ("active", "disabled", "revoked", "expired")),
    *({"owner": ALICE, "status": s} for s in ("active", "disabled", "revoked", "expired")),
]


def token_items(organization_id: str, count: int, now: datetime) -> list[dict[str, Any]]:
    """``count`` tokens of the mix, oldest first, one millisecond apart, then the overdue ones."""
    changes = TokenChanges(None, get_settings())  # type: ignore[arg-type]  # builds items, writes nothing
    admin = Principal(str(uuid.uuid4()), "platform", None, frozenset({"admin"}))
    meta = RequestMeta(ip="203.0.113.7", user_agent="tokensmith-bench/1.0")
    # Microseconds never zero, so the builder orders by them (clock.nanos_within), not by the present.
    start = now.replace(microsecond=500) - timedelta(milliseconds=count + OVERDUE + 1)
    items = []
    for n in range(count + OVERDUE):
        created = start + timedelta(milliseconds=n)
        overdue = n >= count
        status = "active" if overdue else STATUSES[n % len(STATUSES)]
        item, _ = changes.new_token_item(
            admin,
            meta,
            created,
            organization_id=organization_id,
            owner=OWNERS[(n // len(STATUSES)) % len(OWNERS)],
            name=f"bench {n}",
            description=None,
            icon=None,
            scopes=["orders:read"],
            expires_at=created - timedelta(seconds=1) if overdue else created + timedelta(days=90),
            status="disabled" if status == "disabled" else "active",
        )
        if status in ("revoked", "expired"):
            item["status"] = status
            item.update(wake_attributes(item, changes.settings.expiry_notice_days))
            item.update(list_attributes(item))
        items.append(item)
    return items


def load(repository: TokenRepository, items: list[dict[str, Any]]) -> float:
    """Write ``items`` with ``BatchWriteItem`` (25 a call, two threads); the seconds it took."""
    started = time.perf_counter()
    batches = [items[i : i + 25] for i in range(0, len(items), 25)]

    def write(batch: list[dict[str, Any]]) -> None:
        request = {repository.table_name: [token_put_request(item) for item in batch]}
        while request:
            request = repository.client.batch_write_item(RequestItems=request).get("UnprocessedItems") or {}

    with ThreadPoolExecutor(max_workers=2) as pool:
        for done, _ in enumerate(pool.map(write, batches), 1):
            if done % 400 == 0:
                log(NAME, f"  {done * 25:,} of {len(items):,} written")
    return time.perf_counter() - started


def measure(repository: TokenRepository, organizations: dict[str, str], rounds: int) -> list[dict[str, Any]]:
    """Every combination once per round, in an order shuffled anew each round, each a pair of reads
    (small then large, or large then small: alternating by round) back to back. A combination's time
    ratio is the median of its pairs' ratios: a burst of load from elsewhere falls on both reads of a
    pair, and on every combination alike, instead of on one combination's block of rounds."""
    now_epoch = clock.epoch(clock.now())
    small_size, large_size = organizations
    numbers = range(len(COMBINATIONS))
    samples: dict[int, dict[str, list[float]]] = {n: {size: [] for size in organizations} for n in numbers}
    ratios: dict[int, list[float]] = {n: [] for n in numbers}
    reads: dict[tuple[int, str], tuple[int, float, int]] = {}
    rng = random.Random(SEED)
    for round_number in range(rounds):
        order = list(organizations) if round_number % 2 == 0 else list(reversed(organizations))
        combinations = list(enumerate(COMBINATIONS))
        rng.shuffle(combinations)
        for number, filters in combinations:
            pair: dict[str, float] = {}
            for size in order:
                started = time.perf_counter()
                items, _ = repository.list_tokens(organizations[size], PAGE, None, now_epoch=now_epoch, **filters)
                pair[size] = time.perf_counter() - started
                samples[number][size].append(pair[size])
                reads[number, size] = (repository.last_list_queries, repository.last_list_read_units, len(items))
            ratios[number].append(pair[large_size] / pair[small_size])
    results = []
    for number, filters in enumerate(COMBINATIONS):
        row: dict[str, Any] = {"filters": {k: ("(none)" if v == OWNERLESS else v) for k, v in filters.items()}}
        for size in organizations:
            queries, units, listed = reads[number, size]
            row[size] = {
                "median_ms": round(statistics.median(samples[number][size]) * 1000, 3),
                "queries": queries,
                "read_units": units,
                "items": listed,
            }
        row["time_ratio"] = round(statistics.median(ratios[number]), 3)
        row["units_ratio"] = round(row[large_size]["read_units"] / row[small_size]["read_units"], 3)
        row["within_target"] = row["time_ratio"] <= TARGET_TIME_RATIO and row["units_ratio"] <= TARGET_UNITS_RATIO
        results.append(row)
        log(NAME, f"{describe(row['filters'])}: x{row['time_ratio']} time, x{row['units_ratio']} read units")
    return results


def describe(filters: dict[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in filters.items()) or "(no filter)"


def print_table(results: dict[str, Any]) -> None:
    sizes = results["parameters"]["sizes"]
    small, large = (f"{n:,}" for n in sizes.values())
    rounds = results["parameters"]["rounds"]
    print(f"\nOne page of {PAGE}, median of {rounds}; time ×: median of the {rounds} paired ratios (DynamoDB Local):\n")
    header = f"| filters | {small}: ms | {small}: RCU | {large}: ms | {large}: RCU | queries | time × | RCU × | ok |"
    print(header)
    print("|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for row in results["rows"]:
        a, b = (row[size] for size in sizes)
        print(
            f"| {describe(row['filters'])} | {a['median_ms']} | {a['read_units']} | {b['median_ms']} | "
            f"{b['read_units']} | {b['queries']} | {row['time_ratio']} | {row['units_ratio']} | "
            f"{'yes' if row['within_target'] else 'NO'} |"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.list", description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=1000, help="tokens of the small organization (default 1,000)")
    parser.add_argument("--large", type=int, default=100_000, help="tokens of the large one (default 100,000)")
    parser.add_argument("--rounds", type=int, default=60, help="pages read per combination and size (default 60)")
    parser.add_argument("--output", default=str(RESULTS / f"{NAME}.json"), help="the JSON results ('' = none)")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    sizes = {"small": args.small, "large": args.large}
    results: dict[str, Any] = {"benchmark": NAME, "environment": environment()}
    results["parameters"] = {"sizes": sizes, "rounds": args.rounds, "page": PAGE, "overdue": OVERDUE}
    with local_table() as table:
        # The functions' client gives up after 1 s; bulk writes under load need longer.
        repository = TokenRepository(table.table_name, client=dynamodb_client(table.endpoint_url, timeout_seconds=60))
        now = clock.now()
        organizations = {size: f"bench-{size}" for size in sizes}
        results["load_seconds"] = {}
        for size, count in sizes.items():
            log(NAME, f"writing {count:,} tokens of {organizations[size]}")
            items = token_items(organizations[size], count, now)
            results["load_seconds"][size] = round(load(repository, items), 1)
            log(NAME, f"  {count:,} written in {results['load_seconds'][size]} s")
        results["rows"] = measure(repository, organizations, args.rounds)
    write_results(NAME, results, args.output, started)
    print_table(results)
    return 0 if all(row["within_target"] for row in results["rows"]) else 1


if __name__ == "__main__":
    sys.exit(main())
