"""GET /v1/tokens/self — the token that makes the call."""

from tokensmith.http import create_app, create_router, operation, principal_of, token_response
from tokensmith.models import Token
from tokensmith.observability import api_entrypoint
from tokensmith.service import token_service

router = create_router()


@router.get("/v1/tokens/self", **operation(200, Token, (401, 403, 404), None, "The token that makes the call."))
def get_self():
    return token_response(token_service().get_self(principal_of(router)))


app = create_app(router)
handler = api_entrypoint(app.resolve)
