"""The operations on tokens, one method per route: scopes (declared with ``@requires``), tenancy,
lifecycle, no escalation, expiry. The writing itself is ``TokenChanges``'s (``tokens/changes.py``);
the checks are ``tokens/rules.py``'s.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from tokensmith import audit, clock, table
from tokensmith.auth import (
    SERVICE_SCOPES,
    SYSTEM,
    TOKENS_READ,
    TOKENS_VERIFY,
    TOKENS_WRITE,
    Principal,
    RequestMeta,
    created_in,
    listed_organization,
    manages_organization,
    require_acts_for,
    require_authority,
    require_not_stronger,
    requires,
    sees_organization,
)
from tokensmith.errors import NotFound
from tokensmith.observability import count
from tokensmith.organizations.repository import default_policies
from tokensmith.settings import get_settings
from tokensmith.tokens import format as token_format
from tokensmith.tokens import rules
from tokensmith.tokens.changes import Planner, TokenChangePlan, TokenChanges, disable_plan
from tokensmith.tokens.counters import default_counters
from tokensmith.tokens.listing import OWNERLESS
from tokensmith.tokens.policy_fields import POLICY_FIELDS
from tokensmith.tokens.repository import default_repository
from tokensmith.tokens.rotation import GRACE_ATTRIBUTES, RETIRE_ON_FIRST_USE
from tokensmith.tokens.usage_state import current_usage
from tokensmith.tokens.verification import (
    DELETED,
    DISABLED,
    Verification,
    apply_policies,
    record_verified_use,
    verify_secret,
)
from tokensmith.tokens.verification_cache import instance_verification_cache

if TYPE_CHECKING:  # the request models: pydantic, imported by the routes that take a body
    from tokensmith.tokens.models import (
        CreateTokenRequest,
        ReplaceTokenRequest,
        UpdateTokenRequest,
    )


class TokenService(TokenChanges):
    # --- reads ---------------------------------------------------------------------------------------

    @requires(TOKENS_READ)
    def get_token(self, principal: Principal, token_id: str) -> dict[str, Any]:
        return self.with_live_credits(self.load_visible(principal, token_id))

    @requires(TOKENS_READ)
    def get_usage(self, principal: Principal, token_id: str) -> dict[str, Any]:
        """Where the token's rate limits and credits stand now (``tokens.usage_state``), spending nothing."""
        return current_usage(self.counters, self.load_visible(principal, token_id), clock.epoch(self._now()))

    def get_self(self, principal: Principal) -> dict[str, Any]:
        return self.with_live_credits(self.load_visible(principal, principal.token_id))

    @requires(TOKENS_READ)
    def list_tokens(
        self,
        principal: Principal,
        limit: int = 50,
        cursor: str | None = None,
        status: str | None = None,
        owner: str | None = None,
        organization_id: str | None = None,
    ) -> tuple[list[dict[str, Any]], str | None]:
        organization = listed_organization(principal, organization_id)
        if not manages_organization(principal):
            # Owners see their own tokens only: another owner's list is as empty as a stranger's.
            if owner is not None and owner != principal.owner:
                return [], None
            owner = principal.owner or OWNERLESS
        now_epoch = clock.epoch(self._now())
        return self.repository.list_tokens(organization, limit, cursor, status, owner, now_epoch)

    @requires(TOKENS_READ)
    def list_events(
        self, principal: Principal, token_id: str, limit: int = 50, cursor: str | None = None
    ) -> tuple[list[dict[str, Any]], str | None]:
        # A deleted token's trail stays readable for those who manage the organization (an investigation
        # after the fact); to everyone else the token is gone, as from reads.
        self.load_visible(principal, token_id, include_deleted=manages_organization(principal))
        return self.repository.list_events(token_id, limit, cursor)

    @requires(TOKENS_VERIFY)
    def verify(
        self,
        principal: Principal,
        secret: str,
        scopes: list[str],
        meta: RequestMeta,
        ip: str | None = None,
        cost: int = 1,
        user_agent: str | None = None,
    ) -> Verification:
        """``POST /v1/tokens/verify``: a token of another organization is NOT_FOUND to non-admins.
        Then the token's usage policies, for the client at ``ip``, at ``cost``, and the client's network
        (with its ``user_agent``)
        (``tokens.networks``: a new one is ``token.new_location``, and DISABLED where the
        organization's policy disables on a new location)."""
        rules.check_catalog(self.settings, scopes, "scopes")
        now = self._now()
        result = verify_secret(
            self.repository, self.settings, secret, clock.epoch(now), scopes, self.verification_cache
        )
        if result.item is not None and not sees_organization(principal, result.item["organization_id"]):
            return Verification("NOT_FOUND")
        if result.code == DELETED:
            return Verification(DELETED)  # gone from every read: the code says it all, never the token
        # Counted on every verification, the positive cache's included: limits and credits are never cached.
        result = apply_policies(self.counters, self.settings, result, ip, cost, now)
        if not result.valid or result.item is None:
            return result
        # the last use (as the caller, never the client), and the client's network (ip, as the caller says)
        stamp, client = (meta.ip, meta.user_agent), (ip, user_agent)
        if record_verified_use(self.repository, self.settings, result, now, stamp, client, _not_recorded):
            return Verification(DISABLED, result.item)  # its organization disables on a new location
        return result

    # --- create --------------------------------------------------------------------------------------

    @requires(TOKENS_WRITE)
    def create_token(
        self, principal: Principal, request: CreateTokenRequest, meta: RequestMeta
    ) -> tuple[dict[str, Any], str]:
        organization = created_in(principal, request.organization_id, "tokens")
        owner = request.owner if request.owner is not None else principal.owner
        require_acts_for(principal, owner)
        rules.check_grantable(self.settings, principal, request.scopes, "scopes")
        if not manages_organization(principal):
            rules.require_may_create_under_policy(principal, self.repository.get_token(principal.token_id))
        now = self._now()
        policies = rules.editable_values(
            self.settings, request.model_dump(include=set(POLICY_FIELDS), exclude_none=True), now
        )
        org_policy = self.organization_policy(organization)
        return self.create(
            principal,
            meta,
            now,
            org_policy,
            **policies,
            organization_id=organization,
            owner=owner,
            name=request.name,
            description=request.description or None,
            icon=request.icon or None,
            scopes=sorted(request.scopes),
            expires_at=self._new_expiry(org_policy, request.expires_at, now),
            status="disabled" if request.revoked else "active",
        )

    def _new_expiry(
        self, org_policy: dict[str, Any] | None, requested: datetime | None, now: datetime
    ) -> datetime | None:
        """A new token's ``expires_at``: the one requested, within the deployment's and the
        organization's limits; none requested: the earlier of their ceilings."""
        expires_at = rules.check_expiry(self.settings, requested, now, default_to_max=True)
        if requested is None:
            expires_at = rules.policy_default_expiry(org_policy, expires_at, now)
        rules.check_policy_expiry(org_policy, expires_at, now)
        return expires_at

    def bootstrap_admin(
        self, organization_id: str, name: str, scopes: tuple[str, ...] = SERVICE_SCOPES
    ) -> tuple[dict[str, Any], str]:
        """The first admin token, written straight to the table (IAM is the root of trust)."""
        now = self._now()
        org_policy = self.organization_policy(organization_id)
        return self.create(
            SYSTEM,
            RequestMeta(user_agent="tokensmith-bootstrap"),
            now,
            org_policy,
            organization_id=organization_id,
            owner=None,
            name=name,
            description="Created by the bootstrap command",
            icon=None,
            scopes=sorted(scopes),
            expires_at=self._new_expiry(org_policy, None, now),
            status="active",
        )

    # --- changes -------------------------------------------------------------------------------------

    @requires(TOKENS_WRITE)
    def update_token(
        self, principal: Principal, token_id: str, request: UpdateTokenRequest, meta: RequestMeta
    ) -> dict[str, Any]:
        fields = {**request.model_dump(exclude_none=True), **request.removed_policies()}
        if "scopes" in fields:
            rules.check_grantable(self.settings, principal, request.scopes or [], "scopes")

        return self._edit(principal, token_id, meta, fields, "update")

    @requires(TOKENS_WRITE)
    def replace_token(
        self, principal: Principal, token_id: str, request: ReplaceTokenRequest, meta: RequestMeta
    ) -> dict[str, Any]:
        rules.check_grantable(self.settings, principal, request.scopes, "scopes")
        fields: dict[str, Any] = {
            "name": request.name,
            "description": request.description or "",
            "icon": request.icon or "",
            "scopes": request.scopes,
            **request.model_dump(include=set(POLICY_FIELDS)),
        }
        if request.expires_at is not None:
            fields["expires_at"] = request.expires_at

        return self._edit(principal, token_id, meta, fields, "replace")

    @requires(TOKENS_WRITE)
    def disable_token(self, principal: Principal, token_id: str, meta: RequestMeta) -> dict[str, Any]:
        return self._set_live_status(principal, token_id, meta, "disabled")

    @requires(TOKENS_WRITE)
    def enable_token(self, principal: Principal, token_id: str, meta: RequestMeta) -> dict[str, Any]:
        return self._set_live_status(principal, token_id, meta, "active")

    @requires(TOKENS_WRITE)
    def revoke_token(self, principal: Principal, token_id: str, reason: str, meta: RequestMeta) -> dict[str, Any]:
        def plan(item: dict[str, Any], now: datetime) -> TokenChangePlan:
            rules.require_live(item, now, "revoke")
            return self.revoke_plan(now, reason)

        return self._change(principal, token_id, meta, plan)

    @requires(TOKENS_WRITE)
    def rotate_token(
        self,
        principal: Principal,
        token_id: str,
        grace_period_seconds: int,
        meta: RequestMeta,
        retire_on_first_use: bool = False,
    ) -> tuple[dict[str, Any], str]:
        """A new secret; the old one works for ``grace_period_seconds`` or, with
        ``retire_on_first_use``, until the new one first verifies if that comes sooner
        (``tokens/rotation.py``). A re-rotation replaces both: the grace and the flag are this one's."""
        rules.check_retire_on_first_use(grace_period_seconds, retire_on_first_use)
        if not table.is_uuid(token_id):  # the secret carries the id: only a token's id can have one
            raise NotFound(f"token {token_id} not found")
        new_secret = token_format.generate(self.settings.token_prefix, token_id)

        def plan(item: dict[str, Any], now: datetime) -> TokenChangePlan:
            rules.require_live(item, now, "rotate")
            # A rotation hands the caller a working secret: it must not be a way to a stronger token.
            rules.check_grantable(self.settings, principal, item.get("scopes") or [], "scopes", "this token")
            values: dict[str, Any] = {
                "secret_digest": token_format.digest(new_secret),
                "start": token_format.start_of(new_secret),
                "rotated_at": clock.to_iso(now),
            }
            remove: tuple[str, ...] = ()
            if grace_period_seconds > 0:
                until = now + timedelta(seconds=grace_period_seconds)
                values.update(
                    previous_secret_digest=item["secret_digest"],
                    previous_valid_until=clock.to_iso(until),
                    previous_valid_epoch=clock.epoch(until),
                )
                values[RETIRE_ON_FIRST_USE] = True if retire_on_first_use else None  # None: removed
            else:
                remove = GRACE_ATTRIBUTES
            grace = {"grace_period_seconds": grace_period_seconds, "retire_on_first_use": retire_on_first_use}
            return TokenChangePlan("token.rotated", values, remove, details=grace)

        item = self._change(principal, token_id, meta, plan)
        return item, new_secret

    @requires(TOKENS_WRITE)
    def delete_token(self, principal: Principal, token_id: str, meta: RequestMeta) -> None:
        def plan(item: dict[str, Any], now: datetime) -> TokenChangePlan:
            at = clock.to_iso(now)
            values = {
                "status": "deleted",
                "deleted_at": at,
                "purge_at": audit.purge_after(self.settings, clock.epoch(now)),
            }
            return TokenChangePlan("token.deleted", values, release_name=True)

        self._change(principal, token_id, meta, plan, deleted_is_gone=True)

    def _edit(
        self, principal: Principal, token_id: str, meta: RequestMeta, fields: dict[str, Any], verb: str
    ) -> dict[str, Any]:
        """PATCH and PUT: the request's editable ``fields`` written to a live token (not its own expiry
        moved later)."""

        def plan(item: dict[str, Any], now: datetime) -> TokenChangePlan | None:
            rules.require_live(item, now, verb)
            values = rules.editable_values(self.settings, fields, now)
            policy_check = self.check_expiry_change(item, values, now)
            rules.require_no_self_extension(principal, item, values)
            loosened = rules.loosened_policies(item, values, self.live_credits(item))
            rules.require_may_loosen(principal, item, loosened)
            edit = self.edit_plan(item, values)
            if edit is not None:
                edit.credits_may_rise = "credits" in loosened  # else a concurrent spend is never undone
                edit.policy_check = policy_check
            return edit

        return self._change(principal, token_id, meta, plan)

    def _change(
        self, principal: Principal, token_id: str, meta: RequestMeta, plan: Planner, deleted_is_gone: bool = False
    ) -> dict[str, Any]:
        """A change on a caller's behalf: never to a token stronger than the caller."""

        def checked(item: dict[str, Any], now: datetime) -> TokenChangePlan | None:
            require_not_stronger(principal, item)
            return plan(item, now)

        return self.change_with_retries(principal, token_id, meta, checked, deleted_is_gone)

    def _set_live_status(self, principal: Principal, token_id: str, meta: RequestMeta, target: str) -> dict[str, Any]:
        verb = "disable" if target == "disabled" else "enable"

        def plan(item: dict[str, Any], now: datetime) -> TokenChangePlan | None:
            rules.require_live(item, now, verb)
            if target == "disabled":
                return disable_plan(principal, item, now)
            require_authority(principal, item)
            if item["status"] == target:
                return None  # idempotent: no write, no event, no new version
            return TokenChangePlan(
                "token.enabled", {"status": "active", "enabled_at": clock.to_iso(now), "disabled_by": None}
            )

        return self._change(principal, token_id, meta, plan)


def _not_recorded(kind: str, error: Exception) -> None:
    """A verification's bookkeeping that failed (``last_use``, ``network``): counted, the answer stands."""
    count(f"{kind}.not_recorded")


@lru_cache(maxsize=1)
def token_service() -> TokenService:
    """The process-wide service over the configured table, with the instance's verification cache."""
    return TokenService(
        default_repository(),
        get_settings(),
        counters=default_counters(),
        policies=default_policies(),
        verification_cache=instance_verification_cache(),
    )
