"""Reading a Form W-9 through its profile: the line-3 tax classification, the TIN from the SSN or the EIN
boxes (never both), the signature and its date, and the cross-field checks (an LLC gives its code, "Other" its
description). A W-9 printed to PDF (no form values) is read by its printed layout (``w9_layout``).
"""

from __future__ import annotations

import re

from backoffice.extraction.checks import parse_date
from backoffice.extraction.field_review import Judge
from backoffice.extraction.field_sources import (
    Candidate,
    find_candidates,
    from_form,
    from_query,
    normalized_key,
)
from backoffice.extraction.model import (
    ExtractedField,
    FormField,
    NormalizedDocument,
    Record,
    min_confidence,
)
from backoffice.extraction.profile_catalog import W9_PROFILE
from backoffice.extraction.profile_spec import Profile
from backoffice.extraction.w9_layout import FlattenedW9, read_flattened_w9

# The seven boxes of line 3, by the export value of the AcroForm checkbox (/1 to /7) and by the printed label
# Textract reads next to a box.
W9_CLASSIFICATION_BY_EXPORT = {
    "1": "individual_sole_proprietor",
    "2": "c_corporation",
    "3": "s_corporation",
    "4": "partnership",
    "5": "trust_estate",
    "6": "llc",
    "7": "other",
}
_W9_CLASSIFICATION_BY_LABEL = (
    (r"individual/sole proprietor|single-member llc", "individual_sole_proprietor"),
    (r"^c corporation", "c_corporation"),
    (r"^s corporation", "s_corporation"),
    (r"^partnership", "partnership"),
    (r"^trust/estate", "trust_estate"),
    (r"^limited liability company", "llc"),
    (r"^other \(see instructions\)", "other"),
)
_W9_CHECKBOX = re.compile(r"FederalClassification\[0\]\.c1_1\[(\d)\]$")


def _w9_classification(
    doc: NormalizedDocument, layout: FlattenedW9 | None = None
) -> tuple[list[Candidate], list[str]]:
    """Ticked line-3 boxes (a correct form has exactly one) and the problems found; for a flattened form,
    the ticks drawn beside the boxes' printed labels."""
    ticked: list[Candidate] = []
    for field in doc.fields:
        if not field.selected:
            continue
        if field.name is not None:
            match = _W9_CHECKBOX.search(field.name)
            if not match:
                continue
            export = (
                field.value if field.value in W9_CLASSIFICATION_BY_EXPORT else str(int(match.group(1)) + 1)
            )
            ticked.append(
                Candidate(W9_CLASSIFICATION_BY_EXPORT[export], field.confidence, field.page, "checkbox")
            )
            continue
        key = normalized_key(field.key)
        for pattern, classification in _W9_CLASSIFICATION_BY_LABEL:
            if re.search(pattern, key):
                ticked.append(Candidate(classification, field.confidence, field.page, "checkbox"))
                break
    if not ticked and layout is not None:
        ticked = [Candidate(box.value, box.confidence, box.page, "checkbox") for box in layout.ticked]
    problems = []
    if len({candidate.value for candidate in ticked}) > 1:
        problems.append("more than one tax classification box is ticked (the form allows one)")
    return ticked, problems


def _w9_tin(
    doc: NormalizedDocument, layout: FlattenedW9 | None = None
) -> tuple[list[Candidate], str | None, list[str]]:
    """The TIN from the SSN boxes or the EIN boxes (never both), with its kind; for a flattened form, the
    digits drawn in the boxes' cells, as written."""
    # The sources in order of trust: the first that finds a TIN is the only one read.
    found = _w9_tin_from_acroform(doc) or _w9_tin_from_form_keys(doc) or _w9_tin_from_query(doc)
    if not found and layout is not None:
        found = {
            kind: Candidate(tin.value, tin.confidence, tin.page, "text") for kind, tin in layout.tins.items()
        }
    problems = []
    if len(found) > 1:
        problems.append("both the SSN and the EIN boxes are filled (give one)")
    if "ssn" in found:
        digits = re.sub(r"\D", "", found["ssn"].value)
        kind = "itin" if digits.startswith("9") else "ssn"
        return [found["ssn"]], kind, problems
    if "ein" in found:
        return [found["ein"]], "ein", problems
    return [], None, problems


def _w9_tin_from_acroform(doc: NormalizedDocument) -> dict[str, Candidate]:
    """The digits of the fillable form's SSN and EIN boxes (one AcroForm field per group of digits), by kind."""
    boxes: dict[str, list[FormField]] = {"ssn": [], "ein": []}
    for field in doc.fields:
        if field.name is not None and field.value:
            if ".SSN[0]." in field.name:
                boxes["ssn"].append(field)
            elif ".EmployerID[0]." in field.name:
                boxes["ein"].append(field)
    found: dict[str, Candidate] = {}
    for kind, parts in boxes.items():
        if parts:
            parts.sort(key=lambda f: f.name or "")
            found[kind] = Candidate(
                "".join(part.value for part in parts),
                min_confidence(part.confidence for part in parts),
                parts[0].page,
                "acroform",
            )
    return found


def _w9_tin_from_form_keys(doc: NormalizedDocument) -> dict[str, Candidate]:
    """The first value Textract read next to the printed SSN or EIN label, by kind."""
    found: dict[str, Candidate] = {}
    for field in doc.fields:
        if field.name is None and field.value.strip():
            key = normalized_key(field.key)
            if "social security number" in key:
                found.setdefault("ssn", Candidate(field.value, field.confidence, field.page, "form_field"))
            elif "employer identification number" in key:
                found.setdefault("ein", Candidate(field.value, field.confidence, field.page, "form_field"))
    return found


def _w9_tin_from_query(doc: NormalizedDocument) -> dict[str, Candidate]:
    """The TIN query's answer, its kind told by its shape (an EIN is written NN-NNNNNNN)."""
    query = from_query(W9_PROFILE.spec("tin"), doc)
    if not query:
        return {}
    digits = re.sub(r"\D", "", query[0].value)
    kind = "ein" if re.fullmatch(r"\s*\d{2}\s*-\s*\d{7}\s*", query[0].value) else "ssn"
    return {kind: Candidate(digits or query[0].value, query[0].confidence, query[0].page, "query")}


def _w9_signature(doc: NormalizedDocument, layout: FlattenedW9 | None = None) -> list[Candidate]:
    """A signature on the form's page: Textract SIGNATURE, an ink/stamp annotation, a signed field, a
    value next to the printed "Signature of U.S. person" key, or (flattened form) strokes drawn there."""
    first_page = _w9_form_page(doc)
    found = [
        Candidate("present", signature.confidence, signature.page, "signature")
        for signature in doc.signatures
        if signature.page == first_page
    ]
    found.extend(
        Candidate("present", field.confidence, field.page, "form_field")
        for field in doc.fields
        if field.name is None
        and field.value.strip()
        and "signature of u.s. person" in normalized_key(field.key)
    )
    if not found and layout is not None and layout.signature is not None:
        drawn = layout.signature
        found.append(Candidate(drawn.value, drawn.confidence, drawn.page, "signature"))
    return sorted(found, key=lambda c: -c.confidence)


def _w9_form_page(doc: NormalizedDocument) -> int:
    for page in doc.pages:
        if any("request for taxpayer" in line.text.lower() for line in page.lines[:40]):
            return page.number
    return 1


def _w9_signature_date(doc: NormalizedDocument, layout: FlattenedW9 | None = None) -> list[Candidate]:
    spec = W9_PROFILE.spec("signature_date")
    found = from_query(spec, doc) or [c for c in from_form(spec, doc) if parse_date(c.value) is not None]
    if not found and layout is not None and layout.signature_date is not None:
        dated = layout.signature_date
        found = [Candidate(dated.value, dated.confidence, dated.page, "text")]
    return found or _date_beside_label(doc, _w9_form_page(doc), r"^date\b|\bdate ▶")


def _date_beside_label(doc: NormalizedDocument, page: int, label: str) -> list[Candidate]:
    """A date written on the row of a printed label ("Date ▶"), to its right or on the label's own line."""
    lines = [line for line in doc.lines if line.page == page]
    found: list[Candidate] = []
    for label_line in lines:
        match = re.search(label, label_line.text, re.IGNORECASE)
        if not match:
            continue
        rest = label_line.text[match.end() :].strip(" ▶:")
        if rest and parse_date(rest) is not None:
            found.append(Candidate(rest, label_line.confidence, page, "text"))
            continue
        if label_line.geometry is None:
            continue
        row_middle = label_line.geometry.top + label_line.geometry.height / 2
        for line in lines:
            if line is label_line or line.geometry is None or parse_date(line.text) is None:
                continue
            middle = line.geometry.top + line.geometry.height / 2
            if abs(middle - row_middle) <= max(line.geometry.height, label_line.geometry.height) and (
                line.geometry.left >= label_line.geometry.left
            ):
                found.append(Candidate(line.text.strip(), line.confidence, page, "text"))
    return found


def read_w9(
    doc: NormalizedDocument, profile: Profile, judge: Judge
) -> tuple[dict[str, ExtractedField], dict[str, list[Record]]]:
    fields: dict[str, ExtractedField] = {}
    # A W-9 printed to PDF (flattened) has no form values: its values are read by the form's printed layout.
    flattened = not any(field.name and (field.value or field.selected) for field in doc.fields)
    layout = read_flattened_w9(doc) if flattened else None
    classification, classification_problems = _w9_classification(doc, layout)
    tin, tin_type, tin_problems = _w9_tin(doc, layout)
    for spec in profile.fields:
        if spec.name == "tax_classification":
            fields[spec.name] = judge.field(spec, classification)
        elif spec.name == "tin":
            check = {"ssn": "ssn", "itin": "itin", "ein": "ein"}.get(tin_type or "")
            fields[spec.name] = judge.field(spec.model_copy(update={"check": check}), tin)
        elif spec.name == "tin_type":
            fields[spec.name] = judge.field(
                spec, [Candidate(tin_type, tin[0].confidence, tin[0].page, "derived")] if tin_type else []
            )
        elif spec.name == "signature":
            fields[spec.name] = judge.field(spec, _w9_signature(doc, layout))
        elif spec.name == "signature_date":
            fields[spec.name] = judge.field(spec, _w9_signature_date(doc, layout))
        else:
            candidates = find_candidates(spec, doc)
            if not candidates and layout is not None and spec.name in layout.fields:
                drawn = layout.fields[spec.name]
                candidates = [Candidate(drawn.value, drawn.confidence, drawn.page, "text")]
            fields[spec.name] = judge.field(spec, candidates)
    for problem in classification_problems:
        fields["tax_classification"] = judge.flag(fields["tax_classification"], problem)
    for problem in tin_problems:
        fields["tin"] = judge.flag(fields["tin"], problem)
    chosen = fields["tax_classification"].text
    if chosen == "llc" and not fields["llc_tax_classification"].text:
        fields["llc_tax_classification"] = judge.flag(
            fields["llc_tax_classification"], "missing: an LLC must give its tax classification (C, S or P)"
        )
    if chosen == "other" and not fields["other_classification"].text:
        fields["other_classification"] = judge.flag(
            fields["other_classification"], "missing: the 'Other' box needs a description"
        )
    return fields, {}
