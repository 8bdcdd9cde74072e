"""Who may do what inside one organization (product.md, "Authorization inside an organization"):
owners act for themselves, ``tokens:manage`` for the whole organization, nobody touches a token
stronger than itself, no token extends its own life, and a disable is a security action. Each case
of issue 13's list has its test here, against the recording fake repository."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.unit.conftest import ACME, META, NOW, OPERATOR, caller, epoch, in_days
from tokensmith.auth import TOKENS_MANAGE, TOKENS_READ, TOKENS_WRITE, Principal, RequestMeta
from tokensmith.errors import Forbidden, NotFound
from tokensmith.sessions.check import TOKEN_UNUSABLE, check_session
from tokensmith.sessions.service import SessionService
from tokensmith.tokens.models import CreateTokenRequest, UpdateTokenRequest
from tokensmith.tokens.verification import secret_matches

ALICE_ID, BOB_ID = "alice@acme.test", "bob@acme.test"


def owner_caller(issued, owner: str | None, *scopes: str) -> Principal:
    """The token ``issued`` as the authorizer hands it to the functions."""
    return Principal(issued.id, "acme", owner, frozenset(scopes))


@pytest.fixture
def alice(given_token):
    issued = given_token(name="alice's", owner=ALICE_ID, scopes=[TOKENS_READ, TOKENS_WRITE])
    return owner_caller(issued, ALICE_ID, TOKENS_READ, TOKENS_WRITE)


@pytest.fixture
def bobs_token(given_token):
    return given_token(name="bob's", owner=BOB_ID, scopes=[TOKENS_READ, TOKENS_WRITE])


def create(tokens, principal, **body):
    return tokens.create_token(principal, CreateTokenRequest.model_validate({"name": "new", **body}), META)


# --- 1. impersonation --------------------------------------------------------------------------------


def test_an_owner_cannot_create_a_token_for_another_owner(tokens, repository, alice):
    # When alice names bob as the owner of a new token
    with pytest.raises(Forbidden, match=TOKENS_MANAGE) as refused:
        create(tokens, alice, owner=BOB_ID)

    # Then it is refused on the owner field, and nothing is written
    assert [e.field for e in refused.value.errors] == ["owner"]
    assert repository.writes == []


def test_an_owner_creates_for_itself_by_default(tokens, alice):
    # When alice creates a token without naming an owner, Then it is hers
    item, _ = create(tokens, alice)
    assert item["owner"] == ALICE_ID


def test_tokens_manage_creates_for_any_owner_of_its_organization(tokens):
    # When acme's manager creates a token for bob, Then it is bob's
    item, _ = create(tokens, ACME, owner=BOB_ID)
    assert item["owner"] == BOB_ID


def test_a_service_token_without_manage_creates_only_ownerless_tokens(tokens):
    # Given an owner-less token without tokens:manage
    service = caller("acme", TOKENS_READ, TOKENS_WRITE)

    # When it names an owner, Then it is refused; without one, the new token is owner-less too
    with pytest.raises(Forbidden):
        create(tokens, service, owner=ALICE_ID)
    assert create(tokens, service, name="ownerless")[0].get("owner") is None


# --- 2. takeover by rotation, and every other touch of another owner's token ---------------------------


@pytest.mark.parametrize(
    "touch",
    [
        lambda tokens, who, token_id: tokens.rotate_token(who, token_id, 604800, META),
        lambda tokens, who, token_id: tokens.get_token(who, token_id),
        lambda tokens, who, token_id: tokens.disable_token(who, token_id, META),
        lambda tokens, who, token_id: tokens.revoke_token(who, token_id, "mine now", META),
        lambda tokens, who, token_id: tokens.delete_token(who, token_id, META),
        lambda tokens, who, token_id: tokens.list_events(who, token_id),
    ],
    ids=["rotate", "get", "disable", "revoke", "delete", "events"],
)
def test_another_owners_token_is_not_found_to_an_owner(tokens, repository, alice, bobs_token, touch):
    # When alice touches bob's token, Then it does not exist for her, and nothing is written
    with pytest.raises(NotFound):
        touch(tokens, alice, bobs_token.id)
    assert repository.writes == []


def test_an_owners_list_shows_only_its_own_tokens(tokens, alice, bobs_token):
    # When alice lists acme's tokens, Then she sees hers only
    items, _ = tokens.list_tokens(alice)
    assert {item.get("owner") for item in items} == {ALICE_ID}


def test_an_owner_asking_for_another_owners_list_gets_an_empty_page(tokens, repository, alice, bobs_token):
    # When alice filters acme's list by bob, Then the page is empty, as a stranger's would be
    assert tokens.list_tokens(alice, owner=BOB_ID) == ([], None)


def test_an_ownerless_service_token_lists_only_ownerless_tokens(tokens, given_token, bobs_token):
    # Given an owner-less token of acme
    given_token(name="build")
    service = caller("acme", TOKENS_READ)

    # When it lists without tokens:manage, Then it sees only owner-less tokens
    items, _ = tokens.list_tokens(service)
    assert items and {item.get("owner") for item in items} == {None}


def test_tokens_manage_lists_every_owner(tokens, alice, bobs_token):
    # When acme's manager lists, Then every owner's tokens are there
    items, _ = tokens.list_tokens(ACME)
    assert {ALICE_ID, BOB_ID} <= {item.get("owner") for item in items}


# --- 3. nobody touches a stronger token -----------------------------------------------------------------


@pytest.fixture
def admin_in_acme(given_token):
    return given_token(principal=OPERATOR, organization_id="acme", name="platform admin", scopes=["admin"])


@pytest.mark.parametrize(
    "change",
    [
        lambda tokens, who, token_id: tokens.update_token(who, token_id, UpdateTokenRequest(scopes=[]), META),
        lambda tokens, who, token_id: tokens.disable_token(who, token_id, META),
        lambda tokens, who, token_id: tokens.revoke_token(who, token_id, "no", META),
        lambda tokens, who, token_id: tokens.rotate_token(who, token_id, 0, META),
        lambda tokens, who, token_id: tokens.delete_token(who, token_id, META),
    ],
    ids=["update", "disable", "revoke", "rotate", "delete"],
)
def test_a_manager_cannot_change_a_stronger_token(tokens, repository, admin_in_acme, change):
    # When acme's manager (no admin) changes the admin token that lives in acme
    with pytest.raises(Forbidden, match="admin"):
        change(tokens, ACME, admin_in_acme.id)

    # Then nothing is written
    assert repository.writes == []


def test_a_manager_still_reads_a_stronger_token(tokens, admin_in_acme):
    # When acme's manager reads the admin token, Then it may (reading is not limited by strength)
    assert tokens.get_token(ACME, admin_in_acme.id)["scopes"] == ["admin"]


def test_a_disable_by_a_manager_is_undone_only_by_a_manager(tokens, repository, alice):
    # Given acme's manager disabled alice's token
    tokens.disable_token(ACME, alice.token_id, META)
    assert repository.tokens[alice.token_id]["disabled_by"] == {"token_id": ACME.token_id, "authority": TOKENS_MANAGE}
    repository.forget_writes()

    # When alice's own write token enables it, Then it is refused, naming the scope it needs
    with pytest.raises(Forbidden, match=TOKENS_MANAGE):
        tokens.enable_token(alice, alice.token_id, META)
    assert repository.writes == []

    # And the manager may
    assert tokens.enable_token(ACME, alice.token_id, META)["status"] == "active"
    assert "disabled_by" not in repository.tokens[alice.token_id]


def test_an_owners_own_disable_is_undone_by_the_owner(tokens, alice):
    # Given alice disabled her own token with a second token of hers
    tokens.disable_token(alice, alice.token_id, META)

    # When she enables it, Then it is active again
    assert tokens.enable_token(alice, alice.token_id, META)["status"] == "active"


def test_a_stronger_disable_of_a_disabled_token_binds_it(tokens, repository, alice):
    # Given alice disabled her token, then acme's manager disables it too
    tokens.disable_token(alice, alice.token_id, META)
    tokens.disable_token(ACME, alice.token_id, META)

    # Then re-enabling needs tokens:manage
    assert repository.tokens[alice.token_id]["disabled_by"]["authority"] == TOKENS_MANAGE
    with pytest.raises(Forbidden):
        tokens.enable_token(alice, alice.token_id, META)


# --- 4. no self-extension --------------------------------------------------------------------------------


def test_a_token_cannot_push_its_own_expiry_later(tokens, repository, alice):
    # Given acme's manager set alice's token to expire in 30 days
    tokens.update_token(ACME, alice.token_id, UpdateTokenRequest(expires_at=in_days(30)), META)
    repository.forget_writes()

    # When the token moves its own expiry to 60 days
    with pytest.raises(Forbidden, match="its own life") as refused:
        tokens.update_token(alice, alice.token_id, UpdateTokenRequest(expires_at=in_days(60)), META)

    # Then it is refused on expires_at, and nothing is written
    assert [e.field for e in refused.value.errors] == ["expires_at"] and repository.writes == []


def test_a_token_may_shorten_its_own_life(tokens, alice):
    # When alice's token moves its own expiry earlier, Then it may
    updated = tokens.update_token(alice, alice.token_id, UpdateTokenRequest(expires_at=in_days(7)), META)
    assert updated["expires_epoch"] == epoch(in_days(7))


def test_another_token_that_may_manage_it_extends_it(tokens, alice):
    # Given alice's token was shortened to a week
    tokens.update_token(alice, alice.token_id, UpdateTokenRequest(expires_at=in_days(7)), META)

    # When acme's manager extends it, Then it may
    extended = tokens.update_token(ACME, alice.token_id, UpdateTokenRequest(expires_at=in_days(90)), META)
    assert extended["expires_epoch"] == epoch(in_days(90))


# --- 5. disable is a security action ---------------------------------------------------------------------


def test_disable_ends_a_running_rotation_grace_for_good(tokens, repository, token):
    # Given acme rotated its token with a week of grace: the old secret still works
    _, new_secret = tokens.rotate_token(ACME, token.id, 604800, META)
    assert secret_matches(repository.tokens[token.id], token.secret, epoch(NOW))

    # When it is disabled and enabled again
    tokens.disable_token(ACME, token.id, META)
    tokens.enable_token(ACME, token.id, META)

    # Then only the new secret works
    stored = repository.tokens[token.id]
    assert not secret_matches(stored, token.secret, epoch(NOW))
    assert secret_matches(stored, new_secret, epoch(NOW))


def test_a_console_session_opened_before_a_disable_stays_dead_after_the_enable(
    tokens, repository, settings, given_token, clock
):
    # Given a console token signed in
    console = given_token(principal=OPERATOR, organization_id="acme", name="console", scopes=["console"])
    signed_in = SessionService(repository, settings).sign_in(console.secret, None, None, now=NOW)

    # When the token is disabled and enabled again a minute later
    tokens.disable_token(OPERATOR, console.id, META)
    clock.advance(60)
    tokens.enable_token(OPERATOR, console.id, META)

    # Then the session is over; a new sign-in works
    check = check_session(repository, signed_in.cookie, epoch(NOW) + 61)
    assert check.code == TOKEN_UNUSABLE
    fresh = SessionService(repository, settings).sign_in(console.secret, None, None, now=NOW + timedelta(seconds=61))
    assert check_session(repository, fresh.cookie, epoch(NOW) + 62).valid


# --- upgrades: tokens made before these rules -------------------------------------------------------------


def test_a_token_disabled_before_these_rules_is_re_enabled_by_any_writer_who_sees_it(tokens, repository, alice):
    # Given alice's token was disabled before disabled_by existed
    stored = repository.tokens[alice.token_id]
    stored.update(status="disabled")
    stored.pop("disabled_by", None)

    # When alice enables it, Then she may (no authority was recorded)
    assert tokens.enable_token(alice, alice.token_id, RequestMeta())["status"] == "active"
