"""The token list of ``GET /v1/tokens``: one ``Query`` per page on the index of the filter combination.

Every filter combination has an index partition holding exactly its tokens (``table``:
``by-organization``, ``by-owner``, ``by-status``, ``by-owner-status``, all sorted by ``org_sk``, the
creation time to the nanosecond), so a page reads ``limit + 1`` items, all matching, whatever the
size of the organization: the extra item says whether a next page exists.

Status partitions hold the *stored* status, and time changes one status without a write: past
``expires_at`` a live token is ``expired`` to every reader at once, before the sweep stamps it (within
one ``SweepSchedule`` interval). Two rules keep the status lists exact anyway:

- ``active``/``disabled``: a filter expression drops the live tokens whose expiry has passed. It can
  only drop those not yet stamped; should that leave a page short, the next ``Query`` fills it.
- ``expired``: the stamped tokens come from their partition; the ones time has expired and the
  sweep has not stamped come from the sparse ``by-expiry`` index (``expires_epoch <= now`` reads only
  them: the stamp drops a token from it), merged in by ``org_sk``. Outside the minute after an
  expiry that second ``Query`` reads nothing (half a read unit).

Imports nothing heavy: the repository it belongs to is on the authorizer's hot path.
"""

from __future__ import annotations

from typing import Any

from tokensmith import table
from tokensmith.aws.dynamodb import TableRepository, decode_cursor, encode_cursor, from_item
from tokensmith.tokens.lifecycle import LIVE_STATUSES, effective_status

OWNERLESS = "#ownerless"  # list_tokens(owner=OWNERLESS): tokens without an owner ('#' is in no owner)


class TokenListing(TableRepository):
    """``list_tokens`` of the token repository, and what it read (for tests and the benchmark)."""

    last_list_queries = 0
    last_list_read_units = 0.0

    def list_tokens(
        self,
        organization_id: str,
        limit: int,
        cursor: str | None = None,
        status: str | None = None,
        owner: str | None = None,
        now_epoch: int = 0,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """A page of the organization's tokens, newest first, filtered by effective status and owner
        (``OWNERLESS``: the tokens without an owner), and the cursor of the next page or None."""
        owner_key = "" if owner == OWNERLESS else owner
        index, attribute, partition = table.token_list_index(organization_id, owner_key, status)
        keys = table.token_list_cursor_keys(attribute)
        start = decode_cursor(cursor, {attribute: partition}, keys) if cursor else None
        self.last_list_queries, self.last_list_read_units = 0, 0.0
        query: dict[str, Any] = {
            "TableName": self.table_name,
            "IndexName": index,
            "KeyConditionExpression": "#partition = :partition",
            "ExpressionAttributeNames": {"#partition": attribute},
            "ExpressionAttributeValues": {":partition": {"S": partition}},
            "ScanIndexForward": False,
        }
        if status in LIVE_STATUSES:
            query["FilterExpression"] = "attribute_not_exists(expires_epoch) OR expires_epoch > :now"
            query["ExpressionAttributeValues"][":now"] = {"N": str(now_epoch)}
        # The overdue tokens first: one the sweep stamps meanwhile is then read twice (kept once),
        # never missed by both reads.
        overdue = self._overdue(organization_id, owner_key, start, now_epoch) if status == "expired" else []
        found = [from_item(i) for i in self._read_matching(query, limit + 1, start)]
        if overdue:
            found = self._merge_overdue(found, overdue, limit + 1, now_epoch)
        if len(found) <= limit:
            return found, None
        last = found[limit - 1]
        position = {"pk": last["pk"], "sk": last["sk"], attribute: partition, table.TOKEN_LIST_SORT: last["org_sk"]}
        return found[:limit], encode_cursor({k: {"S": v} for k, v in position.items()})

    def _read_matching(self, query: dict[str, Any], wanted: int, start: dict[str, Any] | None) -> list[dict[str, Any]]:
        """``wanted`` matching items from ``start``: one ``Query``, again only when a filter dropped
        some and the partition goes on."""
        found: list[dict[str, Any]] = []
        while len(found) < wanted:
            query["Limit"] = wanted - len(found)
            if start:
                query["ExclusiveStartKey"] = start
            response = self._counted_query(query)
            found.extend(response.get("Items", []))
            start = response.get("LastEvaluatedKey")
            if not start:
                break
        return found

    def _overdue(
        self, organization_id: str, owner_key: str | None, start: dict[str, Any] | None, now_epoch: int
    ) -> list[dict[str, Any]]:
        """The tokens (keys, ``owner`` and ``org_sk``) that time has expired and the sweep has not
        stamped yet, of the owner when given, after ``start``: ``by-expiry`` holds only live tokens."""
        query: dict[str, Any] = {
            "TableName": self.table_name,
            "IndexName": table.EXPIRY_INDEX,
            "KeyConditionExpression": "#partition = :partition AND expires_epoch <= :now",
            "ExpressionAttributeNames": {"#partition": table.EXPIRY_PARTITION},
            "ExpressionAttributeValues": {
                ":partition": {"S": table.expiry_partition(organization_id)},
                ":now": {"N": str(now_epoch)},
            },
        }
        if owner_key == "":
            query["FilterExpression"] = "attribute_not_exists(#owner)"
            query["ExpressionAttributeNames"]["#owner"] = "owner"
        elif owner_key is not None:
            query["FilterExpression"] = "#owner = :owner"
            query["ExpressionAttributeNames"]["#owner"] = "owner"
            query["ExpressionAttributeValues"][":owner"] = {"S": owner_key}
        overdue = [from_item(i) for i in self._read_all(query)]
        if start:
            overdue = [i for i in overdue if i["org_sk"] < start[table.TOKEN_LIST_SORT]["S"]]
        return overdue

    def _merge_overdue(
        self, stamped: list[dict[str, Any]], overdue: list[dict[str, Any]], wanted: int, now_epoch: int
    ) -> list[dict[str, Any]]:
        """The first ``wanted`` of the stamped-expired page and the overdue tokens, newest first.
        ``stamped`` holds the first ``wanted`` of its partition after the cursor, so the merge's first
        ``wanted`` are the true ones. The overdue ones shown are read again, strongly, in one
        ``BatchGetItem``: a token extended or revoked since the index saw it is left out."""
        from_stamped = {i["pk"] for i in stamped}
        fresh = [i for i in overdue if i["pk"] not in from_stamped]
        merged = sorted([*stamped, *fresh], key=lambda i: i["org_sk"], reverse=True)[:wanted]
        keys = [{"pk": i["pk"], "sk": table.TOKEN_SK} for i in merged if i["pk"] not in from_stamped]
        if not keys:
            return merged
        fetched = {i["pk"]: i for i in self._batch_get(keys, 5, 0.05) if effective_status(i, now_epoch) == "expired"}
        return [fetched.get(i["pk"], i) for i in merged if i["pk"] in from_stamped or i["pk"] in fetched]

    def _read_all(self, query: dict[str, Any]) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        while True:
            response = self._counted_query(query)
            found.extend(response.get("Items", []))
            if not response.get("LastEvaluatedKey"):
                return found
            query["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def _counted_query(self, query: dict[str, Any]) -> dict[str, Any]:
        response: dict[str, Any] = self.client.query(**query, ReturnConsumedCapacity="TOTAL")
        self.last_list_queries += 1
        self.last_list_read_units += response.get("ConsumedCapacity", {}).get("CapacityUnits", 0)
        return response
