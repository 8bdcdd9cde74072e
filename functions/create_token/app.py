"""POST /v1/tokens — create a token; the answer carries its secret, once."""

from typing import Annotated

import tokensmith.startup  # noqa: F401  first: the garbage collector waits while the function starts
from tokensmith.http.app import create_app, create_router, operation
from tokensmith.http.params import Body
from tokensmith.http.request import principal_of, request_meta
from tokensmith.http.responses import secret_response
from tokensmith.observability import api_entrypoint
from tokensmith.tokens.models import CreateTokenRequest
from tokensmith.tokens.service import TokenService, token_service

router = create_router()


@router.post(
    "/v1/tokens",
    **operation(
        201,
        "tokensmith.tokens.models:TokenWithSecret",
        (400, 401, 403, 409, 413, 415, 422),
        TokenService.create_token,
        """Create a token; the answer carries its secret, the only time it is shown.

Scopes must be a subset of the caller's; `revoked: true` creates it disabled; without
`expires_at` it gets the maximum lifetime. Only admins may name another `organization_id`.""",
    ),
)
def create_token(body: Annotated[CreateTokenRequest, Body()]):
    item, secret = token_service().create_token(principal_of(router), body, request_meta(router))
    return secret_response(item, secret, status=201)


app = create_app(router)
handler = api_entrypoint(app.resolve)
