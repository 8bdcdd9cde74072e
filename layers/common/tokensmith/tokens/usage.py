"""Usage policies at verification: the one evaluation that both the authorizer and
``POST /v1/tokens/verify`` apply to a token whose secret, status and scopes already check out.

In order, each deciding on the token item already read (no extra read):

1. **Addresses**: the caller's IP must fall in the organization's ``allowed_cidrs`` (copied onto the
   token as ``org_allowed_cidrs``) and in the token's own, when either is non-empty. Both must hold,
   so a token's list can only narrow its organization's. No IP known → refused (fail closed).
2. **Rate limits**: each window takes ``cost`` (``tokens.counters``: a conditional update, exact
   across instances). A refusal gives back what the earlier windows took.
3. **Credits**: spent last, refilled lazily at the first verification of a new period. A refusal
   gives back every window taken: a refused verification spends nothing.

Then the events (``token.rate_limited`` once per window and token, ``token.credits_low`` and
``token.credits_exhausted`` by the one verification that crossed the line). A token without
``ratelimits`` or ``credits`` costs nothing here: no counter, no write.

Plain code, no pydantic, no boto3: the authorizer's hot path uses it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from tokensmith import table
from tokensmith.tokens.window_shards import shard_count, take_sharded

VALID = "VALID"
IP_NOT_ALLOWED = "IP_NOT_ALLOWED"
RATE_LIMITED = "RATE_LIMITED"
USAGE_EXCEEDED = "USAGE_EXCEEDED"
OVER_LIMIT_CODES = (RATE_LIMITED, USAGE_EXCEEDED)  # answered 429 by Tokensmith's own routes
POLICY_ATTRIBUTES = ("ratelimits", "credits", "allowed_cidrs", "org_allowed_cidrs")


@dataclass(frozen=True, slots=True)
class WindowState:
    name: str
    limit: int
    remaining: int
    reset_at: int  # epoch seconds: the end of the window
    duration_seconds: int

    def as_answer(self) -> dict[str, Any]:
        """``ratelimits[]`` of the verify answer."""
        reset_at = epoch_text(self.reset_at)
        return {"name": self.name, "limit": self.limit, "remaining": self.remaining, "reset_at": reset_at}


@dataclass(slots=True)
class UsageOutcome:
    code: str = VALID
    ratelimits: list[WindowState] = field(default_factory=list)
    credits_remaining: int | None = None  # None: the token has no credits (unlimited)
    retry_after: int | None = None  # seconds until a refused verification may succeed; None: unknown
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (type, details) to publish

    @property
    def valid(self) -> bool:
        return self.code == VALID

    def credits_answer(self) -> dict[str, int] | None:
        return None if self.credits_remaining is None else {"remaining": self.credits_remaining}


def has_policy(item: dict[str, Any]) -> bool:
    return any(item.get(attribute) for attribute in POLICY_ATTRIBUTES)


def evaluate(counters: Any, item: dict[str, Any], ip: str | None, cost: int, now_epoch: int) -> UsageOutcome:
    """Apply the token's policies for one verification of ``cost`` from ``ip``.

    NOTE for any cache of positive answers: a cached "this secret is valid" may skip the token's
    ``GetItem``, but never this function. Rate limits and credits are counted here, on every
    verification; a cache that skipped it would admit without limit."""
    outcome = UsageOutcome()
    if not ip_allowed(item, ip):
        outcome.code = IP_NOT_ALLOWED
        return outcome
    taken: list[tuple[dict[str, str], int]] = []
    for limit in item.get("ratelimits") or ():
        key, state, count = _take(counters, item, limit, cost, now_epoch)
        outcome.ratelimits.append(state)
        if not count.taken:
            _give_back(counters, taken, cost)
            outcome.code, outcome.retry_after = RATE_LIMITED, max(1, state.reset_at - now_epoch)
            notified = (count.item or {}).get("notified") or ()
            if item["id"] not in notified and counters.mark_window_notified(key, item["id"]):
                outcome.events.append(("token.rate_limited", state.as_answer()))
            return outcome
        taken.append((key, cost))
    credits = item.get("credits")
    if credits is not None:
        spent, remaining, period_end = _spend(counters, item["id"], credits, cost, now_epoch)
        outcome.credits_remaining = remaining
        if not spent:
            _give_back(counters, taken, cost)
            outcome.code = USAGE_EXCEEDED
            outcome.retry_after = max(1, period_end - now_epoch) if period_end is not None else None
            return outcome
        outcome.events.extend(_credit_events(credits, remaining, cost))
    return outcome


def ip_allowed(item: dict[str, Any], ip: str | None) -> bool:
    org_cidrs, own_cidrs = item.get("org_allowed_cidrs"), item.get("allowed_cidrs")
    if not org_cidrs and not own_cidrs:
        return True
    if not ip:
        return False
    return _address_allowed(tuple(org_cidrs or ()), tuple(own_cidrs or ()), ip)


@lru_cache(maxsize=4096)
def _address_allowed(org_cidrs: tuple[str, ...], own_cidrs: tuple[str, ...], ip: str) -> bool:
    """``ip`` falls in each non-empty list. Decided once per Lambda instance, lists and address (a
    client calls from few addresses): parsing the address and testing it against each network of a
    list of ten costs more than the rest of the policy check."""
    import ipaddress  # only for tokens with an allowlist: a few milliseconds of import otherwise spared

    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    lists = (cidrs for cidrs in (org_cidrs, own_cidrs) if cidrs)
    return all(any(address in network for network in _networks(cidrs)) for cidrs in lists)


@lru_cache(maxsize=1024)
def _networks(cidrs: tuple[str, ...]) -> tuple[Any, ...]:
    """Parsed once per Lambda instance and list (a hot token's list is parsed on its first use)."""
    import ipaddress

    return tuple(ipaddress.ip_network(cidr, strict=False) for cidr in cidrs)


def window_start(now_epoch: int, duration_seconds: int) -> int:
    return now_epoch - now_epoch % duration_seconds


def period_bounds(refill: dict[str, Any], now_epoch: int) -> tuple[int, int]:
    """The refill period holding ``now``: (start, end) in epoch seconds, UTC. Daily: from midnight;
    monthly: from ``day_of_month`` (default 1; past a short month's end, its last day)."""
    import calendar  # only for tokens whose credits refill

    now = datetime.fromtimestamp(now_epoch, UTC)
    if refill["interval"] == "daily":
        start = calendar.timegm((now.year, now.month, now.day, 0, 0, 0))
        return start, start + 86400
    day = int(refill.get("day_of_month") or 1)
    year, month = now.year, now.month
    if now.day < _refill_day(year, month, day):
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    next_year, next_month = (year, month + 1) if month < 12 else (year + 1, 1)
    start = calendar.timegm((year, month, _refill_day(year, month, day), 0, 0, 0))
    end = calendar.timegm((next_year, next_month, _refill_day(next_year, next_month, day), 0, 0, 0))
    return start, end


def credits_left(credits: dict[str, Any], counter: dict[str, Any] | None, now_epoch: int) -> int:
    """What a token's credits counter holds for this period: a counter of an older period stands for
    the refill its next verification will make."""
    refill = credits.get("refill")
    if counter is None or "remaining" not in counter:  # none yet (or only its purge_at: as none)
        return int(credits["remaining"])
    if refill and int(counter.get("period", 0)) < period_bounds(refill, now_epoch)[0]:
        return int(refill["amount"])
    return int(counter["remaining"])


def credits_period(credits: dict[str, Any], now_epoch: int) -> int:
    """The ``period`` a credits item is stamped with: the refill period's start, 0 without refill."""
    refill = credits.get("refill")
    return period_bounds(refill, now_epoch)[0] if refill else 0


def context_fields(outcome: UsageOutcome | None, meta_text: str | None, now_epoch: int) -> dict[str, str]:
    """What the authorizer adds to its context: the outcome and ``meta``, each a string (JSON for
    the structured ones), so every consumer reads them the same way. ``ratelimits[]`` also carry
    ``duration_seconds`` and ``reset_after`` (seconds), what the RateLimit header fields need."""
    outcome = outcome or _NOTHING_COUNTED
    windows = [
        {**w.as_answer(), "duration_seconds": w.duration_seconds, "reset_after": max(0, w.reset_at - now_epoch)}
        for w in outcome.ratelimits
    ]
    credits = outcome.credits_answer()
    return {  # no window, no credits (most tokens): the JSON is known, json.dumps spared
        "code": outcome.code,
        "retry_after": "" if outcome.retry_after is None else str(outcome.retry_after),
        "ratelimits": json.dumps(windows, separators=(",", ":")) if windows else "[]",
        "credits": "null" if credits is None else json.dumps(credits, separators=(",", ":")),
        "meta": meta_text or "null",
    }


_NOTHING_COUNTED = UsageOutcome()  # never changed: what a token without a policy's context says


def limit_headers(retry_after: str | None, windows: list[dict[str, Any]]) -> dict[str, str]:
    """``Retry-After`` and the IETF ``RateLimit-Policy`` / ``RateLimit`` fields
    (draft-ietf-httpapi-ratelimit-headers: ``"name";q=limit;w=window`` and ``"name";r=left;t=reset``)."""
    headers = {"Retry-After": retry_after} if retry_after else {}
    if windows:
        headers["RateLimit-Policy"] = ", ".join(
            f'"{w["name"]}";q={w["limit"]};w={w["duration_seconds"]}' for w in windows
        )
        headers["RateLimit"] = ", ".join(f'"{w["name"]}";r={w["remaining"]};t={w["reset_after"]}' for w in windows)
    return headers


def _refill_day(year: int, month: int, day: int) -> int:
    import calendar

    return min(day, calendar.monthrange(year, month)[1])


def window_keys(item: dict[str, Any], limit: dict[str, Any], now_epoch: int) -> tuple[list[dict[str, str]], int]:
    """The keys of the window of ``limit`` that holds ``now`` (the token's own, or its owner's when
    shared): one, or one per shard of a large window (``window_shards``); and the window's start."""
    duration = int(limit["duration_seconds"])
    start = window_start(now_epoch, duration)
    subject = table.rate_subject(item["id"], item["organization_id"], item.get("owner"), limit.get("shared", "token"))
    shards = range(shard_count(int(limit["limit"])))
    return [table.rate_window_key(subject, limit["name"], duration, start, shard) for shard in shards], start


def window_state(limit: dict[str, Any], start: int, used: int) -> WindowState:
    """The state of the window of ``limit`` starting at ``start`` once ``used`` of it is spent."""
    duration, most = int(limit["duration_seconds"]), int(limit["limit"])
    return WindowState(limit["name"], most, max(0, most - used), start + duration, duration)


def _take(counters: Any, item: dict[str, Any], limit: dict[str, Any], cost: int, now_epoch: int) -> tuple:
    keys, start = window_keys(item, limit, now_epoch)
    purge_at = start + 2 * int(limit["duration_seconds"])
    if len(keys) > 1:
        key, count = take_sharded(counters, keys, int(limit["limit"]), cost, purge_at, item["id"])
    else:
        key, count = keys[0], counters.take_window(keys[0], int(limit["limit"]), cost, purge_at)
    return key, window_state(limit, start, count.value or 0), count


def _give_back(counters: Any, taken: list[tuple[dict[str, str], int]], cost: int) -> None:
    for key, _ in taken:
        counters.give_back_window(key, cost)


def _spend(
    counters: Any, token_id: str, credits: dict[str, Any], cost: int, now_epoch: int
) -> tuple[bool, int, int | None]:
    """(spent, remaining, end of the period or None without refill)."""
    refill = credits.get("refill")
    if not refill:
        count = counters.spend_credits(token_id, cost, None)
        return count.taken, count.value or 0, None
    start, end = period_bounds(refill, now_epoch)
    count = counters.spend_credits(token_id, cost, start)
    if count.taken:
        return True, int(count.value or 0), end
    if count.item is None or int(count.item.get("period", 0)) < start:
        refilled = counters.refill_and_spend(token_id, int(refill["amount"]), cost, start)
        if refilled is not None:
            return refilled.taken, int(refilled.value or 0), end
        count = counters.spend_credits(token_id, cost, start)  # another verification refilled first
    return count.taken, int(count.value or 0), end


def _credit_events(credits: dict[str, Any], remaining: int, cost: int) -> list[tuple[str, dict[str, Any]]]:
    """The events of the one spend that crossed a line: the threshold, then zero."""
    before = remaining + cost
    events = []
    threshold = credits.get("low_threshold")
    if threshold is not None and remaining <= threshold < before:
        events.append(("token.credits_low", {"remaining": remaining, "low_threshold": threshold}))
    if remaining == 0 and before > 0:
        events.append(("token.credits_exhausted", {"remaining": 0}))
    return events


def epoch_text(epoch: int) -> str:
    """Epoch seconds as the API writes times: ISO 8601, UTC, to the second."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
