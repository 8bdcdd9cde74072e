"""Check that a built layer ships Python 3.13 bytecode for every module: `make build` runs it after `sam build`.

Without it every cold start compiles the layer from source (docs/performance.md), and `sam build` says
"Build Succeeded" either way. Exits 1, naming what is missing, unless ALLOW_NO_BYTECODE=1 (then it warns).

    python -m devtools.layer_bytecode [.aws-sam/build/CommonLayer]
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

TAG = "cpython-313"


def missing_bytecode(layer: Path) -> tuple[int, list[Path]]:
    """(how many modules the layer has, the modules without a Python 3.13 .pyc beside them)."""
    modules = sorted((layer / "python").rglob("*.py"))
    missing = [m for m in modules if not (m.parent / "__pycache__" / f"{m.stem}.{TAG}.pyc").is_file()]
    return len(modules), missing


def main(argv: list[str]) -> int:
    layer = Path(argv[1] if len(argv) > 1 else ".aws-sam/build/CommonLayer")
    total, missing = missing_bytecode(layer)
    if total == 0:
        print(f"ERROR: {layer}/python holds no module: was the layer built?")
        return 1
    if not missing:
        print(f"{layer}: {total} modules, {total} with Python 3.13 bytecode")
        return 0
    print(f"{layer}: {total} modules, {len(missing)} WITHOUT Python 3.13 bytecode, e.g. {missing[0]}")
    if os.environ.get("ALLOW_NO_BYTECODE") == "1":
        print("WARNING: ALLOW_NO_BYTECODE=1: shipping it anyway; every cold start compiles what is missing")
        return 0
    print("ERROR: build the layer with Python 3.13 (layers/common/Makefile says how)")
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
