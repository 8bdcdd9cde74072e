"""Networks seen on DynamoDB Local: the conditions of ``tokens/networks.py``'s writes, and exactly one
``token.new_location`` when many verifications see one new network at once."""

from __future__ import annotations

import copy
import uuid
from datetime import UTC, datetime

import pytest

from tests.dynamodb_local.conftest import run_concurrently
from tokensmith import table
from tokensmith.aws.dynamodb import from_item, to_item
from tokensmith.settings import Settings
from tokensmith.tokens import networks
from tokensmith.tokens.list_keys import list_attributes

NOW = datetime(2030, 1, 15, 12, 0, 0, tzinfo=UTC)
HOME = "203.0.113.0/24"
NEW = "198.51.100.0/24"


@pytest.fixture
def settings(ddb_local_table) -> Settings:
    return Settings(table_name=ddb_local_table[1])


@pytest.fixture
def used_token(repository):
    """A token used from HOME (its first network), as the table has it."""
    item = {
        "id": str(uuid.uuid4()),
        "organization_id": "acme",
        "owner": None,
        "name": "deploy",
        "status": "active",
        "scopes": ["tokens:read"],
        "created_at": "2030-01-01T00:00:00Z",
        "audit": {"created": {"at": "2030-01-01T00:00:00Z", "by": "system"}},
        "version": 1,
        "networks": {HOME: {"first_seen_at": "2030-01-01T00:00:00Z", "last_seen_at": "2030-01-01T00:00:00Z"}},
    }
    item.update({k: v for k, v in list_attributes(item).items() if v is not None})
    repository.create_token(item, {**table.event_key(item["id"], "2030-01-01T00:00:00Z", 0, "0"), "type": "x"}, None)
    return repository.get_token(item["id"])


def new_location_events(repository, token_id: str) -> list[dict]:
    events, _ = repository.list_events(token_id, 100)
    return [event for event in events if event["type"] == "token.new_location"]


@pytest.mark.parametrize("policy", ["notify", "disable"])
def test_twenty_concurrent_first_uses_from_one_new_network_make_one_event(repository, settings, used_token, policy):
    # Given a token used from HOME, and twenty verifications that all read it before any writes
    if policy == "disable":
        repository.client.update_item(
            TableName=settings.table_name,
            Key=to_item(table.token_key(used_token["id"])),
            UpdateExpression="SET org_on_new_location = :d",
            ExpressionAttributeValues={":d": {"S": "disable"}},
        )
        used_token = repository.get_token(used_token["id"])
    copies = [copy.deepcopy(used_token) for _ in range(20)]

    # When all twenty record NEW at once
    disabled = run_concurrently(
        lambda n: networks.record_network(repository, settings, copies[n], NOW, "198.51.100.1", f"agent {n}"), 20
    )

    # Then one event; every copy learnt the network; a disable happened once and refused all twenty
    (event,) = new_location_events(repository, used_token["id"])
    stored = repository.get_token(used_token["id"])
    assert set(stored["networks"]) == {HOME, NEW}
    assert all(NEW in c["networks"] for c in copies)
    assert event["details"]["previous_networks"] == [HOME]
    if policy == "disable":
        assert disabled == [True] * 20 and event["details"]["disabled"] is True
        assert (stored["status"], stored["version"]) == ("disabled", 2)
        assert stored["status_pk"] == table.token_list_partitions("acme", None, "disabled")["status_pk"]
    else:
        assert disabled == [False] * 20 and event["details"]["disabled"] is False
        assert (stored["status"], stored["version"]) == ("active", 1)


def test_concurrent_new_networks_with_room_left_are_all_recorded(repository, settings, used_token):
    # When ten verifications from ten different new networks record theirs at once
    copies = [copy.deepcopy(used_token) for _ in range(10)]
    run_concurrently(lambda n: networks.record_network(repository, settings, copies[n], NOW, f"10.0.{n}.1", None), 10)

    # Then none conflicted with another: eleven networks, ten events
    assert len(repository.get_token(used_token["id"])["networks"]) == 11
    assert len(new_location_events(repository, used_token["id"])) == 10


def test_a_full_list_stays_at_twenty_under_concurrent_new_networks(repository, settings, used_token):
    # Given a token used from twenty networks
    for n in range(19):
        networks.record_network(repository, settings, used_token, NOW.replace(minute=n), f"10.0.{n}.1", None)
    used_token = repository.get_token(used_token["id"])
    assert len(used_token["networks"]) == 20

    # When five new networks are recorded at once
    copies = [copy.deepcopy(used_token) for _ in range(5)]
    run_concurrently(lambda n: networks.record_network(repository, settings, copies[n], NOW, f"10.1.{n}.1", None), 5)

    # Then the map never went past twenty, and the oldest ones made room
    stored = repository.get_token(used_token["id"])["networks"]
    assert len(stored) == 20 and HOME not in stored


def test_the_last_use_write_refreshes_a_known_network_and_skips_an_evicted_one(repository, used_token):
    # When the last-use write carries HOME's refresh, Then HOME's last_seen_at moves with last_used_at
    at = "2030-01-15T12:00:00Z"  # NOW
    refresh = networks.last_use_piece(used_token, "203.0.113.9", "ua", NOW)
    assert repository.record_last_use(used_token["id"], at, "2030-01-15T11:59:00Z", "203.0.113.9", "ua", extra=refresh)
    stored = repository.get_token(used_token["id"])
    assert stored["networks"][HOME]["last_seen_at"] == at == stored["last_used_at"]

    # Given HOME is gone from the map since the item was read (evicted by a concurrent new network)
    repository.client.update_item(
        TableName=repository.table_name,
        Key=to_item(table.token_key(used_token["id"])),
        UpdateExpression="REMOVE networks.#home",
        ExpressionAttributeNames={"#home": HOME},
    )

    # When a last-use write carries its refresh, Then it is a failed condition (no error), nothing written
    later = "2030-01-15T12:05:00Z"
    assert not repository.record_last_use(used_token["id"], later, "2030-01-15T12:04:00Z", None, None, extra=refresh)
    raw = repository.client.get_item(TableName=repository.table_name, Key=to_item(table.token_key(used_token["id"])))
    assert from_item(raw["Item"])["last_used_at"] == at


def test_a_first_network_on_the_last_use_write_never_replaces_networks_written_meanwhile(repository, used_token):
    # Given a token read while it listed no network, and HOME recorded since by another verification
    bare = {key: value for key, value in used_token.items() if key != "networks"}
    piece = networks.last_use_piece(bare, "198.51.100.1", "ua", NOW)

    # When this verification's last-use write carries its first network
    assert repository.record_last_use(
        used_token["id"], "2030-01-15T12:00:00Z", "2030-01-15T11:59:00Z", None, None, extra=piece
    )

    # Then the stamp landed and the list is untouched: the other network is new at its next use
    stored = repository.get_token(used_token["id"])
    assert stored["last_used_at"] == "2030-01-15T12:00:00Z" and list(stored["networks"]) == [HOME]


def test_the_first_network_write_is_exactly_once_too(repository, settings, used_token):
    # Given a token never used from anywhere, read by five verifications
    repository.client.update_item(
        TableName=repository.table_name,
        Key=to_item(table.token_key(used_token["id"])),
        UpdateExpression="REMOVE networks",
    )
    fresh = repository.get_token(used_token["id"])
    copies = [copy.deepcopy(fresh) for _ in range(5)]

    # When they record five different networks at once
    run_concurrently(lambda n: networks.record_network(repository, settings, copies[n], NOW, f"10.2.{n}.1", None), 5)

    # Then one of them was first (silently), and the others, having read it again, are new locations
    stored = repository.get_token(used_token["id"])
    assert len(stored["networks"]) == 5
    assert len(new_location_events(repository, used_token["id"])) == 4
