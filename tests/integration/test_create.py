"""POST /v1/tokens: secret once, scopes, names, expiry, tenancy."""

from datetime import UTC, datetime, timedelta

from tests.integration.conftest import make_tenant


def test_create_returns_the_secret_once_with_etag_and_location(api, acme):
    # When a token is created
    created = api.post("/v1/tokens", secret=acme.secret, body={"name": "ci", "scopes": ["orders:read"]})

    # Then the answer has the token, its secret, an ETag and a Location
    assert created.status == 201
    token, secret = created.body["token"], created.body["secret"]
    assert secret.startswith("tks_") and token["start"] == secret[: len(token["start"])]
    assert created.headers["etag"] == '"1"'
    assert created.headers["location"] == f"/v1/tokens/{token['id']}"
    assert created.headers["cache-control"] == "no-store"
    assert token["organization_id"] == "acme" and token["status"] == "active" and token["active"] is True
    assert token["created_ip"] == "203.0.113.7" and token["user_agent"] == "pytest/1.0"
    assert token["audit"]["created"]["by"] == f"token:{acme.token_id}"
    # And no later read shows the secret or its digest
    fetched = api.get(f"/v1/tokens/{token['id']}", secret=acme.secret)
    assert secret not in fetched.raw and "digest" not in fetched.raw
    assert fetched.body == token


def test_the_new_secret_authenticates(api, acme):
    created = api.post("/v1/tokens", secret=acme.secret, body={"name": "reader", "scopes": ["tokens:read"]})

    me = api.get("/v1/tokens/self", secret=created.body["secret"])

    assert me.status == 200 and me.body["id"] == created.body["token"]["id"]


def test_a_token_cannot_grant_scopes_it_does_not_hold(api, acme):
    escalation = api.post("/v1/tokens", secret=acme.secret, body={"name": "x", "scopes": ["orders:write", "admin"]})

    assert escalation.status == 422
    assert escalation.headers["content-type"] == "application/problem+json"
    assert {e["field"] for e in escalation.body["errors"]} == {"scopes"}
    assert "admin" in escalation.body["detail"] and "orders:write" in escalation.body["detail"]


def test_unknown_scopes_are_named(api, admin):
    response = api.post("/v1/tokens", secret=admin.secret, body={"name": "x", "scopes": ["tokens:read", "bogus:scope"]})

    assert response.status == 422
    assert "bogus:scope" in response.body["detail"]


def test_a_duplicate_name_for_the_same_owner_conflicts(api, acme):
    body = {"name": "Deploy Key", "owner": "alice@example.com"}
    assert api.post("/v1/tokens", secret=acme.secret, body=body).status == 201

    same = api.post("/v1/tokens", secret=acme.secret, body={**body, "name": "deploy key"})
    other_owner = api.post("/v1/tokens", secret=acme.secret, body={**body, "owner": "bob@example.com"})

    assert same.status == 409 and same.body["errors"][0]["field"] == "name"
    assert other_owner.status == 201


def test_the_same_name_in_another_organization_is_fine(api, acme, globex):
    assert api.post("/v1/tokens", secret=acme.secret, body={"name": "shared"}).status == 201
    assert api.post("/v1/tokens", secret=globex.secret, body={"name": "shared"}).status == 201


def test_revoked_true_at_create_makes_a_disabled_token(api, acme):
    created = api.post("/v1/tokens", secret=acme.secret, body={"name": "later", "revoked": True})

    assert created.status == 201 and created.body["token"]["status"] == "disabled"
    assert api.get("/v1/tokens/self", secret=created.body["secret"]).status == 403


def test_expiry_defaults_to_the_maximum_and_respects_the_ceiling(api, acme):
    default = api.post("/v1/tokens", secret=acme.secret, body={"name": "default"})
    expires = datetime.fromisoformat(default.body["token"]["expires_at"].replace("Z", "+00:00"))
    assert abs(expires - (datetime.now(UTC) + timedelta(days=365))) < timedelta(minutes=1)

    too_far = (datetime.now(UTC) + timedelta(days=366)).isoformat()
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    naive = (datetime.now() + timedelta(days=1)).replace(tzinfo=None).isoformat()
    for value in (too_far, past, naive):
        response = api.post("/v1/tokens", secret=acme.secret, body={"name": "x", "expires_at": value})
        assert response.status == 422, value
        assert response.body["errors"][0]["field"] == "expires_at"


def test_only_an_admin_creates_in_another_organization(api, admin, acme):
    foreign = api.post("/v1/tokens", secret=acme.secret, body={"name": "x", "organization_id": "globex"})
    own = api.post("/v1/tokens", secret=acme.secret, body={"name": "x", "organization_id": "acme"})
    by_admin = api.post("/v1/tokens", secret=admin.secret, body={"name": "x", "organization_id": "initech"})

    assert foreign.status == 403
    assert own.status == 201
    assert by_admin.status == 201 and by_admin.body["token"]["organization_id"] == "initech"


def test_comment_is_an_alias_of_description(api, acme):
    created = api.post("/v1/tokens", secret=acme.secret, body={"name": "x", "comment": "for CI"})

    assert created.body["token"]["description"] == "for CI"


def test_read_only_and_unknown_fields_are_rejected(api, acme):
    read_only = api.post("/v1/tokens", secret=acme.secret, body={"name": "x", "status": "active", "id": "y"})
    unknown = api.post("/v1/tokens", secret=acme.secret, body={"name": "x", "colour": "red"})

    assert read_only.status == 422 and {e["field"] for e in read_only.body["errors"]} == {"id", "status"}
    assert unknown.status == 422 and unknown.body["errors"] == [{"field": "colour", "message": "unknown field"}]


def test_a_token_without_write_scope_cannot_create(api, admin):
    reader = make_tenant(api, admin, "acme", scopes=["tokens:read"])

    response = api.post("/v1/tokens", secret=reader.secret, body={"name": "x"})

    assert response.status == 403 and "tokens:write" in response.body["detail"]


def test_a_failed_create_leaves_nothing_behind(api, acme, table):
    before = table.scan(TableName="tokensmith-test")["Count"]
    assert api.post("/v1/tokens", secret=acme.secret, body={"name": "acme-manager"}).status == 409

    assert table.scan(TableName="tokensmith-test")["Count"] == before


def test_a_create_whose_write_landed_before_a_retry_failed_still_succeeds(api, acme, monkeypatch):
    # Given a store where the first attempt lands but the answer is lost and the retry finds the item
    from tokensmith.aws.dynamodb import VersionConflict
    from tokensmith.tokens.repository import TokenRepository

    real = TokenRepository.create_token

    def lands_then_conflicts(self, item, event, claim, *policy):
        real(self, item, event, claim, *policy)
        raise VersionConflict()

    monkeypatch.setattr(TokenRepository, "create_token", lands_then_conflicts)

    created = api.post("/v1/tokens", secret=acme.secret, body={"name": "retried"})

    assert created.status == 201
    assert api.get("/v1/tokens/self", secret=created.body["secret"]).status == 200
    assert api.get(f"/v1/tokens/{created.body['token']['id']}", secret=acme.secret).status == 200
