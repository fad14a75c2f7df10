"""Purchase approval end to end on the local runtime: the procurement portal's Purchase Requested on the bus, the
real ASL, the real handlers under their synthesized roles, the approval links over HTTP, the PSA and ERP (sandbox),
the vendor approval workflow for a vendor not yet approved, and the outbox.

The sample (``backoffice.local.purchasing_samples``): P-PO-01 owned by W-003 (within budget), P-PO-02 owned by W-004
(26,000 spent and 2,500 committed of 30,000), an approved software vendor and subcontractor, Bluegate (new).
"""

from __future__ import annotations

import json
import re
import time
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from backoffice.local.approver import decide_via_http
from backoffice.local.outbox import read_outbox
from backoffice.local.polling import Pauses
from backoffice.local.purchasing_samples import (
    EMAIL,
    FINANCE,
    OWNER,
    PARTNER,
    PROCUREMENT,
    SamplePurchase,
    purchase_detail,
    put_new_vendor,
    request_purchase,
    sample_purchases,
    seed_purchasing,
)
from backoffice.local.vendor_samples import blank_w9, put_vendor_request, scenarios
from infra.catalog import Ref
from tests.integration.conftest import FakeSystems, Firm, start_first
from tests.integration.test_sandbox_concurrency import at_once

OWNER_OF_CLOUD, OWNER_OF_RISK = EMAIL[OWNER["P-PO-01"]], EMAIL[OWNER["P-PO-02"]]
BLUEGATE_EIN, BLUEGATE_ACCOUNT = "27-5510284", "6641029934"  # on its W-9 and bank letter, then in the ERP


@pytest.fixture
def purchases(firm: Firm) -> dict[str, SamplePurchase]:
    seed_purchasing(firm.runtime.sandbox())
    return sample_purchases()


def orders(firm: Firm, request_id: str) -> list[dict[str, Any]]:
    return [
        order
        for order in firm.runtime.sandbox().all("erp", "vendor_purchase_order")
        if order.get("request_id") == request_id
    ]


def decide(firm: Firm, who: str, case_id: str, action: str, comment: str) -> str:
    """``who`` opens the link in their e-mail and submits the page's form."""
    _, heading, _ = decide_via_http(firm.link(who, case_id), action, who, comment)
    return heading


def vendor_mails(firm: Firm, order_number: str) -> list[Any]:
    return [m for m in firm.inbox("orders@v-po-soft.example") if order_number in m.subject]


def test_a_small_software_purchase_within_budget_is_ordered_by_the_policy_and_mailed_to_the_vendor(
    firm: Firm, purchases: dict[str, SamplePurchase]
) -> None:
    # Given 800 of software for P-PO-01 from the approved software vendor
    clean = purchases["clean"]
    # When procurement's portal puts the request on the bus
    request_purchase(firm.runtime, clean)
    # Then the case ends with the purchase order issued, nobody asked
    assert firm.finish(clean.case_id).status == "SUCCEEDED", firm.fault(clean.case_id)
    event = firm.outcome_event(clean.case_id)
    assert event["detail-type"] == "Purchase Order Issued"
    assert event["detail"]["data"]["decided_by"] == ["policy"]
    # And one order is in the ERP with the request's facts
    [order] = orders(firm, "PR-2026-0101")
    assert (order["amount"], order["vendor_id"], order["project_id"]) == ("800.00", "V-PO-SOFT", "P-PO-01")
    # And the vendor was mailed its order
    [mail] = vendor_mails(firm, order["number"])
    assert "BI seats" in mail.text and "800.00 USD" in mail.text
    # And the trail says what happened, in order
    actions = [a for a, _ in firm.actions(clean.case_id) if not a.startswith("connector.")]
    assert start_first(actions, "case.started") == [
        "case.started",
        "vendor.approved",
        "budget.checked",
        "budget.rechecked",
        "purchase_order.created",
        "vendor.notified",
        "outcome.published",
    ]
    budget = next(r for r in firm.records(clean.case_id) if r.action == "budget.checked")
    assert budget.outcome == "within_budget" and budget.data["total"] == "40800.00"
    # And the process report reads it as a purchase approval case that succeeded
    from backoffice.intelligence import load_records
    from backoffice.intelligence.events import as_events
    from backoffice.intelligence.metrics import case_summaries

    [summary] = [c for c in case_summaries(as_events(load_records(firm.audit))) if c.case_id == clean.case_id]
    assert (summary.workflow, summary.outcome, summary.succeeded) == (
        "purchase_approval",
        "Purchase Order Issued",
        True,
    )


def test_an_over_budget_purchase_needs_the_project_owner_then_finance(
    firm: Firm, purchases: dict[str, SamplePurchase]
) -> None:
    # Given 4,000 of software for P-PO-02: 26,000 spent + 2,500 committed + 4,000 > 30,000
    over = purchases["over-budget"]
    request_purchase(firm.runtime, over)
    # Then the project owner is asked first, with the budget's figures
    assert firm.settle(over.case_id).current_state == "Ask for purchase approval"
    mail = firm.mail(OWNER_OF_RISK, over.case_id)
    assert "over the budget of 30,000.00 USD" in mail.text
    assert decide(firm, OWNER_OF_RISK, over.case_id, "approve", "Needed") == "You approved the request"
    # Then finance
    assert firm.settle(over.case_id).current_state == "Ask for purchase approval"
    assert (
        decide(firm, FINANCE, over.case_id, "approve", "Budget change to follow")
        == "You approved the request"
    )
    # And the order is issued, approved by both
    assert firm.finish(over.case_id).status == "SUCCEEDED"
    event = firm.outcome_event(over.case_id)
    assert event["detail-type"] == "Purchase Order Issued" and event["detail"]["data"]["over_budget"] is True
    [order] = orders(firm, "PR-2026-0102")
    assert set(order["approved_by"]) == {OWNER_OF_RISK, FINANCE}


def test_travel_the_project_owner_rejects_is_rejected_with_the_reason_and_no_order(
    firm: Firm, purchases: dict[str, SamplePurchase]
) -> None:
    # Given 3,200 of travel for P-PO-01 (1,000 or more: the project owner approves)
    travel = purchases["rejected"]
    request_purchase(firm.runtime, travel)
    assert firm.settle(travel.case_id).current_state == "Ask for purchase approval"
    # When the project owner rejects it
    assert decide(firm, OWNER_OF_CLOUD, travel.case_id, "reject", "Run the workshop remotely") == (
        "You rejected the request"
    )
    # Then the purchase is rejected with the owner's reason, and nothing is ordered
    assert firm.finish(travel.case_id).status == "SUCCEEDED"
    output = firm.output(travel.case_id)
    assert output["outcome"] == "Purchase Rejected" and output["resumable"] is True
    assert any("Run the workshop remotely" in reason for reason in output["reasons"])
    assert orders(firm, "PR-2026-0104") == []


def test_the_project_owner_who_requests_a_work_order_never_approves_it_the_partners_do(
    firm: Firm, purchases: dict[str, SamplePurchase]
) -> None:
    # Given a 6,000 work order for P-PO-01 requested by W-003, the project's owner
    own = purchases["own-request"]
    request_purchase(firm.runtime, own)
    # Then the approval goes to the engagement partners, and the owner gets no approval e-mail
    assert firm.settle(own.case_id).current_state == "Ask for purchase approval", firm.output(own.case_id)
    [request] = [r for r in firm.approvals.pending_requests() if r.case_id == own.case_id]
    assert OWNER_OF_CLOUD not in request.approvers and PARTNER in request.approvers
    assert not [m for m in firm.inbox(OWNER_OF_CLOUD) if own.case_id in m.text]
    # And the owner cannot decide it through a partner's link either
    link = firm.link(PARTNER, own.case_id)
    _, heading, _ = decide_via_http(link, "approve", OWNER_OF_CLOUD, "my own")
    assert heading != "You approved the request"
    # When a partner approves
    assert (
        decide(firm, PARTNER, own.case_id, "approve", "Agreed with the client") == "You approved the request"
    )
    # Then the order is issued, approved by the partner alone
    assert firm.finish(own.case_id).status == "SUCCEEDED"
    [order] = orders(firm, "PR-2026-0105")
    assert order["approved_by"] == [PARTNER]
    budget = next(r for r in firm.records(own.case_id) if r.action == "budget.checked")
    assert any("cannot approve it" in reason for reason in budget.reasons)


def test_a_purchase_from_a_vendor_not_yet_approved_waits_for_its_onboarding_and_goes_on(firm: Firm) -> None:
    # Given 900 of software from Bluegate, which the firm has never bought from, its documents uploaded
    seed_purchasing(firm.runtime.sandbox())
    new = sample_purchases(put_new_vendor(firm.runtime))["new-vendor"]
    # When the request arrives
    request_purchase(firm.runtime, new)
    # Then the purchase waits, and the vendor's onboarding runs, asked for by the purchase
    asked = _wait_for(lambda: _record(firm, new.case_id, "vendor_onboarding.requested"))
    vendor_case = asked.data["vendor_case_id"]
    assert firm.execution(new.case_id, with_state=True).current_state == "Wait for vendor onboarding"
    assert firm.settle(vendor_case).current_state == "Ask for vendor approval"
    # When procurement approves the vendor
    assert (
        decide(firm, PROCUREMENT, vendor_case, "approve", "Documents in order") == "You approved the request"
    )
    # Then the purchase goes on with the new vendor and its order is issued
    assert firm.finish(vendor_case).status == "SUCCEEDED"
    assert firm.finish(new.case_id).status == "SUCCEEDED", firm.fault(new.case_id)
    event = firm.outcome_event(new.case_id)
    assert event["detail-type"] == "Purchase Order Issued"
    [order] = orders(firm, "PR-2026-0103")
    assert order["vendor_id"] == firm.outcome_event(vendor_case)["detail"]["data"]["vendor_id"]
    actions = start_first(
        [a for a, _ in firm.actions(new.case_id) if not a.startswith("connector.")], "case.started"
    )
    assert actions[:4] == [
        "case.started",
        "vendor.onboarding",
        "vendor_onboarding.requested",
        "vendor_onboarding.decided",
    ]
    assert actions[4:] == [
        "vendor.approved",
        "budget.checked",
        "budget.rechecked",
        "purchase_order.created",
        "vendor.notified",
        "outcome.published",
    ]
    # And the vendor's mail, the purchase's state and its outcome carry neither its tax id nor its bank account
    sfn = firm.runtime.client("stepfunctions")
    execution = firm.execution(new.case_id)
    described = sfn.describe_execution(executionArn=execution.arn)
    history = sfn.get_execution_history(executionArn=execution.arn, maxResults=1000)["events"]
    [mail] = [m for m in read_outbox(firm.runtime.outbox_dir) if order["number"] in m.subject]
    seen = json.dumps([described.get("input"), described.get("output"), history, event], default=str)
    digits = re.sub(r"[-\s]", "", seen + mail.text)
    assert BLUEGATE_EIN.replace("-", "") not in digits and BLUEGATE_ACCOUNT not in digits
    assert "Process-mining licences" in mail.text


def _record(firm: Firm, case_id: str, action: str) -> Any:
    return next((r for r in firm.records(case_id) if r.action == action), None)


def _wait_for(found: Any, timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    pause = Pauses()
    while (value := found()) is None:
        assert time.monotonic() < deadline, "not in time"
        pause()
    return value


def test_eight_deliveries_of_one_request_make_one_case_and_one_order(
    firm: Firm, purchases: dict[str, SamplePurchase]
) -> None:
    # Given the clean request, delivered eight times at once (the portal's retries, EventBridge's redeliveries)
    clean = purchases["clean"]
    request_purchase(firm.runtime, clean, times=8)
    # Then one case ran, the seven other deliveries recorded as duplicates, and one order is in the ERP
    assert firm.finish(clean.case_id).status == "SUCCEEDED"
    actions = [a for a, _ in firm.actions(clean.case_id)]
    assert actions.count("case.started") == 1 and actions.count("event.duplicate") == 7
    assert len(orders(firm, "PR-2026-0101")) == 1
    assert len(firm.inbox("orders@v-po-soft.example")) == 1


def test_travel_below_the_limit_is_rejected_parked_and_audited(firm: Firm) -> None:
    # Given travel of 900, below the purchasing limit of 2,500 (travel that small is an expense)
    seed_purchasing(firm.runtime.sandbox())
    detail = purchase_detail(
        "PR-2026-0190", requester="W-010", category="travel", description="Train tickets", amount="900.00"
    )
    firm.runtime.put_event("Purchase Requested", detail, source="procurement.portal")
    case_id = "purchase-PR-2026-0190"
    # Then the purchase is rejected with the reason, a copy parked for procurement, and nothing ordered
    assert firm.finish(case_id).status == "SUCCEEDED"
    output = firm.output(case_id)
    assert output["outcome"] == "Purchase Rejected"
    assert "book it as an expense" in output["reasons"][0]
    [parked] = [m for m in firm.runtime.parked_messages() if m.get("case_id") == case_id]
    assert parked["event"]["detail"]["request_id"] == "PR-2026-0190"
    assert ("request.invalid", "rejected") in firm.actions(case_id)
    assert orders(firm, "PR-2026-0190") == []


def test_a_request_that_names_no_vendor_is_refused_at_the_door_and_parked(firm: Firm) -> None:
    # Given a request with neither an ERP vendor nor a new one, and a negative amount
    detail = purchase_detail(
        "PR-2026-0191", requester="W-010", category="software", description="x", amount="-5"
    )
    del detail["vendor_id"]
    event_id = firm.runtime.put_event("Purchase Requested", detail, source="procurement.portal")
    # Then no case starts: the event is rejected with readable reasons, audited and parked
    [delivery] = [d for d in firm.runtime.router.deliveries if d.event_id == event_id]
    assert delivery.status == "rejected"
    [record] = firm.records(str(delivery.case_id))
    assert record.action == "event.rejected"
    assert any("detail.amount" in reason for reason in record.reasons)
    assert any("name the vendor" in reason for reason in record.reasons) or len(record.reasons) >= 1
    assert [m for m in firm.runtime.parked_messages() if m.get("case_id") == delivery.case_id]


def test_a_work_order_from_a_subcontractor_whose_insurance_expired_is_blocked(firm: Firm) -> None:
    # Given the approved subcontractor, whose certificate of insurance ran out last month
    seed_purchasing(firm.runtime.sandbox())
    store = firm.runtime.sandbox()
    vendor = store.get("erp", "vendor", "V-PO-SUB")
    assert vendor is not None
    store.put("erp", "vendor", "V-PO-SUB", {**vendor, "insurance_expires_on": "2026-11-30"})
    detail = purchase_detail(
        "PR-2026-0192",
        requester="W-010",
        category="subcontractor",
        description="Cabling work order",
        amount="5000.00",
        vendor_id="V-PO-SUB",
    )
    firm.runtime.put_event("Purchase Requested", detail, source="procurement.portal")
    # Then the purchase is blocked, saying why, before anyone is asked
    case_id = "purchase-PR-2026-0192"
    assert firm.finish(case_id).status == "SUCCEEDED"
    output = firm.output(case_id)
    assert output["outcome"] == "Purchase Blocked"
    assert any("insurance expired on 2026-11-30" in reason for reason in output["reasons"])
    assert not [r for r in firm.approvals.pending_requests() if r.case_id == case_id]


def test_two_purchases_from_one_new_vendor_start_one_onboarding_and_a_rejection_blocks_both(
    firm: Firm,
) -> None:
    # Given two requests from the same new vendor, whose W-9 gives an EIN the IRS never assigns
    seed_purchasing(firm.runtime.sandbox())
    runtime = firm.runtime
    vendor, _ = put_vendor_request(
        runtime.client("s3"), runtime.documents_bucket, scenarios()["invalid-tin"], blank_w9()
    )
    new_vendor = {
        key: vendor[key]
        for key in (
            "vendor_legal_name",
            "contact_email",
            "category",
            "expected_annual_spend",
            "currency",
            "documents",
            "handles_data",
        )
    }
    cases = []
    for number in ("0193", "0194"):
        detail = purchase_detail(
            f"PR-2026-{number}",
            requester="W-010",
            category="software",
            description="Integration licences",
            amount="700.00",
            new_vendor=new_vendor,
        )
        runtime.put_event("Purchase Requested", detail, source="procurement.portal")
        cases.append(f"purchase-PR-2026-{number}")
    # Then one vendor onboarding ran, asked for by the first purchase; the second waited for it too
    for case_id in cases:
        assert firm.finish(case_id).status == "SUCCEEDED"
    onboardings = [e for e in runtime.executions() if e.workflow == "vendor_approval"]
    assert len(onboardings) == 1
    actions = [a for case_id in cases for a, _ in firm.actions(case_id)]
    assert actions.count("vendor_onboarding.requested") == 1
    # And the onboarding's rejection blocks both, with its reason
    for case_id in cases:
        output = firm.output(case_id)
        assert output["outcome"] == "Purchase Blocked"
        assert any("EIN" in reason or "rejected" in reason for reason in output["reasons"]), output
    assert orders(firm, "PR-2026-0193") == orders(firm, "PR-2026-0194") == []


COPIES = 8


def test_eight_purchases_from_one_new_vendor_at_once_start_one_onboarding_and_all_go_on(firm: Firm) -> None:
    # Given eight requests from Bluegate, not yet a vendor, put on the bus at once
    seed_purchasing(firm.runtime.sandbox())
    new_vendor = put_new_vendor(firm.runtime)
    details = [
        purchase_detail(
            f"PR-2026-08{n}",
            requester="W-009",
            category="software",
            description=f"Licences batch {n}",
            amount="500.00",
            new_vendor=new_vendor,
        )
        for n in range(COPIES)
    ]
    at_once(
        [
            lambda d=d: firm.runtime.put_event("Purchase Requested", d, source="procurement.portal")
            for d in details
        ]
    )
    cases = [f"purchase-{d['request_id']}" for d in details]
    # Then one vendor onboarding runs, asked for by one of them
    for case_id in cases:
        _wait_for(
            lambda c=case_id: (
                _record(firm, c, "vendor_onboarding.requested")
                or _record(firm, c, "vendor_onboarding.awaited")
            )
        )
    onboardings = [e for e in firm.runtime.executions() if e.workflow == "vendor_approval"]
    assert len(onboardings) == 1
    asked = [c for c in cases if ("vendor_onboarding.requested", "waiting") in firm.actions(c)]
    assert len(asked) == 1
    # When procurement approves the vendor
    vendor_case = onboardings[0].name
    assert firm.settle(vendor_case).current_state == "Ask for vendor approval"
    _, heading, _ = decide_via_http(firm.link(PROCUREMENT, vendor_case), "approve", PROCUREMENT, "ok")
    assert heading == "You approved the request"
    # Then every purchase is resumed once, and each has its one order
    for case_id in cases:
        assert firm.finish(case_id, timeout=60).status == "SUCCEEDED", case_id
        assert firm.outcome_event(case_id)["detail-type"] == "Purchase Order Issued"
        decided = [r for r in firm.records(case_id) if r.action == "vendor_onboarding.decided"]
        assert [r.data["resumed"] for r in decided].count(True) == 1
    orders = [
        o
        for o in firm.runtime.sandbox().all("erp", "vendor_purchase_order")
        if o["request_id"].startswith("PR-2026-08")
    ]
    assert len(orders) == COPIES


# ------------------------------------------------------------------------------------------------------------
# Through the real adapters: NetSuite, Certinia and the REST HRIS, against their fakes
# ------------------------------------------------------------------------------------------------------------


def _seed_fakes(firm: Firm) -> tuple[str, dict[str, str], Any]:
    """The approved software vendor in NetSuite (insured), P-PO-01 and P-PO-02 in Certinia with their budgets, owners
    (the project manager: a Contact Id, the HRIS worker found by the Contact's e-mail) and cost roll-ups, and
    P-PO-02's open order of 2,500."""
    from backoffice.models import Project, Vendor, VendorPurchaseOrder

    assert isinstance(firm.systems, FakeSystems)
    fakes = firm.systems.fakes
    vendor = Vendor.from_json_dict(
        {
            "id": "V-PO-SOFT",
            "supplier_name": "Northwind Analytics Software Inc.",
            "default_currency": "USD",
            "email": "orders@v-po-soft.example",
        }
    )
    vendor_id = fakes.netsuite.seed_vendors([vendor])["V-PO-SOFT"]
    fakes.netsuite.vendors[vendor_id]["custentity_coi_expiry"] = "2027-06-30"
    projects = {}
    for code, name, budget, spent in (
        ("P-PO-01", "Cloud migration", "120000", "40000"),
        ("P-PO-02", "Operational risk review", "30000", "26000"),
    ):
        project = Project(
            id=code, project_name=name, client_id="BC-001", billing_model="time_and_materials", currency="USD"
        )
        projects[code] = fakes.salesforce.seed_project_budget(
            project,
            owner_email=EMAIL[OWNER[code]],  # the project manager: a Contact, found in the HRIS by its e-mail
            budgets=[(Decimal(budget), "Approved")],
            costs={"pse__Timecard_Internal_Costs_In_Financials__c": Decimal(spent)},
        )
    from backoffice.connectors import wiring

    wiring.purchasing_erp().create_purchase_order(
        VendorPurchaseOrder(
            request_id="PR-SAMPLE-0001",
            vendor_id=vendor_id,
            project_id=projects["P-PO-02"],
            category="software",
            description="Risk register licences, year one",
            amount=Decimal("2500.00"),
            currency="USD",
            order_date=date(2026, 10, 1),
            requester_email=EMAIL["W-008"],
        ),
        idempotency_key="purchase-PR-SAMPLE-0001",
    )
    return vendor_id, projects, fakes


@pytest.mark.parametrize("systems", ["fakes"], indirect=True)
def test_through_the_real_adapters_a_clean_purchase_is_ordered_in_netsuite_by_the_policy(firm: Firm) -> None:
    # Given the vendor in NetSuite and the project in Certinia, within budget
    vendor_id, projects, fakes = _seed_fakes(firm)
    detail = purchase_detail(
        "PR-2026-0301",
        requester="W-008",
        category="software",
        description="BI seats",
        amount="800.00",
        project_id=projects["P-PO-01"],
        vendor_id=vendor_id,
    )
    # When the request arrives
    firm.runtime.put_event("Purchase Requested", detail, source="procurement.portal")
    case_id = "purchase-PR-2026-0301"
    # Then the purchase order is in NetSuite once, by its external id, and the vendor was mailed its number
    assert firm.finish(case_id).status == "SUCCEEDED", firm.fault(case_id)
    assert firm.outcome_event(case_id)["detail-type"] == "Purchase Order Issued"
    [order] = [o for o in fakes.netsuite.records["purchaseorder"].values() if o.get("memo") == "BI seats"]
    assert order["externalId"] and order["entity"] == {"id": vendor_id}
    assert [m for m in firm.inbox("orders@v-po-soft.example") if order["tranId"] in m.subject]
    # And the calls to NetSuite, Certinia and the HRIS are on the case's trail
    systems = {r.data["system"] for r in firm.records(case_id) if r.action.startswith("connector.")}
    assert systems >= {"netsuite", "salesforce", "peoplehr"}


@pytest.mark.parametrize("systems", ["fakes"], indirect=True)
def test_through_the_real_adapters_an_over_budget_purchase_goes_to_the_owner_and_finance(firm: Firm) -> None:
    # Given P-PO-02 in Certinia (26,000 spent of 30,000) and its open NetSuite order of 2,500
    vendor_id, projects, fakes = _seed_fakes(firm)
    detail = purchase_detail(
        "PR-2026-0302",
        requester="W-009",
        category="software",
        description="Control-testing tool, one year",
        amount="4000.00",
        project_id=projects["P-PO-02"],
        vendor_id=vendor_id,
    )
    firm.runtime.put_event("Purchase Requested", detail, source="procurement.portal")
    case_id = "purchase-PR-2026-0302"
    # Then the owner the Certinia project names is asked, with the figures read from Certinia and NetSuite
    assert firm.settle(case_id).current_state == "Ask for purchase approval"
    budget = next(r for r in firm.records(case_id) if r.action == "budget.checked")
    assert (budget.data["committed"], budget.data["actual_cost"]) == ("2500.00", "26000")
    assert decide(firm, OWNER_OF_RISK, case_id, "approve", "Needed") == "You approved the request"
    assert firm.settle(case_id).current_state == "Ask for purchase approval"
    assert decide(firm, FINANCE, case_id, "approve", "Budget change to follow") == "You approved the request"
    # And the order is in NetSuite
    assert firm.finish(case_id).status == "SUCCEEDED"
    assert [
        o for o in fakes.netsuite.records["purchaseorder"].values() if o.get("memo", "").startswith("Control")
    ]


@pytest.mark.parametrize("systems", ["fakes"], indirect=True)
def test_through_the_real_adapters_a_new_vendor_is_onboarded_in_netsuite_and_the_purchase_goes_on(
    firm: Firm,
) -> None:
    # Given Bluegate, unknown to NetSuite, its documents uploaded, and the project in Certinia
    _, projects, fakes = _seed_fakes(firm)
    detail = purchase_detail(
        "PR-2026-0303",
        requester="W-009",
        category="software",
        description="Process-mining licences",
        amount="900.00",
        project_id=projects["P-PO-01"],
        new_vendor=put_new_vendor(firm.runtime),
    )
    # When the request arrives
    firm.runtime.put_event("Purchase Requested", detail, source="procurement.portal")
    case_id = "purchase-PR-2026-0303"
    asked = _wait_for(lambda: _record(firm, case_id, "vendor_onboarding.requested"))
    vendor_case = asked.data["vendor_case_id"]
    # Then the vendor's onboarding creates it in NetSuite on hold and asks procurement
    assert firm.settle(vendor_case).current_state == "Ask for vendor approval"
    assert (
        decide(firm, PROCUREMENT, vendor_case, "approve", "Documents in order") == "You approved the request"
    )
    # And once approved, the purchase goes on: its order names the new NetSuite vendor
    assert firm.finish(case_id, timeout=60).status == "SUCCEEDED", firm.fault(case_id)
    vendor_id = firm.outcome_event(vendor_case)["detail"]["data"]["vendor_id"]
    [order] = [
        o
        for o in fakes.netsuite.records["purchaseorder"].values()
        if o.get("memo") == "Process-mining licences"
    ]
    assert order["entity"] == {"id": vendor_id}
    assert firm.outcome_event(case_id)["detail-type"] == "Purchase Order Issued"


# ------------------------------------------------------------------------------------------------------------
# The second review's findings (#22 item 2)
# ------------------------------------------------------------------------------------------------------------


def test_two_purchases_each_within_budget_but_together_over_it_send_the_second_to_the_owner_and_finance(
    firm: Firm,
) -> None:
    # Given P-PO-02 with 1,500 left (26,000 spent + 2,500 committed of 30,000), and two software purchases of
    # 1,000 each for it: each within budget when checked, together over it
    seed_purchasing(firm.runtime.sandbox())
    cases = []
    for number in ("0401", "0402"):
        detail = purchase_detail(
            f"PR-2026-{number}",
            requester="W-010",
            category="software",
            description=f"Risk tool seats {number}",
            amount="1000.00",
            project_id="P-PO-02",
        )
        firm.runtime.put_event("Purchase Requested", detail, source="procurement.portal")
        cases.append(f"purchase-PR-2026-{number}")
    first, second = cases
    # Both are within budget when checked, and wait for the project owner (1,000 or more)
    for case_id in cases:
        assert firm.settle(case_id).current_state == "Ask for purchase approval"
        budget = next(r for r in firm.records(case_id) if r.action == "budget.checked")
        assert budget.outcome == "within_budget", budget.reasons
    # When the owner approves the first, it is ordered
    assert decide(firm, OWNER_OF_RISK, first, "approve", "ok") == "You approved the request"
    assert firm.finish(first).status == "SUCCEEDED"
    assert len(orders(firm, "PR-2026-0401")) == 1
    # And when the owner approves the second, the budget read again just before its order counts the first
    assert decide(firm, OWNER_OF_RISK, second, "approve", "ok") == "You approved the request"
    assert firm.settle(second).current_state == "Ask for purchase approval"
    rechecked = [r for r in firm.records(second) if r.action == "budget.rechecked"]
    assert [r.outcome for r in rechecked] == ["over_budget"]
    assert "committed 3,500.00 USD" in rechecked[0].reasons[0]
    # Then it is not ordered: it goes back to the approval chain for an over-budget purchase, finance included
    assert orders(firm, "PR-2026-0402") == []
    asked = set()
    for _ in range(3):
        if firm.settle(second).current_state != "Ask for purchase approval":
            break
        [request] = [r for r in firm.approvals.pending_requests() if r.case_id == second]
        who = FINANCE if FINANCE in request.approvers else OWNER_OF_RISK
        asked.add(who)
        assert decide(firm, who, second, "approve", "Budget change to follow") == "You approved the request"
    assert FINANCE in asked
    assert firm.finish(second).status == "SUCCEEDED"
    event = firm.outcome_event(second)
    assert event["detail-type"] == "Purchase Order Issued" and event["detail"]["data"]["over_budget"] is True
    [order] = orders(firm, "PR-2026-0402")
    assert FINANCE in order["approved_by"]


def test_a_request_fixed_and_sent_again_is_a_new_attempt_on_the_same_case(firm: Firm) -> None:
    # Given a travel request of 900, refused (below the limit: an expense)
    seed_purchasing(firm.runtime.sandbox())
    detail = purchase_detail(
        "PR-2026-0196", requester="W-010", category="travel", description="Workshop travel", amount="900.00"
    )
    firm.runtime.put_event("Purchase Requested", detail, source="procurement.portal")
    case_id = "purchase-PR-2026-0196"
    assert firm.finish(case_id).status == "SUCCEEDED"
    assert firm.output(case_id)["outcome"] == "Purchase Rejected"
    # When procurement fixes it (it was software of 900) and sends it again, with a new requested_at
    fixed = {**detail, "category": "software", "requested_at": "2026-12-08T10:00:00+00:00"}
    firm.runtime.put_event("Purchase Requested", fixed, source="procurement.portal")
    # And the same fixed request is delivered again
    firm.runtime.put_event("Purchase Requested", fixed, source="procurement.portal")
    firm.runtime.wait_until_idle(timeout=60)
    # Then a second execution ran on the same case and ordered it, once; the copy was a duplicate
    started = [r for r in firm.records(case_id) if r.action == "case.started"]
    assert len(started) == 2 and started[1].data["execution"].startswith(f"{case_id}-s")
    second = firm.runtime.execution(started[1].data["execution"], with_state=False)
    assert second is not None and second.status == "SUCCEEDED"
    assert [a for a, _ in firm.actions(case_id)].count("event.duplicate") == 1
    [order] = orders(firm, "PR-2026-0196")
    assert order["amount"] == "900.00" and order["category"] == "software"


def test_a_vendor_outcome_from_another_source_resumes_no_purchase(firm: Firm) -> None:
    # Given a purchase waiting for Bluegate's onboarding
    seed_purchasing(firm.runtime.sandbox())
    new = sample_purchases(put_new_vendor(firm.runtime))["new-vendor"]
    request_purchase(firm.runtime, new)
    asked = _wait_for(lambda: _record(firm, new.case_id, "vendor_onboarding.requested"))
    vendor_case = asked.data["vendor_case_id"]
    assert firm.settle(vendor_case).current_state == "Ask for vendor approval"
    # When someone else puts a Vendor Approved of that vendor case on the bus
    forged = {
        "case_id": vendor_case,
        "workflow": "vendor_approval",
        "outcome": "Vendor Approved",
        "data": {"vendor_id": "V-PO-SOFT", "vendor": "Bluegate Software Labs LLC"},
    }
    forged_id = firm.runtime.put_event("Vendor Approved", forged, source="procurement.portal")
    assert firm.runtime.router.wait_delivered(30)
    # Then the purchase still waits: the rule takes only the workflows' own outcomes; the forged one is parked
    assert [d.rule for d in firm.runtime.router.deliveries if d.event_id == forged_id] == [
        "unrouted_business_event"
    ]
    assert firm.execution(new.case_id).current_state == "Wait for vendor onboarding"
    assert not _record(firm, new.case_id, "vendor_onboarding.decided")


def test_a_retried_notify_step_does_not_mail_the_vendor_twice(firm: Firm) -> None:
    # Given the clean purchase, ordered and its vendor mailed
    seed_purchasing(firm.runtime.sandbox())
    clean = sample_purchases()["clean"]
    request_purchase(firm.runtime, clean)
    assert firm.finish(clean.case_id).status == "SUCCEEDED"
    [order] = orders(firm, "PR-2026-0101")
    assert len(vendor_mails(firm, order["number"])) == 1
    # When the step runs again with the same input (Step Functions retrying it after SES took the mail)
    started = next(r for r in firm.records(clean.case_id) if r.action == "vendor.notified")
    payload = {
        "case_id": clean.case_id,
        "execution_arn": started.execution_arn,
        "event": json.loads(
            firm.runtime.client("stepfunctions").describe_execution(
                executionArn=firm.execution(clean.case_id).arn
            )["input"]
        )["event"],
        "order": {
            "order_id": order["id"],
            "number": order["number"],
            "created": False,
            "vendor_email": "orders@v-po-soft.example",
            "vendor_name": "Northwind Analytics Software",
        },
    }
    function = firm.runtime.resolve(Ref("function_arn", "notify_vendor_of_purchase_order"))
    response = firm.runtime.client("lambda").invoke(
        FunctionName=function, Payload=json.dumps(payload).encode()
    )
    said = json.loads(response["Payload"].read())
    assert "FunctionError" not in response, said
    # Then it answers mailed, saying when, and the vendor has still one mail
    assert said["mailed"] is True and "not sent again" in said["reasons"][0]
    assert len(vendor_mails(firm, order["number"])) == 1


@pytest.mark.sandbox_only("make run's demo runs on the sandbox")
def test_make_runs_purchases_each_end_as_the_sample_says(firm: Firm) -> None:
    import io

    from backoffice.local.demo import _link
    from backoffice.local.purchasing_samples import run_purchase_approvals

    # Given the demo's seeded firm, when its purchases run as make run runs them
    out = io.StringIO()
    ok = run_purchase_approvals(firm.runtime, firm.approvals, _link, out)
    # Then every scenario ended as the sample expects
    assert ok, out.getvalue()


def _executions(firm: Firm, case_id: str) -> list[Any]:
    started = [r for r in firm.records(case_id) if r.action == "case.started"]
    return [firm.runtime.execution(r.data["execution"], with_state=False) for r in started]


def test_a_correction_while_the_first_attempt_waits_for_approval_is_the_one_ordered(firm: Firm) -> None:
    # Given a software request of 1,000 waiting for the project owner
    seed_purchasing(firm.runtime.sandbox())
    detail = purchase_detail(
        "PR-2026-0501", requester="W-010", category="software", description="Seats", amount="1000.00"
    )
    firm.runtime.put_event("Purchase Requested", detail, source="procurement.portal")
    case_id = "purchase-PR-2026-0501"
    assert firm.settle(case_id).current_state == "Ask for purchase approval"
    # When procurement corrects the amount (1,200) and sends it again while the first waits
    fixed = {**detail, "amount": "1200.00", "requested_at": "2026-12-08T10:00:00+00:00"}
    firm.runtime.put_event("Purchase Requested", fixed, source="procurement.portal")
    time.sleep(1)
    firm.settle(case_id)
    # And the owner approves (every approval the case shows, until none is pending)
    for _ in range(4):
        pending = [r for r in firm.approvals.pending_requests() if r.case_id == case_id]
        if not pending:
            break
        decide(firm, OWNER_OF_CLOUD, case_id, "approve", "ok")
        time.sleep(1)
        # (the correction's execution: the first keeps waiting, its approval now the correction's)
        firm.settle(case_id, execution=_executions(firm, case_id)[-1].name)
    # Then one order exists, with the corrected amount, and the correction's execution issued it
    [order] = orders(firm, "PR-2026-0501")
    assert order["amount"] == "1200.00"
    older, newer = _executions(firm, case_id)
    assert newer is not None and newer.status == "SUCCEEDED"
    assert firm.outcome_event(case_id)["detail-type"] == "Purchase Order Issued"
    # And the older attempt orders nothing: it still waits (its approval is the case's, now the correction's; it
    # ends when that approval expires), and its recheck could no longer take the order (the concurrency tests)
    assert older is not None and older.status == "RUNNING"
    assert [r.action for r in firm.records(case_id)].count("purchase_order.created") == 1
    firm.runtime.client("stepfunctions").stop_execution(executionArn=older.arn)


def test_a_correction_of_a_request_already_ordered_is_blocked_amend_it_in_the_erp(firm: Firm) -> None:
    # Given a software request of 500 ordered by the policy
    seed_purchasing(firm.runtime.sandbox())
    detail = purchase_detail(
        "PR-2026-0502", requester="W-010", category="software", description="Seats", amount="500.00"
    )
    firm.runtime.put_event("Purchase Requested", detail, source="procurement.portal")
    case_id = "purchase-PR-2026-0502"
    assert firm.finish(case_id).status == "SUCCEEDED"
    [order] = orders(firm, "PR-2026-0502")
    # When a correction (600) arrives after the order
    fixed = {**detail, "amount": "600.00", "requested_at": "2026-12-08T10:00:00+00:00"}
    firm.runtime.put_event("Purchase Requested", fixed, source="procurement.portal")
    firm.runtime.wait_until_idle(timeout=60)
    # Then it is blocked with the order's number and nothing is ordered again
    [second] = _executions(firm, case_id)[1:]
    assert second is not None and second.status == "SUCCEEDED"
    blocked = [r for r in firm.records(case_id) if r.action == "request.superseded"]
    assert blocked and list(blocked[0].reasons) == [
        f"request PR-2026-0502 is already ordered as PO {order['number']}: amend it in the ERP"
    ]
    assert [o["amount"] for o in orders(firm, "PR-2026-0502")] == ["500.00"]


@pytest.mark.parametrize("systems", ["fakes"], indirect=True)
def test_through_the_real_adapters_eight_deliveries_of_one_request_make_one_netsuite_order(
    firm: Firm,
) -> None:
    # Given the vendor in NetSuite and the project in Certinia, and one request delivered eight times at once
    vendor_id, projects, fakes = _seed_fakes(firm)
    detail = purchase_detail(
        "PR-2026-0303",
        requester="W-008",
        category="software",
        description="Diagram tool seats",
        amount="600.00",
        project_id=projects["P-PO-01"],
        vendor_id=vendor_id,
    )
    for _ in range(8):
        firm.runtime.put_event("Purchase Requested", detail, source="procurement.portal")
    case_id = "purchase-PR-2026-0303"
    # Then one case ran, the other seven deliveries are duplicates, and NetSuite holds one order, mailed once
    assert firm.finish(case_id).status == "SUCCEEDED", firm.fault(case_id)
    actions = [a for a, _ in firm.actions(case_id)]
    assert actions.count("case.started") == 1 and actions.count("event.duplicate") == 7
    made = [
        o for o in fakes.netsuite.records["purchaseorder"].values() if o.get("memo") == "Diagram tool seats"
    ]
    assert len(made) == 1
    assert len([m for m in firm.inbox("orders@v-po-soft.example") if made[0]["tranId"] in m.subject]) == 1


@pytest.mark.parametrize("systems", ["fakes"], indirect=True)
def test_through_the_real_adapters_a_work_order_from_a_subcontractor_whose_insurance_expired_is_blocked(
    firm: Firm,
) -> None:
    # Given a subcontractor approved in NetSuite whose certificate of insurance ran out last month
    from backoffice.models import Vendor

    _, projects, fakes = _seed_fakes(firm)
    subcontractor = Vendor.from_json_dict(
        {
            "id": "V-PO-SUB",
            "supplier_name": "Cascade Cabling Services LLC",
            "default_currency": "USD",
            "category": "subcontractor",
            "email": "office@v-po-sub.example",
        }
    )
    vendor_id = fakes.netsuite.seed_vendors([subcontractor])["V-PO-SUB"]
    fakes.netsuite.vendors[vendor_id]["custentity_coi_expiry"] = "2026-11-30"
    detail = purchase_detail(
        "PR-2026-0304",
        requester="W-010",
        category="subcontractor",
        description="Cabling work order",
        amount="5000.00",
        project_id=projects["P-PO-01"],
        vendor_id=vendor_id,
    )
    firm.runtime.put_event("Purchase Requested", detail, source="procurement.portal")
    # Then the purchase is blocked with the expiry NetSuite keeps, before anyone is asked, and nothing is ordered
    case_id = "purchase-PR-2026-0304"
    assert firm.finish(case_id).status == "SUCCEEDED", firm.fault(case_id)
    output = firm.output(case_id)
    assert output["outcome"] == "Purchase Blocked"
    assert any("expired on 2026-11-30" in reason for reason in output["reasons"])
    assert not [r for r in firm.approvals.pending_requests() if r.case_id == case_id]
    assert not [
        o for o in fakes.netsuite.records["purchaseorder"].values() if o.get("memo") == "Cabling work order"
    ]
