"""POST /v1/webhooks/{webhook_id}/rotate-secret — a new signing secret, shown once."""

from typing import Annotated

import tokensmith.startup  # noqa: F401  first: the garbage collector waits while the function starts
from tokensmith.http.app import create_app, create_router, operation
from tokensmith.http.params import Body
from tokensmith.http.request import principal_of, request_meta
from tokensmith.http.responses import webhook_secret_response
from tokensmith.observability import api_entrypoint
from tokensmith.webhooks.models import RotateWebhookSecretRequest
from tokensmith.webhooks.service import WebhookService, webhook_service

router = create_router()


@router.post(
    "/v1/webhooks/<webhook_id>/rotate-secret",
    **operation(
        200,
        "tokensmith.webhooks.models:WebhookWithSecret",
        (400, 401, 403, 404, 409, 412, 413, 415, 422),
        WebhookService.rotate_secret,
        """Replace the endpoint's signing secret; the answer carries the new one, the only time it is shown.

Every delivery from now on, retries included, is signed with the new secret; for
`grace_period_seconds` (default 86400, at most 7 days, 0 = none) it also carries a signature made
with the old one (`webhook-signature` lists both), so receivers can switch without losing any.""",
    ),
)
def rotate_webhook_secret(webhook_id: str, body: Annotated[RotateWebhookSecretRequest, Body()] = None):
    grace = (body or RotateWebhookSecretRequest()).grace_period_seconds
    item, secret = webhook_service().rotate_secret(principal_of(router), webhook_id, grace, request_meta(router))
    return webhook_secret_response(item, secret, status=200)


app = create_app(router)
handler = api_entrypoint(app.resolve)
