"""GitHub's secret scanning signatures: the keys document, its per-instance cache, and the check.

GitHub signs the raw body of each secret scanning request with ECDSA over P-256 and SHA-256: the
``Github-Public-Key-Signature`` header is the base64 of the ASN.1 DER signature, and
``Github-Public-Key-Identifier`` names the key, one of the PEM public keys of GitHub's keys document
(``Settings.github_keys_url``, https://api.github.com/meta/public_keys/secret_scanning by default)::

    {"public_keys": [{"key_identifier": "bcb5...", "key": "-----BEGIN PUBLIC KEY-----...", "is_current": true}]}

:class:`GitHubKeys` keeps the document's keys for the life of the instance. An identifier it does not
know makes it fetch the document again, at most once a minute (:data:`REFRESH_SECONDS`), so a flood of
made-up identifiers costs GitHub's API one request a minute per instance; keys older than
:data:`MAX_AGE_SECONDS` are fetched again on the next request, so a key GitHub withdraws stops working
within the hour (a failed fetch keeps the keys it had). The fetch goes through ``webhooks.egress``: https
only, public addresses only, no redirects, one deadline (:data:`FETCH_TIMEOUT_SECONDS`), a bounded size.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections.abc import Callable

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from tokensmith.errors import ServiceUnavailable, Unauthorized
from tokensmith.observability import count, logger
from tokensmith.webhooks import egress

IDENTIFIER_HEADER = "github-public-key-identifier"
SIGNATURE_HEADER = "github-public-key-signature"
REFRESH_SECONDS = 60.0  # at most one fetch a minute for identifiers we do not know
MAX_AGE_SECONDS = 3600.0  # keys this old are fetched again (a withdrawn key stops working)
FETCH_TIMEOUT_SECONDS = 3.0
MAX_DOCUMENT_BYTES = 64 * 1024
MAX_IDENTIFIER_CHARS = 256
MAX_SIGNATURE_CHARS = 256  # a DER P-256 signature is at most 72 bytes: 96 base64 characters

Fetcher = Callable[[], bytes]


class KeysUnavailable(RuntimeError):
    """The keys document could not be fetched or read (the message says why, without any secret)."""


def parse_keys_document(document: bytes) -> dict[str, ec.EllipticCurvePublicKey]:
    """The P-256 keys of a keys document by identifier; keys of another kind are skipped."""
    try:
        entries = json.loads(document)["public_keys"]
        keys: dict[str, ec.EllipticCurvePublicKey] = {}
        for entry in entries:
            key = load_pem_public_key(str(entry["key"]).encode("ascii"))
            if isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1):
                keys[str(entry["key_identifier"])] = key
    except (ValueError, TypeError, KeyError, UnicodeError) as error:
        raise KeysUnavailable(f"the keys document is not readable: {type(error).__name__}") from None
    if not keys:
        raise KeysUnavailable("the keys document holds no P-256 key")
    return keys


def https_fetcher(url: str, allow_loopback: bool = False) -> Fetcher:
    """A fetch of ``url`` with the webhooks' egress rules (``allow_loopback``: the local run only)."""

    def fetch() -> bytes:
        try:
            target = egress.check_url(url, allow_loopback=allow_loopback)
        except egress.UnsafeUrl as error:
            raise KeysUnavailable(f"the keys URL {error}") from None
        answer, body = egress.get(target, {"Accept": "application/json"}, FETCH_TIMEOUT_SECONDS, MAX_DOCUMENT_BYTES)
        if answer.status != 200:
            raise KeysUnavailable(f"the keys URL answered {answer.status or answer.error}")
        if len(body) > MAX_DOCUMENT_BYTES:
            raise KeysUnavailable(f"the keys document is larger than {MAX_DOCUMENT_BYTES} bytes")
        return body

    return fetch


class GitHubKeys:
    """GitHub's signing keys, cached for the life of the instance; fetched again on an unknown identifier
    (at most once per :data:`REFRESH_SECONDS`) or when older than :data:`MAX_AGE_SECONDS`."""

    def __init__(
        self,
        fetch: Fetcher,
        monotonic: Callable[[], float] = time.monotonic,
        refresh_seconds: float = REFRESH_SECONDS,
        max_age_seconds: float = MAX_AGE_SECONDS,
    ) -> None:
        self._fetch = fetch
        self._monotonic = monotonic
        self._refresh_seconds = refresh_seconds
        self._max_age_seconds = max_age_seconds
        self._keys: dict[str, ec.EllipticCurvePublicKey] = {}
        self._loaded_at: float | None = None  # when the keys we hold were fetched
        self._attempted_at: float | None = None  # when we last tried
        self._last_failed = False

    def key(self, identifier: str) -> ec.EllipticCurvePublicKey:
        """The key named ``identifier``; :class:`Unauthorized` when GitHub does not publish it,
        :class:`ServiceUnavailable` when we could not learn whether it does."""
        key = self._keys.get(identifier)
        if (key is None or self._stale()) and self._may_fetch():
            self._refresh()
            key = self._keys.get(identifier)
        if key is not None:
            return key
        if self._last_failed:
            raise ServiceUnavailable(
                "GitHub's secret scanning keys could not be fetched; retry shortly", headers={"Retry-After": "60"}
            )
        raise Unauthorized("Github-Public-Key-Identifier names no key GitHub publishes")

    def _stale(self) -> bool:
        return self._loaded_at is None or self._monotonic() - self._loaded_at >= self._max_age_seconds

    def _may_fetch(self) -> bool:
        return self._attempted_at is None or self._monotonic() - self._attempted_at >= self._refresh_seconds

    def _refresh(self) -> None:
        self._attempted_at = self._monotonic()
        try:
            self._keys = parse_keys_document(self._fetch())
        except KeysUnavailable as error:
            self._last_failed = True
            count("secret_scanning.keys_unavailable")
            logger.warning("GitHub's secret scanning keys could not be fetched", extra={"error": str(error)})
            return
        self._loaded_at = self._attempted_at
        self._last_failed = False
        count("secret_scanning.keys_fetched")


def verify_signature(keys: GitHubKeys, body: bytes, identifier: str | None, signature: str | None) -> None:
    """The body is signed by the GitHub key ``identifier`` names; else :class:`Unauthorized`."""
    if not identifier or not signature:
        raise Unauthorized("GitHub's signature is missing (Github-Public-Key-Identifier, Github-Public-Key-Signature)")
    if len(identifier) > MAX_IDENTIFIER_CHARS or len(signature) > MAX_SIGNATURE_CHARS:
        raise Unauthorized("GitHub's signature headers are malformed: too long")
    try:
        der = base64.b64decode(signature.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise Unauthorized("Github-Public-Key-Signature is not base64") from None
    key = keys.key(identifier.strip())
    try:
        key.verify(der, body, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError):
        raise Unauthorized("Github-Public-Key-Signature does not match the body") from None
