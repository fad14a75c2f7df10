"""The layer and functions the synth uploads: the runtime's boto3 is the one functions import, and the code ships
compiled."""

from __future__ import annotations

import struct
import subprocess

import pytest
from synthesized_stack import Synthesized

from infra import layer
from infra.catalog import CATALOG

pytestmark = pytest.mark.slow

_SOURCE_HASHES = """
import importlib.util, pathlib, sys
for path in sys.argv[1:]:
    print(importlib.util.source_hash(pathlib.Path(path).read_bytes()).hex())
"""


def test_the_layer_leaves_boto3_and_what_it_needs_to_the_runtime(synthesized: Synthesized) -> None:
    # Given the layer the synth staged for upload
    built = synthesized.layer_asset() / "python"

    # When looking for the runtime's packages in it
    shadowing = sorted(
        path.name
        for path in built.iterdir()
        if path.name.removesuffix(".py")
        in ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six")
    )

    # Then none is there (the runtime's would be shadowed), while X-Ray and Powertools, which use them, are
    assert shadowing == []
    assert (built / "aws_xray_sdk").is_dir() and (built / "aws_lambda_powertools").is_dir()


def test_the_layer_ships_bytecode_for_the_runtime_when_this_machine_can_compile_it(
    synthesized: Synthesized,
) -> None:
    # Given the layer the synth staged for upload, on a machine with (or without) a Python 3.13
    built = synthesized.layer_asset() / "python"
    if layer.compiled_by() is None:
        pytest.skip("no Python 3.13 here: the layer is built uncompiled (the build warned)")

    # Then every module of backoffice and of the dependencies has its 3.13 bytecode beside it
    sources = [*(built / "backoffice").rglob("*.py"), *(built / "pydantic").rglob("*.py")]
    missing = [
        str(path.relative_to(built))
        for path in sources
        if not (path.parent / "__pycache__" / f"{path.stem}.cpython-313.pyc").is_file()
    ]
    assert sources and missing == []


def test_every_function_ships_its_handler_compiled_for_the_runtime_when_this_machine_can_compile_it(
    synthesized: Synthesized,
) -> None:
    # Given each function's code as the synth staged it for upload, on a machine with (or without) a Python 3.13
    compiler = layer.compiled_by()
    if compiler is None:
        pytest.skip("no Python 3.13 here: the functions ship their sources alone (the build warned)")
    assets = {
        spec.name: synthesized.asset_path(
            synthesized.catalog_entry("AWS::Lambda::Function", spec.name)[1]["Properties"]["Code"]["S3Key"]
        )
        for spec in CATALOG.functions
    }
    # (the hash a 3.13 .pyc keeps of its source is keyed by 3.13's magic number: 3.13 computes it)
    hashes = subprocess.run(
        [str(compiler), "-I", "-c", _SOURCE_HASHES, *(str(asset / "app.py") for asset in assets.values())],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    for (spec, asset), source_hash in zip(
        zip(CATALOG.functions, assets.values(), strict=True), hashes, strict=True
    ):
        # Then it holds the handler's source as in functions/, and its 3.13 bytecode beside it: hash-based and
        # unchecked (flags 0b01), for that source (the hash in it is the source's), naming it by its Lambda path
        source = (asset / "app.py").read_bytes()
        assert source == (spec.code_dir / "app.py").read_bytes(), spec.name
        compiled = (asset / "__pycache__" / "app.cpython-313.pyc").read_bytes()
        (flags,) = struct.unpack("<I", compiled[4:8])
        assert flags == 0b01, spec.name
        assert compiled[8:16].hex() == source_hash, spec.name
        assert b"/var/task/app.py" in compiled, spec.name
        # And no bytecode of another Python (a local test run's) came with it
        assert sorted(path.name for path in (asset / "__pycache__").iterdir()) == [
            "__init__.cpython-313.pyc",
            "app.cpython-313.pyc",
        ], spec.name
