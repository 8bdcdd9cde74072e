"""Client mistakes are 4xx, never 5xx (issue 13, case 8 and 9): JSON nested past Python's stack, a
number of thousands of digits, an ``If-Match`` that is no entity tag (or a weak one, which never
matches: RFC 9110's strong comparison), a cursor that is not one of ours."""

from __future__ import annotations

import base64
import json

import pytest

from tests.unit.test_http_binding import JSON, call, problem
from tokensmith.aws.dynamodb import InvalidCursor, decode_cursor, encode_cursor
from tokensmith.errors import BadRequest
from tokensmith.http.request import NEVER, request_meta_from_event
from tokensmith.table import ORG_INDEX_KEYS


def test_json_nested_past_the_stack_is_a_400():
    # When a body opens 16,000 arrays (within the size limit; past the parser's recursion limit on
    # every Python: 3.11's is about 1,000, 3.13's about 10,000), Then it is a client error, not a crash
    answer = call("POST", "/tokens", "[" * 16_000, JSON)
    assert "nesting too deep" in problem(answer, 400)["detail"]


def test_a_number_of_five_thousand_digits_is_a_400():
    # When a body holds an integer literal longer than Python converts, Then it is a 400
    answer = call("POST", "/tokens", '{"name": "n", "expires_at": ' + "9" * 5000 + "}", JSON)
    assert "number too long" in problem(answer, 400)["detail"]


def if_match(value: str) -> frozenset[int] | None:
    return request_meta_from_event({"headers": {"if-match": value}}).if_match


def test_a_strong_entity_tag_names_its_version():
    assert if_match('"5"') == {5} and if_match('"5", "7"') == {5, 7} and if_match("*") is None


def test_a_weak_entity_tag_never_matches():
    # When If-Match carries W/"5", Then no version matches it (the change then answers 412)
    assert if_match('W/"5"') == {NEVER}


@pytest.mark.parametrize("value", ['"' + "9" * 5000 + '"', '"²"', '"5a"'])
def test_an_entity_tag_that_is_not_one_of_ours_never_matches(value):
    assert if_match(value) == {NEVER}


@pytest.mark.parametrize("value", ["5", "²", '"5', "W/5", '"5" "6"'])
def test_an_if_match_that_is_no_list_of_entity_tags_is_a_400(value):
    with pytest.raises(BadRequest, match="If-Match"):
        if_match(value)


def forged(key: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")


def test_a_cursor_of_ours_decodes_to_its_key():
    key = {"pk": {"S": "TOKEN#1"}, "sk": {"S": "TOKEN"}, "org_pk": {"S": "ORG#acme"}, "org_sk": {"S": "t#1"}}
    assert decode_cursor(encode_cursor(key), {"org_pk": "ORG#acme"}, ORG_INDEX_KEYS) == key


@pytest.mark.parametrize(
    "key",
    [
        {"org_pk": "ORG#acme"},  # key fields missing: DynamoDB would refuse the ExclusiveStartKey
        {"pk": "a", "sk": "b", "org_pk": "ORG#acme", "org_sk": "c", "extra": "d"},
        {"pk": "", "sk": "b", "org_pk": "ORG#acme", "org_sk": "c"},  # an empty key value
        {"pk": "a" * 2000, "sk": "b", "org_pk": "ORG#acme", "org_sk": "c"},
        {"pk": "a", "sk": "b", "org_pk": "ORG#globex", "org_sk": "c"},  # another listing's
        ["not", "an", "object"],
    ],
)
def test_a_cursor_that_is_not_one_of_ours_is_refused(key):
    with pytest.raises(InvalidCursor):
        decode_cursor(forged(key), {"org_pk": "ORG#acme"}, ORG_INDEX_KEYS)
