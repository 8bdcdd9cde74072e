"""POST /v1/webhooks — register a webhook endpoint; the answer carries its signing secret, once."""

from typing import Annotated

import tokensmith.startup  # noqa: F401  first: the garbage collector waits while the function starts
from tokensmith.http.app import create_app, create_router, operation
from tokensmith.http.params import Body
from tokensmith.http.request import principal_of, request_meta
from tokensmith.http.responses import webhook_secret_response
from tokensmith.observability import api_entrypoint
from tokensmith.webhooks.models import CreateWebhookRequest
from tokensmith.webhooks.service import WebhookService, webhook_service

router = create_router()


@router.post(
    "/v1/webhooks",
    **operation(
        201,
        "tokensmith.webhooks.models:WebhookWithSecret",
        (400, 401, 403, 409, 413, 415, 422),
        WebhookService.create_webhook,
        """Register a webhook endpoint; the answer carries its `whsec_` signing secret, the only time it is shown.

`url` must be https and resolve to public addresses only; `event_types` (default: all) picks the
events it receives. Only admins may name another `organization_id`. 409 when the organization
already has an endpoint with this `url` and these event types (the detail names it), or has
`MaxWebhookEndpoints` endpoints (the deployment's parameter, default 10; the detail names it).""",
    ),
)
def create_webhook(body: Annotated[CreateWebhookRequest, Body()]):
    item, secret = webhook_service().create_webhook(principal_of(router), body, request_meta(router))
    return webhook_secret_response(item, secret, status=201)


app = create_app(router)
handler = api_entrypoint(app.resolve)
