"""Cold start and peak memory of every function behind the HTTP API, against a bare boto3 function.

``python -m bench.coldstart [--runs 7] [--python 3.13] [--bytecode cached,none] [--against DIR]``
(``make bench BENCH=coldstart``). Method and figures: docs/performance.md. ``--against`` measures another
checkout's functions and layer in the same runs (before/after a change, under the same load).

The functions are the authorizer and every function with an ``HttpApi`` event in template.yaml
(read from the template, so a new route is measured without touching this file). For each, a fresh
Python process (``python -I``, as Lambda starts one per execution environment) puts the function's
folder and the layer's package first on ``sys.path``, then, timed from there: imports ``app`` and
calls ``app.handler`` once with the function's sample event (events/<function>.json, its token ids,
secret and caller made real for the run; a function without a sample gets a bare event of its route).
Every first call does the route's real work and answers 2xx: the webhook routes act as an acme token
holding the webhook scopes, on an endpoint seeded for the run (each create its own URL); the session
routes carry a session of an acme console token, signed in for the run, with its CSRF token; the
console serves its script; KMS (signing secrets) and SQS (leak reports) are moto's server, provisioned
from the template as the local run does.
The baseline process imports boto3, creates a DynamoDB client and does one strongly consistent
``GetItem`` of a token. All talk to one DynamoDB Local.

Per run, every subject once, in a shuffled order, and the baseline between every two subjects.
Each subject run's ratio is its time over the mean of the baseline runs just before and just after
it (the machine's load drifts during a run); a subject's figure is the median of its ratios. The
milliseconds printed are medians too, for scale only.
Also: the process's wall time (interpreter start to exit), and its peak memory (``VmHWM``, the
resident high-water mark) after the first invocation. Every run must answer 2xx (the authorizer: ``isAuthorized``).

``--bytecode``:

- ``cached``: every module has its ``.pyc`` (a discarded warm-up run writes them): the best case.
- ``none``: the layer and the function as ``sam build`` ships them and Lambda runs them: the layer's
  packages installed without ``.pyc`` (layers/common/Makefile, ``--no-compile``), the function's code
  without; Python then compiles them at every cold start (``-B``: /opt and /var/task are read-only).
  The baseline keeps the interpreter's own, precompiled boto3, as the Lambda runtime's boto3 is.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import RESULTS, ROOT  # first: it puts layers/common on sys.path
from bench.support import (
    ORGANIZATION,
    claims_of,
    environ_set,
    environment,
    local_table,
    log,
    mint_token,
    write_results,
)
from devtools.template import default_authorizer, http_routes
from tokensmith.aws.dynamodb import to_item
from tokensmith.table import is_uuid, token_key

NAME = "coldstart"
TARGET_AUTHORIZER = 0.9
TARGET_API = 1.4
TARGET_MEMORY_MB = 64
LAYER_SOURCE = ROOT / "layers" / "common"

IMPORTED_MARK = "tokensmith-bench: imported"
# Runs in the fresh process. Reading the request (and importing json for it) comes before the clock
# starts, as the Lambda runtime has done both before it imports the handler.
PROBE = (
    f"IMPORTED_MARK = {IMPORTED_MARK!r}\n"
    + r"""
import json, sys
spec = json.loads(sys.stdin.read())
import time
started = time.perf_counter()

class Context:
    function_name = "bench"
    function_version = "$LATEST"
    memory_limit_in_mb = 128
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench"
    aws_request_id = "00000000-0000-4000-8000-000000000000"
    log_group_name = "/aws/lambda/bench"
    log_stream_name = "bench"

    def get_remaining_time_in_millis(self):
        return 10_000

if spec["mode"] == "baseline":
    import boto3
    client = boto3.client("dynamodb", endpoint_url=spec["endpoint_url"])
    imported = time.perf_counter()
    if spec.get("importtime"):
        import os
        os.write(2, IMPORTED_MARK.encode() + b"\n")
    response = client.get_item(TableName=spec["table"], Key=spec["key"], ConsistentRead=True)
    answered = time.perf_counter()
    outcome = "200" if "Item" in response else "no item"
else:
    sys.path[:0] = [spec["code_dir"], spec["layer_dir"]]
    import app
    imported = time.perf_counter()
    if spec.get("importtime"):  # -X importtime's lines after this one are the first call's imports
        import os
        os.write(2, IMPORTED_MARK.encode() + b"\n")
    answer = app.handler(spec["event"], Context())
    answered = time.perf_counter()
    if "isAuthorized" in answer:
        outcome = "authorized" if answer["isAuthorized"] else "refused"
    else:
        outcome = str(answer.get("statusCode"))
peak_kb = 0
with open("/proc/self/status") as status:  # VmHWM: this process's own peak (ru_maxrss counts the parent's)
    for line in status:
        if line.startswith("VmHWM:"):
            peak_kb = int(line.split()[1])
with open(spec["result"], "w") as out:
    json.dump({
        "import_ms": (imported - started) * 1000,
        "first_call_ms": (answered - imported) * 1000,
        "total_ms": (answered - started) * 1000,
        "max_rss_mb": peak_kb / 1024,
        "outcome": outcome,
    }, out)
"""
)


@dataclass(frozen=True)
class Subject:
    name: str  # the function's logical id, or "baseline"
    code_uri: str | None
    route: Any = None  # the HttpRoute, None for the authorizer and the baseline
    layer_dir: str | None = None  # another tree's layer (--against), else the layout's

    @property
    def event_name(self) -> str:
        return Path(self.code_uri or "").name


BEFORE = "before:"


def against(tree: Path, subjects: list[Subject]) -> list[Subject]:
    """The same functions in another checkout (``--against``), with its layer: a before/after comparison
    within one run, each against the same baseline processes (the machine's load falls on both)."""
    return [
        replace(s, name=BEFORE + s.name, code_uri=str(tree / (s.code_uri or "")), layer_dir=str(tree / "layers/common"))
        for s in subjects
    ]


def subjects_from_template(template: dict[str, Any]) -> list[Subject]:
    authorizer = default_authorizer(template)
    subjects = [Subject(authorizer.function_id, authorizer.code_uri.rstrip("/"))]
    seen = {authorizer.function_id}
    for route in http_routes(template):
        if route.function_id not in seen:
            seen.add(route.function_id)
            subjects.append(Subject(route.function_id, route.code_uri.rstrip("/"), route))
    return subjects


# --- events -------------------------------------------------------------------------------------------


class Callers:
    """The tokens the runs act as: an acme token with every tokens: scope (the organization policy
    routes need tokens:manage), a platform admin, an acme token with the webhook scopes, and an acme
    console token (whose sessions the session routes use)."""

    def __init__(self, github: Any = None) -> None:
        self.github = github  # the signer of GitHub's reports (``github_keys``)
        self.member, _ = mint_token(["tokens:read", "tokens:write", "tokens:manage", "tokens:verify"])
        self.admin, _ = mint_token(["admin"], organization_id="platform")
        self.hooks, _ = mint_token(["webhooks:read", "webhooks:write"])
        self.console, self.console_secret = mint_token(["tokens:read", "tokens:write", "console"])

    def claims_for(self, claims: dict[str, str]) -> dict[str, str]:
        scopes = (claims.get("scopes") or "").split()
        if "admin" in scopes:
            return claims_of(self.admin)
        if any(scope.startswith("webhooks:") for scope in scopes):
            return claims_of(self.hooks)
        if "console" in scopes:
            return claims_of(self.console)
        return claims_of(self.member)

    def new_session(self) -> Any:
        """A console session of the console token (its cookie: value and CSRF token)."""
        from tokensmith.sessions.service import session_service

        return session_service().sign_in(self.console_secret, "203.0.113.7", "tokensmith-bench/1.0").cookie


def seed_webhook(run: str) -> str:
    """An acme endpoint for one run (written as the create route writes it, its secret's ciphertext a
    stand-in: no route of the measured ones decrypts it); its id."""
    from tokensmith.webhooks.repository import default_webhook_repository
    from tokensmith.webhooks.event_types import EVENT_TYPES

    repository = default_webhook_repository()
    if repository.get_endpoint_register(ORGANIZATION) is None:
        repository.start_endpoint_register(ORGANIZATION)
    webhook_id = str(uuid.uuid4())
    at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    item = {
        "id": webhook_id,
        "organization_id": ORGANIZATION,
        "url": f"http://127.0.0.1:9/bench/{webhook_id}",
        "event_types": list(EVENT_TYPES),
        "enabled": True,
        "secret_ciphertext": "YmVuY2g=",
        "created_at": at,
        "modified_at": at,
        "created_by": f"bench {run}",
        "version": 1,
    }
    repository.create_webhook(item, cap=1_000_000)
    return webhook_id


def _substitute(value: Any, replacements: dict[str, str]) -> Any:
    if isinstance(value, str):
        for old, new in replacements.items():
            value = value.replace(old, new)
        return value
    if isinstance(value, list):
        return [_substitute(v, replacements) for v in value]
    if isinstance(value, dict):
        return {k: _substitute(v, replacements) for k, v in value.items()}
    return value


def _sample_cookie(event: dict[str, Any]) -> str:
    """The session cookie's value in a sample event (``<token id>.<secret>``)."""
    return next(c.split("=", 1)[1] for c in event["cookies"] if c.startswith("__Host-tokensmith_session="))


def first_event(subject: Subject, callers: Callers, run: str) -> dict[str, Any]:
    """The function's sample event, about a token made for this run (so that delete, revoke and the
    like act on a live one), called by a real caller; unique names where the body names a token."""
    target, secret = mint_token(["tokens:read"])
    if subject.route is not None and "{webhook_id}" in subject.route.path:
        target = {"id": seed_webhook(run)}  # the webhook routes' ids are an endpoint's
    path = ROOT / "events" / f"{subject.event_name}.json"
    if path.exists():
        event = json.loads(path.read_text(encoding="utf-8"))
    else:  # a route without a sample event: a bare request of its route
        route = subject.route
        raw_path = route.path if route else "/"
        event = {
            "version": "2.0",
            "routeKey": route.route_key if route else "$default",
            "rawPath": raw_path,
            "rawQueryString": "",
            "headers": {"user-agent": "tokensmith-bench/1.0"},
            "requestContext": {"http": {"method": route.method if route else "GET", "path": raw_path}},
        }
    sample_ids = {v for v in (event.get("pathParameters") or {}).values() if is_uuid(v)}  # not the console's file
    replacements = {sample: target["id"] for sample in sample_ids}
    replacements["tks_REPLACE_WITH_A_SECRET"] = secret
    replacements["tks_REPLACE_WITH_A_LEAKED_SECRET"] = secret
    replacements["tks_REPLACE_WITH_A_TOKEN_WITH_THE_CONSOLE_SCOPE"] = callers.console_secret
    if event.get("cookies"):  # the session routes: a session of the console token, made for this run
        cookie = callers.new_session()
        replacements[_sample_cookie(event)] = cookie.value
        replacements["REPLACE_WITH_THE_SESSION_CSRF_TOKEN"] = cookie.csrf_token
    event = _substitute(event, replacements)
    if subject.route is not None and event.get("pathParameters") is None and "{" in subject.route.path:
        names = [part[1:-1] for part in subject.route.path.split("/") if part.startswith("{")]
        event["pathParameters"] = {name: target["id"] for name in names}
        event["rawPath"] = _substitute(subject.route.path, {f"{{{n}}}": target["id"] for n in names})
    if isinstance(event.get("body"), str) and event["body"].startswith("{"):
        body = json.loads(event["body"])
        if "name" in body:
            body["name"] = f"{body['name']} {run}"
        if "url" in body:  # an organization has each endpoint once: one of its own per run, on loopback
            body["url"] = f"http://127.0.0.1:9/bench/{uuid.uuid4().hex}"
        event["body"] = json.dumps(body)
    headers = event.get("headers") or {}
    if headers.get("github-public-key-signature") and callers.github is not None:  # GitHub's signed report
        headers["github-public-key-identifier"] = callers.github.identifier
        headers["github-public-key-signature"] = callers.github.sign(event["body"].encode("utf-8"))
    context = event.setdefault("requestContext", {})
    if subject.route is not None and subject.route.authorized:
        claims = ((context.get("authorizer") or {}).get("lambda")) or {}
        context["authorizer"] = {"lambda": callers.claims_for(claims)}
    return event


@contextlib.contextmanager
def github_keys() -> Iterator[Any]:
    """A stand-in for GitHub's secret scanning keys endpoint on loopback (the tests' own), and the
    functions' environment pointing at it: the secret scanning route's first call fetches the keys and
    checks a real signature, as on AWS it fetches GitHub's. Yields the signer of the sample reports."""
    from tests.github_keys_server import github_keys_server
    from tests.github_signing import GitHubSigner

    signer = GitHubSigner()
    with github_keys_server(signer) as keys:
        with environ_set(GITHUB_SECRET_SCANNING_KEYS_URL=keys.url, WEBHOOK_ALLOW_LOOPBACK="true"):
            yield signer


@contextlib.contextmanager
def aws_services(table: Any) -> Iterator[None]:
    """moto's server holding the template's keys, queues and buses, and the functions' environment
    resolved against it (KMS for the webhook signing secrets, SQS for leak reports), as the local run
    has them: the routes that need them answer 2xx on their first call like every other."""
    from devtools.embedded_dynamodb import embedded_dynamodb
    from devtools.local_api.environment import applied_environment, local_environment
    from devtools.local_events import provision

    with embedded_dynamodb() as endpoint_url:
        refs = provision(table.template, endpoint_url, {})
        environment = local_environment(
            table.template, table.endpoint_url, table.table_name, refs=refs, aws_endpoint_url=endpoint_url
        )
        with applied_environment(environment):
            yield


# --- running -------------------------------------------------------------------------------------------


@dataclass
class Layout:
    """Where the fresh processes find the layer and the functions, and how they run Python."""

    python: str
    layer_dir: Path
    code_root: Path
    flags: tuple[str, ...]  # for the subjects; the baseline runs with plain -I


def build_layout(python: str, bytecode: str, workdir: Path) -> Layout:
    if bytecode == "cached":
        return Layout(python, LAYER_SOURCE, ROOT, ())
    # As sam build ships it: the requirements installed without bytecode, then the package.
    layer_dir = workdir / "layer" / "python"
    layer_dir.mkdir(parents=True)
    uv = ROOT / ".tools" / "bin" / "uv"
    command = [str(uv), "pip", "install", "--quiet", "--no-compile", "--python", python, "--target", str(layer_dir)]
    subprocess.run([*command, "-r", str(LAYER_SOURCE / "requirements.txt")], check=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(LAYER_SOURCE / "tokensmith", layer_dir / "tokensmith", ignore=ignore)
    shutil.copytree(ROOT / "functions", workdir / "functions", ignore=ignore)
    return Layout(python, layer_dir, workdir, ("-B",))


def run_probe(layout: Layout, spec: dict[str, Any], workdir: Path) -> dict[str, Any]:
    result_path = workdir / f"result-{uuid.uuid4().hex}.json"
    flags = () if spec["mode"] == "baseline" else layout.flags
    if spec.get("importtime"):
        flags = (*flags, "-X", "importtime")
    begin = time.perf_counter()
    completed = subprocess.run(
        [layout.python, "-I", *flags, "-c", PROBE],
        input=json.dumps({**spec, "result": str(result_path)}),
        capture_output=True,
        text=True,
        check=False,
    )
    wall_ms = (time.perf_counter() - begin) * 1000
    if completed.returncode != 0 or not result_path.exists():
        raise RuntimeError(f"probe failed ({completed.returncode}): {completed.stderr[-3000:]}")
    result = json.loads(result_path.read_text(encoding="utf-8"))
    result_path.unlink()
    result["wall_ms"] = wall_ms
    if spec.get("importtime"):
        result["imports"] = import_breakdown(completed.stderr)
    return result


# --- where the time goes (--importtime) ---------------------------------------------------------------

PACKAGE_GROUPS = {
    "pydantic": ("pydantic", "pydantic_core", "annotated_types", "typing_inspection", "typing_extensions"),
    "powertools": ("aws_lambda_powertools",),
    "botocore": ("boto3", "botocore", "jmespath", "dateutil", "urllib3", "s3transfer", "six"),
    "tokensmith": ("tokensmith", "app"),
    "cryptography": ("cryptography", "cffi", "_cffi_backend"),
}
GROUPS = (*PACKAGE_GROUPS, "stdlib", "other")


def group_of(module: str) -> str:
    top = module.split(".")[0]
    for group, packages in PACKAGE_GROUPS.items():
        if top in packages:
            return group
    return "stdlib" if top.lstrip("_") in sys.stdlib_module_names or top in sys.stdlib_module_names else "other"


def import_breakdown(stderr: str) -> dict[str, dict[str, float]]:
    """``-X importtime``'s self times (ms) summed by package group, for the import of ``app`` and for the
    imports its first call made (after the probe's mark)."""
    phases: dict[str, dict[str, float]] = {phase: dict.fromkeys(GROUPS, 0.0) for phase in ("import", "first_call")}
    phase = "import"
    for line in stderr.splitlines():
        if line == IMPORTED_MARK:
            phase = "first_call"
            continue
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, _cumulative, module = line.removeprefix("import time:").split("|")
        phases[phase][group_of(module.strip())] += int(self_us) / 1000
    return {name: {group: round(ms, 1) for group, ms in groups.items()} for name, groups in phases.items()}


def measure(
    table: Any,
    layout: Layout,
    subjects: list[Subject],
    runs: int,
    seed: int,
    workdir: Path,
    github: Any = None,
    importtime: bool = False,
) -> dict:
    callers = Callers(github)
    baseline_item, _ = mint_token(["tokens:read"])
    baseline_spec = {
        "mode": "baseline",
        "endpoint_url": table.endpoint_url,
        "table": table.table_name,
        "key": to_item(token_key(baseline_item["id"])),
    }

    def subject_spec(subject: Subject, run: str) -> dict[str, Any]:
        return {
            "mode": "function",
            "code_dir": str(layout.code_root / subject.code_uri),
            "layer_dir": subject.layer_dir or str(layout.layer_dir),
            "event": first_event(subject, callers, run),
        }

    for subject in subjects:  # warm-up, discarded: the OS page cache, and .pyc files where they are kept
        run_probe(layout, subject_spec(subject, f"warm-up {uuid.uuid4().hex[:6]}"), workdir)
    run_probe(layout, baseline_spec, workdir)

    rng = random.Random(seed)
    samples: dict[str, list[dict[str, Any]]] = {s.name: [] for s in subjects}
    samples["baseline"] = []
    for number in range(runs):
        order = list(subjects)
        rng.shuffle(order)
        before = run_probe(layout, baseline_spec, workdir)
        samples["baseline"].append(before)
        for subject in order:
            # the event (a token minted through DynamoDB Local) is made before the clock of the probe runs
            spec = subject_spec(subject, f"run {number} {uuid.uuid4().hex[:6]}")
            result = run_probe(layout, spec, workdir)
            after = run_probe(layout, baseline_spec, workdir)
            samples["baseline"].append(after)
            # against the baseline runs just before and just after it: the load drifts over a run
            result["ratio"] = result["total_ms"] / ((before["total_ms"] + after["total_ms"]) / 2)
            result["ratio_wall"] = result["wall_ms"] / ((before["wall_ms"] + after["wall_ms"]) / 2)
            samples[subject.name].append(result)
            before = after
        log(NAME, f"run {number + 1}/{runs} done")
    if importtime:  # one more process each, under -X importtime (slower: not counted in the figures)
        samples["importtime:baseline"] = [run_probe(layout, {**baseline_spec, "importtime": True}, workdir)]
        for subject in subjects:
            spec = {**subject_spec(subject, f"importtime {uuid.uuid4().hex[:6]}"), "importtime": True}
            samples[f"importtime:{subject.name}"] = [run_probe(layout, spec, workdir)]
    return samples


def summarize(samples: dict[str, list[dict[str, Any]]], subjects: list[Subject]) -> dict[str, Any]:
    def med(name: str, key: str) -> float:
        return statistics.median(s[key] for s in samples[name])

    rows: dict[str, Any] = {}
    kinds = {s.name: ("api" if s.route is not None else "authorizer") for s in subjects}  # --only may omit it
    for name in ["baseline", *[s.name for s in subjects]]:
        row = {
            "runs": len(samples[name]),
            "import_ms": round(med(name, "import_ms"), 1),
            "first_call_ms": round(med(name, "first_call_ms"), 1),
            "total_ms": round(med(name, "total_ms"), 1),
            "wall_ms": round(med(name, "wall_ms"), 1),
            "max_rss_mb": round(max(s["max_rss_mb"] for s in samples[name]), 1),
            "outcomes": sorted({s["outcome"] for s in samples[name]}),
        }
        if name == "baseline":
            row["ratio"], row["ratio_wall"] = 1.0, 1.0
        else:
            row["ratio"] = round(med(name, "ratio"), 3)
            row["ratio_wall"] = round(med(name, "ratio_wall"), 3)
        traced = samples.get(f"importtime:{name}")
        if traced:
            row["imports"] = traced[0]["imports"]
        if name != "baseline":
            target = TARGET_AUTHORIZER if kinds[name] == "authorizer" else TARGET_API
            row["kind"], row["target"] = kinds[name], target
            row["within_target"] = row["ratio"] <= target
            row["answered"] = all(o in ("authorized",) or o.startswith("2") for o in row["outcomes"])
        row["within_memory"] = row["max_rss_mb"] <= TARGET_MEMORY_MB
        rows[name] = row
    return rows


# --- reporting ----------------------------------------------------------------------------------------------


def print_table(results: dict[str, Any]) -> None:
    env = results["environment"]
    for bytecode, rows in results["modes"].items():
        print(f"\nCold start, bytecode {bytecode} (Python {env['python']}, {results['parameters']['runs']} runs)")
        columns = ("function", "import ms", "1st call", "total ms", "x base", "target", "wall x", "peak MB", "answer")
        widths = (26, 9, 8, 8, 6, 13, 6, 10, 10)
        fmt = " ".join(f"{{:{'<' if i == 0 else '>'}{w}}}" for i, w in enumerate(widths))
        print(fmt.format(*columns))
        print("-" * (sum(widths) + len(widths) - 1))
        for name, row in rows.items():
            if name == "baseline":
                verdict = "-"
                label = "bare boto3 GetItem"
            else:
                verdict = f"<={row['target']:.2f} {'ok' if row['within_target'] else 'MISS'}"
                label = name.removesuffix("Function")
            memory = f"{row['max_rss_mb']:.0f}{'' if row['within_memory'] else ' !'}"
            cells = (
                label, f"{row['import_ms']:.1f}", f"{row['first_call_ms']:.1f}", f"{row['total_ms']:.1f}",
                f"{row['ratio']:.2f}", verdict, f"{row['ratio_wall']:.2f}", memory, ",".join(row["outcomes"]),
            )  # fmt: skip
            print(fmt.format(*cells))
    for bytecode, rows in results["modes"].items():
        if any("imports" in row for row in rows.values()):
            print_imports(bytecode, rows)
    print(
        f"targets: authorizer <= {TARGET_AUTHORIZER} x, API functions <= {TARGET_API} x the baseline's median "
        f"(import + first call, in-process); peak memory <= {TARGET_MEMORY_MB} MB"
    )


def print_imports(bytecode: str, rows: dict[str, Any]) -> None:
    """What each process imported, ms of ``-X importtime`` self time by package group (its own overhead
    inflates them: compare them with each other, not with the table above): in ``import app`` | in the
    first call."""
    print(f"\nWhere the import time goes, bytecode {bytecode}: ms of -X importtime, import app | first call")
    print(f"{'function':<26} " + " ".join(f"{group:>17}" for group in GROUPS))
    for name, row in rows.items():
        imports = row.get("imports")
        if imports:
            cells = (f"{imports['import'][g]:7.1f} | {imports['first_call'][g]:7.1f}" for g in GROUPS)
            print(f"{name.removesuffix('Function'):<26} " + " ".join(f"{c:>17}" for c in cells))


def find_interpreter(version: str) -> str:
    """A ``python<version>`` that runs: ``PYTHON_RUNTIME`` (the Makefile exports the one it found),
    then ``PATH`` (a pyenv shim there may refuse an inactive version), then pyenv's versions; else
    the bare version, for uv to look for."""
    home = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
    candidates = [os.environ.get("PYTHON_RUNTIME"), shutil.which(f"python{version}")]
    candidates += [str(p) for p in sorted(home.glob(f"versions/{version}*/bin/python{version}"))]
    check = f"import sys; sys.exit(sys.version.startswith('{version}.') is False)"
    for candidate in filter(None, candidates):
        if subprocess.run([candidate, "-c", check], capture_output=True).returncode == 0:
            return candidate
    return version


def resolve_python(value: str | None) -> str:
    """An interpreter path, or a version such as 3.13: a venv under .tools/ with the layer's
    requirements (made with uv from layers/common/requirements.txt the first time)."""
    if not value:
        return sys.executable
    if Path(value).exists():
        return value
    venv = ROOT / ".tools" / f"bench-python{value}"
    python = venv / "bin" / "python"
    if not python.exists():
        uv = str(ROOT / ".tools" / "bin" / "uv")
        interpreter = find_interpreter(value)
        subprocess.run([uv, "venv", "--quiet", "--python", interpreter, str(venv)], check=True)
        requirements = str(LAYER_SOURCE / "requirements.txt")
        subprocess.run([uv, "pip", "install", "--quiet", "--python", str(python), "-r", requirements], check=True)
    return str(python)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.coldstart", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="fresh processes per function (default 7)")
    parser.add_argument("--python", help="interpreter path, or a version (3.13) for a venv of the layer's requirements")
    parser.add_argument("--bytecode", default="cached,none", help="cached, none, or both (default cached,none)")
    parser.add_argument("--only", help="function logical ids to measure, comma-separated (default: all)")
    parser.add_argument(
        "--against",
        help="another checkout (e.g. main's): its functions and layer measured too, in the same runs, as "
        "'before:<function>' (bytecode cached only; they do not count for the exit status)",
    )
    parser.add_argument(
        "--importtime",
        action="store_true",
        help="also run each function once under -X importtime and print its import time by package",
    )
    parser.add_argument("--seed", type=int, default=20261130)
    parser.add_argument("--output", default=str(RESULTS / f"{NAME}.json"), help="the JSON results ('' = none)")
    args = parser.parse_args(argv)
    modes = [m.strip() for m in args.bytecode.split(",") if m.strip()]
    if not set(modes) <= {"cached", "none"}:
        parser.error("--bytecode: cached, none or both")
    if args.against and modes != ["cached"]:
        parser.error("--against needs --bytecode cached")

    started = time.perf_counter()
    python = resolve_python(args.python)
    results: dict[str, Any] = {"benchmark": NAME, "environment": environment(python)}
    results["parameters"] = {"runs": args.runs, "bytecode": modes, "seed": args.seed}
    results["modes"] = {}
    with (
        local_table() as table,
        aws_services(table),
        github_keys() as github,
        # revoke-leaked answers no sooner than a floor (250 ms, so that its time says nothing about what
        # was reported): a deliberate wait, not cold start; the run measures the work under it
        environ_set(LEAK_REPORT_ANSWER_MS="0"),
        tempfile.TemporaryDirectory(prefix="tokensmith-coldstart-") as tmp,
    ):
        subjects = subjects_from_template(table.template)
        if args.only:
            wanted = {name.strip() for name in args.only.split(",")}
            subjects = [s for s in subjects if s.name in wanted]
        if args.against:
            subjects += against(Path(args.against).resolve(), subjects)
        results["functions"] = [s.name for s in subjects]
        for bytecode in modes:
            workdir = Path(tmp) / bytecode
            workdir.mkdir()
            layout = build_layout(python, bytecode, workdir)
            log(NAME, f"bytecode {bytecode}: {len(subjects)} functions x {args.runs} runs, Python {python}")
            samples = measure(table, layout, subjects, args.runs, args.seed, workdir, github, args.importtime)
            results["modes"][bytecode] = summarize(samples, subjects)
    write_results(NAME, results, args.output, started)
    print_table(results)
    rows = [
        row
        for mode in results["modes"].values()
        for name, row in mode.items()
        if name != "baseline" and not name.startswith(BEFORE)
    ]
    ok = all(r["within_target"] and r["within_memory"] and r["answered"] for r in rows)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
