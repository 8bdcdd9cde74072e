"""POST /v1/tokens/revoke-leaked — revoke tokens found in the wild; no token needed, throttled."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body

from tokensmith.http.app import create_app, create_router, operation
from tokensmith.http.binding import MAX_BODY_EXTENSION
from tokensmith.http.request import request_meta
from tokensmith.http.responses import json_response
from tokensmith.observability import api_entrypoint
from tokensmith.tokens.models import RevokeLeakedRequest, RevokeLeakedResult
from tokensmith.tokens.service import TokenService, token_service

router = create_router()


@router.post(
    "/v1/tokens/revoke-leaked",
    **operation(
        202,
        RevokeLeakedResult,
        (400, 413, 415, 422),
        TokenService.revoke_leaked,
        """Report up to 1,000 secrets found in the wild (a public repository, a paste, a log).

Every real, live token among them is revoked with the reason `leaked` — including a token whose
rotated-out secret is still in its grace period. The answer is the same whichever strings were
real. No token is needed (whoever found a secret may not have one); API Gateway throttles the route.""",
        public=True,
        openapi_extensions={MAX_BODY_EXTENSION: 640 * 1024},
    ),
)
def revoke_leaked(body: Annotated[RevokeLeakedRequest, Body()]):
    token_service().revoke_leaked(body.tokens, request_meta(router))
    return json_response({"received": len(body.tokens)}, status=202)


app = create_app(router)
handler = api_entrypoint(app.resolve)
