"""A stand-in for GitHub's keys endpoint (https://api.github.com/meta/public_keys/secret_scanning) on
127.0.0.1, for the integration and end-to-end tests: it serves the document it is given and counts the
fetches. The app fetches it as it fetches GitHub's, through webhooks/egress.py (loopback allowed locally)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.github_signing import GitHubSigner, keys_document


class GitHubKeysServer:
    def __init__(self, *signers: GitHubSigner) -> None:
        self.document = keys_document(*signers)
        self.status = 200
        self.fetches = 0
        self.url = ""

    def publish(self, *signers: GitHubSigner) -> None:
        self.document = keys_document(*signers)


@contextmanager
def github_keys_server(*signers: GitHubSigner) -> Iterator[GitHubKeysServer]:
    keys = GitHubKeysServer(*signers)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            keys.fetches += 1
            body = keys.document if keys.status == 200 else b'{"message": "down"}'
            self.send_response(keys.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    keys.url = f"http://127.0.0.1:{server.server_address[1]}/meta/public_keys/secret_scanning"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield keys
    finally:
        server.shutdown()
        server.server_close()
