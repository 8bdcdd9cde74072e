"""Retire on first use: a rotation's grace that ends at the new secret's first successful
verification, or at its scheduled end, whichever comes first.

``POST /v1/tokens/{id}/rotate {grace_period_seconds, retire_on_first_use: true}`` stores the old
secret's digest and the grace as any rotation with a grace does (``previous_secret_digest``,
``previous_valid_until``/``_epoch``), plus ``retire_on_first_use: true``. The first verification of
the new secret that answers VALID (authorizer, ``POST /v1/tokens/verify``, a console sign-in: all go
through ``verification.verify_secret``) then ends the grace with
:func:`complete_rotation_on_first_use`: one transaction of a token update conditioned on the version
(and so the digests) and the grace it read, and the ``token.rotation_completed`` audit event. Of any
number of concurrent first verifications exactly one transaction commits (the others' conditions
fail: the version has moved, the grace and the flag are gone), so the grace ends once and there is
exactly one event, which exists if and only if this call ended the grace.

Why "VALID" and not only "the new secret matched": a verification refused for its scopes or its
token's state proves nothing about whether the new secret has been deployed where it is meant to be.
The usage policies (rate limits, credits, allowlists) judge the request, not the secret, and are
applied after this; a request refused by them still ends the grace (it took the new secret).
Retiring a secret only ever takes validity away, so an early end is never a way in.

Cost: a token without a pending retire costs nothing (one dict lookup on the item already read).
The write is bookkeeping for the caller: a failure (lost race, throttling, timeout) never changes the
verification's answer; the grace then ends at a later verification, or at its scheduled end.

Only the standard library and hot-path modules: the authorizer imports this.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tokensmith import audit, clock
from tokensmith.settings import Settings
from tokensmith.tokens import format as token_format
from tokensmith.tokens.repository import TokenChange, TokenRepository

RETIRE_ON_FIRST_USE = "retire_on_first_use"  # stored only as true, only while a grace runs
# A rotation's grace: what a rotation without grace, a disable and a revocation remove.
GRACE_ATTRIBUTES = ("previous_secret_digest", "previous_valid_until", "previous_valid_epoch", RETIRE_ON_FIRST_USE)
# What the first use removes: the grace and the flag. The old digest stays, as after a grace that ran
# out: it opens nothing without a grace (``verification.digest_matches``), and GitHub secret scanning
# still knows the retired secret for one this deployment issued (``secret_scanning.service.issued``).
GRACE_END = ("previous_valid_until", "previous_valid_epoch", RETIRE_ON_FIRST_USE)
ROTATION_COMPLETED = "token.rotation_completed"


def retire_pending(item: dict[str, Any], presented: str, now_epoch: int) -> bool:
    """``presented`` is the token's current digest, and the old secret's grace is still running
    with ``retire_on_first_use``: this verification is the one that should end it."""
    if not item.get(RETIRE_ON_FIRST_USE):
        return False
    grace_until = item.get("previous_valid_epoch")
    return (
        grace_until is not None
        and now_epoch < grace_until
        and item.get("previous_secret_digest") is not None
        and token_format.digests_match(presented, item.get("secret_digest"))
    )


def complete_rotation_on_first_use(
    repository: TokenRepository, settings: Settings, item: dict[str, Any], presented: str, now_epoch: int
) -> bool:
    """If this verification of ``presented`` (VALID, of the token ``item`` as just read) is the first
    of a new secret whose rotation retires the old one on first use: end the grace and write
    ``token.rotation_completed``, in one transaction conditioned on the version (and so the digests),
    the grace and the flag that ``item`` shows. If any changed since (another verification ended it first, a
    re-rotation, a disable), nothing is written. True when this call ended the grace; never raises.

    After it, the old secret is refused like any wrong secret, and an instance's negative cache may
    remember that refusal for good: a retired digest never becomes valid again (a rotation moves the
    then-current digest into ``previous_secret_digest``, never an older one; verification_cache.py)."""
    if not retire_pending(item, presented, now_epoch):
        return False
    now = datetime.fromtimestamp(now_epoch, UTC)
    at = clock.to_iso(now)
    # The condition pins the rotation that was read: its version (every rotation, disable or edit bumps
    # it, so the digests are the ones read) and its grace. It names no digest attribute: the functions
    # that verify are denied any write naming ``secret_digest``/``previous_secret_digest``
    # (template.yaml, NeverWritesASecretDigest), and whether IAM counts a condition's names among
    # ``dynamodb:Attributes`` is not something to rely on. An edit between the read and the write makes
    # this write fail: the next verification of the new secret ends the grace instead.
    change = TokenChange(
        token_id=item["id"],
        expected_version=item["version"],
        expect={"previous_valid_epoch": item["previous_valid_epoch"], RETIRE_ON_FIRST_USE: True},
        set_values={"modified_at": at, "audit.updated": {"at": at, "by": "system"}},
        remove=GRACE_END,
        increment_version=True,  # the token changed: an If-Match on the version before is stale
    )
    details = {"rotated_at": item.get("rotated_at"), "grace_was_until": item.get("previous_valid_until")}
    event = audit.audit_event(
        item,
        ROTATION_COMPLETED,
        now,
        {"system": "tokensmith"},
        audit.event_purge_at(settings, item, now),
        changes={},
        details=details,
    )
    try:
        repository.update_token(change, event)
    except Exception:  # a lost race (VersionConflict) or a failure: the answer stands without it
        return False
    return True
