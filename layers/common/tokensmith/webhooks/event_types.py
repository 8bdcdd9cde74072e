"""Every event type Tokensmith emits: the EventBridge ``detail-type`` of each audit event, and so
every type a webhook endpoint may subscribe to. Adding one: append it here (the request models, the
OpenAPI document and the delivery fan-out follow), and write it with ``audit.audit_event``."""

from __future__ import annotations

EVENT_TYPES: tuple[str, ...] = (
    "token.created",
    "token.updated",
    "token.disabled",
    "token.enabled",
    "token.revoked",
    "token.rotated",
    "token.rotation_completed",  # a retire_on_first_use rotation's new secret verified: the old one died
    "token.expiring",
    "token.expired",
    "token.inactive_soon",  # the organization's inactivity_days will revoke it: inactivity_notice_days before
    "token.deleted",
    "token.purged",
    "token.rate_limited",  # a verification over a rate limit: at most one per window and token
    "token.credits_low",  # remaining credits fell to low_threshold: once per period
    "token.credits_exhausted",  # remaining credits reached 0: once per period
    "token.new_location",  # a use from a network the token was not used from (tokens/networks.py)
    "session.created",  # a console sign-in with the token
    "session.ended",  # a console sign-out
    "session.refused",  # a console sign-in with a live secret that may not open a session
)
