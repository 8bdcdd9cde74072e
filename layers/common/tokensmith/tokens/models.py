"""The request and response models of the token routes (pydantic v2; shared types in ``models``)."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import AliasChoices, Field, StrictBool, StringConstraints

from tokensmith.models import (
    DateTimeText,
    Description,
    Icon,
    Name,
    OrganizationId,
    Owner,
    Reason,
    RequestBody,
    ResponseBody,
    Scopes,
    Seconds,
    Timestamp,
    UuidText,
)
from tokensmith.tokens.policies import (
    MAX_COST,
    AllowedCidrs,
    Credits,
    CreditsState,
    Meta,
    RateLimits,
    RateLimitState,
)
from tokensmith.tokens.policy_fields import POLICY_FIELDS


class PolicyFields(RequestBody):
    """The usage policies a token carries (``tokens.policies``; product.md, "Usage policies")."""

    ratelimits: RateLimits | None = None
    credits: Credits | None = None
    allowed_cidrs: AllowedCidrs | None = None
    meta: Meta | None = None

    def removed_policies(self) -> dict[str, None]:
        """The policies given as ``null``: removed by a ``PATCH`` (``credits: null`` = unlimited),
        where an omitted one is left as it is."""
        return {name: None for name in POLICY_FIELDS if name in self.model_fields_set and getattr(self, name) is None}


class CreateTokenRequest(PolicyFields):
    name: Name
    description: Description | None = Field(default=None, validation_alias=AliasChoices("description", "comment"))
    icon: Icon | None = None
    scopes: Scopes = Field(default_factory=list)
    expires_at: Timestamp | None = None
    owner: Owner | None = Field(default=None, validation_alias=AliasChoices("owner", "owner_email"))
    revoked: StrictBool = False
    organization_id: OrganizationId | None = None


class UpdateTokenRequest(PolicyFields):
    """PATCH: an omitted field is left unchanged, and so is a ``null`` one except a usage policy, which
    ``null`` removes (``credits: null``: unlimited); a list replaces the list (``[]`` clears
    ``ratelimits``/``allowed_cidrs``, ``{}`` clears ``meta``)."""

    name: Name | None = None
    description: Description | None = Field(default=None, validation_alias=AliasChoices("description", "comment"))
    icon: Icon | None = None
    scopes: Scopes | None = None
    expires_at: Timestamp | None = None


class ReplaceTokenRequest(PolicyFields):
    """PUT: every editable field; omitted ``description``/``icon`` and usage policies are cleared, an
    omitted ``expires_at`` keeps the current expiry (a token never loses its expiry by omission)."""

    name: Name
    description: Description | None = Field(default=None, validation_alias=AliasChoices("description", "comment"))
    icon: Icon | None = None
    scopes: Scopes
    expires_at: Timestamp | None = None


class RevokeTokenRequest(RequestBody):
    reason: Reason


class RotateTokenRequest(RequestBody):
    grace_period_seconds: Seconds = Field(
        default=0, ge=0, le=7 * 24 * 3600, description="How long the old secret keeps working (0: it dies now)."
    )
    retire_on_first_use: StrictBool = Field(
        default=False,
        description=(
            "End the grace period at the new secret's first successful verification, if that comes before its end "
            "(a `token.rotation_completed` event). Needs `grace_period_seconds` above 0 (else 422)."
        ),
    )


# The bodies that carry raw secrets keep them out of repr(): Powertools' debug logging prints the
# route's arguments.
class VerifyTokenRequest(RequestBody):
    token: Annotated[str, StringConstraints(min_length=1, max_length=512)] = Field(repr=False)
    scopes: Scopes = Field(default_factory=list)
    ip: Annotated[str, StringConstraints(min_length=2, max_length=45)] | None = Field(
        default=None, description="The address of the client that presented the token (for `allowed_cidrs`)."
    )
    cost: Seconds = Field(
        default=1, ge=0, le=MAX_COST, description="What this verification spends of each rate limit and of the credits."
    )
    user_agent: Annotated[str, StringConstraints(min_length=1, max_length=512)] | None = Field(
        default=None,
        description="The user agent of the client that presented the token (kept with a network it is new from).",
    )


class AdminUpdateTokenRequest(PolicyFields):
    status: Literal["active", "disabled", "revoked", "expired"] | None = None
    expires_at: Timestamp | None = None
    revoked: StrictBool | None = None
    revoked_reason: Reason | None = None
    owner: Owner | None = Field(default=None, validation_alias=AliasChoices("owner", "owner_email"))


class RevokeLeakedRequest(RequestBody):
    tokens: Annotated[
        list[Annotated[str, StringConstraints(min_length=1, max_length=512)]],
        Field(min_length=1, max_length=1000, repr=False),
    ]


class AuditStamp(ResponseBody):
    at: DateTimeText
    by: str


class Audit(ResponseBody):
    created: AuditStamp
    updated: AuditStamp


class DisabledBy(ResponseBody):
    token_id: str = Field(description="The token that disabled it.")
    authority: Literal["tokens:manage", "admin"] | None = Field(
        description="The scope a re-enable needs (the disabler's strongest of tokens:manage and admin); null: none."
    )


class NetworkSeen(ResponseBody):
    network: str = Field(description="The IPv4 /24 or IPv6 /48 of the client's address.")
    first_seen_at: DateTimeText
    last_seen_at: DateTimeText = Field(
        description="Refreshed with last_used_at (at most once a minute per token, by a use from this network)."
    )
    user_agent: str | None = Field(description="The user agent of the first use from this network (128 characters).")


class Token(ResponseBody):
    etag_subject: ClassVar[str] = "token"  # its answers carry the item's ETag
    id: UuidText
    organization_id: str
    owner: str | None
    name: str
    description: str | None
    icon: str | None
    scopes: list[str]
    status: Literal["active", "disabled", "revoked", "expired", "deleted"]
    active: bool
    start: str
    created_at: DateTimeText
    modified_at: DateTimeText
    expires_at: DateTimeText | None
    last_used_at: DateTimeText | None
    last_used_ip: str | None
    last_used_user_agent: str | None
    created_ip: str | None
    user_agent: str | None
    revoked_at: DateTimeText | None
    revoked_reason: str | None = Field(
        description=(
            "The reason given when it was revoked, or the service's own: `leaked` (a reported leak), "
            "`policy` (its organization's policy enforced), `inactive` (unused for its organization's "
            "`inactivity_days`)."
        )
    )
    disabled_by: DisabledBy | None = Field(description="Who disabled the token, while it is disabled.")
    ratelimits: list[dict[str, object]] | None = Field(
        description="Rate limits: name, limit, duration_seconds, shared."
    )
    credits: dict[str, object] | None = Field(
        description=(
            "Credits: remaining (left now on a read of one token; as last granted in lists), refill, "
            "low_threshold; null: unlimited."
        )
    )
    allowed_cidrs: list[str] | None
    meta: dict[str, object] | None
    audit: Audit
    version: int
    networks: list[NetworkSeen] = Field(
        description=(
            "Read-only: the networks the token was used from (the authorizer's source IP, the `ip` of "
            "POST /v1/tokens/verify), the 20 most recently seen, newest first. A use from a network not "
            "in the list is a `token.new_location` event (not the first network: that one is recorded silently)."
        )
    )


class TokenWithSecret(ResponseBody):
    etag_subject: ClassVar[str] = "token"  # its answers carry the item's ETag
    token: Token
    secret: str = Field(description="The token's secret. Shown this once: store it now.")


class TokenPage(ResponseBody):
    items: list[Token]
    next_cursor: str | None = Field(description="Pass back as ?cursor= for the next page; null on the last page.")


class TokenEvent(ResponseBody):
    id: str
    type: str
    token_id: UuidText
    organization_id: str
    occurred_at: DateTimeText
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
    code: Literal[
        "VALID",
        "NOT_FOUND",
        "DISABLED",
        "REVOKED",
        "EXPIRED",
        "DELETED",
        "INSUFFICIENT_SCOPES",
        "IP_NOT_ALLOWED",
        "RATE_LIMITED",
        "USAGE_EXCEEDED",
    ]
    token: Token | None
    ratelimits: list[RateLimitState] = Field(description="Each rate limit's window after this verification.")
    credits: CreditsState | None = Field(description="The credits left; null: unlimited.")
    meta: dict[str, object] | None


class CreditsUsage(ResponseBody):
    remaining: int = Field(description="Left now (a refill due at the next verification counted as made).")
    refill: dict[str, object] | None = Field(description="The credits' refill: interval, amount, day_of_month.")
    period_ends_at: DateTimeText | None = Field(description="When the next refill is due; null without refill.")


class TokenUsage(ResponseBody):
    ratelimits: list[RateLimitState] = Field(
        description="The current window of each rate limit: what is left of it and when it ends."
    )
    credits: CreditsUsage | None = Field(description="The credits; null: unlimited.")


class RevokeLeakedResult(ResponseBody):
    received: int = Field(description="How many strings were received; says nothing about which were real tokens.")
