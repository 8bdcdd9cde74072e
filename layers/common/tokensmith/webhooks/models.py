"""The request and response models of the webhook routes (pydantic v2; shared types in ``models``)."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import AfterValidator, Field, StrictBool, StringConstraints

from tokensmith.models import (
    DateTimeText,
    Description,
    OrganizationId,
    RequestBody,
    ResponseBody,
    Seconds,
    UuidText,
    no_repeats,
)
from tokensmith.webhooks.event_types import EVENT_TYPES

# https only, as the service checks (egress.check_url: 422 for http); the local runs' AllowLoopbackWebhooks
# also lets http loopback receivers through, so the model leaves http to the service and the document says https.
WebhookUrl = Annotated[
    str,
    StringConstraints(min_length=1, max_length=2048, pattern=r"^[Hh][Tt][Tt][Pp][Ss]?://\S+$"),
    Field(json_schema_extra={"pattern": r"^[Hh][Tt][Tt][Pp][Ss]://\S+$"}),
]
EventType = Literal[EVENT_TYPES]  # type: ignore[valid-type]
EventTypes = Annotated[
    list[EventType],
    Field(min_length=1, max_length=len(EVENT_TYPES), json_schema_extra={"uniqueItems": True}),
    AfterValidator(no_repeats("an event type")),
]


class CreateWebhookRequest(RequestBody):
    url: WebhookUrl
    event_types: EventTypes | None = Field(default=None, description="Omitted: every event type.")
    description: Description | None = None
    organization_id: OrganizationId | None = Field(default=None, description="Admins only.")


class UpdateWebhookRequest(RequestBody):
    """PATCH: an omitted or ``null`` field is left unchanged; ``enabled: true`` re-enables an endpoint
    (also one that answered 410 Gone)."""

    url: WebhookUrl | None = None
    event_types: EventTypes | None = None
    description: Description | None = None
    enabled: StrictBool | None = None


class RotateWebhookSecretRequest(RequestBody):
    grace_period_seconds: Seconds = Field(
        default=86400,
        ge=0,
        le=7 * 24 * 3600,
        description="How long deliveries also carry a signature made with the old secret (0 = none).",
    )


class Webhook(ResponseBody):
    etag_subject: ClassVar[str] = "webhook"  # its answers carry the item's ETag
    id: UuidText
    organization_id: str
    url: str
    description: str | None
    event_types: list[str]
    enabled: bool
    disabled_reason: str | None = Field(description="Why the endpoint was disabled (for example 410 Gone).")
    created_at: DateTimeText
    modified_at: DateTimeText
    version: int


class WebhookWithSecret(ResponseBody):
    etag_subject: ClassVar[str] = "webhook"  # its answers carry the item's ETag
    webhook: Webhook
    secret: str = Field(description="The whsec_ signing secret. Shown this once: store it now.")


class WebhookPage(ResponseBody):
    items: list[Webhook]
    next_cursor: str | None


class WebhookDelivery(ResponseBody):
    id: str
    webhook_id: UuidText
    message_id: str = Field(description="The webhook-id header: the same for every attempt of one message.")
    event_type: str
    attempt: int = Field(description="1 for the first attempt, then 2, 3, ...")
    attempted_at: DateTimeText
    status_code: int | None = Field(description="The receiver's HTTP status; null when there was no answer.")
    latency_ms: int
    outcome: Literal["delivered", "retrying", "failed", "gone"]
    error: str | None
    next_retry_at: DateTimeText | None = Field(description="When the next attempt is due; null when there is none.")


class WebhookDeliveryPage(ResponseBody):
    items: list[WebhookDelivery]
    next_cursor: str | None
