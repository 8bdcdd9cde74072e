"""GET /v1/webhooks/{webhook_id} — one webhook endpoint."""

import tokensmith.startup  # noqa: F401  first: the garbage collector waits while the function starts
from tokensmith.http.app import create_app, create_router, operation
from tokensmith.http.request import principal_of
from tokensmith.http.responses import webhook_response
from tokensmith.observability import api_entrypoint
from tokensmith.webhooks.service import WebhookService, webhook_service

router = create_router()


@router.get(
    "/v1/webhooks/<webhook_id>",
    **operation(
        200,
        "tokensmith.webhooks.models:Webhook",
        (401, 403, 404),
        WebhookService.get_webhook,
        "One webhook endpoint (never its signing secret).",
    ),
)
def get_webhook(webhook_id: str):
    return webhook_response(webhook_service().get_webhook(principal_of(router), webhook_id))


app = create_app(router)
handler = api_entrypoint(app.resolve)
