"""GET /console and GET /console/{proxy+} — the admin console: the static page, script and style
shipped in ``static/`` next to this file. ``GET /`` and ``/console/`` (which no route of an HTTP API
matches: a greedy variable needs a segment) redirect to ``/console``; the API's ``$default`` route
comes here for that, and answers every other unmatched request as API Gateway itself would
(``404 {"message":"Not Found"}``).

No authorizer and no data access: the page signs in with ``POST /v1/sessions`` and calls the API
from the same origin (no CORS). Every answer carries a strict Content-Security-Policy (scripts and
styles from this origin only, nothing inline, no framing). Plain Python, no layer import: it starts
cold in a few milliseconds.
"""

from __future__ import annotations

from pathlib import Path

ROUTES = (("GET", "/console"), ("GET", "/console/{proxy+}"), ("GET", "/"), ("ANY", "$default"))  # template.yaml
PREFIX = "/console"
REDIRECTED = frozenset({"/", "/console/"})
STATIC = Path(__file__).resolve().parent / "static"
MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
    "Cache-Control": "no-cache",
}


def _load_files() -> dict[str, tuple[str, str]]:
    """Every servable file, by its name under /console/: a fixed map, so no path can reach outside."""
    files = {}
    for path in sorted(STATIC.iterdir()):
        if path.is_file() and path.suffix in MEDIA_TYPES:
            files[path.name] = (MEDIA_TYPES[path.suffix], path.read_text(encoding="utf-8"))
    return files


FILES = _load_files()


def handler(event, context):
    path = event.get("rawPath") or PREFIX
    method = ((event.get("requestContext") or {}).get("http") or {}).get("method") or "GET"
    if path in REDIRECTED and method in ("GET", "HEAD"):
        return {"statusCode": 302, "headers": {**SECURITY_HEADERS, "Location": PREFIX}, "body": ""}
    if event.get("routeKey") == "$default":  # no route of the API: API Gateway's own answer
        return {"statusCode": 404, "headers": {"Content-Type": "application/json"}, "body": '{"message":"Not Found"}'}
    name = path.removeprefix(PREFIX).strip("/") or "index.html"
    found = FILES.get(name)
    if found is None:
        return {
            "statusCode": 404,
            "headers": {**SECURITY_HEADERS, "Content-Type": "text/plain; charset=utf-8"},
            "body": "Not Found",
        }
    media_type, body = found
    return {"statusCode": 200, "headers": {**SECURITY_HEADERS, "Content-Type": media_type}, "body": body}
