"""PUT /v1/tokens/{token_id} — replace every editable field."""

from typing import Annotated

import tokensmith.startup  # noqa: F401  first: the garbage collector waits while the function starts
from tokensmith.http.app import create_app, create_router, operation
from tokensmith.http.params import Body
from tokensmith.http.request import principal_of, request_meta
from tokensmith.http.responses import token_response
from tokensmith.observability import api_entrypoint
from tokensmith.tokens.models import ReplaceTokenRequest
from tokensmith.tokens.service import TokenService, token_service

router = create_router()


@router.put(
    "/v1/tokens/<token_id>",
    **operation(
        200,
        "tokensmith.tokens.models:Token",
        (400, 401, 403, 404, 409, 412, 413, 415, 422),
        TokenService.replace_token,
        """Replace every editable field: `name` and `scopes` are required, an omitted `description` or
`icon` is cleared, an omitted `expires_at` is kept.""",
    ),
)
def replace_token(token_id: str, body: Annotated[ReplaceTokenRequest, Body()]):
    token = token_service().replace_token(principal_of(router), token_id, body, request_meta(router))
    return token_response(token)


app = create_app(router)
handler = api_entrypoint(app.resolve)
