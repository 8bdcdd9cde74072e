"""TokenService.create_token: what a new token writes, and the rules it must pass (scopes, expiry,
tenancy, names), against the recording repository."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.unit.conftest import ACME, DAY, GLOBEX, META, NOW, OPERATOR, caller, epoch, in_days, iso
from tests.unit.fakes import RecordingRepository, TokenCreated
from tokensmith import table
from tokensmith.aws.dynamodb import VersionConflict
from tokensmith.errors import Conflict, Forbidden, ValidationFailed
from tokensmith.settings import Settings
from tokensmith.tokens import format as token_format
from tokensmith.tokens.models import CreateTokenRequest
from tokensmith.tokens.service import TokenService


def create(tokens, principal=ACME, **body):
    return tokens.create_token(principal, CreateTokenRequest.model_validate({"name": "deploy", **body}), META)


def the_create(repository) -> TokenCreated:
    (created,) = repository.writes
    return created


# --- what is written -------------------------------------------------------------------------------


def test_a_new_token_is_written_at_version_1_with_the_digest_of_its_secret_only(tokens, repository):
    # When acme creates a token
    _, secret = create(tokens, description="ci")

    # Then the item written is at version 1, holds the digest and the start of the secret, never the secret
    item = the_create(repository).item
    assert item["version"] == 1
    assert item["secret_digest"] == token_format.digest(secret)
    assert item["start"] == token_format.start_of(secret) and secret.startswith(item["start"])
    assert secret not in repr(item)


def test_a_new_token_records_who_made_it_when_and_from_where(tokens, repository):
    # When acme creates a token
    create(tokens)

    # Then the item carries the creation stamp, the caller's address and user agent
    item = the_create(repository).item
    stamp = {"at": iso(NOW), "by": "token:acme-caller"}
    assert item["audit"] == {"created": stamp, "updated": stamp}
    assert item["created_at"] == item["modified_at"] == iso(NOW)
    assert (item["created_ip"], item["user_agent"]) == ("203.0.113.7", "pytest/1.0")


def test_a_new_token_claims_its_name_case_insensitively_until_it_expires(tokens, repository):
    # When acme creates "Deploy Key" for alice, expiring in 30 days
    item, _ = create(tokens, name="Deploy Key", owner="alice@example.com", expires_at=in_days(30))

    # Then the name guard of (acme, alice, "deploy key") is claimed for this token until its expiry
    claim = the_create(repository).claim
    assert claim.pk == "NAME#acme#alice@example.com#deploy key"
    assert (claim.token_id, claim.live_until, claim.now) == (item["id"], epoch(in_days(30)), epoch(NOW))
    assert repository.guards[claim.pk] == {"token_id": item["id"], "live_until": epoch(in_days(30))}


def test_the_created_event_lists_every_field_set_and_who_set_it(tokens, repository):
    # When acme creates a token
    item, secret = create(tokens, description="ci", scopes=["orders:read"])

    # Then one token.created event says what was set, by whom, from where, and nothing secret
    event = the_create(repository).event
    assert event["type"] == "token.created" and event["token_id"] == item["id"]
    assert event["actor"] == {"token_id": "acme-caller", "organization_id": "acme", "owner": None}
    assert (event["ip"], event["user_agent"]) == ("203.0.113.7", "pytest/1.0")
    assert event["changes"]["name"] == {"from": None, "to": "deploy"}
    assert event["changes"]["scopes"] == {"from": None, "to": ["orders:read"]}
    assert event["changes"]["status"] == {"from": None, "to": "active"}
    assert "icon" not in event["changes"]
    assert secret not in repr(event) and item["secret_digest"] not in repr(event)


def test_a_new_token_wakes_the_sweep_at_its_first_expiry_notice_and_is_purged_after_retention(tokens, repository):
    # When a token expiring in 30 days is created (notices 7 and 1 days ahead, 90 days' retention)
    item, _ = create(tokens, expires_at=in_days(30))

    # Then the sweep looks at it 7 days before its expiry, and DynamoDB purges it 90 days after
    written = the_create(repository).item
    assert written["wake_at"] == epoch(in_days(30)) - 7 * DAY
    assert written["wake_pk"].startswith("WAKE#")
    assert written["purge_at"] == epoch(in_days(30)) + 90 * DAY
    assert written["expires_at"] == iso(in_days(30))


def test_a_new_token_is_listed_in_its_organization(tokens, repository):
    # When acme creates a token
    item, _ = create(tokens)

    # Then it is stored with its place in acme's lists: by creation time to the nanosecond, then id
    stored = repository.tokens[item["id"]]
    assert stored["org_pk"] == "ORG#acme" and table.is_token_sort_key(stored["org_sk"])
    assert stored["org_sk"].startswith(f"{iso(NOW)[:-1]}.") and stored["org_sk"].endswith(f"Z#{item['id']}")
    assert stored["status_pk"] == "ORG#acme#STATUS#active"


def test_the_owner_defaults_to_the_callers_owner(tokens, repository):
    # When a caller with an owner creates a token without one
    item, _ = create(tokens, principal=caller("acme", *ACME.scopes, owner="bob@example.com"))

    # Then the token is the caller's owner's
    assert item["owner"] == "bob@example.com"


def test_an_empty_description_is_not_stored(tokens, repository):
    # When a token is created with an empty description
    item, _ = create(tokens, description="")

    # Then the item has none
    assert "description" not in repository.tokens[item["id"]]


def test_revoked_true_creates_a_disabled_token(tokens, repository):
    # When a token is created with revoked: true
    item, _ = create(tokens, revoked=True)

    # Then it is disabled (and can be enabled later), and still holds its name
    assert repository.tokens[item["id"]]["status"] == "disabled"
    assert the_create(repository).claim is not None


# --- expiry ----------------------------------------------------------------------------------------


def test_the_expiry_defaults_to_the_maximum_lifetime(tokens):
    # When a token is created without expires_at
    item, _ = create(tokens)

    # Then it expires MaxTokenLifetimeDays (365) from now
    assert item["expires_at"] == iso(in_days(365))


def test_an_expiry_exactly_at_the_maximum_lifetime_is_accepted(tokens):
    # When a token is created to expire at the ceiling
    item, _ = create(tokens, expires_at=in_days(365))

    # Then it is
    assert item["expires_epoch"] == epoch(in_days(365))


@pytest.mark.parametrize("when", [NOW, in_days(-1)], ids=["now", "yesterday"])
def test_an_expiry_that_is_not_in_the_future_is_refused(tokens, repository, when):
    # When a token is created to expire now or in the past
    with pytest.raises(ValidationFailed) as refused:
        create(tokens, expires_at=when)

    # Then it is refused naming expires_at, and nothing is written
    assert [e.field for e in refused.value.errors] == ["expires_at"]
    assert repository.writes == []


def test_an_expiry_beyond_the_maximum_lifetime_is_refused(tokens, repository):
    # When a token is created to expire a second after the ceiling
    with pytest.raises(ValidationFailed) as refused:
        create(tokens, expires_at=in_days(365) + timedelta(seconds=1))

    # Then it is refused naming the limit
    assert "365 days" in refused.value.detail and refused.value.errors[0].field == "expires_at"
    assert repository.writes == []


def test_without_a_maximum_lifetime_a_token_may_never_expire(repository, clock):
    # Given a deployment with MaxTokenLifetimeDays = 0
    tokens = TokenService(
        repository, Settings(table_name="unit", max_token_lifetime_days=0), now=clock, policies=repository
    )

    # When a token is created without expires_at
    item, _ = create(tokens)

    # Then it never expires: no wake-up, no purge, a name guard for ever
    written = the_create(repository)
    assert item["expires_at"] is None
    assert not {"expires_epoch", "wake_pk", "wake_at", "purge_at"} & set(repository.tokens[item["id"]])
    assert written.claim.live_until is None


# --- scopes ----------------------------------------------------------------------------------------


def test_unknown_scopes_are_refused_naming_each_of_them(tokens, repository):
    # When an admin creates a token with two scopes the catalog does not have
    with pytest.raises(ValidationFailed) as refused:
        create(tokens, principal=OPERATOR, scopes=["tokens:read", "bogus:scope", "other:thing"])

    # Then the answer names both, each as an error of "scopes", and nothing is written
    assert "bogus:scope" in refused.value.detail and "other:thing" in refused.value.detail
    assert [e.field for e in refused.value.errors] == ["scopes", "scopes"]
    assert repository.writes == []


def test_a_caller_cannot_grant_scopes_it_does_not_hold(tokens, repository):
    # When acme (without orders:write or admin) asks for them
    with pytest.raises(ValidationFailed) as refused:
        create(tokens, scopes=["orders:read", "orders:write", "admin"])

    # Then the answer names what it lacks, and nothing is written
    assert "admin" in refused.value.detail and "orders:write" in refused.value.detail
    assert "orders:read" not in refused.value.detail
    assert repository.writes == []


def test_a_caller_may_grant_a_subset_of_its_scopes_which_are_stored_sorted(tokens):
    # When acme grants two of its scopes
    item, _ = create(tokens, scopes=["tokens:read", "orders:read"])

    # Then the token holds them, sorted
    assert item["scopes"] == ["orders:read", "tokens:read"]


def test_an_admin_may_grant_any_scope_of_the_catalog(tokens):
    # When the operator grants a catalog scope it does not hold by name
    item, _ = create(tokens, principal=OPERATOR, scopes=["orders:write", "admin"])

    # Then the token holds it
    assert item["scopes"] == ["admin", "orders:write"]


# --- tenancy ---------------------------------------------------------------------------------------


def test_only_an_admin_creates_in_another_organization(tokens, repository):
    # When acme names globex
    with pytest.raises(Forbidden) as refused:
        create(tokens, organization_id="globex")

    # Then it is forbidden, naming the field, and nothing is written
    assert refused.value.errors[0].field == "organization_id"
    assert repository.writes == []


def test_naming_ones_own_organization_is_fine(tokens):
    # When acme names acme
    item, _ = create(tokens, organization_id="acme")

    # Then the token is acme's
    assert item["organization_id"] == "acme"


def test_an_admin_creates_in_any_organization(tokens, repository):
    # When the operator creates a token for initech
    item, _ = create(tokens, principal=OPERATOR, organization_id="initech")

    # Then it is initech's, listed and named there
    assert repository.tokens[item["id"]]["org_pk"] == "ORG#initech"
    assert the_create(repository).claim.pk.startswith("NAME#initech#")


# --- names -----------------------------------------------------------------------------------------


def test_a_live_name_in_use_conflicts_whatever_its_case(tokens, repository, given_token):
    # Given acme's live token "Deploy Key" of alice
    given_token(name="Deploy Key", owner="alice@example.com")

    # When another "deploy key" of alice is created
    with pytest.raises(Conflict) as refused:
        create(tokens, name="deploy key", owner="alice@example.com")

    # Then it conflicts on the name, and only the first token is stored
    assert [e.field for e in refused.value.errors] == ["name"]
    assert len(repository.tokens) == 1


def test_the_same_name_for_another_owner_or_organization_is_free(tokens, given_token):
    # Given acme's token "deploy" of alice
    given_token(owner="alice@example.com")

    # When bob, and globex's alice, take the same name
    for principal, owner in ((ACME, "bob@example.com"), (GLOBEX, "alice@example.com")):
        item, _ = create(tokens, principal=principal, owner=owner)

        # Then they may
        assert item["name"] == "deploy"


def test_the_name_of_a_token_past_its_expiry_is_free(tokens, repository, given_token, clock):
    # Given a token "deploy" that expired a second ago (not yet swept)
    first = given_token(expires_at=in_days(1))
    clock.advance(DAY + 1)

    # When a new "deploy" is created
    item, _ = create(tokens)

    # Then it takes the name over
    assert repository.guards["NAME#acme#-#deploy"]["token_id"] == item["id"] != first.id


# --- a create retried by the store -----------------------------------------------------------------


class LandsThenConflicts(RecordingRepository):
    """A store whose first attempt lands but whose answer is lost: the retry finds the item."""

    def create_token(self, item, event, claim_name, *policy):
        super().create_token(item, event, claim_name, *policy)
        raise VersionConflict()


class IdTaken(RecordingRepository):
    """A store where the new id is another token's already."""

    def create_token(self, item, event, claim_name, *policy):
        self.tokens[item["id"]] = {"id": item["id"], "secret_digest": "someone else's"}
        super().create_token(item, event, claim_name, *policy)


def test_a_create_whose_earlier_attempt_landed_answers_the_token(settings, clock):
    # Given a store that loses the answer of a write that landed
    tokens = TokenService(store := LandsThenConflicts(), settings, now=clock, counters=store, policies=store)

    # When a token is created
    item, secret = create(tokens)

    # Then the create succeeds with the token that landed
    assert tokens.repository.tokens[item["id"]]["secret_digest"] == token_format.digest(secret)


def test_a_create_that_finds_another_token_under_its_id_conflicts(settings, clock):
    # Given a store where the new id is taken
    tokens = TokenService(store := IdTaken(), settings, now=clock, counters=store, policies=store)

    # When a token is created, Then it is a conflict to retry
    with pytest.raises(Conflict, match="retry"):
        create(tokens)
