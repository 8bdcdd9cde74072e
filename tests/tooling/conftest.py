"""Fixtures for the tests of devtools/: an embedded moto server, and DynamoDB Local (shared JVM)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devtools.embedded_dynamodb import embedded_dynamodb
from devtools.pytest_fixtures import ddb_local_table, dynamodb_local_endpoint

__all__ = ["ddb_local_table", "dynamodb_local_endpoint", "moto_endpoint"]


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    with embedded_dynamodb() as endpoint_url:
        yield endpoint_url
