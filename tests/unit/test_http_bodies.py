"""Every JSON body a function answers ends with a newline (`curl` left the prompt on the body's last line);
the ETag does not depend on the body."""

from __future__ import annotations

import json

from tokensmith.errors import NotFound
from tokensmith.http.problems import problem_body
from tokensmith.http.responses import etag, json_response
from tokensmith.http.verify_fast_path import error_answer, json_answer


def test_json_problem_and_fast_path_bodies_end_with_one_newline():
    bodies = [
        json_response({"valid": True, "name": "é"}).body,
        problem_body(NotFound("no such token"), {"rawPath": "/v1/tokens/x"}),
        json_answer({"valid": False, "code": "NOT_FOUND", "token": None})["body"],
        error_answer(NotFound("no such token"), {"rawPath": "/v1/tokens/verify"})["body"],
    ]
    for body in bodies:
        assert body.endswith("}\n") and not body.endswith("\n\n"), body
        assert json.loads(body)  # still one JSON document
    assert "é" in bodies[0]  # UTF-8, not escaped


def test_the_etag_is_the_version_whatever_the_body():
    assert etag({"version": 7}) == '"7"'
