"""What a call to the embedded DynamoDB (moto) costs: the items it touches, not the size of its tables.

Plain moto makes two calls the local run depends on cost O(table): a TransactWriteItems deep-copies the
whole table once per item, for a rollback, and a Query sorts and walks every item of the table, whichever
partition or index it asks for. Under `make run` the first is every token creation (a 3-item
transaction), the second every stream record the webhook fan-out handles (a query of the organization's
endpoints on the `by-organization` index), so a creation slowed down as the table filled. The two
installers here, each once per process (`devtools.embedded_dynamodb.embedded_dynamodb` calls them), make
both cost what they touch; `tests/tooling/test_devtools_dynamodb.py` checks the answers are unchanged.
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

_patch_lock = threading.Lock()
_installed: set[str] = set()
_transaction_running = threading.local()  # .active: this thread is inside a patched TransactWriteItems
_transactions_lock = threading.Lock()
stream_lock = threading.Lock()  # a stream shard's records and trim horizon change under it (see keep_memory_flat)
_query_scope = threading.local()  # .candidates: (table, items) the next all_items() of this thread returns
_indexes_lock = threading.Lock()
INDEX_ATTRIBUTE = "_tokensmith_key_index"  # where a table keeps its KeyIndex (copied with the table)


def install_once(name: str, install: Callable[[], None]) -> None:
    """Run `install` (a patch of moto) the first time `name` is asked for in this process."""
    with _patch_lock:
        if name not in _installed:
            install()
            _installed.add(name)


def current_item(table: Any, hash_value: Any, range_value: Any) -> Any:
    """The item at this key, or None; unlike moto's `get_item`, leaves no empty hash bucket behind."""
    if range_value is None:
        return table.items.get(hash_value)
    return (table.items.get(hash_value) or {}).get(range_value)


# --- transactions ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SavedItem:
    """One item a transaction is about to write, as it was before: `item` a deep copy (None: absent);
    `bucket_existed`, for a hash+range table, whether its hash key held any item (moto's `items` is
    hash -> range -> Item there, and a read of a missing hash key leaves an empty bucket behind)."""

    table: Any
    hash_value: Any
    range_value: Any
    item: Any
    bucket_existed: bool

    def restore(self) -> None:
        items = self.table.items
        if self.range_value is None:
            if self.item is None:
                items.pop(self.hash_value, None)
            else:
                items[self.hash_value] = self.item
        elif self.item is not None:
            items[self.hash_value][self.range_value] = self.item
        else:
            bucket = items.get(self.hash_value)
            if bucket is not None:
                bucket.pop(self.range_value, None)
            if not self.bucket_existed:
                items.pop(self.hash_value, None)  # only this transaction's items can be in it
        refresh_key_index(self.table, self.hash_value, self.range_value)


def save_touched_items(backend: Any, transact_items: list[dict[str, Any]]) -> list[SavedItem] | None:
    """The items the Put, Update and Delete operations of a transaction name, as they are now; None when
    an operation's key cannot be read as moto will read it (then moto's own whole-table copy is kept)."""
    import copy

    from moto.dynamodb.models.dynamo_type import DynamoType

    saved: dict[tuple[str, Any, Any], SavedItem] = {}
    for entry in transact_items:
        for operation, details in entry.items():
            if operation not in ("Put", "Update", "Delete") or not isinstance(details, dict):
                continue  # a ConditionCheck writes nothing; an unknown operation fails before writing
            table = backend.tables.get(details.get("TableName"))
            if table is None:
                continue  # moto cancels the transaction on it before writing it
            key: Any = details.get("Item") if operation == "Put" else details.get("Key")
            try:
                hash_value = DynamoType(key[table.hash_key_attr])
                range_value = DynamoType(key[table.range_key_attr]) if table.range_key_attr is not None else None
            except Exception:  # noqa: BLE001 - any key moto may still read its own way: fall back to its copy
                return None
            if (table.name, hash_value, range_value) in saved:
                continue
            bucket_existed = range_value is None or hash_value in table.items
            current = copy.deepcopy(current_item(table, hash_value, range_value))
            saved[(table.name, hash_value, range_value)] = SavedItem(
                table, hash_value, range_value, current, bucket_existed
            )
    return list(saved.values())


def roll_back_only_what_transactions_touch() -> None:
    """Make a TransactWriteItems cost what it touches, not the size of its tables.

    For a rollback, moto's `DynamoDBBackend.transact_write_items` deep-copies the whole table once per
    item of the transaction before running it, and on failure (a Validation or MultipleTransactions error
    in its loop, or a cancellation after it) puts the copies in the tables' place. Here, before moto runs,
    the items its Put, Update and Delete operations name are deep-copied (absent ones noted), and
    `Table.__deepcopy__` returns the table itself while this thread runs the transaction (only then: any
    other deepcopy of a table, e.g. a backup's, copies it), so moto's copies and its swap cost nothing.
    On any exception the saved items are put back and the ones the transaction created removed (moto
    computes its indexes from the items, and `KeyIndex` is refreshed for each), and the stream records written
    since it began are dropped (the cancelled transaction's records were never written). Transactions
    run one at a time, so a rollback cannot undo another transaction's write. When an operation's key
    cannot be read, moto's whole-table copy is used for that call."""
    install_once("transactions", _install_transactions)


def _install_transactions() -> None:
    from copy import _reconstruct  # type: ignore[attr-defined]  # what copy.deepcopy does for a plain object

    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table

    transact_write_items = DynamoDBBackend.transact_write_items

    def deepcopy_unless_in_a_transaction(self: Any, memo: dict[int, Any]) -> Any:
        if getattr(_transaction_running, "active", False):
            return self  # moto's rollback copy: the touched items were saved instead
        return _reconstruct(self, memo, *self.__reduce_ex__(4))

    def transact_write_items_saving_touched_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        with _transactions_lock:
            saved = save_touched_items(self, transact_items)
            shards = [t.stream_shard for t in self.tables.values() if getattr(t, "stream_shard", None) is not None]
            ends = [shard.starting_sequence_number + len(shard.items) for shard in shards]  # (its head may be trimmed)
            _transaction_running.active = saved is not None
            try:
                transact_write_items(self, transact_items)
            except Exception:
                for item in reversed(saved or []):
                    item.restore()
                with stream_lock:
                    for shard, end in zip(shards, ends, strict=True):
                        del shard.items[max(end - shard.starting_sequence_number, 0) :]  # never written, for DynamoDB
                raise
            finally:
                _transaction_running.active = False

    Table.__deepcopy__ = deepcopy_unless_in_a_transaction  # type: ignore[attr-defined]
    DynamoDBBackend.transact_write_items = transact_write_items_saving_touched_items  # type: ignore[method-assign]


# --- queries ------------------------------------------------------------------------------------------------------


class KeyIndex:
    """For one table, per global secondary index (with one hash key attribute) that has been queried: which
    items hold each value of its hash key. Built from the items on the index's first query, then kept up
    to date after every write of an item (`refresh`)."""

    def __init__(self) -> None:
        self.indexes: dict[str, tuple[str, dict[Any, set[tuple[Any, Any]]]]] = {}  # name -> (attribute, value -> keys)
        self.values: dict[tuple[Any, Any], dict[str, Any]] = {}  # key -> index name -> its value in the item

    def keys_with(self, table: Any, index_name: str, attribute: str, value: Any) -> list[tuple[Any, Any]]:
        built = self.indexes.get(index_name)
        if built is None or built[0] != attribute:
            self.indexes[index_name] = (attribute, {})
            for item in table.all_items():
                self.refresh(table, item.hash_key, item.range_key)
        return list(self.indexes[index_name][1].get(value, ()))

    def refresh(self, table: Any, hash_value: Any, range_value: Any) -> None:
        key = (hash_value, range_value)
        for index_name, old_value in self.values.pop(key, {}).items():
            keys = self.indexes[index_name][1].get(old_value)
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del self.indexes[index_name][1][old_value]
        item = current_item(table, hash_value, range_value)
        if item is None:
            return
        values = {}
        for index_name, (attribute, keys_by_value) in self.indexes.items():
            value = item.attrs.get(attribute)
            if value is None:
                continue
            try:
                keys_by_value.setdefault(value, set()).add(key)
            except TypeError:  # a list or map: never equal to the string, number or binary queried
                continue
            values[index_name] = value
        if values:
            self.values[key] = values


def refresh_key_index(table: Any, hash_value: Any, range_value: Any) -> None:
    """After a write of this item: bring the table's KeyIndex (if any) up to date."""
    index = getattr(table, INDEX_ATTRIBUTE, None)
    if index is not None:
        with _indexes_lock:
            index.refresh(table, hash_value, range_value)


def partition_of(table: Any, query: Mapping[str, Any]) -> list[Any] | None:
    """The items a query (the arguments of moto's `Table.query`) may answer with, a superset of its
    partition, sorted as moto's `all_items` sorts; None when it cannot tell (then moto reads every item)."""
    from moto.dynamodb.models.dynamo_type import Item

    index_name = query.get("index_name")
    conditions = dict(query.get("hash_key_conditions") or [])
    if not index_name:
        attribute, value = table.hash_key_attr, query.get("hash_key")
    else:
        index = next((i for i in table.all_indexes() if i.name == index_name), None)
        hash_keys = [k["AttributeName"] for k in index.schema if k["KeyType"] == "HASH"] if index else []
        if len(hash_keys) != 1 or hash_keys[0] not in conditions:
            return None
        attribute, value = hash_keys[0], conditions[hash_keys[0]]
    if value is None:
        return None
    if attribute == table.hash_key_attr:
        bucket = table.items.get(value)
        found = list(bucket.values()) if isinstance(bucket, dict) else [bucket]
    else:
        with _indexes_lock:
            index_of_keys = table.__dict__.setdefault(INDEX_ATTRIBUTE, KeyIndex())
            keys = index_of_keys.keys_with(table, index_name, attribute, value)
        found = [current_item(table, *key) for key in keys]
    items = [item for item in found if isinstance(item, Item)]
    return sorted(items, key=lambda x: (x.hash_key, x.range_key) if x.range_key else x.hash_key)


def make_queries_read_one_partition() -> None:
    """Make a Query read the items of the partition it names, not every item of the table.

    moto's `Table.query` builds its candidates from `all_items()` (every item, sorted) and keeps those
    whose key matches: O(table) for one partition. Here, while a query runs, `all_items()` returns only
    the items that can match: for the table's own key (or a local index), the items under the queried
    hash key; for a global secondary index with one hash key attribute, those holding the queried value,
    found through a `KeyIndex` the table keeps (built on the index's first query, then updated after
    every `Table.put_item`, `Table.delete_item`, `DynamoDBBackend.update_item` and transaction rollback,
    the only ways moto changes an item). moto then filters, sorts, pages and projects them exactly as
    before. A query it cannot narrow (several hash key attributes, no key condition) reads every item, as
    in moto. Like DynamoDB's, an index answer may miss a write made by another thread at that instant."""
    install_once("queries", _install_queries)


def _install_queries() -> None:
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table

    query, all_items = Table.query, Table.all_items
    put_item, delete_item, update_item = Table.put_item, Table.delete_item, DynamoDBBackend.update_item
    signature = inspect.signature(query)

    def query_one_partition(self: Any, *args: Any, **kwargs: Any) -> Any:
        _query_scope.candidates = (self, partition_of(self, signature.bind(self, *args, **kwargs).arguments))
        try:
            return query(self, *args, **kwargs)
        finally:
            _query_scope.candidates = None

    def all_items_of_the_partition(self: Any) -> list[Any]:
        table, candidates = getattr(_query_scope, "candidates", None) or (None, None)
        if table is not self or candidates is None:
            return all_items(self)
        _query_scope.candidates = None  # once: the query's own call
        return candidates

    def put_item_indexed(self: Any, *args: Any, **kwargs: Any) -> Any:
        item = put_item(self, *args, **kwargs)
        refresh_key_index(self, item.hash_key, item.range_key)
        return item

    def delete_item_indexed(self: Any, hash_key: Any, range_key: Any) -> Any:
        try:
            return delete_item(self, hash_key, range_key)
        finally:
            refresh_key_index(self, hash_key, range_key)

    def update_item_indexed(self: Any, table_name: str, key: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        from moto.dynamodb.models.dynamo_type import DynamoType

        try:
            return update_item(self, table_name, key, *args, **kwargs)
        finally:  # moto changes the item in place, and may have created it before failing
            table = self.tables.get(table_name)
            if table is not None and table.hash_key_attr in key:
                range_value = key.get(table.range_key_attr) if table.range_key_attr else None
                refresh_key_index(
                    table, DynamoType(key[table.hash_key_attr]), DynamoType(range_value) if range_value else None
                )

    Table.query = query_one_partition  # type: ignore[method-assign]
    Table.all_items = all_items_of_the_partition  # type: ignore[method-assign]
    Table.put_item = put_item_indexed  # type: ignore[method-assign]
    Table.delete_item = delete_item_indexed  # type: ignore[method-assign]
    DynamoDBBackend.update_item = update_item_indexed  # type: ignore[method-assign]
