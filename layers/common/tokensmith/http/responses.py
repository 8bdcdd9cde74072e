"""The answers of the API functions: JSON bodies built from the views' allow-lists, with ``ETag``
where they carry a token or a webhook, and ``Cache-Control: no-store`` on every one."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tokensmith import clock
from tokensmith.http.problems import COMMON_HEADERS, json_text
from tokensmith.http.router import Response
from tokensmith.settings import get_settings
from tokensmith.tokens.views import event_view, token_view
from tokensmith.webhooks.event_types import EVENT_TYPES
from tokensmith.webhooks.views import delivery_view, webhook_view

if TYPE_CHECKING:  # the session routes' own import; the token routes need none of the sessions package
    from tokensmith.sessions.service import SignedIn


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        status_code=status,
        content_type="application/json",
        body=json_text(body),
        headers={**COMMON_HEADERS, **(headers or {})},
    )


def etag(item: dict[str, Any]) -> str:
    return f'"{item["version"]}"'


def token_response(item: dict[str, Any], status: int = 200) -> Response:
    return json_response(token_view(item, clock.epoch(clock.now())), status, {"ETag": etag(item)})


def secret_response(item: dict[str, Any], secret: str, status: int) -> Response:
    """Create and rotate: the only responses that ever carry a secret."""
    body = {"token": token_view(item, clock.epoch(clock.now())), "secret": secret}
    return json_response(body, status, {"ETag": etag(item), "Location": f"/v1/tokens/{item['id']}"})


def token_list_response(items: list[dict[str, Any]], next_cursor: str | None) -> Response:
    now = clock.epoch(clock.now())
    return json_response({"items": [token_view(i, now) for i in items], "next_cursor": next_cursor})


def event_list_response(items: list[dict[str, Any]], next_cursor: str | None) -> Response:
    return json_response({"items": [event_view(i) for i in items], "next_cursor": next_cursor})


def session_response(signed_in: SignedIn, status: int = 200, cookies: list[str] | None = None) -> Response:
    """Sign-in and the current session: the CSRF token, the session's limits, its token, and what the
    console needs to create tokens and webhook endpoints (the scope catalog, the lifetime ceiling, the
    event types). Never the cookie's value
    in the body: that travels only in ``Set-Cookie``."""
    settings = get_settings()
    body = {
        "csrf_token": signed_in.cookie.csrf_token,
        "expires_at": signed_in.session["expires_at"],
        "idle_timeout_seconds": signed_in.session["idle_seconds"],
        "token": token_view(signed_in.token, clock.epoch(clock.now())),
        "scope_catalog": sorted(settings.scope_catalog),
        "max_token_lifetime_days": settings.max_token_lifetime_days,
        "webhook_event_types": list(EVENT_TYPES),
    }
    response = json_response(body, status)
    response.cookies = list(cookies or [])  # Set-Cookie values: the payload 2.0 `cookies` as they are
    return response


def webhook_response(item: dict[str, Any], status: int = 200) -> Response:
    return json_response(webhook_view(item), status, {"ETag": etag(item)})


def webhook_secret_response(item: dict[str, Any], secret: str, status: int) -> Response:
    """Create and rotate-secret: the only responses that ever carry a signing secret."""
    headers = {"ETag": etag(item), "Location": f"/v1/webhooks/{item['id']}"}
    return json_response({"webhook": webhook_view(item), "secret": secret}, status, headers)


def webhook_list_response(items: list[dict[str, Any]], next_cursor: str | None) -> Response:
    return json_response({"items": [webhook_view(i) for i in items], "next_cursor": next_cursor})


def delivery_list_response(items: list[dict[str, Any]], next_cursor: str | None) -> Response:
    return json_response({"items": [delivery_view(i) for i in items], "next_cursor": next_cursor})
