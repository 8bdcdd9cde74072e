"""``PUT /v1/organizations/{id}/policy`` with ``enforce: disable|revoke``: the propagation worker
(``propagation.py``) hands each page of the organization's tokens to :class:`PolicyEnforcer`, which
disables or revokes (reason :data:`POLICY_REASON`) every live token the new policy finds
non-compliant (``compliance.noncompliance``).

Each token is changed with ``TokenChanges``' machinery: one transaction conditioned on the version
read, with its own audit event (``token.disabled`` / ``token.revoked``, reason ``policy``, details
``{policy_version, reasons}``) whose actor is the token that PUT the policy. The plan re-checks the
token as read just before the write, so a token changed meanwhile (extended, revoked, narrowed) is
judged as it now is, and a redelivered page changes nothing twice (a disabled or revoked token is
skipped). A disable binds the authority of the policy's modifier, as ``POST .../disable`` does.

Enforcement acts for the modifier, so it follows "nobody touches a stronger token": a token holding a
scope the modifier lacks is left as it is (counted ``skipped``), as ``POST .../revoke`` by the same
caller would be refused; a caller holding its scopes can act on it. The policy itself still binds it
(its allowlist at verification, the inactivity sweep).
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any

from tokensmith.auth import Principal, RequestMeta, lacking_scopes
from tokensmith.errors import Conflict, NotFound
from tokensmith.observability import count
from tokensmith.organizations.compliance import noncompliance
from tokensmith.settings import get_settings
from tokensmith.tokens.changes import TokenChangePlan, TokenChanges, disable_plan

POLICY_REASON = "policy"  # the revocation reason, and the reason of a disable's event
ENFORCE_ACTIONS = ("none", "disable", "revoke")


def enforcement_principal(enforcement: dict[str, Any]) -> Principal:
    """The caller that PUT the policy, as stored with its ``enforcement``: the actor of each change, with
    its scopes (an enforcement stored before they were kept: its authority alone, the narrower)."""
    by = enforcement["by"]
    scopes = frozenset(by.get("scopes") or {by["authority"]})
    return Principal(by["token_id"], by["organization_id"], by.get("owner"), scopes)


class PolicyEnforcer(TokenChanges):
    def enforce(self, policy: dict[str, Any], items: list[dict[str, Any]]) -> dict[str, int]:
        """Disable or revoke (``policy["enforcement"]["action"]``) the non-compliant live tokens among
        ``items``; how many were disabled and revoked now, and how many were skipped as stronger than
        the policy's modifier."""
        enforcement = policy["enforcement"]
        action, principal = enforcement["action"], enforcement_principal(enforcement)
        tally = {"disabled": 0, "revoked": 0, "skipped": 0}
        now = self._now()
        for item in items:
            if not self._needs_action(policy, action, item, now):
                continue
            if lacking_scopes(principal, item.get("scopes") or []):
                tally["skipped"] += 1
                continue
            try:
                if self._apply(policy, action, principal, item["id"]):
                    tally["disabled" if action == "disable" else "revoked"] += 1
            except NotFound:
                continue  # deleted meanwhile
            except Conflict:
                count("organization.policy_enforcement_skipped")  # it kept changing: judged by its next use
        return tally

    @staticmethod
    def _needs_action(policy: dict[str, Any], action: str, item: dict[str, Any], now: datetime) -> bool:
        if action == "disable" and item["status"] == "disabled":
            return False
        return bool(noncompliance(policy, item, now))

    def _apply(self, policy: dict[str, Any], action: str, principal: Principal, token_id: str) -> bool:
        """Change the token if, as read just before the write, it is still live and non-compliant."""
        planned: list[bool] = []

        def plan(item: dict[str, Any], at: datetime) -> TokenChangePlan | None:
            reasons = noncompliance(policy, item, at) if self._needs_action(policy, action, item, at) else []
            if lacking_scopes(principal, item.get("scopes") or []):
                reasons = []  # made stronger since the page was read
            planned[:] = [bool(reasons)]
            if not reasons:
                return None
            change = self.revoke_plan(at, POLICY_REASON) if action == "revoke" else disable_plan(principal, item, at)
            if change is None:
                planned[:] = [False]
                return None
            change.reason = POLICY_REASON
            change.details = {"policy_version": policy["version"], "reasons": reasons}
            return change

        self.change_with_retries(principal, token_id, RequestMeta(user_agent="tokensmith-policy"), plan, True)
        return planned == [True]


@lru_cache(maxsize=1)
def policy_enforcer() -> PolicyEnforcer:
    """The worker's process-wide enforcer over the configured table."""
    from tokensmith.tokens.repository import default_repository

    return PolicyEnforcer(default_repository(), get_settings())
