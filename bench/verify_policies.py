"""Warm verification of tokens with usage policies (part of ``make bench BENCH=verify``), each against
a bare boto3 client doing the same DynamoDB work, and the write units each verification costs.

Subjects, each called in-process (handlers imported and warmed up), interleaved call by call in an
order shuffled anew every cycle, as in ``bench/verify.py``. Each twin reads the item of the token its
subject verifies: the items differ in size (an allowlist of ten CIDRs is ten more list elements for
DynamoDB to send and botocore to parse, about 230 bytes), and a twin reading a smaller item than its
subject would charge that difference to the code under test, which makes no read of its own for it.

- ``bare GetItem``: the token's item, strongly consistent (the floor of every verification), for a
  token without a policy, and the same for the allowlisted token's item;
- ``bare GetItem + UpdateItem``: the same, then one conditional ``UpdateItem`` of a small counter
  item returning the new value (``ADD used :one`` if ``used <= :most``): a rate limit's or credits'
  DynamoDB work, done by hand, once with each of their tokens' items;
- the authorizer verifying a token with **no policy** (its overhead here, for comparison: the target
  of ≤ 1.10 is ``bench/verify.py``'s), a **rate limit** (1,000,000 a day: never refused here),
  **credits** (a billion), and an **allowlist** (10 CIDRs, the caller's among them).

Targets: each limited case ≤ 1.15 × its bare twin.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from bench.support import interleaved_samples, mint_token, summary_ms

TARGET_RATIO = 1.15
RATE_LIMIT = [{"name": "day", "limit": 1_000_000, "duration_seconds": 86_400}]
CREDITS = {"remaining": 1_000_000_000}
ALLOWED = [f"10.{n}.0.0/16" for n in range(9)] + ["203.0.113.0/24"]  # events/authorizer.json's source address
TWINS = {  # each subject's bare boto3 twin: the same DynamoDB work, on the same item
    "no policy": "bare GetItem (plain item)",
    "rate limit": "bare GetItem + UpdateItem (rate-limit item)",
    "credits": "bare GetItem + UpdateItem (credits item)",
    "allowlist": "bare GetItem (allowlist item)",
}
COUNTED = ("rate limit", "credits")  # their twins also update a counter
TARGETS = {"rate limit": TARGET_RATIO, "credits": TARGET_RATIO, "allowlist": TARGET_RATIO}  # no policy: bench/verify.py


def measure_policies(
    table: Any,
    rounds: int,
    calls: int,
    load_handler: Callable[[str], Any],
    authorizer_event: Callable[[str], dict[str, Any]],
    context: Callable[[], Any],
    counter_of: Callable[[], Any],
    quiet: Callable[[], Any],
) -> dict[str, Any]:
    import boto3

    from tokensmith.aws.dynamodb import to_item
    from tokensmith.table import token_key

    authorizer = load_handler("functions/authorizer")
    tokens = {
        "no policy": mint_token(["tokens:read"]),
        "rate limit": mint_token(["tokens:read"], ratelimits=RATE_LIMIT),
        "credits": mint_token(["tokens:read"], credits=CREDITS),
        "allowlist": mint_token(["tokens:read"], allowed_cidrs=ALLOWED),
    }
    bare = boto3.client("dynamodb", endpoint_url=table.endpoint_url)
    counter = {"pk": {"S": f"BENCH#{uuid.uuid4()}"}, "sk": {"S": "0"}}

    def bare_get(name: str) -> Callable[[], bool]:
        token = to_item(token_key(tokens[name][0]["id"]))

        def call() -> bool:
            return "Item" in bare.get_item(TableName=table.table_name, Key=token, ConsistentRead=True)

        return call

    def bare_get_update(name: str) -> Callable[[], bool]:
        get = bare_get(name)

        def call() -> bool:
            found = get()
            bare.update_item(
                TableName=table.table_name,
                Key=counter,
                UpdateExpression="ADD used :one",
                ConditionExpression="attribute_not_exists(used) OR used <= :most",
                ExpressionAttributeValues={":one": {"N": "1"}, ":most": {"N": "1000000000"}},
                ReturnValues="UPDATED_NEW",
            )
            return found

        return call

    def authorize(secret: str) -> Callable[[], bool]:
        event = authorizer_event(secret)

        def call() -> bool:
            answer = authorizer(event, context())
            return answer["isAuthorized"] is True and answer["context"]["code"] == "VALID"

        return call

    subjects: dict[str, Callable[[], bool]] = {}
    for name, (_, secret) in tokens.items():
        subjects[TWINS[name]] = bare_get_update(name) if name in COUNTED else bare_get(name)
        subjects[name] = authorize(secret)
    with quiet():
        samples, failures = interleaved_samples(subjects, rounds * calls)
    result: dict[str, Any] = {name: summary_ms(times) for name, times in samples.items()}
    for name, twin in TWINS.items():
        row = result[name]
        row["baseline"] = twin
        row["ratio_median"] = round(row["median_ms"] / result[twin]["median_ms"], 3)
        if name in TARGETS:
            row["within_target"] = row["ratio_median"] <= TARGETS[name]
    result["failures"] = failures
    result["write_units"] = _write_units(tokens, authorize, counter_of, quiet)
    return result


def _write_units(tokens: dict[str, Any], authorize: Any, counter_of: Any, quiet: Any) -> dict[str, Any]:
    """DynamoDB's own consumed capacity per verification (100 each, after the last-use stamp)."""
    counter = counter_of()
    units: dict[str, Any] = {}
    for name, (_, secret) in tokens.items():
        if name not in TARGETS:
            continue
        call = authorize(secret)
        with quiet():
            call()  # the last-use stamp (at most once a minute) lands before counting
            counter.reset()
            for _ in range(100):
                call()
        units[name] = {
            "write_units_per_verification": round(counter.write_units / 100, 3),
            "read_units_per_verification": round(counter.read_units / 100, 3),
            "calls": dict(sorted(counter.calls.items())),
        }
    return units


def print_policies(result: dict[str, Any]) -> None:
    print("\nWarm verify with usage policies (authorizer handler), each against a bare boto3 twin")
    head = f"{'subject':<44} {'calls':>6} {'median ms':>10} {'p99 ms':>9} {'x twin':>7} {'WRU/ver':>8}  target <= 1.15"
    print(head)
    print("-" * len(head))
    for name, row in result.items():
        if name in ("failures", "write_units"):
            continue
        ratio = f"{row['ratio_median']:.3f}" if "ratio_median" in row else ""
        verdict = ("holds" if row["within_target"] else "MISSED") if "within_target" in row else ""
        units = result["write_units"].get(name, {}).get("write_units_per_verification", "")
        timing = f"{row['n']:>6} {row['median_ms']:>10.3f} {row['p99_ms']:>9.3f}"
        print(f"{name:<44} {timing} {ratio:>7} {units!s:>8}  {verdict}")
