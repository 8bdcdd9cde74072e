"""POST /v1/tokens/{token_id}/revoke — end a token for good, with a reason."""

from typing import Annotated

import tokensmith.startup  # noqa: F401  first: the garbage collector waits while the function starts
from tokensmith.http.app import create_app, create_router, operation
from tokensmith.http.params import Body
from tokensmith.http.request import principal_of, request_meta
from tokensmith.http.responses import token_response
from tokensmith.observability import api_entrypoint
from tokensmith.tokens.models import RevokeTokenRequest
from tokensmith.tokens.service import TokenService, token_service

router = create_router()


@router.post(
    "/v1/tokens/<token_id>/revoke",
    **operation(
        200,
        "tokensmith.tokens.models:Token",
        (400, 401, 403, 404, 409, 412, 413, 415, 422),
        TokenService.revoke_token,
        "Revoke a token with a reason; terminal.",
    ),
)
def revoke_token(token_id: str, body: Annotated[RevokeTokenRequest, Body()]):
    token = token_service().revoke_token(principal_of(router), token_id, body.reason, request_meta(router))
    return token_response(token)


app = create_app(router)
handler = api_entrypoint(app.resolve)
