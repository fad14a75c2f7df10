"""The revenue recognition workflow's steps over the ports: recognize each project's revenue for the period and
propose the journal; after finance approved it, post it to the ERP and keep what was booked for the next close.

``statemachines/revenue_recognition.asl.json`` calls them through ``functions/recognize_revenue`` and
``functions/post_revenue_journal``; the methods are ``revenue.py``'s, the journal ``journal.py``'s. Each project's
position as a close booked it (revenue to date, unbilled receivable, deferred revenue, the estimate) is kept in
the ``finance_close`` table (pk ``revenue#<project>``, sk the period's end): the next close starts from the
latest position before its period, so a rejected journal books nothing and the next close catches it up.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

from backoffice.connectors.ports import (
    CloseErpPort,
    PsaPort,
    RecordNotFound,
    RevenueErpPort,
    RevenuePsaPort,
    all_pages,
)
from backoffice.finance_close.journal import propose_journal
from backoffice.finance_close.revenue import (
    EstimateAtCompletion,
    ProjectRevenue,
    ProjectRevenueInputs,
    recognize_project_revenue,
    round_money,
    summarize_revenue_run,
)
from backoffice.finance_close.revenue_policy import RevenuePolicy
from backoffice.invoicing.readiness import BillingPeriod, period_label
from backoffice.json_files import get_json, put_json
from backoffice.models import Contract, JournalEntry, Project, TimeEntry

# Time is read from the earliest start of the period's projects (their contract or their own), at most this far
# back: percent complete and time and materials count every approved hour to date.
MAX_HISTORY_DAYS = 3 * 366
_BILLING_STATUSES = frozenset({"posted", "partly_paid", "paid"})


def revenue_policy(environ: Mapping[str, str] | None = None) -> RevenuePolicy:
    """The firm's ``revenue_policy`` section of its configuration document, else the defaults."""
    from backoffice.firm_settings import firm_policy

    return firm_policy("revenue_policy", RevenuePolicy, environ)


@dataclass(frozen=True)
class RevenueFiles:
    """The run's files under ``revenue/<case id>/`` in the documents bucket."""

    s3: Any
    bucket: str
    case_id: str

    @property
    def result_key(self) -> str:
        return f"revenue/{self.case_id}/result.json"

    @property
    def journals_key(self) -> str:
        return f"revenue/{self.case_id}/journals.json"

    def put(
        self,
        results: list[ProjectRevenue],
        estimates: dict[str, Any],
        journals: list[JournalEntry],
        projects: Sequence[Project] = (),
    ) -> None:
        body = {
            "projects": [r.to_json_dict() for r in results],
            "estimates": estimates,
            "project_records": {p.id: p.to_json_dict() for p in projects},
        }
        put_json(self.s3, self.bucket, self.result_key, body)
        put_json(self.s3, self.bucket, self.journals_key, [entry.to_json_dict() for entry in journals])

    def results(self) -> tuple[list[ProjectRevenue], dict[str, Any]]:
        body = get_json(self.s3, self.bucket, self.result_key)
        return [ProjectRevenue.from_json_dict(p) for p in body["projects"]], dict(body["estimates"])

    def project_records(self) -> dict[str, Any]:
        return dict(get_json(self.s3, self.bucket, self.result_key).get("project_records") or {})

    def journals(self) -> list[JournalEntry]:
        return [JournalEntry.from_json_dict(e) for e in get_json(self.s3, self.bucket, self.journals_key)]


# The balances index: one item per project (sk), its last booked period and whether a balance was left.
BALANCES = "revenue#balances"


class PositionStore:
    """Each project's position as each posted close booked it; written once per project and period."""

    def __init__(self, table_name: str, dynamodb: Any) -> None:
        self.table = table_name
        self.db = dynamodb

    def before(self, project_id: str, day: date) -> dict[str, Any] | None:
        """The latest position booked for a period ending before ``day``, or None (the project's first close)."""
        items = self.db.query(
            TableName=self.table,
            KeyConditionExpression="pk = :pk AND sk < :day",
            ExpressionAttributeValues={":pk": {"S": f"revenue#{project_id}"}, ":day": {"S": day.isoformat()}},
            ScanIndexForward=False,
            Limit=1,
            ConsistentRead=True,
        ).get("Items", [])
        return json.loads(items[0]["body"]["S"]) if items else None

    def booked_from(self, projects: list[Project], period_end: date) -> list[str]:
        """The projects with a position booked for a period ending on or after ``period_end``."""
        found = []
        for project in projects:
            items = self.db.query(
                TableName=self.table,
                KeyConditionExpression="pk = :pk AND sk >= :day",
                ExpressionAttributeValues={
                    ":pk": {"S": f"revenue#{project.id}"},
                    ":day": {"S": period_end.isoformat()},
                },
                Limit=1,
                ConsistentRead=True,
            ).get("Items", [])
            if items:
                found.append(project.id)
        return found

    def carried(self, listed: set[str]) -> list[Project]:
        """Projects the PSA no longer lists for the period (closed before it) whose last booked position still
        holds a balance: they are recognized until it clears (late-approved time, a last invoice)."""
        carried: list[Project] = []
        token = None
        while True:
            kwargs: dict[str, Any] = {
                "TableName": self.table,
                "KeyConditionExpression": "pk = :pk",
                "ExpressionAttributeValues": {":pk": {"S": BALANCES}},
                "ConsistentRead": True,
            }
            if token:
                kwargs["ExclusiveStartKey"] = token
            answer = self.db.query(**kwargs)
            for item in answer.get("Items", []):
                body = json.loads(item["body"]["S"])
                if body.get("has_balance") and item["sk"]["S"] not in listed and body.get("project"):
                    carried.append(Project.from_json_dict(body["project"]))
            token = answer.get("LastEvaluatedKey")
            if not token:
                return carried

    def record(
        self,
        project_id: str,
        period_end: date,
        position: Mapping[str, Any],
        project: Mapping[str, Any] | None = None,
    ) -> bool:
        """Keep the position the period's posting booked; False when one is kept already (a retried or re-run
        posting: the journal it booked is the first one, so is its position). Also the project's item of the
        balances index (``carried``), unless a later period's is there already."""
        if project is not None:
            self._index_balance(project_id, period_end, position, project)
        try:
            self.db.put_item(
                TableName=self.table,
                Item={
                    "pk": {"S": f"revenue#{project_id}"},
                    "sk": {"S": period_end.isoformat()},
                    "body": {"S": json.dumps(position, sort_keys=True, default=str)},
                },
                ConditionExpression="attribute_not_exists(sk)",
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            return False
        return True

    def _index_balance(
        self, project_id: str, period_end: date, position: Mapping[str, Any], project: Mapping[str, Any]
    ) -> None:
        balance = Decimal(str(position["unbilled_receivable"])) or Decimal(str(position["deferred_revenue"]))
        try:
            self.db.put_item(
                TableName=self.table,
                Item={
                    "pk": {"S": BALANCES},
                    "sk": {"S": project_id},
                    "period_end": {"S": period_end.isoformat()},
                    "body": {
                        "S": json.dumps({"has_balance": bool(balance), "project": project}, default=str)
                    },
                },
                # A later period's item stands (periods are booked in order; a re-run of an earlier one is refused).
                ConditionExpression="attribute_not_exists(sk) OR period_end <= :end",
                ExpressionAttributeValues={":end": {"S": period_end.isoformat()}},
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise


# ------------------------------------------------------------------------------------------------------------
# 1. recognize and propose
# ------------------------------------------------------------------------------------------------------------


def recognize(
    period: Mapping[str, str],
    psa: PsaPort,
    revenue_psa: RevenuePsaPort,
    close_erp: CloseErpPort,
    positions: PositionStore,
    files: RevenueFiles,
    policy: RevenuePolicy,
) -> dict[str, Any]:
    start, end = date.fromisoformat(period["start"]), date.fromisoformat(period["end"])
    projects = all_pages(lambda token: psa.list_billable_projects(start, end, token))
    projects += positions.carried({project.id for project in projects})
    booked = positions.booked_from(projects, end)
    if booked:
        # This period, or a later one, was booked for these projects: booking it (again) would move balances a
        # later close already moved. Nothing is proposed; the figures stand as posted.
        return _refused(
            period,
            files,
            f"revenue of {booked[0]} is booked for this period or a later one "
            f"({len(booked)} project(s)): nothing is proposed again",
        )
    contracts = {project.id: _contract(psa, project) for project in projects}
    since = _history_start(projects, contracts, end)
    time_by_project: dict[str, list[TimeEntry]] = defaultdict(list)
    for entry in all_pages(lambda token: psa.list_time_entries(since, end, token)):
        if isinstance(entry, TimeEntry):
            time_by_project[entry.project_id].append(entry)
    billed = _billed_to_date(projects, contracts, close_erp, end)
    results, estimates = [], {}
    for project in projects:
        contract = contracts[project.id]
        before = positions.before(project.id, start) or {}
        estimate = revenue_psa.project_estimate(project.id)
        estimates[project.id] = estimate.to_json_dict() if estimate else None
        previous = before.get("estimate")
        results.append(
            recognize_project_revenue(
                ProjectRevenueInputs(
                    period_start=start,
                    period_end=end,
                    project=project,
                    contract=contract,
                    time_entries=time_by_project.get(project.id, []),
                    estimate=EstimateAtCompletion.model_validate(estimate.to_json_dict())
                    if estimate
                    else None,
                    previous_estimate=EstimateAtCompletion.model_validate(previous) if previous else None,
                    recognized_to_date=Decimal(str(before.get("cumulative_recognized", "0"))),
                    billed_to_date=billed.get(project.id, Decimal(0)),
                    unbilled_receivable_before=Decimal(str(before.get("unbilled_receivable", "0"))),
                    deferred_revenue_before=Decimal(str(before.get("deferred_revenue", "0"))),
                    recognition_method=contract.recognition_method if contract else None,
                    percent_complete_basis=contract.percent_complete_basis if contract else None,
                ),
                policy,
            )
        )
    billing_period = BillingPeriod(start=start, end=end)
    run = summarize_revenue_run(results, billing_period)
    journals = propose_journal(results, policy, billing_period)
    files.put(results, estimates, journals, projects)
    return {
        "period": dict(period),
        "result_key": files.result_key,
        "journals_key": files.journals_key,
        "summary": {
            "projects": len(results),
            "counts_by_method": run.counts_by_method,
            "totals": {currency: totals.to_json_dict() for currency, totals in run.totals.items()},
            "for_review": len(run.review),
            "findings": len(run.findings),
            "journals": [
                {"currency": e.currency, "lines": len(e.lines), "debits": str(e.total_debits)}
                for e in journals
            ],
        },
        "has_journal": bool(journals),
        "refused": None,
        "subject": _approval_subject(billing_period, run, journals),
    }


def _refused(period: Mapping[str, str], files: RevenueFiles, reason: str) -> dict[str, Any]:
    files.put([], {}, [])
    return {
        "period": dict(period),
        "result_key": files.result_key,
        "journals_key": files.journals_key,
        "summary": {
            "projects": 0,
            "counts_by_method": {},
            "totals": {},
            "for_review": 0,
            "findings": 0,
            "journals": [],
        },
        "has_journal": False,
        "refused": reason,
        "subject": {"title": "Revenue journal", "reasons": [reason]},
    }


# What an invoice line bills that the recognition methods count as revenue: time, a fixed fee, a milestone, a
# retainer, and adjustments (discounts, write-downs) of those. Expenses re-billed at cost are pass-through, not
# revenue the methods recognize, so they are not "billed" against it.
_REVENUE_SOURCES = frozenset({"time", "fee", "milestone", "retainer", "adjustment"})


def _billed_to_date(
    projects: list[Project], contracts: Mapping[str, Contract | None], erp: CloseErpPort, end: date
) -> dict[str, Decimal]:
    """What each project's posted invoices billed of its revenue, from its first day (never capped: a retainer's
    first invoices count as long as its revenue does), in the currency it is recognized in (the contract's)."""
    first = min(
        [end]
        + [
            d
            for p in projects
            for d in (p.expected_start_date, getattr(contracts.get(p.id), "effective_date", None))
            if d
        ]
    )
    currency = {p.id: (contracts[p.id] or p).currency for p in projects}
    billed: dict[str, Decimal] = defaultdict(Decimal)
    for invoice in all_pages(lambda token: erp.list_invoices(first, end, token)):
        project_id = invoice.project_id
        if project_id not in currency or invoice.status not in _BILLING_STATUSES:
            continue
        if invoice.currency != currency[project_id]:
            continue  # another currency is another ledger: its own journal, never summed with this one
        billed[project_id] += sum(
            (line.amount for line in invoice.lines if line.source in _REVENUE_SOURCES), Decimal(0)
        )
    return billed


def _contract(psa: PsaPort, project: Project) -> Contract | None:
    if not project.contract_id:
        return None
    try:
        return psa.get_contract(project.contract_id)
    except RecordNotFound:
        return None  # the method needing it says so (a finding, never an exception)


def _history_start(projects: list[Project], contracts: Mapping[str, Contract | None], end: date) -> date:
    starts = [end]
    for project in projects:
        contract = contracts.get(project.id)
        starts += [d for d in (project.expected_start_date, contract and contract.effective_date) if d]
    return max(min(starts), end - timedelta(days=MAX_HISTORY_DAYS))


def _approval_subject(period: BillingPeriod, run: Any, journals: list[JournalEntry]) -> dict[str, Any]:
    """What finance reads before approving: per currency what the period recognized and what the journal books,
    the projects flagged for their review. The amount routed on is the largest entry's debits."""
    largest = max(journals, key=lambda e: e.total_debits, default=None)
    reasons = []
    for currency, totals in run.totals.items():
        entry = next((e for e in journals if e.currency == currency), None)
        booked = (
            f"journal {currency} {round_money(entry.total_debits, currency):,}" if entry else "no journal"
        )
        reasons.append(
            f"{currency}: {totals.projects} project(s), recognized {round_money(totals.recognized_this_period, currency):,} "
            f"this period; unbilled receivable {round_money(totals.unbilled_receivable, currency):,}, deferred "
            f"revenue {round_money(totals.deferred_revenue, currency):,}; {booked}"
        )
    reasons += [f"review {flag.project_id}: {flag.message}" for flag in run.review[:10]]
    if run.findings:
        reasons.append(f"{len(run.findings)} finding(s) to fix in the PSA (listed with the run)")
    subject: dict[str, Any] = {
        "title": f"Revenue journal of {period_label(period.start, period.end)}",
        "reasons": reasons,
    }
    if largest is not None:
        subject.update(amount=str(largest.total_debits), currency=largest.currency)
    return subject


# ------------------------------------------------------------------------------------------------------------
# 2. post the approved journal
# ------------------------------------------------------------------------------------------------------------


def post(files: RevenueFiles, erp: RevenueErpPort, positions: PositionStore, case_id: str) -> dict[str, Any]:
    """Post each currency's entry (idempotent on its key: a retry or a re-run of the period finds the entry it
    booked), then keep each project's position for the next close."""
    results, estimates = files.results()
    records = files.project_records()
    by_currency: dict[str, list[ProjectRevenue]] = defaultdict(list)
    for result in results:
        by_currency[result.currency].append(result)
    posted, kept = [], 0
    for entry in files.journals():
        created = erp.post_journal_entry(entry, idempotency_key=entry.idempotency_key)
        posted.append(
            {
                "currency": entry.currency,
                "journal_id": created.id,
                "created": created.created,
                "debits": str(entry.total_debits),
                "lines": len(entry.lines),
            }
        )
        # The currency's positions right after its entry: a post that stops at the next currency leaves this
        # one's entry and positions in step, and its retry finds both.
        kept += _keep(by_currency.pop(entry.currency, []), estimates, records, positions, case_id)
    # Projects whose balances did not move: no entry, a position all the same.
    for rest in by_currency.values():
        kept += _keep(rest, estimates, records, positions, case_id)
    return {"posted": posted, "positions_kept": kept, "projects": len(results)}


def _keep(
    results: list[ProjectRevenue],
    estimates: Mapping[str, Any],
    records: Mapping[str, Any],
    positions: PositionStore,
    case_id: str,
) -> int:
    return sum(
        positions.record(
            result.project_id,
            result.period_end,
            {
                "cumulative_recognized": str(result.cumulative_recognized),
                "unbilled_receivable": str(result.unbilled_receivable),
                "deferred_revenue": str(result.deferred_revenue),
                "estimate": estimates.get(result.project_id),
                "case_id": case_id,
            },
            project=records.get(result.project_id),
        )
        for result in results
    )
