"""moto's evaluation components of a state machine definition, kept on disk between processes.

moto's engine parses a definition with its ANTLR grammar, then builds the components that evaluate it; the
runtime does that once per definition and process (``runtime._reuse_asl_programs``). The first parse in a process
is the slow one (ANTLR's Python runtime fills its prediction tables as it goes: 3-4 s for our definitions before
the first runtime is up), and every process pays it: ``make run``, each test worker, each ``backoffice serve``.
The components are plain Python objects, so they are pickled under ``.local/programs/`` once and read back in
milliseconds.

The key is everything the components are made of: the definition text, the versions of moto, ANTLR's runtime and
Python, and the source of the runtime's own moto patches (``backoffice/local/*.py``, some of which change how moto
builds or runs components). Only definitions moto accepted are written (a refused one raises before it gets here),
so a definition read back was valid. The files are this checkout's own cache, written by the same user as the
runtime that reads them; a file that cannot be read is ignored and made again.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.metadata
import os
import pickle
import sys
import time
from pathlib import Path
from typing import Any

from backoffice.local.template import write_whole
from infra.catalog import ROOT

STORE = ROOT / ".local" / "programs"
KEEP = 64  # definitions kept: a few versions of each of ours, the oldest read removed first
# The runtime's modules, among them those that patch how moto builds and runs programs.
PATCHES = Path(__file__).parent
_FORMAT = b"asl-programs 1"
_ABANDONED_AFTER = 600  # seconds: a partial write this old was left by a process that stopped


@functools.cache
def _environment_digest() -> bytes:
    digest = hashlib.sha256(_FORMAT)
    for distribution in ("moto", "antlr4-python3-runtime"):
        digest.update(f"\0{distribution}={importlib.metadata.version(distribution)}".encode())
    digest.update(f"\0{sys.version}".encode())
    for path in sorted(PATCHES.glob("*.py")):
        digest.update(b"\0" + path.name.encode() + b"\0" + path.read_bytes())
    return digest.digest()


def open_store() -> None:
    """Reads the code the key is made of: called when the runtime installs its patches, so that components built by
    the code this process runs are not kept under the key of files edited after it started."""
    _environment_digest()


def program_key(definition: str) -> str:
    """The file name a definition's components are kept under."""
    text = definition.encode("utf-8", "surrogatepass")  # a JSON escape can make a lone surrogate
    return hashlib.sha256(_environment_digest() + text).hexdigest()[:40]


def stored_program(definition: str) -> Any | None:
    """The components kept for the definition, or None (never kept, or unreadable)."""
    path = STORE / f"{program_key(definition)}.pickle"
    try:
        with path.open("rb") as file:
            program = pickle.load(file)
    except Exception:  # never kept, or a partial or stale file: made again, and written over
        return None
    with contextlib.suppress(OSError):  # another process may have pruned it since
        os.utime(path)  # read now: kept before older ones
    return program


def store_program(definition: str, program: Any) -> None:
    """Keeps the components of a definition moto accepted; a failure to write only costs the next process a parse."""
    try:
        STORE.mkdir(parents=True, exist_ok=True)
        data = pickle.dumps(program, protocol=pickle.HIGHEST_PROTOCOL)
        write_whole(STORE / f"{program_key(definition)}.pickle", data)
        _prune()
    except (OSError, pickle.PicklingError, TypeError, AttributeError, RecursionError):
        return


def _prune() -> None:
    files = sorted(STORE.glob("*.pickle"), key=lambda path: path.stat().st_mtime, reverse=True)
    for path in files[KEEP:]:
        path.unlink(missing_ok=True)
    for path in STORE.glob("*.partial"):
        if time.time() - path.stat().st_mtime > _ABANDONED_AFTER:
            path.unlink(missing_ok=True)
