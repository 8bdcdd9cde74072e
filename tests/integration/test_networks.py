"""Networks seen, through the authorizer and POST /v1/tokens/verify (moto): the token's ``networks``,
the ``token.new_location`` event, and the disable an organization's ``on_new_location`` asks for."""

import pytest

from tests.integration.conftest import make_tenant

HOME = "203.0.113.7"  # tests.support.SOURCE_IP: every call's source address unless told
ELSEWHERE = "198.51.100.4"


@pytest.fixture
def target(api, acme):
    created = api.post("/v1/tokens", secret=acme.secret, body={"name": "svc", "scopes": ["orders:read"]})
    return created.body["token"], created.body["secret"]


def events_of(api, manager, token_id, event_type="token.new_location"):
    listed = api.get(f"/v1/tokens/{token_id}/events", secret=manager.secret).body["items"]
    return [event for event in listed if event["type"] == event_type]


def test_a_use_from_a_new_network_is_an_event_and_the_token_lists_both(api, acme, target, clock):
    token, secret = target

    # Given the token used from HOME (its first network: recorded, no event)
    assert api.get("/v1/tokens/self", secret=secret).status == 200
    assert events_of(api, acme, token["id"]) == []
    clock.advance(61)

    # When it is used from another network
    assert api.get("/v1/tokens/self", secret=secret, source_ip=ELSEWHERE).status == 200

    # Then one token.new_location names it, the user agent, and where the token was used from before
    (event,) = events_of(api, acme, token["id"])
    assert event["details"] == {
        "network": "198.51.100.0/24",
        "user_agent": "pytest/1.0",
        "previous_networks": ["203.0.113.0/24"],
        "disabled": False,
    }
    assert event["actor"] == {"system": "tokensmith"}

    # And the token lists both networks, the newest first, without a version bump
    read = api.get(f"/v1/tokens/{token['id']}", secret=acme.secret).body
    assert [n["network"] for n in read["networks"]] == ["198.51.100.0/24", "203.0.113.0/24"]
    assert read["networks"][0]["user_agent"] == "pytest/1.0" and read["version"] == 1

    # And more uses from either network write no further event
    api.get("/v1/tokens/self", secret=secret)
    api.get("/v1/tokens/self", secret=secret, source_ip="198.51.100.200")
    assert len(events_of(api, acme, token["id"])) == 1


def test_verify_records_the_clients_network_from_the_body_ip(api, acme, target, clock):
    token, secret = target

    # When a service verifies the secret for clients at HOME, then ELSEWHERE (the service itself at HOME)
    for ip in (HOME, ELSEWHERE):
        body = {"token": secret, "ip": ip, "user_agent": "client/2.0"}
        answer = api.post("/v1/tokens/verify", secret=acme.secret, body=body)
        assert answer.body["code"] == "VALID"
        clock.advance(61)

    # Then the second is a new location; the answer's token lists the networks
    (event,) = events_of(api, acme, token["id"])
    assert event["details"]["network"] == "198.51.100.0/24" and event["details"]["user_agent"] == "client/2.0"
    assert event["ip"] == ELSEWHERE
    assert [n["network"] for n in answer.body["token"]["networks"]] == ["198.51.100.0/24", "203.0.113.0/24"]

    # And a verification without ip records nothing
    api.post("/v1/tokens/verify", secret=acme.secret, body={"token": secret})
    assert len(api.get(f"/v1/tokens/{token['id']}", secret=acme.secret).body["networks"]) == 2


def test_on_new_location_disable_disables_the_token_and_refuses_the_request(api, admin, organization_policy_queue):
    # Given an organization whose policy disables on a new location, and a token made under it
    manager = make_tenant(api, admin, "initech")
    put = api.put("/v1/organizations/initech/policy", secret=manager.secret, body={"on_new_location": "disable"})
    assert put.status == 200, put.body
    created = api.post("/v1/tokens", secret=manager.secret, body={"name": "svc", "scopes": ["orders:read"]}).body
    token, secret = created["token"], created["secret"]
    assert api.get("/v1/tokens/self", secret=secret).status == 200  # its first network

    # When it is used from another network
    refused = api.get("/v1/tokens/self", secret=secret, source_ip=ELSEWHERE)

    # Then that very request is refused, the token is disabled (a real change), and the event says so
    assert refused.status == 403
    read = api.get(f"/v1/tokens/{token['id']}", secret=manager.secret).body
    assert (read["status"], read["version"]) == ("disabled", 2)
    assert read["disabled_by"] == {"token_id": "system", "authority": "tokens:manage"}
    (event,) = events_of(api, manager, token["id"])
    assert event["details"]["disabled"] is True
    assert event["changes"] == {"status": {"from": "active", "to": "disabled"}}
    assert api.get("/v1/tokens/self", secret=secret).status == 403  # from anywhere, until enabled
    listed = api.get("/v1/tokens", secret=manager.secret, query={"status": "disabled"}).body["items"]
    assert [t["id"] for t in listed] == [token["id"]]

    # And a manager can enable it again, after which both networks are known
    assert api.post(f"/v1/tokens/{token['id']}/enable", secret=manager.secret).status == 200
    assert api.get("/v1/tokens/self", secret=secret, source_ip=ELSEWHERE).status == 200


def test_networks_are_read_only(api, acme, target):
    token, _ = target

    answer = api.patch(f"/v1/tokens/{token['id']}", secret=acme.secret, body={"networks": []})

    assert answer.status == 422 and "networks" in answer.body["detail"]
