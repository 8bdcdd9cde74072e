"""GET /v1/tokens/{token_id}/events — the token's audit trail, newest first."""

from typing import Annotated

import tokensmith.startup  # noqa: F401  first: the garbage collector waits while the function starts
from tokensmith.http.app import create_app, create_router, operation
from tokensmith.http.params import Query
from tokensmith.http.request import principal_of
from tokensmith.http.responses import event_list_response
from tokensmith.observability import api_entrypoint
from tokensmith.tokens.service import TokenService, token_service

router = create_router()


@router.get(
    "/v1/tokens/<token_id>/events",
    **operation(
        200,
        "tokensmith.tokens.models:TokenEventPage",
        (401, 403, 404, 422),
        TokenService.list_events,
        """The token's audit trail, newest first: who did what, when, from where.

A deleted token's trail stays readable for `tokens:manage` and `admin` callers; for every other
caller the token is gone (404).""",
    ),
)
def list_token_events(
    token_id: str,
    limit: Annotated[int, Query(ge=1, le=100, description="Page size, 1 to 100.")] = 50,
    cursor: Annotated[str | None, Query(min_length=1, max_length=2048, description="From next_cursor.")] = None,
):
    items, next_cursor = token_service().list_events(principal_of(router), token_id, limit, cursor)
    return event_list_response(items, next_cursor)


app = create_app(router)
handler = api_entrypoint(app.resolve)
