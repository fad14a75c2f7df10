"""Records the ports hand the workflows beyond the canonical entities: a client's purchase order (ERP), a
project template (PSA) and an employee as payroll knows them (HRIS).

They live here, beside the entities, because both the connectors (which fill them) and the workflows (which
read them) need them; in a workflow's package they would make the connectors import the workflow that imports
the connectors.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated

from pydantic import ConfigDict, Field, StringConstraints

from backoffice.models.entities import (
    Address,
    BankAccount,
    BillingModel,
    CanonicalModel,
    EmailAddress,
    SensitiveStr,
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
