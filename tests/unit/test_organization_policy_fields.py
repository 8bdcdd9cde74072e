"""The organization policy's fields beyond ``allowed_cidrs`` (product.md, "Leak defence"): a PUT
replaces the whole policy (an omitted field is its default), the rules across fields and against the
deployment answer 422 naming the field, and what verification and the sweep need is copied onto the
tokens (``organizations.repository.token_copy``): at creation, and by the propagation worker."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from tests.unit.conftest import ACME, META
from tests.unit.fakes import FakePolicyQueue, drain_policy_queue
from tokensmith.errors import ValidationFailed
from tokensmith.organizations.propagation import PolicyPropagator
from tokensmith.organizations.repository import POLICY_DEFAULTS, token_copy
from tokensmith.organizations.service import OrganizationPolicyService
from tokensmith.tokens.policies import OrganizationPolicy, OrganizationPolicyRequest

STRICT = {
    "allowed_cidrs": ["192.0.2.0/24"],
    "max_lifetime_days": 90,
    "require_expiry": True,
    "on_new_location": "disable",
    "inactivity_days": 60,
    "inactivity_notice_days": [3, 14],
}


@pytest.fixture
def queue() -> FakePolicyQueue:
    return FakePolicyQueue()


@pytest.fixture
def policies(repository, queue, clock) -> OrganizationPolicyService:
    return OrganizationPolicyService(repository, queue, now=clock, max_lifetime_days=365)  # type: ignore[arg-type]


def put(policies: OrganizationPolicyService, body: dict) -> dict:
    return policies.put_policy(ACME, "acme", OrganizationPolicyRequest.model_validate(body).model_dump(), META)


def test_an_organization_without_a_policy_shows_every_default(policies):
    view = policies.get_policy(ACME, "acme")

    assert {name: view[name] for name in POLICY_DEFAULTS} == POLICY_DEFAULTS
    assert view["version"] == 0
    OrganizationPolicy.model_validate(view)


def test_every_field_is_stored_and_shown_notice_days_newest_warning_first(policies):
    view = put(policies, STRICT)

    assert view["inactivity_notice_days"] == [14, 3]
    assert {k: view[k] for k in STRICT if k != "inactivity_notice_days"} == {
        k: v for k, v in STRICT.items() if k != "inactivity_notice_days"
    }
    assert policies.get_policy(ACME, "acme") == view
    OrganizationPolicy.model_validate(view)


def test_a_put_replaces_the_whole_policy_an_omitted_field_is_its_default(policies):
    put(policies, STRICT)

    view = put(policies, {"allowed_cidrs": ["198.51.100.0/24"]})

    assert view["allowed_cidrs"] == ["198.51.100.0/24"]
    assert {name: view[name] for name in POLICY_DEFAULTS if name != "allowed_cidrs"} == {
        name: value for name, value in POLICY_DEFAULTS.items() if name != "allowed_cidrs"
    }


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"max_lifetime_days": 366}, "max_lifetime_days", "must be at most 365 (the deployment's limit)"),
        ({"inactivity_notice_days": [3]}, "inactivity_notice_days", "needs inactivity_days"),
        (
            {"inactivity_days": 14, "inactivity_notice_days": [14, 3]},
            "inactivity_notice_days",
            "each day must be less than inactivity_days",
        ),
    ],
)
def test_the_rules_across_fields_answer_422_naming_the_field(policies, repository, body, field, message):
    with pytest.raises(ValidationFailed) as refused:
        put(policies, body)

    assert [(e.field, e.message) for e in refused.value.errors] == [(field, message)]
    assert repository.get_policy("acme") is None


def test_the_deployment_without_a_lifetime_limit_takes_any_policy_lifetime(repository, queue, clock):
    unlimited = OrganizationPolicyService(repository, queue, now=clock, max_lifetime_days=0)  # type: ignore[arg-type]

    assert put(unlimited, {"max_lifetime_days": 36_500})["max_lifetime_days"] == 36_500


@pytest.mark.parametrize(
    "body",
    [
        {"on_new_location": "revoke"},
        {"inactivity_days": 0},
        {"inactivity_days": 3651},
        {"inactivity_days": 30, "inactivity_notice_days": [3, 3]},
        {"inactivity_days": 30, "inactivity_notice_days": [1, 2, 3, 4, 5, 6]},
        {"max_lifetime_days": 0},
        {"require_expiry": "yes"},
    ],
)
def test_the_request_model_bounds_each_field(body):
    with pytest.raises(ValidationError):
        OrganizationPolicyRequest.model_validate(body)


def test_only_what_differs_from_the_default_is_copied_onto_tokens():
    assert set(token_copy(None).values()) == {None}
    assert token_copy({**POLICY_DEFAULTS, **STRICT, "inactivity_notice_days": [14, 3], "version": 2}) == {
        "org_allowed_cidrs": ["192.0.2.0/24"],
        "org_on_new_location": "disable",
        "org_inactivity_days": 60,
        "org_inactivity_notice_days": [14, 3],
    }


def test_a_token_created_under_a_policy_carries_its_copy(policies, repository, given_token):
    put(policies, STRICT)

    token = repository.tokens[given_token(name="new").id]

    assert token["org_on_new_location"] == "disable"
    assert token["org_inactivity_days"] == 60 and token["org_inactivity_notice_days"] == [14, 3]
    assert token["org_allowed_cidrs"] == ["192.0.2.0/24"] and token["org_policy_version"] == 1


def test_the_worker_copies_each_field_and_removes_what_went_back_to_its_default(
    policies, repository, queue, given_token
):
    ids = [given_token(name=f"t{n}").id for n in range(3)]
    propagator = PolicyPropagator(repository, queue, page_size=2)  # type: ignore[arg-type]

    put(policies, STRICT)
    drain_policy_queue(propagator, queue)
    assert all(repository.tokens[i]["org_on_new_location"] == "disable" for i in ids)

    put(policies, {"inactivity_days": 30})
    drain_policy_queue(propagator, queue)

    for token_id in ids:
        token = repository.tokens[token_id]
        assert token["org_inactivity_days"] == 30 and token["org_policy_version"] == 2
        assert not {"org_on_new_location", "org_allowed_cidrs", "org_inactivity_notice_days"} & token.keys()
