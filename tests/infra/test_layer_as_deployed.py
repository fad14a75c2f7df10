"""The layer the synth uploads: the runtime's boto3 is the one functions import, and the code ships compiled."""

from __future__ import annotations

import pytest
from synthesized_stack import Synthesized

from infra import layer

pytestmark = pytest.mark.slow


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
