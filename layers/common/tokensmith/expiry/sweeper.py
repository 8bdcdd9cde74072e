"""The expiry sweep: it stamps ``expired``, writes the expiring-soon notices, and for organizations
that revoke unused tokens writes the ``token.inactive_soon`` notices and revokes with reason
``inactive`` (``expiry/schedule.py`` says when each token is due).

A live token with an expiry carries ``wake_pk = WAKE#<shard>`` and ``wake_at`` = the next instant
the sweep must look at it: the next expiring-soon threshold not yet noticed (``expires_at`` minus
7 days, then minus 1 day, by default), then ``expires_at`` itself. The sweep queries each shard of
the sparse ``due`` index for ``wake_at <= now``, writes what is due — a ``token.expiring`` notice
or the ``expired`` stamp, each with its audit event in one conditional transaction — and moves
``wake_at`` on, or drops the token from the index once it is expired. Every token is read a handful
of times in its life, whatever the size of the table.

Every write is conditioned on the values the sweep saw in the index (status, expiry, wake-up
time, and for inactivity the last use and the policy copy's version): a token extended, revoked,
used or already stamped by an overlapping run is skipped, never stamped or revoked wrongly, and a
notice is written once even when runs overlap. A token woken for nothing (its last use moved its
deadline, or its policy changed, after the index showed it) gets its wake-up moved, no event.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tokensmith import audit, clock, table
from tokensmith.auth import SYSTEM
from tokensmith.aws.dynamodb import VersionConflict
from tokensmith.expiry.schedule import (
    INACTIVE,
    WAKE_ATTRIBUTES,
    WAKE_SHARDS,
    Deadline,
    expiry_deadline,
    inactivity_deadline,
    wake_attributes,
)
from tokensmith.observability import count
from tokensmith.settings import Settings
from tokensmith.tokens.changes import GRACE_ATTRIBUTES
from tokensmith.tokens.lifecycle import LIVE_STATUSES
from tokensmith.tokens.list_keys import stamp_keys
from tokensmith.tokens.repository import TokenChange, TokenRepository


@dataclass
class SweepReport:
    expired: int = 0
    notices: int = 0
    revoked: int = 0  # inactive
    inactivity_notices: int = 0
    rescheduled: int = 0  # woken for nothing (used, or its policy changed, since): the wake-up moved
    skipped: int = 0  # changed since the index saw them: extended, revoked, or handled by another run
    complete: bool = True  # False when the run stopped before its deadline with work left
    read_units: float = 0.0
    lags: list[float] = field(default_factory=list)  # seconds between expires_at and the stamp

    def as_dict(self) -> dict[str, Any]:
        return {
            "expired": self.expired,
            "notices": self.notices,
            "revoked": self.revoked,
            "inactivity_notices": self.inactivity_notices,
            "rescheduled": self.rescheduled,
            "skipped": self.skipped,
            "complete": self.complete,
            "read_units": self.read_units,
            "max_lag_seconds": max(self.lags, default=0),
        }


class ExpirySweeper:
    def __init__(
        self,
        repository: TokenRepository,
        settings: Settings,
        now: Callable[[], datetime] = clock.now,
        page_size: int = 100,
    ) -> None:
        self.repository = repository
        self.settings = settings
        self._now = now
        self.page_size = page_size

    def sweep(self, time_left: Callable[[], float] = lambda: float("inf"), reserve_seconds: float = 5.0) -> SweepReport:
        """One pass over every shard; stops early, leaving the rest for the next run, when fewer than
        ``reserve_seconds`` remain of the invocation (``time_left()`` in seconds)."""
        report = SweepReport()
        read_before = self.repository.consumed_read_units
        now = self._now()
        try:
            for item in self._due(clock.epoch(now)):
                if time_left() < reserve_seconds:
                    report.complete = False
                    break
                self._handle(item, now, report)
        finally:
            report.read_units = self.repository.consumed_read_units - read_before
        return report

    def _due(self, now_epoch: int) -> Iterator[dict[str, Any]]:
        """Every due token, shard after shard, a page at a time."""
        for shard in range(WAKE_SHARDS):
            start: dict[str, Any] | None = None
            while True:
                items, start = self.repository.due_tokens(shard, now_epoch, start, self.page_size)
                yield from items
                if not start:
                    break

    def _handle(self, seen: dict[str, Any], now: datetime, report: SweepReport) -> None:
        """One due token: the first thing due of expiry, inactivity revocation, an expiry notice, an
        inactivity notice (a second one due at once is written by the next run), else a new wake-up."""
        now_epoch = clock.epoch(now)
        # The owner too: the stamp moves the token between the owner's status lists (None: no owner).
        expect = {
            "status": seen["status"],
            "expires_epoch": seen.get("expires_epoch"),
            "wake_at": seen["wake_at"],
            "owner": seen.get("owner"),
        }
        # What inactivity is computed from: a use since, or a new copy of the policy, changes it.
        unused = {**expect, **{k: seen.get(k) for k in ("last_used_at", "org_policy_version")}}
        expiry = expiry_deadline(seen, self.settings.expiry_notice_days)
        inactivity = inactivity_deadline(seen)
        try:
            if seen["status"] not in LIVE_STATUSES:  # a last-use write raced its revocation: out of the index
                self._reschedule(seen, unused)
                report.rescheduled += 1
            elif expiry is not None and expiry.at <= now_epoch:
                self._expire(seen, now, expect)
                report.expired += 1
                report.lags.append(now_epoch - expiry.at)
            elif inactivity is not None and inactivity.at <= now_epoch:
                self._revoke_inactive(seen, now, unused)
                report.revoked += 1
            elif expiry is not None and expiry.notices_due(now_epoch):
                self._notice(seen, now, expect, expiry)
                report.notices += 1
            elif inactivity is not None and inactivity.notices_due(now_epoch):
                self._inactivity_notice(seen, now, unused, inactivity)
                report.inactivity_notices += 1
            else:
                self._reschedule(seen, unused)
                report.rescheduled += 1
        except VersionConflict:
            report.skipped += 1

    def _expire(self, seen: dict[str, Any], now: datetime, expect: dict[str, Any]) -> None:
        at = clock.to_iso(now)
        # The end of life is expires_at, not the moment of the stamp: the token and the events written
        # before it (purged at expires_at + retention) go together.
        purge_at = audit.purge_after(self.settings, seen["expires_epoch"])
        list_keys, list_removals = stamp_keys(seen, "expired")
        change = TokenChange(
            token_id=seen["id"],
            expected_version=None,
            expect=expect,
            due_by=clock.epoch(now),
            increment_version=True,
            set_values={
                "status": "expired",
                "expired_at": at,
                "modified_at": at,
                "purge_at": purge_at,
                "audit.updated": {"at": at, "by": "system"},
                **list_keys,
            },
            remove=(*WAKE_ATTRIBUTES, *list_removals),
            release_name=table.name_guard_pk(seen["organization_id"], seen.get("owner"), seen["name"]),
        )
        changes = {"status": {"from": seen["status"], "to": "expired"}}
        self.repository.update_token(change, self._event(seen, "token.expired", now, purge_at, changes=changes))

    def _notice(self, seen: dict[str, Any], now: datetime, expect: dict[str, Any], expiry: Deadline) -> None:
        due = expiry.notices_due(clock.epoch(now))
        notified = sorted({*expiry.noticed, *due}, reverse=True)
        change = self._moved(seen, expect, {"notified_days": notified})
        details = {"days_before": min(due), "expires_at": seen["expires_at"]}
        purge_at = audit.purge_after(self.settings, expiry.at)
        self.repository.update_token(change, self._event(seen, "token.expiring", now, purge_at, details=details))

    def _revoke_inactive(self, seen: dict[str, Any], now: datetime, expect: dict[str, Any]) -> None:
        """Revoked with reason ``inactive`` as ``POST .../revoke`` would (status lists, name released,
        rotation grace ended, out of the index), by the system, unless used since it was seen."""
        at = clock.to_iso(now)
        purge_at = audit.purge_after(self.settings, clock.epoch(now))
        list_keys, list_removals = stamp_keys(seen, "revoked")
        change = TokenChange(
            token_id=seen["id"],
            expected_version=None,
            expect=expect,
            increment_version=True,
            set_values={
                "status": "revoked",
                "revoked_at": at,
                "revoked_reason": INACTIVE,
                "modified_at": at,
                "purge_at": purge_at,
                "audit.updated": {"at": at, "by": "system"},
                **list_keys,
            },
            remove=(*WAKE_ATTRIBUTES, *GRACE_ATTRIBUTES, *list_removals),
            release_name=table.name_guard_pk(seen["organization_id"], seen.get("owner"), seen["name"]),
        )
        changes = {
            "status": {"from": seen["status"], "to": "revoked"},
            "revoked_reason": {"from": None, "to": INACTIVE},
        }
        details = {"last_used_at": seen.get("last_used_at"), "inactivity_days": seen["org_inactivity_days"]}
        event = self._event(seen, "token.revoked", now, purge_at, changes=changes, details=details, reason=INACTIVE)
        self.repository.update_token(change, event)
        # Its credits counter, if any, goes with it (as after POST .../revoke, which moves it in its
        # transaction): the index does not say whether it has one, so a conditional write of its own.
        try:
            self.repository.move_credits_purge(seen["id"], purge_at)
        except Exception:  # the revocation stands; the counter keeps the purge_at it had
            count("sweep.credits_purge_not_moved")

    def _inactivity_notice(
        self, seen: dict[str, Any], now: datetime, expect: dict[str, Any], inactivity: Deadline
    ) -> None:
        now_epoch = clock.epoch(now)
        noticed = sorted({*inactivity.noticed, *inactivity.notices_due(now_epoch)}, reverse=True)
        change = self._moved(seen, expect, {"inactivity_notified_days": noticed})
        details = {
            "days_left": max(1, math.ceil((inactivity.at - now_epoch) / audit.DAY)),
            "revoke_at": clock.to_iso(datetime.fromtimestamp(inactivity.at, UTC)),
            "last_used_at": seen.get("last_used_at"),
            "inactivity_days": seen["org_inactivity_days"],
        }
        purge_at = audit.purge_after(self.settings, max(now_epoch, seen.get("expires_epoch") or 0))
        self.repository.update_token(change, self._event(seen, "token.inactive_soon", now, purge_at, details=details))

    def _reschedule(self, seen: dict[str, Any], expect: dict[str, Any]) -> None:
        """Nothing is due (the token was used, or its policy changed, after the index showed it): the
        wake-up moves to what the token now says, or the token leaves the index. No event."""
        wake = wake_attributes(seen, self.settings.expiry_notice_days)
        set_values = {k: v for k, v in wake.items() if v is not None}
        remove = tuple(k for k, v in wake.items() if v is None and k in seen)
        change = TokenChange(seen["id"], expected_version=None, expect=expect, set_values=set_values, remove=remove)
        self.repository.update_token(change, None)

    def _moved(self, seen: dict[str, Any], expect: dict[str, Any], noticed: dict[str, Any]) -> TokenChange:
        """A notice's change: the markers ``noticed`` set, the wake-up moved to the next instant due.
        No ``version`` bump, so clients' ``If-Match`` stays valid."""
        wake = wake_attributes({**seen, **noticed}, self.settings.expiry_notice_days)
        set_values = {"wake_at": wake["wake_at"], **noticed}
        return TokenChange(token_id=seen["id"], expected_version=None, expect=expect, set_values=set_values)

    def _event(
        self,
        seen: dict[str, Any],
        event_type: str,
        now: datetime,
        purge_at: int,
        changes: dict[str, Any] | None = None,
        details: dict[str, Any] | None = None,
        reason: str | None = None,
    ) -> dict[str, Any]:
        fields: dict[str, Any] = {"reason": reason} if reason else {}
        return audit.audit_event(
            seen, event_type, now, SYSTEM.actor, purge_at, changes=changes or {}, details=details, **fields
        )
