"""devtools.local_scheduler and the gateway's /__local/schedules routes, with fake handlers in tmp_path.

Nothing here imports the application: the scheduled functions are probes that log when they run.
"""

from __future__ import annotations

import calendar
import re
import textwrap
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from devtools.local_api.server import LocalApiServer, serve_in_thread
from devtools.local_scheduler import LocalScheduler, scheduler_event
from devtools.template import ScheduledFunction

ISO_Z = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
HANDLER_SECONDS = 0.05  # how long each probe handler works

PROBE_SOURCE = """
import time
from pathlib import Path

LOG = Path({log!r})
RUNS = 0


def _work(name):
    with LOG.open("a") as log:
        log.write(f"enter {{name}}\\n")
    time.sleep({seconds!r})
    with LOG.open("a") as log:
        log.write(f"exit {{name}}\\n")


def tick(event, context):
    global RUNS
    RUNS += 1
    first = context.get_remaining_time_in_millis()
    _work("tick")
    second = context.get_remaining_time_in_millis()
    return {{"runs": RUNS, "event": event, "remaining_ms": [first, second],
             "function_name": context.function_name, "memory_mb": context.memory_limit_in_mb}}


def nightly(event, context):
    return {{"nightly": True}}


def broken(event, context):
    raise ValueError("sweep bug")


def unmarshallable(event, context):
    return {{"when": object()}}


def http(event, context):
    _work("http")
    return {{"statusCode": 200, "body": "ok"}}


def shadow(event, context):
    return {{"statusCode": 200, "body": "template route " + event["routeKey"]}}
"""


def function(handler: str, timeout: int = 10, **events: dict[str, Any]) -> dict[str, Any]:
    return {
        "Type": "AWS::Serverless::Function",
        "Properties": {
            "CodeUri": "probe/",
            "Handler": handler,
            "Timeout": timeout,
            "MemorySize": 256,
            "Events": events,
        },
    }


def http_event(method: str, path: str) -> dict[str, Any]:
    properties: dict[str, Any] = {"ApiId": {"Ref": "Api"}, "Path": path, "Method": method}
    return {"Type": "HttpApi", "Properties": properties}


def probe_template(*, all_kinds: bool = True) -> dict[str, Any]:
    """A ScheduleV2 tick (Timeout 60) and an HTTP route; with `all_kinds`, also a failing classic Schedule,
    a cron schedule and a function whose result Lambda could not serialise."""
    resources: dict[str, Any] = {
        "Api": {"Type": "AWS::Serverless::HttpApi", "Properties": {}},  # no authorizer
        "TickFunction": function(
            "app.tick",
            timeout=60,
            Sweep={"Type": "ScheduleV2", "Properties": {"ScheduleExpression": {"Ref": "TickSchedule"}}},
        ),
        "HttpFunction": function("app.http", Get=http_event("GET", "/work")),
    }
    if all_kinds:
        resources |= {
            "BrokenFunction": function(
                "app.broken", Hourly={"Type": "Schedule", "Properties": {"Schedule": "rate(1 hour)"}}
            ),
            "NightlyFunction": function(
                "app.nightly",
                Nightly={"Type": "ScheduleV2", "Properties": {"ScheduleExpression": "cron(0 3 * * ? *)"}},
            ),
            "OddFunction": function(
                "app.unmarshallable",
                Daily={"Type": "ScheduleV2", "Properties": {"ScheduleExpression": "rate(1 day)"}},
            ),
        }
    return {
        "Parameters": {"TickSchedule": {"Type": "String", "Default": "rate(1 minute)"}},
        "Globals": {"Function": {"Handler": "app.handler"}},
        "Resources": resources,
    }


def write_probe(code_root: Path) -> Path:
    """Write the probe handlers; return the log they append "enter <name>"/"exit <name>" lines to."""
    log = code_root / "calls.log"
    log.touch()
    (code_root / "probe").mkdir()
    (code_root / "probe" / "app.py").write_text(
        textwrap.dedent(PROBE_SOURCE.format(log=str(log), seconds=HANDLER_SECONDS)), encoding="utf-8"
    )
    return log


def schedule_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name.startswith("schedule-")]


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalApiServer]:
    """The probe template served without timers: schedules run only when triggered."""
    code_root = tmp_path_factory.mktemp("scheduled")
    write_probe(code_root)
    with serve_in_thread("http://127.0.0.1:9", template=probe_template(), code_root=code_root) as server:
        yield server


# --- the event --------------------------------------------------------------------------------------------


def test_scheduler_event_is_an_eventbridge_scheduler_event() -> None:
    schedule = ScheduledFunction(
        "SweepFunction", "sweep/", "app.handler", "rate(1 minute)", 60, event_id="E", schedule_name="sweep"
    )
    event = scheduler_event(schedule, now=1_795_874_400.9)
    uuid.UUID(event.pop("id"))
    assert event == {
        "version": "0",
        "detail-type": "Scheduled Event",
        "source": "aws.scheduler",
        "account": "123456789012",
        "time": "2026-11-28T14:00:00Z",
        "region": "us-east-1",
        "resources": ["arn:aws:scheduler:us-east-1:123456789012:schedule/default/sweep"],
        "detail": {},
    }
    assert scheduler_event(schedule)["id"] != scheduler_event(schedule)["id"]  # a fresh id each run


def test_classic_schedule_events_and_input() -> None:
    rule = ScheduledFunction("F", "f/", "app.handler", "rate(1 hour)", 3, event_type="Schedule", schedule_name="r")
    event = scheduler_event(rule)
    assert (event["source"], event["resources"]) == (
        "aws.events",
        ["arn:aws:events:us-east-1:123456789012:rule/r"],
    )
    assert ISO_Z.fullmatch(event["time"])
    # An event's Input is sent as is, instead of the scheduler's event
    with_input = ScheduledFunction("F", "f/", "app.h", "rate(1 hour)", 3, input='{"a": [1]}')
    assert scheduler_event(with_input) == {"a": [1]}


# --- the trigger and list routes --------------------------------------------------------------------------


def test_trigger_runs_the_function_once_with_a_scheduler_event_and_its_context(
    api: LocalApiServer, capfd: pytest.CaptureFixture[str]
) -> None:
    before = api.scheduler.find("TickFunction").runs  # type: ignore[union-attr]
    # When the local-only route is called, without any Authorization
    response = requests.post(f"{api.base_url}/__local/schedules/TickFunction", timeout=10)
    # Then the handler ran once, now, and its result is the answer
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"function", "result"}
    assert body["function"] == "TickFunction"
    result = body["result"]
    assert api.scheduler.find("TickFunction").runs == before + 1  # type: ignore[union-attr]
    event = result["event"]
    assert (event["source"], event["detail-type"]) == ("aws.scheduler", "Scheduled Event")
    assert event["detail"] == {}
    assert event["resources"] == [
        "arn:aws:scheduler:us-east-1:123456789012:schedule/default/tokensmith-local-TickFunctionSweep"
    ]
    assert abs(time.time() - calendar.timegm(time.strptime(event["time"], "%Y-%m-%dT%H:%M:%SZ"))) < 5
    assert result["function_name"] == "tokensmith-local-TickFunction"
    assert result["memory_mb"] == 256
    # And one log line tells what it returned
    log_lines = [line for line in capfd.readouterr().err.splitlines() if line.startswith("schedule ")]
    assert len(log_lines) == 1
    assert log_lines[0].startswith("schedule TickFunction (triggered) ran in ")
    assert f'"runs": {result["runs"]}' in log_lines[0]


def test_remaining_time_counts_down_from_the_functions_timeout(api: LocalApiServer) -> None:
    first, second = api.run_schedule("TickFunction")["remaining_ms"]
    assert 60_000 - 500 < first <= 60_000  # Timeout: 60
    assert first - second >= HANDLER_SECONDS * 1000 * 0.8  # it went down while the handler worked


@pytest.mark.parametrize(
    "path",
    [
        "/__local/schedules/NoSuchFunction",
        "/__local/schedules/HttpFunction",  # a function, but not a scheduled one
        "/__local/schedules/TickFunction/NoSuchEvent",
    ],
)
def test_trigger_of_an_unknown_schedule_is_404_json(api: LocalApiServer, path: str) -> None:
    response = requests.post(f"{api.base_url}{path}", timeout=10)
    assert response.status_code == 404
    body = response.json()
    assert body["message"].startswith("no scheduled function")
    assert body["schedules"] == ["BrokenFunction", "NightlyFunction", "OddFunction", "TickFunction"]


def test_trigger_of_a_named_event_and_other_methods(api: LocalApiServer) -> None:
    named = requests.post(f"{api.base_url}/__local/schedules/TickFunction/Sweep", timeout=10)
    assert named.status_code == 200 and named.json()["function"] == "TickFunction"
    one = requests.get(f"{api.base_url}/__local/schedules/TickFunction", timeout=10)
    assert (one.status_code, one.json()["expression"]) == (200, "rate(1 minute)")
    wrong = requests.delete(f"{api.base_url}/__local/schedules/TickFunction", timeout=10)
    assert wrong.status_code == 405 and wrong.headers["Allow"] == "GET, POST"
    assert requests.get(f"{api.base_url}/__local/other", timeout=10).status_code == 404  # not a local route


def test_a_failing_handler_is_500_with_lambdas_error_fields(
    api: LocalApiServer, capfd: pytest.CaptureFixture[str]
) -> None:
    response = requests.post(f"{api.base_url}/__local/schedules/BrokenFunction", timeout=10)
    assert response.status_code == 500
    assert response.json() == {
        "function": "BrokenFunction",
        "errorType": "ValueError",
        "errorMessage": "sweep bug",
    }
    err = capfd.readouterr().err
    assert "schedule BrokenFunction (triggered) FAILED after " in err
    assert "ValueError: sweep bug" in err and "Traceback" in err
    # A result Lambda could not serialise is an error too, as in Lambda
    odd = requests.post(f"{api.base_url}/__local/schedules/OddFunction", timeout=10)
    assert odd.status_code == 500 and odd.json()["errorType"] == "Runtime.MarshalError"


def test_run_schedule_returns_the_result_or_raises(api: LocalApiServer) -> None:
    assert api.run_schedule("NightlyFunction") == {"nightly": True}  # cron: triggered by hand, it runs
    with pytest.raises(ValueError, match="sweep bug"):
        api.run_schedule("BrokenFunction")
    with pytest.raises(KeyError):
        api.run_schedule("NoSuchFunction")


def test_list_route_shows_expressions_and_the_last_run(api: LocalApiServer) -> None:
    requests.post(f"{api.base_url}/__local/schedules/TickFunction", timeout=10)
    api.run_schedule("NightlyFunction")
    response = requests.get(f"{api.base_url}/__local/schedules", timeout=10)
    assert response.status_code == 200
    schedules = {entry["function"]: entry for entry in response.json()["schedules"]}
    assert list(schedules) == ["TickFunction", "BrokenFunction", "NightlyFunction", "OddFunction"]
    tick = schedules["TickFunction"]
    assert {key: tick[key] for key in ("event", "type", "expression", "interval_seconds", "next_run")} == {
        "event": "Sweep",
        "type": "ScheduleV2",
        "expression": "rate(1 minute)",
        "interval_seconds": 60.0,
        "next_run": None,  # its timer is not started
    }
    assert tick["runs"] >= 1
    last = tick["last_run"]
    assert last["trigger"] == "manual" and ISO_Z.fullmatch(last["time"])
    assert last["result"]["runs"] >= 1 and last["duration_ms"] >= HANDLER_SECONDS * 1000
    assert schedules["BrokenFunction"]["type"] == "Schedule"
    assert schedules["BrokenFunction"]["interval_seconds"] == 3600.0
    nightly = schedules["NightlyFunction"]
    assert nightly["interval_seconds"] is None and "cron(0 3 * * ? *)" in nightly["note"]
    assert nightly["last_run"]["result"] == {"nightly": True}


def test_local_routes_never_shadow_the_templates_routes(tmp_path: Path) -> None:
    # Given a template that declares GET /__local/schedules itself, and a $default route
    write_probe(tmp_path)
    template = probe_template(all_kinds=False)
    template["Resources"]["ShadowFunction"] = function(
        "app.shadow", Own=http_event("GET", "/__local/schedules"), Rest=http_event("ANY", "$default")
    )
    with serve_in_thread("http://127.0.0.1:9", template=template, code_root=tmp_path) as server:
        # Then the template's route wins
        own = requests.get(f"{server.base_url}/__local/schedules", timeout=10)
        assert (own.status_code, own.text) == (200, "template route GET /__local/schedules")
        # And a local route the template does not declare still beats $default
        triggered = requests.post(f"{server.base_url}/__local/schedules/TickFunction", timeout=10)
        assert triggered.json()["function"] == "TickFunction"
        # And everything else still reaches $default
        assert requests.get(f"{server.base_url}/elsewhere", timeout=10).text == "template route $default"


# --- the timers -------------------------------------------------------------------------------------------


class Recorder:
    """An `invoke` for LocalScheduler that records (start, end) monotonic times of each call."""

    def __init__(self, seconds: float = 0.0) -> None:
        self.seconds = seconds
        self.calls: list[tuple[str, float, float]] = []
        self.lock = threading.Lock()

    def __call__(self, schedule: ScheduledFunction, event: Any) -> Any:
        start = time.monotonic()
        time.sleep(self.seconds)
        with self.lock:
            self.calls.append((schedule.function_id, start, time.monotonic()))
            return {"call": len(self.calls), "source": event["source"]}

    def wait_for(self, count: int, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.calls) < count:
            assert time.monotonic() < deadline, f"only {len(self.calls)} of {count} calls"
            time.sleep(0.01)


def a_schedule(function_id: str = "Tick", expression: str = "rate(1 minute)") -> ScheduledFunction:
    return ScheduledFunction(function_id, "x/", "app.handler", expression, 5, event_id="E", schedule_name="s")


def test_timer_fires_every_interval_first_one_interval_after_start_then_stops() -> None:
    recorder = Recorder()
    scheduler = LocalScheduler([a_schedule()], recorder, interval_override=0.2, log=False)
    started = time.monotonic()
    scheduler.start()
    try:
        recorder.wait_for(3)
    finally:
        scheduler.stop()
    # The first run one interval after start (not at start, as in AWS), each next one no earlier than its tick
    starts = [start for _, start, _ in recorder.calls]
    assert all(start - started >= 0.2 * (number + 1) - 0.005 for number, start in enumerate(starts)), starts
    # Then no thread is left, and nothing runs any more
    assert schedule_threads() == [] and not scheduler.running
    count = len(recorder.calls)
    time.sleep(0.3)
    assert len(recorder.calls) == count
    entry = scheduler.entries[0]
    assert entry.runs == count and entry.last_run is not None and entry.last_run.trigger == "schedule"
    assert entry.last_run.result["source"] == "aws.scheduler"


def test_stop_interrupts_a_long_wait_and_only_rate_schedules_get_a_timer() -> None:
    recorder = Recorder()
    cron = a_schedule("Nightly", "cron(0 3 * * ? *)")
    scheduler = LocalScheduler([a_schedule("Tick", "rate(1 hour)"), cron], recorder, log=False)
    scheduler.start()
    try:
        assert [thread.name for thread in schedule_threads()] == ["schedule-Tick"]
        tick, nightly = scheduler.describe()
        assert tick["interval_seconds"] == 3600 and ISO_Z.fullmatch(tick["next_run"])
        assert nightly["next_run"] is None and "rate(...) expressions only" in nightly["note"]
    finally:
        stopping = time.monotonic()
        scheduler.stop()
    assert time.monotonic() - stopping < 1.0
    assert schedule_threads() == [] and recorder.calls == []


def test_a_run_longer_than_the_interval_skips_ticks_instead_of_bunching_up() -> None:
    # Given runs of 0.23 s every 0.1 s: a run started on a tick ends 0.07 s before the third tick after it
    recorder = Recorder(seconds=0.23)
    scheduler = LocalScheduler([a_schedule()], recorder, interval_override=0.1, log=False)
    scheduler.start()
    try:
        recorder.wait_for(3)
    finally:
        scheduler.stop()
    # Then the next run waits for that tick (the two missed ones are dropped), it does not start at once
    for (_, _, end), (_, next_start, _) in zip(recorder.calls, recorder.calls[1:], strict=False):
        assert next_start - end >= 0.005, recorder.calls  # a catch-up would start within microseconds


def test_stop_waits_for_the_run_under_way() -> None:
    recorder = Recorder(seconds=0.3)
    scheduler = LocalScheduler([a_schedule()], recorder, interval_override=0.05, log=False)
    scheduler.start()
    deadline = time.monotonic() + 5
    while not scheduler.describe()[0]["running"]:
        assert time.monotonic() < deadline
        time.sleep(0.005)
    scheduler.stop()
    assert len(recorder.calls) == 1 and scheduler.entries[0].runs == 1  # it finished, and none began after
    assert schedule_threads() == []


def test_schedules_run_through_serve_in_thread_serialized_with_http_requests(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    log = write_probe(tmp_path)
    template = probe_template(all_kinds=False)
    # Given the timers on, every 0.05 s, and HTTP requests arriving from four threads at once
    with serve_in_thread(
        "http://127.0.0.1:9", template=template, code_root=tmp_path, schedules=True, schedule_interval=0.05
    ) as server:
        assert [thread.name for thread in schedule_threads()] == ["schedule-TickFunction"]
        statuses: list[int] = []

        def client() -> None:
            with requests.Session() as session:
                for _ in range(3):
                    statuses.append(session.get(f"{server.base_url}/work", timeout=10).status_code)

        clients = [threading.Thread(target=client) for _ in range(4)]
        for thread in clients:
            thread.start()
        for thread in clients:
            thread.join()
        deadline = time.monotonic() + 5
        while log.read_text().count("enter tick") < 3:
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.01)
    # Then the timer is gone with the server
    assert schedule_threads() == []
    assert statuses == [200] * 12
    # And no two handlers ever ran at once: every "enter" is followed by its own "exit"
    lines = log.read_text().splitlines()
    assert lines.count("enter http") == 12 and lines.count("enter tick") >= 3
    for enter, exit_ in zip(lines[::2], lines[1::2], strict=True):
        assert (enter.split()[0], exit_) == ("enter", "exit " + enter.split()[1]), lines
    # And each timed run logged one line with the handler's summary
    timed = [line for line in capfd.readouterr().err.splitlines() if line.startswith("schedule TickFunction")]
    assert len(timed) == lines.count("enter tick")
    pattern = re.compile(r'schedule TickFunction \(every 0\.05s\) ran in \d+\.\d\ds -> \{"runs": \d+, ')
    assert all(pattern.match(line) for line in timed), timed
