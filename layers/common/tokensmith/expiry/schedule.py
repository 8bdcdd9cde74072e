"""The wake-up schedule of a token: when the expiry sweep must next look at it.

A token has up to two deadlines, each with notices some days before it:

- its expiry: ``expires_epoch``, notices ``ExpiryNoticeDays`` before (7 and 1 by default), the ones
  sent in ``notified_days``;
- with its organization's ``inactivity_days`` (copied as ``org_inactivity_days``): its inactivity
  revocation at (last use, or creation if never used) + ``inactivity_days``, never before
  ``inactivity_not_before`` (the grace a new policy gives, ``organizations.repository``), notices
  ``org_inactivity_notice_days`` before, the ones sent in ``inactivity_notified_days``.

A live token with a deadline carries ``wake_pk`` (its shard of the sparse ``due`` index) and
``wake_at`` = the earliest pending instant of both: a notice not yet sent, else the deadline itself.
A terminal token, or one without either deadline, is not in the index. Plain functions, no pydantic:
the last-use write of the verification hot path uses :func:`wake_after_use`.
"""

from __future__ import annotations

import calendar
import time
from dataclasses import dataclass
from typing import Any

from tokensmith import table
from tokensmith.audit import DAY
from tokensmith.tokens.lifecycle import LIVE_STATUSES

WAKE_SHARDS = 4  # fixed: changing it would strand tokens in shards the sweep no longer reads
INACTIVITY_ATTRIBUTES = ("inactivity_notified_days", "inactivity_not_before")
WAKE_ATTRIBUTES = ("wake_pk", "wake_at", "notified_days", *INACTIVITY_ATTRIBUTES)
INACTIVE = "inactive"  # the revocation reason


@dataclass(frozen=True, slots=True)
class Deadline:
    """An instant the sweep acts at (``at``, epoch seconds), with notices ``notice_days`` before it,
    of which ``noticed`` are sent."""

    at: int
    notice_days: tuple[int, ...] = ()
    noticed: tuple[int, ...] = ()

    def next_instant(self) -> int:
        """The earliest pending instant: a notice not yet sent, else the deadline itself."""
        pending = [self.at - days * DAY for days in self.notice_days if days not in self.noticed]
        return min([self.at, *pending])

    def notices_due(self, now_epoch: int) -> list[int]:
        """The notice days whose instant has come and that are not sent yet (several when late)."""
        return [d for d in self.notice_days if d not in self.noticed and self.at - d * DAY <= now_epoch]


def shard_of(token_id: str) -> int:
    return int(token_id.replace("-", "")[:8], 16) % WAKE_SHARDS


def next_wake(expiry: Deadline | None, inactivity: Deadline | None) -> int | None:
    """The earliest pending instant of both deadlines; None when the token has neither."""
    return min((d.next_instant() for d in (expiry, inactivity) if d is not None), default=None)


def expiry_deadline(item: dict[str, Any], notice_days: tuple[int, ...]) -> Deadline | None:
    expires = item.get("expires_epoch")
    if expires is None:
        return None
    return Deadline(expires, tuple(notice_days), tuple(item.get("notified_days") or ()))


def inactivity_deadline(item: dict[str, Any]) -> Deadline | None:
    """(last use, else creation) + ``org_inactivity_days``, not before ``inactivity_not_before``;
    None for a token whose organization does not revoke unused tokens."""
    days = item.get("org_inactivity_days")
    if not days:
        return None
    since = iso_epoch(item.get("last_used_at") or item["created_at"])
    at = max(since + int(days) * DAY, int(item.get("inactivity_not_before") or 0))
    notice_days = tuple(int(d) for d in item.get("org_inactivity_notice_days") or ())
    return Deadline(at, notice_days, tuple(int(d) for d in item.get("inactivity_notified_days") or ()))


def wake_attributes(item: dict[str, Any], notice_days: tuple[int, ...]) -> dict[str, Any]:
    """``wake_pk``/``wake_at`` and the notice markers (:data:`WAKE_ATTRIBUTES`) for ``item``; ``None``
    values mean "remove": a terminal token, or one with no deadline, is not in the index."""
    if item["status"] not in LIVE_STATUSES:
        return dict.fromkeys(WAKE_ATTRIBUTES)
    expiry, inactivity = expiry_deadline(item, notice_days), inactivity_deadline(item)
    wake = next_wake(expiry, inactivity)
    if wake is None:
        return dict.fromkeys(WAKE_ATTRIBUTES)
    return {
        "wake_pk": table.wake_partition(shard_of(item["id"])),
        "wake_at": wake,
        "notified_days": list(expiry.noticed) if expiry and expiry.noticed else None,
        "inactivity_notified_days": list(inactivity.noticed) if inactivity and inactivity.noticed else None,
        "inactivity_not_before": item.get("inactivity_not_before") if inactivity else None,
    }


def wake_after_use(item: dict[str, Any], used_at: str, notice_days: tuple[int, ...]) -> dict[str, Any]:
    """What the last-use write (at most once a minute) adds for a token whose organization revokes
    unused tokens: the wake-up moved to ``used_at`` + ``inactivity_days`` (or an expiry notice before
    it), the inactivity notices sent so far and the grace of a new policy forgotten (a use starts
    the count again). ``{}`` for any other token, which then costs exactly what it cost before."""
    if not item.get("org_inactivity_days"):
        return {}
    used = {**item, "last_used_at": used_at, "inactivity_notified_days": None, "inactivity_not_before": None}
    wake = wake_attributes(used, notice_days)
    return {key: wake[key] for key in ("wake_pk", "wake_at", *INACTIVITY_ATTRIBUTES)}


def iso_epoch(value: str) -> int:
    """Epoch seconds of a stored instant (``clock.to_iso``'s ``YYYY-MM-DDTHH:MM:SSZ``)."""
    return calendar.timegm(time.strptime(value, "%Y-%m-%dT%H:%M:%SZ"))
