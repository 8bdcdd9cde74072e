"""The one table: every key prefix, key builder and key parser. No other module writes a key.

| item           | pk                                  | sk                                        |
|----------------|-------------------------------------|-------------------------------------------|
| token          | ``TOKEN#<id>``                      | ``TOKEN``                                 |
| audit event    | ``TOKEN#<id>``                      | ``EVENT#<iso time>#<random>``             |
| name guard     | ``NAME#<org>#<owner or ->#<name>``  | ``NAME``                                  |
| console session| ``SESSION#<digest of its secret>``  | ``SESSION``                               |
| webhook        | ``WEBHOOK#<id>``                    | ``WEBHOOK``                               |
| delivery entry | ``WEBHOOK#<id>``                    | ``DELIVERY#<iso time>#<message id>#<n>``  |
| rate window    | ``RATE#T#<token>#<limit>``, shared: ``RATE#O#<org>#<owner>#<limit>`` | ``<window start, epoch s>`` |
| credits        | ``CREDITS#<token id>``              | ``CREDITS``                               |
| org policy     | ``ORGPOLICY#<org>``                 | ``POLICY``                                |

Indexes:

- ``by-organization``: ``org_pk`` = ``ORG#<org>`` (tokens) or ``WEBHOOKS#<org>`` (webhook endpoints),
  ``org_sk`` = ``<created_at>#<id>``: an organization's tokens, or its endpoints, newest first. A
  deleted token drops both attributes and so leaves every list.
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

ORG_INDEX = "by-organization"
DUE_INDEX = "due"
ORG_INDEX_KEYS = ("pk", "sk", "org_pk", "org_sk")  # what a cursor into by-organization holds


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


def token_index_keys(organization_id: str, created_at: str, token_id: str) -> dict[str, str]:
    """``org_pk``/``org_sk`` of a token: its place in its organization's list, newest first."""
    return {"org_pk": org_partition(organization_id), "org_sk": f"{created_at}#{token_id}"}


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


def delivery_key(webhook_id: str, attempted_at: str, message_id: str, attempt: int) -> dict[str, str]:
    return {"pk": webhook_partition(webhook_id), "sk": f"{DELIVERY_PREFIX}{attempted_at}#{message_id}#{attempt:02d}"}


def delivery_id(item: dict[str, object]) -> str:
    return str(item["sk"]).removeprefix(DELIVERY_PREFIX)


# --- usage counters and organization policies (issue 15) ----------------------------------------------


def rate_window_key(subject: str, limit_name: str, window_start: int) -> dict[str, str]:
    """One fixed window of one rate limit: a small item of its own (1 write unit per count), so a
    counted token's own item is never the hot one. ``subject`` comes from :func:`rate_subject`."""
    return {"pk": f"{_RATE}{subject}#{limit_name}", "sk": str(window_start)}


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
