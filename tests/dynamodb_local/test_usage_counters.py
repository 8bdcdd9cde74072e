"""Usage counters on DynamoDB Local: exact under concurrency (conditional updates, never
read-modify-write), through the real service over the real repositories, with an injected clock."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pytest

from tests.dynamodb_local.conftest import run_concurrently
from tests.unit.fakes import FakePolicyQueue, drain_policy_queue
from tokensmith import table
from tokensmith.auth import Principal, RequestMeta
from tokensmith.organizations.propagation import PolicyPropagator
from tokensmith.organizations.repository import OrganizationPolicies
from tokensmith.organizations.service import OrganizationPolicyService
from tokensmith.settings import Settings
from tokensmith.tokens.counters import UsageCounters
from tokensmith.tokens.models import CreateTokenRequest, UpdateTokenRequest
from tokensmith.tokens.service import TokenService

MANAGER = Principal(
    "manager", "acme", None, frozenset({"tokens:read", "tokens:write", "tokens:manage", "tokens:verify"})
)
META = RequestMeta(ip="198.51.100.1", user_agent="pytest")
MIDDAY = datetime(2031, 3, 14, 12, 0, 20, tzinfo=UTC)  # 20 s into a minute: every window below is the same


class Clock:
    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def __call__(self) -> datetime:
        return self.moment


@pytest.fixture
def clock() -> Clock:
    return Clock(MIDDAY)


@pytest.fixture
def counters(ddb_local_table) -> UsageCounters:
    client, table_name = ddb_local_table
    return UsageCounters(table_name, client=client)


@pytest.fixture
def tokens(repository, counters, clock) -> TokenService:
    policies = OrganizationPolicies(repository.table_name, client=repository.client)
    settings = Settings(table_name=repository.table_name)
    return TokenService(repository, settings, now=clock, counters=counters, policies=policies)


def create(tokens: TokenService, **body) -> tuple[dict, str]:
    request = CreateTokenRequest.model_validate({"name": f"metered-{len(body)}-{id(body)}", **body})
    return tokens.create_token(MANAGER, request, META)


def verify_many(tokens: TokenService, secret: str, count: int, **options) -> Counter:
    results = run_concurrently(lambda _: tokens.verify(MANAGER, secret, [], META, **options).code, count)
    return Counter(results)


def test_200_concurrent_verifications_of_a_token_limited_to_100_a_minute_admit_exactly_100(tokens, counters):
    # Given a token limited to 100 verifications a minute
    item, secret = create(tokens, ratelimits=[{"name": "minute", "limit": 100, "duration_seconds": 60}])

    # When 200 verifications arrive at once
    codes = verify_many(tokens, secret, 200)

    # Then exactly 100 are valid, the others rate limited, and the window counted exactly 100
    assert codes == Counter({"VALID": 100, "RATE_LIMITED": 100})
    start = int(MIDDAY.timestamp()) // 60 * 60
    window = counters.get_window(
        table.rate_window_key(table.rate_subject(item["id"], "acme", None, "token"), "minute", 60, start)
    )
    assert window["used"] == 100


def test_50_concurrent_verifications_with_20_credits_admit_exactly_20_and_leave_0(tokens, counters):
    # Given a token with 20 credits
    item, secret = create(tokens, credits={"remaining": 20})

    # When 50 verifications arrive at once
    codes = verify_many(tokens, secret, 50)

    # Then exactly 20 are valid, and no credit is left (never below zero)
    assert codes == Counter({"VALID": 20, "USAGE_EXCEEDED": 30})
    assert counters.get_credits(item["id"])["remaining"] == 0


def test_a_refill_at_a_period_boundary_happens_once_under_concurrency(tokens, counters, clock):
    # Given a token with a daily refill of 10 that spent its last credit yesterday
    item, secret = create(tokens, credits={"remaining": 1, "refill": {"interval": "daily", "amount": 10}})
    assert verify_many(tokens, secret, 1) == Counter({"VALID": 1})

    # When, just after midnight, 30 verifications arrive at once
    clock.moment = datetime(2031, 3, 15, 0, 0, 5, tzinfo=UTC)
    codes = verify_many(tokens, secret, 30)

    # Then one refill of 10 was spent by exactly 10 of them (two refills would have admitted 20)
    assert codes == Counter({"VALID": 10, "USAGE_EXCEEDED": 20})
    counter = counters.get_credits(item["id"])
    period = int(clock.moment.timestamp()) - 5
    assert counter == {**table.credits_key(item["id"]), "remaining": 0, "period": period, "purge_at": item["purge_at"]}


def test_a_refusal_by_a_later_window_gives_back_what_the_earlier_ones_took(tokens, counters):
    # Given a token with a generous window and a tight one
    limits = [
        {"name": "minute", "limit": 50, "duration_seconds": 60},
        {"name": "burst", "limit": 3, "duration_seconds": 60},
    ]
    item, secret = create(tokens, ratelimits=limits)

    # When it is verified 10 times at once
    codes = verify_many(tokens, secret, 10)

    # Then the tight window admits 3, and the generous one counts only those 3
    assert codes == Counter({"VALID": 3, "RATE_LIMITED": 7})
    start = int(MIDDAY.timestamp()) // 60 * 60
    subject = table.rate_subject(item["id"], "acme", None, "token")
    assert counters.get_window(table.rate_window_key(subject, "minute", 60, start))["used"] == 3


def test_a_refused_verification_spends_no_credits(tokens, counters):
    # Given a token with credits and a window of 2
    limits = [{"name": "minute", "limit": 2, "duration_seconds": 60}]
    item, secret = create(tokens, ratelimits=limits, credits={"remaining": 10})

    # When it is verified 5 times at once
    codes = verify_many(tokens, secret, 5)

    # Then only the 2 admitted verifications spent credits
    assert codes == Counter({"VALID": 2, "RATE_LIMITED": 3})
    assert counters.get_credits(item["id"])["remaining"] == 8


def test_rate_limited_is_one_event_per_window_and_token_however_many_refusals(tokens, repository):
    # Given a token limited to 1 a minute
    item, secret = create(tokens, ratelimits=[{"name": "minute", "limit": 1, "duration_seconds": 60}])

    # When 20 verifications arrive at once
    verify_many(tokens, secret, 20)

    # Then its audit trail holds one token.rate_limited
    events, _ = repository.list_events(item["id"], 100)
    assert [e["type"] for e in events].count("token.rate_limited") == 1


def test_credits_low_and_exhausted_are_published_once_by_the_spend_that_crossed(tokens, repository):
    # Given a token with 10 credits, low at 3
    item, secret = create(tokens, credits={"remaining": 10, "low_threshold": 3})

    # When 15 verifications arrive at once
    verify_many(tokens, secret, 15)

    # Then one credits_low and one credits_exhausted
    events, _ = repository.list_events(item["id"], 100)
    types = Counter(e["type"] for e in events)
    assert (types["token.credits_low"], types["token.credits_exhausted"]) == (1, 1)


def test_an_owner_shared_window_counts_every_token_of_the_owner_together(tokens):
    # Given two tokens of one owner sharing a window of 4
    shared = [{"name": "owner-minute", "limit": 4, "duration_seconds": 60, "shared": "owner"}]
    _, first = create(tokens, owner="ada@example.com", ratelimits=shared)
    _, second = create(tokens, owner="ada@example.com", name="second", ratelimits=shared)

    # When each is verified 3 times
    codes = verify_many(tokens, first, 3) + verify_many(tokens, second, 3)

    # Then 4 in all were admitted
    assert codes["VALID"] == 4


def test_an_organization_policy_reaches_existing_and_new_tokens_and_no_token_widens_it(tokens, repository):
    # Given a token allowing everywhere, and one allowing 10.0.0.0/8
    _, anywhere = create(tokens)
    _, own_list = create(tokens, name="own", allowed_cidrs=["10.0.0.0/8"])
    store, queue = OrganizationPolicies(repository.table_name, client=repository.client), FakePolicyQueue()
    policies = OrganizationPolicyService(store, queue)  # type: ignore[arg-type]

    # When the organization allows only 192.0.2.0/24, a token is created while the worker copies it
    # (one token a page: the cursor is DynamoDB's), and the worker drains its queue
    policies.put_policy(MANAGER, "acme", {"allowed_cidrs": ["192.0.2.0/24"]}, META)
    _, created_after = create(tokens, name="after")
    handled = drain_policy_queue(PolicyPropagator(store, queue, page_size=1), queue)  # type: ignore[arg-type]
    assert any(step.cursor for step in handled) and handled[-1].recheck
    assert policies.get_policy(MANAGER, "acme")["propagated"] is True

    # Then every token is refused from elsewhere, and the one whose own list does not overlap everywhere
    def code(secret: str, ip: str) -> str:
        return tokens.verify(MANAGER, secret, [], META, ip=ip).code

    assert [code(s, "198.51.100.9") for s in (anywhere, own_list, created_after)] == ["IP_NOT_ALLOWED"] * 3
    assert [code(s, "192.0.2.9") for s in (anywhere, own_list, created_after)] == ["VALID", "IP_NOT_ALLOWED", "VALID"]
    assert code(own_list, "10.1.2.3") == "IP_NOT_ALLOWED"


def test_a_credits_edit_that_is_no_grant_never_gives_back_what_was_spent_since_its_read(tokens, counters):
    # Given an owner's token with 10 credits, 5 of them spent after an edit has read "10 left"
    from tokensmith.errors import Forbidden
    from tokensmith.tokens.models import UpdateTokenRequest

    owner = Principal("ada-token", "acme", "ada@acme.example", frozenset({"tokens:read", "tokens:write"}))
    item, secret = create(tokens, owner="ada@acme.example", credits={"remaining": 10})
    live, reads = TokenService.live_credits, []

    def spent_after_the_read(self, token):
        reads.append(live(self, token))
        if len(reads) == 1:
            assert verify_many(tokens, secret, 5) == Counter({"VALID": 5})
        return reads[-1]

    tokens.live_credits = spent_after_the_read.__get__(tokens)  # type: ignore[method-assign]

    # When the owner sets 8 (no grant as read), Then the counter's condition refuses the write, the
    # change is read again, and 8 over the 5 left is a grant the owner may not make
    with pytest.raises(Forbidden):
        tokens.update_token(owner, item["id"], UpdateTokenRequest(credits={"remaining": 8}), META)
    assert reads == [10, 5]
    assert counters.get_credits(item["id"])["remaining"] == 5


def test_usage_is_read_in_one_batch_and_spends_nothing(tokens, counters, monkeypatch):
    # Given a token with two windows and credits, verified 3 times
    limits = [
        {"name": "minute", "limit": 100, "duration_seconds": 60},
        {"name": "day", "limit": 5, "duration_seconds": 86400},
    ]
    item, secret = create(tokens, ratelimits=limits, credits={"remaining": 20})
    assert verify_many(tokens, secret, 3) == Counter({"VALID": 3})
    calls: list[str] = []
    for name in ("batch_get_item", "get_item", "update_item", "transact_write_items"):
        real = getattr(counters.client, name)
        monkeypatch.setattr(counters.client, name, lambda *a, _n=name, _r=real, **k: calls.append(_n) or _r(*a, **k))

    # When its usage is read twice
    usage = [tokens.get_usage(MANAGER, item["id"]) for _ in range(2)]

    # Then each read is one BatchGetItem of its counters, nothing is written, and both answer the same
    assert calls.count("batch_get_item") == 2 and not {"update_item", "transact_write_items"} & set(calls)
    assert usage[0] == usage[1]
    assert [w["remaining"] for w in usage[0]["ratelimits"]] == [97, 2] and usage[0]["credits"]["remaining"] == 17


def test_credits_removed_take_their_counter_and_a_stale_refill_cannot_make_it_again(tokens, counters, clock):
    # Given a token with a daily refill, its counter purged with it
    item, _ = create(tokens, credits={"remaining": 1, "refill": {"interval": "daily", "amount": 10}})
    assert counters.get_credits(item["id"])["purge_at"] == item["purge_at"]

    # When a manager removes its credits, and a verification that read them before spends tomorrow
    tokens.update_token(MANAGER, item["id"], UpdateTokenRequest.model_validate({"credits": None}), META)
    tomorrow = int(datetime(2031, 3, 15, 0, 0, 5, tzinfo=UTC).timestamp()) // 86400 * 86400
    refill = counters.refill_and_spend(item["id"], 10, 1, tomorrow)

    # Then the counter went in the change, and the refill made none (nothing would ever delete it)
    assert refill is not None and not refill.taken
    assert counters.get_credits(item["id"]) is None


def test_a_revocation_moves_the_counters_purge_in_its_transaction(tokens, counters, repository):
    item, _ = create(tokens, credits={"remaining": 3})

    tokens.revoke_token(MANAGER, item["id"], "done", META)

    assert (
        counters.get_credits(item["id"])["purge_at"] == repository.get_token(item["id"])["purge_at"] < item["purge_at"]
    )


def test_200_concurrent_verifications_of_a_sharded_window_of_100_admit_exactly_100(tokens, counters, monkeypatch):
    # Given windows sharded from 20 (a shard unit of 10: the code of a 1,000-unit deployment, scaled
    # down so that 200 threads fill it) and a token limited to 100 a minute: 10 shards of 10
    from tokensmith.tokens import window_shards

    monkeypatch.setattr(window_shards, "SHARD_UNIT", 10)
    monkeypatch.setattr(window_shards, "_seen", {})
    monkeypatch.setattr(window_shards, "_told", set())
    item, secret = create(tokens, ratelimits=[{"name": "minute", "limit": 100, "duration_seconds": 60}])

    # When 200 verifications arrive at once
    codes = verify_many(tokens, secret, 200)

    # Then exactly 100 are valid, each shard took exactly its share, and the usage read sums them
    assert codes == Counter({"VALID": 100, "RATE_LIMITED": 100})
    start = int(MIDDAY.timestamp()) // 60 * 60
    subject = table.rate_subject(item["id"], "acme", None, "token")
    used = [counters.get_window(table.rate_window_key(subject, "minute", 60, start, n))["used"] for n in range(10)]
    assert used == [10] * 10
    assert tokens.get_usage(MANAGER, item["id"])["ratelimits"][0]["remaining"] == 0
