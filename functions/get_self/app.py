"""GET /v1/tokens/self — the token that makes the call."""

import tokensmith.startup  # noqa: F401  first: the garbage collector waits while the function starts
from tokensmith.http.app import create_app, create_router, operation
from tokensmith.http.request import principal_of
from tokensmith.http.responses import token_response
from tokensmith.observability import api_entrypoint
from tokensmith.tokens.service import TokenService, token_service

router = create_router()


@router.get(
    "/v1/tokens/self",
    **operation(
        200, "tokensmith.tokens.models:Token", (401, 403, 404), TokenService.get_self, "The token that makes the call."
    ),
)
def get_self():
    return token_response(token_service().get_self(principal_of(router)))


app = create_app(router)
handler = api_entrypoint(app.resolve)
