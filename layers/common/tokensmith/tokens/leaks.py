"""Secrets found in the wild: reported by anyone, revoked by a worker.

``POST /v1/tokens/revoke-leaked`` takes secrets from whoever found them, without a token, so its
answer must say nothing, not even through its timing, about which of them are real. It therefore
never reads the table: :class:`LeakReports` keeps the strings that pass the secret's checksum (no
I/O), turns each into a :class:`LeakedSecret` (the token id the secret carries and the SHA-256
digest of the whole secret, never the secret itself) and queues them, :data:`LEAKS_PER_MESSAGE` to a
message, in one ``SendMessageBatch`` (1,000 secrets: 10 messages). Real or forged, a string costs the
route the same arithmetic and the same bytes on the queue.

The worker (``functions/revoke_leaked_worker``) hands each message to :class:`LeakedTokenRevoker`:
one ``BatchGetItem`` for the message's tokens (but those that a read of this instance found absent,
or not opened by the reported digest: ``verification_cache.py``), then, for every live token whose
current digest, or rotated-out digest still within its grace, is a reported one, the revocation of
``TokenChanges.revoke_plan`` with the reason ``leaked`` and the system as actor. A message delivered
twice revokes nothing twice: a revoked token is no longer live, and the plan checks again on the
token as read just before its write.

A reporter that says where it found a secret (GitHub's secret scanning, ``secret_scanning/``) queues
the same messages with a ``reporter`` name and each leak's ``url`` and ``source``; the revocation's
audit event carries them in its ``details``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any, TypeVar

from tokensmith import clock, table
from tokensmith.auth import SYSTEM, RequestMeta
from tokensmith.aws import clients
from tokensmith.errors import Conflict, NotFound, ServiceUnavailable
from tokensmith.observability import count, logger
from tokensmith.settings import Settings, get_settings
from tokensmith.tokens import format as token_format
from tokensmith.tokens.changes import TokenChangePlan, TokenChanges
from tokensmith.tokens.lifecycle import is_live
from tokensmith.tokens.repository import default_repository
from tokensmith.tokens.verification import digest_matches
from tokensmith.tokens.verification_cache import instance_verification_cache

LEAKED = "leaked"  # the revocation reason
LEAKS_PER_MESSAGE = 100  # one message: one BatchGetItem (its limit is 100 keys)
MESSAGES_PER_BATCH = 10  # SendMessageBatch's limit: 1,000 secrets (the route's maximum) in one call
BATCH_BYTES = 240 * 1024  # ... and its payload's (256 KiB, all messages together), with a margin
_DIGEST_CHARS = 64
MAX_URL_CHARS = 2048  # where a leak was found, as its reporter says (GitHub: a public URL, may be empty)
MAX_SOURCE_CHARS = 64  # what kind of place (GitHub: content, commit, issue_comment, ...)
_HEX = frozenset("0123456789abcdef")
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class LeakedSecret:
    """What is queued of one reported secret: the id it carries and the digest of the whole of it."""

    token_id: str
    digest: str
    url: str | None = None  # where it was found, when the reporter says so
    source: str | None = None
    reporter: str | None = None  # who found it, when it is a known scanner ("github_secret_scanning")

    @property
    def found(self) -> dict[str, str]:
        """What the revocation's audit event records of where the secret was found (its ``details``)."""
        found = {"reporter": self.reporter, "url": self.url, "source": self.source}
        return {key: value for key, value in found.items() if value}


class MalformedLeakMessage(ValueError):
    """A queued message this code did not write (a bug or a foreign sender): it goes to the DLQ."""


class RevocationIncomplete(RuntimeError):
    """Some tokens of a message lost every race against other changes: the message is retried."""


# --- pure: what the route queues --------------------------------------------------------------------


def leaked_secrets(reported: Iterable[str], prefix: str) -> list[LeakedSecret]:
    """The reported strings that are well-formed secrets of this deployment, each once, as (id, digest).
    A string failing the checksum (garbage, a typo, another vendor's key) is dropped without any I/O."""
    leaks: dict[str, LeakedSecret] = {}
    for secret in reported:
        if secret in leaks:
            continue
        try:
            token_id = token_format.parse(secret, prefix)
        except token_format.InvalidSecret:
            continue
        leaks[secret] = LeakedSecret(token_id, token_format.digest(secret))
    return list(leaks.values())


def chunks(items: list[T], size: int) -> Iterator[list[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def send_batches(bodies: list[str]) -> Iterator[list[str]]:
    """``bodies`` grouped for ``SendMessageBatch``: at most :data:`MESSAGES_PER_BATCH` messages and
    :data:`BATCH_BYTES` a call (a message of 100 pairs is 11 KB; with GitHub's URLs, up to 10 times that)."""
    batch: list[str] = []
    size = 0
    for body in bodies:
        length = len(body.encode("utf-8"))
        if batch and (len(batch) == MESSAGES_PER_BATCH or size + length > BATCH_BYTES):
            yield batch
            batch, size = [], 0
        batch.append(body)
        size += length
    if batch:
        yield batch


def message_bodies(leaks: list[LeakedSecret], meta: RequestMeta, reporter: str | None = None) -> list[str]:
    """The queue messages of ``leaks``: :data:`LEAKS_PER_MESSAGE` (id, digest) pairs each, with where the
    report came from (the revocation's audit event records it, as when a person revokes a token); a
    ``reporter`` that says where it found each secret adds its name and each leak's url and source."""
    reported_by = {"ip": meta.ip, "user_agent": meta.user_agent}
    messages = []
    for chunk in chunks(leaks, LEAKS_PER_MESSAGE):
        message: dict[str, Any] = {"reported_by": reported_by}
        if reporter is None:
            message["leaks"] = [[leak.token_id, leak.digest] for leak in chunk]
        else:
            message["reporter"] = reporter
            message["leaks"] = [[leak.token_id, leak.digest, leak.url or "", leak.source or ""] for leak in chunk]
        messages.append(json.dumps(message, separators=(",", ":")))
    return messages


def read_message(body: str) -> tuple[list[LeakedSecret], RequestMeta]:
    """The leaks of one queued message, and where they were reported from; checks the shape, as the
    worker trusts nothing it reads (ids become keys, digests are compared)."""
    try:
        message = json.loads(body)
        reported_by = message["reported_by"]
        reporter = message.get("reporter")
        leaks = [_leak_of(entry, reporter) for entry in message["leaks"]]
        meta = RequestMeta(ip=reported_by.get("ip"), user_agent=reported_by.get("user_agent"))
    except (ValueError, TypeError, KeyError, AttributeError) as error:
        raise MalformedLeakMessage(f"not a leak report: {type(error).__name__}") from None
    for leak in leaks:
        if not table.is_uuid(leak.token_id) or len(leak.digest) != _DIGEST_CHARS or not _HEX.issuperset(leak.digest):
            raise MalformedLeakMessage("not a leak report: a malformed id or digest")
        if len(leak.url or "") > MAX_URL_CHARS or len(leak.source or "") > MAX_SOURCE_CHARS:
            raise MalformedLeakMessage("not a leak report: a url or source too long")
    if not 0 < len(leaks) <= LEAKS_PER_MESSAGE:
        raise MalformedLeakMessage(f"not a leak report: {len(leaks)} leaks")
    return leaks, meta


def _leak_of(entry: list[Any], reporter: Any) -> LeakedSecret:
    """``[id, digest]``, or ``[id, digest, url, source]`` from a named reporter."""
    if reporter is None:
        token_id, digest = entry
        return LeakedSecret(str(token_id), str(digest))
    token_id, digest, url, source = entry
    return LeakedSecret(str(token_id), str(digest), str(url) or None, str(source) or None, str(reporter)[:64])


# --- the route: report ------------------------------------------------------------------------------


class LeakReports:
    """Queues reported secrets for :class:`LeakedTokenRevoker`; never reads or writes the table."""

    def __init__(self, settings: Settings, sqs: Any = None) -> None:
        self.settings = settings
        self._sqs = sqs

    @property
    def sqs(self) -> Any:
        if self._sqs is None:
            self._sqs = clients.client("sqs")
        return self._sqs

    def report(self, reported: list[str], meta: RequestMeta) -> int:
        """Queue every well-formed secret among ``reported``; returns how many were queued (for metrics
        only: the answer must not depend on it)."""
        leaks = leaked_secrets(reported, self.settings.token_prefix)
        self.queue(leaks, meta)
        count("token.leak_reported", len(leaks))
        return len(leaks)

    def queue(self, leaks: list[LeakedSecret], meta: RequestMeta, reporter: str | None = None) -> None:
        """Queue ``leaks`` for :class:`LeakedTokenRevoker`, :data:`MESSAGES_PER_BATCH` messages a call.
        ``reporter``: the name of a scanner that says where it found them (then each url and source go too)."""
        # Nothing well-formed: nothing is queued (no message, no worker run, for junk). The SQS round trip
        # it saves, like the work that grows with the number of strings, is hidden by the answer's floor
        # (uniform_answer_time): the caller sees one time whatever it sent. Even without the floor, that
        # difference would tell only what the caller can compute itself (whether a string passes a keyless
        # CRC32 over its own characters: tokens/format.py is public); real and forged secrets take the
        # same path, with the same work and the same bytes on the queue.
        for batch in send_batches(message_bodies(leaks, meta, reporter)):
            self._send(batch)

    def _send(self, bodies: list[str]) -> None:
        if not self.settings.leaked_tokens_queue_url:
            raise RuntimeError("LEAKED_TOKENS_QUEUE_URL is not set: leak reports cannot be queued")
        entries = [{"Id": str(n), "MessageBody": body} for n, body in enumerate(bodies)]
        response = self.sqs.send_message_batch(QueueUrl=self.settings.leaked_tokens_queue_url, Entries=entries)
        failed = [f for f in response.get("Failed") or [] if f.get("Id")]
        if failed:
            # Whatever was queued is revoked in any case; a retry of the whole report queues those again,
            # which the worker skips (already revoked). 503: the caller retries, nothing is lost.
            count("token.leak_report_failed", len(failed))
            raise ServiceUnavailable("the report could not be queued; retry shortly", headers={"Retry-After": "1"})


Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


def uniform_answer_time(handler: Handler) -> Handler:
    """``handler``, answering no sooner than ``leak_report_answer_seconds`` after it was called.

    The queue makes a real secret cost what a forged one does; what is left grows with the input (1,000
    checksums and a 120 KB ``SendMessageBatch`` against one) or shrinks with it (junk: no SQS call), and
    an unauthenticated route should answer in one time for any input. Sleeping to a floor above the
    worst case hides both; it costs a fraction of a second of a function throttled to
    ``LeakedTokensRateLimit`` requests a second. A call slower than the floor is logged, never cut short."""

    def answer(event: dict[str, Any], context: Any) -> dict[str, Any]:
        started = time.monotonic()
        try:
            return handler(event, context)
        finally:
            floor = get_settings().leak_report_answer_seconds
            elapsed = time.monotonic() - started
            if elapsed < floor:
                time.sleep(floor - elapsed)
            elif floor > 0:
                logger.warning("leak report answered after its floor", extra={"seconds": round(elapsed, 3)})

    return answer


# --- the worker: revoke -----------------------------------------------------------------------------


def still_leaked(item: dict[str, Any], digests: set[str], now_epoch: int) -> bool:
    """The token is live and one of ``digests`` opens it (its current secret, or the rotated-out one
    while the grace lasts)."""
    return is_live(item, now_epoch) and any(digest_matches(item, digest, now_epoch) for digest in digests)


class LeakedTokenRevoker(TokenChanges):
    """Revokes the tokens of queued leak reports, with ``TokenChanges``' machinery, as the system."""

    def revoke_reported(self, leaks: list[LeakedSecret], meta: RequestMeta) -> int:
        """Revoke, with reason ``leaked``, every token among ``leaks`` that a reported digest still opens.
        Returns how many were revoked now. Raises :class:`RevocationIncomplete` when some could not be
        written (every attempt lost a race): the message is delivered again, and what is done is skipped."""
        reported: dict[str, set[str]] = {}
        found: dict[str, dict[str, str]] = {}  # token id → where its first reported leak was found
        for leak in leaks:
            if not self.verification_cache.refused(leak.token_id, leak.digest):  # else forged: a read said so
                reported.setdefault(leak.token_id, set()).add(leak.digest)
                found.setdefault(leak.token_id, leak.found)
        revoked = 0
        unfinished: list[str] = []
        for item in self._read_reported(reported):
            digests = reported[item["id"]]
            if not still_leaked(item, digests, clock.epoch(self._now())):
                continue  # forged, ended, or a secret rotated away: nothing to do
            try:
                revoked += self._revoke(item["id"], digests, meta, found[item["id"]])
            except NotFound:
                continue  # deleted meanwhile
            except Conflict:
                unfinished.append(item["id"])
        count("token.leaked", revoked)
        if unfinished:
            raise RevocationIncomplete(f"{len(unfinished)} token(s) kept changing; the message is retried")
        return revoked

    def _read_reported(self, reported: dict[str, set[str]]) -> list[dict[str, Any]]:
        """The reported tokens that exist, read now; the absent ids and the digests that open nothing
        are remembered (``verification_cache.py``), so that a forgery reported again costs no read."""
        if not reported:
            return []
        items = self.repository.get_tokens(list(reported))
        cache, now_epoch = self.verification_cache, clock.epoch(self._now())
        for token_id in reported.keys() - {item["id"] for item in items}:
            cache.remember_absent(token_id)
        for item in items:
            for digest in reported[item["id"]]:
                if not digest_matches(item, digest, now_epoch):
                    cache.remember_wrong(digest)
        return items

    def _revoke(self, token_id: str, digests: set[str], meta: RequestMeta, found: dict[str, str]) -> bool:
        """Revoke the token if, as read just before the write, a reported digest still opens it; the audit
        event's ``details`` say where it was found, when the reporter said so."""
        planned: list[bool] = []

        def plan(item: dict[str, Any], at: datetime) -> TokenChangePlan | None:
            planned[:] = [still_leaked(item, digests, clock.epoch(at))]
            if not planned[0]:
                return None  # revoked or rotated meanwhile
            revocation = self.revoke_plan(at, LEAKED)
            revocation.details = dict(found)
            return revocation

        self.change_with_retries(SYSTEM, token_id, meta, plan, deleted_is_gone=True)
        return planned == [True]


@lru_cache(maxsize=1)
def leak_reports() -> LeakReports:
    """The route's process-wide reporter (tests clear this cache)."""
    return LeakReports(get_settings())


@lru_cache(maxsize=1)
def leaked_token_revoker() -> LeakedTokenRevoker:
    """The worker's process-wide revoker over the configured table (tests clear this cache)."""
    return LeakedTokenRevoker(default_repository(), get_settings(), verification_cache=instance_verification_cache())
