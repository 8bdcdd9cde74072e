"""BatchGetItem's UnprocessedKeys: asked again, a bounded number of times."""

import pytest

from tokensmith.aws.dynamodb import StoreUnavailable, to_item
from tokensmith.sessions.repository import SessionRepository
from tokensmith.table import SESSION_SK, TOKEN_SK, session_key, token_key
from tokensmith.tokens.repository import TokenRepository


class ThrottledBatches:
    """Leaves every key unprocessed ``refusals`` times, then answers with the items it holds."""

    def __init__(self, items, refusals):
        self.items, self.refusals, self.calls = items, refusals, 0

    def batch_get_item(self, RequestItems):
        self.calls += 1
        ((table, request),) = RequestItems.items()
        if self.refusals:
            self.refusals -= 1
            return {"Responses": {table: []}, "UnprocessedKeys": RequestItems}
        wanted = [(k["pk"]["S"], k["sk"]["S"]) for k in request["Keys"]]
        return {"Responses": {table: [i for i in self.items if (i["pk"]["S"], i["sk"]["S"]) in wanted]}}


def items():
    return [to_item({**token_key("t1"), "id": "t1"}), to_item({**session_key("d1"), "token_id": "t1"})]


def test_unprocessed_keys_are_asked_again():
    client = ThrottledBatches(items(), refusals=2)
    token, session = SessionRepository("table", client=client).get_token_and_session("t1", "d1")
    assert (token["sk"], session["sk"], client.calls) == (TOKEN_SK, SESSION_SK, 3)


def test_keys_left_unprocessed_after_the_last_attempt_mean_the_store_is_unavailable():
    # Given DynamoDB leaves every key unprocessed, every time
    client = ThrottledBatches(items(), refusals=10)

    # Then the repository gives up after its last attempt, as throttling (a 503, never a 500)
    with pytest.raises(StoreUnavailable, match="after 4 attempts"):
        SessionRepository("table", client=client).get_token_and_session("t1", "d1")
    assert client.calls == 4


def test_get_tokens_reads_past_unprocessed_keys_too():
    client = ThrottledBatches([to_item({**token_key("t2"), "id": "t2"})], refusals=1)
    assert [t["id"] for t in TokenRepository("table", client=client).get_tokens(["t2", "t2"])] == ["t2"]
