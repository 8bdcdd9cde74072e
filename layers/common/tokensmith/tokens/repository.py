"""Every DynamoDB call of tokens and their audit events: keys from ``table``, every index and
condition expression here (the rules are the service's).

Token items carry ``org_sk`` and one partition attribute per list index (``org_pk``, ``owner_pk``,
``status_pk``, ``owner_status_pk``: ``table``) and, while live with an expiry, ``expiry_pk``, which the
change machinery keeps right (``list_keys.list_attributes``; the lists are ``listing.py``'s), and
``wake_pk``/``wake_at`` (the sparse ``due`` index of the expiry sweep).

This module imports botocore lazily and nothing of pydantic: it is on the authorizer's hot path.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from tokensmith import table
from tokensmith.aws.dynamodb import (
    ExtraUpdate,
    GuardReleaseFailed,
    VersionConflict,
    decode_cursor,
    encode_cursor,
    from_item,
    to_attribute,
    to_item,
)
from tokensmith.tokens.counters import CreditsGrant, CreditsLifetime, credits_counter_actions
from tokensmith.tokens.listing import TokenListing


def token_item(item: dict[str, Any]) -> dict[str, Any]:
    """A token as the table stores it: its attributes (index keys included) and its table key. The one
    shape of a token write: ``create_token`` and the benchmark's bulk writes both use it."""
    return {**item, **table.token_key(item["id"])}


def token_put_request(item: dict[str, Any]) -> dict[str, Any]:
    """The ``BatchWriteItem`` request of a token: the list benchmark's bulk load, item for item what
    ``create_token`` puts."""
    return {"PutRequest": {"Item": to_item(token_item(item))}}


@lru_cache(maxsize=1)
def default_repository() -> TokenRepository:
    """The process-wide repository over the configured table (tests clear this cache)."""
    from tokensmith.settings import get_settings

    settings = get_settings()
    return TokenRepository(settings.table_name, endpoint_url=settings.dynamodb_endpoint_url)


@dataclass(frozen=True, slots=True)
class NameClaim:
    """Take the name guard for ``token_id``: succeeds when the guard is free, already ours, or held
    by a token whose life ended (``live_until`` in the past)."""

    pk: str
    token_id: str
    live_until: int | None  # epoch seconds; None = the token never expires
    now: int  # epoch seconds: a guard whose live_until is before this is free


@dataclass(frozen=True, slots=True)
class TokenChange:
    """A conditional update of one token, written together with its audit event.

    The condition is ``version = expected_version`` (API changes, which read the token first) or,
    for the sweep, which works from the ``due`` index, equality with the attributes it saw
    (``expect``) plus ``expires_epoch <= due_by`` when given."""

    token_id: str
    expected_version: int | None
    set_values: dict[str, Any]
    remove: tuple[str, ...] = ()
    claim_name: NameClaim | None = None
    release_name: str | None = None  # guard pk to delete if it is still ours
    expect: dict[str, Any] = field(default_factory=dict)
    due_by: int | None = None
    increment_version: bool = False
    grant_credits: CreditsGrant | None = None  # the credits counter, set in the same transaction
    credits_lifetime: CreditsLifetime | None = None  # else: the counter deleted, or its purge_at moved
    policy_check: PolicyCheck | None = None  # the organization's policy an expiry was checked against
    extra: ExtraUpdate | None = None  # more of the same update (tokens.networks: a new network)


@dataclass(frozen=True, slots=True)
class PolicyCheck:
    """A new token copied its organization's policy at ``version`` (None: there was none): the
    creation holds only while that is still so (a concurrent PUT makes it read the policy again)."""

    organization_id: str
    version: int | None


class TokenRepository(TokenListing):
    """Every DynamoDB call of tokens and their audit events; ``list_tokens`` is ``TokenListing``'s."""

    def __init__(self, table_name: str, client: Any = None, endpoint_url: str | None = None) -> None:
        super().__init__(table_name, client, endpoint_url)
        self.consumed_read_units = 0.0  # by the sweep's index queries (for metrics and the benchmark)

    # --- reads ---------------------------------------------------------------------------------------

    def get_token(self, token_id: str) -> dict[str, Any] | None:
        """One strongly consistent ``GetItem`` (a token disabled a moment ago must not verify)."""
        return self._get(table.token_key(token_id))

    def get_tokens(self, token_ids: list[str]) -> list[dict[str, Any]]:
        """Many tokens by id, strongly consistent, 100 per ``BatchGetItem``; missing ids are skipped."""
        unique = list(dict.fromkeys(token_ids))
        found: list[dict[str, Any]] = []
        for start in range(0, len(unique), 100):
            found.extend(self._batch_get([table.token_key(i) for i in unique[start : start + 100]], 5, 0.05))
        return found

    def list_events(
        self, token_id: str, limit: int, cursor: str | None = None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """A page of the token's audit events, newest first: one ``Query`` on its partition."""
        partition = table.token_partition(token_id)
        query: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :events)",
            "ExpressionAttributeValues": {":pk": {"S": partition}, ":events": {"S": table.EVENT_PREFIX}},
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if cursor:
            query["ExclusiveStartKey"] = decode_cursor(cursor, {"pk": partition}, ("pk", "sk"))
        response = self.client.query(**query)
        last = response.get("LastEvaluatedKey")
        items = [from_item(i) for i in response.get("Items", [])]
        if last and len(items) == limit:
            # Peek so that the last page says next_cursor = null instead of leading to an empty page.
            peek = dict(query, ExclusiveStartKey=last, Limit=1)
            if not self.client.query(**peek).get("Items"):
                last = None
        return items, (encode_cursor(last) if last else None)

    def due_tokens(
        self, shard: int, now_epoch: int, start: dict[str, Any] | None = None, page_size: int = 100
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        """A page of the tokens of one shard of the sparse ``due`` index whose wake-up time has come.
        Only due items are read: the cost follows the number of due tokens, not the table size."""
        query: dict[str, Any] = {
            "TableName": self.table_name,
            "IndexName": table.DUE_INDEX,
            "KeyConditionExpression": "wake_pk = :shard AND wake_at <= :now",
            "ExpressionAttributeValues": {
                ":shard": {"S": table.wake_partition(shard)},
                ":now": {"N": str(now_epoch)},
            },
            "Limit": page_size,
            "ReturnConsumedCapacity": "TOTAL",
        }
        if start:
            query["ExclusiveStartKey"] = start
        response = self.client.query(**query)
        self.consumed_read_units += response.get("ConsumedCapacity", {}).get("CapacityUnits", 0)
        return [from_item(i) for i in response.get("Items", [])], response.get("LastEvaluatedKey")

    # --- writes --------------------------------------------------------------------------------------

    def create_token(
        self,
        item: dict[str, Any],
        event: dict[str, Any],
        claim_name: NameClaim | None,
        grant_credits: CreditsGrant | None = None,
        policy_check: PolicyCheck | None = None,
    ) -> None:
        """The token (its table key made here, its index keys by the change machinery), its first audit
        event and its name guard, its credits counter, and the check that its organization's policy is
        the one it copied: all or nothing."""
        actions = [self._put_action(token_item(item), "attribute_not_exists(pk)"), self._put_action(event)]
        if claim_name:
            actions.append(self._claim_action(claim_name))
        actions.extend(self._policy_actions(item["id"], grant_credits, policy_check))
        self._transact(actions, name_claim_index=2 if claim_name else None)

    def update_token(self, change: TokenChange, event: dict[str, Any] | None) -> None:
        """Apply ``change`` if the token still has ``expected_version``, with its audit event (None: a
        change that is no event, the sweep moving a wake-up); take and release name guards in the same
        transaction. A release of a guard that another token has since taken over is dropped rather
        than failing the change."""
        actions = [self._update_action(change), *([self._put_action(event)] if event is not None else [])]
        claim_index = release_index = None
        if change.claim_name:
            claim_index = len(actions)
            actions.append(self._claim_action(change.claim_name))
        if change.release_name:
            release_index = len(actions)
            actions.append(
                {
                    "Delete": {
                        "TableName": self.table_name,
                        "Key": to_item(table.name_guard_key(change.release_name)),
                        "ConditionExpression": "attribute_not_exists(pk) OR token_id = :me",
                        "ExpressionAttributeValues": {":me": {"S": change.token_id}},
                    }
                }
            )
        actions.extend(
            self._policy_actions(change.token_id, change.grant_credits, change.policy_check, change.credits_lifetime)
        )
        try:
            self._transact(actions, name_claim_index=claim_index, release_index=release_index)
        except GuardReleaseFailed:
            del actions[release_index]  # type: ignore[arg-type]
            self._transact(actions, name_claim_index=claim_index)

    def record_last_use(
        self,
        token_id: str,
        at: str,
        stale_before: str,
        ip: str | None,
        user_agent: str | None,
        wake: dict[str, Any] | None = None,
        extra: ExtraUpdate | None = None,
    ) -> bool:
        """Stamp ``last_used_*`` unless another call did within the interval. Not an audit event and
        no ``version`` bump (that would break every client's ``If-Match``). ``wake``: the inactivity
        wake-up this use moves (``expiry.schedule.wake_after_use``; None values removed), on the same
        write. ``extra`` rides on it too (``tokens.networks``: the client network's ``last_seen_at``, or
        the token's first network). True when written."""
        values: dict[str, Any] = {":at": {"S": at}, ":stale": {"S": stale_before}}
        assignments = ["last_used_at = :at"]
        removals = []
        for attribute, value in (("last_used_ip", ip), ("last_used_user_agent", user_agent)):
            if value:
                assignments.append(f"{attribute} = :{attribute}")
                values[f":{attribute}"] = {"S": value[:512]}
            else:
                removals.append(attribute)
        # --- inactivity: the wake-up moved by this use (empty for a token without inactivity_days) ---
        for attribute, value in (wake or {}).items():
            if value is None:
                removals.append(attribute)
            else:
                assignments.append(f"{attribute} = :{attribute}")
                values[f":{attribute}"] = to_attribute(value)
        # --- end inactivity ---
        conditions = ["attribute_exists(pk)", "(attribute_not_exists(last_used_at) OR last_used_at < :stale)"]
        names: dict[str, str] = {}
        # --- networks seen: the client network's last_seen_at, or the token's first network ---
        if extra is not None:
            extra.add_to(assignments, removals, conditions, names, values)
        expression = "SET " + ", ".join(assignments) + (" REMOVE " + ", ".join(removals) if removals else "")
        return self._conditional(
            "update_item",
            Key=to_item(table.token_key(token_id)),
            UpdateExpression=expression,
            ConditionExpression=" AND ".join(conditions),
            ExpressionAttributeValues=values,
            **({"ExpressionAttributeNames": names} if names else {}),
        )

    def move_credits_purge(self, token_id: str, purge_at: int) -> bool:
        """Give the token's credits counter, if it has one, the token's new ``purge_at``: for a writer
        that ended the token's life without knowing whether it has credits (the expiry sweep reads the
        ``due`` index, which does not project them). Conditional, so no counter is made; True when moved."""
        return self._conditional(
            "update_item",
            Key=to_item(table.credits_key(token_id)),
            UpdateExpression="SET purge_at = :purge",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeValues={":purge": {"N": str(purge_at)}},
        )

    def record_network(self, change: TokenChange, event: dict[str, Any] | None) -> bool:
        """``tokens.networks``' write of a network the token was not known to be used from: the
        conditional update ``change`` (its ``extra``), with its audit event when there is one, in one
        transaction. False when a condition failed (another verification recorded it first, or the
        token changed): the caller reads the token again."""
        update = self._update_action(change)["Update"]
        if event is None:
            return self._conditional("update_item", **{k: v for k, v in update.items() if k != "TableName"})
        try:
            self._transact([{"Update": update}, self._put_action(event)])
        except VersionConflict:
            return False
        return True

    # --- internals -----------------------------------------------------------------------------------

    def _policy_actions(
        self,
        token_id: str,
        grant: CreditsGrant | None,
        check: PolicyCheck | None,
        lifetime: CreditsLifetime | None = None,
    ) -> list[dict[str, Any]]:
        actions = credits_counter_actions(self.table_name, token_id, grant, lifetime)
        if check is not None:
            condition: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(pk)"}
            if check.version is not None:
                condition = {
                    "ConditionExpression": "version = :v",
                    "ExpressionAttributeValues": {":v": {"N": str(check.version)}},
                }
            key = to_item(table.org_policy_key(check.organization_id))
            actions.append({"ConditionCheck": {"TableName": self.table_name, "Key": key, **condition}})
        return actions

    def _update_action(self, change: TokenChange) -> dict[str, Any]:
        names: dict[str, str] = {}
        values: dict[str, Any] = {}

        def placeholder(path: str, prefix: str) -> str:
            parts = []
            for part in path.split("."):
                key = f"#{prefix}{len(names)}"
                names[key] = part
                parts.append(key)
            return ".".join(parts)

        assignments = []
        for index, (attribute, value) in enumerate(sorted(change.set_values.items())):
            values[f":s{index}"] = to_attribute(value)
            assignments.append(f"{placeholder(attribute, 's')} = :s{index}")
        if change.increment_version:
            values[":one"] = {"N": "1"}
            assignments.append(f"{placeholder('version', 'v')} = {placeholder('version', 'v')} + :one")
        removals = [placeholder(attribute, "r") for attribute in change.remove]
        conditions = ["attribute_exists(pk)"]
        if change.extra is not None:
            change.extra.add_to(assignments, removals, conditions, names, values)
        expression = "SET " + ", ".join(assignments)
        if removals:
            expression += " REMOVE " + ", ".join(removals)
        if change.expected_version is not None:
            values[":expected"] = {"N": str(change.expected_version)}
            conditions.append(f"{placeholder('version', 'c')} = :expected")
        for index, (attribute, value) in enumerate(sorted(change.expect.items())):
            if value is None:  # expected absent (a token without an owner)
                conditions.append(f"attribute_not_exists({placeholder(attribute, 'c')})")
                continue
            values[f":e{index}"] = to_attribute(value)
            conditions.append(f"{placeholder(attribute, 'c')} = :e{index}")
        if change.due_by is not None:
            values[":due_by"] = {"N": str(change.due_by)}
            conditions.append(f"{placeholder('expires_epoch', 'c')} <= :due_by")
        return {
            "Update": {
                "TableName": self.table_name,
                "Key": to_item(table.token_key(change.token_id)),
                "UpdateExpression": expression,
                "ConditionExpression": " AND ".join(conditions),
                **({"ExpressionAttributeNames": names} if names else {}),
                "ExpressionAttributeValues": values,
            }
        }

    def _claim_action(self, claim: NameClaim) -> dict[str, Any]:
        guard = {**table.name_guard_key(claim.pk), "token_id": claim.token_id, "live_until": claim.live_until}
        return {
            "Put": {
                "TableName": self.table_name,
                "Item": to_item(guard),
                "ConditionExpression": "attribute_not_exists(pk) OR token_id = :me OR live_until < :now",
                "ExpressionAttributeValues": {
                    ":me": {"S": claim.token_id},
                    ":now": {"N": str(claim.now)},
                },
            }
        }
