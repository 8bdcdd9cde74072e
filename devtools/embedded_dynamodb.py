"""An in-process DynamoDB: moto's server in a thread. Pure Python, starts in about a second.

Moto keeps its data in process-wide backends, so `moto.mock_aws` (or a moto reset) in the same process
wipes this server's tables too. It never deletes TTL-expired items; `devtools.dynamodb_local` is closer
to the real service where that matters.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def embedded_dynamodb(host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Run moto's server on `host` and a free port (or `port`); yield its endpoint URL; stop it on exit."""
    from moto.server import ThreadedMotoServer  # heavy: imported only when used

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
