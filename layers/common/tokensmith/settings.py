"""The environment, read once into a typed, immutable settings object."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache

from tokensmith.auth import SERVICE_SCOPES

GITHUB_KEYS_URL = "https://api.github.com/meta/public_keys/secret_scanning"  # GitHub's secret scanning keys


@dataclass(frozen=True, slots=True)
class Settings:
    table_name: str
    token_prefix: str = "tks"
    max_token_lifetime_days: int = 365  # 0 = no limit
    retention_days: int = 90
    custom_scopes: tuple[str, ...] = ()
    dynamodb_endpoint_url: str | None = None  # DynamoDB Local / the embedded server; None on AWS
    last_use_interval_seconds: int = 60
    expiry_notice_days: tuple[int, ...] = (7, 1)  # token.expiring events this many days ahead
    log_level: str = "INFO"
    event_bus_name: str = "default"
    max_body_bytes: int = 16 * 1024
    session_idle_seconds: int = 30 * 60  # a console session dies after this long without a request
    session_lifetime_seconds: int = 12 * 3600  # ... and this long after sign-in, whatever happens
    session_refresh_seconds: int = 60  # the idle deadline is pushed back at most once per interval
    # Webhooks (see the webhooks package): where deliveries wait, the key that encrypts signing secrets, the
    # retry schedule (seconds after each failed attempt) and whether http://127.0.0.1 may be a target.
    webhook_queue_url: str | None = None
    webhook_dead_letter_queue_url: str | None = None
    webhook_key_id: str | None = None
    webhook_retry_delays: tuple[int, ...] = (5, 300, 1800, 7200, 18000, 36000, 36000)
    webhook_timeout_seconds: float = 10.0
    webhook_allow_loopback: bool = False
    webhook_log_retention_days: int = 30
    # Leaked secrets reported to POST /v1/tokens/revoke-leaked wait here, as (token id, digest) pairs,
    # for the worker that revokes them (tokens/leaks.py).
    leaked_tokens_queue_url: str | None = None
    # An organization policy's copy onto its tokens, queued by the PUT for a worker (organizations/propagation.py).
    organization_policy_queue_url: str | None = None
    # ... and the route answers no sooner than this after it was called, whatever it was sent (tokens/leaks.py).
    leak_report_answer_seconds: float = 0.25
    # GitHub's secret scanning signing keys (POST /v1/secret-scanning/github, secret_scanning/signature.py).
    github_keys_url: str = GITHUB_KEYS_URL
    # How long one instance reuses the token a valid secret opened (tokens/verification_cache.py): 0 = never,
    # at most 5. The bounded revocation delay a deployment trades for reads (README, Security model).
    verify_cache_seconds: int = 0
    # Webhook endpoints one organization may have (each event becomes one delivery per endpoint).
    max_webhook_endpoints: int = 10

    @property
    def scope_catalog(self) -> frozenset[str]:
        return frozenset(SERVICE_SCOPES) | frozenset(self.custom_scopes)

    @classmethod
    def from_environ(cls, environ: os._Environ[str] | dict[str, str] = os.environ) -> Settings:
        custom = tuple(s.strip() for s in environ.get("SCOPE_CATALOG", "").split(",") if s.strip())
        return cls(
            table_name=environ.get("TABLE_NAME", "tokensmith"),
            token_prefix=environ.get("TOKEN_PREFIX", "tks"),
            max_token_lifetime_days=int(environ.get("MAX_TOKEN_LIFETIME_DAYS", "365")),
            retention_days=int(environ.get("RETENTION_DAYS", "90")),
            custom_scopes=custom,
            dynamodb_endpoint_url=environ.get("DYNAMODB_ENDPOINT_URL") or None,
            log_level=environ.get("POWERTOOLS_LOG_LEVEL", "INFO"),
            event_bus_name=environ.get("EVENT_BUS_NAME", "default"),
            session_idle_seconds=60 * int(environ.get("SESSION_IDLE_MINUTES", "30")),
            session_lifetime_seconds=3600 * int(environ.get("SESSION_MAX_HOURS", "12")),
            webhook_queue_url=environ.get("WEBHOOK_QUEUE_URL") or None,
            webhook_dead_letter_queue_url=environ.get("WEBHOOK_DEAD_LETTER_QUEUE_URL") or None,
            webhook_key_id=environ.get("WEBHOOK_KEY_ID") or None,
            webhook_retry_delays=tuple(
                int(d)
                for d in environ.get("WEBHOOK_RETRY_DELAYS", "5,300,1800,7200,18000,36000,36000").split(",")
                if d.strip()
            ),
            leaked_tokens_queue_url=environ.get("LEAKED_TOKENS_QUEUE_URL") or None,
            organization_policy_queue_url=environ.get("ORGANIZATION_POLICY_QUEUE_URL") or None,
            github_keys_url=environ.get("GITHUB_SECRET_SCANNING_KEYS_URL") or GITHUB_KEYS_URL,
            leak_report_answer_seconds=int(environ.get("LEAK_REPORT_ANSWER_MS", "250")) / 1000,
            webhook_allow_loopback=environ.get("WEBHOOK_ALLOW_LOOPBACK", "false").strip().lower() == "true",
            verify_cache_seconds=bounded_int(environ, "VERIFY_CACHE_SECONDS", 0, 0, 5),
            max_webhook_endpoints=bounded_int(environ, "MAX_WEBHOOK_ENDPOINTS", 10, 1, 1000),
            expiry_notice_days=tuple(
                sorted({int(d) for d in environ.get("EXPIRY_NOTICE_DAYS", "7,1").split(",") if d.strip()}, reverse=True)
            ),
        )


def bounded_int(environ: os._Environ[str] | dict[str, str], name: str, default: int, low: int, high: int) -> int:
    """The integer variable ``name`` (``default`` when unset), refused outside ``low``..``high``."""
    raw = environ.get(name, "").strip()
    try:
        value = int(raw) if raw else default
    except ValueError:
        raise ValueError(f"{name} must be an integer from {low} to {high}, not {raw!r}") from None
    if not low <= value <= high:
        raise ValueError(f"{name} must be an integer from {low} to {high}, not {value}")
    return value


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (tests call ``get_settings.cache_clear()`` after changing the env)."""
    return Settings.from_environ()
