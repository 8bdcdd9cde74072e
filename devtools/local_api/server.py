"""The gateway over HTTP: a ThreadingHTTPServer in a daemon thread, and the entry points that start one."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from devtools.local_api.environment import applied_environment, local_environment
from devtools.local_api.events import MAX_REQUEST_BYTES, IncomingRequest
from devtools.local_api.gateway import Gateway
from devtools.local_api.responses import GatewayResponse, message_response
from devtools.local_api.runtime import log
from devtools.local_scheduler import LocalScheduler
from devtools.template import DEFAULT_TEMPLATE, load_template

DEFAULT_PORT = 3000


class _RequestTooLarge(Exception):
    pass


class _BadRequest(Exception):
    pass


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "tokensmith-local-api"
    gateway: Gateway
    access_log: bool = True

    def do_GET(self) -> None:
        self._serve()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

    def __getattr__(self, name: str) -> Any:
        # Any other method (TRACE, QUERY, ...) goes through route selection too, and so gets API Gateway's
        # 404 {"message": "Not Found"}, not http.server's HTML 501.
        if name.startswith("do_") and name[3:].isalpha():
            return self._serve
        raise AttributeError(name)

    def _serve(self) -> None:
        try:
            body = self._read_body()
        except _RequestTooLarge:
            self.close_connection = True
            self._send(message_response(413, "Request Entity Too Large"))
            return
        except _BadRequest:
            self.close_connection = True
            self._send(message_response(400, "Bad Request"))
            return
        target = urlsplit(self.path)
        request = IncomingRequest(
            method=self.command,
            raw_path=target.path or "/",
            raw_query_string=target.query,
            headers=tuple((name, value) for name, value in self.headers.items()),
            body=body,
            source_ip=self.client_address[0],
            protocol=self.request_version,
        )
        self._send(self.gateway.handle(request))

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self._read_chunked()
        length_header = self.headers.get("Content-Length")
        if not length_header:
            return b""
        try:
            length = int(length_header)
        except ValueError:
            raise _BadRequest from None
        if length < 0:
            raise _BadRequest
        if length > MAX_REQUEST_BYTES:
            self._discard(length)
            raise _RequestTooLarge
        return self.rfile.read(length)

    def _discard(self, length: int) -> None:
        """Read and drop a too-large body (up to a bound), so the client gets to read our 413."""
        remaining = min(length, 4 * MAX_REQUEST_BYTES)
        while remaining > 0:
            chunk = self.rfile.read(min(remaining, 1 << 16))
            if not chunk:
                return
            remaining -= len(chunk)

    def _read_chunked(self) -> bytes:
        chunks: list[bytes] = []
        total = 0
        while True:
            size_line = self.rfile.readline(1024).split(b";", 1)[0].strip()
            try:
                size = int(size_line, 16)
            except ValueError:
                raise _BadRequest from None
            if size == 0:
                while self.rfile.readline(1024).strip():  # trailers
                    pass
                return b"".join(chunks)
            total += size
            if total > MAX_REQUEST_BYTES:
                raise _RequestTooLarge
            chunks.append(self.rfile.read(size))
            self.rfile.readline(1024)  # the CRLF after each chunk

    def _send(self, response: GatewayResponse) -> None:
        self.send_response(response.status)
        for name, value in response.headers:
            if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    def version_string(self) -> str:
        return self.server_version

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        if self.access_log:
            log(f"{self.client_address[0]} {self.command} {self.path} -> {code}")

    def log_message(self, format: str, *args: Any) -> None:  # http.server's signature
        if self.access_log:
            log(f"{self.client_address[0]} {format % args}")


class LocalApiServer:
    """A ThreadingHTTPServer for a Gateway, run in a daemon thread."""

    def __init__(
        self, gateway: Gateway, host: str = "127.0.0.1", port: int = DEFAULT_PORT, access_log: bool = True
    ) -> None:
        handler = type("BoundRequestHandler", (_RequestHandler,), {"gateway": gateway, "access_log": access_log})
        self.gateway = gateway
        self.host = host
        self.httpd = ThreadingHTTPServer((host, port), handler)
        self.httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    @property
    def scheduler(self) -> LocalScheduler:
        return self.gateway.scheduler

    def run_schedule(self, function_id: str, event_id: str | None = None) -> Any:
        """Run a scheduled function once, now, in this thread: what its handler returned, or its exception
        raised; KeyError when the template has no such schedule."""
        run = self.gateway.scheduler.run(function_id, event_id, trigger="manual")
        if run.exception is not None:
            raise run.exception
        return run.result

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.1}, name="local-api", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self.httpd.shutdown()
            self._thread.join(timeout=10)
            self._thread = None
        self.httpd.server_close()


@contextmanager
def serve_in_thread(
    endpoint_url: str,
    table_name: str = "tokensmith-local",
    template: dict[str, Any] | None = None,
    code_root: Path | None = None,
    parameter_overrides: dict[str, str] | None = None,
    refs: dict[str, str] | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    access_log: bool = False,
    schedules: bool = False,
    schedule_interval: float | None = None,
    openapi: dict[str, Any] | Callable[[], dict[str, Any]] | None = None,
    aws_endpoint_url: str | None = None,
    event_sources: bool = False,
    throttling: bool = True,
) -> Iterator[LocalApiServer]:
    """For tests: serve `template` (default: template.yaml) on a free port; yield the server (`.base_url`).

    `code_root` is where CodeUri paths start (default: the project root). os.environ is restored on exit.
    Scheduled functions run only when asked: `server.run_schedule("Id")`, `POST /__local/schedules/Id`, or,
    with `schedules=True`, on their interval (`schedule_interval` seconds, if given), stopped on exit.
    `openapi` is the document of /openapi.json and /docs (see `Gateway`); with the default template, the
    default is devtools.openapi's, built from the code on the first request for it.
    `aws_endpoint_url`: a moto server in which the template's buses, rules, queues and keys are created
    (devtools.local_events) and to which every other AWS client goes; with `event_sources`, the table's
    stream and the queues also feed their functions (`server.gateway.events`), as in `make run`.
    `throttling`: the template's route throttles (429), as in `make run`; False for a test that opts out.
    """
    if template is None:
        template = load_template(DEFAULT_TEMPLATE)
        code_root = code_root or DEFAULT_TEMPLATE.parent
        if openapi is None:
            from devtools.openapi import build_document

            openapi = build_document
    code_root = code_root or DEFAULT_TEMPLATE.parent
    if aws_endpoint_url:
        from devtools.local_events import provision

        refs = provision(template, aws_endpoint_url, refs or {}, parameter_overrides)
    environment = local_environment(
        template, endpoint_url, table_name, parameter_overrides, refs, aws_endpoint_url=aws_endpoint_url
    )
    with applied_environment(environment):
        gateway = Gateway(
            template,
            code_root,
            parameter_overrides,
            schedule_interval=schedule_interval,
            openapi=openapi,
            throttling=throttling,
        )
        server = LocalApiServer(gateway, host=host, port=port, access_log=access_log)
        server.start()
        try:
            if schedules:
                gateway.scheduler.start()
            if event_sources and aws_endpoint_url:
                gateway.start_event_sources(template, refs or {}, endpoint_url, aws_endpoint_url, table_name)
            yield server
        finally:
            gateway.stop_event_sources()
            gateway.scheduler.stop()
            server.stop()


def wait_for_stop_signal() -> None:
    """Block the main thread until SIGINT (Ctrl-C) or SIGTERM arrives."""
    stop = threading.Event()

    def request_stop(signum: int, frame: Any) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        while not stop.wait(0.5):
            pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
