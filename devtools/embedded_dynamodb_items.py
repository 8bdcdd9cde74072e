"""The embedded DynamoDB's items at rest: packed, so the local run's memory grows by what it stores.

moto keeps every item as live Python objects: an `Item`, a `LimitedSizeDict` of its attributes and a
`DynamoType` (an object and its instance dictionary) for every attribute, map entry and list element,
each string its own object. A token creation writes three items (the token, its audit event, its name
guard: 2.3 kB as DynamoDB JSON) that take about 16.5 kB that way; 5,000 creations grew the local run by
85 MB (`make bench BENCH=soak`). `pack_items_at_rest` keeps an item's attributes pickled and compressed
(`Item._packed`, about a tenth of the memory) between requests and unpacks them when a request reads
them (`Item.attrs`, a property from then on); the items a request unpacked or made are packed again when
it has answered, those still alive (the copies moto makes for an answer are gone by then). The key
attributes (`hash_key`, `range_key`) stay live, so listing, sorting and partitioning a table (see
`devtools.embedded_dynamodb_costs`) unpack nothing.

Why it is safe: moto changes an item by changing its `attrs` in place (an update, a transaction), so an
item must not be packed while a request still holds its attributes. DynamoDB requests to moto run one at a
time here (`request_lock`, held for the whole of `DynamoHandler.call_action`, and of a table export's or
import's thread; moto has no locks of its own, so this also makes its condition checks atomic, as
DynamoDB's are), and the only items packed are the ones the finishing request unpacked or made, on its
own thread. Outside a request (moto used in the same process without its server, in a test) an item
unpacked stays unpacked: plain moto. Pickle keeps every `DynamoType` exactly as it was (types, binary
values, sets, nesting); it only ever reads back what this process wrote.
"""

from __future__ import annotations

import pickle
import threading
import weakref
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from devtools.embedded_dynamodb_costs import install_once

request_lock = threading.RLock()  # one DynamoDB request at a time, while it runs and packs
_request = threading.local()  # .unpacked: weak references to the items this thread's request unpacked or made


def _note_unpacked(item: Any) -> None:
    unpacked = getattr(_request, "unpacked", None)
    if unpacked is not None:
        unpacked.append(weakref.ref(item))


def pack(item: Any) -> None:
    """Pickle (and compress) the item's attributes and drop the live ones (a packed item is left as it is)."""
    attrs = item._attrs
    if attrs is not None:
        item._packed = zlib.compress(pickle.dumps(dict(attrs), protocol=pickle.HIGHEST_PROTOCOL), 1)
        item._attrs = None


def is_packed(item: Any) -> bool:
    return item._attrs is None and item._packed is not None


@contextmanager
def packing_request() -> Iterator[None]:
    """Run a request to moto alone (under `request_lock`); at its end, pack the items it unpacked or made
    that are still alive (a copy moto made for its answer is gone by then, and costs no packing). A
    request inside another (same thread) packs with the outer one."""
    with request_lock:
        if getattr(_request, "unpacked", None) is not None:
            yield
            return
        _request.unpacked = []
        try:
            yield
        finally:
            unpacked, _request.unpacked = _request.unpacked, None  # (reset first: a failed pack leaves no list)
            for reference in unpacked:
                item = reference()
                if item is not None:
                    pack(item)


def _run_as_a_request(method: Callable[..., Any]) -> Callable[..., Any]:
    def run(*args: Any, **kwargs: Any) -> Any:
        with packing_request():
            return method(*args, **kwargs)

    return run


def pack_items_at_rest() -> None:
    """Install the packing (once per process; idempotent): see the module's docstring."""
    install_once("packed items", _install_packing)


def _install_packing() -> None:
    from moto.dynamodb.models.dynamo_type import Item, LimitedSizeDict
    from moto.dynamodb.models.table_export import TableExport
    from moto.dynamodb.models.table_import import TableImport
    from moto.dynamodb.responses import DynamoHandler

    def attrs(self: Any) -> Any:
        live = self._attrs
        if live is None:
            if self._packed is None:  # an item made before the install: its attributes, as moto set them
                live = self.__dict__.pop("attrs", None)
                if live is None:
                    raise AttributeError("attrs")
                self._attrs = live
                return live
            live = LimitedSizeDict.__new__(LimitedSizeDict)
            dict.update(live, pickle.loads(zlib.decompress(self._packed)))  # noqa: S301 - what pack() wrote
            self._attrs, self._packed = live, None
            _note_unpacked(self)
        return live

    def set_attrs(self: Any, value: Any) -> None:
        self._attrs, self._packed = value, None
        _note_unpacked(self)

    Item._attrs = Item._packed = None  # type: ignore[attr-defined]  # class defaults: instances stay compact
    Item.attrs = property(attrs, set_attrs)  # type: ignore[assignment]
    DynamoHandler.call_action = _run_as_a_request(DynamoHandler.call_action)  # type: ignore[method-assign]
    # An export or an import reads or writes the items on a thread of its own: as a request too.
    TableExport.run = _run_as_a_request(TableExport.run)  # type: ignore[method-assign]
    TableImport.run = _run_as_a_request(TableImport.run)  # type: ignore[method-assign]
