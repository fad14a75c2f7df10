"""Each function's asset is its folder with the bytecode for the runtime, the same bytes on every checkout.

No synth here: the staging step runs on folders laid out as ``functions/<name>/`` is
(``tests/infra/test_stack.py`` checks the staged assets of the synthesized stack).
"""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from backoffice.local.template import _assembly_inputs
from infra import function_code, layer
from infra.catalog import CATALOG


def _function_folder(root: Path, body: str = "def handler(event, context):\n    return {}\n") -> Path:
    folder = root / "functions" / "some_step"
    (folder / "__pycache__").mkdir(parents=True)
    (folder / "__init__.py").write_text("")
    (folder / "app.py").write_text(body)
    # What a local test run leaves: bytecode of this machine's Python, which the asset must not carry
    (folder / "__pycache__" / "app.cpython-311.pyc").write_bytes(b"not for the runtime")
    return folder


def _needs_the_runtimes_python() -> Path:
    compiler = layer.compiled_by()
    if compiler is None:
        pytest.skip("no Python 3.13 on this machine: the functions ship uncompiled (the build warns)")
    return compiler


def test_a_function_is_staged_with_its_bytecode_for_the_runtime_and_without_this_machines(
    tmp_path: Path,
) -> None:
    # Given a function folder holding a local run's bytecode, on a machine with a Python 3.13
    _needs_the_runtimes_python()
    folder = _function_folder(tmp_path)

    # When it is staged for the synth
    staged = function_code.staged_function_code(folder, tmp_path / "build")

    # Then the asset holds the sources and their 3.13 bytecode, hash-based and unchecked (flags 0b01), and not the
    # local run's; the bytecode names the source by its path on Lambda
    assert sorted(path.relative_to(staged).as_posix() for path in staged.rglob("*") if path.is_file()) == [
        "__init__.py",
        "__pycache__/__init__.cpython-313.pyc",
        "__pycache__/app.cpython-313.pyc",
        "app.py",
    ]
    compiled = (staged / "__pycache__" / "app.cpython-313.pyc").read_bytes()
    (flags,) = struct.unpack("<I", compiled[4:8])
    assert flags == 0b01
    assert b"/var/task/app.py" in compiled and str(tmp_path).encode() not in compiled


def test_the_asset_is_the_same_bytes_from_any_checkout_and_changes_with_the_handler(tmp_path: Path) -> None:
    # Given the same function in two checkouts
    _needs_the_runtimes_python()
    first = function_code.staged_function_code(_function_folder(tmp_path / "a"), tmp_path / "a" / "build")
    second = function_code.staged_function_code(_function_folder(tmp_path / "b"), tmp_path / "b" / "build")

    # Then their staged bytecode is identical (one asset hash for one handler, wherever it is synthesized)
    pyc = Path("__pycache__") / "app.cpython-313.pyc"
    assert (first / pyc).read_bytes() == (second / pyc).read_bytes()

    # When the handler changes and is staged again
    changed = _function_folder(tmp_path / "c", body="def handler(event, context):\n    return {'ok': True}\n")
    (tmp_path / "a" / "functions" / "some_step" / "app.py").write_text((changed / "app.py").read_text())
    restaged = function_code.staged_function_code(
        tmp_path / "a" / "functions" / "some_step", tmp_path / "a" / "build"
    )

    # Then the staged copy is the new code with its new bytecode
    assert (restaged / "app.py").read_text() == (changed / "app.py").read_text()
    assert (restaged / pyc).read_bytes() != (second / pyc).read_bytes()


def test_without_an_interpreter_of_the_runtimes_version_the_function_ships_its_sources_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a function folder and no Python 3.13 found
    folder = _function_folder(tmp_path)
    monkeypatch.setattr(function_code, "_compiler", lambda: None)

    # When it is staged, Then a warning names the way out, and the asset is the sources alone (bytecode of another
    # version would be ignored by the runtime)
    with pytest.warns(UserWarning, match="LAYER_PYTHON"):
        staged = function_code.staged_function_code(folder, tmp_path / "build")
    assert sorted(path.name for path in staged.rglob("*") if path.is_file()) == ["__init__.py", "app.py"]


def test_the_synth_cache_key_covers_every_handlers_source_and_no_bytecode() -> None:
    # Given the files the cached assembly is keyed by
    inputs = _assembly_inputs()

    # Then every function's sources are among them (a changed handler synthesizes again), and no bytecode is
    names = {spec.code_dir / "app.py" for spec in CATALOG.functions}
    keyed = set(inputs)
    assert names <= keyed
    assert not [path for path in inputs if path.suffix == ".pyc" or "__pycache__" in path.parts]
