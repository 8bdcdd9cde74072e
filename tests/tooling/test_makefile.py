"""The Makefile a new user meets: a bare `make` explains itself, and `make run` installs only what it uses."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from devtools.template import PROJECT_ROOT

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="no make on this machine")


def make(*arguments: str) -> str:
    result = subprocess.run(
        ["make", "--no-print-directory", *arguments], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_a_bare_make_prints_the_help_of_every_documented_target():
    help_text = make()
    assert help_text == make("help")
    documented = re.findall(r"^## make ([a-z0-9-]+)", (PROJECT_ROOT / "Makefile").read_text(), re.MULTILINE)
    for target in ("run", "test", "lint", "openapi", "bootstrap", "deploy", "help"):
        assert target in documented
    for target in documented:
        assert re.search(rf"^make {re.escape(target)}\b", help_text, re.MULTILINE), target


def test_make_run_installs_uv_but_not_the_sam_cli(tmp_path: Path):
    """aws-sam-cli took 87 s of a 155 s first `make run`, which never uses it."""
    tools = f"TOOLS={tmp_path / 'tools'}"  # a fresh machine: nothing installed yet
    plan = make("-n", "run", tools)
    assert "uv==" in plan and "aws-sam-cli" not in plan
    for target in ("lint-template", "build"):
        assert "aws-sam-cli==" in make("-n", target, tools), target
