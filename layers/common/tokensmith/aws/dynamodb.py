"""What every repository needs of DynamoDB: the attribute codec, opaque cursors, the repository
exceptions, and the classification of DynamoDB's errors (conditional check failed, throttled,
transaction cancelled and why). Imports nothing heavy: the authorizer's hot path uses it.

Items come back as plain dicts of str, int, bool, list and dict: the table stores no other types.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from dataclasses import dataclass, field
from typing import Any

# DynamoDB's "too busy now" error codes, as a request error or as a transaction's cancellation reason:
# nothing was written, and the same request may be retried (a 503 with Retry-After, never a 409).
THROTTLING_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ProvisionedThroughputExceeded",
        "ThrottlingException",
        "ThrottlingError",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "TransactionInProgressException",
    }
)
_RETRYABLE_CANCELLATION_CODES = frozenset({"TransactionConflict"})


class RepositoryError(Exception):
    """Base of the conditions a repository reports to its service."""


class StoreUnavailable(RepositoryError):
    """DynamoDB turned the work down for now (throttled, or keys left unprocessed); nothing was
    written, and the same request may be retried."""


class VersionConflict(RepositoryError):
    """The item changed (or vanished) since it was read: its ``version`` no longer matches."""


class NameTaken(RepositoryError):
    """Another live token of the same organization and owner already has this name."""


class InvalidCursor(RepositoryError):
    """A pagination cursor that this service did not produce for this listing."""


class GuardReleaseFailed(RepositoryError):
    """A transaction's name-guard release found the guard taken over by another token."""


# --- attribute values ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ExtraUpdate:
    """More of one ``UpdateItem``, built by a feature's own helper (``tokens.networks``) and merged
    into a repository's write: assignments, removals, conditions, and the names and (typed) values
    they use, each placeholder the helper's own."""

    assignments: tuple[str, ...] = ()
    removals: tuple[str, ...] = ()
    conditions: tuple[str, ...] = ()
    names: dict[str, str] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)

    def add_to(
        self, assignments: list[str], removals: list[str], conditions: list[str], names: dict, values: dict
    ) -> None:
        assignments.extend(self.assignments)
        removals.extend(self.removals)
        conditions.extend(self.conditions)
        names.update(self.names)
        values.update(self.values)


def to_attribute(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, int):
        return {"N": str(value)}
    if value is None:
        return {"NULL": True}
    if isinstance(value, (list, tuple)):
        return {"L": [to_attribute(v) for v in value]}
    if isinstance(value, dict):
        return {"M": {k: to_attribute(v) for k, v in value.items()}}
    raise TypeError(f"cannot store {type(value).__name__} in the table")


def from_attribute(attribute: dict[str, Any]) -> Any:
    ((kind, value),) = attribute.items()
    if kind == "S":
        return value
    if kind == "N":
        return int(value) if value.lstrip("-").isdigit() else float(value)
    if kind == "BOOL":
        return value
    if kind == "NULL":
        return None
    if kind == "L":
        return [from_attribute(v) for v in value]
    if kind == "M":
        return {k: from_attribute(v) for k, v in value.items()}
    if kind == "SS":
        return sorted(value)
    raise TypeError(f"unexpected attribute type {kind}")


def to_item(values: dict[str, Any]) -> dict[str, Any]:
    """A plain dict as a DynamoDB item; ``None`` values are left out."""
    return {k: to_attribute(v) for k, v in values.items() if v is not None}


def from_item(item: dict[str, Any]) -> dict[str, Any]:
    return {k: from_attribute(v) for k, v in item.items()}


# --- cursors ---------------------------------------------------------------------------------------


CURSOR_VERSION = 2  # 2: sort keys to the nanosecond; a cursor of an older shape is refused (422)


def encode_cursor(key: dict[str, Any]) -> str:
    """A page's last key (attribute values) as an opaque URL-safe string, with the cursor version."""
    plain = {"v": CURSOR_VERSION, "key": {k: from_attribute(v) for k, v in key.items()}}
    return base64.urlsafe_b64encode(json.dumps(plain, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, expected: dict[str, str], keys: tuple[str, ...]) -> dict[str, Any]:
    """The ``ExclusiveStartKey`` of a cursor: exactly the key attributes ``keys`` of the listing, as
    non-empty strings of at most 1,024 characters, with the ``expected`` values (the listing's
    partition). A cursor of another listing, of an older version, or a tampered one, is
    :class:`InvalidCursor` (a 422), never a key DynamoDB would refuse (a 500)."""
    if len(cursor) > 4096:
        raise InvalidCursor()
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        envelope = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, UnicodeError, binascii.Error, RecursionError) as error:
        raise InvalidCursor() from error
    if not isinstance(envelope, dict) or set(envelope) != {"v", "key"} or envelope["v"] != CURSOR_VERSION:
        raise InvalidCursor()
    key = envelope["key"]
    if not isinstance(key, dict) or set(key) != set(keys):
        raise InvalidCursor()
    if not all(isinstance(v, str) and 0 < len(v) <= 1024 for v in key.values()):
        raise InvalidCursor()
    if any(key.get(k) != v for k, v in expected.items()):
        raise InvalidCursor()
    return {k: {"S": v} for k, v in key.items()}


# --- errors ----------------------------------------------------------------------------------------


def error_code(error: BaseException) -> str:
    """The AWS error code of a botocore ``ClientError`` (without importing botocore), else ``""``."""
    response = getattr(error, "response", None)
    if not isinstance(response, dict):
        return ""
    return str(response.get("Error", {}).get("Code", ""))


def is_conditional_check_failure(error: BaseException) -> bool:
    return error_code(error) == "ConditionalCheckFailedException"


def is_throttling(error: BaseException) -> bool:
    return isinstance(error, StoreUnavailable) or error_code(error) in THROTTLING_CODES


def cancellation_codes(error: BaseException) -> list[str]:
    response = getattr(error, "response", None) or {}
    return [reason.get("Code", "None") for reason in response.get("CancellationReasons", [])]


def classify_cancellation(
    codes: list[str], name_claim_index: int | None = None, release_index: int | None = None
) -> RepositoryError | None:
    """The repository exception a cancelled transaction stands for, when its reasons say: the first
    action's condition (the version, or the item's absence), a name claim, a guard release, or
    throttling. None otherwise (a ``TransactionConflict`` to try again, or an error of ours)."""

    def failed_at(index: int | None) -> bool:
        return index is not None and index < len(codes) and codes[index] == "ConditionalCheckFailed"

    if failed_at(0):
        return VersionConflict()
    if failed_at(name_claim_index):
        return NameTaken()
    if failed_at(release_index):
        return GuardReleaseFailed()
    if any(code in THROTTLING_CODES for code in codes):
        return StoreUnavailable()
    return None


# --- the base of every repository ------------------------------------------------------------------


class TableRepository:
    """A repository over the one table: the client (created on first use), a consistent ``GetItem``,
    a strongly consistent ``BatchGetItem`` that asks again for unprocessed keys, a page of a
    ``Query``, and a transaction whose cancellation becomes a repository exception."""

    def __init__(self, table_name: str, client: Any = None, endpoint_url: str | None = None) -> None:
        self.table_name = table_name
        self._client = client
        self._endpoint_url = endpoint_url

    @property
    def client(self) -> Any:
        if self._client is None:
            from tokensmith.aws.clients import client

            self._client = client("dynamodb", self._endpoint_url)
        return self._client

    def _get(self, key: dict[str, str]) -> dict[str, Any] | None:
        """One strongly consistent ``GetItem`` (a token disabled a moment ago must not verify)."""
        response = self.client.get_item(TableName=self.table_name, Key=to_item(key), ConsistentRead=True)
        item = response.get("Item")
        return from_item(item) if item else None

    def _batch_get(self, keys: list[dict[str, str]], attempts: int, first_pause: float) -> list[dict[str, Any]]:
        """Up to 100 items by key, strongly consistent, in one ``BatchGetItem``; keys DynamoDB leaves
        unprocessed are asked again after ``first_pause``, doubling, ``attempts`` times in all, then
        :class:`StoreUnavailable` (DynamoDB is throttling: a 503, retry later)."""
        request = {self.table_name: {"Keys": [to_item(key) for key in keys], "ConsistentRead": True}}
        found: list[dict[str, Any]] = []
        for attempt in range(attempts):
            response = self.client.batch_get_item(RequestItems=request)
            found.extend(from_item(i) for i in response.get("Responses", {}).get(self.table_name, []))
            request = response.get("UnprocessedKeys") or {}
            if not request:
                return found
            time.sleep(first_pause * 2**attempt)
        raise StoreUnavailable(f"DynamoDB left keys unprocessed after {attempts} attempts")

    def _page(
        self, query: dict[str, Any], limit: int, cursor: str | None, cursor_scope: dict[str, str], keys: tuple[str, ...]
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of ``query``, newest first: one ``Query`` of ``limit + 1`` items, the extra one
        telling whether a next page exists (so the last page says ``next_cursor: null``)."""
        query = {"TableName": self.table_name, "ScanIndexForward": False, **query, "Limit": limit + 1}
        if cursor:
            query["ExclusiveStartKey"] = decode_cursor(cursor, cursor_scope, keys)
        items = self.client.query(**query).get("Items", [])
        if len(items) > limit:
            last = items[limit - 1]
            return [from_item(i) for i in items[:limit]], encode_cursor({k: last[k] for k in keys})
        return [from_item(i) for i in items], None

    def _conditional(self, call: str, **request: Any) -> bool:
        """``update_item``/``delete_item``/``put_item`` with a condition: False when the condition
        failed, True when written."""
        try:
            getattr(self.client, call)(TableName=self.table_name, **request)
        except Exception as error:  # botocore's ClientError, without importing botocore here
            if is_conditional_check_failure(error):
                return False
            raise
        return True

    def _transact(
        self, actions: list[dict[str, Any]], name_claim_index: int | None = None, release_index: int | None = None
    ) -> None:
        """All ``actions`` or none; a ``TransactionConflict`` is tried again (three attempts in all)."""
        for attempt in range(3):
            try:
                self.client.transact_write_items(TransactItems=actions)
                return
            except Exception as error:
                if error_code(error) != "TransactionCanceledException":
                    raise
                codes = cancellation_codes(error)
                classified = classify_cancellation(codes, name_claim_index, release_index)
                if classified is not None:
                    raise classified from error
                retryable = any(code in _RETRYABLE_CANCELLATION_CODES for code in codes)
                if retryable and attempt < 2:
                    continue
                if retryable or "ConditionalCheckFailed" in codes:
                    raise VersionConflict() from error
                raise

    def _put_action(self, item: dict[str, Any], condition: str | None = None) -> dict[str, Any]:
        put: dict[str, Any] = {"TableName": self.table_name, "Item": to_item(item)}
        if condition:
            put["ConditionExpression"] = condition
        return {"Put": put}
