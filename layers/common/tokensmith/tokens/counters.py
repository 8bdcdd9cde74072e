"""The usage counters of tokens: rate-limit windows and credits, each a small item of its own
(``table.rate_window_key``, ``table.credits_key``), counted by conditional ``UpdateItem`` only:
DynamoDB decides, never Python after a read, so counting is exact across Lambda instances.

- A window takes ``cost`` only while ``used + cost <= limit``; a new window is a new item.
- Credits are spent only while ``remaining >= cost`` (and, with a refill, while the item belongs
  to the current period); a refill happens once per period, conditional on the older period.

Plain code (botocore on first use): the authorizer's hot path uses it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from tokensmith import clock, table
from tokensmith.aws.dynamodb import TableRepository, from_item, is_conditional_check_failure, to_item
from tokensmith.tokens.usage import credits_period


@lru_cache(maxsize=1)
def default_counters() -> UsageCounters:
    """The process-wide counters over the configured table (tests clear this cache)."""
    from tokensmith.settings import get_settings

    settings = get_settings()
    return UsageCounters(settings.table_name, endpoint_url=settings.dynamodb_endpoint_url)


@dataclass(frozen=True, slots=True)
class Count:
    """What a conditional count answered: whether it was taken, and the counter's value after it
    (taken) or as it stood (refused; None when the item did not exist)."""

    taken: bool
    value: int | None
    item: dict[str, Any] | None = None  # the counter item as it stood, on a refusal


@dataclass(frozen=True, slots=True)
class CreditsGrant:
    """Set a token's credits counter to ``remaining`` in ``period``. With ``ceiling`` (an edit that
    is no grant), only while the counter of this period still holds at least ``remaining``: credits
    spent between the edit's read and its write are never given back (the change is then read and
    planned again, when it has become a grant). ``purge_at``: the token's (the counter goes with it)."""

    remaining: int
    period: int
    ceiling: bool = False
    purge_at: int | None = None


@dataclass(frozen=True, slots=True)
class CreditsLifetime:
    """What a token change that grants no credits does to its credits counter: ``delete`` it (the
    token has no credits any more), else give it the token's new ``purge_at`` (None: the token has no
    end in sight, and neither has its counter). So the counter never outlives its token."""

    purge_at: int | None = None
    delete: bool = False


def credits_counter_actions(
    table_name: str, token_id: str, grant: CreditsGrant | None, lifetime: CreditsLifetime | None
) -> list[dict[str, Any]]:
    """The actions on the token's credits counter in the transaction of its token's change."""
    key = table.credits_key(token_id)
    if grant is not None:
        counter = {**key, "remaining": grant.remaining, "period": grant.period}
        if grant.purge_at is not None:
            counter["purge_at"] = grant.purge_at
        put: dict[str, Any] = {"TableName": table_name, "Item": to_item(counter)}
        if grant.ceiling:
            put["ConditionExpression"] = "attribute_not_exists(pk) OR #p <> :p OR #r >= :r"
            put["ExpressionAttributeNames"] = {"#p": "period", "#r": "remaining"}
            put["ExpressionAttributeValues"] = {":p": {"N": str(grant.period)}, ":r": {"N": str(grant.remaining)}}
        return [{"Put": put}]
    if lifetime is None:
        return []
    if lifetime.delete:
        return [{"Delete": {"TableName": table_name, "Key": to_item(key)}}]
    # No condition: the token has credits, so it has its counter (made with them, never by a refill).
    # Were it missing, this would leave an item with no ``remaining``, which counts as none.
    update: dict[str, Any] = {"TableName": table_name, "Key": to_item(key), "UpdateExpression": "REMOVE purge_at"}
    if lifetime.purge_at is not None:
        update["UpdateExpression"] = "SET purge_at = :purge"
        update["ExpressionAttributeValues"] = {":purge": {"N": str(lifetime.purge_at)}}
    return [{"Update": update}]


def credits_grant(item: dict[str, Any], now: datetime, ceiling: bool = False) -> CreditsGrant | None:
    """The credits counter a token's ``credits`` setting starts: its ``remaining``, this period, purged
    with the token."""
    credits = item.get("credits")
    if not credits:
        return None
    period = credits_period(credits, clock.epoch(now))
    return CreditsGrant(int(credits["remaining"]), period, ceiling, item.get("purge_at"))


def credits_lifetime(before: dict[str, Any], after: dict[str, Any]) -> CreditsLifetime | None:
    """A change that grants no credits keeps the counter with its token: deleted with the token's
    credits (``credits: null``, a ``PUT`` without them), purged with the token (a revocation, a
    deletion, a new expiry move its ``purge_at``, the counter's with it); None: nothing to do."""
    if before.get("credits") and not after.get("credits"):
        return CreditsLifetime(delete=True)
    if after.get("credits") and before.get("purge_at") != after.get("purge_at"):
        return CreditsLifetime(after.get("purge_at"))
    return None


class UsageCounters(TableRepository):
    # --- rate-limit windows --------------------------------------------------------------------------

    def take_window(self, key: dict[str, str], limit: int, cost: int, purge_at: int) -> Count:
        """``used += cost`` if that keeps ``used <= limit``. ``value``: ``used`` after (taken) or before."""
        if cost > limit:
            current = self._get(key)
            return Count(False, int(current["used"]) if current else 0, current)
        return self._update(
            key,
            "ADD used :cost SET purge_at = :purge",
            "attribute_not_exists(used) OR used <= :most",
            {":cost": {"N": str(cost)}, ":most": {"N": str(limit - cost)}, ":purge": {"N": str(purge_at)}},
            "used",
        )

    def give_back_window(self, key: dict[str, str], cost: int) -> None:
        """Undo a take of a verification refused by a later counter (unconditional: it was taken)."""
        if cost:
            self.client.update_item(
                TableName=self.table_name,
                Key=to_item(key),
                UpdateExpression="ADD used :minus",
                ExpressionAttributeValues={":minus": {"N": str(-cost)}},
            )

    def mark_window_notified(self, key: dict[str, str], token_id: str) -> bool:
        """Record that ``token_id`` was told it is rate limited in this window: True only the first
        time (so ``token.rate_limited`` is at most one event per window and token)."""
        return self._conditional(
            "update_item",
            Key=to_item(key),
            UpdateExpression="ADD notified :me",
            ConditionExpression=(
                "attribute_exists(pk) AND (attribute_not_exists(notified) OR NOT contains(notified, :id))"
            ),
            ExpressionAttributeValues={":me": {"SS": [token_id]}, ":id": {"S": token_id}},
        )

    # --- credits -------------------------------------------------------------------------------------

    def spend_credits(self, token_id: str, cost: int, period: int | None) -> Count:
        """``remaining -= cost`` if ``remaining >= cost`` (and the item is of ``period``, when the
        credits refill). ``value``: ``remaining`` after (taken) or as it stood."""
        condition = "remaining >= :cost"
        values = {":cost": {"N": str(cost)}}
        if period is not None:
            condition += " AND period = :period"
            values[":period"] = {"N": str(period)}
        return self._update(
            table.credits_key(token_id), "SET remaining = remaining - :cost", condition, values, "remaining"
        )

    def refill_and_spend(self, token_id: str, amount: int, cost: int, period: int) -> Count | None:
        """The first verification of a new period: ``remaining = amount`` (less ``cost`` when it is
        covered), conditional on the item being of an older period, so exactly one verification
        refills. None: another verification refilled first (spend again). Not taken: refilled,
        but ``cost`` is more than a period's credits, or there is no counter to refill.

        A refill never creates the counter: it is made with the token's credits and deleted with
        them (``credits_counter_actions``), so a verification that read the token before its credits
        were removed cannot leave a counter behind that nothing would ever delete."""
        covered = cost <= amount
        refill = self._update(
            table.credits_key(token_id),
            "SET remaining = :remaining, period = :period",
            "attribute_exists(remaining) AND period < :period",
            {":remaining": {"N": str(amount - cost if covered else amount)}, ":period": {"N": str(period)}},
            "remaining",
        )
        if not refill.taken:
            return None if refill.item is not None and "remaining" in refill.item else Count(False, 0)
        return refill if covered else Count(False, amount)

    def get_credits(self, token_id: str) -> dict[str, Any] | None:
        return self._get(table.credits_key(token_id))

    def get_window(self, key: dict[str, str]) -> dict[str, Any] | None:
        return self._get(key)

    def get_counters(self, keys: list[dict[str, str]]) -> dict[tuple[str, str], dict[str, Any]]:
        """Counter items by ``(pk, sk)``, read together (one strongly consistent ``BatchGetItem``:
        a token has at most 5 windows and its credits), spending nothing; absent ones are left out."""
        if not keys:
            return {}
        return {(item["pk"], item["sk"]): item for item in self._batch_get(keys, 5, 0.05)}

    # --- events --------------------------------------------------------------------------------------

    def put_event(self, event: dict[str, Any]) -> None:
        self.client.put_item(TableName=self.table_name, Item=to_item(event))

    # --- internals -----------------------------------------------------------------------------------

    def _update(
        self, key: dict[str, str], expression: str, condition: str, values: dict[str, Any], counter: str
    ) -> Count:
        try:
            response = self.client.update_item(
                TableName=self.table_name,
                Key=to_item(key),
                UpdateExpression=expression,
                ConditionExpression=condition,
                ExpressionAttributeValues=values,
                ReturnValues="UPDATED_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except Exception as error:  # botocore's ClientError, without importing botocore here
            if not is_conditional_check_failure(error):
                raise
            old = getattr(error, "response", {}).get("Item")
            item = from_item(old) if old else None
            return Count(False, int(item[counter]) if item and counter in item else None, item)
        return Count(True, int(from_item(response["Attributes"])[counter]))
