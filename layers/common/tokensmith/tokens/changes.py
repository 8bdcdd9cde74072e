"""The change machinery of tokens: read → check → one transaction.

An operation hands :meth:`TokenChanges.change_with_retries` a function that turns the token as read
into a :class:`TokenChangePlan` (what to write, which event, which name guards) or None (nothing to
do). The machinery derives everything else (``version``, ``modified_at``, ``audit.updated``,
``purge_at``, the wake-up time of the expiry sweep, the token's keys in the list indexes, the audit
event's diff, the name-guard claim and release) and writes it all in one transaction conditioned on
the ``version`` it read. A change that lost a race is read and planned again (three attempts) unless
the caller pinned a version with ``If-Match``, which then answers 412.
"""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tokensmith import audit, clock, table
from tokensmith.auth import Principal, RequestMeta, authority, may_see_token, outranks
from tokensmith.aws.dynamodb import NameTaken, VersionConflict
from tokensmith.errors import Conflict, NotFound, PreconditionFailed
from tokensmith.expiry.schedule import WAKE_ATTRIBUTES, wake_attributes
from tokensmith.observability import count
from tokensmith.organizations.repository import token_copy
from tokensmith.settings import Settings
from tokensmith.tokens import format as token_format
from tokensmith.tokens import lifecycle, rules
from tokensmith.tokens.counters import credits_grant, credits_lifetime
from tokensmith.tokens.list_keys import list_attributes
from tokensmith.tokens.repository import NameClaim, PolicyCheck, TokenChange, TokenRepository
from tokensmith.tokens.rotation import GRACE_ATTRIBUTES
from tokensmith.tokens.rules import name_conflict
from tokensmith.tokens.usage import credits_left
from tokensmith.tokens.verification_cache import VerificationCache

AUDITED_FIELDS = (
    "name",
    "description",
    "icon",
    "scopes",
    "expires_at",
    "owner",
    "status",
    "revoked_reason",
    "start",
    "ratelimits",
    "credits",
    "allowed_cidrs",
    "meta",
)
MAX_ATTEMPTS = 3


@dataclass(slots=True)
class TokenChangePlan:
    """What one change writes: the new attribute values, the removals, the event and the guards."""

    event_type: str
    set_values: dict[str, Any]
    remove: tuple[str, ...] = ()
    claim_name: bool = False
    release_name: bool = False
    reason: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    # False: a credits edit that is no grant (rules.loosened_policies), written only if it lowers the counter
    credits_may_rise: bool = True
    # The organization's policy the new expiry was checked against: the write holds only while it is current
    policy_check: PolicyCheck | None = None


Planner = Callable[[dict[str, Any], datetime], TokenChangePlan | None]


class TokenChanges:
    """Reads, creates and changes tokens for the operations of ``TokenService``."""

    def __init__(
        self,
        repository: TokenRepository,
        settings: Settings,
        now: Callable[[], datetime] = clock.now,
        counters: Any = None,
        policies: Any = None,
        verification_cache: VerificationCache | None = None,
    ) -> None:
        self.repository = repository
        self.settings = settings
        self._now = now
        # What verifications refused (and, when opted in, what they found): tokens/verification_cache.py.
        self.verification_cache = verification_cache or VerificationCache(settings.verify_cache_seconds)
        self._counters = counters  # tokens.counters.UsageCounters; made over the same table if not given
        self._policies = policies  # organizations.repository.OrganizationPolicies; likewise

    @property
    def counters(self) -> Any:
        if self._counters is None:
            from tokensmith.tokens.counters import UsageCounters

            self._counters = UsageCounters(self.repository.table_name, client=self.repository.client)
        return self._counters

    @property
    def policies(self) -> Any:
        if self._policies is None:
            from tokensmith.organizations.repository import OrganizationPolicies

            self._policies = OrganizationPolicies(self.repository.table_name, client=self.repository.client)
        return self._policies

    def organization_policy(self, organization_id: str) -> dict[str, Any] | None:
        """The organization's policy item (one ``GetItem``), None when it never had one."""
        policy: dict[str, Any] | None = self.policies.get_policy(organization_id)
        return policy

    def live_credits(self, item: dict[str, Any]) -> int | None:
        """The credits the token has left now (None: no credits): its counter, or the refill its
        next verification makes when the counter is of an older period (one ``GetItem``)."""
        if not item.get("credits"):
            return None
        counter = self.counters.get_credits(item["id"])
        return credits_left(item["credits"], counter, clock.epoch(self._now()))

    def with_live_credits(self, item: dict[str, Any]) -> dict[str, Any]:
        """The token as callers read it: ``credits.remaining`` is what is left now, not the last grant."""
        left = self.live_credits(item)
        return item if left is None else {**item, "credits": {**item["credits"], "remaining": left}}

    def load_visible(self, principal: Principal, token_id: str, include_deleted: bool = False) -> dict[str, Any]:
        """The token if this caller may see it: another organization's token, and without
        ``tokens:manage`` another owner's, is a 404, never a 403."""
        item = self.repository.get_token(token_id) if table.is_uuid(token_id) else None
        if item is None or not may_see_token(principal, item) or (item["status"] == "deleted" and not include_deleted):
            raise NotFound(f"token {token_id} not found")
        return item

    # --- create --------------------------------------------------------------------------------------

    def create(
        self,
        principal: Principal,
        request_meta: RequestMeta,
        now: datetime,
        policy: dict[str, Any] | None,
        **fields: Any,
    ) -> tuple[dict[str, Any], str]:
        """A new token of ``fields`` (organization_id, owner, name, description, icon, scopes,
        expires_at, status, and the usage policies) with its secret, its ``token.created`` event, its
        name guard and its credits counter; it copies its organization's ``policy`` (as read by the
        caller, which checked ``expires_at`` against it: :meth:`organization_policy`), and the write
        checks that policy is still the one copied."""
        item, secret = self.new_token_item(principal, request_meta, now, **fields)
        item.update({attribute: value for attribute, value in token_copy(policy).items() if value is not None})
        if policy:
            item["org_policy_version"] = policy["version"]
            item.update(wake_attributes(item, self.settings.expiry_notice_days))  # with its inactivity_days
        check = PolicyCheck(item["organization_id"], policy["version"] if policy else None)
        changes = {key: {"from": None, "to": item[key]} for key in AUDITED_FIELDS if item.get(key) is not None}
        event = self._event(item, "token.created", principal, request_meta, now, changes)
        try:
            self.repository.create_token(item, event, self._claim(item, now), credits_grant(item, now), check)
        except NameTaken:
            raise name_conflict(item["name"]) from None
        except VersionConflict:
            # The id exists: only our own write can have put it there (a retried request whose first
            # attempt landed; DynamoDB's ClientRequestToken covers botocore's retries, this covers
            # stores and paths without it). Anything else is a genuine conflict.
            existing = self.repository.get_token(item["id"])
            if existing is None or existing.get("secret_digest") != item["secret_digest"]:
                raise Conflict("the token could not be created; retry") from None
        count("token.created")
        return item, secret

    def new_token_item(
        self, principal: Principal, request_meta: RequestMeta, now: datetime, **fields: Any
    ) -> tuple[dict[str, Any], str]:
        """The item of a new token and its secret, every derived attribute included (purge, wake-up,
        list keys): what ``create`` writes (with its organization's policy), and what the list
        benchmark bulk-loads."""
        token_id = str(uuid.uuid4())
        secret = token_format.generate(self.settings.token_prefix, token_id)
        at = clock.to_iso(now)
        expires_at = fields.pop("expires_at")
        stamp = {"at": at, "by": principal.stamp}
        item: dict[str, Any] = {
            "id": token_id,
            **fields,
            "start": token_format.start_of(secret),
            "secret_digest": token_format.digest(secret),
            "created_at": at,
            "modified_at": at,
            "expires_at": clock.to_iso(expires_at) if expires_at else None,
            "expires_epoch": clock.epoch(expires_at) if expires_at else None,
            "created_ip": request_meta.ip,
            "user_agent": request_meta.user_agent,
            "audit": {"created": stamp, "updated": stamp},
            "version": 1,
        }
        item["purge_at"] = lifecycle.purge_at(self.settings, item, now)
        item.update(wake_attributes(item, self.settings.expiry_notice_days))
        item[table.TOKEN_LIST_SORT] = table.token_sort_key(at, clock.nanos_within(now), token_id)
        item.update(list_attributes(item))
        return item, secret

    # --- change --------------------------------------------------------------------------------------

    def change_with_retries(
        self, principal: Principal, token_id: str, meta: RequestMeta, make_plan: Planner, deleted_is_gone: bool = False
    ) -> dict[str, Any]:
        """Read the token, plan, write; again on a lost race. Answers the token as it now is. A deleted
        token is final: any change is a 409 (product spec); with ``deleted_is_gone`` (deleting it again, the
        leak worker) it is a 404, gone as from reads."""
        for attempt in range(MAX_ATTEMPTS):
            item = self.load_visible(principal, token_id, include_deleted=not deleted_is_gone)
            if item["status"] == "deleted":
                raise Conflict("the token is deleted, which is final")
            if meta.if_match is not None and item["version"] not in meta.if_match:
                raise PreconditionFailed(
                    f"the token is at version {item['version']}, not the one in If-Match; fetch it again",
                    headers={"ETag": f'"{item["version"]}"'},
                )
            now = self._now()
            plan = make_plan(item, now)
            if plan is None:
                return item
            try:
                return self._write_change(principal, item, plan, meta, now)
            except VersionConflict:
                if meta.if_match is not None:
                    raise PreconditionFailed(
                        "the token changed while this request was applied; fetch it again"
                    ) from None
                if attempt == MAX_ATTEMPTS - 1:
                    raise Conflict("the token is being changed by another request; retry") from None
                time.sleep(0.02 * (attempt + 1) + secrets.randbelow(20) / 1000)
            except NameTaken:
                raise name_conflict(plan.set_values.get("name", item["name"])) from None
        raise AssertionError("unreachable")

    def _write_change(
        self, principal: Principal, item: dict[str, Any], plan: TokenChangePlan, meta: RequestMeta, now: datetime
    ) -> dict[str, Any]:
        at = clock.to_iso(now)
        updated = {**item, **plan.set_values}
        for key in plan.remove:
            updated.pop(key, None)
        if "purge_at" not in plan.set_values:
            updated["purge_at"] = lifecycle.purge_at(self.settings, updated, now)
        if item.get("expires_epoch") != updated.get("expires_epoch"):
            updated.pop("notified_days", None)  # a new expiry earns its notices again
        updated.update(wake_attributes(updated, self.settings.expiry_notice_days))
        updated.update(list_attributes(updated))
        updated["version"] = item["version"] + 1
        updated["modified_at"] = at
        updated["audit"] = {**item.get("audit", {}), "updated": {"at": at, "by": principal.stamp}}
        updated = {k: v for k, v in updated.items() if v is not None}
        set_values = {k: v for k, v in updated.items() if item.get(k) != v}
        removed = tuple(sorted(k for k in item if k not in updated))

        old_guard, new_guard = guard_of(item), guard_of(updated)
        holds_name = updated["status"] in lifecycle.LIVE_STATUSES
        expiry_moved = "expires_epoch" in set_values or "expires_epoch" in removed
        claim = holds_name and (plan.claim_name or old_guard != new_guard or expiry_moved)
        release = (plan.release_name or old_guard != new_guard) and not (claim and old_guard == new_guard)

        changes = {
            key: {"from": item.get(key), "to": updated.get(key)}
            for key in AUDITED_FIELDS
            if item.get(key) != updated.get(key)
        }
        event = self._event(updated, plan.event_type, principal, meta, now, changes, plan.reason, plan.details)
        # A wake-up computed from a policy copy replaced since (no version bump) must not land
        wake_moved = any(k in set_values or k in removed for k in WAKE_ATTRIBUTES)
        grant = credits_grant(updated, now, ceiling=not plan.credits_may_rise) if "credits" in plan.set_values else None
        change = TokenChange(
            token_id=item["id"],
            expected_version=item["version"],
            set_values=set_values,
            remove=removed,
            expect={"org_policy_version": item.get("org_policy_version")} if wake_moved else {},
            claim_name=self._claim(updated, now) if claim else None,
            release_name=old_guard if release else None,
            grant_credits=grant,
            credits_lifetime=None if grant else credits_lifetime(item, updated),
            policy_check=plan.policy_check,
        )
        self.repository.update_token(change, event)
        count(plan.event_type)
        return updated

    # --- plans ---------------------------------------------------------------------------------------

    @staticmethod
    def edit_plan(
        item: dict[str, Any], values: dict[str, Any], event_type: str = "token.updated"
    ) -> TokenChangePlan | None:
        """Write the ``values`` that differ from the token's; None when none does (no write, no event)."""
        changed = {k: v for k, v in values.items() if item.get(k) != v}
        if not changed:
            return None
        return TokenChangePlan(event_type, changed)

    def revoke_plan(self, now: datetime, reason: str) -> TokenChangePlan:
        values = {
            "status": "revoked",
            "revoked_at": clock.to_iso(now),
            "revoked_reason": reason,
            "purge_at": audit.purge_after(self.settings, clock.epoch(now)),
        }
        return TokenChangePlan("token.revoked", values, GRACE_ATTRIBUTES, release_name=True, reason=reason)

    def check_expiry_change(self, item: dict[str, Any], values: dict[str, Any], now: datetime) -> PolicyCheck | None:
        """An edit that moves ``expires_at`` meets the organization's lifetime rules: one ``GetItem`` of
        the policy, only then (an edit that leaves the expiry alone reads nothing more). Returns the
        check its write must carry (as a creation does): a policy ``PUT`` between this read and the
        write fails the write, and the retry reads the new policy. None: nothing was checked."""
        if "expires_epoch" not in values or values["expires_epoch"] == item.get("expires_epoch"):
            return None
        expires = values["expires_epoch"]
        policy = self.organization_policy(item["organization_id"])
        rules.check_policy_expiry(policy, None if expires is None else clock.from_epoch(expires), now)
        return PolicyCheck(item["organization_id"], policy["version"] if policy else None)

    # --- derived -------------------------------------------------------------------------------------

    def _claim(self, item: dict[str, Any], now: datetime) -> NameClaim:
        return NameClaim(guard_of(item), item["id"], item.get("expires_epoch"), clock.epoch(now))

    def _event(
        self,
        item: dict[str, Any],
        event_type: str,
        principal: Principal,
        meta: RequestMeta,
        now: datetime,
        changes: dict[str, Any],
        reason: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The audit event: who did what, when, from where. Never a secret or a digest."""
        return audit.audit_event(
            item,
            event_type,
            now,
            principal.actor,
            audit.event_purge_at(self.settings, item, now),
            ip=meta.ip,
            user_agent=meta.user_agent,
            changes=changes,
            reason=reason,
            details=details or None,
        )


def guard_of(item: dict[str, Any]) -> str:
    return table.name_guard_pk(item["organization_id"], item.get("owner"), item["name"])


def disable_plan(principal: Principal, item: dict[str, Any], now: datetime) -> TokenChangePlan | None:
    """Disable is a security action: the token stops verifying, its console sessions end (sessions
    opened before ``disabled_at`` stay dead after a re-enable) and a running rotation grace ends (the
    rotated-out secret dies for good). It records the caller's authority (``disabled_by``), which a
    re-enable then needs. Disabling a disabled token writes nothing, unless the caller's authority
    is stronger than the recorded one (it then binds the token)."""
    disabled_by = {"token_id": principal.token_id, "authority": authority(principal)}
    if item["status"] == "disabled":
        if not outranks(disabled_by["authority"], (item.get("disabled_by") or {}).get("authority")):
            return None
        return TokenChangePlan("token.updated", {"disabled_by": disabled_by})
    values = {"status": "disabled", "disabled_at": clock.to_iso(now), "disabled_by": disabled_by}
    return TokenChangePlan("token.disabled", values, GRACE_ATTRIBUTES)
