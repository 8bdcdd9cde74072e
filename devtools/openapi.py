"""The OpenAPI 3.1 document of the token API, generated from the code.

Every API function declares its route on a router (``functions/<op>/app.py: router``,
``tokensmith.http.router``), with its body and query parameters in its signature and its answers in
``tokensmith.http.app.operation``. This module turns every router of template.yaml's HttpApi routes
into a Powertools router (the functions answer without Powertools' event handler; its OpenAPI
generator describes them), includes them into one resolver and asks Powertools for the document.
``docs/openapi.json`` is the committed copy; a test fails when the code and the file drift.

    python -m devtools.openapi            # print the document
    python -m devtools.openapi --write    # update docs/openapi.json
    python -m devtools.openapi --check    # exit 1 when docs/openapi.json is stale
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import inspect
import json
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, get_args, get_origin, get_type_hints

from devtools.template import PROJECT_ROOT, http_routes, load_template

DOCUMENT = PROJECT_ROOT / "docs" / "openapi.json"
DESCRIPTION = """API tokens for your customers' organizations and users: create (the secret is shown once), \
list, read, update, replace, disable and enable, revoke, rotate with a grace period (optionally ended by \
the new secret's first use), delete, verify, \
audit trail, and an admin override; webhook endpoints that receive every token event, signed per \
Standard Webhooks.

Authenticate with `Authorization: Bearer <token>`, or, in a browser, with the session cookie that \
`POST /v1/sessions` sets together with `Authorization: Session <csrf_token>` on every request (the \
one exception, `GET /v1/sessions/current`, reads the cookie alone: a reloaded page learns its CSRF \
token there).

Errors from the functions are RFC 9457 `application/problem+json` documents (`Problem`). API Gateway \
answers some requests itself, before any function runs, with `application/json` \
`{"message": "..."}` (`GatewayError`): a request without an `Authorization` header \
(`401 {"message": "Unauthorized"}`), the authorizer's refusal (`403 {"message": "Forbidden"}`), \
a route that does not exist (`404 {"message": "Not Found"}`), throttling \
(`429 {"message": "Too Many Requests"}`); an HTTP API cannot change those bodies. So each `401` and \
`403` is declared as either shape.

Every response whose body is a token, a webhook, or one of them with its new secret (create, rotate) \
carries its `ETag`; send it back as `If-Match` on the operations that declare it to make the change \
conditional (`412` when stale; without `If-Match` the change is unconditional, never `428`)."""


def documented_routes() -> list[Any]:
    """template.yaml's HttpApi routes that are API operations: those whose function declares a
    ``router``. The console's page (``functions/console``) is HTML, not an operation."""
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


def _built(values: dict[str, Any]) -> dict[str, Any]:
    """The values, each given as a function called for its value."""
    return {name: value() if callable(value) else value for name, value in values.items()}


def powertools_router(router: Any) -> Any:
    """The same routes on a Powertools router, for its OpenAPI generator: each with the options it was
    declared with (an option, or an ``openapi_extensions`` value, given as a function is called for its
    value: what only the document needs is not built on a cold start), and its function's
    ``Body()``/``Query()`` markers as Powertools' own."""
    from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

    documented = APIGatewayHttpRouter()
    for route in router.routes:
        # an option (or an extension's value) given as a function is built here, for the document only:
        # the answers' models (tokensmith.http.app.Responses), the GitHub route's request body
        options = _built(route.options)
        if options.get("openapi_extensions"):
            options["openapi_extensions"] = _built(options["openapi_extensions"])
        documented.route(route.path, route.method, **options)(_with_powertools_markers(route.func))
    return documented


def _with_powertools_markers(func: Callable[..., Any]) -> Callable[..., Any]:
    """``func`` with a signature whose ``Annotated[..., Body()]`` and ``Annotated[..., Query()]`` carry
    Powertools' markers (the same options) instead of ``tokensmith.http.params``'."""
    from tokensmith.http.params import Body, Query

    hints = get_type_hints(func, include_extras=True)
    signature = inspect.signature(func)
    parameters = []
    for name, parameter in signature.parameters.items():
        hint = hints.get(name)
        if get_origin(hint) is Annotated and any(isinstance(m, (Body, Query)) for m in get_args(hint)[1:]):
            annotation, *markers = get_args(hint)
            converted = [m.powertools() if isinstance(m, (Body, Query)) else m for m in markers]
            parameter = parameter.replace(annotation=Annotated[(annotation, *converted)])
        parameters.append(parameter)

    @functools.wraps(func)
    def documented(*args: Any, **kwargs: Any) -> Any:
        return func(*args, **kwargs)

    documented.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
    return documented


def build_document() -> dict[str, Any]:
    """The document, as a dict, with the routes in template.yaml's order."""
    layer = str(PROJECT_ROOT / "layers" / "common")
    if layer not in sys.path:
        sys.path.insert(0, layer)
    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
    from aws_lambda_powertools.event_handler.openapi.models import APIKey, HTTPBase, HTTPBearer, License, Tag

    from tokensmith.http.app import REFUSAL, TAGS
    from tokensmith.sessions.cookies import COOKIE_NAME

    resolver = APIGatewayHttpResolver()
    routes = documented_routes()
    seen: set[str] = set()
    for route in routes:
        if route.code_uri not in seen:
            seen.add(route.code_uri)
            resolver.include_router(powertools_router(_router_of(route.code_uri)))
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]
    license_id = project["license"]["text"]  # an SPDX identifier
    text = resolver.get_openapi_json_schema(
        title="Tokensmith",
        version=project["version"],
        description=DESCRIPTION,
        license_info=License(name=license_id, identifier=license_id),
        tags=[Tag(name=name, description=text) for name, text in TAGS.items()],
        security_schemes={
            "bearerAuth": HTTPBearer(scheme="bearer", description="A Tokensmith token's secret"),
            "sessionCookie": APIKey.model_validate(
                {
                    "in": "cookie",
                    "name": COOKIE_NAME,
                    "description": "The console's session, set by `POST /v1/sessions` (`HttpOnly`: browsers only)",
                }
            ),
            "sessionAuth": HTTPBase.model_validate(
                {
                    "type": "http",
                    "scheme": "Session",
                    "description": "`Authorization: Session <csrf_token>` (`csrf_token` of `POST /v1/sessions` "
                    "and `GET /v1/sessions/current`), sent with the session cookie on every console request",
                }
            ),
        },
    )
    generated: dict[str, Any] = json.loads(text)
    generated["components"]["schemas"][REFUSAL] = {
        "title": REFUSAL,
        "description": 'A refusal: a problem from a function, or API Gateway\'s own `{"message": ...}`',
        "anyOf": [{"$ref": "#/components/schemas/Problem"}, {"$ref": "#/components/schemas/GatewayError"}],
    }
    return _with_route_details(_without_unused_schemas(generated), routes)


def _with_route_details(document: dict[str, Any], routes: list[Any]) -> dict[str, Any]:
    """What Powertools cannot say per route: the operation id (the function's folder, so a generated
    client's methods are named after the routes), ``security: []`` on the public routes (Powertools
    drops an empty list) or the cookie alone where the function checks it itself, and the
    ``If-Match`` header of every conditional change (those that document a 412)."""
    for route in routes:
        operation = document["paths"][route.path][route.method.lower()]
        operation["operationId"] = Path(route.code_uri).name
        if not route.authorized:
            operation["security"] = OWN_SECURITY.get((route.method.upper(), route.path), [])
        if "412" in operation["responses"]:
            operation.setdefault("parameters", []).append(IF_MATCH)
    return document


# Routes without the authorizer that still need a credential, checked by their function
OWN_SECURITY: dict[tuple[str, str], list[dict[str, list[str]]]] = {
    ("GET", "/v1/sessions/current"): [{"sessionCookie": []}]
}

IF_MATCH = {
    "name": "If-Match",
    "in": "header",
    "required": False,
    "description": 'The ETag of the version this change is meant for, e.g. `"3"` (or a list of them): the change is '
    'refused with 412 when the current version is another one. Comparison is strong: a weak tag (`W/"3"`) '
    "never matches. `*` or no header: unconditional. Anything that is not a list of entity tags: 400.",
    # What the server parses (tokensmith.http.request), in printable ASCII: `*`, or entity tags, comma-separated
    "schema": {"type": "string", "pattern": r'^(\*|(W/)?"[!#-~]*"( *, *(W/)?"[!#-~]*")*)$', "example": '"3"'},
}


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
