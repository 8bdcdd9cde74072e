"""POST /v1/tokens/verify — is this secret a valid token (with these scopes)?"""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body

from tokensmith import clock
from tokensmith.http import create_app, create_router, json_response, operation, principal_of, request_meta
from tokensmith.models import VerifyResult, VerifyTokenRequest
from tokensmith.observability import api_entrypoint
from tokensmith.service import token_service
from tokensmith.views import token_view

router = create_router()


@router.post(
    "/v1/tokens/verify",
    **operation(
        200,
        VerifyResult,
        (400, 401, 403, 413, 415, 422),
        "tokens:verify",
        """Verify a secret and, optionally, that it holds `scopes`.

Answers 200 with `code`: VALID, NOT_FOUND (malformed, unknown, or another organization's),
DISABLED, REVOKED, EXPIRED, DELETED or INSUFFICIENT_SCOPES.""",
    ),
)
def verify_token(body: Annotated[VerifyTokenRequest, Body()]):
    result = token_service().verify(principal_of(router), body.token, body.scopes, request_meta(router))
    token = token_view(result.item, clock.epoch(clock.now())) if result.item else None
    return json_response({"valid": result.valid, "code": result.code, "token": token})


app = create_app(router)
handler = api_entrypoint(app.resolve)
