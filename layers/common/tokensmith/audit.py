"""The audit trail: the one builder of audit-event items, and the retention arithmetic.

An audit event lives in its token's partition (``table.event_key``): who did what, when, from where,
which fields changed. Never a secret or a digest. It is kept at least as long as its token, and at
least ``RetentionDays`` after it happened; DynamoDB's TTL (``purge_at``) removes both.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from tokensmith import clock, table
from tokensmith.settings import Settings

DAY = 86400


def retention_seconds(settings: Settings) -> int:
    return settings.retention_days * DAY


def purge_after(settings: Settings, end_of_life_epoch: int) -> int:
    """``purge_at`` of an item whose life ends at ``end_of_life_epoch``: the end + retention."""
    return end_of_life_epoch + retention_seconds(settings)


def event_purge_at(settings: Settings, subject: dict[str, Any], now: datetime) -> int:
    """An event goes with its token (its ``purge_at``), and not before ``RetentionDays`` from now."""
    return max(subject.get("purge_at") or 0, purge_after(settings, clock.epoch(now)))


def audit_event(
    subject: dict[str, Any],
    event_type: str,
    now: datetime,
    actor: dict[str, Any],
    purge_at: int,
    **fields: Any,
) -> dict[str, Any]:
    """An audit event item of the token ``subject`` (its ``id`` and ``organization_id``).
    ``fields``: ip, user_agent, changes, reason, details."""
    occurred_at = clock.to_iso(now)
    key = table.event_key(subject["id"], occurred_at, clock.nanos_within(now), secrets.token_hex(4))
    return {
        **key,
        "type": event_type,
        "token_id": subject["id"],
        "organization_id": subject["organization_id"],
        "occurred_at": occurred_at,
        "actor": actor,
        "purge_at": purge_at,
        **fields,
    }
