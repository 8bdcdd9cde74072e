"""The /v1/webhooks routes: secrets shown once and stored encrypted, scopes, tenancy, SSRF refusals at
registration, validation, ETag/If-Match and paging."""

import base64
import json

import boto3
import pytest
import standardwebhooks

from tests.integration.conftest import make_tenant
from tokensmith.webhooks import signing_keys
from tokensmith.webhooks.event_types import EVENT_TYPES

URL = "https://hooks.example.com/tokensmith"


@pytest.fixture
def acme_hooks(api, admin, webhook_world):
    return make_tenant(api, admin, "acme", ["webhooks:read", "webhooks:write", "tokens:read"], name="acme hooks")


@pytest.fixture
def globex_hooks(api, admin, webhook_world):
    return make_tenant(api, admin, "globex", ["webhooks:read", "webhooks:write"], name="globex hooks")


def create(api, tenant, **body):
    return api.post("/v1/webhooks", secret=tenant.secret, body={"url": URL, **body})


def stored(table, webhook_id):
    item = table.get_item(
        TableName="tokensmith-test", Key={"pk": {"S": f"WEBHOOK#{webhook_id}"}, "sk": {"S": "WEBHOOK"}}
    )
    return item.get("Item")


def test_create_answers_the_secret_once_and_stores_it_encrypted(api, acme_hooks, table, webhook_world):
    # Given an organization with webhooks:write
    # When it registers an endpoint
    created = create(api, acme_hooks, event_types=["token.revoked", "token.created"], description="billing")

    # Then the answer carries a whsec_ secret that the reference library accepts, once
    assert created.status == 201, created.body
    secret, webhook = created.body["secret"], created.body["webhook"]
    assert secret.startswith("whsec_") and len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
    standardwebhooks.Webhook(secret)
    assert created.headers["etag"] == '"1"' and created.headers["location"] == f"/v1/webhooks/{webhook['id']}"
    assert webhook == {
        "id": webhook["id"],
        "organization_id": "acme",
        "url": URL,
        "description": "billing",
        "event_types": ["token.created", "token.revoked"],
        "enabled": True,
        "disabled_reason": None,
        "created_at": webhook["created_at"],
        "modified_at": webhook["created_at"],
        "version": 1,
    }
    # And no other answer shows it
    for response in (
        api.get(f"/v1/webhooks/{webhook['id']}", secret=acme_hooks.secret),
        api.get("/v1/webhooks", secret=acme_hooks.secret),
        api.patch(f"/v1/webhooks/{webhook['id']}", secret=acme_hooks.secret, body={"description": "x"}),
    ):
        assert response.status == 200 and secret not in response.raw and "ciphertext" not in response.raw
    # And the table holds KMS ciphertext bound to this endpoint, never the secret
    item = stored(table, webhook["id"])
    assert secret not in json.dumps(item) and secret.removeprefix("whsec_") not in json.dumps(item)
    ciphertext = item["secret_ciphertext"]["S"]
    assert signing_keys.decrypt(ciphertext, webhook["id"], "acme") == secret
    kms = boto3.client("kms", region_name="us-east-1")
    with pytest.raises(Exception, match="InvalidCiphertext"):
        signing_keys.decrypt(ciphertext, webhook["id"], "globex", client=kms)


def test_every_event_type_by_default_and_unknown_types_refused(api, acme_hooks):
    everything = create(api, acme_hooks)
    assert everything.status == 201
    assert "token.purged" in everything.body["webhook"]["event_types"]
    assert "session.created" in everything.body["webhook"]["event_types"]
    assert "session.refused" in everything.body["webhook"]["event_types"]
    assert "token.rotation_completed" in everything.body["webhook"]["event_types"]
    assert "token.new_location" in everything.body["webhook"]["event_types"]
    assert everything.body["webhook"]["event_types"] == list(EVENT_TYPES)  # every one, in the catalogue's order

    unknown = create(api, acme_hooks, event_types=["token.exploded"])
    assert unknown.status == 422 and unknown.body["errors"][0]["field"].startswith("event_types")
    repeated = create(api, acme_hooks, event_types=["token.created", "token.created"])
    assert repeated.status == 422


UNSAFE_URLS = [
    "http://hooks.example.com/plain-http",
    "ftp://hooks.example.com/",
    "https://private.example.com/",
    "https://mixed.example.com/",  # one public and one private address: refused
    "https://loopback.example.com/",
    "https://metadata.example.com/",
    "https://169.254.169.254/latest/meta-data/",
    "https://127.0.0.1:8443/",
    "https://10.1.2.3/",
    "https://[::1]/",
    "https://[fe80::1]/",
    "https://[fec0::1]/",  # site-local (deprecated), not "reserved" to Python's ipaddress
    "https://[::ffff:169.254.169.254]/",
    "https://v6-loopback.example.com/",
    "https://v6-mapped.example.com/",
    "https://v6-local.example.com/",
    "https://shared.example.com/",
    "https://0.0.0.0/",
    "https://nowhere.invalid/",
    "https://user:password@hooks.example.com/",
    "http://127.0.0.1:9000/hook",  # loopback is for the local run only (AllowLoopbackWebhooks)
    "https://localhost/",
]


def test_unsafe_urls_are_refused_at_registration(api, acme_hooks):
    # one test, many URLs: the setup (a table, a key, a tenant) costs more than each request
    accepted = []
    for url in UNSAFE_URLS:
        response = api.post("/v1/webhooks", secret=acme_hooks.secret, body={"url": url})
        if not (
            response.status == 422
            and response.headers["content-type"] == "application/problem+json"
            and response.body["errors"][0]["field"] == "url"
            and "10.0.0.5" not in json.dumps(response.body)  # the address a name resolves to is not told
        ):
            accepted.append((url, response.status))
    assert accepted == []
    assert api.get("/v1/webhooks", secret=acme_hooks.secret).body["items"] == []


def test_unsafe_url_is_refused_on_patch_too(api, acme_hooks):
    webhook_id = create(api, acme_hooks).body["webhook"]["id"]
    response = api.patch(
        f"/v1/webhooks/{webhook_id}", secret=acme_hooks.secret, body={"url": "https://metadata.example.com/"}
    )
    assert response.status == 422 and response.body["errors"][0]["field"] == "url"
    assert api.get(f"/v1/webhooks/{webhook_id}", secret=acme_hooks.secret).body["url"] == URL


def test_public_ipv6_and_ipv4_hosts_are_accepted(api, acme_hooks):
    assert create(api, acme_hooks).status == 201
    response = api.post("/v1/webhooks", secret=acme_hooks.secret, body={"url": "https://other.example.com:8443/h?x=1"})
    assert response.status == 201, response.body


def test_unknown_read_only_and_missing_fields_are_422(api, acme_hooks):
    for body in [
        {"url": URL, "id": "x"},
        {"url": URL, "secret": "whsec_AAAA"},
        {"url": URL, "version": 3},
        {"url": URL, "enabled": False},
        {"url": URL, "colour": "blue"},
        {"event_types": ["token.created"]},
        {"url": "not a url"},
    ]:
        assert api.post("/v1/webhooks", secret=acme_hooks.secret, body=body).status == 422, body


def test_patch_changes_only_what_is_given_and_honours_if_match(api, acme_hooks):
    webhook_id = create(api, acme_hooks, description="first").body["webhook"]["id"]
    path = f"/v1/webhooks/{webhook_id}"

    changed = api.patch(path, secret=acme_hooks.secret, body={"event_types": ["token.revoked"], "url": None})
    assert changed.status == 200 and changed.headers["etag"] == '"2"'
    assert changed.body["event_types"] == ["token.revoked"] and changed.body["url"] == URL
    assert changed.body["description"] == "first"

    stale = api.patch(path, secret=acme_hooks.secret, body={"description": ""}, headers={"If-Match": '"1"'})
    assert stale.status == 412
    fresh = api.patch(path, secret=acme_hooks.secret, body={"description": ""}, headers={"If-Match": '"2"'})
    assert fresh.status == 200 and fresh.body["description"] is None and fresh.body["version"] == 3

    disabled = api.patch(path, secret=acme_hooks.secret, body={"enabled": False})
    assert disabled.body["enabled"] is False and disabled.body["disabled_reason"] == "disabled by a user"
    enabled = api.patch(path, secret=acme_hooks.secret, body={"enabled": True})
    assert enabled.body["enabled"] is True and enabled.body["disabled_reason"] is None

    for read_only in ({"id": "x"}, {"organization_id": "globex"}, {"disabled_reason": "x"}, {"secret": "x"}):
        assert api.patch(path, secret=acme_hooks.secret, body=read_only).status == 422


def test_rotate_secret_answers_a_new_secret_once(api, acme_hooks, table):
    created = create(api, acme_hooks)
    webhook_id, first = created.body["webhook"]["id"], created.body["secret"]
    before = stored(table, webhook_id)["secret_ciphertext"]["S"]

    stale = api.post(f"/v1/webhooks/{webhook_id}/rotate-secret", secret=acme_hooks.secret, headers={"If-Match": '"7"'})
    assert stale.status == 412
    rotated = api.post(f"/v1/webhooks/{webhook_id}/rotate-secret", secret=acme_hooks.secret)

    assert rotated.status == 200 and rotated.headers["etag"] == '"2"'
    assert rotated.body["secret"].startswith("whsec_") and rotated.body["secret"] != first
    after = stored(table, webhook_id)["secret_ciphertext"]["S"]
    assert after != before and signing_keys.decrypt(after, webhook_id, "acme") == rotated.body["secret"]


def test_delete_removes_the_endpoint(api, acme_hooks):
    webhook_id = create(api, acme_hooks).body["webhook"]["id"]
    path = f"/v1/webhooks/{webhook_id}"
    assert api.delete(path, secret=acme_hooks.secret, headers={"If-Match": '"9"'}).status == 412
    assert api.delete(path, secret=acme_hooks.secret).status == 204
    assert api.get(path, secret=acme_hooks.secret).status == 404
    assert api.delete(path, secret=acme_hooks.secret).status == 404


def test_listing_pages_newest_first(api, acme_hooks, globex_hooks):
    ids = [create(api, acme_hooks, url=f"{URL}/{i}").body["webhook"]["id"] for i in range(3)]
    create(api, globex_hooks)

    first = api.get("/v1/webhooks", secret=acme_hooks.secret, query={"limit": "2"})
    second = api.get(
        "/v1/webhooks", secret=acme_hooks.secret, query={"limit": "2", "cursor": first.body["next_cursor"]}
    )

    assert first.status == 200 and len(first.body["items"]) == 2 and first.body["next_cursor"]
    assert second.body["next_cursor"] is None
    assert sorted(i["id"] for i in first.body["items"] + second.body["items"]) == sorted(ids)
    assert api.get("/v1/webhooks", secret=acme_hooks.secret, query={"limit": "101"}).status == 422
    assert api.get("/v1/webhooks", secret=acme_hooks.secret, query={"cursor": "bm9wZQ"}).status == 422
    assert api.get("/v1/webhooks", secret=acme_hooks.secret, query={"color": "x"}).status == 422
    # webhooks never show up among tokens
    tokens = api.get("/v1/tokens", secret=acme_hooks.secret).body["items"]
    assert tokens and all("url" not in token for token in tokens)


def test_the_same_target_twice_and_one_past_the_cap_are_409_problems(api, acme_hooks):
    # Given an endpoint
    first = create(api, acme_hooks, event_types=["token.created"]).body["webhook"]

    # When the same URL and event types come again, Then a 409 problem names the first
    again = create(api, acme_hooks, event_types=["token.created"])
    assert again.status == 409 and again.headers["content-type"] == "application/problem+json"
    assert first["id"] in again.body["detail"]

    # When acme fills its 10 places and asks for an eleventh, Then a 409 problem names the cap
    for number in range(9):
        assert create(api, acme_hooks, url=f"{URL}/{number}").status == 201
    past = create(api, acme_hooks, url=f"{URL}/10")
    assert past.status == 409 and "MaxWebhookEndpoints (10)" in past.body["detail"]


def test_another_organizations_webhook_is_404_and_untouched(api, acme_hooks, globex_hooks, table):
    webhook_id = create(api, acme_hooks).body["webhook"]["id"]
    before = stored(table, webhook_id)
    path = f"/v1/webhooks/{webhook_id}"
    attempts = [
        api.get(path, secret=globex_hooks.secret),
        api.patch(path, secret=globex_hooks.secret, body={"enabled": False}),
        api.post(f"{path}/rotate-secret", secret=globex_hooks.secret),
        api.get(f"{path}/deliveries", secret=globex_hooks.secret),
        api.delete(path, secret=globex_hooks.secret),
        api.get("/v1/webhooks", secret=globex_hooks.secret, query={"organization_id": "acme"}),
    ]
    assert [a.status for a in attempts] == [404] * 6
    assert api.get("/v1/webhooks", secret=globex_hooks.secret).body["items"] == []
    assert stored(table, webhook_id) == before
    forbidden = api.post("/v1/webhooks", secret=globex_hooks.secret, body={"url": URL, "organization_id": "acme"})
    assert forbidden.status == 403


def test_admins_act_across_organizations(api, admin, acme_hooks):
    created = api.post("/v1/webhooks", secret=admin.secret, body={"url": URL, "organization_id": "acme"})
    assert created.status == 201 and created.body["webhook"]["organization_id"] == "acme"
    webhook_id = created.body["webhook"]["id"]
    assert api.get(f"/v1/webhooks/{webhook_id}", secret=acme_hooks.secret).status == 200
    assert api.get(f"/v1/webhooks/{webhook_id}", secret=admin.secret).status == 200
    listed = api.get("/v1/webhooks", secret=admin.secret, query={"organization_id": "acme"})
    assert [i["id"] for i in listed.body["items"]] == [webhook_id]


def test_scopes(api, admin, acme_hooks, webhook_world):
    webhook_id = create(api, acme_hooks).body["webhook"]["id"]
    path = f"/v1/webhooks/{webhook_id}"
    tokens_only = make_tenant(api, admin, "acme", ["tokens:read", "tokens:write"], name="tokens only")
    reader = make_tenant(api, admin, "acme", ["webhooks:read"], name="hook reader")

    assert api.get(path, secret=tokens_only.secret).status == 403
    assert api.get("/v1/webhooks", secret=tokens_only.secret).status == 403
    assert api.post("/v1/webhooks", secret=tokens_only.secret, body={"url": URL}).status == 403
    assert api.get(path, secret=reader.secret).status == 200
    assert api.get(f"{path}/deliveries", secret=reader.secret).status == 200
    assert api.post("/v1/webhooks", secret=reader.secret, body={"url": URL}).status == 403
    assert api.patch(path, secret=reader.secret, body={"enabled": False}).status == 403
    assert api.post(f"{path}/rotate-secret", secret=reader.secret).status == 403
    assert api.delete(path, secret=reader.secret).status == 403
    # a token never grants webhooks scopes it does not hold
    escalate = api.post("/v1/tokens", secret=reader.secret, body={"name": "x", "scopes": ["webhooks:write"]})
    assert escalate.status == 403  # it cannot create tokens at all
    no_escalation = api.post(
        "/v1/tokens", secret=acme_hooks.secret, body={"name": "y", "scopes": ["webhooks:read", "tokens:verify"]}
    )
    assert no_escalation.status == 403  # acme_hooks lacks tokens:write
