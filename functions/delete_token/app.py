"""DELETE /v1/tokens/{token_id} — soft delete: unusable at once, gone from lists, purged later."""

import tokensmith.startup  # noqa: F401  first: the garbage collector waits while the function starts
from tokensmith.http.app import create_app, create_router, operation
from tokensmith.http.request import principal_of, request_meta
from tokensmith.http.router import Response
from tokensmith.observability import api_entrypoint
from tokensmith.tokens.service import TokenService, token_service

router = create_router()


@router.delete(
    "/v1/tokens/<token_id>",
    **operation(
        204,
        None,
        (401, 403, 404, 412),
        TokenService.delete_token,
        """Soft-delete a token: unusable at once, gone from lists and reads, purged after RetentionDays.

Deleting it again is 404; any other change of it is 409 (deleted is final). Its audit trail stays
readable for `tokens:manage` and `admin` callers.""",
    ),
)
def delete_token(token_id: str):
    token_service().delete_token(principal_of(router), token_id, request_meta(router))
    return Response(status_code=204, headers={"Cache-Control": "no-store"})


app = create_app(router)
handler = api_entrypoint(app.resolve)
