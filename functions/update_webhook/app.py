"""PATCH /v1/webhooks/{webhook_id} — change a webhook endpoint: an omitted or null field stays."""

from typing import Annotated

import tokensmith.startup  # noqa: F401  first: the garbage collector waits while the function starts
from tokensmith.http.app import create_app, create_router, operation
from tokensmith.http.params import Body
from tokensmith.http.request import principal_of, request_meta
from tokensmith.http.responses import webhook_response
from tokensmith.observability import api_entrypoint
from tokensmith.webhooks.models import UpdateWebhookRequest
from tokensmith.webhooks.service import WebhookService, webhook_service

router = create_router()


@router.patch(
    "/v1/webhooks/<webhook_id>",
    **operation(
        200,
        "tokensmith.webhooks.models:Webhook",
        (400, 401, 403, 404, 409, 412, 413, 415, 422),
        WebhookService.update_webhook,
        """Change a webhook endpoint's `url`, `event_types`, `description` or `enabled`.

An omitted or null field stays as it is; `""` clears `description`; `enabled: true` re-enables an
endpoint, also one disabled because its receiver answered 410 Gone. Send `If-Match` with the ETag
to refuse the change if someone else changed the endpoint first. 409 when the new `url` and
`event_types` are another endpoint's of the organization.""",
    ),
)
def update_webhook(webhook_id: str, body: Annotated[UpdateWebhookRequest, Body()]):
    item = webhook_service().update_webhook(principal_of(router), webhook_id, body, request_meta(router))
    return webhook_response(item)


app = create_app(router)
handler = api_entrypoint(app.resolve)
