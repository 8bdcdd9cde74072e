"""POST /v1/webhooks/{webhook_id}/rotate-secret — a new signing secret, shown once."""

from tokensmith.http import create_app, create_router, operation, principal_of, request_meta, webhook_secret_response
from tokensmith.models import WebhookWithSecret
from tokensmith.observability import api_entrypoint
from tokensmith.webhook_service import webhook_service

router = create_router()


@router.post(
    "/v1/webhooks/<webhook_id>/rotate-secret",
    **operation(
        200,
        WebhookWithSecret,
        (401, 403, 404, 409, 412),
        "webhooks:write",
        """Replace the endpoint's signing secret; the answer carries the new one, the only time it is shown.

Every delivery from now on, retries included, is signed with the new secret only.""",
    ),
)
def rotate_webhook_secret(webhook_id: str):
    item, secret = webhook_service().rotate_secret(principal_of(router), webhook_id, request_meta(router))
    return webhook_secret_response(item, secret, status=200)


app = create_app(router)
handler = api_entrypoint(app.resolve)
