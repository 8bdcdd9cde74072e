"""The expiry sweep on DynamoDB Local: paging, deadlines, overlapping runs and races."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from tests.dynamodb_local.conftest import run_concurrently
from tokensmith.auth import Principal, RequestMeta
from tokensmith.expiry.sweeper import ExpirySweeper
from tokensmith.settings import Settings
from tokensmith.tokens.models import CreateTokenRequest, UpdateTokenRequest
from tokensmith.tokens.service import TokenService

pytestmark = pytest.mark.dynamodb_local

T0 = datetime(2030, 1, 1, tzinfo=UTC)
LATER = T0 + timedelta(minutes=5)
MANAGER = Principal("caller", "acme", None, frozenset({"tokens:read", "tokens:write"}))


@pytest.fixture
def settings(repository):
    return replace(Settings.from_environ(), table_name=repository.table_name)


def service_at(repository, settings, moment):
    return TokenService(repository, settings, now=lambda: moment)


def create_due(repository, settings, count: int) -> list[str]:
    service = service_at(repository, settings, T0)
    expires = T0 + timedelta(minutes=1)
    return [
        service.create_token(MANAGER, CreateTokenRequest(name=f"t{n}", expires_at=expires), RequestMeta())[0]["id"]
        for n in range(count)
    ]


def expired_events(repository, token_id) -> int:
    items, _ = repository.list_events(token_id, 100)
    return sum(1 for e in items if e["type"] == "token.expired")


def test_a_large_backlog_is_paged_and_a_deadline_leaves_the_rest_for_the_next_run(repository, settings):
    ids = create_due(repository, settings, 230)
    sweeper = ExpirySweeper(repository, settings, now=lambda: LATER, page_size=25)
    budget = iter([10.0] * 60 + [0.0])  # time for 60 tokens (three pages), then the invocation is nearly over

    first = sweeper.sweep(time_left=lambda: next(budget, 0.0), reserve_seconds=5)
    second = sweeper.sweep()

    assert first.complete is False and first.expired == 60
    assert second.complete is True and first.expired + second.expired == 230
    assert all(repository.get_token(i)["status"] == "expired" for i in ids)
    assert all(expired_events(repository, i) == 1 for i in ids)


def test_overlapping_sweeps_stamp_each_token_once(repository, settings):
    ids = create_due(repository, settings, 60)
    reports = run_concurrently(lambda _: ExpirySweeper(repository, settings, now=lambda: LATER).sweep(), 2)

    assert sum(r.expired for r in reports) == 60
    assert all(expired_events(repository, i) == 1 for i in ids)


@pytest.mark.parametrize("race", ["extend", "revoke"])
def test_a_token_changed_while_the_sweep_runs_is_never_stamped_wrongly(repository, settings, race, monkeypatch):
    [token_id] = create_due(repository, settings, 1)
    service = service_at(repository, settings, T0 + timedelta(seconds=30))
    original = repository.due_tokens

    def due_then_race(*args, **kwargs):
        page = original(*args, **kwargs)
        if page[0]:  # the sweep has read the token from the index; now someone changes it
            if race == "extend":
                service.update_token(
                    MANAGER, token_id, UpdateTokenRequest(expires_at=T0 + timedelta(days=30)), RequestMeta()
                )
            else:
                service.revoke_token(MANAGER, token_id, "compromised", RequestMeta())
        return page

    monkeypatch.setattr(repository, "due_tokens", due_then_race)
    report = ExpirySweeper(repository, settings, now=lambda: LATER).sweep()

    assert report.expired == 0 and report.skipped == 1
    assert repository.get_token(token_id)["status"] == ("active" if race == "extend" else "revoked")
    assert expired_events(repository, token_id) == 0


def test_notices_are_written_once_when_runs_overlap(repository, settings):
    service = service_at(repository, settings, T0)
    ids = [
        service.create_token(
            MANAGER, CreateTokenRequest(name=f"n{n}", expires_at=T0 + timedelta(days=3)), RequestMeta()
        )[0]["id"]
        for n in range(20)
    ]
    soon = T0 + timedelta(minutes=1)
    reports = run_concurrently(lambda _: ExpirySweeper(repository, settings, now=lambda: soon).sweep(), 2)

    assert sum(r.notices for r in reports) == 20
    for token_id in ids:
        items, _ = repository.list_events(token_id, 10)
        assert [e["type"] for e in items].count("token.expiring") == 1


def test_the_sweep_reads_only_due_tokens(repository, settings):
    create_due(repository, settings, 5)
    service = service_at(repository, settings, T0)
    for n in range(200):  # not due for months: never read (reading them would cost ~6 read units)
        service.create_token(
            MANAGER, CreateTokenRequest(name=f"later{n}", expires_at=T0 + timedelta(days=90)), RequestMeta()
        )

    report = ExpirySweeper(repository, settings, now=lambda: LATER).sweep()

    assert report.expired == 5
    # 5 small index entries fit in one read unit per shard queried (4 shards, eventually consistent)
    assert report.read_units <= 4 * 0.5
