"""pytest fixtures for DynamoDB Local; conftest files import them (`from devtools.pytest_fixtures import ...`).

Without Java/node/npm the tests skip with a loud warning, except under CI=true, where they fail: CI must
never go green by skipping the suite that is closest to the real service.
"""

from __future__ import annotations

import contextlib
import functools
import os
import uuid
import warnings
from collections.abc import Iterator
from typing import Any, NoReturn

import pytest

from devtools.dynamodb_local import missing_prerequisites, shared_dynamodb_local
from devtools.local_aws import dynamodb_client
from devtools.template import DEFAULT_TEMPLATE, create_table, load_template


class DynamoDBLocalUnavailable(UserWarning):
    """DynamoDB Local tests were skipped on this machine."""


def running_in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() == "true"


def dynamodb_local_unavailable(config: pytest.Config, reason: str) -> NoReturn:
    """Fail under CI=true; otherwise shout on the terminal and skip."""
    skip_loudly(
        config,
        "DynamoDB Local tests",
        reason,
        "Install Java 17+ (and node/npm once) to run them.",
        DynamoDBLocalUnavailable,
    )


def skip_loudly(
    config: pytest.Config, what: str, reason: str, advice: str, category: type[Warning] = UserWarning
) -> NoReturn:
    """Fail under CI=true (``what`` must run there); otherwise shout on the terminal, warn and skip."""
    if running_in_ci():
        pytest.fail(f"{reason} (CI=true: {what} must run, not skip)", pytrace=False)
    message = f"{what} SKIPPED: {reason}. {advice}"
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    capture = config.pluginmanager.get_plugin("capturemanager")
    if reporter is not None:
        with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
            reporter.write_line("")
            reporter.write_line(f"WARNING: {message}", yellow=True, bold=True)
    warnings.warn(message, category, stacklevel=3)
    pytest.skip(message)


@pytest.fixture(scope="session")
def dynamodb_local_endpoint(request: pytest.FixtureRequest) -> Iterator[str]:
    """The endpoint URL of a DynamoDB Local (in memory, -sharedDb) shared by the whole test process."""
    missing = missing_prerequisites()
    if missing:
        dynamodb_local_unavailable(request.config, f"missing {', '.join(missing)}")
    with contextlib.ExitStack() as stack:
        try:
            endpoint_url = stack.enter_context(shared_dynamodb_local())
        except (RuntimeError, OSError, TimeoutError) as error:
            dynamodb_local_unavailable(request.config, f"it did not start: {error}")
        yield endpoint_url


@functools.lru_cache(maxsize=1)
def _template() -> dict[str, Any]:
    return load_template(DEFAULT_TEMPLATE)


@pytest.fixture
def ddb_local_table(dynamodb_local_endpoint: str) -> Iterator[tuple[Any, str]]:
    """(client, table_name): a fresh table built from template.yaml in DynamoDB Local, deleted afterwards."""
    client = dynamodb_client(dynamodb_local_endpoint)
    table_name = f"tokensmith-test-{uuid.uuid4().hex[:12]}"
    create_table(client, _template(), table_name)
    try:
        yield client, table_name
    finally:
        client.delete_table(TableName=table_name)
