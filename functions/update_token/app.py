"""PATCH /v1/tokens/{id} — partial update: an omitted or null field stays as it is."""

from tokensmith.http import create_app, parse_body, principal_of, request_meta, token_response
from tokensmith.models import UpdateTokenRequest
from tokensmith.observability import api_entrypoint
from tokensmith.service import token_service

app = create_app()


@app.patch("/v1/tokens/<token_id>")
def update_token(token_id: str):
    request = parse_body(app, UpdateTokenRequest)
    return token_response(token_service().update_token(principal_of(app), token_id, request, request_meta(app)))


handler = api_entrypoint(app.resolve)
