"""The rules of webhook endpoints: scopes, tenancy, URL safety, versions and signing secrets.

Same rules as tokens: ``webhooks:read`` / ``webhooks:write`` (``admin`` stands for both and acts
across organizations), another organization's endpoint is a 404, ``If-Match`` with a stale version
is a 412. The signing secret is generated here, stored only as KMS ciphertext (see
``signing_keys``), and returned by create and rotate only. An organization has at most
``MaxWebhookEndpoints`` endpoints, never two with one URL and one set of event types (409 for
both; ``endpoint_register``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from tokensmith import clock, table
from tokensmith.auth import (
    WEBHOOKS_READ,
    WEBHOOKS_WRITE,
    Principal,
    RequestMeta,
    created_in,
    listed_organization,
    requires,
    sees_organization,
)
from tokensmith.aws.dynamodb import NameTaken, VersionConflict
from tokensmith.errors import Conflict, FieldError, NotFound, PreconditionFailed, ValidationFailed
from tokensmith.observability import count
from tokensmith.settings import Settings, get_settings
from tokensmith.webhooks import egress, signing_keys
from tokensmith.webhooks.endpoint_register import RegisterRefused, Retarget, endpoint_target
from tokensmith.webhooks.event_types import EVENT_TYPES
from tokensmith.webhooks.repository import WebhookRepository, default_webhook_repository

if TYPE_CHECKING:  # the request models: pydantic, imported by the routes that take a body
    from tokensmith.webhooks.models import CreateWebhookRequest, UpdateWebhookRequest


class WebhookService:
    def __init__(
        self,
        repository: WebhookRepository,
        settings: Settings,
        now: Callable[[], datetime] = clock.now,
        kms: Any = None,
    ) -> None:
        self.repository = repository
        self.settings = settings
        self._now = now
        self._kms = kms

    # --- reads ---------------------------------------------------------------------------------------

    @requires(WEBHOOKS_READ)
    def get_webhook(self, principal: Principal, webhook_id: str) -> dict[str, Any]:
        return self._load_visible(principal, webhook_id)

    @requires(WEBHOOKS_READ)
    def list_webhooks(
        self, principal: Principal, limit: int = 50, cursor: str | None = None, organization_id: str | None = None
    ) -> tuple[list[dict[str, Any]], str | None]:
        organization = listed_organization(principal, organization_id)
        return self.repository.list_webhooks(organization, limit, cursor)

    @requires(WEBHOOKS_READ)
    def list_deliveries(
        self, principal: Principal, webhook_id: str, limit: int = 50, cursor: str | None = None
    ) -> tuple[list[dict[str, Any]], str | None]:
        self._load_visible(principal, webhook_id)
        return self.repository.list_deliveries(webhook_id, limit, cursor)

    # --- changes -------------------------------------------------------------------------------------

    @requires(WEBHOOKS_WRITE)
    def create_webhook(
        self, principal: Principal, request: CreateWebhookRequest, meta: RequestMeta
    ) -> tuple[dict[str, Any], str]:
        organization = created_in(principal, request.organization_id, "webhooks")
        self._check_url(request.url)
        event_types = _ordered(request.event_types or EVENT_TYPES)
        target = endpoint_target(request.url, event_types)
        refusal = self._refusal(organization, target, for_create=True)
        if refusal is not None:
            raise refusal
        webhook_id = str(uuid.uuid4())
        secret = signing_keys.new_secret()
        at = clock.to_iso(self._now())
        item = {
            "id": webhook_id,
            "organization_id": organization,
            "url": request.url,
            "description": request.description or None,
            "event_types": event_types,
            "enabled": True,
            "secret_ciphertext": self._encrypt(secret, webhook_id, organization),
            "created_at": at,
            "modified_at": at,
            "created_by": f"token:{principal.token_id}",
            "version": 1,
        }
        try:
            self.repository.create_webhook(item, self.settings.max_webhook_endpoints)
        except RegisterRefused:  # another create got there first: say which rule it broke
            raise self._refusal(organization, target, True) or Conflict("webhooks changed meanwhile; retry") from None
        count("webhook.created")
        return item, secret

    @requires(WEBHOOKS_WRITE)
    def update_webhook(
        self, principal: Principal, webhook_id: str, request: UpdateWebhookRequest, meta: RequestMeta
    ) -> dict[str, Any]:
        item = self._load_for_change(principal, webhook_id, meta)
        values: dict[str, Any] = {}
        remove: tuple[str, ...] = ()
        if request.url is not None:
            self._check_url(request.url)
            values["url"] = request.url
        if request.event_types is not None:
            values["event_types"] = _ordered(request.event_types)
        if request.description is not None:
            values["description"] = request.description or None
        if request.enabled is not None:
            values["enabled"] = request.enabled
            if request.enabled:
                remove = ("disabled_reason",) if "disabled_reason" in item else ()
            else:
                values["disabled_reason"] = "disabled by a user"
        changed = {k: v for k, v in values.items() if item.get(k) != v}
        if not changed and not remove:
            return item
        return self._write(item, changed, remove, meta)

    @requires(WEBHOOKS_WRITE)
    def rotate_secret(
        self, principal: Principal, webhook_id: str, grace_period_seconds: int, meta: RequestMeta
    ) -> tuple[dict[str, Any], str]:
        """A new signing secret for every delivery from now on; for ``grace_period_seconds`` deliveries
        carry a second signature made with the old one, so receivers can switch without losing any."""
        item = self._load_for_change(principal, webhook_id, meta)
        secret = signing_keys.new_secret()
        now = self._now()
        values: dict[str, Any] = {
            "secret_ciphertext": self._encrypt(secret, item["id"], item["organization_id"]),
            "secret_rotated_at": clock.to_iso(now),
            "previous_secret_ciphertext": None,
            "previous_valid_epoch": None,
        }
        if grace_period_seconds > 0:
            values["previous_secret_ciphertext"] = item["secret_ciphertext"]
            values["previous_valid_epoch"] = clock.epoch(now) + grace_period_seconds
        updated = self._write(item, values, (), meta)
        count("webhook.secret_rotated")
        return updated, secret

    @requires(WEBHOOKS_WRITE)
    def delete_webhook(self, principal: Principal, webhook_id: str, meta: RequestMeta) -> None:
        """Deleted at once; pending retries find no endpoint and are dropped; its delivery log is left
        to TTL."""
        item = self._load_for_change(principal, webhook_id, meta)
        organization = item["organization_id"]
        self._register(organization)
        target = endpoint_target(item["url"], item["event_types"])
        try:
            self.repository.delete_webhook(item["id"], item["version"], organization, target)
        except VersionConflict:
            raise self._lost_race(meta) from None
        count("webhook.deleted")

    # --- rules ---------------------------------------------------------------------------------------

    def _load_visible(self, principal: Principal, webhook_id: str) -> dict[str, Any]:
        """The endpoint if this caller may see it; another tenant's endpoint is a 404, never a 403."""
        item = self.repository.get_webhook(webhook_id) if table.is_uuid(webhook_id) else None
        if item is None or not sees_organization(principal, item["organization_id"]):
            raise NotFound(f"webhook {webhook_id} not found")
        return item

    def _load_for_change(self, principal: Principal, webhook_id: str, meta: RequestMeta) -> dict[str, Any]:
        item = self._load_visible(principal, webhook_id)
        if meta.if_match is not None and item["version"] not in meta.if_match:
            raise PreconditionFailed(
                f"the webhook is at version {item['version']}, not the one in If-Match; fetch it again",
                headers={"ETag": f'"{item["version"]}"'},
            )
        return item

    def _write(
        self, item: dict[str, Any], values: dict[str, Any], remove: tuple[str, ...], meta: RequestMeta
    ) -> dict[str, Any]:
        retarget = self._retarget(item, values)
        values = {**values, "modified_at": self._iso_now(), "version": item["version"] + 1}
        set_values = {k: v for k, v in values.items() if v is not None}
        remove = tuple(sorted(set(remove) | {k for k, v in values.items() if v is None and k in item}))
        try:
            self.repository.update_webhook(item["id"], item["version"], set_values, remove, retarget)
        except VersionConflict:
            raise self._lost_race(meta) from None
        except NameTaken:
            raise _duplicate(item["organization_id"]) from None
        updated = {**item, **set_values}
        for key in remove:
            updated.pop(key, None)
        return updated

    def _retarget(self, item: dict[str, Any], values: dict[str, Any]) -> Retarget | None:
        """The register change of a new URL or new event types (None when the target stays)."""
        old = endpoint_target(item["url"], item["event_types"])
        new = endpoint_target(values.get("url", item["url"]), values.get("event_types", item["event_types"]))
        if new == old:
            return None
        refusal = self._refusal(item["organization_id"], new, for_create=False)
        if refusal is not None:
            raise refusal
        return Retarget(item["organization_id"], old, new)

    def _register(self, organization_id: str) -> dict[str, Any]:
        """The organization's endpoint register, started first if its endpoints predate it."""
        register = self.repository.get_endpoint_register(organization_id)
        if register is None:
            self.repository.start_endpoint_register(organization_id)
            register = self.repository.get_endpoint_register(organization_id) or {}
        return register

    def _refusal(self, organization_id: str, target: str, for_create: bool) -> Conflict | None:
        """Why the register refuses an endpoint with ``target`` (a new one when ``for_create``), if it does."""
        register = self._register(organization_id)
        existing = (register.get("targets") or {}).get(target)
        if existing is not None:
            return _duplicate(organization_id, existing)
        cap = self.settings.max_webhook_endpoints
        if for_create and register.get("endpoint_count", 0) >= cap:
            return Conflict(
                f"organization {organization_id} has {register['endpoint_count']} webhook endpoints, the most "
                f"MaxWebhookEndpoints ({cap}) allows; delete one first"
            )
        return None

    @staticmethod
    def _lost_race(meta: RequestMeta) -> Exception:
        if meta.if_match is not None:
            return PreconditionFailed("the webhook changed while this request was applied; fetch it again")
        return Conflict("the webhook is being changed by another request; retry")

    def _check_url(self, url: str) -> None:
        try:
            egress.check_url(url, allow_loopback=self.settings.webhook_allow_loopback)
        except egress.UnsafeUrl as error:
            raise ValidationFailed(f"url refused: {error}", [FieldError("url", f"refused: {error}")]) from None

    def _encrypt(self, secret: str, webhook_id: str, organization_id: str) -> str:
        if not self.settings.webhook_key_id:
            raise RuntimeError("WEBHOOK_KEY_ID is not set: signing secrets cannot be stored")
        return signing_keys.encrypt(secret, webhook_id, organization_id, self.settings.webhook_key_id, self._kms)

    def _iso_now(self) -> str:
        return clock.to_iso(self._now())


def _duplicate(organization_id: str, existing: str | None = None) -> Conflict:
    which = f" ({existing})" if existing else ""
    return Conflict(
        f"organization {organization_id} already has a webhook endpoint{which} with this url and these event types"
    )


def _ordered(event_types: Any) -> list[str]:
    chosen = set(event_types)
    return [t for t in EVENT_TYPES if t in chosen]


@lru_cache(maxsize=1)
def webhook_service() -> WebhookService:
    """The process-wide service over the configured table."""
    return WebhookService(default_webhook_repository(), get_settings())
