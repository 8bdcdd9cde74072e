"""A token's keys in the list indexes (``by-owner``, ``by-status``, ``by-owner-status``, ``by-expiry``
and the ``org_sk`` they sort by): what every write that changes a filtered attribute sets, from the
token itself. Used by the change machinery (``tokens.changes``), the sweep's ``expired`` stamp and
``make backfill``; the keys themselves are built in ``table.py``."""

from __future__ import annotations

from typing import Any

from tokensmith import table
from tokensmith.tokens import lifecycle


def list_attributes(item: dict[str, Any]) -> dict[str, Any]:
    """The token's keys in the list indexes (``table.TOKEN_LIST_PARTITIONS``, ``org_sk`` and, while
    live with an expiry, ``expiry_pk``), from its organization, owner, stored status and expiry;
    ``None`` values mean "remove": a deleted token leaves every list. Every write that changes a
    filtered attribute goes through here (changes, the sweep's stamp, the backfill). An ``org_sk`` of
    the shape before nanoseconds is rewritten with ``.000000000``."""
    if item["status"] == "deleted":
        return dict.fromkeys((*table.TOKEN_LIST_PARTITIONS, table.TOKEN_LIST_SORT, table.EXPIRY_PARTITION))
    sort_key = item.get(table.TOKEN_LIST_SORT)
    if not table.is_token_sort_key(sort_key):
        sort_key = table.token_sort_key(item["created_at"], 0, item["id"])
    partitions = table.token_list_partitions(item["organization_id"], item.get("owner"), item["status"])
    expiring = item["status"] in lifecycle.LIVE_STATUSES and item.get("expires_epoch") is not None
    expiry = table.expiry_partition(item["organization_id"]) if expiring else None
    return {**partitions, table.TOKEN_LIST_SORT: sort_key, table.EXPIRY_PARTITION: expiry}


def stamp_keys(seen: dict[str, Any], status: str) -> tuple[dict[str, str], tuple[str, ...]]:
    """What a sweep stamp (``expired``, or ``revoked`` for inactivity) sets and removes of the list
    keys, from what the ``due`` index shows (organization and owner, not the sort key): the status
    partitions move to ``status`` and the token leaves ``by-expiry``."""
    partitions = table.token_list_partitions(seen["organization_id"], seen.get("owner"), status)
    moved = {"status_pk": partitions["status_pk"], "owner_status_pk": partitions["owner_status_pk"]}
    return moved, (table.EXPIRY_PARTITION,)
