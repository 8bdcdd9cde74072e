"""The organization's ``max_lifetime_days`` and ``require_expiry`` bound ``expires_at`` on every write
that sets it: create, replace, update and the admin override (the organization's own rules bind the
platform operator too: one who must exceed them changes the policy first). A 422 names ``expires_at``.
A create without ``expires_at`` gets the earlier of the deployment's and the organization's ceilings;
an edit that leaves the expiry alone reads no policy."""

from __future__ import annotations

import pytest

from tests.unit.conftest import ACME, GLOBEX, META, OPERATOR, epoch, in_days, iso
from tokensmith.errors import ValidationFailed
from tokensmith.settings import Settings
from tokensmith.tokens.models import (
    AdminUpdateTokenRequest,
    CreateTokenRequest,
    ReplaceTokenRequest,
    UpdateTokenRequest,
)
from tokensmith.tokens.service import TokenService


def with_policy(repository, organization_id: str = "acme", **fields) -> None:
    policy = {"organization_id": organization_id, "version": 1, **fields}
    repository.put_policy(policy, None)


def no_ceiling(repository, clock) -> TokenService:
    """The service of a deployment without MaxTokenLifetimeDays (0)."""
    settings = Settings(table_name="unit", max_token_lifetime_days=0)
    return TokenService(repository, settings, now=clock, counters=repository, policies=repository)


def create(tokens, principal=ACME, **body):
    return tokens.create_token(principal, CreateTokenRequest.model_validate({"name": "deploy", **body}), META)


def refused_field(call) -> str:
    with pytest.raises(ValidationFailed) as refused:
        call()
    [error] = refused.value.errors
    assert error.field == "expires_at"
    return error.message


def test_a_create_beyond_the_organizations_lifetime_is_a_422_naming_expires_at(tokens, repository):
    with_policy(repository, max_lifetime_days=30)

    message = refused_field(lambda: create(tokens, expires_at=iso(in_days(31))))

    assert message.startswith("beyond the organization's max_lifetime_days (30 days")
    assert repository.tokens == {}


def test_a_create_within_the_organizations_lifetime_is_accepted(tokens, repository):
    with_policy(repository, max_lifetime_days=30)

    item, _ = create(tokens, expires_at=iso(in_days(30)))

    assert item["expires_epoch"] == epoch(in_days(30))


def test_a_create_without_expiry_gets_the_organizations_ceiling_when_it_is_the_earlier(tokens, repository):
    with_policy(repository, max_lifetime_days=30)

    item, _ = create(tokens)

    assert item["expires_epoch"] == epoch(in_days(30))  # the deployment's would be 365 days


def test_another_organizations_policy_does_not_bind(tokens, repository):
    with_policy(repository, max_lifetime_days=30)

    item, _ = create(tokens, principal=GLOBEX, expires_at=iso(in_days(200)))

    assert item["expires_epoch"] == epoch(in_days(200))


def test_require_expiry_refuses_a_token_that_would_never_expire(repository, clock):
    tokens = no_ceiling(repository, clock)
    with_policy(repository, require_expiry=True)

    message = refused_field(lambda: create(tokens))

    assert message == "required by the organization's policy"


def test_without_a_policy_a_token_may_still_never_expire(repository, clock):
    tokens = no_ceiling(repository, clock)

    item, _ = create(tokens)

    assert "expires_epoch" not in item or item["expires_epoch"] is None


def test_an_update_moving_the_expiry_beyond_the_lifetime_is_refused(tokens, repository, given_token):
    token = given_token(expires_at=iso(in_days(10)))
    with_policy(repository, max_lifetime_days=30)

    message = refused_field(
        lambda: tokens.update_token(ACME, token.id, UpdateTokenRequest(expires_at=in_days(45)), META)
    )

    assert "max_lifetime_days" in message and repository.changes() == []


def test_a_replace_moving_the_expiry_beyond_the_lifetime_is_refused(tokens, repository, given_token):
    token = given_token(expires_at=iso(in_days(10)))
    with_policy(repository, max_lifetime_days=30)
    body = {"name": "deploy", "scopes": [], "expires_at": iso(in_days(45))}

    refused_field(lambda: tokens.replace_token(ACME, token.id, ReplaceTokenRequest.model_validate(body), META))

    assert repository.changes() == []


def test_an_edit_that_leaves_the_expiry_alone_reads_no_policy_and_keeps_an_older_longer_expiry(
    tokens, repository, given_token, monkeypatch
):
    token = given_token(expires_at=iso(in_days(200)))
    with_policy(repository, max_lifetime_days=30)  # tightened after the token was made
    reads = []
    monkeypatch.setattr(repository, "get_policy", lambda organization_id: reads.append(organization_id))

    tokens.update_token(ACME, token.id, UpdateTokenRequest(description="renamed"), META)

    assert reads == [] and repository.tokens[token.id]["description"] == "renamed"


def test_the_admin_override_is_bound_by_the_organizations_lifetime_too(admin_tokens, repository, given_token):
    token = given_token(expires_at=iso(in_days(10)))
    with_policy(repository, max_lifetime_days=30)

    refused_field(
        lambda: admin_tokens.admin_update_token(
            OPERATOR, token.id, AdminUpdateTokenRequest(expires_at=in_days(60)), META
        )
    )
    admin_tokens.admin_update_token(OPERATOR, token.id, AdminUpdateTokenRequest(expires_at=in_days(20)), META)

    assert repository.tokens[token.id]["expires_epoch"] == epoch(in_days(20))


def policy_tightened_after_first_read(repository, **fields) -> None:
    """A policy ``PUT`` that lands between an edit's read of the policy and its write."""
    read = repository.get_policy
    calls = []

    def get_policy(organization_id: str):
        policy = read(organization_id)
        if not calls:
            calls.append(organization_id)
            current = repository.org_policies[organization_id]
            repository.org_policies[organization_id] = {**current, **fields, "version": current["version"] + 1}
        return policy

    repository.get_policy = get_policy


def test_an_update_checked_against_a_policy_replaced_before_its_write_is_checked_again(tokens, repository, given_token):
    token = given_token(expires_at=iso(in_days(10)))
    with_policy(repository, max_lifetime_days=60)
    policy_tightened_after_first_read(repository, max_lifetime_days=30)

    message = refused_field(
        lambda: tokens.update_token(ACME, token.id, UpdateTokenRequest(expires_at=in_days(45)), META)
    )

    assert "max_lifetime_days (30 days" in message
    assert repository.tokens[token.id]["expires_epoch"] == epoch(in_days(10))
    [lost] = repository.changes()  # the write under the old policy, refused by its check
    assert lost.change.policy_check is not None and lost.change.policy_check.version == 1


def test_the_admin_override_checked_against_a_replaced_policy_is_checked_again(admin_tokens, repository, given_token):
    token = given_token(expires_at=iso(in_days(10)))
    with_policy(repository, max_lifetime_days=60)
    policy_tightened_after_first_read(repository, max_lifetime_days=30)

    message = refused_field(
        lambda: admin_tokens.admin_update_token(
            OPERATOR, token.id, AdminUpdateTokenRequest(expires_at=in_days(45)), META
        )
    )

    assert "max_lifetime_days (30 days" in message
    assert repository.tokens[token.id]["expires_epoch"] == epoch(in_days(10))


def test_an_edit_that_leaves_the_expiry_alone_carries_no_policy_check(tokens, repository, given_token):
    token = given_token(expires_at=iso(in_days(10)))
    with_policy(repository, max_lifetime_days=60)

    tokens.update_token(ACME, token.id, UpdateTokenRequest(description="renamed"), META)

    [written] = repository.changes()
    assert written.change.policy_check is None
