"""An in-process DynamoDB: moto's server in a thread. Pure Python, starts in about a second.

Moto keeps its data in process-wide backends, so `moto.mock_aws` (or a moto reset) in the same process
wipes this server's tables too. It never deletes TTL-expired items; `devtools.dynamodb_local` is closer
to the real service where that matters. Unlike plain moto, it honours TransactWriteItems'
ClientRequestToken (see `honour_client_request_tokens`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

IDEMPOTENCY_WINDOW_SECONDS = 600  # DynamoDB's: a token is remembered for 10 minutes
_patch_lock = threading.Lock()
_patched = False


def honour_client_request_tokens() -> None:
    """Make moto answer a repeated TransactWriteItems ClientRequestToken as DynamoDB does: without
    running the transaction again. Installed once per process; idempotent.

    botocore fills the token itself and keeps it across its retries, so that a retry of a
    transaction that went through (but whose answer came after the app's 1-second read timeout, as
    happens on a loaded machine: moto copies every table for each transaction) succeeds without
    writing twice. Plain moto runs the retry again: it fails its own conditions and a change that
    landed answers 409 or 500, a fault of the stand-in, not of the app."""
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


@contextmanager
def embedded_dynamodb(host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Run moto's server on `host` and a free port (or `port`); yield its endpoint URL; stop it on exit."""
    from moto.server import ThreadedMotoServer  # heavy: imported only when used

    honour_client_request_tokens()
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
