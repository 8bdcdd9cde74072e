"""Every DynamoDB call of console sessions (``SESSION#<digest>`` items, keys from ``table``).

A session is read with its token in one strongly consistent ``BatchGetItem`` (the cookie names
both), so a request signed in with a cookie costs one round trip, as a bearer token does. The
repository is a :class:`TokenRepository` too: signing in verifies a token and records its use.
Plain code, botocore imported lazily: the authorizer's cookie path uses it.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from tokensmith import table
from tokensmith.aws.dynamodb import VersionConflict, to_item
from tokensmith.tokens.repository import TokenRepository


@lru_cache(maxsize=1)
def default_session_repository() -> SessionRepository:
    """The process-wide repository over the configured table (tests clear this cache)."""
    from tokensmith.settings import get_settings

    settings = get_settings()
    return SessionRepository(settings.table_name, endpoint_url=settings.dynamodb_endpoint_url)


class SessionRepository(TokenRepository):
    def get_token_and_session(
        self, token_id: str, session_digest: str
    ) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        """A console session and the token it was made from: one strongly consistent
        ``BatchGetItem``, with the authorizer's short back-off for unprocessed keys."""
        items = self._batch_get([table.token_key(token_id), table.session_key(session_digest)], 4, 0.02)
        found = {item["sk"]: item for item in items}
        return found.get(table.TOKEN_SK), found.get(table.SESSION_SK)

    def get_session(self, session_digest: str) -> dict[str, Any] | None:
        return self._get(table.session_key(session_digest))

    def create_session(self, item: dict[str, Any], event: dict[str, Any]) -> None:
        """A new console session (its key is the digest of 256 random bits: it never exists yet) and
        its audit event in its token's partition: both or neither."""
        session = {**item, **table.session_key(item["session_digest"])}
        self._transact([self._put_action(session, "attribute_not_exists(pk)"), self._put_action(event)])

    def put_event(self, event: dict[str, Any]) -> None:
        """An audit event alone (a refused sign-in changes nothing else)."""
        self.client.put_item(TableName=self.table_name, Item=to_item(event))

    def touch_session(self, session_digest: str, seen_epoch: int, purge_at: int, stale_before: int) -> bool:
        """Push the idle deadline back, unless another request did within the interval (or the session
        is gone: a touch never brings a signed-out session back). True when written."""
        return self._conditional(
            "update_item",
            Key=to_item(table.session_key(session_digest)),
            UpdateExpression="SET last_seen_epoch = :seen, purge_at = :purge",
            ConditionExpression="attribute_exists(pk) AND last_seen_epoch < :stale",
            ExpressionAttributeValues={
                ":seen": {"N": str(seen_epoch)},
                ":purge": {"N": str(purge_at)},
                ":stale": {"N": str(stale_before)},
            },
        )

    def delete_session(self, session_digest: str, event: dict[str, Any]) -> bool:
        """Sign out: the session goes and its audit event is written, both or neither. False (and
        nothing written) when the session was already gone: signing out twice is not an error."""
        delete = {
            "Delete": {
                "TableName": self.table_name,
                "Key": to_item(table.session_key(session_digest)),
                "ConditionExpression": "attribute_exists(pk)",
            }
        }
        try:
            self._transact([delete, self._put_action(event)])
        except VersionConflict:
            return False
        return True
