"""``python -m bench [name ...]``: run every benchmark (or the named ones), one after the other."""

from __future__ import annotations

import importlib
import sys

BENCHMARKS = ("sweep", "verify", "coldstart")  # modules of this package, each with main(argv=None) -> int


def main(argv: list[str] | None = None) -> int:
    names = list(sys.argv[1:] if argv is None else argv) or list(BENCHMARKS)
    unknown = [name for name in names if name not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}", file=sys.stderr)
        return 2
    status = 0
    for name in names:
        status |= importlib.import_module(f"bench.{name}").main([]) or 0
    return status


if __name__ == "__main__":
    sys.exit(main())
