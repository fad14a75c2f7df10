"""Billing readiness, rule by rule (BR1 to BR10): what blocks an invoice, what holds it, what only warns.

Each rule has a case that trips it and one that does not; the sample is a time-and-materials SOW for a client
billed in USD, with a rate card of role rates and one worker-specific rate.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from backoffice.invoicing import (
    BillingPeriod,
    BillingPolicy,
    ReadinessReport,
    check_billing_readiness,
    check_billing_readiness_json,
)
from backoffice.models import (
    Client,
    Contract,
    ExpenseEntry,
    Project,
    PurchaseOrder,
    RateCard,
    TimeEntry,
    Worker,
)

PERIOD = BillingPeriod(start=date(2026, 10, 1), end=date(2026, 10, 31))
SHA = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"


def client_json(**change: Any) -> dict[str, Any]:
    return {
        "id": "C-1",
        "customer_name": "Acme Corp",
        "tax_id": "91-1144442",
        "default_currency": "USD",
    } | change


def project_json(**change: Any) -> dict[str, Any]:
    return {
        "id": "P-1",
        "project_name": "Acme ERP rollout",
        "client_id": "C-1",
        "contract_id": "SOW-1",
        "billing_model": "time_and_materials",
        "currency": "USD",
        "expected_start_date": "2026-09-01",
        "expected_end_date": "2026-12-31",
    } | change


def contract_json(**change: Any) -> dict[str, Any]:
    return {
        "id": "SOW-1",
        "kind": "sow",
        "client_id": "C-1",
        "title": "ERP rollout",
        "billing_model": "time_and_materials",
        "currency": "USD",
        "rates_by_role": {"analyst": "140"},
        "payment_terms_days": 30,
        "effective_date": "2026-09-01",
        "not_to_exceed": "100000",
    } | change


RATE_CARD = RateCard.from_json_dict(
    {
        "id": "RC-1",
        "name": "Acme 2026",
        "client_id": "C-1",
        "effective_date": "2026-01-01",
        "lines": [
            {
                "role": "consultant",
                "activity_type": "consulting",
                "currency": "USD",
                "billing_rate": "190",
                "costing_rate": "85",
            },
            {
                "worker_id": "W-2",
                "activity_type": "consulting",
                "currency": "USD",
                "billing_rate": "200",
                "costing_rate": "90",
            },
            {"activity_type": "travel", "currency": "USD", "billing_rate": "95", "costing_rate": "40"},
        ],
    }
)
WORKERS = [
    Worker(
        id="W-1",
        name="Ada",
        employment="employee",
        roles=["consultant"],
        cost_rate=Decimal(85),
        currency="USD",
    ),
    Worker(
        id="W-2",
        name="Bo",
        employment="employee",
        roles=["consultant"],
        cost_rate=Decimal(90),
        currency="USD",
    ),
    Worker(
        id="W-3", name="Cy", employment="employee", roles=["analyst"], cost_rate=Decimal(60), currency="USD"
    ),
]


def time_entry(line_id: str, worker: str = "W-1", day: int = 5, hours: str = "8", **change: Any) -> TimeEntry:
    rate = {"W-1": "190", "W-2": "200", "W-3": "140"}[worker]
    data = {
        "id": line_id,
        "worker_id": worker,
        "project_id": "P-1",
        "activity_type": "consulting",
        "work_date": f"2026-10-{day:02d}",
        "hours": hours,
        "is_billable": True,
        "billing_hours": hours,
        "billing_rate": rate,
        "billing_amount": str(Decimal(rate) * Decimal(hours)),
        "costing_rate": "85",
        "currency": "USD",
        "status": "approved",
    }
    return TimeEntry.from_json_dict(data | change)


def expense(line_id: str, amount: str = "212.00", **change: Any) -> ExpenseEntry:
    data = {
        "id": line_id,
        "worker_id": "W-1",
        "project_id": "P-1",
        "expense_date": "2026-10-06",
        "expense_type": "lodging",
        "amount": amount,
        "currency": "USD",
        "receipt_document": {
            "bucket": "receipts",
            "key": f"{line_id}.pdf",
            "content_type": "application/pdf",
            "document_type": "other",
            "sha256": SHA,
        },
        "is_billable": True,
        "status": "approved",
    }
    return ExpenseEntry.from_json_dict(data | change)


def check(
    time_entries: list[TimeEntry] | None = None,
    expenses: list[ExpenseEntry] | None = None,
    *,
    client: dict[str, Any] | None = None,
    project: dict[str, Any] | None = None,
    contract: dict[str, Any] | None = None,
    billed_to_date: str = "0",
    policy: BillingPolicy | None = None,
    **options: Any,
) -> ReadinessReport:
    options.setdefault("tax_template", "US Sales Tax - NY")
    options.setdefault("workers", WORKERS)
    return check_billing_readiness(
        Project.from_json_dict(project or project_json()),
        Client.from_json_dict(client or client_json()),
        Contract.from_json_dict(contract or contract_json()),
        time_entries if time_entries is not None else [time_entry("TE-1"), time_entry("TE-2", "W-2", day=6)],
        expenses or [],
        RATE_CARD,
        Decimal(billed_to_date),
        PERIOD,
        policy,
        **options,
    )


def rules(report: ReadinessReport, severity: str | None = None) -> set[str]:
    return {found.rule for found in report.exceptions if severity is None or found.severity == severity}


def test_a_clean_period_is_ready_and_bills_every_line() -> None:
    # Given approved time at the rate card's rates and a billable hotel night with its receipt
    report = check(expenses=[expense("EX-1")])
    # Then nothing stops, holds or warns, and the draft is the time plus the expense
    assert report.status == "ready" and report.ready
    assert report.exceptions == []
    assert report.billable_time_entry_ids == ["TE-1", "TE-2"]
    assert report.billable_expense_ids == ["EX-1"]
    assert report.billable_hours == Decimal(16)
    assert report.draft_total == Decimal(8 * 190 + 8 * 200) + Decimal("212.00")


# ------------------------------------------------------------------------------------------------------------
# BR1 unapproved time
# ------------------------------------------------------------------------------------------------------------


def test_br1_draft_time_in_the_period_blocks_the_invoice() -> None:
    # Given one draft entry among approved ones
    report = check([time_entry("TE-1"), time_entry("TE-2", status="draft")])
    # Then the invoice is blocked on that entry, which is not billable
    [found] = report.for_rule("BR1")
    assert found.severity == "block" and found.line_ids == ["TE-2"]
    assert "draft" in found.reason and "8 h" in found.reason
    assert report.status == "blocked"
    assert report.billable_time_entry_ids == ["TE-1"]


def test_br1_submitted_time_is_billable_unless_the_firm_bills_approved_time_only() -> None:
    entries = [time_entry("TE-1"), time_entry("TE-2", status="submitted")]
    # Given the default policy / Then submitted time bills
    assert check(entries).for_rule("BR1") == []
    # Given a firm that bills approved time only / Then the submitted entry blocks
    [found] = check(entries, policy=BillingPolicy(bill_submitted_lines=False)).for_rule("BR1")
    assert found.line_ids == ["TE-2"] and "not approved" in found.reason


def test_br1_rejected_time_is_left_out_with_a_warning() -> None:
    report = check([time_entry("TE-1"), time_entry("TE-2", status="rejected")])
    [found] = report.for_rule("BR1")
    assert found.severity == "warn" and found.line_ids == ["TE-2"]
    assert report.status == "ready_with_warnings"
    assert report.billable_time_entry_ids == ["TE-1"]


# ------------------------------------------------------------------------------------------------------------
# BR2 double billing
# ------------------------------------------------------------------------------------------------------------


def test_br2_a_line_already_on_an_invoice_is_never_billed_again() -> None:
    # Given an entry linked to a posted invoice
    report = check([time_entry("TE-1"), time_entry("TE-2", invoice_id="INV-0042")])
    # Then it blocks, names the invoice and stays out of the draft
    [found] = report.for_rule("BR2")
    assert found.severity == "block" and found.line_ids == ["TE-2"] and "INV-0042" in found.reason
    assert report.billable_time_entry_ids == ["TE-1"]
    assert report.draft_total == Decimal(8 * 190)


def test_br2_the_same_line_twice_in_a_run_blocks() -> None:
    report = check([time_entry("TE-1"), time_entry("TE-1")])
    [found] = report.for_rule("BR2")
    assert found.line_ids == ["TE-1"] and "more than once" in found.reason
    assert report.draft_total == Decimal(8 * 190)  # counted once


def test_br2_unbilled_lines_raise_nothing() -> None:
    assert check().for_rule("BR2") == []


# ------------------------------------------------------------------------------------------------------------
# BR3 hours
# ------------------------------------------------------------------------------------------------------------


def test_br3_an_entry_of_zero_hours_blocks() -> None:
    report = check([time_entry("TE-1"), time_entry("TE-2", hours="0")])
    found = report.for_rule("BR3")
    assert [f.line_ids for f in found] == [["TE-2"]] and found[0].severity == "block"


def test_br3_billing_hours_above_hours_only_warn() -> None:
    # Given 8 hours worked and 9 billed (at the right amount for 9)
    report = check([time_entry("TE-1", billing_hours="9", billing_amount="1710")])
    [found] = report.for_rule("BR3")
    assert found.severity == "warn" and "bills 9 h but records 8 h" in found.reason
    assert report.status == "ready_with_warnings"


def test_br3_no_billable_hours_means_no_invoice() -> None:
    # Given only non-billable time (at rate 0)
    report = check([time_entry("TE-1", is_billable=False, billing_rate="0", billing_amount="0")])
    [found] = report.for_rule("BR3")
    assert found.severity == "block" and found.line_ids == [] and "nothing to invoice" in found.reason


def test_br3_billable_hours_raise_nothing() -> None:
    assert check().for_rule("BR3") == []


# ------------------------------------------------------------------------------------------------------------
# BR4 overlaps
# ------------------------------------------------------------------------------------------------------------


def test_br4_two_intervals_of_one_worker_that_overlap_block_both() -> None:
    # Given 09:00-12:00 and 11:00-13:00 the same day
    first = time_entry("TE-1", hours="3", from_time="2026-10-05T09:00:00Z", to_time="2026-10-05T12:00:00Z")
    second = time_entry("TE-2", hours="2", from_time="2026-10-05T11:00:00Z", to_time="2026-10-05T13:00:00Z")
    [found] = check([first, second]).for_rule("BR4")
    assert found.severity == "block" and found.line_ids == ["TE-1", "TE-2"]
    assert "overlapping" in found.reason and "11:00" in found.reason


def test_br4_back_to_back_intervals_and_other_workers_do_not_overlap() -> None:
    first = time_entry("TE-1", hours="3", from_time="2026-10-05T09:00:00Z", to_time="2026-10-05T12:00:00Z")
    after = time_entry("TE-2", hours="1", from_time="2026-10-05T12:00:00Z", to_time="2026-10-05T13:00:00Z")
    colleague = time_entry(
        "TE-3", "W-2", hours="3", from_time="2026-10-05T09:00:00Z", to_time="2026-10-05T12:00:00Z"
    )
    assert check([first, after, colleague]).for_rule("BR4") == []


# ------------------------------------------------------------------------------------------------------------
# BR5 rates
# ------------------------------------------------------------------------------------------------------------


def test_br5_a_rate_off_the_rate_card_blocks_and_names_the_card() -> None:
    report = check([time_entry("TE-1", billing_rate="180", billing_amount="1440")])
    [found] = report.for_rule("BR5")
    assert found.severity == "block" and found.line_ids == ["TE-1"]
    assert "USD 180.00/h" in found.reason and "USD 190.00/h" in found.reason and "Acme 2026" in found.reason


def test_br5_a_rate_within_the_tolerance_passes() -> None:
    entry = time_entry("TE-1", billing_rate="190.01", billing_amount="1520.08")
    assert check([entry]).for_rule("BR5") == []


def test_br5_the_worker_rate_comes_before_the_role_rate() -> None:
    # Given W-2, a consultant with a personal rate of 200, billed at the consultant rate of 190
    [found] = check([time_entry("TE-1", "W-2", billing_rate="190", billing_amount="1520")]).for_rule("BR5")
    assert "for W-2" in found.reason and "USD 200.00/h" in found.reason


def test_br5_the_contract_role_rate_applies_when_the_card_has_none() -> None:
    # Given an analyst: no card line for the role, the SOW says 140
    assert check([time_entry("TE-1", "W-3")]).for_rule("BR5") == []
    [found] = check([time_entry("TE-1", "W-3", billing_rate="150", billing_amount="1200")]).for_rule("BR5")
    assert "contract SOW-1" in found.reason


def test_br5_no_rate_anywhere_blocks() -> None:
    [found] = check([time_entry("TE-1", activity_type="workshop")]).for_rule("BR5")
    assert "no rate" in found.reason and "workshop" in found.reason


def test_br5_amount_must_be_rate_times_billing_hours() -> None:
    [found] = check([time_entry("TE-1", billing_amount="1600")]).for_rule("BR5")
    assert "USD 1,600.00" in found.reason and "USD 1,520.00" in found.reason


def test_br5_a_non_billable_line_carries_no_rate() -> None:
    entries = [time_entry("TE-1"), time_entry("TE-2", is_billable=False)]  # still at 190
    [found] = check(entries).for_rule("BR5")
    assert found.line_ids == ["TE-2"] and "not billable" in found.reason
    zero = time_entry("TE-2", is_billable=False, billing_rate="0", billing_amount="0")
    assert check([time_entry("TE-1"), zero]).for_rule("BR5") == []


# ------------------------------------------------------------------------------------------------------------
# BR6 not-to-exceed
# ------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("billed_to_date", "severity", "escalation"),
    [
        ("80000", None, None),  # 83 % of the cap with the draft
        ("88000", "warn", None),  # 91 %: time for a change order
        ("99000", "block", None),  # 2 % over
        ("108000", "block", "notify"),  # 11 % over
        ("123000", "block", "pre_approval"),  # 26 % over
    ],
)
def test_br6_the_cap_warns_near_it_blocks_past_it_and_escalates_with_the_overrun(
    billed_to_date: str, severity: str | None, escalation: str | None
) -> None:
    # Given a cap of 100,000 and a draft of 3,120
    report = check(billed_to_date=billed_to_date)
    found = report.for_rule("BR6")
    if severity is None:
        assert found == []
        return
    assert [(f.severity, f.escalation) for f in found] == [(severity, escalation)]
    if severity == "block":
        assert "not-to-exceed USD 100,000.00" in found[0].reason


def test_br6_no_cap_no_check() -> None:
    contract = contract_json()
    del contract["not_to_exceed"]
    assert check(contract=contract, billed_to_date="900000").for_rule("BR6") == []


# ------------------------------------------------------------------------------------------------------------
# BR7 milestones
# ------------------------------------------------------------------------------------------------------------


def fixed_fee_contract(status: str, **milestone: Any) -> dict[str, Any]:
    return contract_json(
        billing_model="fixed_fee",
        fixed_fee="50000",
        milestones=[
            {
                "id": "M-1",
                "name": "Design sign-off",
                "amount": "20000",
                "due_date": "2026-10-20",
                "status": status,
            }
            | milestone
        ],
    )


def test_br7_a_fixed_fee_milestone_bills_only_once_accepted() -> None:
    # Given a milestone due in the period, delivered but not accepted
    report = check(contract=fixed_fee_contract("delivered"), project=project_json(billing_model="fixed_fee"))
    [found] = report.for_rule("BR7")
    assert found.severity == "block" and found.line_ids == ["M-1"] and "not accepted" in found.reason
    assert report.billable_milestone_ids == []


def test_br7_an_accepted_milestone_is_billed() -> None:
    report = check(
        contract=fixed_fee_contract("accepted", accepted_date="2026-10-22"),
        project=project_json(billing_model="fixed_fee"),
    )
    assert report.for_rule("BR7") == []
    assert report.billable_milestone_ids == ["M-1"]
    assert report.draft_total == Decimal(20000)


def test_br7_time_booked_to_an_unaccepted_milestone_blocks() -> None:
    report = check(
        [time_entry("TE-1", task="M-1")],
        contract=fixed_fee_contract("planned", due_date="2026-11-30"),
        project=project_json(billing_model="fixed_fee"),
    )
    assert [f.line_ids for f in report.for_rule("BR7")] == [[], ["TE-1"]]  # nothing to bill; the linked time


# ------------------------------------------------------------------------------------------------------------
# BR8 purchase orders
# ------------------------------------------------------------------------------------------------------------


def po(**change: Any) -> PurchaseOrder:
    data = {"po_no": "4500012345", "po_date": "2026-09-15", "balance": "50000", "currency": "USD"} | change
    return PurchaseOrder.from_json_dict(data)


def test_br8_a_client_that_requires_a_po_gets_no_invoice_without_one() -> None:
    [found] = check(client=client_json(requires_po=True)).for_rule("BR8")
    assert found.severity == "block" and "requires a purchase order" in found.reason


@pytest.mark.parametrize(
    ("change", "reason"),
    [({"po_date": "2026-11-02"}, "after the invoice date"), ({"balance": "1000"}, "USD 1,000.00 left")],
)
def test_br8_the_po_must_predate_the_invoice_and_cover_it(change: dict[str, str], reason: str) -> None:
    [found] = check(client=client_json(requires_po=True), purchase_order=po(**change)).for_rule("BR8")
    assert reason in found.reason


def test_br8_a_valid_po_or_no_requirement_passes() -> None:
    assert check(client=client_json(requires_po=True), purchase_order=po()).for_rule("BR8") == []
    assert check().for_rule("BR8") == []


# ------------------------------------------------------------------------------------------------------------
# BR9 closed project, frozen client, credit limit
# ------------------------------------------------------------------------------------------------------------


def test_br9_a_completed_project_is_not_billed() -> None:
    [found] = check(project=project_json(status="completed")).for_rule("BR9")
    assert found.severity == "block" and "completed" in found.reason


def test_br9_work_after_the_project_end_blocks_those_lines() -> None:
    report = check(
        [time_entry("TE-1", day=10), time_entry("TE-2", day=20)],
        project=project_json(expected_end_date="2026-10-15"),
    )
    [found] = report.for_rule("BR9")
    assert found.line_ids == ["TE-2"] and "2026-10-15" in found.reason
    assert report.billable_time_entry_ids == ["TE-1"]


@pytest.mark.parametrize("change", [{"is_frozen": True}, {"disabled": True}])
def test_br9_a_frozen_or_disabled_client_puts_the_invoice_on_hold(change: dict[str, bool]) -> None:
    report = check(client=client_json(**change))
    [found] = report.for_rule("BR9")
    assert found.severity == "hold" and report.status == "on_hold" and not report.ready


def test_br9_a_client_over_its_credit_limit_is_on_hold_and_one_within_it_is_not() -> None:
    over = check(client=client_json(credit_limit="10000"), client_outstanding=Decimal(8000))
    [found] = over.for_rule("BR9")
    assert found.severity == "hold" and "credit limit of USD 10,000.00" in found.reason
    within = check(client=client_json(credit_limit="10000"), client_outstanding=Decimal(1000))
    assert within.for_rule("BR9") == []


# ------------------------------------------------------------------------------------------------------------
# BR10 currency and tax
# ------------------------------------------------------------------------------------------------------------


def test_br10_the_invoice_is_in_the_clients_currency() -> None:
    report = check(client=client_json(default_currency="EUR"))
    assert any("billed in EUR" in f.reason for f in report.for_rule("BR10"))


def test_br10_a_line_in_another_currency_blocks() -> None:
    report = check([time_entry("TE-1"), time_entry("TE-2", currency="EUR")])
    [found] = report.for_rule("BR10")
    assert found.line_ids == ["TE-2"] and "not in USD" in found.reason
    assert report.billable_time_entry_ids == ["TE-1"]


def test_br10_missing_tax_id_or_tax_template_blocks() -> None:
    no_tax_id = client_json()
    del no_tax_id["tax_id"]
    assert any("no tax id" in f.reason for f in check(client=no_tax_id).for_rule("BR10"))
    assert any("tax template" in f.reason for f in check(tax_template=None).for_rule("BR10"))


def test_br10_an_individual_client_needs_no_tax_id() -> None:
    individual = client_json(customer_type="individual")
    del individual["tax_id"]
    assert check(client=individual).for_rule("BR10") == []


# ------------------------------------------------------------------------------------------------------------
# Bad input: an exception with a reason, never a crash
# ------------------------------------------------------------------------------------------------------------


def test_a_line_of_another_project_or_an_unknown_worker_is_reported_not_billed() -> None:
    stray = time_entry("TE-9", project_id="P-2")
    stranger = time_entry("TE-3", "W-1", worker_id="W-99")
    report = check([time_entry("TE-1"), stray, stranger])
    reasons = {tuple(f.line_ids): f.reason for f in report.for_rule("INPUT")}
    assert "another project" in reasons[("TE-9",)]
    assert "W-99" in reasons[("TE-3",)]
    assert report.billable_time_entry_ids == ["TE-1"]


def request_json(**change: Any) -> dict[str, Any]:
    entry = time_entry("TE-1").to_json_dict()
    return {
        "project": project_json(),
        "client": client_json(),
        "contract": contract_json(),
        "rate_card": RATE_CARD.to_json_dict(),
        "time_entries": [entry],
        "expenses": [],
        "billed_to_date": "0",
        "period": {"start": "2026-10-01", "end": "2026-10-31"},
        "tax_template": "US Sales Tax - NY",
        "workers": [worker.to_json_dict() for worker in WORKERS],
    } | change


def test_json_negative_hours_become_an_input_exception_naming_the_field() -> None:
    # Given a request whose second entry has negative hours (which no TimeEntry accepts)
    bad = time_entry("TE-2").to_json_dict() | {"hours": "-2"}
    request = request_json(time_entries=[time_entry("TE-1").to_json_dict(), bad])
    # When it is checked / Then the bad entry is reported, not billed, and the good one is
    report = check_billing_readiness_json(request)
    [found] = report.for_rule("INPUT")
    assert found.line_ids == ["TE-2"] and "time_entries[1].hours" in found.reason
    assert report.status == "blocked" and report.billable_time_entry_ids == ["TE-1"]


def test_json_a_clean_request_is_ready() -> None:
    assert check_billing_readiness_json(request_json()).status == "ready"


def test_json_without_a_valid_project_there_is_nothing_to_report_on() -> None:
    with pytest.raises(ValueError, match=r"project\.currency"):
        check_billing_readiness_json(request_json(project=project_json(currency="usd")))
