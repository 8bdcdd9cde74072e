"""``make backfill`` on DynamoDB Local: tokens written before the list indexes get their keys, once;
a second run changes nothing; a stopped run resumes from its checkpoint."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from devtools.backfill import backfill
from tokensmith import clock, table
from tokensmith.auth import Principal, RequestMeta
from tokensmith.settings import Settings
from tokensmith.tokens.models import CreateTokenRequest
from tokensmith.tokens.service import TokenService

pytestmark = pytest.mark.dynamodb_local

MANAGER = Principal("caller", "acme", None, frozenset({"tokens:read", "tokens:write", "tokens:manage"}))


@pytest.fixture
def service(repository):
    settings = replace(Settings.from_environ(), table_name=repository.table_name)
    return TokenService(repository, settings)


def every_item(repository) -> list[dict]:
    items, scan = [], {"TableName": repository.table_name}
    while True:
        response = repository.client.scan(**scan)
        items.extend(response["Items"])
        if "LastEvaluatedKey" not in response:
            return sorted(items, key=lambda i: (i["pk"]["S"], i["sk"]["S"]))
        scan["ExclusiveStartKey"] = response["LastEvaluatedKey"]


@pytest.fixture
def old_tokens(service, repository):
    """Five tokens of acme (two of alice, one deleted) as the version before the list indexes wrote
    them: ``org_pk``/``org_sk`` of the old shape, no owner or status partitions, no ``expiry_pk`` (bob's
    expires in a week)."""
    ids = []
    in_a_week = clock.now() + timedelta(days=7)
    for n, owner in enumerate(["alice@acme.test", "alice@acme.test", None, None, "bob@acme.test"]):
        expiry = {"expires_at": in_a_week} if owner == "bob@acme.test" else {}
        request = CreateTokenRequest(name=f"t{n}", owner=owner, **expiry)
        item, _ = service.create_token(MANAGER, request, RequestMeta())
        ids.append(item["id"])
    service.delete_token(MANAGER, ids[3], RequestMeta())
    for token_id in ids:
        token = repository.get_token(token_id)
        update = "REMOVE owner_pk, status_pk, owner_status_pk, expiry_pk"
        values = {}
        if "org_sk" in token:
            update += " SET org_sk = :old"
            values = {":old": {"S": f"{token['created_at']}#{token_id}"}}
        repository.client.update_item(
            TableName=repository.table_name,
            Key={"pk": {"S": f"TOKEN#{token_id}"}, "sk": {"S": "TOKEN"}},
            UpdateExpression=update,
            **({"ExpressionAttributeValues": values} if values else {}),
        )
    return ids


def test_the_backfill_gives_old_tokens_their_list_keys_and_a_second_run_changes_nothing(
    old_tokens, repository, tmp_path
):
    # Given four live tokens without the list keys (the deleted one has none to get)
    now = clock.epoch(clock.now())
    assert repository.list_tokens("acme", 50, owner="alice@acme.test", now_epoch=now)[0] == []

    # When the backfill runs
    first = backfill(repository.client, repository.table_name, tmp_path / "checkpoint.json", log=lambda _: None)

    # Then the four are updated, and the filtered lists find them
    assert (first.updated, first.complete) == (4, True)
    alice = repository.list_tokens("acme", 50, owner="alice@acme.test", status="active", now_epoch=now)[0]
    assert sorted(t["name"] for t in alice) == ["t0", "t1"]  # within one second: sub-second order unknown
    assert repository.get_token(old_tokens[3]).get("status_pk") is None
    assert repository.get_token(old_tokens[4]).get("expiry_pk") == table.expiry_partition("acme")  # bob's expires

    # When it runs again
    before = every_item(repository)
    second = backfill(repository.client, repository.table_name, tmp_path / "checkpoint.json", log=lambda _: None)

    # Then it writes nothing and the table is as it was
    assert (second.updated, second.already_right) == (0, 5)
    assert every_item(repository) == before


def test_a_stopped_backfill_resumes_from_its_checkpoint(old_tokens, repository, tmp_path):
    # Given a run stopped after its first page of two items
    checkpoint = tmp_path / "checkpoint.json"
    stopped = backfill(repository.client, repository.table_name, checkpoint, page_size=2, max_pages=1, log=print)
    assert not stopped.complete and checkpoint.exists()

    # When it is run again
    lines: list[str] = []
    resumed = backfill(repository.client, repository.table_name, checkpoint, page_size=2, log=lines.append)

    # Then it goes on from there to the end, says so, counts from where it stopped and drops the checkpoint
    assert lines[0].startswith("resuming")
    assert resumed.complete and resumed.pages > 1 and not checkpoint.exists()
    assert resumed.updated + resumed.already_right == 5
    assert resumed.updated == 4
