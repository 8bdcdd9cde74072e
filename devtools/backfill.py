"""``make backfill TABLE=<name> [ENDPOINT=<url>]``: give every token item of a table the keys of the
list indexes (``owner_pk``, ``status_pk``, ``owner_status_pk``, and ``org_sk`` with nanoseconds), as
the change machinery (``tokens.list_keys.list_attributes``) writes them on any new write.

One-off, for items written before the list indexes existed. It scans the table (a maintenance tool,
never on a request path), a page at a time, and updates only the tokens whose list keys are not what
``list_attributes`` says, each with one ``UpdateItem`` conditioned on the ``version`` it read (a token
changed meanwhile is read again and checked again: the change wrote the keys itself). It is

- idempotent: a token already right is not written, so a second run writes nothing;
- resumable: after every page it saves the scan position to ``--checkpoint`` (default
  ``.tokensmith/backfill-<table>.json``); a run that stops (Ctrl-C, expired credentials) goes on from
  there, and a finished run removes the file;
- verbose: one progress line per page, on stderr.

Against the deployed stack: ``make backfill TABLE=<the stack's TableName output>`` with AWS credentials
of the account (needs ``dynamodb:Scan``, ``GetItem`` and ``UpdateItem`` on the table). Against the
local run: ``make backfill TABLE=tokensmith-local ENDPOINT=<the DynamoDB endpoint make run printed>``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from tokensmith import table
from tokensmith.aws.dynamodb import from_item, is_conditional_check_failure, to_attribute, to_item
from tokensmith.tokens.list_keys import list_attributes

PROJECT_ROOT = Path(__file__).resolve().parent.parent
LIST_KEYS = (*table.TOKEN_LIST_PARTITIONS, table.TOKEN_LIST_SORT)
_READ = (
    "pk",
    "sk",
    "id",
    "organization_id",
    "owner",
    "status",
    "created_at",
    "version",
    "expires_epoch",
    *LIST_KEYS,
    table.EXPIRY_PARTITION,
)  # every attribute list_attributes reads, and every key it writes


@dataclass
class BackfillReport:
    scanned: int = 0  # items the scan returned (token items only: the filter drops the rest)
    updated: int = 0
    already_right: int = 0
    gone: int = 0  # deleted or purged between the scan and the update
    pages: int = 0
    complete: bool = False


def missing_list_keys(item: dict[str, Any]) -> tuple[dict[str, Any], tuple[str, ...]]:
    """What to SET and what to REMOVE so that ``item`` carries exactly its list keys."""
    wanted = list_attributes(item)
    set_values = {k: v for k, v in wanted.items() if v is not None and item.get(k) != v}
    remove = tuple(k for k, v in wanted.items() if v is None and k in item)
    return set_values, remove


def backfill(
    client: Any,
    table_name: str,
    checkpoint: Path | None = None,
    page_size: int = 500,
    max_pages: int | None = None,
    log: Callable[[str], None] = lambda line: print(line, file=sys.stderr, flush=True),
) -> BackfillReport:
    """Scan from the checkpoint (if any) to the end, or ``max_pages`` pages; see the module's doc."""
    report = BackfillReport()
    start: dict[str, Any] | None = None
    resumed = _load(checkpoint)
    if resumed is not None:
        log(f"resuming {table_name} from {checkpoint}")
        start, saved = resumed
        report = BackfillReport(**{**saved, "complete": False})
    scan: dict[str, Any] = {
        "TableName": table_name,
        "Limit": page_size,
        "FilterExpression": "sk = :token",
        "ProjectionExpression": ", ".join(f"#a{i}" for i in range(len(_READ))),
        "ExpressionAttributeNames": {f"#a{i}": name for i, name in enumerate(_READ)},
        "ExpressionAttributeValues": {":token": {"S": table.TOKEN_SK}},
    }
    started = time.monotonic()
    while max_pages is None or report.pages < max_pages:
        if start:
            scan["ExclusiveStartKey"] = start
        response = client.scan(**scan)
        for raw in response.get("Items", []):
            item = from_item(raw)
            if table.is_token_item(item):
                report.scanned += 1
                _bring_up_to_date(client, table_name, item, report)
        report.pages += 1
        start = response.get("LastEvaluatedKey")
        report.complete = start is None
        _save(checkpoint, start, report)
        log(
            f"page {report.pages}: {report.scanned} tokens seen, {report.updated} updated, "
            f"{report.already_right} already right, {report.gone} gone ({time.monotonic() - started:.1f} s)"
        )
        if report.complete:
            break
    return report


def _bring_up_to_date(client: Any, table_name: str, item: dict[str, Any], report: BackfillReport) -> None:
    """One conditional ``UpdateItem`` if the item's list keys are not right; a lost race re-reads."""
    for _attempt in range(3):
        set_values, remove = missing_list_keys(item)
        if not set_values and not remove:
            report.already_right += 1
            return
        names = {f"#s{i}": k for i, k in enumerate(set_values)} | {f"#r{i}": k for i, k in enumerate(remove)}
        names["#version"] = "version"
        values = {f":s{i}": to_attribute(v) for i, v in enumerate(set_values.values())}
        values[":version"] = {"N": str(item["version"])}
        expression = " ".join(
            part
            for part in (
                "SET " + ", ".join(f"#s{i} = :s{i}" for i in range(len(set_values))) if set_values else "",
                "REMOVE " + ", ".join(f"#r{i}" for i in range(len(remove))) if remove else "",
            )
            if part
        )
        try:
            client.update_item(
                TableName=table_name,
                Key=to_item(table.token_key(item["id"])),
                UpdateExpression=expression,
                ConditionExpression="attribute_exists(pk) AND #version = :version",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
            report.updated += 1
            return
        except Exception as error:  # botocore's ClientError
            if not is_conditional_check_failure(error):
                raise
        fresh = client.get_item(TableName=table_name, Key=to_item(table.token_key(item["id"])), ConsistentRead=True)
        if "Item" not in fresh:
            report.gone += 1
            return
        item = from_item(fresh["Item"])
    raise RuntimeError(f"token {item['id']} kept changing; run the backfill again")


def _load(checkpoint: Path | None) -> tuple[dict[str, Any], dict[str, Any]] | None:
    if checkpoint is None or not checkpoint.exists():
        return None
    saved = json.loads(checkpoint.read_text())
    return saved["start"], saved["report"]


def _save(checkpoint: Path | None, start: dict[str, Any] | None, report: BackfillReport) -> None:
    if checkpoint is None:
        return
    if start is None:
        checkpoint.unlink(missing_ok=True)
        return
    checkpoint.parent.mkdir(parents=True, exist_ok=True)
    checkpoint.write_text(json.dumps({"start": start, "report": asdict(report)}))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make backfill", description=__doc__.splitlines()[0])
    parser.add_argument("--table", required=True, help="the stack's TableName output (tokensmith-local locally)")
    parser.add_argument("--endpoint-url", help="DynamoDB endpoint (DynamoDB Local, the local run); default AWS")
    parser.add_argument("--checkpoint", type=Path, help="where the scan position is kept between runs")
    parser.add_argument("--page-size", type=int, default=500, help="items per Scan page (default 500)")
    arguments = parser.parse_args(argv)
    from devtools.local_aws import dynamodb_client

    if arguments.endpoint_url:
        client = dynamodb_client(arguments.endpoint_url)
    else:
        import boto3

        client = boto3.client("dynamodb")
    checkpoint = arguments.checkpoint or PROJECT_ROOT / ".tokensmith" / f"backfill-{arguments.table}.json"
    report = backfill(client, arguments.table, checkpoint, arguments.page_size)
    print(json.dumps(asdict(report)))
    return 0 if report.complete else 1


if __name__ == "__main__":
    sys.exit(main())
