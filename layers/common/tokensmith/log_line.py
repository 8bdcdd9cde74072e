"""One structured JSON log line, for the authorizer's hot path.

Every other function logs through Powertools' Logger (``observability.py``). The authorizer runs on
every API call of every customer and starts cold on the critical path; importing Powertools' Logger
costs it about 70 ms, so it writes its few lines (a refusal's code, a failure) with this instead:
the same shape (level, message, service, timestamp, request id), no secret ever passed in.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

_LEVELS = {"DEBUG": 10, "INFO": 20, "WARNING": 30, "ERROR": 40}


def log(level: str, message: str, threshold: str = "INFO", **fields: Any) -> None:
    if _LEVELS.get(level, 40) < _LEVELS.get(threshold.upper(), 20):
        return
    line = {
        "level": level,
        "message": message,
        "service": "tokensmith",
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        **fields,
    }
    sys.stdout.write(json.dumps(line, default=str) + "\n")
