"""Who is calling, and what they may do: the caller (:class:`Principal`), the request's context
(:class:`RequestMeta`), the service scopes, and every authorization rule the services apply.

- **Tenancy**: a caller sees its own organization only; ``admin`` (the platform operator) sees all.
  Another organization's item is a 404, never a 403.
- **Owners act for themselves**: a token with an ``owner`` acts for that person, one without is the
  organization's own (a service token). Without ``tokens:manage`` a caller reads, creates and
  manages only tokens of its own owner (an owner-less caller: only owner-less tokens); another
  owner's token is a 404, as another organization's is. ``tokens:manage`` acts for the whole
  organization.
- **Nobody touches a stronger token**: changing, rotating, disabling, enabling, revoking or deleting
  a token needs every scope it holds (``admin`` holds every service scope; the deploying team's own
  scopes count as written). Reading is not limited by this.
- **A disable binds its authority**: a token disabled by a caller holding ``tokens:manage`` or
  ``admin`` is re-enabled only by a caller holding that scope too.

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
TOKENS_MANAGE = "tokens:manage"  # acts for the whole organization: every owner's tokens
TOKENS_VERIFY = "tokens:verify"
WEBHOOKS_READ = "webhooks:read"
WEBHOOKS_WRITE = "webhooks:write"
CONSOLE = "console"  # may open a console session
ADMIN = "admin"  # the platform operator: every service scope, across organizations
SERVICE_SCOPES: tuple[str, ...] = (
    TOKENS_READ,
    TOKENS_WRITE,
    TOKENS_MANAGE,
    TOKENS_VERIFY,
    WEBHOOKS_READ,
    WEBHOOKS_WRITE,
    CONSOLE,
    ADMIN,
)


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


# --- inside an organization ----------------------------------------------------------------------------


def manages_organization(principal: Principal) -> bool:
    """``tokens:manage`` (or ``admin``): acts for every owner of the organization."""
    return grants(principal.scopes, TOKENS_MANAGE)


def acts_for(principal: Principal, owner: str | None) -> bool:
    """The caller may act for ``owner``: its own owner (owner-less for owner-less), or anyone with
    ``tokens:manage``."""
    return manages_organization(principal) or (owner or None) == principal.owner


def may_see_token(principal: Principal, item: dict[str, Any]) -> bool:
    """Tenancy, then ownership: the token is in the caller's reach (else it is a 404 to the caller)."""
    return sees_organization(principal, item["organization_id"]) and acts_for(principal, item.get("owner"))


def require_acts_for(principal: Principal, owner: str | None) -> None:
    """Creating a token for ``owner``: only for itself, unless the caller holds ``tokens:manage``."""
    if not acts_for(principal, owner):
        raise Forbidden(
            f"only a token with the {TOKENS_MANAGE!r} scope creates tokens for another owner",
            [FieldError("owner", "must be the calling token's owner")],
        )


def lacking_scopes(principal: Principal, scopes: list[str] | tuple[str, ...]) -> list[str]:
    """The ``scopes`` the caller does not hold (``admin`` holds every service scope)."""
    return sorted(scope for scope in scopes if not grants(principal.scopes, scope))


def require_not_stronger(principal: Principal, item: dict[str, Any]) -> None:
    """Nobody changes, rotates, disables, enables, revokes or deletes a token stronger than itself."""
    missing = lacking_scopes(principal, item.get("scopes") or [])
    if missing:
        raise Forbidden(
            f"the token holds scopes the calling token lacks: {', '.join(missing)}",
            [FieldError("scopes", f"the calling token lacks {scope!r}") for scope in missing],
        )


def authority(principal: Principal) -> str | None:
    """The strongest of ``admin`` and ``tokens:manage`` the caller holds (None: neither): what a
    disable it makes binds."""
    if principal.is_admin:
        return ADMIN
    return TOKENS_MANAGE if manages_organization(principal) else None


def outranks(candidate: str | None, recorded: str | None) -> bool:
    """``candidate`` is a stronger authority than ``recorded``."""
    rank = {None: 0, TOKENS_MANAGE: 1, ADMIN: 2}
    return rank.get(candidate, 0) > rank.get(recorded, 0)


def require_authority(principal: Principal, item: dict[str, Any]) -> None:
    """Re-enabling: a disable by a caller holding ``tokens:manage`` or ``admin`` is undone only by a
    caller holding that scope too."""
    needed = (item.get("disabled_by") or {}).get("authority")
    if needed and not grants(principal.scopes, needed):
        raise Forbidden(f"the token was disabled by a caller with the {needed!r} scope; re-enabling needs it too")
