"""The weekly time and expense review end to end on the local runtime: the PSA's submission events on the bus, the
real ASL, the real handlers under their synthesized roles, the approval links over HTTP, the PSA (sandbox), the
decisions store and the outbox.

The sample week (``backoffice.local.time_expense_samples``): W-005's ordinary week (clean), W-006's week with a
14-hour Friday (flagged, to the manager of P-TE-01), W-007's expense report with a hotel receipt of 98.00 claimed
at 398.00 (flagged, to the manager of P-TE-02).
"""

from __future__ import annotations

import io
import json
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from backoffice.connectors.sandbox import SandboxPsa
from backoffice.local.approver import decide_via_http
from backoffice.local.polling import Pauses
from backoffice.local.time_expense_samples import (
    SampleSubmission,
    run_weekly_review,
    seed_review_week,
    submissions,
    week_expenses,
)
from backoffice.models import EmployeeRecord
from backoffice.onboarding.sample_firm import sample_workers
from backoffice.time_expense.decisions import DecisionStore
from infra.catalog import Ref
from tests.integration.conftest import Firm, deploy_firm_document, start_first

EMAIL = {worker.id: str(worker.email) for worker in sample_workers()}
PM_OF_TIME, PM_OF_EXPENSES = EMAIL["W-001"], EMAIL["W-002"]
HOTEL = week_expenses()[0].id
TAXI = week_expenses()[1].id
# What payroll knows of W-007 (in the HRIS beside the worker): never in a state or a mail of the review.
TAX_ID, ACCOUNT = "987-65-4329", "7720419953"


@pytest.fixture
def week(firm: Firm) -> dict[str, SampleSubmission]:
    seeded = seed_review_week(firm.runtime.sandbox())
    firm.runtime.sandbox().put(
        "hris",
        "employee",
        "W-007",
        EmployeeRecord.from_json_dict(
            {
                "worker_id": "W-007",
                "name": "Sample Worker",
                "tax_id": TAX_ID,
                "bank_account": {
                    "account_holder_name": "Sample Worker",
                    "routing_number": "026009593",
                    "account_number": ACCOUNT,
                },
            }
        ).to_json_dict(reveal_secrets=True),
    )
    return {submission.route: submission for submission in seeded}


def submit(firm: Firm, submission: SampleSubmission) -> str:
    return firm.runtime.put_event(submission.detail_type, submission.detail, source="psa.certinia")


def psa_lines(firm: Firm, entity: str) -> dict[str, dict[str, Any]]:
    return {line["id"]: line for line in firm.runtime.sandbox().all_lines("psa", entity)}


def decisions(firm: Firm) -> DecisionStore:
    return DecisionStore(
        firm.runtime.resolve(Ref("table_name", "time_expense")), firm.runtime.client("dynamodb")
    )


def decide(firm: Firm, approver: str, case_id: str, action: str, comment: str) -> str:
    """The approver opens the link in their e-mail and submits the page's form."""
    _, heading, _ = decide_via_http(firm.link(approver, case_id), action, approver, comment)
    return heading


def all_at_once(copies: int, calls: list[Any]) -> None:
    """Each call on its own thread, released together (EventBridge's redeliveries and a PSA's retries)."""
    barrier = threading.Barrier(copies)

    def one(call: Any) -> Any:
        barrier.wait()
        return call()

    with ThreadPoolExecutor(copies) as pool:
        list(pool.map(one, calls))


def executions_of(firm: Firm, case_id: str) -> list[str]:
    """The names of the case's executions (its attempts), from its trail."""
    return [r.data.get("execution", case_id) for r in firm.records(case_id) if r.action == "case.started"]


def finished(firm: Firm, name: str, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    pause = Pauses()
    while True:
        execution = firm.runtime.execution(name, with_state=False)
        if execution is not None and execution.status != "RUNNING":
            return execution.status
        assert time.monotonic() < deadline, f"{name} did not finish"
        pause()


def test_a_clean_week_is_approved_in_the_psa_by_the_policy(
    firm: Firm, week: dict[str, SampleSubmission]
) -> None:
    # Given W-005's ordinary week, submitted in the PSA
    clean = week["clean"]
    # When the PSA announces the submission
    submit(firm, clean)
    # Then the case ends without asking anyone, its five lines approved in the PSA
    assert firm.settle(clean.case_id).status == "SUCCEEDED", firm.fault(clean.case_id)
    mine = {i: line for i, line in psa_lines(firm, "time_entry").items() if i.startswith("TE-W-005-2026-1")}
    week_lines = {i: line for i, line in mine.items() if line["work_date"] >= "2026-11-30"}
    assert len(week_lines) == 5 and {line["status"] for line in week_lines.values()} == {"approved"}
    # And the trail says who decided what, in order, and every decision is in the decisions store
    actions = [a for a, _ in firm.actions(clean.case_id)]
    assert start_first(actions, "case.started") == [
        "case.started",
        "timesheet.submitted",
        "lines.scored",
        "lines.approved",
        "outcome.published",
    ]
    approved = next(r for r in firm.records(clean.case_id) if r.action == "lines.approved")
    assert approved.data["by"] == "policy" and sorted(approved.data["time_entry_ids"]) == sorted(week_lines)
    stored = decisions(firm).get_many(week_lines)
    assert {d.decision for d in stored.values()} == {"approved"} and len(stored) == 5
    assert {d.decided_by for d in stored.values()} == {"policy"}
    started = next(r for r in firm.records(clean.case_id) if r.action == "timesheet.submitted")
    assert started.data["hours"] == "39.5" and started.data["week_start"] == "2026-11-30"
    assert not firm.inbox(EMAIL["W-005"])


def test_a_flagged_week_goes_to_the_project_manager_who_approves_it_in_the_psa(
    firm: Firm, week: dict[str, SampleSubmission]
) -> None:
    # Given W-006's week with a 14-hour Friday
    flagged = week["flagged"]
    submit(firm, flagged)
    # When the case waits for a person
    execution = firm.settle(flagged.case_id)
    # Then it asks the manager of P-TE-01, with the flagged line and the scorer's reason; the week's other days on
    # that project are its timecard's and wait with it (a PSA that approves by the card would approve them all)
    assert execution.current_state == "Ask for line review"
    mail = firm.mail(PM_OF_TIME, flagged.case_id)
    assert "TE-W-006-2026-12-04-1" in mail.text and "TE11" in mail.text
    lines = psa_lines(firm, "time_entry")
    week_lines = {
        i: b for i, b in lines.items() if i.startswith("TE-W-006-") and b["work_date"] >= "2026-11-30"
    }
    assert sorted(b["status"] for b in week_lines.values()) == ["submitted"] * 5
    # When the manager approves it
    assert (
        decide(firm, PM_OF_TIME, flagged.case_id, "approve", "Cut-over on Friday, agreed")
        == "You approved the request"
    )
    # Then the line is approved in the PSA, by the manager, and the decision is stored with its rule
    assert firm.finish(flagged.case_id).status == "SUCCEEDED"
    assert psa_lines(firm, "time_entry")["TE-W-006-2026-12-04-1"]["status"] == "approved"
    stored = decisions(firm).get("TE-W-006-2026-12-04-1")
    assert stored is not None and stored.decided_by == PM_OF_TIME and "TE11" in stored.rules
    notes = SandboxPsa(firm.runtime.sandbox()).review_notes("TE-W-006-2026-12-04-1")
    assert notes[-1]["by"] == PM_OF_TIME
    approvals = [r.data["by"] for r in firm.records(flagged.case_id) if r.action == "lines.approved"]
    assert approvals == [PM_OF_TIME]
    week_now = psa_lines(firm, "time_entry")
    assert sorted(week_now[i]["status"] for i in week_lines) == ["approved"] * 5


def test_a_rejected_expense_goes_back_to_the_worker_with_the_reason_and_a_mail(
    firm: Firm, week: dict[str, SampleSubmission]
) -> None:
    # Given W-007's expense report: the hotel claimed at 398.00 on a 98.00 receipt, and a taxi
    report = week["rejected"]
    submit(firm, report)
    assert firm.settle(report.case_id).current_state == "Ask for line review"
    # When the manager of P-TE-02 rejects the hotel line with the reason
    reason = "The receipt says 98.00: correct the amount"
    assert decide(firm, PM_OF_EXPENSES, report.case_id, "reject", reason) == "You rejected the request"
    assert firm.finish(report.case_id).status == "SUCCEEDED"
    # Then the hotel line is back with the worker in the PSA, with the reason; the clean taxi is approved
    expenses = psa_lines(firm, "expense")
    assert expenses[HOTEL]["status"] == "rejected" and expenses[TAXI]["status"] == "approved"
    assert reason in SandboxPsa(firm.runtime.sandbox()).review_notes(HOTEL)[-1]["note"]
    # And the worker is mailed which line and why (escaped HTML, the plain text too)
    [mail] = [m for m in firm.inbox(EMAIL["W-007"]) if report.case_id in m.text]
    assert "sent back" in mail.subject and HOTEL in mail.text and reason in mail.text
    # And the trail and the decisions store say it was sent back, with the rule that flagged it
    rejected = next(r for r in firm.records(report.case_id) if r.action == "lines.rejected")
    assert rejected.data["expense_ids"] == [HOTEL] and rejected.data["mailed"] is True
    stored = decisions(firm).get(HOTEL)
    assert stored is not None and stored.decision == "sent_back" and "TE4" in stored.rules


def test_the_same_submission_delivered_twice_starts_one_review(
    firm: Firm, week: dict[str, SampleSubmission]
) -> None:
    # Given W-005's submission
    clean = week["clean"]
    # When the PSA (or its webhook relay) delivers it twice
    submit(firm, clean)
    submit(firm, clean)
    firm.runtime.wait_until_idle(timeout=60)
    # Then one execution reviewed it, and the second delivery is on the trail as a duplicate
    assert executions_of(firm, clean.case_id) == [clean.case_id]
    actions = [a for a, _ in firm.actions(clean.case_id)]
    assert actions.count("case.started") == 1 and actions.count("event.duplicate") == 1
    assert actions.count("lines.approved") == 1


def test_a_report_corrected_and_submitted_again_is_reviewed_again_on_the_same_case(
    firm: Firm, week: dict[str, SampleSubmission]
) -> None:
    # Given the expense report whose hotel line was sent back
    report = week["rejected"]
    submit(firm, report)
    assert firm.settle(report.case_id).current_state == "Ask for line review"
    decide(firm, PM_OF_EXPENSES, report.case_id, "reject", "The receipt says 98.00")
    assert firm.finish(report.case_id).status == "SUCCEEDED"
    # When the worker corrects the amount in the PSA and submits the report again (a new submission time)
    hotel = week_expenses()[0].model_copy(update={"amount": Decimal("98.00")})
    firm.runtime.sandbox().put_lines("psa", "expense", [(hotel.id, hotel.expense_date, hotel.to_json_dict())])
    [again] = [s for s in submissions(datetime(2026, 12, 7, 9, tzinfo=UTC), "2") if s.route == "rejected"]
    submit(firm, again)
    firm.runtime.wait_until_idle(timeout=60)
    # Then a second execution reviewed it on the same case: the corrected line scores clean and is approved
    names = executions_of(firm, report.case_id)
    assert len(names) == 2 and names[0] == report.case_id and names[1].startswith(f"{report.case_id}-s")
    assert finished(firm, names[1]) == "SUCCEEDED"
    assert psa_lines(firm, "expense")[HOTEL]["status"] == "approved"
    # And the taxi, approved the first time, was not reviewed again; the hotel's decision is now approved
    second = [
        r for r in firm.records(report.case_id) if r.execution_arn and r.execution_arn.endswith(names[1])
    ]
    submitted = next(r for r in second if r.action == "expense_report.submitted")
    assert submitted.data["lines"] == 1
    stored = decisions(firm).get(HOTEL)
    assert stored is not None and stored.decision == "approved" and stored.version == 2


def test_no_tax_id_or_bank_number_is_in_the_reviews_state_or_mails(
    firm: Firm, week: dict[str, SampleSubmission]
) -> None:
    # Given the week's three submissions and a worker whose payroll record has a tax id and a bank account
    for submission in week.values():
        submit(firm, submission)
    for submission, approver, action in (
        (week["flagged"], PM_OF_TIME, "approve"),
        (week["rejected"], PM_OF_EXPENSES, "reject"),
    ):
        assert firm.settle(submission.case_id).current_state == "Ask for line review"
        decide(firm, approver, submission.case_id, action, "as discussed")
    firm.runtime.wait_until_idle(timeout=60)
    # When everything an operator or a recipient sees is read: each execution's input, output and history, and
    # every mail
    sfn = firm.runtime.client("stepfunctions")
    seen = []
    for submission in week.values():
        execution = firm.execution(submission.case_id)
        assert execution.status == "SUCCEEDED"
        described = sfn.describe_execution(executionArn=execution.arn)
        history = sfn.get_execution_history(executionArn=execution.arn, maxResults=1000)["events"]
        seen.append(json.dumps([described.get("input"), described.get("output"), history], default=str))
    seen += [mail.text for mail in firm.inbox(EMAIL["W-007"])]
    seen += [mail.text for who in (PM_OF_TIME, PM_OF_EXPENSES) for mail in firm.inbox(who)]
    text = "\n".join(seen)
    # Then neither the tax id nor the account number is anywhere, with or without separators
    digits = re.sub(r"[-\s]", "", text)
    assert TAX_ID not in text and TAX_ID.replace("-", "") not in digits and ACCOUNT not in digits


def test_copies_of_one_submission_and_a_resubmission_at_once_start_two_reviews(
    firm: Firm, week: dict[str, SampleSubmission]
) -> None:
    # Given W-005's submission, and a second submission of the same week (a new submission id)
    clean = week["clean"]
    [again] = [s for s in submissions(datetime(2026, 12, 5, 8, tzinfo=UTC), "2") if s.route == "clean"]
    # When six copies of the first and six of the second are put on the bus at the same moment
    calls = [lambda: submit(firm, clean)] * 6 + [lambda: submit(firm, again)] * 6
    all_at_once(len(calls), calls)
    firm.runtime.wait_until_idle(timeout=90)
    # Then exactly two executions ran on the one case, and the other ten deliveries are duplicates
    assert len(executions_of(firm, clean.case_id)) == 2
    actions = [a for a, _ in firm.actions(clean.case_id)]
    assert actions.count("case.started") == 2 and actions.count("event.duplicate") == 10


def test_a_flagged_expense_approved_by_its_manager_then_goes_to_the_expense_approver(
    firm: Firm, week: dict[str, SampleSubmission]
) -> None:
    # Given W-007's expense report waiting for the manager of P-TE-02
    report = week["rejected"]
    submit(firm, report)
    assert firm.settle(report.case_id).current_state == "Ask for line review"
    # When the manager approves it
    decide(firm, PM_OF_EXPENSES, report.case_id, "approve", "Two nights, one receipt missing: fine")
    # Then the firm's expense approvers (the approval policy's finance group) are asked next, and one approves
    finance = "priya.raman@example-firm.com"
    assert decide(firm, finance, report.case_id, "approve", "ok") == "You approved the request"
    assert firm.finish(report.case_id).status == "SUCCEEDED"
    # And the hotel line is approved in the PSA by the last level's approver, the manager's approval on the trail
    assert psa_lines(firm, "expense")[HOTEL]["status"] == "approved"
    stored = decisions(firm).get(HOTEL)
    assert stored is not None and stored.decided_by == finance
    deciders = [r.actor.id for r in firm.records(report.case_id) if r.action == "approval.decided"]
    assert deciders == [PM_OF_EXPENSES, finance]


def test_the_sample_week_prints_one_line_per_case_for_the_demo(firm: Firm) -> None:
    # Given the sample firm's runtime
    out = io.StringIO()
    # When the demo's weekly review runs
    ok = run_weekly_review(firm.runtime, out)
    # Then each of the three cases ended its own way, one line each
    lines = out.getvalue().splitlines()
    assert ok, out.getvalue()
    assert len(lines) == 3
    assert "approved by policy" in lines[0] and "approved by the PM" in lines[1] and "sent back" in lines[2]


def test_a_review_nobody_answers_leaves_the_lines_for_the_month_end(
    firm: Firm, week: dict[str, SampleSubmission], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a firm whose own route gives the project manager one second and no escalation, and no auto-approval
    def short_review(document: dict[str, Any]) -> None:
        document["approval_policy"]["routes"]["time_expense_review"] = [
            {
                "name": "the project manager, quickly",
                "levels": [
                    {"name": "manager review", "group": "subject:project_manager", "timeout_seconds": 1}
                ],
            }
        ]
        document["time_expense_review"] = {"auto_approve_clean": False}

    deploy_firm_document(firm.runtime, monkeypatch, short_review)
    clean = week["clean"]
    # When W-005's week is submitted and its manager does not answer
    submit(firm, clean)
    assert firm.finish(clean.case_id).status == "SUCCEEDED"
    # Then every line (none approved by policy now) stays submitted and undecided, and the case says why
    week_lines = [
        b
        for i, b in psa_lines(firm, "time_entry").items()
        if i.startswith("TE-W-005-") and b["work_date"] >= "2026-11-30"
    ]
    assert {b["status"] for b in week_lines} == {"submitted"}
    assert decisions(firm).get_many(b["id"] for b in week_lines) == {}
    assert ("outcome.published", "Time and Expenses Not Reviewed") in firm.actions(clean.case_id)
    assert "not answered" in " ".join(firm.outcome_event(clean.case_id)["detail"]["reasons"])
