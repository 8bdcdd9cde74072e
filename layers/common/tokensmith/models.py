"""Request bodies (pydantic v2). Unknown fields are rejected; read-only fields get their own message.

``null`` means "leave unchanged" in PATCH bodies, as in the seed APIs; an empty string clears the
optional text fields (``description``, ``icon``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StringConstraints,
)

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
    }
)

_NO_CONTROL = r"^[^\x00-\x1f\x7f]*$"


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("must include a time zone, for example 2027-01-31T12:00:00Z")
    return value.replace(microsecond=0)


def _unique(values: list[str]) -> list[str]:
    if len(set(values)) != len(values):
        raise ValueError("must not repeat a scope")
    return values


Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=256, pattern=_NO_CONTROL)]
Description = Annotated[str, StringConstraints(max_length=2048)]
Icon = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2048, pattern=_NO_CONTROL)]
Scope = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9:._-]+$")]
Scopes = Annotated[list[Scope], Field(max_length=64), AfterValidator(_unique)]
Owner = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=320, pattern=r"^[^\x00-\x1f\x7f#]+$")
]
OrganizationId = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:@-]+$")]
Timestamp = Annotated[datetime, AfterValidator(_aware)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=512, pattern=_NO_CONTROL)]


class RequestBody(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=False, str_strip_whitespace=False)


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
    grace_period_seconds: StrictInt = Field(default=0, ge=0, le=7 * 24 * 3600)


class VerifyTokenRequest(RequestBody):
    token: Annotated[str, StringConstraints(min_length=1, max_length=512)]
    scopes: Scopes = Field(default_factory=list)


class AdminUpdateTokenRequest(RequestBody):
    status: Literal["active", "disabled", "revoked", "expired"] | None = None
    expires_at: Timestamp | None = None
    revoked: StrictBool | None = None
    revoked_reason: Reason | None = None
    owner: Owner | None = Field(default=None, validation_alias=AliasChoices("owner", "owner_email"))
