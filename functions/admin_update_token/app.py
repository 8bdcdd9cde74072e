"""PATCH /v1/admin/tokens/{id} — the platform admin's override: status, expiry, owner, revocation."""

from tokensmith.http import create_app, parse_body, principal_of, request_meta, token_response
from tokensmith.models import AdminUpdateTokenRequest
from tokensmith.observability import api_entrypoint
from tokensmith.service import token_service

app = create_app()


@app.patch("/v1/admin/tokens/<token_id>")
def admin_update_token(token_id: str):
    request = parse_body(app, AdminUpdateTokenRequest)
    return token_response(token_service().admin_update_token(principal_of(app), token_id, request, request_meta(app)))


handler = api_entrypoint(app.resolve)
