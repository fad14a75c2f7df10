"""``make run``, finance close part two: October 2026's revenue recognition, asked for as the monthly schedule
does, after the billing run and the reconciliation.

The fixed-fee project billed by progress and September's close are seeded (``revenue_samples.py``); the run
recognizes each project's revenue by its method, finance approves the proposed journal through the e-mail link,
and the journal is posted to the ERP. The printout is the run's, as finance reads it at the close.
"""

from __future__ import annotations

import time
from typing import TextIO

from backoffice.audit import AuditTrail
from backoffice.finance_close.revenue import summarize_revenue_run
from backoffice.finance_close.revenue_steps import PositionStore, RevenueFiles
from backoffice.invoicing.readiness import BillingPeriod
from backoffice.local.approver import decide_via_http
from backoffice.local.billing_samples import PERIOD
from backoffice.local.outbox import read_outbox
from backoffice.local.revenue_samples import seed_revenue_books
from backoffice.local.runtime import LocalRuntime
from infra.catalog import Ref

FINANCE = "priya.raman@example-firm.com"


def run_revenue_recognition(runtime: LocalRuntime, out: TextIO, *, timeout: float = 180) -> bool:
    """Seeds the progress-billed project, runs the close, approves its journal; prints it. Returns as expected?"""
    positions = PositionStore(runtime.resolve(Ref("table_name", "finance_close")), runtime.client("dynamodb"))
    seed_revenue_books(runtime.sandbox(), positions)
    detail = {
        "period_start": PERIOD.start.isoformat(),
        "period_end": PERIOD.end.isoformat(),
        "requested_by": "schedule",
    }
    runtime.put_event("Revenue Recognition Requested", detail, source="backoffice.schedule")
    deadline = time.monotonic() + timeout
    case_id = None
    while case_id is None and time.monotonic() < deadline:
        case_id = next((e.name for e in runtime.executions() if e.workflow == "revenue_recognition"), None)
        time.sleep(0.1)
    if case_id is None:
        print("Revenue recognition: no case started", file=out)
        return False
    approved = ""
    while time.monotonic() < deadline:
        execution = runtime.execution(case_id, with_state=False)
        if execution is None or execution.status != "RUNNING":
            break
        mails = [m for m in read_outbox(runtime.outbox_dir) if m.to == FINANCE and case_id in m.text]
        if mails and mails[-1].approval_links and not approved:
            status, heading, _ = decide_via_http(mails[-1].approval_links[0], "approve", FINANCE, "")
            approved = f"{FINANCE} approved the journal ({heading}, HTTP {status})"
        time.sleep(0.1)
    execution = runtime.execution(case_id, with_state=False)
    files = RevenueFiles(runtime.client("s3"), runtime.resolve(Ref("bucket_name", "documents")), case_id)
    results, _ = files.results()
    print(
        summarize_revenue_run(results, BillingPeriod(start=PERIOD.start, end=PERIOD.end)).summary(), file=out
    )
    trail = AuditTrail(runtime.resolve(Ref("table_name", "audit")))
    posted = [r for r in trail.records(case_id) if r.action == "revenue.journal_posted"]
    print(f"\n{approved or 'nobody approved the journal'}", file=out)
    for reason in posted[0].reasons if posted else ["no journal posted"]:
        print(f"  {reason}", file=out)
    return execution is not None and execution.status == "SUCCEEDED" and bool(posted)
