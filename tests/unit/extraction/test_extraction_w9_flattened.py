"""W-9s printed to PDF (flattened): no form fields, the values are page text and drawings next to the printed
labels. Made at test time from the real IRS W-9, two ways, as two different PDF printers would:

- burned in by pypdf: the form filled, each field's appearance stream merged into the page (as form XObjects),
  the widgets and the AcroForm removed; the ticks are the form's own (a path for boxes 1 and 7, a ZapfDingbats ✔
  for the others), the signature strokes and the date drawn on the page;
- drawn by fpdf2 on an overlay merged onto the blank page: another font (DejaVu Sans, embedded, so that any
  name can be written), each value a few points off its field, an "X" or a ✓ in the boxes, each TIN digit in its
  own cell.

Each variant must read the same as the same values typed into the fillable form and read from its AcroForm.
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fpdf import FPDF
from pypdf import PageObject, PdfReader, PdfWriter
from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

from backoffice.cli.extract import add_extract_parser
from backoffice.extraction import (
    ExtractionResult,
    NormalizedDocument,
    document_json,
    extract_local,
    read_local_document,
)
from backoffice.extraction.w9_layout import LAYOUT_CONFIDENCE, W9_FORM_PAGE
from tests.fixture_files import blank_w9_reader
from tests.unit.extraction.conftest import W9, W9_VALUES

MakeW9 = Callable[..., bytes]
SIGNED_ON = "11/20/2026"

# The line-3 boxes: AcroForm widget index and export value, and the box's centre on the page (PDF points).
BOXES: dict[str, tuple[int, tuple[float, float]]] = {
    "individual_sole_proprietor": (0, (69.8, 628.5)),
    "c_corporation": (1, (184.0, 630.0)),
    "s_corporation": (2, (256.0, 630.0)),
    "partnership": (3, (328.0, 630.0)),
    "trust_estate": (4, (400.0, 630.0)),
    "llc": (5, (69.8, 604.5)),
    "other": (6, (69.8, 557.5)),
}
# Where a text field's value starts (x, baseline), from its widget's rectangle.
TEXT_AT: dict[str, tuple[float, float]] = {
    "f1_1[0]": (61.6, 686.6),
    "f1_2[0]": (61.6, 662.6),
    "FederalClassification[0].f1_3[0]": (426.0, 602.6),
    "FederalClassification[0].f1_4[0]": (164.3, 554.6),
    "Exemptions[0].f1_5[0]": (556.0, 614.6),
    "Exemptions[0].f1_6[0]": (537.0, 578.6),
    "Address[0].f1_7[0]": (60.6, 530.6),
    "Address[0].f1_8[0]": (60.6, 506.6),
    "f1_9[0]": (391.8, 531.3),
    "f1_10[0]": (60.0, 482.6),
}
# TIN cells: the left edge of each box group (14.4 points a cell) and the digits it holds.
SSN_CELLS = (("SSN[0].f1_11[0]", 417.6), ("SSN[0].f1_12[0]", 475.2), ("SSN[0].f1_13[0]", 518.4))
EIN_CELLS = (("EmployerID[0].f1_14[0]", 417.6), ("EmployerID[0].f1_15[0]", 460.8))
TIN_BASELINE = {"SSN": 440.0, "EmployerID": 392.0}


@dataclass(frozen=True)
class Variant:
    """A vendor's W-9: AcroForm values of the fillable form (merged over the defaults, None removes one) and
    the ticked boxes."""

    name: str
    values: dict[str, str | None] = field(default_factory=dict)
    ticked: tuple[str, ...] = ("individual_sole_proprietor",)
    tick: str = "X"  # what the overlay printer draws in a box

    def acroform(self) -> dict[str, str | None]:
        boxes: dict[str, str | None] = {
            f"{W9}FederalClassification[0].c1_1[{index}]": None for index, _ in BOXES.values()
        }
        for box in self.ticked:
            index, _ = BOXES[box]
            boxes[f"{W9}FederalClassification[0].c1_1[{index}]"] = f"/{index + 1}"
        return {**boxes, **{W9 + key: value for key, value in self.values.items()}}

    def filled(self) -> dict[str, str]:
        merged = {**W9_VALUES, **self.acroform()}
        return {key: value for key, value in merged.items() if value is not None}


NO_SSN: dict[str, str | None] = {
    "SSN[0].f1_11[0]": None,
    "SSN[0].f1_12[0]": None,
    "SSN[0].f1_13[0]": None,
}


def ein(number: str) -> dict[str, str | None]:
    return {**NO_SSN, "EmployerID[0].f1_14[0]": number[:2], "EmployerID[0].f1_15[0]": number[2:]}


def llc(code: str, name: str) -> Variant:
    return Variant(
        f"llc_{code.lower()}",
        {
            "f1_1[0]": name,
            "f1_2[0]": None,
            "FederalClassification[0].f1_3[0]": code,
            "Exemptions[0].f1_5[0]": None,
            "Exemptions[0].f1_6[0]": None,
            **ein("473456789"),
        },
        ("llc",),
    )


VARIANTS = (
    Variant("individual_ssn"),
    llc("C", "Northwind Data LLC"),
    llc("S", "Blue Heron Analytics LLC"),
    llc("P", "Harbor & Pike Partners LLC"),
    Variant(
        "corporation",
        {"f1_1[0]": "Acme Widgets, Inc.", "f1_2[0]": None, "Exemptions[0].f1_5[0]": None, **ein("123456789")},
        ("c_corporation",),
        tick="✓",
    ),
    Variant(
        "exempt_codes",
        {"f1_1[0]": "Granite Holdings Corp.", "Exemptions[0].f1_5[0]": "4", "Exemptions[0].f1_6[0]": "A"}
        | ein("271234567"),
        ("s_corporation",),
    ),
    Variant("unicode_name", {"f1_1[0]": "Zoë Müller-Łukasiewicz", "f1_2[0]": "Łódź Design Studio"}),
    Variant(
        "long_name",
        {
            "f1_1[0]": "The Greater Springfield Regional Consulting and Engineering Services Partnership of Illinois",
            "f1_2[0]": None,
            "Address[0].f1_7[0]": "1200 North Lake Shore Drive, Building C, Floor 14, Suite 1400-B",
            **ein("364567890"),
        },
        ("partnership",),
    ),
    Variant("two_boxes", ticked=("individual_sole_proprietor", "c_corporation")),
    Variant("invalid_ein", {"f1_1[0]": "Shady Shell Company", **ein("001234567")}, ("c_corporation",)),
    Variant(
        "invalid_ssn",
        {"SSN[0].f1_11[0]": "000", "SSN[0].f1_12[0]": "12", "SSN[0].f1_13[0]": "3456"},
    ),
    Variant(
        "other_trust",
        {
            "f1_1[0]": "Rivera Family Trust",
            "FederalClassification[0].f1_4[0]": "Grantor trust",
            **ein("836789012"),
        },
        ("other",),
    ),
)


# -- Printing the form, two ways -----------------------------------------------------------------------------------


def _without_form(writer: PdfWriter) -> bytes:
    """The PDF as printed: no widgets, no AcroForm."""
    writer.remove_annotations(subtypes="/Widget")
    writer.root_object.pop("/AcroForm", None)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _drawn(content: bytes) -> PageObject:
    """A page holding ``content`` (PDF drawing operators), with Helvetica as /F1, to merge onto the form."""
    writer = PdfWriter()
    page = writer.add_blank_page(611.976, 791.968)
    font = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
        }
    )
    page[NameObject("/Resources")] = DictionaryObject(
        {NameObject("/Font"): DictionaryObject({NameObject("/F1"): writer._add_object(font)})}
    )
    stream = DecodedStreamObject()
    stream.set_data(content)
    page[NameObject("/Contents")] = writer._add_object(stream)
    return page


# A signature as strokes, and the date, where a signer puts them in Part II.
SIGNATURE_AND_DATE = (
    b"q 0.8 w 132 236 m 150 248 l 166 231 l 184 245 l 205 233 l 228 243 l 262 236 l S Q "
    b"BT /F1 9 Tf 420 234 Td (" + SIGNED_ON.encode() + b") Tj ET"
)


def burned_in_by_pypdf(variant: Variant) -> bytes:
    """The form filled, its fields' appearances merged into the page, the form removed."""
    writer = PdfWriter(clone_from=blank_w9_reader())
    writer.update_page_form_field_values(
        writer.pages[0], variant.filled(), auto_regenerate=False, flatten=True
    )
    writer.pages[0].merge_page(_drawn(SIGNATURE_AND_DATE))
    return _without_form(writer)


def _unicode_font() -> Path:
    """DejaVu Sans, which writes any Latin name: matplotlib's copy (installed with the test requirements), else
    Debian's."""
    candidates = []
    spec = importlib.util.find_spec("matplotlib")
    if spec is not None and spec.submodule_search_locations:
        root = Path(next(iter(spec.submodule_search_locations)))
        candidates.append(root / "mpl-data" / "fonts" / "ttf" / "DejaVuSans.ttf")
    candidates.append(Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"))
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    pytest.fail(f"no DejaVuSans.ttf to draw unicode names with (looked at {', '.join(map(str, candidates))})")


def drawn_by_fpdf2(variant: Variant, shift: tuple[float, float] = (2.0, -1.5)) -> bytes:
    """Another printer: every value drawn in DejaVu Sans on an overlay, ``shift`` points off its field (right,
    up), merged onto the blank form's page 1."""
    dx, dy = shift
    height = 791.968
    pdf = FPDF(unit="pt", format=(611.976, height))
    pdf.set_auto_page_break(False)
    pdf.add_page()
    pdf.add_font("DejaVu", fname=str(_unicode_font()))
    pdf.set_font("DejaVu", size=9)

    def text(x: float, baseline: float, value: str) -> None:
        pdf.text(x + dx, height - (baseline + dy), value)

    values = variant.filled()
    for key, (x, baseline) in TEXT_AT.items():
        if W9 + key in values:
            # The requester's box holds lines of 180 points: a printer wraps its text there.
            for index, line in enumerate(_wrapped(pdf, values[W9 + key], 180.0 if key == "f1_9[0]" else 1e6)):
                text(x, baseline - 10.5 * index, line)
    for box in variant.ticked:
        _, (cx, cy) = BOXES[box]
        text(cx - pdf.get_string_width(variant.tick) / 2, cy - 3.2, variant.tick)
    for group, cells in (("SSN", SSN_CELLS), ("EmployerID", EIN_CELLS)):
        for key, left in cells:
            for index, digit in enumerate(values.get(W9 + key, "")):
                centre = left + 14.4 * index + 7.2
                text(centre - pdf.get_string_width(digit) / 2, TIN_BASELINE[group], digit)
    pdf.set_line_width(0.8)
    pdf.polyline([(x + dx, height - (y + dy)) for x, y in ((132, 236), (150, 248), (166, 231), (190, 244))])
    text(420, 234, SIGNED_ON)
    overlay = PdfReader(io.BytesIO(bytes(pdf.output()))).pages[0]
    # The signed page only, as vendors often send it.
    writer = PdfWriter()
    writer.add_page(blank_w9_reader().pages[0])
    writer.pages[0].merge_page(overlay)
    return _without_form(writer)


def _wrapped(pdf: FPDF, value: str, width: float) -> list[str]:
    lines = [""]
    for word in value.split():
        candidate = f"{lines[-1]} {word}".strip()
        if lines[-1] and pdf.get_string_width(candidate) > width:
            lines.append(word)
        else:
            lines[-1] = candidate
    return lines


PRINTERS: dict[str, Callable[[Variant], bytes]] = {"pypdf": burned_in_by_pypdf, "fpdf2": drawn_by_fpdf2}


@functools.lru_cache(maxsize=64)
def printed_pdf(name: str, printer: str, shift: tuple[float, float] = (2.0, -1.5)) -> bytes:
    """A variant as a printer flattened it (made once per test session)."""
    variant = next(v for v in VARIANTS if v.name == name)
    return burned_in_by_pypdf(variant) if printer == "pypdf" else drawn_by_fpdf2(variant, shift)


@functools.lru_cache(maxsize=64)
def printed_result(name: str, printer: str, shift: tuple[float, float] = (2.0, -1.5)) -> ExtractionResult:
    return extract_local(printed_pdf(name, printer, shift), "w9")


def values_of(result: ExtractionResult) -> dict[str, Any]:
    """Every field's value as the vendor checks read it (tax ids in full), with the other ticked boxes."""
    values: dict[str, Any] = {}
    for name, extracted in result.fields.items():
        value = extracted.value
        values[name] = value.get_secret_value() if hasattr(value, "get_secret_value") else value
    values["other_ticked"] = result.fields["tax_classification"].other_values
    return values


# -- Tests ------------------------------------------------------------------------------------------------------


# The fillable form's reading of each variant, made once for both printers.
FILLABLE: dict[str, ExtractionResult] = {}


# Every variant through both printers, but for the unicode name through pypdf: the fillable form's font (WinAnsi
# Helvetica) has no "Ł", so pypdf burns in "?" (and warns); the fpdf2 printer embeds a font that has it.
CASES = [
    pytest.param(variant, printer, id=f"{variant.name}-{printer}")
    for variant in VARIANTS
    for printer in sorted(PRINTERS)
    if (variant.name, printer) != ("unicode_name", "pypdf")
]


@pytest.mark.parametrize(("variant", "printer"), CASES)
def test_a_flattened_w9_reads_as_its_fillable_form(variant: Variant, printer: str, make_w9: MakeW9) -> None:
    # Given a W-9 printed to PDF (no form fields), and the same values typed into the fillable form
    if variant.name not in FILLABLE:
        FILLABLE[variant.name] = extract_local(make_w9(variant.acroform(), date=SIGNED_ON), "w9")
    fillable = FILLABLE[variant.name]
    # When the flattened W-9 is extracted
    result = printed_result(variant.name, printer)
    # Then every field holds what the fillable form holds, read from the page's layout
    assert values_of(result) == values_of(fillable)
    assert all(f.value is not None for f in fillable.fields.values() if f.required)
    # And each is read with the layout's confidence, below the AcroForm's, so that the tax id goes to a person
    found = [f for f in result.fields.values() if f.value is not None]
    assert {f.confidence for f in found} == {LAYOUT_CONFIDENCE}
    assert result.status == "needs_review"
    assert any("below the threshold of 99" in problem for problem in result.fields["tin"].problems)


EXPECTED: dict[str, dict[str, Any]] = {
    "individual_ssn": {
        "name": "Jane Q. Doe",
        "tax_classification": "individual_sole_proprietor",
        "tin": "536-90-4399",
        "tin_type": "ssn",
        "exempt_payee_code": "5",
        "fatca_exemption_code": "C",
        "requester": "Acme Advisory LLP, 1 Park Ave, New York, NY 10016",
        "account_numbers": "V-100234",
        "signature": "present",
        "signature_date": "2026-11-20",
    },
    "llc_s": {
        "tax_classification": "llc",
        "llc_tax_classification": "S",
        "tin": "47-3456789",
        "tin_type": "ein",
    },
    "unicode_name": {"name": "Zoë Müller-Łukasiewicz", "business_name": "Łódź Design Studio"},
    "long_name": {
        "name": "The Greater Springfield Regional Consulting and Engineering Services Partnership of Illinois",
        "address": "1200 North Lake Shore Drive, Building C, Floor 14, Suite 1400-B",
        "tax_classification": "partnership",
    },
    "other_trust": {
        "tax_classification": "other",
        "other_classification": "Grantor trust",
        "other_ticked": [],
    },
}


def test_the_variants_read_as_written() -> None:
    # Given the individual, LLC, unicode, long-name and 'Other' variants drawn by another printer
    results = {name: printed_result(name, "fpdf2") for name in EXPECTED}
    # When their fields are read
    # Then they are as written on the form
    for name, expected in EXPECTED.items():
        got = values_of(results[name])
        assert {key: got[key] for key in expected} == expected, name


def test_two_ticked_boxes_are_reported_as_a_problem() -> None:
    # Given a flattened W-9 with the individual and the C corporation boxes both ticked
    for printer in PRINTERS:
        # When it is extracted
        result = printed_result("two_boxes", printer)
        # Then both boxes are reported, and the field says the form allows one
        classification = result.fields["tax_classification"]
        assert [classification.value, *classification.other_values] == [
            "individual_sole_proprietor",
            "c_corporation",
        ]
        assert (
            "more than one tax classification box is ticked (the form allows one)" in classification.problems
        )


@pytest.mark.parametrize(
    ("name", "written", "problem"),
    [
        ("invalid_ein", "001234567", "not a valid EIN: its prefix is not one the IRS assigns"),
        ("invalid_ssn", "000123456", "not a valid SSN: area, group or serial number is never issued"),
    ],
)
def test_an_invalid_tin_is_read_as_written_and_flagged(name: str, written: str, problem: str) -> None:
    # Given a flattened W-9 whose TIN no one was ever issued
    # When it is extracted
    result = printed_result(name, "fpdf2")
    # Then the digits are kept as written, and the TIN check flags them
    tin = result.fields["tin"]
    assert values_of(result)["tin"] == written
    assert tin.valid is False and problem in tin.problems


def test_values_printed_further_off_their_fields_still_read() -> None:
    # Given the same W-9 drawn by printers that place it a few points off in each direction
    for shift in ((-3.0, 2.5), (3.5, 3.0), (-2.5, -3.0)):
        # When each is extracted
        result = printed_result(VARIANTS[0].name, "fpdf2", shift)
        # Then every field is read
        assert all(
            f.value is not None
            for f in result.fields.values()
            if f.name not in ("llc_tax_classification", "other_classification")
        ), shift


def test_a_fillable_w9_is_still_read_from_its_fields(make_w9: MakeW9) -> None:
    # Given a filled fillable W-9
    result = extract_local(make_w9(), "w9")
    # When it is extracted, Then its values come from the AcroForm at full confidence, not from the layout
    assert result.status == "complete"
    assert result.fields["name"].source == "acroform" and result.fields["name"].confidence == 100


def test_a_blank_printed_w9_yields_no_values() -> None:
    # Given the blank W-9 printed to PDF (nothing written on it)
    printed = _without_form(PdfWriter(clone_from=blank_w9_reader()))
    # When it is extracted
    result = extract_local(printed, "w9")
    # Then no field is read from the printed labels themselves, and the required ones are missing
    assert [name for name, f in result.fields.items() if f.value is not None] == []
    assert "Line 1: name (as shown on the income tax return): missing" in result.reasons


def test_the_cli_extracts_every_field_of_a_flattened_w9(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a flattened W-9 on disk
    path = tmp_path / "flattened.pdf"
    path.write_bytes(burned_in_by_pypdf(VARIANTS[0]))
    parser = argparse.ArgumentParser(prog="backoffice")
    add_extract_parser(parser.add_subparsers(dest="command", required=True))
    # When `backoffice extract flattened.pdf --type w9` runs
    args = parser.parse_args(["extract", str(path), "--type", "w9"])
    code = args.func(args)
    printed = json.loads(capsys.readouterr().out)
    # Then every field of the form is printed (the TIN masked), and the TIN waits for a person
    fields = printed["fields"]
    assert [name for name, f in fields.items() if f["value"] is None] == [
        "llc_tax_classification",
        "other_classification",
    ]
    assert fields["name"]["value"] == "Jane Q. Doe" and fields["tin"]["value"] == "****4399"
    assert printed["status"] == "needs_review" and code == 1


def test_word_positions_are_not_in_a_dumped_document() -> None:
    # Given a flattened W-9 read with the word positions of its form page
    document = read_local_document(printed_pdf("individual_ssn", "fpdf2"), keep_words_on=W9_FORM_PAGE)
    assert isinstance(document, NormalizedDocument) and document.pages[0].words is not None
    # When the document is dumped as JSON
    dumped = json.dumps(document_json(document))
    # Then the words are not there: the SSN's digits, one word a cell, would escape the masking
    assert '"words"' not in dumped and '"536"' not in dumped
