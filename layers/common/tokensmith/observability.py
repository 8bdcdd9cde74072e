"""The one Logger and the one Metrics of every function, and the Lambda entry point that wires them.

Logs are structured JSON with the request's correlation id. Nothing logs request bodies, headers
or secrets; the HTTP layer logs exceptions without their request."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging import correlation_paths

from tokensmith.startup import started

logger = Logger(service="tokensmith")
metrics = Metrics(namespace="Tokensmith", service="tokensmith")
# Read-only routes publish no metric of their own; that is expected, not worth a warning per call.
warnings.filterwarnings("ignore", message="No application metrics to publish")


def count(name: str, value: int = 1) -> None:
    """``value`` more of ``name`` (for example ``token.created``) in this invocation's EMF metrics."""
    from aws_lambda_powertools.metrics import MetricUnit

    metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


def api_entrypoint(
    resolve: Callable[[dict[str, Any], Any], dict[str, Any]],
) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    """Wrap a resolver's ``resolve`` as the Lambda handler: correlation id, metrics flushing, and the end of
    the start-up's pause of the garbage collector after the first invocation."""

    @logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
    @metrics.log_metrics
    def answer(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return resolve(event, context)

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        try:
            return answer(event, context)
        finally:
            started()  # the first invocation: the garbage collector resumes (tokensmith.startup)

    return handler
