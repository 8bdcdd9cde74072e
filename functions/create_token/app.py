"""POST /v1/tokens — create a token; the answer carries its secret, once."""

from tokensmith.http import create_app, parse_body, principal_of, request_meta, secret_response
from tokensmith.models import CreateTokenRequest
from tokensmith.observability import api_entrypoint
from tokensmith.service import token_service

app = create_app()


@app.post("/v1/tokens")
def create_token():
    request = parse_body(app, CreateTokenRequest)
    item, secret = token_service().create_token(principal_of(app), request, request_meta(app))
    return secret_response(item, secret, status=201)


handler = api_entrypoint(app.resolve)
