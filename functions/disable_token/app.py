"""POST /v1/tokens/{token_id}/disable — stop a token from verifying until it is enabled again."""

import tokensmith.startup  # noqa: F401  first: the garbage collector waits while the function starts
from tokensmith.http.app import create_app, create_router, operation
from tokensmith.http.request import principal_of, request_meta
from tokensmith.http.responses import token_response
from tokensmith.observability import api_entrypoint
from tokensmith.tokens.service import TokenService, token_service

router = create_router()


@router.post(
    "/v1/tokens/<token_id>/disable",
    **operation(
        200,
        "tokensmith.tokens.models:Token",
        (401, 403, 404, 409, 412),
        TokenService.disable_token,
        "Disable a token until it is enabled again; idempotent.",
    ),
)
def disable_token(token_id: str):
    return token_response(token_service().disable_token(principal_of(router), token_id, request_meta(router)))


app = create_app(router)
handler = api_entrypoint(app.resolve)
