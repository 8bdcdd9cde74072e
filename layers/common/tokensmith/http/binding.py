"""Request binding: a route's ``Body()`` and ``Query()`` parameters, declared in its signature as in
Powertools' own validation, parsed and checked with our 4xx rules: size, content type, encoding,
JSON syntax, unknown and read-only fields, field values."""

from __future__ import annotations

import base64
import binascii
import inspect
import json
import sys
from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING, Annotated, Any, TypeVar, get_args, get_origin, get_type_hints

from tokensmith.errors import BadRequest, FieldError, PayloadTooLarge, UnsupportedMediaType, ValidationFailed
from tokensmith.http.params import Body, Query
from tokensmith.http.request import Routing, header
from tokensmith.settings import get_settings

if TYPE_CHECKING:  # pydantic is imported where a body or a query is bound: a route without either needs none
    from pydantic import BaseModel, ValidationError

Model = TypeVar("Model", bound="BaseModel")
ALIASES = (("description", "comment"), ("owner", "owner_email"))
MAX_BODY_EXTENSION = "x-max-body-bytes"


def bound_arguments(app: Routing, route: Any, path_arguments: dict[str, str]) -> dict[str, Any]:
    """The route's keyword arguments: its path parameters, its ``Body()`` parameter (parsed by
    :func:`parse_body`) and its ``Query()`` parameters (unknown ones refused), declared in its signature
    as in Powertools' own validation, but checked with our 4xx rules: size, content type, encoding,
    read-only fields."""
    binding = _binding_of(route.func)
    arguments: dict[str, Any] = dict(path_arguments)
    if binding.body_name:
        max_bytes = route.openapi_extensions.get(MAX_BODY_EXTENSION)
        arguments[binding.body_name] = parse_body(app, binding.body_model, binding.body_required, max_bytes)
    if binding.query_model is not None:
        arguments.update(_parse_query(app, binding.query_model))
    return arguments


class _Binding:
    def __init__(self, body_name: str | None, body_model: Any, body_required: bool, query_model: Any) -> None:
        self.body_name, self.body_model, self.body_required, self.query_model = (
            body_name,
            body_model,
            body_required,
            query_model,
        )


@lru_cache(maxsize=64)
def _binding_of(func: Callable[..., Any]) -> _Binding:
    hints = get_type_hints(func, include_extras=True)
    body_name, body_model, body_required = None, None, True
    query_fields: dict[str, Any] = {}
    for name, parameter in inspect.signature(func).parameters.items():
        hint = hints.get(name)
        if get_origin(hint) is not Annotated:
            continue
        annotation, *markers = get_args(hint)
        for marker in markers:
            kind = marker_kind(marker)
            if kind == "body":
                body_name, body_model = name, annotation
                body_required = parameter.default is inspect.Parameter.empty
            elif kind == "query":
                default = ... if parameter.default is inspect.Parameter.empty else parameter.default
                # Annotated[(a, *m)], not Annotated.__class_getitem__: Python 3.13 (Lambda's) has no such method
                constrained = Annotated[(annotation, *marker.metadata)] if marker.metadata else annotation
                query_fields[name] = (constrained, default)
    query_model = None
    if query_fields:
        from pydantic import ConfigDict, create_model

        config = ConfigDict(extra="forbid")
        query_model = create_model(f"{func.__name__}_query", __config__=config, **query_fields)
    return _Binding(body_name, body_model, body_required, query_model)


def marker_kind(marker: Any) -> str | None:
    """What ``marker`` declares, "body" (``Body()``) or "query" (``Query()``): ours
    (``tokensmith.http.params``) or Powertools' (a function that still imports those works, only
    slower to start)."""
    if isinstance(marker, Body):
        return "body"
    if isinstance(marker, Query):
        return "query"
    powertools = sys.modules.get("aws_lambda_powertools.event_handler.openapi.params")
    if powertools is not None and isinstance(marker, powertools.Body):
        return "body"
    if powertools is not None and isinstance(marker, powertools.Query):
        return "query"
    return None


def _parse_query(app: Routing, model: type[BaseModel]) -> dict[str, Any]:
    from pydantic import ValidationError

    params = dict(app.current_event.query_string_parameters or {})
    try:
        return model.model_validate(params).model_dump()
    except ValidationError as error:
        failed = validation_failed(error, unknown="unknown query parameter")
        raise ValidationFailed(failed.detail.replace("invalid request", "invalid query"), failed.errors) from None


def parse_body(app: Routing, model: type[Model], required: bool = True, max_bytes: int | None = None) -> Model:
    """The JSON body as ``model``, or a 4xx naming what is wrong: size, type, encoding, syntax,
    unknown or read-only fields, field values."""
    data = raw_body(app, max_bytes)
    if not data.strip():
        if required:
            raise ValidationFailed("a JSON body is required", [FieldError("body", "required")])
        return model()
    content_type = (header(app, "content-type") or "").split(";")[0].strip().lower()
    if content_type != "application/json" and not content_type.endswith("+json"):
        raise UnsupportedMediaType(f"send the body as application/json, not {content_type or 'no content type'!r}")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise BadRequest(f"the body is not valid UTF-8 (byte {error.start})") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise BadRequest(
            f"the body is not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}"
        ) from None
    except (ValueError, RecursionError):  # a number of thousands of digits; nesting past Python's stack
        raise BadRequest("the body is not acceptable JSON: a number too long or nesting too deep") from None
    if not isinstance(document, dict):
        raise ValidationFailed("the body must be a JSON object", [FieldError("body", "must be an object")])
    from pydantic import ValidationError

    from tokensmith.models import READ_ONLY_FIELDS

    read_only = sorted(set(document) & (READ_ONLY_FIELDS - set(model.model_fields)))
    if read_only:
        raise ValidationFailed(
            f"read-only fields cannot be written: {', '.join(read_only)}",
            [FieldError(name, "read-only") for name in read_only],
        )
    for name, alias in ALIASES:
        if name in document and alias in document:
            raise ValidationFailed(
                f"give {name} or its alias {alias}, not both", [FieldError(alias, "duplicates " + name)]
            )
    try:
        return model.model_validate(document)
    except ValidationError as error:
        raise validation_failed(error) from None


def raw_body(app: Routing, max_bytes: int | None = None) -> bytes:
    """The body's bytes as the client sent them (what a signature covers), within the size limit."""
    event = app.current_event.raw_event
    raw = event.get("body") or ""
    if event.get("isBase64Encoded") and raw:
        try:
            data = base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            raise BadRequest("the body is not valid base64") from None
    else:
        data = raw.encode("utf-8", "surrogatepass")
    limit = max_bytes or get_settings().max_body_bytes
    if len(data) > limit:
        raise PayloadTooLarge(f"the body is {len(data)} bytes; the limit is {limit}")
    return data


def validation_failed(error: ValidationError, unknown: str = "unknown field") -> ValidationFailed:
    from tokensmith.models import PATTERN_MESSAGES

    errors = []
    for item in error.errors(include_url=False, include_input=False):
        location = ".".join(str(part) for part in item["loc"]) or "body"
        message = unknown if item["type"] == "extra_forbidden" else item["msg"]
        if item["type"] == "string_pattern_mismatch":
            message = PATTERN_MESSAGES.get(item["ctx"]["pattern"], message)
        errors.append(FieldError(location, message))
    summary = "; ".join(f"{e.field}: {e.message}" for e in errors)
    return ValidationFailed(f"invalid request: {summary}", errors)
