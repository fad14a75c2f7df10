"""The CloudFormation template CDK synthesizes for the stack, as the local runtime's source of truth for IAM, and
the whole cloud assembly, as the infra tests read it.

Synthesizing takes half a minute (CDK runs in Node through jsii), so both are kept under ``.local/synth/``:
- the template keyed by a digest of everything that shapes it: the CDK code (``infra/``, ``app.py``,
  ``cdk.json``), the state machine definitions and the sample firm's document (``config/``). A change to any
  of them synthesizes again;
- the assembly (template, staged assets, ``checks.json`` from ``infra/assembly.py``) keyed by those and by what
  the staged layer and function code hold too (``layers/shared``, ``functions/``); the newest two are kept.
One synthesis writes both; parallel test workers wait for one synthesis. A variant of the stack synthesized with
more CDK context (``synthesized_variant``: Bedrock turned on) is kept the same way, its template only.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from infra.catalog import ROOT

CACHE = ROOT / ".local" / "synth"
ASSEMBLIES = CACHE / "assemblies"
STACK_TEMPLATE = "BackofficeStack.template.json"
CHECKS = "checks.json"  # infra/assembly.py's name for it (the layer does not ship infra/)
CONTEXT_VARIABLE = "BACKOFFICE_SYNTH_CONTEXT"  # infra/assembly.py's: CDK context to add, as JSON
KEEP_ASSEMBLIES = 2


def _inputs() -> list[Path]:
    # requirements.lock pins aws-cdk-lib, cdk-nag and jsii: an upgrade may change the template or what cdk-nag finds.
    files = [ROOT / "app.py", ROOT / "cdk.json", ROOT / "requirements.lock"]
    files += sorted((ROOT / "infra").rglob("*.py"))
    files += sorted((ROOT / "statemachines").glob("*.json"))
    # The sample firm's document: the stack writes it to its SSM parameter (a stale template kept the old one).
    files += sorted((ROOT / "config").glob("*.json"))
    return [path for path in files if path.is_file()]


def _assembly_inputs() -> list[Path]:
    files = [*_inputs(), ROOT / "layers" / "shared" / "requirements.txt"]
    for folder in (ROOT / "layers" / "shared" / "python", ROOT / "functions"):
        files += sorted(p for p in folder.rglob("*") if p.is_file() and not _generated(p))
    return [path for path in files if path.is_file()]


def _generated(path: Path) -> bool:
    return any(part == "__pycache__" or part.endswith(".egg-info") for part in path.parts)


def inputs_digest() -> str:
    """The template's key: what shapes the CloudFormation template."""
    return _digest(_inputs())


def assembly_digest() -> str:
    """The assembly's key: the template's inputs and the code its assets stage."""
    return _digest(_assembly_inputs())


def _digest(paths: Iterable[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()[:32]


def synthesized_template() -> dict[str, Any]:
    """The stack's template as ``make synth`` writes it, synthesized once per change of its inputs.

    Read once per process (each runtime's IAM reads it; decoding it took 70 ms a runtime): the same dict is
    returned to every caller, who reads it and copies it to change it."""
    CACHE.mkdir(parents=True, exist_ok=True)
    cached = CACHE / f"{inputs_digest()}.template.json"
    if cached.is_file():
        return _load(cached)
    assembly = synthesized_assembly()
    if not cached.is_file():  # the assembly was kept, its template file was not
        write_whole(cached, (assembly / STACK_TEMPLATE).read_bytes())
    return _load(cached)


def synthesized_assembly() -> Path:
    """The cloud assembly directory (``cdk.out`` as a synth writes it, plus ``checks.json``), once per change."""
    key = assembly_digest()
    target = ASSEMBLIES / key
    if (target / CHECKS).is_file():
        return target
    ASSEMBLIES.mkdir(parents=True, exist_ok=True)
    with open(CACHE / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (target / CHECKS).is_file():  # another process may have synthesized it while this one waited
            _synthesize(target, template=CACHE / f"{inputs_digest()}.template.json")
            _prune(keep=target)
    return target


def synthesized_variant(context: Mapping[str, str]) -> dict[str, Any]:
    """The stack's template synthesized with ``context`` added to ``cdk.json``'s, as ``cdk synth -c name=value``
    would (a firm that turned Bedrock on), once per change of the template's inputs and of ``context``. cdk-nag
    checks it on the way: an unacknowledged error fails the synthesis, as it fails ``make synth``. The returned
    dict is shared by every caller of the process, who reads it and copies it to change it."""
    text = json.dumps(dict(context), sort_keys=True)
    CACHE.mkdir(parents=True, exist_ok=True)
    cached = variant_path(context)
    if cached.is_file():
        return _load(cached)
    with open(CACHE / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not cached.is_file():  # another process may have synthesized it while this one waited
            ASSEMBLIES.mkdir(parents=True, exist_ok=True)
            outdir = Path(tempfile.mkdtemp(prefix=".partial-", dir=ASSEMBLIES))
            try:
                _run_synth(outdir, context=text)
                write_whole(cached, (outdir / STACK_TEMPLATE).read_bytes())
            finally:
                shutil.rmtree(outdir, ignore_errors=True)
    return _load(cached)


def variant_path(context: Mapping[str, str]) -> Path:
    """Where the template synthesized with ``context`` is kept: named by the template's inputs and the context."""
    text = json.dumps(dict(context), sort_keys=True)
    return CACHE / f"{inputs_digest()}-{hashlib.sha256(text.encode()).hexdigest()[:16]}.template.json"


_loaded: dict[Path, dict[str, Any]] = {}  # a cached file never changes: its name is the digest of its inputs


def _load(path: Path) -> dict[str, Any]:
    template = _loaded.get(path)
    if template is None:
        template = _loaded.setdefault(path, json.loads(path.read_text()))
    return template


def _synthesize(target: Path, *, template: Path) -> None:
    outdir = Path(tempfile.mkdtemp(prefix=".partial-", dir=ASSEMBLIES))
    try:
        _run_synth(outdir)
        write_whole(template, (outdir / STACK_TEMPLATE).read_bytes())
        shutil.rmtree(target, ignore_errors=True)
        outdir.replace(target)
    finally:
        shutil.rmtree(outdir, ignore_errors=True)


def _run_synth(outdir: Path, *, context: str | None = None) -> None:
    """``python -m infra.assembly`` into ``outdir`` (``context``: JSON of CDK context to add); raises with its
    error output when it fails."""
    env = {**os.environ, "CDK_OUTDIR": str(outdir)}
    env.pop(CONTEXT_VARIABLE, None)
    if context is not None:
        env[CONTEXT_VARIABLE] = context
    result = subprocess.run(
        [sys.executable, "-m", "infra.assembly"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0 or not (outdir / STACK_TEMPLATE).is_file() or not (outdir / CHECKS).is_file():
        raise RuntimeError(
            "synthesizing the stack (for the local runtime's IAM and the infra tests) failed "
            f"(exit {result.returncode}):\n{result.stderr.strip()[-4000:]}"
        )


def write_whole(path: Path, content: bytes) -> None:
    """Writes ``content`` to ``path`` whole or not at all, as other processes reading the cache see it: written
    beside it under this process's name, then renamed over it (a failed write leaves no partial file behind)."""
    partial = path.with_suffix(f".{os.getpid()}.partial")
    try:
        partial.write_bytes(content)
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)


def _prune(*, keep: Path) -> None:
    """The newest assemblies stay (each holds the staged layer, tens of MiB); older ones and leftovers go."""
    assemblies = sorted(
        (p for p in ASSEMBLIES.iterdir() if p.is_dir() and p != keep),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    for old in assemblies[KEEP_ASSEMBLIES - 1 :]:
        shutil.rmtree(old, ignore_errors=True)


__all__ = [
    "assembly_digest",
    "inputs_digest",
    "synthesized_assembly",
    "synthesized_template",
    "synthesized_variant",
    "variant_path",
    "write_whole",
]
