"""Retire on first use against DynamoDB Local, with real threads through the real authorizer and
``POST /v1/tokens/verify``: fifty concurrent first verifications of a rotated token's new secret end
the old secret's grace exactly once, with exactly one ``token.rotation_completed`` (tokens/rotation.py).

Each thread has its own copies of the function modules (``tests.attack.IsolatedApi``), as each
concurrent request would have its own Lambda instance; they share the process's DynamoDB client as
instances share the table.
"""

from __future__ import annotations

import threading
from collections import Counter

import pytest

from tests.attack import IsolatedApi, run_threads
from tests.dynamodb_local.test_races import Live, live  # noqa: F401

pytestmark = pytest.mark.dynamodb_local

VERIFY = "POST /v1/tokens/verify"
CONCURRENT = 50


def rotated(live: Live, api: IsolatedApi) -> tuple[dict, str, str]:  # noqa: F811
    """A token rotated with an hour of grace that ends at the new secret's first use: (token, old, new)."""
    token, old = live.create(api)
    response = api.post(
        f"/v1/tokens/{token['id']}/rotate",
        secret=live.manager_secret,
        body={"grace_period_seconds": 3600, "retire_on_first_use": True},
    )
    assert response.status == 200, response.body
    return token, old, response.body["secret"]


def first_verification(api: IsolatedApi, live: Live, secret: str, n: int) -> bool:  # noqa: F811
    """Half the threads through the authorizer, half through ``POST /v1/tokens/verify``."""
    if n % 2:
        return api.authorize(secret)["isAuthorized"] is True
    answer = api.post("/v1/tokens/verify", secret=live.manager_secret, body={"token": secret})
    assert answer.status == 200, answer.body
    return answer.body["code"] == "VALID"


def assert_retired_once(live: Live, api: IsolatedApi, token: dict, old: str, new: str, verdicts: list) -> None:  # noqa: F811
    assert not [v for v in verdicts if isinstance(v, BaseException)], verdicts
    assert all(verdicts), Counter(verdicts)  # the new secret is valid for every one of them
    trail = live.events(api, token["id"])
    assert trail == ["token.created", "token.rotated", "token.rotation_completed"], trail
    assert api.authorize(old) == {"isAuthorized": False}
    assert api.post("/v1/tokens/verify", secret=live.manager_secret, body={"token": old}).body["code"] == "NOT_FOUND"
    assert api.authorize(new)["isAuthorized"] is True
    stored = api.get(f"/v1/tokens/{token['id']}", secret=live.manager_secret).body
    assert stored["version"] == 3, stored  # created, rotated, completed: one write ended the grace


def test_fifty_concurrent_first_verifications_end_the_grace_once(live):  # noqa: F811
    setup = IsolatedApi()
    token, old, new = rotated(live, setup)
    apis = [IsolatedApi().warm(VERIFY) for _ in range(CONCURRENT)]

    verdicts = run_threads([lambda n=n: first_verification(apis[n], live, new, n) for n in range(CONCURRENT)])

    assert_retired_once(live, setup, token, old, new, verdicts)


def test_when_all_fifty_read_the_grace_before_anyone_writes_the_condition_alone_decides(live, monkeypatch):  # noqa: F811
    """The worst interleaving, forced: every verification reads the token with its grace running before
    any of them writes, so all fifty try the transaction; only its condition can refuse forty-nine."""
    from tokensmith.tokens.repository import TokenRepository

    setup = IsolatedApi()
    token, old, new = rotated(live, setup)
    apis = [IsolatedApi().warm(VERIFY) for _ in range(CONCURRENT)]
    all_have_read = threading.Barrier(CONCURRENT, timeout=60)
    read, write = TokenRepository.get_token, TokenRepository.update_token
    attempts: list[bool] = []

    def get_token(self, token_id):
        item = read(self, token_id)
        if token_id == token["id"] and threading.current_thread() is not threading.main_thread():
            all_have_read.wait()
        return item

    def update_token(self, change, event):
        try:
            write(self, change, event)
        except Exception:
            attempts.append(False)
            raise
        attempts.append(True)

    monkeypatch.setattr(TokenRepository, "get_token", get_token)
    monkeypatch.setattr(TokenRepository, "update_token", update_token)
    verdicts = run_threads([lambda n=n: first_verification(apis[n], live, new, n) for n in range(CONCURRENT)])
    monkeypatch.setattr(TokenRepository, "get_token", read)
    monkeypatch.setattr(TokenRepository, "update_token", write)

    assert Counter(attempts) == Counter({True: 1, False: CONCURRENT - 1}), Counter(attempts)
    assert_retired_once(live, setup, token, old, new, verdicts)
