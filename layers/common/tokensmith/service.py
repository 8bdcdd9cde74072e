"""The rules: lifecycle, scopes, tenancy, expiry, names, versions and the audit trail.

Every change is read → checked → one transaction (the token's conditional update on ``version``,
its audit event, and its name guard when the name is taken or released). A change that lost a race
is re-read and re-applied (up to three times) unless the caller pinned a version with ``If-Match``,
which then answers 412.
"""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from tokensmith import clock, token_format
from tokensmith.errors import Conflict, FieldError, Forbidden, NotFound, PreconditionFailed, ValidationFailed
from tokensmith.expiry import wake_attributes
from tokensmith.models import (
    AdminUpdateTokenRequest,
    CreateTokenRequest,
    ReplaceTokenRequest,
    UpdateTokenRequest,
)
from tokensmith.observability import count
from tokensmith.repository import (
    InvalidCursor,
    NameClaim,
    NameTaken,
    TokenChange,
    TokenRepository,
    VersionConflict,
    audit_event_item,
    default_repository,
    name_guard_pk,
    org_partition,
)
from tokensmith.settings import ADMIN_SCOPE, SERVICE_SCOPES, Settings, get_settings
from tokensmith.verification import Verification, grants, record_use, secret_matches, verify_secret
from tokensmith.views import LIVE_STATUSES, effective_status

AUDITED_FIELDS = ("name", "description", "icon", "scopes", "expires_at", "owner", "status", "revoked_reason", "start")
_MAX_ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class Principal:
    """Who calls: the token the authorizer verified."""

    token_id: str
    organization_id: str
    owner: str | None
    scopes: frozenset[str]

    @property
    def is_admin(self) -> bool:
        return ADMIN_SCOPE in self.scopes

    @property
    def actor(self) -> dict[str, Any]:
        return {"token_id": self.token_id, "organization_id": self.organization_id, "owner": self.owner}


SYSTEM = Principal(token_id="system", organization_id="", owner=None, scopes=frozenset({ADMIN_SCOPE}))


@dataclass(frozen=True, slots=True)
class RequestMeta:
    ip: str | None = None
    user_agent: str | None = None
    if_match: frozenset[int] | None = None  # versions the caller accepts (If-Match); None = any


@dataclass(slots=True)
class Plan:
    """What one change writes: the new attribute values, the removals, the event and the guards."""

    event_type: str
    set_values: dict[str, Any]
    remove: tuple[str, ...] = ()
    claim_name: bool = False
    release_name: bool = False
    reason: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


class TokenService:
    def __init__(
        self,
        repository: TokenRepository,
        settings: Settings,
        now: Callable[[], datetime] = clock.now,
    ) -> None:
        self.repository = repository
        self.settings = settings
        self._now = now

    # --- reads ---------------------------------------------------------------------------------------

    def get_token(self, principal: Principal, token_id: str) -> dict[str, Any]:
        self._require(principal, "tokens:read")
        return self._load_visible(principal, token_id)

    def get_self(self, principal: Principal) -> dict[str, Any]:
        return self._load_visible(principal, principal.token_id)

    def list_tokens(
        self,
        principal: Principal,
        limit: int = 50,
        cursor: str | None = None,
        status: str | None = None,
        owner: str | None = None,
        organization_id: str | None = None,
    ) -> tuple[list[dict[str, Any]], str | None]:
        self._require(principal, "tokens:read")
        organization = organization_id or principal.organization_id
        if organization != principal.organization_id and not principal.is_admin:
            raise NotFound(f"organization {organization!r} not found")
        try:
            return self.repository.list_tokens(
                organization, limit, cursor, status=status, owner=owner, now_epoch=clock.epoch(self._now())
            )
        except InvalidCursor:
            raise ValidationFailed(
                "the cursor is not one this listing produced", [FieldError("cursor", "invalid cursor")]
            ) from None

    def list_events(
        self, principal: Principal, token_id: str, limit: int = 50, cursor: str | None = None
    ) -> tuple[list[dict[str, Any]], str | None]:
        self._require(principal, "tokens:read")
        self._load_visible(principal, token_id, include_deleted=True)
        try:
            return self.repository.list_events(token_id, limit, cursor)
        except InvalidCursor:
            raise ValidationFailed(
                "the cursor is not one this listing produced", [FieldError("cursor", "invalid cursor")]
            ) from None

    def verify(self, principal: Principal, secret: str, scopes: list[str], meta: RequestMeta) -> Verification:
        """``POST /v1/tokens/verify``: a token of another organization is NOT_FOUND to non-admins."""
        self._require(principal, "tokens:verify")
        self._check_catalog(scopes, "scopes")
        now = self._now()
        result = verify_secret(self.repository, self.settings, secret, clock.epoch(now), scopes)
        if result.item is not None and not self._visible_to(principal, result.item):
            return Verification("NOT_FOUND")
        if result.valid:
            try:
                record_use(self.repository, self.settings, result.item, now, meta.ip, meta.user_agent)  # type: ignore[arg-type]
            except Exception:  # bookkeeping only, as in the authorizer: the answer stands without it
                count("last_use.not_recorded")
        return result

    def revoke_leaked(self, leaked: list[str], meta: RequestMeta) -> int:
        """Revoke, with reason ``leaked``, every live token whose secret (or whose rotated-out secret,
        still in its grace period) is in ``leaked``. Needs no caller: holding a secret is proof
        enough that it leaked. Returns how many tokens were revoked, for metrics only: the HTTP answer
        must not tell which strings were real."""
        now = self._now()
        by_id: dict[str, list[str]] = {}
        for secret in set(leaked):
            try:
                by_id.setdefault(token_format.parse(secret, self.settings.token_prefix), []).append(secret)
            except token_format.InvalidSecret:
                continue
        revoked = 0
        for item in self.repository.get_tokens(list(by_id)):
            if effective_status(item, clock.epoch(now)) not in LIVE_STATUSES:
                continue
            if not any(secret_matches(item, secret, clock.epoch(now)) for secret in by_id[item["id"]]):
                continue

            def plan(current: dict[str, Any], at: datetime) -> Plan | None:
                if effective_status(current, clock.epoch(at)) not in LIVE_STATUSES:
                    return None  # revoked or expired meanwhile: nothing left to do
                return self._revoke_plan(current, at, "leaked")

            try:
                self._mutate(SYSTEM, item["id"], meta, plan)
            except (NotFound, Conflict):
                continue  # deleted, or changed by others three times in a row: nothing we can add
            revoked += 1
        count("token.leaked", revoked)
        return revoked

    # --- create --------------------------------------------------------------------------------------

    def create_token(
        self, principal: Principal, request: CreateTokenRequest, meta: RequestMeta
    ) -> tuple[dict[str, Any], str]:
        self._require(principal, "tokens:write")
        organization = request.organization_id or principal.organization_id
        if organization != principal.organization_id and not principal.is_admin:
            raise Forbidden(
                "only an admin token can create tokens in another organization",
                [FieldError("organization_id", "must be your own organization")],
            )
        self._check_grantable(principal, request.scopes, "scopes")
        now = self._now()
        expires_at = self._check_expiry(request.expires_at, now, default_to_max=True)
        owner = request.owner if request.owner is not None else principal.owner
        return self._create(
            principal,
            meta,
            now,
            organization_id=organization,
            owner=owner,
            name=request.name,
            description=request.description or None,
            icon=request.icon or None,
            scopes=sorted(request.scopes),
            expires_at=expires_at,
            status="disabled" if request.revoked else "active",
        )

    def bootstrap_admin(
        self, organization_id: str, name: str, scopes: tuple[str, ...] = SERVICE_SCOPES
    ) -> tuple[dict[str, Any], str]:
        """The first admin token, written straight to the table (IAM is the root of trust)."""
        now = self._now()
        return self._create(
            SYSTEM,
            RequestMeta(user_agent="tokensmith-bootstrap"),
            now,
            organization_id=organization_id,
            owner=None,
            name=name,
            description="Created by the bootstrap command",
            icon=None,
            scopes=sorted(scopes),
            expires_at=self._check_expiry(None, now, default_to_max=True),
            status="active",
        )

    def _create(
        self,
        principal: Principal,
        meta: RequestMeta,
        now: datetime,
        *,
        organization_id: str,
        owner: str | None,
        name: str,
        description: str | None,
        icon: str | None,
        scopes: list[str],
        expires_at: datetime | None,
        status: str,
    ) -> tuple[dict[str, Any], str]:
        token_id = str(uuid.uuid4())
        secret = token_format.generate(self.settings.token_prefix, token_id)
        at = clock.to_iso(now)
        by = _by(principal)
        item: dict[str, Any] = {
            "pk": f"TOKEN#{token_id}",
            "sk": "TOKEN",
            "org_pk": org_partition(organization_id),
            "org_sk": f"{at}#{token_id}",
            "id": token_id,
            "organization_id": organization_id,
            "owner": owner,
            "name": name,
            "description": description,
            "icon": icon,
            "scopes": scopes,
            "status": status,
            "start": token_format.start_of(secret),
            "secret_digest": token_format.digest(secret),
            "created_at": at,
            "modified_at": at,
            "expires_at": clock.to_iso(expires_at) if expires_at else None,
            "expires_epoch": clock.epoch(expires_at) if expires_at else None,
            "created_ip": meta.ip,
            "user_agent": meta.user_agent,
            "audit": {"created": {"at": at, "by": by}, "updated": {"at": at, "by": by}},
            "version": 1,
        }
        item["purge_at"] = self._purge_at(item, now)
        item.update(wake_attributes(item, self.settings.expiry_notice_days))
        changes = {key: {"from": None, "to": item[key]} for key in AUDITED_FIELDS if item.get(key) is not None}
        event = self._event(item, "token.created", principal, meta, now, changes)
        try:
            self.repository.create_token(item, event, self._claim(item, now))
        except NameTaken:
            raise self._name_conflict(name) from None
        except VersionConflict:
            # The id exists: only our own write can have put it there (a retried request whose first
            # attempt landed; DynamoDB's ClientRequestToken covers botocore's retries, this covers
            # stores and paths without it). Anything else is a genuine conflict.
            existing = self.repository.get_token(token_id)
            if existing is None or existing.get("secret_digest") != item["secret_digest"]:
                raise Conflict("the token could not be created; retry") from None
        count("token.created")
        return item, secret

    # --- changes -------------------------------------------------------------------------------------

    def update_token(
        self, principal: Principal, token_id: str, request: UpdateTokenRequest, meta: RequestMeta
    ) -> dict[str, Any]:
        self._require(principal, "tokens:write")
        fields = request.model_dump(exclude_none=True)
        if "scopes" in fields:
            self._check_grantable(principal, request.scopes or [], "scopes")

        def plan(item: dict[str, Any], now: datetime) -> Plan | None:
            self._require_live(item, now, "update")
            values = self._editable_values(fields, now)
            return self._edit_plan(item, values)

        return self._mutate(principal, token_id, meta, plan)

    def replace_token(
        self, principal: Principal, token_id: str, request: ReplaceTokenRequest, meta: RequestMeta
    ) -> dict[str, Any]:
        self._require(principal, "tokens:write")
        self._check_grantable(principal, request.scopes, "scopes")

        def plan(item: dict[str, Any], now: datetime) -> Plan | None:
            self._require_live(item, now, "replace")
            fields = {
                "name": request.name,
                "description": request.description or "",
                "icon": request.icon or "",
                "scopes": request.scopes,
            }
            if request.expires_at is not None:
                fields["expires_at"] = request.expires_at
            return self._edit_plan(item, self._editable_values(fields, now))

        return self._mutate(principal, token_id, meta, plan)

    def disable_token(self, principal: Principal, token_id: str, meta: RequestMeta) -> dict[str, Any]:
        return self._set_live_status(principal, token_id, meta, "disabled")

    def enable_token(self, principal: Principal, token_id: str, meta: RequestMeta) -> dict[str, Any]:
        return self._set_live_status(principal, token_id, meta, "active")

    def revoke_token(self, principal: Principal, token_id: str, reason: str, meta: RequestMeta) -> dict[str, Any]:
        self._require(principal, "tokens:write")

        def plan(item: dict[str, Any], now: datetime) -> Plan:
            self._require_live(item, now, "revoke")
            return self._revoke_plan(item, now, reason)

        return self._mutate(principal, token_id, meta, plan)

    def rotate_token(
        self, principal: Principal, token_id: str, grace_period_seconds: int, meta: RequestMeta
    ) -> tuple[dict[str, Any], str]:
        self._require(principal, "tokens:write")
        if not _is_uuid(token_id):  # the secret carries the id: only a token's id can have one
            raise NotFound(f"token {token_id} not found")
        new_secret = token_format.generate(self.settings.token_prefix, token_id)

        def plan(item: dict[str, Any], now: datetime) -> Plan:
            self._require_live(item, now, "rotate")
            # A rotation hands the caller a working secret: it must not be a way to a stronger token.
            self._check_grantable(principal, item.get("scopes") or [], "scopes", subject="this token")
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
            else:
                remove = ("previous_secret_digest", "previous_valid_until", "previous_valid_epoch")
            grace = {"grace_period_seconds": grace_period_seconds}
            return Plan("token.rotated", values, remove, details=grace)

        item = self._mutate(principal, token_id, meta, plan)
        return item, new_secret

    def delete_token(self, principal: Principal, token_id: str, meta: RequestMeta) -> None:
        self._require(principal, "tokens:write")

        def plan(item: dict[str, Any], now: datetime) -> Plan:
            at = clock.to_iso(now)
            values = {"status": "deleted", "deleted_at": at, "purge_at": self._end_of_life_purge(now)}
            return Plan("token.deleted", values, ("org_pk", "org_sk"), release_name=True)

        self._mutate(principal, token_id, meta, plan)

    def admin_update_token(
        self, principal: Principal, token_id: str, request: AdminUpdateTokenRequest, meta: RequestMeta
    ) -> dict[str, Any]:
        self._require_admin(principal)
        fields = request.model_dump(exclude_none=True)
        if not fields:
            raise ValidationFailed("the body changes nothing: give at least one field")
        revoking = request.revoked is True or request.status == "revoked"
        if request.revoked is False and request.status == "revoked":
            raise ValidationFailed(
                "revoked: false contradicts status: revoked", [FieldError("revoked", "contradicts status")]
            )
        if request.revoked_reason is not None and not revoking:
            raise ValidationFailed(
                "revoked_reason is only accepted when revoking",
                [FieldError("revoked_reason", "give status: revoked or revoked: true with it")],
            )

        def plan(item: dict[str, Any], now: datetime) -> Plan | None:
            if item["status"] in ("revoked", "deleted"):
                raise Conflict(f"the token is {item['status']}, which is final")
            if revoking:
                return self._revoke_plan(item, now, request.revoked_reason or "revoked by an administrator")
            values = self._editable_values({k: v for k, v in fields.items() if k in ("expires_at", "owner")}, now)
            target = request.status or item["status"]
            if target == "expired":
                if item["status"] != "expired":
                    values.update(status="expired", expired_at=clock.to_iso(now), purge_at=self._end_of_life_purge(now))
                edit = self._edit_plan(item, values, "token.expired" if "status" in values else "token.updated")
                if edit:
                    edit.release_name = True
                return edit
            expires = values["expires_epoch"] if "expires_at" in values else item.get("expires_epoch")
            if expires is not None and expires <= clock.epoch(now):
                # Only an admin brings an expired token back, and only with a future expiry.
                raise ValidationFailed(
                    "an expired token comes back only with a future expires_at",
                    [FieldError("expires_at", "required, in the future, to bring back an expired token")],
                )
            values["status"] = target
            event_type = {"disabled": "token.disabled", "active": "token.enabled"}[target]
            if item["status"] == target or item["status"] == "expired":
                event_type = "token.updated"
            edit = self._edit_plan(item, values, event_type)
            if edit and item["status"] == "expired":
                edit.claim_name = True
                edit.remove = ("expired_at",)
            return edit

        return self._mutate(principal, token_id, meta, plan)

    # --- the change machinery ------------------------------------------------------------------------

    def _set_live_status(self, principal: Principal, token_id: str, meta: RequestMeta, target: str) -> dict[str, Any]:
        self._require(principal, "tokens:write")
        verb = "disable" if target == "disabled" else "enable"

        def plan(item: dict[str, Any], now: datetime) -> Plan | None:
            self._require_live(item, now, verb)
            if item["status"] == target:
                return None  # idempotent: no write, no event, no new version
            values = {"status": target, f"{verb}d_at": clock.to_iso(now)}
            return Plan(f"token.{verb}d", values)

        return self._mutate(principal, token_id, meta, plan)

    def _mutate(
        self,
        principal: Principal,
        token_id: str,
        meta: RequestMeta,
        make_plan: Callable[[dict[str, Any], datetime], Plan | None],
    ) -> dict[str, Any]:
        for attempt in range(_MAX_ATTEMPTS):
            item = self._load_visible(principal, token_id)
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
                return self._apply(principal, item, plan, meta, now)
            except VersionConflict:
                if meta.if_match is not None:
                    raise PreconditionFailed(
                        "the token changed while this request was applied; fetch it again"
                    ) from None
                if attempt == _MAX_ATTEMPTS - 1:
                    raise Conflict("the token is being changed by another request; retry") from None
                time.sleep(0.02 * (attempt + 1) + secrets.randbelow(20) / 1000)
            except NameTaken:
                raise self._name_conflict(plan.set_values.get("name", item["name"])) from None
        raise AssertionError("unreachable")

    def _apply(
        self, principal: Principal, item: dict[str, Any], plan: Plan, meta: RequestMeta, now: datetime
    ) -> dict[str, Any]:
        at = clock.to_iso(now)
        updated = {**item, **plan.set_values}
        for key in plan.remove:
            updated.pop(key, None)
        if "purge_at" not in plan.set_values:
            updated["purge_at"] = self._purge_at(updated, now)
        if item.get("expires_epoch") != updated.get("expires_epoch"):
            updated.pop("notified_days", None)  # a new expiry earns its notices again
        updated.update(wake_attributes(updated, self.settings.expiry_notice_days))
        updated["version"] = item["version"] + 1
        updated["modified_at"] = at
        updated["audit"] = {**item.get("audit", {}), "updated": {"at": at, "by": _by(principal)}}
        updated = {k: v for k, v in updated.items() if v is not None}
        set_values = {k: v for k, v in updated.items() if item.get(k) != v}
        removed = tuple(sorted(k for k in item if k not in updated))

        old_guard, new_guard = _guard_of(item), _guard_of(updated)
        holds_name = updated["status"] in LIVE_STATUSES
        expiry_moved = "expires_epoch" in set_values or "expires_epoch" in removed
        claim = holds_name and (plan.claim_name or old_guard != new_guard or expiry_moved)
        release = (plan.release_name or old_guard != new_guard) and not (claim and old_guard == new_guard)

        changes = {
            key: {"from": item.get(key), "to": updated.get(key)}
            for key in AUDITED_FIELDS
            if item.get(key) != updated.get(key)
        }
        event = self._event(updated, plan.event_type, principal, meta, now, changes, plan.reason, plan.details)
        change = TokenChange(
            token_id=item["id"],
            expected_version=item["version"],
            set_values=set_values,
            remove=removed,
            claim_name=self._claim(updated, now) if claim else None,
            release_name=old_guard if release else None,
        )
        self.repository.update_token(change, event)
        count(plan.event_type)
        return updated

    def _edit_plan(
        self, item: dict[str, Any], values: dict[str, Any], event_type: str = "token.updated"
    ) -> Plan | None:
        changed = {k: v for k, v in values.items() if item.get(k) != v}
        if not changed:
            return None
        return Plan(event_type, changed)

    def _revoke_plan(self, item: dict[str, Any], now: datetime, reason: str) -> Plan:
        values = {
            "status": "revoked",
            "revoked_at": clock.to_iso(now),
            "revoked_reason": reason,
            "purge_at": self._end_of_life_purge(now),
        }
        remove = ("previous_secret_digest", "previous_valid_until", "previous_valid_epoch")
        return Plan("token.revoked", values, remove, release_name=True, reason=reason)

    def _editable_values(self, fields: dict[str, Any], now: datetime) -> dict[str, Any]:
        """Request fields → stored attribute values (``""`` clears a text field)."""
        values: dict[str, Any] = {}
        for key, value in fields.items():
            if key in ("description", "icon"):
                values[key] = value or None
            elif key == "scopes":
                values[key] = sorted(value)
            elif key == "expires_at":
                expires = self._check_expiry(value, now, default_to_max=False)
                values["expires_at"] = clock.to_iso(expires) if expires else None
                values["expires_epoch"] = clock.epoch(expires) if expires else None
            else:
                values[key] = value
        return values

    # --- rules ---------------------------------------------------------------------------------------

    def _require(self, principal: Principal, scope: str) -> None:
        if not grants(principal.scopes, scope):
            raise Forbidden(f"this token lacks the scope {scope!r}")

    def _require_admin(self, principal: Principal) -> None:
        if not principal.is_admin:
            raise Forbidden("this route needs a token with the 'admin' scope")

    @staticmethod
    def _visible_to(principal: Principal, item: dict[str, Any]) -> bool:
        return principal.is_admin or item["organization_id"] == principal.organization_id

    def _load_visible(self, principal: Principal, token_id: str, include_deleted: bool = False) -> dict[str, Any]:
        """The token if this caller may see it; another tenant's token is a 404, never a 403."""
        item = self.repository.get_token(token_id) if _is_uuid(token_id) else None
        if (
            item is None
            or not self._visible_to(principal, item)
            or (item["status"] == "deleted" and not include_deleted)
        ):
            raise NotFound(f"token {token_id} not found")
        return item

    def _require_live(self, item: dict[str, Any], now: datetime, verb: str) -> None:
        status = effective_status(item, clock.epoch(now))
        if status not in LIVE_STATUSES:
            raise Conflict(f"cannot {verb} a token that is {status}")

    def _check_catalog(self, scopes: list[str], field_name: str) -> None:
        unknown = sorted(set(scopes) - self.settings.scope_catalog)
        if unknown:
            raise ValidationFailed(
                f"unknown scopes: {', '.join(unknown)}",
                [FieldError(field_name, f"unknown scope {scope!r}") for scope in unknown],
            )

    def _check_grantable(
        self, principal: Principal, scopes: list[str], field_name: str, subject: str = "a token"
    ) -> None:
        """Scopes must exist, and a caller never grants what it does not hold (admins hold all)."""
        self._check_catalog(scopes, field_name)
        if principal.is_admin:
            return
        missing = sorted(scope for scope in scopes if not grants(principal.scopes, scope))
        if missing:
            raise ValidationFailed(
                f"cannot give {subject} scopes the calling token does not have: {', '.join(missing)}",
                [FieldError(field_name, f"scope {scope!r} exceeds the calling token's scopes") for scope in missing],
            )

    def _check_expiry(self, expires_at: datetime | None, now: datetime, default_to_max: bool) -> datetime | None:
        max_days = self.settings.max_token_lifetime_days
        ceiling = now + timedelta(days=max_days) if max_days else None
        if expires_at is None:
            return ceiling if default_to_max else None
        if expires_at <= now:
            raise ValidationFailed(
                "expires_at must be in the future", [FieldError("expires_at", "must be in the future")]
            )
        if ceiling is not None and expires_at > ceiling:
            raise ValidationFailed(
                f"expires_at is beyond the maximum token lifetime of {max_days} days ({clock.to_iso(ceiling)})",
                [FieldError("expires_at", f"must be at most {max_days} days ahead")],
            )
        return expires_at

    def _name_conflict(self, name: str) -> Conflict:
        return Conflict(
            f"a live token named {name!r} already exists for this organization and owner",
            [FieldError("name", "already in use")],
        )

    # --- derived attributes --------------------------------------------------------------------------

    def _purge_at(self, item: dict[str, Any], now: datetime) -> int | None:
        """When DynamoDB may delete the item: end of life + retention. A live token without expiry
        has no end in sight and no ``purge_at``."""
        expires = item.get("expires_epoch")
        if item["status"] in LIVE_STATUSES:
            return expires + self._retention_seconds() if expires is not None else None
        return item.get("purge_at") or self._end_of_life_purge(now)

    def _end_of_life_purge(self, now: datetime) -> int:
        return clock.epoch(now) + self._retention_seconds()

    def _retention_seconds(self) -> int:
        return self.settings.retention_days * 86400

    def _claim(self, item: dict[str, Any], now: datetime) -> NameClaim:
        return NameClaim(_guard_of(item), item["id"], item.get("expires_epoch"), clock.epoch(now))

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
        """The audit event: who did what, when, from where. Never a secret or a digest. Kept at least
        as long as its token, and at least ``RetentionDays``."""
        actor = {"system": "tokensmith"} if principal is SYSTEM else principal.actor
        purge_at = max(item.get("purge_at") or 0, clock.epoch(now) + self._retention_seconds())
        return audit_event_item(
            item,
            event_type,
            clock.to_iso(now),
            actor,
            purge_at,
            ip=meta.ip,
            user_agent=meta.user_agent,
            changes=changes,
            reason=reason,
            details=details or None,
        )


def _guard_of(item: dict[str, Any]) -> str:
    return name_guard_pk(item["organization_id"], item.get("owner"), item["name"])


def _by(principal: Principal) -> str:
    return "system" if principal is SYSTEM else f"token:{principal.token_id}"


def _is_uuid(value: str) -> bool:
    try:
        return str(uuid.UUID(value)) == value.lower() and len(value) == 36
    except ValueError:
        return False


@lru_cache(maxsize=1)
def token_service() -> TokenService:
    """The process-wide service over the configured table."""
    return TokenService(default_repository(), get_settings())
