"""What every request and response model shares (pydantic v2): the base classes, the field types
and their patterns, the read-only fields, and the problem document. Each domain's own models live in
its folder (``tokens/models.py``, ``sessions/models.py``, ``webhooks/models.py``).

Unknown fields are rejected; read-only fields get their own message. ``null`` means "leave
unchanged" in PATCH bodies, as in the seed APIs; an empty string clears the optional text fields
(``description``, ``icon``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
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
        "disabled_reason",
        "disabled_by",
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


def integral(value: Any) -> Any:
    # JSON has one number type: 60.0 is the integer 60 (as JSON Schema says); 60.5 and true are not.
    return int(value) if type(value) is float and value.is_integer() else value


def no_repeats(what: str) -> Callable[[list[str]], list[str]]:
    """A validator refusing a list that names one ``what`` twice."""

    def check(values: list[str]) -> list[str]:
        if len(set(values)) != len(values):
            raise ValueError(f"must not repeat {what}")
        return values

    return check


Name = Annotated[str, StringConstraints(min_length=1, max_length=256, pattern=_TRIMMED)]
Description = Annotated[str, StringConstraints(max_length=2048)]
Icon = Annotated[str, StringConstraints(max_length=2048, pattern=f"^$|{_TRIMMED}")]
Scope = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9:._-]+$")]
Scopes = Annotated[
    list[Scope], Field(max_length=64, json_schema_extra={"uniqueItems": True}), AfterValidator(no_repeats("a scope"))
]
Owner = Annotated[str, StringConstraints(min_length=1, max_length=320, pattern=_TRIMMED_NO_HASH)]
OrganizationId = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:@-]+$")]
Timestamp = Annotated[datetime, AfterValidator(_aware)]
Seconds = Annotated[StrictInt, BeforeValidator(integral)]
Reason = Annotated[str, StringConstraints(min_length=1, max_length=512, pattern=_TRIMMED)]


# Response fields: strings as the views build them, with the format a reader of the document may rely on
# (RFC 3339 instants, UUIDs), so that a generated client parses them.
DateTimeText = Annotated[str, Field(json_schema_extra={"format": "date-time"})]
UuidText = Annotated[str, Field(json_schema_extra={"format": "uuid"})]


class RequestBody(BaseModel):
    # defer_build: a model's validator is built when first used, not at import. Each function uses
    # one of these models (and the response models only serve the OpenAPI document), so building
    # them all at import was most of this module's import time, on every cold start.
    model_config = ConfigDict(extra="forbid", populate_by_name=False, str_strip_whitespace=False, defer_build=True)


# --- responses: the contract that the OpenAPI document publishes (runtime bodies come from the views;
# a test checks every response against these models) ------------------------------------------------


class ResponseBody(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)


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
