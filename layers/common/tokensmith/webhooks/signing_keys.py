"""Webhook signing secrets: generated here, stored only encrypted under the stack's KMS key.

A signing secret must be stored to sign (unlike a token, of which a digest is enough). It is kept as
KMS ciphertext (``kms:Encrypt`` for the functions that create and rotate endpoints, ``kms:Decrypt``
for the delivery function only; no other function can read it), bound to its endpoint by the
encryption context ``{webhook_id, organization_id}``: a ciphertext copied onto another endpoint does
not decrypt. DynamoDB's own encryption at rest comes on top. The plaintext is in the create or rotate
answer once, and in the delivery function's memory while it signs; never in a log or an event.
"""

from __future__ import annotations

import base64
import secrets
from typing import Any

from tokensmith.aws import clients

PREFIX = "whsec_"
SECRET_BYTES = 32


def new_secret() -> str:
    """``whsec_`` + base64 of 256 random bits: the format the ``standardwebhooks`` package reads."""
    return PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def _context(webhook_id: str, organization_id: str) -> dict[str, str]:
    return {"webhook_id": webhook_id, "organization_id": organization_id}


def encrypt(secret: str, webhook_id: str, organization_id: str, key_id: str, client: Any = None) -> str:
    response = (client or clients.client("kms")).encrypt(
        KeyId=key_id, Plaintext=secret.encode("ascii"), EncryptionContext=_context(webhook_id, organization_id)
    )
    return base64.b64encode(response["CiphertextBlob"]).decode("ascii")


def decrypt(ciphertext: str, webhook_id: str, organization_id: str, client: Any = None) -> str:
    response = (client or clients.client("kms")).decrypt(
        CiphertextBlob=base64.b64decode(ciphertext), EncryptionContext=_context(webhook_id, organization_id)
    )
    return bytes(response["Plaintext"]).decode("ascii")
