"""The reconciliation workflow's steps over the ports: read both books into S3, compare them, settle what a
reviewer decided, sum the run up.

``statemachines/reconciliation.asl.json`` calls them through thin handlers (``functions/read_reconciliation_sources``,
``compare_psa_and_erp``, ``settle_reconciliation_finding``, ``summarize_reconciliation``); the rules are
``reconciliation.py``'s, the findings' life across runs is ``findings.py``'s. The records read (with tax ids, which
the customer rule compares) stay in the documents bucket under ``reconciliation/<case id>/``, encrypted with the
stack's key; the state carries counts, keys and what an approver is shown.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from backoffice.connectors.ports import (
    CloseCrmPort,
    CloseErpPort,
    ClosePsaPort,
    ErpPort,
    PsaPort,
    RecordNotFound,
    all_pages,
)
from backoffice.finance_close.findings import FindingRecord, FindingStore, RunChanges
from backoffice.finance_close.reconciliation import (
    ReconciliationFinding,
    ReconciliationInputs,
    ReconciliationResult,
    aged_wip_lines,
    reconcile,
)
from backoffice.finance_close.reconciliation_policy import RULES, ReconciliationPolicy
from backoffice.json_files import get_json, put_json
from backoffice.models import Client, ExpenseEntry, FinancePeriod, TimeEntry

# How far back lines are read: work approved and unbilled ages past 90 days (the last WIP bucket), and a year of
# lines keeps what a firm would still bill in view.
LINES_LOOKBACK_DAYS = 400
# The inline Map of reviews asks every review at once (people answer in any order), and an inline Map runs at most
# 40 iterations at once; its items also stay in the state (256 KiB). So at most this many findings go to review in
# one run, in the order of the rules; the rest wait, open, for the next run.
MAX_REVIEWS_PER_RUN = 40
# What the reviewer of a finding chooses from (``approvals.resolutions``); the findings store maps each to what the
# finding becomes. Only aged work in progress (RC6) can be written off (its lines are taken out of billing in the
# PSA); any other difference is accepted as it stands, with the reason, and nothing in the systems changes.
_COMMON = (
    {"value": "acknowledge", "label": "Acknowledge: the difference is understood and will resolve itself"},
    {"value": "fix_in_psa", "label": "Fix in the PSA"},
    {"value": "fix_in_erp", "label": "Fix in the ERP"},
)
WRITE_OFF = {"value": "write_off", "label": "Write off the unbilled work", "reason_required": True}
ACCEPT = {
    "value": "accept_difference",
    "label": "Accept the difference as it stands",
    "reason_required": True,
}


def resolutions_for(rule_id: str) -> list[dict[str, Any]]:
    return [*_COMMON, WRITE_OFF if rule_id == "RC6" else ACCEPT]


def reconciliation_policy(environ: Mapping[str, str] | None = None) -> ReconciliationPolicy:
    """The firm's ``reconciliation_policy`` section of its configuration document, else the defaults."""
    from backoffice.firm_settings import firm_policy

    return firm_policy("reconciliation_policy", ReconciliationPolicy, environ)


@dataclass(frozen=True)
class ReconciliationFiles:
    """The run's files under ``reconciliation/<case id>/`` in the documents bucket."""

    s3: Any
    bucket: str
    case_id: str

    @property
    def sources_key(self) -> str:
        return f"reconciliation/{self.case_id}/sources.json"

    @property
    def result_key(self) -> str:
        return f"reconciliation/{self.case_id}/result.json"

    def put_sources(self, inputs: ReconciliationInputs) -> str:
        put_json(self.s3, self.bucket, self.sources_key, inputs.to_json_dict(reveal_secrets=True))
        return self.sources_key

    def sources(self) -> ReconciliationInputs:
        return ReconciliationInputs.from_json_dict(get_json(self.s3, self.bucket, self.sources_key))

    def put_result(self, result: ReconciliationResult, closed: Iterable[str] = ()) -> str:
        """The run's result, with the keys of the earlier findings it closed (``closed``)."""
        put_json(self.s3, self.bucket, self.result_key, {**result.to_json_dict(), "closed": list(closed)})
        return self.result_key

    def result(self) -> ReconciliationResult:
        body = get_json(self.s3, self.bucket, self.result_key)
        return ReconciliationResult.from_json_dict({k: v for k, v in body.items() if k != "closed"})

    def closed(self) -> list[str]:
        return list(get_json(self.s3, self.bucket, self.result_key).get("closed") or [])


def period_of(request: FinancePeriod, today: date) -> dict[str, str]:
    """The period as the state carries it; ``as_of`` (the day ages are counted to) is the request's or today."""
    as_of = request.as_of or today
    return {
        "start": request.period_start.isoformat(),
        "end": request.period_end.isoformat(),
        "as_of": as_of.isoformat(),
    }


def read_now(period: Mapping[str, str]) -> dict[str, str]:
    """The period with the time the systems are read: the findings store orders overlapping runs by it."""
    return {**period, "read_at": datetime.now(UTC).isoformat()}


# ------------------------------------------------------------------------------------------------------------
# 1. read both books
# ------------------------------------------------------------------------------------------------------------


def read_sources(
    period: Mapping[str, str],
    crm: CloseCrmPort | None,
    psa: PsaPort,
    close_psa: ClosePsaPort,
    erp: ErpPort,
    close_erp: CloseErpPort,
    files: ReconciliationFiles,
) -> dict[str, Any]:
    """Every record the rules compare, read page by page from the CRM, PSA and ERP into one file. A system that
    fails mid-read raises its connector error; the state machine retries the step, which reads again from the
    start (reads change nothing)."""
    start, end, as_of = (date.fromisoformat(period[k]) for k in ("start", "end", "as_of"))
    lines_from = end - timedelta(days=LINES_LOOKBACK_DAYS)
    time_read = all_pages(lambda token: psa.list_time_entries(lines_from, end, token))
    expenses_read = all_pages(lambda token: psa.list_expenses(lines_from, end, token))
    time = [entry for entry in time_read if isinstance(entry, TimeEntry)]
    expenses = [entry for entry in expenses_read if isinstance(entry, ExpenseEntry)]
    psa_projects = all_pages(lambda token: psa.list_billable_projects(start, end, token))
    erp_projects = all_pages(close_erp.list_projects)
    erp_invoices = all_pages(lambda token: close_erp.list_invoices(start, max(as_of, end), token))
    erp_customers = all_pages(erp.list_customers)
    # No CRM adapter that lists accounts: the customer rules compare the PSA and the ERP alone (an empty list is
    # "not read" to them), and the counts say so.
    crm_accounts = all_pages(crm.list_accounts) if crm is not None else []
    psa_accounts: list[Client] = []
    for client_id in sorted({project.client_id for project in psa_projects}):
        try:
            psa_accounts.append(close_psa.get_account(client_id))
        except RecordNotFound:
            continue  # the PSA has no account for it: RC8 says so
    psa_ids = sorted({project.id for project in psa_projects})
    inputs = ReconciliationInputs(
        period_start=start,
        period_end=end,
        as_of=as_of,
        psa_time=time,
        psa_expenses=expenses,
        erp_invoices=erp_invoices,
        psa_projects=psa_projects,
        erp_projects=erp_projects,
        crm_accounts=crm_accounts,
        psa_accounts=psa_accounts,
        erp_customers=erp_customers,
        psa_rate_cards={project_id: psa.project_rate_card(project_id) for project_id in psa_ids},
        erp_rate_cards={
            project_id: close_erp.project_rate_card(project_id)
            for project_id in sorted({*psa_ids, *(p.id for p in erp_projects)})
        },
    )
    files.put_sources(inputs)
    return {
        "period": dict(period),
        "sources_key": files.sources_key,
        "counts": {
            "time_lines": len(time),
            "expense_lines": len(expenses),
            "unreadable_lines": len(time_read) - len(time) + len(expenses_read) - len(expenses),
            "psa_projects": len(psa_projects),
            "erp_projects": len(erp_projects),
            "erp_invoices": len(erp_invoices),
            "crm_accounts": len(crm_accounts),
            "crm_read": crm is not None,
            "psa_accounts": len(psa_accounts),
            "erp_customers": len(erp_customers),
        },
    }


# ------------------------------------------------------------------------------------------------------------
# 2. compare: findings, their life across runs, the ones a person decides
# ------------------------------------------------------------------------------------------------------------


def compare(
    case_id: str,
    period: Mapping[str, str],
    files: ReconciliationFiles,
    store: FindingStore,
    policy: ReconciliationPolicy,
) -> dict[str, Any]:
    start, end = date.fromisoformat(period["start"]), date.fromisoformat(period["end"])
    result = reconcile(files.sources(), policy)
    changes = store.record_run(
        start,
        end,
        case_id,
        [f.to_json_dict() for f in result.findings],
        rules_run=result.rules_run,
        read_at=period.get("read_at"),
    )
    files.put_result(result, closed=changes.closed)
    stored = {record.key: record for record in store.findings(start, end)}
    by_key = {finding.key: finding for finding in result.findings}
    reviews: list[dict[str, Any]] = []
    waiting = 0
    for key in result.to_review:
        record = stored.get(key)
        mine = record is not None and record.status == "in_review" and record.review_case == case_id
        if record is None or (record.status != "open" and not mine):
            continue  # in review by another run, awaiting its fix, or settled: not asked again
        if len(reviews) >= MAX_REVIEWS_PER_RUN:
            waiting += 1
            continue
        # A retried step finds its own claims: they are asked about, not left in review forever.
        if mine or store.claim_for_review(start, end, key, case_id):
            reviews.append(review_item(len(reviews) + 1, by_key[key]))
    return {
        "summary": {
            **result.summary().to_json_dict(),
            "changes": changes.counts(),  # the closed findings' keys are in the result file, not the state
            "sent_for_review": len(reviews),
            "waiting_for_review": waiting,
            "status_counts": status_counts(store.findings(start, end)),
        },
        "to_review": reviews,
        "result_key": files.result_key,
    }


def review_item(number: int, finding: ReconciliationFinding) -> dict[str, Any]:
    """One item of the review Map: the finding's key and what its owner is shown (no tax id: the domain never
    puts one in a finding)."""
    reasons = [finding.description]
    for system, value in (("CRM", finding.crm_value), ("PSA", finding.psa_value), ("ERP", finding.erp_value)):
        if value is not None:
            reasons.append(f"{system}: {value}")
    subject: dict[str, Any] = {
        "title": f"{finding.rule_id} {finding.subject.kind.replace('_', ' ')} {finding.subject.id}",
        "rule": f"{finding.rule_id}: {RULES[finding.rule_id]}",
        "owner": finding.suggested_owner,
        "reasons": reasons,
        "resolutions": resolutions_for(finding.rule_id),
    }
    if finding.amount_at_stake is not None:
        subject.update(amount=str(finding.amount_at_stake), currency=finding.currency)
    if finding.project_id:
        subject["project"] = finding.project_id
    return {"review_id": f"F{number:03d}", "key": finding.key, "subject": subject}


def status_counts(records: Iterable[FindingRecord]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for record in records:
        counts[record.status] = counts.get(record.status, 0) + 1
    return dict(sorted(counts.items()))


# ------------------------------------------------------------------------------------------------------------
# 3. a reviewer's decision
# ------------------------------------------------------------------------------------------------------------


def settle(
    case_id: str,
    period: Mapping[str, str],
    key: str,
    decision: Mapping[str, Any],
    store: FindingStore,
    files: ReconciliationFiles,
    psa: PsaPort,
    policy: ReconciliationPolicy,
) -> dict[str, Any]:
    """Record the review's outcome on the finding; a write-off of aged work in progress (RC6) also takes those
    lines out of billing in the PSA, with the reviewer's reason (idempotent: a retried step writes off nothing
    twice)."""
    start, end = date.fromisoformat(period["start"]), date.fromisoformat(period["end"])
    outcome = str(decision.get("outcome") or "none")
    resolution = decision.get("resolution") if outcome == "approved" else None
    comments = [str(c) for c in decision.get("comments") or []]
    written_off = {"time_entries": 0, "expenses": 0}
    held = store.get(start, end, key)
    if (
        resolution == "write_off"
        and held is not None
        and held.rule_id == "RC6"
        and held.status == "in_review"
        and held.review_case == case_id
    ):
        # The lines first (idempotent: a line written off or billed meanwhile is left as it is), the finding
        # after: a PSA that fails leaves the finding in review, to be retried, never settled with nothing done.
        finding = held.finding
        time_ids, expense_ids = aged_wip_lines(
            files.sources(), policy, finding.get("project_id"), str(finding.get("currency"))
        )
        if time_ids or expense_ids:
            psa.return_lines(
                time_entry_ids=time_ids,
                expense_ids=expense_ids,
                action="write_off",
                reason="; ".join(comments) or "written off at reconciliation",
            )
        written_off = {"time_entries": len(time_ids), "expenses": len(expense_ids)}
    record, applied = store.settle(
        start,
        end,
        key,
        case_id,
        outcome="approved" if outcome == "approved" else "rejected" if outcome == "rejected" else "none",
        resolution=str(resolution) if resolution else None,
        decided_by=[str(d) for d in decision.get("decided_by") or []],
        comments=comments,
    )
    return {
        "key": key,
        "status": record.status if record else "unknown",
        "resolution": record.resolution if record else None,
        "applied": applied,
        "written_off": written_off,
    }


# ------------------------------------------------------------------------------------------------------------
# 4. the run's summary
# ------------------------------------------------------------------------------------------------------------


def summarize(
    case_id: str,
    period: Mapping[str, str],
    compared: Mapping[str, Any],
    reviews: Iterable[Mapping[str, Any]],
    store: FindingStore,
    why: str = "the run ended without a decision on it",
) -> dict[str, Any]:
    """What the run found and what its reviews decided, for the audit trail, the console and the printout. A
    finding the run still holds in review (its review failed, or the run did) is opened again for the next run."""
    start, end = date.fromisoformat(period["start"]), date.fromisoformat(period["end"])
    released = store.release_run(start, end, case_id, why)
    decided: dict[str, int] = {}
    for review in reviews:
        label = str(review.get("resolution") or review.get("status") or "unknown")
        decided[label] = decided.get(label, 0) + 1
    return {
        **compared,
        "findings": int(compared.get("findings", 0)),
        "closed": int((compared.get("changes") or {}).get("closed", 0)),
        "reviews": dict(sorted(decided.items())),
        "released": len(released),
    }


def changes_reasons(changes: RunChanges | Mapping[str, int]) -> str:
    counts = changes.counts() if isinstance(changes, RunChanges) else changes
    return (
        f"{counts.get('new', 0)} new, {counts.get('still_open', 0)} still open, "
        f"{counts.get('reopened', 0)} reopened, {counts.get('closed', 0)} closed since the last run"
    )
