"""Each function's role reaches every table item its code touches: the DynamoDB calls made while one
function runs (moto, which checks no IAM) are held against the ``dynamodb:LeadingKeys`` of that
function's role in template.yaml. On AWS a key outside them is an AccessDenied, a 500 (in a
transaction: the whole change refused)."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
from botocore.client import BaseClient

from tests.integration.conftest import make_tenant
from tests.test_template import statements

ITEM_CALLS = {"GetItem", "PutItem", "UpdateItem", "DeleteItem", "BatchGetItem", "TransactWriteItems"}
TABLE = {"Fn::GetAtt": ["TokensTable", "Arn"]}


def _partitions(operation: str, params: dict) -> list[str]:
    if operation in ("GetItem", "UpdateItem", "DeleteItem"):
        return [params["Key"]["pk"]["S"]]
    if operation == "PutItem":
        return [params["Item"]["pk"]["S"]]
    if operation == "BatchGetItem":
        return [key["pk"]["S"] for request in params["RequestItems"].values() for key in request["Keys"]]
    found = []
    for action in params["TransactItems"]:
        [(kind, body)] = action.items()
        found.append((body["Item"] if kind == "Put" else body["Key"])["pk"]["S"])
    return found


@contextmanager
def partitions_touched(monkeypatch) -> Iterator[list[str]]:
    """The partition keys of every item call made inside the block."""
    touched: list[str] = []
    original = BaseClient._make_api_call

    def recording(self, operation, params):
        if operation in ITEM_CALLS:
            touched.extend(_partitions(operation, params))
        return original(self, operation, params)

    with monkeypatch.context() as patch:
        patch.setattr(BaseClient, "_make_api_call", recording)
        yield touched


def denied(function_id: str, touched: list[str]) -> list[str]:
    """The partitions among ``touched`` that no Allow statement on the table lets ``function_id`` reach."""
    patterns = [
        pattern
        for s in statements(function_id)
        if s["Effect"] == "Allow" and TABLE in (s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]])
        for pattern in s["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]
    ]
    return sorted({pk for pk in touched if not any(fnmatch.fnmatchcase(pk, p) for p in patterns)})


def metered(api, caller, name: str) -> dict:
    response = api.post("/v1/tokens", secret=caller.secret, body={"name": name, "credits": {"remaining": 5}})
    assert response.status == 201, response.body
    return response.body


def claims(tenant) -> dict[str, str]:
    """The authorizer's context for ``tenant``'s manager token (the authorizer itself is not under test)."""
    scopes = "tokens:read tokens:write tokens:manage tokens:verify orders:read"
    return {"token_id": tenant.token_id, "organization_id": tenant.organization_id, "owner": "", "scopes": scopes}


@pytest.mark.parametrize(
    "function_id, method, suffix, body",
    [
        ("RevokeTokenFunction", "POST", "/revoke", {"reason": "done"}),
        ("DeleteTokenFunction", "DELETE", "", None),
    ],
)
def test_a_change_of_a_token_with_credits_stays_within_the_function_role(
    api, acme, monkeypatch, function_id, method, suffix, body
):
    token = metered(api, acme, "metered")["token"]

    with partitions_touched(monkeypatch) as touched:
        response = api.request(method, f"/v1/tokens/{token['id']}{suffix}", body=body, claims=claims(acme))

    assert response.status in (200, 204), response.body
    assert any(pk.startswith("CREDITS#") for pk in touched)  # the counter's purge moves with the token's
    assert denied(function_id, touched) == []


def test_the_leak_worker_revoking_a_token_with_credits_stays_within_its_role(api, acme, leak_queue, monkeypatch):
    secret = metered(api, acme, "leaked")["secret"]
    assert api.post("/v1/tokens/revoke-leaked", body={"tokens": [secret]}).status == 202

    with partitions_touched(monkeypatch) as touched:
        leak_queue.run_worker()

    assert api.post("/v1/tokens/verify", secret=acme.secret, body={"token": secret}).body["code"] == "REVOKED"
    assert denied("RevokeLeakedWorkerFunction", touched) == []


def test_policy_enforcement_revoking_a_token_with_credits_stays_within_its_role(
    api, admin, organization_policy_queue, monkeypatch
):
    manager = make_tenant(api, admin, "acme")
    secret = metered(api, manager, "unbounded")["secret"]
    body = {"max_lifetime_days": 1, "enforce": "revoke"}
    assert api.put("/v1/organizations/acme/policy", secret=admin.secret, body=body).status == 200

    with partitions_touched(monkeypatch) as touched:
        organization_policy_queue.run_worker()

    assert api.post("/v1/tokens/verify", secret=admin.secret, body={"token": secret}).body["code"] == "REVOKED"
    assert denied("PropagateOrgPolicyFunction", touched) == []


def test_the_sweep_revoking_an_inactive_token_with_credits_stays_within_its_role(
    api, admin, organization_policy_queue, clock, monkeypatch
):
    from tests.integration.test_expiry import sweep

    assert api.put("/v1/organizations/acme/policy", secret=admin.secret, body={"inactivity_days": 30}).status == 200
    organization_policy_queue.run_worker()
    body = {"name": "idle", "organization_id": "acme", "credits": {"remaining": 5}}
    secret = api.post("/v1/tokens", secret=admin.secret, body=body).body["secret"]
    clock.advance(31 * 86400)

    with partitions_touched(monkeypatch) as touched:
        assert sweep()["revoked"] == 1

    assert api.post("/v1/tokens/verify", secret=admin.secret, body={"token": secret}).body["code"] == "REVOKED"
    assert any(pk.startswith("CREDITS#") for pk in touched)  # the counter's purge moved with the token's
    assert denied("ExpireTokensFunction", touched) == []


@pytest.mark.parametrize(
    "function_id, method, path",
    [
        ("UpdateTokenFunction", "PATCH", "/v1/tokens/{id}"),
        ("AdminUpdateTokenFunction", "PATCH", "/v1/admin/tokens/{id}"),
    ],
)
def test_an_expiry_edit_checked_against_the_organizations_policy_stays_within_its_role(
    api, acme, admin, organization_policy_queue, monkeypatch, function_id, method, path
):
    policy = api.put(
        f"/v1/organizations/{acme.organization_id}/policy", secret=admin.secret, body={"max_lifetime_days": 90}
    )
    assert policy.status == 200, policy.body
    token = api.post("/v1/tokens", secret=acme.secret, body={"name": "bounded"}).body["token"]
    expires_at = (datetime.now(UTC) + timedelta(days=30)).isoformat(timespec="seconds").replace("+00:00", "Z")
    caller = claims(acme) if function_id == "UpdateTokenFunction" else None

    with partitions_touched(monkeypatch) as touched:
        response = api.request(
            method,
            path.format(id=token["id"]),
            body={"expires_at": expires_at},
            **({"claims": caller} if caller else {"secret": admin.secret}),
        )

    assert response.status == 200, response.body
    assert any(pk.startswith("ORGPOLICY#") for pk in touched)  # read, then checked in the write's transaction
    assert denied(function_id, touched) == []
