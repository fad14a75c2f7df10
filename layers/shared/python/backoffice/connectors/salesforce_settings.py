"""The settings of the Salesforce adapters: the org and how to reach it, and the Certinia fields the PSA reads.

``SalesforceSettings`` is the ``salesforce`` section of the connectors document (``config.py`` validates it at cold
start): the org's login and API version, the auth flow and its secret, the external-id field creates are keyed by,
and the optional Account fields. ``CertiniaSettings`` is its ``certinia`` part: Certinia field names beyond the objects
of DOMAIN.md (project code, rate and hour fields) differ between orgs and package versions; each one used is a
setting with a default.
"""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from backoffice.connectors.http import Governance
from backoffice.models import EXPENSE_RECEIPT_FACTS, BillingModel, ProjectTemplate
from backoffice.models.envelope import Model

_BILLING_TYPES: dict[str, BillingModel] = {
    "Time and Materials": "time_and_materials",
    "Fixed Price": "fixed_fee",
    "Retainer": "retainer",
}


class CertiniaSettings(Model):
    model_config = ConfigDict(extra="forbid", frozen=True)

    project_code_field: str = "pse__Project_ID__c"
    # Where the ERP's customer id is kept on the project, if the org has such a field.
    erp_customer_field: str | None = None
    # The worker id the HRIS knows, seen from an assignment or a timecard (a relationship path is fine).
    worker_id_field: str = "pse__Resource__c"
    bill_rate_field: str = "pse__Bill_Rate__c"
    cost_rate_field: str = "pse__Cost_Rate_Amount__c"
    activity_type: str = "Consulting"
    billing_types: dict[str, BillingModel] = Field(default_factory=lambda: dict(_BILLING_TYPES))
    resource_request_status: str = "Ready to Staff"
    # Invoicing (see the docstring of salesforce_psa).
    timecard_object: Literal["pse__Timecard__c", "pse__Timecard_Header__c"] = "pse__Timecard__c"
    invoice_id_field: str = "Backoffice_Invoice__c"
    billed_fields: tuple[str, ...] = ("pse__Billed__c", "pse__Invoiced__c")
    review_note_field: str | None = "pse__Audit_Notes__c"
    # What an expense's receipt says, how it was paid and the trip it belongs to, where the org keeps it (custom
    # fields, none by default): an ExpenseEntry fact -> the field's API name, e.g. {"receipt_amount":
    # "Receipt_Total__c", "card_id": "Corporate_Card__c", "trip_id": "pse__Expense_Report__c"}. The anomaly
    # scorer's receipt checks read them, and colleagues' equal charges on one trip are not duplicates.
    expense_fact_fields: dict[str, str] = Field(default_factory=dict)
    # The timecard checkbox that says its overtime was approved beforehand (a custom field; none by default):
    # long days and weekend work on it are not anomalies.
    overtime_approved_field: str | None = None
    # Opportunities carry no payment terms: the terms the SOW contracts are read with.
    contract_payment_terms_days: int = Field(default=30, ge=0, le=365)
    # Certinia's template projects do not carry the phases and roles the product plans with: templates are kept in
    # the connector configuration.
    project_templates: list[ProjectTemplate] = Field(default_factory=list)
    # Revenue recognition reads a project's estimate at completion from these project fields: the hours
    # (Certinia's "Estimated Hours at Completion", actual hours plus the estimated time to completion) and the
    # cost, which Certinia keeps in no standard field (an org's own currency field, e.g. a roll-up of the
    # estimate; None: the cost is not read). None for the hours: hours are not read either.
    estimate_hours_field: str | None = "pse__Estimated_Hours_at_Completion__c"
    estimate_cost_field: str | None = None
    # -- purchasing ----: a project's budget is the sum of its ``pse__Budget__c`` records in ``budget_status``
    # (none: the project has no approved budget); its actual cost to date the sum of its cost roll-ups
    # (``actual_cost_fields``: Certinia's timecard costs and expenses in financials; an org may name its own); its
    # owner, who approves purchases over budget, the project manager: ``pse__Project_Manager__c`` is a Contact Id,
    # not a worker the HRIS knows, so the owner is read through it: ``project_owner_field`` a path to the HRIS worker
    # id the org keeps on the Contact (e.g. "pse__Project_Manager__r.Employee_Id__c"; None: not kept), and
    # ``project_owner_email_field`` the contact's e-mail, by which the HRIS worker is found otherwise.
    budget_status: str = "Approved"
    actual_cost_fields: tuple[str, ...] = (
        "pse__Timecard_Internal_Costs_In_Financials__c",
        "pse__Timecard_External_Costs_In_Financials__c",
        "pse__Billable_Expenses_In_Financials__c",
        "pse__Non_Billable_Expenses_In_Financials__c",
    )
    project_owner_field: str | None = None
    project_owner_email_field: str | None = "pse__Project_Manager__r.Email"
    # -- resource onboarding (issue #22) --
    # Certinia keeps no bill rate on the resource (bill rates are on rate cards and assignments): the Contact field
    # the firm adds for the rate a new hire was set up with (None: not written), and the skill rating a new hire's
    # skills from the HRIS get until a practice lead rates them.
    resource_bill_rate_field: str | None = "Backoffice_Bill_Rate__c"
    initial_skill_rating: str = "3 - Proficient"
    # The status an assigned staffing request gets, and the new assignment's.
    assigned_request_status: str = "Assigned"
    assignment_status: str = "Scheduled"

    @field_validator("expense_fact_fields")
    @classmethod
    def _known_facts(cls, fields: dict[str, str]) -> dict[str, str]:
        known = (*EXPENSE_RECEIPT_FACTS, "trip_id")
        unknown = sorted(set(fields) - set(known))
        if unknown:
            raise ValueError(f"unknown expense facts {', '.join(unknown)}: use {', '.join(known)}")
        return fields


class SalesforceSettings(Model):
    model_config = ConfigDict(extra="forbid", frozen=True)

    auth: Literal["client_credentials", "jwt_bearer"]
    # Where tokens come from: the org's My Domain for client credentials, login.salesforce.com (or
    # test.salesforce.com for a sandbox) for the JWT bearer flow.
    login_url: str = "https://login.salesforce.com"
    jwt_audience: str | None = None  # default: login_url
    client_id: str = Field(min_length=1)
    username: str | None = None  # the integration user (JWT ``sub``)
    # Secrets Manager secret (JSON): {"client_secret": ...} or {"private_key_pem": ...}.
    secret_name: str = Field(min_length=1)
    instance_url: str | None = None  # default: the token response's instance_url
    api_version: str = Field(default="v62.0", pattern=r"^v\d{2,3}\.\d$")
    multi_currency: bool = True  # single-currency orgs have no CurrencyIsoCode field
    default_currency: str = "USD"
    external_id_field: str = "Backoffice_Key__c"
    country_code_field: str | None = "BillingCountryCode"  # None: BillingCountry, when it is a 2-letter code
    account_tax_id_field: str | None = None
    account_billing_email_field: str | None = None
    # The Account field with its payment terms (a custom field: days as a number, or a picklist like "Net 30");
    # None: an account's terms are not read.
    account_payment_terms_field: str | None = None
    sow_title_pattern: str = r"(?i)\b(sow|statement of work)\b"
    governance: Governance = Field(default_factory=Governance)
    certinia: CertiniaSettings = Field(default_factory=CertiniaSettings)

    @model_validator(mode="after")
    def _jwt_needs_user(self) -> SalesforceSettings:
        if self.auth == "jwt_bearer" and not self.username:
            raise ValueError("the JWT bearer flow needs username (the integration user)")
        return self
