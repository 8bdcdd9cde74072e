"""Every service operation declares its scope with ``@requires``: a caller holding every scope but
that one is refused (Forbidden, naming it) before anything is read, and a caller holding just that
scope gets past the check. The HTTP twin, over the OpenAPI document, is
``tests/integration/test_route_scopes.py``."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import pytest

from tests.unit.conftest import META, caller
from tokensmith.auth import ADMIN, SERVICE_SCOPES, required_scope
from tokensmith.errors import Forbidden
from tokensmith.sessions.service import SessionService
from tokensmith.tokens.admin import AdminTokenService
from tokensmith.tokens.models import (
    AdminUpdateTokenRequest,
    CreateTokenRequest,
    ReplaceTokenRequest,
    UpdateTokenRequest,
)
from tokensmith.tokens.service import TokenService
from tokensmith.webhooks.models import CreateWebhookRequest, UpdateWebhookRequest
from tokensmith.webhooks.service import WebhookService

CATALOG = ("orders:read", "orders:write")
ID = "0f0e0d0c-0000-4000-8000-000000000000"
URL = "https://hooks.example.com/scoped"

# (service, operation) -> how to call it as ``principal``: every argument a valid one.
CALLS: dict[tuple[type, str], Callable[[Any, Any], Any]] = {
    (TokenService, "get_token"): lambda s, p: s.get_token(p, ID),
    (TokenService, "get_usage"): lambda s, p: s.get_usage(p, ID),
    (TokenService, "list_tokens"): lambda s, p: s.list_tokens(p),
    (TokenService, "list_events"): lambda s, p: s.list_events(p, ID),
    (TokenService, "verify"): lambda s, p: s.verify(p, "tks_x", [], META),
    (TokenService, "create_token"): lambda s, p: s.create_token(p, CreateTokenRequest(name="scoped"), META),
    (TokenService, "update_token"): lambda s, p: s.update_token(p, ID, UpdateTokenRequest(description="x"), META),
    (TokenService, "replace_token"): lambda s, p: s.replace_token(
        p, ID, ReplaceTokenRequest(name="x", scopes=[]), META
    ),
    (TokenService, "disable_token"): lambda s, p: s.disable_token(p, ID, META),
    (TokenService, "enable_token"): lambda s, p: s.enable_token(p, ID, META),
    (TokenService, "revoke_token"): lambda s, p: s.revoke_token(p, ID, "checked", META),
    (TokenService, "rotate_token"): lambda s, p: s.rotate_token(p, ID, 0, META),
    (TokenService, "delete_token"): lambda s, p: s.delete_token(p, ID, META),
    (AdminTokenService, "admin_update_token"): lambda s, p: s.admin_update_token(
        p, ID, AdminUpdateTokenRequest(owner="someone@acme.test"), META
    ),
    (WebhookService, "get_webhook"): lambda s, p: s.get_webhook(p, ID),
    (WebhookService, "list_webhooks"): lambda s, p: s.list_webhooks(p),
    (WebhookService, "list_deliveries"): lambda s, p: s.list_deliveries(p, ID),
    (WebhookService, "create_webhook"): lambda s, p: s.create_webhook(p, CreateWebhookRequest(url=URL), META),
    (WebhookService, "update_webhook"): lambda s, p: s.update_webhook(
        p, ID, UpdateWebhookRequest(description="x"), META
    ),
    (WebhookService, "rotate_secret"): lambda s, p: s.rotate_secret(p, ID, 0, META),
    (WebhookService, "delete_webhook"): lambda s, p: s.delete_webhook(p, ID, META),
}
SCOPED = [(service, name, required_scope(getattr(service, name))) for service, name in CALLS]


def declared_operations() -> set[tuple[type, str]]:
    """Every public method of the services that declares a scope."""
    return {
        (service, name)
        for service in (TokenService, AdminTokenService, WebhookService, SessionService)
        for name, member in inspect.getmembers(service, inspect.isfunction)
        if required_scope(member) is not None
    }


@pytest.fixture
def services(tokens, admin_tokens, webhooks) -> dict[type, Any]:
    return {TokenService: tokens, AdminTokenService: admin_tokens, WebhookService: webhooks}


def test_every_operation_that_declares_a_scope_is_checked_here():
    # Given the services' operations, Then each one declaring a scope has a call above, and no other
    assert declared_operations() == set(CALLS)


@pytest.mark.parametrize("service, name, scope", SCOPED, ids=[f"{s.__name__}.{n}" for s, n, _ in SCOPED])
def test_a_caller_with_every_scope_but_the_declared_one_is_forbidden(
    services, repository, webhook_repository, service, name, scope
):
    # Given a caller holding every scope but the declared one ("admin" stands for all service scopes)
    others = [s for s in (*SERVICE_SCOPES, *CATALOG) if s != scope and (s != ADMIN or scope == ADMIN)]
    lacking = caller("acme", *others)

    # When it calls the operation
    with pytest.raises(Forbidden) as refused:
        CALLS[service, name](services[service], lacking)

    # Then it is refused for lacking that scope, before anything is read or written
    assert scope in refused.value.detail
    assert (repository.reads, repository.writes, webhook_repository.writes) == ([], [], [])


@pytest.mark.parametrize("service, name, scope", SCOPED, ids=[f"{s.__name__}.{n}" for s, n, _ in SCOPED])
def test_a_caller_with_just_the_declared_scope_gets_past_the_check(services, service, name, scope):
    # Given a caller holding only the declared scope
    holding = caller("acme", scope)

    # When it calls the operation
    try:
        CALLS[service, name](services[service], holding)
        outcome: Exception | None = None
    except Exception as error:  # noqa: BLE001 - NotFound, ValidationFailed…: answers past the scope check
        outcome = error

    # Then whatever the answer (the token or endpoint does not exist), it is not Forbidden
    assert not isinstance(outcome, Forbidden), outcome
