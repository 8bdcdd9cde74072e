"""POST /v1/tokens/{token_id}/rotate — a new secret, once; the old one works for the grace period."""

from typing import Annotated

import tokensmith.startup  # noqa: F401  first: the garbage collector waits while the function starts
from tokensmith.http.app import create_app, create_router, operation
from tokensmith.http.params import Body
from tokensmith.http.request import principal_of, request_meta
from tokensmith.http.responses import secret_response
from tokensmith.observability import api_entrypoint
from tokensmith.tokens.models import RotateTokenRequest
from tokensmith.tokens.service import TokenService, token_service

router = create_router()


@router.post(
    "/v1/tokens/<token_id>/rotate",
    **operation(
        200,
        "tokensmith.tokens.models:TokenWithSecret",
        (400, 401, 403, 404, 409, 412, 413, 415, 422),
        TokenService.rotate_token,
        """Issue a new secret, shown this once; the old one keeps working for `grace_period_seconds`.

With `retire_on_first_use`, the old secret stops working at the new one's first successful
verification (authorizer or `POST /v1/tokens/verify`) if that comes before the grace period ends,
exactly once, with a `token.rotation_completed` event; `retire_on_first_use` with no grace period
is a 422.

The caller must hold every scope of the token (a rotation hands out a working secret).""",
    ),
)
def rotate_token(token_id: str, body: Annotated[RotateTokenRequest, Body()] = None):
    grace = body.grace_period_seconds if body else 0
    retire = body.retire_on_first_use if body else False
    item, secret = token_service().rotate_token(principal_of(router), token_id, grace, request_meta(router), retire)
    return secret_response(item, secret, status=200)


app = create_app(router)
handler = api_entrypoint(app.resolve)
