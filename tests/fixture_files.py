"""The files the tests read, all kept in the repository (tests/fixtures/SOURCES.md says where each comes from).

A fixture that is absent fails the test that needs it, locally and in CI alike: it never skips.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from backoffice.local.vendor_samples import SAMPLE_W9

if TYPE_CHECKING:
    from pypdf import PdfReader

FIXTURES = Path(__file__).resolve().parent / "fixtures"
TEXTRACT = FIXTURES / "textract"
BLANK_W9 = SAMPLE_W9


def required(path: Path) -> Path:
    """``path``, or the test fails naming the missing file."""
    if not path.is_file() and not path.is_dir():
        pytest.fail(
            f"test fixture missing: {path} (tests/fixtures/SOURCES.md lists every fixture and its origin)"
        )
    return path


def textract_response(name: str) -> dict[str, Any]:
    """A saved real Textract response by file name, parsed (as saved: with its ResponseMetadata, if any)."""
    response: dict[str, Any] = json.loads(required(TEXTRACT / name).read_text())
    return response


def textract_fixture_names() -> list[str]:
    names = sorted(path.name for path in required(TEXTRACT).glob("*.json"))
    if not names:
        pytest.fail(f"no Textract responses in {TEXTRACT}")
    return names


def blank_w9() -> Path:
    """The real blank IRS W-9 (fillable, Rev. October 2018)."""
    return required(BLANK_W9)


@functools.cache
def blank_w9_reader() -> PdfReader:
    """The blank W-9 parsed once per test process, to clone or copy pages from: a clone copies the objects the
    reader has parsed and changes none of them, and parsing is half of a clone's cost. Tests only read it."""
    from pypdf import PdfReader

    return PdfReader(blank_w9())
