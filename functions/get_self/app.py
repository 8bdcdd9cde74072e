"""GET /v1/tokens/self — the token that makes the call."""

from tokensmith.http import create_app, principal_of, token_response
from tokensmith.observability import api_entrypoint
from tokensmith.service import token_service

app = create_app()


@app.get("/v1/tokens/self")
def get_self():
    return token_response(token_service().get_self(principal_of(app)))


handler = api_entrypoint(app.resolve)
