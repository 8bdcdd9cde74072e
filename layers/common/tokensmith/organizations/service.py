"""``GET/PUT /v1/organizations/{id}/policy``: the ``allowed_cidrs`` every token of an organization
must also satisfy (a token's own list can only narrow it: verification requires both).

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
from tokensmith.auth import TOKENS_MANAGE, Principal, RequestMeta, requires, sees_organization
from tokensmith.aws.dynamodb import VersionConflict
from tokensmith.errors import Conflict, NotFound, PreconditionFailed, ServiceUnavailable
from tokensmith.observability import count
from tokensmith.organizations.propagation import PolicyQueue, PropagationStep, policy_queue
from tokensmith.organizations.repository import OrganizationPolicies, default_policies

_ORGANIZATION_ID = re.compile(r"[A-Za-z0-9._:@-]{1,128}")  # models.OrganizationId


class OrganizationPolicyService:
    def __init__(
        self,
        policies: OrganizationPolicies,
        queue: PolicyQueue,
        now: Callable[[], datetime] = clock.now,
    ) -> None:
        self.policies = policies
        self.queue = queue
        self._now = now

    @requires(TOKENS_MANAGE)
    def get_policy(self, principal: Principal, organization_id: str) -> dict[str, Any]:
        self._require_sees(principal, organization_id)
        return policy_view(organization_id, self.policies.get_policy(organization_id))

    @requires(TOKENS_MANAGE)
    def put_policy(
        self, principal: Principal, organization_id: str, allowed_cidrs: list[str], meta: RequestMeta
    ) -> dict[str, Any]:
        self._require_sees(principal, organization_id)
        current = self.policies.get_policy(organization_id)
        version = current["version"] if current else None
        if meta.if_match is not None and (version or 0) not in meta.if_match:
            raise PreconditionFailed(f"the policy is at version {version or 0}, not the one in If-Match")
        new_version = (version or 0) + 1
        policy = {
            "organization_id": organization_id,
            "allowed_cidrs": sorted(set(allowed_cidrs)),
            "version": new_version,
            "modified_at": clock.to_iso(self._now()),
            "modified_by": principal.stamp,
            "propagated": False,
        }
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

    @staticmethod
    def _require_sees(principal: Principal, organization_id: str) -> None:
        if not _ORGANIZATION_ID.fullmatch(organization_id) or not sees_organization(principal, organization_id):
            raise NotFound(f"organization {organization_id!r} not found")


def policy_view(organization_id: str, item: dict[str, Any] | None) -> dict[str, Any]:
    """What callers see: an organization without a policy has an empty one at version 0."""
    item = item or {}
    return {
        "organization_id": organization_id,
        "allowed_cidrs": list(item.get("allowed_cidrs") or []),
        "version": item.get("version", 0),
        "modified_at": item.get("modified_at"),
        # False until the worker has copied it onto every token; a policy written before the worker
        # existed was copied inside its PUT.
        "propagated": item.get("propagated", True),
    }


@lru_cache(maxsize=1)
def organization_policy_service() -> OrganizationPolicyService:
    return OrganizationPolicyService(default_policies(), policy_queue())
