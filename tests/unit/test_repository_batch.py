"""BatchGetItem's UnprocessedKeys: asked again, a bounded number of times."""

import pytest

from tokensmith.repository import SESSION_SK, TOKEN_SK, TokenRepository, session_key, to_item, token_key


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
    token = {**token_key("t1"), "id": {"S": "t1"}}
    session = {**session_key("d1"), "token_id": {"S": "t1"}}
    return [token, session]


def test_unprocessed_keys_are_asked_again():
    client = ThrottledBatches(items(), refusals=2)
    token, session = TokenRepository("table", client=client).get_token_and_session("t1", "d1")
    assert (token["sk"], session["sk"], client.calls) == (TOKEN_SK, SESSION_SK, 3)


def test_keys_left_unprocessed_after_the_last_attempt_are_an_error():
    client = ThrottledBatches(items(), refusals=10)
    with pytest.raises(RuntimeError, match="after 4 attempts"):
        TokenRepository("table", client=client).get_token_and_session("t1", "d1")
    assert client.calls == 4


def test_get_tokens_reads_past_unprocessed_keys_too():
    client = ThrottledBatches([to_item({"pk": "TOKEN#t2", "sk": TOKEN_SK, "id": "t2"})], refusals=1)
    assert [t["id"] for t in TokenRepository("table", client=client).get_tokens(["t2", "t2"])] == ["t2"]
