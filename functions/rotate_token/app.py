"""POST /v1/tokens/{id}/rotate — a new secret, once; the old one works for the grace period."""

from tokensmith.http import create_app, parse_body, principal_of, request_meta, secret_response
from tokensmith.models import RotateTokenRequest
from tokensmith.observability import api_entrypoint
from tokensmith.service import token_service

app = create_app()


@app.post("/v1/tokens/<token_id>/rotate")
def rotate_token(token_id: str):
    request = parse_body(app, RotateTokenRequest, required=False)
    item, secret = token_service().rotate_token(
        principal_of(app), token_id, request.grace_period_seconds, request_meta(app)
    )
    return secret_response(item, secret, status=200)


handler = api_entrypoint(app.resolve)
