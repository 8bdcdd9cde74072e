"""The local gateway applies the route throttles template.yaml declares, as API Gateway does: a token
bucket per route (ThrottlingBurstLimit deep, refilled at ThrottlingRateLimit a second); an empty bucket
is answered 429 {"message":"Too Many Requests"} before the authorizer or the function runs.

The gateway's clock is a fake one here, so "quick" means no time passes between two calls."""

from __future__ import annotations

import json

import pytest

from devtools.local_api.gateway import Gateway
from devtools.local_api.throttling import RouteThrottling
from devtools.template import RouteThrottle, route_throttles
from tests.support import ROOT, InProcessApi, shared_runtime, template

REVOKE_LEAKED = "POST /v1/tokens/revoke-leaked"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def throttled(leak_queue, clock) -> InProcessApi:
    """The API through a gateway that throttles (as `make run` does), its buckets on the fake clock."""
    throttling = RouteThrottling(route_throttles(template()), clock=clock)
    gateway = Gateway(template(), ROOT, schedule_log=False, runtime=shared_runtime(), throttling=throttling)
    return InProcessApi(gateway)


def report(api: InProcessApi):
    return api.post("/v1/tokens/revoke-leaked", body={"tokens": ["tks_not_a_real_secret"]})


def test_the_template_gives_revoke_leaked_a_burst_of_5_at_LeakedTokensRateLimit_per_second():
    # Given template.yaml as it is deployed
    throttles = route_throttles(template())

    # Then revoke-leaked has its own route settings and the other routes the API's defaults
    assert (throttles[REVOKE_LEAKED].burst, throttles[REVOKE_LEAKED].rate) == (5, 1.0)
    assert (throttles["GET /v1/tokens"].burst, throttles["GET /v1/tokens"].rate) == (200, 100.0)
    assert route_throttles(template(), {"LeakedTokensRateLimit": "3"})[REVOKE_LEAKED].rate == 3.0


def test_eight_quick_revoke_leaked_calls_are_five_202_then_three_429(throttled):
    # When eight reports arrive with no time between them
    answers = [report(throttled) for _ in range(8)]

    # Then the burst of 5 goes through and the rest are refused the way API Gateway refuses them
    assert [a.status for a in answers] == [202] * 5 + [429] * 3
    refused = answers[-1]
    assert json.loads(refused.raw) == {"message": "Too Many Requests"}
    assert refused.headers["content-type"] == "application/json"
    assert refused.headers["apigw-requestid"]


def test_the_bucket_refills_at_the_rate_limit(throttled, clock):
    # Given a route whose burst is spent
    assert [report(throttled).status for _ in range(6)] == [202] * 5 + [429]

    # When one second passes (LeakedTokensRateLimit: 1 a second), then one more request goes through
    clock.now += 1.0
    assert [report(throttled).status for _ in range(2)] == [202, 429]

    # When ten seconds pass, the bucket holds no more than its burst
    clock.now += 10.0
    assert [report(throttled).status for _ in range(6)] == [202] * 5 + [429]


def test_each_route_has_a_bucket_of_its_own(throttled, admin):
    # Given revoke-leaked's burst spent
    assert [report(throttled).status for _ in range(6)] == [202] * 5 + [429]

    # Then another route still answers
    assert throttled.get("/v1/tokens/self", secret=admin.secret).status == 200


def test_a_throttled_request_never_reaches_the_authorizer(table, admin, clock, monkeypatch):
    # Given a gateway whose GET /v1/tokens allows one request, spent
    throttling = RouteThrottling({"GET /v1/tokens": RouteThrottle(rate=1, burst=1)}, clock=clock)
    api = InProcessApi(Gateway(template(), ROOT, schedule_log=False, runtime=shared_runtime(), throttling=throttling))
    assert api.get("/v1/tokens", secret=admin.secret, query={"limit": "1"}).status == 200
    calls = []
    monkeypatch.setattr(api.gateway.authorizer, "_invoke", lambda *args: calls.append(args))

    # When one more request comes
    answer = api.get("/v1/tokens", secret=admin.secret, query={"limit": "1"})

    # Then it is a 429 and the authorizer was not called
    assert answer.status == 429 and calls == []
