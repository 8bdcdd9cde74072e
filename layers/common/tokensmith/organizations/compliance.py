"""Whether a token complies with an organization policy: plain functions, no I/O.

- :func:`lifetime_problem`: what a token's ``expires_at`` must satisfy under ``max_lifetime_days``
  and ``require_expiry``, checked on every write that sets it (``tokens/rules.check_policy_expiry``)
  and by the preview;
- :func:`noncompliance`: the reasons a live token would not comply with a candidate policy
  (``POST .../policy/preview``, and ``PUT ... {enforce}``, which disables or revokes those tokens).

The reasons (:data:`REASONS`):

- ``lifetime``: no expiry under ``require_expiry`` or ``max_lifetime_days``, or an expiry later than
  now + ``max_lifetime_days``;
- ``allowlist``: under a non-empty ``allowed_cidrs``, its recent use (``last_used_ip``, and each of
  its ``networks`` when it has them) lies outside every one of them, or its own ``allowed_cidrs``
  overlap none of them (it could then verify from nowhere);
- ``inactivity``: unused (since its last use, else its creation) for longer than ``inactivity_days``:
  the next sweep would revoke it.

The policy has no scope field, so no token is ever non-compliant for its scopes.
"""

from __future__ import annotations

import ipaddress
from datetime import datetime, timedelta
from typing import Any

from tokensmith import clock
from tokensmith.tokens.lifecycle import is_live

LIFETIME = "lifetime"
ALLOWLIST = "allowlist"
INACTIVITY = "inactivity"
REASONS = (LIFETIME, ALLOWLIST, INACTIVITY)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def lifetime_ceiling(policy: dict[str, Any] | None, now: datetime) -> datetime | None:
    """The latest ``expires_at`` the policy allows a token written now (None: no bound)."""
    days = (policy or {}).get("max_lifetime_days")
    return now + timedelta(days=days) if days else None


def requires_expiry(policy: dict[str, Any] | None) -> bool:
    """A token must then have an ``expires_at``: ``require_expiry``, or any ``max_lifetime_days``."""
    policy = policy or {}
    return bool(policy.get("require_expiry") or policy.get("max_lifetime_days"))


def lifetime_problem(policy: dict[str, Any] | None, expires_epoch: int | None, now: datetime) -> str | None:
    """Why a token expiring at ``expires_epoch`` (None: never) breaks the policy's lifetime rules, or None."""
    if expires_epoch is None:
        return "required by the organization's policy" if requires_expiry(policy) else None
    ceiling = lifetime_ceiling(policy, now)
    if ceiling is not None and expires_epoch > clock.epoch(ceiling):
        days = (policy or {})["max_lifetime_days"]
        return f"beyond the organization's max_lifetime_days ({days} days, {clock.to_iso(ceiling)})"
    return None


def noncompliance(policy: dict[str, Any], item: dict[str, Any], now: datetime) -> list[str]:
    """The reasons (in :data:`REASONS` order) the token ``item`` would not comply with ``policy``;
    ``[]`` for a compliant token and for one that is not live (the policy no longer concerns it)."""
    now_epoch = clock.epoch(now)
    if not is_live(item, now_epoch):
        return []
    reasons = []
    if lifetime_problem(policy, item.get("expires_epoch"), now) is not None:
        reasons.append(LIFETIME)
    if _outside_allowlist(policy.get("allowed_cidrs") or [], item):
        reasons.append(ALLOWLIST)
    if _inactive(policy.get("inactivity_days"), item, now):
        reasons.append(INACTIVITY)
    return reasons


def _outside_allowlist(cidrs: list[str], item: dict[str, Any]) -> bool:
    if not cidrs:
        return False
    allowed = [ipaddress.ip_network(cidr, strict=False) for cidr in cidrs]
    own = [ipaddress.ip_network(cidr, strict=False) for cidr in item.get("allowed_cidrs") or []]
    if own and not any(_overlap(mine, theirs) for mine in own for theirs in allowed):
        return True
    used: list[Network] = [ipaddress.ip_network(entry["network"], strict=False) for entry in item.get("networks") or []]
    if item.get("last_used_ip"):
        try:
            used.append(ipaddress.ip_network(item["last_used_ip"]))
        except ValueError:
            pass  # not an address (a test client's placeholder): nothing to say about it
    return any(not any(_overlap(network, theirs) for theirs in allowed) for network in used)


def _overlap(one: Network, other: Network) -> bool:
    return one.version == other.version and one.overlaps(other)


def _inactive(days: int | None, item: dict[str, Any], now: datetime) -> bool:
    if not days:
        return False
    since = item.get("last_used_at") or item.get("created_at")  # ISO times of one format sort as they read
    return since is not None and since < clock.to_iso(now - timedelta(days=days))
