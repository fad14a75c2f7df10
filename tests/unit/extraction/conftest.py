"""Shared test material for extraction: the real Textract responses and the real IRS W-9, kept in the repository
(tests/fixtures/SOURCES.md). Documents derived from them (a filled W-9, broken PDFs) are made at test time.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Callable, Mapping
from typing import Any

import pytest
from pypdf import PdfWriter
from pypdf.annotations import FreeText
from pypdf.generic import ArrayObject, DictionaryObject, FloatObject, NameObject

from tests.fixture_files import blank_w9_reader, textract_response
from tests.fixture_files import textract_fixture_names as fixture_names

W9 = "topmostSubform[0].Page1[0]."
# A sole proprietor with an SSN, every optional line filled too.
W9_VALUES: dict[str, str] = {
    W9 + "f1_1[0]": "Jane Q. Doe",
    W9 + "f1_2[0]": "Doe Consulting",
    W9 + "FederalClassification[0].c1_1[0]": "/1",
    W9 + "Exemptions[0].f1_5[0]": "5",
    W9 + "Exemptions[0].f1_6[0]": "C",
    W9 + "Address[0].f1_7[0]": "123 Main Street, Suite 4",
    W9 + "Address[0].f1_8[0]": "Springfield, IL 62701",
    W9 + "f1_9[0]": "Acme Advisory LLP, 1 Park Ave, New York, NY 10016",
    W9 + "f1_10[0]": "V-100234",
    W9 + "SSN[0].f1_11[0]": "536",
    W9 + "SSN[0].f1_12[0]": "90",
    W9 + "SSN[0].f1_13[0]": "4399",
}


@pytest.fixture
def load_textract() -> Callable[[str], Any]:
    """A saved Textract response by file name, parsed."""

    def load(name: str) -> Any:
        return textract_response(name)

    return load


@pytest.fixture
def textract_fixture_names() -> list[str]:
    return fixture_names()


def ink_signature(rect: tuple[float, float, float, float]) -> DictionaryObject:
    """An ink annotation, as a PDF editor's "sign" tool leaves one."""
    x0, y0, x1, y1 = rect
    return DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Annot"),
            NameObject("/Subtype"): NameObject("/Ink"),
            NameObject("/Rect"): ArrayObject([FloatObject(v) for v in rect]),
            NameObject("/InkList"): ArrayObject(
                [ArrayObject([FloatObject(x0), FloatObject(y0 + 2), FloatObject(x1), FloatObject(y1 - 2)])]
            ),
        }
    )


@functools.lru_cache(maxsize=64)
def _filled_w9(values: tuple[tuple[str, str | None], ...], signed: bool, date: str | None) -> bytes:
    merged = {**W9_VALUES, **dict(values)}
    writer = PdfWriter(clone_from=blank_w9_reader())
    writer.update_page_form_field_values(
        writer.pages[0], {k: v for k, v in merged.items() if v is not None}, auto_regenerate=False
    )
    if signed:
        writer.add_annotation(0, ink_signature((130, 228, 300, 246)))
    if date is not None:
        writer.add_annotation(0, FreeText(text=date, rect=(420, 228, 520, 242)))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@pytest.fixture
def make_w9() -> Callable[..., bytes]:
    """The real IRS W-9 filled with pypdf: ``values`` replace the defaults (None removes one); ``signed`` adds an
    ink signature in Part II and ``date`` a typed date beside "Date ▶", both as a PDF editor adds them.
    (Made once per set of arguments: the bytes are immutable.)"""

    def make(
        values: Mapping[str, str | None] | None = None,
        *,
        signed: bool = True,
        date: str | None = "11/20/2026",
    ) -> bytes:
        return _filled_w9(tuple(sorted((values or {}).items())), signed, date)

    return make
