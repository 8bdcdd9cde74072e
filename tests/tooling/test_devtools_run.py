"""devtools.run (`make run`), as a real process: a stub stands in for tokensmith.bootstrap."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import stat
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
import requests

from devtools.local_scheduler import LocalScheduler
from devtools.run import metrics_environment, parse_args, usage_banner, write_admin_token
from devtools.template import (
    DEFAULT_TEMPLATE,
    PROJECT_ROOT,
    ScheduledFunction,
    load_template,
    schedule_interval_seconds,
    scheduled_functions,
)

STUB_RUNNER = """
import json, sys, types

from devtools.local_aws import dynamodb_client

def create_admin_token(*, table_name, endpoint_url, organization_id, name):
    table = dynamodb_client(endpoint_url).describe_table(TableName=table_name)["Table"]
    with open({record!r}, "w") as record:
        json.dump({{"table": table_name, "status": table["TableStatus"], "organization_id": organization_id,
                   "name": name}}, record)
    return "token-id-1", "tks_stubsecret0123"

package = types.ModuleType("tokensmith")
package.__path__ = []
bootstrap = types.ModuleType("tokensmith.bootstrap")
bootstrap.create_admin_token = create_admin_token
sys.modules.update({{"tokensmith": package, "tokensmith.bootstrap": bootstrap}})

from devtools.run import main
sys.exit(main(sys.argv[1:]))
"""


def read_lines(stream: object, lines: queue.Queue[str]) -> None:
    for line in stream:  # type: ignore[attr-defined]
        lines.put(line)


@pytest.mark.parametrize(
    ("database", "stop_signal", "schedule_interval"),
    [
        pytest.param("embedded", signal.SIGINT, None, id="embedded-SIGINT"),
        pytest.param("embedded", signal.SIGTERM, "3600", id="embedded-SIGTERM-SCHEDULE_INTERVAL"),
        pytest.param("local", signal.SIGINT, None, marks=pytest.mark.dynamodb_local, id="local-SIGINT"),
    ],
)
def test_run_serves_writes_the_admin_token_and_stops_cleanly(
    tmp_path: Path,
    request: pytest.FixtureRequest,
    database: str,
    stop_signal: signal.Signals,
    schedule_interval: str | None,
) -> None:
    if database == "local":
        request.getfixturevalue("dynamodb_local_endpoint")  # skip (or fail under CI) without Java
    record = tmp_path / "bootstrap.json"
    runner = tmp_path / "run_with_stub.py"
    runner.write_text(textwrap.dedent(STUB_RUNNER.format(record=str(record))))
    token_file = tmp_path / "state" / "admin-token"
    # Given `python -m devtools.run` on a free port
    process = subprocess.Popen(
        [
            sys.executable,
            str(runner),
            "--port",
            "0",
            "--dynamodb",
            database,
            "--admin-token-file",
            str(token_file),
        ],
        cwd=PROJECT_ROOT,
        env={
            **{name: value for name, value in os.environ.items() if name != "SCHEDULE_INTERVAL"},
            "PYTHONPATH": str(PROJECT_ROOT),
            **({"SCHEDULE_INTERVAL": schedule_interval} if schedule_interval else {}),
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=read_lines, args=(process.stdout, lines), daemon=True).start()
    try:
        output = ""
        deadline = time.monotonic() + 60
        while "Ctrl-C stops" not in output:
            try:
                output += lines.get(timeout=0.5)
            except queue.Empty:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"no banner; stdout:\n{output}\nexit code: {process.poll()}")
        base_url = re.search(r"local API on (http://127\.0\.0\.1:\d+)", output).group(1)  # type: ignore[union-attr]

        # Then it serves the template's routes (the console's page needs no tokensmith package, which
        # this stub replaces), 404 off the routes
        assert requests.get(f"{base_url}/console", timeout=10).status_code == 200
        assert requests.get(f"{base_url}/nowhere", timeout=10).status_code == 404
        # And the admin token was made in the created table, saved 0600 and printed once
        assert json.loads(record.read_text()) == {
            "table": "tokensmith-local",
            "status": "ACTIVE",
            "organization_id": "platform",
            "name": "local-admin",
        }
        assert token_file.read_text() == "tks_stubsecret0123\n"
        assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
        assert output.count("tks_stubsecret0123") == 1
        for route in ("/v1/tokens ", "/v1/tokens/verify", "/v1/tokens/self"):
            assert f"{base_url}{route}" in output
        ddb_port = re.search(r"DynamoDB: .* at http://127\.0\.0\.1:(\d+)", output).group(1)  # type: ignore[union-attr]

        # And the template's schedule is on its timer (SCHEDULE_INTERVAL replacing its rate), with the
        # command to run it now
        (sweep,) = scheduled_functions(load_template(DEFAULT_TEMPLATE))
        interval = float(schedule_interval or schedule_interval_seconds(sweep.expression))
        every = f"every {interval:g}s (--schedule-interval; the template says {sweep.expression})"
        if schedule_interval is None:
            every = f"every {interval:g}s ({sweep.expression})"
        assert f"Schedules: {sweep.function_id} {every}" in output
        assert f"  curl -X POST {base_url}/__local/schedules/{sweep.function_id}\n" in output
        (listed,) = requests.get(f"{base_url}/__local/schedules", timeout=10).json()["schedules"]
        assert listed["function"] == sweep.function_id
        assert listed["interval_seconds"] == interval
        assert listed["next_run"] is not None and listed["runs"] == 0  # waiting: the first run is later

        # When it gets Ctrl-C (or SIGTERM)
        process.send_signal(stop_signal)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    # Then it exits 0 without a traceback, and leaves no JVM behind
    stderr = process.stderr.read()  # type: ignore[union-attr]
    assert process.returncode == 0, stderr
    assert "Traceback" not in stderr
    time.sleep(0.1)
    processes = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True, check=True).stdout
    assert not [line for line in processes.splitlines() if "DynamoDBLocal.jar" in line and f"-port {ddb_port}" in line]


def test_write_admin_token_tightens_an_existing_file(tmp_path: Path) -> None:
    path = tmp_path / "admin-token"
    path.write_text("old")
    path.chmod(0o644)
    write_admin_token(path, "tks_new")
    assert path.read_text() == "tks_new\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_usage_banner_has_ready_to_paste_commands(tmp_path: Path) -> None:
    banner = usage_banner("http://127.0.0.1:4321", tmp_path / "admin-token", "embedded moto")
    assert f'export ADMIN="$(cat {tmp_path / "admin-token"})"' in banner
    assert "curl -s -X POST http://127.0.0.1:4321/v1/tokens " in banner
    assert 'curl -s http://127.0.0.1:4321/v1/tokens -H "Authorization: Bearer $ADMIN"' in banner
    assert "http://127.0.0.1:4321/v1/tokens/verify" in banner
    assert "http://127.0.0.1:4321/v1/tokens/self" in banner
    assert "Console: http://127.0.0.1:4321/console " in banner


def test_schedule_interval_comes_from_the_flag_or_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SCHEDULE_INTERVAL", raising=False)
    assert parse_args([]).schedule_interval is None
    assert parse_args(["--schedule-interval", "0.5"]).schedule_interval == 0.5
    monkeypatch.setenv("SCHEDULE_INTERVAL", "5")  # make run SCHEDULE_INTERVAL=5
    assert parse_args([]).schedule_interval == 5.0
    assert parse_args(["--schedule-interval", "2"]).schedule_interval == 2.0  # the flag wins
    monkeypatch.setenv("SCHEDULE_INTERVAL", "")  # an empty make variable: no override
    assert parse_args([]).schedule_interval is None


@pytest.mark.parametrize("value", ["0", "-1", "soon", "inf", "nan"])
def test_schedule_interval_must_be_a_positive_number(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], value: str
) -> None:
    monkeypatch.delenv("SCHEDULE_INTERVAL", raising=False)
    with pytest.raises(SystemExit) as exited:
        parse_args(["--schedule-interval", value])
    assert exited.value.code == 2
    assert "--schedule-interval" in capsys.readouterr().err
    monkeypatch.setenv("SCHEDULE_INTERVAL", value)
    with pytest.raises(SystemExit):
        parse_args([])


def sweep_schedule(expression: str = "rate(1 minute)", function_id: str = "ExpireTokensFunction") -> ScheduledFunction:
    return ScheduledFunction(function_id, "code/", "app.handler", expression, 60, event_id="Sweep")


def banner_with(schedules: list[ScheduledFunction], interval: float | None = None) -> str:
    scheduler = LocalScheduler(schedules, lambda schedule, event: None, interval_override=interval, log=False)
    return usage_banner("http://127.0.0.1:4321", Path("admin-token"), "embedded moto", scheduler.entries)


def test_usage_banner_tells_how_the_schedules_run_and_how_to_run_one_now() -> None:
    banner = banner_with([sweep_schedule()])
    assert "Schedules: ExpireTokensFunction every 60s (rate(1 minute))" in banner
    assert "\n  curl -X POST http://127.0.0.1:4321/__local/schedules/ExpireTokensFunction\n" in banner
    assert "curl http://127.0.0.1:4321/__local/schedules lists them" in banner
    overridden = banner_with([sweep_schedule()], interval=5)
    assert "every 5s (--schedule-interval; the template says rate(1 minute))" in overridden
    cron = banner_with([sweep_schedule("cron(0 3 * * ? *)", "NightlyFunction")])
    assert "Schedules: NightlyFunction only when triggered (cron(0 3 * * ? *))\n" in cron
    assert "/__local/schedules/NightlyFunction" in cron
    # Without scheduled functions, no word about them
    assert "__local" not in banner_with([]) and "Schedules" not in banner_with([])


def test_metrics_stay_off_the_run_log_unless_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    """`make run` printed one EMF JSON line per invocation (704 in a session); METRICS=1 brings them back."""
    from aws_lambda_powertools.metrics.functions import is_metrics_disabled

    monkeypatch.delenv("METRICS", raising=False)
    assert parse_args([]).metrics is False
    monkeypatch.setenv("METRICS", "1")
    assert parse_args([]).metrics is True
    for show in (False, True):
        for name, value in metrics_environment(show).items():
            monkeypatch.setenv(name, value)
        assert is_metrics_disabled() is not show
