"""PATCH /v1/admin/tokens/{token_id} — the platform admin's override: status, expiry, owner, revocation."""

from typing import Annotated

import tokensmith.startup  # noqa: F401  first: the garbage collector waits while the function starts
from tokensmith.http.app import create_app, create_router, operation
from tokensmith.http.params import Body
from tokensmith.http.request import principal_of, request_meta
from tokensmith.http.responses import token_response
from tokensmith.observability import api_entrypoint
from tokensmith.tokens.admin import AdminTokenService, admin_token_service
from tokensmith.tokens.models import AdminUpdateTokenRequest

router = create_router()


@router.patch(
    "/v1/admin/tokens/<token_id>",
    **operation(
        200,
        "tokensmith.tokens.models:Token",
        (400, 401, 403, 404, 409, 412, 413, 415, 422),
        AdminTokenService.admin_update_token,
        """Admin override of any organization's token: `status`, `expires_at`, `revoked`,
`revoked_reason`, `owner` (alias `owner_email`).

Only an admin brings an expired token back, and only with a future `expires_at`; revoked and
deleted tokens are final.""",
    ),
)
def admin_update_token(token_id: str, body: Annotated[AdminUpdateTokenRequest, Body()]):
    token = admin_token_service().admin_update_token(principal_of(router), token_id, body, request_meta(router))
    return token_response(token)


app = create_app(router)
handler = api_entrypoint(app.resolve)
