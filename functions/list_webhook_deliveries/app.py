"""GET /v1/webhooks/{webhook_id}/deliveries — the endpoint's delivery log, newest first."""

from typing import Annotated

import tokensmith.startup  # noqa: F401  first: the garbage collector waits while the function starts
from tokensmith.http.app import create_app, create_router, operation
from tokensmith.http.params import Query
from tokensmith.http.request import principal_of
from tokensmith.http.responses import delivery_list_response
from tokensmith.observability import api_entrypoint
from tokensmith.webhooks.service import WebhookService, webhook_service

router = create_router()


@router.get(
    "/v1/webhooks/<webhook_id>/deliveries",
    **operation(
        200,
        "tokensmith.webhooks.models:WebhookDeliveryPage",
        (401, 403, 404, 422),
        WebhookService.list_deliveries,
        """The endpoint's delivery log, newest first: one entry per attempt.

Each entry has the attempt number, the receiver's status code, the latency, the outcome and when the
next retry is due.""",
    ),
)
def list_webhook_deliveries(
    webhook_id: str,
    limit: Annotated[int, Query(ge=1, le=100, description="Page size, 1 to 100.")] = 50,
    cursor: Annotated[str | None, Query(min_length=1, max_length=2048, description="From next_cursor.")] = None,
):
    items, next_cursor = webhook_service().list_deliveries(principal_of(router), webhook_id, limit, cursor)
    return delivery_list_response(items, next_cursor)


app = create_app(router)
handler = api_entrypoint(app.resolve)
