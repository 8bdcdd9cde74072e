"""The repository against Amazon's DynamoDB Local: conditions, transactions, the index, capacity."""

from __future__ import annotations

import uuid
from dataclasses import replace

import pytest

from tests.dynamodb_local.conftest import run_concurrently
from tokensmith.auth import Principal, RequestMeta
from tokensmith.aws.dynamodb import NameTaken, VersionConflict
from tokensmith.settings import Settings
from tokensmith.table import name_guard_pk
from tokensmith.tokens import format as token_format
from tokensmith.tokens.models import CreateTokenRequest, UpdateTokenRequest
from tokensmith.tokens.repository import NameClaim, TokenChange
from tokensmith.tokens.service import TokenService

pytestmark = pytest.mark.dynamodb_local

MANAGER = Principal(
    "caller", "acme", None, frozenset({"tokens:read", "tokens:write", "tokens:manage", "tokens:verify"})
)


@pytest.fixture
def service(repository):
    settings = replace(Settings.from_environ(), table_name=repository.table_name)
    return TokenService(repository, settings)


def count_items(repository) -> int:
    return repository.client.scan(TableName=repository.table_name, Select="COUNT")["Count"]


def test_a_stale_version_cancels_the_whole_transaction(service, repository):
    item, _ = service.create_token(MANAGER, CreateTokenRequest(name="a"), RequestMeta())
    before = count_items(repository)
    change = TokenChange(item["id"], expected_version=7, set_values={"description": "x"})

    with pytest.raises(VersionConflict):
        repository.update_token(change, {"pk": f"TOKEN#{item['id']}", "sk": "EVENT#x", "type": "token.updated"})

    assert count_items(repository) == before
    assert repository.get_token(item["id"]).get("description") is None


def test_a_taken_name_leaves_no_token_and_no_event(service, repository):
    service.create_token(MANAGER, CreateTokenRequest(name="same"), RequestMeta())
    before = count_items(repository)

    with pytest.raises(Exception) as raised:
        service.create_token(MANAGER, CreateTokenRequest(name="SAME"), RequestMeta())

    assert raised.value.status == 409
    assert count_items(repository) == before


def test_a_guard_held_by_an_ended_token_can_be_taken_over(repository):
    pk = name_guard_pk("acme", None, "n")
    repository.create_token(_item("a"), _event("a"), NameClaim(pk, "a", live_until=100, now=50))

    with pytest.raises(NameTaken):
        repository.create_token(_item("b"), _event("b"), NameClaim(pk, "b", live_until=500, now=99))
    repository.create_token(_item("c"), _event("c"), NameClaim(pk, "c", live_until=500, now=101))

    guard = repository.client.get_item(TableName=repository.table_name, Key={"pk": {"S": pk}, "sk": {"S": "NAME"}})[
        "Item"
    ]
    assert guard["token_id"]["S"] == "c"


def test_releasing_a_guard_someone_else_took_still_applies_the_change(repository):
    pk = name_guard_pk("acme", None, "n")
    repository.create_token(_item("a"), _event("a"), NameClaim(pk, "a", live_until=100, now=50))
    repository.create_token(_item("b"), _event("b"), NameClaim(pk, "b", live_until=None, now=101))

    change = TokenChange("a", 1, {"status": "revoked", "version": 2}, release_name=pk)
    repository.update_token(change, _event("a", "EVENT#2"))

    assert repository.get_token("a")["status"] == "revoked"
    guard = repository.client.get_item(TableName=repository.table_name, Key={"pk": {"S": pk}, "sk": {"S": "NAME"}})[
        "Item"
    ]
    assert guard["token_id"]["S"] == "b"


def test_the_organization_index_pages_newest_first_with_filters(service, repository):
    ids = []
    for n in range(7):
        item, _ = service.create_token(
            MANAGER, CreateTokenRequest(name=f"t{n}", owner="alice" if n % 2 else "bob"), RequestMeta()
        )
        repository.client.update_item(  # spread creation times so the order is unambiguous
            TableName=repository.table_name,
            Key={"pk": {"S": f"TOKEN#{item['id']}"}, "sk": {"S": "TOKEN"}},
            UpdateExpression="SET org_sk = :sk",
            ExpressionAttributeValues={":sk": {"S": f"2026-01-0{n + 1}T00:00:00Z#{item['id']}"}},
        )
        ids.append(item["id"])

    names, cursor = [], None
    while True:
        page, cursor = repository.list_tokens("acme", 3, cursor)
        names += [t["name"] for t in page]
        if cursor is None:
            break
    alice, alice_cursor = repository.list_tokens("acme", 10, owner="alice")
    other_org, _ = repository.list_tokens("globex", 10)

    assert names == [f"t{n}" for n in reversed(range(7))]
    assert [t["name"] for t in alice] == ["t5", "t3", "t1"] and alice_cursor is None
    assert other_org == []


def test_a_typical_token_costs_one_read_unit_to_verify(service, repository):
    # Given a token with generous but realistic fields (a long name, a paragraph, an icon URL,
    # browser user agents): well under the 4 KB that one strongly consistent read unit covers
    request = CreateTokenRequest(
        name="n" * 120,
        description="d" * 600,
        icon="https://cdn.example.com/" + "i" * 100,
        scopes=["tokens:read", "tokens:write", "tokens:verify"],
    )
    item, secret = service.create_token(MANAGER, request, RequestMeta(ip="203.0.113.9", user_agent="u" * 250))
    repository.record_last_use(item["id"], "2026-11-22T00:00:00Z", "2026-11-21T23:59:00Z", "203.0.113.9", "u" * 250)

    response = repository.client.get_item(
        TableName=repository.table_name,
        Key={"pk": {"S": f"TOKEN#{token_format.parse(secret, 'tks')}"}, "sk": {"S": "TOKEN"}},
        ConsistentRead=True,
        ReturnConsumedCapacity="TOTAL",
    )

    assert response["ConsumedCapacity"]["CapacityUnits"] == 1.0


def test_last_use_is_recorded_once_per_interval(service, repository):
    item, _ = service.create_token(MANAGER, CreateTokenRequest(name="u"), RequestMeta())

    first = repository.record_last_use(item["id"], "2026-11-22T10:00:00Z", "2026-11-22T09:59:00Z", "1.2.3.4", "ua")
    again = repository.record_last_use(item["id"], "2026-11-22T10:00:30Z", "2026-11-22T09:59:30Z", "1.2.3.4", "ua")
    later = repository.record_last_use(item["id"], "2026-11-22T10:01:01Z", "2026-11-22T10:00:01Z", None, None)

    assert (first, again, later) == (True, False, True)
    stored = repository.get_token(item["id"])
    assert stored["last_used_at"] == "2026-11-22T10:01:01Z" and "last_used_ip" not in stored
    assert stored["version"] == 1
    assert (
        repository.record_last_use(str(uuid.uuid4()), "2026-11-22T10:00:00Z", "2026-11-22T09:59:00Z", None, None)
        is False
    )


def test_concurrent_patches_with_one_if_match_let_exactly_one_win(service):
    item, _ = service.create_token(MANAGER, CreateTokenRequest(name="race"), RequestMeta())

    def patch(n: int) -> int:
        try:
            service.update_token(
                MANAGER, item["id"], UpdateTokenRequest(description=f"v{n}"), RequestMeta(if_match=frozenset({1}))
            )
            return 200
        except Exception as error:
            return getattr(error, "status", 500)

    outcomes = run_concurrently(patch, 10)

    assert sorted(outcomes) == [200] + [412] * 9
    assert service.get_token(MANAGER, item["id"])["version"] == 2


def test_concurrent_patches_without_if_match_are_all_applied(service):
    item, _ = service.create_token(MANAGER, CreateTokenRequest(name="merge"), RequestMeta())

    def patch(n: int) -> Exception | None:
        try:
            service.update_token(MANAGER, item["id"], UpdateTokenRequest(description=f"v{n}"), RequestMeta())
        except Exception as error:  # reported below
            return error
        return None

    assert run_concurrently(patch, 3) == [None, None, None]
    assert service.get_token(MANAGER, item["id"])["version"] == 4


def _item(token_id: str) -> dict:
    return {
        "id": token_id,
        "organization_id": "acme",
        "created_at": "2026-12-06T00:00:00Z",
        "status": "active",
        "version": 1,
    }


def _event(token_id: str, sk: str = "EVENT#1") -> dict:
    return {"pk": f"TOKEN#{token_id}", "sk": sk, "type": "token.created"}
