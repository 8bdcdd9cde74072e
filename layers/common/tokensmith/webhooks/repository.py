"""Every DynamoDB call of webhook endpoints and their delivery logs (same table as tokens; the keys
are ``table``'s).

Deviation from the proposal (``ORG#<org>`` / ``WEBHOOK#<id>``): the endpoint has a partition of its
own, as tokens do, so one ``GetItem`` by id serves every route (admins act across organizations
without knowing the organization first), and its delivery log lives in the same partition (one
``Query``, newest first). The organization's endpoints are listed through the ``by-organization``
index under ``org_pk = WEBHOOKS#<org>``, a partition no token uses, so webhooks never appear in token
lists. Delivery entries carry ``purge_at`` (TTL). None of these items matches the publisher's stream
filter (``sk`` starting with ``EVENT#``, or a TTL removal of ``sk = TOKEN``).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from tokensmith import table
from tokensmith.aws.dynamodb import TableRepository, VersionConflict, from_item, to_attribute, to_item


@lru_cache(maxsize=1)
def default_webhook_repository() -> WebhookRepository:
    """The process-wide repository over the configured table (tests clear this cache)."""
    from tokensmith.settings import get_settings

    settings = get_settings()
    return WebhookRepository(settings.table_name, endpoint_url=settings.dynamodb_endpoint_url)


class WebhookRepository(TableRepository):
    # --- endpoints -----------------------------------------------------------------------------------

    def get_webhook(self, webhook_id: str) -> dict[str, Any] | None:
        return self._get(table.webhook_key(webhook_id))

    def list_webhooks(
        self, organization_id: str, limit: int, cursor: str | None = None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """A page of the organization's endpoints, newest first (one ``Query`` on the index)."""
        partition = table.webhooks_partition(organization_id)
        query = {
            "IndexName": table.ORG_INDEX,
            "KeyConditionExpression": "org_pk = :org",
            "ExpressionAttributeValues": {":org": {"S": partition}},
        }
        return self._page(query, limit, cursor, {"org_pk": partition}, table.ORG_INDEX_KEYS)

    def subscribed_webhooks(self, organization_id: str) -> list[dict[str, Any]]:
        """Every enabled endpoint of the organization (the delivery fan-out); pages to the end."""
        found: list[dict[str, Any]] = []
        query: dict[str, Any] = {
            "TableName": self.table_name,
            "IndexName": table.ORG_INDEX,
            "KeyConditionExpression": "org_pk = :org",
            "FilterExpression": "enabled = :yes",
            "ExpressionAttributeValues": {
                ":org": {"S": table.webhooks_partition(organization_id)},
                ":yes": {"BOOL": True},
            },
        }
        while True:
            response = self.client.query(**query)
            found.extend(from_item(i) for i in response.get("Items", []))
            if not response.get("LastEvaluatedKey"):
                return found
            query["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def create_webhook(self, item: dict[str, Any]) -> None:
        """A new endpoint; its keys are made here."""
        keys = {
            **table.webhook_key(item["id"]),
            **table.webhook_index_keys(item["organization_id"], item["created_at"], item["id"]),
        }
        self.client.put_item(
            TableName=self.table_name, Item=to_item({**item, **keys}), ConditionExpression="attribute_not_exists(pk)"
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
        written = self._conditional(
            "update_item",
            Key=to_item(table.webhook_key(webhook_id)),
            UpdateExpression=expression,
            ConditionExpression="attribute_exists(pk) AND #version = :expected",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )
        if not written:
            raise VersionConflict()

    def delete_webhook(self, webhook_id: str, expected_version: int) -> None:
        written = self._conditional(
            "delete_item",
            Key=to_item(table.webhook_key(webhook_id)),
            ConditionExpression="attribute_exists(pk) AND #version = :expected",
            ExpressionAttributeNames={"#version": "version"},
            ExpressionAttributeValues={":expected": {"N": str(expected_version)}},
        )
        if not written:
            raise VersionConflict()

    def disable_webhook(self, webhook_id: str, reason: str, at: str) -> bool:
        """Disable an endpoint whatever its version (a receiver answered 410 Gone). True when written."""
        return self._conditional(
            "update_item",
            Key=to_item(table.webhook_key(webhook_id)),
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

    # --- delivery log --------------------------------------------------------------------------------

    def record_delivery(self, entry: dict[str, Any], nanos: int = 0) -> None:
        """One attempt. ``entry`` has ``webhook_id``, ``attempted_at``, ``message_id``, ``attempt``;
        ``nanos`` orders the attempts of one second (``clock.nanos_within``)."""
        key = table.delivery_key(
            entry["webhook_id"], entry["attempted_at"], nanos, entry["message_id"], entry["attempt"]
        )
        self.client.put_item(TableName=self.table_name, Item=to_item({**key, **entry}))

    def list_deliveries(
        self, webhook_id: str, limit: int, cursor: str | None = None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """A page of the endpoint's delivery log, newest first: one ``Query`` on its partition."""
        partition = table.webhook_partition(webhook_id)
        query = {
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": {":pk": {"S": partition}, ":prefix": {"S": table.DELIVERY_PREFIX}},
        }
        return self._page(query, limit, cursor, {"pk": partition}, ("pk", "sk"))
