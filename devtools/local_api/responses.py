"""What the gateway answers: its own responses (404, 401, 403, 413, 500 ...) and a function's result mapped
to an HTTP response, as HTTP API does for payload format 2.0."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any


class LambdaResponseError(ValueError):
    """The function answered something API Gateway cannot turn into an HTTP response."""


@dataclass
class GatewayResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def message_response(status: int, message: str, request_id: str = "") -> GatewayResponse:
    headers = [("Content-Type", "application/json")]
    if request_id:
        headers.append(("apigw-requestid", request_id))
    return GatewayResponse(status, headers, json.dumps({"message": message}, separators=(",", ":")).encode())


def json_response(status: int, body: Any, request_id: str = "", allow: str = "") -> GatewayResponse:
    return content_response(status, "application/json", json.dumps(body).encode(), request_id, allow)


def content_response(
    status: int, content_type: str, body: bytes, request_id: str = "", allow: str = ""
) -> GatewayResponse:
    headers = [("Content-Type", content_type)]
    if allow:
        headers.append(("Allow", allow))
    if request_id:
        headers.append(("apigw-requestid", request_id))
    return GatewayResponse(status, headers, body)


def map_lambda_response(result: Any) -> GatewayResponse:
    """Turn a function's return value into an HTTP response, as HTTP API does for payload format 2.0."""
    try:
        json.dumps(result)  # Lambda serialises the result: one it cannot is the function's error
    except (TypeError, ValueError) as error:
        raise LambdaResponseError(f"the function's result is not JSON-serialisable: {error}") from error
    if not isinstance(result, dict) or "statusCode" not in result:
        return GatewayResponse(200, [("Content-Type", "application/json")], json.dumps(result).encode())
    try:
        status = int(result["statusCode"])
    except (TypeError, ValueError) as error:
        raise LambdaResponseError(f"statusCode {result['statusCode']!r} is not a number") from error
    if not 100 <= status <= 599:
        raise LambdaResponseError(f"statusCode {status} is not an HTTP status")
    headers: list[tuple[str, str]] = []
    for name, value in (result.get("headers") or {}).items():
        headers.append((str(name), _header_value(value)))
    for name, values in (result.get("multiValueHeaders") or {}).items():
        for value in values if isinstance(values, list) else [values]:
            headers.append((str(name), _header_value(value)))
    for cookie in result.get("cookies") or []:
        headers.append(("Set-Cookie", str(cookie)))
    body = result.get("body")
    if body is None:
        payload = b""
    elif not isinstance(body, str):
        raise LambdaResponseError(f"body must be a string, not {type(body).__name__}")
    elif result.get("isBase64Encoded"):
        try:
            payload = base64.b64decode(body, validate=True)
        except binascii.Error as error:
            raise LambdaResponseError("isBase64Encoded is true but the body is not base64") from error
    else:
        payload = body.encode("utf-8")
    return GatewayResponse(status, headers, payload)


def _header_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
