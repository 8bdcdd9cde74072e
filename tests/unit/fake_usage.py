"""The usage counters (``tokens.counters.UsageCounters``) and organization policies
(``organizations.repository.OrganizationPolicies``) in memory, with the real ones' conditions:
a window takes only up to its limit, credits never go below zero, a refill happens once per period,
a policy's version must be the one expected. ``RecordingRepository`` mixes this in, so one fake
serves a service as its repository, its counters and its policies."""

from __future__ import annotations

import copy
from typing import Any

from tokensmith import table
from tokensmith.aws.dynamodb import InvalidCursor, VersionConflict
from tokensmith.organizations.repository import (
    COPY_CONDITIONS,
    COPY_INPUTS,
    ENFORCEMENT_COUNTS,
    copied_attributes,
)
from tokensmith.tokens.counters import Count
from tokensmith.tokens.lifecycle import is_live


class UsageStore:
    tokens: dict[str, dict[str, Any]]  # RecordingRepository's (the policy's copy goes onto them)

    def __init__(self) -> None:
        self.windows: dict[tuple[str, str], dict[str, Any]] = {}  # (pk, sk) -> {used, notified}
        self.credit_counters: dict[str, dict[str, int]] = {}  # token id -> {remaining, period}
        self.org_policies: dict[str, dict[str, Any]] = {}
        self.index_lag: set[str] = set()  # token ids the by-organization index does not show yet
        self.pages_read: list[int] = []  # how many tokens each tokens_behind call read
        self.counter_calls: list[str] = []  # the name of each counter call, in order

    # --- counters ------------------------------------------------------------------------------------

    def take_window(self, key: dict[str, str], limit: int, cost: int, purge_at: int) -> Count:
        self.counter_calls.append("take_window")
        window = self.windows.get((key["pk"], key["sk"]))
        used = window["used"] if window else 0
        if used + cost > limit:
            return Count(False, used if window else None, copy.deepcopy(window))
        window = self.windows.setdefault((key["pk"], key["sk"]), {"used": 0})
        window["used"] = used + cost
        return Count(True, window["used"])

    def give_back_window(self, key: dict[str, str], cost: int) -> None:
        self.counter_calls.append("give_back_window")
        self.windows[(key["pk"], key["sk"])]["used"] -= cost

    def mark_window_notified(self, key: dict[str, str], token_id: str) -> bool:
        self.counter_calls.append("mark_window_notified")
        notified = self.windows[(key["pk"], key["sk"])].setdefault("notified", [])
        if token_id in notified:
            return False
        notified.append(token_id)
        return True

    def spend_credits(self, token_id: str, cost: int, period: int | None) -> Count:
        self.counter_calls.append("spend_credits")
        counter = self.credit_counters.get(token_id)
        if (
            counter is None
            or counter.get("remaining", -1) < cost
            or (period is not None and counter.get("period") != period)
        ):
            return Count(False, counter.get("remaining") if counter else None, copy.deepcopy(counter))
        counter["remaining"] -= cost
        return Count(True, counter["remaining"])

    def refill_and_spend(self, token_id: str, amount: int, cost: int, period: int) -> Count | None:
        self.counter_calls.append("refill_and_spend")
        counter = self.credit_counters.get(token_id)
        if counter is None or "remaining" not in counter:  # a refill never creates the counter
            return Count(False, 0)
        if counter["period"] >= period:
            return None
        covered = cost <= amount
        counter.update(remaining=amount - cost if covered else amount, period=period)  # its purge_at stays
        return Count(covered, counter["remaining"])

    def get_credits(self, token_id: str) -> dict[str, int] | None:
        return copy.deepcopy(self.credit_counters.get(token_id))

    def get_counters(self, keys: list[dict[str, str]]) -> dict[tuple[str, str], dict[str, Any]]:
        """The real one's single ``BatchGetItem``: every key in one call, absent ones left out."""
        self.counter_calls.append("get_counters")
        keyed = ((table.credits_key(token_id), c) for token_id, c in self.credit_counters.items())
        credits = {(key["pk"], key["sk"]): counter for key, counter in keyed}
        found = {}
        for key in keys:
            counter = self.windows.get((key["pk"], key["sk"])) or credits.get((key["pk"], key["sk"]))
            if counter is not None:
                found[(key["pk"], key["sk"])] = {**key, **copy.deepcopy(counter)}
        return found

    def grant(self, token_id: str, grant: Any, lifetime: Any = None) -> None:
        """The counter actions of a token write, as ``counters.credits_counter_actions`` makes them."""
        if grant is not None:
            self.credit_counters[token_id] = {"remaining": grant.remaining, "period": grant.period}
            if grant.purge_at is not None:
                self.credit_counters[token_id]["purge_at"] = grant.purge_at
        elif lifetime is not None and lifetime.delete:
            self.credit_counters.pop(token_id, None)
        elif lifetime is not None:
            counter = self.credit_counters.setdefault(token_id, {})
            counter.pop("purge_at", None)
            if lifetime.purge_at is not None:
                counter["purge_at"] = lifetime.purge_at

    def move_credits_purge(self, token_id: str, purge_at: int) -> bool:
        """As ``TokenRepository.move_credits_purge``: only an existing counter moves."""
        if token_id not in self.credit_counters:
            return False
        self.credit_counters[token_id]["purge_at"] = purge_at
        return True

    def grant_refused(self, token_id: str, grant: Any) -> bool:
        """The condition of a ``ceiling`` grant, as the real repository writes it: the counter of
        this period holds less than the new value (spent since the change read it)."""
        counter = self.credit_counters.get(token_id)
        return bool(
            grant is not None
            and grant.ceiling
            and counter is not None
            and counter["period"] == grant.period
            and counter["remaining"] < grant.remaining
        )

    # --- organization policies -----------------------------------------------------------------------

    def get_policy(self, organization_id: str) -> dict[str, Any] | None:
        return copy.deepcopy(self.org_policies.get(organization_id))

    def put_policy(self, policy: dict[str, Any], expected_version: int | None) -> None:
        current = self.org_policies.get(policy["organization_id"])
        if (current["version"] if current else None) != expected_version:
            raise VersionConflict()
        self.org_policies[policy["organization_id"]] = copy.deepcopy(policy)

    def check_policy(self, check: Any) -> None:
        if check is not None:
            current = self.org_policies.get(check.organization_id)
            if (current["version"] if current else None) != check.version:
                raise VersionConflict()

    def tokens_behind(
        self, organization_id: str, version: int, limit: int, cursor: str | None = None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """The real one's page: ``limit`` tokens of the index read (oldest first), then the filter."""
        listed = sorted(
            (t for t in self.tokens.values() if t.get("org_pk") == table.org_partition(organization_id)),
            key=lambda t: t["org_sk"],
        )
        listed = [t for t in listed if t["id"] not in self.index_lag and (cursor is None or t["org_sk"] > cursor)]
        page = listed[:limit]
        self.pages_read.append(len(page))
        behind = [self._copy_inputs(t) for t in page if t.get("org_policy_version", 0) < version]
        return behind, page[-1]["org_sk"] if len(listed) > limit else None

    def token_page(
        self, organization_id: str, limit: int, cursor: str | None = None, live_at: int | None = None
    ) -> tuple[list[dict[str, Any]], str | None, int]:
        """The real one's page: ``limit`` tokens of the index read (oldest first), whole, then the live filter."""
        listed = sorted(
            (t for t in self.tokens.values() if t.get("org_pk") == table.org_partition(organization_id)),
            key=lambda t: t["org_sk"],
        )
        if cursor is not None and not cursor.startswith(table.org_partition(organization_id) + "|"):
            raise InvalidCursor()
        after = cursor.partition("|")[2] if cursor else None
        listed = [t for t in listed if t["id"] not in self.index_lag and (after is None or t["org_sk"] > after)]
        page = listed[:limit]
        self.pages_read.append(len(page))
        if live_at is not None:
            page = [t for t in page if is_live(t, live_at)]
        next_cursor = (
            f"{table.org_partition(organization_id)}|{listed[limit - 1]['org_sk']}" if len(listed) > limit else None
        )
        return copy.deepcopy(page), next_cursor, min(len(listed), limit)

    def record_enforcement(
        self, organization_id: str, version: int, page: int, tally: dict[str, int], done: bool
    ) -> bool:
        policy = self.org_policies.get(organization_id)
        if policy is None or policy["version"] != version or policy.get("enforcement_pages") != page:
            return False
        for name in ENFORCEMENT_COUNTS:
            policy[f"enforcement_{name}"] = policy.get(f"enforcement_{name}", 0) + tally.get(name, 0)
        policy["enforcement_pages"] = page + 1
        if done:
            policy["enforcement_done"] = True
        return True

    def token_to_copy(self, token_id: str) -> dict[str, Any] | None:
        token = self.tokens.get(token_id)
        return self._copy_inputs(token) if token else None

    def copy_to_token(
        self, token: dict[str, Any], policy: dict[str, Any], now_epoch: int, expiry_notice_days: tuple[int, ...]
    ) -> bool:
        current = self.tokens.get(token["id"])
        if current is None or current.get("org_policy_version", 0) >= policy["version"]:
            return False
        if any(current.get(attribute) != token.get(attribute) for attribute in COPY_CONDITIONS):
            return False
        current["org_policy_version"] = policy["version"]
        for attribute, value in copied_attributes(token, policy, now_epoch, expiry_notice_days).items():
            if value is None:
                current.pop(attribute, None)
            else:
                current[attribute] = copy.deepcopy(value)
        return True

    @staticmethod
    def _copy_inputs(token: dict[str, Any]) -> dict[str, Any]:
        return copy.deepcopy({k: token[k] for k in COPY_INPUTS if k in token})

    def mark_propagated(self, organization_id: str, version: int) -> bool:
        policy = self.org_policies.get(organization_id)
        if policy is None or policy["version"] != version:
            return False
        policy["propagated"] = True
        return True
