"""The OpenAPI 3.1 document of the token API, generated from the code.

Every API function declares its route on a Powertools router (``functions/<op>/app.py: router``),
with its body and query parameters in its signature and its answers in ``tokensmith.http.app.operation``.
This module includes every router of template.yaml's HttpApi routes into one resolver and asks
Powertools for the document. ``docs/openapi.json`` is the committed copy; a test fails when the code
and the file drift.

    python -m devtools.openapi            # print the document
    python -m devtools.openapi --write    # update docs/openapi.json
    python -m devtools.openapi --check    # exit 1 when docs/openapi.json is stale
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import tomllib
from pathlib import Path
from typing import Any

from devtools.template import PROJECT_ROOT, http_routes, load_template

DOCUMENT = PROJECT_ROOT / "docs" / "openapi.json"
DESCRIPTION = """API tokens for your customers' organizations and users: create (the secret is shown once), \
list, read, update, replace, disable and enable, revoke, rotate with a grace period, delete, verify, \
audit trail, and an admin override; webhook endpoints that receive every token event, signed per \
Standard Webhooks.

Authenticate with `Authorization: Bearer <token>`, or, in a browser, with the session cookie that \
`POST /v1/sessions` sets together with `Authorization: Session <csrf_token>` on every request. A \
request without an `Authorization` header is API Gateway's own `401`. Errors \
are RFC 9457 `application/problem+json`. Every response that carries a token carries its `ETag`; \
send it back as `If-Match` to make a change conditional (412 when stale)."""


def documented_routes() -> list[Any]:
    """template.yaml's HttpApi routes that are API operations: those whose function declares a
    Powertools ``router``. The console's page (``functions/console``) is HTML, not an operation."""
    return [route for route in http_routes(load_template()) if _router_of(route.code_uri) is not None]


def _router_of(code_uri: str) -> Any:
    source = PROJECT_ROOT / code_uri / "app.py"
    name = "_openapi_" + Path(code_uri).name
    module = sys.modules.get(name)
    if module is None:
        spec = importlib.util.spec_from_file_location(name, source)
        module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
        sys.modules[name] = module
        spec.loader.exec_module(module)  # type: ignore[union-attr]
    return getattr(module, "router", None)


def build_document() -> dict[str, Any]:
    """The document, as a dict, with the routes in template.yaml's order."""
    layer = str(PROJECT_ROOT / "layers" / "common")
    if layer not in sys.path:
        sys.path.insert(0, layer)
    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
    from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer

    resolver = APIGatewayHttpResolver()
    seen: set[str] = set()
    for route in documented_routes():
        if route.code_uri not in seen:
            seen.add(route.code_uri)
            resolver.include_router(_router_of(route.code_uri))
    version = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]["version"]
    document = resolver.get_openapi_json_schema(
        title="Tokensmith",
        version=version,
        description=DESCRIPTION,
        security_schemes={"bearerAuth": HTTPBearer(scheme="bearer", description="A Tokensmith token's secret")},
    )
    return _without_unused_schemas(json.loads(document))


def _without_unused_schemas(document: dict[str, Any]) -> dict[str, Any]:
    """Powertools adds its own validation-error schemas; we answer problem+json instead."""
    schemas = document.get("components", {}).get("schemas", {})
    while True:
        text = json.dumps({k: v for k, v in document.items() if k != "components"}) + json.dumps(schemas)
        unused = [name for name in schemas if f'"#/components/schemas/{name}"' not in text]
        if not unused:
            return document
        for name in unused:
            del schemas[name]


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False, sort_keys=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.openapi", description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--write", action="store_true", help=f"write {DOCUMENT.relative_to(PROJECT_ROOT)}")
    group.add_argument("--check", action="store_true", help="exit 1 when the committed document is stale")
    args = parser.parse_args(argv)
    text = render(build_document())
    if args.write:
        DOCUMENT.parent.mkdir(parents=True, exist_ok=True)
        DOCUMENT.write_text(text)
        print(f"wrote {DOCUMENT.relative_to(PROJECT_ROOT)}", file=sys.stderr)
    elif args.check:
        if not DOCUMENT.exists() or DOCUMENT.read_text() != text:
            print(f"{DOCUMENT.relative_to(PROJECT_ROOT)} is stale: run `make openapi`", file=sys.stderr)
            return 1
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
