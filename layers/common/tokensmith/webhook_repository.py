"""Every DynamoDB call and key of webhook endpoints and their delivery logs (same table as tokens).

| item           | pk               | sk                                        |
|----------------|------------------|-------------------------------------------|
| endpoint       | ``WEBHOOK#<id>`` | ``WEBHOOK``                               |
| delivery entry | ``WEBHOOK#<id>`` | ``DELIVERY#<iso time>#<message id>#<n>``  |

Deviation from the proposal (``ORG#<org>`` / ``WEBHOOK#<id>``): the endpoint has a partition of its
own, as tokens do, so one ``GetItem`` by id serves every route (admins act across organizations
without knowing the organization first), and its delivery log lives in the same partition (one
``Query``, newest first). The organization's endpoints are listed through the ``by-organization``
index under ``org_pk = WEBHOOKS#<org>``, a partition no token uses, so webhooks never appear in token
lists. Delivery entries carry ``purge_at`` (TTL). None of these items matches the publisher's stream
filter (``sk`` starting with ``EVENT#``, or a TTL removal of ``sk = TOKEN``).
"""

from __future__ import annotations

from typing import Any

from tokensmith.repository import (
    ORG_INDEX,
    TokenRepository,
    VersionConflict,
    _client_error_code,
    _encode_cursor,
    dynamodb_client,
    from_item,
    to_attribute,
    to_item,
)

WEBHOOK_SK = "WEBHOOK"
DELIVERY_PREFIX = "DELIVERY#"


def webhook_key(webhook_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"WEBHOOK#{webhook_id}"}, "sk": {"S": WEBHOOK_SK}}


def webhooks_partition(organization_id: str) -> str:
    return f"WEBHOOKS#{organization_id}"


class WebhookRepository:
    def __init__(self, table_name: str, client: Any = None, endpoint_url: str | None = None) -> None:
        self.table_name = table_name
        self._client = client
        self._endpoint_url = endpoint_url

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = dynamodb_client(self._endpoint_url)
        return self._client

    # --- endpoints -----------------------------------------------------------------------------------

    def get_webhook(self, webhook_id: str) -> dict[str, Any] | None:
        response = self.client.get_item(TableName=self.table_name, Key=webhook_key(webhook_id), ConsistentRead=True)
        item = response.get("Item")
        return from_item(item) if item else None

    def list_webhooks(
        self, organization_id: str, limit: int, cursor: str | None = None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """A page of the organization's endpoints, newest first (one ``Query`` on the index)."""
        partition = webhooks_partition(organization_id)
        query: dict[str, Any] = {
            "TableName": self.table_name,
            "IndexName": ORG_INDEX,
            "KeyConditionExpression": "org_pk = :org",
            "ExpressionAttributeValues": {":org": {"S": partition}},
            "ScanIndexForward": False,
            "Limit": limit + 1,
        }
        if cursor:
            query["ExclusiveStartKey"] = _decode_cursor(cursor, {"org_pk": partition})
        items = self.client.query(**query).get("Items", [])
        if len(items) > limit:
            last = items[limit - 1]
            return [from_item(i) for i in items[:limit]], _encode_cursor(
                {k: last[k] for k in ("pk", "sk", "org_pk", "org_sk")}
            )
        return [from_item(i) for i in items], None

    def subscribed_webhooks(self, organization_id: str) -> list[dict[str, Any]]:
        """Every enabled endpoint of the organization (the delivery fan-out); pages to the end."""
        found: list[dict[str, Any]] = []
        query: dict[str, Any] = {
            "TableName": self.table_name,
            "IndexName": ORG_INDEX,
            "KeyConditionExpression": "org_pk = :org",
            "FilterExpression": "enabled = :yes",
            "ExpressionAttributeValues": {":org": {"S": webhooks_partition(organization_id)}, ":yes": {"BOOL": True}},
        }
        while True:
            response = self.client.query(**query)
            found.extend(from_item(i) for i in response.get("Items", []))
            if not response.get("LastEvaluatedKey"):
                return found
            query["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def create_webhook(self, item: dict[str, Any]) -> None:
        self.client.put_item(
            TableName=self.table_name, Item=to_item(item), ConditionExpression="attribute_not_exists(pk)"
        )

    def update_webhook(
        self, webhook_id: str, expected_version: int, set_values: dict[str, Any], remove: tuple[str, ...] = ()
    ) -> None:
        """Apply the change if the endpoint still has ``expected_version``; else :class:`VersionConflict`."""
        names: dict[str, str] = {"#version": "version"}
        values: dict[str, Any] = {":expected": {"N": str(expected_version)}}
        assignments = []
        for index, (attribute, value) in enumerate(sorted(set_values.items())):
            names[f"#s{index}"] = attribute
            values[f":s{index}"] = to_attribute(value)
            assignments.append(f"#s{index} = :s{index}")
        expression = "SET " + ", ".join(assignments)
        if remove:
            for index, attribute in enumerate(remove):
                names[f"#r{index}"] = attribute
            expression += " REMOVE " + ", ".join(f"#r{index}" for index in range(len(remove)))
        try:
            self.client.update_item(
                TableName=self.table_name,
                Key=webhook_key(webhook_id),
                UpdateExpression=expression,
                ConditionExpression="attribute_exists(pk) AND #version = :expected",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except Exception as error:  # botocore's ClientError, without importing botocore here
            if _client_error_code(error) == "ConditionalCheckFailedException":
                raise VersionConflict() from error
            raise

    def delete_webhook(self, webhook_id: str, expected_version: int) -> None:
        try:
            self.client.delete_item(
                TableName=self.table_name,
                Key=webhook_key(webhook_id),
                ConditionExpression="attribute_exists(pk) AND #version = :expected",
                ExpressionAttributeNames={"#version": "version"},
                ExpressionAttributeValues={":expected": {"N": str(expected_version)}},
            )
        except Exception as error:
            if _client_error_code(error) == "ConditionalCheckFailedException":
                raise VersionConflict() from error
            raise

    def disable_webhook(self, webhook_id: str, reason: str, at: str) -> bool:
        """Disable an endpoint whatever its version (a receiver answered 410 Gone). True when written."""
        try:
            self.client.update_item(
                TableName=self.table_name,
                Key=webhook_key(webhook_id),
                UpdateExpression="SET enabled = :no, disabled_reason = :why, modified_at = :at ADD #version :one",
                ConditionExpression="attribute_exists(pk) AND enabled = :yes",
                ExpressionAttributeNames={"#version": "version"},
                ExpressionAttributeValues={
                    ":no": {"BOOL": False},
                    ":yes": {"BOOL": True},
                    ":why": {"S": reason},
                    ":at": {"S": at},
                    ":one": {"N": "1"},
                },
            )
        except Exception as error:
            if _client_error_code(error) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    # --- delivery log --------------------------------------------------------------------------------

    def record_delivery(self, entry: dict[str, Any]) -> None:
        """One attempt. ``entry`` has ``webhook_id``, ``attempted_at``, ``message_id``, ``attempt``."""
        item = {
            "pk": f"WEBHOOK#{entry['webhook_id']}",
            "sk": f"{DELIVERY_PREFIX}{entry['attempted_at']}#{entry['message_id']}#{entry['attempt']:02d}",
            **entry,
        }
        self.client.put_item(TableName=self.table_name, Item=to_item(item))

    def list_deliveries(
        self, webhook_id: str, limit: int, cursor: str | None = None
    ) -> tuple[list[dict[str, Any]], str | None]:
        partition = f"WEBHOOK#{webhook_id}"
        query: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": {":pk": {"S": partition}, ":prefix": {"S": DELIVERY_PREFIX}},
            "ScanIndexForward": False,
            "Limit": limit + 1,
        }
        if cursor:
            query["ExclusiveStartKey"] = _decode_cursor(cursor, {"pk": partition})
        items = self.client.query(**query).get("Items", [])
        if len(items) > limit:
            last = items[limit - 1]
            return [from_item(i) for i in items[:limit]], _encode_cursor({k: last[k] for k in ("pk", "sk")})
        return [from_item(i) for i in items], None


_decode_cursor = TokenRepository._decode_cursor
