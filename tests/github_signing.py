"""GitHub's side of secret scanning, for the tests: a key pair of our own, its keys document in GitHub's
format (https://api.github.com/meta/public_keys/secret_scanning) and the signature headers GitHub sends.
No test reaches GitHub."""

from __future__ import annotations

import base64
import json
import secrets

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec


class GitHubSigner:
    """One of GitHub's signing keys: a P-256 key pair and its identifier."""

    def __init__(self, identifier: str | None = None, curve: ec.EllipticCurve | None = None) -> None:
        self.identifier = identifier or secrets.token_hex(32)
        self.private_key = ec.generate_private_key(curve or ec.SECP256R1())

    @property
    def public_pem(self) -> str:
        return (
            self.private_key.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode("ascii")
        )

    def sign(self, body: bytes) -> str:
        """Base64 of the ASN.1 DER ECDSA SHA-256 signature of ``body``, as Github-Public-Key-Signature."""
        return base64.b64encode(self.private_key.sign(body, ec.ECDSA(hashes.SHA256()))).decode("ascii")

    def headers(self, body: bytes) -> dict[str, str]:
        return {
            "Github-Public-Key-Identifier": self.identifier,
            "Github-Public-Key-Signature": self.sign(body),
            "Content-Type": "application/json",
        }


def keys_document(*signers: GitHubSigner) -> bytes:
    """GitHub's keys document listing ``signers`` (the last one current)."""
    keys = [
        {"key_identifier": s.identifier, "key": s.public_pem, "is_current": n == len(signers) - 1}
        for n, s in enumerate(signers)
    ]
    return json.dumps({"public_keys": keys}).encode()


def matches_body(*tokens: str, token_type: str = "tokensmith_api_token", source: str = "content") -> bytes:
    """A secret scanning request body: one match per token, found at a made-up public URL."""
    found = [
        {
            "token": t,
            "type": token_type,
            "url": f"https://github.com/octocat/leaks/blob/main/file{n}.txt",
            "source": source,
        }
        for n, t in enumerate(tokens)
    ]
    return json.dumps(found).encode()
