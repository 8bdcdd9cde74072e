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
