"""POST /v1/tokens/verify — is this secret a valid token (with these scopes)?"""

from tokensmith import clock
from tokensmith.http import create_app, json_response, parse_body, principal_of, request_meta
from tokensmith.models import VerifyTokenRequest
from tokensmith.observability import api_entrypoint
from tokensmith.service import token_service
from tokensmith.views import token_view

app = create_app()


@app.post("/v1/tokens/verify")
def verify_token():
    request = parse_body(app, VerifyTokenRequest)
    result = token_service().verify(principal_of(app), request.token, request.scopes, request_meta(app))
    token = token_view(result.item, clock.epoch(clock.now())) if result.item else None
    return json_response({"valid": result.valid, "code": result.code, "token": token})


handler = api_entrypoint(app.resolve)
