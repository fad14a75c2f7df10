"""Records the ports hand the workflows beyond the canonical entities: a client's purchase order (ERP), a
project template (PSA) and an employee as payroll knows them (HRIS).

They live here, beside the entities, because both the connectors (which fill them) and the workflows (which
read them) need them; in a workflow's package they would make the connectors import the workflow that imports
the connectors.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Literal, Self

from pydantic import ConfigDict, Field, StringConstraints, model_validator

from backoffice.models.entities import (
    Address,
    BankAccount,
    BillingModel,
    CanonicalModel,
    CurrencyCode,
    EmailAddress,
    Identifier,
    SensitiveStr,
    Text,
    invariant_error,
)
from backoffice.models.envelope import JsonModel

Name = Annotated[str, StringConstraints(min_length=1, max_length=300)]
Phone = Annotated[str, StringConstraints(min_length=3, max_length=40)]


class PurchaseOrder(JsonModel):
    """The client's purchase order the invoice must quote (BR8). Not a canonical model yet."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    po_no: str = Field(min_length=1)
    po_date: date
    balance: Decimal  # what is left to invoice against it
    currency: str = Field(min_length=3, max_length=3)


class ProjectPhase(JsonModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    tasks: tuple[str, ...] = ()


class ProjectTemplate(JsonModel):
    """The firm's standard shape of a project for one service line and billing model."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1)
    service_line: str = Field(min_length=1)
    billing_model: BillingModel
    phases: tuple[ProjectPhase, ...] = Field(min_length=1)
    default_roles: tuple[str, ...] = ()


class EmployeeRecord(CanonicalModel):
    """An employee as the HRIS and payroll know them: what a ghost vendor would share with its creator.

    The canonical ``Worker`` has no home address, phone or payroll bank account, which are exactly what the
    vendor-employee comparison needs; this record carries them, keyed by the worker id.
    """

    worker_id: Annotated[str, StringConstraints(min_length=1, max_length=255)]
    name: Name
    email: EmailAddress | None = None
    phone: Phone | None = None
    home_address: Address | None = None
    bank_account: BankAccount | None = None
    tax_id: SensitiveStr | None = None  # SSN, when payroll shares it


class JournalLine(CanonicalModel):
    """One debit or credit of a journal entry, on one account, for one project (the ERP's line-level project,
    NetSuite's customer:job). ``basis`` says where the figure comes from, for the auditor."""

    account: Name  # as the ERP names it: "1250 Unbilled receivables"
    side: Literal["debit", "credit"]
    amount: Annotated[Decimal, Field(gt=0)]
    project_id: Identifier | None = None
    memo: Text
    basis: Text | None = None

    @property
    def debit(self) -> Decimal:
        return self.amount if self.side == "debit" else Decimal(0)

    @property
    def credit(self) -> Decimal:
        return self.amount if self.side == "credit" else Decimal(0)


class JournalEntry(CanonicalModel):
    """A journal entry proposed to finance and posted to the ERP (NetSuite journal entry): one currency, debits
    equal to credits. The ERP keys it on ``idempotency_key``, so a retried or re-run posting books it once."""

    idempotency_key: Identifier
    journal_date: date
    currency: CurrencyCode
    memo: Text
    period_start: date | None = None
    period_end: date | None = None
    lines: list[JournalLine] = Field(min_length=2)

    @model_validator(mode="after")
    def _balanced(self) -> Self:
        if self.total_debits != self.total_credits:
            raise invariant_error("debits do not equal credits")
        return self

    @property
    def total_debits(self) -> Decimal:
        return sum((line.debit for line in self.lines), Decimal(0))

    @property
    def total_credits(self) -> Decimal:
        return sum((line.credit for line in self.lines), Decimal(0))


class ProjectEstimate(JsonModel):
    """A project's estimate at completion as the PSA holds it (Certinia: the project's estimated hours and cost at
    completion): total hours and total cost the project will take. Either may be missing."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    hours: Decimal | None = Field(default=None, ge=0)
    cost: Decimal | None = Field(default=None, ge=0)


class Payment(CanonicalModel):
    """A customer payment, or a credit memo, applied to one posted invoice (NetSuite: a ``CustPymt`` or ``CustCred``
    applied to a ``CustInvc``), in the invoice's currency. A payment that settles several invoices is one record per
    invoice, each with the same ``id``: what the receivables ledger applies is the pair (invoice, id).

    The detail of ``Invoice Paid`` and what ``ReceivablesErpPort.list_payments`` pages. A payment carries
    ``paid_on``, a credit memo ``credited_on``."""

    kind: Literal["payment", "credit_memo"]
    id: Identifier
    invoice_id: Identifier
    client_id: Identifier
    amount: Annotated[Decimal, Field(gt=0)]  # applied to this invoice
    currency: CurrencyCode
    paid_on: date | None = None
    credited_on: date | None = None
    memo: Text | None = None

    @model_validator(mode="after")
    def _dated_by_kind(self) -> Self:
        if self.kind == "payment" and (self.paid_on is None or self.credited_on is not None):
            raise invariant_error("a payment has paid_on and no credited_on")
        if self.kind == "credit_memo" and (self.credited_on is None or self.paid_on is not None):
            raise invariant_error("a credit memo has credited_on and no paid_on")
        return self

    @property
    def dated(self) -> date:
        """The day the money came in, or the credit was given."""
        day = self.paid_on if self.kind == "payment" else self.credited_on
        assert day is not None  # the validator holds it
        return day


# -- purchasing ----


class VendorPurchaseOrder(CanonicalModel):
    """A purchase order the firm issues to a vendor (NetSuite: a ``purchaseorder`` record), once its approval chain
    approved it. Not ``PurchaseOrder``, which is a client's PO the firm invoices against."""

    request_id: Identifier  # the purchase request's id: the order's idempotency key is made of it
    vendor_id: Identifier
    project_id: Identifier
    category: Literal["subcontractor", "software", "travel"]
    description: Text
    amount: Annotated[Decimal, Field(gt=0)]
    currency: CurrencyCode
    order_date: date
    needed_by: date | None = None
    requester_email: EmailAddress
    approved_by: list[Text] = Field(default_factory=list)
    id: Identifier | None = None  # the ERP's, once created
    number: Identifier | None = None  # the ERP's document number (NetSuite: tranId)
    status: Literal["open", "closed", "cancelled"] = "open"


class ProjectBudget(JsonModel):
    """A project's cost budget and its actual cost to date, as the PSA holds them (Certinia: the approved
    ``pse__Budget__c`` records of the project, and its cost roll-ups), in the project's currency."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    project_id: str = Field(min_length=1)
    project_name: str | None = None
    status: Literal["open", "completed", "cancelled"] = "open"
    # The project's owner: the worker (HRIS id) accountable for its budget (Certinia: the project manager).
    owner_id: str | None = None
    # The owner's e-mail, where the PSA gives it rather than (or beside) the HRIS id (Certinia: the project manager
    # Contact's): the HRIS worker is found by it.
    owner_email: str | None = None
    currency: str = Field(min_length=3, max_length=3)
    budget: Decimal | None = Field(default=None, ge=0)  # None: no approved budget in the PSA
    actual_cost: Decimal = Field(default=Decimal(0), ge=0)
