"""``GET/PUT /v1/organizations/{id}/policy``: what every token of an organization must satisfy.

- ``allowed_cidrs``: verification requires the caller's address in it (and in the token's own list,
  which can only narrow it);
- ``max_lifetime_days``, ``require_expiry``: bounds on new tokens' ``expires_at``;
- ``on_new_location`` (``notify``/``disable``): what the first use from a new network does;
- ``inactivity_days``, ``inactivity_notice_days``: the sweep revokes tokens unused that long, with
  notices before.

The fields verification and the sweep need are copied onto each token (``organizations.repository.
token_copy``), so neither reads the policy.

``tokens:manage`` for its own organization, ``admin`` for any; another organization is a 404.
A PUT writes the policy item (``propagated: false``) and queues its copy onto the organization's
tokens for a worker (``organizations/propagation.py``), which marks it ``propagated`` once every token
carries it; the PUT answers without waiting and reads none of the organization's tokens.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from functools import lru_cache
from typing import Any

from tokensmith import clock
from tokensmith.auth import TOKENS_MANAGE, Principal, RequestMeta, authority, requires, sees_organization
from tokensmith.aws.dynamodb import VersionConflict
from tokensmith.errors import (
    Conflict,
    FieldError,
    NotFound,
    PreconditionFailed,
    ServiceUnavailable,
    ValidationFailed,
)
from tokensmith.observability import count
from tokensmith.organizations.compliance import noncompliance
from tokensmith.organizations.propagation import PolicyQueue, PropagationStep, policy_queue
from tokensmith.organizations.repository import (
    ENFORCEMENT_COUNTS,
    POLICY_DEFAULTS,
    OrganizationPolicies,
    default_policies,
)
from tokensmith.settings import get_settings

_ORGANIZATION_ID = re.compile(r"[A-Za-z0-9._:@-]{1,128}")  # models.OrganizationId


class OrganizationPolicyService:
    def __init__(
        self,
        policies: OrganizationPolicies,
        queue: PolicyQueue,
        now: Callable[[], datetime] = clock.now,
        max_lifetime_days: int = 0,
    ) -> None:
        self.policies = policies
        self.queue = queue
        self._now = now
        self.max_lifetime_days = max_lifetime_days  # the deployment's (MaxTokenLifetimeDays), 0 = none

    @requires(TOKENS_MANAGE)
    def get_policy(self, principal: Principal, organization_id: str) -> dict[str, Any]:
        self._require_sees(principal, organization_id)
        return policy_view(organization_id, self.policies.get_policy(organization_id))

    @requires(TOKENS_MANAGE)
    def put_policy(
        self, principal: Principal, organization_id: str, fields: dict[str, Any], meta: RequestMeta
    ) -> dict[str, Any]:
        """Replace the policy with ``fields`` (the request body, validated: an omitted field is its
        default); ``enforce`` (not part of the policy) starts its enforcement on the non-compliant tokens."""
        self._require_sees(principal, organization_id)
        enforce = fields.pop("enforce", "none")
        fields = {**POLICY_DEFAULTS, **fields}
        self._check(fields)
        current = self.policies.get_policy(organization_id)
        version = current["version"] if current else None
        if meta.if_match is not None and (version or 0) not in meta.if_match:
            raise PreconditionFailed(f"the policy is at version {version or 0}, not the one in If-Match")
        new_version = (version or 0) + 1
        policy = {
            "organization_id": organization_id,
            **fields,
            "allowed_cidrs": sorted(set(fields["allowed_cidrs"])),
            "version": new_version,
            "modified_at": clock.to_iso(self._now()),
            "modified_by": principal.stamp,
            "propagated": False,
        }
        if enforce != "none":
            policy.update(self._enforcement(principal, enforce))
        try:
            self.policies.put_policy(policy, version)
        except VersionConflict:
            raise Conflict("the policy was changed by another request; retry") from None
        try:
            self.queue.send(PropagationStep(organization_id, new_version))
        except Exception:
            # Written but not queued: its tokens keep the older list. A retried PUT writes and queues anew.
            count("organization.policy_not_queued")
            raise ServiceUnavailable(
                "the policy was saved but its copy onto the tokens could not be queued; send it again",
                headers={"Retry-After": "1"},
            ) from None
        count("organization.policy_updated")
        return policy_view(organization_id, policy)

    @requires(TOKENS_MANAGE)
    def preview_policy(
        self,
        principal: Principal,
        organization_id: str,
        fields: dict[str, Any],
        limit: int = 50,
        cursor: str | None = None,
    ) -> dict[str, Any]:
        """One page of the organization's live tokens that the candidate policy ``fields`` (a PUT body)
        finds non-compliant, and why: one ``Query`` reading at most ``limit`` tokens, whatever the
        organization's size (the page may list none and still have a next one)."""
        self._require_sees(principal, organization_id)
        fields.pop("enforce", None)
        candidate = {**POLICY_DEFAULTS, **fields}
        self._check(candidate)
        now = self._now()
        items, next_cursor, examined = self.policies.token_page(organization_id, limit, cursor, clock.epoch(now))
        found = []
        for item in items:
            reasons = noncompliance(candidate, item, now)
            if reasons:
                found.append(
                    {
                        "token_id": item["id"],
                        "name": item["name"],
                        "owner": item.get("owner"),
                        "status": item["status"],
                        "reasons": reasons,
                    }
                )
        count("organization.policy_previewed")
        return {"organization_id": organization_id, "tokens": found, "examined": examined, "next_cursor": next_cursor}

    def _enforcement(self, principal: Principal, action: str) -> dict[str, Any]:
        """What a PUT with ``enforce`` adds to the policy item: the action, who asked (the actor of each
        change), and its progress at zero (``repository.record_enforcement`` adds to it)."""
        by = {
            "token_id": principal.token_id,
            "organization_id": principal.organization_id,
            "owner": principal.owner,
            "authority": authority(principal),
            "scopes": sorted(principal.scopes),  # enforcement touches no token stronger than this caller
        }
        started = {"action": action, "by": by, "started_at": clock.to_iso(self._now())}
        return {
            "enforcement": started,
            "enforcement_pages": 0,
            "enforcement_done": False,
            **{f"enforcement_{name}": 0 for name in ENFORCEMENT_COUNTS},
        }

    def _check(self, fields: dict[str, Any]) -> None:
        """The rules across fields, and against the deployment, that the request model cannot state."""
        errors = []
        lifetime = fields["max_lifetime_days"]
        if lifetime is not None and self.max_lifetime_days and lifetime > self.max_lifetime_days:
            errors.append(
                FieldError("max_lifetime_days", f"must be at most {self.max_lifetime_days} (the deployment's limit)")
            )
        inactivity, notices = fields["inactivity_days"], fields["inactivity_notice_days"]
        if notices and inactivity is None:
            errors.append(FieldError("inactivity_notice_days", "needs inactivity_days"))
        elif inactivity is not None and any(day >= inactivity for day in notices):
            errors.append(FieldError("inactivity_notice_days", "each day must be less than inactivity_days"))
        if errors:
            raise ValidationFailed("the policy is not acceptable: " + "; ".join(e.message for e in errors), errors)

    @staticmethod
    def _require_sees(principal: Principal, organization_id: str) -> None:
        if not _ORGANIZATION_ID.fullmatch(organization_id) or not sees_organization(principal, organization_id):
            raise NotFound(f"organization {organization_id!r} not found")


def policy_view(organization_id: str, item: dict[str, Any] | None) -> dict[str, Any]:
    """What callers see: an organization without a policy has an empty one at version 0."""
    item = item or {}
    return {
        "organization_id": organization_id,
        **{name: item.get(name, default) for name, default in POLICY_DEFAULTS.items()},
        "allowed_cidrs": list(item.get("allowed_cidrs") or []),
        "inactivity_notice_days": list(item.get("inactivity_notice_days") or []),
        "version": item.get("version", 0),
        "modified_at": item.get("modified_at"),
        # False until the worker has copied it onto every token; a policy written before the worker
        # existed was copied inside its PUT.
        "propagated": item.get("propagated", True),
        "enforcement": enforcement_view(item),
    }


def enforcement_view(item: dict[str, Any]) -> dict[str, Any] | None:
    """The latest PUT's ``enforce`` and its progress, None when it asked none."""
    started = item.get("enforcement")
    if not started:
        return None
    by = {k: v for k, v in started["by"].items() if k in ("token_id", "organization_id", "owner")}
    counts = {name: int(item.get(f"enforcement_{name}", 0)) for name in ENFORCEMENT_COUNTS}
    return {
        "action": started["action"],
        **counts,
        "done": bool(item.get("enforcement_done")),
        "started_at": started["started_at"],
        "by": by,
    }


@lru_cache(maxsize=1)
def organization_policy_service() -> OrganizationPolicyService:
    return OrganizationPolicyService(
        default_policies(), policy_queue(), max_lifetime_days=get_settings().max_token_lifetime_days
    )
