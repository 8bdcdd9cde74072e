"""The wake-up schedule of a token: when the expiry sweep must next look at it.

A live token with an expiry carries ``wake_pk`` (its shard of the sparse ``due`` index) and
``wake_at`` = the next instant the sweep must look at it: the next expiring-soon threshold not yet
noticed (``expires_at`` minus 7 days, then minus 1 day, by default), then ``expires_at`` itself. A
terminal token, or one without expiry, is not in the index. Pure functions.
"""

from __future__ import annotations

from typing import Any

from tokensmith import table
from tokensmith.audit import DAY
from tokensmith.tokens.lifecycle import LIVE_STATUSES

WAKE_SHARDS = 4  # fixed: changing it would strand tokens in shards the sweep no longer reads
WAKE_ATTRIBUTES = ("wake_pk", "wake_at", "notified_days")


def shard_of(token_id: str) -> int:
    return int(token_id.replace("-", "")[:8], 16) % WAKE_SHARDS


def next_wake(expires_epoch: int, notified_days: list[int] | tuple[int, ...], notice_days: tuple[int, ...]) -> int:
    """The earliest pending instant: a threshold not yet noticed, else the expiry itself."""
    pending = [expires_epoch - days * DAY for days in notice_days if days not in notified_days]
    return min([expires_epoch, *pending])


def wake_attributes(item: dict[str, Any], notice_days: tuple[int, ...]) -> dict[str, Any]:
    """``wake_pk``/``wake_at``/``notified_days`` for ``item``; ``None`` values mean "remove": a
    terminal token or one without expiry is not in the index."""
    expires = item.get("expires_epoch")
    if item["status"] not in LIVE_STATUSES or expires is None:
        return dict.fromkeys(WAKE_ATTRIBUTES)
    notified = list(item.get("notified_days") or [])
    return {
        "wake_pk": table.wake_partition(shard_of(item["id"])),
        "wake_at": next_wake(expires, notified, notice_days),
        "notified_days": notified or None,
    }
