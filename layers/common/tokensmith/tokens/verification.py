"""Verify a secret: the hot path shared by the authorizer and ``POST /v1/tokens/verify``.

checksum (no I/O) → one strongly consistent ``GetItem`` → constant-time digest comparison (the
current digest, else the previous one while its rotation grace lasts) → lifecycle → scopes; then
:func:`apply_policies` (``tokens.usage``): addresses, rate limits, credits, for tokens that have them.
With a :class:`VerificationCache`, a secret refused once is refused again without a read, and (when
the deployment opts in) a valid secret's token is reused for a few seconds (``verification_cache.py``);
the policies are applied to every verification all the same, cached or not. The first VALID
verification of a new secret whose rotation retires the old one on first use ends the old one's grace
(``tokens/rotation.py``; nothing more for any other token).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tokensmith import audit, clock
from tokensmith.auth import grants
from tokensmith.aws.dynamodb import ExtraUpdate
from tokensmith.expiry.schedule import wake_after_use
from tokensmith.settings import Settings
from tokensmith.tokens import format as token_format
from tokensmith.tokens.lifecycle import effective_status
from tokensmith.tokens.networks import last_use_piece, record_network
from tokensmith.tokens.repository import TokenRepository
from tokensmith.tokens.rotation import complete_rotation_on_first_use
from tokensmith.tokens.usage import UsageOutcome, evaluate, has_policy
from tokensmith.tokens.verification_cache import VerificationCache

VALID = "VALID"
NOT_FOUND = "NOT_FOUND"
DISABLED = "DISABLED"
REVOKED = "REVOKED"
EXPIRED = "EXPIRED"
DELETED = "DELETED"
INSUFFICIENT_SCOPES = "INSUFFICIENT_SCOPES"
_STATUS_CODES = {"disabled": DISABLED, "revoked": REVOKED, "expired": EXPIRED, "deleted": DELETED}


@dataclass(frozen=True, slots=True)
class Verification:
    code: str
    item: dict[str, Any] | None = None  # the stored token once the secret matched, else None
    cached: bool = False  # the token was the instance's copy, not read now (its last use is not stamped)
    usage: UsageOutcome | None = None  # the usage policies' outcome (None: not applied, or none to apply)

    @property
    def valid(self) -> bool:
        return self.code == VALID


def verify_secret(
    repository: TokenRepository,
    settings: Settings,
    secret: str,
    now_epoch: int,
    required_scopes: tuple[str, ...] | list[str] = (),
    cache: VerificationCache | None = None,
) -> Verification:
    try:
        token_id = token_format.parse(secret, settings.token_prefix)
    except token_format.InvalidSecret:
        return Verification(NOT_FOUND)
    presented = token_format.digest(secret)
    item = cache.token(presented) if cache else None
    cached = item is not None
    if item is None:
        item = opened_token(repository, token_id, presented, now_epoch, cache)
    elif not digest_matches(item, presented, now_epoch):  # the copy's rotation grace has ended since
        item = None
    if item is None:
        return Verification(NOT_FOUND)
    status = effective_status(item, now_epoch)
    if status != "active":
        return Verification(_STATUS_CODES[status], item, cached)
    scopes = item.get("scopes") or []
    if not all(grants(scopes, scope) for scope in required_scopes):
        return Verification(INSUFFICIENT_SCOPES, item, cached)
    if not cached:  # a cached copy was read by a verification that already made the attempt
        complete_rotation_on_first_use(repository, settings, item, presented, now_epoch)  # tokens/rotation.py
    return Verification(VALID, item, cached)


def opened_token(
    repository: TokenRepository, token_id: str, presented: str, now_epoch: int, cache: VerificationCache | None
) -> dict[str, Any] | None:
    """The token ``token_id`` if the digest ``presented`` opens it, read now, else None; ``cache``
    answers a refusal it remembers without reading, and remembers what the read answers."""
    if cache is None:
        item = repository.get_token(token_id)
        return item if item is not None and digest_matches(item, presented, now_epoch) else None
    if cache.refused(token_id, presented):
        return None
    read_started = cache.read_started()
    item = repository.get_token(token_id)
    if item is None:
        cache.remember_absent(token_id)
    elif not digest_matches(item, presented, now_epoch):
        cache.remember_wrong(presented)
        item = None
    else:
        cache.remember_token(presented, item, read_started)
    return item


def secret_matches(item: dict[str, Any], secret: str, now_epoch: int) -> bool:
    """The secret's digest is the token's, or its previous one while the rotation grace lasts."""
    return digest_matches(item, token_format.digest(secret), now_epoch)


def digest_matches(item: dict[str, Any], presented: str, now_epoch: int) -> bool:
    """``presented`` (a secret's digest) is the token's, or its previous one while the grace lasts."""
    if token_format.digests_match(presented, item.get("secret_digest")):
        return True
    grace_until = item.get("previous_valid_epoch")
    return (
        grace_until is not None
        and now_epoch < grace_until
        and token_format.digests_match(presented, item.get("previous_secret_digest"))
    )


def record_use(
    repository: TokenRepository,
    settings: Settings,
    item: dict[str, Any],
    now: datetime,
    ip: str | None,
    user_agent: str | None,
    extra: ExtraUpdate | None = None,
) -> bool:
    """Stamp ``last_used_*`` at most once per interval. The item just read already tells whether the
    stamp is stale, so a token verified a thousand times a minute costs one write; the conditional
    update settles the race between processes. A token whose organization revokes unused tokens
    gets its inactivity wake-up moved on that same write, and ``extra`` rides on it too
    (``tokens.networks.last_use_piece``: the client network's ``last_seen_at``, or the token's first
    network). True when written."""
    stale_before = clock.to_iso(now - timedelta(seconds=settings.last_use_interval_seconds))
    last = item.get("last_used_at")
    if last is not None and last >= stale_before:
        return False
    at = clock.to_iso(now)
    wake = wake_after_use(item, at, settings.expiry_notice_days)  # {} unless its organization has inactivity_days
    return repository.record_last_use(item["id"], at, stale_before, ip, user_agent, wake, extra)


def record_verified_use(
    repository: TokenRepository,
    settings: Settings,
    result: Verification,
    now: datetime,
    stamp: tuple[str | None, str | None],
    client: tuple[str | None, str | None],
    report: Callable[[str, Exception], None],
) -> bool:
    """The bookkeeping of a verification that opened its token (``result.item``), shared by the
    authorizer and ``POST /v1/tokens/verify``: the last-use stamp (``stamp``: ip and user agent; not
    for a cached copy, stamped when it was read) carrying the client's network, then a network new to
    the token (``client``: its ip and user agent; ``tokens/networks.py``). True when the token is now
    disabled (its organization disables on a new location): the request is refused. A failure is
    ``report``-ed as ``"last_use"`` or ``"network"`` and never changes the answer."""
    item = result.item
    if item is None:
        return False
    client_ip, client_agent = client
    stamped = False
    if not result.cached:
        try:
            extra = last_use_piece(item, client_ip, client_agent, now)
            stamped = record_use(repository, settings, item, now, stamp[0], stamp[1], extra)
        except Exception as error:
            report("last_use", error)
    try:
        return record_network(repository, settings, item, now, client_ip, client_agent, stamped)
    except Exception as error:
        report("network", error)
        return False


def apply_policies(
    counters: Any, settings: Settings, result: Verification, ip: str | None, cost: int, now: datetime
) -> Verification:
    """The token's usage policies (``tokens.usage.evaluate``) on a verification that is otherwise
    VALID; a token without policies costs nothing more. The events a verification crossed into
    are published as audit events (bookkeeping: a failure to write one never changes the answer).

    A positive cache in front of :func:`verify_secret` must still call this on every verification:
    rate limits and credits are counted here, never cached (a cached result keeps ``cached``)."""
    if not result.valid or result.item is None or not has_policy(result.item):
        return result
    outcome = evaluate(counters, result.item, ip, cost, clock.epoch(now))
    for event_type, details in outcome.events:
        try:
            counters.put_event(
                audit.audit_event(
                    result.item,
                    event_type,
                    now,
                    {"system": "tokensmith"},
                    audit.event_purge_at(settings, result.item, now),
                    ip=ip,
                    details=details,
                )
            )
        except Exception:  # noqa: S110 - the answer stands without its notice
            pass
    return Verification(outcome.code, result.item, result.cached, outcome)
