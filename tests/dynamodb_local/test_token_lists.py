"""Token lists on DynamoDB Local: every filter combination is one ``Query`` on its own index partition,
exact and newest first across pages; a status change moves a token between lists; cursors."""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from datetime import timedelta

import pytest

from tokensmith import clock
from tokensmith.auth import Principal, RequestMeta
from tokensmith.aws.dynamodb import InvalidCursor
from tokensmith.expiry.sweeper import ExpirySweeper
from tokensmith.settings import Settings
from tokensmith.tokens.listing import OWNERLESS
from tokensmith.tokens.models import CreateTokenRequest
from tokensmith.tokens.service import TokenService

pytestmark = pytest.mark.dynamodb_local

MANAGER = Principal("caller", "acme", None, frozenset({"tokens:read", "tokens:write", "tokens:manage"}))
ALICE = "alice@acme.test"
BOB = "bob@acme.test"


@pytest.fixture
def service(repository):
    settings = replace(Settings.from_environ(), table_name=repository.table_name)
    return TokenService(repository, settings)


def create(service, name: str, owner: str | None = None, disabled: bool = False, organization: str = "acme") -> str:
    request = CreateTokenRequest(name=name, owner=owner, revoked=disabled, organization_id=organization)
    admin = Principal("admin", "platform", None, frozenset({"admin"}))
    item, _ = service.create_token(admin, request, RequestMeta())
    return item["id"]


def every_page(repository, limit: int, **filters) -> tuple[list[str], list[int]]:
    """The names of every page in order, and how many Query calls each page took."""
    names, queries, cursor = [], [], None
    now = clock.epoch(clock.now())
    while True:
        items, cursor = repository.list_tokens("acme", limit, cursor, now_epoch=now, **filters)
        names.extend(i["name"] for i in items)
        queries.append(repository.last_list_queries)
        if cursor is None:
            return names, queries


@pytest.fixture
def acme(service):
    """Tokens of acme, created in this order (names say owner and status), and one of globex."""
    for name, owner, disabled in [
        ("a1", ALICE, False),
        ("b1", BOB, False),
        ("n1", None, False),
        ("a2-off", ALICE, True),
        ("n2-off", None, True),
        ("a3", ALICE, False),
        ("b2-off", BOB, True),
        ("a4", ALICE, False),
    ]:
        create(service, name, owner, disabled)
    create(service, "g1", ALICE, organization="globex")


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({}, ["a4", "b2-off", "a3", "n2-off", "a2-off", "n1", "b1", "a1"]),
        ({"owner": ALICE}, ["a4", "a3", "a2-off", "a1"]),
        ({"owner": OWNERLESS}, ["n2-off", "n1"]),
        ({"status": "active"}, ["a4", "a3", "n1", "b1", "a1"]),
        ({"status": "disabled"}, ["b2-off", "n2-off", "a2-off"]),
        ({"status": "revoked"}, []),
        ({"owner": ALICE, "status": "active"}, ["a4", "a3", "a1"]),
        ({"owner": BOB, "status": "disabled"}, ["b2-off"]),
        ({"owner": OWNERLESS, "status": "active"}, ["n1"]),
    ],
)
def test_each_filter_combination_lists_exactly_its_tokens_newest_first_one_query_a_page(
    acme, repository, filters, expected
):
    # When every page of two is read
    names, queries = every_page(repository, 2, **filters)

    # Then exactly the matching tokens come, newest first, each page from one Query
    assert names == expected
    assert set(queries) == {1}


def test_a_filtered_page_reads_only_matching_items(acme, repository):
    # When a page of one of alice's active tokens is read
    repository.list_tokens("acme", 1, owner=ALICE, status="active", now_epoch=clock.epoch(clock.now()))

    # Then the Query read two items (the page and the one telling a next page exists): half a unit
    assert repository.last_list_read_units == 0.5


def test_seven_tokens_created_in_order_list_seven_to_one(service, repository):
    # Given seven tokens created one after the other (within a second or two)
    for n in range(1, 8):
        create(service, f"t{n}")

    # Then they list 7..1
    names, _ = every_page(repository, 3)
    assert names == [f"t{n}" for n in range(7, 0, -1)]


def test_a_status_change_moves_the_token_between_status_lists(acme, service, repository):
    # Given alice's oldest active token
    (token_id,) = [i["id"] for i in repository.list_tokens("acme", 50, owner=ALICE)[0] if i["name"] == "a1"]

    # When it is disabled, then revoked
    service.disable_token(MANAGER, token_id, RequestMeta())
    disabled = every_page(repository, 2, owner=ALICE, status="disabled")[0]
    service.revoke_token(MANAGER, token_id, "done", RequestMeta())

    # Then it moved: active -> disabled -> revoked, in the owner's lists as in the organization's
    assert disabled == ["a2-off", "a1"]
    assert every_page(repository, 2, owner=ALICE, status="active")[0] == ["a4", "a3"]
    assert every_page(repository, 2, status="disabled")[0] == ["b2-off", "n2-off", "a2-off"]
    assert every_page(repository, 2, status="revoked")[0] == ["a1"]
    assert every_page(repository, 2, owner=ALICE, status="revoked")[0] == ["a1"]


def test_a_deleted_token_leaves_every_list(acme, service, repository):
    # Given alice's newest token, deleted
    (token_id,) = [i["id"] for i in repository.list_tokens("acme", 1)[0]]
    service.delete_token(MANAGER, token_id, RequestMeta())

    # Then no list has it
    for filters in ({}, {"owner": ALICE}, {"status": "active"}, {"owner": ALICE, "status": "active"}):
        assert "a4" not in every_page(repository, 50, **filters)[0]


def test_a_cursor_of_another_filter_is_refused(acme, repository):
    # Given a cursor of alice's list
    _, cursor = repository.list_tokens("acme", 1, owner=ALICE)

    # Then bob's list, the status list and the organization's refuse it
    for filters in ({"owner": BOB}, {"status": "active"}, {}):
        with pytest.raises(InvalidCursor):
            repository.list_tokens("acme", 1, cursor, **filters)


def test_a_cursor_of_the_format_before_nanoseconds_is_refused(acme, repository):
    # Given a cursor as the previous version wrote them: the bare key, no version
    _, cursor = repository.list_tokens("acme", 1)
    padded = cursor + "=" * (-len(cursor) % 4)
    key = json.loads(base64.urlsafe_b64decode(padded))["key"]
    old = base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")

    # Then it is refused, as is a tampered one
    with pytest.raises(InvalidCursor):
        repository.list_tokens("acme", 1, old)
    with pytest.raises(InvalidCursor):
        repository.list_tokens("acme", 1, cursor[:-2] + ("A" if cursor[-2] != "A" else "B") + cursor[-1])


def test_the_expired_list_merges_tokens_time_expired_before_the_sweep_stamped_them(service, repository):
    # Given alice's token stamped expired by the sweep, then alice's and bob's tokens expiring in two
    # hours, and a token that stays active
    now = clock.now()

    def create_expiring(name: str, owner: str, hours: float) -> None:
        expires_at = now + timedelta(hours=hours)
        request = CreateTokenRequest(name=name, owner=owner, organization_id="acme", expires_at=expires_at)
        service.create_token(Principal("admin", "platform", None, frozenset({"admin"})), request, RequestMeta())

    create_expiring("stamped", ALICE, 1)
    ExpirySweeper(repository, service.settings, now=lambda: now + timedelta(hours=1.5)).sweep()
    create_expiring("a-due", ALICE, 2)
    create_expiring("b-due", BOB, 2)
    create_expiring("a-live", ALICE, 24)

    # When the lists are read three hours on, before any further sweep, a page of one at a time
    later = clock.epoch(now + timedelta(hours=3))

    def pages(**filters) -> list[str]:
        names, cursor = [], None
        while True:
            items, cursor = repository.list_tokens("acme", 1, cursor, now_epoch=later, **filters)
            names.extend(i["name"] for i in items)
            if cursor is None:
                return names

    # Then the expired lists hold the stamped token and the two time expired, newest first, and the
    # active lists only the live one
    assert pages(status="expired") == ["b-due", "a-due", "stamped"]
    assert pages(owner=ALICE, status="expired") == ["a-due", "stamped"]
    assert pages(owner=OWNERLESS, status="expired") == []
    assert pages(status="active") == ["a-live"]
    assert pages(owner=BOB, status="active") == []
