"""The endpoint register's conditions on DynamoDB Local: MaxWebhookEndpoints holds exactly under
concurrent creates, one target is taken once however many race for it, and deletes, changes and
organizations whose endpoints predate the register keep the count true."""

from __future__ import annotations

import pytest

from tests.dynamodb_local.conftest import run_concurrently
from tests.unit.conftest import META, caller
from tests.unit.fakes import FakeKms
from tokensmith import table
from tokensmith.auth import WEBHOOKS_READ, WEBHOOKS_WRITE
from tokensmith.aws.dynamodb import to_item
from tokensmith.errors import Conflict
from tokensmith.settings import Settings
from tokensmith.webhooks.models import CreateWebhookRequest, UpdateWebhookRequest
from tokensmith.webhooks.repository import WebhookRepository
from tokensmith.webhooks.service import WebhookService

ACME = caller("acme", WEBHOOKS_READ, WEBHOOKS_WRITE)
CAP = 10


@pytest.fixture
def webhooks(ddb_local_table) -> WebhookService:
    client, table_name = ddb_local_table
    settings = Settings(table_name=table_name, webhook_key_id="alias/webhooks", max_webhook_endpoints=CAP)
    return WebhookService(WebhookRepository(table_name, client=client), settings, kms=FakeKms())


def url(number: int) -> str:
    return f"https://hooks.example.com/endpoint/{number}"


def create(webhooks: WebhookService, target_url: str) -> str:
    """``created`` or the 409's detail."""
    try:
        webhooks.create_webhook(ACME, CreateWebhookRequest(url=target_url), META)
    except Conflict as refusal:
        return refusal.detail
    return "created"


def stored(webhooks: WebhookService) -> tuple[int, dict]:
    """How many endpoints acme has in the table, and its register."""
    return len(webhooks.repository.all_webhooks("acme")), webhooks.repository.get_endpoint_register("acme") or {}


def test_thirty_concurrent_creates_leave_exactly_the_cap(webhooks):
    # When 30 requests register 30 different URLs for acme at the same instant
    answers = run_concurrently(lambda n: create(webhooks, url(n)), 30)

    # Then exactly 10 were created, every other one refused with a 409
    assert answers.count("created") == CAP
    assert all("MaxWebhookEndpoints (10)" in a or "retry" in a for a in answers if a != "created")
    count, register = stored(webhooks)
    assert count == CAP and register["endpoint_count"] == CAP and len(register["targets"]) == CAP


def test_twenty_concurrent_creates_of_one_target_leave_one(webhooks):
    # When 20 requests register the same URL for the same event types at the same instant
    answers = run_concurrently(lambda n: create(webhooks, url(1)), 20)

    # Then one endpoint exists, and every other request was refused
    assert answers.count("created") == 1
    count, register = stored(webhooks)
    assert count == 1 and register["endpoint_count"] == 1


def test_a_delete_frees_a_place_and_the_target_on_dynamodb(webhooks):
    # Given acme at the cap
    run_concurrently(lambda n: create(webhooks, url(n)), CAP)
    first = webhooks.repository.all_webhooks("acme")[0]

    # When one is deleted, Then its URL may be registered again, and the count is the cap again
    webhooks.delete_webhook(ACME, first["id"], META)
    assert create(webhooks, first["url"]) == "created"
    assert create(webhooks, url(99)).startswith("organization acme has 10 webhook endpoints")
    count, register = stored(webhooks)
    assert count == CAP and register["endpoint_count"] == CAP


def test_a_change_onto_a_taken_target_is_refused_and_onto_a_free_one_moves_it(webhooks):
    # Given two endpoints
    create(webhooks, url(1))
    create(webhooks, url(2))
    second = next(e for e in webhooks.repository.all_webhooks("acme") if e["url"] == url(2))

    # When the second is pointed at the first's URL, Then 409 and nothing changed
    with pytest.raises(Conflict, match="already has a webhook endpoint"):
        webhooks.update_webhook(ACME, second["id"], UpdateWebhookRequest(url=url(1)), META)

    # When it is pointed at a free URL, Then its old URL is free again and its new one taken
    webhooks.update_webhook(ACME, second["id"], UpdateWebhookRequest(url=url(3)), META)
    assert create(webhooks, url(2)) == "created"
    assert "already has a webhook endpoint" in create(webhooks, url(3))


def test_endpoints_from_before_the_register_are_counted_and_a_twins_delete_keeps_the_target(webhooks):
    # Given two identical endpoints, written as older code did (no register)
    create(webhooks, url(1))
    original = webhooks.repository.all_webhooks("acme")[0]
    twin_id = "0f0f0f0f-0000-4000-8000-000000000001"
    twin = {**original, "id": twin_id, "created_at": "2099-01-01T00:00:00Z"}
    for key in ("pk", "sk", "org_pk", "org_sk"):
        twin.pop(key, None)
    client, table_name = webhooks.repository.client, webhooks.repository.table_name
    client.delete_item(TableName=table_name, Key=to_item(table.endpoint_register_key("acme")))
    keys = {**table.webhook_key(twin_id), **table.webhook_index_keys("acme", twin["created_at"], twin_id)}
    client.put_item(TableName=table_name, Item=to_item({**twin, **keys}))

    # When the twin is deleted (the register is started first, from the two endpoints)
    webhooks.delete_webhook(ACME, twin_id, META)

    # Then one endpoint is counted, and its URL is still taken by the original
    count, register = stored(webhooks)
    assert count == 1 and register["endpoint_count"] == 1
    assert f"({original['id']})" in create(webhooks, url(1))
