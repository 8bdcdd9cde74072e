"""DELETE /v1/webhooks/{webhook_id} — remove a webhook endpoint; pending retries are dropped."""

import tokensmith.startup  # noqa: F401  first: the garbage collector waits while the function starts
from tokensmith.http.app import create_app, create_router, operation
from tokensmith.http.request import principal_of, request_meta
from tokensmith.http.router import Response
from tokensmith.observability import api_entrypoint
from tokensmith.webhooks.service import WebhookService, webhook_service

router = create_router()


@router.delete(
    "/v1/webhooks/<webhook_id>",
    **operation(
        204,
        None,
        (401, 403, 404, 409, 412),
        WebhookService.delete_webhook,
        "Remove a webhook endpoint: no delivery from now on, pending retries are dropped.",
    ),
)
def delete_webhook(webhook_id: str):
    webhook_service().delete_webhook(principal_of(router), webhook_id, request_meta(router))
    return Response(status_code=204, headers={"Cache-Control": "no-store"})


app = create_app(router)
handler = api_entrypoint(app.resolve)
