"""Every DynamoDB call of organization policies (``table.org_policy_key``) and of the copy of the
fields verification and the sweep need onto the organization's tokens (:data:`TOKEN_COPY`, with
``org_policy_version``), which a queued worker makes a bounded page at a time (``propagation.py``).

Why a copy: a secret names its token, not its organization, so the policy cannot be read in the
same round trip as the token; copied, it costs verification nothing (docs/performance.md, "Usage
policies"). A token created meanwhile copies the policy itself, under a ``ConditionCheck`` on the
policy's ``version`` (``tokens.repository.PolicyCheck``).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from tokensmith import table
from tokensmith.audit import DAY
from tokensmith.aws.dynamodb import (
    TableRepository,
    VersionConflict,
    decode_cursor,
    encode_cursor,
    from_item,
    is_conditional_check_failure,
    to_attribute,
    to_item,
)
from tokensmith.expiry.schedule import INACTIVITY_ATTRIBUTES, wake_attributes

# An organization without a policy item has these (a PUT replaces the whole policy: omitted = default).
POLICY_DEFAULTS: dict[str, Any] = {
    "allowed_cidrs": [],
    "max_lifetime_days": None,
    "require_expiry": False,
    "on_new_location": "notify",
    "inactivity_days": None,
    "inactivity_notice_days": [],
}
# The enforcement progress a PUT with `enforce` starts on the policy item (`enforcement_<name>`, numbers
# added to page by page), beside `enforcement` (the action and who asked), `enforcement_pages` (pages
# counted) and `enforcement_done`.
ENFORCEMENT_COUNTS = ("examined", "disabled", "revoked", "skipped")
# The policy fields each token carries a copy of (policy field → token attribute), absent when the
# policy's value is its default, so a token of an organization without a policy carries none.
TOKEN_COPY = {
    "allowed_cidrs": "org_allowed_cidrs",
    "on_new_location": "org_on_new_location",
    "inactivity_days": "org_inactivity_days",
    "inactivity_notice_days": "org_inactivity_notice_days",
}


def token_copy(policy: dict[str, Any] | None) -> dict[str, Any]:
    """The token attributes of ``policy`` (:data:`TOKEN_COPY`): each one None where the policy has
    its default (to be removed from, or left off, the token)."""
    policy = policy or {}
    return {
        attribute: None if policy.get(name, POLICY_DEFAULTS[name]) == POLICY_DEFAULTS[name] else policy[name]
        for name, attribute in TOKEN_COPY.items()
    }


# What the propagation worker reads of each token behind: what its wake-up is computed from, and what
# the copy is conditioned on (a token used, swept or changed since the read is read again).
COPY_INPUTS = (
    "id",
    "status",
    "created_at",
    "last_used_at",
    "expires_epoch",
    "wake_at",
    "notified_days",
    "org_policy_version",
    *TOKEN_COPY.values(),
    *INACTIVITY_ATTRIBUTES,
)
# Equal to what was read (absent: still absent): a token used, swept, or edited (its expiry moved
# without its wake-up moving) since is read again, so its wake-up is never computed from an old expiry.
COPY_CONDITIONS = ("status", "last_used_at", "wake_at", "expires_epoch")


def copied_attributes(
    token: dict[str, Any], policy: dict[str, Any], now_epoch: int, expiry_notice_days: tuple[int, ...]
) -> dict[str, Any]:
    """What a copy of ``policy`` writes on ``token`` (as read: :data:`COPY_INPUTS`): the
    :func:`token_copy` attributes and the wake-up they make (``expiry.schedule.wake_attributes``);
    None values mean "remove". When the inactivity fields change, the notices sent so far are forgotten
    and the revocation comes no sooner than the largest notice day from now (``inactivity_not_before``):
    a token already unused for longer than a new ``inactivity_days`` gets every notice before it goes."""
    copied = token_copy(policy)
    inactivity = ("org_inactivity_days", "org_inactivity_notice_days")
    updated = {**token, **copied}
    if any(token.get(attribute) != copied[attribute] for attribute in inactivity):
        grace = max(copied["org_inactivity_notice_days"] or [0]) * DAY
        updated["inactivity_notified_days"] = None
        updated["inactivity_not_before"] = now_epoch + grace if copied["org_inactivity_days"] else None
    return {**copied, **wake_attributes(updated, expiry_notice_days)}


@lru_cache(maxsize=1)
def default_policies() -> OrganizationPolicies:
    from tokensmith.settings import get_settings

    settings = get_settings()
    return OrganizationPolicies(settings.table_name, endpoint_url=settings.dynamodb_endpoint_url)


class OrganizationPolicies(TableRepository):
    def get_policy(self, organization_id: str) -> dict[str, Any] | None:
        """The organization's policy item (strongly consistent), None when it never had one."""
        return self._get(table.org_policy_key(organization_id))

    def put_policy(self, policy: dict[str, Any], expected_version: int | None) -> None:
        """Write ``policy`` (its ``version`` one more than ``expected_version``; None: the first)."""
        item = {**table.org_policy_key(policy["organization_id"]), **policy}
        if expected_version is None:
            condition: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(pk)"}
        else:
            condition = {
                "ConditionExpression": "version = :v",
                "ExpressionAttributeValues": {":v": {"N": str(expected_version)}},
            }
        try:
            self.client.put_item(TableName=self.table_name, Item=to_item(item), **condition)
        except Exception as error:
            if is_conditional_check_failure(error):
                raise VersionConflict() from error
            raise

    def tokens_behind(
        self, organization_id: str, version: int, limit: int, cursor: str | None = None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of the organization's listed tokens that carry an older copy of its policy (or
        none): one ``Query`` of the ``by-organization`` index reading at most ``limit`` tokens (the
        filter applies after the limit, so a page may hold fewer tokens, or none, and still have a
        next one). Returns the tokens (:data:`COPY_INPUTS` of each) and the cursor of the next page,
        None after the last."""
        names = {f"#a{i}": attribute for i, attribute in enumerate(COPY_INPUTS)}
        query = self._org_page_query(organization_id, limit, cursor)
        query["FilterExpression"] = "attribute_not_exists(org_policy_version) OR org_policy_version < :v"
        query["ProjectionExpression"] = ", ".join(names)
        query["ExpressionAttributeNames"] = names
        query["ExpressionAttributeValues"][":v"] = {"N": str(version)}
        response = self.client.query(**query)
        tokens = [from_item(item) for item in response.get("Items", []) if "id" in item]
        return tokens, self._next_cursor(response)

    def token_to_copy(self, token_id: str) -> dict[str, Any] | None:
        """The token as the copy needs it (:data:`COPY_INPUTS`), strongly consistent: read again when
        the copy found it changed since the index showed it."""
        item = self._get(table.token_key(token_id))
        return {k: item[k] for k in COPY_INPUTS if k in item} if item else None

    def token_page(
        self, organization_id: str, limit: int, cursor: str | None = None, live_at: int | None = None
    ) -> tuple[list[dict[str, Any]], str | None, int]:
        """One page of the organization's tokens, whole: one ``Query`` of the ``by-organization``
        index reading at most ``limit`` tokens, whatever the organization's size. With ``live_at``
        (epoch seconds) only the live ones, unexpired then, are returned (the filter applies after the
        limit: a page may hold fewer, or none, and still have a next one). Returns the tokens, the
        cursor of the next page (None after the last) and how many tokens the page read."""
        query = self._org_page_query(organization_id, limit, cursor)
        if live_at is not None:
            query["FilterExpression"] = (
                "#status IN (:active, :disabled) AND (attribute_not_exists(expires_epoch) OR expires_epoch > :now)"
            )
            query["ExpressionAttributeNames"] = {"#status": "status"}
            query["ExpressionAttributeValues"].update(
                {":active": {"S": "active"}, ":disabled": {"S": "disabled"}, ":now": {"N": str(live_at)}}
            )
        response = self.client.query(**query)
        items = [from_item(item) for item in response.get("Items", [])]
        return items, self._next_cursor(response), int(response.get("ScannedCount", len(items)))

    def _org_page_query(self, organization_id: str, limit: int, cursor: str | None) -> dict[str, Any]:
        query: dict[str, Any] = {
            "TableName": self.table_name,
            "IndexName": table.ORG_INDEX,
            "KeyConditionExpression": "org_pk = :org",
            "ExpressionAttributeValues": {":org": {"S": table.org_partition(organization_id)}},
            "Limit": limit,
        }
        if cursor:
            query["ExclusiveStartKey"] = decode_cursor(
                cursor, {"org_pk": table.org_partition(organization_id)}, table.ORG_INDEX_KEYS
            )
        return query

    @staticmethod
    def _next_cursor(response: dict[str, Any]) -> str | None:
        last = response.get("LastEvaluatedKey")
        return encode_cursor({k: last[k] for k in table.ORG_INDEX_KEYS}) if last else None

    def record_enforcement(
        self, organization_id: str, version: int, page: int, tally: dict[str, int], done: bool
    ) -> bool:
        """Add one page's ``tally`` (examined, disabled, revoked) to the enforcement progress of the
        policy's ``version``, once: the write is conditional on ``page`` pages counted so far, so a
        redelivered page counts nothing again. ``done``: it was the last page. False: not written
        (counted already, or a newer PUT replaced the policy)."""
        values: dict[str, Any] = {":v": {"N": str(version)}, ":page": {"N": str(page)}, ":next": {"N": str(page + 1)}}
        additions = []
        for name in ENFORCEMENT_COUNTS:
            values[f":{name}"] = {"N": str(tally.get(name, 0))}
            additions.append(f"enforcement_{name} :{name}")
        assignments = ["enforcement_pages = :next"]
        if done:
            assignments.append("enforcement_done = :t")
            values[":t"] = {"BOOL": True}
        return self._conditional(
            "update_item",
            Key=to_item(table.org_policy_key(organization_id)),
            UpdateExpression="SET " + ", ".join(assignments) + " ADD " + ", ".join(additions),
            ConditionExpression="version = :v AND enforcement_pages = :page",
            ExpressionAttributeValues=values,
        )

    def mark_propagated(self, organization_id: str, version: int) -> bool:
        """Record on the policy item that every token carries ``version`` (unless a newer PUT replaced
        it meanwhile: that one is not propagated yet)."""
        return self._conditional(
            "update_item",
            Key=to_item(table.org_policy_key(organization_id)),
            UpdateExpression="SET propagated = :t",
            ConditionExpression="version = :v",
            ExpressionAttributeValues={":t": {"BOOL": True}, ":v": {"N": str(version)}},
        )

    def copy_to_token(
        self, token: dict[str, Any], policy: dict[str, Any], now_epoch: int, expiry_notice_days: tuple[int, ...]
    ) -> bool:
        """The policy's :func:`copied_attributes` onto one token (as read), unless it already has this
        version or a newer one (an older PUT's copy never overwrites a newer one), or it was used,
        swept or changed since it was read (False: read it again). No ``version`` bump of the token:
        a policy of its organization is not an edit of the token."""
        names: dict[str, str] = {}
        values: dict[str, Any] = {":v": to_attribute(policy["version"])}
        assignments, removals = ["org_policy_version = :v"], []
        copied = copied_attributes(token, policy, now_epoch, expiry_notice_days)
        for index, (attribute, value) in enumerate(copied.items()):
            names[f"#w{index}"] = attribute
            if value is None:
                removals.append(f"#w{index}")
            else:
                values[f":w{index}"] = to_attribute(value)
                assignments.append(f"#w{index} = :w{index}")
        conditions = ["attribute_exists(pk)", "(attribute_not_exists(org_policy_version) OR org_policy_version < :v)"]
        for index, attribute in enumerate(COPY_CONDITIONS):
            names[f"#c{index}"] = attribute
            if token.get(attribute) is None:
                conditions.append(f"attribute_not_exists(#c{index})")
            else:
                values[f":c{index}"] = to_attribute(token[attribute])
                conditions.append(f"#c{index} = :c{index}")
        expression = "SET " + ", ".join(assignments) + (" REMOVE " + ", ".join(removals) if removals else "")
        return self._conditional(
            "update_item",
            Key=to_item(table.token_key(token["id"])),
            UpdateExpression=expression,
            ConditionExpression=" AND ".join(conditions),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )
