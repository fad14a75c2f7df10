"""The embedded extractor on the real IRS W-9 filled with pypdf, and on every kind of bad input (no AWS)."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader, PdfWriter
from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject, NumberObject

from backoffice.extraction import extract_local, read_local_document
from backoffice.extraction.local_pdf import read_pdf
from backoffice.extraction.model import NormalizedDocument

MakeW9 = Callable[..., bytes]
W9 = "topmostSubform[0].Page1[0]."
SSN = {W9 + "SSN[0].f1_11[0]": None, W9 + "SSN[0].f1_12[0]": None, W9 + "SSN[0].f1_13[0]": None}
NO_BOX = {W9 + "FederalClassification[0].c1_1[0]": None}


def test_a_filled_w9_yields_every_field(make_w9: MakeW9) -> None:
    # Given the real IRS W-9 filled in with pypdf, signed (ink) and dated (typed) in Part II
    pdf = make_w9()
    # When the local extractor reads it as a W-9
    result = extract_local(pdf, "w9")
    # Then every field is there, exact, and nobody needs to look at it
    assert result.status == "complete", result.reasons
    assert not result.manual_review and result.reasons == []
    values = {name: field.text for name, field in result.fields.items()}
    assert values == {
        "name": "Jane Q. Doe",
        "business_name": "Doe Consulting",
        "tax_classification": "individual_sole_proprietor",
        "llc_tax_classification": None,
        "other_classification": None,
        "exempt_payee_code": "5",
        "fatca_exemption_code": "C",
        "address": "123 Main Street, Suite 4",
        "city_state_zip": "Springfield, IL 62701",
        "requester": "Acme Advisory LLP, 1 Park Ave, New York, NY 10016",
        "account_numbers": "V-100234",
        "tin": "536-90-4399",
        "tin_type": "ssn",
        "signature": "present",
        "signature_date": "2026-11-20",
    }
    assert {f.confidence for f in result.fields.values() if f.text is not None} == {100.0}
    assert result.fields["name"].source == "acroform"
    assert result.fields["signature"].source == "signature"
    assert (result.source, result.page_count) == ("local_pdf", 6)


def test_the_w9_document_has_its_fields_checkboxes_and_text(make_w9: MakeW9) -> None:
    # Given the filled W-9
    # When it is read into the normalized document
    doc = read_pdf(make_w9())
    # Then its 22 AcroForm fields, 7 classification checkboxes (one ticked) and positioned text lines are there
    assert doc.page_count == 6 and doc.source == "local_pdf"
    assert len(doc.fields) == 22
    boxes = [s for s in doc.selection_elements if "FederalClassification" in (s.name or "")]
    assert [s.selected for s in boxes] == [True, False, False, False, False, False, False]
    form_title = next(line for line in doc.pages[0].lines if line.text == "Form W-9")
    assert form_title.geometry is not None and form_title.geometry.top < 0.1
    assert any(line.text == "Date ▶" for line in doc.pages[0].lines)
    (signature,) = doc.signatures
    assert signature.kind == "ink_annotation" and signature.page == 1


def test_an_llc_taxed_as_a_c_corporation_with_an_ein(make_w9: MakeW9) -> None:
    # Given a W-9 for an LLC (box 6, code C) with an EIN and no SSN
    pdf = make_w9(
        {
            **SSN,
            **NO_BOX,
            W9 + "FederalClassification[0].c1_1[5]": "/6",
            W9 + "FederalClassification[0].f1_3[0]": "C",
            W9 + "EmployerID[0].f1_14[0]": "91",
            W9 + "EmployerID[0].f1_15[0]": "1144442",
        }
    )
    # When it is extracted
    result = extract_local(pdf, "w9")
    # Then the classification, its code and the EIN are read
    assert result.status == "complete", result.reasons
    assert (result.value("tax_classification"), result.value("llc_tax_classification")) == ("llc", "C")
    assert (result.value("tin"), result.value("tin_type")) == ("91-1144442", "ein")
    # And the EIN prints as its last four digits unless revealed
    assert result.to_json_dict()["fields"]["tin"]["value"] == "****4442"
    assert result.to_json_dict(reveal_secrets=True)["fields"]["tin"]["value"] == "91-1144442"


def test_an_itin_in_the_ssn_boxes_is_checked_as_an_itin(make_w9: MakeW9) -> None:
    # Given a resident alien's ITIN in the SSN boxes
    pdf = make_w9(
        {W9 + "SSN[0].f1_11[0]": "912", W9 + "SSN[0].f1_12[0]": "90", W9 + "SSN[0].f1_13[0]": "3456"}
    )
    # When it is extracted
    result = extract_local(pdf, "w9")
    # Then it is an ITIN, and valid
    assert (result.value("tin_type"), result.fields["tin"].valid, result.status) == ("itin", True, "complete")


@pytest.mark.parametrize(
    ("values", "reason"),
    [
        (
            {**NO_BOX, W9 + "FederalClassification[0].c1_1[5]": "/6"},
            "LLC must give its tax classification",
        ),
        (
            {W9 + "FederalClassification[0].c1_1[1]": "/2"},
            "more than one tax classification box",
        ),
        (NO_BOX, "Line 3: federal tax classification: missing"),
        (
            {**SSN, W9 + "EmployerID[0].f1_14[0]": "07", W9 + "EmployerID[0].f1_15[0]": "1144442"},
            "not a valid EIN",
        ),
        (
            {W9 + "SSN[0].f1_11[0]": "666", W9 + "SSN[0].f1_12[0]": "00", W9 + "SSN[0].f1_13[0]": "0000"},
            "not a valid SSN",
        ),
        (
            {W9 + "EmployerID[0].f1_14[0]": "91", W9 + "EmployerID[0].f1_15[0]": "1144442"},
            "both the SSN and the EIN boxes are filled",
        ),
        ({**SSN}, "taxpayer identification number (SSN, ITIN or EIN): missing"),
        ({W9 + "f1_1[0]": None}, "Line 1: name (as shown on the income tax return): missing"),
        ({W9 + "Exemptions[0].f1_5[0]": "14"}, "exempt payee code is a number from 1 to 13"),
    ],
    ids=[
        "llc without code",
        "two boxes",
        "no box",
        "invalid ein",
        "invalid ssn",
        "ssn and ein",
        "no tin",
        "no name",
        "bad exempt payee code",
    ],
)
def test_a_w9_with_a_problem_needs_review(
    make_w9: MakeW9, values: dict[str, str | None], reason: str
) -> None:
    # Given a W-9 with one problem
    # When it is extracted
    result = extract_local(make_w9(values), "w9")
    # Then it needs review, and the reason says why
    assert result.status == "needs_review" and result.manual_review
    assert any(reason in r for r in result.reasons), result.reasons


def test_an_unsigned_undated_w9_needs_review(make_w9: MakeW9) -> None:
    # Given a W-9 filled in but neither signed nor dated
    result = extract_local(make_w9(signed=False, date=None), "w9")
    # Then the signature and the date are missing
    assert result.status == "needs_review"
    assert "Part II: signature: missing" in result.reasons
    assert "Part II: date signed: missing" in result.reasons


def test_a_date_typed_into_the_page_content_is_found(make_w9: MakeW9, tmp_path: Path) -> None:
    # Given a W-9 whose date is a free-text annotation farther right on the "Date ▶" row, written long-hand
    result = extract_local(make_w9(date="November 20, 2026"), "w9")
    # Then the date is read
    assert result.value("signature_date") == "2026-11-20"


def test_tax_ids_never_reach_repr_or_logs(make_w9: MakeW9, caplog: pytest.LogCaptureFixture) -> None:
    # Given a W-9 with an SSN, extracted with every log level captured
    caplog.set_level(logging.DEBUG)
    result = extract_local(make_w9(), "w9")
    doc = read_pdf(make_w9())
    # When the result and the document are turned into text the way logs would
    texts = [
        repr(result),
        str(result),
        repr(doc),
        str(doc),
        repr(doc.fields),
        caplog.text,
        json.dumps(result.to_json_dict()),
    ]
    # Then the SSN appears in none of them, whole or by its parts
    for text in texts:
        assert "536-90-4399" not in text and "536904399" not in text
    assert "'4399'" not in repr(doc.fields)


# --------------------------------------------------------------------------------------------------------------
# Bad input: a clear error result (to audit) and manual review, never an exception
# --------------------------------------------------------------------------------------------------------------


def _pdf(pages: int = 1) -> bytes:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(72, 72)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _scanned_pdf() -> bytes:
    """A PDF whose one page is an image and nothing else, as a scanner makes it."""
    writer = PdfWriter()
    page = writer.add_blank_page(612, 792)
    image = DecodedStreamObject()
    image.set_data(bytes(range(256)) * 16)
    image.update(
        {
            NameObject("/Type"): NameObject("/XObject"),
            NameObject("/Subtype"): NameObject("/Image"),
            NameObject("/Width"): NumberObject(64),
            NameObject("/Height"): NumberObject(64),
            NameObject("/ColorSpace"): NameObject("/DeviceGray"),
            NameObject("/BitsPerComponent"): NumberObject(8),
        }
    )
    content = DecodedStreamObject()
    content.set_data(b"q 612 0 0 792 0 0 cm /Im0 Do Q")
    page[NameObject("/Resources")] = DictionaryObject(
        {NameObject("/XObject"): DictionaryObject({NameObject("/Im0"): writer._add_object(image)})}
    )
    page[NameObject("/Contents")] = writer._add_object(content)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _encrypted(make_w9: MakeW9, user_password: str) -> bytes:
    writer = PdfWriter(clone_from=io.BytesIO(make_w9()))
    writer.encrypt(user_password=user_password, owner_password="owner-secret", algorithm="AES-256")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


BAD_INPUTS: dict[str, tuple[Callable[[MakeW9, Path], Any], str, str]] = {
    "a Word document": (
        lambda w9, tmp: b"PK\x03\x04" + b"\x00" * 200,
        "unsupported_format",
        "not a PDF or an image",
    ),
    "plain text": (lambda w9, tmp: b"Dear vendor, please find attached", "unsupported_format", "not a PDF"),
    "an empty file": (lambda w9, tmp: b"", "empty_document", "0 bytes"),
    "a password-protected PDF": (lambda w9, tmp: _encrypted(w9, "open-sesame"), "encrypted", "password"),
    "a PDF with no pages": (lambda w9, tmp: _pdf(0), "empty_document", "no pages"),
    "a PDF over 3,000 pages": (lambda w9, tmp: _pdf(3001), "too_many_pages", "3001 pages; the limit is 3000"),
    "a truncated PDF": (lambda w9, tmp: w9()[: len(w9()) // 2], "truncated", "cut short"),
    "a corrupt PDF": (
        lambda w9, tmp: b"%PDF-1.7\n" + bytes(range(256)) * 40 + b"\n%%EOF\n",
        "corrupt",
        "damaged",
    ),
    "a file over 500 MB": (lambda w9, tmp: _sparse_file(tmp, 501), "too_large", "the limit is 500 MB"),
    "a missing file": (lambda w9, tmp: tmp / "nowhere.pdf", "unreadable", "no such file"),
}


def _sparse_file(directory: Path, megabytes: int) -> Path:
    # Sparse: its size is on record but nothing is written, and the size check refuses it before any read.
    path = directory / "huge.pdf"
    with path.open("wb") as handle:
        handle.write(b"%PDF-1.7\n")
        handle.truncate(megabytes * 1024 * 1024)
    return path


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_gives_an_error_result_for_manual_review(
    make_w9: MakeW9, tmp_path: Path, case: str
) -> None:
    # Given a bad input
    make, kind, message = BAD_INPUTS[case]
    source = make(make_w9, tmp_path)
    # When the local extractor reads it (no exception escapes)
    result = extract_local(source, "w9")
    # Then the result is an error of its kind, with a message a person understands, for manual review
    assert result.status == "error" and result.manual_review
    assert result.error is not None and result.error.kind == kind
    assert message in result.error.message
    assert result.reasons and result.reasons[0] == result.error.message
    assert result.document_type == "w9" and result.fields == {}


def test_a_pdf_locked_only_against_editing_is_read(make_w9: MakeW9) -> None:
    # Given a W-9 encrypted with an owner password only (opens without a password, editing restricted)
    # When it is extracted
    result = extract_local(_encrypted(make_w9, ""), "w9")
    # Then it is read like any other
    assert result.status == "complete" and result.value("tin") == "536-90-4399"


def test_a_scanned_pdf_needs_ocr() -> None:
    # Given a PDF whose only page is an image
    pdf = _scanned_pdf()
    assert len(PdfReader(io.BytesIO(pdf)).pages[0].images) == 1
    # When it is read locally
    result = extract_local(pdf, "w9")
    # Then it needs OCR, which routes it to a person, and says so
    assert result.status == "needs_ocr" and result.manual_review
    assert "no text layer" in result.reasons[0] and "OCR" in result.reasons[0]
    assert result.page_count == 1


@pytest.mark.parametrize(
    ("kind", "head"),
    [
        ("PNG", b"\x89PNG\r\n\x1a\n"),
        ("JPEG", b"\xff\xd8\xff\xe0"),
        ("TIFF", b"II*\x00"),
        ("TIFF", b"MM\x00*"),
    ],
)
def test_an_image_needs_ocr(tmp_path: Path, kind: str, head: bytes) -> None:
    # Given a scan saved as an image file
    path = tmp_path / f"scan.{kind.lower()}"
    path.write_bytes(head + b"\x00" * 512)
    # When it is read locally
    result = extract_local(path, "bank_letter")
    # Then it needs OCR
    assert result.status == "needs_ocr" and result.document_type == "bank_letter"
    assert f"a {kind} image" in result.reasons[0]


def test_the_local_extractor_never_calls_aws(make_w9: MakeW9, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given any attempt to build an AWS client fails loudly
    import boto3
    import botocore.session

    def no_aws(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the local extractor called AWS")

    monkeypatch.setattr(boto3, "client", no_aws)
    monkeypatch.setattr(boto3.Session, "client", no_aws)
    monkeypatch.setattr(botocore.session.Session, "create_client", no_aws)
    # When documents of every kind are extracted locally
    results = [
        extract_local(make_w9(), "w9"),
        extract_local(_scanned_pdf(), "w9"),
        extract_local(b"junk", "sow"),
    ]
    # Then they are read (or refused) without AWS
    assert [r.status for r in results] == ["complete", "needs_ocr", "error"]


def test_an_unknown_document_type_is_the_callers_mistake(make_w9: MakeW9) -> None:
    with pytest.raises(ValueError, match="unknown document type 'w8'"):
        extract_local(make_w9(), "w8")


def test_read_local_document_gives_the_normalized_document(make_w9: MakeW9) -> None:
    # Given a filled W-9
    # When it is read without a profile
    read = read_local_document(make_w9())
    # Then the normalized document comes back
    assert isinstance(read, NormalizedDocument) and read.page_count == 6
