"""The resolver of every API function: its factory (each error answers problem+json, each route's
body and query parameters are bound from its signature: ``tokensmith.http.router``) and
:func:`operation`, the route's OpenAPI description (its answers, problems and the scope it needs, read
from the service operation).

A route's answers are described by pydantic models that only the OpenAPI document needs: ``operation``
takes the success model by name (``"tokensmith.tokens.models:Token"``) and describes the answers when
``devtools/openapi.py`` asks, so that a function without a request body never imports pydantic on its
cold start (docs/performance.md, *Cold start*)."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tokensmith.auth import ADMIN, required_scope
from tokensmith.http.router import Resolver, Router

if TYPE_CHECKING:
    from pydantic import BaseModel

_PROBLEMS = {
    400: "Malformed request: invalid JSON, invalid UTF-8 or base64",
    401: (
        "Not authenticated: no Authorization header (API Gateway's own answer), a sign-in token that is not valid, "
        "or no live console session"
    ),
    403: (
        "The authorizer refused the request (API Gateway): a token or console session that is not valid, or a "
        "session request whose `Authorization: Session <csrf_token>` is not its own; or the token lacks the scope "
        "this route needs"
    ),
    404: "No such token or webhook (or it belongs to another organization)",
    409: (
        "Conflicts with the token's state (a revoked, expired or deleted token cannot change), another token's "
        "name, or a concurrent change"
    ),
    412: "If-Match names a version that is no longer current",
    413: "The body is larger than the route allows",
    415: "The body is not JSON",
    422: "A field, query parameter or scope is not acceptable",
    429: (
        "Throttled by API Gateway (JSON `message`), or the calling token is over one of its rate limits or out of "
        "credits (problem+json `rate-limited` / `usage-exceeded`, with Retry-After, RateLimit-Policy and RateLimit)"
    ),
    503: "DynamoDB is throttling or unavailable; retry after Retry-After seconds",
}


_LIMIT_HEADERS = {
    name: {"description": description, "schema": {"type": "string"}}
    for name, description in (
        ("Retry-After", "Seconds until the calling token may succeed again (when known)"),
        ("RateLimit-Policy", 'The calling token\'s rate limits, e.g. "minute";q=100;w=60 (IETF draft)'),
        ("RateLimit", 'What is left of each, e.g. "minute";r=0;t=40 (IETF draft)'),
    )
}
# A bearer token, or the console's session cookie with `Authorization: Session <csrf_token>` (the
# authorizer checks the pair). devtools/openapi.py declares the schemes.
REFUSAL = "Refusal"  # Problem | GatewayError: devtools/openapi.py declares it
CALLER_SECURITY: list[dict[str, list[str]]] = [{"bearerAuth": []}, {"sessionCookie": [], "sessionAuth": []}]


def create_router() -> Router:
    """Each function declares its route on a router; ``devtools.openapi`` turns every function's router
    into a Powertools one, all included into one resolver, to build the one OpenAPI document."""
    return Router()


def operation(
    success: int,
    model: str | None,
    problems: tuple[int, ...],
    serves: Callable[..., Any],
    description: str,
    public: bool = False,
    own_refusals: dict[int, str] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """Route keyword arguments for the OpenAPI document: the success answer, the problem answers, API
    Gateway's own answers, the security requirement (none for a ``public`` route), and the scope the
    route needs: the one its service operation ``serves`` declares with ``auth.requires``, so the
    document and the check cannot disagree. ``model``: the success body's model, ``"module:Class"``
    (None: no body). ``own_refusals``: statuses among 401 and 403 that only the function answers (a
    problem document, never API Gateway's), with their description. The answers are described by
    :class:`Responses` when the document is built."""
    scope = required_scope(serves)
    summary = description.strip().splitlines()[0]
    needs = "Needs no token." if public else f"Needs the `{scope}` scope." if scope else "Needs any valid token."
    return {
        "summary": summary,
        "description": f"{description.strip()}\n\n{needs}",
        "responses": Responses(success, summary, model, problems, public, own_refusals or {}),
        "security": [] if public else CALLER_SECURITY,
        "tags": [_tag(serves, scope)],
        **extra,
    }


def model_named(name: str) -> type[BaseModel]:
    """The model a ``"module:Class"`` name stands for."""
    module, _, attribute = name.partition(":")
    model: type[BaseModel] = getattr(importlib.import_module(module), attribute)
    return model


class Responses:
    """A route's answers for the OpenAPI document, described when called (``devtools/openapi.py`` calls
    every option given as a function): the success answer (with its ``ETag`` when it is a token, a
    webhook endpoint or an organization's policy) and every problem and refusal."""

    def __init__(
        self,
        success: int,
        summary: str,
        model: str | None,
        problems: tuple[int, ...],
        public: bool,
        own_refusals: dict[int, str],
    ) -> None:
        self.success, self.summary, self.model, self.problems = success, summary, model, problems
        self.public, self.own_refusals = public, own_refusals

    def __call__(self) -> dict[int, Any]:
        from tokensmith.models import GatewayError, Problem

        model = model_named(self.model) if self.model is not None else None
        success_response: dict[str, Any] = {"description": self.summary}
        # No model: no body (204); an empty content map, else Powertools documents a JSON body.
        success_response["content"] = {"application/json": {"model": model}} if model is not None else {}
        subject = getattr(model, "etag_subject", None)  # a versioned item: a token, a webhook, a policy
        if subject is not None:
            success_response["headers"] = {
                "ETag": {"description": f"The {subject}'s version", "schema": {"type": "string"}}
            }
        problem: dict[str, Any] = {"application/problem+json": {"model": Problem}}
        gateway: dict[str, Any] = {"application/json": {"model": GatewayError}}
        # 401 and 403 come from API Gateway (the authorizer's refusal, `{"message": ...}`) or from the
        # function (a problem), and so does a token route's 429 (the stage's throttle, or the calling
        # token over its limits): one schema, either shape, whatever the media type, so that a generated
        # client (which keeps one media type per status) parses both. A public route's 429 is the throttle's.
        refusal = {"schema": {"$ref": f"#/components/schemas/{REFUSAL}"}}
        statuses = {*self.problems, 429, 503} | (set() if self.public else {401, 403})
        responses: dict[int, Any] = {self.success: success_response}
        for status in sorted(statuses):
            if status in self.own_refusals:
                own = {"application/problem+json": refusal}  # never API Gateway's: a problem document
                responses[status] = {"description": self.own_refusals[status], "content": own}
                continue
            content = (
                gateway
                if status == 429 and self.public
                else {"application/problem+json": refusal, "application/json": refusal}
                if status in (401, 403, 429)
                else problem
            )
            responses[status] = {"description": _PROBLEMS[status], "content": content}
            if status == 429 and not self.public:
                responses[status]["headers"] = _LIMIT_HEADERS
        return responses


def _tag(serves: Callable[..., Any], scope: str | None) -> str:
    if scope == ADMIN:
        return "admin"
    if serves.__qualname__.startswith("Session"):
        return "sessions"
    return "webhooks" if (scope or "").startswith("webhooks") else "tokens"


TAGS = {
    "tokens": "Create, read, change and verify tokens, and their audit trail",
    "admin": "The platform operator's override (the `admin` scope)",
    "sessions": "The console's sign-in: a session cookie and its CSRF token",
    "webhooks": "Webhook endpoints of an organization and their delivery log",
}


def create_app(router: Router | None = None) -> Resolver:
    """A resolver whose every error, ours or unexpected, answers problem+json, and whose routes get
    their JSON body and query parameters bound (and checked) from their signature."""
    return Resolver(router) if router is not None else Resolver()
