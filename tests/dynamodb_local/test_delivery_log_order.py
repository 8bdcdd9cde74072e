"""The delivery log on DynamoDB Local: attempts within one second list newest first."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tokensmith import clock
from tokensmith.webhooks.repository import WebhookRepository

pytestmark = pytest.mark.dynamodb_local

WEBHOOK = "0b7e4a8e-3f4c-4f59-9a43-2f9e7c1d5a10"


def test_seven_attempts_within_one_second_list_seven_to_one(ddb_local_table):
    # Given seven attempts recorded in order within one second, each on a message whose id sorts
    # against the order (so only the sub-second time can order them)
    client, table_name = ddb_local_table
    repository = WebhookRepository(table_name, client=client)
    second = datetime(2026, 12, 6, 5, 0, 0, tzinfo=UTC)
    for n in range(1, 8):
        moment = second + timedelta(milliseconds=100 * n)
        entry = {
            "webhook_id": WEBHOOK,
            "organization_id": "acme",
            "message_id": f"message-{8 - n}",
            "attempt": 1,
            "attempted_at": clock.to_iso(moment),
            "outcome": f"delivered {n}",
        }
        repository.record_delivery(entry, clock.nanos_within(moment))

    # When the log is read in pages of three
    outcomes, cursor = [], None
    while True:
        items, cursor = repository.list_deliveries(WEBHOOK, 3, cursor)
        outcomes.extend(i["outcome"] for i in items)
        if cursor is None:
            break

    # Then it lists 7..1
    assert outcomes == [f"delivered {n}" for n in range(7, 0, -1)]
