"""GET /v1/tokens — the organization's tokens, newest first, a page at a time."""

from typing import Annotated, Literal

import tokensmith.startup  # noqa: F401  first: the garbage collector waits while the function starts
from tokensmith.http.app import create_app, create_router, operation
from tokensmith.http.params import Query
from tokensmith.http.request import principal_of
from tokensmith.http.responses import token_list_response
from tokensmith.observability import api_entrypoint
from tokensmith.tokens.service import TokenService, token_service

router = create_router()


@router.get(
    "/v1/tokens",
    **operation(
        200,
        "tokensmith.tokens.models:TokenPage",
        (401, 403, 404, 422),
        TokenService.list_tokens,
        """List the organization's tokens, newest first, a page at a time.

Filters by effective `status` (a token past its expiry is `expired`) and `owner`; deleted tokens
never appear. Admins may list another organization with `organization_id`.""",
    ),
)
def list_tokens(
    limit: Annotated[int, Query(ge=1, le=100, description="Page size, 1 to 100.")] = 50,
    cursor: Annotated[str | None, Query(min_length=1, max_length=2048, description="From next_cursor.")] = None,
    status: Annotated[Literal["active", "disabled", "revoked", "expired"] | None, Query()] = None,
    owner: Annotated[str | None, Query(min_length=1, max_length=320)] = None,
    organization_id: Annotated[str | None, Query(min_length=1, max_length=128, description="Admins only.")] = None,
):
    items, next_cursor = token_service().list_tokens(
        principal_of(router), limit, cursor, status=status, owner=owner, organization_id=organization_id
    )
    return token_list_response(items, next_cursor)


app = create_app(router)
handler = api_entrypoint(app.resolve)
