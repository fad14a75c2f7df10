"""End to end on the local runtime: the sample firm's October 2026 books reconciled through the real ASL and
handlers (each under its synthesized IAM role), findings reviewed through their approval links with what is to be
done, and a re-run after fixes that closes what no longer holds.

The period is read and compared once for the module (the expensive part: ~4,000 PSA lines); the tests read what
the run found from its result in S3, the findings table, the PSA and the audit trail. The sample's books carry one
or more differences per rule (``backoffice/local/reconciliation_samples.py``); the billing run is not run here, so
October's approved work is unbilled and ages as work in progress as of 15 December.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from backoffice.audit import AuditTrail
from backoffice.cli.close import cmd_findings, cmd_run
from backoffice.cli.main import build_parser
from backoffice.finance_close.findings import FindingRecord, FindingStore
from backoffice.finance_close.reconciliation import ReconciliationResult
from backoffice.finance_close.reconciliation_policy import RULE_IDS
from backoffice.finance_close.reconciliation_steps import ReconciliationFiles
from backoffice.local.billing_samples import PERIOD, seed_billing_period
from backoffice.local.outbox import read_outbox
from backoffice.local.polling import Pauses
from backoffice.local.reconciliation_samples import MANUAL_INVOICE, SEPTEMBER_INVOICE, seed_close_books
from backoffice.local.runtime import LocalRuntime
from infra.catalog import Ref
from tests.integration.conftest import csrf_of, deploy_firm_document, heading, http

AS_OF = "2026-12-15"
BILLING = "sam.ortiz@example-firm.com"
PARTNER = "alex.chen@example-firm.com"
# Findings of 5,000 or more go to review (RC6's aged work per project, the hand-keyed invoice); the rest are listed.
THRESHOLD = "5000"


@dataclass
class Reconciled:
    runtime: LocalRuntime
    case_id: str
    reviews: dict[str, str]  # finding key -> its review's case id

    @property
    def store(self) -> FindingStore:
        return FindingStore(
            self.runtime.resolve(Ref("table_name", "finance_close")), self.runtime.client("dynamodb")
        )

    def findings(self) -> dict[str, FindingRecord]:
        return {r.key: r for r in self.store.findings(PERIOD.start, PERIOD.end)}

    def result(self, case_id: str | None = None) -> ReconciliationResult:
        bucket = self.runtime.resolve(Ref("bucket_name", "documents"))
        return ReconciliationFiles(self.runtime.client("s3"), bucket, case_id or self.case_id).result()

    def records(self, case_id: str) -> list[Any]:
        return AuditTrail(self.runtime.resolve(Ref("table_name", "audit"))).records(case_id)

    def status(self, case_id: str) -> str:
        execution = self.runtime.execution(case_id, with_state=False)
        assert execution is not None
        return execution.status

    def link(self, who: str, case_id: str, timeout: float = 20) -> str:
        deadline = time.monotonic() + timeout
        pause = Pauses()
        while True:
            mails = [m for m in read_outbox(self.runtime.outbox_dir) if m.to == who and case_id in m.text]
            if mails and mails[-1].approval_links:
                return mails[-1].approval_links[0]
            assert time.monotonic() < deadline, f"{who} has no approval e-mail for {case_id}"
            pause()

    def decide(self, who: str, case_id: str, resolution: str | None, comment: str = "") -> tuple[int, str]:
        url = self.link(who, case_id)
        form = {"csrf": csrf_of(http(url)[1]), "approver": who, "comment": comment}
        form.update(
            {"decision": "approve", "resolution": resolution} if resolution else {"decision": "reject"}
        )
        return http(url, form)


def request(runtime: LocalRuntime, *, rerun: str | None = None) -> str:
    detail = {
        "period_start": PERIOD.start.isoformat(),
        "period_end": PERIOD.end.isoformat(),
        "as_of": AS_OF,
        "requested_by": "controller@example-firm.com",
        **({"rerun": rerun} if rerun else {}),
    }
    runtime.put_event("Reconciliation Requested", detail, source="backoffice.schedule")
    return next(
        e.name for e in runtime.executions() if e.workflow == "reconciliation" and (rerun or "") in e.name
    )


def wait_for_reviews(
    reconciled_runtime: LocalRuntime, case_id: str, count: int, timeout: float = 120
) -> None:
    audit = AuditTrail(reconciled_runtime.resolve(Ref("table_name", "audit")))
    deadline = time.monotonic() + timeout
    while True:
        compared = [r for r in audit.records(case_id) if r.action == "reconciliation.compared"]
        if compared and len(compared[0].data["reviews"]) == count:
            asked = [
                n
                for n in range(1, count + 1)
                if any(r.action == "approval.requested" for r in audit.records(f"{case_id}-F{n:03d}"))
            ]
            if len(asked) == count:
                return
        assert time.monotonic() < deadline, "the reviews were not all asked for"
        time.sleep(0.2)


@pytest.fixture(scope="module")
def reconciled() -> Iterator[Reconciled]:
    with LocalRuntime(retry_time_scale=0.001) as runtime, pytest.MonkeyPatch.context() as patch:

        def threshold(document: dict[str, Any]) -> None:
            document["reconciliation_policy"] = {"approval_threshold": THRESHOLD}

        deploy_firm_document(runtime, patch, threshold)
        seed_billing_period(runtime.sandbox())
        seed_close_books(runtime.sandbox())
        case_id = request(runtime)
        audit = AuditTrail(runtime.resolve(Ref("table_name", "audit")))
        deadline = time.monotonic() + 240
        while not [r for r in audit.records(case_id) if r.action == "reconciliation.compared"]:
            assert time.monotonic() < deadline, "the reconciliation did not compare"
            time.sleep(0.2)
        compared = next(r for r in audit.records(case_id) if r.action == "reconciliation.compared")
        keys = compared.data["reviews"]
        wait_for_reviews(runtime, case_id, len(keys))
        yield Reconciled(runtime, case_id, {key: f"{case_id}-F{n:03d}" for n, key in enumerate(keys, 1)})


def test_every_rule_finds_what_the_sample_books_carry(reconciled: Reconciled) -> None:
    # When the period is reconciled
    result = reconciled.result()
    # Then each of the eleven rules has at least one finding, as the sample seeds them
    assert {rule: count for rule, count in result.counts_by_rule.items() if count == 0} == {}
    assert set(result.counts_by_rule) == set(RULE_IDS)
    keys = {f.key for f in result.findings}
    # And the seeded differences are found by their subjects
    by_rule = {rule: [f for f in result.findings if f.rule_id == rule] for rule in RULE_IDS}
    assert any(SEPTEMBER_INVOICE in f.key for f in by_rule["RC1"])
    assert any(MANUAL_INVOICE in f.key for f in by_rule["RC4"])
    assert any("SINV-2026-PRIOR" in f.key for f in by_rule["RC5"])
    assert {f.subject.id for f in by_rule["RC10"]} >= {"P-0020", "P-0021"}
    assert any("P-0006" in f.key for f in by_rule["RC11"]) and any("P-0001" in f.key for f in by_rule["RC11"])
    assert any("P-0005" in f.key for f in by_rule["RC9"]) and any("P-0008" in f.key for f in by_rule["RC9"])
    assert len(keys) == len(result.findings)
    # And the amounts at stake and WIP are per currency, never mixed: P-0014's one line in EUR is its own row
    assert set(result.amount_at_stake) == {"USD", "EUR"} and result.wip_totals["USD"] > Decimal(0)
    eur = [row for row in result.wip if row.currency == "EUR"]
    assert [row.project_id for row in eur] == ["P-0014"] and result.wip_totals["EUR"] == eur[0].total


def test_a_tax_id_never_leaves_the_sources_file(reconciled: Reconciled) -> None:
    # Given Prairie State University's tax id differs between the CRM and the ERP
    drift = [f for f in reconciled.result().findings if f.rule_id == "RC7" and f.attribute == "tax_id"]
    assert drift
    # Then neither value is in the result, the findings table, the state or the audit trail
    execution = reconciled.runtime.execution(reconciled.case_id)
    assert execution is not None
    history = json.dumps(
        reconciled.runtime.client("stepfunctions").get_execution_history(executionArn=execution.arn)[
            "events"
        ],
        default=str,
    )
    texts = [
        reconciled.result().to_json_dict().__repr__(),
        repr([r.__dict__ for r in reconciled.findings().values()]),
        history,
        repr([r.data for r in reconciled.records(reconciled.case_id)]),
    ]
    for tax_id in ("04-7654324", "04-7654399", "047654324", "047654399"):
        assert not any(tax_id in text for text in texts), tax_id


def test_findings_above_the_threshold_go_to_their_owners_and_the_rest_are_listed(
    reconciled: Reconciled,
) -> None:
    result = reconciled.result()
    threshold = Decimal(THRESHOLD)
    # Then exactly the findings at or above the threshold were sent for review, each its own case
    above = {
        f.key for f in result.findings if f.amount_at_stake is not None and f.amount_at_stake >= threshold
    }
    assert set(reconciled.reviews) == above and above
    records = reconciled.findings()
    assert {records[key].status for key in above} == {"in_review"}
    assert {records[f.key].status for f in result.findings if f.key not in above} == {"open"}
    # And an aged-WIP finding goes to the engagement partners, an invoice finding to billing
    wip = next(key for key in above if key.startswith("RC6:"))
    invoice = next(key for key in above if key.startswith(("RC3:", "RC4:")))
    page = http(reconciled.link(PARTNER, reconciled.reviews[wip]))[1]
    assert "Write off the unbilled work (reason required)" in page and "accept_difference" not in page
    # And only aged work can be written off: any other difference is accepted as it stands, with a reason
    page = http(reconciled.link(BILLING, reconciled.reviews[invoice]))[1]
    assert "Accept the difference as it stands (reason required)" in page and "write_off" not in page


def test_a_write_off_needs_its_reason_then_takes_the_lines_out_of_billing(reconciled: Reconciled) -> None:
    wip = sorted(key for key in reconciled.reviews if key.startswith("RC6:"))[0]
    case = reconciled.reviews[wip]
    # When the partner approves the write-off without a reason
    status, page = reconciled.decide(PARTNER, case, "write_off")
    # Then nothing is decided and the page asks for it
    assert (
        status == 400
        and "Please give the reason in the comment: Write off the unbilled work needs one." in page
    )
    # When the partner gives the reason
    status, page = reconciled.decide(
        PARTNER, case, "write_off", "client will not pay for the onboarding week"
    )
    assert (status, heading(page)) == (200, "You approved the request")
    # Then the finding is settled, and the aged lines are written off in the PSA with the reason
    deadline = time.monotonic() + 30
    while not [r for r in reconciled.records(case) if r.action == "reconciliation.finding_settled"]:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    settled = reconciled.findings()[wip]
    assert (settled.status, settled.resolution, settled.decided_by) == ("settled", "write_off", [PARTNER])
    record = next(r for r in reconciled.records(case) if r.action == "reconciliation.finding_settled")
    assert any("written off in the PSA" in reason for reason in record.reasons)
    project = wip.split(":")[1]
    lines = [
        b
        for b in reconciled.runtime.sandbox().all_lines("psa", "time_entry")
        if b.get("project_id") == project and b.get("written_off")
    ]
    assert lines and {b["review_note"] for b in lines} == {
        f"{PARTNER}: client will not pay for the onboarding week"
    }
    assert all((date.fromisoformat(AS_OF) - date.fromisoformat(b["work_date"])).days > 60 for b in lines)


def test_a_fix_in_the_erp_then_a_rerun_closes_the_finding(reconciled: Reconciled) -> None:
    # Given billing says the hand-keyed invoice is to be fixed in the ERP, the partner rejects one aged-WIP finding
    # ("not mine") and the other reviews are acknowledged
    rejected = sorted(key for key in reconciled.reviews if key.startswith("RC6:"))[-1]
    for key, case in reconciled.reviews.items():
        if reconciled.findings()[key].status != "in_review":
            continue
        owner = PARTNER if key.startswith("RC6:") else BILLING
        resolution = "fix_in_erp" if MANUAL_INVOICE in key else None if key == rejected else "acknowledge"
        status, _ = reconciled.decide(
            owner, case, resolution, "not this project's: ask delivery" if key == rejected else ""
        )
        assert status == 200
    deadline = time.monotonic() + 60
    while reconciled.status(reconciled.case_id) == "RUNNING":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert reconciled.status(reconciled.case_id) == "SUCCEEDED"
    manual_keys = [key for key in reconciled.reviews if MANUAL_INVOICE in key]
    assert {reconciled.findings()[key].status for key in manual_keys} == {"awaiting_fix"}
    # And the rejected finding is open again, with who said no and why
    reopened = reconciled.findings()[rejected]
    assert (reopened.status, reopened.comments) == ("open", [f"{PARTNER}: not this project's: ask delivery"])
    # When finance cancels the hand-keyed invoice in the ERP and reconciles again
    reconciled.runtime.sandbox().change(
        "erp", "invoice", MANUAL_INVOICE, lambda body: {**body, "status": "cancelled"}
    )
    # (through the command an operator types: backoffice reconcile run --period 2026-10 --rerun after-fixes)
    reconcile_run(reconciled.runtime, "--rerun", "after-fixes")
    rerun = next(e.name for e in reconciled.runtime.executions() if e.name.endswith("after-fixes"))
    deadline = time.monotonic() + 240
    while not [r for r in reconciled.records(rerun) if r.action == "reconciliation.compared"]:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    # Then its findings are closed by the re-run, settled ones are not asked about again, and the run says so
    compared = next(r for r in reconciled.records(rerun) if r.action == "reconciliation.compared")
    records = reconciled.findings()
    assert {records[key].status for key in manual_keys} == {"closed"}
    assert {records[key].closed_by_case for key in manual_keys} == {rerun}
    assert compared.data["changes"]["closed"] >= len(manual_keys)
    # And the rejected finding is asked about again; no other finding of the first run's reviews is
    assert set(compared.data["reviews"]) & set(reconciled.reviews) == {rejected}


def reconcile_run(runtime: LocalRuntime, *extra: str) -> int:
    args = build_parser().parse_args(
        [
            "reconcile",
            "run",
            "--period",
            "2026-10",
            "--as",
            "controller@example-firm.com",
            "--as-of",
            AS_OF,
            *extra,
        ]
    )
    return cmd_run(args, runtime)


def test_the_findings_command_lists_each_finding_with_its_status(
    reconciled: Reconciled, capsys: pytest.CaptureFixture[str]
) -> None:
    # When an operator lists the period's findings
    args = build_parser().parse_args(["reconcile", "findings", "--period", "2026-10", "--json"])
    code = cmd_findings(args, reconciled.runtime)
    listed = json.loads(capsys.readouterr().out)
    # Then every stored finding is there with its status, and the command exits 1 while some are open
    assert {item["key"] for item in listed} == set(reconciled.findings())
    assert code == 1 and "open" in {item["status"] for item in listed}
    # And a filter by status, in text, names each one's key
    args = build_parser().parse_args(["reconcile", "findings", "--period", "2026-10", "--status", "settled"])
    cmd_findings(args, reconciled.runtime)
    lines = capsys.readouterr().out.splitlines()
    assert lines and lines[0].startswith("settled ")
    assert all(line.startswith(("settled ", " ")) for line in lines)


def test_an_erp_outage_while_reading_is_retried_and_the_run_goes_on(reconciled: Reconciled) -> None:
    # Given the ERP answers 503 twice
    reconciled.runtime.sandbox().inject_fault("erp", "ConnectorUnavailable", times=2)
    # When the period is reconciled again
    reconcile_run(reconciled.runtime, "--rerun", "outage")
    case = next(e.name for e in reconciled.runtime.executions() if e.name.endswith("outage"))
    deadline = time.monotonic() + 120
    while not [r for r in reconciled.records(case) if r.action == "reconciliation.compared"]:
        assert time.monotonic() < deadline, "the run did not get past the outage"
        time.sleep(0.2)
    # Then the read was retried, each failed attempt on the trail with its reason, and the run compared once
    reads = [r for r in reconciled.records(case) if r.action == "reconciliation.sources_read"]
    assert [r.outcome for r in reads][-1] == "read" and len(reads) == 3
    assert all("ConnectorUnavailable" in " ".join(r.reasons) for r in reads[:2])
    assert [r.action for r in reconciled.records(case)].count("reconciliation.compared") == 1
    history = reconciled.runtime.client("stepfunctions").get_execution_history(
        executionArn=reconciled.runtime.execution(case).arn  # type: ignore[union-attr]
    )["events"]
    assert sum(1 for event in history if event["type"] == "TaskFailed") >= 2
