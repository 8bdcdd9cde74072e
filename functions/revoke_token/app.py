"""POST /v1/tokens/{id}/revoke — end a token for good, with a reason."""

from tokensmith.http import create_app, parse_body, principal_of, request_meta, token_response
from tokensmith.models import RevokeTokenRequest
from tokensmith.observability import api_entrypoint
from tokensmith.service import token_service

app = create_app()


@app.post("/v1/tokens/<token_id>/revoke")
def revoke_token(token_id: str):
    request = parse_body(app, RevokeTokenRequest)
    return token_response(token_service().revoke_token(principal_of(app), token_id, request.reason, request_meta(app)))


handler = api_entrypoint(app.resolve)
