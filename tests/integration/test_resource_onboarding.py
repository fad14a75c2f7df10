"""Resource onboarding end to end on the local runtime: the HRIS's Worker Hired on the bus, the real ASL, the real
handlers under their synthesized roles, the practice lead's approval link over HTTP and the outbox; the HRIS, ERP and
PSA either the sandbox or the real adapters (a REST HRIS, NetSuite, Certinia) against the fakes of those vendors'
APIs (``adapter_sets``: each test runs once per set).

The sample hires (``backoffice.local.resource_demo``): a clean engineer, a senior consultant whose card rate is
below the floor (the practice lead approves), subcontractors of a vendor whose insurance expired, of a vendor on
hold and without a signed NDA (blocked), one whose vendor and papers are in order, a rehire (one case, the resource
updated) and a designer a waiting staffing request is assigned to.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from backoffice.connectors.http import external_id
from backoffice.local.approver import decide_via_http
from backoffice.local.resource_demo import (
    APPROVED_VENDOR,
    EXPIRED_VENDOR,
    ON_HOLD_VENDOR,
    PRACTICE_LEADS,
    SOURCE,
    STAFFED_PROJECT,
    STAFFING_REQUEST,
    SampleHire,
    rehire_execution,
    rehire_of,
    sample_hires,
    seed_resource_onboarding,
)
from backoffice.onboarding.sample_firm import standard_rate_card
from tests.contract.fakes.firm import SampleFirmSystems
from tests.integration.conftest import FakeSystems, Firm, deploy_firm_document, start_first
from tests.integration.test_resource_onboarding_concurrency import at_once

pytestmark = pytest.mark.adapter_sets

LEAD_OF_TECHNOLOGY = "alex.mensah@meridian-advisory.example"  # W-001, the technology practice's lead
SKILLS = ("aws", "python", "sap", "ui_design", "ux_research")  # the skills the PSA knows


@dataclass(frozen=True)
class Resource:
    """A PSA resource as either set of systems holds it."""

    role: str
    cost_rate: Decimal
    bill_rate: Decimal
    start_date: str
    weekly_hours: Decimal
    skills: tuple[str, ...]
    vendor_id: str | None = None  # the sandbox keeps it; Certinia has no field for it


@dataclass
class Staff:
    """The sample hires, and the PSA's resources and staffing request as the systems under test hold them."""

    firm: Firm
    hires: dict[str, SampleHire]
    request_id: str  # the staffing request waiting for a designer

    @property
    def fakes(self) -> SampleFirmSystems | None:
        systems = self.firm.systems
        return systems.fakes if isinstance(systems, FakeSystems) else None

    def resources(self, worker_id: str) -> list[Resource]:
        if self.fakes is None:
            found = [
                r for r in self.firm.runtime.sandbox().all("psa", "resource") if r["worker_id"] == worker_id
            ]
            return [
                Resource(
                    r["role"],
                    Decimal(r["cost_rate"]),
                    Decimal(r["bill_rate"]),
                    r["start_date"],
                    Decimal(r["weekly_hours"]),
                    tuple(sorted(r["skills"])),
                    r.get("vendor_id"),
                )
                for r in found
            ]
        tables = self.fakes.salesforce.tables
        key = external_id(f"resource:{worker_id}")
        skills = {s["Id"]: s["Name"] for s in tables["pse__Skill__c"].values()}
        return [
            Resource(
                c["pse__Resource_Role__c"],
                Decimal(str(c["pse__Default_Cost_Rate__c"])),
                Decimal(str(c["Backoffice_Bill_Rate__c"])),
                c["pse__Start_Date__c"],
                Decimal(tables["pse__Work_Calendar__c"][c["pse__Work_Calendar__c"]]["Name"].split()[0]),
                tuple(
                    sorted(
                        skills[r["pse__Skill_Certification__c"]]
                        for r in tables["pse__Skill_Certification_Rating__c"].values()
                        if r["pse__Resource__c"] == c["Id"]
                    )
                ),
            )
            for c in tables["Contact"].values()
            if c.get("Backoffice_Key__c") == key
        ]

    def resource(self, worker_id: str) -> Resource | None:
        found = self.resources(worker_id)
        assert len(found) <= 1, f"{worker_id} has {len(found)} resources"
        return found[0] if found else None

    def request_assigned(self) -> bool:
        """The waiting request is assigned to the new designer (W-107)."""
        if self.fakes is None:
            request = self.firm.runtime.sandbox().get("psa", "resource_request", self.request_id)
            return request is not None and (request["status"], request["assigned_worker_id"]) == (
                "assigned",
                "W-107",
            )
        tables = self.fakes.salesforce.tables
        request = tables["pse__Resource_Request__c"][self.request_id]
        holder = tables["Contact"].get(request.get("pse__Staffer_Resource__c") or "")
        return (
            request["pse__Status__c"] == "Assigned"
            and holder is not None
            and (holder["Backoffice_Key__c"] == external_id("resource:W-107"))
        )

    @property
    def project(self) -> str:
        if self.fakes is None:
            return STAFFED_PROJECT
        return str(
            self.fakes.salesforce.tables["pse__Resource_Request__c"][self.request_id]["pse__Project__c"]
        )


def seed_fakes(fakes: SampleFirmSystems, today: date) -> str:
    """What ``seed_resource_onboarding`` gives the sandbox, in the vendors' APIs: the practice leads in the HRIS,
    the vendors in NetSuite (by external id, with the certificate's expiry), the standard rate cards, the skills and
    a request waiting for a designer in Certinia. Returns the request's id."""
    for employee in fakes.hris.employees:
        if employee["employeeId"] in PRACTICE_LEADS:
            employee["jobCodes"] += ",practice_lead"
    year_on, month_ago = today.replace(year=today.year + 1), date.fromordinal(today.toordinal() - 30)
    for vendor_id, name, inactive, expires in (
        (APPROVED_VENDOR, "Northstar Engineering Partners LLC", False, year_on),
        (EXPIRED_VENDOR, "Harbor Staffing Group Inc.", False, month_ago),
        (ON_HOLD_VENDOR, "Pike Street Consulting LLC", True, year_on),
    ):
        fakes.netsuite.add(
            "vendor",
            {
                "entityId": name,
                "companyName": name,
                "legalName": name,
                "isPerson": False,
                "currency": {"id": "1"},
                "isInactive": inactive,
                "externalId": vendor_id,
                "custentity_coi_expiry": expires.isoformat(),
            },
        )
    salesforce = fakes.salesforce
    for line in standard_rate_card("USD").lines:
        salesforce.put(
            "pse__Rate_Card__c",
            {
                "pse__Role__c": line.role,
                "pse__Account__c": None,
                "pse__Suggested_Bill_Rate__c": float(line.billing_rate),
                "pse__Average_Cost_Rate__c": float(line.costing_rate),
                "pse__Start_Date__c": "2026-01-01",
                "CurrencyIsoCode": "USD",
            },
        )
    for skill in SKILLS:
        salesforce.put("pse__Skill__c", {"Name": skill})
    project = salesforce.put("pse__Proj__c", {"Name": "Retail app redesign"})
    return salesforce.put(
        "pse__Resource_Request__c",
        {
            "pse__Project__c": project,
            "pse__Resource_Role__c": "designer",
            "pse__SOW_Hours__c": 320,
            "pse__Start_Date__c": date.fromordinal(today.toordinal() + 14).isoformat(),
            "pse__End_Date__c": date.fromordinal(today.toordinal() + 120).isoformat(),
            "pse__Status__c": "Ready to Staff",
        },
    )


@pytest.fixture
def staff(firm: Firm) -> Staff:
    today = date.today()
    hires = {sample.scenario: sample for sample in sample_hires(today)}
    if isinstance(firm.systems, FakeSystems):
        return Staff(firm, hires, seed_fakes(firm.systems.fakes, today))
    seed_resource_onboarding(firm.runtime.sandbox(), today)
    return Staff(firm, hires, STAFFING_REQUEST)


def hire(firm: Firm, detail: dict[str, Any]) -> str:
    return firm.runtime.put_event("Worker Hired", detail, source=SOURCE)


def outcomes(firm: Firm, case_id: str) -> list[str]:
    return [r.outcome for r in firm.records(case_id) if r.action == "outcome.published"]


def checked(firm: Firm, case_id: str) -> Any:
    return next(r for r in firm.records(case_id) if r.action == "worker.checked")


def test_a_clean_hire_becomes_a_psa_resource_and_the_worker_and_manager_are_mailed(staff: Staff) -> None:
    # Given an engineer hired at the card's rate, reporting to W-010
    firm, clean = staff.firm, staff.hires["clean"]
    # When the HRIS announces the hire
    hire(firm, clean.detail)
    # Then the case ends onboarded without asking anyone
    assert firm.settle(clean.case_id).status == "SUCCEEDED", firm.fault(clean.case_id)
    assert outcomes(firm, clean.case_id) == ["Worker Onboarded"]
    # And the PSA has the resource with the HRIS's cost rate, the card's bill rate, availability and skills
    assert staff.resource("W-101") == Resource(
        "engineer", Decimal(85), Decimal(190), clean.detail["start_date"], Decimal(40), ("aws", "python")
    )
    # And the trail says each step in order
    actions = [a for a, _ in firm.actions(clean.case_id) if not a.startswith("connector.")]
    assert start_first(actions, "case.started") == [
        "case.started",
        "worker.checked",
        "resource.saved",
        "resource.not_assigned",
        "worker.welcomed",
        "outcome.published",
    ]
    # And the worker got a welcome and the manager a notice
    welcome = firm.inbox(clean.detail["email"])
    assert len(welcome) == 1 and "Welcome, Nadia Brooks" in welcome[0].text
    manager = firm.inbox("ruth.wagner@meridian-advisory.example")
    assert len(manager) == 1 and "reports to you" in manager[0].text


def test_a_bill_rate_below_the_floor_goes_to_the_practice_lead_who_approves_it(staff: Staff) -> None:
    # Given a senior consultant costing 160/h: the card's 225 is below the floor of 246.16 (35% margin)
    firm, rate = staff.firm, staff.hires["rate"]
    hire(firm, rate.detail)
    # Then the case waits for the technology practice's lead, not for the hiring manager
    waiting = firm.settle(rate.case_id)
    assert waiting.status == "RUNNING" and waiting.current_state == "Ask the practice lead"
    check = checked(firm, rate.case_id)
    assert check.outcome == "needs_approval" and "below the floor 246.16" in check.reasons[0]
    mail = firm.mail(LEAD_OF_TECHNOLOGY, rate.case_id)
    assert "Omar Vance" in mail.text and "246.16" in mail.text
    assert "set up in the PSA at this bill rate" in mail.text  # the summary says what approving does
    assert firm.inbox("lena.haddad@meridian-advisory.example") == []  # W-013, the hiring manager
    # When the practice lead approves through the link
    status, _, _ = decide_via_http(mail.approval_links[0], "approve", LEAD_OF_TECHNOLOGY, "Scarce SAP skills")
    assert status == 200
    # Then the resource is set up at the card's rate, saying who approved it
    assert firm.finish(rate.case_id).status == "SUCCEEDED"
    assert outcomes(firm, rate.case_id) == ["Worker Onboarded"]
    resource = staff.resource("W-102")
    assert resource is not None and resource.bill_rate == Decimal(225)
    saved = next(r for r in firm.records(rate.case_id) if r.action == "resource.saved")
    assert saved.data["rate_decided_by"] == [LEAD_OF_TECHNOLOGY]


@pytest.mark.sandbox_only("the practice lead's rejection involves none of the firm's systems")
def test_a_rejected_bill_rate_blocks_onboarding_with_the_practice_leads_reason(staff: Staff) -> None:
    firm, rate = staff.firm, staff.hires["rate"]
    hire(firm, rate.detail)
    assert firm.settle(rate.case_id).current_state == "Ask the practice lead"
    # When the practice lead rejects the rate
    link = firm.link(LEAD_OF_TECHNOLOGY, rate.case_id)
    decide_via_http(link, "reject", LEAD_OF_TECHNOLOGY, "Propose 260: the card is below cost")
    # Then nothing is set up and the case says why
    assert firm.finish(rate.case_id).status == "SUCCEEDED"
    assert outcomes(firm, rate.case_id) == ["Worker Onboarding Blocked"]
    assert staff.resource("W-102") is None
    assert "Propose 260" in " ".join(firm.output(rate.case_id)["reasons"])
    assert (
        firm.output(rate.case_id)["resumable"] is False
    )  # a resume would ask the same rate: a new hire event


@pytest.mark.parametrize(
    ("scenario", "reason", "resumable"),
    [
        (
            "expired",
            r"Harbor Staffing Group Inc\.'s certificate of insurance expired on \d{4}-\d{2}-\d{2}",
            True,
        ),
        ("unapproved", r"Pike Street Consulting LLC is on hold", True),
        ("no_nda", r"signed NDA is missing", False),
    ],
)
def test_a_subcontractor_whose_vendor_or_documents_are_not_in_order_is_blocked(
    staff: Staff, scenario: str, reason: str, resumable: bool
) -> None:
    # Given a subcontractor worker of a vendor whose insurance expired / on hold / without a signed NDA
    firm, sample = staff.firm, staff.hires[scenario]
    hire(firm, sample.detail)
    # Then onboarding is blocked with the reason, and nothing is set up in the PSA
    assert firm.settle(sample.case_id).status == "SUCCEEDED"
    assert outcomes(firm, sample.case_id) == ["Worker Onboarding Blocked"]
    assert checked(firm, sample.case_id).outcome == "blocked"
    assert any(re.search(reason, r) for r in firm.output(sample.case_id)["reasons"])
    assert staff.resource(sample.worker_id) is None
    # And a resume is offered only where re-reading the vendor can help (the worker's documents come with the event)
    assert firm.output(sample.case_id)["resumable"] is resumable
    assert firm.inbox(sample.detail["email"]) == []


def test_a_subcontractor_of_an_approved_insured_vendor_with_papers_in_order_is_onboarded(
    staff: Staff,
) -> None:
    # Given a subcontractor worker of Northstar (approved, insured for a year) with a signed NDA and right to work,
    # proposed at 175 (below the card's 190, above the floor of 146.16)
    firm, sample = staff.firm, staff.hires["subcontractor"]
    hire(firm, sample.detail)
    # Then they are onboarded at the proposed rate without a review, the vendor's standing on the trail
    assert firm.settle(sample.case_id).status == "SUCCEEDED"
    assert outcomes(firm, sample.case_id) == ["Worker Onboarded"]
    check = checked(firm, sample.case_id)
    assert check.outcome == "passed"
    assert (check.data["vendor"]["approved"], check.data["vendor"]["insurance_in_force"]) == (True, True)
    resource = staff.resource("W-108")
    assert resource is not None and resource.bill_rate == Decimal(175)


def test_a_duplicate_delivery_is_one_case_and_a_rehire_updates_the_resource(staff: Staff) -> None:
    # Given a hire delivered twice
    firm, sample = staff.firm, staff.hires["rehire"]
    hire(firm, sample.detail)
    hire(firm, sample.detail)
    assert firm.settle(sample.case_id).status == "SUCCEEDED"
    # When the worker leaves and is hired again later, full time
    again = rehire_of(sample)
    hire(firm, again)
    name = rehire_execution(sample, firm.runtime)
    assert name is not None and firm.finish(name).status == "SUCCEEDED"
    # Then one case has two attempts and one duplicate; the PSA has one resource, updated to the rehire
    trail = firm.records(sample.case_id)
    assert sum(r.action == "case.started" for r in trail) == 2
    assert sum(r.action == "event.duplicate" for r in trail) == 1
    assert [r.outcome for r in trail if r.action == "resource.saved"] == ["created", "updated"]
    [resource] = staff.resources("W-106")
    assert (resource.start_date, resource.weekly_hours) == (again["start_date"], Decimal(40))
    assert outcomes(firm, sample.case_id) == ["Worker Onboarded", "Worker Onboarded"]


@pytest.mark.sandbox_only("a corrected record is a matter of the case's attempts, not of the firm's systems")
def test_a_corrected_hire_record_is_onboarded_again_on_the_same_case(staff: Staff) -> None:
    # Given a hire whose record names a manager the HRIS does not have: blocked as invalid
    firm, clean = staff.firm, staff.hires["clean"]
    wrong = {**clean.detail, "manager_id": "W-999", "hired_at": "2026-12-07T09:00:00Z"}
    hire(firm, wrong)
    assert firm.settle(clean.case_id).status == "SUCCEEDED"
    assert checked(firm, clean.case_id).outcome == "invalid"
    # When the HRIS corrects the record (same start date, a later hired_at) and sends it again
    hire(firm, {**wrong, "manager_id": "W-010", "hired_at": "2026-12-07T11:15:00Z"})
    name = rehire_execution(clean, firm.runtime)
    assert name is not None and firm.finish(name).status == "SUCCEEDED"
    # Then the same case ran again and onboarded the worker
    assert outcomes(firm, clean.case_id) == ["Worker Onboarding Blocked", "Worker Onboarded"]
    assert staff.resource("W-101") is not None


@pytest.mark.sandbox_only("the attempts' order is kept in the idempotency table, not in the firm's systems")
def test_an_older_record_arriving_after_its_correction_changes_nothing(staff: Staff) -> None:
    # Given the corrected record of a hire (part time, recorded at 11:15) onboarded first
    firm, clean = staff.firm, staff.hires["clean"]
    corrected = {**clean.detail, "weekly_hours": "24", "hired_at": "2026-12-07T11:15:00Z"}
    hire(firm, corrected)
    assert firm.settle(clean.case_id).status == "SUCCEEDED"
    # When the record it corrected (full time, recorded at 09:00) arrives late
    hire(firm, {**clean.detail, "weekly_hours": "40", "hired_at": "2026-12-07T09:00:00Z"})
    name = rehire_execution(clean, firm.runtime)
    assert name is not None and firm.finish(name).status == "SUCCEEDED"
    # Then it ends blocked as superseded, not resumable, and the resource keeps the correction
    assert outcomes(firm, clean.case_id) == ["Worker Onboarded", "Worker Onboarding Blocked"]
    checks = [r for r in firm.records(clean.case_id) if r.action == "worker.checked"]
    assert [c.outcome for c in checks] == ["passed", "superseded"]
    output = firm.output(name)
    assert output["resumable"] is False and "a later record of this hire" in output["reasons"][0]
    resource = staff.resource("W-101")
    assert resource is not None and resource.weekly_hours == Decimal(24)
    assert [r.action for r in firm.records(clean.case_id)].count("resource.saved") == 1


@pytest.mark.sandbox_only("the attempts' order is kept in the idempotency table, not in the firm's systems")
def test_an_attempt_a_correction_overtook_during_its_review_writes_nothing(staff: Staff) -> None:
    # Given a senior consultant's rate waiting for the practice lead (cost 160: the card is below the floor)
    firm, rate = staff.firm, staff.hires["rate"]
    hire(firm, rate.detail)
    assert firm.settle(rate.case_id).current_state == "Ask the practice lead"
    link = firm.link(LEAD_OF_TECHNOLOGY, rate.case_id)
    # And meanwhile the HRIS corrects the cost (140: the card's rate is in band) and it is onboarded
    hire(firm, {**rate.detail, "cost_rate": "140", "hired_at": "2026-12-07T11:15:00Z"})
    name = rehire_execution(rate, firm.runtime)
    assert name is not None and firm.finish(name).status == "SUCCEEDED"
    # When the practice lead approves the first attempt's rate
    decide_via_http(link, "approve", LEAD_OF_TECHNOLOGY, "fine")
    assert firm.finish(rate.case_id).status == "SUCCEEDED"
    # Then the first attempt ends superseded at the set-up, and the resource keeps the corrected cost
    assert firm.output(rate.case_id)["resumable"] is False
    assert "a later record of this hire" in firm.output(rate.case_id)["reasons"][0]
    assert [r.outcome for r in firm.records(rate.case_id) if r.action == "resource.not_saved"] == [
        "superseded"
    ]
    resource = staff.resource("W-102")
    assert resource is not None and resource.cost_rate == Decimal(140)


@pytest.mark.sandbox_only("the vendor is put on hold in the sandbox ERP during the review")
def test_a_vendor_put_on_hold_during_the_rate_review_stops_the_set_up(staff: Staff) -> None:
    # Given a subcontractor of an approved, insured vendor proposed above the card (the practice lead decides)
    firm, sample = staff.firm, staff.hires["subcontractor"]
    hire(firm, {**sample.detail, "bill_rate": "300"})
    assert firm.settle(sample.case_id).current_state == "Ask the practice lead"
    # When the vendor is put on hold before the lead approves
    firm.runtime.sandbox().change("erp", "vendor", APPROVED_VENDOR, lambda v: {**v, "on_hold": True})
    decide_via_http(firm.link(LEAD_OF_TECHNOLOGY, sample.case_id), "approve", LEAD_OF_TECHNOLOGY, "ok")
    assert firm.finish(sample.case_id).status == "SUCCEEDED"
    # Then nothing is set up, the case says why, and it may be resumed once the vendor is in standing again
    assert outcomes(firm, sample.case_id) == ["Worker Onboarding Blocked"]
    output = firm.output(sample.case_id)
    assert output["resumable"] is True
    assert "is on hold" in output["reasons"][0] and "read again before the set-up" in output["reasons"][0]
    assert staff.resource("W-108") is None


def test_the_staffing_request_waiting_for_the_role_is_the_new_hires_first_assignment(staff: Staff) -> None:
    # Given a staffing request for a designer nobody could fill
    firm, sample = staff.firm, staff.hires["assignment"]
    hire(firm, sample.detail)
    assert firm.settle(sample.case_id).status == "SUCCEEDED"
    # Then the new designer is assigned to it, and the mails say so
    assert staff.request_assigned()
    assigned = next(r for r in firm.records(sample.case_id) if r.action == "resource.assigned")
    assert assigned.data["assignment"]["project_id"] == staff.project
    assert staff.project in firm.inbox(sample.detail["email"])[0].text
    assert (
        firm.outcome_event(sample.case_id)["detail"]["data"]["assignment"]["request_id"] == staff.request_id
    )


def test_a_record_whose_manager_is_not_in_the_hris_is_invalid_and_said_so(staff: Staff) -> None:
    firm = staff.firm
    detail = {**staff.hires["clean"].detail, "worker_id": "W-199", "manager_id": "W-999"}
    hire(firm, detail)
    assert firm.settle("worker-W-199").status == "SUCCEEDED"
    assert checked(firm, "worker-W-199").outcome == "invalid"
    assert firm.output("worker-W-199")["reasons"] == ["the manager W-999 is not in the HRIS"]
    assert (
        firm.output("worker-W-199")["resumable"] is False
    )  # the record comes with the event: a new one is needed
    assert staff.resource("W-199") is None


@pytest.mark.sandbox_only("a refused event never reaches the firm's systems")
def test_a_hire_whose_event_does_not_validate_is_parked_not_started(firm: Firm) -> None:
    # Given a Worker Hired without a start date
    event_id = hire(firm, {"worker_id": "W-198", "name": "No Start", "employment": "employee", "role": "x",
                           "cost_rate": "10"})  # fmt: skip
    # Then no case runs; the event is rejected on the trail with the reason
    records = firm.records(f"rejected-{event_id}")
    assert [r.action for r in records] == ["event.rejected"]
    assert any("start_date" in reason for reason in records[0].reasons)


def test_eight_deliveries_of_one_hire_at_once_start_one_case(staff: Staff) -> None:
    # Given the HRIS's hire, delivered eight times at once (EventBridge's at-least-once and a sender's retries)
    firm, clean = staff.firm, staff.hires["clean"]
    at_once([lambda: hire(firm, clean.detail) for _ in range(8)])
    # Then one case ran, seven deliveries are duplicates on its trail, one resource and one welcome
    assert firm.settle(clean.case_id).status == "SUCCEEDED"
    firm.runtime.wait_until_idle(timeout=60)
    trail = firm.records(clean.case_id)
    assert sum(r.action == "case.started" for r in trail) == 1
    assert sum(r.action == "event.duplicate" for r in trail) == 7
    assert [r.outcome for r in trail if r.action == "resource.saved"] == ["created"]
    assert len(staff.resources("W-101")) == 1
    assert len(firm.inbox(clean.detail["email"])) == 1


VENDOR_TAX_ID, VENDOR_ACCOUNT = "84-2231907", "4410029917"


@pytest.mark.sandbox_only("the ERP's vendor record is changed in place; the adapters read it the same way")
def test_no_tax_id_or_bank_number_of_the_vendor_is_in_the_state_or_mails(staff: Staff) -> None:
    # Given the subcontractor's vendor with its tax id and bank account in the ERP
    firm, sample = staff.firm, staff.hires["subcontractor"]
    firm.runtime.sandbox().change(
        "erp",
        "vendor",
        APPROVED_VENDOR,
        lambda body: {
            **body,
            "tax_id": VENDOR_TAX_ID,
            "bank_account": {
                "account_holder_name": "Northstar Engineering Partners LLC",
                "routing_number": "026009593",
                "account_number": VENDOR_ACCOUNT,
            },
        },
    )
    hire(firm, sample.detail)
    assert firm.settle(sample.case_id).status == "SUCCEEDED"
    firm.runtime.wait_until_idle(timeout=60)
    # When everything an operator or a recipient sees is read: the execution's input, output and history, the trail
    # and every mail
    sfn = firm.runtime.client("stepfunctions")
    execution = firm.execution(sample.case_id)
    described = sfn.describe_execution(executionArn=execution.arn)
    history = sfn.get_execution_history(executionArn=execution.arn, maxResults=1000)["events"]
    seen = [json.dumps([described.get("input"), described.get("output"), history], default=str)]
    seen += [json.dumps([r.reasons, r.data], default=str) for r in firm.records(sample.case_id)]
    seen += [
        m.text
        for who in (sample.detail["email"], "ruth.wagner@meridian-advisory.example")
        for m in firm.inbox(who)
    ]
    text = "\n".join(seen)
    # Then neither the tax id nor the account number is anywhere, with or without separators
    digits = re.sub(r"[-\s]", "", text)
    assert VENDOR_TAX_ID not in text and VENDOR_TAX_ID.replace("-", "") not in digits
    assert VENDOR_ACCOUNT not in digits


@pytest.mark.sandbox_only("the process report reads the trail, not the firm's systems")
def test_the_process_report_counts_the_hires_by_outcome(staff: Staff) -> None:
    from backoffice.reports.process_report import build_process_report

    # Given a hire onboarded and one blocked
    firm = staff.firm
    for scenario in ("clean", "expired"):
        hire(firm, staff.hires[scenario].detail)
    for scenario in ("clean", "expired"):
        assert firm.settle(staff.hires[scenario].case_id).status == "SUCCEEDED"
    # When the process report is built from their trails
    records = [r for s in ("clean", "expired") for r in firm.records(staff.hires[s].case_id)]
    report = build_process_report(records, as_of=None)
    # Then resource onboarding is a workflow of the report, its cases counted by outcome, the block an exception
    assert report is not None
    [summary] = [w for w in report.workflows if w.workflow == "resource_onboarding"]
    assert summary.cases == 2
    assert summary.outcomes == {"Worker Onboarded": 1, "Worker Onboarding Blocked": 1}
    assert summary.exception_rate == 0.5


@pytest.mark.sandbox_only("the firm's document and the approval's clock involve none of the firm's systems")
def test_a_rate_nobody_decides_escalates_once_then_blocks_onboarding(
    staff: Staff, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a firm whose own route gives the practice lead one second, then the firm's group one second
    def quick(document: dict[str, Any]) -> None:
        document["approval_policy"]["routes"]["resource_rate"] = [
            {
                "name": "the practice lead, quickly",
                "levels": [
                    {
                        "name": "practice lead approval",
                        "group": "subject:practice_lead",
                        "timeout_seconds": 1,
                        "escalate_to": "subject:reviewers",
                    }
                ],
            }
        ]

    deploy_firm_document(staff.firm.runtime, monkeypatch, quick)
    firm, rate = staff.firm, staff.hires["rate"]
    # When the senior consultant's out-of-band rate is asked and nobody answers
    hire(firm, rate.detail)
    assert firm.finish(rate.case_id).status == "SUCCEEDED"
    # Then it went to the lead, escalated once to the firm's group, and the case is blocked saying why
    actions = [a for a, _ in firm.actions(rate.case_id)]
    assert "approval.escalated" in actions
    assert outcomes(firm, rate.case_id) == ["Worker Onboarding Blocked"]
    assert "nobody decided the bill rate in time" in firm.output(rate.case_id)["reasons"][0]
    assert staff.resource("W-102") is None


@pytest.mark.sandbox_only("the firm's document involves none of the firm's systems")
def test_a_firm_that_accepts_a_thinner_margin_onboards_the_rate_without_asking(
    staff: Staff, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a firm whose document sets the minimum margin to 25% (the card's 225 over a cost of 160 leaves 28.9%)
    deploy_firm_document(
        staff.firm.runtime,
        monkeypatch,
        lambda document: document.update(resource_onboarding={"minimum_margin": "0.25"}),
    )
    firm, rate = staff.firm, staff.hires["rate"]
    hire(firm, rate.detail)
    # Then the hire is onboarded at the card's rate without a review
    assert firm.settle(rate.case_id).status == "SUCCEEDED"
    assert outcomes(firm, rate.case_id) == ["Worker Onboarded"]
    assert checked(firm, rate.case_id).outcome == "passed"


@pytest.mark.sandbox_only("make run's demo runs on the sandbox")
def test_make_runs_hires_each_end_as_the_sample_says(firm: Firm) -> None:
    import io

    from backoffice.local.demo import _link
    from backoffice.local.resource_demo import run_resource_onboarding

    # Given the demo's seeded firm, when its hires run as make run runs them
    out = io.StringIO()
    ok = run_resource_onboarding(firm.runtime, firm.approvals, _link, out)
    # Then every scenario ended as expected, one line each under the header
    lines = out.getvalue().splitlines()
    assert ok, out.getvalue()
    assert len(lines) == 1 + len(sample_hires())
    assert all(line.split()[3] in ("Onboarded", "Onboarding") for line in lines[1:])
