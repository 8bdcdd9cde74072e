"""Usage policies over HTTP against the local run: rate limits and credits through the authorizer
(our routes answer 429) and through /verify, allowlists by source address and by `ip`, meta, and
the organization policy."""

from __future__ import annotations

import time
import uuid

import pytest

from devtools.local_events import wait_until

pytestmark = pytest.mark.e2e
EVENT_SOURCES = True  # the organization policy's worker reads its queue, as in `make run`

FIVE_PER_TEN_SECONDS = [{"name": "ten-seconds", "limit": 5, "duration_seconds": 10}]


@pytest.fixture
def manager(admin):
    organization = f"metered-{uuid.uuid4().hex[:6]}"
    scopes = ["tokens:read", "tokens:write", "tokens:manage", "tokens:verify"]
    created = admin.request(
        "POST", "/v1/tokens", json={"name": "manager", "organization_id": organization, "scopes": scopes}
    )
    assert created.status_code == 201, created.text
    return admin.as_(created.json()["secret"]), organization


def issue(manager, **policy) -> tuple[str, dict]:
    client, _ = manager
    body = {"name": f"t-{uuid.uuid4().hex[:8]}", "scopes": ["tokens:read", "tokens:verify"], **policy}
    created = client.request("POST", "/v1/tokens", json=body)
    assert created.status_code == 201, created.text
    return created.json()["secret"], created.json()["token"]


def verify(manager, secret: str, **extra) -> dict:
    answer = manager[0].request("POST", "/v1/tokens/verify", json={"token": secret, **extra})
    assert answer.status_code == 200, answer.text
    return answer.json()


def at_the_start_of_a_ten_second_window() -> None:
    """Counting crosses no window boundary: wait (at most 5 s) for a fresh window's first seconds."""
    if time.time() % 10 > 4:
        time.sleep(10 - time.time() % 10 + 0.05)


def test_five_per_ten_seconds_gives_five_answers_then_429_with_retry_after_on_our_routes(manager):
    secret, _ = issue(manager, ratelimits=FIVE_PER_TEN_SECONDS)
    client = manager[0].as_(secret)
    at_the_start_of_a_ten_second_window()

    statuses = [client.request("GET", "/v1/tokens/self").status_code for _ in range(5)]
    refused = client.request("GET", "/v1/tokens/self")

    assert statuses == [200] * 5
    assert refused.status_code == 429
    assert refused.headers["Content-Type"] == "application/problem+json"
    assert refused.json()["type"].endswith("/rate-limited")
    assert 1 <= int(refused.headers["Retry-After"]) <= 10
    assert refused.headers["RateLimit-Policy"] == '"ten-seconds";q=5;w=10'
    assert refused.headers["RateLimit"].startswith('"ten-seconds";r=0;t=')


def test_five_per_ten_seconds_gives_five_valid_then_rate_limited_from_verify(manager):
    secret, _ = issue(manager, ratelimits=FIVE_PER_TEN_SECONDS)
    at_the_start_of_a_ten_second_window()

    answers = [verify(manager, secret) for _ in range(6)]

    assert [a["code"] for a in answers] == ["VALID"] * 5 + ["RATE_LIMITED"]
    assert [a["ratelimits"][0]["remaining"] for a in answers] == [4, 3, 2, 1, 0, 0]
    assert answers[-1]["valid"] is False


def test_three_credits_verify_three_times_then_usage_exceeded(manager):
    secret, token = issue(manager, credits={"remaining": 3})

    answers = [verify(manager, secret) for _ in range(4)]

    assert [a["code"] for a in answers] == ["VALID", "VALID", "VALID", "USAGE_EXCEEDED"]
    assert [a["credits"] for a in answers] == [{"remaining": r} for r in (2, 1, 0, 0)]
    events = manager[0].request("GET", f"/v1/tokens/{token['id']}/events").json()["items"]
    assert "token.credits_exhausted" in [e["type"] for e in events]


def test_a_token_out_of_credits_gets_429_from_our_routes(manager):
    secret, _ = issue(manager, credits={"remaining": 1})
    client = manager[0].as_(secret)

    assert client.request("GET", "/v1/tokens/self").status_code == 200
    refused = client.request("GET", "/v1/tokens/self")

    assert refused.status_code == 429 and refused.json()["type"].endswith("/usage-exceeded")


def test_an_allowlisted_token_is_refused_from_another_address(manager):
    elsewhere, _ = issue(manager, allowed_cidrs=["10.0.0.0/8"])
    here, _ = issue(manager, allowed_cidrs=["127.0.0.0/8"])

    # through the authorizer: the request's source address (127.0.0.1 locally)
    assert manager[0].as_(elsewhere).request("GET", "/v1/tokens/self").status_code == 403
    assert manager[0].as_(here).request("GET", "/v1/tokens/self").status_code == 200
    # through /verify: the ip in the body
    assert verify(manager, elsewhere, ip="10.9.8.7")["code"] == "VALID"
    assert verify(manager, elsewhere, ip="192.0.2.1")["code"] == "IP_NOT_ALLOWED"
    assert verify(manager, elsewhere)["code"] == "IP_NOT_ALLOWED"


def test_meta_is_returned_by_verify_and_on_the_token(manager):
    secret, token = issue(manager, meta={"plan": "pro", "tenant": {"id": 42}})

    assert verify(manager, secret)["meta"] == {"plan": "pro", "tenant": {"id": 42}}
    assert manager[0].as_(secret).request("GET", "/v1/tokens/self").json()["meta"] == token["meta"]


def test_an_organization_policy_binds_every_token_and_no_token_field_bypasses_it(admin, manager):
    _, organization = manager
    secret, _ = issue(manager, allowed_cidrs=["0.0.0.0/0"])  # a token allowing everywhere
    path = f"/v1/organizations/{organization}/policy"

    put = admin.request("PUT", path, json={"allowed_cidrs": ["10.0.0.0/8"]})
    assert put.status_code == 200 and put.json()["version"] == 1 and put.json()["propagated"] is False
    propagated(admin, path)  # the local run's worker copies it from the queue (a page, then a re-check)

    assert manager[0].as_(secret).request("GET", "/v1/tokens/self").status_code == 403
    assert manager[0].request("GET", "/v1/tokens/self").status_code == 403  # the manager too: it is the org's
    assert admin.request("GET", path).json()["allowed_cidrs"] == ["10.0.0.0/8"]
    assert admin.request("PUT", path, json={"allowed_cidrs": []}).status_code == 200
    propagated(admin, path)
    assert manager[0].as_(secret).request("GET", "/v1/tokens/self").status_code == 200


def propagated(admin, path: str) -> dict:
    """The policy once the worker has copied it onto every token of the organization."""
    return wait_until(lambda: (policy := admin.request("GET", path).json())["propagated"] and policy, timeout=30)


# --- who may loosen (the OWASP matrix of the usage policies) ----------------------------------------

LOOSENINGS = {
    "a credit grant": ({"credits": {"remaining": 5}}, {"credits": {"remaining": 500}}),
    "a rate limit removed": ({"ratelimits": FIVE_PER_TEN_SECONDS}, {"ratelimits": []}),
    "a rate limit raised": (
        {"ratelimits": FIVE_PER_TEN_SECONDS},
        {"ratelimits": [{**FIVE_PER_TEN_SECONDS[0], "limit": 500}]},
    ),
    "an allowlist widened": ({"allowed_cidrs": ["127.0.0.0/8"]}, {"allowed_cidrs": ["0.0.0.0/0"]}),
}


@pytest.mark.parametrize("loosening", LOOSENINGS)
@pytest.mark.parametrize(
    ("caller", "expected"),
    [("owner", 403), ("the token itself", 403), ("tokens:manage", 200), ("admin", 200)],
)
def test_only_a_manager_or_an_admin_loosens_and_never_the_token_itself(admin, manager, loosening, caller, expected):
    client, organization = manager
    before, after = LOOSENINGS[loosening]
    owner_scopes = ["tokens:read", "tokens:write", "tokens:verify"]
    owner = client.request(
        "POST", "/v1/tokens", json={"name": f"o-{uuid.uuid4().hex[:6]}", "owner": "ada@x.test", "scopes": owner_scopes}
    ).json()
    target_body = {"name": f"t-{uuid.uuid4().hex[:6]}", "owner": "ada@x.test", "scopes": owner_scopes, **before}
    if caller == "the token itself":
        target_body["scopes"] = [*owner_scopes, "tokens:manage"]
    created = client.request("POST", "/v1/tokens", json=target_body).json()
    callers = {
        "owner": client.as_(owner["secret"]),
        "the token itself": client.as_(created["secret"]),
        "tokens:manage": client,
        "admin": admin,
    }

    answer = callers[caller].request("PATCH", f"/v1/tokens/{created['token']['id']}", json=after)

    assert answer.status_code == expected, answer.text
    if expected == 403:
        stored = client.request("GET", f"/v1/tokens/{created['token']['id']}").json()
        if "credits" in before:  # nothing granted (the token's own request may have spent one)
            assert stored["credits"]["remaining"] <= before["credits"]["remaining"]
        else:
            assert {k: stored[k] for k in before} == {k: created["token"][k] for k in before}


def test_the_organization_policy_routes_keep_tenancy_and_need_tokens_manage(admin, manager):
    client, organization = manager
    path = f"/v1/organizations/{organization}/policy"
    writer = client.request(
        "POST", "/v1/tokens", json={"name": "writer", "scopes": ["tokens:read", "tokens:write"]}
    ).json()["secret"]
    stranger_org = f"other-{uuid.uuid4().hex[:6]}"
    stranger = admin.request(
        "POST", "/v1/tokens", json={"name": "m", "organization_id": stranger_org, "scopes": ["tokens:manage"]}
    ).json()["secret"]

    assert client.request("GET", path).json() == {
        "organization_id": organization,
        "allowed_cidrs": [],
        "max_lifetime_days": None,
        "require_expiry": False,
        "on_new_location": "notify",
        "inactivity_days": None,
        "inactivity_notice_days": [],
        "version": 0,
        "modified_at": None,
        "propagated": True,
        "enforcement": None,
    }
    assert client.as_(writer).request("GET", path).status_code == 403  # lacks tokens:manage
    assert client.as_(stranger).request("GET", path).status_code == 404  # another organization
    assert client.as_(stranger).request("PUT", path, json={"allowed_cidrs": ["10.0.0.0/8"]}).status_code == 404
    assert client.request("PUT", path, json={"allowed_cidrs": ["not a cidr"]}).status_code == 422
    assert client.request("PUT", path, json={"allowed_cidrs": []}, headers={"If-Match": '"7"'}).status_code == 412
    assert client.request("GET", path).json()["version"] == 0  # nothing of the above changed it
