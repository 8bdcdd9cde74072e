"""Shared test setup: a fake AWS environment (never a real account), and the caches of the
process-wide singletons cleared around every test."""

from __future__ import annotations

import os

import pytest

TEST_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "TABLE_NAME": "tokensmith-test",
    "TOKEN_PREFIX": "tks",
    "MAX_TOKEN_LIFETIME_DAYS": "365",
    "RETENTION_DAYS": "90",
    "SCOPE_CATALOG": "orders:read,orders:write",
    "POWERTOOLS_SERVICE_NAME": "tokensmith",
    "POWERTOOLS_METRICS_NAMESPACE": "Tokensmith",
    "POWERTOOLS_METRICS_DISABLED": "true",
    "POWERTOOLS_DEV": "false",
    "LEAK_REPORT_ANSWER_MS": "0",  # no floor under revoke-leaked's answers, but where a test sets one
}
os.environ.update(TEST_ENV)
os.environ.pop("DYNAMODB_ENDPOINT_URL", None)


def clear_singletons() -> None:
    from tokensmith import settings
    from tokensmith.aws import clients
    from tokensmith.organizations import enforcement as organization_enforcement
    from tokensmith.organizations import propagation as organization_propagation
    from tokensmith.organizations import repository as organization_repository
    from tokensmith.organizations import service as organization_service
    from tokensmith.secret_scanning import service as secret_scanning
    from tokensmith.sessions import repository as session_repository
    from tokensmith.sessions import service as session_service
    from tokensmith.tokens import admin as token_admin
    from tokensmith.tokens import counters as token_counters
    from tokensmith.tokens import leaks, verification_cache
    from tokensmith.tokens import repository as token_repository
    from tokensmith.tokens import service as token_service
    from tokensmith.webhooks import delivery
    from tokensmith.webhooks import repository as webhook_repository
    from tokensmith.webhooks import service as webhook_service

    for cached in (
        settings.get_settings,
        clients.client,
        clients.shared_session,
        token_repository.default_repository,
        token_counters.default_counters,
        organization_repository.default_policies,
        organization_service.organization_policy_service,
        organization_propagation.policy_queue,
        organization_propagation.policy_propagator,
        organization_enforcement.policy_enforcer,
        session_repository.default_session_repository,
        webhook_repository.default_webhook_repository,
        token_service.token_service,
        verification_cache.instance_verification_cache,
        token_admin.admin_token_service,
        leaks.leak_reports,
        leaks.leaked_token_revoker,
        secret_scanning.github_secret_scanning,
        session_service.session_service,
        webhook_service.webhook_service,
        delivery.default_deliverer,
    ):
        # a test may have replaced one with a plain function (monkeypatch undoes that afterwards)
        getattr(cached, "cache_clear", lambda: None)()


# The test suite never asks a real DNS: webhook URLs resolve through this table (see tokensmith.egress).
FAKE_DNS = {
    "hooks.example.com": ["93.184.216.34"],
    "other.example.com": ["93.184.216.35", "2606:2800:220:1:248:1893:25c8:1946"],
    "private.example.com": ["10.0.0.5"],
    "mixed.example.com": ["93.184.216.36", "192.168.1.10"],
    "loopback.example.com": ["127.0.0.1"],
    "metadata.example.com": ["169.254.169.254"],
    "v6-loopback.example.com": ["::1"],
    "v6-mapped.example.com": ["::ffff:127.0.0.1"],
    "v6-local.example.com": ["fd00::1"],
    "shared.example.com": ["100.64.0.1"],
}


def fake_resolve_host(host: str, port: int) -> list[str]:
    if host in FAKE_DNS:
        return list(FAKE_DNS[host])
    try:
        import ipaddress

        return [str(ipaddress.ip_address(host.strip("[]")))]
    except ValueError:
        raise OSError(f"fake DNS: {host} does not resolve") from None


def _install_fake_dns() -> None:
    """For the whole test process (module-scoped servers included); tests change FAKE_DNS itself."""
    from tokensmith.webhooks import egress

    egress.resolve_host = fake_resolve_host


_install_fake_dns()


@pytest.fixture(autouse=True)
def _fresh_singletons():
    clear_singletons()
    yield
    clear_singletons()
