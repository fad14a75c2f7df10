"""Benchmark: every Lambda handler's cold import, as deployed, as a ratio to a bare ``import boto3``.

Lambda starts a fresh interpreter, puts the function's folder, the layer (/opt/python) and the runtime's own
packages (boto3, botocore and what they need) on ``sys.path``, sets the function's environment, and imports
``app``. This bench does the same on this machine, for each ``functions/*/app.py``:

- the interpreter: Python 3.13 as the layer build finds it (``infra.layer.compiled_by``), else this one;
- the layer: built by ``infra.layer.build_shared_layer`` as for a deploy, but with this machine's wheels
  (the runtime's platform tags with its architecture swapped for this one's), into ``build/cold_start/``;
  ``COLD_START_LAYER=<dir>`` measures a layer built elsewhere instead (a build dir or its ``python/``);
- the runtime's packages: ``infra.layer.RUNTIME_PROVIDED``, copied from this environment and compiled (the
  runtime's are), on the path after the layer, as on Lambda;
- the function's folder: its asset as the synth stages it (``infra.function_code``: the sources and, with a
  Python 3.13, their bytecode);
- ``sys.path``: only those three and the interpreter's standard library (``-I -S``: no site-packages), no
  bytecode written (``-B``: /opt and /var/task are read-only); the environment: what the runtime sets
  (``LAMBDA_TASK_ROOT`` and the like) and the function's variables from the catalog, with placeholders.

Each handler's ``import app`` and a bare ``import boto3`` (the runtime's packages alone on the path: what a function
without the layer pays) are timed inside the fresh interpreter, alternately, best of ``COLD_START_REPEATS`` (5);
the figure is the ratio of the two bests, since absolute times drift on a shared machine. ``powertools_floor`` is
the same figure for a handler of nothing but what every handler here has (Powertools' logger, tracer and
idempotency layer): the part of a ratio that no change to the product's own modules can remove.

Run alone with ``python -m bench.cold_start`` or through ``python -m bench cold_start``.
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from infra.catalog import CATALOG, ROOT
from infra.function_code import staged_function_code
from infra.layer import PIP_TARGET_ARGS, RUNTIME_PROVIDED, build_shared_layer, compiled_by
from infra.layer_contents import handler_files

HANDLERS_DIR = ROOT / "functions"
BENCH_BUILD_DIR = ROOT / "build" / "cold_start"
REPEATS = int(os.environ.get("COLD_START_REPEATS", "5"))
LAYER_VARIABLE = "COLD_START_LAYER"
TARGET_RATIO = 1.5

# Runs in the fresh interpreter: argv[1] is the module to import, the rest the path entries before the stdlib.
_TIME_IMPORT = """
import sys, time
sys.path[:0] = sys.argv[2:]
started = time.perf_counter()
__import__(sys.argv[1])
print(time.perf_counter() - started)
"""


def host_target_args() -> tuple[str, ...]:
    """The layer's pip arguments with this machine's architecture: the same wheels, loadable here."""
    machine = platform.machine().lower()
    arch = {"arm64": "aarch64", "amd64": "x86_64"}.get(machine, machine)
    return tuple(argument.replace("aarch64", arch) for argument in PIP_TARGET_ARGS)


def placeholder(name: str, value: object) -> str:
    """An environment variable's value for a function run without its stack: literal values are kept (connector
    names, policies); resource references get a value of the right shape."""
    if isinstance(value, str):
        return value
    if name.endswith("_ROLE_ARN"):
        return "arn:aws:iam::123456789012:role/placeholder"
    if name.endswith("_ARN"):
        return "arn:aws:sns:us-east-1:123456789012:placeholder"
    if name.endswith("_URL"):
        return "https://example.invalid/placeholder"
    return "placeholder"


def handler_environment(folder: Path) -> dict[str, str]:
    """What Lambda sets for the function whose code is in ``folder``: the runtime's variables (the X-Ray SDK
    reads ``LAMBDA_TASK_ROOT`` to skip its sampling client), and the catalog's, with placeholders."""
    variables = {function.code_dir.name: function.environment for function in CATALOG.functions}
    return {
        "PATH": os.environ.get("PATH", ""),
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
        "AWS_LAMBDA_FUNCTION_NAME": folder.name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
        "LAMBDA_TASK_ROOT": str(folder),
        "_HANDLER": "app.handler",
        **{name: placeholder(name, value) for name, value in variables.get(folder.name, {}).items()},
    }


def _layer_python() -> tuple[Path, bool]:
    given = os.environ.get(LAYER_VARIABLE)
    if given:
        path = Path(given)
        return (path / "python" if (path / "python").is_dir() else path), True
    return build_shared_layer(BENCH_BUILD_DIR, host_target_args()) / "python", False


def _copy_runtime(destination: Path, interpreter: str) -> None:
    """The runtime's packages (``RUNTIME_PROVIDED``) from this environment, compiled as the runtime ships them."""
    for name in sorted(RUNTIME_PROVIDED):
        distribution = importlib.metadata.distribution(name)
        for file in distribution.files or []:
            source = Path(str(distribution.locate_file(file)))
            if file.parts[0].startswith("..") or "__pycache__" in file.parts or ".dist-info" in str(file):
                continue
            if source.is_file():
                copied = destination / file
                copied.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, copied)
    subprocess.run([interpreter, "-I", "-m", "compileall", "-q", str(destination)], check=True)


def _time_import(interpreter: str, module: str, path: list[Path], environment: dict[str, str]) -> float:
    result = subprocess.run(
        [interpreter, "-I", "-S", "-B", "-c", _TIME_IMPORT, module, *map(str, path)],
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"import {module} failed: {result.stderr.strip().splitlines()[-1:]}")
    return float(result.stdout.strip().splitlines()[-1])


# The least a handler of this product imports: Powertools' logger and tracer (X-Ray) and the idempotency layer,
# whose DynamoDB client Powertools creates at init. Every handler has these; its own code comes on top. Timed
# like a handler, it shows how much of a ratio is the product's code and how much the floor under it.
FLOOR_HANDLER = """
from aws_lambda_powertools import Logger, Tracer
from backoffice.idempotency import idempotent_on

logger = Logger()
tracer = Tracer()


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
@idempotent_on('"case_id"')
def handler(event, context):
    return {}
"""
FLOOR_NAME = "powertools_floor"


def _floor_copy(into: Path) -> Path:
    # Staged like a handler's asset (compiled alike), from a source folder beside it.
    source = into / "source" / FLOOR_NAME
    source.mkdir(parents=True)
    (source / "app.py").write_text(FLOOR_HANDLER, encoding="utf-8")
    return staged_function_code(source, into)


def _handler_copy(handler: Path, into: Path) -> Path:
    # The function's asset as the synth stages it (its sources and their bytecode for the runtime, when this
    # machine has a Python 3.13): Lambda's function folder holds what the asset holds.
    return staged_function_code(handler.parent, into)


def run() -> dict[str, Any]:
    compiler = compiled_by()
    interpreter = str(compiler or sys.executable)
    layer_python, given = _layer_python()
    handlers = handler_files(HANDLERS_DIR)
    figures: dict[str, dict[str, float]] = {}
    baseline_best = float("inf")
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="cold-start-") as scratch:
        runtime = Path(scratch) / "runtime"
        _copy_runtime(runtime, interpreter)
        floor = _floor_copy(Path(scratch) / "floor")
        for folder in [floor, *(_handler_copy(h, Path(scratch) / "functions") for h in handlers)]:
            environment = handler_environment(folder)
            environment.setdefault("IDEMPOTENCY_TABLE_NAME", "backoffice-idempotency")
            app, boto3 = float("inf"), float("inf")
            for _ in range(REPEATS):
                app = min(app, _time_import(interpreter, "app", [folder, layer_python, runtime], environment))
                boto3 = min(boto3, _time_import(interpreter, "boto3", [runtime], environment))
            baseline_best = min(baseline_best, boto3)
            figures[folder.name] = {"app_ms": round(app * 1000, 1), "boto3_ms": round(boto3 * 1000, 1)}
            figures[folder.name]["ratio"] = round(app / boto3, 2)
            print(
                f"{folder.name:28} {app * 1000:8.1f} ms  {figures[folder.name]['ratio']:5.2f}x boto3",
                flush=True,
            )
    floor_figure = figures.pop(FLOOR_NAME)
    ratios = [figure["ratio"] for figure in figures.values()]
    return {
        "python": subprocess.run(
            [interpreter, "-c", "import platform; print(platform.python_version())"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "load_average": os.getloadavg(),
        "layer": str(layer_python),
        "layer_given": given,
        "layer_compiled": any(layer_python.glob("backoffice/__pycache__/*.pyc")),
        "functions_compiled": compiler is not None,
        "repeats": REPEATS,
        "bare_import_boto3_ms": round(baseline_best * 1000, 1),
        "handlers": figures,
        "powertools_floor": floor_figure,
        "ratio_max": max(ratios),
        "ratio_median": sorted(ratios)[len(ratios) // 2],
        "handlers_over_target": sorted(
            name for name, figure in figures.items() if figure["ratio"] > TARGET_RATIO
        ),
        "target_ratio": TARGET_RATIO,
        "bench_seconds": round(time.perf_counter() - started, 1),
    }


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2, default=str))
