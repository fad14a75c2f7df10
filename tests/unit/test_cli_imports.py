"""``backoffice --help`` and a mistyped command answer without loading what only a command needs.

Every command imports its AWS client, models, readers and templates when it runs (``backoffice.cli``), and
``backoffice.extraction`` exports its names lazily, so that listing the commands stays quick. This test holds the
command line to that without timing anything: building the parser imports none of the heavy packages.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

# Packages that only a running command needs (the AWS SDK, models, the PDF and template engines, moto).
HEAVY = (
    "boto3",
    "botocore",
    "pydantic",
    "pypdf",
    "jinja2",
    "moto",
    "rapidfuzz",
    "stdnum",
    "aws_lambda_powertools",
)

_BUILD_PARSER = """
import json, sys
from backoffice.cli.main import build_parser
build_parser().format_help()
heavy = json.loads(sys.argv[1])
print(json.dumps(sorted({m.split(".")[0] for m in sys.modules} & set(heavy))))
"""


def test_building_the_command_line_imports_no_heavy_package() -> None:
    # Given a fresh interpreter / When it builds the command line and its help
    result = subprocess.run(
        [sys.executable, "-c", _BUILD_PARSER, json.dumps(HEAVY)],
        capture_output=True,
        text=True,
        check=True,
    )
    # Then none of the packages that only a command needs was imported
    assert json.loads(result.stdout) == []


def test_the_extraction_package_exports_each_name_from_its_module() -> None:
    # Given the lazily exporting extraction package / When each exported name is read
    import backoffice.extraction as extraction

    # Then every name resolves, and a name it does not export is an AttributeError as for any module
    for name in extraction.__all__:
        assert getattr(extraction, name) is not None, name
    with pytest.raises(AttributeError, match="no_such_name"):
        extraction.no_such_name  # noqa: B018
