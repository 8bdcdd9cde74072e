"""docs/openapi.json passes `@redocly/cli lint` (its recommended rules, plus a license and declared,
described tags: redocly.yaml) with no error and no warning. The CLI comes from npm through npx (cached in
~/.npm after the first run); without npm, or with its registry out of reach, the test says so loudly and
skips, except under CI=true, where it fails."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from devtools.openapi import DOCUMENT
from devtools.pytest_fixtures import skip_loudly
from devtools.template import PROJECT_ROOT

REDOCLY = "@redocly/cli@2.77.0"
CONFIG = PROJECT_ROOT / "redocly.yaml"
# what npm says when it cannot reach its registry
UNREACHABLE = ("ENOTFOUND", "EAI_AGAIN", "ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "ENETUNREACH", "network")


class OpenApiLintUnavailable(UserWarning):
    """The OpenAPI document was not linted on this machine."""


def unavailable(config: pytest.Config, reason: str) -> None:
    skip_loudly(config, "The OpenAPI lint (redocly)", reason, "It needs Node.js >= 20 and npm.", OpenApiLintUnavailable)


def test_redocly_finds_no_problem_in_the_document(request: pytest.FixtureRequest) -> None:
    npx = shutil.which("npx")
    if npx is None:
        unavailable(request.config, "no npx (install Node.js >= 20 with npm)")
    command = [npx, "--yes", REDOCLY, "lint", "--config", str(CONFIG), "--format=json", str(DOCUMENT)]
    environment = {**os.environ, "NO_COLOR": "1", "REDOCLY_TELEMETRY": "off", "REDOCLY_SUPPRESS_UPDATE_NOTICE": "true"}
    result = subprocess.run(command, cwd=PROJECT_ROOT, env=environment, capture_output=True, text=True, timeout=600)
    if result.returncode != 0 and not result.stdout.strip() and any(word in result.stderr for word in UNREACHABLE):
        unavailable(request.config, f"npm could not fetch {REDOCLY}: {result.stderr.strip()[-300:]}")
    assert result.stdout.strip(), result.stderr
    report = json.loads(result.stdout)
    problems = [(p["ruleId"], p["message"], [loc.get("pointer") for loc in p["location"]]) for p in report["problems"]]
    assert report["totals"] == {"errors": 0, "warnings": 0, "ignored": 0}, problems
