"""Networks seen (``tokens/networks.py``): what a verification from a known, a new and the first
network writes, the disable an organization's policy asks for, the cap of 20, and the races."""

from __future__ import annotations

import copy

import pytest

from tests.unit.conftest import ACME, META, iso
from tests.unit.fakes import LastUseRecorded, NetworkRecorded
from tokensmith.tokens import networks
from tokensmith.tokens.models import Token
from tokensmith.tokens.views import token_view


def verify_from(tokens, secret: str, ip: str | None):
    return tokens.verify(ACME, secret, [], META, ip)


def new_locations(repository) -> list[dict]:
    return [event for event in repository.events if event["type"] == "token.new_location"]


@pytest.mark.parametrize(
    ("ip", "network"),
    [
        ("203.0.113.77", "203.0.113.0/24"),
        ("10.0.0.1", "10.0.0.0/24"),
        ("2001:db8:abcd:12::1", "2001:db8:abcd::/48"),
        ("::ffff:198.51.100.9", "198.51.100.0/24"),
        ("fe80::1%eth0", "fe80::/48"),
        (None, None),
        ("", None),
        ("not-an-address", None),
        ("300.1.2.3", None),
        ("1.2.3.²", None),
        ("1.2.3.４", None),
        ("1.2.3", None),
        ("gggg::1", None),
    ],
)
def test_the_network_of_an_address_is_its_ipv4_24_or_ipv6_48(ip, network):
    assert networks.network_of(ip) == network


def test_the_first_network_is_recorded_silently(tokens, repository, token, clock):
    # When acme's new token is first verified for a client at 203.0.113.7
    result = verify_from(tokens, token.secret, "203.0.113.7")

    # Then it is valid, the network is recorded with its times by the last-use write, and there is no event
    assert result.code == "VALID"
    assert [type(write) for write in repository.writes] == [LastUseRecorded]
    assert repository.tokens[token.id]["networks"] == {
        "203.0.113.0/24": {"first_seen_at": iso(clock()), "last_seen_at": iso(clock())}
    }
    assert new_locations(repository) == []


def test_a_token_with_a_last_used_ip_but_no_networks_also_starts_silently(tokens, repository, token):
    # Given a token used before networks were recorded (POST /v1/tokens/verify stamped the caller's address)
    repository.tokens[token.id].update(last_used_ip="192.0.2.1", last_used_at="2030-01-01T00:00:00Z")

    # When it is verified for a client elsewhere
    verify_from(tokens, token.secret, "203.0.113.7")

    # Then that network is its first: no event
    assert list(repository.tokens[token.id]["networks"]) == ["203.0.113.0/24"]
    assert new_locations(repository) == []


def test_a_known_network_costs_no_write_beyond_the_last_use_which_refreshes_it(tokens, repository, token, clock):
    # Given a token first used from 203.0.113.0/24 an hour ago
    verify_from(tokens, token.secret, "203.0.113.7")
    clock.advance(3600)
    repository.forget_writes()

    # When it is verified twice from the same network, a second apart
    verify_from(tokens, token.secret, "203.0.113.200")
    refreshed_at = iso(clock())
    clock.advance(1)
    verify_from(tokens, token.secret, "203.0.113.9")

    # Then the only write is one last-use stamp, which refreshed the network's last_seen_at
    assert [type(write) for write in repository.writes] == [LastUseRecorded]
    seen = repository.tokens[token.id]["networks"]["203.0.113.0/24"]
    assert seen["last_seen_at"] == refreshed_at != seen["first_seen_at"]


def test_a_new_network_is_a_new_location_event_and_the_token_stays_valid(tokens, repository, token, clock):
    # Given a token used from 203.0.113.0/24
    verify_from(tokens, token.secret, "203.0.113.7")
    clock.advance(60)

    # When it is verified for a client at 198.51.100.4
    result = verify_from(tokens, token.secret, "198.51.100.4")

    # Then it is valid; one token.new_location says where from and where before, and nothing was disabled
    assert result.code == "VALID"
    (event,) = new_locations(repository)
    assert event["details"] == {
        "network": "198.51.100.0/24",
        "user_agent": None,
        "previous_networks": ["203.0.113.0/24"],
        "disabled": False,
    }
    assert event["actor"] == {"system": "tokensmith"} and event["changes"] == {}
    assert event["ip"] == "198.51.100.4"
    stored = repository.tokens[token.id]
    assert set(stored["networks"]) == {"203.0.113.0/24", "198.51.100.0/24"}
    assert (stored["status"], stored["version"]) == ("active", 1)


def test_verify_keeps_the_user_agent_the_caller_gives_for_its_client(tokens, repository, token):
    # Given a token used from 203.0.113.0/24
    tokens.verify(ACME, token.secret, [], META, "203.0.113.7", user_agent="first/1.0")

    # When a service verifies it for a client elsewhere, with that client's user agent
    tokens.verify(ACME, token.secret, [], META, "198.51.100.4", user_agent="curl/8.5.0 " + "x" * 200)

    # Then the network and its event keep the client's user agent (cut at 128), not the service's
    (event,) = new_locations(repository)
    assert event["details"]["user_agent"] == event["user_agent"] == ("curl/8.5.0 " + "x" * 200)[:128]
    seen = repository.tokens[token.id]["networks"]
    assert seen["203.0.113.0/24"]["user_agent"] == "first/1.0"
    assert seen["198.51.100.0/24"]["user_agent"] == event["user_agent"]


def test_with_on_new_location_disable_the_new_network_disables_the_token_and_is_refused(tokens, repository, token):
    # Given a token used from 203.0.113.0/24 whose organization disables on a new location
    verify_from(tokens, token.secret, "203.0.113.7")
    repository.tokens[token.id]["org_on_new_location"] = "disable"

    # When it is verified for a client at 198.51.100.4
    result = verify_from(tokens, token.secret, "198.51.100.4")

    # Then the answer is DISABLED, and one write disabled it (a real change) with its event
    assert result.code == "DISABLED" and not result.valid
    (write,) = [w for w in repository.writes if isinstance(w, NetworkRecorded) and w.event]
    assert write.change.expected_version == 1 and write.change.increment_version
    stored = repository.tokens[token.id]
    assert (stored["status"], stored["version"]) == ("disabled", 2)
    assert stored["disabled_by"] == {"token_id": "system", "authority": "tokens:manage"}
    assert stored["status_pk"].endswith("disabled")
    (event,) = new_locations(repository)
    assert event["details"]["disabled"] is True
    assert event["changes"] == {"status": {"from": "active", "to": "disabled"}}

    # And it stays refused from anywhere, its known network included, until a manager enables it again
    assert verify_from(tokens, token.secret, "203.0.113.7").code == "DISABLED"
    tokens.enable_token(ACME, token.id, META)
    assert verify_from(tokens, token.secret, "198.51.100.4").code == "VALID"


def test_with_on_new_location_disable_the_first_network_does_not_disable(tokens, repository, token):
    repository.tokens[token.id]["org_on_new_location"] = "disable"

    assert verify_from(tokens, token.secret, "203.0.113.7").code == "VALID"
    assert repository.tokens[token.id]["status"] == "active"


def test_the_list_keeps_the_20_most_recently_seen(tokens, repository, token, clock):
    # Given a token used from 20 networks, 10.0.0.0/24 the longest ago
    for number in range(20):
        verify_from(tokens, token.secret, f"10.0.{number}.1")
        clock.advance(61)

    # When it is used from a 21st
    verify_from(tokens, token.secret, "10.1.0.1")

    # Then the least recently seen is gone, and the new one is in
    seen = repository.tokens[token.id]["networks"]
    assert len(seen) == 20 and "10.0.0.0/24" not in seen and "10.1.0.0/24" in seen
    assert len(new_locations(repository)) == 20  # every network but the first


def test_no_ip_records_nothing(tokens, repository, token):
    assert verify_from(tokens, token.secret, None).code == "VALID"
    assert "networks" not in repository.tokens[token.id]
    assert not [w for w in repository.writes if isinstance(w, NetworkRecorded)]


def test_a_network_another_verification_recorded_first_makes_no_second_event(repository, settings, token, clock):
    # Given a token used from 203.0.113.0/24, read by two verifications at once
    networks.record_network(repository, settings, repository.tokens[token.id], clock(), "203.0.113.1", None)
    first, second = copy.deepcopy(repository.tokens[token.id]), copy.deepcopy(repository.tokens[token.id])

    # When both record 198.51.100.0/24
    assert networks.record_network(repository, settings, first, clock(), "198.51.100.1", "a") is False
    assert networks.record_network(repository, settings, second, clock(), "198.51.100.1", "b") is False

    # Then one event: the second's conditional write failed, and its read found the network there
    assert len(new_locations(repository)) == 1
    assert "198.51.100.0/24" in second["networks"]


def test_a_verification_that_loses_the_race_to_a_disable_is_refused_too(repository, settings, token, clock):
    # Given a token used from 203.0.113.0/24 whose organization disables on a new location, read twice
    stored = repository.tokens[token.id]
    networks.record_network(repository, settings, stored, clock(), "203.0.113.1", None)
    stored["org_on_new_location"] = "disable"
    first, second = copy.deepcopy(stored), copy.deepcopy(stored)

    # When both come from 198.51.100.0/24, Then both are refused, and it was disabled once
    assert networks.record_network(repository, settings, first, clock(), "198.51.100.1", None) is True
    assert networks.record_network(repository, settings, second, clock(), "198.51.100.1", None) is True
    assert len(new_locations(repository)) == 1 and repository.tokens[token.id]["version"] == 2


def test_a_failing_network_write_never_changes_a_valid_answer(tokens, repository, token, monkeypatch):
    # Given a token used from 203.0.113.0/24, and a table that now refuses writes
    repository.tokens[token.id]["org_on_new_location"] = "disable"
    verify_from(tokens, token.secret, "203.0.113.7")

    def throttled(*args, **kwargs):
        raise RuntimeError("throttled")

    monkeypatch.setattr(repository, "record_network", throttled)

    # When it is verified from a new network, Then it stays valid (nothing was disabled)
    assert verify_from(tokens, token.secret, "198.51.100.4").code == "VALID"


def test_callers_read_networks_as_a_list_most_recent_first(tokens, repository, token, clock):
    # Given a token used from two networks
    verify_from(tokens, token.secret, "203.0.113.7")
    clock.advance(60)
    verify_from(tokens, token.secret, "198.51.100.4")

    # When it is read, Then networks lists both, newest first, in the Token model's shape
    view = token_view(repository.tokens[token.id], 0)
    assert [n["network"] for n in view["networks"]] == ["198.51.100.0/24", "203.0.113.0/24"]
    assert view["networks"][0] == {
        "network": "198.51.100.0/24",
        "first_seen_at": iso(clock()),
        "last_seen_at": iso(clock()),
        "user_agent": None,
    }
    Token.model_validate(view)
    assert token_view({**repository.tokens[token.id], "networks": None}, 0)["networks"] == []
