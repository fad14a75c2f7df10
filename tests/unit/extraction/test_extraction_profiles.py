"""Document profiles over normalized documents, as Textract or the local extractor would give them (no AWS)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from pydantic import ValidationError

from backoffice.extraction import (
    DocumentLocale,
    ExtractionSettings,
    apply_profile,
    normalize_textract_response,
)
from backoffice.extraction.checks import DateOrder
from backoffice.extraction.model import (
    Box,
    ExpenseDocument,
    ExpenseField,
    ExpenseLineItem,
    FormField,
    Line,
    NormalizedDocument,
    Page,
    QueryAnswer,
    Signature,
    Table,
    TableCell,
)
from backoffice.extraction.profile_catalog import PROFILES

Load = Callable[[str], Any]


def lines_document(*texts: str, confidence: float = 99.5) -> NormalizedDocument:
    lines = [
        Line(
            page=1,
            text=text,
            confidence=confidence,
            geometry=Box(left=0.1, top=0.02 * i, width=0.8, height=0.015),
        )
        for i, text in enumerate(texts, start=1)
    ]
    return NormalizedDocument(source="analyze_document", page_count=1, pages=[Page(number=1, lines=lines)])


def kv(key: str, value: str = "", confidence: float = 99.5, selected: bool | None = None) -> FormField:
    return FormField(page=1, key=key, value=value, confidence=confidence, selected=selected)


def table(rows: list[list[str]], confidence: float = 98.0) -> Table:
    cells = [
        TableCell(row=r, column=c, text=text, confidence=confidence, header=r == 1, page=1)
        for r, row in enumerate(rows, start=1)
        for c, text in enumerate(row, start=1)
    ]
    return Table(
        pages=[1],
        row_count=len(rows),
        column_count=len(rows[0]),
        cells=cells,
        rows=rows,
        confidence=confidence,
    )


# -- Subcontractor invoice ----------------------------------------------------------------------------------------


def test_a_two_page_invoice_adds_up_and_only_its_vendor_needs_a_look(load_textract: Load) -> None:
    # Given the real two-page invoice whose vendor name Textract read as "META -" at 72% confidence
    doc = normalize_textract_response(load_textract("rp_async_expense_2page_invoice.json"))
    # When the invoice profile is applied
    result = apply_profile(doc, "invoice")
    # Then the header fields are read, the eight lines add up to the total, and the vendor is the one reason
    assert result.status == "needs_review"
    assert result.reasons == ["Vendor: read with confidence 72.0, below the threshold of 85"]
    values = {name: field.text for name, field in result.fields.items() if field.text is not None}
    assert values == {
        "vendor_name": "META -",
        "invoice_id": "00000135",
        "invoice_date": "2020-03-12",
        "due_date": "2020-03-26",
        "po_number": "F0016",
        "payment_terms": "14 days",
        "total": "5715.00",
        "currency": "USD",
    }
    assert len(result.records["line_items"]) == 8
    assert result.records["line_items"][1]["quantity"].text == "4.5"


US_ENTITY = {"locale": {"date_order": "MDY", "decimal_mark": "."}}


def test_a_receipt_checks_its_arithmetic_and_keeps_both_vendor_names(load_textract: Load) -> None:
    # Given the real receipt: four lines, subtotal, tax and total, two vendor names, dated 12/07/2019
    doc = normalize_textract_response(load_textract("tx_expense_receipt.json"))
    # When the invoice profile is applied for an entity whose invoices write the month first
    result = apply_profile(doc, "invoice", US_ENTITY)
    # Then lines add up to the subtotal and subtotal plus tax to the total, so nobody needs to look
    assert result.status == "complete", result.reasons
    assert result.value("invoice_date") == "2019-12-07"
    assert (result.value("subtotal"), result.value("tax"), result.value("total")) == (
        "1699.96",
        "110.50",
        "1810.46",
    )
    assert result.fields["vendor_name"].other_values == ["MEGA BIGBOK"]


def test_line_items_that_do_not_add_up_need_review(load_textract: Load) -> None:
    # Given the receipt with one line price misread
    response = load_textract("tx_expense_receipt.json")
    item = response["ExpenseDocuments"][0]["LineItemGroups"][0]["LineItems"][0]
    price = next(f for f in item["LineItemExpenseFields"] if f["Type"]["Text"] == "PRICE")
    price["ValueDetection"]["Text"] = "$989.99"
    # When the profile is applied
    result = apply_profile(normalize_textract_response(response), "invoice")
    # Then the subtotal is flagged with the sums
    assert result.status == "needs_review"
    assert "Subtotal: the line items add up to 1789.96, not 1699.96" in result.reasons


def test_an_ambiguous_invoice_date_needs_review_without_a_locale(load_textract: Load) -> None:
    # Given the real receipt dated 12/07/2019 (7 December or 12 July), and no locale for its vendor or entity
    doc = normalize_textract_response(load_textract("tx_expense_receipt.json"))
    # When the invoice profile is applied
    result = apply_profile(doc, "invoice")
    # Then the date is not guessed: it goes to review, the reason giving both readings, the printed date kept
    assert result.status == "needs_review"
    assert result.reasons == [
        "Invoice date: ambiguous date: 2019-12-07 if the month comes first (MDY) or 2019-07-12 if the day"
        " does (DMY); set the date order of the vendor or the entity"
    ]
    date = result.fields["invoice_date"]
    assert (date.valid, date.text) == (False, "12/07/2019")


@pytest.mark.parametrize(("order", "iso"), [("DMY", "2019-07-12"), ("MDY", "2019-12-07")])
def test_the_vendors_date_order_settles_the_invoice_date(
    load_textract: Load, order: DateOrder, iso: str
) -> None:
    # Given the receipt of MEGA MARKET PLUS, and an entity with no date order but one for this vendor
    doc = normalize_textract_response(load_textract("tx_expense_receipt.json"))
    settings = ExtractionSettings(vendor_locales={"Mega Market Plus": DocumentLocale(date_order=order)})
    # When the invoice profile is applied
    result = apply_profile(doc, "invoice", settings)
    # Then the date is read in the vendor's order and nobody needs to look
    assert result.status == "complete", result.reasons
    assert result.value("invoice_date") == iso
    # And a caller that knows the vendor from its master data gives its locale directly
    known = apply_profile(doc, "invoice", ExtractionSettings().with_locale({"date_order": order}))
    assert known.value("invoice_date") == iso


def test_a_vendors_locale_wins_over_the_entitys_and_other_vendors_keep_the_entitys(
    load_textract: Load,
) -> None:
    # Given an entity writing the month first and one vendor, not this receipt's, writing the day first
    doc = normalize_textract_response(load_textract("tx_expense_receipt.json"))
    settings = {**US_ENTITY, "vendor_locales": {"Autohaus Müller GmbH": {"date_order": "DMY"}}}
    # Then the receipt is read in the entity's order
    assert apply_profile(doc, "invoice", settings).value("invoice_date") == "2019-12-07"
    # And once the vendor is this receipt's (its name as printed, case and punctuation aside), in the vendor's
    settings["vendor_locales"] = {"MEGA MARKET PLUS.": {"date_order": "DMY"}}
    assert apply_profile(doc, "invoice", settings).value("invoice_date") == "2019-07-12"


def expense_invoice(date: str, amounts: dict[str, str], lines: list[str]) -> NormalizedDocument:
    """An AnalyzeExpense result of a one-page invoice from a German vendor."""

    def field(field_type: str, value: str) -> ExpenseField:
        return ExpenseField(type=field_type, value=value, confidence=99.5, page=1)

    summary = [
        field("VENDOR_NAME", "Autohaus Müller GmbH"),
        field("INVOICE_RECEIPT_ID", "RE-2021-0042"),
        field("INVOICE_RECEIPT_DATE", date),
        *(field(field_type, value) for field_type, value in amounts.items()),
    ]
    items = [
        ExpenseLineItem(page=1, fields=[field("ITEM", f"Position {n}"), field("PRICE", price)])
        for n, price in enumerate(lines, start=1)
    ]
    invoice = ExpenseDocument(expense_indexes=[1], pages=[1], summary_fields=summary, line_items=items)
    return NormalizedDocument(
        source="analyze_expense", page_count=1, pages=[Page(number=1)], expense_documents=[invoice]
    )


def test_a_european_invoice_reads_its_amounts_and_reports_their_currency() -> None:
    # Given an invoice dated 01-Feb-2021 whose amounts are written 1.234,56 EUR, with a credit in parentheses
    doc = expense_invoice(
        "01-Feb-2021",
        {"SUBTOTAL": "1.037,44 EUR", "TAX": "197,12 EUR", "TOTAL": "€ 1.234,56"},
        ["1.100,00 €", "(62,56) €"],
    )
    # When the invoice profile is applied with no locale at all
    result = apply_profile(doc, "invoice")
    # Then every amount is read, lines add up to the subtotal, and the currency comes from the symbol
    assert result.status == "complete", result.reasons
    values = {name: result.value(name) for name in ("invoice_date", "subtotal", "tax", "total", "currency")}
    assert values == {
        "invoice_date": "2021-02-01",
        "subtotal": "1037.44",
        "tax": "197.12",
        "total": "1234.56",
        "currency": "EUR",
    }
    assert [line["amount"].text for line in result.records["line_items"]] == ["1100.00", "-62.56"]


def test_an_ambiguous_amount_needs_review_unless_the_vendors_decimal_mark_settles_it() -> None:
    # Given a German vendor's invoice dated 01.02.2021 whose total is printed 1.234 (one thousand and more, or
    # one and a bit)
    doc = expense_invoice("01.02.2021", {"TOTAL": "1.234 EUR"}, ["1.234 EUR"])
    # When read with no locale
    result = apply_profile(doc, "invoice")
    # Then the date and the amounts go to review with both readings, and the arithmetic is not checked on guesses
    assert result.fields["invoice_date"].valid is False and result.fields["total"].valid is False
    assert (
        "Total: ambiguous amount: 1234 if the point groups thousands or 1.234 if it marks decimals;"
        " set the decimal mark of the vendor or the entity"
    ) in result.reasons
    assert not any("add up" in reason for reason in result.reasons)
    # When the vendor's locale says day first and a decimal comma
    settings = {"vendor_locales": {"Autohaus Müller GmbH": {"date_order": "DMY", "decimal_mark": ","}}}
    settled = apply_profile(doc, "invoice", settings)
    # Then both read right and nobody needs to look
    assert settled.status == "complete", settled.reasons
    assert (settled.value("invoice_date"), settled.value("total"), settled.value("currency")) == (
        "2021-02-01",
        "1234",
        "EUR",
    )


def test_an_invoice_read_from_its_text_takes_either_convention() -> None:
    # Given a digital invoice's text lines (no Textract), in a Swiss vendor's conventions
    doc = lines_document(
        "Vendor: Bergbahn Beratung AG",
        "Invoice No: 2021-117",
        "Invoice date: 01-Jan-2021",
        "Total: CHF 1'234.50",
    )
    # When the invoice profile is applied
    result = apply_profile(doc, "invoice")
    # Then the date, the total and its currency are read
    assert (result.value("invoice_date"), result.value("total"), result.value("currency")) == (
        "2021-01-01",
        "1234.50",
        "CHF",
    )


# -- W-9 as Textract reads a scan -----------------------------------------------------------------------------------


def textract_w9(tin_confidence: float = 99.6) -> NormalizedDocument:
    fields = [
        kv("1 Name (as shown on your income tax return). Name is required on this line; do not leave this line blank.", "Jane Q. Doe", 98.0),
        kv("2 Business name/disregarded entity name, if different from above", "", 97.0),
        kv("Individual/sole proprietor or single-member LLC", selected=True, confidence=97.5),
        kv("C Corporation", selected=False, confidence=96.0),
        kv("S Corporation", selected=False, confidence=96.0),
        kv("5 Address (number, street, and apt. or suite no.) See instructions.", "123 Main Street", 95.0),
        kv("6 City, state, and ZIP code", "Springfield, IL 62701", 94.0),
        kv("Social security number", "536 90 4399", tin_confidence),
        kv("Date ▶", "11/20/2026", 96.0),
    ]  # fmt: skip
    return NormalizedDocument(
        source="analyze_document",
        page_count=1,
        pages=[Page(number=1)],
        fields=fields,
        signatures=[Signature(page=1, confidence=91.0)],
    )


def test_a_scanned_w9_read_by_textract_yields_the_same_fields() -> None:
    # Given a W-9 scan as Textract reads it: printed keys, ticked box, handwriting signature
    # When the W-9 profile is applied
    result = apply_profile(textract_w9(), "w9")
    # Then the same business fields come out as from the digital form
    assert result.status == "complete", result.reasons
    assert result.value("name") == "Jane Q. Doe"
    assert result.value("tax_classification") == "individual_sole_proprietor"
    assert (result.value("tin"), result.value("tin_type")) == ("536-90-4399", "ssn")
    assert (result.value("signature"), result.value("signature_date")) == ("present", "2026-11-20")
    assert result.fields["tin"].source == "form_field"


def test_a_tax_id_read_below_99_percent_needs_review() -> None:
    # Given the same scan with the SSN read at 98.5%
    result = apply_profile(textract_w9(tin_confidence=98.5), "w9")
    # Then it needs review, and the reason names the field and the threshold, not the number
    assert result.status == "needs_review"
    (reason,) = result.reasons
    assert (
        reason.startswith("Part I: taxpayer identification number") and "below the threshold of 99" in reason
    )
    assert "4399" not in reason


def test_a_query_answer_is_used_when_there_is_no_form_field() -> None:
    # Given a bank letter read with queries only
    doc = NormalizedDocument(
        source="analyze_document",
        page_count=1,
        pages=[Page(number=1)],
        queries=[
            QueryAnswer(
                alias="BANK_NAME", question="?", answer="First National Bank", confidence=99.0, page=1
            ),
            QueryAnswer(
                alias="ACCOUNT_HOLDER", question="?", answer="Doe Consulting LLC", confidence=99.0, page=1
            ),
            QueryAnswer(alias="ROUTING_NUMBER", question="?", answer="111000025", confidence=99.4, page=1),
            QueryAnswer(alias="ACCOUNT_NUMBER", question="?", answer="000123456789", confidence=99.2, page=1),
        ],
    )
    # When the bank letter profile is applied
    result = apply_profile(doc, "bank_letter")
    # Then every field comes from its query
    assert result.status == "complete", result.reasons
    assert {f.source for f in result.fields.values() if f.text} == {"query"}


# -- Bank letter -------------------------------------------------------------------------------------------------------

BANK_LETTER = (
    "First National Bank of Springfield",
    "November 2, 2026",
    "To whom it may concern,",
    "This letter confirms the following account held with us.",
    "Account Holder: Doe Consulting LLC",
    "Routing Number: 111000025",
    "Account Number: 000123456789",
    "This is a business checking account in good standing.",
)


def test_a_bank_letter_yields_bank_holder_and_numbers_masked() -> None:
    # Given a bank letter's text
    result = apply_profile(lines_document(*BANK_LETTER), "bank_letter")
    # Then bank, holder, routing and account numbers are read and checked
    assert result.status == "complete", result.reasons
    assert result.value("bank_name") == "First National Bank"
    assert result.value("account_holder") == "Doe Consulting LLC"
    assert (result.value("routing_number"), result.value("account_number")) == ("111000025", "000123456789")
    # And the numbers print as their last four digits unless revealed
    printed = json.dumps(result.to_json_dict())
    assert "111000025" not in printed and "000123456789" not in printed
    assert result.to_json_dict()["fields"]["routing_number"]["value"] == "****0025"
    assert result.to_json_dict(reveal_secrets=True)["fields"]["account_number"]["value"] == "000123456789"
    assert "111000025" not in repr(result)


def test_a_routing_number_with_a_wrong_check_digit_needs_review() -> None:
    letter = [line.replace("111000025", "112000025") for line in BANK_LETTER]
    result = apply_profile(lines_document(*letter), "bank_letter")
    assert result.status == "needs_review"
    assert result.reasons == ["ABA routing number: not a valid routing number: its check digit is wrong"]
    assert result.fields["routing_number"].valid is False


# -- Certificate of insurance ---------------------------------------------------------------------------------------

ACORD_TABLE = [
    ["INSR LTR", "TYPE OF INSURANCE", "ADDL INSD", "SUBR WVD", "POLICY NUMBER", "POLICY EFF (MM/DD/YYYY)",
     "POLICY EXP (MM/DD/YYYY)", "LIMITS", "LIMITS"],
    ["A", "COMMERCIAL GENERAL LIABILITY", "X", "X", "GL-100200", "01/01/2026", "01/01/2027", "EACH OCCURRENCE",
     "$ 1,000,000"],
    ["", "CLAIMS-MADE [X] OCCUR", "", "", "", "", "", "GENERAL AGGREGATE", "$ 2,000,000"],
    ["B", "AUTOMOBILE LIABILITY", "", "", "AU-300400", "01/01/2026", "01/01/2027",
     "COMBINED SINGLE LIMIT (Ea accident)", "$ 1,000,000"],
]  # fmt: skip


def test_a_certificate_of_insurance_yields_insurers_and_policies() -> None:
    # Given an ACORD 25 as Textract reads it: key-value pairs and the coverage table
    doc = NormalizedDocument(
        source="analyze_document",
        page_count=1,
        pages=[Page(number=1)],
        fields=[
            kv("PRODUCER", "Smith Insurance Agency"),
            kv("INSURED", "Doe Consulting LLC 123 Main Street Springfield IL"),
            kv("INSURER A :", "Hartford Fire Insurance Co 19682"),
            kv("INSURER B :", "Travelers Indemnity Co 25658"),
            kv("DATE (MM/DD/YYYY)", "11/01/2026"),
        ],
        tables=[table(ACORD_TABLE)],
    )
    # When the COI profile is applied
    result = apply_profile(doc, "coi")
    # Then insured, insurers (with NAIC numbers) and each policy with dates and limits come out
    assert result.status == "complete", result.reasons
    assert result.value("insured") == "Doe Consulting LLC 123 Main Street Springfield IL"
    insurers = [{k: f.text for k, f in r.items()} for r in result.records["insurers"]]
    assert insurers == [
        {"letter": "A", "name": "Hartford Fire Insurance Co", "naic": "19682"},
        {"letter": "B", "name": "Travelers Indemnity Co", "naic": "25658"},
    ]
    general, auto = ({k: f.text for k, f in r.items()} for r in result.records["policies"])
    assert general == {
        "number": "GL-100200",
        "letter": "A",
        "type": "COMMERCIAL GENERAL LIABILITY",
        "additional_insured": "Y",
        "subrogation_waived": "Y",
        "effective_date": "2026-01-01",
        "expiry_date": "2027-01-01",
        "limit_each_occurrence": "1000000",
        "limit_general_aggregate": "2000000",
    }
    assert auto["number"] == "AU-300400" and auto["additional_insured"] is None
    assert auto["limit_combined_single_limit_ea_accident"] == "1000000"


def test_a_certificate_without_insured_or_policies_needs_review() -> None:
    doc = NormalizedDocument(source="analyze_document", page_count=1, pages=[Page(number=1)])
    result = apply_profile(doc, "coi")
    assert result.status == "needs_review"
    assert result.reasons == ["Insured: missing", "Policies: no coverage table with policy numbers found"]


# -- SOW / contract -------------------------------------------------------------------------------------------------

SOW = (
    "STATEMENT OF WORK No. 3",
    'This Statement of Work is entered into between Acme Advisory LLP ("Client") and Doe Consulting LLC',
    '("Consultant") under the Master Services Agreement.',
    "1. Term",
    "This SOW is effective as of January 5, 2026 and ends on June 30, 2026.",
    "2. Fees",
    "Total fees shall not exceed $120,000.00, billed monthly at these rates:",
    "Senior Consultant: $200/hour",
    "Analyst - $120 per hour",
    "3. Payment Terms",
    "Invoices are payable Net 30 from receipt.",
    "4. Confidentiality",
    "Each party keeps the other's information confidential.",
)


def test_a_sow_yields_parties_dates_fees_rates_and_clauses() -> None:
    # Given a SOW's text
    result = apply_profile(lines_document(*SOW), "sow")
    # Then parties, dates, fees and terms are read
    assert result.status == "complete", result.reasons
    assert (result.value("client"), result.value("provider")) == ("Acme Advisory LLP", "Doe Consulting LLC")
    assert (result.value("effective_date"), result.value("end_date")) == ("2026-01-05", "2026-06-30")
    assert (result.value("total_fees"), result.value("payment_terms")) == ("120000.00", "Net 30")
    # And rates by role, and the text of each section
    rates = [{k: f.text for k, f in r.items()} for r in result.records["rates"]]
    assert rates == [
        {"role": "Senior Consultant", "rate": "200", "unit": "hour"},
        {"role": "Analyst", "rate": "120", "unit": "hour"},
    ]
    clauses = [(r["section"].text, r["heading"].text, r["text"].text) for r in result.records["clauses"]]
    assert clauses[0] == (
        "1",
        "Term",
        "This SOW is effective as of January 5, 2026 and ends on June 30, 2026.",
    )
    assert [c[1] for c in clauses] == ["Term", "Fees", "Payment Terms", "Confidentiality"]


def test_sow_rates_come_from_a_rate_table_when_there_is_one() -> None:
    doc = lines_document(*SOW).model_copy(
        update={"tables": [table([["Role", "Hourly rate"], ["Partner", "$450.00"], ["Manager", "$300.00"]])]}
    )
    rates = [{k: f.text for k, f in r.items()} for r in apply_profile(doc, "sow").records["rates"]]
    assert rates == [
        {"role": "Partner", "rate": "450.00", "unit": "hour"},
        {"role": "Manager", "rate": "300.00", "unit": "hour"},
    ]


def test_a_sow_ending_before_it_starts_needs_review() -> None:
    text = [line.replace("ends on June 30, 2026", "ends on June 30, 2025") for line in SOW]
    result = apply_profile(lines_document(*text), "sow")
    assert "End date: ends before the effective date" in result.reasons


# -- Settings: thresholds and required flags as configuration ----------------------------------------------------


def test_thresholds_are_configuration_per_kind_and_per_field() -> None:
    # Given the clean Textract W-9 (SSN at 99.6%) and a policy asking 99.9% for this one field
    settings = {"field_thresholds": {"w9.tin": 99.9}}
    # When applied with the configuration
    result = apply_profile(textract_w9(), "w9", settings)
    # Then the SSN needs review, and nothing else does
    assert result.status == "needs_review" and len(result.reasons) == 1
    assert result.fields["tin"].threshold == 99.9
    # And lowering one kind's threshold keeps the defaults of the others
    lowered = apply_profile(textract_w9(tin_confidence=98.5), "w9", {"thresholds": {"tax_id": 98}})
    assert lowered.status == "complete" and lowered.fields["name"].threshold == 85


def test_a_field_can_be_made_required_by_configuration() -> None:
    result = apply_profile(textract_w9(), "w9", ExtractionSettings(required={"w9.business_name": True}))
    assert result.reasons == ["Line 2: business name / disregarded entity name: missing"]


@pytest.mark.parametrize(
    "settings",
    [
        {"field_thresholds": {"w9.tax_idd": 99}},
        {"required": {"coi.nothing": True}},
        {"thresholds": {"date": 150}},
        {"locale": {"date_order": "YMD"}},
        {"locale": {"decimal_mark": ";"}},
        {"vendor_locales": {"Acme GmbH": {}, "ACME  GmbH.": {}}},
        {"vendor_locales": {"--": {"date_order": "DMY"}}},
    ],
    ids=[
        "unknown field",
        "unknown required field",
        "out of range",
        "unknown date order",
        "unknown decimal mark",
        "one vendor twice",
        "vendor without a name",
    ],
)
def test_wrong_configuration_is_refused_at_load(settings: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        ExtractionSettings.model_validate(settings)


def test_every_profile_asks_textract_for_what_it_reads() -> None:
    # Given the profiles
    # Then the invoice goes to AnalyzeExpense and the others to AnalyzeDocument with the features they read
    assert PROFILES["invoice"].textract_api == "expense_analysis"
    assert PROFILES["w9"].feature_types == ("FORMS", "QUERIES", "SIGNATURES")
    assert "TABLES" in PROFILES["coi"].feature_types and "TABLES" in PROFILES["sow"].feature_types
    # And queries (at most 15 a page) are asked only for the fields that matter, under their field names
    for profile in PROFILES.values():
        queries = profile.textract_queries()
        assert len(queries) <= 15
        assert all(q["Alias"].lower() in {s.name for s in profile.fields} for q in queries)


def test_extraction_warnings_are_reasons_for_review() -> None:
    doc = lines_document(*BANK_LETTER).model_copy(update={"warnings": ["page 2 is an image (a scan)"]})
    result = apply_profile(doc, "bank_letter")
    assert result.status == "needs_review"
    assert result.reasons == ["extraction warning: page 2 is an image (a scan)"]
