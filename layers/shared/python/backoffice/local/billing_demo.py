"""``make run``, invoicing part: the sample firm's October 2026 billing period through the real invoicing workflow.

The PSA announces the period closed (twice: events arrive at least once); the partner reviews each project's
exceptions and finance (and the CFO above 250,000) approves the large invoices by their e-mail links, as people
do: the demo opens each link and confirms on the page. The partner rejects P-0015's exceptions.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any, TextIO

from backoffice.approvals.store import ApprovalStore
from backoffice.local.approver import decide_via_http
from backoffice.local.billing_samples import (
    BillingSample,
    anomaly_policy_json,
    billing_period_closed,
    seed_billing_period,
)
from backoffice.local.reconciliation_samples import seed_close_books
from backoffice.local.runtime import LocalRuntime

LinkOf = Callable[[LocalRuntime, str, str], "str | None"]


def run_billing_period(
    runtime: LocalRuntime, approvals: ApprovalStore, link_of: LinkOf, out: TextIO, *, timeout: float = 300
) -> tuple[bool, list[str]]:
    """Bills the sample period; prints each project's outcome and the run's summary. Returns (as expected?,
    what the approvers did)."""
    os.environ["ANOMALY_POLICY"] = anomaly_policy_json()  # the sample firm's configured policy (city rates)
    sample = seed_billing_period(runtime.sandbox())
    seed_close_books(runtime.sandbox())  # what the period's reconciliation, after the run, compares
    counts = sample.counts
    print(
        f"Billing period {sample.period.start} to {sample.period.end}: {counts['projects']} projects, "
        f"{counts['time_lines']} time lines, {counts['expense_lines']} expenses ({counts['anomalies_injected']} "
        f"anomalies injected), {counts['history_lines']} lines of history",
        file=out,
    )
    for _ in range(2):
        runtime.put_event(
            "Billing Period Closed", billing_period_closed(sample.period), source="psa.certinia"
        )
    run = next(e for e in runtime.executions() if e.workflow == "invoicing")  # started as its event was put
    acted = _decide(runtime, approvals, link_of, sample, run.name, time.monotonic() + timeout)
    run = next(e for e in runtime.executions() if e.name == run.name)
    described = runtime.client("stepfunctions").describe_execution(executionArn=run.arn)
    summary: dict[str, Any] = json.loads(described.get("output") or "{}")
    ok = run.status == "SUCCEEDED"
    print(f"\n{'PROJECT':<9} {'ISSUE':<52} OUTCOME", file=out)
    for project in sample.projects:
        outcome, reasons = _outcome(runtime, f"{run.name}-{project.project_id}")
        mark = "ok " if outcome == project.expected else "!! "
        ok = ok and outcome == project.expected
        print(f"{mark}{project.project_id:<6} {project.issue[:52]:<52} {outcome}", file=out)
        if reasons and outcome != "Invoice Posted":
            print(f"{'':<10}{reasons[0][:130]}", file=out)
    totals = ", ".join(f"{c} {Decimal(a):,.2f}" for c, a in (summary.get("posted_totals") or {}).items())
    print(
        f"\nBilling run {run.name}: {summary.get('invoices_posted', 0)} invoice(s) posted ({totals}), "
        f"{summary.get('invoices_blocked', 0)} blocked, {summary.get('nothing_to_bill', 0)} with nothing to bill",
        file=out,
    )
    print(
        "Exceptions by reason (BR: billing readiness, TE: anomaly scorer, INPUT: unreadable or unknown):",
        file=out,
    )
    exceptions = summary.get("exceptions_by_rule") or {}
    print("  " + ", ".join(f"{rule} {count}" for rule, count in _by_rule_order(exceptions)), file=out)
    return ok, acted


def _by_rule_order(counts: dict[str, int]) -> list[tuple[str, int]]:
    def key(rule: str) -> tuple[str, int]:
        letters = rule.rstrip("0123456789")
        return letters, int(rule[len(letters) :] or 0)

    return [(rule, counts[rule]) for rule in sorted(counts, key=key)]


def _outcome(runtime: LocalRuntime, case_id: str) -> tuple[str, list[str]]:
    for event in reversed(runtime.bus_events):
        if event["source"] == "backoffice.workflows" and event["detail"]["case_id"] == case_id:
            return str(event["detail"]["outcome"]), list(event["detail"].get("reasons") or [])
    return "Nothing To Bill", []


def _decide(
    runtime: LocalRuntime,
    approvals: ApprovalStore,
    link_of: LinkOf,
    sample: BillingSample,
    run_name: str,
    deadline: float,
) -> list[str]:
    acted: list[str] = []
    decided: set[str] = set()
    while time.monotonic() < deadline:
        run = next(e for e in runtime.executions() if e.name == run_name)
        if run.status != "RUNNING":
            break
        for request in approvals.pending_requests():
            if not request.case_id.startswith(run_name) or request.request_id in decided:
                continue
            approver = request.approvers[0]
            link = link_of(runtime, approver, request.case_id)
            if link is None:
                continue
            reject = request.step == "billing exception review" and any(
                request.case_id.endswith(p) for p in sample.reject_review_of
            )
            decision, comment = (
                ("reject", "Duplicate and unreceipted items: send back, do not bill")
                if reject
                else ("approve", "")
            )
            status, heading, _ = decide_via_http(link, decision, approver, comment)
            decided.add(request.request_id)
            acted.append(
                f"{approver} chose {decision} for {request.step} of {request.case_id}: {heading} (HTTP {status})"
            )
        time.sleep(0.1)
    # (the run's completion starts the period's reconciliation, which waits for its reviews: not waited for here)
    runtime.wait_until_idle(timeout=10, raise_on_timeout=False, workflows={"invoicing"})
    return acted
