"""Reading a statement of work or contract through its profile: the parties from the preamble, the dates
(an end before the start is flagged), the rates by role and the clauses by numbered section.
"""

from __future__ import annotations

import re

from backoffice.extraction.checks import parse_amount, parse_date
from backoffice.extraction.field_review import Judge, adhoc_spec
from backoffice.extraction.field_sources import Candidate, find_candidates, normalized_key
from backoffice.extraction.model import ExtractedField, Line, NormalizedDocument, Record, min_confidence
from backoffice.extraction.profile_spec import FieldSpec, Profile

_PARTIES = re.compile(
    r"between\s+(.+?)\s*\((?:the\s+)?[\"“]?(\w[\w ]*?)[\"”]?\)\s*,?\s*and\s+(.+?)\s*\((?:the\s+)?[\"“]?(\w[\w ]*?)[\"”]?\)",
    re.IGNORECASE | re.DOTALL,
)
_CLIENT_ROLES = {"client", "customer", "company", "buyer"}
_SECTION = re.compile(r"^(\d{1,2}(?:\.\d{1,2})*)\.?\s+([A-Z][^\n]{1,80})$")
_RATE_LINE = re.compile(
    r"^(?P<role>[A-Za-z][A-Za-z /&-]{2,60}?)\s*[:\-\u2013]?\s*\$\s?(?P<rate>[\d,]+(?:\.\d{2})?)\s*(?:/|per)\s*(?P<unit>hour|hr|day|week|month)\b",
    re.IGNORECASE,
)


def _sow_parties(doc: NormalizedDocument) -> dict[str, Candidate]:
    """Client and provider from the preamble: 'between Acme Corp. ("Client") and Jones LLC ("Consultant")'."""
    for page in doc.pages:
        text = " ".join(line.text for line in page.lines)
        match = _PARTIES.search(text)
        if not match:
            continue
        confidence = min_confidence(line.confidence for line in page.lines)
        first, first_role, second, second_role = (part.strip(" ,") for part in match.groups())
        if second_role.lower() in _CLIENT_ROLES and first_role.lower() not in _CLIENT_ROLES:
            first, second = second, first
        return {
            "client": Candidate(first, confidence, page.number, "text"),
            "provider": Candidate(second, confidence, page.number, "text"),
        }
    return {}


def _sow_rates(doc: NormalizedDocument, judge: Judge) -> list[Record]:
    """Rates by role: a rate table (role and rate columns), else lines such as 'Senior Consultant: $200/hour'."""
    rates: list[Record] = []
    role_spec = FieldSpec(name="role", label="Role", kind="text", required=True)
    rate_spec = FieldSpec(name="rate", label="Rate", kind="amount", required=True, check="amount")
    unit_spec = FieldSpec(name="unit", label="Rate unit", kind="text")
    for table in doc.tables:
        if not table.rows:
            continue
        header = [normalized_key(cell) for cell in table.rows[0]]
        role_col = next(
            (i for i, h in enumerate(header) if re.search(r"role|title|position|resource|category", h)), None
        )
        rate_col = next((i for i, h in enumerate(header) if re.search(r"rate|price|fee", h)), None)
        if role_col is None or rate_col is None:
            continue
        unit = next((m.group(1) for h in header if (m := re.search(r"(hour|day|week|month)", h))), None)
        confidence = {(c.row - 1, c.column - 1): c.confidence for c in table.cells}
        for index, row in enumerate(table.rows[1:], start=1):
            if not row[role_col].strip() or parse_amount(row[rate_col]) is None:
                continue
            record: Record = {
                "role": judge.field(
                    role_spec,
                    [
                        Candidate(
                            row[role_col].strip(),
                            confidence.get((index, role_col), table.confidence),
                            table.pages[0],
                            "table",
                        )
                    ],
                ),
                "rate": judge.field(
                    rate_spec,
                    [
                        Candidate(
                            row[rate_col].strip(),
                            confidence.get((index, rate_col), table.confidence),
                            table.pages[0],
                            "table",
                        )
                    ],
                ),
            }
            if unit:
                record["unit"] = judge.field(
                    unit_spec, [Candidate(unit, table.confidence, table.pages[0], "table")]
                )
            rates.append(record)
    if rates:
        return rates
    for line in doc.lines:
        match = _RATE_LINE.search(line.text.strip())
        if not match:
            continue
        unit = {"hr": "hour"}.get(match.group("unit").lower(), match.group("unit").lower())
        rates.append(
            {
                "role": judge.field(
                    role_spec, [Candidate(match.group("role").strip(), line.confidence, line.page, "text")]
                ),
                "rate": judge.field(
                    rate_spec, [Candidate("$" + match.group("rate"), line.confidence, line.page, "text")]
                ),
                "unit": judge.field(unit_spec, [Candidate(unit, line.confidence, line.page, "text")]),
            }
        )
    return rates


def _sow_clauses(doc: NormalizedDocument, judge: Judge) -> list[Record]:
    """Clause text by section: a numbered heading line ("4.2 Payment Terms") and the lines up to the next one."""
    clauses: list[tuple[str, str, list[Line]]] = []
    for line in doc.lines:
        match = _SECTION.match(line.text.strip())
        if match and len(match.group(2).split()) <= 8:
            clauses.append((match.group(1), match.group(2).strip().rstrip("."), [line]))
        elif clauses:
            clauses[-1][2].append(line)
    records: list[Record] = []
    for section, heading, lines in clauses:
        body = " ".join(line.text for line in lines[1:]).strip()
        heading_text, _, inline = heading.partition(". ")
        text = " ".join(part for part in (inline, body) if part)
        confidence = min_confidence(line.confidence for line in lines)
        page = lines[0].page
        records.append(
            {
                "section": judge.field(
                    adhoc_spec("section", "Section", "code"), [Candidate(section, confidence, page, "text")]
                ),
                "heading": judge.field(
                    adhoc_spec("heading", "Heading", "text"),
                    [Candidate(heading_text, confidence, page, "text")],
                ),
                "text": judge.field(
                    adhoc_spec("text", f"Section {section} text", "text"),
                    [Candidate(text, confidence, page, "text")] if text else [],
                ),
            }
        )
    return records


def read_sow(
    doc: NormalizedDocument, profile: Profile, judge: Judge
) -> tuple[dict[str, ExtractedField], dict[str, list[Record]]]:
    parties = _sow_parties(doc)
    fields: dict[str, ExtractedField] = {}
    for spec in profile.fields:
        candidates = find_candidates(spec, doc)
        if spec.name in parties and (not candidates or candidates[0].source == "text"):
            candidates = [parties[spec.name]]
        fields[spec.name] = judge.field(spec, candidates)
    start, end = (parse_date(fields[name].text or "") for name in ("effective_date", "end_date"))
    if start and end and end < start:
        fields["end_date"] = judge.flag(fields["end_date"], "ends before the effective date")
    return fields, {"rates": _sow_rates(doc, judge), "clauses": _sow_clauses(doc, judge)}
