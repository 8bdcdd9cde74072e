"""GET /v1/webhooks — the organization's webhook endpoints, newest first, a page at a time."""

from typing import Annotated

import tokensmith.startup  # noqa: F401  first: the garbage collector waits while the function starts
from tokensmith.http.app import create_app, create_router, operation
from tokensmith.http.params import Query
from tokensmith.http.request import principal_of
from tokensmith.http.responses import webhook_list_response
from tokensmith.observability import api_entrypoint
from tokensmith.webhooks.service import WebhookService, webhook_service

router = create_router()


@router.get(
    "/v1/webhooks",
    **operation(
        200,
        "tokensmith.webhooks.models:WebhookPage",
        (401, 403, 404, 422),
        WebhookService.list_webhooks,
        """List the organization's webhook endpoints, newest first, a page at a time.

Admins may list another organization with `organization_id`.""",
    ),
)
def list_webhooks(
    limit: Annotated[int, Query(ge=1, le=100, description="Page size, 1 to 100.")] = 50,
    cursor: Annotated[str | None, Query(min_length=1, max_length=2048, description="From next_cursor.")] = None,
    organization_id: Annotated[str | None, Query(min_length=1, max_length=128, description="Admins only.")] = None,
):
    items, next_cursor = webhook_service().list_webhooks(principal_of(router), limit, cursor, organization_id)
    return webhook_list_response(items, next_cursor)


app = create_app(router)
handler = api_entrypoint(app.resolve)
