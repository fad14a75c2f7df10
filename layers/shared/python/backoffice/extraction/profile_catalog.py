"""The document profiles: which business fields a W-9, a certificate of insurance, a bank letter, a SOW and a
subcontractor invoice must yield, and where to find each in a normalized document.

A field is looked for in the places a document can hold it, most exact first: the AcroForm field of a digital
form, the answer to the Textract query asked for it, a printed key-value pair, an AnalyzeExpense field, and
last a pattern in the text. Every field has a required flag, a format check where one exists and a kind, which
gives its confidence threshold. How a document is read through its profile is ``profiles.apply_profile``.
"""

from __future__ import annotations

from backoffice.extraction.document_types import DOCUMENT_TYPES, DocumentTypeName
from backoffice.extraction.profile_spec import FieldSpec, Profile

_W9 = "topmostSubform[0].Page1[0]."
_DATE = r"(\d{1,2}/\d{1,2}/\d{2,4}|\d{4}-\d{2}-\d{2}|[A-Z][a-z]+\.? \d{1,2}(?:st|nd|rd|th)?,? \d{4}|\d{1,2} [A-Z][a-z]+ \d{4})"
_MONEY = r"(\$\s?\d[\d,]*(?:\.\d{2})?)"
# Invoices from anywhere: "01-Jan-2021", "01.02.2021", "2021-01-01", "Jan 1, 2021"; amounts in either convention
# with a symbol or an ISO code before or after ("€ 1.234,56", "1 234,56 EUR", "CHF 1'234.50", "(12.50)").
_INVOICE_DATE = (
    r"(\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}|\d{4}[/.-]\d{1,2}[/.-]\d{1,2}|\d{1,2}[ -][A-Z][a-z]{2,8}\.?[ -]\d{2,4}"
    r"|[A-Z][a-z]+\.? \d{1,2}(?:st|nd|rd|th)?,? \d{4})"
)
_INVOICE_MONEY = (
    r"((?:(?-i:[A-Z]{3})\s?|(?-i:[A-Z]{0,2})\$\s?|[€£₹¥]\s?)?\(?-?"
    r"(?:\d{1,3}(?:[ '\u2019]\d{3})+(?:[.,]\d+)?|\d(?:[\d.,]*\d)?)"
    r"\)?(?:\s?(?-i:[A-Z]{3})\b|\s?[€£$])?)"
)

W9_PROFILE = Profile(
    document_type="w9",
    title="Form W-9, Request for Taxpayer Identification Number and Certification",
    textract_api="document_analysis",
    feature_types=("FORMS", "QUERIES", "SIGNATURES"),
    fields=(
        FieldSpec(
            name="name",
            label="Line 1: name (as shown on the income tax return)",
            kind="name",
            required=True,
            query="What is the name on line 1, as shown on the income tax return?",
            acroform=(_W9 + "f1_1[0]",),
            keys=(r"name \(as shown on your income tax return\)", r"^1?\s*name\b"),
        ),
        FieldSpec(
            name="business_name",
            label="Line 2: business name / disregarded entity name",
            kind="name",
            acroform=(_W9 + "f1_2[0]",),
            keys=(r"business name", r"disregarded entity name"),
        ),
        FieldSpec(
            name="tax_classification",
            label="Line 3: federal tax classification",
            kind="checkbox",
            required=True,
            check="tax_classification",
        ),
        FieldSpec(
            name="llc_tax_classification",
            label="Line 3: LLC tax classification (C, S or P)",
            kind="code",
            check="llc_tax_code",
            acroform=(_W9 + "FederalClassification[0].f1_3[0]",),
            keys=(r"enter the tax classification \(c=c corporation",),
        ),
        FieldSpec(
            name="other_classification",
            label="Line 3: other classification",
            kind="text",
            acroform=(_W9 + "FederalClassification[0].f1_4[0]",),
        ),
        FieldSpec(
            name="exempt_payee_code",
            label="Line 4: exempt payee code",
            kind="code",
            check="exempt_payee_code",
            acroform=(_W9 + "Exemptions[0].f1_5[0]",),
            keys=(r"exempt payee code",),
        ),
        FieldSpec(
            name="fatca_exemption_code",
            label="Line 4: exemption from FATCA reporting code",
            kind="code",
            check="fatca_code",
            acroform=(_W9 + "Exemptions[0].f1_6[0]",),
            keys=(r"fatca reporting", r"^code \(if any\)"),
        ),
        FieldSpec(
            name="address",
            label="Line 5: address (number, street, apt. or suite)",
            kind="text",
            required=True,
            acroform=(_W9 + "Address[0].f1_7[0]",),
            keys=(r"address \(number, street",),
        ),
        FieldSpec(
            name="city_state_zip",
            label="Line 6: city, state and ZIP code",
            kind="text",
            required=True,
            acroform=(_W9 + "Address[0].f1_8[0]",),
            keys=(r"city, state, and zip",),
        ),
        FieldSpec(
            name="requester",
            label="Requester's name and address",
            kind="text",
            acroform=(_W9 + "f1_9[0]",),
            keys=(r"requester.s name and address",),
        ),
        FieldSpec(
            name="account_numbers",
            label="Line 7: account numbers",
            kind="text",
            sensitive=True,
            acroform=(_W9 + "f1_10[0]",),
            keys=(r"list account number",),
        ),
        FieldSpec(
            name="tin",
            label="Part I: taxpayer identification number (SSN, ITIN or EIN)",
            kind="tax_id",
            required=True,
            sensitive=True,
            query="What is the taxpayer identification number (social security number or employer identification number)?",
        ),
        FieldSpec(name="tin_type", label="Part I: kind of TIN (ssn, itin or ein)", kind="code"),
        FieldSpec(name="signature", label="Part II: signature", kind="signature", required=True),
        FieldSpec(
            name="signature_date",
            label="Part II: date signed",
            kind="date",
            required=True,
            check="date",
            query="What is the date next to the signature?",
            keys=(r"^date\b",),
        ),
    ),
)

COI_PROFILE = Profile(
    document_type="coi",
    title="Certificate of liability insurance (ACORD 25)",
    textract_api="document_analysis",
    feature_types=("FORMS", "TABLES", "QUERIES"),
    fields=(
        FieldSpec(
            name="insured",
            label="Insured",
            kind="name",
            required=True,
            query="Who is the insured?",
            keys=(r"^insured\b", r"named insured"),
            text=(r"^insured\s*:\s*(.+)$",),
        ),
        FieldSpec(
            name="producer",
            label="Producer",
            kind="name",
            keys=(r"^producer\b",),
            text=(r"^producer\s*:\s*(.+)$",),
        ),
        FieldSpec(
            name="certificate_date",
            label="Certificate date",
            kind="date",
            check="date",
            keys=(r"^date \(mm/dd/yyyy\)",),
            text=(r"^date\s*\(mm/dd/yyyy\)\s*:?\s*(\d{1,2}/\d{1,2}/\d{4})",),
        ),
        FieldSpec(
            name="certificate_holder",
            label="Certificate holder",
            kind="name",
            keys=(r"certificate holder",),
            text=(r"^certificate holder\s*:\s*(.+)$",),
        ),
    ),
    records=("insurers", "policies"),
)

BANK_LETTER_PROFILE = Profile(
    document_type="bank_letter",
    title="Bank letter (account verification)",
    textract_api="document_analysis",
    feature_types=("FORMS", "QUERIES"),
    fields=(
        FieldSpec(
            name="bank_name",
            label="Bank",
            kind="name",
            required=True,
            query="What is the name of the bank?",
            keys=(r"^bank( name)?\b", r"financial institution"),
            text=(
                r"^((?:[A-Z][\w&.,'-]*\s+){0,5}(?:Bank|Credit Union|Bancorp|Trust Company)(?:,? N\.?A\.?)?)\b",
            ),
        ),
        FieldSpec(
            name="account_holder",
            label="Account holder",
            kind="name",
            required=True,
            query="Who is the account holder?",
            keys=(r"account (holder|name|owner)", r"name on (the )?account", r"beneficiary"),
            text=(r"account (?:holder|name|owner)\s*[:\-]\s*(.+)$",),
        ),
        FieldSpec(
            name="routing_number",
            label="ABA routing number",
            kind="bank_number",
            required=True,
            sensitive=True,
            check="routing_number",
            query="What is the routing number?",
            keys=(r"routing", r"\baba\b", r"transit"),
            text=(r"(?:routing|aba|transit)[^\d\n]{0,30}(\d[\d -]{7,12}\d)",),
        ),
        FieldSpec(
            name="account_number",
            label="Account number",
            kind="bank_number",
            required=True,
            sensitive=True,
            check="account_number",
            query="What is the account number?",
            keys=(r"account (number|no\b|#)", r"\bacct\b"),
            text=(r"(?:account|acct)\.?\s*(?:number|no\.?|#)[^\d\n]{0,20}(\d[\d -]{2,20}\d)",),
        ),
        FieldSpec(
            name="account_type",
            label="Account type",
            kind="text",
            keys=(r"account type",),
            text=(r"\b(checking|savings)\b account",),
        ),
    ),
)

SOW_PROFILE = Profile(
    document_type="sow",
    title="Statement of work / contract",
    textract_api="document_analysis",
    feature_types=("FORMS", "TABLES", "QUERIES", "SIGNATURES"),
    fields=(
        FieldSpec(
            name="client",
            label="Client party",
            kind="name",
            required=True,
            query="Who is the client?",
            keys=(r"^(client|customer)( name)?\s*:?$",),
        ),
        FieldSpec(
            name="provider",
            label="Provider party (consultant, contractor, supplier)",
            kind="name",
            required=True,
            query="Who is the consultant, contractor or service provider?",
            keys=(r"^(consultant|contractor|supplier|vendor|service provider|provider)( name)?\s*:?$",),
        ),
        FieldSpec(
            name="effective_date",
            label="Effective date",
            kind="date",
            required=True,
            check="date",
            query="What is the effective date?",
            keys=(r"effective date", r"start date", r"commencement date"),
            text=(
                r"effective (?:as of|date[:\s]*|on)\s*" + _DATE,
                r"(?:commence|start|begin)s? on\s+" + _DATE,
            ),
        ),
        FieldSpec(
            name="end_date",
            label="End date",
            kind="date",
            required=True,
            check="date",
            query="What is the end date or expiration date?",
            keys=(r"end date", r"expiration date", r"termination date", r"completion date"),
            text=(
                r"(?:end|terminate|expire|continue until|through)s?(?: on)?\s+" + _DATE,
                r"\bto\s+" + _DATE,
            ),
        ),
        FieldSpec(
            name="total_fees",
            label="Total fees",
            kind="amount",
            required=True,
            check="amount",
            query="What are the total fees?",
            keys=(r"total (fees?|amount|price|contract value)", r"not.to.exceed", r"fixed fee"),
            text=(
                r"(?:total fees?|not[- ]to[- ]exceed|fixed fee|total contract value|total price)[^$\d\n]{0,40}"
                + _MONEY,
            ),
        ),
        FieldSpec(
            name="payment_terms",
            label="Payment terms",
            kind="text",
            required=True,
            query="What are the payment terms?",
            keys=(r"payment terms",),
            text=(
                r"\b(net\s*\d{1,3}(?: days)?)\b",
                r"payment terms?\s*[:\-]\s*(.+)$",
                r"(\d{1,3} days (?:of|from|after) (?:receipt|the date) of (?:the )?invoice)",
            ),
        ),
    ),
    records=("rates", "clauses"),
)

INVOICE_PROFILE = Profile(
    document_type="invoice",
    title="Subcontractor invoice",
    textract_api="expense_analysis",
    fields=(
        FieldSpec(
            name="vendor_name",
            label="Vendor",
            kind="name",
            required=True,
            expense_types=("VENDOR_NAME",),
            keys=(r"^(vendor|supplier|from)\b",),
        ),
        FieldSpec(
            name="invoice_id",
            label="Invoice number",
            kind="code",
            required=True,
            expense_types=("INVOICE_RECEIPT_ID",),
            keys=(r"invoice (no|number|#)",),
            text=(r"invoice\s*(?:no\.?|number|#)\s*[:#]?\s*([A-Z0-9][\w-]*)",),
        ),
        FieldSpec(
            name="invoice_date",
            label="Invoice date",
            kind="date",
            required=True,
            check="date",
            expense_types=("INVOICE_RECEIPT_DATE",),
            keys=(r"invoice date", r"^date\b"),
            text=(r"invoice date\s*:?\s*" + _INVOICE_DATE,),
        ),
        FieldSpec(
            name="due_date",
            label="Due date",
            kind="date",
            check="date",
            expense_types=("DUE_DATE",),
            keys=(r"due date", r"payment due"),
        ),
        FieldSpec(
            name="po_number",
            label="Purchase order",
            kind="code",
            expense_types=("PO_NUMBER",),
            keys=(r"purchase order", r"\bp\.?o\.? (no|number|#)"),
        ),
        FieldSpec(
            name="vendor_tax_id",
            label="Vendor tax id",
            kind="tax_id",
            sensitive=True,
            expense_types=("TAX_PAYER_ID",),
        ),
        FieldSpec(
            name="payment_terms",
            label="Payment terms",
            kind="text",
            expense_types=("PAYMENT_TERMS",),
            keys=(r"payment terms",),
        ),
        FieldSpec(
            name="subtotal",
            label="Subtotal",
            kind="amount",
            check="amount",
            expense_types=("SUBTOTAL",),
            keys=(r"^sub.?total",),
        ),
        FieldSpec(
            name="tax",
            label="Tax",
            kind="amount",
            check="amount",
            expense_types=("TAX",),
            keys=(r"^(sales )?tax\b",),
        ),
        FieldSpec(
            name="total",
            label="Total",
            kind="amount",
            required=True,
            check="amount",
            expense_types=("TOTAL", "AMOUNT_DUE"),
            keys=(r"^(invoice )?total\b", r"amount due", r"balance due"),
            text=(r"(?:total|amount due|balance due)\s*:?\s*" + _INVOICE_MONEY,),
        ),
        FieldSpec(name="currency", label="Currency", kind="code"),
    ),
    records=("line_items",),
)

PROFILES: dict[DocumentTypeName, Profile] = {
    profile.document_type: profile
    for profile in (W9_PROFILE, COI_PROFILE, BANK_LETTER_PROFILE, SOW_PROFILE, INVOICE_PROFILE)
}


def profile_for(document_type: str) -> Profile:
    try:
        return PROFILES[document_type]  # type: ignore[index]
    except KeyError:
        raise ValueError(
            f"unknown document type {document_type!r}: expected one of {', '.join(DOCUMENT_TYPES)}"
        ) from None
