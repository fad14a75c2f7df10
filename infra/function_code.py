"""Each function's code as Lambda receives it: ``functions/<name>/`` with its bytecode for the runtime beside it.

Lambda's /var/task is read-only, so a function asset without ``__pycache__`` compiles its ``app.py`` at every cold
start (10-20 ms, more for a long handler). The asset is therefore staged, not read from ``functions/`` itself: the
folder's sources are copied to ``build/functions/<name>/`` and compiled there as the layer is (``infra.layer``:
the interpreter ``compiled_by`` finds, ``unchecked-hash``), with the sources named ``/var/task/...`` in the
bytecode, so the asset is the same bytes on every machine and checkout. Without a Python 3.13 the layer's rule
holds: the functions ship their sources alone (the build warns, and Lambda compiles them at each cold start, as
it did before); bytecode of another version would be ignored by the runtime, so none is shipped.

The local runtime keeps running the handlers from ``functions/`` directly; only the synth reads the staged copy.
"""

from __future__ import annotations

import functools
import hashlib
import shutil
from pathlib import Path

from infra.catalog import ROOT
from infra.layer import _compile, _compiler_tag, _locked, compiled_by

FUNCTIONS_BUILD_DIR = ROOT / "build" / "functions"
# Where Lambda puts the function's code: the path its bytecode names its sources by.
TASK_ROOT = "/var/task"
# What a function folder may hold that is not its code (a test run's bytecode for this machine's Python).
_NOT_SHIPPED = ("__pycache__", "*.pyc", ".pytest_cache")
_LOCK = ".lock"


def staged_function_code(code_dir: Path, build_dir: Path = FUNCTIONS_BUILD_DIR) -> Path:
    """``code_dir``'s sources with their bytecode for the runtime, staged in ``build_dir/<name>/`` (returned).

    Staged again only when the sources or the compiler change (a stamp beside the folder, not in it, holds
    their hash), so a synth that changes nothing leaves every function's asset as it was; a file lock keeps
    two synths from staging into the same folder at once.
    """
    build_dir.mkdir(parents=True, exist_ok=True)
    target = build_dir / code_dir.name
    stamp = build_dir / f".{code_dir.name}.sha256"
    with _locked(build_dir / _LOCK):
        compiler = _compiler()
        digest = _hash_sources(code_dir, compiler)
        if target.is_dir() and stamp.is_file() and stamp.read_text().strip() == digest:
            return target
        stamp.unlink(missing_ok=True)
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(code_dir, target, ignore=shutil.ignore_patterns(*_NOT_SHIPPED))
        _compile(compiler, target, deployed_as=(target, TASK_ROOT), what="the function code")
        stamp.write_text(digest)
    return target


def shipped_sources(code_dir: Path) -> list[Path]:
    """The files of ``code_dir`` its asset ships (bytecode aside), in a stable order."""
    return sorted(
        path
        for path in code_dir.rglob("*")
        if path.is_file()
        and not any(
            part == "__pycache__" or part == ".pytest_cache" for part in path.relative_to(code_dir).parts
        )
        and path.suffix != ".pyc"
    )


@functools.cache
def _compiler() -> Path | None:
    # Looked for once per synth, not once per function (each look asks one or more interpreters their version).
    return compiled_by()


def _hash_sources(code_dir: Path, compiler: Path | None) -> str:
    digest = hashlib.sha256()
    digest.update(_compiler_tag(compiler))
    digest.update(TASK_ROOT.encode())
    digest.update("\0".join(_NOT_SHIPPED).encode())  # what the copy leaves out shapes the asset too
    for path in shipped_sources(code_dir):
        digest.update(path.relative_to(code_dir).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()
