"""Inactivity revocation through the gateway in moto: the organization policy's inactivity_days,
copied by its worker, wakes the expiry sweep (functions/expire_tokens) at the notices and the deadline."""

import pytest

from tests.integration.test_expiry import due_index_ids, events, sweep

DAY = 86400
POLICY = {"inactivity_days": 30, "inactivity_notice_days": [14, 3]}


@pytest.fixture
def idle_and_busy(api, admin, organization_policy_queue, clock):
    """acme (no token of its own: the platform's admin acts) revokes tokens unused for 30 days; two
    tokens made after the policy is everywhere."""
    assert api.put("/v1/organizations/acme/policy", secret=admin.secret, body=POLICY).status == 200
    organization_policy_queue.run_worker(batch_size=1)
    bodies = [{"name": name, "organization_id": "acme", "scopes": ["tokens:read"]} for name in ("idle", "busy")]
    made = [api.post("/v1/tokens", secret=admin.secret, body=body).body for body in bodies]
    return [(m["token"]["id"], m["secret"]) for m in made]


def test_an_unused_token_is_warned_then_revoked_and_a_used_one_is_not(api, admin, idle_and_busy, clock, table):
    (idle, _), (busy, busy_secret) = idle_and_busy

    # When the busy token is used on day 10, and the sweep runs on days 16, 27 and 30
    clock.advance(10 * DAY)
    assert api.get("/v1/tokens/self", secret=busy_secret).status == 200
    clock.advance(6 * DAY)
    day_16 = sweep()
    clock.advance(11 * DAY)
    day_27 = sweep()
    clock.advance(3 * DAY)
    day_30 = sweep()

    # Then the idle token got its two notices (day 16, day 27, with the busy one's first) and is revoked
    assert (day_16["inactivity_notices"], day_27["inactivity_notices"], day_30["revoked"]) == (1, 2, 1)
    stored = api.get(f"/v1/tokens/{idle}", secret=admin.secret).body
    assert stored["status"] == "revoked" and stored["revoked_reason"] == "inactive"
    trail = events(api, admin, idle)
    assert [e["type"] for e in trail] == [
        "token.revoked",
        "token.inactive_soon",
        "token.inactive_soon",
        "token.created",
    ]
    assert [e["details"]["days_left"] for e in trail[1:3]] == [3, 14]
    assert trail[0]["actor"] == {"system": "tokensmith"} and trail[0]["reason"] == "inactive"
    assert idle not in due_index_ids(table)
    # And the token used on day 10 is live, its first notice due on day 26 (only the 14-day one so far)
    busy_trail = [e["type"] for e in events(api, admin, busy)]
    assert api.get(f"/v1/tokens/{busy}", secret=admin.secret).body["status"] == "active"
    assert busy_trail.count("token.inactive_soon") == 1 and "token.revoked" not in busy_trail


def test_a_policy_set_on_long_unused_tokens_warns_before_it_revokes(api, admin, organization_policy_queue, clock):
    # Given a token unused for 100 days
    body = {"name": "old", "organization_id": "acme", "scopes": ["tokens:read"]}
    old = api.post("/v1/tokens", secret=admin.secret, body=body).body["token"]["id"]
    clock.advance(100 * DAY)

    # When its organization starts revoking tokens unused for 30 days
    assert api.put("/v1/organizations/acme/policy", secret=admin.secret, body=POLICY).status == 200
    organization_policy_queue.run_worker(batch_size=1)

    # Then the next sweep warns it 14 days ahead, then 3 days ahead, and only then is it revoked
    assert sweep()["inactivity_notices"] == 1
    assert api.get(f"/v1/tokens/{old}", secret=admin.secret).body["status"] == "active"
    clock.advance(11 * DAY)
    assert sweep()["inactivity_notices"] == 1
    clock.advance(3 * DAY)
    assert sweep()["revoked"] == 1
    assert api.get(f"/v1/tokens/{old}", secret=admin.secret).body["revoked_reason"] == "inactive"
