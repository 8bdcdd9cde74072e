"""``PATCH /v1/admin/tokens/{id}``: the platform operator's override of a token's status, expiry and
owner, across organizations. Only an admin brings an ``expired`` token back, and only with a future
``expires_at``; ``revoked`` and ``deleted`` stay final for everyone."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any

from tokensmith import audit, clock
from tokensmith.auth import ADMIN, Principal, RequestMeta, requires
from tokensmith.errors import Conflict, FieldError, ValidationFailed
from tokensmith.settings import get_settings
from tokensmith.tokens import rules
from tokensmith.tokens.changes import TokenChangePlan, TokenChanges, disable_plan
from tokensmith.tokens.models import AdminUpdateTokenRequest
from tokensmith.tokens.policy_fields import POLICY_FIELDS
from tokensmith.tokens.repository import default_repository


class AdminTokenService(TokenChanges):
    @requires(ADMIN)
    def admin_update_token(
        self, principal: Principal, token_id: str, request: AdminUpdateTokenRequest, meta: RequestMeta
    ) -> dict[str, Any]:
        fields = {**request.model_dump(exclude_none=True), **request.removed_policies()}
        if not fields:
            raise ValidationFailed("the body changes nothing: give at least one field")
        revoking = request.revoked is True or request.status == "revoked"
        if request.revoked is False and request.status == "revoked":
            raise ValidationFailed(
                "revoked: false contradicts status: revoked", [FieldError("revoked", "contradicts status")]
            )
        if request.revoked is True and request.status not in (None, "revoked"):
            raise ValidationFailed(
                f"revoked: true contradicts status: {request.status}", [FieldError("status", "contradicts revoked")]
            )
        if request.revoked_reason is not None and not revoking:
            raise ValidationFailed(
                "revoked_reason is only accepted when revoking",
                [FieldError("revoked_reason", "give status: revoked or revoked: true with it")],
            )

        def plan(item: dict[str, Any], now: datetime) -> TokenChangePlan | None:
            if item["status"] in ("revoked", "deleted"):
                raise Conflict(f"the token is {item['status']}, which is final")
            if revoking:
                return self.revoke_plan(now, request.revoked_reason or "revoked by an administrator")
            editable = {k: v for k, v in fields.items() if k in ("expires_at", "owner", *POLICY_FIELDS)}
            values = rules.editable_values(self.settings, editable, now)
            # the organization's lifetime rules bind admins too
            policy_check = self.check_expiry_change(item, values, now)
            rules.require_no_self_extension(principal, item, values)
            rules.require_may_loosen(principal, item, rules.loosened_policies(item, values, self.live_credits(item)))
            target = request.status or item["status"]
            if target == "expired":
                expire = self._admin_expire_plan(item, values, now)
                if expire:
                    expire.policy_check = policy_check
                return expire
            expires = values["expires_epoch"] if "expires_at" in values else item.get("expires_epoch")
            if expires is not None and expires <= clock.epoch(now):
                # Only an admin brings an expired token back, and only with a future expiry.
                raise ValidationFailed(
                    "an expired token comes back only with a future expires_at",
                    [FieldError("expires_at", "required, in the future, to bring back an expired token")],
                )
            values["status"] = target
            remove: tuple[str, ...] = ()
            if target == "disabled" and item["status"] != "disabled":
                # the same security action as POST .../disable, with the admin's authority
                disable = disable_plan(principal, item, now)
                values.update(disable.set_values if disable else {})
                remove = disable.remove if disable else ()
            elif target == "active":
                values["disabled_by"] = None
            event_type = {"disabled": "token.disabled", "active": "token.enabled"}[target]
            if item["status"] == target or item["status"] == "expired":
                event_type = "token.updated"
            edit = self.edit_plan(item, values, event_type)
            if edit:
                edit.remove = remove
            if edit and item["status"] == "expired":
                edit.claim_name = True
                edit.remove = ("expired_at",)
            if edit:
                edit.policy_check = policy_check
            return edit

        return self.change_with_retries(principal, token_id, meta, plan)

    def _admin_expire_plan(self, item: dict[str, Any], values: dict[str, Any], now: datetime) -> TokenChangePlan | None:
        if item["status"] != "expired":
            end = audit.purge_after(self.settings, clock.epoch(now))
            values.update(status="expired", expired_at=clock.to_iso(now), purge_at=end)
        edit = self.edit_plan(item, values, "token.expired" if "status" in values else "token.updated")
        if edit:
            edit.release_name = True
        return edit


@lru_cache(maxsize=1)
def admin_token_service() -> AdminTokenService:
    """The process-wide admin service over the configured table."""
    return AdminTokenService(default_repository(), get_settings())
