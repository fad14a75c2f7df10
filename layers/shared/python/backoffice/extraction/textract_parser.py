"""Amazon Textract responses into the normalized document: textract-trp behind a layer that fixes its failures.

textract-trp 0.1.3 (the parser AWS published with its samples) reads AnalyzeDocument responses well enough, but
measured on real responses (``shared/fixtures/textract/SOURCES.md``) it:

1. crashes with ``KeyError`` on a block id when given only the first ``NextToken`` page of an asynchronous
   result. Here every referenced block must be present and the PAGE blocks must match
   ``DocumentMetadata.Pages``; otherwise ``TextractResponseIncomplete`` names what is missing.
2. crashes when PAGE is not the first block (it appends to a page it has not opened yet). Here blocks are
   regrouped by page, each PAGE block first, before trp sees them.
3. crashes on ``.text`` of an empty value and silently drops a key that has no words. Here every KEY block
   becomes a field; a missing key or value is "".
4. puts cells in the wrong rows when CELL blocks are not in row-major order, and ignores merged cells. Here
   tables are rebuilt from RowIndex/ColumnIndex and the MERGED_CELL blocks, and a table running on over a page
   break becomes one table.
5. ignores QUERY, QUERY_RESULT and SIGNATURE blocks. Here they are read directly, and a signature's own
   confidence counts in the confidence of the form value or table cell it is written in.
6. crashes on every AnalyzeExpense response (``KeyError: 'Blocks'``). Expense responses never reach trp: they
   are parsed directly, and the ExpenseDocuments of one invoice are merged.
7. ignores LAYOUT blocks. Here each page keeps them (``Page.layout``) in Textract's reading order, with their
   type, text, box and confidence.

Words are kept in the order Textract lists them (a LINE's own text, a key's, a value's and a cell's CHILD ids):
that order is Textract's reading order, and re-sorting by position gets it wrong on tilted scans.

Any other malformation (a block without its geometry, say, in a hand-edited file) becomes
``TextractResponseMalformed`` rather than a bare ``KeyError``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import trp

from backoffice.extraction.model import (
    Box,
    ErrorKind,
    ExpenseDocument,
    ExpenseField,
    ExpenseLineItem,
    ExtractionFailure,
    FormField,
    LayoutElement,
    Line,
    NormalizedDocument,
    Page,
    QueryAnswer,
    SelectionElement,
    Signature,
    Table,
    TableCell,
    is_sensitive_key,
    min_confidence,
)

Block = Mapping[str, Any]

# A table continues on the next page when it reaches into the bottom of one page and the next page's first table
# starts near its top with the same number of columns (Textract itself has no marker for it).
_CONTINUED_TABLE_ENDS_BELOW = 0.65
_CONTINUATION_STARTS_ABOVE = 0.35


class TextractResponseError(ExtractionFailure, ValueError):
    """A Textract response this layer cannot turn into a document."""

    kind: ErrorKind = "textract_response_malformed"


class TextractResponseMalformed(TextractResponseError):
    kind = "textract_response_malformed"


class TextractResponseIncomplete(TextractResponseError):
    """Pages of the result are missing (a ``NextToken`` not followed, a page count that does not add up)."""

    kind = "textract_response_incomplete"


class TextractJobFailed(TextractResponseError):
    """The asynchronous job ended with ``JobStatus: FAILED``; its ``StatusMessage`` says why."""

    kind = "textract_job_failed"


def normalize_textract_response(response_or_pages: Mapping[str, Any] | Sequence[Any]) -> NormalizedDocument:
    """One normalized document from a Textract response.

    Takes an AnalyzeDocument or AnalyzeExpense response, or the pages of GetDocumentAnalysis /
    GetExpenseAnalysis either as a list (one dict per ``NextToken`` page) or already merged into one dict.
    """
    pages = _as_response_pages(response_or_pages)
    _check_job_status(pages)
    if any("ExpenseDocuments" in page for page in pages):
        return _normalize_expense(pages)
    if any("Blocks" in page for page in pages):
        return _normalize_analysis(pages)
    raise TextractResponseMalformed(
        "not a Textract response: it has neither Blocks nor ExpenseDocuments",
        "expected the JSON of AnalyzeDocument, GetDocumentAnalysis, AnalyzeExpense or GetExpenseAnalysis",
    )


def _as_response_pages(response_or_pages: Any) -> list[Mapping[str, Any]]:
    if isinstance(response_or_pages, Mapping):
        return [response_or_pages]
    if isinstance(response_or_pages, Sequence) and not isinstance(response_or_pages, str | bytes):
        pages = list(response_or_pages)
        if pages and all(isinstance(page, Mapping) for page in pages):
            return pages
    raise TextractResponseMalformed("a Textract response is a JSON object, or a list of them (one per page)")


def _check_job_status(pages: Sequence[Mapping[str, Any]]) -> None:
    for page in pages:
        status = page.get("JobStatus")
        if status == "FAILED":
            raise TextractJobFailed(
                "the Textract job failed", str(page.get("StatusMessage") or "no status message")
            )
        if status == "IN_PROGRESS":
            raise TextractResponseIncomplete("the Textract job is still in progress: no result yet")
    if pages[-1].get("NextToken"):
        raise TextractResponseIncomplete(
            "the last response page has a NextToken: the result has more pages than were given",
            "collect every page (call again with NextToken until there is none)",
        )


def _declared_pages(pages: Sequence[Mapping[str, Any]]) -> int | None:
    counts = [page.get("DocumentMetadata", {}).get("Pages") for page in pages]
    declared = [count for count in counts if isinstance(count, int)]
    return max(declared) if declared else None


def _box(geometry: Mapping[str, Any] | None) -> Box | None:
    if not geometry or "BoundingBox" not in geometry:
        return None
    box = geometry["BoundingBox"]
    return Box(left=box["Left"], top=box["Top"], width=box["Width"], height=box["Height"])


def _related(block: Block, relationship: str) -> list[str]:
    return [
        block_id
        for rel in block.get("Relationships") or []
        if rel.get("Type") == relationship
        for block_id in rel.get("Ids") or []
    ]


def _warnings(pages: Sequence[Mapping[str, Any]]) -> list[str]:
    found: list[str] = []
    for page in pages:
        if page.get("JobStatus") == "PARTIAL_SUCCESS":
            found.append("Textract reported PARTIAL_SUCCESS: some pages may be missing or incomplete")
        for warning in page.get("Warnings") or []:
            pages_hit = ", ".join(str(p) for p in warning.get("Pages") or [])
            found.append(
                f"Textract warning {warning.get('ErrorCode')}"
                + (f" on pages {pages_hit}" if pages_hit else "")
            )
    return sorted(set(found))


# --------------------------------------------------------------------------------------------------------------
# AnalyzeDocument / GetDocumentAnalysis
# --------------------------------------------------------------------------------------------------------------


def _normalize_analysis(pages: Sequence[Mapping[str, Any]]) -> NormalizedDocument:
    blocks: list[Block] = [block for page in pages for block in page.get("Blocks") or []]
    try:
        by_id = {block["Id"]: block for block in blocks}
        _check_complete(blocks, by_id, _declared_pages(pages))
        page_of, page_numbers = _assign_pages(blocks, by_id)
        ordered = _blocks_in_page_order(blocks, page_of, page_numbers)
        document = trp.Document({"Blocks": ordered})
        if len(document.pages) != len(page_numbers):
            raise TextractResponseMalformed("the PAGE blocks could not be told apart")
        signatures = [
            Signature(
                page=page_of[block["Id"]],
                confidence=block.get("Confidence", 0.0),
                geometry=_box(block.get("Geometry")),
            )
            for block in ordered
            if block["BlockType"] == "SIGNATURE"
        ]
        layout = _layout(ordered, by_id, page_of)
        parsed_pages: list[Page] = []
        fields: list[FormField] = []
        tables: list[Table] = []
        for number, trp_page in zip(page_numbers, document.pages, strict=True):
            parsed_pages.append(
                Page(
                    number=number,
                    lines=[_line(line, number) for line in trp_page.lines],
                    layout=layout.get(number, []),
                )
            )
            on_page = [signature for signature in signatures if signature.page == number]
            fields.extend(_signed_field(f, on_page) for f in _form_fields(trp_page, number, by_id))
            tables.extend(_tables(trp_page, number, by_id, on_page))
        selection = [
            SelectionElement(
                page=page_of[block["Id"]],
                selected=block.get("SelectionStatus") == "SELECTED",
                confidence=block.get("Confidence", 0.0),
                geometry=_box(block.get("Geometry")),
            )
            for block in ordered
            if block["BlockType"] == "SELECTION_ELEMENT"
        ]
        queries = [_query(block, by_id, page_of) for block in ordered if block["BlockType"] == "QUERY"]
    except (KeyError, TypeError, AttributeError, IndexError) as error:
        raise TextractResponseMalformed(
            f"the Textract response is malformed ({type(error).__name__}: {error})"
        ) from None
    return NormalizedDocument(
        source="analyze_document",
        page_count=len(page_numbers),
        pages=parsed_pages,
        fields=fields,
        selection_elements=selection,
        tables=_join_tables_across_pages(tables, parsed_pages),
        queries=queries,
        signatures=signatures,
        warnings=_warnings(pages),
    )


def _check_complete(blocks: Sequence[Block], by_id: Mapping[str, Block], declared: int | None) -> None:
    """Fix 1: a result missing its NextToken pages says so, instead of failing on a block id."""
    missing = {
        block_id
        for block in blocks
        for rel in block.get("Relationships") or []
        for block_id in rel.get("Ids") or []
        if block_id not in by_id
    }
    page_count = sum(1 for block in blocks if block["BlockType"] == "PAGE")
    if missing:
        raise TextractResponseIncomplete(
            f"{len(missing)} blocks are referenced but absent: response pages (NextToken) are missing",
            "collect every page of GetDocumentAnalysis before parsing",
        )
    if declared is not None and page_count != declared:
        raise TextractResponseIncomplete(
            f"the response holds {page_count} PAGE blocks but DocumentMetadata.Pages is {declared}",
            "collect every page of GetDocumentAnalysis before parsing",
        )
    if page_count == 0:
        raise TextractResponseMalformed("the response has no PAGE block")


def _assign_pages(blocks: Sequence[Block], by_id: Mapping[str, Block]) -> tuple[dict[str, int], list[int]]:
    """The page number of every block: its ``Page`` key (asynchronous results), else the PAGE block it hangs
    from (synchronous results have one page and no ``Page`` keys)."""
    page_blocks = [block for block in blocks if block["BlockType"] == "PAGE"]
    numbers = [block.get("Page", index) for index, block in enumerate(page_blocks, start=1)]
    page_of: dict[str, int] = {}
    for page_block, number in zip(page_blocks, numbers, strict=True):
        stack = [page_block["Id"]]
        while stack:
            block_id = stack.pop()
            if block_id in page_of:
                continue
            page_of[block_id] = number
            block = by_id[block_id]
            for rel in block.get("Relationships") or []:
                stack.extend(rel.get("Ids") or [])
    current = numbers[0]
    for block in blocks:
        if block["BlockType"] == "PAGE":
            current = page_of[block["Id"]]
        if "Page" in block:
            page_of[block["Id"]] = block["Page"]
        else:
            page_of.setdefault(block["Id"], current)
    return page_of, sorted(set(numbers))


def _blocks_in_page_order(
    blocks: Sequence[Block], page_of: Mapping[str, int], page_numbers: Sequence[int]
) -> list[Block]:
    """Fix 2: each page's PAGE block first, then its other blocks in their original order."""
    ordered: list[Block] = []
    for number in page_numbers:
        on_page = [_with_relationships(block) for block in blocks if page_of[block["Id"]] == number]
        ordered.extend(block for block in on_page if block["BlockType"] == "PAGE")
        ordered.extend(block for block in on_page if block["BlockType"] != "PAGE")
    return ordered


def _with_relationships(block: Block) -> Block:
    # trp reads ``block["Relationships"]`` of every KEY unguarded; a key with no relationship at all is empty.
    if block["BlockType"] == "KEY_VALUE_SET" and "Relationships" not in block:
        return {**block, "Relationships": []}
    return block


def _trp_box(geometry: Any) -> Box:
    bb = geometry.boundingBox
    return Box(left=bb.left, top=bb.top, width=bb.width, height=bb.height)


def _line(line: Any, page: int) -> Line:
    return Line(page=page, text=line.text, confidence=line.confidence, geometry=_trp_box(line.geometry))


def _content_of(ids: Iterable[str], by_id: Mapping[str, Block]) -> tuple[list[Block], list[Block]]:
    words, marks = [], []
    for block_id in ids:
        block = by_id[block_id]
        if block["BlockType"] == "WORD":
            words.append(block)
        elif block["BlockType"] == "SELECTION_ELEMENT":
            marks.append(block)
    return words, marks


def _form_fields(trp_page: Any, page: int, by_id: Mapping[str, Block]) -> list[FormField]:
    """Fix 3: every KEY block becomes a field, with "" for an empty key or value."""
    parsed_by_key = {field.key.id: field for field in trp_page.form.fields if field.key is not None}
    fields: list[FormField] = []
    for key_block in trp_page.blocks:
        if key_block["BlockType"] != "KEY_VALUE_SET" or "KEY" not in key_block.get("EntityTypes", []):
            continue
        parsed = parsed_by_key.get(key_block["Id"])
        if parsed is not None:
            key_words = [word.block for word in parsed.key.content]
        else:  # trp dropped this key: it has no words
            key_words, _ = _content_of(_related(key_block, "CHILD"), by_id)
        value_ids = _related(key_block, "VALUE")
        value_block = by_id[value_ids[0]] if value_ids else None
        if parsed is not None and parsed.value is not None:
            value_words = [item.block for item in parsed.value.content if isinstance(item, trp.Word)]
            marks = [
                by_id[item.id] for item in parsed.value.content if isinstance(item, trp.SelectionElement)
            ]
        elif value_block is not None:
            value_words, marks = _content_of(_related(value_block, "CHILD"), by_id)
        else:
            value_words, marks = [], []
        key_text = " ".join(word["Text"] for word in key_words)
        value_text = " ".join(word["Text"] for word in value_words)
        key_confidence = key_block.get("Confidence")
        value_confidence = value_block.get("Confidence") if value_block is not None else None
        fields.append(
            FormField(
                page=page,
                key=key_text,
                value=value_text,
                selected=(marks[0].get("SelectionStatus") == "SELECTED") if marks else None,
                confidence=min_confidence(
                    [
                        key_confidence,
                        value_confidence,
                        *(word.get("Confidence") for word in key_words),
                        *(word.get("Confidence") for word in value_words),
                        *(mark.get("Confidence") for mark in marks),
                    ]
                ),
                key_confidence=key_confidence,
                value_confidence=value_confidence,
                key_geometry=_box(key_block.get("Geometry")),
                value_geometry=_box(value_block.get("Geometry")) if value_block is not None else None,
                sensitive=is_sensitive_key(key_text),
            )
        )
    return fields


def _signed_field(field: FormField, signatures: Sequence[Signature]) -> FormField:
    """A signature in a field's value counts in the field's confidence, as the value's words do: a signature
    Textract is unsure of makes the field it signs as unsure."""
    signed = _confidences_of_signatures_in(field.value_geometry, signatures)
    if not signed:
        return field
    return field.model_copy(update={"confidence": min_confidence([field.confidence, *signed])})


def _confidences_of_signatures_in(area: Box | None, signatures: Sequence[Signature]) -> list[float]:
    """The confidences of the signatures lying in ``area``: at least half of a signature's box inside it, since
    a signature often spills over the box of the value or cell it is written in."""
    if area is None:
        return []
    found = []
    for signature in signatures:
        box = signature.geometry
        if box is None or box.width <= 0 or box.height <= 0:
            continue
        overlap_width = min(area.right, box.right) - max(area.left, box.left)
        overlap_height = min(area.bottom, box.bottom) - max(area.top, box.top)
        if (
            overlap_width > 0
            and overlap_height > 0
            and overlap_width * overlap_height >= box.width * box.height / 2
        ):
            found.append(signature.confidence)
    return found


def _cell_text(ids: Iterable[str], by_id: Mapping[str, Block]) -> str:
    """Words in the order the cell lists them, checkboxes where they stand among them ("[X] Yes [ ] No").

    The order of a cell's CHILD ids is Textract's reading order for its words: re-sorting them by position
    read ``$ 756`` as ``756 $`` when the ``$`` sat a little lower than the digits (a tilted scan). Textract
    lists a cell's checkboxes apart from its words, though (all first, in no positional order), so each
    checkbox goes before the first listed word that stands after it on the page.
    """
    blocks = [by_id[block_id] for block_id in ids]
    words = [block for block in blocks if block["BlockType"] == "WORD"]
    marks_before: dict[int, list[Block]] = {}
    if len(words) < len(blocks):
        place = {block["Id"]: index for index, block in enumerate(_reading_order(blocks))}
        for mark in sorted(
            (block for block in blocks if block["BlockType"] == "SELECTION_ELEMENT"),
            key=lambda b: place[b["Id"]],
        ):
            before = next(
                (i for i, word in enumerate(words) if place[word["Id"]] > place[mark["Id"]]), len(words)
            )
            marks_before.setdefault(before, []).append(mark)
    parts: list[str] = []
    for index, word in enumerate([*words, None]):
        parts.extend(_mark_text(mark) for mark in marks_before.get(index, []))
        if word is not None:
            parts.append(word["Text"])
    return " ".join(parts)


def _mark_text(mark: Block) -> str:
    return "[X]" if mark.get("SelectionStatus") == "SELECTED" else "[ ]"


def _reading_order(blocks: Sequence[Block]) -> list[Block]:
    def box(block: Block) -> Mapping[str, float]:
        return (block.get("Geometry") or {}).get("BoundingBox") or {}

    lines: list[list[Block]] = []
    for block in sorted(blocks, key=lambda b: box(b).get("Top", 0.0)):
        top, height = box(block).get("Top", 0.0), box(block).get("Height", 0.0)
        if lines:
            first = box(lines[-1][0])
            # Same line while this block's middle is above the line's first block's bottom.
            if top + height / 2 <= first.get("Top", 0.0) + first.get("Height", 0.0):
                lines[-1].append(block)
                continue
        lines.append([block])
    return [block for line in lines for block in sorted(line, key=lambda b: box(b).get("Left", 0.0))]


def _tables(
    trp_page: Any, page: int, by_id: Mapping[str, Block], signatures: Sequence[Signature] = ()
) -> list[Table]:
    """Fix 4: cells placed by their indices (never by their order) and merged cells spanning their slots. A
    signature in a cell (a sign-in sheet) counts in the cell's confidence."""
    tables: list[Table] = []
    for trp_table in trp_page.tables:
        table_block = trp_table.block
        cells: dict[tuple[int, int], TableCell] = {}
        for row in trp_table.rows:
            for cell in row.cells:
                child_ids = _related(cell.block, "CHILD")
                words, _ = _content_of(child_ids, by_id)
                cells[(cell.rowIndex, cell.columnIndex)] = TableCell(
                    row=cell.rowIndex,
                    column=cell.columnIndex,
                    row_span=cell.rowSpan,
                    column_span=cell.columnSpan,
                    text=_cell_text(child_ids, by_id),
                    confidence=min_confidence(
                        [
                            cell.confidence,
                            *(w.get("Confidence") for w in words),
                            *_confidences_of_signatures_in(_box(cell.block.get("Geometry")), signatures),
                        ]
                    ),
                    header="COLUMN_HEADER" in cell.block.get("EntityTypes", []),
                    page=page,
                )
        for merged_id in _related(table_block, "MERGED_CELL"):
            merged = by_id[merged_id]
            children = sorted(
                (cells[key] for key in _merged_keys(merged, by_id) if key in cells),
                key=lambda c: (c.row, c.column),
            )
            for child in children:
                del cells[(child.row, child.column)]
            cells[(merged["RowIndex"], merged["ColumnIndex"])] = TableCell(
                row=merged["RowIndex"],
                column=merged["ColumnIndex"],
                row_span=merged.get("RowSpan", 1),
                column_span=merged.get("ColumnSpan", 1),
                text=" ".join(child.text for child in children if child.text),
                confidence=min_confidence([merged.get("Confidence"), *(c.confidence for c in children)]),
                header=any(child.header for child in children)
                or "COLUMN_HEADER" in merged.get("EntityTypes", []),
                page=page,
            )
        title_words = [
            word
            for title_id in _related(table_block, "TABLE_TITLE")
            for word in _content_of(_related(by_id[title_id], "CHILD"), by_id)[0]
        ]
        tables.append(
            _table_from_cells(
                sorted(cells.values(), key=lambda c: (c.row, c.column)),
                pages=[page],
                confidence=table_block.get("Confidence", 0.0),
                geometry=_box(table_block.get("Geometry")),
                title=" ".join(word["Text"] for word in title_words) or None,
            )
        )
    return tables


def _merged_keys(merged: Block, by_id: Mapping[str, Block]) -> list[tuple[int, int]]:
    return [(by_id[cid]["RowIndex"], by_id[cid]["ColumnIndex"]) for cid in _related(merged, "CHILD")]


def _table_from_cells(
    cells: list[TableCell], *, pages: list[int], confidence: float, geometry: Box | None, title: str | None
) -> Table:
    row_count = max((cell.row + cell.row_span - 1 for cell in cells), default=0)
    column_count = max((cell.column + cell.column_span - 1 for cell in cells), default=0)
    rows = [["" for _ in range(column_count)] for _ in range(row_count)]
    for cell in cells:
        for r in range(cell.row, cell.row + cell.row_span):
            for c in range(cell.column, cell.column + cell.column_span):
                rows[r - 1][c - 1] = cell.text
    return Table(
        pages=pages,
        row_count=row_count,
        column_count=column_count,
        cells=cells,
        rows=rows,
        confidence=confidence,
        geometry=geometry,
        title=title,
    )


def _join_tables_across_pages(tables: list[Table], pages: Sequence[Page]) -> list[Table]:
    """A table cut by a page break comes back as one table; a header row repeated on the new page is dropped."""
    joined: list[Table] = []
    for table in tables:
        previous = joined[-1] if joined else None
        if previous is not None and _continues(previous, table):
            joined[-1] = _append_rows(previous, table)
        else:
            joined.append(table)
    return joined


def _continues(previous: Table, table: Table) -> bool:
    if table.pages[0] != previous.pages[-1] + 1 or table.column_count != previous.column_count:
        return False
    if previous.geometry is None or table.geometry is None:
        return False
    # ``previous.geometry`` is the box on the first page it covers; for a table already spanning pages the last
    # piece's box is unknown, so only the single-page case is judged by position.
    return (
        previous.geometry.bottom >= _CONTINUED_TABLE_ENDS_BELOW
        and table.geometry.top <= _CONTINUATION_STARTS_ABOVE
    )


def _append_rows(previous: Table, table: Table) -> Table:
    headers = previous.header_row_count
    repeated = (
        headers and table.header_row_count == headers and table.rows[:headers] == previous.rows[:headers]
    )
    skip = headers if repeated else 0
    offset = previous.row_count - skip
    moved = [cell.model_copy(update={"row": cell.row + offset}) for cell in table.cells if cell.row > skip]
    return _table_from_cells(
        [*previous.cells, *moved],
        pages=[*previous.pages, *table.pages],
        confidence=min(previous.confidence, table.confidence),
        geometry=previous.geometry,
        title=previous.title or table.title,
    )


def _layout(
    ordered: Sequence[Block], by_id: Mapping[str, Block], page_of: Mapping[str, int]
) -> dict[int, list[LayoutElement]]:
    """Fix 7: the LAYOUT blocks of each page, in the order the response gives them (Textract's reading order:
    top to bottom, column by column). A list's items are LAYOUT_TEXT blocks of their own, listed as the list's
    children: they keep their place and name the list as their parent."""
    blocks = [block for block in ordered if block["BlockType"].startswith("LAYOUT_")]
    order_of: dict[str, int] = {}
    count: dict[int, int] = {}
    for block in blocks:
        page = page_of[block["Id"]]
        count[page] = order_of[block["Id"]] = count.get(page, 0) + 1
    parent_of = {
        child_id: order_of[block["Id"]]
        for block in blocks
        for child_id in _related(block, "CHILD")
        if child_id in order_of
    }
    layout: dict[int, list[LayoutElement]] = {}
    for block in blocks:
        page = page_of[block["Id"]]
        layout.setdefault(page, []).append(
            LayoutElement(
                page=page,
                order=order_of[block["Id"]],
                type=block["BlockType"].removeprefix("LAYOUT_").lower(),
                text="\n".join(_layout_lines(block, by_id, depth=0)),
                confidence=block.get("Confidence", 0.0),
                geometry=_box(block.get("Geometry")),
                parent=parent_of.get(block["Id"]),
            )
        )
    return layout


def _layout_lines(block: Block, by_id: Mapping[str, Block], *, depth: int) -> list[str]:
    # A layout element's text is its LINE children's; a list's is its items' (LAYOUT_TEXT children). The depth
    # bound guards against a hand-edited response whose layout blocks point at each other.
    lines: list[str] = []
    for child_id in _related(block, "CHILD"):
        child = by_id[child_id]
        if child["BlockType"] == "LINE":
            lines.append(child.get("Text", ""))
        elif child["BlockType"].startswith("LAYOUT_") and depth < 3:
            lines.extend(_layout_lines(child, by_id, depth=depth + 1))
    return lines


def _query(block: Block, by_id: Mapping[str, Block], page_of: Mapping[str, int]) -> QueryAnswer:
    """Fix 5: QUERY blocks with their best QUERY_RESULT."""
    query = block.get("Query") or {}
    results = [by_id[result_id] for result_id in _related(block, "ANSWER")]
    best = max(results, key=lambda r: r.get("Confidence", 0.0), default=None)
    return QueryAnswer(
        alias=query.get("Alias"),
        question=query.get("Text", ""),
        answer=best.get("Text", "") if best else "",
        confidence=best.get("Confidence", 0.0) if best else 0.0,
        page=page_of.get(best["Id"]) if best else page_of.get(block["Id"]),
        geometry=_box(best.get("Geometry")) if best else None,
    )


# --------------------------------------------------------------------------------------------------------------
# AnalyzeExpense / GetExpenseAnalysis
# --------------------------------------------------------------------------------------------------------------


def _normalize_expense(pages: Sequence[Mapping[str, Any]]) -> NormalizedDocument:
    """Fix 6: expense responses parsed directly; the ExpenseDocuments of one invoice merged into one."""
    try:
        documents = [
            _expense_document(document) for page in pages for document in page.get("ExpenseDocuments") or []
        ]
        lines_by_page: dict[int, list[Line]] = {}
        page_ids: set[str] = set()
        seen: set[str] = set()
        for page in pages:
            for document in page.get("ExpenseDocuments") or []:
                for block in document.get("Blocks") or []:
                    if block["Id"] in seen:
                        continue
                    seen.add(block["Id"])
                    number = block.get("Page") or _single_page(document)
                    if block["BlockType"] == "PAGE":
                        page_ids.add(block["Id"])
                    elif block["BlockType"] == "LINE":
                        lines_by_page.setdefault(number, []).append(
                            Line(
                                page=number,
                                text=block.get("Text", ""),
                                confidence=block.get("Confidence", 0.0),
                                geometry=_box(block.get("Geometry")),
                            )
                        )
    except (KeyError, TypeError, AttributeError, IndexError) as error:
        raise TextractResponseMalformed(
            f"the Textract expense response is malformed ({type(error).__name__}: {error})"
        ) from None
    declared = _declared_pages(pages)
    seen_pages = {number for document in documents for number in document.pages}
    page_count = declared or max(seen_pages, default=0) or len(page_ids)
    if seen_pages and max(seen_pages) > page_count:
        raise TextractResponseIncomplete(
            f"fields on page {max(seen_pages)} of a document of {page_count} pages"
        )
    if page_ids and declared is not None and len(page_ids) != declared:
        raise TextractResponseIncomplete(
            f"the response holds {len(page_ids)} pages but DocumentMetadata.Pages is {declared}",
            "collect every page of GetExpenseAnalysis before parsing",
        )
    return NormalizedDocument(
        source="analyze_expense",
        page_count=page_count,
        pages=[Page(number=n, lines=lines_by_page.get(n, [])) for n in range(1, page_count + 1)],
        expense_documents=_merge_expense_documents(documents),
        warnings=_warnings(pages),
    )


def _single_page(document: Mapping[str, Any]) -> int:
    numbers = {field.get("PageNumber") for field in document.get("SummaryFields") or []}
    numbers.discard(None)
    return int(min(numbers)) if numbers else 1


def _expense_field(raw: Mapping[str, Any], *, line_item: bool = False) -> ExpenseField:
    type_ = raw.get("Type") or {}
    label = raw.get("LabelDetection") or {}
    value = raw.get("ValueDetection") or {}
    groups = [
        group_type for group in raw.get("GroupProperties") or [] for group_type in group.get("Types") or []
    ]
    return ExpenseField(
        type=type_.get("Text", "OTHER"),
        label=label.get("Text"),
        value=value.get("Text", ""),
        # A summary field's label and value are a key and a value. Type's confidence is how sure Textract is of
        # the field's kind and a line item's label is its column header (70 and 80 on every line of clean
        # invoices): both are kept apart, so that they do not send every invoice to review.
        confidence=min_confidence([value.get("Confidence"), None if line_item else label.get("Confidence")]),
        type_confidence=type_.get("Confidence"),
        page=raw.get("PageNumber"),
        currency=(raw.get("Currency") or {}).get("Code"),
        group_types=groups,
        geometry=_box(value.get("Geometry")),
    )


def _expense_document(raw: Mapping[str, Any]) -> ExpenseDocument:
    summary = [_expense_field(field) for field in raw.get("SummaryFields") or []]
    items = []
    for group in raw.get("LineItemGroups") or []:
        for item in group.get("LineItems") or []:
            fields = [
                _expense_field(field, line_item=True) for field in item.get("LineItemExpenseFields") or []
            ]
            page = next((field.page for field in fields if field.page is not None), None)
            items.append(ExpenseLineItem(page=page, fields=fields))
    pages = {field.page for field in summary if field.page is not None}
    pages.update(item.page for item in items if item.page is not None)
    pages.update(block["Page"] for block in raw.get("Blocks") or [] if block.get("Page"))
    return ExpenseDocument(
        expense_indexes=[raw.get("ExpenseIndex", 0)],
        pages=sorted(pages),
        summary_fields=summary,
        line_items=items,
    )


def _invoice_id(document: ExpenseDocument) -> str | None:
    for value in document.values("INVOICE_RECEIPT_ID"):
        compact = re.sub(r"[^0-9A-Za-z]", "", value).upper()
        if compact:
            return compact
    return None


def _merge_expense_documents(documents: Sequence[ExpenseDocument]) -> list[ExpenseDocument]:
    """One invoice comes back as one ExpenseDocument per page: documents that share an invoice number (or, with
    no number, follow one) are one invoice, with line items in page order and repeated fields kept once."""
    merged: list[ExpenseDocument] = []
    for document in documents:
        previous = merged[-1] if merged else None
        same_invoice = previous is not None and (
            _invoice_id(document) is None
            or _invoice_id(previous) is None
            or _invoice_id(document) == _invoice_id(previous)
        )
        if previous is not None and same_invoice:
            merged[-1] = _merge_two(previous, document)
        else:
            merged.append(document)
    return merged


def _merge_two(first: ExpenseDocument, second: ExpenseDocument) -> ExpenseDocument:
    summary = list(first.summary_fields)
    for field in second.summary_fields:
        key = (field.type, _compact(field.value), tuple(field.group_types), field.label)
        twin = next(
            (
                i
                for i, f in enumerate(summary)
                if (f.type, _compact(f.value), tuple(f.group_types), f.label) == key
            ),
            None,
        )
        if twin is None:
            summary.append(field)
        elif field.confidence > summary[twin].confidence:
            # The same value read on two pages: the better reading stands for it.
            summary[twin] = field
    return ExpenseDocument(
        expense_indexes=[*first.expense_indexes, *second.expense_indexes],
        pages=sorted({*first.pages, *second.pages}),
        summary_fields=summary,
        line_items=[*first.line_items, *second.line_items],
    )


def _compact(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()
