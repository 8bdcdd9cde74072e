"""Benchmarks (``make bench``, ``python -m bench``): run by hand, never part of ``make test``.

Each module listed in ``bench.__main__.BENCHMARKS`` has ``main(argv=None) -> int``, prints its table
to stdout (progress to stderr) and writes ``bench/results/<name>.json``.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"

# `python -m bench` without PYTHONPATH: the layer package and devtools must be importable.
for _path in (ROOT / "layers" / "common", ROOT):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))
