"""Shared test setup: a fake AWS environment (never a real account), and the caches of the
process-wide singletons cleared around every test."""

from __future__ import annotations

import os

import pytest

TEST_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "TABLE_NAME": "tokensmith-test",
    "TOKEN_PREFIX": "tks",
    "MAX_TOKEN_LIFETIME_DAYS": "365",
    "RETENTION_DAYS": "90",
    "SCOPE_CATALOG": "orders:read,orders:write",
    "POWERTOOLS_SERVICE_NAME": "tokensmith",
    "POWERTOOLS_METRICS_NAMESPACE": "Tokensmith",
    "POWERTOOLS_METRICS_DISABLED": "true",
    "POWERTOOLS_DEV": "false",
}
os.environ.update(TEST_ENV)
os.environ.pop("DYNAMODB_ENDPOINT_URL", None)


def clear_singletons() -> None:
    from tokensmith import repository, service, sessions, settings

    settings.get_settings.cache_clear()
    repository.dynamodb_client.cache_clear()
    repository.default_repository.cache_clear()
    service.token_service.cache_clear()
    sessions.session_service.cache_clear()


@pytest.fixture(autouse=True)
def _fresh_singletons():
    clear_singletons()
    yield
    clear_singletons()
