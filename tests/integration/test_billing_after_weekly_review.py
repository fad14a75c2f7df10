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
from decimal import Decimal
from typing import Any

import pytest

from backoffice.audit import AuditTrail
from backoffice.connectors.sandbox import SandboxPsa
from backoffice.local.approver import decide_via_http
from backoffice.local.billing_samples import anomaly_policy_json, billing_period_closed, seed_billing_period
from backoffice.local.outbox import read_outbox
from backoffice.local.runtime import LocalRuntime
from backoffice.models import ExpenseEntry, TimeEntry
from backoffice.time_expense.decisions import Decision, DecisionStore
from infra.catalog import Ref

PROJECT = "P-0001"
WEEK_CASE = "timesheet-sample-week"


@pytest.fixture
def runtime() -> Iterator[LocalRuntime]:
    logging.getLogger("moto").setLevel(logging.CRITICAL)
    saved = os.environ.get("ANOMALY_POLICY")
    with LocalRuntime(retry_time_scale=0.001) as local:
        os.environ["ANOMALY_POLICY"] = anomaly_policy_json()
        yield local
    if saved is None:
        os.environ.pop("ANOMALY_POLICY", None)
    else:
        os.environ["ANOMALY_POLICY"] = saved


def project_lines(runtime: LocalRuntime, period: Any) -> list[TimeEntry | ExpenseEntry]:
    psa = SandboxPsa(runtime.sandbox())
    found: list[TimeEntry | ExpenseEntry] = []
    for reader in (psa.list_time_entries, psa.list_expenses):
        token = None
        while True:
            page = reader(period.start, period.end, token)
            found += [
                line
                for line in page.items
                if isinstance(line, TimeEntry | ExpenseEntry) and line.project_id == PROJECT
            ]
            token = page.next_token
            if token is None:
                break
    return found


def approve_in_the_week(runtime: LocalRuntime, lines: list[TimeEntry | ExpenseEntry]) -> None:
    """What the weekly review stores once the project manager approved each line (flagged ones with a rule)."""
    store = DecisionStore(runtime.resolve(Ref("table_name", "time_expense")), runtime.client("dynamodb"))
    store.record(
        [
            Decision.of_line(
                line,
                "approved",
                case_id=WEEK_CASE,
                decided_by="alex.chen@example-firm.com",
                decided_at=datetime(2026, 10, 30, 16, tzinfo=UTC),
                rules=["TE1"] if n % 4 == 0 else [],
            )
            for n, line in enumerate(lines)
        ]
    )


def bill(runtime: LocalRuntime, period: Any, rerun: str | None = None) -> tuple[str, dict[str, Any]]:
    """Bills the one project and approves whatever is asked by mail; the run's case id and its output."""
    detail = {**billing_period_closed(period, rerun=rerun), "project_ids": [PROJECT]}
    runtime.put_event("Billing Period Closed", detail, source="psa.certinia")
    started = {e.name for e in runtime.executions() if e.name.startswith("billing-")}
    name = sorted(started, key=lambda n: (rerun or "") in n)[-1]
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
            return name, json.loads(described.get("output") or "{}")
        time.sleep(0.2)
    raise AssertionError(f"{name} did not finish")


def test_lines_approved_in_the_week_bill_without_a_second_review(runtime: LocalRuntime) -> None:
    # Given the sample October, and the weekly review's approval of every line of P-0001 as it is now
    sample = seed_billing_period(runtime.sandbox())
    lines = project_lines(runtime, sample.period)
    assert lines
    approve_in_the_week(runtime, lines)
    # When the month-end run bills the project
    name, summary = bill(runtime, sample.period)
    # Then nothing of it goes to an exception review, and it is invoiced
    trail = AuditTrail(runtime.resolve(Ref("table_name", "audit")))
    actions = [(r.action, r.outcome) for r in trail.records(f"{name}-{PROJECT}")]
    assert ("billing.checked", "review") not in actions and ("invoice.posted", "posted") in actions
    # And the run says what the week had settled before the close
    flagged_then = sum(1 for n in range(len(lines)) if n % 4 == 0)
    assert summary["settled_in_week"] == {"lines": len(lines), "flagged": flagged_then}
    [run_record] = [r for r in trail.records(name) if r.action == "billing_run.completed"]
    assert any(
        f"{flagged_then} exception(s) already settled in the weekly review" in r for r in run_record.reasons
    )


def test_a_line_changed_after_its_weekly_approval_is_scored_as_new(runtime: LocalRuntime) -> None:
    # Given every line of P-0001 approved in the week, then one of them edited in the PSA (its hours tripled)
    sample = seed_billing_period(runtime.sandbox())
    lines = project_lines(runtime, sample.period)
    approve_in_the_week(runtime, lines)
    edited = next(line for line in lines if isinstance(line, TimeEntry))
    body = next(b for b in runtime.sandbox().all_lines("psa", "time_entry") if b["id"] == edited.id)
    runtime.sandbox().put_lines(
        "psa",
        "time_entry",
        [(edited.id, edited.work_date, {**body, "hours": str(Decimal(body["hours"]) * 3)})],
    )
    # When the month-end run opens the period
    name, summary = bill(runtime, sample.period)
    # Then all but the edited line count as settled in the week: the edited one is new to the scorer
    assert summary["settled_in_week"]["lines"] == len(lines) - 1
    settled = json.loads(
        runtime.client("s3")
        .get_object(Bucket=runtime.documents_bucket, Key=f"billing/{name}/settled.json")["Body"]
        .read()
    )
    assert edited.id not in settled and len(settled) == len(lines) - 1
