"""The CloudFormation template CDK synthesizes for the stack, as the local runtime's source of truth for IAM.

Synthesizing takes half a minute (CDK runs in Node through jsii), so the template is kept under ``.local/synth/``
keyed by a digest of everything that shapes it: the CDK code (``infra/``, ``app.py``, ``cdk.json``) and the state
machine definitions. A change to any of them synthesizes again; parallel test workers wait for one synthesis.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from infra.catalog import ROOT

CACHE = ROOT / ".local" / "synth"
STACK_TEMPLATE = "BackofficeStack.template.json"
_SYNTH = "from infra.cdk_app import build_app\napp, _ = build_app()\napp.synth()\n"


def _inputs() -> list[Path]:
    files = [ROOT / "app.py", ROOT / "cdk.json"]
    files += sorted((ROOT / "infra").rglob("*.py"))
    files += sorted((ROOT / "statemachines").glob("*.json"))
    return [path for path in files if path.is_file()]


def inputs_digest() -> str:
    digest = hashlib.sha256()
    for path in _inputs():
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()[:32]


def synthesized_template() -> dict[str, Any]:
    """The stack's template as ``make synth`` writes it, synthesized once per change of its inputs."""
    CACHE.mkdir(parents=True, exist_ok=True)
    cached = CACHE / f"{inputs_digest()}.template.json"
    if cached.is_file():
        return _load(cached)
    with open(CACHE / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not cached.is_file():  # another process may have synthesized it while this one waited
            _synthesize(cached)
    return _load(cached)


def _load(path: Path) -> dict[str, Any]:
    template: dict[str, Any] = json.loads(path.read_text())
    return template


def _synthesize(target: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="backoffice-synth-") as outdir:
        env = {**os.environ, "CDK_OUTDIR": outdir}
        result = subprocess.run(
            [sys.executable, "-c", _SYNTH], cwd=ROOT, env=env, capture_output=True, text=True, check=False
        )
        produced = Path(outdir) / STACK_TEMPLATE
        if result.returncode != 0 or not produced.is_file():
            raise RuntimeError(
                "synthesizing the stack for the local runtime's IAM failed "
                f"(exit {result.returncode}):\n{result.stderr.strip()[-4000:]}"
            )
        partial = target.with_suffix(".partial")
        partial.write_bytes(produced.read_bytes())
        partial.replace(target)


__all__ = ["inputs_digest", "synthesized_template"]
