"""Webhook delivery: the bus's events → signed POSTs, retried per endpoint, dead-lettered at the end.

One SQS queue carries two kinds of messages, both consumed by ``deliver_webhooks``:

1. **An event**, put there by the EventBridge rule (every event of the bus with ``source`` tokensmith).
   It is *fanned out*: one **job** message per enabled endpoint of the event's organization that
   subscribes to its type. Nothing is sent to a receiver yet, so each endpoint from then on lives
   and retries on its own: a failing receiver never makes a healthy one receive twice.
2. **A job** ``{webhook_id, message_id, event, attempt, due_at}``: one attempt at one endpoint. The
   URL is checked again (SSRF, DNS rebinding: we connect to the address just checked), the secret is
   decrypted, the body ``{type, timestamp, data}`` is signed per Standard Webhooks (``webhook-id``
   is the same for every attempt of one message, ``webhook-timestamp`` is the attempt's) and POSTed
   with a 10-second timeout.

   - 2xx: delivered.
   - 410 Gone: the endpoint is disabled (``disabled_reason``), no retry; ``PATCH enabled: true``
     turns it back on.
   - anything else (another status, no answer, a refused URL): the next attempt is sent as a new
     job after the next delay of ``WEBHOOK_RETRY_DELAYS`` (default 5 s, 5 min, 30 min, 2 h, 5 h,
     10 h, 10 h: 8 attempts over about 27.6 hours), with ±20 % jitter; after the last one the job
     goes to the dead-letter queue with the last status.

**The retry carrier.** SQS caps ``DelaySeconds`` at 15 minutes, so a job carries ``due_at``: it is
sent with ``DelaySeconds = min(delay, 900)``, and a job that arrives before its time gets its
visibility timeout set to the time left (at most 12 hours, SQS's cap) and is reported as a batch
item failure, so SQS hands it back exactly when it is due. A 10-hour wait costs two receives; the
queue's redrive policy (``maxReceiveCount`` 5) is there for jobs that crash the function.
Each attempt writes a delivery log entry (best effort: a log write that fails does not repeat the
delivery). Duplicates are possible (at-least-once everywhere); receivers dedupe on ``webhook-id``.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from tokensmith import clock
from tokensmith.aws import clients
from tokensmith.observability import count, logger
from tokensmith.settings import Settings, get_settings
from tokensmith.webhooks import egress, signing_keys
from tokensmith.webhooks.repository import WebhookRepository, default_webhook_repository

MAX_DELAY_SECONDS = 900  # SQS DelaySeconds
MAX_VISIBILITY_SECONDS = 43_200  # SQS visibility timeout
JITTER = 0.2


class NotDueYet(Exception):
    """A job received before its time; its visibility now hides it until then (a batch item failure)."""


class NotEnoughTime(RuntimeError):
    """The invocation is about to time out: the record goes back to the queue untouched."""


class FanOutFailed(RuntimeError):
    """SQS refused some jobs of a fan-out; the whole event is retried (receivers dedupe on webhook-id)."""


@dataclass(frozen=True, slots=True)
class AttemptResult:
    outcome: str  # delivered, retrying, failed, gone
    status_code: int | None


def message_id(detail: dict[str, Any]) -> str:
    """The ``webhook-id``: stable for one event, whichever attempt or duplicate carries it."""
    data = detail.get("data") or {}
    key = data.get("id") or f"{data.get('token_id')}#{detail.get('type')}#{detail.get('timestamp')}"
    return "msg_" + hashlib.sha256(str(key).encode()).hexdigest()[:32]


def organization_of(detail: dict[str, Any]) -> str | None:
    data = detail.get("data") or {}
    return data.get("organization_id") or (data.get("token") or {}).get("organization_id")


def payload_of(detail: dict[str, Any]) -> bytes:
    body = {"type": detail["type"], "timestamp": detail["timestamp"], "data": detail["data"]}
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def signed_headers(secrets: list[str], msg_id: str, at: datetime, payload: bytes) -> dict[str, str]:
    """Standard Webhooks headers; one signature per secret, space-separated (the current secret, and the
    previous one during a rotation's grace period): a receiver with either verifies."""
    from standardwebhooks.webhooks import Webhook

    text = payload.decode("utf-8")
    signatures = [Webhook(secret).sign(msg_id=msg_id, timestamp=at, data=text) for secret in secrets]
    return {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": " ".join(signatures),
    }


class WebhookDeliverer:
    def __init__(
        self,
        repository: WebhookRepository,
        settings: Settings,
        sqs: Any = None,
        kms: Any = None,
        now: Callable[[], datetime] = clock.now,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.repository = repository
        self.settings = settings
        self._sqs = sqs
        self._kms = kms
        self._now = now
        self._jitter = jitter

    @property
    def sqs(self) -> Any:
        if self._sqs is None:
            self._sqs = clients.client("sqs")
        return self._sqs

    def handle(self, body: dict[str, Any], receipt_handle: str | None = None) -> None:
        if "detail-type" in body and "detail" in body:
            self.fan_out(body["detail"])
        elif "webhook_id" in body:
            self.attempt(body, receipt_handle)
        else:
            logger.warning("ignored a message that is neither an event nor a delivery job")

    # --- fan-out -------------------------------------------------------------------------------------

    def fan_out(self, detail: dict[str, Any]) -> int:
        organization = organization_of(detail)
        if not organization:
            return 0
        msg_id = message_id(detail)
        jobs = [
            {"webhook_id": endpoint["id"], "message_id": msg_id, "event": detail, "attempt": 1, "due_at": 0}
            for endpoint in self.repository.subscribed_webhooks(organization)
            if detail["type"] in (endpoint.get("event_types") or [])
        ]
        for start in range(0, len(jobs), 10):
            batch = jobs[start : start + 10]
            entries = [{"Id": str(i), "MessageBody": json.dumps(job)} for i, job in enumerate(batch)]
            response = self.sqs.send_message_batch(QueueUrl=self.settings.webhook_queue_url, Entries=entries)
            if response.get("Failed"):
                raise FanOutFailed(f"{len(response['Failed'])} of {len(entries)} jobs were not queued")
        count("webhook.fanned_out", len(jobs))
        return len(jobs)

    # --- one attempt ---------------------------------------------------------------------------------

    def attempt(self, job: dict[str, Any], receipt_handle: str | None = None) -> AttemptResult | None:
        now = self._now()
        wait = int(job.get("due_at") or 0) - clock.epoch(now)
        if wait > 0 and receipt_handle:
            self.sqs.change_message_visibility(
                QueueUrl=self.settings.webhook_queue_url,
                ReceiptHandle=receipt_handle,
                VisibilityTimeout=min(wait, MAX_VISIBILITY_SECONDS),
            )
            raise NotDueYet(f"due in {wait} s")
        endpoint = self.repository.get_webhook(job["webhook_id"])
        event = job["event"]
        if endpoint is None or not endpoint.get("enabled") or event["type"] not in endpoint.get("event_types", []):
            count("webhook.dropped")  # deleted, disabled or unsubscribed since the job was queued
            return None
        attempt = int(job["attempt"])
        try:
            target = egress.check_url(endpoint["url"], allow_loopback=self.settings.webhook_allow_loopback)
        except egress.UnsafeUrl as error:
            return self._failed(job, endpoint, now, egress.Answer(None, 0, f"refused: url {error}"))
        payload = payload_of(event)
        headers = signed_headers(self._secrets_of(endpoint, now), job["message_id"], now.astimezone(UTC), payload)
        answer = egress.post(target, headers, payload, self.settings.webhook_timeout_seconds)
        if answer.status is not None and 200 <= answer.status < 300:
            self._log(job, endpoint, now, answer, "delivered")
            count("webhook.delivered")
            return AttemptResult("delivered", answer.status)
        if answer.status == 410:
            self.repository.disable_webhook(endpoint["id"], "the receiver answered 410 Gone", clock.to_iso(now))
            self._log(job, endpoint, now, answer, "gone")
            count("webhook.gone")
            logger.info("webhook endpoint disabled: 410 Gone", extra={"webhook_id": endpoint["id"]})
            return AttemptResult("gone", 410)
        logger.info(
            "webhook attempt failed",
            extra={"webhook_id": endpoint["id"], "attempt": attempt, "status": answer.status, "error": answer.error},
        )
        return self._failed(job, endpoint, now, answer)

    def _secrets_of(self, endpoint: dict[str, Any], now: datetime) -> list[str]:
        """The current signing secret, and the previous one while its grace period lasts."""
        ciphertexts = [endpoint["secret_ciphertext"]]
        if endpoint.get("previous_secret_ciphertext") and int(endpoint.get("previous_valid_epoch") or 0) > clock.epoch(
            now
        ):
            ciphertexts.append(endpoint["previous_secret_ciphertext"])
        return [signing_keys.decrypt(c, endpoint["id"], endpoint["organization_id"], self._kms) for c in ciphertexts]

    def _failed(
        self, job: dict[str, Any], endpoint: dict[str, Any], now: datetime, answer: egress.Answer
    ) -> AttemptResult:
        attempt = int(job["attempt"])
        delays = self.settings.webhook_retry_delays
        if attempt > len(delays):
            self.sqs.send_message(
                QueueUrl=self.settings.webhook_dead_letter_queue_url,
                MessageBody=json.dumps({**job, "last_status_code": answer.status, "last_error": answer.error}),
            )
            self._log(job, endpoint, now, answer, "failed")
            count("webhook.dead_lettered")
            return AttemptResult("failed", answer.status)
        delay = max(0, round(delays[attempt - 1] * (1 + JITTER * (2 * self._jitter() - 1))))
        due = now + timedelta(seconds=delay)
        self.sqs.send_message(
            QueueUrl=self.settings.webhook_queue_url,
            MessageBody=json.dumps({**job, "attempt": attempt + 1, "due_at": clock.epoch(due)}),
            DelaySeconds=min(delay, MAX_DELAY_SECONDS),
        )
        self._log(job, endpoint, now, answer, "retrying", next_retry_at=clock.to_iso(due))
        count("webhook.retried")
        return AttemptResult("retrying", answer.status)

    def _log(
        self,
        job: dict[str, Any],
        endpoint: dict[str, Any],
        now: datetime,
        answer: egress.Answer,
        outcome: str,
        next_retry_at: str | None = None,
    ) -> None:
        """Best effort: the delivery happened (or was scheduled) whatever the log write does."""
        entry = {
            "webhook_id": endpoint["id"],
            "organization_id": endpoint["organization_id"],
            "message_id": job["message_id"],
            "event_type": job["event"]["type"],
            "attempt": int(job["attempt"]),
            "attempted_at": clock.to_iso(now),
            "status_code": answer.status,
            "latency_ms": answer.latency_ms,
            "outcome": outcome,
            "error": answer.error,
            "next_retry_at": next_retry_at,
            "purge_at": clock.epoch(now) + self.settings.webhook_log_retention_days * 86400,
        }
        try:
            self.repository.record_delivery(entry, clock.nanos_within(now))
        except Exception:  # noqa: BLE001 - never repeat a delivery because its log line failed
            logger.exception("could not record a webhook delivery", extra={"webhook_id": endpoint["id"]})


@lru_cache(maxsize=1)
def default_deliverer() -> WebhookDeliverer:
    return WebhookDeliverer(default_webhook_repository(), get_settings())
