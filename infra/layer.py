"""The shared Lambda layer: the ``backoffice`` modules the handlers reach and the pinned dependencies, no Docker.

What ships of ``backoffice`` is computed, not listed: the closure of the imports of every ``functions/*/app.py``,
plus the data files next to the shipped modules (``infra/layer_contents.py`` says how). The local runtime, the
``backoffice`` command, the sample firm and any module no handler imports stay out of the layer by construction.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.catalog import ROOT
from infra.layer_contents import LayerContents, layer_contents

LAYER_DIR = ROOT / "layers" / "shared"
REQUIREMENTS = LAYER_DIR / "requirements.txt"
PACKAGE_DIR = LAYER_DIR / "python" / "backoffice"
BUILD_DIR = LAYER_DIR / "build"
# The roots of the ship list: every ``<name>/app.py`` here is a Lambda handler.
HANDLERS_DIR = ROOT / "functions"

RUNTIME = lambda_.Runtime.PYTHON_3_13
ARCHITECTURE = lambda_.Architecture.ARM_64

# Wheels for the Lambda runtime, whatever machine builds the layer. manylinux2014 (glibc 2.17) covers most
# dependencies; manylinux_2_28 is listed too because some pins (rapidfuzz 3.14) publish aarch64 wheels only for
# glibc >= 2.26. The python3.13 runtime runs on Amazon Linux 2023 (glibc 2.34), so both tags load there.
PIP_TARGET_ARGS = (
    "--platform",
    "manylinux2014_aarch64",
    "--platform",
    "manylinux_2_28_aarch64",
    "--implementation",
    "cp",
    "--python-version",
    "3.13",
    "--only-binary=:all:",
)

_DEPENDENCIES_STAMP = ".dependencies.sha256"
_PACKAGE_STAMP = ".package.sha256"
_LOCK = ".lock"


def build_shared_layer(build_dir: Path = BUILD_DIR) -> Path:
    """Build ``build_dir/python/`` (the layer's import root) and return ``build_dir``, the layer asset.

    ``backoffice`` is copied as ``shipped_contents()`` lists it: the modules the handlers reach and their data.
    Two hashes are stored in the build directory, so each part is rebuilt only when its inputs change: the
    dependencies (requirements file + pip arguments) cost a download, the package is a copy (its hash covers the
    shipped files, so a handler importing one more module recopies it, and an edit to an unshipped one does not).
    A file lock keeps two synths (``make synth`` and the test session, say) from building into the same directory
    at once.
    """
    build_dir.mkdir(parents=True, exist_ok=True)
    with _locked(build_dir / _LOCK):
        target = build_dir / "python"
        dependencies_hash = _hash_dependencies()
        if _stamp(build_dir, _DEPENDENCIES_STAMP) != dependencies_hash or not target.is_dir():
            _forget(build_dir)
            shutil.rmtree(target, ignore_errors=True)
            _pip_install(target)
            (build_dir / _DEPENDENCIES_STAMP).write_text(dependencies_hash)
        contents = shipped_contents()
        package_hash = _hash_package(contents)
        if _stamp(build_dir, _PACKAGE_STAMP) != package_hash or not (target / "backoffice").is_dir():
            (build_dir / _PACKAGE_STAMP).unlink(missing_ok=True)
            shutil.rmtree(target / "backoffice", ignore_errors=True)
            contents.copy_to(target / "backoffice")
            (build_dir / _PACKAGE_STAMP).write_text(package_hash)
    return build_dir


def shipped_contents() -> LayerContents:
    """The modules and files of ``backoffice`` the layer ships: what the handlers reach, with its data."""
    return layer_contents(PACKAGE_DIR, HANDLERS_DIR)


class SharedLayer(Construct):
    """The one layer every function loads: ``backoffice`` (domain, models, adapters) plus its dependencies.

    Shaped so because the handlers stay thin and import everything from ``backoffice``: one layer means one copy
    of pydantic and Powertools per function, and a code change to a handler uploads only the handler. Of
    ``backoffice`` it holds only what some handler imports (``shipped_contents``), never the developer tools.
    Built with ``pip --platform`` (no Docker, so synth works on any laptop or CI runner) for arm64 / CPython 3.13,
    the same runtime and architecture every function uses.
    """

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.layer = lambda_.LayerVersion(
            self,
            "Layer",
            code=lambda_.Code.from_asset(
                str(build_shared_layer()), exclude=[_DEPENDENCIES_STAMP, _PACKAGE_STAMP, _LOCK]
            ),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            description="backoffice package (domain, models, adapters) and its pinned dependencies",
        )


def _pip_install(target: Path) -> None:
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        # .pyc files would be compiled by this interpreter's version, not the runtime's: dead weight.
        "--no-compile",
        *PIP_TARGET_ARGS,
        "--target",
        str(target),
        "-r",
        str(REQUIREMENTS),
    ]
    # A machine-wide constraints file (pip config) is about this machine's interpreter, not the Lambda runtime's.
    env = {**os.environ, "PIP_CONSTRAINT": ""}
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(
            f"building the shared layer failed (pip exit {result.returncode}):\n{result.stderr.strip()}"
        )


def _hash_dependencies() -> str:
    digest = hashlib.sha256()
    digest.update(" ".join(PIP_TARGET_ARGS).encode())
    digest.update(REQUIREMENTS.read_bytes())
    return digest.hexdigest()


def _hash_package(contents: LayerContents) -> str:
    digest = hashlib.sha256()
    for path in contents.files:
        digest.update(path.relative_to(contents.package_dir).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def _stamp(build_dir: Path, name: str) -> str | None:
    path = build_dir / name
    return path.read_text().strip() if path.is_file() else None


def _forget(build_dir: Path) -> None:
    # A half-finished build must never look finished: drop the stamps before touching the tree.
    for name in (_DEPENDENCIES_STAMP, _PACKAGE_STAMP):
        (build_dir / name).unlink(missing_ok=True)


@contextmanager
def _locked(lock_path: Path) -> Iterator[None]:
    with lock_path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
