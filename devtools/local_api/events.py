"""The events HTTP API sends to Lambda for a request: payload format 2.0 for a route's function and the
REQUEST authorizer's event (format 2.0)."""

from __future__ import annotations

import base64
import secrets
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from devtools.local_api.routing import RouteMatch
from devtools.local_aws import REGION
from devtools.template import PSEUDO_PARAMETERS

ACCOUNT_ID = PSEUDO_PARAMETERS["AWS::AccountId"]
API_ID = "localapi"
STAGE = "$default"
MAX_REQUEST_BYTES = 10 * 1024 * 1024  # HTTP API's request payload quota: 10 MiB
# HTTP API hands these content types to Lambda as text; every other body (none given included) is base64.
TEXT_MEDIA_TYPES = frozenset({"application/json", "application/xml", "application/javascript"})
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True)
class IncomingRequest:
    """An HTTP request as the gateway received it."""

    method: str
    raw_path: str
    raw_query_string: str = ""
    headers: tuple[tuple[str, str], ...] = ()  # as received: original case, repeats kept
    body: bytes = b""
    source_ip: str = "127.0.0.1"
    protocol: str = "HTTP/1.1"

    def header(self, name: str) -> str | None:
        """The first value of a header, by case-insensitive name."""
        wanted = name.lower()
        return next((value for key, value in self.headers if key.lower() == wanted), None)


def event_headers(request: IncomingRequest) -> tuple[dict[str, str], list[str]]:
    """(headers, cookies) as HTTP API puts them into a 2.0 event: names lower-cased, repeats joined with
    ",", Cookie headers taken out of the headers and split into the cookies list."""
    headers: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in request.headers:
        key = name.lower()
        if key == "cookie":
            cookies.extend(part.strip() for part in value.split(";") if part.strip())
        elif key in headers:
            headers[key] = f"{headers[key]},{value}"
        else:
            headers[key] = value
    forwarded_for = headers.get("x-forwarded-for")
    headers["x-forwarded-for"] = f"{forwarded_for}, {request.source_ip}" if forwarded_for else request.source_ip
    headers.setdefault("x-forwarded-proto", "http")
    host = headers.get("host", "")
    if host.rpartition(":")[2].isdigit():
        headers.setdefault("x-forwarded-port", host.rpartition(":")[2])
    headers.setdefault("x-amzn-trace-id", f"Root=1-{int(time.time()):08x}-{secrets.token_hex(12)}")
    return headers, cookies


def query_string_parameters(raw_query_string: str) -> dict[str, str]:
    """Decoded query parameters; a repeated key's values joined with "," (payload 2.0)."""
    parameters: dict[str, str] = {}
    for key, value in parse_qsl(raw_query_string, keep_blank_values=True):
        parameters[key] = f"{parameters[key]},{value}" if key in parameters else value
    return parameters


def event_body(body: bytes, content_type: str | None) -> tuple[str | None, bool]:
    """(body, isBase64Encoded): text for text media types that are valid UTF-8, else base64."""
    if not body:
        return None, False
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    if media_type.startswith("text/") or media_type in TEXT_MEDIA_TYPES:
        try:
            return body.decode("utf-8"), False
        except UnicodeDecodeError:
            pass
    return base64.b64encode(body).decode("ascii"), True


def request_context(
    request: IncomingRequest, route_key: str, request_id: str, now: float, headers: dict[str, str]
) -> dict[str, Any]:
    """The requestContext of a 2.0 event (authorizer added later, by the gateway)."""
    domain_name = headers.get("host", "localhost").rsplit(":", 1)[0] or "localhost"
    moment = time.gmtime(now)
    return {
        "accountId": ACCOUNT_ID,
        "apiId": API_ID,
        "domainName": domain_name,
        "domainPrefix": domain_name.split(".", 1)[0],
        "http": {
            "method": request.method.upper(),
            "path": request.raw_path,
            "protocol": request.protocol,
            "sourceIp": request.source_ip,
            "userAgent": headers.get("user-agent", ""),
        },
        "requestId": request_id,
        "routeKey": route_key,
        "stage": STAGE,
        "time": (
            f"{moment.tm_mday:02d}/{_MONTHS[moment.tm_mon - 1]}/{moment.tm_year}:"
            f"{moment.tm_hour:02d}:{moment.tm_min:02d}:{moment.tm_sec:02d} +0000"
        ),
        "timeEpoch": int(now * 1000),
    }


def build_http_event(
    request: IncomingRequest, match: RouteMatch, request_id: str | None = None, now: float | None = None
) -> dict[str, Any]:
    """The payload format 2.0 event API Gateway would send to the route's function."""
    request_id = request_id or str(uuid.uuid4())
    now = time.time() if now is None else now
    headers, cookies = event_headers(request)
    body, is_base64 = event_body(request.body, headers.get("content-type"))
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": match.route.route_key,
        "rawPath": request.raw_path,
        "rawQueryString": request.raw_query_string,
    }
    if cookies:
        event["cookies"] = cookies
    event["headers"] = headers
    query = query_string_parameters(request.raw_query_string)
    if query:
        event["queryStringParameters"] = query
    event["requestContext"] = request_context(request, match.route.route_key, request_id, now, headers)
    if match.path_parameters:
        event["pathParameters"] = dict(match.path_parameters)
    if body is not None:
        event["body"] = body
    event["isBase64Encoded"] = is_base64
    return event


def route_arn(request: IncomingRequest) -> str:
    return f"arn:aws:execute-api:{REGION}:{ACCOUNT_ID}:{API_ID}/{STAGE}/{request.method.upper()}{request.raw_path}"


def build_authorizer_event(
    request: IncomingRequest, function_event: dict[str, Any], identity_source: list[str]
) -> dict[str, Any]:
    """The REQUEST authorizer event (format 2.0) for a request whose function event is `function_event`."""
    event: dict[str, Any] = {
        "version": "2.0",
        "type": "REQUEST",
        "routeArn": route_arn(request),
        "identitySource": identity_source or None,  # none configured: null
        "routeKey": function_event["routeKey"],
        "rawPath": function_event["rawPath"],
        "rawQueryString": function_event["rawQueryString"],
    }
    for key in ("cookies", "headers", "queryStringParameters"):
        if key in function_event:
            event[key] = function_event[key]
    event["requestContext"] = function_event["requestContext"]
    if "pathParameters" in function_event:
        event["pathParameters"] = function_event["pathParameters"]
    return json_copy(event)  # the authorizer gets its own copy, as it would in AWS


def json_copy(value: Any) -> Any:
    """A copy of a JSON-shaped value (dicts, lists, scalars): what copy.deepcopy gives, for an event, at a
    fraction of its cost (no memo, no reduce protocol)."""
    if isinstance(value, dict):
        return {key: json_copy(item) if isinstance(item, (dict, list)) else item for key, item in value.items()}
    if isinstance(value, list):
        return [json_copy(item) if isinstance(item, (dict, list)) else item for item in value]
    return value
