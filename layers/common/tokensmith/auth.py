"""Who is calling, and what they may do: the caller (:class:`Principal`), the request's context
(:class:`RequestMeta`), the service scopes, and the checks every service applies (scopes, tenancy).

A route's scope is declared once, on the service operation (``@requires(TOKENS_WRITE)``): the
decorator enforces it, and ``http.app.operation`` reads it for the OpenAPI document. Plain code: the
authorizer's hot path imports it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar

from tokensmith.errors import FieldError, Forbidden, NotFound

TOKENS_READ = "tokens:read"
TOKENS_WRITE = "tokens:write"
TOKENS_VERIFY = "tokens:verify"
WEBHOOKS_READ = "webhooks:read"
WEBHOOKS_WRITE = "webhooks:write"
CONSOLE = "console"  # may open a console session
ADMIN = "admin"  # the platform operator: every service scope, across organizations
SERVICE_SCOPES: tuple[str, ...] = (
    TOKENS_READ,
    TOKENS_WRITE,
    TOKENS_VERIFY,
    WEBHOOKS_READ,
    WEBHOOKS_WRITE,
    CONSOLE,
    ADMIN,
)
ADMIN_SCOPE = ADMIN


@dataclass(frozen=True, slots=True)
class Principal:
    """Who calls: the token the authorizer verified."""

    token_id: str
    organization_id: str
    owner: str | None
    scopes: frozenset[str]

    @property
    def is_admin(self) -> bool:
        return ADMIN in self.scopes

    @property
    def actor(self) -> dict[str, Any]:
        """Who did it, as audit events record it."""
        if self is SYSTEM:
            return {"system": "tokensmith"}
        return {"token_id": self.token_id, "organization_id": self.organization_id, "owner": self.owner}

    @property
    def stamp(self) -> str:
        """Who did it, as a token's ``audit.created.by``/``audit.updated.by`` records it."""
        return "system" if self is SYSTEM else f"token:{self.token_id}"


SYSTEM = Principal(token_id="system", organization_id="", owner=None, scopes=frozenset({ADMIN}))


@dataclass(frozen=True, slots=True)
class RequestMeta:
    ip: str | None = None
    user_agent: str | None = None
    if_match: frozenset[int] | None = None  # versions the caller accepts (If-Match); None = any


def grants(scopes: list[str] | tuple[str, ...] | frozenset[str], required: str) -> bool:
    """``admin`` stands for every service scope; the deploying team's own scopes must be explicit."""
    return required in scopes or (ADMIN in scopes and required in SERVICE_SCOPES)


def require_scope(principal: Principal, scope: str) -> None:
    if not grants(principal.scopes, scope):
        raise Forbidden(f"this token lacks the scope {scope!r}")


Operation = TypeVar("Operation", bound=Callable[..., Any])


def requires(scope: str) -> Callable[[Operation], Operation]:
    """Declare (and enforce) the scope a service operation needs of its caller, its first argument
    after ``self``. :func:`required_scope` reads the declaration back for the OpenAPI document."""

    def declare(operation: Operation) -> Operation:
        @wraps(operation)
        def checked(self: Any, principal: Principal, *args: Any, **kwargs: Any) -> Any:
            require_scope(principal, scope)
            return operation(self, principal, *args, **kwargs)

        checked.required_scope = scope  # type: ignore[attr-defined]
        return checked  # type: ignore[return-value]

    return declare


def required_scope(operation: Callable[..., Any]) -> str | None:
    """The scope declared with :func:`requires` on ``operation``; None: any valid token (or none)."""
    return getattr(operation, "required_scope", None)


def sees_organization(principal: Principal, organization_id: str) -> bool:
    """Tenancy: a caller sees its own organization; an admin sees every one."""
    return principal.is_admin or organization_id == principal.organization_id


def created_in(principal: Principal, organization_id: str | None, what: str) -> str:
    """The organization a new ``what`` (tokens, webhooks) goes to: the caller's own unless an admin
    names another. Naming another organization is a 403 to anyone else (the body said it, so there
    is nothing to hide)."""
    organization = organization_id or principal.organization_id
    if not sees_organization(principal, organization):
        raise Forbidden(
            f"only an admin token can create {what} in another organization",
            [FieldError("organization_id", "must be your own organization")],
        )
    return organization


def listed_organization(principal: Principal, organization_id: str | None) -> str:
    """The organization a listing reads: the caller's own unless an admin names another. Another
    organization is a 404 to anyone else, as its items are."""
    organization = organization_id or principal.organization_id
    if not sees_organization(principal, organization):
        raise NotFound(f"organization {organization!r} not found")
    return organization
