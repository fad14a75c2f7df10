"""``make run``, finance close part: the October 2026 reconciliation the billing run's completion starts.

The billing run announces ``Billing Run Completed``; the reconciliation reads the sample firm's CRM, PSA and ERP
(with the differences ``reconciliation_samples.py`` seeds), and each finding above the policy's amount goes to its
owner, who decides through the e-mail link what is to be done, as people do: aged work in progress of one project
is written off with a reason, the rest acknowledged; the hand-keyed ERP invoice is to be fixed in the ERP, other
invoice differences in the PSA. Finance then cancels the hand-keyed invoice and reconciles again: the re-run
closes what no longer holds and asks nobody about what was settled.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any, TextIO

from backoffice.approvals.store import ApprovalStore
from backoffice.audit import AuditTrail
from backoffice.finance_close.reconciliation import ReconciliationResult
from backoffice.finance_close.reconciliation_policy import RULE_IDS, RULES
from backoffice.finance_close.reconciliation_steps import ReconciliationFiles
from backoffice.local.approver import decide_via_http
from backoffice.local.billing_samples import PERIOD
from backoffice.local.reconciliation_samples import MANUAL_INVOICE
from backoffice.local.runtime import LocalRuntime
from infra.catalog import Ref

LinkOf = Callable[[LocalRuntime, str, str], "str | None"]
WRITE_OFF_REASON = "the client will not pay for the onboarding weeks: agreed with the engagement partner"


def run_reconciliation(
    runtime: LocalRuntime, approvals: ApprovalStore, link_of: LinkOf, out: TextIO, *, timeout: float = 300
) -> tuple[bool, list[str]]:
    """Waits for the period's reconciliation, decides its reviews, prints what it found; then re-runs it after a
    fix. Returns (as expected?, what the reviewers did)."""
    case_id = _execution_name(runtime, lambda name: not name.endswith("after-fixes"), timeout)
    if case_id is None:
        print("Reconciliation: no case started after the billing run", file=out)
        return False, []
    acted = _decide(runtime, approvals, link_of, case_id, time.monotonic() + timeout)
    ok = _status(runtime, case_id) == "SUCCEEDED"
    result = _result(runtime, case_id)
    _print_result(result, case_id, acted, out)
    kinds = sum(1 for count in result.counts_by_rule.values() if count)
    ok = ok and kinds >= 8

    # Finance cancels the invoice keyed in the ERP by hand, and reconciles again.
    runtime.sandbox().change("erp", "invoice", MANUAL_INVOICE, lambda body: {**body, "status": "cancelled"})
    runtime.put_event(
        "Reconciliation Requested",
        {
            "period_start": PERIOD.start.isoformat(),
            "period_end": PERIOD.end.isoformat(),
            "rerun": "after-fixes",
            "requested_by": "priya.raman@example-firm.com",
        },
        source="backoffice.cli",
    )
    rerun = _execution_name(runtime, lambda name: name.endswith("after-fixes"), timeout)
    if rerun is None:
        return False, acted
    acted += _decide(runtime, approvals, link_of, rerun, time.monotonic() + timeout)
    compared = _compared(runtime, rerun)
    changes = compared.get("changes", {})
    print(
        f"Re-run after fixes ({rerun}): {changes.get('closed', 0)} finding(s) closed, "
        f"{changes.get('still_open', 0)} still open, {changes.get('new', 0)} new; "
        f"{compared.get('sent_for_review', 0)} sent for review (settled ones are not asked again)",
        file=out,
    )
    ok = ok and _status(runtime, rerun) == "SUCCEEDED" and changes.get("closed", 0) >= 1
    return ok, acted


def _execution_name(runtime: LocalRuntime, wanted: Callable[[str], bool], timeout: float) -> str | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for execution in runtime.executions():
            if execution.workflow == "reconciliation" and wanted(execution.name):
                return execution.name
        time.sleep(0.1)
    return None


def _status(runtime: LocalRuntime, case_id: str) -> str:
    execution = runtime.execution(case_id, with_state=False)
    return execution.status if execution else "MISSING"


def _decide(
    runtime: LocalRuntime, approvals: ApprovalStore, link_of: LinkOf, case_id: str, deadline: float
) -> list[str]:
    """Each review of the run, decided through its link; the run's case ends once the last is decided."""
    acted: list[str] = []
    decided: set[str] = set()
    wrote_off = False
    while time.monotonic() < deadline and _status(runtime, case_id) == "RUNNING":
        for request in approvals.pending_requests():
            if not request.case_id.startswith(f"{case_id}-F") or request.request_id in decided:
                continue
            approver = request.approvers[0]
            link = link_of(runtime, approver, request.case_id)
            if link is None:
                continue
            title = str(request.subject.get("title", ""))
            comment = ""
            if title.startswith("RC6") and not wrote_off:
                resolution, comment, wrote_off = "write_off", WRITE_OFF_REASON, True
            elif MANUAL_INVOICE in title:
                resolution = "fix_in_erp"
            elif title.startswith(("RC1", "RC2", "RC3", "RC5")):
                resolution = "fix_in_psa"
            else:
                resolution = "acknowledge"
            status, heading, _ = decide_via_http(link, "approve", approver, comment, resolution)
            decided.add(request.request_id)
            acted.append(f"{approver}: {resolution} for {title} ({heading}, HTTP {status})")
        time.sleep(0.1)
    runtime.wait_until_idle(timeout=10, raise_on_timeout=False)
    return acted


def _compared(runtime: LocalRuntime, case_id: str) -> dict[str, Any]:
    trail = AuditTrail(runtime.resolve(Ref("table_name", "audit")))
    records = [r for r in trail.records(case_id) if r.action == "reconciliation.compared"]
    return dict(records[0].data) if records else {}


def _result(runtime: LocalRuntime, case_id: str) -> ReconciliationResult:
    bucket = runtime.resolve(Ref("bucket_name", "documents"))
    return ReconciliationFiles(runtime.client("s3"), bucket, case_id).result()


def _print_result(result: ReconciliationResult, case_id: str, acted: list[str], out: TextIO) -> None:
    print(
        f"Reconciliation of {result.period_start} to {result.period_end} as of {result.as_of} ({case_id}): "
        f"{len(result.findings)} finding(s), {len(result.to_review)} to their owners, {len(result.listed)} listed",
        file=out,
    )
    print(f"\n{'RULE':<5} {'FOUND':>5}  {'AT STAKE':<24} WHAT", file=out)
    for rule in RULE_IDS:
        findings = result.for_rule(rule)
        at_stake: dict[str, Decimal] = {}
        for finding in findings:
            if finding.amount_at_stake is not None and finding.currency:
                at_stake[finding.currency] = (
                    at_stake.get(finding.currency, Decimal(0)) + finding.amount_at_stake
                )
        amounts = ", ".join(f"{c} {a:,.2f}" for c, a in sorted(at_stake.items())) or "-"
        print(f"{rule:<5} {len(findings):>5}  {amounts:<24} {RULES[rule][:78]}", file=out)
    for row_currency, total in sorted(result.wip_totals.items()):
        rows = [row for row in result.wip if row.currency == row_currency]
        buckets = [
            sum((getattr(row, name) for row in rows), Decimal(0))
            for name in ("days_0_30", "days_31_60", "days_61_90", "days_over_90")
        ]
        print(
            f"Work in progress (approved, unbilled) {row_currency} {total:,.2f}: "
            + ", ".join(
                f"{label} days {amount:,.2f}"
                for label, amount in zip(("0-30", "31-60", "61-90", "90+"), buckets, strict=True)
            )
            + f" over {len(rows)} project(s)",
            file=out,
        )
    decided: dict[str, int] = {}
    for line in acted:
        resolution = line.split(": ", 1)[1].split(" for ", 1)[0]
        decided[resolution] = decided.get(resolution, 0) + 1
    print(
        "Reviews decided through their links: "
        + (", ".join(f"{k.replace('_', ' ')} {v}" for k, v in sorted(decided.items())) or "none"),
        file=out,
    )
