"""Networks seen: where each token was used from, and ``token.new_location`` when that changes.

A token item keeps ``networks``, a map of network (an IPv4 /24 or IPv6 /48 of the verifying client's
address) to ``{first_seen_at, last_seen_at, user_agent}``, at most :data:`MAX_NETWORKS` of them (the
least recently seen goes first). Callers see it as a list, most recently seen first
(:func:`networks_view`).

- A use from a network in the map costs nothing here: its ``last_seen_at`` rides on the last-use write
  (:func:`last_use_piece`, at most once per last-use interval per token;
  ``tokens.verification.record_use``), and so does a token's first network when that write happens.
- A use from a network not in the map is :func:`record_network`'s one conditional write: the network
  in the map, a ``token.new_location`` audit event (network, user agent, the previous networks) and,
  where the token carries ``org_on_new_location == "disable"``, the token disabled (a real change:
  status, ``version`` + 1, list keys; the event says ``disabled: true``), all in one transaction. Its
  conditions (the network still absent; room in the map, or when full the map as read; for a
  disable the ``version`` read) make it exactly once under concurrency: a verification that loses
  reads the token again and finds the network recorded (or tries again, three times in all).
- The first network a token is seen from (a new token's first use, or a token used before networks
  were recorded) is recorded silently: there is nothing to compare it with. ``last_used_ip`` is not
  taken for an earlier network: ``POST /v1/tokens/verify`` stamped it with the verifying service's
  address, not the client's, and an alert (or a disable) on that would be wrong.

Plain code, no pydantic, no boto3: the authorizer's hot path uses it; ``ipaddress`` is imported only
for an IPv6 address (an IPv4 /24 is string work).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from tokensmith import audit, clock
from tokensmith.auth import TOKENS_MANAGE
from tokensmith.aws.dynamodb import ExtraUpdate, to_attribute
from tokensmith.settings import Settings
from tokensmith.tokens.list_keys import list_attributes
from tokensmith.tokens.repository import TokenChange, TokenRepository
from tokensmith.tokens.rotation import GRACE_ATTRIBUTES

MAX_NETWORKS = 20
USER_AGENT_CHARS = 128  # twenty networks stay within a few KB of the token item
ATTEMPTS = 3
NEW_LOCATION = "token.new_location"
DISABLED_BY_POLICY = {"token_id": "system", "authority": TOKENS_MANAGE}  # re-enabled by an organization manager


@lru_cache(maxsize=1024)
def network_of(ip: str | None) -> str | None:
    """The network an address belongs to: ``a.b.c.0/24`` or the IPv6 /48 (an IPv4-mapped IPv6
    address is its IPv4 /24); None for no address or one that is not an address. Remembered per
    instance and address (each verification asks twice: the last-use write, then the networks)."""
    if not ip:
        return None
    parts = ip.split(".")
    if len(parts) == 4 and ":" not in ip:
        if all(part.isascii() and part.isdigit() and len(part) <= 3 and int(part) <= 255 for part in parts):
            return f"{int(parts[0])}.{int(parts[1])}.{int(parts[2])}.0/24"
        return None
    if ":" not in ip:
        return None
    import ipaddress  # only for IPv6: its import costs more than the rest of a verification

    try:
        address = ipaddress.IPv6Address(ip)
    except ValueError:
        return None
    if address.ipv4_mapped is not None:
        return network_of(str(address.ipv4_mapped))
    return str(ipaddress.IPv6Network((int(address), 48), strict=False))  # without a zone (%eth0)


def last_use_piece(item: dict[str, Any], ip: str | None, user_agent: str | None, now: datetime) -> ExtraUpdate | None:
    """What the last-use write (``tokens.verification.record_use``) adds for a use by a client at
    ``ip``: the network's ``last_seen_at`` if the token lists it (conditioned on the entry still being
    there: a concurrent eviction makes the stamp wait for the next use); the token's first network if
    it lists none (``if_not_exists``: a first network written meanwhile by another verification
    stays, and this one is new at its next use); else None (:func:`record_network` writes it)."""
    network = network_of(ip)
    if network is None:
        return None
    seen = item.get("networks") or {}
    if network in seen:
        return ExtraUpdate(
            assignments=("networks.#seen_network.last_seen_at = :seen_at",),
            conditions=("attribute_exists(networks.#seen_network)",),
            names={"#seen_network": network},
            values={":seen_at": {"S": clock.to_iso(now)}},
        )
    if seen:
        return None
    first = {network: first_entry(user_agent, clock.to_iso(now))}
    return ExtraUpdate(
        assignments=("networks = if_not_exists(networks, :first_networks)",),
        values={":first_networks": to_attribute(first)},
    )


def first_entry(user_agent: str | None, at: str) -> dict[str, Any]:
    """A network's entry when it is first seen."""
    entry = {"first_seen_at": at, "last_seen_at": at}
    if user_agent:
        entry["user_agent"] = user_agent[:USER_AGENT_CHARS]
    return entry


def record_network(
    repository: TokenRepository,
    settings: Settings,
    item: dict[str, Any],
    now: datetime,
    ip: str | None,
    user_agent: str | None,
    last_use_written: bool = False,
) -> bool:
    """Record a use of the token ``item`` (just verified) by a client at ``ip``; True when the token is now
    disabled (the policy disabled it for this use, or a concurrent verification did): the request is
    then refused as DISABLED. Nothing is written when the network is known, nor for the token's first
    network when this verification's last-use write (``last_use_written``) carried it. ``item`` learns
    what was written (the verification cache's copy of it included, so that copy does not write it
    again)."""
    network = network_of(ip)
    if network is None:
        return False
    if last_use_written and not item.get("networks"):  # last_use_piece wrote it
        item["networks"] = {network: first_entry(user_agent, clock.to_iso(now))}
        return False
    current = item
    for _ in range(ATTEMPTS):
        if network in (current.get("networks") or {}):
            break
        write = new_network_write(settings, current, network, ip, user_agent, now)
        if repository.record_network(write.change, write.event):
            item.update(write.change.set_values)
            for key in write.change.remove:
                item.pop(key, None)
            item["networks"] = write.networks
            return write.change.increment_version  # the disable
        reread = repository.get_token(item["id"])
        if reread is None:
            return False
        current = reread
    if current is not item:
        item["networks"] = current.get("networks")
        return current["status"] == "disabled"
    return False


@dataclass(frozen=True, slots=True)
class NetworkWrite:
    change: TokenChange  # the conditional update of the token
    event: dict[str, Any] | None  # token.new_location; None for the token's first network
    networks: dict[str, Any]  # the token's map once written


def new_network_write(
    settings: Settings, item: dict[str, Any], network: str, ip: str | None, user_agent: str | None, now: datetime
) -> NetworkWrite:
    """What adds ``network`` (of the client at ``ip``) to the token ``item`` as read."""
    at = clock.to_iso(now)
    entry = first_entry(user_agent, at)
    seen = item.get("networks") or {}
    if not seen:
        first = ExtraUpdate(
            assignments=("networks = :networks",),
            conditions=("attribute_not_exists(networks)",),
            values={":networks": to_attribute({network: entry})},
        )
        return NetworkWrite(TokenChange(item["id"], None, {}, extra=first), None, {network: entry})
    evicted = least_recently_seen(seen, len(seen) + 1 - MAX_NETWORKS)
    networks = {name: value for name, value in seen.items() if name not in evicted} | {network: entry}
    # Room left: concurrent new networks do not conflict. Full: the map must be as read, and the
    # evicted ones still in it, so that it never holds more than MAX_NETWORKS.
    size = ("size(networks) = :networks_read",) if evicted else ("size(networks) < :networks_max",)
    evictions = tuple(f"networks.#evicted{i}" for i in range(len(evicted)))
    added = ExtraUpdate(
        assignments=("networks.#new_network = :new_network",),
        removals=evictions,
        conditions=(
            "attribute_not_exists(networks.#new_network)",
            *size,
            *(f"attribute_exists({path})" for path in evictions),
        ),
        names={"#new_network": network, **{f"#evicted{i}": name for i, name in enumerate(evicted)}},
        values={
            ":new_network": to_attribute(entry),
            **({":networks_read": {"N": str(len(seen))}} if evicted else {":networks_max": {"N": str(MAX_NETWORKS)}}),
        },
    )
    disable = item.get("org_on_new_location") == "disable" and item["status"] == "active"
    set_values, remove = disable_values(item, at) if disable else ({}, ())
    change = TokenChange(
        item["id"],
        item["version"] if disable else None,
        set_values,
        remove,
        increment_version=disable,
        extra=added,
    )
    details = {
        "network": network,
        "user_agent": entry.get("user_agent"),
        "previous_networks": [seen_entry["network"] for seen_entry in networks_view(item)],
        "disabled": disable,
    }
    changes = {"status": {"from": "active", "to": "disabled"}} if disable else {}
    event = audit.audit_event(
        {**item, **set_values},
        NEW_LOCATION,
        now,
        {"system": "tokensmith"},
        audit.event_purge_at(settings, item, now),
        ip=ip,
        user_agent=entry.get("user_agent"),
        changes=changes,
        details=details,
    )
    return NetworkWrite(change, event, networks)


def disable_values(item: dict[str, Any], at: str) -> tuple[dict[str, Any], tuple[str, ...]]:
    """What disabling ``item`` sets and removes, as the change machinery's disable does
    (``tokens.changes.disable_plan``): status, the list keys that follow it, the stamps; a running
    rotation grace ends. A disabled token stays live: its expiry, name guard and purge do not move."""
    values: dict[str, Any] = {
        "status": "disabled",
        "disabled_at": at,
        "disabled_by": DISABLED_BY_POLICY,
        "modified_at": at,
        "audit": {**item.get("audit", {}), "updated": {"at": at, "by": "system"}},
    }
    keys = list_attributes({**item, "status": "disabled"})
    values.update({key: value for key, value in keys.items() if value is not None and item.get(key) != value})
    return values, tuple(attribute for attribute in GRACE_ATTRIBUTES if attribute in item)


def least_recently_seen(seen: dict[str, dict[str, Any]], count: int) -> list[str]:
    """The ``count`` networks seen least recently (none when ``count`` < 1)."""
    if count < 1:
        return []
    return sorted(seen, key=lambda name: (seen[name].get("last_seen_at") or "", name))[:count]


def networks_view(item: dict[str, Any]) -> list[dict[str, Any]]:
    """``networks`` as callers read it: a list, most recently seen first."""
    seen = item.get("networks") or {}
    ordered = sorted(seen.items(), key=lambda pair: (pair[1].get("last_seen_at") or "", pair[0]), reverse=True)
    return [
        {
            "network": name,
            "first_seen_at": entry.get("first_seen_at"),
            "last_seen_at": entry.get("last_seen_at"),
            "user_agent": entry.get("user_agent"),
        }
        for name, entry in ordered
    ]
