"""Every real Textract response in tests/fixtures/textract goes through the normalizer, and each failure of
textract-trp 0.1.3 measured on them is fixed (no AWS)."""

from __future__ import annotations

import copy
import json
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
import trp

from backoffice.extraction import (
    TextractJobFailed,
    TextractResponseIncomplete,
    TextractResponseMalformed,
    apply_profile,
    document_json,
    normalize_textract_response,
)
from backoffice.extraction.model import NormalizedDocument

Load = Callable[[str], Any]

# What each response holds, counted by hand from its blocks: pages, lines, key-value pairs, values that are
# empty (not checkboxes), keys that are empty, checkboxes (ticked), tables (rows x columns), expense documents
# (summary fields, line items) after merging one invoice's pages, LAYOUT blocks (only the invoice PDF was analysed
# with the LAYOUT feature).
EXPECTED: dict[str, dict[str, Any]] = {
    "rp_async_2page_patient-intake_forms-tables.json": dict(
        source="analyze_document", pages=2, lines=74, kv=39, empty_values=1, empty_keys=0,
        checkboxes=(15, 7), tables=[(6, 4), (5, 5)], expense=[], layout=0,
    ),
    "rp_async_expense_2page_invoice.json": dict(
        source="analyze_expense", pages=2, lines=77, kv=0, empty_values=0, empty_keys=0,
        checkboxes=(0, 0), tables=[], expense=[(28, 8)], layout=0,
    ),
    "rp_employment-application.json": dict(
        source="analyze_document", pages=1, lines=28, kv=4, empty_values=0, empty_keys=0,
        checkboxes=(0, 0), tables=[(4, 5)], expense=[], layout=0,
    ),
    "rp_table_out-of-order-cells.json": dict(
        source="analyze_document", pages=1, lines=229, kv=0, empty_values=0, empty_keys=0,
        checkboxes=(0, 0), tables=[(30, 8)], expense=[], layout=0,
    ),
    "tx_async_2page-pdf_forms-tables.json": dict(
        source="analyze_document", pages=2, lines=50, kv=7, empty_values=0, empty_keys=0,
        checkboxes=(4, 2), tables=[(3, 5), (3, 5)], expense=[], layout=0,
    ),
    "tx_expense_receipt.json": dict(
        source="analyze_expense", pages=1, lines=39, kv=0, empty_values=0, empty_keys=0,
        checkboxes=(0, 0), tables=[], expense=[(25, 4)], layout=0,
    ),
    "tx_invoice-pdf_forms-tables-layout.json": dict(
        source="analyze_document", pages=1, lines=46, kv=19, empty_values=0, empty_keys=0,
        checkboxes=(0, 0), tables=[(5, 2), (2, 5), (3, 2)], expense=[], layout=12,
    ),
    "tx_w2_forms-tables-checkboxes.json": dict(
        source="analyze_document", pages=1, lines=70, kv=34, empty_values=10, empty_keys=3,
        checkboxes=(3, 1), tables=[(3, 7)], expense=[], layout=0,
    ),
}  # fmt: skip


def test_every_textract_fixture_has_expected_figures(textract_fixture_names: list[str]) -> None:
    # Given the responses in tests/fixtures/textract
    # Then each of them is covered by the table of expected figures (a new fixture must be added there)
    assert sorted(EXPECTED) == textract_fixture_names


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_real_response_normalizes_to_its_figures(load_textract: Load, name: str) -> None:
    # Given a real Textract response
    expected = EXPECTED[name]
    # When it is normalized
    doc = normalize_textract_response(load_textract(name))
    # Then pages, lines, key-value pairs (empty ones included), checkboxes, tables and expense documents add up
    assert doc.source == expected["source"]
    assert doc.page_count == expected["pages"] == len(doc.pages)
    assert len(doc.lines) == expected["lines"]
    assert len(doc.fields) == expected["kv"]
    assert sum(1 for f in doc.fields if not f.value and f.selected is None) == expected["empty_values"]
    assert sum(1 for f in doc.fields if not f.key) == expected["empty_keys"]
    assert (len(doc.selection_elements), sum(s.selected for s in doc.selection_elements)) == expected[
        "checkboxes"
    ]
    assert [(t.row_count, t.column_count) for t in doc.tables] == expected["tables"]
    assert [(len(e.summary_fields), len(e.line_items)) for e in doc.expense_documents] == expected["expense"]
    assert len(doc.layout) == sum(len(page.layout) for page in doc.pages) == expected["layout"]
    # And every table is rectangular
    for table in doc.tables:
        assert len(table.rows) == table.row_count
        assert all(len(row) == table.column_count for row in table.rows)


def test_key_value_confidence_is_the_lowest_of_key_value_and_words(load_textract: Load) -> None:
    # Given the W-2, whose response holds confidences as low as 21.6 on an otherwise clean form
    response = load_textract("tx_w2_forms-tables-checkboxes.json")
    words = {b["Id"]: b["Confidence"] for b in response["Blocks"] if b["BlockType"] == "WORD"}
    # When it is normalized
    doc = normalize_textract_response(response)
    # Then the lowest field confidence is the 21.6 Textract gave
    assert round(min(f.confidence for f in doc.fields), 1) == 21.6
    # And the EIN's confidence is the lowest of its key, its value and their words
    ein = next(f for f in doc.fields if f.key == "b Employer identification number (EIN)")
    assert ein.value == "11-1111112" and ein.sensitive
    assert ein.key_confidence is not None and ein.value_confidence is not None
    assert ein.confidence <= min(ein.key_confidence, ein.value_confidence)
    assert ein.confidence >= min(words.values())


def test_checkbox_values_carry_their_state(load_textract: Load) -> None:
    # Given the patient intake form with Yes/No checkboxes
    doc = normalize_textract_response(load_textract("rp_async_2page_patient-intake_forms-tables.json"))
    # When its checkbox fields are read
    job_fair = next(f for f in doc.fields if f.key == "Job fair")
    website = next(f for f in doc.fields if f.key == "Website")
    # Then a ticked box is selected and an empty one is not, with "" as the written value
    assert (job_fair.selected, job_fair.value) == (True, "")
    assert (website.selected, website.value) == (False, "")
    # And a checkbox inside a table cell reads in order as [X] or [ ]
    assert doc.tables[0].rows[0][2] == "[X] Yes [ ] No"


# --------------------------------------------------------------------------------------------------------------
# The measured failures of textract-trp 0.1.3, one by one
# --------------------------------------------------------------------------------------------------------------


def _split_into_pages(response: dict[str, Any], parts: int) -> list[dict[str, Any]]:
    """A merged GetDocumentAnalysis result cut into ``parts`` NextToken pages, as the API returns it."""
    blocks = response["Blocks"]
    size = -(-len(blocks) // parts)
    pages = []
    for index in range(parts):
        page = {k: v for k, v in response.items() if k != "Blocks"}
        page["Blocks"] = blocks[index * size : (index + 1) * size]
        if index < parts - 1:
            page["NextToken"] = f"token-{index + 1}"
        pages.append(page)
    return pages


def test_async_pages_given_as_a_list_equal_the_merged_result(load_textract: Load) -> None:
    # Given a two-page asynchronous result, once merged and once as the three NextToken pages the API returns
    merged = load_textract("rp_async_2page_patient-intake_forms-tables.json")
    pages = _split_into_pages(merged, 3)
    # When both are normalized
    # Then they give the same document
    assert normalize_textract_response(pages) == normalize_textract_response(merged)


def test_only_the_first_async_page_is_refused_as_incomplete_not_a_key_error(load_textract: Load) -> None:
    # Given only the first NextToken page of a result (trp crashes with KeyError on a block id)
    pages = _split_into_pages(load_textract("rp_async_2page_patient-intake_forms-tables.json"), 3)
    with pytest.raises(KeyError):
        trp.Document(pages[0])
    # When it is normalized, with its NextToken or with it dropped
    # Then the error says that pages are missing
    with pytest.raises(TextractResponseIncomplete, match="NextToken"):
        normalize_textract_response(pages[0])
    first_only = {k: v for k, v in pages[0].items() if k != "NextToken"}
    with pytest.raises(TextractResponseIncomplete, match="missing"):
        normalize_textract_response(first_only)


def test_a_page_count_that_does_not_match_the_metadata_is_incomplete(load_textract: Load) -> None:
    # Given a two-page result stripped of its second page entirely
    response = load_textract("tx_async_2page-pdf_forms-tables.json")
    response["Blocks"] = [b for b in response["Blocks"] if b.get("Page") == 1]
    # When it is normalized
    # Then the page count is checked against DocumentMetadata.Pages
    with pytest.raises(TextractResponseIncomplete, match=r"DocumentMetadata\.Pages is 2"):
        normalize_textract_response(response)


def test_page_block_not_first_gives_the_same_document(load_textract: Load) -> None:
    # Given a response whose PAGE block comes last (trp crashes on it)
    response = load_textract("rp_employment-application.json")
    moved = copy.deepcopy(response)
    page = moved["Blocks"].pop(0)
    moved["Blocks"].append(page)
    with pytest.raises(AttributeError):
        trp.Document(moved)
    # When it is normalized
    # Then it reads exactly as the response in its usual order
    assert normalize_textract_response(moved) == normalize_textract_response(response)


def test_empty_keys_and_values_are_kept_as_empty_strings(load_textract: Load) -> None:
    # Given the W-2, with keys that have no words and values that have none (trp drops the first and crashes
    # on .text of the second)
    response = load_textract("tx_w2_forms-tables-checkboxes.json")
    trp_fields = trp.Document(response).pages[0].form.fields
    assert len(trp_fields) == 31
    with pytest.raises(AttributeError):
        [field.value.text for field in trp_fields]
    # When it is normalized
    doc = normalize_textract_response(response)
    # Then every KEY block is a field, empty keys and values included
    assert len(doc.fields) == 34
    control = next(f for f in doc.fields if f.key == "d Control number")
    assert control.value == ""
    assert [f.value for f in doc.fields if not f.key] == ["D", "", ""]


def test_out_of_order_cells_come_out_in_their_rows(load_textract: Load) -> None:
    # Given the table whose CELL blocks are not in row-major order (trp puts cells in the wrong rows)
    response = load_textract("rp_table_out-of-order-cells.json")
    trp_rows = [len(row.cells) for row in trp.Document(response).pages[0].tables[0].rows]
    assert trp_rows[:3] == [2, 14, 8]
    # When it is normalized
    table = normalize_textract_response(response).tables[0]
    # Then every row has the 8 columns, the merged headers span their slots and values sit in their rows
    assert {len(row) for row in table.rows} == {8}
    assert table.rows[0] == ["Note", "Note", "2020", "2020", "2020", "2019", "2019", "2019"]
    assert table.rows[2] == ["Revenue", "5", "1,644.2", "-", "1,644.2", "1,459.1", "-", "1,459.1"]
    assert table.rows[-1] == ["Diluted", "13", "28.8p", "(28.1)p", "0.7p", "25.2p", "(3.8)p", "21.4p"]
    merged = [
        (c.row, c.column, c.row_span, c.column_span) for c in table.cells if c.row_span * c.column_span > 1
    ]
    assert merged == [(1, 1, 2, 2), (1, 3, 1, 3), (1, 6, 1, 3), (28, 1, 1, 8)]
    assert table.header_row_count == 2


def test_shuffled_cells_give_the_same_table(load_textract: Load) -> None:
    # Given a response whose table's CELL ids are reversed
    response = load_textract("rp_employment-application.json")
    shuffled = copy.deepcopy(response)
    table = next(b for b in shuffled["Blocks"] if b["BlockType"] == "TABLE")
    child = next(r for r in table["Relationships"] if r["Type"] == "CHILD")
    child["Ids"].reverse()
    # When both are normalized
    # Then the tables are equal
    assert normalize_textract_response(shuffled).tables == normalize_textract_response(response).tables


def _geometry(left: float, top: float, width: float, height: float) -> dict[str, Any]:
    return {
        "BoundingBox": {"Left": left, "Top": top, "Width": width, "Height": height},
        "Polygon": [
            {"X": left, "Y": top},
            {"X": left + width, "Y": top},
            {"X": left + width, "Y": top + height},
            {"X": left, "Y": top + height},
        ],
    }


def test_query_and_signature_blocks_are_read(load_textract: Load) -> None:
    # Given a response with a QUERY, its QUERY_RESULT and a SIGNATURE (trp ignores all three)
    response = load_textract("rp_employment-application.json")
    response["Blocks"] += [
        {
            "BlockType": "QUERY",
            "Id": "q-1",
            "Query": {"Text": "What is the applicant's name?", "Alias": "APPLICANT"},
            "Relationships": [{"Type": "ANSWER", "Ids": ["qr-1", "qr-2"]}],
        },
        {"BlockType": "QUERY_RESULT", "Id": "qr-1", "Text": "Jane Doe", "Confidence": 97.5,
         "Geometry": _geometry(0.2, 0.1, 0.2, 0.03)},
        {"BlockType": "QUERY_RESULT", "Id": "qr-2", "Text": "J. Doe", "Confidence": 41.0,
         "Geometry": _geometry(0.2, 0.5, 0.2, 0.03)},
        {"BlockType": "SIGNATURE", "Id": "sig-1", "Confidence": 88.25, "Geometry": _geometry(0.1, 0.9, 0.3, 0.05)},
    ]  # fmt: skip
    assert len(trp.Document(response).pages[0].lines) == 28  # trp parses it, and says nothing of them
    # When it is normalized
    doc = normalize_textract_response(response)
    # Then the query has its best answer and the signature is on page 1
    (query,) = doc.queries
    assert (query.alias, query.answer, query.confidence, query.page) == ("APPLICANT", "Jane Doe", 97.5, 1)
    (signature,) = doc.signatures
    assert (signature.page, signature.confidence) == (1, 88.25)


def _word(block_id: str, text: str, page: int, top: float) -> dict[str, Any]:
    return {"BlockType": "WORD", "Id": block_id, "Text": text, "Confidence": 99.0, "Page": page,
            "Geometry": _geometry(0.1, top, 0.1, 0.02)}  # fmt: skip


def _table_page(page: int, top: float, header: bool, rows: list[list[str]]) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = [
        {"BlockType": "PAGE", "Id": f"p{page}", "Page": page, "Geometry": _geometry(0, 0, 1, 1),
         "Relationships": [{"Type": "CHILD", "Ids": [f"t{page}"]}]},
    ]  # fmt: skip
    cells = []
    for r, row in enumerate(rows, start=1):
        for c, text in enumerate(row, start=1):
            cell_id, word_id = f"c{page}-{r}-{c}", f"w{page}-{r}-{c}"
            cells.append(cell_id)
            blocks.append(_word(word_id, text, page, top + r * 0.03))
            blocks.append(
                {"BlockType": "CELL", "Id": cell_id, "Page": page, "RowIndex": r, "ColumnIndex": c, "RowSpan": 1,
                 "ColumnSpan": 1, "Confidence": 95.0, "Geometry": _geometry(0.1 * c, top + r * 0.03, 0.1, 0.03),
                 "EntityTypes": ["COLUMN_HEADER"] if header and r == 1 else [],
                 "Relationships": [{"Type": "CHILD", "Ids": [word_id]}]}
            )  # fmt: skip
    height = 0.03 * (len(rows) + 1)
    blocks.insert(1, {"BlockType": "TABLE", "Id": f"t{page}", "Page": page, "Confidence": 96.0,
                      "Geometry": _geometry(0.1, top, 0.8, height),
                      "Relationships": [{"Type": "CHILD", "Ids": cells}]})  # fmt: skip
    return blocks


def test_a_table_cut_by_a_page_break_is_one_table() -> None:
    # Given a rate table that fills the bottom of page 1 and goes on at the top of page 2 under a repeated header
    header = ["Role", "Rate"]
    page1 = _table_page(1, 0.80, True, [header, ["Partner", "$450"], ["Manager", "$300"]])
    page2 = _table_page(2, 0.05, True, [header, ["Consultant", "$200"], ["Analyst", "$120"]])
    response = {"DocumentMetadata": {"Pages": 2}, "JobStatus": "SUCCEEDED", "Blocks": page1 + page2}
    # When it is normalized
    (table,) = normalize_textract_response(response).tables
    # Then the rows of both pages are one table, the repeated header dropped
    assert table.pages == [1, 2]
    assert table.rows == [
        header,
        ["Partner", "$450"],
        ["Manager", "$300"],
        ["Consultant", "$200"],
        ["Analyst", "$120"],
    ]


def test_tables_in_the_middle_of_pages_stay_apart() -> None:
    # Given two tables with the same columns, one in the middle of each page
    page1 = _table_page(1, 0.30, True, [["Role", "Rate"], ["Partner", "$450"]])
    page2 = _table_page(2, 0.40, True, [["Role", "Rate"], ["Analyst", "$120"]])
    response = {"DocumentMetadata": {"Pages": 2}, "Blocks": page1 + page2}
    # When it is normalized
    # Then they remain two tables
    assert [t.pages for t in normalize_textract_response(response).tables] == [[1], [2]]


# --------------------------------------------------------------------------------------------------------------
# Textract's reading order inside a cell
# --------------------------------------------------------------------------------------------------------------


def _lower(block: dict[str, Any], by: float) -> None:
    """Moves a block down the page, as a word sits lower than its neighbour on a tilted scan."""
    block["Geometry"]["BoundingBox"]["Top"] += by
    for point in block["Geometry"]["Polygon"]:
        point["Y"] += by


def test_a_cell_reads_its_words_in_the_order_the_response_lists_them(load_textract: Load) -> None:
    # Given the invoice's "Total Due" cell rewritten as "$" then "756", the "$" a little lower than the digits
    # (the words were re-sorted by position before, which read it "756 $")
    response = load_textract("tx_invoice-pdf_forms-tables-layout.json")
    by_id = {b["Id"]: b for b in response["Blocks"]}
    cell = next(
        b
        for b in response["Blocks"]
        if b["BlockType"] == "CELL"
        and [by_id[i]["Text"] for r in b["Relationships"] for i in r["Ids"]] == ["Total", "Due"]
    )
    dollar, amount = (by_id[i] for i in cell["Relationships"][0]["Ids"])
    dollar["Text"], amount["Text"] = "$", "756"
    _lower(dollar, 0.012)
    # When it is normalized
    doc = normalize_textract_response(response)
    # Then the cell reads "$ 756", as Textract lists its words, and the rest of the table is unchanged
    assert doc.tables[0].rows == [
        ["Invoice Number", "INV-3337"],
        ["Order Number", "12345"],
        ["Invoice Date", "January 25, 2016"],
        ["Due Date", "January 31, 2016"],
        ["$ 756", "$93.50"],
    ]


def test_a_crafted_cell_keeps_its_word_order_and_places_its_checkbox() -> None:
    # Given a cell listing "$", "756" and then a ticked checkbox that stands before both on the page, the "$"
    # lower than the digits
    words = [
        {"BlockType": "WORD", "Id": "w-dollar", "Text": "$", "Confidence": 99.0,
         "Geometry": _geometry(0.30, 0.515, 0.02, 0.02)},
        {"BlockType": "WORD", "Id": "w-amount", "Text": "756", "Confidence": 98.0,
         "Geometry": _geometry(0.33, 0.500, 0.06, 0.02)},
        {"BlockType": "SELECTION_ELEMENT", "Id": "mark", "SelectionStatus": "SELECTED", "Confidence": 97.0,
         "Geometry": _geometry(0.25, 0.500, 0.02, 0.02)},
    ]  # fmt: skip
    response = {
        "DocumentMetadata": {"Pages": 1},
        "Blocks": [
            {"BlockType": "PAGE", "Id": "p", "Geometry": _geometry(0, 0, 1, 1),
             "Relationships": [{"Type": "CHILD", "Ids": ["t"]}]},
            {"BlockType": "TABLE", "Id": "t", "Confidence": 96.0, "Geometry": _geometry(0.2, 0.45, 0.6, 0.1),
             "Relationships": [{"Type": "CHILD", "Ids": ["c"]}]},
            {"BlockType": "CELL", "Id": "c", "RowIndex": 1, "ColumnIndex": 1, "RowSpan": 1, "ColumnSpan": 1,
             "Confidence": 95.0, "Geometry": _geometry(0.2, 0.45, 0.6, 0.1),
             "Relationships": [{"Type": "CHILD", "Ids": ["w-dollar", "w-amount", "mark"]}]},
            *words,
        ],
    }  # fmt: skip
    # When it is normalized
    (table,) = normalize_textract_response(response).tables
    # Then the words read in the listed order, the checkbox where it stands
    assert table.rows == [["[X] $ 756"]]


# --------------------------------------------------------------------------------------------------------------
# A signature's confidence counts in the field it signs
# --------------------------------------------------------------------------------------------------------------


def _signature(block_id: str, confidence: float, geometry: dict[str, Any]) -> dict[str, Any]:
    return {"BlockType": "SIGNATURE", "Id": block_id, "Confidence": confidence, "Geometry": geometry}


def test_a_signature_in_a_value_lowers_that_field_only(load_textract: Load) -> None:
    # Given the employment application, with a signature read at 40 mostly inside the value of "Full Name:"
    # (87) and one at 30 mostly outside the value of "Phone Number:"
    response = load_textract("rp_employment-application.json")
    before = {f.key: f for f in normalize_textract_response(response).fields}
    name, phone = before["Full Name:"].value_geometry, before["Phone Number:"].value_geometry
    assert name is not None and phone is not None
    response["Blocks"] += [
        _signature("sig-in", 40.0, _geometry(name.left + 0.01, name.top - 0.005, name.width, name.height)),
        _signature("sig-out", 30.0, _geometry(phone.right - 0.02, phone.top, phone.width, phone.height)),
    ]
    # When it is normalized
    after = {f.key: f for f in normalize_textract_response(response).fields}
    # Then the signed field's confidence is at most the signature's, its key and value confidences as read
    assert before["Full Name:"].confidence == 87.0
    assert after["Full Name:"].confidence <= 40.0
    assert (after["Full Name:"].key_confidence, after["Full Name:"].value_confidence) == (
        before["Full Name:"].key_confidence,
        before["Full Name:"].value_confidence,
    )
    # And every other field is unchanged, the phone number included
    assert {k: f for k, f in after.items() if k != "Full Name:"} == {
        k: f for k, f in before.items() if k != "Full Name:"
    }


def test_the_w9_signature_field_is_as_unsure_as_the_signature_in_it() -> None:
    # Given a W-9 scan whose "Signature of U.S. person" value holds handwriting read at 95 and a signature
    # Textract is only 40% sure of
    key_word = {"BlockType": "WORD", "Id": "kw", "Text": "Signature of U.S. person", "Confidence": 99.0,
                "Geometry": _geometry(0.10, 0.80, 0.20, 0.02)}  # fmt: skip
    value_word = {"BlockType": "WORD", "Id": "vw", "Text": "J. Doe", "Confidence": 95.0,
                  "TextType": "HANDWRITING", "Geometry": _geometry(0.33, 0.79, 0.15, 0.03)}  # fmt: skip
    response = {
        "DocumentMetadata": {"Pages": 1},
        "Blocks": [
            {"BlockType": "PAGE", "Id": "p", "Geometry": _geometry(0, 0, 1, 1),
             "Relationships": [{"Type": "CHILD", "Ids": ["kw", "vw", "k", "v", "sig"]}]},
            key_word,
            value_word,
            {"BlockType": "KEY_VALUE_SET", "Id": "k", "EntityTypes": ["KEY"], "Confidence": 96.0,
             "Geometry": _geometry(0.10, 0.80, 0.20, 0.02),
             "Relationships": [{"Type": "VALUE", "Ids": ["v"]}, {"Type": "CHILD", "Ids": ["kw"]}]},
            {"BlockType": "KEY_VALUE_SET", "Id": "v", "EntityTypes": ["VALUE"], "Confidence": 95.5,
             "Geometry": _geometry(0.32, 0.78, 0.30, 0.05), "Relationships": [{"Type": "CHILD", "Ids": ["vw"]}]},
            _signature("sig", 40.0, _geometry(0.33, 0.785, 0.25, 0.04)),
        ],
    }  # fmt: skip
    # When it is normalized and read as a W-9
    doc = normalize_textract_response(response)
    signature = apply_profile(doc, "w9").fields["signature"]
    # Then the field holding the signature, and the profile's signature, are at most 40% sure
    (field,) = doc.fields
    assert field.confidence <= 40.0
    assert signature.value == "present"
    assert signature.confidence is not None and signature.confidence <= 40.0
    assert any("Part II: signature: read with confidence 40.0" in r for r in apply_profile(doc, "w9").reasons)


# --------------------------------------------------------------------------------------------------------------
# LAYOUT blocks (trp ignores them)
# --------------------------------------------------------------------------------------------------------------


def test_layout_blocks_are_kept_in_textract_reading_order(load_textract: Load) -> None:
    # Given the invoice PDF analysed with the LAYOUT feature (12 LAYOUT blocks)
    response = load_textract("tx_invoice-pdf_forms-tables-layout.json")
    # When it is normalized
    doc = normalize_textract_response(response)
    # Then the page keeps them in the order of the response, with their types
    (page,) = doc.pages
    assert page.layout == doc.layout
    assert [e.order for e in page.layout] == list(range(1, 13))
    assert [e.type for e in page.layout] == [
        "figure", "header", "title", "section_header", "text", "table",
        "text", "table", "table", "text", "footer", "page_number",
    ]  # fmt: skip
    assert Counter(e.type for e in page.layout) == {
        "text": 3, "table": 3, "figure": 1, "header": 1, "title": 1, "section_header": 1, "footer": 1,
        "page_number": 1,
    }  # fmt: skip
    # And their texts are their lines, their confidences and boxes Textract's
    title = next(e for e in page.layout if e.type == "title")
    assert (title.text, round(title.confidence, 2)) == ("Invoice", 71.24)
    assert title.geometry is not None and 0 < title.geometry.top < 0.2
    texts = {e.type: e.text for e in page.layout}
    assert (texts["header"], texts["section_header"], texts["page_number"]) == (
        "Sliced/Invoices",
        "From:",
        "Page 1/1",
    )
    assert page.layout[4].text.split("\n")[:2] == ["DEMO - Sliced Invoices", "Suite 5A-1204"]
    assert page.layout[0].text == ""  # the logo: a figure with no text
    assert all(e.parent is None and e.page == 1 for e in page.layout)


def test_a_layout_list_holds_its_items_and_orders_restart_on_each_page() -> None:
    # Given a two-page result: a title and a list of two items on page 1, a paragraph on page 2
    def line(block_id: str, text: str, page: int) -> dict[str, Any]:
        return {"BlockType": "LINE", "Id": block_id, "Text": text, "Confidence": 99.0, "Page": page,
                "Geometry": _geometry(0.1, 0.1, 0.5, 0.02)}  # fmt: skip

    def layout(block_id: str, kind: str, page: int, children: list[str]) -> dict[str, Any]:
        return {"BlockType": f"LAYOUT_{kind}", "Id": block_id, "Confidence": 90.0, "Page": page,
                "Geometry": _geometry(0.1, 0.1, 0.5, 0.1), "Relationships": [{"Type": "CHILD", "Ids": children}]}  # fmt: skip

    response = {
        "DocumentMetadata": {"Pages": 2},
        "Blocks": [
            {"BlockType": "PAGE", "Id": "p1", "Page": 1, "Geometry": _geometry(0, 0, 1, 1),
             "Relationships": [{"Type": "CHILD", "Ids": ["l1", "l2", "l3", "title", "list", "item1", "item2"]}]},
            line("l1", "Terms", 1), line("l2", "1. Net 30", 1), line("l3", "2. No refunds", 1),
            layout("title", "TITLE", 1, ["l1"]),
            layout("list", "LIST", 1, ["item1", "item2"]),
            layout("item1", "TEXT", 1, ["l2"]),
            layout("item2", "TEXT", 1, ["l3"]),
            {"BlockType": "PAGE", "Id": "p2", "Page": 2, "Geometry": _geometry(0, 0, 1, 1),
             "Relationships": [{"Type": "CHILD", "Ids": ["l4", "para"]}]},
            line("l4", "Signed in Springfield.", 2),
            layout("para", "TEXT", 2, ["l4"]),
        ],
    }  # fmt: skip
    # When it is normalized
    doc = normalize_textract_response(response)
    # Then each page's elements are numbered from 1, and the list reads as its items, which name it as parent
    assert [(e.page, e.order, e.type, e.text, e.parent) for e in doc.layout] == [
        (1, 1, "title", "Terms", None),
        (1, 2, "list", "1. Net 30\n2. No refunds", None),
        (1, 3, "text", "1. Net 30", 2),
        (1, 4, "text", "2. No refunds", 2),
        (2, 1, "text", "Signed in Springfield.", None),
    ]


def test_a_document_with_layout_survives_its_json_round_trip(load_textract: Load) -> None:
    # Given the invoice with its layout, normalized
    doc = normalize_textract_response(load_textract("tx_invoice-pdf_forms-tables-layout.json"))
    # When it is dumped to JSON (as stored in S3 between states) and read back
    again = NormalizedDocument.model_validate_json(doc.model_dump_json())
    # Then it is the same document, layout included; and a document stored before layout existed still loads
    assert again == doc and len(again.layout) == 12
    data = doc.model_dump(mode="json")
    for page in data["pages"]:
        del page["layout"]
    assert NormalizedDocument.model_validate(data).layout == []
    # And the layout stays a small part of the dump (about an eighth here: its text repeats the lines')
    assert len(json.dumps(document_json(doc))) < 1.2 * len(json.dumps(data))


# --------------------------------------------------------------------------------------------------------------
# AnalyzeExpense (trp crashes on every one)
# --------------------------------------------------------------------------------------------------------------


def test_one_invoice_returned_as_two_expense_documents_is_merged(load_textract: Load) -> None:
    # Given the two-page invoice Textract returned as two ExpenseDocuments (trp: KeyError 'Blocks')
    response = load_textract("rp_async_expense_2page_invoice.json")
    with pytest.raises(KeyError):
        trp.Document(response)
    # When it is normalized
    (invoice,) = normalize_textract_response(response).expense_documents
    # Then it is one invoice over both pages, with the 5 + 3 line items in page order
    assert (invoice.expense_indexes, invoice.pages) == ([1, 2], [1, 2])
    assert [item.value("PRICE") for item in invoice.line_items] == [
        "$1,350.00", "$495.00", "$1,100.00", "$660.00", "$495.00", "$220.00", "$900.00", "$495.00",
    ]  # fmt: skip
    # And fields read on both pages are kept once, fields of one page are kept
    assert invoice.values("INVOICE_RECEIPT_ID") == ["00000135"]
    assert invoice.values("PO_NUMBER") == ["F0016"]
    assert invoice.values("DUE_DATE") == ["Thursday, 26 March 2020"]
    assert invoice.values("TOTAL") == ["$5,715.00"]
    assert invoice.fields_of("TOTAL")[0].currency == "USD"
    # And the vendor name read as "META -" keeps its low confidence, for review
    (vendor,) = invoice.fields_of("VENDOR_NAME")
    assert vendor.value == "META\n-" and vendor.confidence < 85


def test_every_value_of_a_multi_valued_field_is_kept(load_textract: Load) -> None:
    # Given the receipt naming two vendors and printing its date twice
    (receipt,) = normalize_textract_response(load_textract("tx_expense_receipt.json")).expense_documents
    # Then every value is there
    assert receipt.values("VENDOR_NAME") == ["MEGA MARKET PLUS", "MEGA BIGBOK"]
    assert receipt.values("INVOICE_RECEIPT_DATE") == ["12/07/2019", "12/07/2019"]
    assert [item.value("ITEM") for item in receipt.line_items] == [
        "LG FLATSCREEN 65", "SONY VIAO I7 6938", "6FT HDMI CABLE BB", "APPLE TV V4",
    ]  # fmt: skip
    assert receipt.values("TOTAL") == ["$1810.46"]


def test_expense_result_pages_given_as_a_list_are_collected(load_textract: Load) -> None:
    # Given GetExpenseAnalysis answered in two NextToken pages, one ExpenseDocument each
    merged = load_textract("rp_async_expense_2page_invoice.json")
    first = {**merged, "ExpenseDocuments": merged["ExpenseDocuments"][:1], "NextToken": "next"}
    second = {**merged, "ExpenseDocuments": merged["ExpenseDocuments"][1:]}
    # When the list is normalized
    # Then it is the merged result
    assert normalize_textract_response([first, second]) == normalize_textract_response(merged)
    # And the first page alone is refused as incomplete
    with pytest.raises(TextractResponseIncomplete):
        normalize_textract_response(first)


def test_two_different_invoices_stay_apart(load_textract: Load) -> None:
    # Given two ExpenseDocuments with different invoice numbers
    response = load_textract("rp_async_expense_2page_invoice.json")
    for field in response["ExpenseDocuments"][1]["SummaryFields"]:
        if field["Type"]["Text"] == "INVOICE_RECEIPT_ID":
            field["ValueDetection"]["Text"] = "00000136"
    # When normalized
    # Then they remain two documents
    assert len(normalize_textract_response(response).expense_documents) == 2


# --------------------------------------------------------------------------------------------------------------
# Responses that are not results
# --------------------------------------------------------------------------------------------------------------


def test_a_failed_job_raises_its_own_error(load_textract: Load) -> None:
    # Given a GetDocumentAnalysis answer for a failed job
    response = {
        "JobStatus": "FAILED",
        "StatusMessage": "UNSUPPORTED_DOCUMENT",
        "DocumentMetadata": {"Pages": 0},
    }
    # When it is normalized
    # Then TextractJobFailed carries the status message
    with pytest.raises(TextractJobFailed) as raised:
        normalize_textract_response(response)
    assert raised.value.error.kind == "textract_job_failed"
    assert raised.value.error.reasons == ["UNSUPPORTED_DOCUMENT"]


@pytest.mark.parametrize(
    "response",
    [{"hello": "world"}, "not json", [], [1, 2]],
    ids=["no blocks", "a string", "an empty list", "a list of numbers"],
)
def test_what_is_not_a_textract_response_is_malformed(response: Any) -> None:
    # Given something that is not a Textract response
    # Then it is refused with a clear error, not a KeyError
    with pytest.raises(TextractResponseMalformed):
        normalize_textract_response(response)


def test_a_hand_edited_block_without_geometry_is_malformed_not_a_crash(load_textract: Load) -> None:
    # Given a response with a LINE block whose geometry was deleted by hand
    response = load_textract("rp_employment-application.json")
    next(b for b in response["Blocks"] if b["BlockType"] == "LINE").pop("Geometry")
    # When it is normalized
    # Then the error names the malformation
    with pytest.raises(TextractResponseMalformed, match="Geometry"):
        normalize_textract_response(response)
