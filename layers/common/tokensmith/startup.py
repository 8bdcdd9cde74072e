"""The garbage collector waits while a Lambda function starts: imported first by every function behind the
HTTP API (``import tokensmith.startup``, the first import of its ``app.py``), it holds back collection
until :func:`started` is called at the end of the function's first invocation.

A cold start allocates about 85,000 objects that live as long as the process (pydantic's models,
dataclasses, botocore's modules, its service model and the client): with Python's default thresholds
(a collection every 2,000 new objects) the collector runs some forty times over them, looking for
garbage there is none of, about 20 ms of an API function's 250 ms cold start (docs/performance.md,
*Cold start*). Importing this module raises the youngest generation's threshold to
:data:`STARTUP_THRESHOLD`, above what a start allocates, so that nothing is collected while the
function starts. :func:`started` then moves every object alive at that point to the permanent
generation (``gc.freeze``: later collections no longer walk what the start built, which lives as long
as the process anyway) and restores the thresholds found here. Nothing is switched off: were
``started`` never called, the collector would still run, every 200,000 objects instead of 2,000.
"""

from __future__ import annotations

import gc

STARTUP_THRESHOLD = 200_000
_THRESHOLDS = gc.get_threshold()
_started = False

gc.set_threshold(max(STARTUP_THRESHOLD, _THRESHOLDS[0]), *_THRESHOLDS[1:])


def started() -> None:
    """The function's first invocation has answered: freeze what the start built, restore the thresholds.
    Only the first call does anything."""
    global _started
    if _started:
        return
    _started = True
    gc.freeze()
    gc.set_threshold(*_THRESHOLDS)
