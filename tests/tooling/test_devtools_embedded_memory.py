"""What the embedded store (moto's server, `make run`) keeps grows only with the data: its items are packed
between requests (`devtools.embedded_dynamodb_items`: every answer as plain moto's, no write lost, far
less memory an item) and a queue remembers only its latest deleted receipt handles."""

from __future__ import annotations

import sys
import threading
import tracemalloc
from typing import Any

import pytest

import devtools.embedded_dynamodb as embedded
from devtools.embedded_dynamodb import RecentHandles
from devtools.embedded_dynamodb_items import is_packed, pack, request_lock
from devtools.local_aws import client as aws_client
from devtools.local_aws import dynamodb_client
from tests.tooling.test_devtools_dynamodb import moto_table

EVERY_TYPE: dict[str, Any] = {
    "pk": {"S": "every-type"},
    "sk": {"S": "ITEM"},
    "text": {"S": "café ☕"},
    "number": {"N": "12"},
    "blob": {"B": b"\x00\xffbinary"},
    "yes": {"BOOL": True},
    "nothing": {"NULL": True},
    "names": {"SS": ["a", "b"]},
    "numbers": {"NS": ["1", "2.5"]},
    "blobs": {"BS": [b"\x01", b"\x02"]},
    "policy": {"M": {"limit": {"N": "10"}, "cidrs": {"L": [{"S": "10.0.0.0/8"}, {"M": {"deep": {"BOOL": False}}}]}}},
    "steps": {"L": [{"N": "1"}, {"S": "two"}, {"NULL": True}]},
}


def hash_range_table(client: Any, table: str) -> None:
    client.create_table(
        TableName=table,
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        BillingMode="PAY_PER_REQUEST",
    )


def stored_items(table: str) -> list[Any]:
    return list(moto_table(table).all_items())


def test_items_are_packed_at_rest_and_read_back_exactly(moto_endpoint: str) -> None:
    # Given an item holding every attribute type, written, then changed by an update and a transaction
    client = dynamodb_client(moto_endpoint)
    table = "packed-every-type"
    hash_range_table(client, table)
    client.put_item(TableName=table, Item=EVERY_TYPE)
    key = {"pk": EVERY_TYPE["pk"], "sk": EVERY_TYPE["sk"]}
    client.update_item(
        TableName=table,
        Key=key,
        UpdateExpression="SET #p.#l = :eleven, #s[1] = :three ADD #n :one, #t :c",
        ExpressionAttributeNames={"#p": "policy", "#l": "limit", "#s": "steps", "#n": "number", "#t": "names"},
        ExpressionAttributeValues={
            ":eleven": {"N": "11"},
            ":three": {"S": "three"},
            ":one": {"N": "1"},
            ":c": {"SS": ["c"]},
        },
    )
    client.transact_write_items(
        TransactItems=[
            {
                "Update": {
                    "TableName": table,
                    "Key": key,
                    "UpdateExpression": "REMOVE #g SET #f = :no",
                    "ExpressionAttributeNames": {"#g": "nothing", "#f": "yes"},
                    "ExpressionAttributeValues": {":no": {"BOOL": False}},
                }
            },
            {"Put": {"TableName": table, "Item": {"pk": {"S": "other"}, "sk": {"S": "ITEM"}}}},
        ]
    )

    # Then every item at rest is packed
    assert stored_items(table) and all(is_packed(found) for found in stored_items(table))
    # And a read answers every change, every type as written
    expected = dict(EVERY_TYPE)
    expected["policy"] = {"M": {"limit": {"N": "11"}, "cidrs": EVERY_TYPE["policy"]["M"]["cidrs"]}}
    expected["steps"] = {"L": [{"N": "1"}, {"S": "three"}, {"NULL": True}]}
    expected["number"] = {"N": "13"}
    expected["names"] = {"SS": ["a", "b", "c"]}
    expected["yes"] = {"BOOL": False}
    del expected["nothing"]
    got = client.get_item(TableName=table, Key=key, ConsistentRead=True)["Item"]
    assert {name: {"SS": sorted(v["SS"])} if "SS" in v else v for name, v in got.items()} == expected
    # And the read left the item packed too
    assert all(is_packed(found) for found in stored_items(table))


def test_items_stay_packed_and_whole_after_every_kind_of_request(moto_endpoint: str) -> None:
    # Given a table of three items, packed
    client = dynamodb_client(moto_endpoint)
    table = "packed-every-request"
    hash_range_table(client, table)
    for pk in ("a", "b", "c"):
        client.put_item(TableName=table, Item={"pk": {"S": pk}, "sk": {"S": "ITEM"}, "v": {"S": f"{pk}1"}})

    def key(pk: str) -> dict[str, Any]:
        return {"pk": {"S": pk}, "sk": {"S": "ITEM"}}

    # When it is read and written every other way: scan, query, batch get and write, delete, a refused
    # conditional put, a cancelled transaction, PartiQL
    assert len(client.scan(TableName=table)["Items"]) == 3
    assert client.query(
        TableName=table, KeyConditionExpression="pk = :a", ExpressionAttributeValues={":a": {"S": "a"}}
    )["Items"] == [{"pk": {"S": "a"}, "sk": {"S": "ITEM"}, "v": {"S": "a1"}}]
    assert len(client.batch_get_item(RequestItems={table: {"Keys": [key("a"), key("b")]}})["Responses"][table]) == 2
    client.batch_write_item(
        RequestItems={
            table: [
                {"PutRequest": {"Item": {"pk": {"S": "d"}, "sk": {"S": "ITEM"}, "v": {"S": "d1"}}}},
                {"DeleteRequest": {"Key": key("c")}},
            ]
        }
    )
    client.delete_item(TableName=table, Key=key("d"))
    with pytest.raises(client.exceptions.ConditionalCheckFailedException):
        client.put_item(
            TableName=table,
            Item={**key("a"), "v": {"S": "lost"}},
            ConditionExpression="attribute_not_exists(pk)",
        )
    with pytest.raises(client.exceptions.TransactionCanceledException):
        client.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": table, "Item": {**key("b"), "v": {"S": "lost"}}}},
                {
                    "ConditionCheck": {
                        "TableName": table,
                        "Key": key("a"),
                        "ConditionExpression": "v = :x",
                        "ExpressionAttributeValues": {":x": {"S": "no"}},
                    }
                },
            ]
        )
    client.execute_statement(Statement=f"UPDATE \"{table}\" SET v = 'b2' WHERE pk = 'b' AND sk = 'ITEM'")

    # Then every item at rest is packed, and holds what was written, nothing of what was refused
    assert all(is_packed(found) for found in stored_items(table))
    items = client.scan(TableName=table, ConsistentRead=True)["Items"]
    assert sorted((found["pk"]["S"], found["v"]["S"]) for found in items) == [("a", "a1"), ("b", "b2")]


def test_requests_to_moto_run_one_at_a_time(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.dynamodb.responses import DynamoHandler

    # Given a request held inside moto (a DescribeTable that waits)
    client = dynamodb_client(moto_endpoint)
    table = "packed-one-at-a-time"
    hash_range_table(client, table)
    inside, release = threading.Event(), threading.Event()
    describe_table = DynamoHandler.describe_table

    def held(self: Any) -> Any:
        inside.set()
        release.wait(10)
        return describe_table(self)

    monkeypatch.setattr(DynamoHandler, "describe_table", held)
    first = threading.Thread(target=lambda: dynamodb_client(moto_endpoint).describe_table(TableName=table))
    first.start()
    assert inside.wait(10)

    # When another request comes meanwhile
    done = threading.Event()

    def put() -> None:
        dynamodb_client(moto_endpoint).put_item(TableName=table, Item={"pk": {"S": "x"}, "sk": {"S": "ITEM"}})
        done.set()

    second = threading.Thread(target=put)
    second.start()

    # Then it waits for the first to answer, and only then runs
    try:
        assert not done.wait(0.5)
    finally:
        release.set()
        first.join(10)
    assert done.wait(10)
    second.join(10)


def test_only_the_items_still_alive_after_a_request_are_packed(
    moto_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import devtools.embedded_dynamodb_items as items_module

    # Given a table of 20 items
    client = dynamodb_client(moto_endpoint)
    table = "packed-alive"
    hash_range_table(client, table)
    for n in range(20):
        client.put_item(TableName=table, Item={"pk": {"S": f"p{n:02d}"}, "sk": {"S": "ITEM"}, "v": {"N": str(n)}})
    packed: list[Any] = []
    pack = items_module.pack
    monkeypatch.setattr(items_module, "pack", lambda item: (packed.append(item), pack(item)))

    # When a scan reads them all (moto copies each item for its answer)
    assert len(client.scan(TableName=table)["Items"]) == 20

    # Then the 20 stored items are packed again, and none of the copies
    stored = stored_items(table)
    assert len(packed) == 20 and {id(found) for found in packed} == {id(found) for found in stored}


def test_an_item_made_before_the_install_is_read_as_moto_left_it() -> None:
    from moto.dynamodb.models.dynamo_type import DynamoType, Item

    item = Item.__new__(Item)
    item.__dict__["attrs"] = {"v": DynamoType({"S": "kept"})}  # as moto's __init__ set it before the property

    assert item.attrs == {"v": DynamoType({"S": "kept"})}
    assert not is_packed(item)


def test_concurrent_updates_of_one_item_lose_nothing(moto_endpoint: str) -> None:
    # Given a counter item
    client = dynamodb_client(moto_endpoint)
    table = "packed-counter"
    hash_range_table(client, table)
    key = {"pk": {"S": "counter"}, "sk": {"S": "ITEM"}}
    client.put_item(TableName=table, Item={**key, "n": {"N": "0"}})

    # When 4 threads each add 1 to it 25 times, through the server
    def add_ones() -> None:
        own = dynamodb_client(moto_endpoint)
        for _ in range(25):
            own.update_item(
                TableName=table, Key=key, UpdateExpression="ADD n :one", ExpressionAttributeValues={":one": {"N": "1"}}
            )

    threads = [threading.Thread(target=add_ones) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Then every addition is in the item
    assert client.get_item(TableName=table, Key=key, ConsistentRead=True)["Item"]["n"] == {"N": "100"}


def token_like(n: int) -> dict[str, Any]:
    item: dict[str, Any] = {"pk": {"S": f"TOKEN#{n:08d}"}, "sk": {"S": "TOKEN"}}
    for a in range(30):
        item[f"attribute_{a}"] = {"S": f"value {a} of token {n}"}
    item["policy"] = {"M": {"limit": {"N": "100"}, "window": {"N": "60"}, "cidrs": {"L": [{"S": "10.0.0.0/8"}]}}}
    item["scopes"] = {"SS": ["tokens:read", "tokens:write"]}
    return item


def test_a_packed_item_takes_a_fraction_of_moto_s_memory(moto_endpoint: str) -> None:
    # Given 200 token-like items written through the server (packed at rest)
    client = dynamodb_client(moto_endpoint)
    table = "packed-memory"
    hash_range_table(client, table)
    for n in range(200):
        client.put_item(TableName=table, Item=token_like(n))
    items = stored_items(table)
    assert len(items) == 200 and all(is_packed(found) for found in items)

    # When they are unpacked (as plain moto keeps them), then packed again, memory traced
    tracemalloc.start()
    try:
        with request_lock:  # (no request of another test changes them meanwhile)
            for found in items:
                assert found.attrs  # unpacked: outside a request, it stays so
            unpacked = tracemalloc.get_traced_memory()[0]
            for found in items:
                pack(found)
            packed = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()

    # Then packed, an item takes at most an eighth of what it takes as moto's objects
    packed_bytes = sum(sys.getsizeof(found._packed) for found in items)
    live_bytes = unpacked - packed + packed_bytes  # the two states differ by the live objects less the bytes
    assert packed_bytes * 8 <= live_bytes, (packed_bytes, live_bytes)  # (pickled alone: about a sixth)


# --- queues: a deleted message's receipt handle is remembered among the latest few only ---------------------------


def test_recent_handles_keeps_the_latest_added() -> None:
    handles = RecentHandles(2)
    handles.update(["a", "b"])
    handles.update(["c"])
    handles.update(["b"])  # added again: now the latest
    handles.update(["d"])
    assert ("a" in handles, "b" in handles, "c" in handles, "d" in handles) == (False, True, False, True)
    assert len(handles) == 2


def test_a_queue_remembers_its_latest_deleted_handles_only(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a queue created while a queue remembers 2 deleted handles, and 3 messages received
    monkeypatch.setattr(embedded, "DELETED_HANDLES_KEPT", 2)
    sqs = aws_client("sqs", moto_endpoint)
    url = sqs.create_queue(QueueName="deleted-handles")["QueueUrl"]
    for n in range(3):
        sqs.send_message(QueueUrl=url, MessageBody=str(n))
    received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=3, VisibilityTimeout=60)["Messages"]
    assert len(received) == 3
    handles = [message["ReceiptHandle"] for message in received]

    # When each is deleted
    for handle in handles:
        sqs.delete_message(QueueUrl=url, ReceiptHandle=handle)

    # Then deleting one of the latest two again succeeds, as in SQS; the oldest is forgotten
    sqs.delete_message(QueueUrl=url, ReceiptHandle=handles[2])
    sqs.delete_message(QueueUrl=url, ReceiptHandle=handles[1])
    with pytest.raises(sqs.exceptions.ClientError, match="ReceiptHandleIsInvalid"):
        sqs.delete_message(QueueUrl=url, ReceiptHandle=handles[0])
