"""The environment of a local run: the variables every handler sees, and setting them into os.environ."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from devtools.local_api.events import ACCOUNT_ID
from devtools.local_aws import LOCAL_CREDENTIALS, REGION
from devtools.template import TemplateError, function_environment, function_properties, resources_of_type

# Never let a local run reach a real AWS account with the developer's own credentials.
_REMOVED_VARIABLES = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN")


def local_environment(
    template: dict[str, Any],
    endpoint_url: str,
    table_name: str,
    parameter_overrides: dict[str, str] | None = None,
    refs: dict[str, str] | None = None,
    table_logical_id: str = "TokensTable",
    aws_endpoint_url: str | None = None,
) -> dict[str, str]:
    """The variables every handler sees: the template's Globals, every function's own variables that
    resolve (all functions share this one process), the local endpoints and dummy credentials.
    `aws_endpoint_url` (AWS_ENDPOINT_URL) sends every other AWS client (EventBridge, SQS, KMS) to moto."""
    from devtools.local_events import LOCAL_PARAMETER_OVERRIDES

    tables = list(resources_of_type(template, "AWS::DynamoDB::Table"))
    if table_logical_id not in tables and len(tables) == 1:
        table_logical_id = tables[0]  # a template with one table: that one
    table_arn = f"arn:aws:dynamodb:{REGION}:{ACCOUNT_ID}:table/{table_name}"
    all_refs = {table_logical_id: table_name, f"{table_logical_id}.Arn": table_arn, **(refs or {})}
    overrides = {**LOCAL_PARAMETER_OVERRIDES, **(parameter_overrides or {})}
    environment = function_environment(template, overrides, all_refs)
    for function_id in resources_of_type(template, "AWS::Serverless::Function"):
        own = (function_properties(template, function_id).get("Environment") or {}).get("Variables") or {}
        for name in own:
            if name in environment:
                continue
            try:
                environment.update(
                    {name: function_environment(template, overrides, all_refs, function_id=function_id)[name]}
                )
            except TemplateError:
                continue  # names a resource this local run did not create
    environment.setdefault("POWERTOOLS_SERVICE_NAME", "tokensmith")
    environment.setdefault("POWERTOOLS_METRICS_NAMESPACE", "Tokensmith")
    environment.update(
        {
            "TABLE_NAME": table_name,
            "DYNAMODB_ENDPOINT_URL": endpoint_url,
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            **LOCAL_CREDENTIALS,
            "AWS_SAM_LOCAL": "true",
            "POWERTOOLS_TRACE_DISABLED": "true",
        }
    )
    if aws_endpoint_url:
        environment["AWS_ENDPOINT_URL"] = aws_endpoint_url
    return environment


@contextmanager
def applied_environment(environment: dict[str, str]) -> Iterator[None]:
    """Set `environment` into os.environ (dropping real AWS profile/session variables); restore on exit."""
    saved = dict(os.environ)
    for name in _REMOVED_VARIABLES:
        os.environ.pop(name, None)
    os.environ.update(environment)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)
