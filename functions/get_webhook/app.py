"""GET /v1/webhooks/{webhook_id} — one webhook endpoint."""

from tokensmith.http import create_app, create_router, operation, principal_of, webhook_response
from tokensmith.models import Webhook
from tokensmith.observability import api_entrypoint
from tokensmith.webhook_service import webhook_service

router = create_router()


@router.get(
    "/v1/webhooks/<webhook_id>",
    **operation(200, Webhook, (401, 403, 404), "webhooks:read", "One webhook endpoint (never its signing secret)."),
)
def get_webhook(webhook_id: str):
    return webhook_response(webhook_service().get_webhook(principal_of(router), webhook_id))


app = create_app(router)
handler = api_entrypoint(app.resolve)
