"""TokenService.update_token (PATCH) and replace_token (PUT): the change written, the audit diff, the
name guard and the wake-up time, If-Match, and changes that lose a race."""

from __future__ import annotations

import pytest

from tests.unit.conftest import ACME, DAY, META, epoch, in_days, iso
from tokensmith.auth import RequestMeta
from tokensmith.errors import Conflict, PreconditionFailed, ValidationFailed
from tokensmith.tokens.models import ReplaceTokenRequest, UpdateTokenRequest


def update(tokens, token_id, meta=META, **body):
    return tokens.update_token(ACME, token_id, UpdateTokenRequest.model_validate(body), meta)


def replace(tokens, token_id, **body):
    return tokens.replace_token(ACME, token_id, ReplaceTokenRequest.model_validate(body), META)


def if_match(*versions: int) -> RequestMeta:
    return RequestMeta(ip=META.ip, user_agent=META.user_agent, if_match=frozenset(versions))


# --- the change written ----------------------------------------------------------------------------


def test_an_update_writes_the_changed_field_at_the_next_version(tokens, repository, token, clock):
    # Given a minute has passed since the token (at version 1) was made
    clock.advance(60)

    # When acme changes its description
    updated = update(tokens, token.id, description="nightly")

    # Then one change is written, conditioned on version 1, setting the field, version 2 and the stamp
    change = repository.only_change().change
    assert change.expected_version == 1
    assert change.set_values["description"] == "nightly" and change.set_values["version"] == 2
    assert change.set_values["modified_at"] == iso(clock())
    assert change.set_values["audit"]["updated"] == {"at": iso(clock()), "by": "token:acme-caller"}
    assert updated["version"] == repository.tokens[token.id]["version"] == 2


def test_the_updated_event_holds_the_diff_and_who_made_it(tokens, repository, token):
    # When acme changes the description
    update(tokens, token.id, description="nightly")

    # Then the token.updated event holds exactly that change, by acme, from its address
    event = repository.only_change().event
    assert event["type"] == "token.updated"
    assert event["changes"] == {"description": {"from": "ci", "to": "nightly"}}
    assert event["actor"] == {"token_id": "acme-caller", "organization_id": "acme", "owner": None}
    assert (event["ip"], event["user_agent"]) == ("203.0.113.7", "pytest/1.0")


def test_an_empty_string_clears_a_text_field(tokens, repository, token):
    # When acme sends description ""
    updated = update(tokens, token.id, description="")

    # Then the attribute is removed, and the diff says it went to null
    changed = repository.only_change()
    assert "description" in changed.change.remove
    assert changed.event["changes"] == {"description": {"from": "ci", "to": None}}
    assert "description" not in updated


def test_omitted_and_null_fields_are_left_unchanged(tokens, repository, token):
    # When acme sends name null and only new scopes
    updated = update(tokens, token.id, name=None, scopes=["orders:read"])

    # Then only the scopes change
    assert repository.only_change().event["changes"] == {
        "scopes": {"from": ["orders:read", "tokens:read"], "to": ["orders:read"]}
    }
    assert (updated["name"], updated["description"]) == ("deploy", "ci")


def test_an_update_that_changes_nothing_writes_nothing(tokens, repository, token):
    # When acme sends the values the token already has
    answered = update(tokens, token.id, name="deploy", description="ci")

    # Then nothing is written, no event, and the version stays
    assert repository.writes == []
    assert answered["version"] == 1


def test_an_update_cannot_grant_scopes_the_caller_lacks(tokens, repository, token):
    # When acme asks for admin on its token
    with pytest.raises(ValidationFailed, match="admin"):
        update(tokens, token.id, scopes=["admin"])

    # Then nothing is written
    assert repository.writes == []


def test_a_replace_cannot_grant_scopes_the_caller_lacks(tokens, repository, token):
    # When acme puts orders:write on its token
    with pytest.raises(ValidationFailed, match="orders:write"):
        replace(tokens, token.id, name="deploy", scopes=["orders:write"])

    # Then nothing is written
    assert repository.writes == []


def test_a_replace_clears_omitted_text_fields_and_keeps_the_expiry(tokens, repository, token):
    # When acme puts only a name and no scopes
    before = repository.tokens[token.id]
    replaced = replace(tokens, token.id, name="renamed", scopes=[])

    # Then description and icon are gone, the scopes are empty, the expiry is as it was
    assert replaced["name"] == "renamed" and replaced["scopes"] == []
    assert "description" not in replaced and "icon" not in replaced
    assert replaced["expires_epoch"] == before["expires_epoch"]
    assert "expires_at" not in repository.only_change().event["changes"]


def test_an_expired_token_cannot_be_updated(tokens, repository, given_token, clock):
    # Given a token past its expiry
    short = given_token(expires_at=in_days(1))
    clock.advance(DAY)

    # When acme tries to move its expiry, Then the token is expired: a conflict, nothing written
    with pytest.raises(Conflict, match="expired"):
        update(tokens, short.id, expires_at=in_days(30))
    assert repository.writes == []


# --- names -----------------------------------------------------------------------------------------


def test_a_rename_claims_the_new_name_and_releases_the_old_one(tokens, repository, token):
    # When acme renames "deploy" to "release"
    update(tokens, token.id, name="release")

    # Then the change claims the new guard and releases the old one, in the same write
    change = repository.only_change().change
    assert change.claim_name.pk == "NAME#acme#-#release" and change.claim_name.token_id == token.id
    assert change.release_name == "NAME#acme#-#deploy"
    assert set(repository.guards) == {"NAME#acme#-#release"}


def test_a_case_only_rename_keeps_the_name_guard(tokens, repository, token):
    # When acme renames "deploy" to "Deploy"
    update(tokens, token.id, name="Deploy")

    # Then the guard is neither claimed again nor released
    change = repository.only_change().change
    assert change.claim_name is None and change.release_name is None
    assert repository.guards["NAME#acme#-#deploy"]["token_id"] == token.id


def test_renaming_onto_a_live_name_conflicts_and_changes_nothing(tokens, repository, given_token, token):
    # Given another live token "other"
    given_token(name="other")

    # When "deploy" is renamed "OTHER"
    with pytest.raises(Conflict) as refused:
        update(tokens, token.id, name="OTHER")

    # Then it conflicts on the name, and the token keeps its name and version
    assert refused.value.errors[0].field == "name"
    assert repository.tokens[token.id]["name"] == "deploy" and repository.tokens[token.id]["version"] == 1


# --- expiry ----------------------------------------------------------------------------------------


def test_a_new_expiry_moves_the_wake_up_the_purge_and_the_name_guards_life(tokens, repository, token):
    # When acme sets the expiry 30 days ahead
    update(tokens, token.id, expires_at=in_days(30))

    # Then the sweep wakes 7 days before it, the purge follows it, the guard lives until it
    change = repository.only_change().change
    assert change.set_values["expires_at"] == iso(in_days(30))
    assert change.set_values["wake_at"] == epoch(in_days(30)) - 7 * DAY
    assert change.set_values["purge_at"] == epoch(in_days(30)) + 90 * DAY
    assert change.claim_name.pk == "NAME#acme#-#deploy" and change.claim_name.live_until == epoch(in_days(30))
    assert change.release_name is None


def test_a_new_expiry_earns_its_notices_again(tokens, repository, token):
    # Given a token whose 7-day notice was sent
    repository.tokens[token.id]["notified_days"] = [7]

    # When its expiry moves
    update(tokens, token.id, expires_at=in_days(30))

    # Then the notices are forgotten and the sweep wakes for the first one again
    change = repository.only_change().change
    assert "notified_days" in change.remove
    assert change.set_values["wake_at"] == epoch(in_days(30)) - 7 * DAY


def test_an_update_that_keeps_the_expiry_keeps_the_notices_sent(tokens, repository, token):
    # Given a token whose 7-day notice was sent
    repository.tokens[token.id]["notified_days"] = [7]

    # When only its description changes
    update(tokens, token.id, description="x")

    # Then the notice stays sent
    assert repository.tokens[token.id]["notified_days"] == [7]


# --- If-Match --------------------------------------------------------------------------------------


def test_if_match_with_a_stale_version_is_a_412_with_the_current_etag(tokens, repository, token):
    # Given a token at version 2
    update(tokens, token.id, description="a")
    repository.forget_writes()

    # When acme changes it If-Match "1"
    with pytest.raises(PreconditionFailed) as refused:
        update(tokens, token.id, meta=if_match(1), description="b")

    # Then it is a 412 that tells the current version, and nothing is written
    assert refused.value.headers == {"ETag": '"2"'}
    assert repository.writes == []


def test_if_match_with_the_current_version_writes(tokens, repository, token):
    # When acme changes its token If-Match "1"
    update(tokens, token.id, meta=if_match(1), description="b")

    # Then the change is written
    assert repository.only_change().change.set_values["description"] == "b"


# --- lost races ------------------------------------------------------------------------------------


def test_a_change_that_lost_a_race_is_read_and_planned_again(tokens, repository, token):
    # Given another request changes the token while this one writes
    repository.changed_elsewhere(token.id, times=1)

    # When acme changes the description
    updated = update(tokens, token.id, description="nightly")

    # Then the second attempt re-read the token and wrote on top of the other change
    first, second = repository.changes()
    assert (first.change.expected_version, second.change.expected_version) == (1, 2)
    assert repository.reads.count(token.id) == 2
    assert updated["version"] == repository.tokens[token.id]["version"] == 3


def test_a_change_that_loses_three_races_is_a_409(tokens, repository, token):
    # Given another request changes the token before each of three writes
    repository.changed_elsewhere(token.id, times=3)

    # When acme changes the description
    with pytest.raises(Conflict, match="another request"):
        update(tokens, token.id, description="nightly")

    # Then it tried three times, and gave up: nothing of it is stored
    assert len(repository.changes()) == 3
    assert "nightly" not in repository.tokens[token.id].values()


def test_under_if_match_a_lost_race_is_a_412_at_once(tokens, repository, token):
    # Given another request changes the token while this one writes
    repository.changed_elsewhere(token.id, times=1)

    # When acme changes it If-Match "1"
    with pytest.raises(PreconditionFailed):
        update(tokens, token.id, meta=if_match(1), description="nightly")

    # Then it is not tried again
    assert len(repository.changes()) == 1
