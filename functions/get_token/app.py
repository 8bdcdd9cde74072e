"""GET /v1/tokens/{token_id} — one token of the caller's organization."""

import tokensmith.startup  # noqa: F401  first: the garbage collector waits while the function starts
from tokensmith.http.app import create_app, create_router, operation
from tokensmith.http.request import principal_of
from tokensmith.http.responses import token_response
from tokensmith.observability import api_entrypoint
from tokensmith.tokens.service import TokenService, token_service

router = create_router()


@router.get(
    "/v1/tokens/<token_id>",
    **operation(200, "tokensmith.tokens.models:Token", (401, 403, 404), TokenService.get_token, "One token."),
)
def get_token(token_id: str):
    return token_response(token_service().get_token(principal_of(router), token_id))


app = create_app(router)
handler = api_entrypoint(app.resolve)
