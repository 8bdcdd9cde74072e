"""What one Lambda instance remembers of its verifications, so that repeating one costs no read.

**Refusals (always on).** A forged secret passes the public CRC32 checksum as easily as a real one,
and each costs a strongly consistent ``GetItem``. Two refusals are remembered, in one bounded LRU:

- *no token has this id* (the id is remembered), and
- *this secret does not open its token* (the SHA-256 digest of the whole secret, which carries the
  id, is remembered).

Why neither can become wrong later, so that remembering them forever is as safe as reading again:

1. Token ids are UUID4s, 122 random bits drawn when the token is created (``changes.create``): no
   one can present a secret for an id before that id exists, except by guessing it, and an id
   remembered as absent is as likely to be drawn later as any other (2^-122).
2. A secret is shown once, in the answer to the create or rotate that wrote its digest, and only
   after that write succeeded; the verifier reads the token after it received the secret, with a
   strongly consistent read. So a read that answered "wrong secret" started after every write that
   could make the secret valid, and saw it.
3. A rotation makes exactly one new secret valid: a fresh one, 256 random bits from ``secrets``,
   whose digest no one can have presented before. The rotated-out secret stays valid for its grace
   and never again; no operation makes an old or arbitrary digest valid (a rotation moves the digest
   that is current into ``previous_secret_digest``, never an older one). Deletion, revocation, TTL
   purges and the end of a grace, at its time or at the new secret's first use
   (``retire_on_first_use``, ``tokens/rotation.py``), only take validity away.

So a flood of one forged secret costs one read per instance; the remembered answers are the ones a
read would give. A flood of *different* forgeries for a known id still costs one read each (their
digests differ): the HTTP API's throttling bounds that. Nothing else is remembered about a refused
secret (not why; no secret, only its digest, as in the table). Bounded: :data:`REFUSALS_REMEMBERED`
entries, least recently used evicted first (memory measured in docs/performance.md).

**Answers of valid secrets (opt-in, ``VerifyCacheSeconds``, default 0 = off, at most 5).** The token
read for a secret that opened it is reused for that secret during ``seconds`` from the moment the
read started: a change of the token (disable, revoke, rotation, scopes) is seen by this instance at
most that late. Whatever depends on the time (expiry, the rotation grace) is still judged at every
call on the remembered token. A deployment that must refuse a revoked token on its very next
request keeps it at 0.

Only the standard library: the authorizer's hot path imports this.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from functools import lru_cache
from typing import Any

REFUSALS_REMEMBERED = 10_000  # ids and digests; at most about 2.1 MB when full (docs/performance.md)
TOKENS_REMEMBERED = 1_000  # valid secrets' tokens, when VerifyCacheSeconds > 0
MAX_TOKEN_SECONDS = 5  # VerifyCacheSeconds' ceiling, also enforced by the template


class BoundedLru:
    """A dict of at most ``capacity`` entries; adding one more evicts the least recently used."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._entries: OrderedDict[str, Any] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: str) -> bool:
        if key not in self._entries:
            return False
        self._entries.move_to_end(key)
        return True

    def get(self, key: str) -> Any:
        value = self._entries.get(key)
        if value is not None:
            self._entries.move_to_end(key)
        return value

    def put(self, key: str, value: Any = True) -> None:
        self._entries[key] = value
        self._entries.move_to_end(key)
        if len(self._entries) > self.capacity:
            self._entries.popitem(last=False)

    def discard(self, key: str) -> None:
        self._entries.pop(key, None)


class VerificationCache:
    """The refusals, and (when ``token_seconds`` > 0) the tokens of valid secrets, of one instance."""

    def __init__(
        self,
        token_seconds: int = 0,
        refusals: int = REFUSALS_REMEMBERED,
        tokens: int = TOKENS_REMEMBERED,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if not 0 <= token_seconds <= MAX_TOKEN_SECONDS:
            raise ValueError(f"a valid secret's token is cached 0 to {MAX_TOKEN_SECONDS} seconds, not {token_seconds}")
        self.token_seconds = token_seconds
        self.refusals = BoundedLru(refusals)
        self.tokens = BoundedLru(tokens)
        self.monotonic = monotonic

    # --- refusals ------------------------------------------------------------------------------------

    def refused(self, token_id: str, digest: str) -> bool:
        """A read already answered that no token has ``token_id`` or that ``digest`` does not open it."""
        return token_id in self.refusals or digest in self.refusals

    def remember_absent(self, token_id: str) -> None:
        self.refusals.put(token_id)

    def remember_wrong(self, digest: str) -> None:
        self.refusals.put(digest)
        self.tokens.discard(digest)

    # --- tokens of valid secrets -----------------------------------------------------------------------

    def read_started(self) -> float:
        """Call just before the read whose token :meth:`remember_token` may keep."""
        return self.monotonic()

    def remember_token(self, digest: str, item: dict[str, Any], read_started: float) -> None:
        if self.token_seconds:
            self.tokens.put(digest, (read_started + self.token_seconds, item))

    def token(self, digest: str) -> dict[str, Any] | None:
        """The token that ``digest`` opened, read less than ``token_seconds`` ago, else None."""
        if not self.token_seconds:
            return None
        entry = self.tokens.get(digest)
        if entry is None:
            return None
        fresh_until, item = entry
        if self.monotonic() >= fresh_until:
            self.tokens.discard(digest)
            return None
        return item


@lru_cache(maxsize=1)
def instance_verification_cache() -> VerificationCache:
    """This process's cache (one per Lambda instance), sized by the settings (tests clear this)."""
    from tokensmith.settings import get_settings

    return VerificationCache(get_settings().verify_cache_seconds)
