"""An in-process DynamoDB: moto's server in a thread. Pure Python, starts in about a second.

Moto keeps its data in process-wide backends, so `moto.mock_aws` (or a moto reset) in the same process
wipes this server's tables too. It never deletes TTL-expired items; `devtools.dynamodb_local` is closer
to the real service where that matters. Unlike plain moto, it honours TransactWriteItems'
ClientRequestToken (`honour_client_request_tokens`), its memory does not grow with every write and every
stream poll (`keep_memory_flat`), an item's attributes are packed between requests (about a tenth of
moto's memory: `devtools.embedded_dynamodb_items`), and a transaction or a query costs what it touches,
not the size of its tables (`devtools.embedded_dynamodb_costs`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from devtools.embedded_dynamodb_costs import (
    make_queries_read_one_partition,
    roll_back_only_what_transactions_touch,
    stream_lock,
)
from devtools.embedded_dynamodb_items import pack_items_at_rest

IDEMPOTENCY_WINDOW_SECONDS = 600  # DynamoDB's: a token is remembered for 10 minutes
_patch_lock = threading.Lock()
_patched = False


def honour_client_request_tokens() -> None:
    """Make moto answer a repeated TransactWriteItems ClientRequestToken as DynamoDB does: without
    running the transaction again. Installed once per process; idempotent.

    botocore fills the token itself and keeps it across its retries, so that a retry of a
    transaction that went through (but whose answer came after the app's 1-second read timeout, as
    happens on a loaded machine) succeeds without writing twice. Plain moto runs the retry again: it
    fails its own conditions and a change that landed answers 409 or 500, a fault of the stand-in, not
    of the app."""
    global _patched
    from moto.core.responses import ActionResult
    from moto.dynamodb.responses import DynamoHandler

    with _patch_lock:
        if _patched:
            return
        original = DynamoHandler.transact_write_items
        registry_lock = threading.Lock()
        seen: dict[str, tuple[float, threading.Lock, list[bool]]] = {}  # oldest first (insertion order)

        def transact_write_items(self: Any) -> Any:
            token = self.body.get("ClientRequestToken")
            if not token:
                return original(self)
            now = time.monotonic()
            with registry_lock:
                while seen and now - seen[oldest := next(iter(seen))][0] > IDEMPOTENCY_WINDOW_SECONDS:
                    del seen[oldest]  # forgotten in order: each call costs O(1), not O(tokens in the window)
                _, lock, succeeded = seen.setdefault(token, (now, threading.Lock(), []))
            with lock:  # a retry waits for the attempt still running, then answers as it did
                if succeeded:
                    return ActionResult({"ConsumedCapacity": [], "ItemCollectionMetrics": {}})
                result = original(self)
                succeeded.append(True)
                return result

        DynamoHandler.transact_write_items = transact_write_items  # type: ignore[method-assign]
        _patched = True


_streams_patched = False
STREAM_RECORDS_KEPT = 1000  # a shard always keeps its latest records, for a reader that starts late
ITERATOR_LIFETIME_SECONDS = 15 * 60  # DynamoDB Streams': an unused shard iterator expires after 15 minutes


def trim_records_read(streams_backend: Any, shard: Any) -> None:
    """Drop the shard's records that every unexpired iterator of it has passed, but its latest
    `STREAM_RECORDS_KEPT`; its trim horizon (`starting_sequence_number`) moves past them. Under
    `stream_lock`."""
    now = time.monotonic()
    horizon = shard.starting_sequence_number + len(shard.items) - STREAM_RECORDS_KEPT
    for iterator in list(streams_backend.shard_iterators.values()):
        if iterator.stream_shard is shard and now - getattr(iterator, "issued_at", now) < ITERATOR_LIFETIME_SECONDS:
            horizon = min(horizon, iterator.sequence_number)
    read = horizon - shard.starting_sequence_number
    if read > 0:
        del shard.items[:read]
        shard.starting_sequence_number += read


DELETED_HANDLES_KEPT = 1000  # per queue: a repeated DeleteMessage of one of these still succeeds


class RecentHandles:
    """The latest `limit` receipt handles added, oldest forgotten first: moto's `Queue.deleted_messages`
    (which it reads with `in` and writes with `update`) without its growth."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.kept: OrderedDict[Any, None] = OrderedDict()  # oldest first
        self.lock = threading.Lock()  # SQS requests to moto run in parallel

    def __contains__(self, handle: object) -> bool:
        return handle in self.kept

    def __len__(self) -> int:
        return len(self.kept)

    def update(self, handles: Any) -> None:
        with self.lock:
            for handle in handles:
                if handle is None:  # (moto lists a message's unset first handle too)
                    continue
                self.kept[handle] = None
                self.kept.move_to_end(handle)
            while len(self.kept) > self.limit:
                self.kept.popitem(last=False)


def keep_memory_flat() -> None:
    """Keep the local run's memory flat however long it runs (installed once per process, like
    `honour_client_request_tokens`).

    Plain moto grows without bound under `make run`: (1) it keeps every model object it ever made
    (`BaseModel.instances_tracked`, for its web dashboard); (2) every GetRecords registers a new shard
    iterator that is never forgotten (the stream reader polls five times a second); (3) a table's stream
    shard keeps every record ever written, each with the item's images (7-15 kB in moto: three a token
    creation, one a last-use write), where DynamoDB trims them after 24 hours; (4) its TransactWriteItems
    left whole copies of the table behind, stream shard included (see
    `devtools.embedded_dynamodb_costs.roll_back_only_what_transactions_touch`, which no longer makes
    them). Here moto tracks no instances (its dashboard shows none); an iterator is forgotten once
    GetRecords has used it (its answer carries the next one); after each GetRecords the shard drops the
    records every iterator issued in the last 15 minutes has passed, but its latest
    `STREAM_RECORDS_KEPT` (so a reader that starts late at TRIM_HORIZON sees those, not 24 hours, and an
    iterator older than 15 minutes, expired in DynamoDB, reads on from the oldest record kept); and a
    table's copy (still made by a backup, say) shares its stream shard instead of copying it. (5) An SQS
    queue remembers the receipt handle of every message ever deleted (so that deleting one again
    succeeds, as in SQS): here its latest `DELETED_HANDLES_KEPT`."""
    global _streams_patched
    from moto.core.common_models import BaseModel
    from moto.dynamodb.models.table import StreamShard
    from moto.dynamodbstreams.models import DynamoDBStreamsBackend, ShardIterator
    from moto.sqs.models import Queue

    with _patch_lock:
        if _streams_patched:
            return
        BaseModel.__new__ = lambda cls, *args, **kwargs: object.__new__(cls)  # type: ignore[method-assign]
        StreamShard.__deepcopy__ = lambda self, memo: self  # type: ignore[attr-defined]
        add, get, get_records = StreamShard.add, StreamShard.get, DynamoDBStreamsBackend.get_records
        iterator_init, queue_init = ShardIterator.__init__, Queue.__init__

        def add_under_lock(self: Any, old: Any, new: Any) -> None:
            with stream_lock:  # its sequence number is the shard's length plus its trim horizon
                add(self, old, new)

        def get_from_the_trim_horizon(self: Any, start: int, quantity: int) -> list[dict[str, Any]]:
            with stream_lock:
                return get(self, max(start, self.starting_sequence_number), quantity)

        def iterator_with_its_issue_time(self: Any, *args: Any, **kwargs: Any) -> None:
            iterator_init(self, *args, **kwargs)
            self.issued_at = time.monotonic()

        def get_records_once(self: Any, iterator_arn: str, limit: int) -> dict[str, Any]:
            shard = self.shard_iterators[iterator_arn].stream_shard if iterator_arn in self.shard_iterators else None
            try:
                return get_records(self, iterator_arn, limit)
            finally:
                self.shard_iterators.pop(iterator_arn, None)
                if shard is not None:
                    with stream_lock:
                        trim_records_read(self, shard)

        def queue_remembering_recent_deletes(self: Any, *args: Any, **kwargs: Any) -> None:
            queue_init(self, *args, **kwargs)
            self.deleted_messages = RecentHandles(DELETED_HANDLES_KEPT)

        Queue.__init__ = queue_remembering_recent_deletes  # type: ignore[method-assign]
        StreamShard.add = add_under_lock  # type: ignore[method-assign]
        StreamShard.get = get_from_the_trim_horizon  # type: ignore[method-assign]
        ShardIterator.__init__ = iterator_with_its_issue_time  # type: ignore[method-assign]
        DynamoDBStreamsBackend.get_records = get_records_once  # type: ignore[method-assign]
        _streams_patched = True


@contextmanager
def embedded_dynamodb(host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Run moto's server on `host` and a free port (or `port`); yield its endpoint URL; stop it on exit."""
    from moto.server import ThreadedMotoServer  # heavy: imported only when used

    honour_client_request_tokens()
    keep_memory_flat()
    roll_back_only_what_transactions_touch()
    make_queries_read_one_partition()
    pack_items_at_rest()
    werkzeug_logger = logging.getLogger("werkzeug")
    if werkzeug_logger.level == logging.NOTSET:
        werkzeug_logger.setLevel(logging.WARNING)  # no access-log line per DynamoDB call
    server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
    server.start()
    try:
        bound_host, bound_port = server.get_host_and_port()
        yield f"http://{bound_host}:{bound_port}"
    finally:
        server.stop()
        # stop() shuts the serve loop down but leaves the listening socket open; close it too.
        wsgi_server = getattr(server, "_server", None)
        if wsgi_server is not None:
            wsgi_server.server_close()
