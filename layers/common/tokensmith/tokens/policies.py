"""The usage-policy fields of a token and an organization (pydantic v2): their shapes and bounds,
declared once here and used by the request models, the OpenAPI document and the README.

Stored as given on the token item (``ratelimits``, ``credits``, ``allowed_cidrs``; ``meta`` as its
JSON text, so verification hands it on without parsing it); evaluated by ``tokens.usage``.
"""

from __future__ import annotations

import ipaddress
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, BeforeValidator, Field, StrictBool, StrictInt, StringConstraints

from tokensmith.models import PATTERN_MESSAGES, RequestBody, ResponseBody, integral
from tokensmith.tokens.policy_fields import meta_text

MAX_RATELIMITS = 5
MAX_LIMIT = 1_000_000
MAX_WINDOW_SECONDS = 86_400
MAX_CREDITS = 1_000_000_000
MAX_CIDRS = 50
MAX_META_BYTES = 4096
MAX_META_DEPTH = 5
MAX_COST = 1000

# Strict integers (60.0 counts as 60, as JSON Schema says) with their bounds in the document as
# minimum/maximum (a Field around an already validated type would print ge/le instead).
LimitCount = Annotated[StrictInt, Field(ge=1, le=MAX_LIMIT), BeforeValidator(integral)]
WindowSeconds = Annotated[StrictInt, Field(ge=1, le=MAX_WINDOW_SECONDS), BeforeValidator(integral)]
CreditCount = Annotated[StrictInt, Field(ge=0, le=MAX_CREDITS), BeforeValidator(integral)]
DayOfMonth = Annotated[StrictInt, Field(ge=1, le=31), BeforeValidator(integral)]


def _cidr(value: str) -> str:
    """An IPv4 or IPv6 network (host bits allowed and cleared): its canonical text."""
    try:
        return str(ipaddress.ip_network(value, strict=False))
    except ValueError:
        raise ValueError("must be an IPv4 or IPv6 CIDR such as 203.0.113.0/24 or 2001:db8::/32") from None


def _unique_names(limits: list[RateLimit]) -> list[RateLimit]:
    names = [limit.name for limit in limits]
    if len(set(names)) != len(names):
        raise ValueError("must not repeat a rate limit name")
    return limits


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


def _meta(value: dict[str, Any]) -> dict[str, Any]:
    if len(meta_text(value).encode("utf-8")) > MAX_META_BYTES:
        raise ValueError(f"must be at most {MAX_META_BYTES} bytes as JSON")
    if _depth(value) > MAX_META_DEPTH:
        raise ValueError(f"must nest at most {MAX_META_DEPTH} levels")
    return value


# The pattern says in the OpenAPI document exactly what parses (so a client's schema-valid CIDR is
# never refused): dotted IPv4 without leading zeros, IPv6 in its colon forms, a prefix length.
_OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_HEX = "[0-9a-fA-F]{1,4}"
_IPV6 = "|".join(
    (
        f"({_HEX}:){{7}}{_HEX}",
        f"({_HEX}:){{1,7}}:",
        f"({_HEX}:){{1,6}}:{_HEX}",
        *(f"({_HEX}:){{1,{n}}}(:{_HEX}){{1,{7 - n}}}" for n in range(5, 0, -1)),
        f":((:{_HEX}){{1,7}}|:)",
    )
)
CIDR_PATTERN = rf"^({_OCTET}(\.{_OCTET}){{3}}/(3[0-2]|[12]?[0-9])|({_IPV6})/(12[0-8]|1[01][0-9]|[1-9]?[0-9]))$"
LIMIT_NAME_PATTERN = r"^[a-z0-9_-]{1,64}$"
# What the patterns mean, in words, for error messages (the binding reads this table).
PATTERN_MESSAGES.update(
    {
        CIDR_PATTERN: "must be an IPv4 or IPv6 CIDR such as 203.0.113.0/24 or 2001:db8::/32",
        LIMIT_NAME_PATTERN: "must be 1 to 64 of a-z, 0-9, '_' and '-'",
    }
)
Cidr = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=CIDR_PATTERN), AfterValidator(_cidr)]
AllowedCidrs = Annotated[list[Cidr], Field(max_length=MAX_CIDRS)]
Meta = Annotated[
    dict[str, Any],
    AfterValidator(_meta),
    Field(
        description=(
            "Returned on verify and by the authorizer, never interpreted: "
            f"≤ {MAX_META_BYTES} bytes as JSON, nesting ≤ {MAX_META_DEPTH}."
        )
    ),
]


class RateLimit(RequestBody):
    name: Annotated[str, StringConstraints(pattern=LIMIT_NAME_PATTERN)]
    limit: LimitCount
    duration_seconds: WindowSeconds
    shared: Literal["token", "owner"] = Field(
        default="token", description="`owner`: every live token of the same owner counts against one window."
    )


RateLimits = Annotated[list[RateLimit], Field(max_length=MAX_RATELIMITS), AfterValidator(_unique_names)]


class DailyRefill(RequestBody):
    interval: Literal["daily"]
    amount: CreditCount


class MonthlyRefill(RequestBody):
    interval: Literal["monthly"]
    amount: CreditCount
    day_of_month: DayOfMonth | None = Field(
        default=None, description="The day the period starts (default 1; in a shorter month, its last day)."
    )


# One model per interval, so that the document says what each accepts (day_of_month: monthly only).
Refill = Annotated[DailyRefill | MonthlyRefill, Field(discriminator="interval")]


class Credits(RequestBody):
    remaining: CreditCount
    refill: Refill | None = None
    low_threshold: CreditCount | None = None


MAX_INACTIVITY_DAYS = 3650
MAX_NOTICES = 5
InactivityDays = Annotated[StrictInt, Field(ge=1, le=MAX_INACTIVITY_DAYS), BeforeValidator(integral)]
LifetimeDays = Annotated[StrictInt, Field(ge=1, le=36_500), BeforeValidator(integral)]


def _notice_days(days: list[int]) -> list[int]:
    if len(set(days)) != len(days):
        raise ValueError("must not repeat a day")
    return sorted(days, reverse=True)


class OrganizationPolicyRequest(RequestBody):
    """The whole policy (a PUT replaces it: an omitted field takes its default)."""

    allowed_cidrs: AllowedCidrs = Field(
        default_factory=list,
        description="Every token of the organization must be presented from one of these (`[]`: anywhere).",
    )
    max_lifetime_days: LifetimeDays | None = Field(
        default=None,
        description="New tokens may expire at most this many days ahead (at most the deployment's own limit).",
    )
    require_expiry: StrictBool = Field(default=False, description="New tokens must have an `expires_at`.")
    on_new_location: Literal["notify", "disable"] = Field(
        default="notify",
        description=(
            "The first use of a token from a network it was never used from writes `token.new_location`; "
            "`disable` also disables the token in the same write."
        ),
    )
    inactivity_days: InactivityDays | None = Field(
        default=None,
        description="Tokens unused for this many days are revoked with reason `inactive` (`null`: never).",
    )
    inactivity_notice_days: Annotated[
        list[InactivityDays],
        Field(max_length=MAX_NOTICES, json_schema_extra={"uniqueItems": True}),
        AfterValidator(_notice_days),
    ] = Field(
        default_factory=list,
        description=(
            "`token.inactive_soon` notices this many days before an inactive token is revoked, e.g. `[14, 3]`; "
            "each less than `inactivity_days`."
        ),
    )


class PutOrganizationPolicyRequest(OrganizationPolicyRequest):
    """The PUT body: the whole policy, and what to do now to the live tokens it finds non-compliant."""

    enforce: Literal["none", "disable", "revoke"] = Field(
        default="none",
        description=(
            "`disable` or `revoke` (reason `policy`) the live tokens this policy finds non-compliant (see "
            "`POST .../policy/preview`), by the worker that copies the policy, page by page, each with its own "
            "audit event; progress in `enforcement`. Not part of the policy: the next PUT starts afresh."
        ),
    )


# --- responses -----------------------------------------------------------------------------------------


class RateLimitState(ResponseBody):
    name: str
    limit: int
    remaining: int
    reset_at: str


class CreditsState(ResponseBody):
    remaining: int


class PolicyEnforcement(ResponseBody):
    """The progress of the latest PUT's ``enforce``, counted page by page by the worker."""

    action: Literal["disable", "revoke"]
    examined: int = Field(description="Tokens of the organization read so far.")
    disabled: int
    revoked: int
    skipped: int = Field(
        default=0,
        description="Non-compliant tokens left as they are: they hold scopes the caller that sent the PUT lacks.",
    )
    done: bool = Field(description="Every page was examined.")
    started_at: str
    by: dict[str, object] = Field(description="Who asked: the token that sent the PUT.")


class NoncompliantToken(ResponseBody):
    token_id: str
    name: str
    owner: str | None
    status: Literal["active", "disabled"]
    reasons: list[Literal["lifetime", "allowlist", "inactivity"]]


class PolicyPreview(ResponseBody):
    """One page of the organization's live tokens that the candidate policy finds non-compliant."""

    organization_id: str
    tokens: list[NoncompliantToken]
    examined: int = Field(description="Tokens this page read (at most `limit`): a page may list none and go on.")
    next_cursor: str | None


class OrganizationPolicy(ResponseBody):
    etag_subject: ClassVar[str] = "policy"  # its answers carry the item's ETag
    organization_id: str
    allowed_cidrs: list[str]
    max_lifetime_days: int | None
    require_expiry: bool
    on_new_location: Literal["notify", "disable"]
    inactivity_days: int | None
    inactivity_notice_days: list[int]
    version: int
    modified_at: str | None
    propagated: bool  # every token of the organization carries this version (false while the worker copies it)
    enforcement: PolicyEnforcement | None = Field(
        default=None, description="The latest PUT's `enforce` (null: none asked), and how far it got."
    )
