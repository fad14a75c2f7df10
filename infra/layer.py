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
import warnings
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

# What the Lambda python3.13 runtime already holds: the layer leaves these out, so the runtime's boto3 is the one
# every function imports (aws-xray-sdk asks for botocore, which pip would otherwise put in the layer, 31 MiB that
# shadow the runtime's and are compiled at every cold start). Distribution names, as their .dist-info spell them.
RUNTIME_PROVIDED = frozenset(
    {"boto3", "botocore", "s3transfer", "jmespath", "python_dateutil", "urllib3", "six"}
)
# The version the layer's bytecode is compiled for: the runtime's. An interpreter of it is looked for in
# LAYER_PYTHON, then on PATH, then among pyenv's versions; without one the layer ships uncompiled (and a warning).
TARGET_PYTHON = (3, 13)
LAYER_PYTHON_VARIABLE = "LAYER_PYTHON"
# Where Lambda mounts the layer's ``python/``: the path its bytecode names its sources by.
OPT_PYTHON = "/opt/python"

_DEPENDENCIES_STAMP = ".dependencies.sha256"
_PACKAGE_STAMP = ".package.sha256"
_LOCK = ".lock"


def build_shared_layer(build_dir: Path = BUILD_DIR, target_args: tuple[str, ...] = PIP_TARGET_ARGS) -> Path:
    """Build ``build_dir/python/`` (the layer's import root) and return ``build_dir``, the layer asset.

    ``backoffice`` is copied as ``shipped_contents()`` lists it: the modules the handlers reach and their data.
    Two hashes are stored in the build directory, so each part is rebuilt only when its inputs change: the
    dependencies (requirements file + pip arguments) cost a download, the package is a copy (its hash covers the
    shipped files, so a handler importing one more module recopies it, and an edit to an unshipped one does not).
    A file lock keeps two synths (``make synth`` and the test session, say) from building into the same directory
    at once.

    What the runtime provides (``RUNTIME_PROVIDED``) is removed after the install, and both parts are compiled
    to bytecode for the runtime's Python (``compiled_by``): /opt is read-only, so a layer without its .pyc files
    compiles every module it imports at every cold start. The compiler is part of both hashes: a machine that
    finds another interpreter, or none, rebuilds. ``target_args`` (the wheels' platform) exists for the cold-start
    bench, which builds the same layer for the machine it runs on.
    """
    build_dir.mkdir(parents=True, exist_ok=True)
    with _locked(build_dir / _LOCK):
        target = build_dir / "python"
        compiler = compiled_by()
        dependencies_hash = _hash_dependencies(target_args, compiler)
        if _stamp(build_dir, _DEPENDENCIES_STAMP) != dependencies_hash or not target.is_dir():
            _forget(build_dir)
            shutil.rmtree(target, ignore_errors=True)
            _pip_install(target, target_args)
            _drop_runtime_provided(target)
            _compile(compiler, target, deployed_as=(target, OPT_PYTHON))
            (build_dir / _DEPENDENCIES_STAMP).write_text(dependencies_hash)
        contents = shipped_contents()
        package_hash = _hash_package(contents, compiler)
        if _stamp(build_dir, _PACKAGE_STAMP) != package_hash or not (target / "backoffice").is_dir():
            (build_dir / _PACKAGE_STAMP).unlink(missing_ok=True)
            shutil.rmtree(target / "backoffice", ignore_errors=True)
            contents.copy_to(target / "backoffice")
            _compile(compiler, target / "backoffice", deployed_as=(target, OPT_PYTHON))
            (build_dir / _PACKAGE_STAMP).write_text(package_hash)
    return build_dir


def compiled_by() -> Path | None:
    """An interpreter of the runtime's Python version (``TARGET_PYTHON``) to compile the layer with, or None.

    ``$LAYER_PYTHON`` first, then ``python3.13`` on PATH, then pyenv's 3.13 installs (a pyenv shim answers
    only when that version is selected, so each candidate is asked its version rather than trusted by name).
    """
    name = "python{}.{}".format(*TARGET_PYTHON)
    candidates = [os.environ.get(LAYER_PYTHON_VARIABLE, ""), shutil.which(name) or ""]
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    candidates += [
        str(path) for path in sorted(pyenv_root.glob(f"versions/{name[6:]}*/bin/{name}"), reverse=True)
    ]
    for candidate in filter(None, candidates):
        if _python_version(candidate) == TARGET_PYTHON:
            return Path(candidate)
    return None


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


def _python_version(interpreter: str) -> tuple[int, int] | None:
    try:
        result = subprocess.run(
            [interpreter, "-I", "-c", "import sys; print(*sys.version_info[:2])"],
            capture_output=True,
            text=True,
            check=False,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    parts = result.stdout.split()
    if result.returncode != 0 or len(parts) != 2 or not all(part.isdigit() for part in parts):
        return None
    return int(parts[0]), int(parts[1])


def _compile(
    compiler: Path | None,
    tree: Path,
    *,
    deployed_as: tuple[Path, str] | None = None,
    what: str = "the shared layer",
) -> None:
    """Byte-compile ``tree`` for the runtime, as .pyc the runtime uses as they are.

    ``unchecked-hash``: the asset zip need not keep modification times, and the files never change under a
    deployed function, so the .pyc are not checked against their sources (a rebuilt tree is compiled afresh).
    ``deployed_as`` (a local root and the path it has on Lambda: the build's ``python/`` and ``/opt/python``)
    names the sources in the bytecode by where they are deployed, not where this machine built them: the .pyc,
    and so the asset's hash, are then the same on every machine and checkout (a path in them would make each
    one's synth a new asset). Python 3.13's bytecode does not depend on the hash seed.
    """
    if compiler is None:
        warnings.warn(
            "no Python {}.{} found (set {} to one): {} ships uncompiled, and every cold start"
            " compiles what it imports".format(*TARGET_PYTHON, LAYER_PYTHON_VARIABLE, what),
            stacklevel=3,
        )
        return
    command = [str(compiler), "-I", "-m", "compileall", "-q", "--invalidation-mode", "unchecked-hash"]
    if deployed_as is not None:
        command += ["-s", str(deployed_as[0]), "-p", deployed_as[1]]
    command.append(str(tree))
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(
            f"compiling {what} failed (exit {result.returncode}):\n{result.stdout.strip()}"
            f"\n{result.stderr.strip()}"
        )


def _drop_runtime_provided(target: Path) -> None:
    """Remove the distributions the Lambda runtime already holds, every file their RECORD lists."""
    for dist_info in sorted(target.glob("*.dist-info")):
        name = dist_info.name.removesuffix(".dist-info").rpartition("-")[0].lower().replace("-", "_")
        if name not in RUNTIME_PROVIDED:
            continue
        record = dist_info / "RECORD"
        folders: set[Path] = set()
        for line in record.read_text(encoding="utf-8").splitlines() if record.is_file() else []:
            relative = line.split(",", 1)[0]
            path = (target / relative).resolve()
            if relative and path.is_relative_to(target.resolve()):
                path.unlink(missing_ok=True)
                folders.update(path.parents)
        shutil.rmtree(dist_info, ignore_errors=True)
        # Deepest first, and only what is left empty: a folder shared with another distribution stays.
        for folder in sorted(folders, key=lambda path: len(path.parts), reverse=True):
            inside = folder.is_relative_to(target.resolve()) and folder != target.resolve()
            if inside and folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()


def _pip_install(target: Path, target_args: tuple[str, ...] = PIP_TARGET_ARGS) -> None:
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        # .pyc files would be compiled by this interpreter's version, not the runtime's: ``_compile`` makes them.
        "--no-compile",
        *target_args,
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


def _compiler_tag(compiler: Path | None) -> bytes:
    # The version, not the path: another 3.13 compiles the same bytecode (magic number) for the runtime.
    return (
        b"uncompiled"
        if compiler is None
        else "compiled for {}.{} unchecked-hash, sources named as deployed".format(*TARGET_PYTHON).encode()
    )


def _hash_dependencies(target_args: tuple[str, ...] = PIP_TARGET_ARGS, compiler: Path | None = None) -> str:
    digest = hashlib.sha256()
    digest.update(" ".join(target_args).encode())
    digest.update(REQUIREMENTS.read_bytes())
    digest.update(" ".join(sorted(RUNTIME_PROVIDED)).encode())
    digest.update(_compiler_tag(compiler))
    return digest.hexdigest()


def _hash_package(contents: LayerContents, compiler: Path | None = None) -> str:
    digest = hashlib.sha256()
    digest.update(_compiler_tag(compiler))
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
