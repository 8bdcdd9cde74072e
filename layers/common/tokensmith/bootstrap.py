"""Create an admin token straight in the table and print its secret once.

IAM is the root of trust: whoever may write to the table may mint the first admin token. Works
against AWS (default credentials chain), DynamoDB Local or the local run (``--endpoint-url``).

    python -m tokensmith.bootstrap --table <TableName output> [--organization-id platform]
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import replace
from urllib.parse import urlsplit

from tokensmith.settings import Settings
from tokensmith.tokens.repository import TokenRepository
from tokensmith.tokens.service import TokenService


def create_admin_token(
    table_name: str,
    endpoint_url: str | None = None,
    organization_id: str = "platform",
    name: str = "bootstrap-admin",
    settings: Settings | None = None,
) -> tuple[str, str]:
    """(token id, secret) of a new admin token in ``table_name``."""
    base = settings or Settings.from_environ()
    settings = replace(base, table_name=table_name, dynamodb_endpoint_url=endpoint_url)
    service = TokenService(TokenRepository(table_name, endpoint_url=endpoint_url), settings)
    item, secret = service.bootstrap_admin(organization_id, name)
    return item["id"], secret


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tokensmith.bootstrap", description=__doc__.splitlines()[0])
    parser.add_argument("--table", required=True, help="the stack's TableName output")
    parser.add_argument("--endpoint-url", help="DynamoDB endpoint (DynamoDB Local, the local run); default AWS")
    parser.add_argument("--organization-id", default="platform", help="organization of the admin token")
    parser.add_argument("--name", default="bootstrap-admin", help="the token's name (unique among live tokens)")
    parser.add_argument("--prefix", help="the stack's TokenPrefix parameter (default: $TOKEN_PREFIX or tks)")
    args = parser.parse_args(argv)
    if args.endpoint_url and _is_loopback(args.endpoint_url):
        local_aws_defaults(os.environ)
    settings = Settings.from_environ()
    if args.prefix:
        settings = replace(settings, token_prefix=args.prefix)
    try:
        token_id, secret = create_admin_token(args.table, args.endpoint_url, args.organization_id, args.name, settings)
    except Exception as error:  # a CLI: say what went wrong in one line
        print(f"bootstrap failed: {error}", file=sys.stderr)
        return 1
    print(f"Admin token {token_id} created in organization {args.organization_id!r}.", file=sys.stderr)
    print("Its secret is shown this once; store it in your secret manager:", file=sys.stderr)
    print(secret)
    return 0


def _is_loopback(url: str) -> bool:
    return (urlsplit(url).hostname or "") in ("127.0.0.1", "localhost", "::1")


def local_aws_defaults(environ: os._Environ[str] | dict[str, str]) -> None:
    """A DynamoDB on this machine (the local run, DynamoDB Local) checks no signature, but botocore wants
    a region and credentials to sign with: dummy ones, where none are set, for a loopback endpoint only."""
    environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    if not environ.get("AWS_ACCESS_KEY_ID") and not environ.get("AWS_PROFILE"):
        environ["AWS_ACCESS_KEY_ID"] = "local"
        environ["AWS_SECRET_ACCESS_KEY"] = "local"


if __name__ == "__main__":
    raise SystemExit(main())
