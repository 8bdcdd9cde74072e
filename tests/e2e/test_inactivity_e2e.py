"""Inactivity revocation end to end, over HTTP against the local run with its event plumbing on: an
organization revokes tokens unused for 2 days, warned 1 day before; the sweep (run now, as
`make sweep` does) warns one token and revokes another, and a receiver verifies both webhooks with
the reference `standardwebhooks` verifier.

Time is not faked: the tokens' last use is written as the verification's own last-use write
(`TokenRepository.record_last_use` with `expiry.schedule.wake_after_use`) would have written it 36
hours and 3 days ago, straight into the local run's table."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import pytest

from devtools.local_events import wait_until
from tests.e2e.conftest import Client, local_server
from tests.webhooks import webhook_receiver
from tokensmith import clock
from tokensmith.expiry.schedule import wake_after_use
from tokensmith.tokens.repository import TokenRepository

pytestmark = pytest.mark.e2e

ORGANIZATION = "dormant"


@pytest.fixture(scope="module")
def running():
    with local_server("inactivity-e2e-admin", event_sources=True) as started:
        yield started


def used_ago(token_id: str, ago: timedelta) -> None:
    """The last-use write of a verification ``ago`` ago, as the authorizer makes it."""
    repository = TokenRepository(os.environ["TABLE_NAME"], endpoint_url=os.environ["DYNAMODB_ENDPOINT_URL"])
    at = clock.to_iso(datetime.now(UTC) - ago)
    wake = wake_after_use(repository.get_token(token_id), at, (7, 1))
    assert wake and repository.record_last_use(token_id, at, at, "192.0.2.1", "e2e", wake)


def test_an_unused_token_is_warned_and_a_longer_unused_one_revoked_with_signed_webhooks(running):
    server, admin_secret = running
    admin = Client(server.base_url, admin_secret)
    scopes = ["webhooks:read", "webhooks:write"]
    body = {"name": "hooks", "organization_id": ORGANIZATION, "scopes": scopes}
    manager = admin.as_(admin.request("POST", "/v1/tokens", json=body).json()["secret"])

    with webhook_receiver() as receiver:
        # Given a receiver, and an organization that revokes tokens unused for 2 days, warned 1 day before
        registered = manager.request("POST", "/v1/webhooks", json={"url": receiver.url("/hook")})
        assert registered.status_code == 201, registered.text
        whsec = registered.json()["secret"]
        policy_path = f"/v1/organizations/{ORGANIZATION}/policy"
        policy = {"inactivity_days": 2, "inactivity_notice_days": [1]}
        assert admin.request("PUT", policy_path, json=policy).status_code == 200
        wait_until(lambda: admin.request("GET", policy_path).json()["propagated"], timeout=60, interval=0.5)

        # And two of its tokens, last used 36 hours and 3 days ago
        made = {}
        for name in ("warned", "revoked"):
            body = {"name": name, "organization_id": ORGANIZATION, "scopes": ["tokens:read"]}
            made[name] = admin.request("POST", "/v1/tokens", json=body).json()["token"]["id"]
        used_ago(made["warned"], timedelta(hours=36))
        used_ago(made["revoked"], timedelta(days=3))

        # When the sweep runs
        report = server.run_schedule("ExpireTokensFunction")

        # Then one is warned a day ahead and the other revoked with reason inactive, each a signed webhook
        assert report["inactivity_notices"] >= 1 and report["revoked"] >= 1

        def arrived():
            payloads = [r.verified(whsec) for r in receiver.at("/hook")]
            wanted = {(made["warned"], "token.inactive_soon"), (made["revoked"], "token.revoked")}
            mine = [p for p in payloads if (p["data"]["token_id"], p["type"]) in wanted]
            return mine if len(mine) >= 2 else None

        payloads = {p["type"]: p for p in wait_until(arrived, timeout=60, interval=0.2)}
        notice = payloads["token.inactive_soon"]["data"]
        assert notice["details"]["days_left"] == 1 and notice["actor"] == {"system": "tokensmith"}
        revoke_at = datetime.strptime(notice["details"]["revoke_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        assert timedelta(hours=11) < revoke_at - datetime.now(UTC) <= timedelta(hours=12)
        revoked = payloads["token.revoked"]["data"]
        assert revoked["reason"] == "inactive" and revoked["changes"]["status"]["to"] == "revoked"
        assert revoked["details"]["inactivity_days"] == 2

        # And the API says so
        token = admin.request("GET", f"/v1/tokens/{made['revoked']}").json()
        assert token["status"] == "revoked" and token["revoked_reason"] == "inactive"
        assert admin.request("GET", f"/v1/tokens/{made['warned']}").json()["status"] == "active"
