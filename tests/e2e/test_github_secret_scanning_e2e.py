"""End-to-end over HTTP against the local run (`make run`'s server, its event plumbing on): GitHub's
signed secret scanning report → labels → the leak queue → the worker revokes → a `token.revoked`
webhook naming GitHub and the place, accepted by the reference `standardwebhooks` verifier.
GitHub's keys endpoint is a local server (GitHubSecretScanningKeysUrl); the key pair is the test's."""

from __future__ import annotations

import pytest
import requests

from devtools.local_events import wait_until
from tests.e2e.conftest import Client, local_server
from tests.github_keys_server import github_keys_server
from tests.github_signing import GitHubSigner, matches_body
from tests.webhooks import webhook_receiver
from tokensmith.tokens import format as token_format

pytestmark = pytest.mark.e2e

SIGNER = GitHubSigner()
ROUTE = "/v1/secret-scanning/github"


@pytest.fixture(scope="module")
def running():
    with github_keys_server(SIGNER) as keys:
        overrides = {"GitHubSecretScanningKeysUrl": keys.url}
        with local_server("scanning-e2e-admin", event_sources=True, parameter_overrides=overrides) as started:
            yield started


def post_report(base_url: str, body: bytes, headers: dict[str, str]) -> requests.Response:
    return requests.post(base_url + ROUTE, data=body, headers=headers, timeout=10)


def test_a_token_github_finds_is_revoked_and_the_webhook_says_where(running):
    server, admin_secret = running
    admin = Client(server.base_url, admin_secret)
    scopes = ["tokens:read", "tokens:write", "webhooks:read", "webhooks:write"]
    acme = admin.as_(
        admin.request("POST", "/v1/tokens", json={"name": "ops", "organization_id": "acme", "scopes": scopes}).json()[
            "secret"
        ]
    )

    with webhook_receiver() as receiver:
        # Given a webhook receiver of acme's, and a live token of acme's
        registered = acme.request(
            "POST", "/v1/webhooks", json={"url": receiver.url("/hook"), "event_types": ["token.revoked"]}
        )
        assert registered.status_code == 201, registered.text
        whsec = registered.json()["secret"]
        created = acme.request("POST", "/v1/tokens", json={"name": "pushed-to-github"}).json()
        token_id, secret = created["token"]["id"], created["secret"]

        # When GitHub reports it (and a look-alike), signed
        body = matches_body(secret, token_format.generate("tks", "7f3c2a9e-1b4d-4c8e-9f6a-2d5b8e1c3a70"))
        answer = post_report(server.base_url, body, SIGNER.headers(body))

        # Then GitHub gets its labels
        assert answer.status_code == 200, answer.text
        assert [label["label"] for label in answer.json()] == ["true_positive", "false_positive"]
        assert answer.json()[0]["token_hash"] == token_format.digest(secret)

        # And within seconds the token is revoked and a signed webhook says GitHub found it, and where
        def revoked():
            payloads = [r.verified(whsec) for r in receiver.at("/hook")]
            return [p for p in payloads if p["data"]["token_id"] == token_id] or None

        [payload] = wait_until(revoked, timeout=30)
        assert payload["type"] == "token.revoked" and payload["data"]["reason"] == "leaked"
        assert payload["data"]["details"] == {
            "reporter": "github_secret_scanning",
            "url": "https://github.com/octocat/leaks/blob/main/file0.txt",
            "source": "content",
        }
        assert secret not in receiver.at("/hook")[0].body.decode()
        assert Client(server.base_url, secret).request("GET", "/v1/tokens/self").status_code == 403


def test_an_unsigned_or_badly_signed_report_is_401_and_revokes_nothing(running):
    server, admin_secret = running
    admin = Client(server.base_url, admin_secret)
    created = admin.request("POST", "/v1/tokens", json={"name": "not-really-leaked", "organization_id": "acme"})
    secret = created.json()["secret"]
    body = matches_body(secret)

    unsigned = post_report(server.base_url, body, {"Content-Type": "application/json"})
    forged = post_report(server.base_url, body, GitHubSigner(SIGNER.identifier).headers(body))

    assert (unsigned.status_code, forged.status_code) == (401, 401)
    assert unsigned.headers["content-type"] == "application/problem+json"
    assert Client(server.base_url, secret).request("GET", "/v1/tokens/self").status_code == 200
