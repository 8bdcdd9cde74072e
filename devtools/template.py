"""Read what the local tools need out of the SAM template: routes, the authorizer, the table, the environment.

`template.yaml` is the only list of routes and the only table schema; nothing here keeps a second copy.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_TEMPLATE = PROJECT_ROOT / "template.yaml"

SERVERLESS_FUNCTION = "AWS::Serverless::Function"
SERVERLESS_HTTP_API = "AWS::Serverless::HttpApi"
DYNAMODB_TABLE = "AWS::DynamoDB::Table"

# Values CloudFormation would give the pseudo parameters; local runs pretend to be this account.
PSEUDO_PARAMETERS: dict[str, str] = {
    "AWS::AccountId": "123456789012",
    "AWS::Region": "us-east-1",
    "AWS::Partition": "aws",
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::StackName": "tokensmith-local",
    "AWS::StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/tokensmith-local/local",
    "AWS::NoValue": "",
}


class TemplateError(ValueError):
    """The template lacks something the local tools need, or uses something they cannot resolve."""


# --- loading -------------------------------------------------------------------------------------


class _CloudFormationLoader(yaml.SafeLoader):
    """A SafeLoader that turns `!Ref x` into `{"Ref": "x"}`, `!Sub s` into `{"Fn::Sub": s}` and so on."""


def _construct_short_tag(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    elif isinstance(node, yaml.MappingNode):
        value = loader.construct_mapping(node, deep=True)
    else:
        raise yaml.constructor.ConstructorError(None, None, f"!{tag_suffix} of an unknown node", node.start_mark)
    if tag_suffix in ("Ref", "Condition"):
        return {tag_suffix: value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        # `!GetAtt A.B.C` means resource A, attribute "B.C".
        resource, _, attribute = value.partition(".")
        value = [resource, attribute]
    return {f"Fn::{tag_suffix}": value}


_CloudFormationLoader.add_multi_constructor("!", _construct_short_tag)


def load_template(path: str | Path = DEFAULT_TEMPLATE) -> dict[str, Any]:
    """Parse a CloudFormation/SAM YAML template, turning short-form intrinsics into their long form."""
    with open(path, encoding="utf-8") as stream:
        template = yaml.load(stream, Loader=_CloudFormationLoader)  # a SafeLoader subclass
    if not isinstance(template, dict):
        raise TemplateError(f"{path} is not a template (top level is {type(template).__name__})")
    return template


# --- small accessors -----------------------------------------------------------------------------


def resources_of_type(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    """Logical id → resource, for every resource of one type, in template order."""
    return {
        logical_id: resource
        for logical_id, resource in (template.get("Resources") or {}).items()
        if isinstance(resource, dict) and resource.get("Type") == resource_type
    }


def _resource(template: dict[str, Any], logical_id: str, resource_type: str) -> dict[str, Any]:
    resource = (template.get("Resources") or {}).get(logical_id)
    if not isinstance(resource, dict) or resource.get("Type") != resource_type:
        raise TemplateError(f"the template has no {resource_type} named {logical_id}")
    return resource


def function_properties(template: dict[str, Any], function_id: str) -> dict[str, Any]:
    """A function's Properties with Globals.Function filled in (Environment variables merged)."""
    resource = _resource(template, function_id, SERVERLESS_FUNCTION)
    defaults = dict((template.get("Globals") or {}).get("Function") or {})
    own = resource.get("Properties") or {}
    merged = {**defaults, **own}
    default_vars = (defaults.get("Environment") or {}).get("Variables") or {}
    own_vars = (own.get("Environment") or {}).get("Variables") or {}
    if default_vars or own_vars:
        merged["Environment"] = {"Variables": {**default_vars, **own_vars}}
    return merged


def _ref_target(value: Any) -> str | None:
    """The logical id named by `!Ref X` or `!GetAtt X.Attr`, else None."""
    if isinstance(value, dict) and len(value) == 1:
        if "Ref" in value and isinstance(value["Ref"], str):
            return value["Ref"]
        if "Fn::GetAtt" in value and isinstance(value["Fn::GetAtt"], list) and value["Fn::GetAtt"]:
            return str(value["Fn::GetAtt"][0])
    return None


# --- HTTP API routes and the authorizer --------------------------------------------------------------


@dataclass(frozen=True)
class HttpRoute:
    """One `Type: HttpApi` event of one function."""

    method: str  # upper case; "ANY" matches every method
    path: str  # as in the template, e.g. /v1/tokens/{id}, or "$default"
    function_id: str
    code_uri: str
    handler: str
    authorized: bool

    @property
    def route_key(self) -> str:
        """The routeKey API Gateway puts into the event: "GET /v1/tokens/{id}" or "$default"."""
        return "$default" if self.path == "$default" else f"{self.method} {self.path}"


@dataclass(frozen=True)
class AuthorizerSpec:
    """A Lambda authorizer of an HTTP API, as far as the local gateway needs it."""

    name: str
    function_id: str
    code_uri: str
    handler: str
    identity_sources: tuple[str, ...]  # "$request.header.Authorization", ...; empty: none (caching off)
    payload_format_version: str
    simple_responses: bool


# How SAM turns an HttpApi Lambda authorizer's `Identity` into identity source expressions
# (samtranslator's ApiGatewayV2Authorizer._get_identity_source).
_IDENTITY_PREFIXES = (
    ("Headers", "$request.header."),
    ("QueryStrings", "$request.querystring."),
    ("StageVariables", "$stageVariables."),
    ("Context", "$context."),
)


def identity_sources(config: dict[str, Any]) -> tuple[str, ...]:
    """The identity sources SAM gives the authorizer: without `Identity`, SAM writes none and the
    authorizer keeps API Gateway's default for a REQUEST authorizer, `$request.header.Authorization`;
    with `Identity`, exactly what it lists (none at all when it lists only `ReauthorizeEvery`: API
    Gateway then calls the authorizer for every request, which it allows only with caching off)."""
    identity = config.get("Identity")
    if identity is None:
        return ("$request.header.Authorization",)
    sources: list[str] = []
    for key, prefix in _IDENTITY_PREFIXES:
        sources += [prefix + str(value) for value in identity.get(key) or []]
    return tuple(sources)


def _http_api_auth(template: dict[str, Any], api_id: str | None) -> dict[str, Any]:
    """The Auth block of the HttpApi a route belongs to (the implicit API's lives in Globals.HttpApi)."""
    if api_id is not None:
        api = _resource(template, api_id, SERVERLESS_HTTP_API)
        return (api.get("Properties") or {}).get("Auth") or {}
    return ((template.get("Globals") or {}).get("HttpApi") or {}).get("Auth") or {}


def http_routes(template: dict[str, Any]) -> list[HttpRoute]:
    """Every HttpApi event of every AWS::Serverless::Function, in template order."""
    routes: list[HttpRoute] = []
    for function_id in resources_of_type(template, SERVERLESS_FUNCTION):
        properties = function_properties(template, function_id)
        for event in (properties.get("Events") or {}).values():
            if not isinstance(event, dict) or event.get("Type") != "HttpApi":
                continue
            event_properties = event.get("Properties") or {}
            method = str(event_properties.get("Method", "ANY")).upper()
            path = str(event_properties.get("Path", "$default"))
            if method == "X-AMAZON-APIGATEWAY-ANY-METHOD":
                method = "ANY"
            route_authorizer = (event_properties.get("Auth") or {}).get("Authorizer")
            if route_authorizer == "NONE":
                authorized = False
            elif route_authorizer:
                authorized = True
            else:
                api_auth = _http_api_auth(template, _ref_target(event_properties.get("ApiId")))
                authorized = bool(api_auth.get("DefaultAuthorizer"))
            routes.append(
                HttpRoute(
                    method=method,
                    path=path,
                    function_id=function_id,
                    code_uri=_require_str(properties, "CodeUri", function_id),
                    handler=_require_str(properties, "Handler", function_id),
                    authorized=authorized,
                )
            )
    return routes


@dataclass(frozen=True)
class RouteThrottle:
    """A route's throttling, as API Gateway applies it: a token bucket of `burst` requests refilled at
    `rate` requests per second."""

    rate: float
    burst: int


def route_throttles(
    template: dict[str, Any], parameter_overrides: dict[str, str] | None = None
) -> dict[str, RouteThrottle]:
    """Each HttpApi route's throttling, by route key: the event's RouteSettings, field by field over its
    API's DefaultRouteSettings (the implicit API's in Globals.HttpApi). A route with neither limit set
    is not throttled here (only by the account's quota in AWS)."""
    resolver = _Resolver(template, parameter_overrides or {}, {})
    throttles: dict[str, RouteThrottle] = {}
    for function_id in resources_of_type(template, SERVERLESS_FUNCTION):
        for event_id, event in (function_properties(template, function_id).get("Events") or {}).items():
            if not isinstance(event, dict) or event.get("Type") != "HttpApi":
                continue
            event_properties = event.get("Properties") or {}
            api_id = _ref_target(event_properties.get("ApiId"))
            if api_id is not None:
                api = (_resource(template, api_id, SERVERLESS_HTTP_API).get("Properties")) or {}
            else:
                api = (template.get("Globals") or {}).get("HttpApi") or {}
            settings = {**(api.get("DefaultRouteSettings") or {}), **(event_properties.get("RouteSettings") or {})}
            rate, burst = settings.get("ThrottlingRateLimit"), settings.get("ThrottlingBurstLimit")
            if rate is None and burst is None:
                continue
            where = f"{function_id}.Events.{event_id}.RouteSettings"
            method = str(event_properties.get("Method", "ANY")).upper()
            method = "ANY" if method == "X-AMAZON-APIGATEWAY-ANY-METHOD" else method
            path = str(event_properties.get("Path", "$default"))
            route_key = "$default" if path == "$default" else f"{method} {path}"
            throttles[route_key] = RouteThrottle(
                rate=float(resolver.resolve(rate, where)) if rate is not None else float("inf"),
                burst=int(float(resolver.resolve(burst, where))) if burst is not None else 2**31,
            )
    return throttles


def _require_str(properties: dict[str, Any], key: str, function_id: str) -> str:
    value = properties.get(key)
    if not isinstance(value, str) or not value:
        raise TemplateError(f"{function_id} has no plain-string {key} (nor one in Globals.Function)")
    return value


def default_authorizer(template: dict[str, Any]) -> AuthorizerSpec:
    """The DefaultAuthorizer of the template's HTTP API (the first one that declares one)."""
    candidates = [
        ((resource.get("Properties") or {}).get("Auth") or {})
        for resource in resources_of_type(template, SERVERLESS_HTTP_API).values()
    ]
    candidates.append(((template.get("Globals") or {}).get("HttpApi") or {}).get("Auth") or {})
    for auth in candidates:
        name = auth.get("DefaultAuthorizer")
        if not name:
            continue
        config = (auth.get("Authorizers") or {}).get(name)
        if not isinstance(config, dict):
            raise TemplateError(f"DefaultAuthorizer {name} is not among the API's Authorizers")
        function_id = _ref_target(config.get("FunctionArn"))
        if function_id is None:
            raise TemplateError(f"authorizer {name}: FunctionArn must be !GetAtt <Function>.Arn")
        properties = function_properties(template, function_id)
        return AuthorizerSpec(
            name=name,
            function_id=function_id,
            code_uri=_require_str(properties, "CodeUri", function_id),
            handler=_require_str(properties, "Handler", function_id),
            identity_sources=identity_sources(config),
            payload_format_version=str(config.get("AuthorizerPayloadFormatVersion", "2.0")),
            simple_responses=bool(config.get("EnableSimpleResponses", False)),
        )
    raise TemplateError("no HTTP API in the template has a DefaultAuthorizer")


def authorizer_function(template: dict[str, Any]) -> tuple[str, str]:
    """(CodeUri, Handler) of the HTTP API's default Lambda authorizer."""
    spec = default_authorizer(template)
    return spec.code_uri, spec.handler


# --- the table -----------------------------------------------------------------------------------------


def _table_properties(template: dict[str, Any], logical_id: str) -> dict[str, Any]:
    return _resource(template, logical_id, DYNAMODB_TABLE).get("Properties") or {}


def table_create_kwargs(template: dict[str, Any], table_name: str, logical_id: str = "TokensTable") -> dict[str, Any]:
    """boto3 `create_table` arguments for the table resource `logical_id`, under another name."""
    properties = _table_properties(template, logical_id)
    billing_mode = properties.get("BillingMode", "PROVISIONED")
    kwargs: dict[str, Any] = {
        "TableName": table_name,
        "AttributeDefinitions": properties["AttributeDefinitions"],
        "KeySchema": properties["KeySchema"],
        "BillingMode": billing_mode,
    }
    if billing_mode == "PROVISIONED":
        kwargs["ProvisionedThroughput"] = _throughput(properties.get("ProvisionedThroughput"))
    for key in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
        indexes = properties.get(key)
        if not indexes:
            continue
        kwargs[key] = []
        for index in indexes:
            index_kwargs = {
                "IndexName": index["IndexName"],
                "KeySchema": index["KeySchema"],
                "Projection": index.get("Projection", {"ProjectionType": "ALL"}),
            }
            if key == "GlobalSecondaryIndexes" and billing_mode == "PROVISIONED":
                index_kwargs["ProvisionedThroughput"] = _throughput(index.get("ProvisionedThroughput"))
            kwargs[key].append(index_kwargs)
    stream = properties.get("StreamSpecification")
    if stream and stream.get("StreamViewType"):
        kwargs["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": stream["StreamViewType"]}
    return kwargs


def _throughput(value: dict[str, Any] | None) -> dict[str, int]:
    value = value or {}
    return {
        "ReadCapacityUnits": int(value.get("ReadCapacityUnits", 5)),
        "WriteCapacityUnits": int(value.get("WriteCapacityUnits", 5)),
    }


def create_table(
    client: Any,
    template: dict[str, Any],
    table_name: str,
    logical_id: str = "TokensTable",
    timeout_seconds: float = 30.0,
) -> dict[str, Any]:
    """Create the template's table under `table_name`, wait until it and its indexes are ACTIVE, enable TTL.

    Returns the final `describe_table()["Table"]`.
    """
    client.create_table(**table_create_kwargs(template, table_name, logical_id))
    deadline = time.monotonic() + timeout_seconds
    while True:
        table: dict[str, Any] = client.describe_table(TableName=table_name)["Table"]
        statuses = [table["TableStatus"]] + [
            index.get("IndexStatus", "ACTIVE") for index in table.get("GlobalSecondaryIndexes", [])
        ]
        if all(status == "ACTIVE" for status in statuses):
            break
        if time.monotonic() > deadline:
            raise TimeoutError(f"table {table_name} not ACTIVE after {timeout_seconds}s: {statuses}")
        time.sleep(0.1)
    ttl = _table_properties(template, logical_id).get("TimeToLiveSpecification")
    if ttl and ttl.get("Enabled") and ttl.get("AttributeName"):
        client.update_time_to_live(
            TableName=table_name,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl["AttributeName"]},
        )
    return table


# --- the functions' environment ------------------------------------------------------------------------

_SUB_VARIABLE = re.compile(r"\$\{([^}!][^}]*)\}")


def function_environment(
    template: dict[str, Any],
    parameter_overrides: dict[str, str] | None = None,
    refs: dict[str, str] | None = None,
    function_id: str | None = None,
) -> dict[str, str]:
    """Environment variables of Globals.Function (plus `function_id`'s own), with intrinsics resolved.

    `!Ref Param` gives the override or the parameter's Default; `!Ref Resource` (or `${Resource.Attr}` in a
    `!Sub`) must be in `refs`, e.g. {"TokensTable": "tokensmith-local"}.
    """
    if function_id is not None:
        properties = function_properties(template, function_id)
    else:
        properties = (template.get("Globals") or {}).get("Function") or {}
    variables = (properties.get("Environment") or {}).get("Variables") or {}
    resolver = _Resolver(template, parameter_overrides or {}, refs or {})
    return {name: resolver.resolve(value, name) for name, value in variables.items()}


class _Resolver:
    def __init__(self, template: dict[str, Any], overrides: dict[str, str], refs: dict[str, str]) -> None:
        self.parameters: dict[str, Any] = template.get("Parameters") or {}
        self.overrides = overrides
        self.refs = refs

    def resolve(self, value: Any, where: str) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, (str, int, float)):
            return str(value)
        if isinstance(value, dict) and len(value) == 1:
            ((function, argument),) = value.items()
            if function == "Ref":
                return self.lookup(str(argument), where)
            if function == "Fn::Sub":
                return self.substitute(argument, where)
            if function == "Fn::GetAtt" and isinstance(argument, list) and len(argument) == 2:
                return self.lookup(f"{argument[0]}.{argument[1]}", where)
            if function == "Fn::Join" and isinstance(argument, list) and len(argument) == 2:
                separator, parts = argument
                return str(separator).join(self.resolve(part, where) for part in parts)
        raise TemplateError(f"{where}: cannot resolve {value!r} locally")

    def lookup(self, name: str, where: str) -> str:
        if name in self.overrides:
            return str(self.overrides[name])
        if name in self.refs:
            return self.refs[name]
        if name in self.parameters:
            if "Default" not in self.parameters[name]:
                raise TemplateError(f"{where}: parameter {name} has no Default; pass it as an override")
            return self.resolve(self.parameters[name]["Default"], where)
        if name in PSEUDO_PARAMETERS:
            return PSEUDO_PARAMETERS[name]
        raise TemplateError(f"{where}: no value for {name!r}; give it in refs")

    def substitute(self, argument: Any, where: str) -> str:
        if isinstance(argument, list):
            text, local_variables = argument[0], argument[1] if len(argument) > 1 else {}
        else:
            text, local_variables = argument, {}

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in local_variables:
                return self.resolve(local_variables[name], where)
            return self.lookup(name, where)

        return _SUB_VARIABLE.sub(replace, str(text)).replace("${!", "${")


# --- schedules -------------------------------------------------------------------------------------------

SCHEDULE_EVENT_TYPES = ("Schedule", "ScheduleV2")  # an EventBridge rule; an EventBridge Scheduler schedule


class UnsupportedScheduleError(TemplateError):
    """A schedule expression the local scheduler cannot turn into an interval (cron(...), at(...))."""


@dataclass(frozen=True)
class ScheduledFunction:
    """One `Type: Schedule` or `Type: ScheduleV2` event of one function."""

    function_id: str
    code_uri: str
    handler: str
    expression: str  # resolved: "rate(1 minute)", "cron(0 12 * * ? *)", ...
    timeout_seconds: float
    event_id: str = ""  # the event's key under Events, e.g. "Sweep"
    event_type: str = "ScheduleV2"
    schedule_name: str = ""  # Properties.Name, else the name CloudFormation would generate
    group_name: str = "default"  # ScheduleV2 only
    input: str | None = None  # Properties.Input: JSON text sent instead of the scheduler's event
    enabled: bool = True
    memory_mb: int = 128

    @property
    def arn(self) -> str:
        """The ARN AWS puts into the event's `resources`: the schedule's (ScheduleV2) or the rule's."""
        account, region = PSEUDO_PARAMETERS["AWS::AccountId"], PSEUDO_PARAMETERS["AWS::Region"]
        if self.event_type == "Schedule":
            return f"arn:aws:events:{region}:{account}:rule/{self.schedule_name}"
        return f"arn:aws:scheduler:{region}:{account}:schedule/{self.group_name}/{self.schedule_name}"


def scheduled_functions(
    template: dict[str, Any], parameter_overrides: dict[str, str] | None = None
) -> list[ScheduledFunction]:
    """Every Schedule/ScheduleV2 event of every AWS::Serverless::Function, in template order.

    `!Ref Param` (in the expression, Timeout, Name, ...) gives the override or the parameter's Default.
    """
    resolver = _Resolver(template, parameter_overrides or {}, {})
    stack_name = PSEUDO_PARAMETERS["AWS::StackName"]
    schedules: list[ScheduledFunction] = []
    for function_id in resources_of_type(template, SERVERLESS_FUNCTION):
        properties = function_properties(template, function_id)
        for event_id, event in (properties.get("Events") or {}).items():
            if not isinstance(event, dict) or event.get("Type") not in SCHEDULE_EVENT_TYPES:
                continue
            event_type = str(event["Type"])
            event_properties = event.get("Properties") or {}
            where = f"{function_id}.Events.{event_id}"
            key = "Schedule" if event_type == "Schedule" else "ScheduleExpression"
            if key not in event_properties:
                raise TemplateError(f"{where} has no {key}")
            name = event_properties.get("Name")
            input_text = None
            if event_properties.get("Input") is not None:
                input_text = resolver.resolve(event_properties["Input"], where)
                try:
                    json.loads(input_text)
                except ValueError:
                    raise TemplateError(f"{where}: Input is not JSON: {input_text!r}") from None
            schedules.append(
                ScheduledFunction(
                    function_id=function_id,
                    code_uri=_require_str(properties, "CodeUri", function_id),
                    handler=_require_str(properties, "Handler", function_id),
                    expression=resolver.resolve(event_properties[key], where).strip(),
                    timeout_seconds=_number(resolver, properties.get("Timeout", 3), f"{where}: Timeout"),
                    event_id=str(event_id),
                    event_type=event_type,
                    schedule_name=(
                        resolver.resolve(name, where) if name is not None else f"{stack_name}-{function_id}{event_id}"
                    ),
                    group_name=(
                        resolver.resolve(event_properties["GroupName"], where)
                        if event_properties.get("GroupName") is not None
                        else "default"
                    ),
                    input=input_text,
                    enabled=_schedule_enabled(resolver, event_properties, where),
                    memory_mb=int(_number(resolver, properties.get("MemorySize", 128), f"{where}: MemorySize")),
                )
            )
    return schedules


def _number(resolver: _Resolver, value: Any, where: str) -> float:
    text = resolver.resolve(value, where)
    try:
        return float(text)
    except ValueError:
        raise TemplateError(f"{where}: {text!r} is not a number") from None


def _schedule_enabled(resolver: _Resolver, properties: dict[str, Any], where: str) -> bool:
    """False when the event says `Enabled: false` (Schedule) or `State: DISABLED` (both types)."""
    if "State" in properties:
        return resolver.resolve(properties["State"], where).upper() != "DISABLED"
    if "Enabled" in properties:
        return resolver.resolve(properties["Enabled"], where).lower() != "false"
    return True


_RATE = re.compile(r"^rate\(\s*(\d+)\s+([a-z]+)\s*\)$", re.IGNORECASE)
_RATE_UNITS = {"second": 1.0, "minute": 60.0, "hour": 3600.0, "day": 86400.0}


def schedule_interval_seconds(expression: str) -> float:
    """Seconds between two runs of a `rate(N unit)` expression (minute(s), hour(s), day(s); second(s) too,
    a local convenience AWS does not accept). cron(...) and at(...) raise UnsupportedScheduleError."""
    text = expression.strip()
    match = _RATE.match(text)
    if match is None:
        kind = text.split("(", 1)[0].strip().lower()
        if kind in ("cron", "at"):
            raise UnsupportedScheduleError(
                f"schedule expression {expression!r}: the local scheduler runs rate(...) expressions only, "
                f"not {kind}(...); give an interval (--schedule-interval SECONDS) or trigger it by hand"
            )
        raise TemplateError(f"schedule expression {expression!r} is not rate(<number> <minute(s)|hour(s)|day(s)>)")
    value, unit = int(match.group(1)), match.group(2).lower()
    seconds = _RATE_UNITS.get(unit[:-1] if unit.endswith("s") else unit)
    if seconds is None:
        raise TemplateError(f"schedule expression {expression!r}: unknown unit {unit!r} (minute(s), hour(s), day(s))")
    if value <= 0:
        raise TemplateError(f"schedule expression {expression!r}: the rate must be at least 1")
    return value * seconds
