"""End to end on the local runtime: the sample firm's October 2026 billing period through the real invoicing ASL
and handlers, people deciding through their approval links, and a re-run that bills nothing twice.

One period is run once for the module (it is the expensive part: 20 projects, ~2,400 time lines, ~1,200 period
expenses, every line scored); each test then reads what happened to one project from the ERP, the PSA, the bus
and the audit trail.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest

from backoffice.anomaly.labels import ReviewLabel, ReviewLabels
from backoffice.audit import AuditTrail
from backoffice.connectors.sandbox import SandboxErp, SandboxPsa
from backoffice.invoicing.receivables import ReceivablesLedger
from backoffice.local.approver import decide_via_http
from backoffice.local.billing_samples import (
    BillingSample,
    anomaly_policy_json,
    billing_period_closed,
    seed_billing_period,
)
from backoffice.local.outbox import read_outbox
from backoffice.local.runtime import LocalRuntime
from backoffice.operate.deployment import ExecutionView
from infra.catalog import Ref

PARTNER = "alex.chen@example-firm.com"
FINANCE = "priya.raman@example-firm.com"
CFO = "dana.whitfield@example-firm.com"


@dataclass
class BillingRun:
    runtime: LocalRuntime
    sample: BillingSample
    case_id: str
    execution: ExecutionView
    rerun: ExecutionView | None = None

    @property
    def erp(self) -> SandboxErp:
        return SandboxErp(self.runtime.sandbox())

    @property
    def psa(self) -> SandboxPsa:
        return SandboxPsa(self.runtime.sandbox())

    def outcome(self, project_id: str, *, case_id: str | None = None) -> dict[str, Any]:
        case = f"{case_id or self.case_id}-{project_id}"
        found = [
            e["detail"]
            for e in self.runtime.bus_events
            if e["source"] == "backoffice.workflows" and e["detail"]["case_id"] == case
        ]
        assert len(found) == 1, f"{case}: {len(found)} outcome events"
        return found[0]

    def audit(self, project_id: str) -> list[tuple[str, str]]:
        trail = AuditTrail(self.runtime.resolve(Ref("table_name", "audit")))
        return [(r.action, r.outcome) for r in trail.records(f"{self.case_id}-{project_id}")]

    def invoices(self, project_id: str) -> list[dict[str, Any]]:
        return [b for b in self.runtime.sandbox().all("erp", "invoice") if b.get("project_id") == project_id]

    def time_line(self, line_id: str) -> dict[str, Any]:
        return next(b for b in self.runtime.sandbox().all_lines("psa", "time_entry") if b["id"] == line_id)

    def expense(self, line_id: str) -> dict[str, Any]:
        return next(b for b in self.runtime.sandbox().all_lines("psa", "expense") if b["id"] == line_id)


KEEP_BACK_PROJECT = "P-0008"  # its reviewer approves all but one line, named in the comment


def first_review_line(runtime: LocalRuntime, run_case_id: str) -> str:
    key = f"billing/{run_case_id}/projects/{KEEP_BACK_PROJECT}/review.json"
    body = runtime.client("s3").get_object(Bucket=runtime.documents_bucket, Key=key)["Body"].read()
    line_id: str = json.loads(body)["review_lines"][0]["line_id"]
    return line_id


def _decide_pending(
    runtime: LocalRuntime, sample: BillingSample, execution_name: str, deadline: float
) -> None:
    """Act as the approvers do: open each new approval e-mail's link and decide on the page."""
    handled: set[str] = set()
    while time.monotonic() < deadline:
        # Its status only: reading every running execution's history each round took the engine's time.
        execution = runtime.execution(execution_name, with_state=False)
        assert execution is not None, f"no execution {execution_name}"
        for mail in read_outbox(runtime.outbox_dir):
            if mail.path.name in handled or not mail.approval_links:
                continue
            handled.add(mail.path.name)
            if mail.to not in (PARTNER, FINANCE, CFO) or execution_name not in mail.text:
                continue
            reject = mail.to == PARTNER and any(f"-{p}" in mail.text for p in sample.reject_review_of)
            decision, comment = (
                ("reject", "Duplicate and unreceipted items: do not bill") if reject else ("approve", "")
            )
            if mail.to == PARTNER and f"-{KEEP_BACK_PROJECT}" in mail.text:
                comment = f"Approved, except {first_review_line(runtime, execution_name)}: booked twice"
            decide_via_http(mail.approval_links[0], decision, mail.to, comment)
        if execution.status != "RUNNING":
            return
        time.sleep(0.2)
    raise AssertionError(f"{execution_name} did not finish in time")


def _started(runtime: LocalRuntime, label: str, deadline: float) -> str:
    """The name of the run the event with this rerun label started, once the rule has started it."""
    while time.monotonic() < deadline:
        names = [e.name for e in runtime.executions() if e.name.endswith(label)]
        if names:
            return names[0]
        time.sleep(0.1)
    raise AssertionError(f"no run labelled {label} started")


def run_output(runtime: LocalRuntime, execution: ExecutionView) -> dict[str, Any]:
    described = runtime.client("stepfunctions").describe_execution(executionArn=execution.arn)
    output: dict[str, Any] = json.loads(described.get("output") or "{}")
    return output


@pytest.fixture(scope="module")
def billing_run() -> Iterator[BillingRun]:
    logging.getLogger("moto").setLevel(logging.CRITICAL)
    saved = os.environ.get("ANOMALY_POLICY")
    with LocalRuntime(retry_time_scale=0.001) as runtime:
        os.environ["ANOMALY_POLICY"] = anomaly_policy_json()  # the sample firm's city rates
        sample = seed_billing_period(runtime.sandbox())
        runtime.put_event(
            "Billing Period Closed", billing_period_closed(sample.period), source="psa.certinia"
        )
        runtime.put_event(
            "Billing Period Closed", billing_period_closed(sample.period), source="psa.certinia"
        )
        # Both events are routed while put_events returns (one run, one duplicate); the approvers act as their
        # e-mails arrive (the run waits for them, so it is never idle before they do).
        name = next(e.name for e in runtime.executions() if e.name.startswith("billing-"))
        _decide_pending(runtime, sample, name, time.monotonic() + 600)
        run = BillingRun(runtime, sample, name, next(e for e in runtime.executions() if e.name == name))
        yield run
    if saved is None:
        os.environ.pop("ANOMALY_POLICY", None)
    else:
        os.environ["ANOMALY_POLICY"] = saved


def test_a_duplicate_period_closed_event_starts_one_billing_run(billing_run: BillingRun) -> None:
    # Given the PSA announced the period twice / Then one billing run ran, and it succeeded
    runs = [e for e in billing_run.runtime.executions() if e.name.startswith("billing-2026-10-01")]
    assert len(runs) == 1
    assert billing_run.execution.status == "SUCCEEDED"


def test_the_completed_run_starts_the_periods_reconciliation(billing_run: BillingRun) -> None:
    # Given the billing run completed / Then it announced itself, and that started the period's reconciliation
    completed = [e for e in billing_run.runtime.bus_events if e["detail-type"] == "Billing Run Completed"]
    assert [e["detail"] for e in completed] == [
        {"period_start": "2026-10-01", "period_end": "2026-10-31", "billing_case_id": billing_run.case_id}
    ]
    deadline = time.monotonic() + 30
    while not [e for e in billing_run.runtime.executions() if e.workflow == "reconciliation"]:
        assert time.monotonic() < deadline, "no reconciliation started"
        time.sleep(0.1)
    (reconciliation,) = [e for e in billing_run.runtime.executions() if e.workflow == "reconciliation"]
    assert reconciliation.name == "reconcile-2026-10-01-2026-10-31"


def test_every_project_ends_as_the_sample_says(billing_run: BillingRun) -> None:
    # Given 20 projects, one per billing issue / When the period is billed / Then each ends as expected
    ended = {}
    for project in billing_run.sample.projects:
        if project.expected == "Nothing To Bill":
            assert billing_run.invoices(project.project_id) == []
            ended[project.project_id] = "Nothing To Bill"
        else:
            ended[project.project_id] = billing_run.outcome(project.project_id)["outcome"]
    assert ended == {p.project_id: p.expected for p in billing_run.sample.projects}


def test_the_run_summary_counts_posted_blocked_and_exceptions_by_reason(billing_run: BillingRun) -> None:
    summary = run_output(billing_run.runtime, billing_run.execution)
    assert summary["projects"] == 20
    assert summary["invoices_posted"] == sum(
        p.expected == "Invoice Posted" for p in billing_run.sample.projects
    )
    assert summary["invoices_blocked"] == sum(
        p.expected == "Invoice Blocked" for p in billing_run.sample.projects
    )
    # Every BR rule the sample injects shows in the exceptions, and the anomaly rules the scorer raised.
    for rule in (
        "BR1",
        "BR2",
        "BR3",
        "BR4",
        "BR5",
        "BR6",
        "BR7",
        "BR8",
        "BR9",
        "BR10",
        "INPUT",
        "TE1",
        "TE7",
    ):
        assert summary["exceptions_by_rule"].get(rule, 0) > 0, rule


def test_each_project_runs_in_its_own_execution_and_its_result_is_in_s3(billing_run: BillingRun) -> None:
    # Given the run's own history
    runtime = billing_run.runtime
    sfn = runtime.client("stepfunctions")
    events = sfn.get_execution_history(executionArn=billing_run.execution.arn, maxResults=1000)["events"]
    # Then it holds the map run's few events, none of its 20 projects' steps (they are in their own executions)
    kinds = [event["type"] for event in events]
    assert "MapRunStarted" in kinds and "MapRunSucceeded" in kinds
    assert not [kind for kind in kinds if kind.startswith("MapIteration") or kind == "TaskSubmitted"]
    assert len(events) < 60
    # And the projects' results are in S3 under the run's folder, one per project, listed by the map run's manifest
    described = sfn.describe_execution(executionArn=billing_run.execution.arn)
    written = json.loads(described["input"])  # the run's input has no results; its summary read them from S3
    assert "results" not in written
    s3 = runtime.client("s3")
    prefix = f"billing/{billing_run.case_id}/results/"
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=runtime.documents_bucket, Prefix=prefix)["Contents"]]
    (manifest_key,) = [key for key in keys if key.endswith("/manifest.json")]
    manifest = json.loads(s3.get_object(Bucket=runtime.documents_bucket, Key=manifest_key)["Body"].read())
    listed = [
        entry
        for result_file in manifest["ResultFiles"]["SUCCEEDED"]
        for entry in json.loads(
            s3.get_object(Bucket=runtime.documents_bucket, Key=result_file["Key"])["Body"].read()
        )
    ]
    assert sorted(json.loads(entry["Output"])["project_id"] for entry in listed) == sorted(
        p.project_id for p in billing_run.sample.projects
    )
    assert manifest["ResultFiles"]["FAILED"] == []


def test_what_the_receipts_say_reaches_the_scorer(billing_run: BillingRun) -> None:
    # Given expenses whose receipts (as the PSA reports them) show another total than claimed, or numbers
    # that follow one another at one merchant
    key = f"billing/{billing_run.case_id}/scores.json"
    s3 = billing_run.runtime.client("s3")
    body = s3.get_object(Bucket=billing_run.runtime.documents_bucket, Key=key)["Body"].read()
    reasons = [text for line in json.loads(body)["scores"].values() for text in line["reasons"]]
    # When the period was scored / Then those lines carry the receipt reasons, read off the expense itself
    assert any(text.startswith("TE4 claimed") and "but the receipt shows" in text for text in reasons)
    assert any(text.startswith("TE9") for text in reasons)
    assert run_output(billing_run.runtime, billing_run.execution)["exceptions_by_rule"]["TE9"] >= 1


def test_each_project_step_reads_its_own_lines_and_scores(billing_run: BillingRun) -> None:
    # Given the run's working files in S3
    s3, bucket = billing_run.runtime.client("s3"), billing_run.runtime.documents_bucket

    def read(name: str) -> dict[str, Any]:
        key = f"billing/{billing_run.case_id}/{name}"
        loaded: dict[str, Any] = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
        return loaded

    # When the period was opened and scored
    period = read("period.json")
    # Then the period file names the projects without their lines: a step of the Map reads one project's
    assert "lines" not in period and len(period["projects"]) == 20
    flagged = 0
    for project_id in period["projects"]:
        lines = read(f"projects/{project_id}/lines.json")
        bodies = [*lines["time"], *lines["expenses"]]
        assert {body["project_id"] for body in bodies} <= {project_id}  # a retainer may have none
        scores = read(f"projects/{project_id}/scores.json")["scores"]
        assert set(scores) <= {body["id"] for body in bodies}
        flagged += len(scores)
    # And the projects' scores are the period's, each once
    assert flagged == len(read("scores.json")["scores"])


def test_a_clean_project_invoices_without_a_review(billing_run: BillingRun) -> None:
    # Given P-0020: six clean, approved time lines / Then its invoice is posted for exactly those hours x rate
    (invoice,) = billing_run.invoices("P-0020")
    assert invoice["status"] == "posted" and invoice["invoice_number"].startswith("INV-2026-")
    billed = [
        line
        for line in billing_run.runtime.sandbox().all_lines("psa", "time_entry")
        if line["project_id"] == "P-0020"
    ]
    assert len(billed) == 6 and all(line["invoice_id"] == invoice["id"] for line in billed)
    assert Decimal(invoice["grand_total"]) == sum(Decimal(line["billing_amount"]) for line in billed)
    actions = [action for action, _ in billing_run.audit("P-0020")]
    assert "approval.requested" not in actions[: actions.index("invoice.drafted")]
    assert actions[-1] == "outcome.published"


def test_a_posted_invoice_records_its_receivable_and_its_payment_lands_on_its_case(
    billing_run: BillingRun,
) -> None:
    # Given P-0020 (billed at card) and P-0006 (some hours billed above the card) posted by the run
    runtime = billing_run.runtime
    trail = AuditTrail(runtime.resolve(Ref("table_name", "audit")))
    posted = {
        project_id: next(
            r for r in trail.records(f"{billing_run.case_id}-{project_id}") if r.action == "invoice.posted"
        )
        for project_id in ("P-0020", "P-0006")
    }
    # Then invoice.posted (R1) carries the receivable's and the realization's figures
    clean = posted["P-0020"].data
    for key in (
        "client_id",
        "project_id",
        "practice",
        "invoice_date",
        "due_date",
        "period_start",
        "period_end",
    ):
        assert key in clean, key
    assert (clean["period_start"], clean["period_end"]) == ("2026-10-01", "2026-10-31")
    assert clean["amount_base"] == clean["amount"] and Decimal(clean["hours_billed"]) > 0
    assert clean["time_standard_base"] == clean["time_billed_base"]
    above = posted["P-0006"].data
    assert Decimal(above["time_billed_base"]) > Decimal(above["time_standard_base"])
    # And the invoice is in the receivables ledger under its case
    ledger = ReceivablesLedger(
        runtime.resolve(Ref("table_name", "finance_close")), runtime.client("dynamodb")
    )
    receivable = ledger.get(clean["invoice_id"])
    assert receivable is not None and receivable.case_id == f"{billing_run.case_id}-P-0020"
    # When the client pays it in full and the ERP's Invoice Paid comes twice
    detail = {
        "kind": "payment",
        "id": "PAY-P0020",
        "invoice_id": clean["invoice_id"],
        "client_id": clean["client_id"],
        "amount": clean["amount"],
        "currency": clean["currency"],
        "paid_on": "2026-12-01",
    }
    runtime.put_event("Invoice Paid", detail, source="erp.netsuite")
    runtime.put_event("Invoice Paid", detail, source="erp.netsuite")
    runtime.router.wait_delivered(60)
    # Then one invoice.paid on the project's case, after its outcome
    actions = [r.action for r in trail.records(f"{billing_run.case_id}-P-0020")]
    assert actions.count("invoice.paid") == 1 and actions[-1] == "invoice.paid"
    assert actions.index("outcome.published") < actions.index("invoice.paid")


@pytest.mark.parametrize(
    ("project_id", "rule", "words"),
    [
        ("P-0002", "BR1", "still drafts"),
        ("P-0007", "BR6", "not-to-exceed"),
        ("P-0009", "BR8", "PO PO-77120"),
        ("P-0010", "BR9", "frozen"),
        ("P-0011", "BR9", "after the project's end"),
        ("P-0012", "BR10", "tax template"),
        ("P-0014", "BR10", "not in USD"),
    ],
)
def test_an_invoice_blocking_rule_stops_the_invoice_with_its_reason(
    billing_run: BillingRun, project_id: str, rule: str, words: str
) -> None:
    # Given the project's injected issue / Then Invoice Blocked names the rule and what to do; no invoice exists
    outcome = billing_run.outcome(project_id)
    assert outcome["outcome"] == "Invoice Blocked"
    assert any(reason.startswith(rule) and words in reason for reason in outcome["reasons"]), outcome[
        "reasons"
    ]
    assert billing_run.invoices(project_id) == []


def test_a_line_billed_before_is_left_out_and_the_rest_bills(billing_run: BillingRun) -> None:
    # Given P-0003's first line already on an earlier invoice (BR2) / Then it keeps that invoice, the rest posts
    line = next(
        b
        for b in billing_run.runtime.sandbox().all_lines("psa", "time_entry")
        if b.get("invoice_id") == "SINV-2026-PRIOR"
    )
    (invoice,) = billing_run.invoices("P-0003")
    assert line["id"] not in {i for item in invoice["lines"] for i in item["source_ids"]}
    assert billing_run.outcome("P-0003")["data"]["exceptions_by_rule"]["BR2"] == 1


def test_impossible_lines_are_exceptions_not_crashes(billing_run: BillingRun) -> None:
    # Given a zero-hour line and one with negative hours (P-0004), an unknown worker (P-0013), a line of an unknown
    # project / Then each is reported, never billed, and the other lines of those projects are invoiced
    p4 = billing_run.outcome("P-0004")
    assert p4["outcome"] == "Invoice Posted"
    assert {"BR3", "INPUT"} <= set(p4["data"]["exceptions_by_rule"])
    billed = {
        i for inv in billing_run.invoices("P-0004") for item in inv["lines"] for i in item["source_ids"]
    }
    assert "TE-P-0004-NEG" not in billed
    p13 = billing_run.outcome("P-0013")
    assert p13["outcome"] == "Invoice Posted" and p13["data"]["exceptions_by_rule"]["INPUT"] >= 1
    unknown = [
        b for b in billing_run.runtime.sandbox().all_lines("psa", "time_entry") if b["worker_id"] == "W-9999"
    ]
    assert unknown and unknown[0].get("invoice_id") is None
    assert run_output(billing_run.runtime, billing_run.execution)["exceptions_by_rule"]["INPUT"] >= 3


def test_overlaps_and_rate_mismatches_go_to_a_reviewer_who_lets_them_bill(billing_run: BillingRun) -> None:
    # Given P-0005 (BR4 overlap) and P-0006 (BR5 rate above the card) / When the partner approves the exceptions /
    # Then the flagged lines bill as recorded
    for project_id, rule in (("P-0005", "BR4"), ("P-0006", "BR5")):
        actions = billing_run.audit(project_id)
        assert ("approval.requested", "pending") in actions
        assert ("exceptions.settled", "approved") in actions
        (invoice,) = billing_run.invoices(project_id)
        assert invoice["status"] == "posted"
        assert billing_run.outcome(project_id)["data"]["exceptions_by_rule"][rule] >= 1
    # And the partner's mail explained the flagged lines' reasons in plain words (the rules', audited on the case)
    [mail] = [
        m
        for m in read_outbox(billing_run.runtime.outbox_dir)
        if f"{billing_run.case_id}-P-0006" in m.text and m.approval_links
    ][:1]
    assert "The flags in plain words:" in mail.text and "(the firm's rules)" in mail.text
    assert ("ai.suggested", "explained") in billing_run.audit("P-0006")
    rated = [
        b
        for b in billing_run.runtime.sandbox().all_lines("psa", "time_entry")
        if b["project_id"] == "P-0006" and b["is_billable"] and b.get("invoice_id")
    ]
    assert len({b["billing_rate"] for b in rated}) > len(
        {b["role"] for b in rated}
    )  # the higher rates billed


def test_rejected_exceptions_do_not_bill_and_go_back(billing_run: BillingRun) -> None:
    # Given the partner rejected P-0015's exceptions / Then its flagged time went back to the worker, its flagged
    # expenses were written off, none of them is on the invoice, and the rest of the project billed
    actions = billing_run.audit("P-0015")
    assert ("exceptions.settled", "rejected") in actions
    (invoice,) = billing_run.invoices("P-0015")
    billed = {i for item in invoice["lines"] for i in item["source_ids"]}
    returned = [
        b
        for entity in ("time_entry", "expense")
        for b in billing_run.runtime.sandbox().all_lines("psa", entity)
        if b.get("project_id") == "P-0015" and b.get("review_note")
    ]
    assert returned
    for line in returned:
        assert line["id"] not in billed and line.get("invoice_id") is None
        assert line.get("status") == "rejected" or line.get("written_off") is True


def test_fixed_fee_bills_the_accepted_milestone_only_and_a_retainer_its_fee(billing_run: BillingRun) -> None:
    (fixed,) = billing_run.invoices("P-0016")
    assert [item["source_ids"] for item in fixed["lines"]] == [["MS-P-0016-1"]]
    contract = billing_run.runtime.sandbox().get("psa", "contract", "SOW-P-0016")
    assert contract is not None
    assert {m["id"]: m["status"] for m in contract["milestones"]} == {
        "MS-P-0016-1": "invoiced",
        "MS-P-0016-2": "delivered",
    }
    (retainer,) = billing_run.invoices("P-0017")
    assert Decimal(retainer["grand_total"]) == Decimal(25000)


def test_a_rerun_of_the_period_bills_nothing_twice(billing_run: BillingRun) -> None:
    # Given the period billed / When an operator runs it again (a new rerun label) / Then no second invoice is
    # posted for any project and no line gets another invoice
    runtime = billing_run.runtime
    before = {b["id"]: b.get("invoice_id") for b in runtime.sandbox().all_lines("psa", "time_entry")}
    invoices_before = len(runtime.sandbox().all("erp", "invoice"))
    runtime.put_event(
        "Billing Period Closed",
        billing_period_closed(billing_run.sample.period, rerun="after-fixes"),
        source="ops",
    )
    name = _started(runtime, "after-fixes", time.monotonic() + 30)
    _decide_pending(runtime, billing_run.sample, name, time.monotonic() + 300)
    rerun = next(e for e in runtime.executions() if e.name == name)
    assert rerun.status == "SUCCEEDED"
    summary = run_output(runtime, rerun)
    assert summary["invoices_posted"] == 0
    assert summary["already_invoiced"] == sum(
        p.expected == "Invoice Posted" for p in billing_run.sample.projects
    )
    assert len(runtime.sandbox().all("erp", "invoice")) == invoices_before
    after = {b["id"]: b.get("invoice_id") for b in runtime.sandbox().all_lines("psa", "time_entry")}
    assert {k: v for k, v in after.items() if before[k]} == {k: v for k, v in before.items() if v}


def test_an_approver_keeps_back_the_line_named_in_the_comment(billing_run: BillingRun) -> None:
    # Given the partner approved P-0008's exceptions "except <line>" / Then that line went back, unbilled, and
    # every other line under review billed
    kept = first_review_line(billing_run.runtime, billing_run.case_id)
    (invoice,) = billing_run.invoices(KEEP_BACK_PROJECT)
    billed = {i for item in invoice["lines"] for i in item["source_ids"]}
    assert kept not in billed
    lines = [
        b
        for entity in ("time_entry", "expense")
        for b in billing_run.runtime.sandbox().all_lines("psa", entity)
        if b["id"] == kept
    ]
    # The reason is kept beside the line, where the PSA shows it to the worker (the line's own fields stay its model's)
    notes = billing_run.psa.review_notes(kept)
    assert lines and lines[0].get("invoice_id") is None and lines[0]["status"] == "rejected"
    assert notes and "kept back" in notes[-1]["note"]
    key = f"billing/{billing_run.case_id}/projects/{KEEP_BACK_PROJECT}/review.json"
    s3 = billing_run.runtime.client("s3")
    review = json.loads(s3.get_object(Bucket=billing_run.runtime.documents_bucket, Key=key)["Body"].read())
    others = [line["line_id"] for line in review["review_lines"][1:]]
    assert set(others) <= billed


def test_an_erp_outage_that_outlasts_the_retries_fails_the_run_as_a_technical_fault(
    billing_run: BillingRun,
) -> None:
    # Given the period billed (its run SUCCEEDED: blocked invoices are business outcomes), and then the ERP down
    # for longer than any project's retries last
    runtime = billing_run.runtime
    assert billing_run.execution.status == "SUCCEEDED"
    runtime.sandbox().inject_fault("erp", "ConnectorUnavailable", times=10_000)
    try:
        # When the period is billed again
        runtime.put_event(
            "Billing Period Closed",
            billing_period_closed(billing_run.sample.period, rerun="erp-outage"),
            source="ops",
        )
        # The billing run's own end, not the runtime's idleness: the period's reconciliation (started by the
        # first run's completion) waits for its reviewers all along.
        deadline = time.monotonic() + 120
        while True:
            runs = [e for e in runtime.executions() if e.name.endswith("erp-outage")]
            if runs and runs[0].status != "RUNNING":
                break
            assert time.monotonic() < deadline, "the billing run did not end"
            time.sleep(0.2)
    finally:
        runtime.sandbox().inject_fault("erp", "ConnectorUnavailable", times=0)
    run = next(e for e in runtime.executions() if e.name.endswith("erp-outage"))
    # Then the projects the outage stopped are announced Invoice Blocked with it as their reason, the others
    # went on
    stopped = [
        project.project_id
        for project in billing_run.sample.projects
        if billing_run.outcome(project.project_id, case_id=run.name)["reasons"][:1]
        and billing_run.outcome(project.project_id, case_id=run.name)["reasons"][0].startswith(
            "ConnectorUnavailable:"
        )
    ]
    assert stopped
    # And the run fails as a technical fault, saying how many projects it stopped
    described = runtime.client("stepfunctions").describe_execution(executionArn=run.arn)
    assert (run.status, described["error"]) == ("FAILED", "TechnicalFault")
    assert described["cause"].startswith(f"{len(stopped)} project(s) blocked by a technical fault")


def test_each_reviewer_decision_on_a_line_the_scorer_sent_is_a_label(billing_run: BillingRun) -> None:
    # Given the partner rejected P-0015's exceptions and approved P-0008's but one line
    runtime = billing_run.runtime
    labels = list(ReviewLabels(runtime.client("s3"), runtime.documents_bucket).read_all())
    by_project: dict[str, list[ReviewLabel]] = {}
    for label in labels:
        by_project.setdefault(label.project_id, []).append(label)
    # Then every line of P-0015 the scorer sent is labelled a problem, with the checks and rules it tripped
    rejected = by_project["P-0015"]
    assert rejected and all(label.is_problem for label in rejected)
    assert all(
        label.checks and label.rules and label.run_case_id == billing_run.case_id for label in rejected
    )
    # And of P-0008's, the line kept back is a problem and the lines that billed are cleared
    kept = first_review_line(runtime, billing_run.case_id)
    decided = {label.line_id: label.is_problem for label in by_project.get(KEEP_BACK_PROJECT, [])}
    assert all(problem == (line_id == kept) for line_id, problem in decided.items())
    # And the settled review's audit record counts the decisions per rule, for the process report
    trail = AuditTrail(runtime.resolve(Ref("table_name", "audit")))
    (settled,) = [
        r for r in trail.records(f"{billing_run.case_id}-P-0015") if r.action == "exceptions.settled"
    ]
    counts = settled.data["decisions_by_rule"]
    assert sum(rule["confirmed"] for rule in counts.values()) >= len(rejected)
    assert all(rule["cleared"] == 0 for rule in counts.values())
    # And it lists each written-off line (the policy writes off rejected expenses) with its rules and value, the
    # margin leakage by rule
    written_off = settled.data["written_off"]
    assert written_off and {line["kind"] for line in written_off} == {"expense"}
    assert all(line["hours"] is None and line["value_base"] is not None for line in written_off)
    assert any(line["rules"] for line in written_off)
    assert settled.data["written_off_base"] == str(sum(Decimal(line["value_base"]) for line in written_off))


def test_the_scoring_record_says_what_went_to_people_on_which_model_and_what_benford_could_test(
    billing_run: BillingRun,
) -> None:
    # Given the run's "lines scored" audit record
    trail = AuditTrail(billing_run.runtime.resolve(Ref("table_name", "audit")))
    (scored,) = [r for r in trail.records(billing_run.case_id) if r.action == "lines.scored"]
    text = " ".join(scored.reasons)
    # Then it names how many lines went to a person, the signal model and its threshold, and TE8's coverage
    assert "sent to a person" in text and "signal model" in text and "precision of 90%" in text
    assert any(reason.startswith("TE8 ") for reason in scored.reasons)
    assert scored.data["lines_to_review"] <= scored.data["lines_flagged"]
