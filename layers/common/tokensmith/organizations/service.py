"""``GET/PUT /v1/organizations/{id}/policy``: the ``allowed_cidrs`` every token of an organization
must also satisfy (a token's own list can only narrow it: verification requires both).

``tokens:manage`` for its own organization, ``admin`` for any; another organization is a 404.
A PUT writes the policy item, then copies the list onto each token of the organization (one
conditional write per token), and once more a moment later for tokens created meanwhile that the
index did not show yet; it answers once every token carries it.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import datetime
from functools import lru_cache
from typing import Any

from tokensmith import clock
from tokensmith.auth import TOKENS_MANAGE, Principal, RequestMeta, requires, sees_organization
from tokensmith.aws.dynamodb import VersionConflict
from tokensmith.errors import Conflict, NotFound, PreconditionFailed
from tokensmith.observability import count
from tokensmith.organizations.repository import OrganizationPolicies, default_policies

_ORGANIZATION_ID = re.compile(r"[A-Za-z0-9._:@-]{1,128}")  # models.OrganizationId
SETTLE_SECONDS = 1.0  # the by-organization index is eventually consistent: the second pass's delay


class OrganizationPolicyService:
    def __init__(
        self,
        policies: OrganizationPolicies,
        now: Callable[[], datetime] = clock.now,
        settle_seconds: float = SETTLE_SECONDS,
    ) -> None:
        self.policies = policies
        self._now = now
        self.settle_seconds = settle_seconds

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
        policy = {
            "organization_id": organization_id,
            "allowed_cidrs": sorted(set(allowed_cidrs)),
            "version": (version or 0) + 1,
            "modified_at": clock.to_iso(self._now()),
            "modified_by": principal.stamp,
        }
        try:
            self.policies.put_policy(policy, version)
        except VersionConflict:
            raise Conflict("the policy was changed by another request; retry") from None
        self._propagate(policy)
        count("organization.policy_updated")
        return policy_view(organization_id, policy)

    def _propagate(self, policy: dict[str, Any]) -> None:
        for attempt in range(2):
            if attempt:
                time.sleep(self.settle_seconds)
            for token_id in self.policies.tokens_behind(policy["organization_id"], policy["version"]):
                self.policies.copy_to_token(token_id, policy["allowed_cidrs"], policy["version"])

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
    }


@lru_cache(maxsize=1)
def organization_policy_service() -> OrganizationPolicyService:
    return OrganizationPolicyService(default_policies())
