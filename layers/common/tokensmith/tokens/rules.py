"""The checks a token change must pass, as plain functions of the settings and the request: scopes
exist and are not stronger than the caller's, an expiry is in the future and within the ceiling, a
token is live, a name is free. Each raises the domain error the caller sees."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from tokensmith import clock
from tokensmith.auth import TOKENS_MANAGE, Principal, grants, manages_organization
from tokensmith.errors import Conflict, FieldError, Forbidden, ValidationFailed
from tokensmith.organizations.compliance import lifetime_ceiling, lifetime_problem
from tokensmith.settings import Settings
from tokensmith.tokens.lifecycle import LIVE_STATUSES, effective_status
from tokensmith.tokens.policy_fields import POLICY_FIELDS, stored_policy_fields
from tokensmith.tokens.window_shards import shard_count


def check_catalog(settings: Settings, scopes: list[str], field_name: str) -> None:
    """Every scope is a service scope or one of the deploying team's catalog (422 naming the others)."""
    unknown = sorted(set(scopes) - settings.scope_catalog)
    if unknown:
        raise ValidationFailed(
            f"unknown scopes: {', '.join(unknown)}",
            [FieldError(field_name, f"unknown scope {scope!r}") for scope in unknown],
        )


def check_grantable(
    settings: Settings, principal: Principal, scopes: list[str], field_name: str, subject: str = "a token"
) -> None:
    """Scopes must exist, and a caller never grants what it does not hold (admins hold all)."""
    check_catalog(settings, scopes, field_name)
    if principal.is_admin:
        return
    missing = sorted(scope for scope in scopes if not grants(principal.scopes, scope))
    if missing:
        raise ValidationFailed(
            f"cannot give {subject} scopes the calling token does not have: {', '.join(missing)}",
            [FieldError(field_name, f"scope {scope!r} exceeds the calling token's scopes") for scope in missing],
        )


def check_expiry(
    settings: Settings, expires_at: datetime | None, now: datetime, default_to_max: bool
) -> datetime | None:
    """``expires_at`` in the future and within ``MaxTokenLifetimeDays``; absent: the ceiling when
    ``default_to_max`` (a new token), else None (no change)."""
    max_days = settings.max_token_lifetime_days
    ceiling = now + timedelta(days=max_days) if max_days else None
    if expires_at is None:
        return ceiling if default_to_max else None
    if expires_at <= now:
        raise ValidationFailed("expires_at must be in the future", [FieldError("expires_at", "must be in the future")])
    if ceiling is not None and expires_at > ceiling:
        raise ValidationFailed(
            f"expires_at is beyond the maximum token lifetime of {max_days} days ({clock.to_iso(ceiling)})",
            [FieldError("expires_at", f"must be at most {max_days} days ahead")],
        )
    return expires_at


def policy_default_expiry(policy: dict[str, Any] | None, default: datetime | None, now: datetime) -> datetime | None:
    """A new token's ``expires_at`` when the request gives none: the earlier of the deployment's
    ceiling (``default``) and the organization's (``max_lifetime_days``)."""
    ceiling = lifetime_ceiling(policy, now)
    if ceiling is None or (default is not None and default <= ceiling):
        return default
    return ceiling


def check_policy_expiry(policy: dict[str, Any] | None, expires_at: datetime | None, now: datetime) -> None:
    """The organization's ``require_expiry`` and ``max_lifetime_days`` on an ``expires_at`` being
    written (None: the token has none): a 422 naming ``expires_at``."""
    problem = lifetime_problem(policy, clock.epoch(expires_at) if expires_at else None, now)
    if problem is not None:
        raise ValidationFailed(f"expires_at is {problem}", [FieldError("expires_at", problem)])


def check_retire_on_first_use(grace_period_seconds: int, retire_on_first_use: bool) -> None:
    """``retire_on_first_use`` caps a grace period by the new secret's first use: without a grace
    (0, the old secret dies at once) there is nothing to cap, and accepting it would promise an
    overlap that does not exist (422 naming the field)."""
    if retire_on_first_use and grace_period_seconds <= 0:
        raise ValidationFailed(
            "retire_on_first_use needs a grace_period_seconds above 0: without one the old secret dies at once",
            [FieldError("retire_on_first_use", "requires grace_period_seconds > 0")],
        )


def require_live(item: dict[str, Any], now: datetime, verb: str) -> None:
    status = effective_status(item, clock.epoch(now))
    if status not in LIVE_STATUSES:
        raise Conflict(f"cannot {verb} a token that is {status}")


def editable_values(settings: Settings, fields: dict[str, Any], now: datetime) -> dict[str, Any]:
    """Request fields → stored attribute values (``""`` clears a text field; an expiry is checked)."""
    values: dict[str, Any] = {}
    for key, value in fields.items():
        if key in ("description", "icon"):
            values[key] = value or None
        elif key == "scopes":
            values[key] = sorted(value)
        elif key in POLICY_FIELDS:
            values.update(stored_policy_fields({key: value}))
            if key == "credits" and value is not None:
                values["credits"] = {**value, "granted_at": clock.to_iso(now)}
        elif key == "expires_at":
            expires = check_expiry(settings, value, now, default_to_max=False)
            values["expires_at"] = clock.to_iso(expires) if expires else None
            values["expires_epoch"] = clock.epoch(expires) if expires else None
        else:
            values[key] = value
    return values


def name_conflict(name: str) -> Conflict:
    return Conflict(
        f"a live token named {name!r} already exists for this organization and owner",
        [FieldError("name", "already in use")],
    )


def require_no_self_extension(principal: Principal, item: dict[str, Any], values: dict[str, Any]) -> None:
    """A token never moves its own ``expires_at`` later (it may shorten its life): extending takes
    another caller that may manage it, so ``MaxTokenLifetimeDays`` stays a ceiling in practice."""
    if item["id"] != principal.token_id or "expires_epoch" not in values:
        return
    current, wanted = item.get("expires_epoch"), values["expires_epoch"]
    if current is not None and (wanted is None or wanted > current):
        raise Forbidden(
            "a token cannot extend its own life; a token that may manage it can",
            [FieldError("expires_at", "must not be later than the calling token's own expiry")],
        )


# --- usage policies -------------------------------------------------------------------------------------


def loosened_policies(item: dict[str, Any], values: dict[str, Any], live_credits: int | None) -> list[str]:
    """The policy fields that ``values`` would loosen on the token ``item``: a rate limit removed,
    raised, shortened or no longer shared; credits removed, raised above what is left now
    (``live_credits``: a grant) or refilled more; an allowlist widened or removed. ``meta`` and
    ``low_threshold`` limit nothing."""
    loosened = []
    if "ratelimits" in values and not _limits_kept(item.get("ratelimits") or [], values["ratelimits"] or []):
        loosened.append("ratelimits")
    if "credits" in values and _credits_loosened(item.get("credits"), values["credits"], live_credits):
        loosened.append("credits")
    if "allowed_cidrs" in values and not _cidrs_kept(item.get("allowed_cidrs") or [], values["allowed_cidrs"] or []):
        loosened.append("allowed_cidrs")
    return loosened


def require_may_loosen(principal: Principal, item: dict[str, Any], loosened: list[str]) -> None:
    """Loosening a token's limits, granting it credits or widening its allowlist takes
    ``tokens:manage`` (its own organization) or ``admin``, and never the token itself."""
    if not loosened:
        return
    if item["id"] == principal.token_id:
        raise Forbidden(
            "a token cannot loosen its own usage policies; a token with tokens:manage can",
            [FieldError(name, "must not loosen the calling token's own policy") for name in loosened],
        )
    if not manages_organization(principal):
        raise Forbidden(
            f"loosening usage policies or granting credits takes the {TOKENS_MANAGE!r} scope",
            [FieldError(name, f"loosening it takes {TOKENS_MANAGE!r}") for name in loosened],
        )


def require_may_create_under_policy(principal: Principal, caller: dict[str, Any] | None) -> None:
    """A caller under usage policies (rate limits, credits or an allowlist) and without
    ``tokens:manage`` creates no tokens: each would be a fresh budget beside its own."""
    if caller is None or manages_organization(principal):
        return
    if any(caller.get(name) for name in ("ratelimits", "credits", "allowed_cidrs")):
        raise Forbidden(f"a token under usage policies creates tokens only with the {TOKENS_MANAGE!r} scope")


def _limits_kept(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> bool:
    """Each limit kept, with no higher ``limit``. A changed duration or ``shared`` counts as loosening
    even when it looks stricter: the window counter's key moves with them, so the change would start
    a new, empty window (a token could reset its own count by editing itself). So does a lower limit
    counted in fewer shards (``window_shards``): the dropped shards' counts would be forgotten for
    the rest of the window, and the kept shards' shares grow."""
    by_name = {limit["name"]: limit for limit in new}
    for limit in old:
        kept = by_name.get(limit["name"])
        if (
            kept is None
            or kept["limit"] > limit["limit"]
            or kept["duration_seconds"] != limit["duration_seconds"]
            or kept.get("shared", "token") != limit.get("shared", "token")
            or shard_count(kept["limit"]) != shard_count(limit["limit"])
        ):
            return False
    return True


def _credits_loosened(old: dict[str, Any] | None, new: dict[str, Any] | None, live: int | None) -> bool:
    if old is None:
        return False  # from unlimited to metered
    if new is None:
        return True
    if new["remaining"] > (live if live is not None else old["remaining"]):
        return True
    old_refill, new_refill = old.get("refill"), new.get("refill")
    if new_refill is None:
        return False
    # any other interval or day of the month moves the period, and with it the next refill: loosening
    return (
        old_refill is None
        or new_refill["amount"] > old_refill["amount"]
        or new_refill["interval"] != old_refill["interval"]
        or new_refill.get("day_of_month") != old_refill.get("day_of_month")
    )


def _cidrs_kept(old: list[str], new: list[str]) -> bool:
    if not old:
        return True
    if not new:
        return False
    import ipaddress

    old_networks = [ipaddress.ip_network(cidr) for cidr in old]
    return all(
        any(network.version == o.version and network.subnet_of(o) for o in old_networks)  # type: ignore[arg-type]
        for network in (ipaddress.ip_network(cidr) for cidr in new)
    )
