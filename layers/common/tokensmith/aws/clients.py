"""The one factory of AWS clients: created lazily, once per process and endpoint, on one botocore
session per process that reads the cut endpoint data (``aws.endpoints``), with bounded timeouts and
standard retries. botocore directly, not boto3: the same clients, 40-60 ms less to import cold.

Every client retries the same way (standard mode, ``total_max_attempts`` counting the first try);
only the numbers differ by what waits on the answer:

- DynamoDB serves HTTP requests and the authorizer: two attempts with 1 s timeouts, so a slow
  DynamoDB gives a 503 with ``Retry-After`` within about three seconds instead of hanging until the
  Lambda timeout (standard mode backs off ``random() * 2 ** (retry - 1)`` s; a third attempt could add
  2 s more). Retrying is safe: every write is conditional or idempotent.
- EventBridge, KMS and SQS serve the stream publisher and webhook delivery, which run in the
  background and report failed records for a later retry: three attempts, longer reads.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

_CREATING = threading.Lock()


@dataclass(frozen=True, slots=True)
class ClientPolicy:
    attempts: int  # total_max_attempts: the first try included
    connect_timeout: float
    read_timeout: float


POLICIES = {
    "dynamodb": ClientPolicy(attempts=2, connect_timeout=1, read_timeout=1),
    "events": ClientPolicy(attempts=3, connect_timeout=1, read_timeout=2),
    "kms": ClientPolicy(attempts=3, connect_timeout=1, read_timeout=2),
    "sqs": ClientPolicy(attempts=3, connect_timeout=1, read_timeout=3),
}


@lru_cache(maxsize=8)
def client(service: str, endpoint_url: str | None = None) -> Any:
    """The process's client of ``service`` (one of :data:`POLICIES`); tests clear this cache."""
    from botocore.config import Config

    policy = POLICIES[service]
    config = Config(
        retries={"mode": "standard", "total_max_attempts": policy.attempts},
        connect_timeout=policy.connect_timeout,
        read_timeout=policy.read_timeout,
        tcp_keepalive=True,
    )
    with _CREATING:  # a botocore session is not thread-safe; the local run serves requests on threads
        return shared_session().create_client(service, endpoint_url=endpoint_url, config=config)


@lru_cache(maxsize=1)
def shared_session() -> Any:
    """The process's botocore session (``aws.endpoints.session``), shared by its clients: a function that
    calls two services (DynamoDB and KMS, SQS) creates its second client in about 4 ms instead of 11,
    since the session's handlers, configuration and loaded data are already there."""
    from tokensmith.aws.endpoints import session

    return session()
