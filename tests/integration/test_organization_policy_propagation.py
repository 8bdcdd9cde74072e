"""PUT /v1/organizations/{id}/policy through the gateway in moto: the route writes the policy and queues
its copy on OrganizationPolicyQueue; functions/propagate_org_policy copies it onto the organization's
tokens a page per message (``organization_policy_queue.run_worker`` plays the mapping)."""

import json

import pytest

from tests.integration.conftest import make_tenant
from tokensmith.organizations import propagation

ALLOWED = "192.0.2.9"
ELSEWHERE = "203.0.113.7"  # the suites' default source address


@pytest.fixture
def small_pages(monkeypatch):
    """Two tokens a page, so that a handful of tokens takes several messages."""
    from tests.conftest import clear_singletons

    monkeypatch.setattr(propagation, "PAGE_SIZE", 2)
    clear_singletons()


def test_the_put_answers_at_once_and_the_worker_copies_the_policy_page_by_page(
    api, admin, organization_policy_queue, small_pages
):
    # Given an organization of a manager and four more tokens
    acme = make_tenant(api, admin, "acme")
    secrets = [api.post("/v1/tokens", secret=acme.secret, body={"name": f"t{n}"}).body["secret"] for n in range(4)]
    path = "/v1/organizations/acme/policy"

    # When the manager sets the organization's policy
    put = api.put(path, secret=acme.secret, body={"allowed_cidrs": ["192.0.2.0/24"]})

    # Then it answers before any token has it: one message queued, the tokens still open from anywhere
    assert put.status == 200 and put.body["propagated"] is False and put.body["version"] == 1
    [message] = organization_policy_queue.messages()
    assert json.loads(message["Body"]) == {"organization_id": "acme", "version": 1}
    assert api.get("/v1/tokens/self", secret=secrets[0], source_ip=ELSEWHERE).status == 200

    # When the worker drains its queue, one message at a time (the mapping's BatchSize)
    answers = organization_policy_queue.run_worker(batch_size=1)

    # Then it took several pages and a re-check, failed none, and every token, the manager too, is bound
    assert len(answers) >= 4 and all(a["batchItemFailures"] == [] for a in answers)
    for secret in [acme.secret, *secrets]:
        assert api.get("/v1/tokens/self", secret=secret, source_ip=ELSEWHERE).status == 403
        assert api.get("/v1/tokens/self", secret=secret, source_ip=ALLOWED).status == 200
    assert api.get(path, secret=acme.secret, source_ip=ALLOWED).body["propagated"] is True


def test_an_older_policys_messages_stop_once_a_newer_one_is_written(api, admin, organization_policy_queue):
    # Given two PUTs in a row, before the worker ran
    acme = make_tenant(api, admin, "acme")
    path = "/v1/organizations/acme/policy"
    assert api.put(path, secret=acme.secret, body={"allowed_cidrs": ["10.0.0.0/8"]}).status == 200
    assert api.put(path, secret=acme.secret, body={"allowed_cidrs": []}).status == 200

    # When the worker drains both
    organization_policy_queue.run_worker(batch_size=1)

    # Then the token carries the newer (an empty list: anywhere), and the policy is propagated
    assert api.get("/v1/tokens/self", secret=acme.secret, source_ip=ELSEWHERE).status == 200
    policy = api.get(path, secret=acme.secret).body
    assert (policy["version"], policy["propagated"]) == (2, True)


def test_the_preview_lists_the_token_used_from_outside_and_enforce_disable_disables_it_page_by_page(
    api, admin, organization_policy_queue, small_pages
):
    # Given a manager and three tokens used from the allowed network, and one used from elsewhere
    acme = make_tenant(api, admin, "acme")
    made = [
        api.post("/v1/tokens", secret=acme.secret, body={"name": f"t{n}"}, source_ip=ALLOWED).body for n in range(4)
    ]
    for body in made[1:]:
        assert api.get("/v1/tokens/self", secret=body["secret"], source_ip=ALLOWED).status == 200
    assert api.get("/v1/tokens/self", secret=made[0]["secret"], source_ip=ELSEWHERE).status == 200
    path = "/v1/organizations/acme/policy"
    candidate = {"allowed_cidrs": ["192.0.2.0/24"]}

    # When the manager previews the allowlist, two tokens a page
    pages, cursor = [], None
    while True:
        query = f"?limit=2&cursor={cursor}" if cursor else "?limit=2"
        page = api.post(path + "/preview" + query, secret=acme.secret, body=candidate, source_ip=ALLOWED)
        assert page.status == 200, page.body
        pages.append(page.body)
        cursor = page.body["next_cursor"]
        if cursor is None:
            break

    # Then only the token used from elsewhere is listed, for its allowlist, after reading every token once
    found = [t for p in pages for t in p["tokens"]]
    assert [(t["token_id"], t["reasons"]) for t in found] == [(made[0]["token"]["id"], ["allowlist"])]
    assert sum(p["examined"] for p in pages) == 5 and all(p["examined"] <= 2 for p in pages)

    # When the manager applies it with enforce: disable and the worker drains its queue
    put = api.put(path, secret=acme.secret, body={**candidate, "enforce": "disable"}, source_ip=ALLOWED)
    assert put.status == 200 and put.body["enforcement"]["done"] is False
    organization_policy_queue.run_worker(batch_size=1)

    # Then that token is disabled, by the manager, for the policy; the others are active; the progress is exact
    token = api.get(f"/v1/tokens/{made[0]['token']['id']}", secret=acme.secret, source_ip=ALLOWED).body
    assert token["status"] == "disabled"
    events = api.get(f"/v1/tokens/{token['id']}/events", secret=acme.secret, source_ip=ALLOWED).body["items"]
    [disabled] = [e for e in events if e["type"] == "token.disabled"]
    assert disabled["reason"] == "policy" and disabled["actor"]["token_id"] == acme.token_id
    for body in made[1:]:
        assert api.get(f"/v1/tokens/{body['token']['id']}", secret=acme.secret, source_ip=ALLOWED).body["status"] == (
            "active"
        )
    enforcement = api.get(path, secret=acme.secret, source_ip=ALLOWED).body["enforcement"]
    assert {k: enforcement[k] for k in ("action", "examined", "disabled", "revoked", "done")} == {
        "action": "disable",
        "examined": 5,
        "disabled": 1,
        "revoked": 0,
        "done": True,
    }


def test_a_preview_cursor_of_another_organization_is_a_422(api, admin):
    acme, globex = make_tenant(api, admin, "acme"), make_tenant(api, admin, "globex")
    for n in range(3):
        api.post("/v1/tokens", secret=globex.secret, body={"name": f"t{n}"})
    page = api.post("/v1/organizations/globex/policy/preview?limit=1", secret=globex.secret, body={}).body

    answer = api.post(
        f"/v1/organizations/acme/policy/preview?cursor={page['next_cursor']}", secret=acme.secret, body={}
    )

    assert answer.status == 422 and answer.body["errors"][0]["field"] == "cursor"
