"""``make run``: the sample firm's won deals through the real onboarding workflow, on the in-process local runtime.

Approvers act the way people do: they open the link in their e-mail (from the local outbox), and confirm on the page
(a real HTTP GET, then a POST with the page's CSRF token) through the local API gateway.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from backoffice.approvals.store import ApprovalStore
from backoffice.audit import AuditRecord, AuditTrail, MacVerifier
from backoffice.audit_anchors import ANCHORS_BUCKET, AnchorStore, anchoring_window
from backoffice.intelligence import load_records, render_html
from backoffice.local.approver import decide_via_http
from backoffice.local.billing_demo import run_billing_period
from backoffice.local.delivery_demo import run_delivery_measurement
from backoffice.local.limits import history_report
from backoffice.local.outbox import read_outbox
from backoffice.local.purchasing_samples import run_purchase_approvals
from backoffice.local.receivables_demo import pay_posted_invoices
from backoffice.local.reconciliation_demo import run_reconciliation
from backoffice.local.resource_demo import run_resource_onboarding
from backoffice.local.revenue_demo import run_revenue_recognition
from backoffice.local.runtime import LocalRuntime
from backoffice.local.samples import Deal, closed_won_detail, existing_client, new_client, put_deal
from backoffice.local.time_expense_samples import run_weekly_review
from backoffice.local.timesheet_reminder_demo import run_timesheet_reminders
from backoffice.local.vendor_samples import blank_w9, put_vendor_request, upload_documents
from backoffice.local.vendor_samples import scenarios as vendor_samples
from backoffice.onboarding.contract_risk import RiskRule
from backoffice.reports.process_report import NO_RECORDS, build_process_report
from backoffice.vendors.sample_documents import w9_pdf
from infra.catalog import Ref

HIGH_RISK: frozenset[RiskRule] = frozenset({"uncapped_liability"})
MEDIUM_RISK: frozenset[RiskRule] = frozenset({"payment_terms_over_limit"})
# Who decides what, in the demo: (approver, decision, comment) per approval level reached, in order.
Decisions = list[tuple[str, str, str]]


@dataclass
class Scenario:
    title: str
    send: Callable[[LocalRuntime], str]  # returns the case id
    decisions: Decisions
    expected: str
    uploads: dict[str, bytes] = field(default_factory=dict)  # what the vendor uploads when asked


def vendor_scenarios() -> list[Scenario]:
    """The eight vendor requests of the sample firm, with who decides what."""
    form = blank_w9()
    procurement = ("kofi.mensah@example-firm.com", "julia.novak@example-firm.com")
    finance, compliance = "priya.raman@example-firm.com", "ruth.adler@example-firm.com"
    plans: dict[str, tuple[Decisions, str]] = {
        "clean": ([(procurement[0], "approve", "")], "Vendor Approved"),
        "insurance-expired": ([], "Vendor Rejected"),
        "invalid-tin": ([], "Vendor Rejected"),
        "invalid-routing": ([], "Vendor Rejected"),
        "sanctions-hit": ([(compliance, "reject", "Confirmed SDN match: do not onboard")], "Vendor Rejected"),
        "duplicate": ([], "Vendor Rejected"),
        "missing-w9": ([(procurement[1], "approve", "W-9 received")], "Vendor Approved"),
        "high-spend": (
            [
                (procurement[0], "approve", ""),
                (procurement[1], "approve", ""),
                (finance, "approve", "Budgeted"),
            ],
            "Vendor Approved",
        ),
    }
    found = []
    for key, scenario in vendor_samples().items():
        decisions, expected = plans[key]

        def send(runtime: LocalRuntime, scenario: Any = scenario) -> str:
            detail, _ = put_vendor_request(runtime.client("s3"), runtime.documents_bucket, scenario, form)
            event_id = runtime.put_event("Vendor Onboarding Requested", detail, source="procurement.portal")
            return next(d.case_id or "" for d in runtime.router.deliveries if d.event_id == event_id)

        uploads: dict[str, bytes] = {}
        if scenario.supplied_later is not None:
            uploads = {"w9": w9_pdf(scenario.supplied_later, form)}
        found.append(Scenario(f"Vendor: {scenario.title}", send, list(decisions), expected, uploads))
    return found


def _deal(deal: Deal, *, times: int = 1) -> Callable[[LocalRuntime], str]:
    def send(runtime: LocalRuntime) -> str:
        detail = put_deal(runtime.sandbox(), runtime.client("s3"), runtime.documents_bucket, deal)
        for _ in range(times):
            runtime.put_event("Opportunity Closed Won", detail, source="crm.salesforce")
        return f"onboard-{deal.opportunity_id}"

    return send


def _raw(detail: dict[str, Any]) -> Callable[[LocalRuntime], str]:
    def send(runtime: LocalRuntime) -> str:
        event_id = runtime.put_event("Opportunity Closed Won", detail, source="crm.salesforce")
        return f"onboard-{detail['opportunity']['id']}" if _valid(detail) else f"rejected-{event_id}"

    return send


def _valid(detail: dict[str, Any]) -> bool:
    return detail["opportunity"]["currency"].isupper() and not str(
        detail["opportunity"]["amount"]
    ).startswith("-")


def scenarios() -> list[Scenario]:
    near = existing_client("Northwind Logistics").model_copy(
        update={"customer_name": "Northwind Logistic Inc", "tax_id": None}
    )
    broken = closed_won_detail(12)
    broken["opportunity"].update(currency="usd", amount="-5")
    return [
        Scenario(
            "Standard low-risk deal, new client", _deal(Deal(1, new_client(1))), [], "Project Onboarded"
        ),
        Scenario(
            "Existing customer (same tax id in the ERP)",
            _deal(Deal(2, existing_client("Adventure Works"))),
            [],
            "Project Onboarded",
        ),
        Scenario(
            "High-risk contract: legal and the general counsel approve",
            _deal(Deal(3, new_client(3), risks=HIGH_RISK)),
            [
                (
                    "lena.hoffmann@example-firm.com",
                    "approve",
                    "Indemnity carve-out is acceptable for this client",
                ),
                ("grace.okafor@example-firm.com", "approve", ""),
            ],
            "Project Onboarded",
        ),
        Scenario(
            "Medium-risk contract: legal rejects",
            _deal(Deal(4, new_client(4), risks=MEDIUM_RISK)),
            [("omar.haddad@example-firm.com", "reject", "90-day payment terms: renegotiate to net 30")],
            "Onboarding Blocked",
        ),
        Scenario(
            "The same Closed Won event delivered twice",
            _deal(Deal(5, new_client(5)), times=2),
            [],
            "Project Onboarded",
        ),
        Scenario(
            "No SOW attached in the CRM",
            _deal(Deal(6, new_client(6), with_sow=False)),
            [],
            "Onboarding Blocked",
        ),
        Scenario(
            "Near match of an ERP customer (master-data review)",
            _deal(Deal(8, near)),
            [],
            "Onboarding Blocked",
        ),
        Scenario(
            "Fixed-fee deal with milestones",
            _deal(Deal(9, new_client(9), billing_model="fixed_fee", service_line="advisory")),
            [],
            "Project Onboarded",
        ),
        Scenario(
            "Monthly retainer",
            _deal(Deal(10, new_client(10), billing_model="retainer", service_line="digital")),
            [],
            "Project Onboarded",
        ),
        Scenario(
            "Closed but lost deal on the won rule",
            _raw(closed_won_detail(11, won=False)),
            [],
            "Onboarding Blocked",
        ),
        Scenario("Invalid event (bad currency and amount)", _raw(broken), [], "rejected"),
    ]


def run_demo(out: TextIO) -> int:
    # The engine logs each failed task as an exception; the summary below says what happened in business words.
    logging.getLogger("moto").setLevel(logging.CRITICAL)
    started = time.perf_counter()
    outbox = Path(".local/outbox")
    for old in outbox.glob("*.eml"):
        old.unlink()
    with LocalRuntime(retry_time_scale=0.01, outbox_dir=outbox) as runtime:
        print(
            "Local runtime up: moto in-process, Step Functions engine executing statemachines/*.asl.json,",
            file=out,
        )
        print(f"real Lambda handlers in-process, approval links on {runtime.api_url}.\n", file=out)
        audit = AuditTrail(runtime.resolve(Ref("table_name", "audit")))
        approvals = ApprovalStore(runtime.resolve(Ref("table_name", "approvals")), runtime.client("dynamodb"))

        # Invoicing first: the billing period bills the sample firm's projects of October (the deals won below
        # become new projects with nothing to bill yet).
        billing_ok, billing_acted = run_billing_period(runtime, approvals, _link, out)
        print(f"  ({len(billing_acted)} approvals decided through their links)\n", file=out)

        # The billing run's completion starts the period's reconciliation of the PSA and the ERP.
        reconciliation_ok, reconciliation_acted = run_reconciliation(runtime, approvals, _link, out)
        print(f"  ({len(reconciliation_acted)} finding reviews decided through their links)\n", file=out)

        # The monthly schedule then asks for the period's revenue recognition; finance approves its journal.
        revenue_ok = run_revenue_recognition(runtime, out)
        print("", file=out)

        # The clients pay the posted invoices: Invoice Paid events and the daily read record each on its case.
        receivables_ok = pay_posted_invoices(runtime, out)
        # And the month's delivery (utilization, WIP), as the monthly schedule measures it.
        delivery_ok = run_delivery_measurement(runtime, out)
        print("", file=out)

        # Time and expense as it happens: a week's timesheets chased (reminders, then the managers), and a week's
        # submissions reviewed when they arrive (clean approved by policy, flagged to the project manager).
        reminders_ok = run_timesheet_reminders(runtime, out)
        print("", file=out)
        print("Weekly time and expense review (week of 30 November):", file=out)
        weekly_ok = run_weekly_review(runtime, out)
        print("", file=out)
        print("Purchase approvals (#22):", file=out)
        purchasing_ok = run_purchase_approvals(runtime, approvals, _link, out)
        print("", file=out)
        # -- resource onboarding (issue #22): the HRIS's new hires set up as PSA resources --
        print("Resource onboarding (new hires from the HRIS):", file=out)
        resource_ok = run_resource_onboarding(runtime, approvals, _link, out)
        print("", file=out)

        # The ERP outage runs first and alone, so that its injected 503s are the ones its retries meet.
        outage = Scenario(
            "ERP outage (two 503s) that recovers on retry",
            _deal(Deal(7, new_client(7))),
            [],
            "Project Onboarded",
        )
        runtime.sandbox().inject_fault("erp", "ConnectorUnavailable", times=2)
        cases: list[tuple[Scenario, str]] = [(outage, outage.send(runtime))]
        runtime.wait_until_idle(timeout=60)
        for scenario in [*scenarios(), *vendor_scenarios()]:
            cases.append((scenario, scenario.send(runtime)))
        uploads = {case_id: s.uploads for s, case_id in cases if s.uploads}

        acted: list[str] = []
        pending_decisions = {case_id: list(s.decisions) for s, case_id in cases}
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if not uploads and _idle(runtime, approvals, pending_decisions):
                break
            for case_id, files in list(uploads.items()):
                link = _upload_link(runtime, case_id)
                if link:
                    status, _ = upload_documents(link, files)
                    acted.append(
                        f"the vendor of {case_id} uploaded {', '.join(files)} by its link (HTTP {status})"
                    )
                    del uploads[case_id]
            for request in approvals.pending_requests():
                queue = pending_decisions.get(request.case_id) or []
                if not queue or queue[0][0] not in request.approvers:
                    continue
                approver, decision, comment = queue.pop(0)
                link = _link(runtime, approver, request.case_id)
                if link is None:
                    queue.insert(0, (approver, decision, comment))
                    continue
                status, heading, _ = decide_via_http(link, decision, approver, comment)
                acted.append(f"{approver} opened the link and chose {decision}: {heading} (HTTP {status})")
            time.sleep(0.1)
        runtime.wait_until_idle(timeout=30, raise_on_timeout=False)

        # A business outcome (blocked, rejected) ends its execution SUCCEEDED; FAILED means a technical fault.
        status_of = {e.name: e.status for e in runtime.executions()}
        print(f"{'SCENARIO':<58} {'CASE':<30} {'EXECUTION':<10} OUTCOME", file=out)
        ok = True
        for scenario, case_id in cases:
            records = audit.records(case_id)
            published = next((r for r in reversed(records) if r.action == "outcome.published"), None)
            outcome = published.outcome if published else (records[-1].outcome if records else "-")
            detail = _detail(runtime, case_id, published.reasons if published else records[-1].reasons)
            execution = status_of.get(case_id, "-")  # "-": the event was rejected, no execution started
            expected = outcome == scenario.expected and execution in ("SUCCEEDED", "-")
            mark = "ok " if expected else "!! "
            ok = ok and expected
            print(f"{mark}{scenario.title[:55]:<55} {case_id[:30]:<30} {execution:<10} {outcome}", file=out)
            if detail:
                print(f"{'':<4}{detail}", file=out)
        if acted:
            print("\nApprovals decided through the confirmation page:", file=out)
            for line in acted:
                print(f"  {line}", file=out)
        print_approval_summaries(runtime, audit, out)

        deliveries = Counter(d.status for d in runtime.router.deliveries)
        executions = runtime.executions()
        parked = runtime.parked_messages()
        # The chains and their anchors, read as the operator (no function may read the anchors bucket).
        anchors = AnchorStore(runtime.resolve(Ref("bucket_name", ANCHORS_BUCKET)), s3=runtime.client("s3"))
        signatures = MacVerifier(runtime.resolve(Ref("key_arn", "audit_signing")), kms=runtime.client("kms"))
        report = audit.verify(anchors=anchors, macs=signatures, window=anchoring_window(runtime.catalog))
        sandbox = runtime.sandbox()
        print("\nSummary", file=out)
        print(f"  events on the bus    {len(runtime.bus_events)} (incl. outcome events)", file=out)
        print(
            f"  cases started        {deliveries['started']}; duplicates ignored {deliveries['duplicate']}; "
            f"rejected {deliveries['rejected']} (parked: {len(parked)})",
            file=out,
        )
        statuses = Counter(e.status.lower() for e in executions)
        others = "".join(
            f", {n} {s}" for s, n in sorted(statuses.items()) if s not in ("succeeded", "failed")
        )
        print(
            f"  executions           {len(executions)} ({statuses['succeeded']} succeeded{others}); "
            f"FAILED {statuses['failed']} (technical faults only: business outcomes succeed)",
            file=out,
        )
        print(
            f"  sandbox systems      ERP customers {len(sandbox.all('erp', 'customer'))}, PSA projects "
            f"{len(sandbox.all('psa', 'project'))}, staffing requests {len(sandbox.all('psa', 'resource_request'))}, "
            f"ERP vendors {len(sandbox.all('erp', 'vendor'))}",
            file=out,
        )
        print(f"  e-mails in outbox    {len(runtime.outbox())} ({runtime.outbox_dir})", file=out)
        print(f"  handler invocations  {len(runtime.lambdas.invocations)}", file=out)
        for line in history_report(runtime.client("stepfunctions"), executions):  # AWS's 25,000 events
            print(f"  {line}", file=out)
        integrity = "intact" if report.ok else f"{len(report.problems)} problem(s)"
        print(
            f"  audit trail          {report.records_checked} records, hash chains, signatures and anchors {integrity}",
            file=out,
        )
        (report_path, own_numbers), (sample_path, sample_numbers) = write_reports(
            load_records(audit), Path(".local")
        )
        print(f"  took                 {time.perf_counter() - started:.1f} s", file=out)
        print(
            f"\nProcess report of this run (its cases, timed in seconds): {report_path.resolve()}"
            f"\n  {own_numbers}"
            f"\nSample report (six months of a 150-person firm, for the management numbers' shape): "
            f"{sample_path.resolve()}\n  {sample_numbers}",
            file=out,
        )
        healthy = (
            ok
            and billing_ok
            and reconciliation_ok
            and revenue_ok
            and receivables_ok
            and delivery_ok
            and reminders_ok
            and weekly_ok
            and purchasing_ok
            and resource_ok
            and report.ok
            and deliveries["failed"] == 0
            and statuses["running"] == 0
            and statuses["failed"] == 0
        )
    return 0 if healthy else 1


def print_approval_summaries(runtime: LocalRuntime, audit: AuditTrail, out: TextIO) -> None:
    """How the approval e-mails opened (#23): how many carried the assistant's summary, two of them as written, and
    what the assistant suggested on the run's cases by use."""
    mails = [m for m in read_outbox(runtime.outbox_dir) if m.approval_links]
    summaries = [
        line.removeprefix("In short: ")
        for m in mails
        for line in m.text.splitlines()
        if line.startswith("In short: ")
    ]
    print(
        f"\nApproval e-mails: {len(summaries)} of {len(mails)} open with the assistant's summary (the local rules; "
        "Bedrock when the firm turns it on), for example:",
        file=out,
    )
    for text in sorted(set(summaries), key=len)[:2]:
        print(f'  "{text}"', file=out)
    uses = Counter(
        str(record.data.get("use"))
        for case_id in audit.case_ids()
        for record in audit.records(case_id)
        if record.action == "ai.suggested"
    )
    print(
        "  assistant's suggestions, audited: " + ", ".join(f"{n} {u}" for u, n in sorted(uses.items())),
        file=out,
    )


def write_reports(records: list[AuditRecord], folder: Path) -> tuple[tuple[Path, str], tuple[Path, str]]:
    """The process report of the run's own trail (as of now), and the six-month sample firm's (as of its end),
    each with a line of its management numbers: the run's cases last seconds, so only the sample shows what the
    numbers look like over months."""
    from backoffice.intelligence.html_management import headline
    from backoffice.intelligence.sample_firm import sample_as_of, sample_firm_records

    folder.mkdir(parents=True, exist_ok=True)
    own, sample = folder / "process-report.html", folder / "sample-report.html"
    report = build_process_report(records, as_of=datetime.now(UTC))
    own.write_text(render_html(report) if report else NO_RECORDS, encoding="utf-8")
    history = sample_firm_records()
    sample_report = build_process_report(history, as_of=sample_as_of(history))
    assert sample_report is not None
    sample.write_text(render_html(sample_report), encoding="utf-8")
    return (own, headline(report.management) if report else NO_RECORDS), (
        sample,
        headline(sample_report.management),
    )


def _idle(runtime: LocalRuntime, approvals: ApprovalStore, pending: dict[str, Decisions]) -> bool:
    running = [e for e in runtime.executions() if e.status == "RUNNING"]
    if not running:
        return True
    waiting_for_nobody = all(not pending.get(e.name) for e in running)
    return waiting_for_nobody and all(e.current_state and e.current_state.startswith("Ask ") for e in running)


def _upload_link(runtime: LocalRuntime, case_id: str) -> str | None:
    for mail in read_outbox(runtime.outbox_dir):
        if case_id in mail.text and "/uploads/" in mail.text:
            return next(w.rstrip(".") for w in mail.text.split() if "/uploads/" in w)
    return None


def _link(runtime: LocalRuntime, approver: str, case_id: str) -> str | None:
    mails = [m for m in read_outbox(runtime.outbox_dir) if m.to == approver and case_id in m.text]
    return mails[-1].approval_links[0] if mails and mails[-1].approval_links else None


def _detail(runtime: LocalRuntime, case_id: str, reasons: tuple[str, ...]) -> str:
    if reasons:
        return reasons[0][:140]
    projects = [
        p for p in runtime.sandbox().all("psa", "project") if case_id.endswith(p.get("opportunity_id") or "?")
    ]
    if projects:
        p = projects[0]
        return f"project {p['id']} ({p['billing_model']}, {p['currency']}) for customer {p['client_id']}"
    return ""
