"""In-memory stand-ins for what the services talk to: the repositories (which record every write and
honour the conditions the real ones express), KMS and the clock. No moto, no HTTP, no sockets.

A test reads the change an operation would write from ``repository.writes`` (a :class:`TokenCreated`
or a :class:`TokenChanged`: the item or the ``TokenChange``, the audit event, the name claim) and the
table's state from ``repository.tokens``, ``repository.guards``, ``repository.sessions``.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from tests.unit.fake_usage import UsageStore
from tokensmith import table
from tokensmith.aws.dynamodb import ExtraUpdate, InvalidCursor, NameTaken, VersionConflict
from tokensmith.organizations.propagation import PropagationStep, read_message
from tokensmith.tokens.lifecycle import LIVE_STATUSES, effective_status
from tokensmith.tokens.listing import OWNERLESS
from tokensmith.tokens.repository import NameClaim, TokenChange, token_item
from tokensmith.webhooks.endpoint_register import RegisterRefused, Retarget, endpoint_target


class FakeClock:
    """``now`` for the services: a fixed instant that a test moves forward."""

    def __init__(self, start: datetime) -> None:
        self.moment = start

    def __call__(self) -> datetime:
        return self.moment

    def advance(self, seconds: float) -> None:
        self.moment += timedelta(seconds=seconds)


# --- what the token repository was asked to write -----------------------------------------------------


@dataclass
class TokenCreated:
    item: dict[str, Any]
    event: dict[str, Any]
    claim: NameClaim | None


@dataclass
class TokenChanged:
    change: TokenChange
    event: dict[str, Any]


@dataclass
class NetworkRecorded:
    change: TokenChange
    event: dict[str, Any] | None


@dataclass
class LastUseRecorded:
    token_id: str
    at: str
    ip: str | None
    user_agent: str | None
    wake: dict[str, Any] = field(default_factory=dict)  # the inactivity wake-up moved by this use


@dataclass
class SessionCreated:
    session: dict[str, Any]
    event: dict[str, Any]


@dataclass
class SessionEnded:
    session_digest: str
    event: dict[str, Any]


@dataclass(frozen=True)
class EventPut:
    """An audit event written alone (a refused console sign-in)."""

    event: dict[str, Any]


def _stored(values: dict[str, Any]) -> dict[str, Any]:
    """As DynamoDB keeps an item: a copy, without the ``None`` values (``to_item`` drops them)."""
    return {k: copy.deepcopy(v) for k, v in values.items() if v is not None}


def _path(expression: str, extra: ExtraUpdate) -> list[str]:
    """``networks.#name.last_seen_at`` as the attribute names it stands for."""
    return [extra.names.get(part, part) for part in expression.strip().split(".")]


def _extra_holds(item: dict[str, Any], extra: ExtraUpdate) -> bool:
    """The conditions of an ``ExtraUpdate`` (``tokens.networks``: attribute_exists, attribute_not_exists,
    size = :value) on ``item``, as DynamoDB evaluates them."""

    def lookup(path: list[str]) -> Any:
        value: Any = item
        for part in path:
            if not isinstance(value, dict) or part not in value:
                return None
            value = value[part]
        return value

    for condition in extra.conditions:
        function, _, rest = condition.partition("(")
        inner, _, comparison = rest.partition(")")
        value = lookup(_path(inner, extra))
        if function == "attribute_exists" and value is None:
            return False
        if function == "attribute_not_exists" and value is not None:
            return False
        if function == "size":
            operator, placeholder = comparison.split()
            bound = int(extra.values[placeholder]["N"])
            if value is None or not (len(value) == bound if operator == "=" else len(value) < bound):
                return False
    return True


def _apply_extra(item: dict[str, Any], extra: ExtraUpdate | None) -> None:
    """The assignments (``path = :value``, ``path = if_not_exists(path, :value)``) and removals of an
    ``ExtraUpdate`` on ``item``."""
    from tokensmith.aws.dynamodb import from_attribute

    if extra is None:
        return
    for assignment in extra.assignments:
        target, _, source = assignment.partition("=")
        *parents, last = _path(target, extra)
        holder = item
        for part in parents:
            holder = holder[part]
        source = source.strip()
        if source.startswith("if_not_exists("):  # if_not_exists(path, :value): only where there is none
            placeholder = source.removesuffix(")").split(",")[1].strip()
            holder.setdefault(last, from_attribute(extra.values[placeholder]))
        else:
            holder[last] = from_attribute(extra.values[source])
    for removal in extra.removals:
        *parents, last = _path(removal, extra)
        holder = item
        for part in parents:
            holder = holder[part]
        holder.pop(last, None)


class RecordingRepository(UsageStore):
    """The token and session repository (``TokenRepository``, ``SessionRepository``) in memory; its
    methods have the real ones' signatures, on purpose (the services call either).

    Every write is appended to :attr:`writes` and applied only when the conditions of the real
    repository hold: a token's ``version`` (``VersionConflict``), a name guard held by another live
    token (``NameTaken``; a guard whose ``live_until`` has passed is free), a guard release that finds
    the guard taken over (dropped, as the real one does), the last-use and session-touch intervals."""

    def __init__(self) -> None:
        super().__init__()
        self.tokens: dict[str, dict[str, Any]] = {}
        self.events: list[dict[str, Any]] = []  # every audit event written, oldest first
        self.guards: dict[str, dict[str, Any]] = {}  # name guard pk -> {token_id, live_until}
        self.sessions: dict[str, dict[str, Any]] = {}  # session digest -> item
        self.writes: list[Any] = []
        self.reads: list[str] = []  # the token ids read with get_token
        self.batch_reads: list[list[str]] = []  # the token ids of each get_tokens call
        self.list_partitions: list[str] = []  # the index partition each list_tokens read
        self.consumed_read_units = 0.0  # the sweep reads it (the real repository counts DynamoDB's)
        self._lost_races: dict[str, int] = {}  # token id -> updates still to lose

    # --- what tests arrange and read ----------------------------------------------------------------------

    def forget_writes(self) -> None:
        """Start recording afresh (after a test's Given)."""
        self.writes.clear()
        self.reads.clear()
        self.batch_reads.clear()

    def changes(self) -> list[TokenChanged]:
        return [w for w in self.writes if isinstance(w, TokenChanged)]

    def only_change(self) -> TokenChanged:
        """The one token change written since the Given (fails when there were none or several)."""
        (changed,) = self.changes()
        return changed

    def changed_elsewhere(self, token_id: str, times: int = 1) -> None:
        """Another request changes the token (``version`` + 1) just before each of the next ``times``
        updates is applied: those updates lose the race."""

        self._lost_races[token_id] = times

    # --- reads ---------------------------------------------------------------------------------------------

    def get_token(self, token_id: str) -> dict[str, Any] | None:
        self.reads.append(token_id)
        item = self.tokens.get(token_id)
        return copy.deepcopy(item) if item is not None else None

    def get_tokens(self, token_ids: list[str]) -> list[dict[str, Any]]:
        self.batch_reads.append(list(token_ids))
        return [copy.deepcopy(self.tokens[i]) for i in dict.fromkeys(token_ids) if i in self.tokens]

    def list_tokens(
        self,
        organization_id: str,
        limit: int,
        cursor: str | None = None,
        status: str | None = None,
        owner: str | None = None,
        now_epoch: int = 0,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """The real repository's key choice (``table.token_list_index``) over the index attributes the
        change machinery wrote; time's filter on the live statuses, and the ``expired`` list's merge of
        the tokens of ``by-expiry`` that time has expired, as the real one."""
        owner_key = "" if owner == OWNERLESS else owner
        _, attribute, partition = table.token_list_index(organization_id, owner_key, status)

        def listed(token: dict[str, Any]) -> bool:
            if token.get(attribute) == partition:
                return status not in LIVE_STATUSES or effective_status(token, now_epoch) == status
            overdue = token.get(table.EXPIRY_PARTITION) == table.expiry_partition(organization_id) and (
                token["expires_epoch"] <= now_epoch
            )
            owned = owner_key is None or token.get("owner", "") == owner_key
            return status == "expired" and overdue and owned

        self.list_partitions.append(partition)
        return _page(self.tokens.values(), None, partition, table.TOKEN_LIST_SORT, limit, cursor, listed)

    def list_events(
        self, token_id: str, limit: int, cursor: str | None = None
    ) -> tuple[list[dict[str, Any]], str | None]:
        return _page(self.events, "pk", table.token_partition(token_id), "sk", limit, cursor)

    def due_tokens(
        self, shard: int, now_epoch: int, start: dict[str, Any] | None = None, page_size: int = 100
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        partition = table.wake_partition(shard)
        due = [t for t in self.tokens.values() if t.get("wake_pk") == partition and t["wake_at"] <= now_epoch]
        return [copy.deepcopy(t) for t in sorted(due, key=lambda t: t["wake_at"])], None

    # --- token writes --------------------------------------------------------------------------------------

    def create_token(
        self,
        item: dict[str, Any],
        event: dict[str, Any],
        claim_name: NameClaim | None,
        grant_credits: Any = None,
        policy_check: Any = None,
    ) -> None:
        self.writes.append(TokenCreated(copy.deepcopy(item), copy.deepcopy(event), claim_name))
        if item["id"] in self.tokens:
            raise VersionConflict()
        self.check_policy(policy_check)
        if claim_name is not None:
            self._check_claim(claim_name)
        self.tokens[item["id"]] = _stored(token_item(item))
        self.events.append(_stored(event))
        self.grant(item["id"], grant_credits)
        if claim_name is not None:
            self._take(claim_name)

    def update_token(self, change: TokenChange, event: dict[str, Any] | None) -> None:
        self.writes.append(TokenChanged(change, copy.deepcopy(event)))
        if self._lost_races.get(change.token_id, 0) > 0:
            self._lost_races[change.token_id] -= 1
            self.tokens[change.token_id]["version"] += 1
        current = self.tokens.get(change.token_id)
        if current is None:
            raise VersionConflict()
        if change.expected_version is not None and current.get("version") != change.expected_version:
            raise VersionConflict()
        if any(current.get(k) != v for k, v in change.expect.items()):
            raise VersionConflict()
        if change.due_by is not None and ("expires_epoch" not in current or current["expires_epoch"] > change.due_by):
            raise VersionConflict()
        if change.claim_name is not None:
            self._check_claim(change.claim_name)
        if self.grant_refused(change.token_id, change.grant_credits):
            raise VersionConflict()
        self.check_policy(change.policy_check)
        # all conditions hold: the transaction is applied as a whole
        current.update(_stored(change.set_values))
        for attribute in change.remove:
            current.pop(attribute, None)
        if change.increment_version:
            current["version"] += 1
        if event is not None:
            self.events.append(_stored(event))
        self.grant(change.token_id, change.grant_credits, change.credits_lifetime)
        if change.claim_name is not None:
            self._take(change.claim_name)
        if change.release_name is not None:
            guard = self.guards.get(change.release_name)
            if guard is None or guard["token_id"] == change.token_id:  # else taken over: the release is dropped
                self.guards.pop(change.release_name, None)

    def record_last_use(
        self,
        token_id: str,
        at: str,
        stale_before: str,
        ip: str | None,
        user_agent: str | None,
        wake: dict[str, Any] | None = None,
        extra: ExtraUpdate | None = None,
    ) -> bool:
        current = self.tokens.get(token_id)
        if current is None or current.get("last_used_at", "") >= stale_before:
            return False
        if extra is not None and not _extra_holds(current, extra):
            return False
        _apply_extra(current, extra)
        self.writes.append(LastUseRecorded(token_id, at, ip, user_agent, dict(wake or {})))
        current["last_used_at"] = at
        for attribute, value in (("last_used_ip", ip), ("last_used_user_agent", user_agent)):
            if value:
                current[attribute] = value[:512]
            else:
                current.pop(attribute, None)
        for attribute, value in (wake or {}).items():
            if value is None:
                current.pop(attribute, None)
            else:
                current[attribute] = copy.deepcopy(value)
        return True

    def record_network(self, change: TokenChange, event: dict[str, Any] | None) -> bool:
        """``tokens.networks``' conditional write: False (nothing written) when a condition fails."""
        self.writes.append(NetworkRecorded(change, copy.deepcopy(event)))
        current = self.tokens.get(change.token_id)
        if current is None or (change.expected_version is not None and current["version"] != change.expected_version):
            return False
        if change.extra is not None and not _extra_holds(current, change.extra):
            return False
        current.update(_stored(change.set_values))
        for attribute in change.remove:
            current.pop(attribute, None)
        if change.increment_version:
            current["version"] += 1
        _apply_extra(current, change.extra)
        if event is not None:
            self.events.append(_stored(event))
        return True

    def _check_claim(self, claim: NameClaim) -> None:
        guard = self.guards.get(claim.pk)
        if guard is None or guard["token_id"] == claim.token_id:
            return
        live_until = guard.get("live_until")
        if live_until is not None and live_until < claim.now:
            return  # held by a token whose life has ended: free
        raise NameTaken()

    def _take(self, claim: NameClaim) -> None:
        self.guards[claim.pk] = _stored({"token_id": claim.token_id, "live_until": claim.live_until})

    # --- sessions ------------------------------------------------------------------------------------------

    def get_token_and_session(
        self, token_id: str, session_digest: str
    ) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        return self.get_token(token_id), self.get_session(session_digest)

    def get_session(self, session_digest: str) -> dict[str, Any] | None:
        session = self.sessions.get(session_digest)
        return copy.deepcopy(session) if session is not None else None

    def create_session(self, item: dict[str, Any], event: dict[str, Any]) -> None:
        self.writes.append(SessionCreated(copy.deepcopy(item), copy.deepcopy(event)))
        if item["session_digest"] in self.sessions:
            raise VersionConflict()
        self.sessions[item["session_digest"]] = _stored({**item, **table.session_key(item["session_digest"])})
        self.events.append(_stored(event))

    def touch_session(self, session_digest: str, seen_epoch: int, purge_at: int, stale_before: int) -> bool:
        session = self.sessions.get(session_digest)
        if session is None or not session["last_seen_epoch"] < stale_before:
            return False
        session.update(last_seen_epoch=seen_epoch, purge_at=purge_at)
        return True

    def put_event(self, event: dict[str, Any]) -> None:
        self.writes.append(EventPut(copy.deepcopy(event)))
        self.events.append(_stored(event))

    def delete_session(self, session_digest: str, event: dict[str, Any]) -> bool:
        if session_digest not in self.sessions:
            return False
        self.writes.append(SessionEnded(session_digest, copy.deepcopy(event)))
        del self.sessions[session_digest]
        self.events.append(_stored(event))
        return True


# --- webhooks ------------------------------------------------------------------------------------------


@dataclass
class WebhookWrite:
    operation: str  # "create", "update", "delete"
    webhook_id: str
    expected_version: int | None = None
    set_values: dict[str, Any] = field(default_factory=dict)
    remove: tuple[str, ...] = ()


class RecordingWebhookRepository:
    """``WebhookRepository`` in memory: every write recorded; a stale ``expected_version`` (or a
    vanished endpoint) is a ``VersionConflict``, as the real conditions say."""

    def __init__(self) -> None:
        self.webhooks: dict[str, dict[str, Any]] = {}
        self.deliveries: list[dict[str, Any]] = []
        self.registers: dict[str, dict[str, Any]] = {}  # organization -> {endpoint_count, targets}
        self.writes: list[WebhookWrite] = []
        self._lost_races: set[str] = set()

    def forget_writes(self) -> None:
        self.writes.clear()

    def changed_elsewhere(self, webhook_id: str) -> None:
        """Another request changes the endpoint (``version`` + 1) just before the next write of it."""
        self._lost_races.add(webhook_id)

    def get_webhook(self, webhook_id: str) -> dict[str, Any] | None:
        item = self.webhooks.get(webhook_id)
        return copy.deepcopy(item) if item is not None else None

    def list_webhooks(
        self, organization_id: str, limit: int, cursor: str | None = None
    ) -> tuple[list[dict[str, Any]], str | None]:
        partition = table.webhooks_partition(organization_id)
        return _page(self.webhooks.values(), "org_pk", partition, "org_sk", limit, cursor)

    def list_deliveries(
        self, webhook_id: str, limit: int, cursor: str | None = None
    ) -> tuple[list[dict[str, Any]], str | None]:
        return _page(self.deliveries, "pk", table.webhook_partition(webhook_id), "sk", limit, cursor)

    def create_webhook(self, item: dict[str, Any], cap: int) -> None:
        self.writes.append(WebhookWrite("create", item["id"], set_values=copy.deepcopy(item)))
        register = self.registers.get(item["organization_id"])
        target = endpoint_target(item["url"], item["event_types"])
        if register is None or register["endpoint_count"] >= cap or target in register["targets"]:
            raise RegisterRefused()
        if item["id"] in self.webhooks:
            raise VersionConflict()
        keys = {
            **table.webhook_key(item["id"]),
            **table.webhook_index_keys(item["organization_id"], item["created_at"], item["id"]),
        }
        self.webhooks[item["id"]] = _stored({**item, **keys})
        register["endpoint_count"] += 1
        register["targets"][target] = item["id"]

    def update_webhook(
        self,
        webhook_id: str,
        expected_version: int,
        set_values: dict[str, Any],
        remove: tuple[str, ...] = (),
        retarget: Retarget | None = None,
    ) -> None:
        self.writes.append(WebhookWrite("update", webhook_id, expected_version, copy.deepcopy(set_values), remove))
        current = self._current(webhook_id, expected_version)
        if retarget is not None:
            targets = self.registers[retarget.organization_id]["targets"]
            if retarget.new in targets:
                raise NameTaken()
            if targets.get(retarget.old) == webhook_id:
                del targets[retarget.old]
            targets[retarget.new] = webhook_id
        current.update(_stored(set_values))
        for attribute in remove:
            current.pop(attribute, None)

    def delete_webhook(self, webhook_id: str, expected_version: int, organization_id: str, target: str) -> None:
        self.writes.append(WebhookWrite("delete", webhook_id, expected_version))
        self._current(webhook_id, expected_version)
        del self.webhooks[webhook_id]
        register = self.registers[organization_id]
        register["endpoint_count"] -= 1
        if register["targets"].get(target) == webhook_id:
            del register["targets"][target]

    def get_endpoint_register(self, organization_id: str) -> dict[str, Any] | None:
        register = self.registers.get(organization_id)
        return copy.deepcopy(register) if register is not None else None

    def start_endpoint_register(self, organization_id: str) -> None:
        partition = table.webhooks_partition(organization_id)
        endpoints = [w for w in self.webhooks.values() if w["org_pk"] == partition]
        endpoints.sort(key=lambda w: w["created_at"])
        targets: dict[str, str] = {}
        for endpoint in endpoints:
            targets.setdefault(endpoint_target(endpoint["url"], endpoint["event_types"]), endpoint["id"])
        self.registers.setdefault(organization_id, {"endpoint_count": len(endpoints), "targets": targets})

    def _current(self, webhook_id: str, expected_version: int) -> dict[str, Any]:
        if webhook_id in self._lost_races:
            self._lost_races.discard(webhook_id)
            self.webhooks[webhook_id]["version"] += 1
        current = self.webhooks.get(webhook_id)
        if current is None or current["version"] != expected_version:
            raise VersionConflict()
        return current


class FakeKms:
    """KMS's ``encrypt``/``decrypt`` bound to an encryption context, as the real service binds them: a
    ciphertext decrypts only with the context it was made with. Not encryption, only a record."""

    def __init__(self) -> None:
        self.encrypted: list[dict[str, Any]] = []
        self._plaintexts: dict[bytes, tuple[bytes, dict[str, str]]] = {}

    def encrypt(self, KeyId: str, Plaintext: bytes, EncryptionContext: dict[str, str]) -> dict[str, Any]:  # noqa: N803
        self.encrypted.append({"KeyId": KeyId, "EncryptionContext": EncryptionContext})
        blob = json.dumps({"key": KeyId, "context": EncryptionContext, "n": len(self.encrypted)}).encode()
        self._plaintexts[blob] = (Plaintext, EncryptionContext)
        return {"CiphertextBlob": blob}

    def decrypt(self, CiphertextBlob: bytes, EncryptionContext: dict[str, str]) -> dict[str, Any]:  # noqa: N803
        plaintext, context = self._plaintexts.get(CiphertextBlob, (None, None))
        if plaintext is None or context != EncryptionContext:
            raise ValueError("InvalidCiphertextException")
        return {"Plaintext": plaintext}


def _page(
    items: Iterable[dict[str, Any]],
    partition_key: str | None,
    partition: str,
    sort_key: str,
    limit: int,
    cursor: str | None,
    keep: Callable[[dict[str, Any]], bool] = lambda _: True,
) -> tuple[list[dict[str, Any]], str | None]:
    """A page of the ``items`` of one partition (of the table or an index), newest first, that
    ``keep`` keeps (of every partition when ``partition_key`` is None: ``keep`` decides), after
    ``cursor``. A cursor names its listing: one of another listing is :class:`InvalidCursor`, as the
    real repositories' are."""
    listed = sorted(
        (i for i in items if (partition_key is None or i.get(partition_key) == partition) and keep(i)),
        key=lambda i: i[sort_key],
        reverse=True,
    )
    if cursor:
        listing, _, after = cursor.partition("|")
        if listing != partition:
            raise InvalidCursor()
        listed = [i for i in listed if i[sort_key] < after]
    page = [copy.deepcopy(i) for i in listed[:limit]]
    next_cursor = f"{partition}|{page[-1][sort_key]}" if len(listed) > limit else None
    return page, next_cursor


class FakePolicyQueue:
    """``PolicyQueue`` in memory: the steps sent, with their delay, in order."""

    def __init__(self) -> None:
        self.sent: list[tuple[PropagationStep, int]] = []

    def send(self, step: PropagationStep, delay_seconds: int = 0) -> None:
        self.sent.append((step, delay_seconds))

    def take(self) -> PropagationStep:
        step, _ = self.sent.pop(0)
        return read_message(step.body())  # as the worker reads it off the queue


def drain_policy_queue(propagator: Any, queue: FakePolicyQueue) -> list[PropagationStep]:
    """Hand every queued step to ``propagator`` (the worker), the ones it queues included; the steps handled."""
    handled = []
    while queue.sent:
        step = queue.take()
        propagator.handle(step)
        handled.append(step)
    return handled
