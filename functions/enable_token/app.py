"""POST /v1/tokens/{id}/enable — let a disabled token verify again."""

from tokensmith.http import create_app, principal_of, request_meta, token_response
from tokensmith.observability import api_entrypoint
from tokensmith.service import token_service

app = create_app()


@app.post("/v1/tokens/<token_id>/enable")
def enable_token(token_id: str):
    return token_response(token_service().enable_token(principal_of(app), token_id, request_meta(app)))


handler = api_entrypoint(app.resolve)
