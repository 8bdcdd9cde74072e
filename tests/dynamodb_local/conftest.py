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
