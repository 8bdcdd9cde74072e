"""The pure parts of revoke-leaked (tokens/leaks.py): which strings are queued, how they are packed into
messages and batches, how the worker reads them back, and which tokens a reported digest still opens."""

import json
import uuid

import pytest

from tokensmith.auth import RequestMeta
from tokensmith.errors import ServiceUnavailable
from tokensmith.settings import Settings
from tokensmith.tokens import format as token_format
from tokensmith.tokens.leaks import (
    LEAKS_PER_MESSAGE,
    LeakedSecret,
    LeakReports,
    MalformedLeakMessage,
    chunks,
    leaked_secrets,
    message_bodies,
    read_message,
    still_leaked,
    uniform_answer_time,
)

AN_ID = "7f3c2a9e-1b4d-4c8e-9f6a-2d5b8e1c3a70"
DIGEST = "0" * 64
NOW = 1_800_000_000
META = RequestMeta(ip="203.0.113.7", user_agent="scanner/1.0")
SETTINGS = Settings(table_name="t", leaked_tokens_queue_url="https://sqs.test/queue")


def secret() -> str:
    return token_format.generate("tks", str(uuid.uuid4()))


class RecordingSqs:
    def __init__(self, failed: int = 0) -> None:
        self.batches: list[dict] = []
        self.failed = failed

    def send_message_batch(self, **request):
        self.batches.append(request)
        failed = [{"Id": e["Id"], "Code": "InternalError"} for e in request["Entries"][: self.failed]]
        return {"Successful": [], "Failed": failed}


# --- which strings -------------------------------------------------------------------------------------


def test_only_well_formed_secrets_are_kept_each_once_as_id_and_digest():
    # Given two well-formed secrets (one twice), a typo, another prefix and garbage
    first, second = secret(), secret()
    typo = first[:-1] + ("A" if first[-1] != "A" else "B")

    # When they are sorted out
    leaks = leaked_secrets([first, typo, second, "ghp_abc", first, "x" * 80], "tks")

    # Then the well-formed ones remain, in order, as (the id they carry, the digest of the whole secret)
    assert leaks == [
        LeakedSecret(token_format.parse(first, "tks"), token_format.digest(first)),
        LeakedSecret(token_format.parse(second, "tks"), token_format.digest(second)),
    ]


def test_a_secret_of_another_prefix_is_not_this_deployments():
    assert leaked_secrets([token_format.generate("acme", str(uuid.uuid4()))], "tks") == []


# --- messages and batches ------------------------------------------------------------------------------


def test_a_thousand_leaks_make_ten_messages_of_a_hundred_in_one_batch():
    # Given 1,000 leaks (the route's maximum)
    leaks = leaked_secrets([secret() for _ in range(1000)], "tks")

    # When they are packed
    bodies = message_bodies(leaks, META)

    # Then ten messages of 100 pairs, small enough for one SendMessageBatch (256 KiB in all)
    assert [len(json.loads(b)["leaks"]) for b in bodies] == [LEAKS_PER_MESSAGE] * 10
    assert list(chunks(bodies, 10)) == [bodies]
    assert sum(len(b.encode()) for b in bodies) < 256 * 1024


def test_the_last_message_holds_the_rest():
    leaks = [LeakedSecret(str(uuid.uuid4()), "0" * 64) for _ in range(101)]

    assert [len(json.loads(b)["leaks"]) for b in message_bodies(leaks, META)] == [100, 1]


def test_a_message_holds_ids_digests_and_the_reporter_never_a_secret():
    reported = [secret(), secret()]

    [body] = message_bodies(leaked_secrets(reported, "tks"), META)

    assert json.loads(body)["reported_by"] == {"ip": "203.0.113.7", "user_agent": "scanner/1.0"}
    for one in reported:
        assert one not in body and one[4:20] not in body


def test_the_worker_reads_back_what_the_route_wrote():
    leaks = leaked_secrets([secret() for _ in range(3)], "tks")

    [body] = message_bodies(leaks, META)

    assert read_message(body) == (leaks, META)


def message(leaks) -> str:
    return json.dumps({"reported_by": {}, "leaks": leaks})


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        "[]",
        '{"leaks": []}',
        message([]),
        message("pairs"),
        message([["not-a-uuid", DIGEST]]),
        message([[AN_ID, "short"]]),
        message([[AN_ID, "Z" * 64]]),
        message([[AN_ID, DIGEST, "extra"]]),
        message([[AN_ID, DIGEST]] * 101),
    ],
    ids=[
        "not-json",
        "a-list",
        "no-reporter",
        "no-leaks",
        "not-pairs",
        "not-an-id",
        "short-digest",
        "not-hex",
        "a-triple",
        "over-100",
    ],
)
def test_a_message_the_route_did_not_write_is_refused(body):
    with pytest.raises(MalformedLeakMessage):
        read_message(body)


# --- the route's sending -------------------------------------------------------------------------------


def test_a_report_is_one_send_message_batch():
    sqs = RecordingSqs()

    queued = LeakReports(SETTINGS, sqs).report([secret() for _ in range(1000)] + ["junk"], META)

    assert queued == 1000
    [batch] = sqs.batches
    assert batch["QueueUrl"] == "https://sqs.test/queue" and len(batch["Entries"]) == 10
    assert len({e["Id"] for e in batch["Entries"]}) == 10


def test_a_report_with_nothing_well_formed_sends_nothing():
    sqs = RecordingSqs()

    assert LeakReports(SETTINGS, sqs).report(["junk", "tks_x"], META) == 0
    assert sqs.batches == []


def test_a_report_sqs_did_not_take_is_a_503_to_retry():
    with pytest.raises(ServiceUnavailable) as refused:
        LeakReports(SETTINGS, RecordingSqs(failed=1)).report([secret()], META)

    assert refused.value.headers == {"Retry-After": "1"}


# --- the answer's floor --------------------------------------------------------------------------------


def test_an_answer_waits_for_the_floor_also_when_the_handler_fails(monkeypatch):
    # Given a floor of 50 ms, a handler that answers at once and one that raises
    import time

    from tokensmith.settings import get_settings

    monkeypatch.setenv("LEAK_REPORT_ANSWER_MS", "50")
    get_settings.cache_clear()

    def failing(event, context):
        raise RuntimeError("boom")

    # When each is called
    started = time.monotonic()
    answer = uniform_answer_time(lambda event, context: {"statusCode": 202})({}, None)
    answered = time.monotonic() - started
    started = time.monotonic()
    with pytest.raises(RuntimeError):
        uniform_answer_time(failing)({}, None)
    failed = time.monotonic() - started

    # Then both took the floor, and the answer is the handler's
    assert answer == {"statusCode": 202}
    assert answered >= 0.05 and failed >= 0.05


# --- which tokens a reported digest still opens --------------------------------------------------------


def token(status: str = "active", **fields) -> dict:
    return {"id": str(uuid.uuid4()), "status": status, "secret_digest": "a" * 64, **fields}


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        (token(), True),
        (token("disabled"), True),
        (token("revoked"), False),
        (token("expired"), False),
        (token("deleted"), False),
        (token(expires_epoch=NOW), False),  # past expires_at: expired before any sweep
        (token(secret_digest="c" * 64), False),  # rotated away without grace
        (token(secret_digest="c" * 64, previous_secret_digest="a" * 64, previous_valid_epoch=NOW + 1), True),
        (token(secret_digest="c" * 64, previous_secret_digest="a" * 64, previous_valid_epoch=NOW), False),
    ],
    ids=[
        "active",
        "disabled",
        "revoked",
        "expired",
        "deleted",
        "past-expiry",
        "rotated-away",
        "rotated-in-grace",
        "grace-over",
    ],
)
def test_a_reported_digest_still_opens_only_a_live_token_it_belongs_to(item, expected):
    assert still_leaked(item, {"b" * 64, "a" * 64}, NOW) is expected
