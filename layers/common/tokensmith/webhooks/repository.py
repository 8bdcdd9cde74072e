"""Every DynamoDB call of webhook endpoints and their delivery logs (same table as tokens; the keys
are ``table``'s).

Deviation from the proposal (``ORG#<org>`` / ``WEBHOOK#<id>``): the endpoint has a partition of its
own, as tokens do, so one ``GetItem`` by id serves every route (admins act across organizations
without knowing the organization first), and its delivery log lives in the same partition (one
``Query``, newest first). The organization's endpoints are listed through the ``by-organization``
index under ``org_pk = WEBHOOKS#<org>``, a partition no token uses, so webhooks never appear in token
lists. Each organization's endpoint register (``endpoint_register.py``) is written in the same
transaction as every create, delete and retarget of its endpoints. Delivery entries carry
``purge_at`` (TTL). None of these items matches the publisher's stream filter (``sk`` starting
with ``EVENT#``, or a TTL removal of ``sk = TOKEN``).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from tokensmith import table
from tokensmith.aws.dynamodb import (
    GuardReleaseFailed,
    TableRepository,
    VersionConflict,
    from_item,
    to_attribute,
    to_item,
)
from tokensmith.webhooks.endpoint_register import RegisterRefused, Retarget, endpoint_target


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
        return self._all_of(organization_id, enabled_only=True)

    def _all_of(self, organization_id: str, enabled_only: bool) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        query: dict[str, Any] = {
            "TableName": self.table_name,
            "IndexName": table.ORG_INDEX,
            "KeyConditionExpression": "org_pk = :org",
            "ExpressionAttributeValues": {":org": {"S": table.webhooks_partition(organization_id)}},
        }
        if enabled_only:
            query["FilterExpression"] = "enabled = :yes"
            query["ExpressionAttributeValues"][":yes"] = {"BOOL": True}
        while True:
            response = self.client.query(**query)
            found.extend(from_item(i) for i in response.get("Items", []))
            if not response.get("LastEvaluatedKey"):
                return found
            query["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def all_webhooks(self, organization_id: str) -> list[dict[str, Any]]:
        """Every endpoint of the organization, enabled or not; pages to the end."""
        return self._all_of(organization_id, enabled_only=False)

    def create_webhook(self, item: dict[str, Any], cap: int) -> None:
        """A new endpoint (its keys made here) and its entry in the organization's register, together:
        :class:`RegisterRefused` when the organization has ``cap`` endpoints or one with its target."""
        keys = {
            **table.webhook_key(item["id"]),
            **table.webhook_index_keys(item["organization_id"], item["created_at"], item["id"]),
        }
        claim = self._register_action(
            item["organization_id"],
            "SET targets.#target = :id ADD endpoint_count :one",
            "endpoint_count < :cap AND attribute_not_exists(targets.#target)",
            {"#target": endpoint_target(item["url"], item["event_types"])},
            {":id": {"S": item["id"]}, ":one": {"N": "1"}, ":cap": {"N": str(cap)}},
        )
        try:
            self._transact([claim, self._put_action({**item, **keys}, "attribute_not_exists(pk)")])
        except VersionConflict:  # the first action's condition: the register's
            raise RegisterRefused() from None

    def update_webhook(
        self,
        webhook_id: str,
        expected_version: int,
        set_values: dict[str, Any],
        remove: tuple[str, ...] = (),
        retarget: Retarget | None = None,
    ) -> None:
        """Apply the change if the endpoint still has ``expected_version``; else :class:`VersionConflict`.
        With ``retarget``, its register entry moves in the same transaction (:class:`NameTaken` when
        another endpoint of the organization has the new target)."""
        update = self._update_request(webhook_id, expected_version, set_values, remove)
        if retarget is None:
            if not self._conditional("update_item", **update):
                raise VersionConflict()
            return
        names = {"#old": retarget.old, "#new": retarget.new}
        values = {":id": {"S": webhook_id}}
        move = self._register_action(
            retarget.organization_id,
            "SET targets.#new = :id REMOVE targets.#old",
            "attribute_not_exists(targets.#new) AND targets.#old = :id",
            names,
            values,
        )
        endpoint = {"Update": {"TableName": self.table_name, **update}}
        try:
            self._transact([endpoint, move], release_index=1)
        except GuardReleaseFailed:  # the new target is taken, or the old entry is a twin's (pre-register)
            claim = self._register_action(
                retarget.organization_id,
                "SET targets.#new = :id",
                "attribute_not_exists(targets.#new)",
                {"#new": retarget.new},
                values,
            )
            self._transact([endpoint, claim], name_claim_index=1)

    def delete_webhook(self, webhook_id: str, expected_version: int, organization_id: str, target: str) -> None:
        """Delete the endpoint if it still has ``expected_version`` and free its place in the register."""
        endpoint = {
            "Delete": {
                "TableName": self.table_name,
                "Key": to_item(table.webhook_key(webhook_id)),
                "ConditionExpression": "attribute_exists(pk) AND #version = :expected",
                "ExpressionAttributeNames": {"#version": "version"},
                "ExpressionAttributeValues": {":expected": {"N": str(expected_version)}},
            }
        }
        values = {":id": {"S": webhook_id}, ":minus": {"N": "-1"}}
        free = self._register_action(
            organization_id,
            "REMOVE targets.#target ADD endpoint_count :minus",
            "targets.#target = :id",
            {"#target": target},
            values,
        )
        try:
            self._transact([endpoint, free], release_index=1)
        except GuardReleaseFailed:  # a twin registered before the register holds the target: count only
            count = self._register_action(
                organization_id, "ADD endpoint_count :minus", "attribute_exists(pk)", {}, {":minus": values[":minus"]}
            )
            self._transact([endpoint, count])

    # --- the organization's endpoint register ------------------------------------------------------------

    def get_endpoint_register(self, organization_id: str) -> dict[str, Any] | None:
        return self._get(table.endpoint_register_key(organization_id))

    def start_endpoint_register(self, organization_id: str) -> None:
        """The register of an organization that has none, counted from its endpoints as they are (one
        ``Query``); when two start it at once, the first write stands (the same count)."""
        endpoints = self.all_webhooks(organization_id)
        targets: dict[str, str] = {}
        for endpoint in sorted(endpoints, key=lambda e: e["created_at"]):
            targets.setdefault(endpoint_target(endpoint["url"], endpoint["event_types"]), endpoint["id"])
        key = table.endpoint_register_key(organization_id)
        register = {**key, "endpoint_count": len(endpoints), "targets": targets}
        self._conditional("put_item", Item=to_item(register), ConditionExpression="attribute_not_exists(pk)")

    def _register_action(
        self,
        organization_id: str,
        expression: str,
        condition: str,
        names: dict[str, str],
        values: dict[str, Any],
    ) -> dict[str, Any]:
        update: dict[str, Any] = {
            "TableName": self.table_name,
            "Key": to_item(table.endpoint_register_key(organization_id)),
            "UpdateExpression": expression,
            "ConditionExpression": condition,
            "ExpressionAttributeValues": values,
        }
        if names:
            update["ExpressionAttributeNames"] = names
        return {"Update": update}

    def _update_request(
        self, webhook_id: str, expected_version: int, set_values: dict[str, Any], remove: tuple[str, ...]
    ) -> dict[str, Any]:
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
        return {
            "Key": to_item(table.webhook_key(webhook_id)),
            "UpdateExpression": expression,
            "ConditionExpression": "attribute_exists(pk) AND #version = :expected",
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }

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
