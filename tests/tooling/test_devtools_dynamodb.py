"""The two local DynamoDBs: moto in-process, and Amazon's DynamoDB Local (Java) with its pytest fixtures."""

from __future__ import annotations

import copy
import json
import os
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from devtools.dynamodb_local import (
    NPM_PACKAGE,
    NPM_PACKAGE_VERSION,
    dynamodb_local,
    find_installation,
    missing_prerequisites,
)
from devtools.embedded_dynamodb import embedded_dynamodb
from devtools.local_aws import client as aws_client
from devtools.local_aws import dynamodb_client
from devtools.template import DEFAULT_TEMPLATE, PROJECT_ROOT, load_template


def port_is_closed(endpoint_url: str) -> bool:
    host, port = endpoint_url.removeprefix("http://").split(":")
    with socket.socket() as probe:
        probe.settimeout(2)
        return probe.connect_ex((host, int(port))) != 0


def hash_only_table(client: Any, table: str, stream: bool = False) -> str:
    """Create a table keyed by `pk` alone (with a stream of both images when `stream`); its stream's ARN, or ""."""
    extra: dict[str, Any] = {}
    if stream:
        extra["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    description = client.create_table(
        TableName=table,
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
        **extra,
    )["TableDescription"]
    return str(description.get("LatestStreamArn", ""))


def test_embedded_dynamodb_serves_on_loopback_and_stops() -> None:
    # (moto's backends are process-wide: tables of other tests in this worker may be listed too)
    with embedded_dynamodb() as endpoint_url:
        assert endpoint_url.startswith("http://127.0.0.1:")
        assert isinstance(dynamodb_client(endpoint_url).list_tables()["TableNames"], list)
    assert port_is_closed(endpoint_url)


def test_embedded_dynamodb_answers_a_repeated_client_request_token_without_writing_again(moto_endpoint) -> None:
    """As DynamoDB does: a retry of a transaction that landed succeeds and writes nothing."""
    client = dynamodb_client(moto_endpoint)
    table = "idempotency"
    hash_only_table(client, table)

    def put(token: str, value: str) -> dict[str, Any]:
        item = {"pk": {"S": "a"}, "value": {"S": value}}
        action = {"Put": {"TableName": table, "Item": item, "ConditionExpression": "attribute_not_exists(pk)"}}
        return client.transact_write_items(TransactItems=[action], ClientRequestToken=token)

    put("first", "1")
    put("first", "1")  # botocore's retry: answered as the first attempt was (run again, it would fail)
    assert client.get_item(TableName=table, Key={"pk": {"S": "a"}})["Item"]["value"] == {"S": "1"}
    with pytest.raises(client.exceptions.TransactionCanceledException):
        put("second", "3")  # a new token runs, and fails its condition


def test_embedded_dynamodb_stream_survives_a_cancelled_transaction_and_forgets_used_iterators(moto_endpoint) -> None:
    """make run's stream reader keeps reading one shard, which a cancelled transaction adds nothing to,
    and moto does not keep every iterator it ever handed out."""
    from moto.dynamodbstreams.models import dynamodbstreams_backends

    # Given a table with a stream, a reader at its start, and one write read
    client = dynamodb_client(moto_endpoint)
    streams = aws_client("dynamodbstreams", moto_endpoint)
    table = "streamed"
    arn = hash_only_table(client, table, stream=True)
    (shard,) = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON")[
        "ShardIterator"
    ]

    def new_item(pk: str) -> dict[str, Any]:
        condition = "attribute_not_exists(pk)"
        return {"Put": {"TableName": table, "Item": {"pk": {"S": pk}}, "ConditionExpression": condition}}

    def put(pk: str) -> None:
        action = {
            "Put": {"TableName": table, "Item": {"pk": {"S": pk}}, "ConditionExpression": "attribute_not_exists(pk)"}
        }
        client.transact_write_items(TransactItems=[action])

    def read() -> list[str]:
        nonlocal iterator
        answer = streams.get_records(ShardIterator=iterator)
        iterator = answer["NextShardIterator"]
        return [record["dynamodb"]["Keys"]["pk"]["S"] for record in answer["Records"]]

    put("a")
    assert read() == ["a"]
    backend = dynamodbstreams_backends["123456789012"]["us-east-1"]
    iterators_before = len(backend.shard_iterators)

    # When a transaction is cancelled (moto then swaps the table for its copy), then another write lands
    with pytest.raises(client.exceptions.TransactionCanceledException):
        client.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": table, "Item": {"pk": {"S": "b"}}}},
                {
                    "Put": {
                        "TableName": table,
                        "Item": {"pk": {"S": "a"}},
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
            ]
        )
    put("c")

    # Then the same reader sees the later write and nothing of the cancelled one, and reading five more
    # times leaves no more iterators behind than before
    assert read() == ["c"]
    for _ in range(5):
        assert read() == []
    assert len(backend.shard_iterators) <= iterators_before


# --- transactions: a rollback restores what the transaction touched, and copies no table --------------------------


def moto_table(name: str) -> Any:
    """The moto model of a table of the embedded server (its backends are process-wide)."""
    from moto.dynamodb.models import dynamodb_backends

    return dynamodb_backends["123456789012"]["us-east-1"].tables[name]


@pytest.fixture
def table_copies(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """For every `copy.deepcopy` of a moto table from now on: whether it made a copy (False: the table itself)."""
    from moto.dynamodb.models.table import Table

    copies: list[bool] = []
    deepcopy = copy.deepcopy

    def spy(value: Any, memo: dict[int, Any] | None = None) -> Any:
        result = deepcopy(value, memo)
        if isinstance(value, Table):
            copies.append(result is not value)
        return result

    monkeypatch.setattr(copy, "deepcopy", spy)
    return copies


def indexed_streamed_table(client: Any, streams: Any, table: str) -> Callable[[], list[str]]:
    """A hash+range table with an index on `owner` and a stream; returns a reader of the stream's new records
    (their event names and keys), positioned after everything written so far."""
    arn = client.create_table(
        TableName=table,
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
            {"AttributeName": "owner", "AttributeType": "S"},
        ],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by-owner",
                "KeySchema": [
                    {"AttributeName": "owner", "KeyType": "HASH"},
                    {"AttributeName": "pk", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )["TableDescription"]["LatestStreamArn"]
    (shard,) = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="LATEST")[
        "ShardIterator"
    ]

    def read() -> list[str]:
        nonlocal iterator
        answer = streams.get_records(ShardIterator=iterator)
        iterator = answer["NextShardIterator"]
        return [f"{r['eventName']} {r['dynamodb']['Keys']['pk']['S']}" for r in answer["Records"]]

    return read


def item(pk: str, owner: str, value: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": "ITEM"}, "owner": {"S": owner}, "value": {"S": value}}


def key(pk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": "ITEM"}}


def indexed_table_holding_a_and_c(moto_endpoint: str, table: str) -> Callable[[], list[str]]:
    """`indexed_streamed_table` holding a (alice's) and c (carol's); returns the reader of its stream, past them."""
    client = dynamodb_client(moto_endpoint)
    read_stream = indexed_streamed_table(client, aws_client("dynamodbstreams", moto_endpoint), table)
    client.put_item(TableName=table, Item=item("a", "alice", "1"))
    client.put_item(TableName=table, Item=item("c", "carol", "1"))
    assert read_stream() == ["INSERT a", "INSERT c"]
    return read_stream


def test_a_cancelled_transaction_leaves_every_item_and_the_index_as_they_were(
    moto_endpoint: str, table_copies: list[bool]
) -> None:
    # Given an indexed table with a stream, holding a and c, and what its index answers
    client = dynamodb_client(moto_endpoint)
    table = "rollback-indexed"
    read_stream = indexed_table_holding_a_and_c(moto_endpoint, table)

    def alice() -> list[dict[str, Any]]:
        return client.query(
            TableName=table,
            IndexName="by-owner",
            KeyConditionExpression="#o = :o",
            ExpressionAttributeNames={"#o": "owner"},
            ExpressionAttributeValues={":o": {"S": "alice"}},
        )["Items"]

    index_before = alice()
    model_before = moto_table(table)

    # When a transaction creates b, updates a, then fails its condition on c
    with pytest.raises(client.exceptions.TransactionCanceledException) as cancelled:
        client.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": table, "Item": item("b", "alice", "1")}},
                {
                    "Update": {
                        "TableName": table,
                        "Key": key("a"),
                        "UpdateExpression": "SET #v = :v, #o = :o",
                        "ExpressionAttributeNames": {"#v": "value", "#o": "owner"},
                        "ExpressionAttributeValues": {":v": {"S": "2"}, ":o": {"S": "bob"}},
                    }
                },
                {
                    "Put": {
                        "TableName": table,
                        "Item": item("c", "carol", "2"),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
            ]
        )
    assert [r["Code"] for r in cancelled.value.response["CancellationReasons"]] == [
        "None",
        "None",
        "ConditionalCheckFailed",
    ]

    # Then b is gone, a and c hold their old values, the index answers as before, the stream shows nothing of it
    assert "Item" not in client.get_item(TableName=table, Key=key("b"), ConsistentRead=True)
    assert client.get_item(TableName=table, Key=key("a"), ConsistentRead=True)["Item"] == item("a", "alice", "1")
    assert client.get_item(TableName=table, Key=key("c"), ConsistentRead=True)["Item"] == item("c", "carol", "1")
    assert alice() == index_before == [item("a", "alice", "1")]
    assert read_stream() == []
    # And no table was copied for it: moto's copies were the table itself, and the table is the same one
    assert table_copies and not any(table_copies)
    assert moto_table(table) is model_before
    # (a deepcopy of a table outside a transaction still copies it)
    copied = copy.deepcopy(model_before)
    assert copied is not model_before
    assert copied.items.keys() == model_before.items.keys()
    # And a later write is read from the same stream
    client.put_item(TableName=table, Item=item("d", "dave", "1"))
    assert read_stream() == ["INSERT d"]


def test_a_transaction_refused_as_invalid_leaves_a_hash_only_table_as_it_was(
    moto_endpoint: str, table_copies: list[bool]
) -> None:
    """moto's other rollback: an item named twice is refused (ValidationException) after the first writes ran."""
    # Given a hash-only table holding a
    client = dynamodb_client(moto_endpoint)
    table = "rollback-hash-only"
    hash_only_table(client, table)
    client.put_item(TableName=table, Item={"pk": {"S": "a"}, "value": {"S": "1"}})

    # When a transaction creates d by an update, deletes a, then names d again
    update_d = {
        "TableName": table,
        "Key": {"pk": {"S": "d"}},
        "UpdateExpression": "SET #v = :v",
        "ExpressionAttributeNames": {"#v": "value"},
        "ExpressionAttributeValues": {":v": {"S": "1"}},
    }
    with pytest.raises(client.exceptions.ClientError, match="ValidationException"):
        client.transact_write_items(
            TransactItems=[
                {"Update": update_d},
                {"Delete": {"TableName": table, "Key": {"pk": {"S": "a"}}}},
                {"Put": {"TableName": table, "Item": {"pk": {"S": "d"}}}},
            ]
        )

    # Then a is back as it was, d does not exist, and no table was copied
    assert client.scan(TableName=table)["Items"] == [{"pk": {"S": "a"}, "value": {"S": "1"}}]
    assert table_copies and not any(table_copies)


def test_a_transaction_that_succeeds_writes_every_item(moto_endpoint: str, table_copies: list[bool]) -> None:
    # Given an indexed table with a stream, holding a and c
    client = dynamodb_client(moto_endpoint)
    table = "transaction-succeeds"
    read_stream = indexed_table_holding_a_and_c(moto_endpoint, table)

    # When a transaction creates b, updates a and deletes c
    client.transact_write_items(
        TransactItems=[
            {
                "Put": {
                    "TableName": table,
                    "Item": item("b", "alice", "1"),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            {
                "Update": {
                    "TableName": table,
                    "Key": key("a"),
                    "UpdateExpression": "SET #v = :v",
                    "ExpressionAttributeNames": {"#v": "value"},
                    "ExpressionAttributeValues": {":v": {"S": "2"}},
                }
            },
            {"Delete": {"TableName": table, "Key": key("c")}},
        ]
    )

    # Then all three are written, and streamed, without a copy of the table
    items = client.scan(TableName=table, ConsistentRead=True)["Items"]
    assert sorted(items, key=lambda i: i["pk"]["S"]) == [item("a", "alice", "2"), item("b", "alice", "1")]
    assert read_stream() == ["INSERT b", "MODIFY a", "REMOVE c"]
    assert table_copies and not any(table_copies)


# --- queries: a query reads its partition, through an index of the items kept up to date ---------------------------


def test_a_query_of_the_index_answers_as_the_items_are_after_every_kind_of_write(moto_endpoint: str) -> None:
    # Given an indexed table whose index has been queried once (so its key index is built)
    client = dynamodb_client(moto_endpoint)
    table = "query-indexed"
    indexed_streamed_table(client, aws_client("dynamodbstreams", moto_endpoint), table)
    for pk, owner in [("a", "alice"), ("b", "alice"), ("c", "carol")]:
        client.put_item(TableName=table, Item=item(pk, owner, "1"))

    def owned_by(owner: str) -> list[str]:
        answer = client.query(
            TableName=table,
            IndexName="by-owner",
            KeyConditionExpression="#o = :o",
            ExpressionAttributeNames={"#o": "owner"},
            ExpressionAttributeValues={":o": {"S": owner}},
        )
        return [found["pk"]["S"] for found in answer["Items"]]

    def truth(owner: str) -> list[str]:  # what every item of the table says
        items = client.scan(TableName=table, ConsistentRead=True)["Items"]
        return sorted(found["pk"]["S"] for found in items if found.get("owner", {}).get("S") == owner)

    assert owned_by("alice") == ["a", "b"]

    # When items are written every way moto changes them: an update that moves one, a put that replaces
    # one, a delete, a batch, an update that creates one, a transaction, and a cancelled transaction
    def set_owner(pk: str, owner: str) -> dict[str, Any]:
        return {
            "TableName": table,
            "Key": key(pk),
            "UpdateExpression": "SET #o = :o",
            "ExpressionAttributeNames": {"#o": "owner"},
            "ExpressionAttributeValues": {":o": {"S": owner}},
        }

    client.update_item(**set_owner("a", "bob"))
    client.put_item(TableName=table, Item=item("b", "carol", "2"))
    client.delete_item(TableName=table, Key=key("c"))
    client.batch_write_item(RequestItems={table: [{"PutRequest": {"Item": item("d", "alice", "1")}}]})
    client.update_item(**set_owner("e", "alice"))
    client.transact_write_items(
        TransactItems=[
            {"Update": set_owner("d", "bob")},
            {"Put": {"TableName": table, "Item": item("f", "alice", "1")}},
        ]
    )
    with pytest.raises(client.exceptions.TransactionCanceledException):
        client.transact_write_items(
            TransactItems=[
                {"Update": set_owner("e", "bob")},
                {"Put": {"TableName": table, "Item": item("g", "alice", "1")}},
                {
                    "ConditionCheck": {
                        "TableName": table,
                        "Key": key("a"),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
            ]
        )

    # Then the index answers, for every owner, what the items say
    for owner in ("alice", "bob", "carol"):
        assert owned_by(owner) == truth(owner)
    assert owned_by("alice") == ["e", "f"]
    assert owned_by("bob") == ["a", "d"]


def test_a_query_hands_moto_only_the_items_of_its_partition(moto_endpoint: str) -> None:
    from moto.dynamodb.models.dynamo_type import DynamoType

    from devtools.embedded_dynamodb_costs import partition_of

    # Given a table with items under two hash keys and two owners
    client = dynamodb_client(moto_endpoint)
    table = "query-partition"
    indexed_streamed_table(client, aws_client("dynamodbstreams", moto_endpoint), table)
    for pk, sk, owner in [("a", "1", "alice"), ("a", "2", "bob"), ("b", "1", "alice"), ("c", "1", "carol")]:
        client.put_item(TableName=table, Item={"pk": {"S": pk}, "sk": {"S": sk}, "owner": {"S": owner}})
    model = moto_table(table)

    def keys(items: list[Any] | None) -> list[tuple[str, str]]:
        assert items is not None
        return [(found.hash_key.value, found.range_key.value) for found in items]

    # Then a query of the table reads the items of its hash key, a query of the index those of its value
    assert keys(partition_of(model, {"hash_key": DynamoType({"S": "a"})})) == [("a", "1"), ("a", "2")]
    owner_is = {"index_name": "by-owner", "hash_key_conditions": [("owner", DynamoType({"S": "alice"}))]}
    assert keys(partition_of(model, owner_is)) == [("a", "1"), ("b", "1")]
    assert keys(partition_of(model, {"hash_key": DynamoType({"S": "nobody"})})) == []
    # And a query it cannot narrow is left to moto's reading of every item
    assert partition_of(model, {"index_name": "by-owner", "hash_key_conditions": []}) is None


# --- the stream: records every reader has read are dropped, the latest kept ---------------------------------------


def test_the_stream_keeps_what_a_reader_has_not_read_and_its_latest_records(
    moto_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import devtools.embedded_dynamodb as embedded

    monkeypatch.setattr(embedded, "STREAM_RECORDS_KEPT", 2)
    # Given a streamed table, a fast reader and a slow one, both at the start
    client = dynamodb_client(moto_endpoint)
    streams = aws_client("dynamodbstreams", moto_endpoint)
    table = "stream-trimmed"
    arn = hash_only_table(client, table, stream=True)
    (shard,) = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]

    def reader(kind: str = "TRIM_HORIZON") -> Callable[[], list[tuple[str, int]]]:
        iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType=kind)[
            "ShardIterator"
        ]

        def read() -> list[tuple[str, int]]:
            nonlocal iterator
            answer = streams.get_records(ShardIterator=iterator)
            iterator = answer["NextShardIterator"]
            return [(r["dynamodb"]["Keys"]["pk"]["S"], int(r["dynamodb"]["SequenceNumber"])) for r in answer["Records"]]

        return read

    fast, slow = reader(), reader()
    for pk in "abcde":
        client.put_item(TableName=table, Item={"pk": {"S": pk}})

    # When the fast reader reads everything, the slow one still reads all five
    numbers = dict(fast())
    assert list(numbers) == list("abcde")
    assert [pk for pk, _ in slow()] == list("abcde")
    # Then, both past them, the shard keeps only the latest two: a reader starting now sees d and e
    assert len(moto_table(table).stream_shard.items) == 2
    assert reader()() == [("d", numbers["d"]), ("e", numbers["e"])]
    # And the next record's sequence number follows e's, for every reader
    client.put_item(TableName=table, Item={"pk": {"S": "f"}})
    assert fast() == slow() == [("f", numbers["e"] + 1)]


# --- finding the installation and the prerequisites (no JVM) ---------------------------------------------------


def fake_package(prefix: Path, version: str) -> Path:
    package = prefix / "node_modules" / NPM_PACKAGE
    release = package / "lib" / "dynamodb_local_2026-01-16"
    (release / "DynamoDBLocal_lib").mkdir(parents=True)
    (release / "DynamoDBLocal.jar").write_bytes(b"jar")
    (package / "package.json").write_text(json.dumps({"name": NPM_PACKAGE, "version": version}))
    return release


def test_find_installation_finds_the_jar_of_the_pinned_version(tmp_path: Path) -> None:
    release = fake_package(tmp_path, NPM_PACKAGE_VERSION)
    installation = find_installation(tmp_path)
    assert installation is not None
    assert installation.jar == release / "DynamoDBLocal.jar"
    assert installation.native_libraries == release / "DynamoDBLocal_lib"


def test_find_installation_ignores_another_version(tmp_path: Path) -> None:
    fake_package(tmp_path, "11.0.0")
    assert find_installation(tmp_path) is None


def test_missing_prerequisites_names_java_node_and_npm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a PATH without java, node or npm, and nothing installed yet
    monkeypatch.setenv("PATH", str(tmp_path))
    missing = missing_prerequisites(prefix=tmp_path / "nothing-here")
    assert [entry.split()[0] for entry in missing] == ["java", "node", "npm"]
    # Once the package is installed, only java is still needed
    fake_package(tmp_path / "installed", NPM_PACKAGE_VERSION)
    assert [entry.split()[0] for entry in missing_prerequisites(prefix=tmp_path / "installed")] == ["java"]


# --- the fixture's skip/fail policy, in a pytest of its own --------------------------------------------------------


@pytest.mark.parametrize(("ci", "outcome"), [("", "skipped"), ("true", "errors")])
def test_fixture_skips_loudly_without_java_but_fails_under_ci(tmp_path: Path, ci: str, outcome: str) -> None:
    # Given a test using the fixture, on a machine without java
    (tmp_path / "conftest.py").write_text("from devtools.pytest_fixtures import dynamodb_local_endpoint\n")
    (tmp_path / "test_needs_ddb.py").write_text(
        "def test_it(dynamodb_local_endpoint):\n    assert dynamodb_local_endpoint\n"
    )
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    no_java = tmp_path / "bin"
    no_java.mkdir()
    env = {**os.environ, "PATH": str(no_java), "CI": ci, "PYTHONPATH": str(PROJECT_ROOT)}
    # When pytest runs it
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:xdist", str(tmp_path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    # Then it skips with a warning on the terminal, or under CI=true it errors
    assert f"1 {'error' if outcome == 'errors' else 'skipped'}" in result.stdout, result.stdout
    if outcome == "skipped":
        assert result.returncode == 0
        assert "WARNING: DynamoDB Local tests SKIPPED: missing java" in result.stdout
    else:
        assert result.returncode != 0
        assert "CI=true" in result.stdout


# --- DynamoDB Local itself -------------------------------------------------------------------------------------------


@pytest.mark.dynamodb_local
def test_dynamodb_local_fixture_answers(dynamodb_local_endpoint: str) -> None:
    assert dynamodb_local_endpoint.startswith("http://127.0.0.1:")
    response = dynamodb_client(dynamodb_local_endpoint).list_tables()
    assert response["ResponseMetadata"]["HTTPHeaders"]["server"].startswith("Jetty")  # the Java one, not moto


@pytest.mark.dynamodb_local
def test_dynamodb_local_stops_its_jvm_even_when_the_body_raises(dynamodb_local_endpoint: str) -> None:
    # (depends on the fixture so that it is skipped, or fails under CI, with it)
    # When the block using a fresh DynamoDB Local raises
    with pytest.raises(RuntimeError, match="boom"), dynamodb_local() as endpoint_url:
        assert dynamodb_client(endpoint_url).list_tables()["TableNames"] == []
        raise RuntimeError("boom")
    # Then nothing listens on its port any more, and no JVM of it is left
    assert port_is_closed(endpoint_url)
    port = endpoint_url.rsplit(":", 1)[1]
    processes = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True, check=True).stdout
    assert not [line for line in processes.splitlines() if "DynamoDBLocal.jar" in line and f"-port {port}" in line]


@pytest.mark.dynamodb_local
def test_create_table_in_dynamodb_local(ddb_local_table: tuple[Any, str]) -> None:
    client, table_name = ddb_local_table
    # Then the table from template.yaml has its indexes (all ACTIVE), TTL and stream
    table = client.describe_table(TableName=table_name)["Table"]
    assert table["TableStatus"] == "ACTIVE"
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    table_properties = load_template(DEFAULT_TEMPLATE)["Resources"]["TokensTable"]["Properties"]
    declared = table_properties["GlobalSecondaryIndexes"]
    indexes = {index["IndexName"]: index for index in table["GlobalSecondaryIndexes"]}
    assert set(indexes) == {index["IndexName"] for index in declared}
    assert {index["IndexStatus"] for index in indexes.values()} == {"ACTIVE"}
    for index in declared:  # projections as declared, INCLUDE lists included
        assert indexes[index["IndexName"]]["Projection"] == index["Projection"]
    assert table["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    ttl = client.describe_time_to_live(TableName=table_name)["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "purge_at"}
    # And the index answers a query, newest first
    for sort_key in ("2026-01-01#a", "2026-02-01#b"):
        client.put_item(
            TableName=table_name,
            Item={
                "pk": {"S": f"TOKEN#{sort_key}"},
                "sk": {"S": "TOKEN"},
                "org_pk": {"S": "ORG#acme"},
                "org_sk": {"S": sort_key},
            },
        )
    items = client.query(
        TableName=table_name,
        IndexName="by-organization",
        KeyConditionExpression="org_pk = :org",
        ExpressionAttributeValues={":org": {"S": "ORG#acme"}},
        ScanIndexForward=False,
    )["Items"]
    assert [item["org_sk"]["S"] for item in items] == ["2026-02-01#b", "2026-01-01#a"]


@pytest.mark.dynamodb_local
def test_each_ddb_local_table_is_fresh(ddb_local_table: tuple[Any, str], dynamodb_local_endpoint: str) -> None:
    client, table_name = ddb_local_table
    assert client.scan(TableName=table_name)["Count"] == 0
    # -sharedDb: a client with other credentials sees the same tables
    other = dynamodb_client(dynamodb_local_endpoint)
    assert table_name in other.list_tables()["TableNames"]
