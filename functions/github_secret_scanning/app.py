"""POST /v1/secret-scanning/github — GitHub's secret scanning partner endpoint: no token, GitHub signs.

The signature is checked over the raw body before anything else (secret_scanning/signature.py); the
matches are labelled and the real, live tokens queued for revocation (secret_scanning/service.py)."""

import tokensmith.startup  # noqa: F401  first: the garbage collector waits while the function starts
from tokensmith.http.app import create_app, create_router, operation
from tokensmith.http.binding import MAX_BODY_EXTENSION, raw_body
from tokensmith.http.request import header, request_meta
from tokensmith.http.responses import json_response
from tokensmith.observability import api_entrypoint
from tokensmith.secret_scanning.models import (
    MAX_BODY_BYTES,
    MAX_MATCHES,
    SecretScanningMatch,
)
from tokensmith.secret_scanning.service import GitHubSecretScanning, github_secret_scanning
from tokensmith.secret_scanning.signature import IDENTIFIER_HEADER, SIGNATURE_HEADER

router = create_router()


def request_body() -> dict:
    """The body is read raw (the signature covers its bytes), so it is described here rather than bound;
    built for the OpenAPI document only (devtools/openapi.py), not on a cold start."""
    return {
        "required": True,
        "description": "What GitHub found: a JSON array of matches, signed by GitHub.",
        "content": {
            "application/json": {
                "schema": {"type": "array", "maxItems": MAX_MATCHES, "items": SecretScanningMatch.model_json_schema()}
            }
        },
    }


OPERATION = operation(
    200,
    "tokensmith.secret_scanning.models:SecretScanningLabels",
    (400, 401, 413, 422),
    GitHubSecretScanning.answer,
    """GitHub's secret scanning partner endpoint: revoke the tokens GitHub found in public.

GitHub's [secret scanning partner program](https://docs.github.com/en/code-security/secret-scanning/secret-scanning-partnership-program/secret-scanning-partner-program)
sends every string matching this deployment's token pattern that it finds in public repositories,
gists, issues, pull requests, discussions and npm packages. The request must carry GitHub's signature:
`Github-Public-Key-Identifier` (which of GitHub's published keys) and `Github-Public-Key-Signature`
(base64 ECDSA P-256 SHA-256 signature of the raw body); without it, or with a bad one, `401` and
nothing is read or revoked.

Every real, live token among the matches (including a rotated-out secret still in its grace period)
is revoked within seconds with the reason `leaked`; its `token.revoked` audit event names GitHub and
where the token was found (`details: {reporter, url, source}`). The answer labels each match for
GitHub's false-positive feedback: `token_hash` (hex SHA-256 of the match), `token_type` (its type) and
`true_positive` when it is a secret this deployment issued, live or not, else `false_positive`.""",
    public=True,
    # This route's 401 is its own: no token is involved, GitHub's signature is.
    own_refusals={
        401: "GitHub's signature is missing or malformed, names a key GitHub does not publish, or does not match "
        "the raw body"
    },
    openapi_extensions={MAX_BODY_EXTENSION: MAX_BODY_BYTES, "requestBody": request_body},
)


@router.post("/v1/secret-scanning/github", **OPERATION)
def report_github_matches():
    labels = github_secret_scanning().answer(
        raw_body(router, MAX_BODY_BYTES),
        header(router, IDENTIFIER_HEADER),
        header(router, SIGNATURE_HEADER),
        request_meta(router),
    )
    return json_response(labels)


app = create_app(router)
handler = api_entrypoint(app.resolve)
