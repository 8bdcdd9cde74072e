"""Where a token's usage policies stand now, read without spending anything
(``GET /v1/tokens/{id}/usage``): the current window of each rate limit and the credits left, from one
strongly consistent ``BatchGetItem`` of the token's counters (at most 5 windows, each of up to 10
shards for a large limit: ``window_shards``, and its credits; at most 51 keys of the 100 allowed).

The same shapes as the verify answer where they overlap (``ratelimits[]``), and the same reading of
the credits counter as a read of the token (``usage.credits_left``: a counter of an older period
stands for the refill its next verification makes).
"""

from __future__ import annotations

from typing import Any

from tokensmith import table
from tokensmith.tokens.usage import credits_left, epoch_text, period_bounds, window_keys, window_state


def current_usage(counters: Any, item: dict[str, Any], now_epoch: int) -> dict[str, Any]:
    """``{ratelimits: [{name, limit, remaining, reset_at}], credits: {remaining, refill,
    period_ends_at} | null}`` of the token ``item`` at ``now_epoch``; a window nobody counted in
    yet is whole. A token without limits or credits costs no read."""
    limits = item.get("ratelimits") or []
    credits = item.get("credits")
    windows = [window_keys(item, limit, now_epoch) for limit in limits]
    keys = [key for shards, _ in windows for key in shards] + ([table.credits_key(item["id"])] if credits else [])
    found = counters.get_counters(keys) if keys else {}
    ratelimits = []
    for limit, (shards, start) in zip(limits, windows, strict=True):
        used = sum(int((found.get((key["pk"], key["sk"])) or {}).get("used", 0)) for key in shards)
        ratelimits.append(window_state(limit, start, used).as_answer())
    return {"ratelimits": ratelimits, "credits": _credits_state(credits, found, item["id"], now_epoch)}


def _credits_state(
    credits: dict[str, Any] | None, found: dict[tuple[str, str], dict[str, Any]], token_id: str, now_epoch: int
) -> dict[str, Any] | None:
    if not credits:
        return None
    key = table.credits_key(token_id)
    refill = credits.get("refill")
    return {
        "remaining": credits_left(credits, found.get((key["pk"], key["sk"])), now_epoch),
        "refill": refill,
        "period_ends_at": epoch_text(period_bounds(refill, now_epoch)[1]) if refill else None,
    }
