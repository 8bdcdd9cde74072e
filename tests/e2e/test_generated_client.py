"""The contract, as a client generated from docs/openapi.json sees it: `openapi-python-client` generates a
client into a temporary folder (never committed), and the whole life of a token, a console session and
a webhook endpoint goes through it against the local gateway, and so do the usage policies (a token's
limits, credits, allowlist and meta, verified; an organization's policy). Every answer must parse into
the model the document declares for its status: the successes, a conditional change (`If-Match`: 200,
then 412), and each kind of refusal (the gateway's `{"message"}` and a function's problem for 403, 401,
404, 409, 422, 429)."""

from __future__ import annotations

import importlib
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from devtools.openapi import DOCUMENT

pytestmark = pytest.mark.e2e

PACKAGE = "tokensmith_contract_client"


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Any:
    """The generated package, imported; each of its modules by name: ``generated.api("tokens.get_token")``."""
    folder = tmp_path_factory.mktemp("client")
    config = folder / "config.yaml"
    config.write_text(f"package_name_override: {PACKAGE}\npost_hooks: []\n")
    generator = Path(sys.executable).with_name("openapi-python-client")
    command = [str(generator), "generate", "--path", str(DOCUMENT), "--meta", "none", "--config", str(config)]
    result = subprocess.run(
        [*command, "--output-path", str(folder / PACKAGE)], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # The generator warns (and leaves out what it cannot express) rather than failing: none allowed.
    assert "Warning" not in result.stdout + result.stderr, result.stdout + result.stderr
    sys.path.insert(0, str(folder))
    try:

        class Generated:
            client = importlib.import_module(f"{PACKAGE}.client")
            models = importlib.import_module(f"{PACKAGE}.models")

            @staticmethod
            def api(name: str) -> Any:
                return importlib.import_module(f"{PACKAGE}.api.{name}")

        yield Generated
    finally:
        sys.path.remove(str(folder))
        for name in [name for name in sys.modules if name.startswith(PACKAGE)]:
            del sys.modules[name]


def call(generated, operation: str, status: int, model: str | None, **arguments):
    """Call ``operation`` (``tag.operation_id``) and check the status and the parsed model's class."""
    response = generated.api(operation).sync_detailed(**arguments)
    assert response.status_code == status, (operation, response.status_code, response.content)
    if model is None:
        assert response.parsed is None, (operation, response.parsed)
    else:
        assert type(response.parsed).__name__ == model, (operation, response.content)
    return response


def test_a_whole_lifecycle_through_the_generated_client(server, generated):
    running, admin_secret = server
    models, Client = generated.models, generated.client.AuthenticatedClient
    admin = Client(running.base_url, token=admin_secret, raise_on_unexpected_status=True)

    # create, for another organization (admin), then act as that token
    body = models.CreateTokenRequest(
        name="contract backend",
        organization_id="contract",
        scopes=[
            "tokens:read",
            "tokens:write",
            "tokens:verify",
            "tokens:manage",
            "console",
            "webhooks:read",
            "webhooks:write",
        ],
    )
    created = call(generated, "tokens.create_token", 201, "TokenWithSecret", client=admin, body=body).parsed
    assert isinstance(created.token.id, uuid.UUID) and created.token.created_at.tzinfo is not None
    acme = Client(running.base_url, token=created.secret, raise_on_unexpected_status=True)
    assert call(generated, "tokens.get_self", 200, "Token", client=acme).parsed.id == created.token.id

    worker = call(
        generated,
        "tokens.create_token",
        201,
        "TokenWithSecret",
        client=acme,
        body=models.CreateTokenRequest(name="contract worker", scopes=["tokens:read"]),
    )
    token_id = str(worker.parsed.token.id)
    got = call(generated, "tokens.get_token", 200, "Token", client=acme, token_id=token_id)
    etag = got.headers["ETag"]
    page = call(generated, "tokens.list_tokens", 200, "TokenPage", client=acme, limit=10).parsed
    assert token_id in {str(item.id) for item in page.items}
    usage = call(generated, "tokens.get_token_usage", 200, "TokenUsage", client=acme, token_id=token_id).parsed
    assert (usage.ratelimits, usage.credits_) == ([], None)  # no usage policy (`credits` is a builtin's name)

    # a conditional change: the current ETag is 200, the same one again is 412 (a problem)
    patch = models.UpdateTokenRequest(description="nightly")
    changed = call(
        generated, "tokens.update_token", 200, "Token", client=acme, token_id=token_id, body=patch, if_match=etag
    )
    assert changed.headers["ETag"] != etag
    stale = call(
        generated, "tokens.update_token", 412, "Problem", client=acme, token_id=token_id, body=patch, if_match=etag
    )
    assert stale.parsed.status == 412
    # the header went with that call only: the next call without it is not refused
    call(generated, "tokens.get_token", 200, "Token", client=acme, token_id=token_id)

    replace = models.ReplaceTokenRequest(name="contract worker 2", scopes=["tokens:read"])
    call(generated, "tokens.replace_token", 200, "Token", client=acme, token_id=token_id, body=replace)
    call(generated, "tokens.disable_token", 200, "Token", client=acme, token_id=token_id)
    call(generated, "tokens.enable_token", 200, "Token", client=acme, token_id=token_id)
    rotated = call(
        generated,
        "tokens.rotate_token",
        200,
        "TokenWithSecret",
        client=acme,
        token_id=token_id,
        body=models.RotateTokenRequest(grace_period_seconds=0),
    ).parsed
    verified = call(
        generated,
        "tokens.verify_token",
        200,
        "VerifyResult",
        client=acme,
        body=models.VerifyTokenRequest(token=rotated.secret, scopes=["tokens:read"]),
    ).parsed
    assert verified.valid and verified.code.value == "VALID"

    # usage policies: a token with a rate limit, credits, an allowlist and meta, verified from an address in it
    metered = models.CreateTokenRequest(
        name="contract metered",
        scopes=["tokens:read"],
        ratelimits=[models.RateLimit(name="minute", limit=100, duration_seconds=60)],
        credits_=models.Credits(remaining=1),
        allowed_cidrs=["192.0.2.0/24"],
        meta=models.CreateTokenRequestMetaType0.from_dict({"plan": "pro"}),
    )
    metered_secret = call(
        generated, "tokens.create_token", 201, "TokenWithSecret", client=acme, body=metered
    ).parsed.secret
    spent = call(
        generated,
        "tokens.verify_token",
        200,
        "VerifyResult",
        client=acme,
        body=models.VerifyTokenRequest(token=metered_secret, ip="192.0.2.7", cost=1),
    ).parsed
    assert (spent.code.value, spent.credits_.remaining, spent.ratelimits[0].remaining) == ("VALID", 0, 99)
    assert spent.meta.additional_properties == {"plan": "pro"}
    outside = models.VerifyTokenRequest(token=metered_secret, ip="198.51.100.7")
    refused = call(generated, "tokens.verify_token", 200, "VerifyResult", client=acme, body=outside).parsed
    assert refused.code.value == "IP_NOT_ALLOWED" and not refused.valid

    # the organization's policy: read, replaced with its ETag (200), then with the same, stale, ETag (412)
    policy = call(
        generated, "tokens.get_organization_policy", 200, "OrganizationPolicy", client=acme, organization_id="contract"
    )
    anywhere = models.OrganizationPolicyRequest(allowed_cidrs=[])
    replaced = call(
        generated,
        "tokens.put_organization_policy",
        200,
        "OrganizationPolicy",
        client=acme,
        organization_id="contract",
        body=anywhere,
        if_match=policy.headers["ETag"],
    ).parsed
    assert replaced.version == policy.parsed.version + 1
    call(
        generated,
        "tokens.put_organization_policy",
        412,
        "Problem",
        client=acme,
        organization_id="contract",
        body=anywhere,
        if_match=policy.headers["ETag"],
    )
    admin_patch = models.AdminUpdateTokenRequest(owner="ops@contract.example")
    call(generated, "admin.admin_update_token", 200, "Token", client=admin, token_id=token_id, body=admin_patch)
    revoke = models.RevokeTokenRequest(reason="contract test")
    call(generated, "tokens.revoke_token", 200, "Token", client=acme, token_id=token_id, body=revoke)
    events = call(generated, "tokens.list_token_events", 200, "TokenEventPage", client=acme, token_id=token_id)
    assert events.parsed.items[0].type_ == "token.revoked" and events.parsed.items[0].occurred_at.tzinfo
    call(generated, "tokens.delete_token", 204, None, client=acme, token_id=token_id)
    leaked = models.RevokeLeakedRequest(tokens=["tks_not_a_real_secret"])
    public = generated.client.Client(running.base_url, raise_on_unexpected_status=True)
    call(generated, "tokens.revoke_leaked", 202, "RevokeLeakedResult", client=public, body=leaked)

    # a console session: the cookie and `Authorization: Session <csrf>` are the document's sessionCookie and
    # sessionAuth
    signed_in = call(
        generated,
        "sessions.create_session",
        201,
        "Session",
        client=public,
        body=models.CreateSessionRequest(token=created.secret),
    )
    cookie = signed_in.headers["Set-Cookie"].split(";")[0]
    session = Client(
        running.base_url,
        token=signed_in.parsed.csrf_token,
        prefix="Session",
        headers={"Cookie": cookie},
        raise_on_unexpected_status=True,
    )
    call(generated, "sessions.get_session", 200, "Session", client=session)
    call(generated, "sessions.delete_session", 204, None, client=session)

    # webhook endpoints (the local run accepts loopback receivers; nothing is delivered: no event sources)
    hook = models.CreateWebhookRequest(url="http://127.0.0.1:9/contract")
    webhook = call(generated, "webhooks.create_webhook", 201, "WebhookWithSecret", client=acme, body=hook).parsed
    webhook_id = str(webhook.webhook.id)
    fetched = call(generated, "webhooks.get_webhook", 200, "Webhook", client=acme, webhook_id=webhook_id)
    call(generated, "webhooks.list_webhooks", 200, "WebhookPage", client=acme)
    disable = models.UpdateWebhookRequest(enabled=False)
    call(
        generated,
        "webhooks.update_webhook",
        200,
        "Webhook",
        client=acme,
        webhook_id=webhook_id,
        body=disable,
        if_match=fetched.headers["ETag"],
    )
    call(
        generated,
        "webhooks.rotate_webhook_secret",
        200,
        "WebhookWithSecret",
        client=acme,
        webhook_id=webhook_id,
        body=models.RotateWebhookSecretRequest(grace_period_seconds=0),
    )
    call(generated, "webhooks.list_webhook_deliveries", 200, "WebhookDeliveryPage", client=acme, webhook_id=webhook_id)
    call(generated, "webhooks.delete_webhook", 204, None, client=acme, webhook_id=webhook_id)


def test_each_kind_of_refusal_parses_into_its_declared_model(server, generated):
    running, admin_secret = server
    models, Client = generated.models, generated.client.AuthenticatedClient
    admin = Client(running.base_url, token=admin_secret, raise_on_unexpected_status=True)
    body = models.CreateTokenRequest(name="refusals reader", organization_id="refusals", scopes=["tokens:read"])
    reader_secret = call(
        generated, "tokens.create_token", 201, "TokenWithSecret", client=admin, body=body
    ).parsed.secret
    reader = Client(running.base_url, token=reader_secret, raise_on_unexpected_status=True)
    stranger = Client(running.base_url, token="tks_" + "x" * 40, raise_on_unexpected_status=True)

    # 403 from API Gateway (the authorizer refused): {"message": "Forbidden"}
    refused = call(generated, "tokens.get_self", 403, "GatewayError", client=stranger)
    assert refused.parsed.message == "Forbidden"
    # 403 from the function (a scope missing): a problem
    missing_scope = models.CreateTokenRequest(name="nope", scopes=["tokens:read"])
    assert (
        call(generated, "tokens.create_token", 403, "Problem", client=reader, body=missing_scope).parsed.status == 403
    )
    # 401 (a sign-in with a secret that opens no session): a problem
    public = generated.client.Client(running.base_url, raise_on_unexpected_status=True)
    # 401 from API Gateway (no Authorization header at all): {"message": "Unauthorized"}
    assert call(generated, "tokens.get_self", 401, "GatewayError", client=public).parsed.message == "Unauthorized"
    sign_in = models.CreateSessionRequest(token=reader_secret)
    call(generated, "sessions.create_session", 401, "Problem", client=public, body=sign_in)
    # 404: another organization's token, or none
    call(generated, "tokens.get_token", 404, "Problem", client=reader, token_id=str(uuid.uuid4()))
    # 409: a name that a live token of the same organization and owner holds
    taken = models.CreateTokenRequest(name="refusals reader", organization_id="refusals", scopes=["tokens:read"])
    call(generated, "tokens.create_token", 409, "Problem", client=admin, body=taken)
    # 422: an unknown scope, named in the field errors
    unknown = models.CreateTokenRequest(name="unknown scope", scopes=["no:such-scope"])
    problem = call(generated, "tokens.create_token", 422, "Problem", client=admin, body=unknown).parsed
    assert [error.field for error in problem.errors] == ["scopes"]
    # 429 from the function (the calling token is out of credits): a problem
    metered = models.CreateTokenRequest(
        name="refusals metered",
        organization_id="refusals",
        scopes=["tokens:read"],
        credits_=models.Credits(remaining=1),
    )
    metered_secret = call(
        generated, "tokens.create_token", 201, "TokenWithSecret", client=admin, body=metered
    ).parsed.secret
    spender = Client(running.base_url, token=metered_secret, raise_on_unexpected_status=True)
    call(generated, "tokens.get_self", 200, "Token", client=spender)
    assert call(generated, "tokens.get_self", 429, "Problem", client=spender).parsed.status == 429
