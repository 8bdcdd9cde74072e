"""GET /v1/tokens/{token_id}/usage — where the token's rate limits and credits stand now."""

import tokensmith.startup  # noqa: F401  first: the garbage collector waits while the function starts
from tokensmith.http.app import create_app, create_router, operation
from tokensmith.http.request import principal_of
from tokensmith.http.responses import json_response
from tokensmith.observability import api_entrypoint
from tokensmith.tokens.service import TokenService, token_service

router = create_router()


@router.get(
    "/v1/tokens/<token_id>/usage",
    **operation(
        200,
        "tokensmith.tokens.models:TokenUsage",
        (401, 403, 404),
        TokenService.get_usage,
        """Where the token's rate limits and credits stand now, spending nothing.

The current window of each rate limit (what is left of it, when it ends) and the credits left (and
when they next refill), in the shapes of the verify answer.

Read with one `BatchGetItem` of the token's counters; nothing is spent. Readable by whoever may read
the token (`GET /v1/tokens/{token_id}`).""",
    ),
)
def get_token_usage(token_id: str):
    return json_response(token_service().get_usage(principal_of(router), token_id))


app = create_app(router)
handler = api_entrypoint(app.resolve)
