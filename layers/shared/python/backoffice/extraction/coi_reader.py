"""Reading a certificate of liability insurance (ACORD 25) through its profile: its fields, the insurers A-F
with their NAIC numbers, and one record per policy of the coverage table with its dates and limits. A digital
PDF read locally has no Textract TABLES: its coverage table is rebuilt from the positioned text lines.
"""

from __future__ import annotations

import re

from backoffice.extraction.field_review import Judge, adhoc_spec, read_profile_fields
from backoffice.extraction.field_sources import Candidate, normalized_key
from backoffice.extraction.model import (
    Box,
    ExtractedField,
    FieldSource,
    Line,
    NormalizedDocument,
    Record,
    Table,
    TableCell,
    min_confidence,
)
from backoffice.extraction.profile_spec import FieldSpec, Profile

_INSURER_KEY = re.compile(r"^insurer ([a-f])\b")
_INSURER_LINE = re.compile(r"^\s*insurer\s+([a-f])\s*:\s*(.+)$", re.IGNORECASE)
_NAIC = re.compile(r"\b(\d{5})\b\s*$")
_NAIC_LABEL = re.compile(r"[\s,;]*naic\s*(?:#|no\.?)?\s*:?\s*$", re.IGNORECASE)


def _coi_insurers(doc: NormalizedDocument, judge: Judge) -> list[Record]:
    """Insurers A-F from the "INSURER A :" key-value pairs, else (a digital PDF's text layer, which has no
    key-value pairs) from "INSURER A: name, NAIC # 12345" lines."""
    found: list[tuple[str, str, float, int, FieldSource]] = []
    for field in doc.fields:
        match = _INSURER_KEY.search(normalized_key(field.key))
        if match:
            found.append((match.group(1), field.value, field.confidence, field.page, "form_field"))
    if not found:
        for line in doc.lines:
            match = _INSURER_LINE.match(line.text)
            if match:
                found.append((match.group(1).lower(), match.group(2), line.confidence, line.page, "text"))
    insurers: list[Record] = []
    seen: set[str] = set()
    for letter, text, confidence, page, source in found:
        if not text.strip() or letter in seen:
            continue
        seen.add(letter)
        value = text.strip()
        naic = _NAIC.search(value)
        name = _NAIC_LABEL.sub("", value[: naic.start()]).strip() if naic else value
        candidate = Candidate(name, confidence, page, source)
        record: Record = {
            "letter": judge.field(
                adhoc_spec("letter", "Insurer letter", "code"),
                [Candidate(letter.upper(), confidence, page, source)],
            ),
            "name": judge.field(adhoc_spec("name", f"Insurer {letter.upper()}", "name"), [candidate]),
        }
        if naic:
            record["naic"] = judge.field(
                adhoc_spec("naic", f"Insurer {letter.upper()} NAIC #", "code"),
                [Candidate(naic.group(1), confidence, page, source)],
            )
        insurers.append(record)
    return insurers


_POLICY_COLUMNS = {
    "letter": r"insr|ltr",
    "type": r"type of insurance|coverage",
    "additional_insured": r"addl|additional",
    "subrogation_waived": r"subr|wvd|waiv",
    "number": r"policy (number|no)",
    "effective_date": r"eff",
    "expiry_date": r"exp",
    "limits": r"limit",
}


def _policy_table(doc: NormalizedDocument) -> tuple[Table, dict[str, list[int]], int] | None:
    """The coverage table: the one whose header names a policy number column."""
    for table in doc.tables:
        for header_index, row in enumerate(table.rows[:3]):
            texts = [normalized_key(cell) for cell in row]
            if not any(re.search(_POLICY_COLUMNS["number"], text) for text in texts):
                continue
            columns: dict[str, list[int]] = {}
            for index, text in enumerate(texts):
                for name, pattern in _POLICY_COLUMNS.items():
                    if re.search(pattern, text) and not (name == "limits" and "policy" in text):
                        columns.setdefault(name, []).append(index)
                        break
            return table, columns, header_index
    return None


def _coi_policies(doc: NormalizedDocument, judge: Judge) -> list[Record]:
    """One record per policy row of the ACORD 25 coverage table; the rows below a policy (without a policy
    number) carry more of its limits."""
    found = _policy_table(doc)
    if found is None:
        return []
    table, columns, header_index = found
    cell_confidence = {(cell.row - 1, cell.column - 1): cell.confidence for cell in table.cells}
    page = table.pages[0]

    def cell(row: int, name: str) -> tuple[str, float]:
        indexes = columns.get(name) or []
        texts = [table.rows[row][i] for i in indexes if table.rows[row][i].strip()]
        confidence = min_confidence(cell_confidence.get((row, i)) for i in indexes) or table.confidence
        return (" ".join(dict.fromkeys(texts)).strip(), confidence)

    specs = {
        "letter": adhoc_spec("letter", "Insurer letter", "code"),
        "type": adhoc_spec("type", "Type of insurance", "text"),
        "additional_insured": adhoc_spec("additional_insured", "Additional insured", "code", "yes_no"),
        "subrogation_waived": adhoc_spec("subrogation_waived", "Subrogation waived", "code", "yes_no"),
        "effective_date": adhoc_spec("effective_date", "Policy effective date", "date", "date"),
        "expiry_date": adhoc_spec("expiry_date", "Policy expiry date", "date", "date"),
    }
    policies: list[Record] = []
    current: Record | None = None
    for row in range(header_index + 1, table.row_count):
        number, confidence = cell(row, "number")
        if number and (current is None or current["number"].text != number):
            current = {
                "number": judge.field(
                    FieldSpec(name="number", label="Policy number", kind="code", required=True),
                    [Candidate(number, confidence, page, "table")],
                )
            }
            for name, spec in specs.items():
                text, conf = cell(row, name)
                required = name in {"type", "effective_date", "expiry_date"}
                candidates = [Candidate(text, conf, page, "table")] if text else []
                current[name] = judge.field(spec, candidates, required=required)
            policies.append(current)
        if current is None:
            continue
        limits_text, limits_confidence = cell(row, "limits")
        for limit_name, amount in _limits(limits_text):
            key = "limit_" + re.sub(r"[^a-z0-9]+", "_", limit_name.lower()).strip("_")
            spec = FieldSpec(name=key, label=f"Limit: {limit_name}", kind="amount", check="amount")
            current[key] = judge.field(spec, [Candidate(amount, limits_confidence, page, "table")])
    return policies


def _limits(text: str) -> list[tuple[str, str]]:
    """("EACH OCCURRENCE", "$1,000,000") pairs from a limits cell ("EACH OCCURRENCE $ 1,000,000")."""
    return [
        (name.strip(" .:"), "$" + amount.replace(" ", ""))
        for name, amount in re.findall(r"([A-Za-z][A-Za-z &'/()-]*?)\s*\$\s?([\d,]+(?:\.\d{2})?)", text)
    ]


def _table_from_lines(doc: NormalizedDocument, header: str) -> Table | None:
    """A table rebuilt from positioned text lines: a digital PDF read locally has its text layer, not
    Textract's TABLES. The row holding a line that matches ``header`` gives the columns (each of its lines
    starts one); every line below goes to the column it starts under (cells are taken to be left-aligned
    with their header), and the table ends at the first gap wider than two and a half lines."""
    for page in doc.pages:
        rows: list[list[tuple[Line, Box]]] = []
        for line in page.lines:  # top to bottom, then left to right
            box = line.geometry
            if box is None:
                continue
            if rows and abs(rows[-1][0][1].top - box.top) <= box.height / 2:
                rows[-1].append((line, box))
            else:
                rows.append([(line, box)])
        start = next(
            (
                index
                for index, row in enumerate(rows)
                if any(re.search(header, normalized_key(line.text)) for line, _ in row)
            ),
            None,
        )
        if start is None:
            continue
        lefts = [box.left for _, box in rows[start]]
        grid: list[list[list[Line]]] = []
        for index in range(start, len(rows)):
            above, below = rows[index - 1][0][1], rows[index][0][1]
            if index > start and below.top - above.top > 2.5 * above.height:
                break
            cells: list[list[Line]] = [[] for _ in lefts]
            for line, box in rows[index]:
                column = max((i for i, left in enumerate(lefts) if left <= box.left + 0.005), default=0)
                cells[column].append(line)
            grid.append(cells)
        table_cells = [
            TableCell(
                row=row_number,
                column=column_number,
                text=" ".join(line.text for line in cell),
                confidence=min_confidence(line.confidence for line in cell) if cell else 100.0,
                header=row_number == 1,
                page=page.number,
            )
            for row_number, row_cells in enumerate(grid, start=1)
            for column_number, cell in enumerate(row_cells, start=1)
        ]
        return Table(
            pages=[page.number],
            row_count=len(grid),
            column_count=len(lefts),
            cells=table_cells,
            rows=[[" ".join(line.text for line in cell) for cell in row_cells] for row_cells in grid],
            confidence=min_confidence(cell.confidence for cell in table_cells),
        )
    return None


def read_coi(
    doc: NormalizedDocument, profile: Profile, judge: Judge
) -> tuple[dict[str, ExtractedField], dict[str, list[Record]]]:
    if not doc.tables:
        table = _table_from_lines(doc, _POLICY_COLUMNS["number"])
        if table is not None:
            doc = doc.model_copy(update={"tables": [table]})
    fields, _ = read_profile_fields(doc, profile, judge)
    insurers = _coi_insurers(doc, judge)
    policies = _coi_policies(doc, judge)
    if not policies:
        judge.reasons.append("Policies: no coverage table with policy numbers found")
    return fields, {"insurers": insurers, "policies": policies}
