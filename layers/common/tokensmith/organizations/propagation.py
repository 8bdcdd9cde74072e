"""An organization policy's copy onto its tokens, by a queued worker, one bounded page at a time.

``PUT /v1/organizations/{id}/policy`` writes the policy item (``propagated: false``) and queues
``{organization_id, version}`` on ``OrganizationPolicyQueue``; it never reads the organization's tokens.
The worker (``functions/propagate_org_policy``) handles one message at a time with
:class:`PolicyPropagator`:

- the policy is read (strongly consistent); a newer version than the message's means a newer ``PUT``
  queued its own copy: the message stops here;
- one page of ``tokens_behind`` (at most :data:`PAGE_SIZE` tokens read) gets the list and the
  inactivity wake-up it makes (``organizations.repository.copied_attributes``), each write conditional
  on the token carrying an older version (an older copy never overwrites a newer one) and on its last
  use, wake-up and status as read (a token used or swept since is read again, up to
  :data:`COPY_ATTEMPTS` times);
- a next page is queued as ``{organization_id, version, cursor}``;
- after the last page, once, a re-check pass is queued with :data:`SETTLE_SECONDS` of delay, for tokens
  created meanwhile that the eventually consistent index did not show yet (a token created after the
  ``PUT`` copies the policy itself, checked in its creation's transaction); after that pass, the policy
  is marked ``propagated``.

With ``enforce`` (``disable``/``revoke``, kept on the policy item as ``enforcement``), the first pass
reads each page whole (``token_page``) and also hands it to ``enforcement.PolicyEnforcer``, which
disables or revokes its non-compliant live tokens; each page then adds what it examined, disabled and
revoked to the policy item's progress, once (``record_enforcement``: conditional on the page number,
which each message carries), and the last page marks it ``done``. The re-check pass does not enforce:
a token created after the PUT was created under the new policy.

A message delivered twice repeats conditional writes that do nothing; at worst it queues a second chain
of pages, which ends the same way (its pages count nothing again). A page that fails between its
token writes and its progress write is counted, when delivered again, without the tokens it already
changed: the progress can fall short of the audit trail then, never exceed it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from tokensmith import clock
from tokensmith.aws import clients
from tokensmith.observability import count
from tokensmith.organizations.repository import OrganizationPolicies, default_policies
from tokensmith.settings import get_settings
from tokensmith.tokens.lifecycle import LIVE_STATUSES

PAGE_SIZE = 100  # tokens read (and at most written) per message
COPY_ATTEMPTS = 3  # per token: the index's copy, then strongly consistent reads
SETTLE_SECONDS = 5  # the re-check pass's DelaySeconds: the by-organization index is eventually consistent
_ORGANIZATION_ID = re.compile(r"[A-Za-z0-9._:@-]{1,128}")  # models.OrganizationId


class MalformedPolicyMessage(ValueError):
    """A queued message this code did not write (a bug or a foreign sender): it goes to the DLQ."""


@dataclass(frozen=True, slots=True)
class PropagationStep:
    """One message: copy ``version`` of the organization's policy onto the page after ``cursor``;
    ``recheck``: this is the settle-and-recheck pass (the last)."""

    organization_id: str
    version: int
    cursor: str | None = None
    recheck: bool = False
    page: int = 0  # pages of this pass before this one (the enforcement progress counts each once)

    def body(self) -> str:
        message: dict[str, Any] = {"organization_id": self.organization_id, "version": self.version}
        if self.cursor:
            message["cursor"] = self.cursor
        if self.recheck:
            message["recheck"] = True
        if self.page:
            message["page"] = self.page
        return json.dumps(message, separators=(",", ":"))


def read_message(body: str) -> PropagationStep:
    """The step of one queued message; checks its shape (the id becomes a key, the cursor a start key)."""
    try:
        message = json.loads(body)
        step = PropagationStep(
            message["organization_id"],
            message["version"],
            message.get("cursor"),
            message.get("recheck", False),
            message.get("page", 0),
        )
    except (ValueError, TypeError, KeyError, AttributeError) as error:
        raise MalformedPolicyMessage(f"not a policy propagation: {type(error).__name__}") from None
    if not isinstance(step.organization_id, str) or not _ORGANIZATION_ID.fullmatch(step.organization_id):
        raise MalformedPolicyMessage("not a policy propagation: a malformed organization id")
    if type(step.version) is not int or step.version < 1 or not isinstance(step.recheck, bool):
        raise MalformedPolicyMessage("not a policy propagation: a malformed version")
    if type(step.page) is not int or step.page < 0:
        raise MalformedPolicyMessage("not a policy propagation: a malformed page")
    if step.cursor is not None and (not isinstance(step.cursor, str) or len(step.cursor) > 4096):
        raise MalformedPolicyMessage("not a policy propagation: a malformed cursor")
    return step


class PolicyQueue:
    """Sends propagation steps to ``OrganizationPolicyQueue``."""

    def __init__(self, queue_url: str | None, sqs: Any = None) -> None:
        self.queue_url = queue_url
        self._sqs = sqs  # None: the process-wide client, made at the first send

    def send(self, step: PropagationStep, delay_seconds: int = 0) -> None:
        if not self.queue_url:
            raise RuntimeError("ORGANIZATION_POLICY_QUEUE_URL is not set: the policy cannot be propagated")
        sqs = self._sqs or clients.client("sqs")
        sqs.send_message(QueueUrl=self.queue_url, MessageBody=step.body(), DelaySeconds=delay_seconds)


class PolicyPropagator:
    """The worker's rules: one page per message, then the next page, the re-check, or the end."""

    def __init__(
        self,
        policies: OrganizationPolicies,
        queue: PolicyQueue,
        page_size: int = PAGE_SIZE,
        enforcer: Any = None,
        expiry_notice_days: tuple[int, ...] = (7, 1),
        now: Callable[[], datetime] = clock.now,
    ) -> None:
        self.policies = policies
        self.queue = queue
        self.page_size = page_size
        self._enforcer = enforcer  # enforcement.PolicyEnforcer; the process-wide one if not given
        self.expiry_notice_days = expiry_notice_days  # the wake-up also holds the expiry's notices
        self._now = now

    @property
    def enforcer(self) -> Any:
        if self._enforcer is None:
            from tokensmith.organizations.enforcement import policy_enforcer

            self._enforcer = policy_enforcer()
        return self._enforcer

    def handle(self, step: PropagationStep) -> int:
        """Copy one page; queue what follows. Returns how many tokens got the list now."""
        policy = self.policies.get_policy(step.organization_id)
        if policy is None or policy["version"] != step.version:
            count("organization.policy_propagation_superseded")
            return 0  # a newer PUT queued its own (an older version than the message's cannot be)
        enforcing = policy.get("enforcement") and not step.recheck and not policy.get("enforcement_done")
        if enforcing:
            items, cursor, examined = self.policies.token_page(step.organization_id, self.page_size, step.cursor)
            tokens = [i for i in items if i.get("org_policy_version", 0) < step.version]
        else:
            tokens, cursor = self.policies.tokens_behind(
                step.organization_id, step.version, self.page_size, step.cursor
            )
        copied = sum(self._copy(token, policy) for token in tokens)
        count("organization.policy_copied", copied)
        if enforcing:
            tally = {**self.enforcer.enforce(policy, items), "examined": examined}
            self.policies.record_enforcement(step.organization_id, step.version, step.page, tally, cursor is None)
        if cursor:
            self.queue.send(PropagationStep(step.organization_id, step.version, cursor, step.recheck, step.page + 1))
        elif not step.recheck:
            self.queue.send(PropagationStep(step.organization_id, step.version, recheck=True), SETTLE_SECONDS)
        else:
            self.policies.mark_propagated(step.organization_id, step.version)
        return copied

    def _copy(self, token: dict[str, Any] | None, policy: dict[str, Any]) -> bool:
        """The copy onto one token; read again while it changes under the copy (used, swept, edited)."""
        for _ in range(COPY_ATTEMPTS):
            if token is None or token.get("org_policy_version", 0) >= policy["version"]:
                return False  # gone, or a newer copy is there
            if self.policies.copy_to_token(token, policy, clock.epoch(self._now()), self.expiry_notice_days):
                return True
            token = self.policies.token_to_copy(token["id"])
        if token is not None and token["status"] in LIVE_STATUSES:
            count("organization.policy_copy_gave_up")  # still behind: the re-check pass reads it again
        return False


@lru_cache(maxsize=1)
def policy_queue() -> PolicyQueue:
    return PolicyQueue(get_settings().organization_policy_queue_url)


@lru_cache(maxsize=1)
def policy_propagator() -> PolicyPropagator:
    """The worker's process-wide propagator over the configured table (tests clear this cache)."""
    settings = get_settings()
    return PolicyPropagator(
        default_policies(), policy_queue(), page_size=PAGE_SIZE, expiry_notice_days=settings.expiry_notice_days
    )
