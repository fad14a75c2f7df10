"""End to end on the local runtime: the month-end billing run does not review again what the weekly time and
expense review settled (issue #21 item 3).

One project of the sample October (P-0001, whose lines the scorer flags for an exception review when nobody looked
at them before) is billed after the weekly review approved every one of its lines as they are, and once more after
one of them was changed since: the approved lines bill without a review, the changed one is scored as new.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from backoffice.audit import AuditTrail
from backoffice.connectors.ports import all_pages
from backoffice.connectors.sandbox import SandboxHris, SandboxPsa
from backoffice.invoicing.steps import anomaly_policy, read_history, score_line_lists, scorer_lines
from backoffice.local.approver import decide_via_http
from backoffice.local.billing_samples import (
    anomaly_policy_json,
    billing_period_closed,
    seed_billing_period,
)
from backoffice.local.outbox import read_outbox
from backoffice.local.runtime import LocalRuntime
from backoffice.models import ExpenseEntry, TimeEntry
from backoffice.time_expense.decisions import Decision, DecisionStore
from infra.catalog import Ref

PROJECT = "P-0001"
EDITED_PROJECT = "P-0004"
DUPLICATED_PROJECT = "P-0005"
WEEK_CASE = "timesheet-sample-week"


@pytest.fixture(scope="module")
def runtime() -> Iterator[LocalRuntime]:
    """One runtime for the module (a billing run's completion starts a reconciliation that waits for people: a
    runtime stopped under it is not one to start the next from)."""
    logging.getLogger("moto").setLevel(logging.CRITICAL)
    saved = os.environ.get("ANOMALY_POLICY")
    with LocalRuntime(retry_time_scale=0.001) as local:
        os.environ["ANOMALY_POLICY"] = anomaly_policy_json()
        local.sample = seed_billing_period(local.sandbox())  # type: ignore[attr-defined]
        yield local
    if saved is None:
        os.environ.pop("ANOMALY_POLICY", None)
    else:
        os.environ["ANOMALY_POLICY"] = saved


def project_lines(runtime: LocalRuntime, period: Any, project: str) -> list[TimeEntry | ExpenseEntry]:
    psa = SandboxPsa(runtime.sandbox())
    found: list[TimeEntry | ExpenseEntry] = []
    for reader in (psa.list_time_entries, psa.list_expenses):
        token = None
        while True:
            page = reader(period.start, period.end, token)
            found += [
                line
                for line in page.items
                if isinstance(line, TimeEntry | ExpenseEntry) and line.project_id == project
            ]
            token = page.next_token
            if token is None:
                break
    return found


def approve_in_the_week(runtime: LocalRuntime, lines: list[TimeEntry | ExpenseEntry], period: Any) -> int:
    """What the weekly review stores once its scorer (the billing run's own, on the same history) scored the lines
    and the project manager approved each, the flagged ones with the rules they saw; returns how many were flagged."""
    psa = SandboxPsa(runtime.sandbox())
    workers = all_pages(SandboxHris(runtime.sandbox()).list_workers)
    policy = anomaly_policy(os.environ)
    history, _ = read_history(psa, period.start, policy, workers)
    times = [line.to_json_dict() for line in lines if isinstance(line, TimeEntry)]
    expenses = [line.to_json_dict() for line in lines if isinstance(line, ExpenseEntry)]
    flagged = score_line_lists(scorer_lines(times, expenses), history, policy, workers).flagged
    store = DecisionStore(runtime.resolve(Ref("table_name", "time_expense")), runtime.client("dynamodb"))
    store.record(
        [
            Decision.of_line(
                line,
                "approved",
                case_id=WEEK_CASE,
                decided_by="alex.chen@example-firm.com",
                decided_at=datetime(2026, 10, 30, 16, tzinfo=UTC),
                rules=sorted(
                    {reason.split(" ", 1)[0] for reason in flagged.get(line.id, {}).get("reasons", [])}
                ),
            )
            for line in lines
        ]
    )
    return len(flagged)


def bill(runtime: LocalRuntime, period: Any, project: str, rerun: str) -> tuple[str, dict[str, Any]]:
    """Bills the one project (a run of its own, labelled) and approves whatever is asked by mail; the run's case
    id and its output."""
    detail = {**billing_period_closed(period, rerun=rerun), "project_ids": [project]}
    runtime.put_event("Billing Period Closed", detail, source="psa.certinia")
    name = next(e.name for e in runtime.executions() if e.name.startswith("billing-") and rerun in e.name)
    handled: set[str] = set()
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        execution = runtime.execution(name, with_state=False)
        assert execution is not None
        for mail in read_outbox(runtime.outbox_dir):
            if mail.path.name not in handled and mail.approval_links and name in mail.text:
                handled.add(mail.path.name)
                decide_via_http(mail.approval_links[0], "approve", mail.to, "")
        if execution.status != "RUNNING":
            described = runtime.client("stepfunctions").describe_execution(executionArn=execution.arn)
            assert execution.status == "SUCCEEDED", (
                f"{name} {execution.status}: {described.get('error')} {described.get('cause')}"
            )
            return name, json.loads(described.get("output") or "{}")
        time.sleep(0.2)
    raise AssertionError(f"{name} did not finish")


def test_lines_approved_in_the_week_bill_without_a_second_review(runtime: LocalRuntime) -> None:
    # Given the sample October, and the weekly review's approval of every line of P-0001 as it is now
    period = runtime.sample.period  # type: ignore[attr-defined]
    lines = project_lines(runtime, period, PROJECT)
    assert lines
    flagged_then = approve_in_the_week(runtime, lines, period)
    assert flagged_then > 0
    # When the month-end run bills the project
    name, summary = bill(runtime, period, PROJECT, "all-approved")
    # Then nothing of it goes to an exception review, and it is invoiced
    trail = AuditTrail(runtime.resolve(Ref("table_name", "audit")))
    actions = [(r.action, r.outcome) for r in trail.records(f"{name}-{PROJECT}")]
    assert ("billing.checked", "review") not in actions and ("invoice.posted", "posted") in actions
    # And the run says what the week had settled before the close
    assert summary["settled_in_week"] == {"lines": len(lines), "flagged": flagged_then}
    [run_record] = [r for r in trail.records(name) if r.action == "billing_run.completed"]
    assert any(
        f"{flagged_then} exception(s) already settled in the weekly review" in r for r in run_record.reasons
    )


def test_a_line_changed_after_its_weekly_approval_is_reviewed_as_new(runtime: LocalRuntime) -> None:
    # Given every line of P-0004 approved in the week, then one of its days edited in the PSA to 15 hours
    period = runtime.sample.period  # type: ignore[attr-defined]
    lines = project_lines(runtime, period, EDITED_PROJECT)
    approve_in_the_week(runtime, lines, period)
    edited = next(line for line in lines if isinstance(line, TimeEntry))
    body = next(b for b in runtime.sandbox().all_lines("psa", "time_entry") if b["id"] == edited.id)
    runtime.sandbox().put_lines(
        "psa", "time_entry", [(edited.id, edited.work_date, {**body, "hours": "15", "billing_hours": "15"})]
    )
    # When the month-end run bills the project
    name, summary = bill(runtime, period, EDITED_PROJECT, "one-edited")
    # Then all but the edited line count as settled in the week
    assert summary["settled_in_week"]["lines"] == len(lines) - 1
    s3 = runtime.client("s3")
    settled = json.loads(
        s3.get_object(Bucket=runtime.documents_bucket, Key=f"billing/{name}/settled.json")["Body"].read()
    )
    assert edited.id not in settled and len(settled) == len(lines) - 1
    # And the edited line, 15 hours in a day, is what the project's review holds: found again, sent to a person
    review = json.loads(
        s3.get_object(
            Bucket=runtime.documents_bucket, Key=f"billing/{name}/projects/{EDITED_PROJECT}/review.json"
        )["Body"].read()
    )
    reviewed = {line["line_id"] for line in review["review_lines"]}
    assert edited.id in reviewed and not (reviewed & set(settled))


def test_a_finding_the_week_could_not_see_goes_to_a_person_though_the_line_was_approved(
    runtime: LocalRuntime,
) -> None:
    # Given every line of P-0005 approved in the week with what the scorer found then, and a copy of one of its
    # expenses in another expense report, scored alone there (clean) and approved by policy
    period = runtime.sample.period  # type: ignore[attr-defined]
    lines = project_lines(runtime, period, DUPLICATED_PROJECT)
    approve_in_the_week(runtime, lines, period)
    original = next(line for line in lines if isinstance(line, ExpenseEntry) and line.amount > 0)
    body = next(b for b in runtime.sandbox().all_lines("psa", "expense") if b["id"] == original.id)
    copy_id = f"{original.id}-AGAIN"
    runtime.sandbox().put_lines("psa", "expense", [(copy_id, original.expense_date, {**body, "id": copy_id})])
    copy = original.model_copy(update={"id": copy_id})
    store = DecisionStore(runtime.resolve(Ref("table_name", "time_expense")), runtime.client("dynamodb"))
    store.record(
        [
            Decision.of_line(
                copy,
                "approved",
                case_id="expense-report-ER-OTHER",
                decided_by="policy",
                decided_at=datetime(2026, 10, 30, 16, tzinfo=UTC),
            )
        ]
    )
    # When the month-end run bills the project, where both are side by side
    name, summary = bill(runtime, period, DUPLICATED_PROJECT, "duplicated")
    # Then the copy, approved but never seen next to the original, is reviewed for the duplicate it is
    review = json.loads(
        runtime.client("s3")
        .get_object(
            Bucket=runtime.documents_bucket, Key=f"billing/{name}/projects/{DUPLICATED_PROJECT}/review.json"
        )["Body"]
        .read()
    )
    reasons = {line["line_id"]: line["reasons"] for line in review["review_lines"]}
    assert copy_id in reasons and any(r.startswith("TE1") and original.id in r for r in reasons[copy_id])
    assert summary["settled_in_week"]["lines"] == len(lines) + 1
