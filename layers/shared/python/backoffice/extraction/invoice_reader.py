"""Reading a subcontractor invoice through its profile: the fields in the vendor's locale, the currency, the
line items, and whether the lines, the subtotal, the tax and the total add up.
"""

from __future__ import annotations

from decimal import Decimal

from backoffice.extraction.checks import amount_currency, parse_amount
from backoffice.extraction.field_review import Judge, read_profile_fields
from backoffice.extraction.field_sources import Candidate, find_candidates
from backoffice.extraction.model import ExpenseDocument, ExtractedField, NormalizedDocument, Record
from backoffice.extraction.profile_spec import FieldKind, FieldSpec, Profile

_LINE_ITEM_FIELDS: tuple[tuple[str, str, str, FieldKind, str | None], ...] = (
    ("description", "ITEM", "Description", "text", None),
    ("quantity", "QUANTITY", "Quantity", "text", None),
    ("unit_price", "UNIT_PRICE", "Unit price", "amount", "amount"),
    ("amount", "PRICE", "Amount", "amount", "amount"),
)


def _invoice_lines(invoice: ExpenseDocument, judge: Judge) -> list[Record]:
    records: list[Record] = []
    for item in invoice.line_items:
        record: Record = {}
        for name, expense_type, label, kind, check in _LINE_ITEM_FIELDS:
            found = [f for f in item.fields if f.type == expense_type and f.value.strip()]
            if found or name in {"description", "amount"}:
                spec = FieldSpec(
                    name=name,
                    label=f"Line {len(records) + 1}: {label}",
                    kind=kind,
                    check=check,
                    required=name == "amount",
                )
                record[name] = judge.field(
                    spec,
                    [Candidate(" ".join(f.value.split()), f.confidence, f.page, "expense") for f in found],
                )
        records.append(record)
    return records


def _amount(field: ExtractedField | None) -> Decimal | None:
    if field is None or field.text is None or field.valid is False:
        return None
    return parse_amount(field.text)


def _currency_of_amounts(doc: NormalizedDocument, profile: Profile) -> list[Candidate]:
    """The currency the total (else the subtotal or the tax) is printed with: "€ 1.234,56", "1.234,56 EUR"."""
    for name in ("total", "subtotal", "tax"):
        for candidate in find_candidates(profile.spec(name), doc):
            code = amount_currency(candidate.value)
            if code is not None:
                return [Candidate(code, candidate.confidence, candidate.page, "derived")]
    return []


def read_invoice(
    doc: NormalizedDocument, profile: Profile, judge: Judge
) -> tuple[dict[str, ExtractedField], dict[str, list[Record]]]:
    vendor_names = [candidate.value for candidate in find_candidates(profile.spec("vendor_name"), doc)]
    judge.locale = judge.settings.locale_for(*vendor_names)
    fields, _ = read_profile_fields(doc, profile, judge)
    lines: list[Record] = []
    currency: list[Candidate] = []
    if doc.expense_documents:
        invoice = doc.expense_documents[0]
        if len(doc.expense_documents) > 1:
            judge.reasons.append(
                f"the file holds {len(doc.expense_documents)} invoices; only the first was read"
            )
        currency = [
            Candidate(f.currency, f.confidence, f.page, "expense")
            for f in invoice.fields_of("TOTAL") + invoice.fields_of("AMOUNT_DUE")
            if f.currency
        ][:1]
        lines = _invoice_lines(invoice, judge)
    fields["currency"] = judge.field(profile.spec("currency"), currency or _currency_of_amounts(doc, profile))
    total, subtotal, tax = (_amount(fields.get(name)) for name in ("total", "subtotal", "tax"))
    line_sum = sum(
        (a for a in (_amount(record.get("amount")) for record in lines) if a is not None), Decimal(0)
    )
    if lines and total is not None:
        expected = subtotal if subtotal is not None else (total - tax if tax is not None else total)
        if line_sum != expected:
            target = "subtotal" if subtotal is not None else "total"
            fields[target] = judge.flag(
                fields[target], f"the line items add up to {line_sum}, not {expected}"
            )
    if subtotal is not None and tax is not None and total is not None and subtotal + tax != total:
        fields["total"] = judge.flag(fields["total"], f"subtotal plus tax is {subtotal + tax}, not {total}")
    return fields, {"line_items": lines}
