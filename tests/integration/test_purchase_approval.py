"""Purchase approval end to end on the local runtime: the procurement portal's Purchase Requested on the bus, the
real ASL, the real handlers under their synthesized roles, the approval links over HTTP, the PSA and ERP (sandbox),
the vendor approval workflow for a vendor not yet approved, and the outbox.

The sample (``backoffice.local.purchasing_samples``): P-PO-01 owned by W-003 (within budget), P-PO-02 owned by W-004
(26,000 spent and 2,500 committed of 30,000), an approved software vendor and subcontractor, Bluegate (new).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

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
from backoffice.local.approver import decide_via_http
from tests.integration.conftest import Firm

OWNER_OF_CLOUD, OWNER_OF_RISK = EMAIL[OWNER["P-PO-01"]], EMAIL[OWNER["P-PO-02"]]


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
    assert actions == [
        "case.started",
        "vendor.approved",
        "budget.checked",
        "purchase_order.created",
        "vendor.notified",
        "outcome.published",
    ]
    budget = next(r for r in firm.records(clean.case_id) if r.action == "budget.checked")
    assert budget.outcome == "within_budget" and budget.data["total"] == "40800.00"


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
    assert decide(firm, PARTNER, own.case_id, "approve", "Agreed with the client") == "You approved the request"
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
    assert decide(firm, PROCUREMENT, vendor_case, "approve", "Documents in order") == "You approved the request"
    # Then the purchase goes on with the new vendor and its order is issued
    assert firm.finish(vendor_case).status == "SUCCEEDED"
    assert firm.finish(new.case_id).status == "SUCCEEDED", firm.fault(new.case_id)
    event = firm.outcome_event(new.case_id)
    assert event["detail-type"] == "Purchase Order Issued"
    [order] = orders(firm, "PR-2026-0103")
    assert order["vendor_id"] == firm.outcome_event(vendor_case)["detail"]["data"]["vendor_id"]
    actions = [a for a, _ in firm.actions(new.case_id) if not a.startswith("connector.")]
    assert actions[:4] == [
        "case.started",
        "vendor.onboarding",
        "vendor_onboarding.requested",
        "vendor_onboarding.decided",
    ]
    assert actions[4:] == ["vendor.approved", "budget.checked", "purchase_order.created", "vendor.notified",
                           "outcome.published"]


def _record(firm: Firm, case_id: str, action: str) -> Any:
    return next((r for r in firm.records(case_id) if r.action == action), None)


def _wait_for(found: Any, timeout: float = 30) -> Any:
    import time

    deadline = time.monotonic() + timeout
    while (value := found()) is None:
        assert time.monotonic() < deadline, "not in time"
        time.sleep(0.05)
    return value
