"""DynamoDB Local (Amazon's emulator, Java 17) for the tests in this folder.

`dynamodb_local_endpoint` (session) yields its endpoint URL; `ddb_local_table` yields (client, table_name)
of a fresh table built from template.yaml. Without Java/node/npm these tests skip with a loud warning;
with CI=true they fail instead. Every test here is marked `dynamodb_local` (deselect with
`-m "not dynamodb_local"`).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from devtools.pytest_fixtures import ddb_local_table, dynamodb_local_endpoint

__all__ = ["ddb_local_table", "dynamodb_local_endpoint"]

_HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if _HERE in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.dynamodb_local)


@pytest.fixture(autouse=True)
def patient_dynamodb_client(monkeypatch):
    """The handlers' DynamoDB client waits up to 15 s here, not Lambda's 1 s.

    These tests are about conditions, transactions and concurrency, not timeouts: fifty concurrent
    transactions against one Java emulator on a shared two-core machine can take longer than a
    second, and a timed-out write would answer 503 where the test asks what the condition decided.
    """
    from tokensmith.aws import clients

    patient = clients.ClientPolicy(attempts=2, connect_timeout=5, read_timeout=15)
    monkeypatch.setitem(clients.POLICIES, "dynamodb", patient)
    clients.client.cache_clear()
    yield
    clients.client.cache_clear()


@pytest.fixture
def repository(ddb_local_table):
    """The real repository over a fresh DynamoDB Local table."""
    from tokensmith.tokens.repository import TokenRepository

    client, table_name = ddb_local_table
    return TokenRepository(table_name, client=client)


def run_concurrently(target, count: int) -> list:
    """Start ``count`` threads calling ``target(n)`` at the same instant; their results, in any order."""
    import threading

    results: list = []
    barrier = threading.Barrier(count)

    def run(n: int) -> None:
        barrier.wait()
        results.append(target(n))

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results
