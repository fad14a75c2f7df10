"""What a project's invoice needs once its lines are checked and scored, and the draft that comes out.

The readiness report and the scores are built by hand here, so that each decision of ``review_project`` is
seen on its own: invoice-blocking rules stop the invoice, other blocks leave lines out, reviewable rules and
high scores go to a person, and nothing billable means no invoice.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from backoffice.invoicing import BillingException, BillingPeriod, ReadinessReport
from backoffice.invoicing.drafting import NothingToInvoice, draft_invoice, invoice_key
from backoffice.invoicing.review import LineScore, apply_review, held_back_in, review_project
from backoffice.invoicing.steps import summarize
from backoffice.models import Client, Contract, ExpenseEntry, Milestone, Project, TimeEntry

PERIOD = BillingPeriod(start=date(2026, 10, 1), end=date(2026, 10, 31))


def time_entry(line_id: str, **change: Any) -> TimeEntry:
    values: dict[str, Any] = {
        "id": line_id,
        "worker_id": "W-1",
        "project_id": "P-1",
        "role": "analyst",
        "activity_type": "analysis",
        "work_date": "2026-10-06",
        "hours": "8",
        "is_billable": True,
        "billing_hours": "8",
        "billing_rate": "140",
        "billing_amount": "1120",
        "costing_rate": "60",
        "currency": "USD",
        "status": "approved",
    }
    return TimeEntry.from_json_dict(values | change)


def expense(line_id: str, **change: Any) -> ExpenseEntry:
    values: dict[str, Any] = {
        "id": line_id,
        "worker_id": "W-1",
        "project_id": "P-1",
        "expense_date": "2026-10-07",
        "expense_type": "taxi",
        "amount": "42.50",
        "currency": "USD",
        "is_billable": True,
        "status": "approved",
    }
    return ExpenseEntry.from_json_dict(values | change)


def report(
    *exceptions: BillingException, time_ids: list[str], expense_ids: tuple[str, ...] = ()
) -> ReadinessReport:
    return ReadinessReport(
        project_id="P-1",
        client_id="C-1",
        period_start=PERIOD.start,
        period_end=PERIOD.end,
        currency="USD",
        status="blocked" if any(e.severity == "block" for e in exceptions) else "ready",
        exceptions=list(exceptions),
        billable_time_entry_ids=time_ids,
        billable_expense_ids=list(expense_ids),
        billable_milestone_ids=[],
        billable_hours=Decimal(8) * len(time_ids),
        draft_total=Decimal(1120) * len(time_ids),
    )


LINES = [time_entry("TE-1"), time_entry("TE-2"), time_entry("TE-3"), expense("EX-1")]


def test_clean_lines_are_ready_and_need_no_review() -> None:
    review = review_project(report(time_ids=["TE-1", "TE-2"], expense_ids=("EX-1",)), {}, LINES)
    assert review.status == "ready" and review.review_lines == []
    assert review.billable_time_entry_ids == ["TE-1", "TE-2"]


@pytest.mark.parametrize("rule", ["BR1", "BR6", "BR8", "BR9", "BR10"])
def test_an_invoice_blocking_rule_blocks_the_whole_invoice_with_its_reason(rule: str) -> None:
    finding = BillingException(rule=rule, severity="block", line_ids=["TE-3"], reason="fix this first")
    review = review_project(report(finding, time_ids=["TE-1"]), {}, LINES)
    assert review.status == "blocked" and review.reasons == [f"{rule} fix this first"]


def test_a_hold_alone_puts_the_invoice_on_hold() -> None:
    finding = BillingException(rule="BR9", severity="hold", reason="client frozen")
    review = review_project(report(finding, time_ids=["TE-1"]), {}, LINES)
    assert review.status == "on_hold" and review.reasons == ["BR9 client frozen"]


@pytest.mark.parametrize("rule", ["BR2", "BR3", "BR7", "INPUT"])
def test_other_line_blocks_leave_the_line_out_and_the_rest_bills(rule: str) -> None:
    finding = BillingException(rule=rule, severity="block", line_ids=["TE-3"], reason="not this line")
    review = review_project(report(finding, time_ids=["TE-1"]), {}, LINES)
    assert review.status == "ready"
    assert [(x.line_id, x.rule) for x in review.excluded] == [("TE-3", rule)]
    assert review.exceptions_by_rule == {rule: 1}


@pytest.mark.parametrize("rule", ["BR4", "BR5"])
def test_reviewable_rules_send_their_lines_to_a_person(rule: str) -> None:
    finding = BillingException(rule=rule, severity="block", line_ids=["TE-3"], reason="overlap or rate")
    review = review_project(report(finding, time_ids=["TE-1"]), {}, LINES)
    assert review.status == "review"
    (line,) = review.review_lines
    assert line.line_id == "TE-3" and line.reasons == [f"{rule} overlap or rate"]
    assert line.amount == Decimal(1120)


def test_a_line_the_scorer_sends_goes_to_review_a_line_it_only_flags_bills() -> None:
    # Given a long day the scorer sends to review (a policy violation) and a round amount it only flagged (a
    # signal below the model's threshold)
    scores = {
        "TE-1": LineScore(score=1.0, review=True, reasons=["TE7 10.5 h on 2026-10-06, over the 10 h limit"]),
        "EX-1": LineScore(score=0.3, reasons=["TE3 a round amount"], features={"round_amount": 1.0}),
    }
    # When the project is reviewed
    review = review_project(report(time_ids=["TE-1", "TE-2"], expense_ids=("EX-1",)), scores, LINES)
    # Then the long day waits for a person, the rest bills, and both findings are counted
    assert review.status == "review"
    assert [line.line_id for line in review.review_lines] == ["TE-1"]
    assert review.billable_time_entry_ids == ["TE-2"] and review.billable_expense_ids == ["EX-1"]
    assert review.exceptions_by_rule == {"TE3": 1, "TE7": 1}
    subject = review.approval_subject("Acme Corp", "technology")
    assert subject["anomaly_score"] == 1.0 and "TE7" in subject["reasons"][0]


def test_nothing_billable_is_said_as_such() -> None:
    finding = BillingException(rule="BR3", severity="block", reason="no billable hours: nothing to invoice")
    review = review_project(report(finding, time_ids=[]), {}, LINES)
    assert review.status == "nothing_to_bill"
    assert review.reasons == ["BR3 no billable hours: nothing to invoice"]


def test_a_retainer_bills_its_fee_with_no_lines() -> None:
    review = review_project(report(time_ids=[]), {}, [], retainer_fee=Decimal(25000))
    assert review.status == "ready"


def test_approving_bills_the_reviewed_lines_rejecting_returns_them() -> None:
    finding = BillingException(rule="BR5", severity="block", line_ids=["TE-3"], reason="rate")
    scores = {"EX-1": LineScore(score=1.0, review=True, reasons=["TE1 duplicate expense"])}
    review = review_project(report(finding, time_ids=["TE-1"], expense_ids=("EX-1",)), scores, LINES)
    approved = apply_review(review, "approved")
    assert approved.billable_time_entry_ids == ["TE-1", "TE-3"] and approved.billable_expense_ids == ["EX-1"]
    rejected = apply_review(review, "rejected")
    assert rejected.billable_time_entry_ids == ["TE-1"] and rejected.billable_expense_ids == []
    assert rejected.returned_time_entry_ids == ["TE-3"] and rejected.returned_expense_ids == ["EX-1"]


# -- drafting ----------------------------------------------------------------------------------------------------


def client() -> Client:
    return Client.from_json_dict(
        {"id": "C-1", "customer_name": "Acme Corp", "tax_id": "91-1144442", "default_currency": "USD"}
    )


def project(model: str = "time_and_materials") -> Project:
    return Project.from_json_dict(
        {
            "id": "P-1",
            "project_name": "Rollout",
            "client_id": "C-1",
            "billing_model": model,
            "currency": "USD",
        }
    )


def contract(model: str, **change: Any) -> Contract:
    values: dict[str, Any] = {
        "id": "SOW-1",
        "kind": "sow",
        "client_id": "C-1",
        "title": "Rollout",
        "billing_model": model,
        "currency": "USD",
        "payment_terms_days": 45,
        "effective_date": "2026-01-01",
    }
    return Contract.from_json_dict(values | change)


def test_time_and_materials_groups_time_by_worker_role_activity_and_rate_and_adds_expenses() -> None:
    invoice = draft_invoice(
        project(),
        client(),
        contract("time_and_materials"),
        PERIOD,
        time_entries=[
            time_entry("TE-1"),
            time_entry("TE-2"),
            time_entry("TE-3", billing_rate="150", billing_amount="1200"),
        ],
        expenses=[expense("EX-1")],
        milestones=[],
        tax_template="US exempt",
    )
    assert [(line.source, line.source_ids, line.quantity, line.amount) for line in invoice.lines] == [
        ("time", ["TE-1", "TE-2"], Decimal(16), Decimal("2240.00")),
        ("time", ["TE-3"], Decimal(8), Decimal("1200.00")),
        ("expense", ["EX-1"], Decimal(1), Decimal("42.50")),
    ]
    assert invoice.grand_total == Decimal("3482.50") and invoice.currency == "USD"
    assert invoice.due_date == date(2026, 12, 15)  # 45 days after the period's end
    assert invoice.taxes_and_charges == "US exempt"


def test_fixed_fee_bills_accepted_milestones_not_hours() -> None:
    accepted = Milestone(id="MS-1", name="Design", amount=Decimal(40000), status="accepted")
    invoice = draft_invoice(
        project("fixed_fee"),
        client(),
        contract("fixed_fee", fixed_fee="40000", milestones=[accepted.to_json_dict()]),
        PERIOD,
        time_entries=[time_entry("TE-1")],
        expenses=[],
        milestones=[accepted],
    )
    assert [(line.source, line.source_ids) for line in invoice.lines] == [("milestone", ["MS-1"])]


def test_a_retainer_bills_its_monthly_fee() -> None:
    invoice = draft_invoice(
        project("retainer"),
        client(),
        contract("retainer", monthly_retainer_fee="25000"),
        PERIOD,
        time_entries=[time_entry("TE-1")],
        expenses=[],
        milestones=[],
    )
    assert [(line.source, line.amount) for line in invoice.lines] == [("retainer", Decimal(25000))]


def test_nothing_to_bill_raises_instead_of_an_empty_invoice() -> None:
    with pytest.raises(NothingToInvoice):
        draft_invoice(project(), client(), None, PERIOD, time_entries=[], expenses=[], milestones=[])


def test_one_invoice_key_per_project_and_period() -> None:
    assert invoice_key("P-1", PERIOD) == "invoice:P-1:2026-10-01:2026-10-31"


def test_the_run_summary_counts_outcomes_and_exceptions() -> None:
    results = [
        {
            "project_id": "P-1",
            "outcome": "Invoice Posted",
            "amount": "100.00",
            "currency": "USD",
            "exceptions_by_rule": {"TE7": 2},
        },
        {
            "project_id": "P-2",
            "outcome": "Invoice Blocked",
            "reasons": ["BR1 drafts"],
            "exceptions_by_rule": {"BR1": 1},
        },
        {"project_id": "P-3", "outcome": "Nothing To Bill", "exceptions_by_rule": {}},
    ]
    summary = summarize(results, {"unassigned_lines": 1})
    assert summary["invoices_posted"] == 1 and summary["invoices_blocked"] == 1
    assert summary["nothing_to_bill"] == 1 and summary["posted_totals"] == {"USD": "100.00"}
    assert summary["exceptions_by_rule"] == {"BR1": 1, "INPUT": 1, "TE7": 2}
    # A business block is not a technical fault
    assert summary["technical_faults"] == 0 and summary["blocked"][0]["technical_fault"] is False


def test_the_run_summary_counts_the_projects_a_technical_fault_blocked() -> None:
    # Given one project stopped by the billing checks and one by an ERP outage that outlasted the retries
    results = [
        {
            "project_id": "P-1",
            "outcome": "Invoice Blocked",
            "reasons": ["BR1 drafts"],
            "technical_fault": False,
        },
        {
            "project_id": "P-2",
            "outcome": "Invoice Blocked",
            "reasons": ["ConnectorUnavailable: ERP unavailable"],
            "technical_fault": True,
        },
    ]
    # When the run is summarized
    summary = summarize(results, {})
    # Then both are blocked, and one counts as a technical fault (the state machine fails the run on it)
    assert summary["invoices_blocked"] == 2 and summary["technical_faults"] == 1
    assert [b["technical_fault"] for b in summary["blocked"]] == [False, True]


def test_an_approver_keeps_named_lines_back_and_the_rest_bills() -> None:
    # Given three lines under review / When the partner approves "except TE-3: wrong client" /
    # Then TE-3 goes back and the other two bill
    finding = BillingException(rule="BR5", severity="block", line_ids=["TE-2", "TE-3"], reason="rate")
    scores = {"EX-1": LineScore(score=1.0, review=True, reasons=["TE1 duplicate expense"])}
    review = review_project(report(finding, time_ids=["TE-1"], expense_ids=("EX-1",)), scores, LINES)
    held = held_back_in(
        "Approved, except TE-3: booked to the wrong client. (TE-9 is not under review)", review
    )
    assert held == {"TE-3"}
    outcome = apply_review(review, "approved", held_back=held)
    assert outcome.billable_time_entry_ids == ["TE-1", "TE-2"] and outcome.billable_expense_ids == ["EX-1"]
    assert outcome.returned_time_entry_ids == ["TE-3"] and outcome.returned_expense_ids == []
    assert held_back_in("looks fine", review) == set() and held_back_in(None, review) == set()


def test_a_calendar_month_is_named_by_its_month_any_other_period_by_its_dates() -> None:
    from backoffice.invoicing.readiness import period_label

    assert period_label(date(2026, 10, 1), date(2026, 10, 31)) == "October 2026"
    assert period_label(date(2026, 10, 1), date(2026, 10, 15)) == "2026-10-01 to 2026-10-15"
    assert period_label(date(2026, 10, 1), date(2026, 11, 30)) == "2026-10-01 to 2026-11-30"


def test_the_top_flagged_lines_reasons_are_explained_in_plain_words_for_the_reviewer() -> None:
    # Given a long day (TE7) and a lodging claim without a receipt (TE4) the scorer sends to a person
    from backoffice.assist.config import AiAssistConfig
    from backoffice.assist.wiring import assistant
    from backoffice.invoicing.review import anomaly_fact, explain_lines

    scores = {
        "TE-1": LineScore(
            score=1.0,
            review=True,
            reasons=["TE7 10.5 h on 2026-10-06, over the 10 h limit"],
            checks=["daily_hours"],
        ),
        "EX-1": LineScore(
            score=0.9,
            review=True,
            reasons=["TE4 receipt missing for taxi USD 42.50"],
            checks=["receipt_missing"],
        ),
    }
    review = review_project(report(time_ids=["TE-1"], expense_ids=("EX-1",)), scores, LINES)

    # When the local rules explain them
    local = assistant("anomaly_explanation", None, trail=None, config=AiAssistConfig())
    explained = explain_lines(review, local.explain_anomalies)

    # Then each line gets the check behind its reason in plain words, by the rules, highest score first
    assert [e["line"] for e in explained] == ["TE-1", "EX-1"]
    receipt = anomaly_fact(review.review_lines[1]).reasons[0]
    assert (receipt.rule, receipt.check, receipt.kind) == ("TE4", "receipt_missing", "violation")
    assert "no receipt for lodging" in explained[1]["text"] and explained[1]["by"] == "the firm's rules"
    # And the reviewer's subject carries them, and the lines in structure for the summary
    subject = review.approval_subject("Acme Corp", "technology", explained)
    assert subject["explanations"] == explained
    assert [a["subject"].split(" ")[0] for a in subject["anomalies"]] == ["TE-1", "EX-1"]
