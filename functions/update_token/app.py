"""PATCH /v1/tokens/{token_id} — partial update: an omitted or null field stays as it is."""

from typing import Annotated

import tokensmith.startup  # noqa: F401  first: the garbage collector waits while the function starts
from tokensmith.http.app import create_app, create_router, operation
from tokensmith.http.params import Body
from tokensmith.http.request import principal_of, request_meta
from tokensmith.http.responses import token_response
from tokensmith.observability import api_entrypoint
from tokensmith.tokens.models import UpdateTokenRequest
from tokensmith.tokens.service import TokenService, token_service

router = create_router()


@router.patch(
    "/v1/tokens/<token_id>",
    **operation(
        200,
        "tokensmith.tokens.models:Token",
        (400, 401, 403, 404, 409, 412, 413, 415, 422),
        TokenService.update_token,
        """Partial update: an omitted or null field stays as it is; a list replaces the list.

`comment` is an alias of `description`; `""` clears `description` or `icon`. Send `If-Match` with
the ETag to refuse the change if someone else changed the token first.""",
    ),
)
def update_token(token_id: str, body: Annotated[UpdateTokenRequest, Body()]):
    token = token_service().update_token(principal_of(router), token_id, body, request_meta(router))
    return token_response(token)


app = create_app(router)
handler = api_entrypoint(app.resolve)
