"""Canonical business events: one detail model per EventBridge detail-type, and ``parse_event`` to read them.

The error lists of ``InvalidEvent`` are meant for people (the parked-events queue, the audit trail, a reply to
the sender): each entry is a location and a message, such as ``"detail.opportunity.amount: Input should be a
valid decimal"``, and never the input value, which may be a tax id.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType
from typing import Annotated, Any, Literal, Self, TypeVar

from pydantic import AwareDatetime, BaseModel, Field, StringConstraints, ValidationError, model_validator

from backoffice.models.entities import (
    CanonicalModel,
    Client,
    CurrencyCode,
    Document,
    EmailAddress,
    Identifier,
    NonNegativeMoney,
    Opportunity,
    Text,
    invariant_error,
)
from backoffice.models.envelope import EventEnvelope, to_json_text
from backoffice.models.records import Payment


class DetailType(StrEnum):
    """The detail-types the product publishes or consumes (a ``StrEnum``: each member equals its string)."""

    OPPORTUNITY_CLOSED_WON = "Opportunity Closed Won"
    BILLING_PERIOD_CLOSED = "Billing Period Closed"
    VENDOR_ONBOARDING_REQUESTED = "Vendor Onboarding Requested"
    ONBOARDING_STARTED = "Onboarding Started"
    ONBOARDING_BLOCKED = "Onboarding Blocked"
    PROJECT_ONBOARDED = "Project Onboarded"
    INVOICE_POSTED = "Invoice Posted"
    INVOICE_BLOCKED = "Invoice Blocked"
    VENDOR_APPROVED = "Vendor Approved"
    VENDOR_REJECTED = "Vendor Rejected"
    BILLING_RUN_COMPLETED = "Billing Run Completed"
    RECONCILIATION_REQUESTED = "Reconciliation Requested"
    REVENUE_RECOGNITION_REQUESTED = "Revenue Recognition Requested"
    FINDING_REVIEWED = "Finding Reviewed"
    RECONCILIATION_COMPLETED = "Reconciliation Completed"
    REVENUE_BOOKED = "Revenue Booked"
    REVENUE_NOT_BOOKED = "Revenue Not Booked"
    INVOICE_PAID = "Invoice Paid"  # the ERP: a payment or credit memo applied to a posted invoice
    TIMESHEET_SUBMITTED = "Timesheet Submitted"  # the PSA: a worker submitted a week's time
    EXPENSE_REPORT_SUBMITTED = "Expense Report Submitted"  # the PSA or expense tool: an expense report
    TIME_EXPENSE_REVIEWED = "Time and Expenses Reviewed"  # the weekly review decided every line
    TIME_EXPENSE_NOT_REVIEWED = "Time and Expenses Not Reviewed"  # invalid, unanswered, or a technical fault
    # -- purchasing ----
    PURCHASE_REQUESTED = "Purchase Requested"  # the procurement portal: a work order, software, travel
    PURCHASE_ORDER_ISSUED = "Purchase Order Issued"  # the PO is in the ERP and the vendor was told
    PURCHASE_REJECTED = "Purchase Rejected"  # invalid, or rejected by the approval chain
    PURCHASE_BLOCKED = (
        "Purchase Blocked"  # the vendor cannot be bought from, unanswered, or a technical fault
    )
    # -- resource onboarding (issue #22) --
    WORKER_HIRED = (
        "Worker Hired"  # the HRIS: an employee, contractor or subcontractor worker hired (or rehired)
    )
    WORKER_ONBOARDED = "Worker Onboarded"  # the PSA resource is set up, the worker and the manager told
    WORKER_ONBOARDING_BLOCKED = (
        "Worker Onboarding Blocked"  # invalid record, vendor, documents or rate rejected
    )


# ------------------------------------------------------------------------------------------------------------
# Details
# ------------------------------------------------------------------------------------------------------------


class OpportunityClosedWon(CanonicalModel):
    """A deal won in the CRM: starts project onboarding (the case key is ``opportunity.id``)."""

    opportunity: Opportunity
    client: Client
    sow_document: Document | None = None
    service_line: Text | None = None


class BillingPeriodClosed(CanonicalModel):
    """Time and expenses of the period are in: starts invoicing."""

    period_start: date
    period_end: date
    project_ids: list[Identifier] | None = None  # None: every project with billable work in the period
    # Bill the period again after fixes (a new case; lines and invoices already billed are never billed twice).
    rerun: Identifier | None = None

    @model_validator(mode="after")
    def _period_in_order(self) -> Self:
        if self.period_end < self.period_start:
            raise invariant_error("period_end is before period_start")
        return self


class FinancePeriod(CanonicalModel):
    """A period of the finance close: a billing run of it completed (``Billing Run Completed``), or someone asks
    for its reconciliation or revenue recognition (``backoffice reconcile``, ``backoffice recognize-revenue``,
    the monthly schedule). One case per period and workflow; ``rerun`` runs it again after fixes."""

    period_start: date
    period_end: date
    rerun: Identifier | None = None
    requested_by: Identifier | None = None
    billing_case_id: Identifier | None = None  # the billing run that announced it
    # The day ages (work in progress) are counted to; None: the day the case runs. A re-run for an audit names it.
    as_of: date | None = None

    @model_validator(mode="after")
    def _period_in_order(self) -> Self:
        if self.period_end < self.period_start:
            raise invariant_error("period_end is before period_start")
        return self


class VendorOnboardingRequested(CanonicalModel):
    """Someone in the firm asks to buy from a new vendor: starts vendor onboarding."""

    requester_email: EmailAddress
    vendor_legal_name: Text
    category: Text
    expected_annual_spend: NonNegativeMoney
    currency: CurrencyCode = "USD"
    contact_email: EmailAddress
    documents: list[Document] = Field(default_factory=list)
    # The vendor will hold or process client or firm data: cyber cover becomes a requirement.
    handles_data: bool = False
    contact_phone: Annotated[str, StringConstraints(min_length=3, max_length=40)] | None = None


class TimesheetSubmitted(CanonicalModel):
    """A worker submitted a week's time in the PSA: starts the weekly review of that worker-week (case
    ``timesheet-<worker_id>-<week_start>``). ``submission_id`` (or, when the PSA gives none, ``submitted_at``) tells
    a resubmission after lines were sent back, reviewed again on the same case, from a second delivery of the same
    submission, which starts nothing."""

    worker_id: Identifier
    week_start: date
    week_end: date
    submitted_at: AwareDatetime
    submission_id: Identifier | None = None

    @model_validator(mode="after")
    def _week_in_order(self) -> Self:
        if self.week_end < self.week_start:
            raise invariant_error("week_end is before week_start")
        if (self.week_end - self.week_start).days > 6:
            raise invariant_error(
                "a timesheet covers one week: week_end is more than 6 days after week_start"
            )
        return self


class ExpenseReportSubmitted(CanonicalModel):
    """A worker submitted an expense report: starts its review (case ``expense-report-<report_id>``). A report
    sent back and submitted again keeps its id; its new ``submitted_at`` makes the new review."""

    report_id: Identifier
    worker_id: Identifier
    expense_ids: list[Identifier] = Field(min_length=1, max_length=500)
    submitted_at: AwareDatetime


# -- purchasing ----
PurchaseCategory = Literal["subcontractor", "software", "travel"]


class NewVendor(CanonicalModel):
    """A vendor the firm has not bought from yet, named on a purchase request: what its onboarding needs (the
    ``Vendor Onboarding Requested`` the purchase puts on the bus is made of it)."""

    vendor_legal_name: Text
    contact_email: EmailAddress
    category: Text
    expected_annual_spend: NonNegativeMoney
    currency: CurrencyCode = "USD"
    documents: list[Document] = Field(default_factory=list)
    handles_data: bool = False


class PurchaseRequested(CanonicalModel):
    """Someone in the firm asks to buy (a subcontractor's work order, software, travel above the firm's limit) for a
    project: starts a purchase approval (case ``purchase-<request_id>``; the same request delivered again is a
    duplicate, the request fixed and sent again with a new ``requested_at`` a new attempt on the case). The vendor is
    the ERP's ``vendor_id``, or a ``new_vendor`` to onboard first."""

    request_id: Identifier
    requester_email: EmailAddress
    category: PurchaseCategory
    description: Text
    amount: Annotated[Decimal, Field(gt=0, max_digits=14, decimal_places=2)]
    currency: CurrencyCode
    project_id: Identifier
    vendor_id: Identifier | None = None
    new_vendor: NewVendor | None = None
    needed_by: date | None = None
    requested_at: AwareDatetime

    @model_validator(mode="after")
    def _one_vendor(self) -> Self:
        if (self.vendor_id is None) == (self.new_vendor is None):
            raise invariant_error("name the vendor: vendor_id (an ERP vendor) or new_vendor, not both")
        return self


# -- resource onboarding (issue #22) ----------------------------------------------------------------------------


class WorkerDocument(CanonicalModel):
    """A document the HRIS holds for a worker: what it is (``nda``, ``right_to_work``...), when it was signed and
    until when it holds. Only its facts travel, never the file or the numbers on it."""

    kind: Identifier
    signed_on: date | None = None  # None: on file but not signed
    expires_on: date | None = None  # None: does not expire


class WorkerHired(CanonicalModel):
    """The HRIS hired a worker (an employee, a contractor, or a subcontractor's worker through an approved vendor):
    starts resource onboarding (case ``worker-<worker_id>``). ``start_date`` and ``hired_at`` are the attempt: a rehire
    (a new start date) or a corrected record (a later ``hired_at``) onboards again on the same case and updates the
    PSA resource; the same hire delivered twice is one case."""

    worker_id: Identifier
    name: Text
    email: EmailAddress | None = None
    employment: Literal["employee", "contractor", "subcontractor"]
    role: Identifier
    practice: Text | None = None
    cost_rate: NonNegativeMoney  # per hour, from the HRIS (pay or the vendor's rate)
    currency: CurrencyCode = "USD"
    start_date: date
    weekly_hours: Annotated[Decimal, Field(gt=0, le=80)] | None = None  # None: the firm's standard week
    manager_id: Identifier | None = None
    skills: list[Identifier] = Field(default_factory=list, max_length=100)
    # A bill rate the hiring manager proposes; None: the firm's rate card for the role.
    bill_rate: NonNegativeMoney | None = None
    vendor_id: Identifier | None = None  # a subcontractor's vendor in the ERP
    documents: list[WorkerDocument] = Field(default_factory=list, max_length=50)
    # When the HRIS recorded (or last corrected) the hire: a corrected record is onboarded again on the same case.
    hired_at: AwareDatetime | None = None


class CaseOutcome(CanonicalModel):
    """How a case ended or where it stopped; shared by every outcome detail-type."""

    case_id: Identifier
    workflow: Identifier
    outcome: Identifier
    reasons: list[Text] = Field(default_factory=list)
    data: dict[str, Any] = Field(default_factory=dict)


EVENT_DETAIL_MODELS: Mapping[str, type[CanonicalModel]] = MappingProxyType(
    {
        DetailType.OPPORTUNITY_CLOSED_WON: OpportunityClosedWon,
        DetailType.BILLING_PERIOD_CLOSED: BillingPeriodClosed,
        DetailType.VENDOR_ONBOARDING_REQUESTED: VendorOnboardingRequested,
        DetailType.ONBOARDING_STARTED: CaseOutcome,
        DetailType.ONBOARDING_BLOCKED: CaseOutcome,
        DetailType.PROJECT_ONBOARDED: CaseOutcome,
        DetailType.INVOICE_POSTED: CaseOutcome,
        DetailType.INVOICE_BLOCKED: CaseOutcome,
        DetailType.VENDOR_APPROVED: CaseOutcome,
        DetailType.VENDOR_REJECTED: CaseOutcome,
        DetailType.BILLING_RUN_COMPLETED: FinancePeriod,
        DetailType.RECONCILIATION_REQUESTED: FinancePeriod,
        DetailType.REVENUE_RECOGNITION_REQUESTED: FinancePeriod,
        DetailType.FINDING_REVIEWED: CaseOutcome,
        DetailType.RECONCILIATION_COMPLETED: CaseOutcome,
        DetailType.REVENUE_BOOKED: CaseOutcome,
        DetailType.REVENUE_NOT_BOOKED: CaseOutcome,
        DetailType.INVOICE_PAID: Payment,
        DetailType.TIMESHEET_SUBMITTED: TimesheetSubmitted,
        DetailType.EXPENSE_REPORT_SUBMITTED: ExpenseReportSubmitted,
        DetailType.TIME_EXPENSE_REVIEWED: CaseOutcome,
        DetailType.TIME_EXPENSE_NOT_REVIEWED: CaseOutcome,
        # -- purchasing ----
        DetailType.PURCHASE_REQUESTED: PurchaseRequested,
        DetailType.PURCHASE_ORDER_ISSUED: CaseOutcome,
        DetailType.PURCHASE_REJECTED: CaseOutcome,
        DetailType.PURCHASE_BLOCKED: CaseOutcome,
        # -- resource onboarding --
        DetailType.WORKER_HIRED: WorkerHired,
        DetailType.WORKER_ONBOARDED: CaseOutcome,
        DetailType.WORKER_ONBOARDING_BLOCKED: CaseOutcome,
    }
)


# ------------------------------------------------------------------------------------------------------------
# Parsing
# ------------------------------------------------------------------------------------------------------------


class InvalidEvent(ValueError):
    """An event that does not match its model. ``errors`` lists ``"<location>: <message>"`` strings."""

    def __init__(self, errors: Sequence[str]) -> None:
        self.errors: list[str] = list(errors)
        super().__init__("invalid event: " + "; ".join(self.errors))


class UnknownEventType(InvalidEvent):
    """An event whose detail-type has no registered model. ``detail_type`` holds it; ``errors`` does not."""

    def __init__(self, detail_type: str) -> None:
        self.detail_type = detail_type
        super().__init__(["detail-type: not a registered event type"])


def readable_errors(error: ValidationError, prefix: str = "") -> list[str]:
    """``"<location>: <message>"`` for each error, locations dotted from ``prefix``, list items as ``[i]``."""
    return [
        f"{_location(prefix, item['loc'])}: {_message(item['msg'], item['type'], item.get('input'))}"
        for item in error.errors(include_url=False)
    ]


def _location(prefix: str, loc: Iterable[int | str]) -> str:
    text = prefix
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text or "event"


def _message(message: str, error_type: str, value: object) -> str:
    # pydantic's messages name what was expected; a few (a union tag, some parse errors) quote the input.
    # Whichever it is, a message that contains the value is replaced, since the value may be a secret.
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        shown = str(value)
        if len(shown) >= 3 and shown in message:
            return f"Input is not valid ({error_type})"
    return message


def parse_event(raw: Mapping[str, Any]) -> tuple[EventEnvelope, BaseModel]:
    """Validates an EventBridge event (the dict from ``json.loads``): the envelope, then its detail.

    Returns the envelope and the detail model registered in ``EVENT_DETAIL_MODELS`` for its detail-type.
    Raises ``UnknownEventType`` for an unregistered detail-type and ``InvalidEvent`` for anything else that
    does not validate; both carry ``errors`` and neither repeats an input value.
    """
    if not isinstance(raw, Mapping):
        raise InvalidEvent(["event: Input should be an object"])
    try:
        envelope = EventEnvelope.model_validate_json(to_json_text(raw))
    except ValidationError as error:
        raise InvalidEvent(readable_errors(error)) from None
    except (TypeError, ValueError):
        raise InvalidEvent(["event: Input should be JSON (finite numbers, string keys)"]) from None

    model = EVENT_DETAIL_MODELS.get(envelope.detail_type)
    if model is None:
        raise UnknownEventType(envelope.detail_type)
    try:
        # The raw detail, not ``envelope.detail``, so that numbers reach the model exactly as they arrived.
        detail = model.model_validate_json(to_json_text(raw["detail"]))
    except ValidationError as error:
        raise InvalidEvent(readable_errors(error, prefix="detail")) from None
    return envelope, detail


_Detail = TypeVar("_Detail", bound=BaseModel)


def parse_event_as(raw: Mapping[str, Any], model: type[_Detail]) -> tuple[EventEnvelope, _Detail]:
    """``parse_event`` for a caller that expects one detail model: any other is an ``InvalidEvent``."""
    envelope, detail = parse_event(raw)
    if not isinstance(detail, model):
        raise InvalidEvent([f"detail-type: expected an event with a {model.__name__} detail"])
    return envelope, detail
