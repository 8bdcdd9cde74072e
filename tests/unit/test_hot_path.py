"""The hot path, by structure rather than by timing: what the authorizer imports, and how many
DynamoDB calls one verification makes, through the authorizer and through ``POST /v1/tokens/verify``
(bench/ measures the timings: docs/performance.md)."""

import json
import re
import subprocess
import sys
import uuid
from datetime import timedelta

import pytest

from tests.support import ROOT, LambdaContext, http_event, load_function
from tokensmith.tokens import format as token_format

PROBE = """
import importlib.util, json, sys
sys.path[:0] = ["layers/common"]
spec = importlib.util.spec_from_file_location("authorizer_app", "functions/authorizer/app.py")
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
print(json.dumps(sorted(sys.modules)))
"""


def test_the_authorizer_imports_no_pydantic_no_powertools_and_no_boto3():
    # When a fresh interpreter imports the authorizer, as Lambda does on a cold start
    result = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, check=True)
    modules = json.loads(result.stdout)
    roots = {name.split(".")[0] for name in modules}

    # Then nothing heavy is loaded before the first request (botocore comes with the first call)
    assert not roots & {"pydantic", "pydantic_core", "aws_lambda_powertools", "boto3", "botocore", "jmespath"}
    assert {"tokensmith.tokens.service", "tokensmith.http", "tokensmith.models"}.isdisjoint(modules)


class CountingClient:
    """A DynamoDB client double that records every call; answers from a dict of items."""

    def __init__(self, item):
        self.item = item
        self.calls = []

    def get_item(self, **kwargs):
        self.calls.append(("GetItem", kwargs))
        return {"Item": self.item} if self.item else {}

    def update_item(self, **kwargs):
        self.calls.append(("UpdateItem", kwargs))
        values = kwargs.get("ExpressionAttributeValues", {})
        if self.item and ":at" in values:  # the last-use stamp lands (with the token's first network)
            self.item = {**self.item, "last_used_at": values[":at"]}
            if ":first_networks" in values:
                self.item["networks"] = values[":first_networks"]
        return {}

    def __getattr__(self, name):
        raise AssertionError(f"the hot path called {name}")


@pytest.fixture
def token():
    from tokensmith.aws.dynamodb import to_item

    token_id = str(uuid.uuid4())
    secret = token_format.generate("tks", token_id)
    item = {
        "pk": f"TOKEN#{token_id}",
        "sk": "TOKEN",
        "id": token_id,
        "organization_id": "acme",
        "name": "t",
        "status": "active",
        "scopes": ["tokens:read"],
        "secret_digest": token_format.digest(secret),
        "version": 1,
        # used before from the authorizer's test source IP, 1.2.3.4 (tokens/networks.py)
        "networks": {"1.2.3.0/24": {"first_seen_at": "2026-01-01T00:00:00Z", "last_seen_at": "2026-01-01T00:00:00Z"}},
    }
    return secret, item, to_item


def use_client(client, monkeypatch):
    """Every singleton over a DynamoDB client starts over on ``client``; the instance's verification
    cache stays (what it remembers across calls is what some tests are about)."""
    from tokensmith.aws import clients
    from tokensmith.organizations import repository as organization_repository
    from tokensmith.tokens import counters, repository, service

    monkeypatch.setattr(clients, "client", lambda service, endpoint_url=None: client)
    for cached in (
        repository.default_repository,
        counters.default_counters,
        organization_repository.default_policies,
        service.token_service,
    ):
        cached.cache_clear()


def authorize(client, secret, monkeypatch):
    use_client(client, monkeypatch)
    event = {"headers": {"authorization": f"Bearer {secret}"}, "requestContext": {"http": {"sourceIp": "1.2.3.4"}}}
    return load_function("functions/authorizer").handler(event, LambdaContext())


def verify_route(client, secret, monkeypatch, **body):
    use_client(client, monkeypatch)
    event = http_event("POST", "/v1/tokens/verify", "POST /v1/tokens/verify", body={"token": secret, **body})
    claims = {"token_id": str(uuid.uuid4()), "organization_id": "acme", "owner": "", "scopes": "tokens:verify"}
    event["requestContext"]["authorizer"] = {"lambda": claims}
    answer = load_function("functions/verify_token").handler(event, LambdaContext())
    return answer["statusCode"], json.loads(answer["body"])


def accepted(path: str, client, secret, monkeypatch) -> bool:
    """The authorizer's or the verify route's verdict on ``secret``."""
    if path == "authorizer":
        return authorize(client, secret, monkeypatch)["isAuthorized"] is True
    status, body = verify_route(client, secret, monkeypatch)
    assert status == 200 and body["code"] in ("VALID", "NOT_FOUND")
    return body["valid"] is True


def test_a_verification_with_a_fresh_last_use_is_one_consistent_get_item(token, monkeypatch):
    secret, item, to_item = token
    from tokensmith import clock

    client = CountingClient(to_item({**item, "last_used_at": clock.to_iso(clock.now())}))

    answer = authorize(client, secret, monkeypatch)

    assert answer["isAuthorized"] is True
    assert [name for name, _ in client.calls] == ["GetItem"]
    assert client.calls[0][1]["ConsistentRead"] is True


def test_a_stale_last_use_adds_one_conditional_update(token, monkeypatch):
    secret, item, to_item = token
    client = CountingClient(to_item(item))

    assert authorize(client, secret, monkeypatch)["isAuthorized"] is True
    assert [name for name, _ in client.calls] == ["GetItem", "UpdateItem"]
    assert "last_used_at < :stale" in client.calls[1][1]["ConditionExpression"]


def test_a_use_from_a_known_network_refreshes_it_in_the_last_use_write(token, monkeypatch):
    secret, item, to_item = token
    client = CountingClient(to_item(item))

    assert authorize(client, secret, monkeypatch)["isAuthorized"] is True

    assert [name for name, _ in client.calls] == ["GetItem", "UpdateItem"]
    update = client.calls[1][1]
    assert "networks.#seen_network.last_seen_at = :seen_at" in update["UpdateExpression"]
    assert update["ExpressionAttributeNames"] == {"#seen_network": "1.2.3.0/24"}


def test_a_tokens_first_network_rides_on_its_first_last_use_write(token, monkeypatch):
    # Given a token never used, verified many times within the minute from 1.2.3.4
    secret, item, to_item = token
    client = CountingClient(to_item({key: value for key, value in item.items() if key != "networks"}))
    for _ in range(50):
        assert authorize(client, secret, monkeypatch)["isAuthorized"] is True

    # Then one write in all, which stamped the last use and recorded the network
    assert [name for name, _ in client.calls].count("UpdateItem") == 1
    (update,) = [call for name, call in client.calls if name == "UpdateItem"]
    assert "networks = if_not_exists(networks, :first_networks)" in update["UpdateExpression"]
    assert "1.2.3.0/24" in update["ExpressionAttributeValues"][":first_networks"]["M"]


class NewNetworkClient(CountingClient):
    """Also answers the new-network write (a transaction of the token's update and its event)."""

    def transact_write_items(self, **kwargs):
        self.calls.append(("TransactWriteItems", kwargs))
        return {}


def test_a_use_from_a_new_network_adds_one_transaction_and_no_read(token, monkeypatch):
    # Given a token used before from 1.2.3.0/24 only, its last use fresh
    secret, item, to_item = token
    from tokensmith import clock

    seen = {"203.0.113.0/24": item["networks"]["1.2.3.0/24"]}
    client = NewNetworkClient(to_item({**item, "networks": seen, "last_used_at": clock.to_iso(clock.now())}))

    # When the authorizer sees it from 1.2.3.4
    assert authorize(client, secret, monkeypatch)["isAuthorized"] is True

    # Then one read and one transaction: the network and its token.new_location event
    assert [name for name, _ in client.calls] == ["GetItem", "TransactWriteItems"]
    update, put = (action for action in client.calls[1][1]["TransactItems"])
    assert "networks.#new_network = :new_network" in update["Update"]["UpdateExpression"]
    assert put["Put"]["Item"]["type"] == {"S": "token.new_location"}


def test_a_wrong_checksum_costs_no_call_at_all(token, monkeypatch):
    secret, item, to_item = token
    client = CountingClient(to_item(item))
    typo = secret[:-1] + ("A" if secret[-1] != "A" else "B")

    assert authorize(client, typo, monkeypatch) == {"isAuthorized": False}
    assert client.calls == []


def test_a_failed_last_use_write_does_not_refuse_a_verified_token(token, monkeypatch):
    secret, item, to_item = token
    client = CountingClient(to_item(item))

    def throttled(**kwargs):
        raise RuntimeError("throttled")

    client.update_item = throttled

    assert authorize(client, secret, monkeypatch)["isAuthorized"] is True


COOKIE_PROBE = """
import importlib.util, json, sys
sys.path[:0] = ["layers/common"]
spec = importlib.util.spec_from_file_location("authorizer_app", "functions/authorizer/app.py")
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
before = set(sys.modules)
from tokensmith.sessions import check
print(json.dumps(sorted(set(sys.modules) - before)))
"""


def test_the_bearer_path_does_not_load_the_cookie_path_and_the_cookie_path_loads_nothing_heavy():
    # Given a fresh interpreter with the authorizer imported
    result = subprocess.run([sys.executable, "-c", COOKIE_PROBE], cwd=ROOT, capture_output=True, text=True, check=True)
    added = json.loads(result.stdout)

    # Then the session module was not there before its first cookie, and brings nothing heavy
    assert "tokensmith.sessions.check" in added
    roots = {name.split(".")[0] for name in added}
    assert not roots & {"pydantic", "pydantic_core", "aws_lambda_powertools", "boto3", "botocore", "jmespath"}


def test_the_verify_route_makes_one_consistent_get_item_when_the_last_use_is_fresh(token, monkeypatch):
    secret, item, to_item = token
    from tokensmith import clock

    client = CountingClient(to_item({**item, "last_used_at": clock.to_iso(clock.now())}))

    status, body = verify_route(client, secret, monkeypatch, scopes=["tokens:read"])

    assert (status, body["code"]) == (200, "VALID")
    assert [name for name, _ in client.calls] == ["GetItem"]
    assert client.calls[0][1]["ConsistentRead"] is True


def test_the_verify_route_with_a_wrong_checksum_costs_no_call(token, monkeypatch):
    secret, item, to_item = token
    client = CountingClient(to_item(item))

    status, body = verify_route(client, secret[:-1] + ("A" if secret[-1] != "A" else "B"), monkeypatch)

    assert (status, body["code"]) == (200, "NOT_FOUND")
    assert client.calls == []


@pytest.mark.parametrize("path", ["authorizer", "verify route"])
def test_a_thousand_verifications_within_a_minute_write_once(token, monkeypatch, path):
    # Given a token never used, and (for the authorizer) a clock that moves 59 ms a call: 59 s in all
    secret, item, to_item = token
    from tokensmith import clock

    client = CountingClient(to_item(item))
    start = clock.now()
    ticks = iter(range(1000))
    monkeypatch.setattr(clock, "now", lambda: start + timedelta(seconds=next(ticks) * 0.059))

    # When it is verified 1,000 times
    for _ in range(1000):
        assert accepted(path, client, secret, monkeypatch)

    # Then 1,000 reads and one write
    names = [name for name, _ in client.calls]
    assert names.count("GetItem") == 1000
    assert names.count("UpdateItem") == 1


class FailingUpdateClient(CountingClient):
    """Reads work; the last-use write is throttled."""

    def update_item(self, **kwargs):
        from botocore.exceptions import ClientError

        self.calls.append(("UpdateItem", kwargs))
        raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "UpdateItem")


def test_a_failed_last_use_write_does_not_change_the_verify_routes_answer(token, monkeypatch):
    # Given a token whose last-use stamp is stale, and a DynamoDB that throttles writes
    secret, item, to_item = token
    client = FailingUpdateClient(to_item(item))

    # When the verify route checks it
    status, body = verify_route(client, secret, monkeypatch)

    # Then the answer is the verification's (as the authorizer's is), not a 503 for bookkeeping
    assert (status, body["code"]) == (200, "VALID")
    assert [name for name, _ in client.calls] == ["GetItem", "UpdateItem"]


# --- usage policies: the calls each adds (docs/performance.md, "Usage policies") --------------------


class CountingClientWithCounters(CountingClient):
    """Also answers the counters' conditional updates (a fresh window or credits item) and puts."""

    def update_item(self, **kwargs):
        if kwargs["Key"]["pk"]["S"].startswith("TOKEN#"):
            return super().update_item(**kwargs)
        self.calls.append(("UpdateItem", kwargs))
        counter = "used" if "used" in kwargs["UpdateExpression"] else "remaining"
        return {"Attributes": {counter: {"N": "1"}}}

    def put_item(self, **kwargs):
        self.calls.append(("PutItem", kwargs))
        return {}


def fresh(item):
    from tokensmith import clock

    return {**item, "last_used_at": clock.to_iso(clock.now())}


@pytest.mark.parametrize(
    ("policy", "counted"),
    [
        ({"allowed_cidrs": ["1.2.3.0/24"], "meta": '{"plan":"pro"}'}, []),
        ({"ratelimits": [{"name": "minute", "limit": 100, "duration_seconds": 60}]}, ["RATE#"]),
        ({"credits": {"remaining": 100}}, ["CREDITS#"]),
        (
            {"ratelimits": [{"name": "minute", "limit": 100, "duration_seconds": 60}], "credits": {"remaining": 9}},
            ["RATE#", "CREDITS#"],
        ),
    ],
)
def test_a_policy_adds_one_conditional_update_per_counter_and_nothing_else(token, monkeypatch, policy, counted):
    secret, item, to_item = token
    client = CountingClientWithCounters(to_item(fresh({**item, **policy})))

    answer = authorize(client, secret, monkeypatch)

    assert answer["isAuthorized"] is True and answer["context"]["code"] == "VALID"
    assert [name for name, _ in client.calls] == ["GetItem"] + ["UpdateItem"] * len(counted)
    for (_, call), prefix in zip(client.calls[1:], counted, strict=True):
        assert call["Key"]["pk"]["S"].startswith(prefix) and "ConditionExpression" in call


def test_the_authorizer_denies_an_address_outside_the_allowlist_after_one_read(token, monkeypatch):
    secret, item, to_item = token
    client = CountingClientWithCounters(to_item(fresh({**item, "org_allowed_cidrs": ["10.0.0.0/8"]})))

    assert authorize(client, secret, monkeypatch) == {"isAuthorized": False}  # the source IP is 1.2.3.4
    assert [name for name, _ in client.calls] == ["GetItem"]


def test_the_authorizer_passes_meta_and_the_outcome_as_strings(token, monkeypatch):
    secret, item, to_item = token
    client = CountingClientWithCounters(to_item(fresh({**item, "meta": '{"tenant":"t-9"}'})))

    context = authorize(client, secret, monkeypatch)["context"]

    assert json.loads(context["meta"]) == {"tenant": "t-9"}
    assert (context["code"], context["ratelimits"], context["credits"]) == ("VALID", "[]", "null")


class RefusingCounters(CountingClientWithCounters):
    """Every counter is full: its conditional update fails, answering the item as it stood."""

    def update_item(self, **kwargs):
        if kwargs["Key"]["pk"]["S"].startswith("TOKEN#"):
            return super().update_item(**kwargs)
        from botocore.exceptions import ClientError

        self.calls.append(("UpdateItem", kwargs))
        error = {"Code": "ConditionalCheckFailedException", "Message": "full"}
        raise ClientError({"Error": error, "Item": {"used": {"N": "100"}, "notified": {"SS": ["x"]}}}, "UpdateItem")


def test_a_rate_limited_token_gets_through_the_authorizer_marked_and_the_route_answers_429(token, monkeypatch):
    # Given a token whose window is full
    secret, item, to_item = token
    limits = [{"name": "minute", "limit": 100, "duration_seconds": 60}]
    client = RefusingCounters(to_item(fresh({**item, "ratelimits": limits})))

    # When the authorizer sees it, and one of our routes gets the request it let through
    answer = authorize(client, secret, monkeypatch)
    event = http_event("GET", "/v1/tokens/self", "GET /v1/tokens/self")
    event["requestContext"]["authorizer"] = {"lambda": answer["context"]}
    routed = load_function("functions/get_self").handler(event, LambdaContext())

    # Then the authorizer allowed it with RATE_LIMITED, and the route answered 429 with the header fields
    assert answer["isAuthorized"] is True and answer["context"]["code"] == "RATE_LIMITED"
    assert routed["statusCode"] == 429
    assert json.loads(routed["body"])["type"].endswith("/rate-limited")
    headers = routed["headers"]
    assert int(headers["Retry-After"]) >= 1 and headers["RateLimit-Policy"] == '"minute";q=100;w=60'
    assert headers["RateLimit"].startswith('"minute";r=0;t=')


def test_the_verify_route_answers_rate_limited_with_the_window(token, monkeypatch):
    secret, item, to_item = token
    limits = [{"name": "minute", "limit": 100, "duration_seconds": 60}]
    client = RefusingCounters(to_item(fresh({**item, "ratelimits": limits, "meta": '{"a":1}'})))

    status, body = verify_route(client, secret, monkeypatch, ip="1.2.3.4", cost=2)

    assert (status, body["code"], body["valid"]) == (200, "RATE_LIMITED", False)
    assert body["ratelimits"][0]["remaining"] == 0 and body["meta"] == {"a": 1}


@pytest.mark.parametrize("path", ["authorizer", "verify route"])
def test_a_flood_of_one_forged_secret_costs_one_read(token, monkeypatch, path):
    # Given a well-formed forgery carrying a real token's id (the checksum is public)
    secret, item, to_item = token
    client = CountingClient(to_item(item))
    forged = token_format.generate("tks", item["id"])

    # When it is presented a hundred times, Then it is refused each time
    for _ in range(100):
        assert not accepted(path, client, forged, monkeypatch)

    # Then the instance read the token once (tokens/verification_cache.py)
    assert [name for name, _ in client.calls] == ["GetItem"]


@pytest.mark.parametrize("path", ["authorizer", "verify route"])
def test_with_a_5_second_verify_cache_a_minute_of_verifications_reads_once_per_5_seconds(token, monkeypatch, path):
    # Given VERIFY_CACHE_SECONDS=5, a token never used, and a clock that moves 59 ms a call: 59 s in all
    secret, item, to_item = token
    from tokensmith import clock
    from tokensmith.settings import get_settings
    from tokensmith.tokens.verification_cache import instance_verification_cache

    monkeypatch.setenv("VERIFY_CACHE_SECONDS", "5")
    get_settings.cache_clear()
    client = CountingClient(to_item(item))
    start, elapsed = clock.now(), [0.0]
    monkeypatch.setattr(clock, "now", lambda: start + timedelta(seconds=elapsed[0]))
    instance_verification_cache().monotonic = lambda: elapsed[0]

    # When it is verified 1,000 times
    for number in range(1000):
        elapsed[0] = number * 0.059
        assert accepted(path, client, secret, monkeypatch)

    # Then one read per 5 seconds (at calls 0, 85, 170, ... 935: 85 x 59 ms is the first step past 5 s)
    names = [name for name, _ in client.calls]
    assert names.count("GetItem") == 12
    assert names.count("UpdateItem") == 1


def test_with_a_verify_cache_the_authorizer_still_counts_every_verification(token, monkeypatch):
    # Given VERIFY_CACHE_SECONDS=5 and a rate-limited token
    secret, item, to_item = token
    from tokensmith.settings import get_settings

    monkeypatch.setenv("VERIFY_CACHE_SECONDS", "5")
    get_settings.cache_clear()
    limits = [{"name": "minute", "limit": 100, "duration_seconds": 60}]
    client = CountingClientWithCounters(to_item(fresh({**item, "ratelimits": limits})))

    # When the authorizer sees it three times
    answers = [authorize(client, secret, monkeypatch) for _ in range(3)]

    # Then one read of the token (the copy answers after it), and one conditional update of its window each time
    assert all(answer["isAuthorized"] and answer["context"]["code"] == "VALID" for answer in answers)
    assert [name for name, _ in client.calls] == ["GetItem"] + ["UpdateItem"] * 3
    assert all(call["Key"]["pk"]["S"].startswith("RATE#") for _, call in client.calls[1:])


# --- retire on first use (tokens/rotation.py) -----------------------------------------------------------


class TransactingClient(CountingClient):
    """Also takes ``TransactWriteItems``: records it, and throttles it when told."""

    def __init__(self, item, throttle: bool = False):
        super().__init__(item)
        self.throttle = throttle

    def transact_write_items(self, **kwargs):
        from botocore.exceptions import ClientError

        self.calls.append(("TransactWriteItems", kwargs))
        if self.throttle:
            raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "TransactWriteItems")
        return {}


def rotated_item(token, retire_on_first_use: bool):
    """The token rotated a moment ago with an hour of grace (its last use fresh): (old, new, item)."""
    from tokensmith import clock

    old, item, to_item = token
    new = token_format.generate("tks", item["id"])
    grace_until = clock.now() + timedelta(hours=1)
    rotated = {
        **item,
        "secret_digest": token_format.digest(new),
        "previous_secret_digest": item["secret_digest"],
        "previous_valid_until": clock.to_iso(grace_until),
        "previous_valid_epoch": clock.epoch(grace_until),
        "last_used_at": clock.to_iso(clock.now()),
        "rotated_at": clock.to_iso(clock.now()),
        "audit": {},
        "retire_on_first_use": True if retire_on_first_use else None,
    }
    return old, new, to_item({k: v for k, v in rotated.items() if v is not None})


@pytest.mark.parametrize("path", ["authorizer", "verify route"])
@pytest.mark.parametrize("retire", [False, True], ids=["grace only", "retire on first use"])
def test_a_rotated_tokens_old_secret_and_a_plain_grace_cost_one_read(token, monkeypatch, path, retire):
    # Given a token in its rotation grace (retiring on first use or not)
    old, new, stored = rotated_item(token, retire)

    # When the old secret is verified (either way), or the new one of a plain grace
    client = TransactingClient(stored)
    assert accepted(path, client, old, monkeypatch)
    if not retire:
        assert accepted(path, client, new, monkeypatch)

    # Then only reads: nothing more than any verification
    assert {name for name, _ in client.calls} == {"GetItem"}


@pytest.mark.parametrize("path", ["authorizer", "verify route"])
def test_the_new_secrets_first_use_adds_one_transaction_conditioned_on_what_was_read(token, monkeypatch, path):
    # Given a token in a rotation grace that retires on first use
    old, new, stored = rotated_item(token, True)
    client = TransactingClient(stored)

    # When the new secret is verified
    assert accepted(path, client, new, monkeypatch)

    # Then one read and one transaction: the token's grace removed under the condition of the digests,
    # the grace and the flag it read, and the token.rotation_completed event
    assert [name for name, _ in client.calls] == ["GetItem", "TransactWriteItems"]
    update, put = client.calls[1][1]["TransactItems"]
    condition = update["Update"]["ConditionExpression"]
    values = update["Update"]["ExpressionAttributeValues"]
    names = update["Update"]["ExpressionAttributeNames"]
    conditioned = {names[placeholder] for placeholder in re.findall(r"(#c\d+) =", condition)}
    assert conditioned == {"version", "previous_valid_epoch", "retire_on_first_use"}
    assert values[":expected"] == {"N": "1"}  # the version read
    assert {"BOOL": True} in values.values()
    # no digest named anywhere in the write (the verifying functions may write none: template.yaml)
    named = set(update["Update"]["ExpressionAttributeNames"].values())
    assert not named & {"secret_digest", "previous_secret_digest"} and token_format.digest(old) not in str(update)
    assert put["Put"]["Item"]["type"] == {"S": "token.rotation_completed"}


@pytest.mark.parametrize("path", ["authorizer", "verify route"])
def test_a_throttled_first_use_write_does_not_change_the_answer(token, monkeypatch, path):
    # Given a token in a rotation grace that retires on first use, and a DynamoDB that throttles writes
    _, new, stored = rotated_item(token, True)
    client = TransactingClient(stored, throttle=True)

    # When the new secret is verified, Then it is accepted all the same
    assert accepted(path, client, new, monkeypatch)
    assert "TransactWriteItems" in [name for name, _ in client.calls]
