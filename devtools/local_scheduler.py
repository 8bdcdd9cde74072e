"""A local stand-in for EventBridge Scheduler: runs the template's scheduled functions on their rate.

One daemon thread per `Schedule`/`ScheduleV2` event calls the function one interval after start, then every
interval (as AWS does: never at start). Runs go through the gateway's `invoke`, so they share its
LambdaRuntime (its modules and its lock): a scheduled run never overlaps an HTTP request's handler. A run
that outlasts the interval makes the scheduler skip the missed ticks instead of bunching them up.
`LocalScheduler.run()` runs one now, synchronously (the gateway's `POST /__local/schedules/<id>`).

Not emulated: cron(...) and at(...) expressions (give an interval override or trigger them by hand),
retries, flexible time windows, start/end dates, time zones.
"""

from __future__ import annotations

import json
import math
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from devtools.template import (
    PSEUDO_PARAMETERS,
    ScheduledFunction,
    TemplateError,
    schedule_interval_seconds,
)

# (schedule, event) -> whatever the handler returned; exceptions propagate.
Invoke = Callable[[ScheduledFunction, Any], Any]

MAX_LOGGED_RESULT_CHARS = 1000


def _iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def scheduler_event(schedule: ScheduledFunction, now: float | None = None) -> Any:
    """The payload AWS sends the function: the Scheduler's (ScheduleV2) or the rule's (Schedule) event,
    or the event's `Input` JSON as is when the template gives one."""
    if schedule.input is not None:
        return json.loads(schedule.input)
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events" if schedule.event_type == "Schedule" else "aws.scheduler",
        "account": PSEUDO_PARAMETERS["AWS::AccountId"],
        "time": _iso(time.time() if now is None else now),
        "region": PSEUDO_PARAMETERS["AWS::Region"],
        "resources": [schedule.arn],
        "detail": {},
    }


@dataclass(frozen=True)
class ScheduleRun:
    """The outcome of one invocation of a scheduled function."""

    trigger: str  # "schedule" (the timer) or "manual" (run() / the HTTP trigger)
    started_at: float  # epoch seconds
    duration_seconds: float
    result: Any = None  # what the handler returned (JSON-able), when it succeeded
    error: dict[str, str] | None = None  # {"errorType", "errorMessage"}, as Lambda reports a failure
    exception: BaseException | None = field(default=None, compare=False, repr=False)

    @property
    def ok(self) -> bool:
        return self.error is None

    def as_dict(self) -> dict[str, Any]:
        outcome: dict[str, Any] = {"result": self.result} if self.ok else {"error": self.error}
        return {
            "trigger": self.trigger,
            "time": _iso(self.started_at),
            "duration_ms": round(self.duration_seconds * 1000, 1),
            **outcome,
        }


@dataclass
class ScheduleEntry:
    """A schedule and what the local scheduler knows about it."""

    schedule: ScheduledFunction
    interval_seconds: float | None  # None: it does not run on its own (see `note`)
    overridden: bool = False  # the interval comes from the override, not the expression
    note: str | None = None  # why it does not run on its own
    runs: int = 0
    last_run: ScheduleRun | None = None
    next_due: float | None = None  # time.monotonic() of the next timed run, while its thread waits
    in_flight: int = 0  # runs under way or waiting for the handler lock (a timed and a manual one at once)

    @property
    def function_id(self) -> str:
        return self.schedule.function_id

    def describe(self) -> dict[str, Any]:
        next_run = None
        if self.next_due is not None:
            next_run = _iso(time.time() + max(0.0, self.next_due - time.monotonic()))
        return {
            "function": self.schedule.function_id,
            "event": self.schedule.event_id,
            "type": self.schedule.event_type,
            "expression": self.schedule.expression,
            "interval_seconds": self.interval_seconds,
            "interval_overridden": self.overridden,
            "enabled": self.schedule.enabled,
            "note": self.note,
            "next_run": next_run,
            "running": self.in_flight > 0,
            "runs": self.runs,
            "last_run": self.last_run.as_dict() if self.last_run else None,
        }


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class LocalScheduler:
    """Runs scheduled functions through `invoke`: on their interval once started, or now with `run()`."""

    def __init__(
        self,
        schedules: list[ScheduledFunction],
        invoke: Invoke,
        interval_override: float | None = None,
        log: bool = True,
    ) -> None:
        if interval_override is not None and not interval_override > 0:
            raise ValueError(f"a schedule interval must be a positive number of seconds: {interval_override}")
        self._invoke = invoke
        self.log = log
        self.interval_override = interval_override
        self.entries = [self._entry(schedule, interval_override) for schedule in schedules]
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    @staticmethod
    def _entry(schedule: ScheduledFunction, interval_override: float | None) -> ScheduleEntry:
        if not schedule.enabled:
            return ScheduleEntry(schedule, None, note="disabled in the template (State: DISABLED)")
        if interval_override is not None:
            return ScheduleEntry(schedule, float(interval_override), overridden=True)
        try:
            return ScheduleEntry(schedule, schedule_interval_seconds(schedule.expression))
        except TemplateError as error:  # cron(...), at(...): runs only when triggered
            return ScheduleEntry(schedule, None, note=str(error))

    # --- looking up ---------------------------------------------------------------------------------------

    def find(self, function_id: str, event_id: str | None = None) -> ScheduleEntry | None:
        """The entry of `function_id`'s event `event_id` (default: its first schedule), or None."""
        for entry in self.entries:
            if entry.function_id == function_id and event_id in (None, entry.schedule.event_id):
                return entry
        return None

    def describe(self) -> list[dict[str, Any]]:
        with self._lock:
            return [entry.describe() for entry in self.entries]

    def _label(self, entry: ScheduleEntry) -> str:
        siblings = [other for other in self.entries if other.function_id == entry.function_id]
        return entry.function_id if len(siblings) == 1 else f"{entry.function_id}/{entry.schedule.event_id}"

    # --- running --------------------------------------------------------------------------------------------

    def run(self, function_id: str, event_id: str | None = None, trigger: str = "manual") -> ScheduleRun:
        """Invoke a scheduled function once, now, in this thread; KeyError if there is no such schedule.
        The handler's exception is not raised but recorded in the returned run (`.error`, `.exception`)."""
        entry = self.find(function_id, event_id)
        if entry is None:
            raise KeyError(function_id if event_id is None else f"{function_id}/{event_id}")
        return self._run(entry, trigger)

    def _run(self, entry: ScheduleEntry, trigger: str) -> ScheduleRun:
        event = scheduler_event(entry.schedule)
        with self._lock:
            entry.in_flight += 1
        started_at, started = time.time(), time.monotonic()
        try:
            run = self._invoke_recorded(entry, event, trigger, started_at, started)
        finally:
            with self._lock:
                entry.in_flight -= 1
        with self._lock:
            entry.runs += 1
            entry.last_run = run
        if self.log:
            self._log_run(entry, run)
        return run

    def _invoke_recorded(
        self, entry: ScheduleEntry, event: Any, trigger: str, started_at: float, started: float
    ) -> ScheduleRun:
        result: Any = None
        error: dict[str, str] | None = None
        exception: BaseException | None = None
        try:
            returned = self._invoke(entry.schedule, event)
        except SystemExit as exit_error:  # sys.exit() in a handler: Lambda reports Runtime.ExitError
            exception = exit_error
            error = {"errorType": "Runtime.ExitError", "errorMessage": f"exit status {exit_error.code}"}
        except Exception as handler_error:  # noqa: BLE001 - a failed run is recorded, the scheduler goes on
            exception = handler_error
            error = {"errorType": type(handler_error).__name__, "errorMessage": str(handler_error)}
        else:
            try:
                result = json.loads(json.dumps(returned))  # what Lambda itself would serialise
            except (TypeError, ValueError) as marshal_error:
                exception = marshal_error
                error = {
                    "errorType": "Runtime.MarshalError",
                    "errorMessage": f"Unable to marshal response: {marshal_error}",
                }
        return ScheduleRun(
            trigger=trigger,
            started_at=started_at,
            duration_seconds=time.monotonic() - started,
            result=result,
            error=error,
            exception=exception,
        )

    def _log_run(self, entry: ScheduleEntry, run: ScheduleRun) -> None:
        how = "triggered" if run.trigger == "manual" else f"every {entry.interval_seconds:g}s"
        label = f"schedule {self._label(entry)} ({how})"
        if run.ok:
            summary = json.dumps(run.result, separators=(", ", ": "))
            if len(summary) > MAX_LOGGED_RESULT_CHARS:
                summary = summary[:MAX_LOGGED_RESULT_CHARS] + "..."
            _log(f"{label} ran in {run.duration_seconds:.2f}s -> {summary}")
            return
        assert run.error is not None
        _log(f"{label} FAILED after {run.duration_seconds:.2f}s: {run.error['errorType']}: {run.error['errorMessage']}")
        if run.exception is not None and run.error["errorType"] != "Runtime.MarshalError":
            _log("".join(traceback.format_exception(run.exception)).rstrip())

    # --- the timers ----------------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return any(thread.is_alive() for thread in self._threads)

    def start(self) -> None:
        """One daemon thread per schedule that has an interval; the first run is one interval from now."""
        if self._threads:
            raise RuntimeError("the scheduler is already started")
        self._stop.clear()
        for entry in self.entries:
            if entry.interval_seconds is None:
                if self.log:
                    _log(f"schedule {self._label(entry)} does not run on its own: {entry.note}")
                continue
            thread = threading.Thread(
                target=self._loop, args=(entry,), name=f"schedule-{self._label(entry)}", daemon=True
            )
            self._threads.append(thread)
            thread.start()

    def _loop(self, entry: ScheduleEntry) -> None:
        interval = entry.interval_seconds
        assert interval is not None
        due = time.monotonic() + interval
        try:
            while True:
                with self._lock:
                    entry.next_due = due
                if self._stop.wait(max(0.0, due - time.monotonic())):
                    return
                with self._lock:
                    entry.next_due = None
                self._run(entry, "schedule")
                now = time.monotonic()
                due += interval
                if due < now:  # the run outlasted the interval: skip the missed ticks, do not bunch up
                    due += math.ceil((now - due) / interval) * interval
        finally:
            with self._lock:
                entry.next_due = None

    def stop(self, timeout: float | None = None) -> None:
        """Stop every timer; a run under way is waited for (up to `timeout`, default: the longest Timeout)."""
        self._stop.set()
        if timeout is None:
            timeout = max((entry.schedule.timeout_seconds for entry in self.entries), default=0.0) + 1.0
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(min(1.0, max(0.0, deadline - time.monotonic())))
            if thread.is_alive():
                if self.log:
                    _log(f"waiting for the run under way in {thread.name} to finish ...")
                thread.join(max(0.0, deadline - time.monotonic()))
            if thread.is_alive() and self.log:
                _log(f"WARNING {thread.name} is still running after {timeout:g}s; leaving it behind")
        self._threads = [thread for thread in self._threads if thread.is_alive()]
