"""The request and response models of the console session routes (pydantic v2)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

from tokensmith.models import DateTimeText, RequestBody, ResponseBody
from tokensmith.tokens.models import Token


class CreateSessionRequest(RequestBody):
    """The token to sign in with; or send no body and ``Authorization: Bearer <token>``."""

    token: Annotated[str, StringConstraints(min_length=1, max_length=512)] | None = Field(default=None, repr=False)


class Session(ResponseBody):
    csrf_token: str = Field(
        description=(
            "Send it as `Authorization: Session <csrf_token>` with every request made with the session cookie "
            "(GET /v1/sessions/current alone needs only the cookie)."
        )
    )
    expires_at: DateTimeText = Field(
        description="When the session ends, however active (SessionMaxHours after sign-in)."
    )
    idle_timeout_seconds: int = Field(description="The session ends after this long without a request.")
    token: Token = Field(description="The token the session acts as: its organization and scopes.")
    scope_catalog: list[str] = Field(description="Every scope a token may hold in this deployment.")
    max_token_lifetime_days: int = Field(description="The longest lifetime a new token may have; 0 = no limit.")
    webhook_event_types: list[str] = Field(description="Every event type a webhook endpoint may subscribe to.")
