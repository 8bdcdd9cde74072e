"""Domain errors. Services raise these; ``http.py`` is the one place that turns them into
RFC 9457 problem details. Nothing here knows about HTTP frameworks."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class FieldError:
    field: str  # a JSON pointer-ish dotted path such as "scopes.2" or "expires_at"
    message: str


@dataclass
class TokensmithError(Exception):
    detail: str
    errors: list[FieldError] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)

    status = 500
    title = "Internal Server Error"
    slug = "internal"

    def __str__(self) -> str:
        return f"{self.title}: {self.detail}"


class BadRequest(TokensmithError):
    status, title, slug = 400, "Bad Request", "bad-request"


class Unauthorized(TokensmithError):
    status, title, slug = 401, "Unauthorized", "unauthorized"


class Forbidden(TokensmithError):
    status, title, slug = 403, "Forbidden", "forbidden"


class NotFound(TokensmithError):
    status, title, slug = 404, "Not Found", "not-found"


class Conflict(TokensmithError):
    status, title, slug = 409, "Conflict", "conflict"


class PreconditionFailed(TokensmithError):
    status, title, slug = 412, "Precondition Failed", "precondition-failed"


class PayloadTooLarge(TokensmithError):
    status, title, slug = 413, "Content Too Large", "payload-too-large"


class UnsupportedMediaType(TokensmithError):
    status, title, slug = 415, "Unsupported Media Type", "unsupported-media-type"


class ValidationFailed(TokensmithError):
    status, title, slug = 422, "Unprocessable Content", "validation-error"


class RateLimited(TokensmithError):
    """The calling token is over one of its rate limits (``headers``: Retry-After, RateLimit...)."""

    status, title, slug = 429, "Too Many Requests", "rate-limited"


class UsageExceeded(TokensmithError):
    """The calling token has no credits left for this request."""

    status, title, slug = 429, "Too Many Requests", "usage-exceeded"


class ServiceUnavailable(TokensmithError):
    status, title, slug = 503, "Service Unavailable", "service-unavailable"
