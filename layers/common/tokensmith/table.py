"""The one table: every key prefix, key builder and key parser. No other module writes a key.

| item           | pk                                  | sk                                        |
|----------------|-------------------------------------|-------------------------------------------|
| token          | ``TOKEN#<id>``                      | ``TOKEN``                                 |
| audit event    | ``TOKEN#<id>``                      | ``EVENT#<iso time>#<random>``             |
| name guard     | ``NAME#<org>#<owner or ->#<name>``  | ``NAME``                                  |
| console session| ``SESSION#<digest of its secret>``  | ``SESSION``                               |
| webhook        | ``WEBHOOK#<id>``                    | ``WEBHOOK``                               |
| delivery entry | ``WEBHOOK#<id>``                    | ``DELIVERY#<iso time>#<message id>#<n>``  |
| rate window    | ``RATE#T#<token>#<limit>#<s>[#<shard>]``, shared: ``RATE#O#<org>#<owner>#…`` | ``<window start>`` |
| credits        | ``CREDITS#<token id>``              | ``CREDITS``                               |
| org policy     | ``ORGPOLICY#<org>``                 | ``POLICY``                                |
| endpoint register | ``ENDPOINTS#<org>``              | ``ENDPOINTS``                             |

Indexes:

- ``by-organization``: ``org_pk`` = ``ORG#<org>`` (tokens) or ``WEBHOOKS#<org>`` (webhook endpoints),
  ``org_sk`` = ``<created_at with nanoseconds>#<id>``: an organization's tokens, or its endpoints,
  newest first to the nanosecond.
- ``by-owner`` (``owner_pk`` = ``ORG#<org>#OWNER#<owner, empty for none>``), ``by-status``
  (``status_pk`` = ``ORG#<org>#STATUS#<stored status>``) and ``by-owner-status`` (``owner_status_pk`` =
  ``ORG#<org>#OWNER#<owner>#STATUS#<stored status>``), all sorted by the same ``org_sk``: one
  partition per filter combination, so a filtered page is one ``Query`` reading only matching items.
  Neither organization ids nor owners can contain ``#``, so no two partitions collide. A deleted
  token drops all five attributes and so leaves every list.
- ``by-expiry`` (sparse): ``expiry_pk`` = ``ORG#<org>`` on live tokens with an expiry, sorted by
  ``expires_epoch``: ``expires_epoch <= now`` finds the tokens that time has expired but the sweep
  has not stamped yet (the ``expired`` list merges them in); the stamp drops the attribute.
- ``due`` (sparse): ``wake_pk`` = ``WAKE#<shard>``, ``wake_at`` = the next instant the expiry sweep
  must look at the token.

Keys here are plain strings (``{"pk": ..., "sk": ...}``); ``aws.dynamodb`` turns them into attribute
values. Plain code without imports: the authorizer's hot path uses it.
"""

from __future__ import annotations

import uuid

TOKEN_SK = "TOKEN"
NAME_SK = "NAME"
SESSION_SK = "SESSION"
WEBHOOK_SK = "WEBHOOK"
EVENT_PREFIX = "EVENT#"
DELIVERY_PREFIX = "DELIVERY#"
_TOKEN = "TOKEN#"
_NAME = "NAME#"
_SESSION = "SESSION#"
_WEBHOOK = "WEBHOOK#"
_ORG = "ORG#"
_WEBHOOKS = "WEBHOOKS#"
_WAKE = "WAKE#"
_RATE = "RATE#"
_CREDITS = "CREDITS#"
_ORG_POLICY = "ORGPOLICY#"
CREDITS_SK = "CREDITS"
POLICY_SK = "POLICY"
_ENDPOINTS = "ENDPOINTS#"
ENDPOINTS_SK = "ENDPOINTS"

ORG_INDEX = "by-organization"
DUE_INDEX = "due"
ORG_INDEX_KEYS = ("pk", "sk", "org_pk", "org_sk")  # what a cursor into by-organization holds
OWNER_INDEX = "by-owner"
STATUS_INDEX = "by-status"
OWNER_STATUS_INDEX = "by-owner-status"
EXPIRY_INDEX = "by-expiry"
EXPIRY_PARTITION = "expiry_pk"  # on live tokens with an expiry only; sorted by expires_epoch
TOKEN_LIST_SORT = "org_sk"  # the sort key of every token list index
TOKEN_LIST_PARTITIONS = ("org_pk", "owner_pk", "status_pk", "owner_status_pk")
_OWNER = "#OWNER#"
_STATUS = "#STATUS#"
# (filters by owner, filters by status) -> (index, its partition attribute)
_TOKEN_LIST_INDEXES = {
    (False, False): (ORG_INDEX, "org_pk"),
    (True, False): (OWNER_INDEX, "owner_pk"),
    (False, True): (STATUS_INDEX, "status_pk"),
    (True, True): (OWNER_STATUS_INDEX, "owner_status_pk"),
}


def is_uuid(value: str) -> bool:
    """Ids are canonical lower-case UUIDs; anything else cannot name an item (a 404 without a read)."""
    try:
        return len(value) == 36 and str(uuid.UUID(value)) == value.lower()
    except ValueError:
        return False


# --- tokens and their audit events --------------------------------------------------------------------


def token_partition(token_id: str) -> str:
    return f"{_TOKEN}{token_id}"


def token_key(token_id: str) -> dict[str, str]:
    return {"pk": token_partition(token_id), "sk": TOKEN_SK}


def token_sort_key(created_at: str, nanos: int, token_id: str) -> str:
    """``org_sk`` of a token: ``created_at`` (``...Z``, to the second) with the nanoseconds of its
    creation, then the id, so that tokens created within one second still list newest first."""
    return f"{created_at[:-1]}.{nanos:09d}Z#{token_id}"


def is_token_sort_key(value: object) -> bool:
    """True for an ``org_sk`` of the current shape (``2026-01-02T03:04:05.123456789Z#<id>``); items
    written before nanoseconds carry ``<created_at>#<id>`` until their next write or the backfill."""
    return isinstance(value, str) and len(value) > 31 and value[19] == "." and value[29:31] == "Z#"


def token_list_partitions(organization_id: str, owner: str | None, status: str) -> dict[str, str]:
    """The partitions of a token in each list index: its organization, its owner (none: empty), its
    stored status, its owner and status."""
    organization = org_partition(organization_id)
    by_owner = f"{organization}{_OWNER}{owner or ''}"
    return {
        "org_pk": organization,
        "owner_pk": by_owner,
        "status_pk": f"{organization}{_STATUS}{status}",
        "owner_status_pk": f"{by_owner}{_STATUS}{status}",
    }


def token_list_index(organization_id: str, owner: str | None, status: str | None) -> tuple[str, str, str]:
    """Which index and partition a token list reads: ``(index name, partition attribute, value)``.
    ``owner`` None lists every owner, ``""`` the tokens without an owner; ``status`` None every status."""
    index, attribute = _TOKEN_LIST_INDEXES[(owner is not None, status is not None)]
    partitions = token_list_partitions(organization_id, owner, status or "")
    return index, attribute, partitions[attribute]


def expiry_partition(organization_id: str) -> str:
    """The ``by-expiry`` partition of an organization's live tokens that have an expiry."""
    return org_partition(organization_id)


def token_list_cursor_keys(partition_attribute: str) -> tuple[str, str, str, str]:
    """What a cursor into a token list index holds: the table key, the partition and the sort key."""
    return ("pk", "sk", partition_attribute, TOKEN_LIST_SORT)


def org_partition(organization_id: str) -> str:
    return f"{_ORG}{organization_id}"


def is_token_item(item: dict[str, object]) -> bool:
    return item.get("sk") == TOKEN_SK and str(item.get("pk", "")).startswith(_TOKEN)


def event_key(token_id: str, occurred_at: str, nanos: int, nonce: str) -> dict[str, str]:
    """An audit event in its token's partition, sorted by time: ``occurred_at`` (``...Z``) with
    nanoseconds and a random nonce, so two events of one token never collide."""
    return {"pk": token_partition(token_id), "sk": f"{EVENT_PREFIX}{occurred_at[:-1]}.{nanos:09d}Z#{nonce}"}


def is_event_item(item: dict[str, object]) -> bool:
    return str(item.get("sk", "")).startswith(EVENT_PREFIX)


def event_id(item: dict[str, object]) -> str:
    """The id callers see of an audit event: its sort key without the prefix."""
    return str(item["sk"]).removeprefix(EVENT_PREFIX)


def name_guard_pk(organization_id: str, owner: str | None, name: str) -> str:
    """A live token's claim on its name, unique per organization and owner, case-insensitive."""
    return f"{_NAME}{organization_id}#{owner or '-'}#{name.casefold()}"


def name_guard_key(guard_pk: str) -> dict[str, str]:
    return {"pk": guard_pk, "sk": NAME_SK}


def wake_partition(shard: int) -> str:
    return f"{_WAKE}{shard}"


# --- console sessions ------------------------------------------------------------------------------------


def session_key(session_digest: str) -> dict[str, str]:
    return {"pk": f"{_SESSION}{session_digest}", "sk": SESSION_SK}


# --- webhook endpoints and their delivery logs -----------------------------------------------------------


def webhook_partition(webhook_id: str) -> str:
    return f"{_WEBHOOK}{webhook_id}"


def webhook_key(webhook_id: str) -> dict[str, str]:
    return {"pk": webhook_partition(webhook_id), "sk": WEBHOOK_SK}


def webhooks_partition(organization_id: str) -> str:
    """The ``by-organization`` partition of an organization's endpoints (no token uses it)."""
    return f"{_WEBHOOKS}{organization_id}"


def webhook_index_keys(organization_id: str, created_at: str, webhook_id: str) -> dict[str, str]:
    return {"org_pk": webhooks_partition(organization_id), "org_sk": f"{created_at}#{webhook_id}"}


def endpoint_register_key(organization_id: str) -> dict[str, str]:
    """The organization's endpoint register: how many endpoints it has, and their targets."""
    return {"pk": f"{_ENDPOINTS}{organization_id}", "sk": ENDPOINTS_SK}


def delivery_key(webhook_id: str, attempted_at: str, nanos: int, message_id: str, attempt: int) -> dict[str, str]:
    """A delivery attempt in its endpoint's partition, sorted by time to the nanosecond."""
    at = f"{attempted_at[:-1]}.{nanos:09d}Z"
    return {"pk": webhook_partition(webhook_id), "sk": f"{DELIVERY_PREFIX}{at}#{message_id}#{attempt:02d}"}


def delivery_id(item: dict[str, object]) -> str:
    return str(item["sk"]).removeprefix(DELIVERY_PREFIX)


# --- usage counters and organization policies (issue 15) ----------------------------------------------


def rate_window_key(
    subject: str, limit_name: str, duration_seconds: int, window_start: int, shard: int = 0
) -> dict[str, str]:
    """One fixed window of one rate limit: a small item of its own (1 write unit per count), so a
    counted token's own item is never the hot one. ``subject`` comes from :func:`rate_subject`. The
    duration is part of the key: two tokens of one owner sharing a limit name with other durations
    never count in (or expire) each other's window. A large window is counted in shards
    (``tokens.window_shards``): shard 0 is the unsharded window's item, the others are partitions of
    their own (``#<shard>``), so that each takes its own 1,000 writes a second."""
    suffix = f"#{shard}" if shard else ""
    return {"pk": f"{_RATE}{subject}#{limit_name}#{duration_seconds}{suffix}", "sk": str(window_start)}


def rate_subject(token_id: str, organization_id: str, owner: str | None, shared: str) -> str:
    """Who a window counts: the token alone, or (``shared: owner``) every token of its owner. An
    owner-less token's ``owner`` windows are its own (there is no person to share them with)."""
    if shared == "owner" and owner:
        return f"O#{organization_id}#{owner}"
    return f"T#{token_id}"


def credits_key(token_id: str) -> dict[str, str]:
    return {"pk": f"{_CREDITS}{token_id}", "sk": CREDITS_SK}


def org_policy_key(organization_id: str) -> dict[str, str]:
    return {"pk": f"{_ORG_POLICY}{organization_id}", "sk": POLICY_SK}
