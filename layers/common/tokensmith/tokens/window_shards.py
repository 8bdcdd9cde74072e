"""Sharded rate-limit windows: how one hot token's large window is counted past DynamoDB's 1,000
writes a second on one item.

A window whose ``limit`` is at least ``2 × SHARD_UNIT`` is counted in ``K = min(MAX_SHARDS, limit //
SHARD_UNIT)`` items, each a partition of its own (``table.rate_window_key(…, shard)``; shard 0 is
the unsharded window's item). Shard i admits at most its share (``limit // K``, one more for the
first ``limit % K``): the shares add up to the limit, and each shard counts with the same conditional
update as an unsharded window, so **the window never admits more than its limit**, whatever the
concurrency.

A verification tries one shard chosen at random, then the others in turn on refusal; it is refused
only when every shard refused or is known full. Early refusal is bounded: at cost ``c`` the window
may refuse while at most ``K × (c − 1)`` of its limit is left, scattered over shards that each hold
less than ``c`` (none at cost 1), plus what a give-back (a verification refused by a later counter)
returned to a shard this instance already saw full, until the window ends.

Known full: each Lambda instance remembers, per window, what it saw of each shard, skips the shards
too full for the cost, and once all are, refuses without calling DynamoDB. Without this, a token
hammering past its limit would write to every shard on every refusal: each shard would take the
whole request rate, the very hot item sharding is for.

``remaining`` in a verify answer of a sharded window is an estimate (the shards this instance has
seen as seen, the others as full as the one that answered); ``GET /v1/tokens/{id}/usage`` reads every
shard. Plain code (no pydantic, no boto3): the authorizer's hot path uses it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

SHARD_UNIT = 1000  # every shard holds at least this much of its window: ≥ the largest cost (policies.MAX_COST)
MAX_SHARDS = 10
_REMEMBERED_WINDOWS = 4096  # then forgotten at once: a memory bound, never a correctness one
_seen: dict[tuple[str, str], dict[int, int]] = {}  # (shard 0's pk, window start) → {shard: used, as seen}
_told: set[tuple[str, str, str]] = set()  # (shard 0's pk, window start, token id): refusals already reported


@dataclass(frozen=True, slots=True)
class ShardedCount:
    """``tokens.counters.Count``'s fields for a whole sharded window: taken, ``used`` (an estimate, the
    limit on a refusal) and shard 0's item as a refusal saw it (for ``notified``)."""

    taken: bool
    value: int
    item: dict[str, Any] | None = None


def shard_count(limit: int) -> int:
    return max(1, min(MAX_SHARDS, limit // SHARD_UNIT))


def shares(limit: int) -> list[int]:
    """What each shard of a window of ``limit`` admits: they add up to ``limit``."""
    count = shard_count(limit)
    return [limit // count + (1 if shard < limit % count else 0) for shard in range(count)]


def take_sharded(
    counters: Any, keys: list[dict[str, str]], limit: int, cost: int, purge_at: int, token_id: str
) -> tuple[dict[str, str], ShardedCount]:
    """Take ``cost`` from one shard of the window whose shard keys are ``keys``: (the key of the shard
    that took it, or shard 0's on a refusal; the count)."""
    parts = shares(limit)
    window = (keys[0]["pk"], keys[0]["sk"])
    if len(_seen) >= _REMEMBERED_WINDOWS:
        _seen.clear()
        _told.clear()
    seen = _seen.setdefault(window, {})
    first = int.from_bytes(os.urandom(2), "big") % len(keys)
    shard_zero = None
    for step in range(len(keys)):
        shard = (first + step) % len(keys)
        if seen.get(shard, 0) + cost > parts[shard]:
            continue  # known too full for this cost: no write
        count = counters.take_window(keys[shard], parts[shard], cost, purge_at)
        seen[shard] = count.value or 0
        if count.taken:
            return keys[shard], ShardedCount(True, _used_estimate(parts, seen, shard))
        if shard == 0:
            shard_zero = count.item
    told = (*window, token_id)
    if shard_zero is None and told in _told:  # reported by this instance already: no write to shard 0
        shard_zero = {"notified": [token_id]}
    _told.add(told)
    return keys[0], ShardedCount(False, limit, shard_zero)


def _used_estimate(parts: list[int], seen: dict[int, int], answered: int) -> int:
    fill = seen[answered] / parts[answered]
    return min(sum(parts), sum(seen.get(shard, round(fill * part)) for shard, part in enumerate(parts)))
