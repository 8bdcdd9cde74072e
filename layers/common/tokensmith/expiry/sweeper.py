"""The expiry sweep: it stamps ``expired`` and writes the expiring-soon notices (``expiry/schedule.py``
says when each token is due).

A live token with an expiry carries ``wake_pk = WAKE#<shard>`` and ``wake_at`` = the next instant
the sweep must look at it: the next expiring-soon threshold not yet noticed (``expires_at`` minus
7 days, then minus 1 day, by default), then ``expires_at`` itself. The sweep queries each shard of
the sparse ``due`` index for ``wake_at <= now``, writes what is due — a ``token.expiring`` notice
or the ``expired`` stamp, each with its audit event in one conditional transaction — and moves
``wake_at`` on, or drops the token from the index once it is expired. Every token is read a handful
of times in its life, whatever the size of the table.

Every write is conditioned on the values the sweep saw in the index (status, expiry, wake-up
time): a token extended, revoked or already stamped by an overlapping run is skipped, never
stamped wrongly, and a notice is written once even when runs overlap.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tokensmith import audit, clock, table
from tokensmith.auth import SYSTEM
from tokensmith.aws.dynamodb import VersionConflict
from tokensmith.expiry.schedule import WAKE_ATTRIBUTES, WAKE_SHARDS, next_wake
from tokensmith.settings import Settings
from tokensmith.tokens.list_keys import expired_stamp_keys
from tokensmith.tokens.repository import TokenChange, TokenRepository


@dataclass
class SweepReport:
    expired: int = 0
    notices: int = 0
    skipped: int = 0  # changed since the index saw them: extended, revoked, or handled by another run
    complete: bool = True  # False when the run stopped before its deadline with work left
    read_units: float = 0.0
    lags: list[float] = field(default_factory=list)  # seconds between expires_at and the stamp

    def as_dict(self) -> dict[str, Any]:
        return {
            "expired": self.expired,
            "notices": self.notices,
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
        now_epoch = clock.epoch(now)
        # The owner too: the stamp moves the token between the owner's status lists (None: no owner).
        expect = {
            "status": seen["status"],
            "expires_epoch": seen["expires_epoch"],
            "wake_at": seen["wake_at"],
            "owner": seen.get("owner"),
        }
        try:
            if seen["expires_epoch"] <= now_epoch:
                self._expire(seen, now, expect)
                report.expired += 1
                report.lags.append(now_epoch - seen["expires_epoch"])
            else:
                self._notice(seen, now, expect)
                report.notices += 1
        except VersionConflict:
            report.skipped += 1

    def _expire(self, seen: dict[str, Any], now: datetime, expect: dict[str, Any]) -> None:
        at = clock.to_iso(now)
        # The end of life is expires_at, not the moment of the stamp: the token and the events written
        # before it (purged at expires_at + retention) go together.
        purge_at = audit.purge_after(self.settings, seen["expires_epoch"])
        list_keys, list_removals = expired_stamp_keys(seen)
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

    def _notice(self, seen: dict[str, Any], now: datetime, expect: dict[str, Any]) -> None:
        now_epoch = clock.epoch(now)
        notice_days = self.settings.expiry_notice_days
        notified = list(seen.get("notified_days") or [])
        due = [d for d in notice_days if d not in notified and seen["expires_epoch"] - d * audit.DAY <= now_epoch]
        notified = sorted({*notified, *due}, reverse=True)
        change = TokenChange(
            token_id=seen["id"],
            expected_version=None,
            expect=expect,
            set_values={"wake_at": next_wake(seen["expires_epoch"], notified, notice_days), "notified_days": notified},
        )
        details = {"days_before": min(due) if due else None, "expires_at": seen["expires_at"]}
        purge_at = audit.purge_after(self.settings, seen["expires_epoch"])
        self.repository.update_token(change, self._event(seen, "token.expiring", now, purge_at, details=details))

    def _event(
        self,
        seen: dict[str, Any],
        event_type: str,
        now: datetime,
        purge_at: int,
        changes: dict[str, Any] | None = None,
        details: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        return audit.audit_event(seen, event_type, now, SYSTEM.actor, purge_at, changes=changes or {}, details=details)
