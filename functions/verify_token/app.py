"""POST /v1/tokens/verify — is this secret a valid token (with these scopes)?

The hot path of every API of our users' customers that calls us instead of using the authorizer, so
an ordinary request (a JSON body of ``token`` and ``scopes`` that the model would accept, a caller
allowed to verify, scopes of the catalog) is answered by plain code: the same service call and the
same answer as the route below, without the resolver's routing, middleware and pydantic validation
(they cost several times the verification itself: docs/performance.md). Anything else goes to the
resolver, which checks and answers it like every other route.
"""

import re
from typing import Annotated, Any

import tokensmith.startup  # noqa: F401  first: the garbage collector waits while the function starts
from tokensmith import clock
from tokensmith.auth import Principal, grants
from tokensmith.errors import TokensmithError
from tokensmith.http.app import create_app, create_router, operation
from tokensmith.http.params import Body
from tokensmith.http.request import principal_from_event, principal_of, request_meta, request_meta_from_event
from tokensmith.http.responses import json_response
from tokensmith.http.verify_fast_path import error_answer, json_answer, plain_json_object
from tokensmith.observability import api_entrypoint
from tokensmith.settings import get_settings
from tokensmith.tokens.models import VerifyTokenRequest
from tokensmith.tokens.policies import MAX_COST
from tokensmith.tokens.service import TokenService, token_service
from tokensmith.tokens.views import token_view

router = create_router()


@router.post(
    "/v1/tokens/verify",
    **operation(
        200,
        "tokensmith.tokens.models:VerifyResult",
        (400, 401, 403, 413, 415, 422),
        TokenService.verify,
        """Verify a secret and, optionally, that it holds `scopes`.

Answers 200 with `code`: VALID, NOT_FOUND (malformed, unknown, or another organization's),
DISABLED, REVOKED, EXPIRED, DELETED, INSUFFICIENT_SCOPES, or, from the token's usage policies,
IP_NOT_ALLOWED (`ip`, the address of the client that presented the token, is outside its or its
organization's `allowed_cidrs`; no `ip` counts as outside), RATE_LIMITED or USAGE_EXCEEDED. A valid
verification spends `cost` (default 1) of every rate limit and of the credits; a refused one spends
nothing. `ratelimits` and `credits` describe this verification's counting; `meta` is the token's.
With `ip`, the client's network is recorded in the token's `networks`: one the token was not used
from is a `token.new_location` event (with `user_agent`), and where the organization's policy says
`on_new_location: disable`, the token is disabled by it and the answer is DISABLED.
`token` is the token the secret opened, except a deleted one (DELETED says only that); null for
NOT_FOUND.""",
    ),
)
def verify_token(body: Annotated[VerifyTokenRequest, Body()]):
    body_answer = verification_body(
        body.token, body.scopes, principal_of(router), request_meta(router), body.ip, body.cost, body.user_agent
    )
    return json_response(body_answer)


def verification_body(secret, scopes, principal, meta, ip=None, cost=1, user_agent=None) -> dict[str, Any]:
    result = token_service().verify(principal, secret, scopes, meta, ip, cost, user_agent)
    token = token_view(result.item, clock.epoch(clock.now())) if result.item else None
    usage = result.usage
    return {
        "valid": result.valid,
        "code": result.code,
        "token": token,
        "ratelimits": [window.as_answer() for window in usage.ratelimits] if usage else [],
        "credits": usage.credits_answer() if usage else None,
        "meta": token["meta"] if token else None,
    }


_SCOPE = re.compile(r"[A-Za-z0-9:._-]{1,64}")  # models.Scope
_FIELDS = frozenset(VerifyTokenRequest.model_fields)


def plain_request(
    event: dict[str, Any],
) -> tuple[str, list[str], Principal, str | None, int, str | None] | None:
    """The secret, scopes and caller of an ordinary request (no I/O), or None for anything else."""
    http = (event.get("requestContext") or {}).get("http") or {}
    if event.get("rawPath") != "/v1/tokens/verify" or http.get("method") != "POST":
        return None
    body = plain_json_object(event)
    if body is None or not body.keys() <= _FIELDS:
        return None
    secret, scopes = body.get("token"), body.get("scopes", [])
    if not isinstance(secret, str) or not 1 <= len(secret) <= 512:
        return None
    ip, cost = body.get("ip"), body.get("cost", 1)
    if not (ip is None or (isinstance(ip, str) and 2 <= len(ip) <= 45)):
        return None
    if type(cost) is not int or not 0 <= cost <= MAX_COST:
        return None
    user_agent = body.get("user_agent")
    if not (user_agent is None or (isinstance(user_agent, str) and 1 <= len(user_agent) <= 512)):
        return None
    if not isinstance(scopes, list) or len(scopes) > 64:
        return None
    if not all(isinstance(scope, str) and _SCOPE.fullmatch(scope) for scope in scopes) or len(set(scopes)) != len(
        scopes
    ):
        return None
    try:
        principal = principal_from_event(event)
    except TokensmithError:  # no caller, or a caller over its own limit (the resolver's 429)
        return None
    if not grants(principal.scopes, "tokens:verify") or not set(scopes) <= get_settings().scope_catalog:
        return None
    return secret, scopes, principal, ip, cost, user_agent


app = create_app(router)
resolve = api_entrypoint(app.resolve)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The plain path, else the resolver. The plain path logs nothing and emits no metric when it
    succeeds, so it skips the entry point's logger and metrics wrapping (a third of its cost); its
    errors are answered inside that wrapping, so their log lines carry the correlation id."""
    request = plain_request(event)
    if request is None:
        return resolve(event, context)
    secret, scopes, principal, ip, cost, user_agent = request
    try:
        meta = request_meta_from_event(event)
        return json_answer(verification_body(secret, scopes, principal, meta, ip, cost, user_agent))
    except Exception as error:  # DynamoDB busy or down: the resolver's 503 (or 500), not a second read
        return answer_error(error, event, context)


def answer_error(error: Exception, event: dict[str, Any], context: Any) -> dict[str, Any]:
    @api_entrypoint
    def answer(event: dict[str, Any], _: Any) -> dict[str, Any]:
        return error_answer(error, event)

    return answer(event, context)
