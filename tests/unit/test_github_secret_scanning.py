"""GitHub secret scanning (secret_scanning/): the signature check, the rules of the keys cache (one fetch
a minute for unknown identifiers, an hour's life, a failed fetch keeps what it had), and the service's
labels and queueing over the recording fakes. Keys come from tests/github_signing.py: no network."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from tests.github_signing import GitHubSigner, keys_document, matches_body
from tests.unit.conftest import ACME, META, in_days
from tokensmith.errors import BadRequest, ServiceUnavailable, Unauthorized, ValidationFailed
from tokensmith.secret_scanning.models import MAX_MATCHES
from tokensmith.secret_scanning.service import REPORTER, GitHubSecretScanning, read_matches
from tokensmith.secret_scanning.signature import (
    GitHubKeys,
    KeysUnavailable,
    parse_keys_document,
    verify_signature,
)
from tokensmith.settings import Settings
from tokensmith.tokens import format as token_format
from tokensmith.tokens.leaks import (
    LeakedSecret,
    LeakedTokenRevoker,
    LeakReports,
    MalformedLeakMessage,
    message_bodies,
    read_message,
    send_batches,
)

SIGNER = GitHubSigner("key-1")
BODY = b'[{"token":"tks_x","type":"tokensmith_api_token","url":"","source":"content"}]'


class Monotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class KeysServer:
    """GitHub's keys endpoint: answers ``document`` (or fails), counting the fetches."""

    def __init__(self, *signers: GitHubSigner) -> None:
        self.document: bytes | None = keys_document(*signers)
        self.fetches = 0

    def __call__(self) -> bytes:
        self.fetches += 1
        if self.document is None:
            raise KeysUnavailable("the keys URL answered 502")
        return self.document


@pytest.fixture
def monotonic() -> Monotonic:
    return Monotonic()


@pytest.fixture
def github() -> KeysServer:
    return KeysServer(SIGNER)


@pytest.fixture
def keys(github, monotonic) -> GitHubKeys:
    return GitHubKeys(github, monotonic)


# --- the signature --------------------------------------------------------------------------------------


def test_a_body_signed_with_the_named_key_verifies(keys):
    verify_signature(keys, BODY, SIGNER.identifier, SIGNER.sign(BODY))


def test_a_body_changed_after_signing_is_refused(keys):
    signature = SIGNER.sign(BODY)
    with pytest.raises(Unauthorized, match="does not match"):
        verify_signature(keys, BODY.replace(b"content", b"commit!"), SIGNER.identifier, signature)


def test_a_reformatted_body_is_refused_the_signature_covers_the_raw_bytes(keys):
    signature = SIGNER.sign(BODY)
    with pytest.raises(Unauthorized, match="does not match"):
        verify_signature(keys, json.dumps(json.loads(BODY)).encode(), SIGNER.identifier, signature)


def test_a_signature_by_another_key_under_a_known_identifier_is_refused(keys):
    with pytest.raises(Unauthorized, match="does not match"):
        verify_signature(keys, BODY, SIGNER.identifier, GitHubSigner().sign(BODY))


@pytest.mark.parametrize(
    ("identifier", "signature"),
    [(None, "c2ln"), ("key-1", None), ("", "c2ln"), ("key-1", "")],
    ids=["no identifier", "no signature", "empty identifier", "empty signature"],
)
def test_a_request_without_both_headers_is_refused_without_fetching(keys, github, identifier, signature):
    with pytest.raises(Unauthorized, match="missing"):
        verify_signature(keys, BODY, identifier, signature)
    assert github.fetches == 0


@pytest.mark.parametrize("signature", ["not base64!", "MEQCIA==" + "A" * 300, "AAAA"])
def test_a_signature_that_is_not_a_der_signature_in_base64_is_refused(keys, signature):
    with pytest.raises(Unauthorized):
        verify_signature(keys, BODY, SIGNER.identifier, signature)


def test_an_identifier_github_does_not_publish_is_refused(keys):
    stranger = GitHubSigner("key-of-nobody")
    with pytest.raises(Unauthorized, match="names no key"):
        verify_signature(keys, BODY, stranger.identifier, stranger.sign(BODY))


# --- the keys cache -------------------------------------------------------------------------------------


def test_the_keys_are_fetched_once_and_kept(keys, github, monotonic):
    for _ in range(3):
        verify_signature(keys, BODY, SIGNER.identifier, SIGNER.sign(BODY))
        monotonic.now += 30
    assert github.fetches == 1


def test_unknown_identifiers_fetch_the_document_at_most_once_a_minute(keys, github, monotonic):
    # Given the keys, fetched a minute ago
    keys.key(SIGNER.identifier)
    monotonic.now += 60

    # When a flood of made-up identifiers arrives within a minute, then one more a minute later
    for n in range(50):
        with pytest.raises(Unauthorized):
            keys.key(f"made-up-{n}")
        monotonic.now += 1
    monotonic.now += 10
    with pytest.raises(Unauthorized):
        keys.key("made-up-again")

    # Then GitHub's endpoint was asked once at the start, once for the whole flood, and once after its minute
    assert github.fetches == 3


def test_a_key_github_publishes_later_is_found_on_the_first_request_after_the_minute(keys, github, monotonic):
    # Given the cache filled, and GitHub publishing a new key
    keys.key(SIGNER.identifier)
    rotated = GitHubSigner("key-2")
    github.document = keys_document(SIGNER, rotated)

    # When a request signed with the new key comes within the minute, and again after it
    monotonic.now += 59
    with pytest.raises(Unauthorized):
        verify_signature(keys, BODY, rotated.identifier, rotated.sign(BODY))
    monotonic.now += 1
    verify_signature(keys, BODY, rotated.identifier, rotated.sign(BODY))

    # Then the new key verified once the minute had passed
    assert github.fetches == 2


def test_a_failed_fetch_answers_503_and_is_not_retried_within_the_minute(github, monotonic):
    # Given GitHub's endpoint down at a cold start
    github.document = None
    keys = GitHubKeys(github, monotonic)

    # When two requests come within the minute
    for _ in range(2):
        with pytest.raises(ServiceUnavailable) as refused:
            keys.key(SIGNER.identifier)
        monotonic.now += 20

    # Then both are 503 with Retry-After (GitHub retries), for one fetch
    assert refused.value.headers == {"Retry-After": "60"}
    assert github.fetches == 1


def test_a_failed_refresh_keeps_the_keys_it_had(keys, github, monotonic):
    # Given the cache filled, then GitHub's endpoint down
    keys.key(SIGNER.identifier)
    github.document = None

    # When an unknown identifier makes it fetch again, after the minute
    monotonic.now += 61
    with pytest.raises(ServiceUnavailable):
        keys.key("key-2")

    # Then the keys it had still verify
    verify_signature(keys, BODY, SIGNER.identifier, SIGNER.sign(BODY))


def test_keys_older_than_an_hour_are_fetched_again_and_a_withdrawn_key_stops_working(keys, github, monotonic):
    # Given the cache filled, and GitHub withdrawing the key for a new one
    keys.key(SIGNER.identifier)
    github.document = keys_document(GitHubSigner("key-2"))

    # When the old key is used within the hour, then after it
    monotonic.now += 3599
    keys.key(SIGNER.identifier)
    monotonic.now += 1

    # Then after the hour it is refused
    with pytest.raises(Unauthorized):
        keys.key(SIGNER.identifier)
    assert github.fetches == 2


def test_the_document_keeps_p256_keys_and_skips_others():
    other_curve = GitHubSigner("p384", curve=ec.SECP384R1())
    assert set(parse_keys_document(keys_document(SIGNER, other_curve))) == {SIGNER.identifier}


@pytest.mark.parametrize(
    "document",
    [b"", b"[]", b'{"public_keys": "x"}', b'{"public_keys": [{"key_identifier": "k", "key": "not pem"}]}', b"{}"],
)
def test_an_unreadable_document_is_unavailable(document):
    with pytest.raises(KeysUnavailable):
        parse_keys_document(document)


# --- the matches ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"\xff\xfe", BadRequest),
        (b"[{", BadRequest),
        (b'{"token": "x"}', ValidationFailed),
        (b'[{"type": "t"}]', ValidationFailed),
        (b'[{"token": "", "type": "t"}]', ValidationFailed),
        (b'[{"token": 5, "type": "t"}]', ValidationFailed),
        (json.dumps([{"token": "x", "type": "t"}] * (MAX_MATCHES + 1)).encode(), ValidationFailed),
    ],
    ids=["not utf-8", "not json", "not an array", "no token", "empty token", "token not a string", "too many"],
)
def test_a_body_that_is_not_an_array_of_matches_is_a_4xx(body, error):
    with pytest.raises(error):
        read_matches(body)


def test_a_refused_match_never_echoes_the_token():
    secret = "tks_" + "A" * 1100
    with pytest.raises(ValidationFailed) as refused:
        read_matches(json.dumps([{"token": secret, "type": "t"}]).encode())
    assert secret not in str(refused.value) and "A" * 20 not in str(refused.value)


def test_fields_github_adds_later_are_ignored():
    [match] = read_matches(b'[{"token": "x", "type": "t", "url": "", "source": "npm", "new_field": 1}]')
    assert (match.token, match.type, match.url, match.source) == ("x", "t", "", "npm")


# --- the service: labels and queueing -------------------------------------------------------------------


class RecordingSqs:
    def __init__(self) -> None:
        self.bodies: list[str] = []

    def send_message_batch(self, QueueUrl: str, Entries: list[dict]) -> dict:  # noqa: N803
        self.bodies.extend(entry["MessageBody"] for entry in Entries)
        return {"Successful": Entries, "Failed": []}


@pytest.fixture
def sqs() -> RecordingSqs:
    return RecordingSqs()


@pytest.fixture
def scanning(repository, clock, sqs, keys) -> GitHubSecretScanning:
    settings = Settings(table_name="unit", leaked_tokens_queue_url="https://sqs.test/leaks")
    return GitHubSecretScanning(repository, settings, keys, LeakReports(settings, sqs), now=clock)


def answer(scanning: GitHubSecretScanning, body: bytes) -> list[dict[str, str]]:
    return scanning.answer(body, SIGNER.identifier, SIGNER.sign(body), META)


def queued(sqs: RecordingSqs) -> list:
    return [leak for body in sqs.bodies for leak in read_message(body)[0]]


def test_a_live_token_is_true_positive_and_queued_with_where_github_found_it(scanning, token, sqs):
    labels = answer(scanning, matches_body(token.secret))

    assert labels == [
        {
            "token_hash": token_format.digest(token.secret),
            "token_type": "tokensmith_api_token",
            "label": "true_positive",
        }
    ]
    [leak] = queued(sqs)
    assert (leak.token_id, leak.digest) == (token.id, token_format.digest(token.secret))
    assert leak.found == {
        "reporter": REPORTER,
        "url": "https://github.com/octocat/leaks/blob/main/file0.txt",
        "source": "content",
    }


def test_look_alikes_and_unknown_secrets_are_false_positives_and_nothing_is_queued(scanning, token, sqs):
    # Given a typo of a real secret, a well-formed secret of no token, another vendor's key
    typo = token.secret[:-1] + ("A" if token.secret[-1] != "A" else "B")
    unknown = token_format.generate("tks", "7f3c2a9e-1b4d-4c8e-9f6a-2d5b8e1c3a70")

    labels = answer(scanning, matches_body(typo, unknown, "ghp_" + "a" * 36))

    assert [label["label"] for label in labels] == ["false_positive"] * 3
    assert sqs.bodies == []


def test_a_revoked_token_is_a_true_positive_but_is_not_queued_again(scanning, tokens, token, sqs):
    tokens.revoke_token(ACME, token.id, "done with it", META)

    [label] = answer(scanning, matches_body(token.secret))

    assert label["label"] == "true_positive"
    assert sqs.bodies == []


def test_an_expired_token_is_a_true_positive_but_is_not_queued(scanning, given_token, clock, sqs):
    expired = given_token(expires_at=in_days(1).isoformat())
    clock.advance(timedelta(days=2).total_seconds())

    [label] = answer(scanning, matches_body(expired.secret))

    assert label["label"] == "true_positive" and sqs.bodies == []


def test_a_rotated_out_secret_in_its_grace_is_queued_and_after_it_only_labelled(scanning, tokens, token, clock, sqs):
    # Given the token rotated with an hour of grace
    tokens.rotate_token(ACME, token.id, 3600, META)

    # When GitHub reports the old secret during the grace, then after it
    during = answer(scanning, matches_body(token.secret))
    clock.advance(3601)
    after = answer(scanning, matches_body(token.secret))

    # Then both are true positives; only the first was queued (the old secret no longer opens the token)
    assert during[0]["label"] == after[0]["label"] == "true_positive"
    assert len(queued(sqs)) == 1


def test_one_label_per_distinct_match_and_one_leak_per_secret(scanning, token, sqs):
    labels = answer(scanning, matches_body(token.secret, token.secret, "junk"))

    assert [label["label"] for label in labels] == ["true_positive", "false_positive"]
    assert len(queued(sqs)) == 1


def test_a_badly_signed_report_reads_nothing_and_queues_nothing(scanning, repository, token, sqs):
    body = matches_body(token.secret)
    with pytest.raises(Unauthorized):
        scanning.answer(body, SIGNER.identifier, GitHubSigner().sign(body), META)
    assert sqs.bodies == [] and repository.reads == []


def test_a_large_batch_is_queued_in_messages_of_a_hundred(scanning, given_token, sqs):
    issued = [given_token(name=f"leaked-{n}") for n in range(250)]

    labels = answer(scanning, matches_body(*(t.secret for t in issued)))

    assert {label["label"] for label in labels} == {"true_positive"}
    assert [len(json.loads(body)["leaks"]) for body in sqs.bodies] == [100, 100, 50]


# --- the worker: the revocation says where GitHub found the token -----------------------------------------


def test_the_worker_revokes_a_github_report_and_its_audit_event_says_where_it_was_found(
    scanning, repository, settings, clock, token, sqs
):
    # Given GitHub's report of a live token, queued
    answer(scanning, matches_body(token.secret, source="commit"))

    # When the leak worker handles the message
    [body] = sqs.bodies
    leaks, reported_by = read_message(body)
    revoked = LeakedTokenRevoker(repository, settings, now=clock).revoke_reported(leaks, reported_by)

    # Then the token is revoked with reason "leaked" by the system, and the event names GitHub and the place
    assert revoked == 1
    changed = repository.only_change()
    assert changed.change.set_values["revoked_reason"] == "leaked"
    assert changed.event["actor"] == {"system": "tokensmith"} and changed.event["reason"] == "leaked"
    assert changed.event["details"] == {
        "reporter": "github_secret_scanning",
        "url": "https://github.com/octocat/leaks/blob/main/file0.txt",
        "source": "commit",
    }
    assert token.secret not in json.dumps(changed.event, default=str)


def test_a_github_message_round_trips_and_an_empty_url_is_left_out():
    leak = LeakedSecret("7f3c2a9e-1b4d-4c8e-9f6a-2d5b8e1c3a70", "a" * 64, None, "npm", REPORTER)
    [body] = message_bodies([leak], META, REPORTER)

    [read], _ = read_message(body)

    assert read == leak and read.found == {"reporter": REPORTER, "source": "npm"}


def test_a_message_with_a_url_too_long_is_malformed():
    leak = LeakedSecret("7f3c2a9e-1b4d-4c8e-9f6a-2d5b8e1c3a70", "a" * 64, "https://x/" + "a" * 2048, None, REPORTER)
    [body] = message_bodies([leak], META, REPORTER)
    with pytest.raises(MalformedLeakMessage):
        read_message(body)


def test_the_scanner_pattern_finds_our_secrets_and_is_the_one_in_the_readme(token):
    import re

    from tests.support import ROOT

    pattern = token_format.scanner_pattern("tks")
    assert re.search(pattern, f'API_KEY="{token.secret}"').group(0) == token.secret
    assert not re.search(pattern, token.secret + "x")
    assert f"`{pattern}`" in (ROOT / "README.md").read_text()


def test_messages_with_long_urls_are_sent_in_batches_within_sqs_payload_limit():
    # Given 1,000 leaks found at 2,000-character URLs (about 215 KB a message of 100)
    leaks = [
        LeakedSecret(
            f"7f3c2a9e-1b4d-4c8e-9f6a-{n:012d}", "a" * 64, "https://github.com/" + "a" * 1981, "content", REPORTER
        )
        for n in range(1000)
    ]

    # When they are grouped into SendMessageBatch calls
    batches = list(send_batches(message_bodies(leaks, META, REPORTER)))

    # Then every call stays within 256 KiB and 10 messages, and every message is sent once
    assert all(len(batch) <= 10 and sum(len(b.encode()) for b in batch) <= 256 * 1024 for batch in batches)
    assert sum(len(batch) for batch in batches) == 10
