"""GET /v1/tokens/{token_id} — one token of the caller's organization."""

from tokensmith.http import create_app, create_router, operation, principal_of, token_response
from tokensmith.models import Token
from tokensmith.observability import api_entrypoint
from tokensmith.service import token_service

router = create_router()


@router.get("/v1/tokens/<token_id>", **operation(200, Token, (401, 403, 404), "tokens:read", "One token."))
def get_token(token_id: str):
    return token_response(token_service().get_token(principal_of(router), token_id))


app = create_app(router)
handler = api_entrypoint(app.resolve)
