"""What a call to the embedded DynamoDB (moto) costs: the items it touches, not the size of its tables.

Plain moto's TransactWriteItems deep-copies the whole table once per item, for a rollback: O(table). Under
`make run` that is every token creation (a 3-item transaction), so a creation slowed down as the table
filled. The installer here, once per process (`devtools.embedded_dynamodb.embedded_dynamodb` calls it),
makes it cost what it touches; `tests/tooling/test_devtools_dynamodb.py` checks the answers are unchanged.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

_patch_lock = threading.Lock()
_installed: set[str] = set()
_transaction_running = threading.local()  # .active: this thread is inside a patched TransactWriteItems
_transactions_lock = threading.Lock()
stream_lock = threading.Lock()  # a stream shard's records and trim horizon change under it (see keep_memory_flat)


def _install_once(name: str, install: Callable[[], None]) -> None:
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
    computes its indexes from the items at each query, so they follow), and the stream records written
    since it began are dropped (the cancelled transaction's records were never written). Transactions
    run one at a time, so a rollback cannot undo another transaction's write. When an operation's key
    cannot be read, moto's whole-table copy is used for that call."""
    _install_once("transactions", _install_transactions)


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
