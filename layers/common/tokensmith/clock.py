"""Time in one format: UTC, ISO 8601 with a ``Z``, second precision; epoch seconds for comparisons."""

from __future__ import annotations

import time
from datetime import UTC, datetime


def now() -> datetime:
    return datetime.fromtimestamp(int(time.time()), UTC)


def to_iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def from_epoch(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def nanos_within(moment: datetime) -> int:
    """The nanoseconds that order things happening within the second ``moment`` names (ISO times here
    stop at the second): the moment's own microseconds when it has them, else the present's
    nanoseconds, or the second's last nanosecond when the present has just moved into the next second
    (so the order never contradicts the second shown). A moment far from the present (a test's fixed
    clock) gets the present's nanoseconds, which at least keep the order of calls within a second."""
    if moment.microsecond:
        return moment.microsecond * 1000
    present = time.time_ns()
    if present // 1_000_000_000 == epoch(moment) + 1:
        return 999_999_999
    return present % 1_000_000_000
