"""The organization's endpoint register (webhooks/endpoint_register.py): at most MaxWebhookEndpoints
endpoints, never one URL with one set of event types twice (409 for both), what deletes and changes
do to it, and organizations whose endpoints predate it."""

from __future__ import annotations

import uuid
from dataclasses import replace

import pytest

from tests.unit.conftest import META
from tests.unit.fakes import RecordingWebhookRepository
from tests.unit.test_webhook_service import ACME_HOOKS, GLOBEX_HOOKS, create, update
from tokensmith.errors import Conflict
from tokensmith.settings import Settings
from tokensmith.webhooks.service import WebhookService


def url(number: int) -> str:
    return f"https://hooks.example.com/endpoint/{number}"


def fill(webhooks, count: int, principal=ACME_HOOKS) -> list[dict]:
    return [create(webhooks, principal, url=url(n))[0] for n in range(count)]


def test_an_organization_gets_max_webhook_endpoints_and_the_next_is_a_409_naming_the_cap(
    webhooks, webhook_repository, kms
):
    # Given acme with the default cap's 10 endpoints
    fill(webhooks, 10)
    encrypted = len(kms.encrypted)

    # When it registers an eleventh
    with pytest.raises(Conflict, match=r"acme has 10 webhook endpoints, the most MaxWebhookEndpoints \(10\) allows"):
        create(webhooks, url=url(10))

    # Then nothing was written or encrypted for it
    assert len(webhook_repository.webhooks) == 10 and len(kms.encrypted) == encrypted


def test_the_cap_is_per_organization(webhooks):
    # Given acme at the cap, When globex registers an endpoint, Then it may
    fill(webhooks, 10)
    assert create(webhooks, GLOBEX_HOOKS, url=url(0))[0]["organization_id"] == "globex"


def test_a_deleted_endpoint_frees_its_place(webhooks, webhook_repository):
    # Given acme at the cap
    endpoints = fill(webhooks, 10)

    # When it deletes one, Then it may register another, and the register counts 10 again
    webhooks.delete_webhook(ACME_HOOKS, endpoints[3]["id"], META)
    create(webhooks, url=url(99))
    assert webhook_repository.registers["acme"]["endpoint_count"] == 10


def test_the_cap_comes_from_the_settings(webhook_repository, settings, clock, kms):
    # Given a deployment with MaxWebhookEndpoints = 2
    webhooks = WebhookService(webhook_repository, replace(settings, max_webhook_endpoints=2), now=clock, kms=kms)
    fill(webhooks, 2)

    # When a third is registered, Then it is refused naming 2
    with pytest.raises(Conflict, match=r"MaxWebhookEndpoints \(2\)"):
        create(webhooks, url=url(2))


def test_the_same_url_and_event_types_twice_is_a_409_naming_the_first(webhooks, webhook_repository):
    # Given an endpoint for two event types
    first, _ = create(webhooks, event_types=["token.created", "token.revoked"])

    # When the same URL is registered for the same types, in another order
    with pytest.raises(Conflict, match=f"already has a webhook endpoint \\({first['id']}\\) with this url"):
        create(webhooks, event_types=["token.revoked", "token.created"])

    # Then only the first exists
    assert list(webhook_repository.webhooks) == [first["id"]]


def test_the_same_url_for_other_event_types_or_in_another_organization_is_accepted(webhooks, webhook_repository):
    create(webhooks, event_types=["token.created"])
    create(webhooks, event_types=["token.created", "token.revoked"])
    create(webhooks, GLOBEX_HOOKS, event_types=["token.created"])
    assert len(webhook_repository.webhooks) == 3


def test_every_event_type_named_or_left_out_is_the_same_target(webhooks):
    # Given an endpoint for every event type (none named)
    create(webhooks)

    # When the same URL names every type explicitly, Then it is the same endpoint: refused
    from tokensmith.webhooks.event_types import EVENT_TYPES

    with pytest.raises(Conflict, match="already has a webhook endpoint"):
        create(webhooks, event_types=list(EVENT_TYPES))


def test_changing_an_endpoint_onto_another_ones_target_is_a_409_and_changes_nothing(webhooks, webhook_repository):
    # Given two endpoints of acme
    first, _ = create(webhooks, url=url(1))
    second, _ = create(webhooks, url=url(2))

    # When the second is pointed at the first's URL (same event types)
    with pytest.raises(Conflict, match=f"already has a webhook endpoint \\({first['id']}\\)"):
        update(webhooks, second["id"], url=url(1))

    # Then it still has its own
    assert webhook_repository.webhooks[second["id"]]["url"] == url(2)


def test_a_changed_endpoint_frees_its_old_target_and_takes_the_new(webhooks, webhook_repository):
    # Given an endpoint moved to a new URL
    moved, _ = create(webhooks, url=url(1))
    update(webhooks, moved["id"], url=url(2))

    # Then its old URL may be registered again, its new one may not
    create(webhooks, url=url(1))
    with pytest.raises(Conflict, match="already has a webhook endpoint"):
        create(webhooks, url=url(2))
    assert webhook_repository.registers["acme"]["endpoint_count"] == 2


def test_a_change_that_keeps_the_target_does_not_touch_the_register(webhooks, webhook_repository):
    # Given an endpoint, When only its description changes, Then the register is as it was
    hook, _ = create(webhooks)
    before = webhook_repository.get_endpoint_register("acme")
    update(webhooks, hook["id"], description="billing")
    assert webhook_repository.get_endpoint_register("acme") == before


def predating_twin(webhook_repository, endpoint: dict) -> str:
    """A copy of ``endpoint`` written (later) before the register existed, as older code did; its id."""
    twin_id = str(uuid.uuid4())
    stored = webhook_repository.webhooks[endpoint["id"]]
    webhook_repository.webhooks[twin_id] = {**stored, "id": twin_id, "created_at": "2099-01-01T00:00:00Z"}
    webhook_repository.registers.clear()
    return twin_id


def test_endpoints_that_predate_the_register_are_counted_on_the_next_create(webhooks, webhook_repository):
    # Given acme's 10 endpoints and a twin of one, all written before the register existed
    predating_twin(webhook_repository, fill(webhooks, 10)[0])

    # When it registers another, Then the register is counted from the endpoints as they are: 11, refused
    with pytest.raises(Conflict, match="acme has 11 webhook endpoints"):
        create(webhooks, url=url(99))


def test_deleting_a_twin_that_predates_the_register_keeps_its_siblings_target(webhooks, webhook_repository):
    # Given an endpoint and its younger twin, from before the register
    first, _ = create(webhooks, url=url(1))
    twin_id = predating_twin(webhook_repository, first)

    # When the twin is deleted
    webhooks.delete_webhook(ACME_HOOKS, twin_id, META)

    # Then one endpoint is counted, and its URL is still taken by the first
    assert webhook_repository.registers["acme"]["endpoint_count"] == 1
    with pytest.raises(Conflict, match=f"\\({first['id']}\\)"):
        create(webhooks, url=url(1))


class AnotherCreateLandsFirst(RecordingWebhookRepository):
    """Between the service's look at the register and its write, another request registers ``url``."""

    def __init__(self, url: str) -> None:
        super().__init__()
        self.racing_url = url

    def create_webhook(self, item, cap):
        if self.racing_url:
            racer = {**item, "id": "racer", "url": self.racing_url}
            self.racing_url = ""
            super().create_webhook(racer, cap)
        super().create_webhook(item, cap)


def test_a_create_that_loses_the_race_for_its_target_is_a_409_naming_the_winner(settings, clock, kms):
    # Given another request that registers the same URL just before this one writes
    repository = AnotherCreateLandsFirst(url(1))
    webhooks = WebhookService(repository, settings, now=clock, kms=kms)

    # When this one writes, Then its refusal names the winner
    with pytest.raises(Conflict, match=r"already has a webhook endpoint \(racer\)"):
        create(webhooks, url=url(1))


def test_a_create_that_loses_the_last_place_is_a_409_naming_the_cap(settings, clock, kms):
    # Given acme at 9 of 10, and another request that takes the tenth just before this one writes
    repository = AnotherCreateLandsFirst(url(50))
    webhooks = WebhookService(repository, settings, now=clock, kms=kms)
    repository.racing_url = ""
    fill(webhooks, 9)
    repository.racing_url = url(50)

    # When this one writes, Then it is refused naming the cap
    with pytest.raises(Conflict, match=r"MaxWebhookEndpoints \(10\)"):
        create(webhooks, url=url(51))


@pytest.mark.parametrize("value", ["0", "1001", "ten"])
def test_max_webhook_endpoints_outside_1_to_1000_is_refused_naming_the_variable(value):
    with pytest.raises(ValueError, match="MAX_WEBHOOK_ENDPOINTS must be an integer from 1 to 1000"):
        Settings.from_environ({"MAX_WEBHOOK_ENDPOINTS": value})


def test_max_webhook_endpoints_defaults_to_10():
    assert Settings.from_environ({}).max_webhook_endpoints == 10
