"""The secret's wire format: ``<prefix>_<payload><checksum>``.

- payload: base62 of 48 bytes, the token id (16 bytes of a UUID4) followed by 32 random bytes
  (256 bits from ``secrets``), left-padded to 65 characters;
- checksum: base62 of the CRC32 of everything before it (prefix, ``_`` and payload), 6 characters.

A typo or a truncated copy fails the checksum and is rejected without any I/O; the id inside the
payload lets verification fetch the one item with a single ``GetItem``. Only the SHA-256 digest of
the whole secret is ever stored; comparisons are constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
import zlib

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_INDEX = {char: value for value, char in enumerate(ALPHABET)}
_BASE62 = frozenset(ALPHABET)
PAYLOAD_BYTES = 16 + 32
PAYLOAD_CHARS = 65  # 62**65 > 2**384
CHECKSUM_CHARS = 6  # 62**6 > 2**32
START_CHARS = 8  # characters of the payload kept for display, after the prefix


class InvalidSecret(ValueError):
    """The string is not a well-formed secret of this deployment (wrong prefix, length, checksum)."""


def _encode(value: int, width: int) -> str:
    chars = []
    while value:
        value, digit = divmod(value, 62)
        chars.append(ALPHABET[digit])
    return "".join(reversed(chars)).rjust(width, ALPHABET[0])


def _decode(text: str) -> int:
    value = 0
    for char in text:
        value = value * 62 + _INDEX[char]
    return value


def _checksum(body: str) -> str:
    return _encode(zlib.crc32(body.encode("ascii")), CHECKSUM_CHARS)


def digest(secret: str) -> str:
    """Hex SHA-256 of the whole secret: what the table stores instead of the secret."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def digests_match(secret_digest: str, stored_digest: str | None) -> bool:
    return stored_digest is not None and hmac.compare_digest(secret_digest, stored_digest)


def generate(prefix: str, token_id: str) -> str:
    """A new secret carrying ``token_id`` and 256 fresh random bits."""
    raw = uuid.UUID(token_id).bytes + secrets.token_bytes(32)
    body = f"{prefix}_{_encode(int.from_bytes(raw, 'big'), PAYLOAD_CHARS)}"
    return body + _checksum(body)


def start_of(secret: str) -> str:
    """The first characters of a secret, safe to show so that people can recognise their tokens."""
    prefix, _, payload = secret.partition("_")
    return f"{prefix}_{payload[:START_CHARS]}"


def scanner_pattern(prefix: str) -> str:
    """The regular expression that finds this deployment's secrets (for secret scanners such as GitHub's);
    the checksum then tells a real secret from a look-alike without any I/O."""
    return rf"\b{prefix}_[0-9A-Za-z]{{{PAYLOAD_CHARS + CHECKSUM_CHARS}}}\b"


def parse(secret: str, prefix: str) -> str:
    """The token id inside ``secret``; raises :class:`InvalidSecret` without touching any storage."""
    expected_length = len(prefix) + 1 + PAYLOAD_CHARS + CHECKSUM_CHARS
    if len(secret) != expected_length or not secret.startswith(prefix + "_"):
        raise InvalidSecret("wrong prefix or length")
    body, checksum = secret[:-CHECKSUM_CHARS], secret[-CHECKSUM_CHARS:]
    payload = body[len(prefix) + 1 :]
    if not _BASE62.issuperset(payload + checksum):
        raise InvalidSecret("not base62")
    if not hmac.compare_digest(_checksum(body), checksum):
        raise InvalidSecret("checksum mismatch")
    value = _decode(payload)
    if value >= 1 << (8 * PAYLOAD_BYTES):
        raise InvalidSecret("payload out of range")
    return str(uuid.UUID(bytes=value.to_bytes(PAYLOAD_BYTES, "big")[:16]))
