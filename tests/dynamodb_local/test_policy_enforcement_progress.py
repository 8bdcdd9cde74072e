"""The enforcement progress and the preview's page on DynamoDB Local: ``record_enforcement`` adds a
page's counts once (its condition on the page number refuses a redelivered page, and a newer PUT's
policy), and ``token_page`` reads at most ``limit`` tokens a Query, the live filter after the limit."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.dynamodb_local.conftest import run_concurrently
from tokensmith.auth import Principal, RequestMeta
from tokensmith.organizations.repository import OrganizationPolicies
from tokensmith.settings import Settings
from tokensmith.tokens.models import CreateTokenRequest
from tokensmith.tokens.service import TokenService

pytestmark = pytest.mark.dynamodb_local

MANAGER = Principal("caller", "acme", None, frozenset({"tokens:read", "tokens:write", "tokens:manage"}))


@pytest.fixture
def policies(repository) -> OrganizationPolicies:
    return OrganizationPolicies(repository.table_name, client=repository.client)


def enforcing_policy(policies: OrganizationPolicies, version: int = 1) -> None:
    policy = {
        "organization_id": "acme",
        "version": version,
        "enforcement": {"action": "disable", "by": {}, "started_at": "2030-01-01T00:00:00Z"},
        "enforcement_pages": 0,
        "enforcement_done": False,
        "enforcement_examined": 0,
        "enforcement_disabled": 0,
        "enforcement_revoked": 0,
    }
    policies.put_policy(policy, None if version == 1 else version - 1)


def test_a_page_is_counted_once_even_when_delivered_many_times_at_once(policies):
    enforcing_policy(policies)

    written = run_concurrently(
        lambda _: policies.record_enforcement("acme", 1, 0, {"examined": 100, "disabled": 3}, False), 20
    )
    policies.record_enforcement("acme", 1, 1, {"examined": 40, "revoked": 0}, True)

    policy = policies.get_policy("acme")
    assert written.count(True) == 1
    assert (policy["enforcement_examined"], policy["enforcement_disabled"], policy["enforcement_pages"]) == (140, 3, 2)
    assert policy["enforcement_done"] is True


def test_a_page_of_an_older_version_counts_nothing(policies):
    enforcing_policy(policies)
    enforcing_policy(policies, version=2)

    assert policies.record_enforcement("acme", 1, 0, {"examined": 100}, False) is False
    assert policies.get_policy("acme")["enforcement_examined"] == 0


def test_a_page_reads_at_most_limit_tokens_and_the_live_filter_applies_after(repository, policies):
    service = TokenService(repository, replace(Settings.from_environ(), table_name=repository.table_name))
    made = [service.create_token(MANAGER, CreateTokenRequest(name=f"t{n}"), RequestMeta())[0] for n in range(5)]
    service.revoke_token(MANAGER, made[0]["id"], "gone", RequestMeta())
    service.revoke_token(MANAGER, made[1]["id"], "gone", RequestMeta())

    first, cursor, examined = policies.token_page("acme", 3, live_at=0)
    rest, end, examined_rest = policies.token_page("acme", 3, cursor, live_at=0)

    assert (examined, examined_rest, end) == (3, 2, None)
    assert [t["id"] for t in first + rest] == [t["id"] for t in made[2:]]
