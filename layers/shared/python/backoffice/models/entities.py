"""Canonical business entities: what every connector maps to and every workflow reads.

Field names are snake_case and follow the systems of record (Salesforce, Certinia PSA, ERPNext,
frappe/hrms, Odoo, Kantata): ``stage_name`` for Salesforce ``StageName``, ``billing_rate`` for the ERPNext
Timesheet Detail column, and so on. Conventions:

- Money is ``Decimal`` (never float); a currency is an ISO 4217 code in upper case.
- Dates are ``date``; timestamps are timezone-aware ``datetime`` (a naive one is refused).
- Tax ids and bank details are secrets: masked in repr, str, logs and default dumps, dumped only when asked
  (``to_json_dict(reveal_secrets=True)``); show them with ``last4``.
- Models are strict, frozen and refuse unknown fields. Build them from JSON-shaped dicts with
  ``from_json_dict``.
- A model refuses only data that is malformed in itself. A business rule (draft time in a billing period,
  billing hours above hours, an unaccepted milestone) is for the workflows to report, so the model accepts it.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal, Self, get_args

from pydantic import (
    AfterValidator,
    AwareDatetime,
    ConfigDict,
    Field,
    SecretStr,
    SerializationInfo,
    SerializerFunctionWrapHandler,
    StringConstraints,
    WrapSerializer,
    model_validator,
)
from pydantic_core import PydanticCustomError

from backoffice.masking import last_four
from backoffice.models.envelope import MASKED_SECRET, REVEAL_SECRETS, JsonModel

# ------------------------------------------------------------------------------------------------------------
# Field types
# ------------------------------------------------------------------------------------------------------------

# ISO 4217 list one, the currencies that circulate (fund, precious-metal and testing codes left out), plus a
# few withdrawn since 2023 that still appear on the invoices and receipts of earlier years.
_CURRENCY_CODES = """
    AED AFN ALL AMD AOA ARS AUD AWG AZN BAM BBD BDT BHD BIF BMD BND BOB BRL BSD BTN BWP BYN BZD CAD CDF
    CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ
    GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP
    LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR
    PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC
    SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VED VES VND VUV WST XAF XCD XCG XOF
    XPF YER ZAR ZMW ZWG
    ANG BGN HRK SLL ZWL
"""
ISO_4217_CURRENCIES: frozenset[str] = frozenset(_CURRENCY_CODES.split())

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
_COUNTRY_CODE = re.compile(r"^[A-Z]{2}$")
_MIME_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*$")
_ROUTING_NUMBER = re.compile(r"^\d{9}$")
_ACCOUNT_NUMBER = re.compile(r"^[0-9A-Za-z]{4,34}$")
_MASK = MASKED_SECRET

# Error messages name what was expected and never repeat the input, which may be a tax id or an account
# number.


def _currency_code(value: str) -> str:
    if value not in ISO_4217_CURRENCIES:
        raise PydanticCustomError("currency_code", "Input should be an ISO 4217 currency code in upper case")
    return value


def _email(value: str) -> str:
    if not _EMAIL.match(value):
        raise PydanticCustomError("email", "Input should be an e-mail address")
    return value


def _sha256_hex(value: str) -> str:
    if not _SHA256_HEX.match(value):
        raise PydanticCustomError("sha256", "Input should be a SHA-256 digest: 64 lower-case hex digits")
    return value


def _country_code(value: str) -> str:
    if not _COUNTRY_CODE.match(value):
        raise PydanticCustomError("country_code", "Input should be an ISO 3166 two-letter country code")
    return value


def _mime_type(value: str) -> str:
    if not _MIME_TYPE.match(value):
        raise PydanticCustomError("content_type", "Input should be a MIME type such as application/pdf")
    return value


def _secret_text(value: SecretStr) -> SecretStr:
    if not 1 <= len(value.get_secret_value()) <= 64:
        raise PydanticCustomError("secret_length", "Input should have 1 to 64 characters")
    # A masked dump fed back in would otherwise become the tax id "**********".
    if value.get_secret_value() == _MASK:
        raise PydanticCustomError("masked_secret", "Input is a masked secret, not a value")
    return value


def _routing_number(value: SecretStr) -> SecretStr:
    if not _ROUTING_NUMBER.match(value.get_secret_value()):
        raise PydanticCustomError("routing_number", "Input should be a 9-digit ABA routing number")
    return value


def _account_number(value: SecretStr) -> SecretStr:
    if not _ACCOUNT_NUMBER.match(value.get_secret_value()):
        raise PydanticCustomError("account_number", "Input should be 4 to 34 letters or digits")
    return value


def _reveal_on_request(
    value: SecretStr, handler: SerializerFunctionWrapHandler, info: SerializationInfo
) -> Any:
    if isinstance(info.context, dict) and info.context.get(REVEAL_SECRETS) is True:
        return value.get_secret_value()
    return handler(value)


Identifier = Annotated[str, StringConstraints(min_length=1, max_length=255)]
Text = Annotated[str, StringConstraints(min_length=1, max_length=2000)]
CurrencyCode = Annotated[str, AfterValidator(_currency_code)]
EmailAddress = Annotated[str, StringConstraints(max_length=320), AfterValidator(_email)]
Sha256Hex = Annotated[str, AfterValidator(_sha256_hex)]
CountryCode = Annotated[str, AfterValidator(_country_code)]
MimeType = Annotated[str, StringConstraints(max_length=255), AfterValidator(_mime_type)]

Money = Decimal  # signed: a discount or credit line
NonNegativeMoney = Annotated[Decimal, Field(ge=0)]
Hours = Annotated[Decimal, Field(ge=0, le=24)]
Percent = Annotated[Decimal, Field(ge=0, le=100)]

# A secret string: masked everywhere unless a dump is made with ``reveal_secrets`` in its context.
SensitiveStr = Annotated[
    SecretStr,
    AfterValidator(_secret_text),
    WrapSerializer(_reveal_on_request),
]
RoutingNumber = Annotated[SensitiveStr, AfterValidator(_routing_number)]
BankAccountNumber = Annotated[SensitiveStr, AfterValidator(_account_number)]

BillingModel = Literal["time_and_materials", "fixed_fee", "retainer"]
# How revenue of a contract is earned (finance_close/revenue_policy.py says what each means).
RecognitionMethod = Literal["as_delivered", "percent_complete", "milestones", "ratable"]
PercentCompleteBasis = Literal["hours", "cost"]
EntryStatus = Literal["draft", "submitted", "approved", "rejected"]
PartyType = Literal["company", "individual", "partnership"]
DocumentType = Literal["w9", "coi", "bank_letter", "sow", "invoice", "other"]
# The seven boxes of W-9 line 3 (Rev. October 2018), in the order the form prints them.
TaxClassification = Literal[
    "individual_sole_proprietor",  # also a single-member LLC disregarded for tax
    "c_corporation",
    "s_corporation",
    "partnership",
    "trust_estate",
    "llc",  # needs the tax classification code C, S or P
    "other",
]
TAX_CLASSIFICATIONS: tuple[TaxClassification, ...] = get_args(TaxClassification)


def last4(secret: SecretStr | None) -> str | None:
    """The secret for display: ``"****4442"`` for the EIN ``91-1144442``.

    Only letters and digits count; a secret of four or fewer of them shows as ``"****"`` since its last four
    would be all of it.
    """
    if secret is None:
        return None
    return last_four(secret.get_secret_value())


def invariant_error(message: str) -> PydanticCustomError:
    return PydanticCustomError("invariant", message)


class CanonicalModel(JsonModel):
    """Base of every entity and event detail: strict, immutable, no unknown fields, no input in error text."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True, hide_input_in_errors=True)


# ------------------------------------------------------------------------------------------------------------
# Parties
# ------------------------------------------------------------------------------------------------------------


class Address(CanonicalModel):
    line1: Text
    line2: Text | None = None
    city: Text
    region: Text | None = None  # state or province
    postal_code: Identifier | None = None
    country: CountryCode


class BankAccount(CanonicalModel):
    account_holder_name: Text
    bank_name: Text | None = None
    routing_number: RoutingNumber
    account_number: BankAccountNumber
    account_type: Literal["checking", "savings"] | None = None


class Client(CanonicalModel):
    """A customer of the firm (ERPNext Customer, Salesforce Account)."""

    id: Identifier
    customer_name: Text
    customer_type: PartyType = "company"
    tax_id: SensitiveStr | None = None
    default_currency: CurrencyCode
    # None: the contract's terms apply.
    payment_terms_days: int | None = Field(default=None, ge=0, le=365)
    credit_limit: NonNegativeMoney | None = None
    is_frozen: bool = False
    disabled: bool = False
    requires_po: bool = False
    billing_email: EmailAddress | None = None
    address: Address | None = None


class Vendor(CanonicalModel):
    """A supplier of the firm (ERPNext Supplier)."""

    id: Identifier
    supplier_name: Text  # the legal name, as on the W-9
    doing_business_as: Text | None = None
    supplier_type: PartyType = "company"
    category: Text | None = None
    tax_id: SensitiveStr | None = None
    tax_withholding_category: Text | None = None
    default_currency: CurrencyCode
    payment_terms_days: int | None = Field(default=None, ge=0, le=365)
    bank_account: BankAccount | None = None
    email: EmailAddress | None = None
    phone: Annotated[str, StringConstraints(min_length=3, max_length=40)] | None = None
    address: Address | None = None
    on_hold: bool = False
    hold_type: Literal["all", "invoices", "payments"] | None = None
    disabled: bool = False
    # The earliest expiry among the certificate of insurance's required policies, as vendor approval read it
    # (None: no certificate on file, or the category needs no cover). Work orders and subcontractor staff check it.
    insurance_expires_on: date | None = None

    @model_validator(mode="after")
    def _hold_type_needs_hold(self) -> Self:
        if self.hold_type is not None and not self.on_hold:
            raise invariant_error("hold_type is set but on_hold is false")
        return self


class Worker(CanonicalModel):
    """An employee or contractor who records time and expenses."""

    id: Identifier
    name: Text
    email: EmailAddress | None = None
    employment: Literal["employee", "contractor", "subcontractor"]
    roles: list[Identifier] = Field(default_factory=list)
    skills: list[Identifier] = Field(default_factory=list)
    cost_rate: NonNegativeMoney  # per hour
    currency: CurrencyCode
    is_active: bool = True
    # The practice (service line) the person belongs to, for utilization by practice; None: not assigned.
    practice: Text | None = None
    # Contracted hours per week (part-time below the firm's standard); None: the firm's standard week
    # (``delivery.policy.DeliveryPolicy.standard_weekly_hours``).
    weekly_hours: Annotated[Decimal, Field(gt=0, le=80)] | None = None
    # Who the person reports to (a worker id of the same HRIS): a missing timesheet is escalated to them.
    manager_id: Identifier | None = None
    # First and last day of employment when the HRIS knows them: no timesheet is expected outside them.
    start_date: date | None = None
    end_date: date | None = None


# ------------------------------------------------------------------------------------------------------------
# Documents and approvals
# ------------------------------------------------------------------------------------------------------------


class Document(CanonicalModel):
    """A file stored in S3: workflows pass this pointer around, never the content."""

    bucket: Annotated[str, StringConstraints(min_length=3, max_length=63)]
    key: Annotated[str, StringConstraints(min_length=1, max_length=1024)]
    version_id: Identifier | None = None
    content_type: MimeType
    document_type: DocumentType
    sha256: Sha256Hex
    size_bytes: int | None = Field(default=None, ge=0)
    file_name: Text | None = None


class ApprovalRequest(CanonicalModel):
    """A decision asked of people, at one level of one step of a case's workflow."""

    approval_id: Identifier
    case_id: Identifier
    workflow: Identifier
    step: Identifier
    subject_summary: Text  # what the approver reads; never a tax id or an account number
    amount: NonNegativeMoney | None = None
    currency: CurrencyCode | None = None
    approvers: list[Identifier] = Field(min_length=1)
    level: int = Field(default=1, ge=1)
    status: Literal["pending", "approved", "rejected", "expired", "cancelled"] = "pending"
    requested_by: Identifier
    requested_at: AwareDatetime
    due_at: AwareDatetime
    payload_hash: Sha256Hex  # of the payload approved, so a later change to it voids the approval
    decided_by: Identifier | None = None
    decided_at: AwareDatetime | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.amount is not None and self.currency is None:
            raise invariant_error("an amount needs a currency")
        if self.due_at < self.requested_at:
            raise invariant_error("due_at is before requested_at")
        if self.status in ("approved", "rejected") and (self.decided_by is None or self.decided_at is None):
            raise invariant_error("a decided request needs decided_by and decided_at")
        return self


# ------------------------------------------------------------------------------------------------------------
# Sales and contracts
# ------------------------------------------------------------------------------------------------------------


class Opportunity(CanonicalModel):
    """A deal in the CRM (Salesforce Opportunity). Onboarding starts when it is closed and won."""

    id: Identifier
    account_id: Identifier
    name: Text
    stage_name: Text
    amount: NonNegativeMoney
    close_date: date
    is_closed: bool
    is_won: bool
    currency: CurrencyCode
    probability: Percent | None = None
    owner_id: Identifier | None = None


class Milestone(CanonicalModel):
    """A deliverable of a fixed-fee contract (Certinia ``pse__Milestone__c``): billable once accepted."""

    id: Identifier
    name: Text
    amount: NonNegativeMoney
    due_date: date | None = None
    status: Literal["planned", "delivered", "accepted", "invoiced"] = "planned"
    accepted_date: date | None = None


class Contract(CanonicalModel):
    """A client agreement. A statement of work is a contract with ``kind="sow"``, often under an MSA."""

    id: Identifier
    kind: Literal["msa", "sow", "change_order", "other"]
    client_id: Identifier
    parent_contract_id: Identifier | None = None
    opportunity_id: Identifier | None = None
    title: Text
    billing_model: BillingModel
    currency: CurrencyCode
    rates_by_role: dict[Identifier, NonNegativeMoney] = Field(default_factory=dict)  # hourly
    fixed_fee: NonNegativeMoney | None = None
    monthly_retainer_fee: NonNegativeMoney | None = None
    payment_terms_days: int = Field(ge=0, le=365)
    effective_date: date
    end_date: date | None = None
    not_to_exceed: NonNegativeMoney | None = None
    milestones: list[Milestone] = Field(default_factory=list)
    document: Document | None = None
    # How the contract says its revenue is earned (ASC 606 / IFRS 15), when it says: None leaves it to the
    # firm's revenue policy for the billing model (backoffice/finance_close/revenue_policy.py).
    recognition_method: RecognitionMethod | None = None
    percent_complete_basis: PercentCompleteBasis | None = None

    @model_validator(mode="after")
    def _dates_in_order(self) -> Self:
        if self.end_date is not None and self.end_date < self.effective_date:
            raise invariant_error("end_date is before effective_date")
        return self


class Project(CanonicalModel):
    """A delivery project (ERPNext Project, Certinia ``pse__Proj__c``)."""

    id: Identifier
    project_name: Text
    client_id: Identifier
    contract_id: Identifier | None = None
    opportunity_id: Identifier | None = None
    sales_order: Identifier | None = None
    status: Literal["open", "completed", "cancelled"] = "open"
    billing_model: BillingModel
    currency: CurrencyCode
    service_line: Text | None = None
    project_manager_id: Identifier | None = None
    expected_start_date: date | None = None
    expected_end_date: date | None = None
    estimated_costing: NonNegativeMoney | None = None
    total_billable_amount: NonNegativeMoney = Decimal(0)
    total_billed_amount: NonNegativeMoney = Decimal(0)

    @model_validator(mode="after")
    def _dates_in_order(self) -> Self:
        start, end = self.expected_start_date, self.expected_end_date
        if start is not None and end is not None and end < start:
            raise invariant_error("expected_end_date is before expected_start_date")
        return self


# ------------------------------------------------------------------------------------------------------------
# Time, expenses and rates
# ------------------------------------------------------------------------------------------------------------


class TimeEntry(CanonicalModel):
    """One line of a timesheet (ERPNext Timesheet Detail, Odoo ``account.analytic.line``)."""

    id: Identifier
    worker_id: Identifier
    project_id: Identifier
    task: Identifier | None = None
    role: Identifier | None = None
    activity_type: Identifier
    work_date: date
    from_time: AwareDatetime | None = None
    to_time: AwareDatetime | None = None
    hours: Hours
    description: Text | None = None
    is_billable: bool
    billing_hours: Hours
    billing_rate: NonNegativeMoney
    billing_amount: NonNegativeMoney
    costing_rate: NonNegativeMoney
    currency: CurrencyCode
    status: EntryStatus
    submitted_at: AwareDatetime | None = None
    invoice_id: Identifier | None = None  # set once billed: the line is never billed again
    # Overtime approved beforehand in the PSA: a long day or weekend work on it is not an anomaly.
    overtime_approved: bool = False

    @model_validator(mode="after")
    def _interval_in_order(self) -> Self:
        if self.from_time is not None and self.to_time is not None and self.to_time <= self.from_time:
            raise invariant_error("to_time is not after from_time")
        return self


# What an expense's receipt says and how it was paid: the optional ExpenseEntry fields below (a PSA or
# expense tool that knows them maps them; the anomaly scorer reads them).
EXPENSE_RECEIPT_FACTS = (
    "receipt_amount",
    "receipt_date",
    "receipt_number",
    "tip_amount",
    "advance_amount",
    "card_id",
    "nights",
)


class ExpenseEntry(CanonicalModel):
    """One expense claimed by a worker (frappe/hrms Expense Claim Detail, Odoo ``hr.expense``)."""

    id: Identifier
    worker_id: Identifier
    project_id: Identifier | None = None
    expense_date: date
    expense_type: Identifier
    description: Text | None = None
    amount: NonNegativeMoney
    sanctioned_amount: NonNegativeMoney | None = None
    currency: CurrencyCode
    merchant: Text | None = None
    city: Text | None = None
    receipt_document: Document | None = None
    attendees: int = Field(default=1, ge=1)  # people the expense covered, the claimant included
    is_billable: bool = False  # re-invoiced to the client
    status: EntryStatus
    invoice_id: Identifier | None = None
    # What the receipt itself says (read by OCR or by the expense tool) and how the expense was paid. The
    # anomaly scorer's receipt checks (TE4 amount and date mismatch, tip limit), consecutive receipt numbers
    # (TE9), advance and lodging checks read them; a line without them skips those checks.
    receipt_amount: NonNegativeMoney | None = None  # the total printed on the receipt
    receipt_date: date | None = None  # the date printed on the receipt
    receipt_number: Identifier | None = None  # the merchant's receipt or invoice number
    tip_amount: NonNegativeMoney | None = None  # tip included in the amount
    advance_amount: NonNegativeMoney | None = None  # cash advance set against the claim
    card_id: Identifier | None = None  # the corporate card's id in the expense tool, never its number
    nights: int | None = Field(default=None, ge=1)  # nights a lodging line covers
    # The trip the expense belongs to (the expense tool's trip or travel request): colleagues on one trip
    # share a hotel folio or an itinerary, so equal charges among them are not duplicates.
    trip_id: Identifier | None = None


class RateCardLine(CanonicalModel):
    """A rate for a worker, or else a role, on an activity in a currency; neither: the activity's default.

    Mirrors ERPNext Activity Cost (employee + activity type) falling back to Activity Type.
    """

    worker_id: Identifier | None = None
    role: Identifier | None = None
    activity_type: Identifier
    currency: CurrencyCode
    billing_rate: NonNegativeMoney
    costing_rate: NonNegativeMoney

    @model_validator(mode="after")
    def _worker_or_role(self) -> Self:
        if self.worker_id is not None and self.role is not None:
            raise invariant_error("give worker_id or role, not both")
        return self


class RateCard(CanonicalModel):
    id: Identifier
    name: Text
    client_id: Identifier | None = None  # None: the firm's standard rates
    contract_id: Identifier | None = None
    effective_date: date
    end_date: date | None = None
    lines: list[RateCardLine] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.end_date is not None and self.end_date < self.effective_date:
            raise invariant_error("end_date is before effective_date")
        keys = [(line.worker_id, line.role, line.activity_type, line.currency) for line in self.lines]
        if len(keys) != len(set(keys)):
            raise invariant_error("two lines have the same worker or role, activity type and currency")
        return self


# ------------------------------------------------------------------------------------------------------------
# Invoicing
# ------------------------------------------------------------------------------------------------------------


class InvoiceLine(CanonicalModel):
    """A line of an invoice, linked to what it bills so that nothing is billed twice."""

    source: Literal["time", "expense", "milestone", "retainer", "fee", "adjustment"]
    source_ids: list[Identifier] = Field(default_factory=list)  # time entry, expense or milestone ids
    description: Text
    activity_type: Identifier | None = None
    role: Identifier | None = None
    worker_id: Identifier | None = None
    quantity: Decimal
    rate: Money
    amount: Money  # signed: a discount or write-down is negative


class Invoice(CanonicalModel):
    """A sales invoice (ERPNext Sales Invoice), in the client's currency."""

    id: Identifier
    invoice_number: Identifier | None = None  # given when posted
    client_id: Identifier
    company: Text | None = None
    project_id: Identifier | None = None
    contract_id: Identifier | None = None
    currency: CurrencyCode
    conversion_rate: Annotated[Decimal, Field(gt=0)] = Decimal(1)
    posting_date: date
    due_date: date
    period_start: date | None = None
    period_end: date | None = None
    po_no: Identifier | None = None
    po_date: date | None = None
    tax_id: SensitiveStr | None = None
    taxes_and_charges: Identifier | None = None  # the tax template
    lines: list[InvoiceLine] = Field(min_length=1)
    net_total: Money
    tax_total: NonNegativeMoney = Decimal(0)
    grand_total: Money
    outstanding_amount: Money
    status: Literal["draft", "posted", "partly_paid", "paid", "cancelled"] = "draft"

    @model_validator(mode="after")
    def _dates_in_order(self) -> Self:
        if self.due_date < self.posting_date:
            raise invariant_error("due_date is before posting_date")
        start, end = self.period_start, self.period_end
        if start is not None and end is not None and end < start:
            raise invariant_error("period_end is before period_start")
        return self
