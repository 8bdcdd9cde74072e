"""The garbage collector waits while a function starts (``tokensmith.startup``): every function behind the
HTTP API imports it first, and its first invocation ends the wait. Each check runs in a fresh interpreter,
as Lambda starts one (the test process's own collector is left alone)."""

import ast
import json
import subprocess
import sys

import pytest

from tests.support import ROOT
from tokensmith.startup import STARTUP_THRESHOLD

API_FUNCTIONS = sorted(
    path.parent.name for path in (ROOT / "functions").glob("*/app.py") if "api_entrypoint" in path.read_text()
)

FIRST_INVOCATION = """
import gc, importlib.util, json, sys
sys.path[:0] = ["functions/{name}", "layers/common"]
default = gc.get_threshold()
spec = importlib.util.spec_from_file_location("app", "functions/{name}/app.py")
app = importlib.util.module_from_spec(spec)
spec.loader.exec_module(app)
after_import = gc.get_threshold()
event = {{"version": "2.0", "rawPath": "/nowhere", "headers": {{}}, "requestContext": {{"http": {{"method": "GET"}}}}}}
class Context:
    function_name, memory_limit_in_mb, aws_request_id = "test", 128, "00000000-0000-4000-8000-000000000000"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:test"
answer = app.handler(event, Context())
print(json.dumps({{"default": default, "after_import": after_import, "after_call": gc.get_threshold(),
                  "frozen": gc.get_freeze_count(), "status": answer.get("statusCode", answer.get("isAuthorized"))}}))
"""


def first_invocation(name: str) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", FIRST_INVOCATION.format(name=name)], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.splitlines()[-1])


@pytest.mark.parametrize("name", ["get_token", "create_token", "authorizer"])
def test_collection_waits_from_the_import_until_the_first_invocation_has_answered(name):
    # Given a fresh interpreter with Python's thresholds, When it imports the function and invokes it once
    seen = first_invocation(name)

    # Then nothing was collected on the way (the youngest generation's threshold was raised), and after the
    # first answer the thresholds are Python's again and what the start built is frozen
    assert seen["after_import"][0] == STARTUP_THRESHOLD
    assert seen["after_import"][1:] == seen["default"][1:]
    assert seen["after_call"] == seen["default"]
    assert seen["frozen"] > 10_000
    assert seen["status"] in (404, False)  # answered (no such route; the authorizer: no credentials)


def test_only_the_first_invocation_ends_the_wait():
    # Given a process whose first invocation has answered and whose code then sets its own thresholds
    script = (
        "import gc, sys; sys.path[:0] = ['layers/common']\n"
        "import tokensmith.startup as startup\n"
        "startup.started(); gc.set_threshold(5000, 10, 10); startup.started()\n"
        "print(gc.get_threshold())"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True)

    # Then a second call changes nothing
    assert result.stdout.strip() == "(5000, 10, 10)"


@pytest.mark.parametrize("name", [*API_FUNCTIONS, "authorizer"])
def test_every_function_imports_the_startup_module_before_anything_of_its_own(name):
    # Given the function's module, When its imports are read in order
    tree = ast.parse((ROOT / "functions" / name / "app.py").read_text())
    imports = [node for node in tree.body if isinstance(node, ast.Import | ast.ImportFrom)]
    modules = [node.names[0].name if isinstance(node, ast.Import) else node.module or "" for node in imports]
    first_party = [m for m in modules if m.split(".")[0] not in sys.stdlib_module_names and m != "__future__"]

    # Then the first import that is not the standard library's is the startup module
    assert first_party[0] == "tokensmith.startup", modules
