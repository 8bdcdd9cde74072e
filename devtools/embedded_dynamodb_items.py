"""The embedded DynamoDB's items at rest: packed, so the local run's memory grows by what it stores.

moto keeps every item as live Python objects: an `Item`, a `LimitedSizeDict` of its attributes and a
`DynamoType` (an object and its instance dictionary) for every attribute, map entry and list element,
each string its own object. A token creation writes three items (the token, its audit event, its name
guard: 2.3 kB as DynamoDB JSON) that take about 16.5 kB that way; 5,000 creations grew the local run by
85 MB (`make bench BENCH=soak`). `pack_items_at_rest` keeps an item's attributes pickled (`Item._packed`)
between requests and unpickles them when a request reads them (`Item.attrs`, a property from then on);
the items a request unpacked are packed again when it has answered. The key attributes (`hash_key`,
`range_key`) stay live, so listing, sorting and partitioning a table (see
`devtools.embedded_dynamodb_costs`) unpack nothing.

Why it is safe: moto changes an item by changing its `attrs` in place (an update, a transaction), so an
item must not be packed while a request still holds its attributes. DynamoDB requests to moto run one at a
time here (`request_lock`, held for the whole of `DynamoHandler.call_action`; moto has no locks of its
own, so this also makes its condition checks atomic, as DynamoDB's are), and the only items packed are
the ones the finishing request unpacked or created, on its own thread. Outside a request (moto used in the
same process without its server, in a test) an item unpacked stays unpacked: plain moto. Pickle keeps
every `DynamoType` exactly as it was (types, binary values, sets, nesting); it only ever reads back what
this process wrote.
"""

from __future__ import annotations

import pickle
import threading
import zlib
from typing import Any

request_lock = threading.RLock()  # one DynamoDB request at a time, while it runs and packs
_request = threading.local()  # .unpacked: the items this thread's current request unpacked or created
_patch_lock = threading.Lock()
_installed = False


def _note_unpacked(item: Any) -> None:
    unpacked = getattr(_request, "unpacked", None)
    if unpacked is not None:
        unpacked.append(item)


def pack(item: Any) -> None:
    """Pickle (and compress) the item's attributes and drop the live ones (a packed item is left as it is)."""
    attrs = item._attrs
    if attrs is not None:
        item._packed = zlib.compress(pickle.dumps(dict(attrs), protocol=pickle.HIGHEST_PROTOCOL), 1)
        item._attrs = None


def is_packed(item: Any) -> bool:
    return item._attrs is None and item._packed is not None


def pack_items_at_rest() -> None:
    """Install the packing (once per process; idempotent): see the module's docstring."""
    global _installed
    from moto.dynamodb.models.dynamo_type import Item, LimitedSizeDict
    from moto.dynamodb.responses import DynamoHandler

    with _patch_lock:
        if _installed:
            return

        def attrs(self: Any) -> Any:
            live = self._attrs
            if live is None:
                if self._packed is None:
                    raise AttributeError("attrs")
                live = LimitedSizeDict.__new__(LimitedSizeDict)
                dict.update(live, pickle.loads(zlib.decompress(self._packed)))  # noqa: S301 - what pack() wrote
                self._attrs, self._packed = live, None
                _note_unpacked(self)
            return live

        def set_attrs(self: Any, value: Any) -> None:
            self._attrs, self._packed = value, None
            _note_unpacked(self)

        call_action = DynamoHandler.call_action

        def call_action_then_pack(self: Any) -> Any:
            with request_lock:
                outer = getattr(_request, "unpacked", None)
                _request.unpacked = [] if outer is None else outer  # (a nested call packs with its caller)
                try:
                    return call_action(self)
                finally:
                    if outer is None:
                        for item in _request.unpacked:
                            pack(item)
                        _request.unpacked = None

        Item._attrs = Item._packed = None  # type: ignore[attr-defined]  # class defaults: instances stay compact
        Item.attrs = property(attrs, set_attrs)  # type: ignore[assignment]
        DynamoHandler.call_action = call_action_then_pack  # type: ignore[method-assign]
        _installed = True
