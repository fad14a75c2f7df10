"""``backoffice extract``, registered on a bare argparse parser as main.py will register it (no AWS)."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from backoffice.cli.extract import add_extract_parser
from tests.fixture_files import TEXTRACT, required

MakeW9 = Callable[..., bytes]


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, Any, str]:
    parser = argparse.ArgumentParser(prog="backoffice")
    add_extract_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    code = args.func(args)
    out, err = capsys.readouterr()
    return code, json.loads(out) if out.strip() else None, err


def test_extract_prints_the_w9_result_with_the_tin_masked(
    make_w9: MakeW9, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a filled W-9 on disk
    path = tmp_path / "w9.pdf"
    path.write_bytes(make_w9())
    # When `backoffice extract PATH --type w9` runs
    code, printed, _ = run(["extract", str(path), "--type", "w9"], capsys)
    # Then the profile's result is printed as JSON, the SSN as its last four digits, and the exit status is 0
    assert code == 0
    assert printed["status"] == "complete" and printed["manual_review"] is False
    assert printed["fields"]["tin"]["value"] == "****4399"
    assert printed["fields"]["name"]["value"] == "Jane Q. Doe"


def test_reveal_prints_the_tin_in_full(
    make_w9: MakeW9, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "w9.pdf"
    path.write_bytes(make_w9())
    code, printed, _ = run(["extract", str(path), "--type", "w9", "--reveal"], capsys)
    assert code == 0 and printed["fields"]["tin"]["value"] == "536-90-4399"


def test_without_a_type_the_normalized_document_is_printed_masked(
    make_w9: MakeW9, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a filled W-9
    path = tmp_path / "w9.pdf"
    path.write_bytes(make_w9())
    # When extracted without --type
    code, printed, _ = run(["extract", str(path)], capsys)
    # Then the normalized document is printed, its SSN boxes masked
    assert code == 0 and printed["source"] == "local_pdf" and printed["page_count"] == 6
    ssn_boxes = [f["value"] for f in printed["fields"] if ".SSN[0]." in f["name"]]
    assert ssn_boxes == ["****", "****", "****"]


def test_a_bad_file_prints_an_error_result_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a Word document named like a PDF
    path = tmp_path / "w9.pdf"
    path.write_bytes(b"PK\x03\x04" + b"\x00" * 100)
    # When it is extracted
    code, printed, _ = run(["extract", str(path), "--type", "w9"], capsys)
    # Then the error result is printed and the exit status says a person must look
    assert code == 1
    assert printed["status"] == "error" and printed["error"]["kind"] == "unsupported_format"


def _fixture(name: str) -> Path:
    return required(TEXTRACT / name)


def test_a_saved_textract_response_is_normalized(capsys: pytest.CaptureFixture[str]) -> None:
    # Given a saved GetDocumentAnalysis result
    path = _fixture("tx_async_2page-pdf_forms-tables.json")
    # When `backoffice extract --textract-response` runs without a type
    code, printed, _ = run(["extract", "--textract-response", str(path)], capsys)
    # Then the normalized document is printed
    assert code == 0
    assert (printed["source"], printed["page_count"], len(printed["tables"])) == ("analyze_document", 2, 2)


def test_textract_pages_given_as_a_json_list_or_as_files(
    load_textract: Callable[[str], Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the expense result saved as a JSON list of its two NextToken pages, and as two files
    merged = load_textract("rp_async_expense_2page_invoice.json")
    first = {**merged, "ExpenseDocuments": merged["ExpenseDocuments"][:1], "NextToken": "next"}
    second = {**merged, "ExpenseDocuments": merged["ExpenseDocuments"][1:]}
    (tmp_path / "pages.json").write_text(json.dumps([first, second]))
    (tmp_path / "page1.json").write_text(json.dumps(first))
    (tmp_path / "page2.json").write_text(json.dumps(second))
    # When each is given to --textract-response with --type invoice
    _, as_list, _ = run(
        ["extract", "--textract-response", str(tmp_path / "pages.json"), "--type", "invoice"], capsys
    )
    _, as_files, _ = run(
        [
            "extract",
            "--textract-response",
            str(tmp_path / "page1.json"),
            str(tmp_path / "page2.json"),
            "--type",
            "invoice",
        ],
        capsys,
    )
    # Then both give the invoice with its eight lines
    assert as_list == as_files
    assert as_list["fields"]["total"]["value"] == "5715.00" and len(as_list["records"]["line_items"]) == 8


def test_an_incomplete_textract_response_is_explained(
    load_textract: Callable[[str], Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given only the first page of a paginated result
    merged = load_textract("rp_async_expense_2page_invoice.json")
    path = tmp_path / "first.json"
    path.write_text(
        json.dumps({**merged, "ExpenseDocuments": merged["ExpenseDocuments"][:1], "NextToken": "n"})
    )
    # When it is normalized
    code, printed, _ = run(["extract", "--textract-response", str(path)], capsys)
    # Then the error says pages are missing
    assert code == 1 and printed["error"]["kind"] == "textract_response_incomplete"
    assert "NextToken" in printed["error"]["message"]


def test_a_response_file_that_is_not_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "response.json"
    path.write_text("{not json")
    code, printed, _ = run(["extract", "--textract-response", str(path)], capsys)
    assert code == 1 and printed["error"]["kind"] == "textract_response_malformed"


def test_usage_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Given neither a path nor a response, then both
    code, printed, err = run(["extract"], capsys)
    assert (code, printed) == (2, None) and "either a document PATH" in err
    code, _, _ = run(["extract", "x.pdf", "--textract-response", "y.json"], capsys)
    assert code == 2
    # And a settings file naming an unknown field
    settings = tmp_path / "settings.json"
    settings.write_text(json.dumps({"field_thresholds": {"w9.nope": 99}}))
    code, _, err = run(["extract", "x.pdf", "--type", "w9", "--settings", str(settings)], capsys)
    assert code == 2 and "unknown profile fields: w9.nope" in err


def test_settings_file_changes_the_thresholds(
    make_w9: MakeW9, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a W-9 with no business name, and settings requiring one
    path = tmp_path / "w9.pdf"
    path.write_bytes(make_w9({"topmostSubform[0].Page1[0].f1_2[0]": None}))
    settings = tmp_path / "settings.json"
    settings.write_text(json.dumps({"required": {"w9.business_name": True}}))
    # When extracted with them
    code, printed, _ = run(["extract", str(path), "--type", "w9", "--settings", str(settings)], capsys)
    # Then the missing business name is a reason for review
    assert code == 1 and printed["reasons"] == ["Line 2: business name / disregarded entity name: missing"]


def test_an_ambiguous_invoice_date_is_flagged_until_the_date_order_is_given(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the real receipt, dated 12/07/2019 (7 December or 12 July)
    path = _fixture("tx_expense_receipt.json")
    # When `backoffice extract --type invoice` reads it with no date order
    code, printed, _ = run(["extract", "--textract-response", str(path), "--type", "invoice"], capsys)
    # Then the date goes to review with both readings and the exit status says a person must look
    assert code == 1 and printed["status"] == "needs_review"
    assert printed["fields"]["invoice_date"]["value"] == "12/07/2019"
    assert printed["reasons"] == [
        "Invoice date: ambiguous date: 2019-12-07 if the month comes first (MDY) or 2019-07-12 if the day"
        " does (DMY); set the date order of the vendor or the entity"
    ]
    # When the vendor's date order is given, on the command line or in the settings file
    code, day_first, _ = run(
        ["extract", "--textract-response", str(path), "--type", "invoice", "--date-order", "DMY"], capsys
    )
    settings = tmp_path / "settings.json"
    settings.write_text(json.dumps({"vendor_locales": {"MEGA MARKET PLUS": {"date_order": "MDY"}}}))
    _, month_first, _ = run(
        ["extract", "--textract-response", str(path), "--type", "invoice", "--settings", str(settings)],
        capsys,
    )
    # Then the date reads in that order and nobody needs to look
    assert code == 0 and day_first["status"] == "complete"
    assert day_first["fields"]["invoice_date"]["value"] == "2019-07-12"
    assert month_first["fields"]["invoice_date"]["value"] == "2019-12-07"


def test_the_decimal_mark_option_settles_an_ambiguous_total(
    load_textract: Callable[[str], Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the receipt with its tax read as $110.04 and its total as "$1,810" (1810 or 1.810)
    response = load_textract("tx_expense_receipt.json")
    printed_as = {"TOTAL": "$1,810", "TAX": "$110.04"}
    for field in response["ExpenseDocuments"][0]["SummaryFields"]:
        if field["Type"]["Text"] in printed_as:
            field["ValueDetection"]["Text"] = printed_as[field["Type"]["Text"]]
    path = tmp_path / "receipt.json"
    path.write_text(json.dumps(response))
    argv = ["extract", "--textract-response", str(path), "--type", "invoice", "--date-order", "MDY"]
    # When it is read without, then with, the vendor's decimal mark
    _, unsettled, _ = run(argv, capsys)
    code, settled, _ = run([*argv, "--decimal-mark", "."], capsys)
    # Then without it the total is flagged with both readings; with it the total is 1810, which adds up
    assert unsettled["reasons"] == [
        "Total: ambiguous amount: 1810 if the comma groups thousands or 1.810 if it marks decimals;"
        " set the decimal mark of the vendor or the entity"
    ]
    assert code == 0 and settled["status"] == "complete", settled["reasons"]
    assert (settled["fields"]["total"]["value"], settled["fields"]["currency"]["value"]) == ("1810", "USD")
