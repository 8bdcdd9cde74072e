"""WebhookService: endpoints and their signing secrets (KMS faked), tenancy, URL refusals, versions."""

from __future__ import annotations

import base64

import pytest

from tests.unit.conftest import META, NOW, OPERATOR, caller, epoch, iso
from tokensmith.auth import WEBHOOKS_READ, WEBHOOKS_WRITE, RequestMeta
from tokensmith.errors import Conflict, Forbidden, NotFound, PreconditionFailed, ValidationFailed
from tokensmith.webhooks import signing_keys
from tokensmith.webhooks.event_types import EVENT_TYPES
from tokensmith.webhooks.models import CreateWebhookRequest, UpdateWebhookRequest

URL = "https://hooks.example.com/tokensmith"
ACME_HOOKS = caller("acme", WEBHOOKS_READ, WEBHOOKS_WRITE)
GLOBEX_HOOKS = caller("globex", WEBHOOKS_READ, WEBHOOKS_WRITE)


def create(webhooks, principal=ACME_HOOKS, **body):
    return webhooks.create_webhook(principal, CreateWebhookRequest.model_validate({"url": URL, **body}), META)


def update(webhooks, webhook_id, meta=META, **body):
    return webhooks.update_webhook(ACME_HOOKS, webhook_id, UpdateWebhookRequest.model_validate(body), meta)


def if_match(version: int) -> RequestMeta:
    return RequestMeta(ip=META.ip, user_agent=META.user_agent, if_match=frozenset({version}))


def only_write(webhook_repository):
    (write,) = webhook_repository.writes
    return write


@pytest.fixture
def hook(webhooks, webhook_repository):
    """acme's endpoint (description "billing", every event type), version 1; its writes forgotten."""
    item, secret = create(webhooks, description="billing")
    webhook_repository.forget_writes()
    return {**item, "secret": secret}


# --- create ----------------------------------------------------------------------------------------


def test_create_answers_a_whsec_secret_and_stores_only_its_ciphertext(webhooks, webhook_repository, kms):
    # When acme registers an endpoint
    item, secret = create(webhooks)

    # Then the secret is whsec_ + 32 random bytes, stored only as KMS ciphertext bound to the endpoint
    assert secret.startswith("whsec_") and len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
    stored = webhook_repository.webhooks[item["id"]]
    assert secret not in repr(stored)
    assert signing_keys.decrypt(stored["secret_ciphertext"], item["id"], "acme", client=kms) == secret
    assert kms.encrypted == [
        {"KeyId": "alias/webhooks", "EncryptionContext": {"webhook_id": item["id"], "organization_id": "acme"}}
    ]


def test_a_ciphertext_does_not_decrypt_for_another_endpoint(webhooks, webhook_repository, kms):
    # Given acme's endpoint
    item, _ = create(webhooks)

    # When its ciphertext is read as globex's, Then it does not decrypt
    with pytest.raises(ValueError, match="InvalidCiphertext"):
        signing_keys.decrypt(webhook_repository.webhooks[item["id"]]["secret_ciphertext"], item["id"], "globex", kms)


def test_a_new_endpoint_is_enabled_at_version_1_and_listed_in_its_organization(webhooks, webhook_repository):
    # When acme registers an endpoint
    item, _ = create(webhooks, description="billing")

    # Then it is written enabled, at version 1, by acme's token, in acme's list of endpoints
    write = only_write(webhook_repository)
    assert (write.operation, write.set_values["version"], write.set_values["enabled"]) == ("create", 1, True)
    assert write.set_values["created_by"] == "token:acme-caller" and write.set_values["created_at"] == iso(NOW)
    assert webhook_repository.webhooks[item["id"]]["org_pk"] == "WEBHOOKS#acme"


def test_an_endpoint_subscribes_to_every_event_type_by_default(webhooks):
    # When acme registers an endpoint without event types, Then it gets all of them
    item, _ = create(webhooks)
    assert item["event_types"] == list(EVENT_TYPES)


def test_event_types_are_stored_in_the_catalogs_order(webhooks):
    # When acme names two event types backwards, Then they are stored in the catalog's order
    item, _ = create(webhooks, event_types=["token.revoked", "token.created"])
    assert item["event_types"] == ["token.created", "token.revoked"]


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.example.com/plain-http",
        "https://private.example.com/",
        "https://mixed.example.com/",
        "https://metadata.example.com/",
        "https://127.0.0.1:8443/",
        "https://[::1]/",
        "https://nowhere.invalid/",
        "https://user:password@hooks.example.com/",
    ],
)
def test_an_unsafe_url_is_refused_at_registration(webhooks, webhook_repository, kms, url):
    # When acme registers it
    with pytest.raises(ValidationFailed) as refused:
        create(webhooks, url=url)

    # Then it is a 422 on url, not telling the address, and nothing is encrypted or written
    assert refused.value.errors[0].field == "url" and "10.0.0.5" not in refused.value.detail
    assert webhook_repository.writes == [] and kms.encrypted == []


def test_only_an_admin_registers_an_endpoint_for_another_organization(webhooks, webhook_repository):
    # When globex names acme, Then it is forbidden and nothing is written
    with pytest.raises(Forbidden):
        create(webhooks, principal=GLOBEX_HOOKS, organization_id="acme")
    assert webhook_repository.writes == []


def test_an_admin_registers_an_endpoint_for_any_organization(webhooks):
    # When the operator names acme, Then the endpoint is acme's
    item, _ = create(webhooks, principal=OPERATOR, organization_id="acme")
    assert item["organization_id"] == "acme"


# --- tenancy ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "operation",
    [
        lambda webhooks, hook_id: webhooks.get_webhook(GLOBEX_HOOKS, hook_id),
        lambda webhooks, hook_id: webhooks.list_deliveries(GLOBEX_HOOKS, hook_id),
        lambda webhooks, hook_id: webhooks.update_webhook(
            GLOBEX_HOOKS, hook_id, UpdateWebhookRequest(enabled=False), META
        ),
        lambda webhooks, hook_id: webhooks.rotate_secret(GLOBEX_HOOKS, hook_id, 0, META),
        lambda webhooks, hook_id: webhooks.delete_webhook(GLOBEX_HOOKS, hook_id, META),
    ],
    ids=["get", "deliveries", "update", "rotate-secret", "delete"],
)
def test_another_organizations_endpoint_is_not_found_and_untouched(webhooks, webhook_repository, hook, operation):
    # When globex acts on acme's endpoint, Then it is not found, and nothing is written
    with pytest.raises(NotFound):
        operation(webhooks, hook["id"])
    assert webhook_repository.writes == []


def test_another_organizations_list_of_endpoints_is_not_found(webhooks, hook):
    # When globex lists acme's endpoints, Then the organization is not found
    with pytest.raises(NotFound):
        webhooks.list_webhooks(GLOBEX_HOOKS, organization_id="acme")


def test_a_list_shows_the_callers_endpoints_only(webhooks, hook):
    # Given globex's endpoint too
    create(webhooks, principal=GLOBEX_HOOKS)

    # When acme lists, Then it sees its own
    items, _ = webhooks.list_webhooks(ACME_HOOKS)
    assert [i["id"] for i in items] == [hook["id"]]


def test_an_admin_reads_any_organizations_endpoint(webhooks, hook):
    # When the operator reads acme's endpoint, Then it gets it
    assert webhooks.get_webhook(OPERATOR, hook["id"])["organization_id"] == "acme"


# --- update ----------------------------------------------------------------------------------------


def test_an_update_writes_only_what_changed_at_the_next_version(webhooks, webhook_repository, hook):
    # When acme narrows the event types and sends url null
    updated = update(webhooks, hook["id"], event_types=["token.revoked"], url=None)

    # Then only the event types, the version and the time are written, conditioned on version 1
    write = only_write(webhook_repository)
    assert (write.operation, write.expected_version) == ("update", 1)
    assert write.set_values == {"event_types": ["token.revoked"], "modified_at": iso(NOW), "version": 2}
    assert (updated["url"], updated["description"]) == (URL, "billing")


def test_an_update_that_changes_nothing_writes_nothing(webhooks, webhook_repository, hook):
    # When acme sends what the endpoint has, Then nothing is written and the version stays
    assert update(webhooks, hook["id"], description="billing", enabled=True)["version"] == 1
    assert webhook_repository.writes == []


def test_an_empty_description_clears_it(webhooks, webhook_repository, hook):
    # When acme sends description "", Then the attribute is removed
    updated = update(webhooks, hook["id"], description="")
    assert only_write(webhook_repository).remove == ("description",) and "description" not in updated


def test_disabling_says_a_user_did_it_and_enabling_clears_the_reason(webhooks, webhook_repository, hook):
    # When acme disables then enables the endpoint
    disabled = update(webhooks, hook["id"], enabled=False)
    enabled = update(webhooks, hook["id"], enabled=True)

    # Then the reason is written, then removed
    assert (disabled["enabled"], disabled["disabled_reason"]) == (False, "disabled by a user")
    assert enabled["enabled"] is True and "disabled_reason" not in enabled
    assert webhook_repository.writes[-1].remove == ("disabled_reason",)


def test_an_unsafe_url_is_refused_on_update(webhooks, webhook_repository, hook):
    # When acme points the endpoint at the metadata service, Then it is a 422 on url, nothing written
    with pytest.raises(ValidationFailed) as refused:
        update(webhooks, hook["id"], url="https://metadata.example.com/")
    assert refused.value.errors[0].field == "url" and webhook_repository.writes == []


def test_if_match_with_a_stale_version_is_a_412_with_the_current_etag(webhooks, webhook_repository, hook):
    # When acme updates If-Match "7", Then it is a 412 naming version 1, nothing written
    with pytest.raises(PreconditionFailed) as refused:
        update(webhooks, hook["id"], meta=if_match(7), description="x")
    assert refused.value.headers == {"ETag": '"1"'} and webhook_repository.writes == []


def test_a_lost_race_is_a_409(webhooks, webhook_repository, hook):
    # Given another request changes the endpoint while this one writes
    webhook_repository.changed_elsewhere(hook["id"])

    # When acme updates it, Then it is a conflict to retry
    with pytest.raises(Conflict, match="retry"):
        update(webhooks, hook["id"], description="x")


def test_under_if_match_a_lost_race_is_a_412(webhooks, webhook_repository, hook):
    # Given another request changes the endpoint while this one writes
    webhook_repository.changed_elsewhere(hook["id"])

    # When acme updates it If-Match "1", Then it is a 412
    with pytest.raises(PreconditionFailed):
        update(webhooks, hook["id"], meta=if_match(1), description="x")


# --- rotate the signing secret ---------------------------------------------------------------------


def test_rotate_secret_keeps_the_old_ciphertext_for_the_grace(webhooks, webhook_repository, kms, hook):
    # When acme rotates the signing secret with a day of grace
    rotated, secret = webhooks.rotate_secret(ACME_HOOKS, hook["id"], 86400, META)

    # Then the new secret is stored encrypted, the old ciphertext kept until the grace ends
    values = only_write(webhook_repository).set_values
    assert secret != hook["secret"] and rotated["version"] == 2
    assert signing_keys.decrypt(values["secret_ciphertext"], hook["id"], "acme", kms) == secret
    assert values["previous_secret_ciphertext"] == hook["secret_ciphertext"]
    assert values["previous_valid_epoch"] == epoch(NOW) + 86400 and values["secret_rotated_at"] == iso(NOW)


def test_rotate_secret_without_grace_drops_the_previous_secret(webhooks, webhook_repository, hook):
    # Given a rotation with grace
    webhooks.rotate_secret(ACME_HOOKS, hook["id"], 86400, META)
    webhook_repository.forget_writes()

    # When acme rotates again without one, Then no previous secret is left
    webhooks.rotate_secret(ACME_HOOKS, hook["id"], 0, META)
    assert only_write(webhook_repository).remove == ("previous_secret_ciphertext", "previous_valid_epoch")


def test_rotate_secret_with_a_stale_if_match_is_a_412(webhooks, webhook_repository, kms, hook):
    # When acme rotates If-Match "7", Then it is a 412, and no new secret was even made
    with pytest.raises(PreconditionFailed):
        webhooks.rotate_secret(ACME_HOOKS, hook["id"], 0, if_match(7))
    assert webhook_repository.writes == [] and len(kms.encrypted) == 1


# --- delete ----------------------------------------------------------------------------------------


def test_delete_removes_the_endpoint_at_the_version_read(webhooks, webhook_repository, hook):
    # When acme deletes the endpoint
    webhooks.delete_webhook(ACME_HOOKS, hook["id"], META)

    # Then it is deleted on condition of version 1, and is not found afterwards
    write = only_write(webhook_repository)
    assert (write.operation, write.expected_version) == ("delete", 1)
    with pytest.raises(NotFound):
        webhooks.get_webhook(ACME_HOOKS, hook["id"])


def test_delete_with_a_stale_if_match_is_a_412(webhooks, webhook_repository, hook):
    # When acme deletes If-Match "9", Then it is a 412 and the endpoint stays
    with pytest.raises(PreconditionFailed):
        webhooks.delete_webhook(ACME_HOOKS, hook["id"], if_match(9))
    assert hook["id"] in webhook_repository.webhooks


def test_an_id_that_is_not_a_webhook_id_is_not_found(webhooks):
    # When acme reads "nope", Then it is not found
    with pytest.raises(NotFound):
        webhooks.get_webhook(ACME_HOOKS, "nope")
