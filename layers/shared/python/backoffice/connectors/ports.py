"""Ports to the firm's systems: CRM, PSA, ERP and HRIS. Workflows talk to these, never to a vendor's API.

The ports are shaped after real SaaS APIs: listing is paged, every create takes an idempotency key (a retried Lambda
must never create a second customer or project), and failures carry names the state machines retry by:
``ConnectorRateLimited`` (HTTP 429), ``ConnectorUnavailable`` (5xx, connection refused) and ``ConnectorTimeout``.
Adapters: ``sandbox`` (DynamoDB, seeded with a sample firm), Salesforce (CRM; Certinia PSA), NetSuite (ERP) and
generic REST.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Generic, Literal, Protocol, TypeVar

from backoffice.models import (
    Client,
    Contract,
    Document,
    EmployeeRecord,
    ExpenseEntry,
    Invoice,
    JournalEntry,
    Opportunity,
    Payment,
    Project,
    ProjectBudget,
    ProjectEstimate,
    ProjectTemplate,
    PurchaseOrder,
    RateCard,
    TimeEntry,
    Vendor,
    VendorPurchaseOrder,
    Worker,
)

T = TypeVar("T")


class ConnectorError(Exception):
    """Base of connector failures; subclasses are retryable by name in the state machines."""

    system = "unknown"


class ConnectorRateLimited(ConnectorError):
    def __init__(self, message: str, retry_after_seconds: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


class ConnectorUnavailable(ConnectorError):
    pass


class ConnectorTimeout(ConnectorError):
    pass


class RecordNotFound(ConnectorError):
    """Not retryable: the record the workflow needs does not exist in the system."""


RETRYABLE = ("ConnectorRateLimited", "ConnectorUnavailable", "ConnectorTimeout")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_token: str | None = None


def all_pages(fetch: Callable[[str | None], Page[T]]) -> list[T]:
    """Every item of a paged listing (the ports page like the real APIs; most steps need the whole list)."""
    items: list[T] = []
    token: str | None = None
    while True:
        page = fetch(token)
        items.extend(page.items)
        token = page.next_token
        if not token:
            return items


@dataclass(frozen=True)
class UnreadableLine:
    """A time entry or expense the system holds that does not make a valid line (negative hours, a currency
    that is not one): listed with its reasons so the billing run reports it instead of failing."""

    kind: Literal["time", "expense"]
    id: str
    project_id: str | None
    errors: tuple[str, ...]


@dataclass(frozen=True)
class Allocation:
    """Hours a worker is already booked for, per week, over a period (from the PSA or HRIS)."""

    worker_id: str
    project_id: str
    start: date
    end: date
    hours_per_week: Decimal


@dataclass(frozen=True)
class ResourceRequest:
    """A staffing request in the PSA (Certinia ``pse__Resource_Request__c``)."""

    project_id: str
    role: str
    hours: Decimal
    start: date
    end: date
    skills: tuple[str, ...] = ()
    candidate_ids: tuple[str, ...] = ()
    conflicts: tuple[str, ...] = ()
    status: str = "open"
    id: str | None = None


@dataclass(frozen=True)
class Created:
    """The result of an idempotent create: the system's id, and whether this call created it."""

    id: str
    created: bool
    details: dict[str, str] = field(default_factory=dict)


class CrmPort(Protocol):
    def get_opportunity(self, opportunity_id: str) -> Opportunity: ...

    def get_account(self, account_id: str) -> Client:
        """The opportunity's account as the client record (legal name, address, tax id, currency)."""
        ...

    def sow_document(self, opportunity_id: str) -> Document | None:
        """The statement of work attached to the opportunity, if any."""
        ...


class ErpPort(Protocol):
    def list_customers(self, page_token: str | None = None) -> Page[Client]: ...

    def get_customer(self, customer_id: str) -> Client: ...

    def create_customer(self, client: Client, *, idempotency_key: str) -> Created: ...

    def list_vendors(self, page_token: str | None = None) -> Page[Vendor]: ...

    def get_vendor(self, vendor_id: str) -> Vendor:
        """The vendor with its hold and its insurance expiry; ``RecordNotFound`` if the ERP has none."""
        ...

    def create_vendor(self, vendor: Vendor, *, idempotency_key: str) -> Created:
        """Create the supplier; the workflow creates it on hold, so nothing can be paid before approval."""
        ...

    def release_vendor(self, vendor_id: str) -> None:
        """Lift the hold once the approval chain has approved."""
        ...

    # -- invoicing -------------------------------------------------------------------------------------------

    def customer_balance(self, customer_id: str) -> Decimal:
        """What the customer owes on posted invoices not yet paid (for the credit limit, BR9)."""
        ...

    def tax_template(self, customer_id: str) -> str | None:
        """The sales tax template the customer's invoices use (BR10); None: none set up."""
        ...

    def purchase_order(self, customer_id: str, project_id: str) -> PurchaseOrder | None:
        """The customer's open purchase order for the project, if any (BR8)."""
        ...

    def find_invoice(self, project_id: str, period_start: date, period_end: date) -> Invoice | None:
        """The invoice of this project and billing period, draft or posted, if one exists."""
        ...

    def create_invoice(self, invoice: Invoice, *, idempotency_key: str) -> Created:
        """Create the invoice as a draft; the key (project and period) makes a retry return the same one."""
        ...

    def post_invoice(self, invoice_id: str) -> Invoice:
        """Post (submit) the draft; it gets its number. Posting a posted invoice returns it unchanged."""
        ...


class PsaPort(Protocol):
    def find_project_by_opportunity(self, opportunity_id: str) -> Project | None: ...

    def create_project(self, project: Project, *, idempotency_key: str) -> Created: ...

    def create_resource_request(self, request: ResourceRequest, *, idempotency_key: str) -> Created: ...

    def allocations(self, start: date, end: date) -> list[Allocation]: ...

    def next_project_sequence(self, client_code: str, year: int) -> int: ...

    def project_templates(self) -> list[ProjectTemplate]: ...

    # -- invoicing -------------------------------------------------------------------------------------------

    def list_billable_projects(self, start: date, end: date, page_token: str | None = None) -> Page[Project]:
        """Projects that may have work to bill in the period: open ones, and those closed on or after ``start``."""
        ...

    def list_time_entries(
        self, start: date, end: date, page_token: str | None = None
    ) -> Page[TimeEntry | UnreadableLine]:
        """Every time entry dated in the period, of every project and status."""
        ...

    def list_expenses(
        self, start: date, end: date, page_token: str | None = None
    ) -> Page[ExpenseEntry | UnreadableLine]:
        """Every expense dated in the period, of every project and status."""
        ...

    def get_contract(self, contract_id: str) -> Contract: ...

    def project_rate_card(self, project_id: str) -> RateCard | None:
        """The rate card the project bills by (its contract's, else the firm's standard); None: none."""
        ...

    def mark_billed(
        self,
        invoice_id: str,
        *,
        time_entry_ids: Sequence[str],
        expense_ids: Sequence[str],
        milestone_ids: Sequence[str] = (),
    ) -> None:
        """Link the lines to the posted invoice, so no later run bills them again (BR2). Idempotent."""
        ...

    def return_lines(
        self,
        *,
        time_entry_ids: Sequence[str],
        expense_ids: Sequence[str],
        action: Literal["send_back", "write_off"],
        reason: str,
    ) -> None:
        """Lines a reviewer rejected: sent back to the worker to correct (status rejected), or written off (not
        billable). Idempotent."""
        ...


class CloseErpPort(Protocol):
    """What the finance close reads from the ERP beyond invoicing: the period's invoices with their lines, the
    ERP's own view of projects and their billing rates (sandbox, NetSuite by SuiteQL and the record API, generic
    REST). A port of its own, beside ``ErpPort``: only the finance close's steps need it."""

    def list_invoices(self, start: date, end: date, page_token: str | None = None) -> Page[Invoice]:
        """Invoices posted (posting date) in the period, every status but draft, with their lines."""
        ...

    def list_projects(self, page_token: str | None = None) -> Page[Project]:
        """The ERP's projects (NetSuite: jobs), in the canonical shape: code, name, client, currency, status."""
        ...

    def project_rate_card(self, project_id: str) -> RateCard | None:
        """The billing rates the ERP holds for the project (NetSuite: the project's billing rate card)."""
        ...


class ReceivablesErpPort(Protocol):
    """What the receivables ledger reads from the ERP: the payments and credit memos applied to posted invoices
    (sandbox, NetSuite by SuiteQL, generic REST). The daily read pages them since its watermark; the ERP's
    ``Invoice Paid`` events carry the same records one at a time."""

    def list_payments(self, start: date, end: date, page_token: str | None = None) -> Page[Payment]:
        """Payments (paid on) and credit memos (credited on) dated in the period, one record per invoice each
        applies to."""
        ...


class CloseCrmPort(Protocol):
    """What the finance close reads from the CRM: the client accounts, to compare with the PSA's and the ERP's."""

    def list_accounts(self, page_token: str | None = None) -> Page[Client]:
        """Every account the CRM keeps as a client (Salesforce: Account), in the canonical shape."""
        ...


class ClosePsaPort(Protocol):
    """What the finance close reads from the PSA beyond invoicing: the client accounts as the PSA holds them."""

    def get_account(self, client_id: str) -> Client:
        """The PSA's account of the client (Certinia: the Account its projects hang off)."""
        ...


class RevenuePsaPort(Protocol):
    """What revenue recognition reads from the PSA beyond invoicing: each project's estimate at completion."""

    def project_estimate(self, project_id: str) -> ProjectEstimate | None:
        """Hours and cost the project will take in all, as the project manager last estimated; None: none."""
        ...


class RevenueErpPort(Protocol):
    """What revenue recognition books in the ERP: the period-end journal entry."""

    def post_journal_entry(self, entry: JournalEntry, *, idempotency_key: str) -> Created:
        """Post the balanced entry once: a second post with the same key returns the first entry's id."""
        ...


class TimeExpensePsaPort(Protocol):
    """What the weekly time and expense review writes in the PSA beyond invoicing: the approval of submitted
    lines (sending lines back is ``PsaPort.return_lines``)."""

    def approve_lines(
        self,
        *,
        time_entry_ids: Sequence[str],
        expense_ids: Sequence[str],
        approver: str,
        note: str | None = None,
    ) -> None:
        """Approve the submitted lines (status approved), saying who approved them ("policy" when the firm's
        policy approved clean lines) and why. Idempotent; a line billed meanwhile is left alone."""
        ...


class HrisPort(Protocol):
    def list_workers(self, page_token: str | None = None) -> Page[Worker]: ...

    def employee_records(self) -> list[EmployeeRecord]:
        """Home address, phone and payroll bank account per employee: what a ghost vendor would share."""
        ...


# -- purchasing ----


class PurchasingErpPort(Protocol):
    """What purchase approval does in the ERP: the purchase order issued to the vendor, and what the project has
    already committed in open purchase orders (sandbox, NetSuite ``purchaseorder`` records, generic REST)."""

    def create_purchase_order(self, order: VendorPurchaseOrder, *, idempotency_key: str) -> Created:
        """Create the vendor's purchase order once: a second create with the same key (NetSuite: its externalId)
        returns the first order's id, ``created`` False. ``details["number"]``: the ERP's document number."""
        ...

    def committed_amount(self, project_id: str, currency: str) -> Decimal:
        """What the project's open purchase orders in ``currency`` commit and have not yet been billed for."""
        ...


class ProjectBudgetPsaPort(Protocol):
    """What purchase approval reads from the PSA: the project's cost budget and its actual cost to date."""

    def project_budget(self, project_id: str) -> ProjectBudget:
        """The project's budget, owner and actual cost (``budget`` None: the PSA holds no approved budget for it);
        RecordNotFound: no such project."""
        ...


# -- resource onboarding (issue #22) ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PsaResource:
    """A person as the PSA staffs them (Certinia: a Contact with ``pse__Is_Resource__c``), keyed by the HRIS's
    worker id: role, practice, rates, availability (weekly hours from the start date), manager and skills."""

    worker_id: str
    name: str
    email: str | None
    employment: str
    role: str
    practice: str | None
    cost_rate: Decimal
    bill_rate: Decimal
    currency: str
    start_date: date
    weekly_hours: Decimal
    manager_worker_id: str | None = None
    skills: tuple[str, ...] = ()
    vendor_id: str | None = None


@dataclass(frozen=True)
class ResourceSaved:
    """What ``save_resource`` did: the PSA's id of the resource, whether this call created it (False: it existed,
    a rehire or a retry, and was updated), the manager's resource (None: the manager is no resource in the PSA) and
    the skills the PSA does not know (left off, not invented)."""

    id: str
    created: bool
    manager_resource_id: str | None = None
    unknown_skills: tuple[str, ...] = ()
    unknown_practice: str | None = (
        None  # the hire's practice the PSA does not know (left as it was, not blanked)
    )


class ResourcePsaPort(Protocol):
    """What resource onboarding reads and writes in the PSA (sandbox, Certinia, generic REST)."""

    def standard_rate_card(self, currency: str, *, as_of: date | None = None) -> RateCard | None:
        """The firm's standard rate card (no client) in ``currency`` in force on ``as_of`` (the hire's start date;
        None: the latest); None: none in that currency (then)."""
        ...

    def save_resource(self, resource: PsaResource) -> ResourceSaved:
        """Create the resource, or update the one keyed by its worker id (a rehire, a retry): never a second one.
        Sets role, practice, rates, availability, manager and skills."""
        ...

    def open_resource_requests(self, role: str) -> list[ResourceRequest]:
        """Staffing requests for ``role`` nobody is assigned to yet, the earliest start first."""
        ...

    def assign_resource_request(
        self, request_id: str, *, resource_id: str, worker_id: str, bill_rate: Decimal | None = None
    ) -> bool:
        """Assign the request to the resource unless someone else holds it: True when it is this worker's (now or
        from an earlier call), False when another resource took it first. A conditional write: of two new hires
        at once, one gets the request. ``bill_rate``: the resource's, billed on the assignment (Certinia: with the
        request's schedule, billable)."""
        ...
