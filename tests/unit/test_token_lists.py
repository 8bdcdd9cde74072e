"""Which index partition a token list reads, per filter combination, and how every write keeps a
token's list partitions right (the fake repository lists only by the attributes the change
machinery wrote, with the real repository's key choice)."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest

from tests.unit.conftest import ACME, META, NOW, OPERATOR, caller, epoch, in_days
from tokensmith import clock
from tokensmith.auth import TOKENS_READ, TOKENS_WRITE
from tokensmith.aws.dynamodb import InvalidCursor, decode_cursor, encode_cursor, to_item
from tokensmith.expiry.sweeper import ExpirySweeper, SweepReport
from tokensmith.tokens.list_keys import list_attributes
from tokensmith.tokens.listing import TokenListing
from tokensmith.tokens.models import AdminUpdateTokenRequest, CreateTokenRequest

ALICE = caller("acme", TOKENS_READ, TOKENS_WRITE, owner="alice@acme.test")


def create(tokens, clock, name: str, **body):
    """A token of acme, a millisecond after the previous one (all within one second)."""
    clock.advance(0.001)
    item, _ = tokens.create_token(ACME, CreateTokenRequest.model_validate({"name": name, **body}), META)
    return item["id"]


def names(tokens, repository, principal=ACME, **filters) -> list[str]:
    items, _ = tokens.list_tokens(principal, **filters)
    return [repository.tokens[i["id"]]["name"] for i in items]


@pytest.mark.parametrize(
    ("filters", "partition"),
    [
        ({}, "ORG#acme"),
        ({"owner": "alice@acme.test"}, "ORG#acme#OWNER#alice@acme.test"),
        ({"status": "revoked"}, "ORG#acme#STATUS#revoked"),
        ({"owner": "alice@acme.test", "status": "active"}, "ORG#acme#OWNER#alice@acme.test#STATUS#active"),
    ],
)
def test_each_filter_combination_reads_its_own_partition(tokens, repository, filters, partition):
    # When acme lists its tokens with these filters
    tokens.list_tokens(ACME, **filters)

    # Then one partition is read: the one holding exactly the matching tokens
    assert repository.list_partitions == [partition]


def test_a_caller_without_tokens_manage_reads_its_owners_partition(tokens, repository):
    # When alice (no tokens:manage) lists, with and without a status filter
    tokens.list_tokens(ALICE)
    tokens.list_tokens(ALICE, status="disabled")

    # Then the implicit owner filter picks the owner's partitions, never the organization's
    assert repository.list_partitions == [
        "ORG#acme#OWNER#alice@acme.test",
        "ORG#acme#OWNER#alice@acme.test#STATUS#disabled",
    ]


def test_a_caller_without_an_owner_or_tokens_manage_reads_the_ownerless_partition(tokens, repository):
    # When a caller of acme without owner and without tokens:manage lists
    tokens.list_tokens(caller("acme", TOKENS_READ))

    # Then it reads the partition of acme's tokens without an owner
    assert repository.list_partitions == ["ORG#acme#OWNER#"]


def test_seven_tokens_created_within_one_second_list_newest_first(tokens, repository, clock):
    # Given seven tokens created in order within one second
    for n in range(1, 8):
        create(tokens, clock, f"t{n}")

    # Then they list 7..1, and so do the filtered lists
    expected = [f"t{n}" for n in range(7, 0, -1)]
    assert names(tokens, repository) == expected
    assert names(tokens, repository, status="active") == expected


def test_each_filter_combination_lists_exactly_the_matching_tokens_newest_first(tokens, repository, clock):
    # Given tokens of two owners and none, some disabled
    create(tokens, clock, "a1", owner="alice@acme.test")
    create(tokens, clock, "b1", owner="bob@acme.test")
    create(tokens, clock, "n1")
    create(tokens, clock, "a2", owner="alice@acme.test", revoked=True)
    create(tokens, clock, "n2", revoked=True)
    create(tokens, clock, "a3", owner="alice@acme.test")

    # Then each combination lists exactly its tokens, newest first
    assert names(tokens, repository) == ["a3", "n2", "a2", "n1", "b1", "a1"]
    assert names(tokens, repository, owner="alice@acme.test") == ["a3", "a2", "a1"]
    assert names(tokens, repository, status="disabled") == ["n2", "a2"]
    assert names(tokens, repository, owner="alice@acme.test", status="active") == ["a3", "a1"]
    assert names(tokens, repository, principal=caller("acme", TOKENS_READ)) == ["n2", "n1"]


def test_a_status_change_moves_the_token_between_status_lists(tokens, repository, clock):
    # Given an active token of alice
    token_id = create(tokens, clock, "deploy", owner="alice@acme.test")

    # When it is disabled
    tokens.disable_token(ACME, token_id, META)

    # Then it left the active lists and joined the disabled ones
    assert names(tokens, repository, status="active") == []
    assert names(tokens, repository, status="disabled") == ["deploy"]
    assert names(tokens, repository, owner="alice@acme.test", status="disabled") == ["deploy"]


def test_an_owner_change_moves_the_token_between_owner_lists(tokens, admin_tokens, repository, clock):
    # Given a token of alice
    token_id = create(tokens, clock, "deploy", owner="alice@acme.test")

    # When an admin gives it to bob
    request = AdminUpdateTokenRequest.model_validate({"owner": "bob@acme.test"})
    admin_tokens.admin_update_token(OPERATOR, token_id, request, META)

    # Then it is in bob's lists only
    assert names(tokens, repository, owner="alice@acme.test") == []
    assert names(tokens, repository, owner="bob@acme.test", status="active") == ["deploy"]


def test_a_deleted_token_leaves_every_list(tokens, repository, clock):
    # Given a token of alice
    token_id = create(tokens, clock, "deploy", owner="alice@acme.test")

    # When it is deleted
    tokens.delete_token(ACME, token_id, META)

    # Then it carries no list key at all
    stored = repository.tokens[token_id]
    assert not {"org_pk", "owner_pk", "status_pk", "owner_status_pk", "org_sk"} & set(stored)


def test_a_token_past_its_expiry_is_in_the_expired_lists_before_the_sweep(tokens, repository, clock):
    # Given alice's token expiring in a day, an older already stamped one and a newer live one, and a
    # day and a second later, the first not yet stamped by the sweep
    create(tokens, clock, "stamped", owner="alice@acme.test", expires_at=in_days(0.5).isoformat())
    short = create(tokens, clock, "short", owner="alice@acme.test", expires_at=in_days(1).isoformat())
    create(tokens, clock, "live", owner="alice@acme.test")
    stamped = next(t for t in repository.tokens.values() if t["name"] == "stamped")
    stamped.update(status="expired", status_pk="ORG#acme#STATUS#expired")
    stamped.update(owner_status_pk="ORG#acme#OWNER#alice@acme.test#STATUS#expired")
    del stamped["expiry_pk"]
    clock.advance(86401)

    # Then it is expired in every list, whatever the stored status says
    assert repository.tokens[short]["status"] == "active"
    assert names(tokens, repository, status="active") == ["live"]
    assert names(tokens, repository, status="expired") == ["short", "stamped"]
    assert names(tokens, repository, owner="alice@acme.test", status="expired") == ["short", "stamped"]
    assert names(tokens, repository, owner="bob@acme.test", status="expired") == []


def test_the_sweeps_expired_stamp_moves_the_token_to_the_expired_lists(tokens, repository, settings, clock):
    # Given a token of alice past its expiry
    create(tokens, clock, "short", owner="alice@acme.test", expires_at=in_days(1).isoformat())
    clock.advance(86401)

    # When the sweep stamps it
    ExpirySweeper(repository, settings, now=clock).sweep()

    # Then it is in the expired lists, the organization's and the owner's
    assert names(tokens, repository, status="expired") == ["short"]
    assert names(tokens, repository, owner="alice@acme.test", status="expired") == ["short"]
    assert names(tokens, repository, owner="alice@acme.test", status="active") == []
    assert "expiry_pk" not in next(iter(repository.tokens.values()))


def test_the_sweep_does_not_stamp_a_token_whose_owner_changed_since_the_index_saw_it(tokens, repository, settings):
    # Given the due index's view of a token, and the token given to bob since
    token = {
        "id": "5e1c6b1e-8d4f-4a77-9a51-1b9d7b0f1a01",
        "organization_id": "acme",
        "owner": "bob@acme.test",
        "name": "deploy",
        "status": "active",
        "created_at": "2030-01-15T12:00:00Z",
        "expires_at": "2030-01-15T12:00:00Z",
        "expires_epoch": epoch(NOW),
        "wake_pk": "WAKE#0",
        "wake_at": epoch(NOW),
        "version": 2,
    }
    repository.tokens[token["id"]] = {**token, **list_attributes(token)}
    seen = {**token, "owner": "alice@acme.test"}

    # When the sweep works from the stale view
    report = SweepReport()
    ExpirySweeper(repository, settings, now=lambda: NOW)._handle(seen, NOW, report)

    # Then it skips it: stamping would file it under alice's expired list
    assert report.skipped == 1 and repository.tokens[token["id"]]["status"] == "active"


def test_an_item_written_before_nanoseconds_gets_the_current_sort_key_on_its_next_write():
    # Given a token item as written before sort keys had nanoseconds
    item = {"id": "t1", "organization_id": "acme", "status": "revoked", "created_at": "2026-01-02T03:04:05Z"}

    # Then its list attributes carry the current shape, at the start of its second
    assert list_attributes({**item, "org_sk": "2026-01-02T03:04:05Z#t1"}) == {
        "org_pk": "ORG#acme",
        "owner_pk": "ORG#acme#OWNER#",
        "status_pk": "ORG#acme#STATUS#revoked",
        "owner_status_pk": "ORG#acme#OWNER##STATUS#revoked",
        "org_sk": "2026-01-02T03:04:05.000000000Z#t1",
        "expiry_pk": None,  # only live tokens with an expiry are in by-expiry
    }


@pytest.mark.parametrize(
    ("present", "expected"),
    [
        (1_700_000_000_250_000_000, 250_000_000),  # within the moment's second: the present's nanoseconds
        (1_700_000_001_000_000_500, 999_999_999),  # just past it: the second's last nanosecond
    ],
)
def test_the_sub_second_order_never_contradicts_the_second_shown(monkeypatch, present, expected):
    # Given a moment read at the start of second 1,700,000,000 and the present at `present`
    monkeypatch.setattr(clock.time, "time_ns", lambda: present)

    # Then the nanoseconds that order what happened in that second are
    assert clock.nanos_within(datetime.fromtimestamp(1_700_000_000, UTC)) == expected


def test_a_token_written_before_the_list_indexes_gets_its_keys_on_its_next_write(tokens, repository, clock):
    # Given alice's token as the version before the list indexes stored it
    token_id = create(tokens, clock, "deploy", owner="alice@acme.test")
    stored = repository.tokens[token_id]
    for attribute in ("owner_pk", "status_pk", "owner_status_pk", "expiry_pk"):
        del stored[attribute]
    stored["org_sk"] = f"{stored['created_at']}#{token_id}"
    assert names(tokens, repository, owner="alice@acme.test") == []

    # When it is next changed
    tokens.disable_token(ACME, token_id, META)

    # Then it carries every list key, and the filtered lists find it
    assert names(tokens, repository, owner="alice@acme.test", status="disabled") == ["deploy"]
    assert repository.tokens[token_id]["org_sk"] == f"{stored['created_at'][:-1]}.000000000Z#{token_id}"


def test_a_cursor_without_the_current_version_is_refused():
    # Given a cursor as the version before wrote them: the bare key, no version
    key = {"pk": "TOKEN#1", "sk": "TOKEN", "org_pk": "ORG#acme", "org_sk": "2026-01-02T03:04:05Z#1"}
    old = base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")
    keys = ("pk", "sk", "org_pk", "org_sk")

    # Then it is refused, and one of this version is taken
    with pytest.raises(InvalidCursor):
        decode_cursor(old, {"org_pk": "ORG#acme"}, keys)
    current = encode_cursor({k: {"S": v} for k, v in key.items()})
    assert decode_cursor(current, {"org_pk": "ORG#acme"}, keys) == {k: {"S": v} for k, v in key.items()}


class StubClient:
    """DynamoDB answering the expired list's two reads: the overdue tokens of ``by-expiry`` and the
    stamped partition of ``by-status``, as given; ``batch_get_item`` answers the tokens by key."""

    def __init__(self, overdue: list[dict], stamped: list[dict], tokens: dict[str, dict]) -> None:
        self.answers = {"by-expiry": overdue, "by-status": stamped}
        self.tokens = tokens
        self.calls: list[str] = []

    def query(self, **request):
        self.calls.append(request["IndexName"])
        return {"Items": [to_item(i) for i in self.answers[request["IndexName"]]]}

    def batch_get_item(self, RequestItems):  # noqa: N803
        ((name, request),) = RequestItems.items()
        found = [to_item(self.tokens[key["pk"]["S"]]) for key in request["Keys"]]
        return {"Responses": {name: found}}


def test_a_token_stamped_between_the_expired_lists_two_reads_is_listed_once():
    # Given a token the overdue read saw live and the stamped read then saw stamped, and an older one
    def token(n: int, status: str) -> dict:
        return {"pk": f"TOKEN#{n}", "sk": "TOKEN", "org_sk": f"2030-01-15T12:00:0{n}.000000000Z#{n}", "status": status}

    stamped = [token(2, "expired"), token(1, "expired")]
    client = StubClient(overdue=[token(2, "active")], stamped=stamped, tokens={})

    # When the expired list is read
    items, _ = TokenListing("unit", client=client).list_tokens("acme", 10, status="expired", now_epoch=epoch(NOW))

    # Then the overdue index was read first, and the token comes once
    assert client.calls == ["by-expiry", "by-status"]
    assert [i["pk"] for i in items] == ["TOKEN#2", "TOKEN#1"]


def test_an_overdue_token_is_read_again_and_left_out_when_no_longer_expired():
    # Given two overdue tokens in the index, one of which has been extended since
    overdue = [
        {"pk": "TOKEN#2", "sk": "TOKEN", "org_sk": "2030-01-15T12:00:02.000000000Z#2"},
        {"pk": "TOKEN#1", "sk": "TOKEN", "org_sk": "2030-01-15T12:00:01.000000000Z#1"},
    ]
    tokens = {
        "TOKEN#2": {**overdue[0], "status": "active", "expires_epoch": epoch(NOW) + 3600},
        "TOKEN#1": {**overdue[1], "status": "active", "expires_epoch": epoch(NOW) - 1},
    }
    client = StubClient(overdue=overdue, stamped=[], tokens=tokens)

    # When the expired list is read
    items, _ = TokenListing("unit", client=client).list_tokens("acme", 10, status="expired", now_epoch=epoch(NOW))

    # Then only the one still past its expiry is listed, as read again
    assert items == [tokens["TOKEN#1"]]
