"""The route authorizer: a Lambda REQUEST authorizer (payload 2.0), called as API Gateway calls it."""

from __future__ import annotations

import traceback
from collections.abc import Callable
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from devtools.local_api.events import IncomingRequest, build_authorizer_event
from devtools.local_api.responses import GatewayResponse, LambdaResponseError, message_response
from devtools.local_api.runtime import LambdaFunction, log
from devtools.template import AuthorizerSpec


@dataclass(frozen=True)
class AuthorizerDecision:
    authorized: bool
    context: dict[str, Any]


def interpret_authorizer_response(result: Any, simple_responses: bool, arn: str) -> AuthorizerDecision:
    """Read an authorizer's answer: a simple `{isAuthorized, context}` or an IAM policy document."""
    if not isinstance(result, dict):
        raise LambdaResponseError(f"authorizer answered {type(result).__name__}, not an object")
    context = result.get("context") or {}
    if not isinstance(context, dict):
        raise LambdaResponseError("authorizer context must be an object")
    if simple_responses and "isAuthorized" in result:
        if not isinstance(result["isAuthorized"], bool):
            raise LambdaResponseError("isAuthorized must be true or false")
        return AuthorizerDecision(result["isAuthorized"], context)
    statements = (result.get("policyDocument") or {}).get("Statement")
    if not isinstance(statements, list):
        raise LambdaResponseError("authorizer answered neither isAuthorized nor a policyDocument")
    effects = set()
    for statement in statements:
        resources = statement.get("Resource", [])
        resources = resources if isinstance(resources, list) else [resources]
        if any(fnmatchcase(arn, str(resource)) for resource in resources):
            effects.add(statement.get("Effect"))
    return AuthorizerDecision("Allow" in effects and "Deny" not in effects, context)


class LambdaAuthorizer:
    """The template's authorizer (`spec`), invoked as `function` through `invoke`."""

    def __init__(
        self,
        spec: AuthorizerSpec,
        function: LambdaFunction,
        invoke: Callable[[LambdaFunction, dict[str, Any]], Any],
    ) -> None:
        self.spec = spec
        self.function = function
        self._invoke = invoke

    def identity(self, request: IncomingRequest, event: dict[str, Any]) -> list[str] | None:
        """The values of the authorizer's identity sources, or None when the request lacks one of them."""
        identity: list[str] = []
        query = event.get("queryStringParameters") or {}
        for source in self.spec.identity_sources:
            if source.startswith("$request.header."):
                value = request.header(source.removeprefix("$request.header."))
            elif source.startswith("$request.querystring."):
                value = query.get(source.removeprefix("$request.querystring."))
            else:  # $context.* and $stageVariables.*: always there locally
                continue
            if not value:
                return None
            identity.append(value)
        return identity

    def event(self, request: IncomingRequest, event: dict[str, Any]) -> dict[str, Any] | None:
        """The authorizer's event for a request whose function event is `event`; None when the request lacks
        one of the identity sources (API Gateway answers 401 without calling the authorizer)."""
        identity = self.identity(request, event)
        return None if identity is None else build_authorizer_event(request, event, identity)

    def call(self, request: IncomingRequest, event: dict[str, Any]) -> Any:
        """What the authorizer answers for this request, as it answered (exceptions propagate); for tests
        that look at the answer itself. A request lacking an identity source is a LookupError."""
        authorizer_event = self.event(request, event)
        if authorizer_event is None:
            raise LookupError("the request lacks an identity source of the authorizer")
        return self._invoke(self.function, authorizer_event)

    def authorize(self, request: IncomingRequest, event: dict[str, Any]) -> GatewayResponse | None:
        """None when the request may go on (with requestContext.authorizer set), else the refusal.

        As API Gateway does: a request lacking any of the authorizer's identity sources (a header, a query
        parameter) is answered 401 without calling the authorizer; an authorizer without identity sources
        is called for every request."""
        request_id = event["requestContext"]["requestId"]
        authorizer_event = self.event(request, event)
        if authorizer_event is None:
            return message_response(401, "Unauthorized", request_id)
        try:
            result = self._invoke(self.function, authorizer_event)
            decision = interpret_authorizer_response(result, self.spec.simple_responses, authorizer_event["routeArn"])
        except Exception:  # noqa: BLE001
            log(f"ERROR authorizer {self.spec.function_id} failed:\n{traceback.format_exc()}")
            return message_response(500, "Internal Server Error", request_id)
        if not decision.authorized:
            return message_response(403, "Forbidden", request_id)
        event["requestContext"]["authorizer"] = {"lambda": decision.context}
        return None
