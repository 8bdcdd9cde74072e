"""Every DynamoDB call and every key, index and condition expression of the table.

One table (see README "Data model"):

| item        | pk                              | sk                          |
|-------------|---------------------------------|-----------------------------|
| token       | ``TOKEN#<id>``                  | ``TOKEN``                   |
| audit event | ``TOKEN#<id>``                  | ``EVENT#<iso time>#<rand>`` |
| name guard  | ``NAME#<org>#<owner>#<name>``   | ``NAME``                    |
| session     | ``SESSION#<digest of its id>``  | ``SESSION``                 |

Token items also carry ``org_pk``/``org_sk`` (the ``by-organization`` index, newest first); a
deleted token loses them and so leaves every list. Items come back as plain dicts of str, int,
bool, list and dict: the table stores no other types.

This module imports botocore lazily and nothing of pydantic: it is on the authorizer's hot path.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

TOKEN_SK = "TOKEN"
NAME_SK = "NAME"
SESSION_SK = "SESSION"
ORG_INDEX = "by-organization"
DUE_INDEX = "due"
_RETRYABLE_TRANSACTION_CODES = {"TransactionConflict"}
# Cancellation reasons that mean "DynamoDB is busy", not "your conditions failed": a 503, not a 409.
_THROTTLED_TRANSACTION_CODES = {"ThrottlingError", "ProvisionedThroughputExceeded", "RequestLimitExceeded"}


class RepositoryError(Exception):
    """Base of the conditions the repository reports to the service."""


class StoreUnavailable(RepositoryError):
    """DynamoDB turned the work down for now (a transaction cancelled by throttling); nothing was
    written, and the same request may be retried."""


class VersionConflict(RepositoryError):
    """The token changed (or vanished) since it was read: its ``version`` no longer matches."""


class NameTaken(RepositoryError):
    """Another live token of the same organization and owner already has this name."""


class InvalidCursor(RepositoryError):
    """A pagination cursor that this service did not produce for this listing."""


def token_key(token_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"TOKEN#{token_id}"}, "sk": {"S": TOKEN_SK}}


def session_key(session_digest: str) -> dict[str, Any]:
    return {"pk": {"S": f"SESSION#{session_digest}"}, "sk": {"S": SESSION_SK}}


def name_guard_pk(organization_id: str, owner: str | None, name: str) -> str:
    return f"NAME#{organization_id}#{owner or '-'}#{name.casefold()}"


def org_partition(organization_id: str) -> str:
    return f"ORG#{organization_id}"


def wake_partition(shard: int) -> str:
    return f"WAKE#{shard}"


def audit_event_item(
    token: dict[str, Any],
    event_type: str,
    occurred_at: str,
    actor: dict[str, Any],
    purge_at: int,
    **fields: Any,
) -> dict[str, Any]:
    """An audit event item in its token's partition, sorted by time (nanoseconds + randomness, so
    two events of one token never collide). ``fields``: ip, user_agent, changes, reason, details."""
    import secrets
    import time

    nanos = time.time_ns() % 1_000_000_000
    return {
        "pk": f"TOKEN#{token['id']}",
        "sk": f"EVENT#{occurred_at[:-1]}.{nanos:09d}Z#{secrets.token_hex(4)}",
        "type": event_type,
        "token_id": token["id"],
        "organization_id": token["organization_id"],
        "occurred_at": occurred_at,
        "actor": actor,
        "purge_at": purge_at,
        **fields,
    }


# --- attribute values ------------------------------------------------------------------------------


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
    return {k: to_attribute(v) for k, v in values.items() if v is not None}


def from_item(item: dict[str, Any]) -> dict[str, Any]:
    return {k: from_attribute(v) for k, v in item.items()}


# --- the client --------------------------------------------------------------------------------------


@lru_cache(maxsize=4)
def dynamodb_client(endpoint_url: str | None = None) -> Any:
    """One low-level client per process, created on first use: standard retries, bounded timeouts
    (a slow DynamoDB gives a 503 within about three seconds instead of hanging until the Lambda
    timeout). botocore directly, not boto3: the same client, 40-60 ms less to import cold.

    Two attempts in all: standard mode backs off ``random() * 2 ** (retry - 1)`` seconds, so a
    second retry could add up to 2 s more and break the 3-second answer; the caller gets a 503
    with ``Retry-After`` instead, and retrying is safe (every write is conditional or idempotent).
    Worst case: 2 x 1 s read timeout + 1 s back-off. The session reads a DynamoDB-only cut of
    botocore's endpoint data (``aws_endpoints``): the full file is most of a client's creation time."""
    from botocore.config import Config

    from tokensmith.aws_endpoints import session

    config = Config(
        retries={"mode": "standard", "total_max_attempts": 2},
        connect_timeout=1,
        read_timeout=1,
        tcp_keepalive=True,
    )
    return session().create_client("dynamodb", endpoint_url=endpoint_url, config=config)


@lru_cache(maxsize=1)
def default_repository() -> TokenRepository:
    """The process-wide repository over the configured table (tests clear this cache)."""
    from tokensmith.settings import get_settings

    settings = get_settings()
    return TokenRepository(settings.table_name, endpoint_url=settings.dynamodb_endpoint_url)


def _client_error_code(error: Exception) -> str:
    response = getattr(error, "response", None) or {}
    return response.get("Error", {}).get("Code", "")


def _cancellation_codes(error: Exception) -> list[str]:
    response = getattr(error, "response", None) or {}
    return [reason.get("Code", "None") for reason in response.get("CancellationReasons", [])]


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


class TokenRepository:
    def __init__(self, table_name: str, client: Any = None, endpoint_url: str | None = None) -> None:
        self.table_name = table_name
        self._client = client
        self._endpoint_url = endpoint_url
        self.consumed_read_units = 0.0  # by the sweep's index queries (for metrics and the benchmark)

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = dynamodb_client(self._endpoint_url)
        return self._client

    # --- reads ---------------------------------------------------------------------------------------

    def get_token(self, token_id: str) -> dict[str, Any] | None:
        """One strongly consistent ``GetItem`` (a token disabled a moment ago must not verify)."""
        response = self.client.get_item(TableName=self.table_name, Key=token_key(token_id), ConsistentRead=True)
        item = response.get("Item")
        return from_item(item) if item else None

    def get_tokens(self, token_ids: list[str]) -> list[dict[str, Any]]:
        """Many tokens by id, strongly consistent, 100 per ``BatchGetItem``; missing ids are skipped."""
        unique = list(dict.fromkeys(token_ids))
        found: list[dict[str, Any]] = []
        for start in range(0, len(unique), 100):
            found.extend(self._batch_get([token_key(i) for i in unique[start : start + 100]], 5, 0.05))
        return found

    def get_token_and_session(
        self, token_id: str, session_digest: str
    ) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        """A console session and the token it was made from: one strongly consistent
        ``BatchGetItem`` (the session cookie names both), so a request signed in with a cookie costs
        one round trip, as a bearer token does."""
        items = self._batch_get([token_key(token_id), session_key(session_digest)], 4, 0.02)  # the authorizer's
        found = {item["sk"]: item for item in items}
        return found.get(TOKEN_SK), found.get(SESSION_SK)

    def _batch_get(self, keys: list[dict[str, Any]], attempts: int, first_pause: float) -> list[dict[str, Any]]:
        """Up to 100 items by key, strongly consistent, in one ``BatchGetItem``; keys DynamoDB leaves
        unprocessed are asked again after ``first_pause``, doubling, ``attempts`` times in all."""
        request = {self.table_name: {"Keys": keys, "ConsistentRead": True}}
        found: list[dict[str, Any]] = []
        for attempt in range(attempts):
            response = self.client.batch_get_item(RequestItems=request)
            found.extend(from_item(i) for i in response.get("Responses", {}).get(self.table_name, []))
            request = response.get("UnprocessedKeys") or {}
            if not request:
                return found
            time.sleep(first_pause * 2**attempt)
        raise RuntimeError(f"DynamoDB left keys unprocessed after {attempts} attempts")

    def get_session(self, session_digest: str) -> dict[str, Any] | None:
        response = self.client.get_item(TableName=self.table_name, Key=session_key(session_digest), ConsistentRead=True)
        item = response.get("Item")
        return from_item(item) if item else None

    def list_tokens(
        self,
        organization_id: str,
        limit: int,
        cursor: str | None = None,
        status: str | None = None,
        owner: str | None = None,
        now_epoch: int = 0,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """A page of the organization's tokens, newest first, filtered by effective status and owner.

        Pages through the index until ``limit`` matching items (plus one to know whether more exist)
        or the end, so a filtered page is never short by accident."""
        partition = org_partition(organization_id)
        query: dict[str, Any] = {
            "TableName": self.table_name,
            "IndexName": ORG_INDEX,
            "KeyConditionExpression": "org_pk = :org",
            "ExpressionAttributeValues": {":org": {"S": partition}},
            "ScanIndexForward": False,
        }
        filters, names = [], {}
        if status is not None:
            expression = _STATUS_FILTERS[status]
            filters.append(expression)
            names["#st"] = "status"
            values = query["ExpressionAttributeValues"]
            for placeholder in ("active", "disabled", "expired", "revoked"):
                if f":{placeholder}" in expression:
                    values[f":{placeholder}"] = {"S": placeholder}
            if ":now" in expression:
                values[":now"] = {"N": str(now_epoch)}
        if owner is not None:
            filters.append("#owner = :owner")
            names["#owner"] = "owner"
            query["ExpressionAttributeValues"][":owner"] = {"S": owner}
        if filters:
            query["FilterExpression"] = " AND ".join(f"({f})" for f in filters)
            query["ExpressionAttributeNames"] = names
        start = self._decode_cursor(cursor, {"org_pk": partition}) if cursor else None
        found: list[dict[str, Any]] = []
        while len(found) <= limit:
            wanted = limit + 1 - len(found)
            query["Limit"] = 100 if filters else wanted
            if start:
                query["ExclusiveStartKey"] = start
            response = self.client.query(**query)
            found.extend(response.get("Items", []))
            start = response.get("LastEvaluatedKey")
            if not start:
                break
        if len(found) > limit:
            last = found[limit - 1]
            next_cursor = _encode_cursor({k: last[k] for k in ("pk", "sk", "org_pk", "org_sk")})
            return [from_item(i) for i in found[:limit]], next_cursor
        return [from_item(i) for i in found], None

    def list_events(
        self, token_id: str, limit: int, cursor: str | None = None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """A page of the token's audit events, newest first: one ``Query`` on its partition."""
        partition = f"TOKEN#{token_id}"
        query: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :events)",
            "ExpressionAttributeValues": {":pk": {"S": partition}, ":events": {"S": "EVENT#"}},
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if cursor:
            query["ExclusiveStartKey"] = self._decode_cursor(cursor, {"pk": partition})
        response = self.client.query(**query)
        last = response.get("LastEvaluatedKey")
        items = [from_item(i) for i in response.get("Items", [])]
        if last and len(items) == limit:
            # Peek so that the last page says next_cursor = null instead of leading to an empty page.
            peek = dict(query, ExclusiveStartKey=last, Limit=1)
            if not self.client.query(**peek).get("Items"):
                last = None
        return items, (_encode_cursor(last) if last else None)

    # --- writes --------------------------------------------------------------------------------------

    def create_token(self, item: dict[str, Any], event: dict[str, Any], claim_name: NameClaim | None) -> None:
        """The token, its first audit event and its name guard: all or nothing."""
        actions: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self.table_name,
                    "Item": to_item(item),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            {"Put": {"TableName": self.table_name, "Item": to_item(event)}},
        ]
        if claim_name:
            actions.append(self._claim_action(claim_name))
        self._transact(actions, name_claim_index=2 if claim_name else None)

    def update_token(self, change: TokenChange, event: dict[str, Any]) -> None:
        """Apply ``change`` if the token still has ``expected_version``, with its audit event; take and
        release name guards in the same transaction. A release of a guard that another token has
        since taken over is dropped rather than failing the change."""
        actions = [self._update_action(change), {"Put": {"TableName": self.table_name, "Item": to_item(event)}}]
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
                        "Key": {"pk": {"S": change.release_name}, "sk": {"S": NAME_SK}},
                        "ConditionExpression": "attribute_not_exists(pk) OR token_id = :me",
                        "ExpressionAttributeValues": {":me": {"S": change.token_id}},
                    }
                }
            )
        try:
            self._transact(actions, name_claim_index=claim_index, release_index=release_index)
        except _GuardReleaseFailed:
            del actions[release_index]  # type: ignore[arg-type]
            self._transact(actions, name_claim_index=claim_index)

    def due_tokens(
        self, shard: int, now_epoch: int, start: dict[str, Any] | None = None, page_size: int = 100
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        """A page of the tokens of one shard of the sparse ``due`` index whose wake-up time has come.
        Only due items are read: the cost follows the number of due tokens, not the table size."""
        query: dict[str, Any] = {
            "TableName": self.table_name,
            "IndexName": DUE_INDEX,
            "KeyConditionExpression": "wake_pk = :shard AND wake_at <= :now",
            "ExpressionAttributeValues": {":shard": {"S": wake_partition(shard)}, ":now": {"N": str(now_epoch)}},
            "Limit": page_size,
            "ReturnConsumedCapacity": "TOTAL",
        }
        if start:
            query["ExclusiveStartKey"] = start
        response = self.client.query(**query)
        self.consumed_read_units += response.get("ConsumedCapacity", {}).get("CapacityUnits", 0)
        return [from_item(i) for i in response.get("Items", [])], response.get("LastEvaluatedKey")

    def record_last_use(
        self, token_id: str, at: str, stale_before: str, ip: str | None, user_agent: str | None
    ) -> bool:
        """Stamp ``last_used_*`` unless another call did within the interval. Not an audit event and
        no ``version`` bump (that would break every client's ``If-Match``). True when written."""
        values = {":at": {"S": at}, ":stale": {"S": stale_before}}
        assignments = ["last_used_at = :at"]
        removals = []
        for attribute, value in (("last_used_ip", ip), ("last_used_user_agent", user_agent)):
            if value:
                assignments.append(f"{attribute} = :{attribute}")
                values[f":{attribute}"] = {"S": value[:512]}
            else:
                removals.append(attribute)
        expression = "SET " + ", ".join(assignments) + (" REMOVE " + ", ".join(removals) if removals else "")
        try:
            self.client.update_item(
                TableName=self.table_name,
                Key=token_key(token_id),
                UpdateExpression=expression,
                ConditionExpression=(
                    "attribute_exists(pk) AND (attribute_not_exists(last_used_at) OR last_used_at < :stale)"
                ),
                ExpressionAttributeValues=values,
            )
        except Exception as error:  # botocore's ClientError, without importing botocore here
            if _client_error_code(error) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def create_session(self, item: dict[str, Any], event: dict[str, Any]) -> None:
        """A new console session (its key is the digest of 256 random bits: it never exists yet) and
        its audit event in its token's partition: both or neither."""
        session = to_item({**item, "pk": f"SESSION#{item['session_digest']}", "sk": SESSION_SK})
        self._transact(
            [
                {
                    "Put": {
                        "TableName": self.table_name,
                        "Item": session,
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
                {"Put": {"TableName": self.table_name, "Item": to_item(event)}},
            ]
        )

    def touch_session(self, session_digest: str, seen_epoch: int, purge_at: int, stale_before: int) -> bool:
        """Push the idle deadline back, unless another request did within the interval (or the session
        is gone: a touch never brings a signed-out session back). True when written."""
        try:
            self.client.update_item(
                TableName=self.table_name,
                Key=session_key(session_digest),
                UpdateExpression="SET last_seen_epoch = :seen, purge_at = :purge",
                ConditionExpression="attribute_exists(pk) AND last_seen_epoch < :stale",
                ExpressionAttributeValues={
                    ":seen": {"N": str(seen_epoch)},
                    ":purge": {"N": str(purge_at)},
                    ":stale": {"N": str(stale_before)},
                },
            )
        except Exception as error:  # botocore's ClientError, without importing botocore here
            if _client_error_code(error) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def delete_session(self, session_digest: str, event: dict[str, Any]) -> bool:
        """Sign out: the session goes and its audit event is written, both or neither. False (and
        nothing written) when the session was already gone: signing out twice is not an error."""
        try:
            self._transact(
                [
                    {
                        "Delete": {
                            "TableName": self.table_name,
                            "Key": session_key(session_digest),
                            "ConditionExpression": "attribute_exists(pk)",
                        }
                    },
                    {"Put": {"TableName": self.table_name, "Item": to_item(event)}},
                ]
            )
        except VersionConflict:
            return False
        return True

    # --- internals -----------------------------------------------------------------------------------

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
        expression = "SET " + ", ".join(assignments)
        if change.remove:
            expression += " REMOVE " + ", ".join(placeholder(attribute, "r") for attribute in change.remove)
        conditions = ["attribute_exists(pk)"]
        if change.expected_version is not None:
            values[":expected"] = {"N": str(change.expected_version)}
            conditions.append(f"{placeholder('version', 'c')} = :expected")
        for index, (attribute, value) in enumerate(sorted(change.expect.items())):
            values[f":e{index}"] = to_attribute(value)
            conditions.append(f"{placeholder(attribute, 'c')} = :e{index}")
        if change.due_by is not None:
            values[":due_by"] = {"N": str(change.due_by)}
            conditions.append(f"{placeholder('expires_epoch', 'c')} <= :due_by")
        return {
            "Update": {
                "TableName": self.table_name,
                "Key": token_key(change.token_id),
                "UpdateExpression": expression,
                "ConditionExpression": " AND ".join(conditions),
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": values,
            }
        }

    def _claim_action(self, claim: NameClaim) -> dict[str, Any]:
        guard = {"pk": claim.pk, "sk": NAME_SK, "token_id": claim.token_id, "live_until": claim.live_until}
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

    def _transact(
        self, actions: list[dict[str, Any]], name_claim_index: int | None = None, release_index: int | None = None
    ) -> None:
        for attempt in range(3):
            try:
                self.client.transact_write_items(TransactItems=actions)
                return
            except Exception as error:
                if _client_error_code(error) != "TransactionCanceledException":
                    raise
                codes = _cancellation_codes(error)
                if codes and codes[0] == "ConditionalCheckFailed":
                    raise VersionConflict() from error
                if name_claim_index is not None and _code_at(codes, name_claim_index) == "ConditionalCheckFailed":
                    raise NameTaken() from error
                if release_index is not None and _code_at(codes, release_index) == "ConditionalCheckFailed":
                    raise _GuardReleaseFailed() from error
                if any(code in _THROTTLED_TRANSACTION_CODES for code in codes):
                    raise StoreUnavailable() from error
                if attempt < 2 and any(code in _RETRYABLE_TRANSACTION_CODES for code in codes):
                    continue
                if "ConditionalCheckFailed" in codes or any(c in _RETRYABLE_TRANSACTION_CODES for c in codes):
                    raise VersionConflict() from error
                raise

    @staticmethod
    def _decode_cursor(cursor: str, expected: dict[str, str]) -> dict[str, Any]:
        try:
            padded = cursor + "=" * (-len(cursor) % 4)
            key = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        except (ValueError, UnicodeError, binascii.Error) as error:
            raise InvalidCursor() from error
        if not isinstance(key, dict) or not all(isinstance(v, str) for v in key.values()):
            raise InvalidCursor()
        if any(key.get(k) != v for k, v in expected.items()):
            raise InvalidCursor()
        return {k: {"S": v} for k, v in key.items()}


class _GuardReleaseFailed(RepositoryError):
    pass


def _code_at(codes: list[str], index: int) -> str | None:
    return codes[index] if index < len(codes) else None


def _encode_cursor(key: dict[str, Any]) -> str:
    plain = {k: from_attribute(v) for k, v in key.items()}
    return base64.urlsafe_b64encode(json.dumps(plain, separators=(",", ":")).encode()).decode().rstrip("=")


_LIVE = "(#st = :active OR #st = :disabled)"
_NOT_PAST = "(attribute_not_exists(expires_epoch) OR expires_epoch > :now)"
_STATUS_FILTERS = {
    "active": f"#st = :active AND {_NOT_PAST}",
    "disabled": f"#st = :disabled AND {_NOT_PAST}",
    "expired": f"#st = :expired OR ({_LIVE} AND expires_epoch <= :now)",
    "revoked": "#st = :revoked",
}
