"""Certinia PSA (its objects on the Salesforce org) as the PSA port: projects, staffing, and the invoicing reads.

Projects are ``pse__Proj__c``, resource requests ``pse__Resource_Request__c``, allocations the assignments'
schedules, milestones ``pse__Milestone__c``; the field names that differ between orgs are ``CertiniaSettings``.

Invoicing on Certinia (the ``PsaPort`` invoicing methods):

- Time comes from the timecard *splits* (``pse__Timecard__c``), one ``TimeEntry`` per day with hours
  (``<split id>-<mon|tue|...>``), not from the headers: Certinia splits a weekly timecard at time-period and
  assignment boundaries and bills splits (a project counts its ``pse__Billing_Eligible_Timecard_Splits__c``), so a
  week that straddles a month end is two splits, each billed with its own period, and marking one billed never marks
  days of the other. (``timecard_object`` may name ``pse__Timecard_Header__c`` for an org that bills whole weeks.)
- Expenses are ``pse__Expense__c``; projects ``pse__Proj__c``, those active or ending on or after the period's start.
  What an expense's receipt says (total, date, number, tip) and the card or advance it went on have no standard
  fields: ``expense_fact_fields`` names the org's own, and the anomaly scorer's receipt checks read them.
- The contract of a project is its statement of work, which Certinia keeps on the won opportunity: the contract id
  is the opportunity id (``Project.contract_id``), read as a ``sow`` contract with the project's billing type, dates
  and milestones (the fixed fee is the opportunity amount).
- The rate card is the account's ``pse__Rate_Card__c`` records (one per role), else the org's standard ones (no
  account) in the project's currency; a role with several dated records takes the latest.
- ``mark_billed`` checks ``pse__Billed__c`` and ``pse__Invoiced__c`` (``billed_fields``) on the splits, expenses
  and milestones and writes the ERP invoice id into ``invoice_id_field`` (a Text field the firm adds, like the
  external-id field), so a line read back carries its invoice (BR2); a line billed in Certinia itself reads as
  billed too. A split is billed whole. Lines already billed are left alone, so a retry changes nothing.
- ``return_lines`` sends time back by rejecting its timecard (the header's ``pse__Status__c`` = ``Rejected``;
  Certinia carries the status to the splits) and expenses by rejecting them; a write-off sets
  ``pse__Exclude_from_Billing__c``. The reason goes to ``review_note_field``. Billed lines are left alone.
- ``approve_lines`` (the weekly time and expense review, ``TimeExpensePsaPort``) approves the same way: the
  timecard header's ``pse__Status__c`` = ``Approved``, expenses one by one, who and why in ``review_note_field``.
- Finance close (``ClosePsaPort``): ``get_account`` reads the Account a client's projects hang off, with the CRM's
  Account mapping (``salesforce_crm.client_of_account``); a client known by the ERP's customer id (the project's
  ``erp_customer_field``) keeps that id.
- Revenue recognition (``RevenuePsaPort``): ``project_estimate`` reads the project's estimate at completion from
  its fields (``estimate_hours_field``, default ``pse__Estimated_Hours_at_Completion__c``, and
  ``estimate_cost_field``); a field that is empty or 0 (Certinia's roll-ups read 0 on a project never estimated)
  is no estimate, and a project with neither, or no such project, has none (None).
- Resource onboarding (``ResourcePsaPort``): a new hire is a ``Contact`` with ``pse__Is_Resource__c``, keyed by the
  HRIS's worker id in the external-id field (a rehire finds and updates it): ``pse__Resource_Role__c``,
  ``pse__Practice__c`` (the practice found by name), ``pse__Default_Cost_Rate__c``, the bill rate in
  ``resource_bill_rate_field``, ``pse__Start_Date__c``, a ``pse__Work_Calendar__c`` of the weekly hours (found by
  name, else created once), ``ReportsToId`` (the manager's resource) and one ``pse__Skill_Certification_Rating__c``
  per skill the org's ``pse__Skill__c`` knows. The first assignment is a ``pse__Assignment__c`` created (POST, not
  upsert) with the request's key in the external-id field, unique in the org: of two hires at once Salesforce
  refuses the second (``DUPLICATE_VALUE``), which then reads whose the assignment is. It is staffed on the request's
  ``pse__Schedule__c`` (its dates and SOW hours, created once per request) and billable at the resource's bill rate
  (``pse__Bill_Rate__c``, ``pse__Is_Billable__c``). A practice the org does not know is reported, not blanked.
- Updates go through sObject Collections (``PATCH .../composite/sobjects``, 200 records a call, all or none).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Literal
from urllib.parse import quote

from backoffice.connectors.http import error_for_status, external_id, tagged
from backoffice.connectors.ports import (
    Allocation,
    Created,
    Page,
    PsaResource,
    RecordNotFound,
    ResourceRequest,
    ResourceSaved,
    UnreadableLine,
)
from backoffice.connectors.salesforce_api import (
    SALESFORCE_ID,
    SYSTEM,
    SalesforceApi,
    salesforce_id,
    soql_literal,
)
from backoffice.connectors.salesforce_crm import account_fields, client_of_account
from backoffice.connectors.salesforce_records import (
    decimal_or_none,
    line_or_unreadable,
    load_record,
    read_field,
)
from backoffice.models import (
    Client,
    Contract,
    ExpenseEntry,
    Milestone,
    Project,
    ProjectBudget,
    ProjectEstimate,
    ProjectTemplate,
    RateCard,
    TimeEntry,
)

_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

_PROJECT = "pse__Proj__c"
_MILESTONE = "pse__Milestone__c"
_RESOURCE_REQUEST = "pse__Resource_Request__c"
_TIMECARD = "pse__Timecard_Header__c"
_EXPENSE = "pse__Expense__c"
_RATE_CARD = "pse__Rate_Card__c"
_ASSIGNMENT = "pse__Assignment__c"
# -- resource onboarding --
_CONTACT = "Contact"
_WORK_CALENDAR = "pse__Work_Calendar__c"
_PRACTICE = "pse__Practice__c"
_SKILL = "pse__Skill__c"
_SKILL_RATING = "pse__Skill_Certification_Rating__c"
_SCHEDULE = "pse__Schedule__c"
_ENTRY_ID = re.compile(r"^([A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?)-(mon|tue|wed|thu|fri|sat|sun)$")
_EXPENSE_STATUS = {
    "draft": "draft",
    "submitted": "submitted",
    "approved": "approved",
    "rejected": "rejected",
}
_STATUS_BY_STAGE = {"completed": "completed", "canceled": "cancelled", "cancelled": "cancelled"}
_TIMECARD_STATUS = {
    "saved": "draft",
    "submitted": "submitted",
    "approved": "approved",
    "rejected": "rejected",
}
_CENT = Decimal("0.01")


class CertiniaPsa:
    """``PsaPort`` on Certinia PSA: projects, resource requests, assignments; also milestones and timecards."""

    system = SYSTEM

    def __init__(self, api: SalesforceApi) -> None:
        self.api = api
        self.settings = api.settings.certinia

    def _project_fields(self) -> list[str]:
        fields = [
            "Id",
            "Name",
            "pse__Account__c",
            "pse__Opportunity__c",
            "pse__Stage__c",
            "pse__Billing_Type__c",
            "pse__Start_Date__c",
            "pse__End_Date__c",
            self.settings.project_code_field,
        ]
        if self.settings.erp_customer_field:
            fields.append(self.settings.erp_customer_field)
        if self.api.settings.multi_currency:
            fields.append("CurrencyIsoCode")
        return fields

    def _project(self, record: Mapping[str, Any]) -> Project:
        by_label = self.settings.billing_types
        erp_field = self.settings.erp_customer_field
        client_id = (record.get(erp_field) if erp_field else None) or record.get("pse__Account__c")
        project: Project = load_record(
            Project,
            {
                "id": record.get("Id"),
                "project_name": record.get("Name"),
                "client_id": client_id,
                "opportunity_id": record.get("pse__Opportunity__c"),
                # The SOW is the won opportunity (see get_contract).
                "contract_id": record.get("pse__Opportunity__c"),
                "status": _STATUS_BY_STAGE.get(str(record.get("pse__Stage__c") or "").lower(), "open"),
                "billing_model": by_label.get(str(record.get("pse__Billing_Type__c")), "time_and_materials"),
                "currency": record.get("CurrencyIsoCode") or self.api.settings.default_currency,
                "expected_start_date": record.get("pse__Start_Date__c"),
                "expected_end_date": record.get("pse__End_Date__c"),
            },
            _PROJECT,
        )
        return project

    def get_project(self, project_id: str) -> Project:
        record_id = salesforce_id(project_id, "project")
        return self._project(
            self.api.get_record(_PROJECT, record_id, self._project_fields(), operation="get_project")
        )

    def find_project_by_opportunity(self, opportunity_id: str) -> Project | None:
        record_id = salesforce_id(opportunity_id, "opportunity")
        for record in self.api.query(
            f"SELECT {', '.join(self._project_fields())} FROM {_PROJECT} "
            f"WHERE pse__Opportunity__c = {soql_literal(record_id)} ORDER BY CreatedDate LIMIT 1",
            operation="find_project_by_opportunity",
        ):
            return self._project(record)
        return None

    def create_project(self, project: Project, *, idempotency_key: str) -> Created:
        labels = {model: label for label, model in self.settings.billing_types.items()}
        body: dict[str, Any] = {
            "Name": project.project_name,
            "pse__Stage__c": "Planned",
            "pse__Is_Active__c": project.status == "open",
            "pse__Billing_Type__c": labels.get(project.billing_model, project.billing_model),
            "pse__Start_Date__c": project.expected_start_date,
            "pse__End_Date__c": project.expected_end_date,
            self.settings.project_code_field: project.id,
        }
        if self.api.settings.multi_currency:
            body["CurrencyIsoCode"] = project.currency
        if self.settings.erp_customer_field:
            body[self.settings.erp_customer_field] = project.client_id
        if project.opportunity_id and SALESFORCE_ID.match(project.opportunity_id):
            body["pse__Opportunity__c"] = project.opportunity_id
            # The project's account is the deal's account in the CRM (the client id is the ERP's).
            opportunity = self.api.get_record(
                "Opportunity", project.opportunity_id, ["AccountId"], operation="get_opportunity"
            )
            if opportunity.get("AccountId"):
                body["pse__Account__c"] = opportunity["AccountId"]
        return self.api.create_once(_PROJECT, idempotency_key, body, operation="create_project")

    def create_resource_request(self, request: ResourceRequest, *, idempotency_key: str) -> Created:
        notes = []
        if request.skills:
            notes.append("Skills: " + ", ".join(request.skills))
        if request.candidate_ids:
            notes.append("Proposed: " + ", ".join(request.candidate_ids))
        notes.extend(f"Conflict: {c}" for c in request.conflicts)
        body = {
            "pse__Project__c": salesforce_id(request.project_id, "project"),
            "pse__Resource_Role__c": request.role,
            "pse__SOW_Hours__c": request.hours,
            "pse__Start_Date__c": request.start,
            "pse__End_Date__c": request.end,
            "pse__Status__c": self.settings.resource_request_status,
            "pse__Notes__c": "\n".join(notes) or None,
        }
        return self.api.create_once(
            _RESOURCE_REQUEST, idempotency_key, body, operation="create_resource_request"
        )

    def allocations(self, start: date, end: date) -> list[Allocation]:
        worker = self.settings.worker_id_field
        found = []
        for record in self.api.query(
            f"SELECT Id, {worker}, pse__Project__c, pse__Schedule__r.pse__Start_Date__c, "
            "pse__Schedule__r.pse__End_Date__c, pse__Schedule__r.pse__Scheduled_Hours__c "
            f"FROM {_ASSIGNMENT} WHERE pse__Schedule__r.pse__Start_Date__c <= {end.isoformat()} "
            f"AND pse__Schedule__r.pse__End_Date__c >= {start.isoformat()}",
            operation="list_assignments",
        ):
            a_start = date.fromisoformat(str(read_field(record, "pse__Schedule__r.pse__Start_Date__c")))
            a_end = date.fromisoformat(str(read_field(record, "pse__Schedule__r.pse__End_Date__c")))
            hours = decimal_or_none(
                read_field(record, "pse__Schedule__r.pse__Scheduled_Hours__c")
            ) or Decimal(0)
            weeks = Decimal((a_end - a_start).days + 1) / 7
            found.append(
                Allocation(
                    worker_id=str(read_field(record, worker)),
                    project_id=str(record.get("pse__Project__c")),
                    start=a_start,
                    end=a_end,
                    hours_per_week=(hours / max(weeks, Decimal(1))).quantize(_CENT),
                )
            )
        return found

    def next_project_sequence(self, client_code: str, year: int) -> int:
        """One more than the highest sequence among the client's project codes of the year (``CODE-YYYY-NNN``).

        Certinia keeps no sequence; two projects planned at the same moment can draw the same number, which the
        project code check of the workflow reports (the projects themselves stay distinct: they are keyed by deal).
        """
        code_field = self.settings.project_code_field
        prefix = f"{client_code}-{year}-"
        highest = 0
        for record in self.api.query(
            f"SELECT {code_field} FROM {_PROJECT} WHERE {code_field} LIKE {soql_literal(prefix + '%')}",
            operation="list_project_codes",
        ):
            tail = str(record.get(code_field) or "")[len(prefix) :]
            if tail.isdigit():
                highest = max(highest, int(tail))
        return highest + 1

    def project_templates(self) -> list[ProjectTemplate]:
        return list(self.settings.project_templates)

    def milestones(self, project_id: str) -> list[Milestone]:
        record_id = salesforce_id(project_id, "project")
        found = []
        for record in self.api.query(
            "SELECT Id, Name, pse__Milestone_Amount__c, pse__Target_Date__c, pse__Status__c, pse__Approved__c, "
            f"pse__Actual_Date__c, pse__Invoiced__c FROM {_MILESTONE} WHERE pse__Project__c = {soql_literal(record_id)} "
            "ORDER BY pse__Target_Date__c",
            operation="list_milestones",
        ):
            status = str(record.get("pse__Status__c") or "").lower()
            if record.get("pse__Invoiced__c"):
                state = "invoiced"
            elif record.get("pse__Approved__c") or status == "approved":
                state = "accepted"
            elif status in ("complete", "completed", "delivered"):
                state = "delivered"
            else:
                state = "planned"
            found.append(
                load_record(
                    Milestone,
                    {
                        "id": record.get("Id"),
                        "name": record.get("Name"),
                        "amount": record.get("pse__Milestone_Amount__c") or 0,
                        "due_date": record.get("pse__Target_Date__c"),
                        "status": state,
                        "accepted_date": record.get("pse__Actual_Date__c")
                        if state in ("accepted", "invoiced")
                        else None,
                    },
                    _MILESTONE,
                )
            )
        return found

    def time_entries(self, start: date, end: date, project_id: str | None = None) -> list[TimeEntry]:
        """Every time entry of the period (of one project, if given), across pages."""
        found: list[TimeEntry] = []
        token: str | None = None
        while True:
            page = self.list_time_entries(start, end, token)
            found.extend(
                e
                for e in page.items
                if isinstance(e, TimeEntry) and (project_id is None or e.project_id == project_id)
            )
            token = page.next_token
            if not token:
                return found

    # -- invoicing ---------------------------------------------------------------------------------------------

    def list_billable_projects(self, start: date, end: date, page_token: str | None = None) -> Page[Project]:
        records, following = self._page(
            f"SELECT {', '.join(self._project_fields())} FROM {_PROJECT} "
            "WHERE (pse__Is_Active__c = true OR pse__End_Date__c = null "
            f"OR pse__End_Date__c >= {start.isoformat()}) ORDER BY Id",
            page_token,
            operation="list_billable_projects",
        )
        return Page([self._project(r) for r in records], following)

    def _timecard_fields(self) -> list[str]:
        settings = self.settings
        return [
            "Id",
            settings.worker_id_field,
            "pse__Project__c",
            "pse__Start_Date__c",
            "pse__End_Date__c",
            "pse__Status__c",
            "pse__Billable__c",
            "pse__Exclude_from_Billing__c",
            settings.bill_rate_field,
            settings.cost_rate_field,
            *(f"pse__{day}_Hours__c" for day in _WEEKDAYS),
            *self._billing_fields(),
            *(["CurrencyIsoCode"] if self.api.settings.multi_currency else []),
            *([settings.overtime_approved_field] if settings.overtime_approved_field else []),
        ]

    def _billing_fields(self) -> list[str]:
        return [*self.settings.billed_fields, self.settings.invoice_id_field, "pse__Billing_Event_Item__c"]

    def _invoice_of(self, record: Mapping[str, Any]) -> str | None:
        """The invoice a line is on: ours, else Certinia's billing event item, else a marker when billed there."""
        ours = record.get(self.settings.invoice_id_field)
        if ours:
            return str(ours)
        if record.get("pse__Billing_Event_Item__c"):
            return str(record["pse__Billing_Event_Item__c"])
        if any(record.get(f) for f in self.settings.billed_fields):
            return f"certinia-billed-{record.get('Id')}"
        return None

    def list_time_entries(
        self, start: date, end: date, page_token: str | None = None
    ) -> Page[TimeEntry | UnreadableLine]:
        sobject = self.settings.timecard_object
        records, following = self._page(
            f"SELECT {', '.join(self._timecard_fields())} FROM {sobject} "
            f"WHERE pse__Start_Date__c <= {end.isoformat()} AND pse__End_Date__c >= {start.isoformat()} "
            "ORDER BY Id",
            page_token,
            operation="list_time_entries",
        )
        return Page([e for r in records for e in self._day_entries(r, start, end)], following)

    def _day_entries(
        self, record: Mapping[str, Any], start: date, end: date
    ) -> list[TimeEntry | UnreadableLine]:
        """One ``TimeEntry`` per day with hours, of the days of the card within the period (a day that does not
        make a valid entry, say 30 hours, is an ``UnreadableLine`` with the reasons)."""
        settings = self.settings
        card_start = date.fromisoformat(str(record["pse__Start_Date__c"]))
        card_end = date.fromisoformat(str(record.get("pse__End_Date__c") or card_start + timedelta(days=6)))
        billable = bool(record.get("pse__Billable__c")) and not record.get("pse__Exclude_from_Billing__c")
        rate = decimal_or_none(read_field(record, settings.bill_rate_field)) or Decimal(0)
        cost = decimal_or_none(read_field(record, settings.cost_rate_field)) or Decimal(0)
        invoice_id = self._invoice_of(record)
        overtime_field = settings.overtime_approved_field
        overtime_approved = bool(read_field(record, overtime_field)) if overtime_field else False
        entries: list[TimeEntry | UnreadableLine] = []
        for offset in range((card_end - card_start).days + 1):
            day = card_start + timedelta(days=offset)
            weekday = _WEEKDAYS[day.weekday()]
            hours = decimal_or_none(record.get(f"pse__{weekday}_Hours__c")) or Decimal(0)
            if hours == 0 or not start <= day <= end:
                continue
            entries.append(
                line_or_unreadable(
                    TimeEntry,
                    "time",
                    {
                        "id": f"{record['Id']}-{weekday[:3].lower()}",
                        "worker_id": read_field(record, settings.worker_id_field),
                        "project_id": record.get("pse__Project__c"),
                        "activity_type": settings.activity_type,
                        "work_date": day.isoformat(),
                        "hours": hours,
                        "is_billable": billable,
                        "billing_hours": hours if billable else 0,
                        "billing_rate": rate if billable else 0,
                        "billing_amount": (rate * hours).quantize(_CENT) if billable else 0,
                        "costing_rate": cost,
                        "currency": record.get("CurrencyIsoCode") or self.api.settings.default_currency,
                        "status": _TIMECARD_STATUS.get(
                            str(record.get("pse__Status__c") or "").lower(), "draft"
                        ),
                        "invoice_id": invoice_id,
                        "overtime_approved": overtime_approved,
                    },
                )
            )
        return entries

    def list_expenses(
        self, start: date, end: date, page_token: str | None = None
    ) -> Page[ExpenseEntry | UnreadableLine]:
        settings = self.settings
        fields = [
            "Id",
            settings.worker_id_field,
            "pse__Project__c",
            "pse__Expense_Date__c",
            "pse__Type__c",
            "pse__Description__c",
            "pse__Amount__c",
            "pse__Billable__c",
            "pse__Exclude_from_Billing__c",
            "pse__Status__c",
            *self._billing_fields(),
            *(["CurrencyIsoCode"] if self.api.settings.multi_currency else []),
            *settings.expense_fact_fields.values(),
        ]
        records, following = self._page(
            f"SELECT {', '.join(fields)} FROM {_EXPENSE} WHERE pse__Expense_Date__c >= {start.isoformat()} "
            f"AND pse__Expense_Date__c <= {end.isoformat()} ORDER BY Id",
            page_token,
            operation="list_expenses",
        )
        expenses: list[ExpenseEntry | UnreadableLine] = []
        for record in records:
            expenses.append(
                line_or_unreadable(
                    ExpenseEntry,
                    "expense",
                    {
                        "id": record.get("Id"),
                        "worker_id": read_field(record, settings.worker_id_field),
                        "project_id": record.get("pse__Project__c"),
                        "expense_date": record.get("pse__Expense_Date__c"),
                        "expense_type": record.get("pse__Type__c") or "Other",
                        "description": record.get("pse__Description__c") or None,
                        "amount": record.get("pse__Amount__c") or 0,
                        "currency": record.get("CurrencyIsoCode") or self.api.settings.default_currency,
                        "is_billable": bool(record.get("pse__Billable__c"))
                        and not record.get("pse__Exclude_from_Billing__c"),
                        "status": _EXPENSE_STATUS.get(
                            str(record.get("pse__Status__c") or "").lower(), "draft"
                        ),
                        "invoice_id": self._invoice_of(record),
                        **{
                            fact: read_field(record, path)
                            for fact, path in settings.expense_fact_fields.items()
                        },
                    },
                )
            )
        return Page(expenses, following)

    def get_contract(self, contract_id: str) -> Contract:
        """The SOW won on the opportunity ``contract_id``, with its project's billing type, dates and milestones."""
        record_id = salesforce_id(contract_id, "contract")
        opportunity = self.api.get_record(
            "Opportunity",
            record_id,
            [
                "Id",
                "AccountId",
                "Name",
                "Amount",
                "CloseDate",
                *(["CurrencyIsoCode"] if self.api.settings.multi_currency else []),
            ],
            operation="get_contract",
        )
        project = self.find_project_by_opportunity(record_id)
        billing_model = project.billing_model if project else "time_and_materials"
        amount = opportunity.get("Amount")
        contract: Contract = load_record(
            Contract,
            {
                "id": opportunity.get("Id"),
                "kind": "sow",
                "client_id": project.client_id if project else opportunity.get("AccountId"),
                "opportunity_id": opportunity.get("Id"),
                "title": opportunity.get("Name"),
                "billing_model": billing_model,
                "currency": (project.currency if project else None)
                or opportunity.get("CurrencyIsoCode")
                or self.api.settings.default_currency,
                "fixed_fee": amount if billing_model == "fixed_fee" and amount is not None else None,
                "payment_terms_days": self.settings.contract_payment_terms_days,
                "effective_date": (project.expected_start_date if project else None)
                or opportunity.get("CloseDate"),
                "end_date": project.expected_end_date if project else None,
                "milestones": [m.to_json_dict() for m in self.milestones(project.id)] if project else [],
            },
            "Opportunity",
        )
        return contract

    def project_rate_card(self, project_id: str) -> RateCard | None:
        record_id = salesforce_id(project_id, "project")
        project_record = self.api.get_record(
            _PROJECT, record_id, self._project_fields(), operation="project_rate_card"
        )
        project = self._project(project_record)
        fields = [
            "Id",
            "pse__Role__c",
            "pse__Account__c",
            "pse__Suggested_Bill_Rate__c",
            "pse__Average_Cost_Rate__c",
            "pse__Start_Date__c",
            "pse__End_Date__c",
            *(["CurrencyIsoCode"] if self.api.settings.multi_currency else []),
        ]
        select = f"SELECT {', '.join(fields)} FROM {_RATE_CARD} WHERE "
        account = project_record.get("pse__Account__c")
        records: list[dict[str, Any]] = []
        if account:
            records = list(
                self.api.query(
                    select + f"pse__Account__c = {soql_literal(str(account))} ORDER BY pse__Start_Date__c",
                    operation="list_rate_cards",
                )
            )
        client_id: str | None = project.client_id
        if not records:
            client_id = None
            currency = (
                f" AND CurrencyIsoCode = {soql_literal(project.currency)}"
                if self.api.settings.multi_currency
                else ""
            )
            records = list(
                self.api.query(
                    select + f"pse__Account__c = null{currency} ORDER BY pse__Start_Date__c",
                    operation="list_rate_cards",
                )
            )
        if not records:
            return None
        lines: dict[tuple[str | None, str], dict[str, Any]] = {}
        for record in records:  # oldest first: a later record of the same role replaces an earlier one
            currency_code = record.get("CurrencyIsoCode") or self.api.settings.default_currency
            role = record.get("pse__Role__c") or None
            lines[(role, currency_code)] = {
                "role": role,
                "activity_type": self.settings.activity_type,
                "currency": currency_code,
                "billing_rate": record.get("pse__Suggested_Bill_Rate__c") or 0,
                "costing_rate": record.get("pse__Average_Cost_Rate__c") or 0,
            }
        starts = [str(r["pse__Start_Date__c"]) for r in records if r.get("pse__Start_Date__c")]
        ends = [r.get("pse__End_Date__c") for r in records]
        card: RateCard = load_record(
            RateCard,
            {
                "id": f"rate-cards-{account}" if client_id else f"rate-cards-standard-{project.currency}",
                "name": "Certinia rate cards of the account" if client_id else "Certinia standard rate cards",
                "client_id": client_id,
                # Rate cards without a start date apply since always.
                "effective_date": min(starts) if starts else "1970-01-01",
                "end_date": None if not ends or None in ends else max(str(e) for e in ends),
                "lines": list(lines.values()),
            },
            _RATE_CARD,
        )
        return card

    # -- finance close ---------------------------------------------------------------------------------------

    def get_account(self, client_id: str) -> Client:
        """The Account the client's projects hang off, as the canonical ``Client`` (the CRM's mapping). The PSA
        knows a client by the ERP's customer id when the org keeps it on the project (``erp_customer_field``):
        such an id finds the Account of the client's newest project, and the client keeps the id it was asked
        by, so the finance close compares it with the ERP's customer of that id. A Salesforce id is the Account's."""
        erp_field = self.settings.erp_customer_field
        if SALESFORCE_ID.match(client_id):
            account_id = client_id
        elif erp_field:
            account_id = ""
            for record in self.api.query(
                f"SELECT Id, pse__Account__c FROM {_PROJECT} WHERE {erp_field} = {soql_literal(client_id)} "
                "AND pse__Account__c != null ORDER BY CreatedDate DESC LIMIT 1",
                operation="find_account",
            ):
                account_id = str(record.get("pse__Account__c") or "")
            if not account_id:
                raise tagged(RecordNotFound(f"salesforce has no project of client {client_id}"), SYSTEM)
        else:
            raise tagged(RecordNotFound("client id is not a Salesforce id"), SYSTEM)
        record = self.api.get_record(
            "Account", account_id, account_fields(self.api.settings), operation="get_account"
        )
        return client_of_account(record, self.api.settings, client_id)

    # -- revenue recognition -----------------------------------------------------------------------------------

    def project_estimate(self, project_id: str) -> ProjectEstimate | None:
        """The project's estimate at completion (hours, cost) from its fields; None when it has none (both empty
        or 0) or there is no such project: the revenue run makes that a finding of the project."""
        fields = [f for f in (self.settings.estimate_hours_field, self.settings.estimate_cost_field) if f]
        if not fields:
            return None
        try:
            record_id = salesforce_id(project_id, "project")
            record = self.api.get_record(_PROJECT, record_id, ["Id", *fields], operation="project_estimate")
        except RecordNotFound:
            return None

        def figure(field: str | None) -> Decimal | None:
            value = decimal_or_none(read_field(record, field)) if field else None
            return value if value else None  # empty or 0: not estimated

        hours, cost = figure(self.settings.estimate_hours_field), figure(self.settings.estimate_cost_field)
        if hours is None and cost is None:
            return None
        estimate: ProjectEstimate = load_record(ProjectEstimate, {"hours": hours, "cost": cost}, _PROJECT)
        return estimate

    # -- purchasing ----

    def project_budget(self, project_id: str) -> ProjectBudget:
        """The project's approved budget (the sum of its ``pse__Budget__c`` records in ``budget_status``; None when
        it has none), its actual cost (its cost roll-ups) and its owner; RecordNotFound: no such project."""
        settings = self.settings
        record_id = salesforce_id(project_id, "project")
        owner_fields = [f for f in (settings.project_owner_field, settings.project_owner_email_field) if f]
        fields = ["Id", "Name", "pse__Stage__c", *owner_fields, *settings.actual_cost_fields]
        if self.api.settings.multi_currency:
            fields.append("CurrencyIsoCode")
        # A query, not a retrieve: the owner is read through the project manager's Contact (a relationship path).
        record = next(
            iter(
                self.api.query(
                    f"SELECT {', '.join(fields)} FROM {_PROJECT} WHERE Id = {soql_literal(record_id)}",
                    operation="project_budget",
                )
            ),
            None,
        )
        if record is None:
            raise tagged(RecordNotFound(f"salesforce has no project {project_id}"), SYSTEM)
        amounts = [
            decimal_or_none(budget.get("pse__Amount__c")) or Decimal(0)
            for budget in self.api.query(
                f"SELECT Id, pse__Amount__c FROM pse__Budget__c WHERE pse__Project__c = {soql_literal(record_id)} "
                f"AND pse__Status__c = {soql_literal(settings.budget_status)}",
                operation="project_budget",
            )
        ]
        actual = sum(
            (
                decimal_or_none(read_field(record, field)) or Decimal(0)
                for field in settings.actual_cost_fields
            ),
            Decimal(0),
        )
        budget: ProjectBudget = load_record(
            ProjectBudget,
            {
                "project_id": project_id,
                "project_name": record.get("Name"),
                "status": _STATUS_BY_STAGE.get(str(record.get("pse__Stage__c") or "").lower(), "open"),
                "owner_id": read_field(record, settings.project_owner_field)
                if settings.project_owner_field
                else None,
                "owner_email": (
                    read_field(record, settings.project_owner_email_field)
                    if settings.project_owner_email_field
                    else None
                ),
                "currency": record.get("CurrencyIsoCode") or self.api.settings.default_currency,
                "budget": sum(amounts, Decimal(0)) if amounts else None,
                "actual_cost": actual,
            },
            _PROJECT,
        )
        return budget

    def mark_billed(
        self,
        invoice_id: str,
        *,
        time_entry_ids: Sequence[str],
        expense_ids: Sequence[str],
        milestone_ids: Sequence[str] = (),
    ) -> None:
        billed = {
            **dict.fromkeys(self.settings.billed_fields, True),
            self.settings.invoice_id_field: invoice_id,
        }
        for sobject, ids in (
            (self.settings.timecard_object, _card_ids(time_entry_ids)),
            (_EXPENSE, [salesforce_id(i, "expense") for i in expense_ids]),
            (_MILESTONE, [salesforce_id(i, "milestone") for i in milestone_ids]),
        ):
            if not ids:
                continue
            found = self.api.records_by_id(
                sobject, ids, ["Id", *self._billing_fields()], operation="mark_billed"
            )
            _all_found(sobject, ids, found)
            unbilled = {i: billed for i in found if self._invoice_of(found[i]) is None}
            if unbilled:
                self.api.update_records(sobject, unbilled, operation="mark_billed")

    def return_lines(
        self,
        *,
        time_entry_ids: Sequence[str],
        expense_ids: Sequence[str],
        action: Literal["send_back", "write_off"],
        reason: str,
    ) -> None:
        note = {self.settings.review_note_field: reason} if self.settings.review_note_field else {}
        card_object = self.settings.timecard_object
        card_ids = _card_ids(time_entry_ids)
        header_field = "Id" if card_object == _TIMECARD else "pse__Timecard_Header__c"
        for sobject, ids in (
            (card_object, card_ids),
            (_EXPENSE, [salesforce_id(i, "expense") for i in expense_ids]),
        ):
            if not ids:
                continue
            fields = ["Id", *self._billing_fields(), *([header_field] if sobject == card_object else [])]
            found = self.api.records_by_id(
                sobject, ids, list(dict.fromkeys(fields)), operation="return_lines"
            )
            _all_found(sobject, ids, found)
            open_lines = [
                i for i in found if self._invoice_of(found[i]) is None
            ]  # billed meanwhile: left alone
            if not open_lines:
                continue
            if action == "write_off":
                self.api.update_records(
                    sobject,
                    {i: {"pse__Exclude_from_Billing__c": True, **note} for i in open_lines},
                    operation="return_lines",
                )
            elif sobject == card_object:
                # Certinia approves and rejects whole timecards: the header, which passes its status to the splits.
                headers = {str(found[i][header_field]) for i in open_lines if found[i].get(header_field)}
                self.api.update_records(
                    _TIMECARD,
                    {h: {"pse__Status__c": "Rejected", **note} for h in sorted(headers)},
                    operation="return_lines",
                )
            else:
                self.api.update_records(
                    sobject,
                    {i: {"pse__Status__c": "Rejected", **note} for i in open_lines},
                    operation="return_lines",
                )

    def approve_lines(
        self,
        *,
        time_entry_ids: Sequence[str],
        expense_ids: Sequence[str],
        approver: str,
        note: str | None = None,
    ) -> None:
        """Approve time by approving its timecard (the header's ``pse__Status__c`` = ``Approved``, which Certinia
        carries to the splits, as ``return_lines`` rejects it) and expenses one by one; who approved and why go
        to ``review_note_field``. Billed lines are left alone."""
        said = f"approved by {approver}" + (f": {note}" if note else "")
        noted = {self.settings.review_note_field: said} if self.settings.review_note_field else {}
        card_object = self.settings.timecard_object
        header_field = "Id" if card_object == _TIMECARD else "pse__Timecard_Header__c"
        for sobject, ids in (
            (card_object, _card_ids(time_entry_ids)),
            (_EXPENSE, [salesforce_id(i, "expense") for i in expense_ids]),
        ):
            if not ids:
                continue
            fields = ["Id", *self._billing_fields(), *([header_field] if sobject == card_object else [])]
            found = self.api.records_by_id(
                sobject, ids, list(dict.fromkeys(fields)), operation="approve_lines"
            )
            _all_found(sobject, ids, found)
            open_lines = [i for i in found if self._invoice_of(found[i]) is None]
            if not open_lines:
                continue
            if sobject == card_object:
                headers = {str(found[i][header_field]) for i in open_lines if found[i].get(header_field)}
                updates = {h: {"pse__Status__c": "Approved", **noted} for h in sorted(headers)}
                self.api.update_records(_TIMECARD, updates, operation="approve_lines")
            else:
                updates = {i: {"pse__Status__c": "Approved", **noted} for i in open_lines}
                self.api.update_records(sobject, updates, operation="approve_lines")

    # -- resource onboarding (issue #22) ---------------------------------------------------------------------

    def standard_rate_card(self, currency: str, *, as_of: date | None = None) -> RateCard | None:
        """The org's standard rate cards (no account) in ``currency``, one line per role, the latest per role in force
        on ``as_of`` (started by then, not ended before; None: the latest)."""
        fields = [
            "Id",
            "pse__Role__c",
            "pse__Suggested_Bill_Rate__c",
            "pse__Average_Cost_Rate__c",
            "pse__Start_Date__c",
            "pse__End_Date__c",
            *(["CurrencyIsoCode"] if self.api.settings.multi_currency else []),
        ]
        where = "pse__Account__c = null" + (
            f" AND CurrencyIsoCode = {soql_literal(currency)}" if self.api.settings.multi_currency else ""
        )
        records = list(
            self.api.query(
                f"SELECT {', '.join(fields)} FROM {_RATE_CARD} WHERE {where} ORDER BY pse__Start_Date__c",
                operation="standard_rate_card",
            )
        )
        lines: dict[str, dict[str, Any]] = {}
        kept: list[dict[str, Any]] = []
        for record in records:  # oldest first: a later record of the same role replaces an earlier one
            role = record.get("pse__Role__c")
            if not role or (record.get("CurrencyIsoCode") or self.api.settings.default_currency) != currency:
                continue
            if as_of is not None and not _in_force(record, as_of):
                continue
            kept.append(record)
            lines[str(role)] = {
                "role": role,
                "activity_type": self.settings.activity_type,
                "currency": currency,
                "billing_rate": record.get("pse__Suggested_Bill_Rate__c") or 0,
                "costing_rate": record.get("pse__Average_Cost_Rate__c") or 0,
            }
        if not lines:
            return None
        starts = [str(r["pse__Start_Date__c"]) for r in kept if r.get("pse__Start_Date__c")]
        card: RateCard = load_record(
            RateCard,
            {
                "id": f"rate-cards-standard-{currency}",
                "name": "Certinia standard rate cards",
                "effective_date": min(starts) if starts else "1970-01-01",
                "lines": list(lines.values()),
            },
            _RATE_CARD,
        )
        return card

    def _by_key(
        self, sobject: str, key: str, fields: Sequence[str], *, operation: str
    ) -> dict[str, Any] | None:
        """The record whose external-id field holds ``key`` (as ``create_once`` writes it), or None."""
        value = external_id(key)
        path = f"sobjects/{sobject}/{self.api.settings.external_id_field}/{quote(value, safe='')}"
        found = self.api.call(
            "GET",
            path,
            operation=operation,
            record_id=value,
            params={"fields": ",".join(fields)},
            allow=(404,),
        )
        return dict(found.json() or {}) if found.status == 200 else None

    def _one_by_name(self, sobject: str, name: str, *, operation: str) -> str | None:
        for record in self.api.query(
            f"SELECT Id FROM {sobject} WHERE Name = {soql_literal(name)} LIMIT 1", operation=operation
        ):
            return str(record["Id"])
        return None

    def _work_calendar(self, weekly_hours: Decimal) -> str:
        """The work calendar of ``weekly_hours`` over Monday to Friday: the org's of that name, else created once."""
        hours = f"{weekly_hours.normalize():f}"  # 40, 37.5: never 4E+1
        name = f"{hours} hours a week"
        found = self._one_by_name(_WORK_CALENDAR, name, operation="find_work_calendar")
        if found:
            return found
        day = (weekly_hours / 5).quantize(_CENT)
        body: dict[str, Any] = {"Name": name, "pse__Week_Start_Day__c": "Monday"}
        for weekday in _WEEKDAYS:
            body[f"pse__{weekday}_Hours__c"] = day if weekday not in ("Saturday", "Sunday") else 0
        return self.api.create_once(
            _WORK_CALENDAR, f"calendar:{hours}", body, operation="create_work_calendar"
        ).id

    def save_resource(self, resource: PsaResource) -> ResourceSaved:
        first, _, last = resource.name.rpartition(" ")
        manager = (
            self._by_key(_CONTACT, f"resource:{resource.manager_worker_id}", ["Id"], operation="find_manager")
            if resource.manager_worker_id
            else None
        )
        practice = (
            self._one_by_name(_PRACTICE, resource.practice, operation="find_practice")
            if resource.practice
            else None
        )
        body: dict[str, Any] = {
            "FirstName": first or None,
            "LastName": last or resource.name,
            "Email": resource.email,
            "pse__Is_Resource__c": True,
            "pse__Is_Resource_Active__c": True,
            "pse__Resource_Role__c": resource.role,
            "pse__Default_Cost_Rate__c": resource.cost_rate,
            "pse__Start_Date__c": resource.start_date,
            "pse__Work_Calendar__c": self._work_calendar(resource.weekly_hours),
            "ReportsToId": manager["Id"] if manager else None,
        }
        if practice or not resource.practice:
            body["pse__Practice__c"] = practice
        # else: the org has no practice of that name: left as it was (not blanked), and reported
        if self.settings.resource_bill_rate_field:
            body[self.settings.resource_bill_rate_field] = resource.bill_rate
        if self.api.settings.multi_currency:
            body["CurrencyIsoCode"] = resource.currency
        saved = self.api.create_once(
            _CONTACT, f"resource:{resource.worker_id}", body, operation="create_resource"
        )
        if not saved.created:  # a rehire or a retry: the worker's resource, brought up to the new hire
            self.api.update_records(_CONTACT, {saved.id: body}, operation="update_resource")
        unknown = self._rate_skills(saved.id, resource)
        return ResourceSaved(
            saved.id,
            saved.created,
            manager["Id"] if manager else None,
            unknown,
            resource.practice if resource.practice and not practice else None,
        )

    def _rate_skills(self, contact_id: str, resource: PsaResource) -> tuple[str, ...]:
        """One skill rating per skill the org knows (by name); the names it does not know, left off."""
        if not resource.skills:
            return ()
        names = ", ".join(soql_literal(skill) for skill in resource.skills)
        known = {
            str(record["Name"]): str(record["Id"])
            for record in self.api.query(
                f"SELECT Id, Name FROM {_SKILL} WHERE Name IN ({names})", operation="list_skills"
            )
        }
        for skill in resource.skills:
            if skill in known:
                self.api.create_once(
                    _SKILL_RATING,
                    f"skill:{resource.worker_id}:{skill}",
                    {
                        "pse__Resource__c": contact_id,
                        "pse__Skill_Certification__c": known[skill],
                        "pse__Rating__c": self.settings.initial_skill_rating,
                    },
                    operation="rate_skill",
                )
        return tuple(skill for skill in resource.skills if skill not in known)

    def open_resource_requests(self, role: str) -> list[ResourceRequest]:
        found = []
        for record in self.api.query(
            "SELECT Id, pse__Project__c, pse__Resource_Role__c, pse__SOW_Hours__c, pse__Start_Date__c, "
            f"pse__End_Date__c, pse__Status__c FROM {_RESOURCE_REQUEST} "
            f"WHERE pse__Resource_Role__c = {soql_literal(role)} "
            f"AND pse__Status__c = {soql_literal(self.settings.resource_request_status)} "
            "AND pse__Assignment__c = null ORDER BY pse__Start_Date__c",
            operation="open_resource_requests",
        ):
            if not record.get("pse__Start_Date__c") or not record.get("pse__End_Date__c"):
                continue  # a request without dates is not ready to staff
            found.append(
                ResourceRequest(
                    project_id=str(record.get("pse__Project__c")),
                    role=role,
                    hours=decimal_or_none(record.get("pse__SOW_Hours__c")) or Decimal(0),
                    start=date.fromisoformat(str(record["pse__Start_Date__c"])),
                    end=date.fromisoformat(str(record["pse__End_Date__c"])),
                    status="open",
                    id=str(record["Id"]),
                )
            )
        return found

    def assign_resource_request(
        self, request_id: str, *, resource_id: str, worker_id: str, bill_rate: Decimal | None = None
    ) -> bool:
        """Create the assignment keyed by the request: the org's unique external id refuses a second one, so of two
        hires at once one holds it; the loser (or a retry) reads whose it is. Then the request is marked.

        The assignment is staffed on the request's schedule (a ``pse__Schedule__c`` of its dates and hours, created
        once per request) and billable at the resource's bill rate: without them Certinia has no hours to plan and
        no rate to bill the assignment's time at."""
        record_id = salesforce_id(request_id, "resource request")
        request = self.api.get_record(
            _RESOURCE_REQUEST,
            record_id,
            ["Id", "pse__Project__c", "pse__Start_Date__c", "pse__End_Date__c", "pse__SOW_Hours__c"],
            operation="get_resource_request",
        )
        schedule = self.api.create_once(
            _SCHEDULE,
            f"schedule:{record_id}",
            {
                "pse__Start_Date__c": request.get("pse__Start_Date__c"),
                "pse__End_Date__c": request.get("pse__End_Date__c"),
                "pse__Scheduled_Hours__c": decimal_or_none(request.get("pse__SOW_Hours__c")) or Decimal(0),
            },
            operation="create_schedule",
        )
        key = f"assignment:{record_id}"
        value = external_id(key)
        created = self.api.call(
            "POST",
            f"sobjects/{_ASSIGNMENT}",
            operation="create_assignment",
            record_id=value,
            json_body={
                self.api.settings.external_id_field: value,
                "pse__Resource__c": resource_id,
                "pse__Project__c": request.get("pse__Project__c"),
                "pse__Resource_Request__c": record_id,
                "pse__Status__c": self.settings.assignment_status,
                "pse__Schedule__c": schedule.id,
                "pse__Bill_Rate__c": bill_rate if bill_rate is not None else Decimal(0),
                "pse__Is_Billable__c": bill_rate is not None and bill_rate > 0,
            },
            allow=(400,),
        )
        if created.status == 400:
            codes = [str(e.get("errorCode")) for e in created.json() or [] if isinstance(e, dict)]
            if "DUPLICATE_VALUE" not in codes:
                raise error_for_status(
                    created, system=SYSTEM, operation="create_assignment", record_id=value, codes=codes
                )
            holder = self._by_key(_ASSIGNMENT, key, ["Id", "pse__Resource__c"], operation="get_assignment")
            if holder is None or holder.get("pse__Resource__c") != resource_id:
                return False
            assignment_id = str(holder["Id"])
        else:
            assignment_id = str((created.json() or {})["id"])
        self.api.update_records(
            _RESOURCE_REQUEST,
            {
                record_id: {
                    "pse__Status__c": self.settings.assigned_request_status,
                    "pse__Assignment__c": assignment_id,
                    "pse__Staffer_Resource__c": resource_id,
                }
            },
            operation="assign_resource_request",
        )
        return True

    def _page(
        self, soql: str, page_token: str | None, *, operation: str
    ) -> tuple[list[dict[str, Any]], str | None]:
        """A page of a listing: the query's first batch, or the batch ``page_token`` (a ``nextRecordsUrl``) names."""
        if page_token:
            return self.api.query_page(next_url=page_token, operation=operation)
        return self.api.query_page(soql, operation=operation)


def _in_force(record: Mapping[str, Any], as_of: date) -> bool:
    """A rate card record started by ``as_of`` and not ended before it (a missing date: open)."""
    start, end = record.get("pse__Start_Date__c"), record.get("pse__End_Date__c")
    return (not start or date.fromisoformat(str(start)) <= as_of) and (
        not end or date.fromisoformat(str(end)) >= as_of
    )


def _card_ids(time_entry_ids: Sequence[str]) -> list[str]:
    """The timecards of day entries (``<card id>-<day>``); an id of another shape is no entry of ours."""
    cards = []
    for entry_id in time_entry_ids:
        found = _ENTRY_ID.match(entry_id)
        if not found:
            raise tagged(RecordNotFound("a time entry id is not a Certinia timecard day"), SYSTEM)
        cards.append(found[1])
    return sorted(set(cards))


def _all_found(sobject: str, ids: Sequence[str], found: Mapping[str, Any]) -> None:
    missing = sorted(set(ids) - set(found))
    if missing:
        raise tagged(RecordNotFound(f"salesforce has no {sobject} {', '.join(missing)}"), SYSTEM)
