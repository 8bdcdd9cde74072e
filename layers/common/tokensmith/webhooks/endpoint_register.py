"""The organization's endpoint register: the one item that makes ``MaxWebhookEndpoints`` exact and
refuses the same target twice.

Every event becomes one delivery per endpoint, with up to 8 attempts, so an organization's fan-out
is capped (``MaxWebhookEndpoints``, default 10), and registering the same URL for the same event
types twice (a double-click, a retried script) is refused with 409. A count followed by a write
would let concurrent creates pass the cap together; instead each organization has one register
item, ``{endpoint_count, targets: {target: webhook id}}``, and every create, delete and change of
an endpoint's URL or event types updates it in the same transaction as the endpoint, under the
condition ``endpoint_count < cap AND attribute_not_exists(targets.<target>)``: DynamoDB serializes
the writers of one item, so the cap holds however many creates race.

An organization whose endpoints predate the register gets it on its next create, change or delete,
counted from its endpoints as they are (``WebhookRepository.start_endpoint_register``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from tokensmith.aws.dynamodb import RepositoryError


def endpoint_target(url: str, event_types: Iterable[str]) -> str:
    """What makes two endpoints the same: the exact URL and the set of event types (as a digest, a
    short map key whatever the URL's length)."""
    canonical = url + "\n" + ",".join(sorted(set(event_types)))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class Retarget:
    """An endpoint's URL or event types change: its register entry moves from ``old`` to ``new``."""

    organization_id: str
    old: str
    new: str


class RegisterRefused(RepositoryError):
    """The register's condition failed: the organization is at its cap, the target is taken, or
    (after a race) the register changed; the service reads it again to say which."""
