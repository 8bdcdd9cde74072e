"""Request bodies (pydantic v2). Unknown fields are rejected; read-only fields get their own message.

``null`` means "leave unchanged" in PATCH bodies, as in the seed APIs; an empty string clears the
optional text fields (``description``, ``icon``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StringConstraints,
)

from tokensmith.publisher import EVENT_TYPES

READ_ONLY_FIELDS = frozenset(
    {
        "id",
        "status",
        "active",
        "start",
        "created_at",
        "modified_at",
        "last_used_at",
        "last_used_ip",
        "last_used_user_agent",
        "created_ip",
        "user_agent",
        "revoked_at",
        "audit",
        "version",
        "secret",
        "secret_digest",
        "disabled_reason",
    }
)


def _trimmed(forbidden: str = "") -> str:
    """A pattern for a printable text, without the ``forbidden`` characters, that neither starts nor
    ends with whitespace. Such text is refused, not stripped, so that what the OpenAPI document
    promises is exactly what the API accepts. The classes are spelled out (no ``\\s``): pydantic's
    Rust engine, Python's ``re`` and ECMAScript (the document's readers) disagree on what ``\\s`` is."""
    control = r"\x00-\x1f\x7f-\x9f"
    space = r"\x20\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
    inner = f"[^{control}{forbidden}]"
    edge = f"[^{control}{space}{forbidden}]"
    return f"^{edge}(?:{inner}*{edge})?$"


_TRIMMED = _trimmed()
_TRIMMED_NO_HASH = _trimmed("#")
_TEXT = "must be printable text that neither starts nor ends with whitespace"
# What a pattern means, in words, for error messages (pydantic would quote the regular expression).
PATTERN_MESSAGES = {_TRIMMED: _TEXT, f"^$|{_TRIMMED}": _TEXT, _TRIMMED_NO_HASH: _TEXT + ", without '#'"}


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("must include a time zone, for example 2027-01-31T12:00:00Z")
    return value.replace(microsecond=0)


def _integral(value: Any) -> Any:
    # JSON has one number type: 60.0 is the integer 60 (as JSON Schema says); 60.5 and true are not.
    return int(value) if type(value) is float and value.is_integer() else value


def _unique(values: list[str]) -> list[str]:
    if len(set(values)) != len(values):
        raise ValueError("must not repeat a scope")
    return values


def _unique_types(values: list[str]) -> list[str]:
    if len(set(values)) != len(values):
        raise ValueError("must not repeat an event type")
    return values


Name = Annotated[str, StringConstraints(min_length=1, max_length=256, pattern=_TRIMMED)]
Description = Annotated[str, StringConstraints(max_length=2048)]
Icon = Annotated[str, StringConstraints(max_length=2048, pattern=f"^$|{_TRIMMED}")]
Scope = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9:._-]+$")]
Scopes = Annotated[list[Scope], Field(max_length=64, json_schema_extra={"uniqueItems": True}), AfterValidator(_unique)]
Owner = Annotated[str, StringConstraints(min_length=1, max_length=320, pattern=_TRIMMED_NO_HASH)]
OrganizationId = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:@-]+$")]
Timestamp = Annotated[datetime, AfterValidator(_aware)]
Seconds = Annotated[StrictInt, BeforeValidator(_integral)]
Reason = Annotated[str, StringConstraints(min_length=1, max_length=512, pattern=_TRIMMED)]
WebhookUrl = Annotated[str, StringConstraints(min_length=1, max_length=2048, pattern=r"^[Hh][Tt][Tt][Pp][Ss]?://\S+$")]
EventType = Literal[EVENT_TYPES]  # type: ignore[valid-type]
EventTypes = Annotated[
    list[EventType],
    Field(min_length=1, max_length=len(EVENT_TYPES), json_schema_extra={"uniqueItems": True}),
    AfterValidator(_unique_types),
]


class RequestBody(BaseModel):
    # defer_build: a model's validator is built when first used, not at import. Each function uses
    # one of these models (and the response models only serve the OpenAPI document), so building
    # them all at import was most of this module's import time, on every cold start.
    model_config = ConfigDict(extra="forbid", populate_by_name=False, str_strip_whitespace=False, defer_build=True)


class CreateTokenRequest(RequestBody):
    name: Name
    description: Description | None = Field(default=None, validation_alias=AliasChoices("description", "comment"))
    icon: Icon | None = None
    scopes: Scopes = Field(default_factory=list)
    expires_at: Timestamp | None = None
    owner: Owner | None = Field(default=None, validation_alias=AliasChoices("owner", "owner_email"))
    revoked: StrictBool = False
    organization_id: OrganizationId | None = None


class UpdateTokenRequest(RequestBody):
    """PATCH: an omitted or ``null`` field is left unchanged; a list replaces the list."""

    name: Name | None = None
    description: Description | None = Field(default=None, validation_alias=AliasChoices("description", "comment"))
    icon: Icon | None = None
    scopes: Scopes | None = None
    expires_at: Timestamp | None = None


class ReplaceTokenRequest(RequestBody):
    """PUT: every editable field; omitted ``description``/``icon`` are cleared, an omitted
    ``expires_at`` keeps the current expiry (a token never loses its expiry by omission)."""

    name: Name
    description: Description | None = Field(default=None, validation_alias=AliasChoices("description", "comment"))
    icon: Icon | None = None
    scopes: Scopes
    expires_at: Timestamp | None = None


class RevokeTokenRequest(RequestBody):
    reason: Reason


class RotateTokenRequest(RequestBody):
    grace_period_seconds: Seconds = Field(default=0, ge=0, le=7 * 24 * 3600)


# The bodies that carry raw secrets keep them out of repr(): Powertools' debug logging prints the
# route's arguments.
class VerifyTokenRequest(RequestBody):
    token: Annotated[str, StringConstraints(min_length=1, max_length=512)] = Field(repr=False)
    scopes: Scopes = Field(default_factory=list)


class AdminUpdateTokenRequest(RequestBody):
    status: Literal["active", "disabled", "revoked", "expired"] | None = None
    expires_at: Timestamp | None = None
    revoked: StrictBool | None = None
    revoked_reason: Reason | None = None
    owner: Owner | None = Field(default=None, validation_alias=AliasChoices("owner", "owner_email"))


class CreateSessionRequest(RequestBody):
    """The token to sign in with; or send no body and ``Authorization: Bearer <token>``."""

    token: Annotated[str, StringConstraints(min_length=1, max_length=512)] | None = Field(default=None, repr=False)


class RevokeLeakedRequest(RequestBody):
    tokens: Annotated[
        list[Annotated[str, StringConstraints(min_length=1, max_length=512)]],
        Field(min_length=1, max_length=1000, repr=False),
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


# --- responses: the contract that the OpenAPI document publishes (runtime bodies come from views.py;
# a test checks every response against these models) ------------------------------------------------


class ResponseBody(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)


class AuditStamp(ResponseBody):
    at: str
    by: str


class Audit(ResponseBody):
    created: AuditStamp
    updated: AuditStamp


class Token(ResponseBody):
    id: str
    organization_id: str
    owner: str | None
    name: str
    description: str | None
    icon: str | None
    scopes: list[str]
    status: Literal["active", "disabled", "revoked", "expired", "deleted"]
    active: bool
    start: str
    created_at: str
    modified_at: str
    expires_at: str | None
    last_used_at: str | None
    last_used_ip: str | None
    last_used_user_agent: str | None
    created_ip: str | None
    user_agent: str | None
    revoked_at: str | None
    revoked_reason: str | None
    audit: Audit
    version: int


class TokenWithSecret(ResponseBody):
    token: Token
    secret: str = Field(description="The token's secret. Shown this once: store it now.")


class TokenPage(ResponseBody):
    items: list[Token]
    next_cursor: str | None = Field(description="Pass back as ?cursor= for the next page; null on the last page.")


class TokenEvent(ResponseBody):
    id: str
    type: str
    token_id: str
    organization_id: str
    occurred_at: str
    actor: dict[str, str | None]
    ip: str | None
    user_agent: str | None
    changes: dict[str, dict[str, object]]
    reason: str | None
    details: dict[str, object] | None


class TokenEventPage(ResponseBody):
    items: list[TokenEvent]
    next_cursor: str | None


class VerifyResult(ResponseBody):
    valid: bool
    code: Literal["VALID", "NOT_FOUND", "DISABLED", "REVOKED", "EXPIRED", "DELETED", "INSUFFICIENT_SCOPES"]
    token: Token | None


class RevokeLeakedResult(ResponseBody):
    received: int = Field(description="How many strings were received; says nothing about which were real tokens.")


class Session(ResponseBody):
    csrf_token: str = Field(
        description="Send it as X-CSRF-Token with every POST, PUT, PATCH and DELETE made with the session cookie."
    )
    expires_at: str = Field(description="When the session ends, however active (SessionMaxHours after sign-in).")
    idle_timeout_seconds: int = Field(description="The session ends after this long without a request.")
    token: Token = Field(description="The token the session acts as: its organization and scopes.")
    scope_catalog: list[str] = Field(description="Every scope a token may hold in this deployment.")
    max_token_lifetime_days: int = Field(description="The longest lifetime a new token may have; 0 = no limit.")


class Webhook(ResponseBody):
    id: str
    organization_id: str
    url: str
    description: str | None
    event_types: list[str]
    enabled: bool
    disabled_reason: str | None = Field(description="Why the endpoint was disabled (for example 410 Gone).")
    created_at: str
    modified_at: str
    version: int


class WebhookWithSecret(ResponseBody):
    webhook: Webhook
    secret: str = Field(description="The whsec_ signing secret. Shown this once: store it now.")


class WebhookPage(ResponseBody):
    items: list[Webhook]
    next_cursor: str | None


class WebhookDelivery(ResponseBody):
    id: str
    webhook_id: str
    message_id: str = Field(description="The webhook-id header: the same for every attempt of one message.")
    event_type: str
    attempt: int = Field(description="1 for the first attempt, then 2, 3, ...")
    attempted_at: str
    status_code: int | None = Field(description="The receiver's HTTP status; null when there was no answer.")
    latency_ms: int
    outcome: Literal["delivered", "retrying", "failed", "gone"]
    error: str | None
    next_retry_at: str | None = Field(description="When the next attempt is due; null when there is none.")


class WebhookDeliveryPage(ResponseBody):
    items: list[WebhookDelivery]
    next_cursor: str | None


class ProblemFieldError(ResponseBody):
    field: str
    message: str


class GatewayError(ResponseBody):
    """What API Gateway itself answers before any function runs (401, 403 from the authorizer, 429)."""

    message: str


class Problem(ResponseBody):
    """RFC 9457 problem details (``application/problem+json``)."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[ProblemFieldError] | None = None
