"""End-to-end: real HTTP against the local gateway (`devtools.local_api`), which serves every route
of template.yaml through the real authorizer and handlers, over the embedded DynamoDB."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
import requests
import requests.adapters

from devtools.embedded_dynamodb import embedded_dynamodb
from devtools.local_api.server import serve_in_thread
from devtools.template import create_table, load_template
from tokensmith.bootstrap import create_admin_token

TABLE = "tokensmith-e2e"


@dataclass
class Client:
    base_url: str
    secret: str | None = None

    def request(self, method: str, path: str, json=None, headers=None, **kwargs) -> requests.Response:
        headers = dict(headers or {})
        if self.secret is not None:
            headers.setdefault("Authorization", f"Bearer {self.secret}")
        return requests.request(method, self.base_url + path, json=json, headers=headers, timeout=10, **kwargs)

    def as_(self, secret: str) -> Client:
        return Client(self.base_url, secret)


class FromAddress(requests.adapters.HTTPAdapter):
    """Connections from another loopback address (127.0.0.0/8 is all this host's): the gateway then
    sees that address as the request's source IP, as API Gateway sees a client's."""

    def __init__(self, address: str) -> None:
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


def call_from(address: str, base_url: str, secret: str, path: str) -> requests.Response:
    """``GET path`` with ``secret``, from the loopback ``address`` (e.g. 127.0.1.1: another /24)."""
    with requests.Session() as session:
        session.mount("http://", FromAddress(address))
        return session.get(base_url + path, headers={"Authorization": f"Bearer {secret}"}, timeout=10)


@contextlib.contextmanager
def local_server(
    admin_name: str,
    event_sources: bool = False,
    parameter_overrides: dict[str, str] | None = None,
    throttling: bool = True,
) -> Iterator[tuple[Any, str]]:
    """`make run`'s server in a thread over a fresh embedded DynamoDB: (the running server, an admin secret).
    The template's buses, queues and keys live in the same moto server; with `event_sources`, the table's
    stream and the queues feed their functions (publisher, webhook delivery) as in `make run`.
    `parameter_overrides`: template parameters of this run (e.g. GitHubSecretScanningKeysUrl). The route
    throttles apply, as in `make run`, unless `throttling` is False (a suite that sends many requests to
    one route, e.g. more than revoke-leaked's burst of 5).

    Moto keeps its tables in process-wide backends that outlive one embedded server: two modules run
    by the same worker, one after the other, would meet the same table. Each server gets its own."""
    table = f"{TABLE}-{uuid.uuid4().hex[:8]}"
    with embedded_dynamodb() as endpoint:
        # moto's backends are process-wide: start from nothing, whatever an earlier module left behind
        requests.post(f"{endpoint}/moto-api/reset", timeout=10).raise_for_status()
        client = boto3.client(
            "dynamodb",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )
        create_table(client, load_template(), table)
        _, admin_secret = create_admin_token(table, endpoint_url=endpoint, organization_id="platform", name=admin_name)
        with serve_in_thread(
            endpoint,
            table_name=table,
            aws_endpoint_url=endpoint,
            event_sources=event_sources,
            parameter_overrides=parameter_overrides,
            throttling=throttling,
        ) as running:
            yield running, admin_secret


@pytest.fixture(scope="module")
def server(request):
    """The module's server; a module that sets ``THROTTLING = False`` opts out of the route throttles, one
    that sets ``EVENT_SOURCES = True`` gets the stream and the queues feeding their functions."""
    with local_server(
        "e2e-admin",
        event_sources=getattr(request.module, "EVENT_SOURCES", False),
        throttling=getattr(request.module, "THROTTLING", True),
    ) as started:
        yield started


@pytest.fixture
def admin(server) -> Client:
    running, secret = server
    return Client(running.base_url, secret)


@pytest.fixture
def anonymous(server) -> Client:
    return Client(server[0].base_url)
