"""GitHub's secret scanning partner endpoint: verify, label every match, revoke the real, live tokens.

GitHub POSTs the strings matching our token pattern that it found in public (code, commits, issues,
gists, npm packages), signed (``signature.py``), up to thousands at once, and waits for the answer
(30 s for partners that label). :class:`GitHubSecretScanning` checks the signature over the raw body
before anything else, then:

- keeps the matches that are well-formed secrets of this deployment (prefix, length, checksum: no I/O);
- reads their tokens, 100 to a ``BatchGetItem``, and labels each match ``true_positive`` when it is a
  secret this deployment issued (its token exists and the digest is its current or rotated-out one,
  whatever the token's state), else ``false_positive``;
- queues the real, live ones for the leak worker (``tokens/leaks.py``), with where GitHub found them:
  the worker revokes them, with the reason ``leaked``, within seconds, exactly as for
  ``POST /v1/tokens/revoke-leaked``, and each ``token.revoked`` audit event's ``details`` say
  ``{"reporter": "github_secret_scanning", "url": ..., "source": ...}``.

Why queue rather than revoke while GitHub waits: a revocation is a read and a transaction per token,
so a batch of 1,000 live tokens would take tens of seconds, past GitHub's and API Gateway's 30 s,
and a token that keeps changing needs retries; the queue bounds the answer to the reads, retries on
its own and dead-letters what keeps failing, and this internet-facing function needs no write access
to the table (it reads tokens and sends messages, nothing else).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from functools import lru_cache
from typing import Any

from pydantic import ValidationError

from tokensmith import clock
from tokensmith.auth import RequestMeta
from tokensmith.errors import BadRequest, FieldError, ValidationFailed
from tokensmith.observability import count, logger
from tokensmith.secret_scanning.models import (
    FALSE_POSITIVE,
    MAX_MATCHES,
    TRUE_POSITIVE,
    SecretScanningMatch,
    SecretScanningMatches,
)
from tokensmith.secret_scanning.signature import GitHubKeys, https_fetcher, verify_signature
from tokensmith.settings import Settings, get_settings
from tokensmith.tokens import format as token_format
from tokensmith.tokens.leaks import LeakedSecret, LeakReports, still_leaked
from tokensmith.tokens.repository import TokenRepository, default_repository

REPORTER = "github_secret_scanning"  # the reporter name in the revocation's audit event


def read_matches(body: bytes) -> list[SecretScanningMatch]:
    """The matches of a (verified) body: a JSON array of ``{token, type, url, source}``, else a 4xx."""
    try:
        document = json.loads(body)
    except UnicodeDecodeError:
        raise BadRequest("the body is not valid UTF-8") from None
    except json.JSONDecodeError as error:
        raise BadRequest(f"the body is not valid JSON: {error.msg} at line {error.lineno}") from None
    except (ValueError, RecursionError):
        raise BadRequest("the body is not acceptable JSON: a number too long or nesting too deep") from None
    if not isinstance(document, list):
        raise ValidationFailed("the body must be a JSON array of matches", [FieldError("body", "must be an array")])
    if len(document) > MAX_MATCHES:  # before validating each one
        raise ValidationFailed(
            f"at most {MAX_MATCHES} matches a request, not {len(document)}", [FieldError("body", "too many matches")]
        )
    try:
        return SecretScanningMatches.model_validate(document).root
    except ValidationError as error:
        errors = [
            FieldError(".".join(str(part) for part in item["loc"]) or "body", item["msg"])
            for item in error.errors(include_url=False, include_input=False)  # never echo a token
        ]
        summary = "; ".join(f"{e.field}: {e.message}" for e in errors)
        raise ValidationFailed(f"invalid matches: {summary}", errors) from None


def issued(item: dict[str, Any] | None, digest: str) -> bool:
    """``digest`` is the current or rotated-out secret of the token ``item`` (in any state)."""
    return item is not None and (
        token_format.digests_match(digest, item.get("secret_digest"))
        or token_format.digests_match(digest, item.get("previous_secret_digest"))
    )


class GitHubSecretScanning:
    """Answers GitHub's secret scanning requests (see the module's docstring)."""

    def __init__(
        self,
        repository: TokenRepository,
        settings: Settings,
        keys: GitHubKeys,
        reports: LeakReports,
        now: Callable[[], datetime] = clock.now,
    ) -> None:
        self.repository = repository
        self.settings = settings
        self.keys = keys
        self.reports = reports
        self._now = now

    def answer(
        self, body: bytes, identifier: str | None, signature: str | None, meta: RequestMeta
    ) -> list[dict[str, str]]:
        """Verify the signature, then label every match and queue the real, live ones for revocation."""
        verify_signature(self.keys, body, identifier, signature)
        return self.label_and_revoke(read_matches(body), meta)

    def label_and_revoke(self, matches: list[SecretScanningMatch], meta: RequestMeta) -> list[dict[str, str]]:
        leaks: dict[str, LeakedSecret] = {}  # matched string → its leak, for well-formed secrets only
        for match in matches:
            if match.token in leaks:
                continue
            try:
                token_id = token_format.parse(match.token, self.settings.token_prefix)
            except token_format.InvalidSecret:
                continue
            digest = token_format.digest(match.token)
            leaks[match.token] = LeakedSecret(token_id, digest, match.url or None, match.source or None, REPORTER)
        items = {item["id"]: item for item in self.repository.get_tokens([leak.token_id for leak in leaks.values()])}
        now_epoch = clock.epoch(self._now())
        real = {token: leak for token, leak in leaks.items() if issued(items.get(leak.token_id), leak.digest)}
        live = [leak for leak in real.values() if still_leaked(items[leak.token_id], {leak.digest}, now_epoch)]
        if live:
            self.reports.queue(live, meta, REPORTER)

        labels: list[dict[str, str]] = []
        seen: set[tuple[str, str]] = set()
        for match in matches:
            token_hash = token_format.digest(match.token)
            if (token_hash, match.type) in seen:
                continue
            seen.add((token_hash, match.type))
            label = TRUE_POSITIVE if match.token in real else FALSE_POSITIVE
            labels.append({"token_hash": token_hash, "token_type": match.type, "label": label})
        count("secret_scanning.matches", len(matches))
        count("secret_scanning.true_positives", len(real))
        count("token.leak_reported", len(live))
        logger.info(
            "GitHub secret scanning report",
            extra={"matches": len(matches), "well_formed": len(leaks), "issued": len(real), "queued": len(live)},
        )
        return labels


@lru_cache(maxsize=1)
def github_secret_scanning() -> GitHubSecretScanning:
    """The route's process-wide service: its keys cache lives as long as the instance (tests clear this)."""
    settings = get_settings()
    fetch = https_fetcher(settings.github_keys_url, allow_loopback=settings.webhook_allow_loopback)
    return GitHubSecretScanning(default_repository(), settings, GitHubKeys(fetch), LeakReports(settings))
