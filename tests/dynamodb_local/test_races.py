"""Races with real threads against DynamoDB Local, through the real authorizer and handlers.

Each thread has its own copies of the function modules (``tests.attack.IsolatedApi``), as each
concurrent request would have its own Lambda instance; they share the process's DynamoDB client
like instances share the table. Orderings across threads use one monotonic clock: a verification
"after" a change started after the change's HTTP answer was returned.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.attack import IsolatedApi, now_ns, run_threads, unique_name
from tests.conftest import clear_singletons
from tokensmith.bootstrap import create_admin_token

pytestmark = pytest.mark.dynamodb_local

PATCH = "PATCH /v1/tokens/{token_id}"
ROUNDS = 4


@dataclass
class Live:
    table_name: str
    client: Any
    admin_secret: str
    manager_secret: str

    def create(self, api: IsolatedApi, **body: Any) -> tuple[dict[str, Any], str]:
        body = {"name": unique_name("race"), "scopes": ["tokens:read"], **body}
        created = api.post("/v1/tokens", secret=self.manager_secret, body=body)
        assert created.status == 201, created.body
        return created.body["token"], created.body["secret"]

    def events(self, api: IsolatedApi, token_id: str) -> list[str]:
        """The token's audit trail, oldest first."""
        listed = api.get(f"/v1/tokens/{token_id}/events", secret=self.admin_secret, query={"limit": "100"})
        assert listed.status == 200, listed.body
        return [event["type"] for event in reversed(listed.body["items"])]


@pytest.fixture
def live(ddb_local_table, dynamodb_local_endpoint, monkeypatch) -> Live:
    """The handlers' own configuration pointed at a fresh DynamoDB Local table."""
    client, table_name = ddb_local_table
    monkeypatch.setenv("TABLE_NAME", table_name)
    monkeypatch.setenv("DYNAMODB_ENDPOINT_URL", dynamodb_local_endpoint)
    clear_singletons()
    _, admin_secret = create_admin_token(table_name, endpoint_url=dynamodb_local_endpoint, name="race-admin")
    created = IsolatedApi().post(
        "/v1/tokens",
        secret=admin_secret,
        body={"name": "manager", "organization_id": "acme", "scopes": ["tokens:read", "tokens:write", "tokens:verify"]},
    )
    assert created.status == 201, created.body
    yield Live(table_name, client, admin_secret, created.body["secret"])
    clear_singletons()


# --- If-Match ------------------------------------------------------------------------------------------


def test_fifty_concurrent_patches_with_one_if_match_let_exactly_one_win(live):
    setup = IsolatedApi()
    token, _ = live.create(setup)
    path = f"/v1/tokens/{token['id']}"
    apis = [IsolatedApi().warm(PATCH) for _ in range(50)]

    def patch(n: int):
        body = {"description": f"writer {n}"}
        return apis[n].patch(path, secret=live.manager_secret, body=body, headers={"If-Match": '"1"'})

    responses = run_threads([lambda n=n: patch(n) for n in range(50)])

    assert not [r for r in responses if isinstance(r, BaseException)], responses
    statuses = Counter(r.status for r in responses)
    assert statuses == Counter({200: 1, 412: 49}), statuses
    (winner,) = [r for r in responses if r.status == 200]
    assert winner.body["version"] == 2 and winner.headers["etag"] == '"2"'
    assert all(r.headers["content-type"] == "application/problem+json" for r in responses if r.status == 412)
    stored = setup.get(path, secret=live.manager_secret).body
    assert (stored["version"], stored["description"]) == (2, winner.body["description"])
    assert live.events(setup, token["id"]) == ["token.created", "token.updated"]


def test_when_all_fifty_read_before_anyone_writes_the_conditional_write_alone_decides(live, monkeypatch):
    """The worst interleaving, forced: every PATCH reads version 1 (and passes the If-Match check on
    what it read) before any of them writes. Only the transaction's condition can refuse 49."""
    from tokensmith.tokens.repository import TokenRepository

    setup = IsolatedApi()
    token, _ = live.create(setup)
    path = f"/v1/tokens/{token['id']}"
    apis = [IsolatedApi().warm(PATCH) for _ in range(50)]
    all_have_read = threading.Barrier(50, timeout=30)
    read = TokenRepository.get_token

    def get_token(self, token_id):
        item = read(self, token_id)
        if token_id == token["id"] and threading.current_thread() is not threading.main_thread():
            all_have_read.wait()
        return item

    monkeypatch.setattr(TokenRepository, "get_token", get_token)
    responses = run_threads(
        [
            lambda n=n: apis[n].patch(
                path, secret=live.manager_secret, body={"description": f"writer {n}"}, headers={"If-Match": '"1"'}
            )
            for n in range(50)
        ]
    )
    monkeypatch.setattr(TokenRepository, "get_token", read)

    assert not [r for r in responses if isinstance(r, BaseException)], responses
    assert Counter(r.status for r in responses) == Counter({200: 1, 412: 49})
    lost_at_the_write = [r for r in responses if r.status == 412 and "changed while" in r.body["detail"]]
    assert len(lost_at_the_write) == 49, [r.body["detail"] for r in responses if r.status == 412][:3]
    assert setup.get(path, secret=live.manager_secret).body["version"] == 2
    assert live.events(setup, token["id"]) == ["token.created", "token.updated"]


# --- verification against concurrent changes -------------------------------------------------------------


@dataclass
class Verdict:
    secret: str
    started: int
    ended: int
    valid: bool
    how: str


@dataclass
class Verifiers:
    """Threads that verify every secret in ``secrets`` over and over until stopped, through the
    authorizer (and, when ``manager_secret`` is given, through POST /v1/tokens/verify too)."""

    secrets: list[str]
    manager_secret: str | None = None
    threads: int = 4
    verdicts: list[Verdict] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._workers = [
            threading.Thread(target=self._loop, args=(IsolatedApi().warm("POST /v1/tokens/verify"), n))
            for n in range(self.threads)
        ]

    def _loop(self, api: IsolatedApi, n: int) -> None:
        try:
            self._verify_until_stopped(api, n)
        except Exception as error:  # reported by __exit__
            self.errors.append(repr(error))

    def _verify_until_stopped(self, api: IsolatedApi, n: int) -> None:
        through_route = self.manager_secret is not None and n % 2 == 1
        while not self._stop.is_set():
            for secret in list(self.secrets):
                started = now_ns()
                if through_route:
                    answer = api.post("/v1/tokens/verify", secret=self.manager_secret, body={"token": secret})
                    if answer.status != 200:
                        raise AssertionError(f"POST /v1/tokens/verify answered {answer.status}: {answer.raw}")
                    valid, how = answer.body["code"] == "VALID", f"/verify {answer.body['code']}"
                else:
                    verdict = api.authorize(secret)
                    valid, how = verdict["isAuthorized"], "authorizer"
                with self._lock:
                    self.verdicts.append(Verdict(secret, started, now_ns(), valid, how))

    def wait_for_verdicts_started_after(self, instant: int, kinds: set[str], seconds: float = 5.0) -> None:
        """Let the threads run until each kind of verdict (``how``, by its first word) has one that
        started after ``instant``, or ``seconds`` pass: on a loaded machine one round trip can take
        longer than a fixed pause."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            with self._lock:
                seen = {v.how.split()[0] for v in self.verdicts if v.started > instant}
            if kinds <= seen:
                return
            time.sleep(0.01)

    def __enter__(self) -> Verifiers:
        for worker in self._workers:
            worker.start()
        return self

    def __exit__(self, *_: Any) -> None:
        self._stop.set()
        for worker in self._workers:
            worker.join()
        assert not self.errors, self.errors


def test_no_secret_verifies_once_a_revoke_racing_rotations_has_returned(live):
    api = IsolatedApi()
    rotators = [IsolatedApi().warm("POST /v1/tokens/{token_id}/rotate") for _ in range(2)]
    revoker = IsolatedApi().warm("POST /v1/tokens/{token_id}/revoke")
    after_revoke = sum(race_rotations_against_a_revoke(live, api, rotators, revoker, n) for n in range(ROUNDS))
    assert after_revoke > 0, "no verification started after a revoke returned: the race proved nothing"


def race_rotations_against_a_revoke(live, api: IsolatedApi, rotators: list, revoker: IsolatedApi, round_: int) -> int:
    """One round: two rotations and a revoke at once, verifiers running throughout. Returns how many
    verifications started after the revoke returned (each of them must have been refused)."""
    token, first_secret = live.create(api)
    path = f"/v1/tokens/{token['id']}"
    assert api.authorize(first_secret)["isAuthorized"] is True
    secrets = [first_secret]
    timings: dict[str, tuple[int, int]] = {}

    def rotate(n: int) -> Any:
        time.sleep(random.random() * 0.01)
        response = rotators[n].post(f"{path}/rotate", secret=live.manager_secret, body={"grace_period_seconds": 300})
        if response.status == 200:
            secrets.append(response.body["secret"])  # verified from now on
        return response

    def revoke() -> Any:
        time.sleep(random.random() * 0.01)
        started = now_ns()
        response = revoker.post(f"{path}/revoke", secret=live.manager_secret, body={"reason": f"round {round_}"})
        timings["revoke"] = (started, now_ns())
        return response

    with Verifiers(secrets) as verifiers:
        first, second, revoked = run_threads([lambda: rotate(0), lambda: rotate(1), revoke])
        time.sleep(0.05)

    assert revoked.status == 200, revoked.body
    rotations = [first, second]
    assert {r.status for r in rotations} <= {200, 409}, [r.body for r in rotations]
    revoke_returned = timings["revoke"][1]
    late = [v for v in verifiers.verdicts if v.started > revoke_returned]
    assert not [v for v in late if v.valid], f"round {round_}: a secret verified after the revoke returned"
    codes = Counter()
    for secret in secrets:  # every secret ever issued is dead, including one issued by a late rotation
        assert api.authorize(secret) == {"isAuthorized": False}
        verified = api.post("/v1/tokens/verify", secret=live.manager_secret, body={"token": secret})
        assert verified.body["valid"] is False, verified.body
        codes[verified.body["code"]] += 1
    # the current secret is REVOKED; a rotated-out one lost its grace with the revoke: NOT_FOUND
    assert codes["REVOKED"] == 1 and set(codes) <= {"REVOKED", "NOT_FOUND"}, codes
    trail = live.events(api, token["id"])
    assert trail[-1] == "token.revoked" and trail.count("token.revoked") == 1, trail
    assert trail.count("token.rotated") == sum(r.status == 200 for r in rotations), trail
    return len(late)


def test_no_verification_answers_valid_once_a_disable_has_returned(live):
    api = IsolatedApi()
    disabler = IsolatedApi().warm("POST /v1/tokens/{token_id}/disable")
    token, secret = live.create(api)
    path = f"/v1/tokens/{token['id']}"
    valid_before = after_disable = 0
    for round_ in range(ROUNDS):
        assert api.authorize(secret)["isAuthorized"] is True
        with Verifiers([secret], manager_secret=live.manager_secret) as verifiers:
            time.sleep(0.02 + random.random() * 0.03)
            started = now_ns()
            disabled = disabler.post(f"{path}/disable", secret=live.manager_secret)
            returned = now_ns()
            verifiers.wait_for_verdicts_started_after(returned, {"authorizer", "/verify"})

        assert disabled.status == 200 and disabled.body["status"] == "disabled", disabled.body
        late = [v for v in verifiers.verdicts if v.started > returned]
        wrong = [v for v in late if v.valid]
        assert not wrong, f"round {round_}: VALID {(wrong[0].started - returned) / 1e6:.1f} ms after the disable"
        assert {v.how for v in late} >= {"authorizer", "/verify DISABLED"}, {v.how for v in late}
        valid_before += sum(v.valid for v in verifiers.verdicts if v.ended < started)
        after_disable += len(late)
        enabled = api.post(f"{path}/enable", secret=live.manager_secret)
        assert enabled.status == 200 and enabled.body["status"] == "active"
    assert valid_before > 0 and after_disable > 0, (valid_before, after_disable)
    assert live.events(api, token["id"]).count("token.disabled") == ROUNDS
