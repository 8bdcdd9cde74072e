"""The local-only schedule routes under /__local/schedules (see devtools.local_api): list the template's
scheduled functions, describe one, run one now."""

from __future__ import annotations

from urllib.parse import unquote

from devtools.local_api.events import IncomingRequest
from devtools.local_api.responses import GatewayResponse, json_response
from devtools.local_scheduler import LocalScheduler

LOCAL_SCHEDULES_PATH = "/__local/schedules"


def schedules_route(scheduler: LocalScheduler, request: IncomingRequest, request_id: str) -> GatewayResponse | None:
    """The answer of a /__local/schedules route, or None when the path is not one."""
    path = request.raw_path.rstrip("/")
    if path != LOCAL_SCHEDULES_PATH and not path.startswith(LOCAL_SCHEDULES_PATH + "/"):
        return None
    names = [unquote(part) for part in path[len(LOCAL_SCHEDULES_PATH) :].split("/") if part]
    method = request.method.upper()
    if not names:
        if method not in ("GET", "HEAD"):
            return json_response(405, {"message": "Method Not Allowed"}, request_id, allow="GET")
        return json_response(200, {"schedules": scheduler.describe()}, request_id)
    if len(names) > 2:
        return None
    entry = scheduler.find(*names)
    if entry is None:
        known = sorted({entry.function_id for entry in scheduler.entries})
        message = f"no scheduled function {'/'.join(names)}"
        return json_response(404, {"message": message, "schedules": known}, request_id)
    if method in ("GET", "HEAD"):
        return json_response(200, entry.describe(), request_id)
    if method != "POST":
        return json_response(405, {"message": "Method Not Allowed"}, request_id, allow="GET, POST")
    run = scheduler.run(entry.function_id, entry.schedule.event_id, trigger="manual")
    if not run.ok:
        return json_response(500, {"function": entry.function_id, **(run.error or {})}, request_id)
    return json_response(200, {"function": entry.function_id, "result": run.result}, request_id)
