"""Tenancy (another organization's token is a 404) and cursor pagination of lists."""

import pytest

ROUTES_WITH_ID = [
    ("GET", "", None),
    ("PATCH", "", {"description": "x"}),
    ("PUT", "", {"name": "x", "scopes": []}),
    ("DELETE", "", None),
    ("POST", "/disable", None),
    ("POST", "/enable", None),
    ("POST", "/revoke", {"reason": "x"}),
    ("POST", "/rotate", None),
    ("GET", "/events", None),
]


@pytest.mark.parametrize("method, suffix, body", ROUTES_WITH_ID)
def test_another_organizations_token_is_not_found(api, acme, globex, method, suffix, body):
    theirs = api.post("/v1/tokens", secret=globex.secret, body={"name": "theirs"}).body["token"]

    response = api.request(method, f"/v1/tokens/{theirs['id']}{suffix}", secret=acme.secret, body=body)

    assert response.status == 404
    assert api.get(f"/v1/tokens/{theirs['id']}", secret=globex.secret).body["version"] == 1


def test_lists_show_only_the_callers_organization(api, acme, globex):
    api.post("/v1/tokens", secret=acme.secret, body={"name": "a1"})
    api.post("/v1/tokens", secret=globex.secret, body={"name": "g1"})

    names = {t["name"] for t in api.get("/v1/tokens", secret=acme.secret).body["items"]}

    assert names == {"acme-manager", "a1"}
    assert api.get("/v1/tokens", secret=acme.secret, query={"organization_id": "globex"}).status == 404


def test_an_admin_lists_any_organization(api, admin, acme, globex):
    response = api.get("/v1/tokens", secret=admin.secret, query={"organization_id": "globex"})

    assert [t["name"] for t in response.body["items"]] == ["globex-manager"]


def test_pages_are_newest_first_and_end_with_a_null_cursor(api, acme, clock):
    for n in range(5):
        clock.advance(1)
        api.post("/v1/tokens", secret=acme.secret, body={"name": f"t{n}"})

    seen, cursor, pages = [], None, 0
    while True:
        query = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        page = api.get("/v1/tokens", secret=acme.secret, query=query).body
        pages += 1
        seen += [t["name"] for t in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert seen == ["t4", "t3", "t2", "t1", "t0", "acme-manager"]
    assert pages == 3


def test_a_cursor_of_another_organization_is_refused(api, acme, globex):
    for n in range(3):
        api.post("/v1/tokens", secret=globex.secret, body={"name": f"g{n}"})
    cursor = api.get("/v1/tokens", secret=globex.secret, query={"limit": "1"}).body["next_cursor"]

    response = api.get("/v1/tokens", secret=acme.secret, query={"cursor": cursor})

    assert response.status == 422 and response.body["errors"][0]["field"] == "cursor"


def test_filters_by_status_and_owner_fill_whole_pages(api, acme):
    ids = {}
    for n in range(6):
        created = api.post(
            "/v1/tokens", secret=acme.secret, body={"name": f"t{n}", "owner": "alice" if n % 2 else "bob"}
        )
        ids[n] = created.body["token"]["id"]
    for n in (0, 1, 2):
        api.post(f"/v1/tokens/{ids[n]}/disable", secret=acme.secret)

    disabled = api.get("/v1/tokens", secret=acme.secret, query={"status": "disabled", "limit": "2"}).body
    rest = api.get(
        "/v1/tokens", secret=acme.secret, query={"status": "disabled", "cursor": disabled["next_cursor"]}
    ).body
    alice_active = api.get("/v1/tokens", secret=acme.secret, query={"status": "active", "owner": "alice"}).body

    assert len(disabled["items"]) == 2 and disabled["next_cursor"]
    assert {t["name"] for t in disabled["items"] + rest["items"]} == {"t0", "t1", "t2"} and rest["next_cursor"] is None
    assert {t["name"] for t in alice_active["items"]} == {"t3", "t5"}
