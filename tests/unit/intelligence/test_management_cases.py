"""Management numbers read off the cases (issue #20): setup, invoice and vendor onboarding cycle times,
reconciliation effort, the share of cases run through the workflows; payments after an outcome leave the case
metrics alone; the whole report carries every number and its definition."""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from backoffice.audit import Actor
from backoffice.cli.report import add_report_parsers
from backoffice.intelligence import GLOSSARY, ManagementNumbers, build_report, event_log, to_json
from backoffice.intelligence.management import (
    glossary_markdown,
    invoice_cycle_time,
    orchestrated_share,
    reconciliation_effort,
    setup_cycle_time,
    vendor_onboarding_cycle_time,
)
from backoffice.intelligence.metrics import case_summaries, rework, waits
from backoffice.intelligence.samples import TrailWriter
from backoffice.reports.process_report import emit_management_metrics, report_records
from tests.management_trails import credit, measure, pay, post

HOUR = 3600.0
Clock = Callable[[float], datetime]
START = Actor.system("start_case")
PUBLISH = Actor.system("publish_outcome")
OPS = Actor.user("sam.ortiz@example-firm.com")
DOCS = Path(__file__).resolve().parents[3] / "docs" / "metrics.md"


def started(trail: TrailWriter, at: Clock, case: str, hours: float, workflow: str) -> None:
    trail.add(case, at(hours), "start case", START, "case.started", "started", workflow=workflow)


def published(trail: TrailWriter, at: Clock, case: str, hours: float, outcome: str, workflow: str) -> None:
    trail.add(case, at(hours), "publish outcome", PUBLISH, "outcome.published", outcome, workflow=workflow)


def test_setup_cycle_time_runs_from_the_case_start_to_the_project_created(
    trail: TrailWriter, at: Clock
) -> None:
    # Given one onboarding case whose project was created 6 hours after the won deal, one blocked before it
    started(trail, at, "opp-1", 0, "onboarding")
    trail.add(
        "opp-1", at(6), "create project in PSA", Actor.system("create_project"), "project.created", "created"
    )
    published(trail, at, "opp-1", 7, "Project Onboarded", "onboarding")
    started(trail, at, "opp-2", 0, "onboarding")
    published(trail, at, "opp-2", 1, "Onboarding Blocked", "onboarding")
    # And one still under way
    started(trail, at, "opp-3", 2, "onboarding")
    # When the setup cycle time is measured
    found = setup_cycle_time(event_log(trail.records))
    # Then it is 6 hours, over one case; the blocked one ended otherwise, the third is open
    assert found.available and found.stats is not None and found.stats.median == 6 * HOUR
    assert (found.cases, found.ended_otherwise, found.open) == (1, 1, 1)
    assert [(m.month, m.cases, m.median_seconds) for m in found.by_month] == [("2026-03", 1, 6 * HOUR)]


def test_vendor_onboarding_cycle_time_is_per_outcome(trail: TrailWriter, at: Clock) -> None:
    # Given a vendor approved after 48 hours and one rejected after 24
    for case, hours, outcome in (("v-1", 48, "Vendor Approved"), ("v-2", 24, "Vendor Rejected")):
        started(trail, at, case, 0, "vendor_approval")
        published(trail, at, case, hours, outcome, "vendor_approval")
    # When the vendor onboarding cycle time is measured
    found = vendor_onboarding_cycle_time(event_log(trail.records))
    # Then the median is 36 hours, and each outcome has its own
    assert found.stats is not None and found.stats.median == 36 * HOUR
    assert {k: s.median for k, s in found.by_outcome.items()} == {
        "Vendor Approved": 48 * HOUR,
        "Vendor Rejected": 24 * HOUR,
    }


def test_payments_and_credits_after_the_outcome_leave_the_invoice_case_as_it_closed(
    trail: TrailWriter, at: Clock
) -> None:
    # Given an invoicing case posted 30 hours after it started, its outcome published at 31 hours
    case = "billing-2026-P-INV-1"
    trail.add(case, at(0), "check project billing", Actor.system("check_project_billing"), "billing.checked",
              "ready", workflow="invoicing")  # fmt: skip
    post(trail, "INV-1", "1000.00", "2026-03-03")  # 2026-03-03 12:00 = 27 hours after 09:00 on 2 March
    published(trail, at, case, 31, "Invoice Posted", "invoicing")
    # And, weeks later, two partial payments and a credit memo on the same case
    pay(trail, "INV-1", "400.00", "2026-04-01", open_after="600.00")
    pay(trail, "INV-1", "500.00", "2026-04-20", open_after="100.00")
    credit(trail, "INV-1", "100.00", "2026-04-25", open_after="0")
    events = event_log(trail.records)
    # When the case metrics are taken
    (summary,) = case_summaries(events)
    # Then the case is closed with its outcome: cycle 31 hours, not reopened, no rework, first pass
    assert (summary.closed, summary.outcome, summary.cycle_seconds) == (True, "Invoice Posted", 31 * HOUR)
    assert (summary.rework, summary.first_pass) == (0, True)
    assert rework(events).rework == 0
    # And no wait is charged to the payment recorder, nor is the case waiting now
    found = waits(events)
    assert {g.stage for g in found.by_stage} == {"post invoice in ERP", "publish outcome"}
    assert found.waiting_now == []
    # And the invoice cycle time is start -> posted (27 hours), the case ran through the workflow alone
    assert invoice_cycle_time(events).durations == [27 * HOUR]
    assert orchestrated_share(events).share == 1.0


def test_reconciliation_effort_per_period(trail: TrailWriter, at: Clock) -> None:
    # Given October's first run: 5 findings, 2 sent for review (k1, k2); k1 settled 4 hours later, k2 rejected
    compare, settle = Actor.system("compare_psa_and_erp"), Actor.system("settle_reconciliation_finding")
    first, second = "reconciliation-2026-10-a", "reconciliation-2026-10-b"
    trail.add(first, at(0), "compare PSA and ERP", compare, "reconciliation.compared", "findings",
              workflow="reconciliation", data={"period_start": "2026-10-01", "findings": 5, "sent_for_review": 2,
                                               "reviews": ["k1", "k2"], "changes": {"new": 5, "closed": 0}})  # fmt: skip
    trail.add(first, at(4), "record finding decision", settle, "reconciliation.finding_settled", "settled",
              workflow="reconciliation", data={"key": "k1", "status": "settled", "applied": True})  # fmt: skip
    trail.add(first, at(5), "record finding decision", settle, "reconciliation.finding_settled", "open",
              workflow="reconciliation", data={"key": "k2", "status": "open", "applied": True})  # fmt: skip
    # And a second run a day later: 3 findings (2 closed since), k2 sent again, decided "to fix" at 30 hours
    trail.add(second, at(24), "compare PSA and ERP", compare, "reconciliation.compared", "findings",
              workflow="reconciliation", data={"period_start": "2026-10-01", "findings": 3, "sent_for_review": 1,
                                               "reviews": ["k2"], "changes": {"closed": 2}})  # fmt: skip
    trail.add(second, at(30), "record finding decision", settle, "reconciliation.finding_settled", "awaiting_fix",
              workflow="reconciliation", data={"key": "k2", "status": "awaiting_fix", "applied": True})  # fmt: skip
    # When the reconciliation effort is measured
    found = reconciliation_effort(event_log(trail.records))
    # Then October: 2 runs, 3 findings now, 3 sent for review, 2 decided (1 settled), 2 closed
    (period,) = found.by_period
    assert (period.period, period.runs, period.findings, period.sent_for_review) == ("2026-10", 2, 3, 3)
    assert (period.decided, period.settled, period.closed) == (2, 1, 2)
    # And from first sent for review to the decision: 4 hours (k1) and 30 hours (k2, since the first run)
    assert period.time_to_settle is not None and period.time_to_settle.median == 17 * HOUR
    assert found.available and found.time_to_settle == period.time_to_settle


def test_a_finding_decided_on_its_own_case_next_month_counts_for_the_period_that_found_it(
    trail: TrailWriter, at: Clock
) -> None:
    # Given September's run on 30 September sending k1 for review, decided on the finding's own case (as the real
    # workflow records it) two days later, in October
    compare, settle = Actor.system("compare_psa_and_erp"), Actor.system("settle_reconciliation_finding")
    run_at = datetime.fromisoformat("2026-09-30T20:00:00+00:00")
    trail.add("reconcile-2026-09", run_at, "compare PSA and ERP", compare, "reconciliation.compared", "findings",
              workflow="reconciliation", data={"period_start": "2026-09-01", "findings": 1, "sent_for_review": 1,
                                               "reviews": ["k1"]})  # fmt: skip
    trail.add("reconcile-2026-09-F001", run_at + timedelta(days=2), "record finding decision", settle,
              "reconciliation.finding_settled", "settled", workflow="reconciliation",
              data={"key": "k1", "status": "settled", "applied": True})  # fmt: skip
    # When the reconciliation effort is measured
    (period,) = reconciliation_effort(event_log(trail.records)).by_period
    # Then the decision is September's, two days after the run sent it
    assert (period.period, period.decided, period.settled) == ("2026-09", 1, 1)
    assert period.time_to_settle is not None and period.time_to_settle.median == 48 * HOUR


def test_orchestrated_share_leaves_out_resumed_and_hand_edited_cases(trail: TrailWriter, at: Clock) -> None:
    # Given three closed onboarding cases: one alone, one resumed, one corrected by hand; and one open case
    for case in ("c1", "c2", "c3", "c4"):
        started(trail, at, case, 0, "onboarding")
    trail.add("c2", at(1), "resume case", OPS, "case.resumed", "resumed")
    trail.add("c3", at(1), "correct customer", OPS, "customer.corrected", "corrected")
    for case in ("c1", "c2", "c3"):
        published(trail, at, case, 2, "Project Onboarded", "onboarding")
    # And a vendor case that ran alone
    started(trail, at, "v1", 0, "vendor_approval")
    published(trail, at, "v1", 3, "Vendor Approved", "vendor_approval")
    # When the share is measured
    found = orchestrated_share(event_log(trail.records))
    # Then 2 of the 4 closed cases ran through the workflow alone: onboarding 1 of 3, vendors 1 of 1
    assert (found.closed, found.orchestrated, found.share) == (4, 2, 0.5)
    assert [(g.key, g.closed, g.orchestrated) for g in found.by_workflow] == [
        ("onboarding", 3, 1),
        ("vendor_approval", 1, 1),
    ]


def test_a_month_measured_is_read_by_the_numbers_but_is_no_case(trail: TrailWriter, at: Clock) -> None:
    # Given a case and a month's delivery measured (the job's records on case delivery-2026-02)
    started(trail, at, "opp-1", 0, "onboarding")
    published(trail, at, "opp-1", 1, "Project Onboarded", "onboarding")
    measure(trail, "W1", "2026-02", "160", "120")
    # When the report is built from what the published report keeps
    kept = report_records(trail.records)
    report = build_report(kept)
    # Then the measurements are kept and read, and the report counts one case only
    assert len(kept) == len(trail.records)
    assert report.cases == 1 and {w.workflow for w in report.workflows} == {"onboarding"}
    assert report.management.utilization.utilization == 0.75


def test_a_trail_without_the_records_says_each_number_is_not_available(trail: TrailWriter, at: Clock) -> None:
    # Given a trail with one onboarding case that never got to its project
    started(trail, at, "opp-1", 0, "onboarding")
    # When the report is built
    numbers = build_report(trail.records).management
    # Then every management number is there, not available, and says why
    for key in ManagementNumbers.model_fields:
        number = getattr(numbers, key)
        assert number.available is False, key
        assert number.note.startswith("n/a"), key


def test_the_report_json_has_every_management_number_under_its_stable_key(
    trail: TrailWriter, at: Clock
) -> None:
    post(trail, "INV-1", "1000.00", "2026-03-03", period_end="2026-02-28")
    document = json.loads(to_json(build_report(trail.records)))
    assert list(document["management"]) == [
        "dso", "aging", "days_to_pay", "billing_lag", "utilization", "realization", "wip", "leakage",
        "billing_accuracy", "setup_cycle_time", "invoice_cycle_time", "vendor_onboarding_cycle_time",
        "reconciliation_effort", "orchestrated_share", "timesheet_compliance",
    ]  # fmt: skip
    assert document["management"]["dso"]["receivables_base"] == "1000.00"
    assert document["billing_lag"] == document["management"]["billing_lag"]
    assert [d["key"] for d in document["glossary"]] == [d.key for d in GLOSSARY]


def test_every_management_number_is_defined_once_in_the_glossary() -> None:
    keys = [d.key for d in GLOSSARY]
    assert len(keys) == len(set(keys))
    assert set(ManagementNumbers.model_fields) <= set(keys)
    for d in GLOSSARY:
        assert d.name and d.formula and d.source and d.unit


def test_docs_metrics_md_repeats_the_glossary_word_for_word() -> None:
    # docs/metrics.md carries glossary_markdown()'s table (the doc says how to regenerate it)
    doc = DOCS.read_text(encoding="utf-8")
    rows = {m.group(1): line for line in doc.splitlines() if (m := re.match(r"\| `([a-z_]+)` \|", line))}
    assert set(rows) == {d.key for d in GLOSSARY}
    for d in GLOSSARY:
        assert f"| {d.formula} |" in rows[d.key], (
            f"docs/metrics.md's {d.key} formula differs from the glossary"
        )
    assert glossary_markdown() in doc


def test_the_weekly_report_sends_the_operational_numbers_to_cloudwatch(
    trail: TrailWriter, at: Clock, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a report with utilization (75%) and billing accuracy (100%), and no WIP measured
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    measure(trail, "W1", "2026-02", "160", "120")
    post(trail, "INV-1", "1000.00", "2026-02-27")
    # When its numbers are emitted
    sent = emit_management_metrics(build_report(trail.records, as_of=at(0)))
    # Then the available ones go out as percentages or days, the missing ones not at all
    assert sent["UtilizationPercent"] == 75.0 and sent["BillingAccuracyPercent"] == 100.0
    assert "WorkInProgressBase" not in sent and "RealizationPercent" not in sent
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert {"UtilizationPercent", "BillingAccuracyPercent"} <= {
        line["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"] for line in lines
    }
    assert all(line["workflow"] == "process_report" for line in lines)


class _Stopped:
    def stop(self) -> None:
        pass


class _Trail:
    def __init__(self, trail: TrailWriter) -> None:
        self.trail = trail

    def case_ids(self) -> list[str]:
        return sorted({r.case_id for r in self.trail.records})

    def records(self, case_id: str) -> list[object]:
        return [r for r in self.trail.records if r.case_id == case_id]


def test_backoffice_report_json_prints_the_management_numbers_and_their_glossary(
    trail: TrailWriter, at: Clock, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a runtime's trail with a month measured, an invoice posted and partly paid
    measure(trail, "W1", "2026-02", "160", "120")
    post(trail, "INV-1", "1000.00", "2026-02-27", period_end="2026-02-28", posted_on="2026-03-02")
    pay(trail, "INV-1", "250.00", "2026-03-10", open_after="750.00")
    parser = argparse.ArgumentParser(prog="backoffice")
    add_report_parsers(
        parser.add_subparsers(dest="command", required=True),
        lambda args: _Stopped(),
        trail_of=lambda runtime: _Trail(trail),  # type: ignore[arg-type,return-value]
    )
    args = parser.parse_args(["report", "--json", "--as-of", "2026-03-31T18:00:00Z"])
    # When `backoffice report --json` runs
    assert args.func(args) == 0
    document = json.loads(capsys.readouterr().out)
    # Then the management numbers are there under their keys, with the glossary
    numbers = document["management"]
    assert numbers["dso"]["receivables_base"] == "750.00" and numbers["utilization"]["utilization"] == 0.75
    assert numbers["billing_lag"]["stats"]["median"] == 2.0
    assert {d["key"] for d in document["glossary"]} >= set(numbers)
