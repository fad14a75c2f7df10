"""Run every benchmark module of bench/ and print its figures: ``python -m bench [MODULE ...]``.

A benchmark module is any ``bench/<name>.py`` with a ``run() -> dict`` function; add one and it runs here.
The figures go to docs/benchmarks.md by hand, with the machine they were measured on.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import sys
from collections.abc import Sequence
from pathlib import Path


def benchmark_modules() -> list[str]:
    return sorted(
        module.name
        for module in pkgutil.iter_modules([str(Path(__file__).parent)])
        if not module.name.startswith("_")
    )


def main(argv: Sequence[str] | None = None) -> int:
    names = list(argv if argv is not None else sys.argv[1:]) or benchmark_modules()
    for name in names:
        run = getattr(importlib.import_module(f"bench.{name}"), "run", None)
        if not callable(run):
            continue
        print(json.dumps({name: run()}, indent=2, default=str), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
