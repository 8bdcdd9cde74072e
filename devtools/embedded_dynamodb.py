"""An in-process DynamoDB: moto's server in a thread. Pure Python, starts in about a second.

Moto keeps its data in process-wide backends, so `moto.mock_aws` (or a moto reset) in the same process
wipes this server's tables too. It never deletes TTL-expired items; `devtools.dynamodb_local` is closer
to the real service where that matters. Unlike plain moto, it honours TransactWriteItems'
ClientRequestToken (`honour_client_request_tokens`), its memory does not grow with every write and every
stream poll (`keep_memory_flat`), and a transaction or a query costs what it touches, not the size of
its tables (`devtools.embedded_dynamodb_costs`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from devtools.embedded_dynamodb_costs import make_queries_read_one_partition, roll_back_only_what_transactions_touch

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
        seen: dict[str, tuple[float, threading.Lock, list[bool]]] = {}

        def transact_write_items(self: Any) -> Any:
            token = self.body.get("ClientRequestToken")
            if not token:
                return original(self)
            now = time.monotonic()
            with registry_lock:
                for old in [t for t, (at, _, _) in seen.items() if now - at > IDEMPOTENCY_WINDOW_SECONDS]:
                    del seen[old]
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


def keep_memory_flat() -> None:
    """Keep the local run's memory flat however long it runs (installed once per process, like
    `honour_client_request_tokens`).

    Plain moto grows without bound under `make run`: (1) it keeps every model object it ever made
    (`BaseModel.instances_tracked`, for its web dashboard); (2) every GetRecords registers a new shard
    iterator that is never forgotten (the stream reader polls five times a second); (3) its
    TransactWriteItems left whole copies of the table behind, stream shard included (see
    `devtools.embedded_dynamodb_costs.roll_back_only_what_transactions_touch`, which no longer makes
    them). Here moto tracks no instances (its dashboard shows none), a table's copy (still made by a
    backup, say) shares its stream shard instead of copying every record ever written, and an iterator is
    forgotten once GetRecords has used it (its answer carries the next one)."""
    global _streams_patched
    from moto.core.common_models import BaseModel
    from moto.dynamodb.models.table import StreamShard
    from moto.dynamodbstreams.models import DynamoDBStreamsBackend

    with _patch_lock:
        if _streams_patched:
            return
        BaseModel.__new__ = lambda cls, *args, **kwargs: object.__new__(cls)  # type: ignore[method-assign]
        StreamShard.__deepcopy__ = lambda self, memo: self  # type: ignore[attr-defined]
        get_records = DynamoDBStreamsBackend.get_records

        def get_records_once(self: Any, iterator_arn: str, limit: int) -> dict[str, Any]:
            try:
                return get_records(self, iterator_arn, limit)
            finally:
                self.shard_iterators.pop(iterator_arn, None)

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
