"""POST /v1/secret-scanning/github through the route (moto): GitHub's signed report in, labels out, the
real, live tokens revoked by the leak worker with where GitHub found them. GitHub's keys endpoint is a
local server (tests/github_keys_server.py) fetched through the real egress code; the key pair is ours."""

from __future__ import annotations

import json
import logging

import pytest

from tests.attack import DynamoFaults, SecretScanner, unknown_secret
from tests.conftest import clear_singletons
from tests.github_keys_server import github_keys_server
from tests.github_signing import GitHubSigner, matches_body
from tokensmith.aws.clients import client
from tokensmith.tokens import format as token_format

ROUTE = "/v1/secret-scanning/github"
SIGNER = GitHubSigner()
WIRE_LOGGERS = ("botocore", "boto3", "urllib3", "s3transfer", "moto", "werkzeug", "responses")


@pytest.fixture
def github_keys(monkeypatch):
    with github_keys_server(SIGNER) as keys:
        monkeypatch.setenv("GITHUB_SECRET_SCANNING_KEYS_URL", keys.url)
        monkeypatch.setenv("WEBHOOK_ALLOW_LOOPBACK", "true")
        clear_singletons()
        yield keys
    clear_singletons()


@pytest.fixture
def api(api, leak_queue, github_keys):
    return api


def create(api, tenant, name):
    created = api.post("/v1/tokens", secret=tenant.secret, body={"name": name})
    return created.body["token"], created.body["secret"]


def report(api, body: bytes, signer: GitHubSigner = SIGNER, **headers):
    return api.post(ROUTE, raw_body=body, headers={**signer.headers(body), **headers}, source_ip="192.30.252.1")


def test_a_signed_report_answers_labels_and_the_worker_revokes_the_live_tokens(api, acme, globex, leak_queue):
    # Given live tokens of two organizations, a revoked one, and a made-up secret
    token, secret = create(api, acme, "leaked")
    theirs, their_secret = create(api, globex, "also-leaked")
    old, old_secret = create(api, acme, "old")
    api.post(f"/v1/tokens/{old['id']}/revoke", secret=acme.secret, body={"reason": "retired"})
    forged = unknown_secret()

    # When GitHub reports them all, then the leak worker runs
    answer = report(api, matches_body(secret, their_secret, old_secret, forged, "ghp_notours"))
    assert leak_queue.run_worker() == [{"batchItemFailures": []}]

    # Then GitHub gets one label per match: the three secrets we issued are true positives
    assert answer.status == 200, answer.raw
    assert answer.body == [
        {"token_hash": token_format.digest(s), "token_type": "tokensmith_api_token", "label": label}
        for s, label in (
            (secret, "true_positive"),
            (their_secret, "true_positive"),
            (old_secret, "true_positive"),
            (forged, "false_positive"),
            ("ghp_notours", "false_positive"),
        )
    ]
    # And the live ones are revoked with the reason "leaked", by the system, saying where GitHub found them
    for item, tenant, n in ((token, acme, 0), (theirs, globex, 1)):
        event = api.get(f"/v1/tokens/{item['id']}/events", secret=tenant.secret).body["items"][0]
        assert event["type"] == "token.revoked" and event["reason"] == "leaked"
        assert event["actor"] == {"system": "tokensmith"} and event["ip"] == "192.30.252.1"
        assert event["details"] == {
            "reporter": "github_secret_scanning",
            "url": f"https://github.com/octocat/leaks/blob/main/file{n}.txt",
            "source": "content",
        }
    assert api.get("/v1/tokens/self", secret=secret).status == 403
    # And the revoked token keeps its own reason
    assert api.get(f"/v1/tokens/{old['id']}", secret=acme.secret).body["revoked_reason"] == "retired"


@pytest.mark.parametrize(
    "headers",
    [
        {"Github-Public-Key-Identifier": "", "Github-Public-Key-Signature": ""},
        {"Github-Public-Key-Signature": "not base64!"},
        {"Github-Public-Key-Signature": GitHubSigner().sign(b"[]")},
        {"Github-Public-Key-Identifier": "a-key-github-never-published"},
    ],
    ids=["unsigned", "signature not base64", "signed by another key", "unknown key"],
)
def test_a_report_without_a_good_signature_is_401_and_revokes_nothing(api, acme, leak_queue, headers):
    # Given a live token
    token, secret = create(api, acme, "leaked")

    # When its secret is reported without a good GitHub signature
    answer = report(api, matches_body(secret), **headers)

    # Then 401 problem+json, nothing queued, the token still works
    assert answer.status == 401 and answer.headers["content-type"] == "application/problem+json", answer.raw
    assert leak_queue.messages() == []
    assert api.get("/v1/tokens/self", secret=secret).status == 200


def test_a_body_changed_after_signing_is_401(api, acme, leak_queue):
    _, secret = create(api, acme, "leaked")
    body = matches_body(secret)
    answer = api.post(ROUTE, raw_body=body.replace(b"content", b"commit"), headers=SIGNER.headers(body))
    assert answer.status == 401 and leak_queue.messages() == []


def test_unknown_identifiers_fetch_githubs_keys_at_most_once_a_minute(api, github_keys):
    # Given the keys fetched by a good report
    assert report(api, b"[]").status == 200

    # When reports signed with keys GitHub does not publish keep coming
    strangers = [GitHubSigner() for _ in range(5)]
    answers = [report(api, b"[]", signer=s).status for s in strangers]

    # Then each is 401, and GitHub's endpoint was asked once in all (the minute has not passed)
    assert answers == [401] * 5
    assert github_keys.fetches == 1


def test_githubs_keys_endpoint_down_is_503_with_retry_after(api, github_keys, leak_queue):
    github_keys.status = 502

    answer = report(api, b"[]")

    assert answer.status == 503 and answer.headers["retry-after"] == "60", answer.raw
    assert leak_queue.messages() == []


def test_a_signed_report_while_dynamodb_fails_is_503_with_retry_after_and_queues_nothing(api, acme, leak_queue):
    # Given a live token, and DynamoDB throttling every request
    _, secret = create(api, acme, "leaked")
    faults = DynamoFaults(client("dynamodb", None))
    try:
        with faults.active(1.0):
            # When GitHub reports it
            answer = report(api, matches_body(secret))
    finally:
        faults.detach()

    # Then 503 with Retry-After (GitHub retries), after trying to read, and nothing queued
    assert answer.status == 503 and int(answer.headers["retry-after"]) >= 1, answer.raw
    assert faults.attempts["BatchGetItem"] >= 1
    assert leak_queue.messages() == []


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"[{", 400),
        (b'{"token": "x", "type": "t"}', 422),
        (b'[{"token": "x"}]', 422),
        (b"[" + b'{"token":"x","type":"t"},' * 90000 + b"{}]", 413),
    ],
    ids=["not json", "not an array", "no type", "over 2 MiB"],
)
def test_a_signed_but_malformed_body_is_a_4xx_problem(api, leak_queue, body, status):
    answer = report(api, body)
    assert answer.status == status and answer.headers["content-type"] == "application/problem+json", answer.raw
    assert leak_queue.messages() == []


def test_no_secret_or_digest_reaches_a_log(api, acme, leak_queue, capfd, caplog):
    caplog.set_level(logging.DEBUG)
    # Given a live token and a made-up secret, reported by GitHub, then revoked by the worker
    _, secret = create(api, acme, "leaked")
    forged = unknown_secret()
    scanner = SecretScanner()
    scanner.add(secret)
    scanner.add(forged)
    report(api, matches_body(secret, forged))
    leak_queue.run_worker()
    report(api, matches_body(secret), signer=GitHubSigner())  # and a refused one

    # Then no log record (message, extras) and nothing written to stdout or stderr holds a secret, a piece
    # of one or a digest
    out, err = capfd.readouterr()
    records = "\n".join(
        json.dumps(record.__dict__, default=repr)
        for record in caplog.records
        if not record.name.startswith(WIRE_LOGGERS)  # botocore's own wire logging (see test_logs.py)
    )
    logs = f"{out}\n{err}\n{records}"
    assert "GitHub secret scanning report" in logs and "leak report handled" in logs
    assert not scanner.leaks(logs), scanner.report(logs)
