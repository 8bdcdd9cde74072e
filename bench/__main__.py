"""``python -m bench [name ...] [-- options]``: run every benchmark (or the named ones), one after the
other; options after ``--`` go to each named benchmark (``python -m bench verify -- --rounds 5``)."""

from __future__ import annotations

import importlib
import sys

BENCHMARKS = (
    "sweep",
    "verify",
    "coldstart",
    "leaked",
    "list",
)  # modules of this package, each with main(argv=None) -> int


def main(argv: list[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    options: list[str] = []
    if "--" in arguments:
        split = arguments.index("--")
        arguments, options = arguments[:split], arguments[split + 1 :]
    names = arguments or list(BENCHMARKS)
    unknown = [name for name in names if name not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}", file=sys.stderr)
        return 2
    status = 0
    for name in names:
        status |= importlib.import_module(f"bench.{name}").main(list(options)) or 0
    return status


if __name__ == "__main__":
    sys.exit(main())
