"""End to end on the local runtime: the sample firm's October 2026 revenue close through the real ASL and
handlers: each method's figures as computed by hand, finance approving the journal through its link, the journal
posted to the ERP once, and a re-run of the period booking nothing twice.

The billing run is not run here: October's T&M work is unbilled, so it is unbilled receivable. The fixed-fee
project billed by progress (P-0022) and September's close that booked it are ``local/revenue_samples.py``'s.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest

from backoffice.audit import AuditTrail
from backoffice.finance_close.revenue import ProjectRevenue
from backoffice.finance_close.revenue_steps import PositionStore, RevenueFiles
from backoffice.local.billing_samples import PERIOD, seed_billing_period
from backoffice.local.outbox import read_outbox
from backoffice.local.revenue_samples import NO_ESTIMATE, PERCENT_COMPLETE, seed_revenue_books
from backoffice.local.runtime import LocalRuntime
from infra.catalog import Ref
from tests.integration.conftest import csrf_of, heading, http

FINANCE = "priya.raman@example-firm.com"


@dataclass
class RevenueClose:
    runtime: LocalRuntime
    case_id: str

    def records(self, case_id: str) -> list[Any]:
        return AuditTrail(self.runtime.resolve(Ref("table_name", "audit"))).records(case_id)

    def results(self, case_id: str | None = None) -> dict[str, ProjectRevenue]:
        files = RevenueFiles(
            self.runtime.client("s3"),
            self.runtime.resolve(Ref("bucket_name", "documents")),
            case_id or self.case_id,
        )
        return {result.project_id: result for result in files.results()[0]}

    @property
    def positions(self) -> PositionStore:
        return PositionStore(
            self.runtime.resolve(Ref("table_name", "finance_close")), self.runtime.client("dynamodb")
        )

    def journals(self) -> list[dict[str, Any]]:
        return self.runtime.sandbox().all("erp", "journal_entry")

    def approve(self, case_id: str) -> tuple[int, str]:
        deadline = time.monotonic() + 180
        while True:
            mails = [m for m in read_outbox(self.runtime.outbox_dir) if m.to == FINANCE and case_id in m.text]
            if mails and mails[-1].approval_links:
                break
            assert time.monotonic() < deadline, "finance got no approval e-mail"
            time.sleep(0.1)
        url = mails[-1].approval_links[0]
        return http(
            url, {"csrf": csrf_of(http(url)[1]), "decision": "approve", "approver": FINANCE, "comment": ""}
        )

    def finish(self, case_id: str) -> str:
        deadline = time.monotonic() + 180
        while True:
            execution = self.runtime.execution(case_id, with_state=False)
            if execution is not None and execution.status != "RUNNING":
                return execution.status
            assert time.monotonic() < deadline, "the revenue case did not finish"
            time.sleep(0.1)


def request(runtime: LocalRuntime, rerun: str | None = None) -> str:
    detail = {"period_start": PERIOD.start.isoformat(), "period_end": PERIOD.end.isoformat()}
    if rerun:
        detail["rerun"] = rerun
    runtime.put_event("Revenue Recognition Requested", detail, source="backoffice.cli")
    return next(
        e.name
        for e in runtime.executions()
        if e.workflow == "revenue_recognition" and e.name.endswith(rerun or "31")
    )


@pytest.fixture(scope="module")
def close() -> Iterator[RevenueClose]:
    with LocalRuntime(retry_time_scale=0.001) as runtime:
        seed_billing_period(runtime.sandbox())
        positions = PositionStore(
            runtime.resolve(Ref("table_name", "finance_close")), runtime.client("dynamodb")
        )
        seed_revenue_books(runtime.sandbox(), positions)
        case_id = request(runtime)
        deadline = time.monotonic() + 240
        while not [
            r
            for r in AuditTrail(runtime.resolve(Ref("table_name", "audit"))).records(case_id)
            if r.action == "revenue.recognized"
        ]:
            assert time.monotonic() < deadline, "revenue was not recognized"
            time.sleep(0.2)
        yield RevenueClose(runtime, case_id)


def test_percent_complete_on_hours_as_computed_by_hand(close: RevenueClose) -> None:
    # Given P-0022: fixed fee 180,000; 320 hours to September and 384 in October; 900 hours estimated (800 at
    # September's close, which booked 45,000 against 30,000 billed); 40,000 billed in October
    p = close.results()[PERCENT_COMPLETE]
    # Then 704 / 900 of 180,000 = 140,800.00 to date, 95,800.00 this period
    assert p.method == "percent_complete"
    assert (p.cumulative_recognized, p.recognized_this_period) == (Decimal("140800.00"), Decimal("95800.00"))
    # And against 70,000 billed, 70,800.00 unbilled receivable (15,000.00 before), no deferred revenue
    assert (p.billed_to_date, p.unbilled_receivable, p.deferred_revenue) == (
        Decimal(70000),
        Decimal("70800.00"),
        Decimal(0),
    )
    assert p.unbilled_receivable_before == Decimal("15000.00")
    # And the estimate's move from 800 to 900 hours (12.5 %) goes to finance's review, with both figures
    moved = [f for f in p.flags if f.code == "eac_changed"]
    assert moved and moved[0].review and (moved[0].old, moved[0].new) == (Decimal(800), Decimal(900))


def test_milestones_retainer_and_missing_estimate(close: RevenueClose) -> None:
    results = close.results()
    # Milestones: P-0016's first milestone (40,000) was accepted on 16 October, its second is only delivered
    assert results["P-0016"].method == "milestones"
    assert results["P-0016"].cumulative_recognized == Decimal(40000)
    # P-0019's only milestone is delivered, not accepted: nothing yet
    assert results["P-0019"].cumulative_recognized == Decimal(0)
    # Retainer: 25,000 a month from January, ten months to October's end; October's own line is 25,000.00
    retainer = results["P-0017"]
    assert retainer.method == "ratable" and retainer.cumulative_recognized == Decimal(250000)
    october = [line for line in retainer.lines if line.kind == "retainer" and line.month == "2026-10"]
    assert [line.amount for line in october] == [Decimal("25000.00")]
    # No estimate at completion: a finding, nothing recognized, no exception
    missing = results[NO_ESTIMATE]
    assert missing.recognized_this_period == Decimal(0)
    assert [f.code for f in missing.flags if not f.review] == ["no_estimate_at_completion"]


def test_time_and_materials_is_the_approved_billable_work_to_date(close: RevenueClose) -> None:
    # Given P-0020's approved billable time to October's end, read from the PSA
    lines = [
        line
        for line in close.runtime.sandbox().all_lines("psa", "time_entry")
        if line["project_id"] == "P-0020"
        and line["status"] == "approved"
        and line["is_billable"]
        and line["work_date"] <= "2026-10-31"
        and line.get("currency", "USD") == "USD"
    ]
    expected = sum(
        (Decimal(str(line["billing_hours"])) * Decimal(str(line["billing_rate"])) for line in lines),
        Decimal(0),
    )
    # Then the project's revenue to date is their hours at their rates
    result = close.results()["P-0020"]
    assert result.method == "as_delivered" and result.cumulative_recognized == expected > 0


def test_finance_approves_and_the_journal_is_posted_once_balanced(close: RevenueClose) -> None:
    # When finance approves the proposed journal through its link
    status, page = close.approve(close.case_id)
    assert (status, heading(page)) == (200, "You approved the request")
    assert close.finish(close.case_id) == "SUCCEEDED"
    # Then one entry per currency is in the ERP, balanced, P-0022's lines moving its unbilled receivable by 55,800
    journals = close.journals()
    assert sorted(j["currency"] for j in journals) == sorted({r.currency for r in close.results().values()})
    for journal in journals:
        debits = sum(Decimal(str(line["amount"])) for line in journal["lines"] if line["side"] == "debit")
        credits = sum(Decimal(str(line["amount"])) for line in journal["lines"] if line["side"] == "credit")
        assert debits == credits > 0
    usd = next(j for j in journals if j["currency"] == "USD")
    p22 = [line for line in usd["lines"] if line.get("project_id") == PERCENT_COMPLETE]
    assert {(line["account"], line["side"], Decimal(str(line["amount"]))) for line in p22} == {
        ("1250 Unbilled receivables", "debit", Decimal("55800.00")),
        ("4000 Services revenue", "credit", Decimal("55800.00")),
    }
    # And each project's position is kept for November's close
    kept = close.positions.before(PERCENT_COMPLETE, PERIOD.end.replace(day=30).replace(month=11))
    assert kept is not None and Decimal(kept["unbilled_receivable"]) == Decimal("70800.00")
    posted = next(r for r in close.records(close.case_id) if r.action == "revenue.journal_posted")
    assert posted.data["positions_kept"] == posted.data["projects"]


def test_a_rerun_of_a_booked_period_proposes_nothing_and_posts_nothing(close: RevenueClose) -> None:
    before = {j["id"] for j in close.journals()}
    # Given P-0022's estimate changed since the period was booked
    close.runtime.sandbox().put("psa", "estimate", PERCENT_COMPLETE, {"hours": "1000"})
    # When the period is recognized again
    rerun = request(close.runtime, "again")
    # Then nobody is asked, nothing is posted, and the run says why
    assert close.finish(rerun) == "SUCCEEDED"
    outcome = next(e for e in close.runtime.bus_events if e["detail"].get("case_id") == rerun)
    assert outcome["detail-type"] == "Revenue Not Booked"
    assert "booked for this period or a later one" in outcome["detail"]["reasons"][0]
    assert {j["id"] for j in close.journals()} == before
    assert not [m for m in read_outbox(close.runtime.outbox_dir) if rerun in m.text]
    # And the position October booked stands
    kept = close.positions.before(PERCENT_COMPLETE, PERIOD.end.replace(day=30).replace(month=11))
    assert kept is not None and Decimal(kept["cumulative_recognized"]) == Decimal("140800.00")


def test_an_earlier_period_after_a_later_one_was_booked_is_refused(close: RevenueClose) -> None:
    # When September is recognized after October was booked
    detail = {"period_start": "2026-09-01", "period_end": "2026-09-30"}
    close.runtime.put_event("Revenue Recognition Requested", detail, source="backoffice.cli")
    case = next(e.name for e in close.runtime.executions() if e.name == "revenue-2026-09-01-2026-09-30")
    # Then it books nothing: October already moved the balances September would move
    assert close.finish(case) == "SUCCEEDED"
    outcome = next(e for e in close.runtime.bus_events if e["detail"].get("case_id") == case)
    assert outcome["detail-type"] == "Revenue Not Booked"


def test_a_project_closed_with_a_balance_is_recognized_until_it_clears(close: RevenueClose) -> None:
    # Given P-0022, booked in October with 70,800.00 unbilled receivable, is completed in the PSA on 31 October
    sandbox = close.runtime.sandbox()
    body = sandbox.get("psa", "project", PERCENT_COMPLETE) or {}
    sandbox.put(
        "psa", "project", PERCENT_COMPLETE, {**body, "status": "completed", "expected_end_date": "2026-10-31"}
    )
    # When November is recognized (the PSA no longer lists it for November)
    detail = {"period_start": "2026-11-01", "period_end": "2026-11-30"}
    close.runtime.put_event("Revenue Recognition Requested", detail, source="backoffice.cli")
    case = "revenue-2026-11-01-2026-11-30"
    deadline = time.monotonic() + 180
    while not [r for r in close.records(case) if r.action == "revenue.recognized"]:
        assert time.monotonic() < deadline, "November was not recognized"
        time.sleep(0.2)
    # Then it is still recognized, from October's position: nothing new earned, its balance carried
    november = close.results(case)[PERCENT_COMPLETE]
    assert november.recognized_before == Decimal("140800.00")
    assert november.unbilled_receivable_before == Decimal("70800.00")


def test_an_erp_outage_mid_run_is_retried_and_the_run_goes_on(close: RevenueClose) -> None:
    # Given the ERP answers 503 twice
    close.runtime.sandbox().inject_fault("erp", "ConnectorUnavailable", times=2)
    # When December is recognized
    detail = {"period_start": "2026-12-01", "period_end": "2026-12-31"}
    close.runtime.put_event("Revenue Recognition Requested", detail, source="backoffice.cli")
    case = "revenue-2026-12-01-2026-12-31"
    deadline = time.monotonic() + 180
    while not [r for r in close.records(case) if r.outcome == "journal_proposed"]:
        assert time.monotonic() < deadline, "December was not recognized"
        time.sleep(0.2)
    # Then the step's failed attempts are on the trail with their reason, and it recognized once
    records = [r for r in close.records(case) if r.action == "revenue.recognized"]
    assert [r.outcome for r in records].count("journal_proposed") == 1
    assert sum("ConnectorUnavailable" in " ".join(r.reasons) for r in records) == 2
