"""The layer build's own steps: what the Lambda runtime provides stays out, and the rest ships compiled for it.

No pip here: the steps run on a folder laid out as ``pip install --target`` leaves one.
"""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from infra import layer


def _installed(target: Path, distribution: str, version: str, files: dict[str, str]) -> None:
    for relative, text in files.items():
        (target / relative).parent.mkdir(parents=True, exist_ok=True)
        (target / relative).write_text(text)
    dist_info = target / f"{distribution}-{version}.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(f"Name: {distribution}\n")
    record = [*files, f"{dist_info.name}/METADATA", f"{dist_info.name}/RECORD"]
    (dist_info / "RECORD").write_text("".join(f"{path},,\n" for path in record))


def test_what_the_runtime_provides_is_removed_and_nothing_else(tmp_path: Path) -> None:
    # Given a pip target holding botocore, python-dateutil and six (the runtime has them) beside aws-xray-sdk
    # and wrapt (it has not), two of them with a script in the shared bin/ folder
    _installed(
        tmp_path,
        "botocore",
        "1.44.18",
        {"botocore/__init__.py": "", "botocore/data/s3/service-2.json": "{}", "bin/botocore-cli": ""},
    )
    _installed(tmp_path, "python_dateutil", "2.9.0.post0", {"dateutil/__init__.py": ""})
    _installed(tmp_path, "six", "1.17.0", {"six.py": ""})
    _installed(tmp_path, "aws_xray_sdk", "2.15.0", {"aws_xray_sdk/__init__.py": "", "bin/xray-tool": ""})
    _installed(tmp_path, "wrapt", "2.5.2", {"wrapt/__init__.py": ""})

    # When the runtime's distributions are dropped
    layer._drop_runtime_provided(tmp_path)

    # Then only what the runtime lacks is left, with the shared folder and its other script
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "aws_xray_sdk",
        "aws_xray_sdk-2.15.0.dist-info",
        "bin",
        "wrapt",
        "wrapt-2.5.2.dist-info",
    ]
    assert [path.name for path in (tmp_path / "bin").iterdir()] == ["xray-tool"]


def test_the_layer_is_compiled_for_the_runtime_with_bytecode_used_as_it_is(tmp_path: Path) -> None:
    # Given a module of the layer and an interpreter of the runtime's version on this machine
    compiler = layer.compiled_by()
    if compiler is None:
        pytest.skip("no Python 3.13 on this machine: the layer ships uncompiled (the build warns)")
    (tmp_path / "backoffice").mkdir()
    (tmp_path / "backoffice" / "rule.py").write_text("ANSWER = 42\n")

    # When the tree is compiled
    layer._compile(compiler, tmp_path)

    # Then the bytecode is the runtime's version and hash-based, unchecked (flags 0b01): the asset's modification
    # times do not matter, and nothing is read from the source to validate it at a cold start
    compiled = tmp_path / "backoffice" / "__pycache__" / "rule.cpython-313.pyc"
    (flags,) = struct.unpack("<I", compiled.read_bytes()[4:8])
    assert flags == 0b01


def test_without_an_interpreter_of_the_runtimes_version_the_layer_ships_uncompiled_and_says_so(
    tmp_path: Path,
) -> None:
    # Given a module and no Python 3.13 found
    (tmp_path / "rule.py").write_text("ANSWER = 42\n")

    # When compiling, Then a warning names the way out and no bytecode is written
    with pytest.warns(UserWarning, match="LAYER_PYTHON"):
        layer._compile(None, tmp_path)
    assert not (tmp_path / "__pycache__").exists()


def test_the_compiler_is_part_of_both_stamps() -> None:
    # Given the stamps of the same inputs built with and without a compiler
    compiler = Path("/usr/bin/python3.13")

    # Then a machine that compiles and one that cannot never share a build
    assert layer._hash_dependencies(compiler=compiler) != layer._hash_dependencies(compiler=None)
    contents = layer.shipped_contents()
    assert layer._hash_package(contents, compiler) != layer._hash_package(contents, None)
