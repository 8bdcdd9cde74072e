"""GET /v1/tokens/{id} — one token of the caller's organization."""

from tokensmith.http import create_app, principal_of, token_response
from tokensmith.observability import api_entrypoint
from tokensmith.service import token_service

app = create_app()


@app.get("/v1/tokens/<token_id>")
def get_token(token_id: str):
    return token_response(token_service().get_token(principal_of(app), token_id))


handler = api_entrypoint(app.resolve)
