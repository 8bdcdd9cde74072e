"""No secret, no piece of a secret and no digest of one ever reaches a log.

A whole lifecycle runs through the real authorizer and handlers (moto), with everything that
writes a line captured: stdout and stderr (file descriptors included), the Powertools logger's own
handler, every Python logger at DEBUG through the root logger, Powertools' EMF metrics (enabled
here), the authorizer's own JSON lines and the expiry sweep. The app runs at `LogLevel` DEBUG.

Left out: the wire logging of botocore/urllib3 at DEBUG (it prints request parameters, digests
included, by design of those libraries; nothing in the template turns it on) — they are capped at
INFO here.
"""

from __future__ import annotations

import io
import json
import logging

import pytest

from tests.attack import SecretScanner, operations, unknown_secret
from tests.conftest import clear_singletons
from tests.integration.conftest import make_tenant
from tests.support import LambdaContext, load_function
from tests.webhooks import webhook_receiver

WIRE_LOGGERS = ("botocore", "boto3", "urllib3", "s3transfer", "moto", "werkzeug", "responses")


class _RecordText(logging.Handler):
    """Every record as all the text a handler could print: message, arguments, extras, traceback."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = logging.Formatter().format(record)  # message % args, and the traceback if any
        extras = {k: v for k, v in record.__dict__.items() if k not in ("msg", "args", "exc_info")}
        self.lines.append(f"{record.name} {text} {json.dumps(extras, default=repr)} {record.msg!r} {record.args!r}")


class _Tee(io.TextIOBase):
    def __init__(self, stream) -> None:
        self.stream, self.buffer_ = stream, io.StringIO()

    def write(self, text: str) -> int:
        self.buffer_.write(text)
        return len(text)

    def flush(self) -> None:
        pass


@pytest.fixture
def every_log_line(request, capfd, monkeypatch):
    """A function returning everything logged so far, as one text. Parametrized with True, it also
    captures Powertools' own package logging at DEBUG (what POWERTOOLS_DEBUG=true prints)."""
    from tokensmith.observability import logger

    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")  # EMF lines are log lines too
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "DEBUG")  # the template's most verbose LogLevel
    from tokensmith.settings import get_settings

    get_settings.cache_clear()
    root = logging.getLogger()
    records = _RecordText()
    saved_root_level, saved_app_level = root.level, logger.log_level
    root.addHandler(records)
    root.setLevel(logging.DEBUG)
    powertools = logging.getLogger("aws_lambda_powertools")
    saved_powertools_level = powertools.level
    if getattr(request, "param", False):
        powertools.addHandler(records)
        powertools.setLevel(logging.DEBUG)
    saved_wire = {name: logging.getLogger(name).level for name in WIRE_LOGGERS}
    for name in WIRE_LOGGERS:
        logging.getLogger(name).setLevel(logging.INFO)
    logger.setLevel("DEBUG")
    tees = []
    for handler in logger.handlers:
        if isinstance(handler, logging.StreamHandler):
            tee = _Tee(handler.stream)
            tees.append((handler, handler.setStream(tee), tee))

    def text() -> str:
        out, err = capfd.readouterr()
        text.chunks.extend([out, err, *(t.buffer_.getvalue() for _, _, t in tees), *records.lines])
        for _, _, tee in tees:
            tee.buffer_ = io.StringIO()
        records.lines.clear()
        return "\n".join(text.chunks)

    text.chunks = []
    yield text
    for handler, previous, _ in tees:
        handler.setStream(previous)
    logger.setLevel(saved_app_level)
    root.removeHandler(records)
    root.setLevel(saved_root_level)
    powertools.removeHandler(records)
    powertools.setLevel(saved_powertools_level)
    for name, level in saved_wire.items():
        logging.getLogger(name).setLevel(level)


def test_a_whole_lifecycle_logs_no_secret_and_no_digest(api, admin, leak_queue, every_log_line, monkeypatch):
    scanner = SecretScanner()
    scanner.add(admin.secret)
    manager = make_tenant(api, admin, "acme", scopes=["tokens:read", "tokens:write", "tokens:manage", "tokens:verify"])
    scanner.add(manager.secret)
    json_body = {"content-type": "application/json"}

    def ok(response, status=200):
        assert response.status == status, response.raw
        return response.body

    # create, read, list, change
    created = ok(
        api.post(
            "/v1/tokens",
            secret=manager.secret,
            body={
                "name": "ci",
                "description": "nightly",
                "icon": "https://example.com/i.png",
                "scopes": ["tokens:read"],
            },
        ),
        201,
    )
    token_id, first = created["token"]["id"], scanner.add(created["secret"])
    path = f"/v1/tokens/{token_id}"
    ok(api.get(path, secret=manager.secret))
    ok(api.get("/v1/tokens", secret=manager.secret, query={"limit": "10", "status": "active"}))
    ok(api.get("/v1/tokens/self", secret=first))
    ok(api.patch(path, secret=manager.secret, body={"description": "weekly"}, headers={"If-Match": '"1"'}))
    ok(api.put(path, secret=manager.secret, body={"name": "ci-2", "scopes": ["tokens:read"]}))
    ok(api.post(f"{path}/disable", secret=manager.secret))
    ok(api.post(f"{path}/enable", secret=manager.secret))

    # verify: valid, insufficient scopes, unknown
    ok(api.post("/v1/tokens/verify", secret=manager.secret, body={"token": first}))
    ok(api.post("/v1/tokens/verify", secret=manager.secret, body={"token": first, "scopes": ["tokens:write"]}))
    ok(api.post("/v1/tokens/verify", secret=manager.secret, body={"token": scanner.add(unknown_secret())}))

    # rotate with a grace period, then without one
    second = scanner.add(
        ok(api.post(f"{path}/rotate", secret=manager.secret, body={"grace_period_seconds": 3600}))["secret"]
    )
    ok(api.get("/v1/tokens/self", secret=first))  # still in its grace period
    ok(api.get("/v1/tokens/self", secret=second))
    third = scanner.add(ok(api.post(f"{path}/rotate", secret=manager.secret))["secret"])
    assert api.get("/v1/tokens/self", secret=second).status == 403  # rotated out

    # the admin override
    ok(api.patch(f"/v1/admin/tokens/{token_id}", secret=admin.secret, body={"owner": "alice@example.com"}))
    ok(api.patch(f"/v1/admin/tokens/{token_id}", secret=admin.secret, body={"status": "disabled"}))
    ok(api.patch(f"/v1/admin/tokens/{token_id}", secret=admin.secret, body={"status": "active"}))

    # failed authentication with real-looking secrets
    forged = scanner.add(unknown_secret())
    wrong_checksum = third[:-1] + ("A" if third[-1] != "A" else "B")
    scanner.add(wrong_checksum)
    for header in (
        f"Bearer {forged}",
        f"Bearer {wrong_checksum}",
        f"Bearer {third} {third}",
        f"Basic {third}",
        third,
        f"Bearer {third.upper()}",
    ):
        assert api.get("/v1/tokens/self", headers={"Authorization": header}).status == 403

    # malformed and refused bodies that carry a secret
    refused = [
        (
            api.post("/v1/tokens/verify", secret=manager.secret, raw_body=f'{{"token": "{third}", ', headers=json_body),
            400,
        ),
        (
            api.post(
                "/v1/tokens/verify",
                secret=manager.secret,
                raw_body=b'{"token": "' + third.encode() + b'\xff"}',
                headers=json_body,
            ),
            400,
        ),
        (
            api.post(
                "/v1/tokens/verify",
                secret=manager.secret,
                raw_body=f"token={third}",
                headers={"content-type": "application/x-www-form-urlencoded"},
            ),
            415,
        ),
        (api.post("/v1/tokens", secret=manager.secret, body={"name": "x", "secret": third}), 422),
        (api.post("/v1/tokens", secret=manager.secret, body={"name": "x", third: True}), 422),
        (api.post("/v1/tokens", secret=manager.secret, body={"name": f"{third}\x00"}), 422),
        (api.patch(path, secret=manager.secret, body={"scopes": [third]}), 422),
        (api.post("/v1/tokens/verify", secret=manager.secret, body={"token": third * 8}), 422),
        (api.post("/v1/tokens/verify", secret=manager.secret, body={"token": third, "scopes": ["nope"]}), 422),
        (api.post(f"{path}/revoke", secret=manager.secret, body={"reason": third, "secret_digest": "x"}), 422),
        (api.post("/v1/tokens", secret=manager.secret, body={"name": "big", "description": third * 300}), 413),
        (api.get("/v1/tokens", secret=manager.secret, query={"cursor": third}), 422),
        (api.get("/v1/tokens", secret=manager.secret, query={"owner": third, "x": third}), 422),
    ]
    assert [r.status for r, _ in refused] == [status for _, status in refused], [r.raw for r, _ in refused]

    # a DynamoDB outage while verifying
    from botocore.exceptions import ClientError

    from tokensmith.tokens.repository import TokenRepository

    real_get = TokenRepository.get_token

    def throttled(self, token_id_):
        if token_id_ == token_id:
            raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "GetItem")
        return real_get(self, token_id_)

    monkeypatch.setattr(TokenRepository, "get_token", throttled)
    assert api.post("/v1/tokens/verify", secret=manager.secret, body={"token": third}).status == 503
    monkeypatch.setattr(TokenRepository, "get_token", real_get)

    # leaked secrets reported to the public route, when the template has it
    if any(op.key == "POST /v1/tokens/revoke-leaked" for op in operations()):
        leaked = make_tenant(api, admin, "acme", scopes=["tokens:read"], name="leaked")
        scanner.add(leaked.secret)
        reported = api.post("/v1/tokens/revoke-leaked", body={"tokens": [leaked.secret, scanner.add(unknown_secret())]})
        assert reported.status < 500, reported.raw
        # the worker, which holds the reported digests while it revokes
        assert leak_queue.run_worker() == [{"batchItemFailures": []}]
        assert api.get("/v1/tokens/self", secret=leaked.secret).status == 403

    # revoke, delete, the audit trail, the expiry sweep
    ok(api.post(f"{path}/revoke", secret=manager.secret, body={"reason": "laptop lost"}))
    assert api.get("/v1/tokens/self", secret=third).status == 403
    ok(api.post("/v1/tokens/verify", secret=manager.secret, body={"token": third}))
    ok(api.delete(path, secret=manager.secret), 204)
    events = ok(api.get(f"{path}/events", secret=manager.secret))["items"]
    assert len(events) >= 10
    load_function("functions/expire_tokens").handler({}, LambdaContext())

    logs = every_log_line()

    # the capture saw what the run logged: refusals, the outage, the metrics, the sweep
    assert '"token refused"' in logs and '"code":"NOT_FOUND"' in logs.replace(" ", "")
    assert "DynamoDB unavailable" in logs
    assert "token.created" in logs and '"_aws"' in logs  # EMF metrics
    assert "expiry sweep" in logs
    leaks = scanner.leaks(logs)
    assert not leaks, scanner.report(logs)
    assert len(scanner.secrets) >= 9


@pytest.mark.parametrize("every_log_line", [True], indirect=True, ids=["POWERTOOLS_DEBUG"])
def test_the_bodies_that_carry_secrets_stay_out_of_powertools_debug_logging(api, admin, leak_queue, every_log_line):
    """Two routes take secrets in their body by design: /verify and /revoke-leaked. Powertools'
    debug logging (POWERTOOLS_DEBUG=true, the switch one flips to troubleshoot in production) printed
    every route's arguments when its resolver dispatched them (the functions' own dispatcher,
    tokensmith.http.router, prints nothing), and still logs what its logger and metrics do: no line
    may show the secrets."""
    scanner = SecretScanner()
    manager = make_tenant(api, admin, "acme", scopes=["tokens:read", "tokens:write", "tokens:verify"])
    for secret in (admin.secret, manager.secret):
        scanner.add(secret)
    created = api.post("/v1/tokens", secret=manager.secret, body={"name": "ci", "scopes": ["tokens:read"]})
    secret = scanner.add(created.body["secret"])

    assert api.post("/v1/tokens/verify", secret=manager.secret, body={"token": secret}).body["valid"] is True
    verified = api.post("/v1/tokens/verify", secret=manager.secret, body={"token": secret, "scopes": ["admin"]})
    assert verified.body["code"] == "INSUFFICIENT_SCOPES"
    unknown = scanner.add(unknown_secret())
    assert api.post("/v1/tokens/verify", secret=manager.secret, body={"token": unknown}).body["code"] == "NOT_FOUND"
    if any(op.key == "POST /v1/tokens/revoke-leaked" for op in operations()):
        reported = api.post("/v1/tokens/revoke-leaked", body={"tokens": [secret, scanner.add(unknown_secret())]})
        assert reported.status < 500, reported.raw
        leak_queue.run_worker()  # and the worker's run, with Powertools' debug lines, shows no digest either

    logs = every_log_line()

    assert "Clearing out existing metric set from memory" in logs  # Powertools' debug lines were captured
    leaks = scanner.leaks(logs)
    assert not leaks, scanner.report(logs)


@pytest.mark.parametrize("every_log_line", [False, True], indirect=True, ids=["DEBUG", "POWERTOOLS_DEBUG"])
def test_a_webhook_lifecycle_logs_no_signing_secret_and_no_token_secret(
    api, admin, table, webhook_world, every_log_line, monkeypatch
):
    """Endpoints registered, rotated, changed; tokens through their life; every delivery outcome
    (delivered, retried, dead-lettered, 410 Gone) through the publisher and the delivery function,
    which holds the decrypted secret while it signs: no line shows a signing secret or its key bytes,
    a token secret, or a digest."""
    from tests.integration.test_webhook_delivery import Pipeline

    monkeypatch.setenv("WEBHOOK_ALLOW_LOOPBACK", "true")
    monkeypatch.setenv("WEBHOOK_RETRY_DELAYS", "0")
    clear_singletons()
    scanner = SecretScanner()
    signing: list[str] = []
    scopes = ["tokens:read", "tokens:write", "webhooks:read", "webhooks:write"]
    manager = make_tenant(api, admin, "acme", scopes=scopes)
    for secret in (admin.secret, manager.secret):
        scanner.add(secret)
    pipeline = Pipeline(table, webhook_world)
    with webhook_receiver() as receiver:
        receiver.script.update({"/flaky": [500, 200], "/down": [503], "/gone": [410]})
        ids = []
        for path in ("/ok", "/flaky", "/down", "/gone"):
            created = api.post("/v1/webhooks", secret=manager.secret, body={"url": receiver.url(path)})
            ids.append(created.body["webhook"]["id"])
            signing.append(created.body["secret"])
        signing.append(api.post(f"/v1/webhooks/{ids[0]}/rotate-secret", secret=manager.secret).body["secret"])
        api.patch(f"/v1/webhooks/{ids[1]}", secret=manager.secret, body={"description": "flaky"})
        created = api.post("/v1/tokens", secret=manager.secret, body={"name": "ci", "scopes": ["tokens:read"]})
        token_id = created.body["token"]["id"]
        scanner.add(created.body["secret"])
        rotated = api.post(f"/v1/tokens/{token_id}/rotate", secret=manager.secret, body={"grace_period_seconds": 60})
        scanner.add(rotated.body["secret"])
        api.post(f"/v1/tokens/{token_id}/revoke", secret=manager.secret, body={"reason": "done"})
        pipeline.run()
        outcomes = {
            e["outcome"]
            for webhook_id in ids
            for e in api.get(f"/v1/webhooks/{webhook_id}/deliveries", secret=manager.secret).body["items"]
        }

    logs = every_log_line()

    assert outcomes == {"delivered", "retrying", "failed", "gone"}
    assert not scanner.leaks(logs), scanner.report(logs)
    for secret in signing:
        key = secret.removeprefix("whsec_")
        assert secret not in logs and key not in logs and key[:16] not in logs
    assert "ciphertext" not in logs and "whsec_" not in logs
