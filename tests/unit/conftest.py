"""The services over the recording fakes (``fakes.py``), at a fixed instant, and the callers and
tokens the service tests start from."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.unit.fakes import FakeClock, FakeKms, RecordingRepository, RecordingWebhookRepository
from tokensmith import clock as clock_module
from tokensmith.auth import ADMIN, TOKENS_MANAGE, TOKENS_READ, TOKENS_VERIFY, TOKENS_WRITE, Principal, RequestMeta
from tokensmith.settings import Settings
from tokensmith.tokens.admin import AdminTokenService
from tokensmith.tokens.models import CreateTokenRequest
from tokensmith.tokens.service import TokenService
from tokensmith.tokens.verification_cache import VerificationCache
from tokensmith.webhooks.service import WebhookService

NOW = datetime(2030, 1, 15, 12, 0, 0, tzinfo=UTC)
DAY = 86400
META = RequestMeta(ip="203.0.113.7", user_agent="pytest/1.0")


def caller(organization_id: str, *scopes: str, owner: str | None = None) -> Principal:
    """The token calling the service, as the authorizer describes it."""
    return Principal(f"{organization_id}-caller", organization_id, owner, frozenset(scopes))


# The organizations' managers: they act for every owner of their organization (tokens:manage).
ACME = caller("acme", TOKENS_READ, TOKENS_WRITE, TOKENS_MANAGE, TOKENS_VERIFY, "orders:read")
GLOBEX = caller("globex", TOKENS_READ, TOKENS_WRITE, TOKENS_MANAGE, TOKENS_VERIFY, "orders:read")
OPERATOR = caller("platform", ADMIN)


def epoch(moment: datetime) -> int:
    return clock_module.epoch(moment)


def iso(moment: datetime) -> str:
    return clock_module.to_iso(moment)


def in_days(days: float) -> datetime:
    return NOW + timedelta(days=days)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
def settings() -> Settings:
    return Settings(table_name="unit", custom_scopes=("orders:read", "orders:write"), webhook_key_id="alias/webhooks")


@pytest.fixture
def repository() -> RecordingRepository:
    return RecordingRepository()


@pytest.fixture
def tokens(repository, settings, clock) -> TokenService:
    return TokenService(repository, settings, now=clock, counters=repository, policies=repository)


def seconds_of(clock):
    """The instance's monotonic clock, driven by the test's clock."""
    return lambda: clock().timestamp()


@pytest.fixture
def cached_tokens(repository, settings, clock) -> TokenService:
    """The service with the opt-in copy of valid secrets' tokens on, for 5 seconds, on the test's clock
    (tokens/verification_cache.py)."""
    return TokenService(
        repository,
        settings,
        now=clock,
        counters=repository,
        policies=repository,
        verification_cache=VerificationCache(5, monotonic=seconds_of(clock)),
    )


@pytest.fixture
def admin_tokens(repository, settings, clock) -> AdminTokenService:
    return AdminTokenService(repository, settings, now=clock, counters=repository, policies=repository)


@pytest.fixture
def kms() -> FakeKms:
    return FakeKms()


@pytest.fixture
def webhook_repository() -> RecordingWebhookRepository:
    return RecordingWebhookRepository()


@pytest.fixture
def webhooks(webhook_repository, settings, clock, kms) -> WebhookService:
    return WebhookService(webhook_repository, settings, now=clock, kms=kms)


@dataclass
class Issued:
    """A token the Given made: its id and its secret (its stored item is ``repository.tokens[id]``)."""

    id: str
    secret: str


@pytest.fixture
def given_token(tokens, repository):
    """Make a token through ``TokenService.create_token`` (by ``ACME`` unless told), then forget its
    writes, so that the Then of a test sees only what its When wrote."""

    def make(principal: Principal = ACME, **body: Any) -> Issued:
        request = CreateTokenRequest.model_validate({"name": "deploy", **body})
        item, secret = tokens.create_token(principal, request, META)
        repository.forget_writes()
        return Issued(item["id"], secret)

    return make


@pytest.fixture
def token(given_token) -> Issued:
    """acme's token "deploy" (description "ci", scopes orders:read and tokens:read), made now."""
    return given_token(description="ci", scopes=["orders:read", "tokens:read"])
