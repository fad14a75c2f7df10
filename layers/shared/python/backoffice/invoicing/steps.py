"""The invoicing workflow's steps as plain functions over ports: what each Lambda handler calls.

A billing run is one case per period. Its working data is kept in S3 under ``billing/<case id>/``, never in
the execution's state (a project's lines can outgrow the 256 KB Step Functions allows): ``period.json`` (the
period, its projects, the workers), ``lines.json`` (every line, a list per field, for the scorer; the fields
it groups by coded), ``scores.json`` (the scorer's output), ``projects.json`` (the list the Map reads its
items from) and, per project, ``projects/<id>/`` with its ``lines.json``, ``scores.json``, ``review.json``
and ``outcome.json``: a step of the Map reads its own project's data, not the period's. The Map writes each
project's result under ``results/`` (its ResultWriter) and the run's summary reads them from there. The
state carries ids, statuses, counts and the short reasons an operator reads in the console, never a list as
long as the period's projects.

    open_period -> score_period -> per project (a Distributed Map: one child execution each): check_project ->
    [exception review] -> settle_review -> draft -> [invoice approval] -> post -> Invoice Posted / Blocked
    -> read_project_results + summarize
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal, Protocol

from backoffice.anomaly import (
    CHECKS,
    AnomalyHistory,
    AnomalyPolicy,
    benford_coverage_of,
    coded_lists,
    expense_columns_of,
    expense_json_lists,
    flagged_in_columns,
    time_columns_of,
    time_json_lists,
)
from backoffice.anomaly.history import worker_roles
from backoffice.anomaly.labels import ReviewLabel, ReviewLabels, decision_counts
from backoffice.assist.models import AnomalyContext, Explanation
from backoffice.connectors.ports import ErpPort, HrisPort, PsaPort, UnreadableLine, all_pages
from backoffice.invoicing.drafting import NothingToInvoice, draft_invoice, invoice_key
from backoffice.invoicing.policy import BillingPolicy
from backoffice.invoicing.readiness import (
    BillingPeriod,
    check_billing_readiness,
    expected_rate,
    money,
    period_label,
)
from backoffice.invoicing.receivables import ReceivablesLedger, base_amount, register_receivable
from backoffice.invoicing.review import (
    ExcludedLine,
    LineScore,
    ProjectReview,
    ReviewOutcome,
    apply_review,
    explain_lines,
    held_back_in,
    review_project,
)
from backoffice.json_files import get_json, put_json
from backoffice.models import BillingPeriodClosed, ExpenseEntry, Invoice, Project, TimeEntry, Worker

HISTORY_DAYS = 90  # the worker's own history and the peer groups of TE11 look this far back
BLOCKED_LISTED = 50  # blocked projects the run's summary lists by name
PROJECT_LIST = "projects.json"  # the Map's items: [{"project_id": ...}, ...]
RESULTS_PREFIX = "results"  # where the Map's ResultWriter puts the projects' results (a folder per map run)


class ProjectNotInRun(Exception):
    """The project is not part of this billing run's period file."""


# ------------------------------------------------------------------------------------------------------------
# Working data in S3
# ------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BillingFiles:
    """JSON files of one billing run under ``billing/<case id>/`` in the documents bucket."""

    s3: Any
    bucket: str
    case_id: str

    def key(self, name: str) -> str:
        return f"billing/{self.case_id}/{name}"

    def put(self, name: str, body: Mapping[str, Any] | Sequence[Any]) -> str:
        """An object, or an array (what a Distributed Map's ItemReader reads with ``InputType: JSON``)."""
        key = self.key(name)
        put_json(self.s3, self.bucket, key, body, default=str)
        return key

    def get(self, name: str) -> dict[str, Any]:
        loaded: dict[str, Any] = get_json(self.s3, self.bucket, self.key(name))
        return loaded

    def exists(self, name: str) -> bool:
        found = self.s3.list_objects_v2(Bucket=self.bucket, Prefix=self.key(name), MaxKeys=1)
        return bool(found.get("KeyCount"))


SETTLED_IN_WEEK = (
    "settled.json"  # the lines the weekly review approved as they are (line id -> its rules then)
)


class WeeklyDecisions(Protocol):
    """What the weekly time and expense review decided (``time_expense.decisions.DecisionStore``): the billing run
    asks which of its lines were approved in the week exactly as they are now, and does not review those again."""

    def settled_in_week(self, lines: Sequence[TimeEntry | ExpenseEntry]) -> Mapping[str, Sequence[str]]:
        """Of ``lines``, those approved in the week and unchanged since: line id -> the scorer's rules that had
        flagged it then ([] when it was clean)."""
        ...


def _dump(model: Any) -> dict[str, Any]:
    dumped: dict[str, Any] = model.to_json_dict(reveal_secrets=True)
    return dumped


# ------------------------------------------------------------------------------------------------------------
# 1. open the period: every project and line, once
# ------------------------------------------------------------------------------------------------------------


def open_period(
    request: BillingPeriodClosed,
    psa: PsaPort,
    hris: HrisPort,
    files: BillingFiles,
    policy: BillingPolicy | None = None,
    decisions: WeeklyDecisions | None = None,
) -> dict[str, Any]:
    """Reads the period's projects, lines and workers from the PSA and HRIS into the run's period file.

    With ``decisions`` (the weekly review's), the lines approved in the week exactly as they are now go to
    ``settled.json``: they bill, but the scorer's findings on them are not sent to a person again.

    Lines that cannot be read, and lines of a project the PSA does not list, are reported and never billed;
    they do not stop the run. The projects to bill go to ``projects.json``, which the Map reads its items from:
    returned in the state, a firm's 10,000 project ids would pass the 256 KiB a state may hold. The billing
    policy's concurrency and failure tolerance go with it, for the Map's ``...Path`` fields."""
    policy = policy or BillingPolicy()
    start, end = request.period_start, request.period_end
    projects = all_pages(lambda token: psa.list_billable_projects(start, end, token))
    if request.project_ids is not None:
        wanted = set(request.project_ids)
        projects = [project for project in projects if project.id in wanted]
    known = {project.id for project in projects}
    time_lines = all_pages(lambda token: psa.list_time_entries(start, end, token))
    expense_lines = all_pages(lambda token: psa.list_expenses(start, end, token))
    workers = all_pages(hris.list_workers)

    by_project: dict[str, dict[str, list[dict[str, Any]]]] = {
        project.id: {"time": [], "expenses": [], "unreadable": []} for project in projects
    }
    unassigned: list[dict[str, Any]] = []
    billed_lines: list[TimeEntry | ExpenseEntry] = []
    for line in [*time_lines, *expense_lines]:
        if isinstance(line, UnreadableLine):
            entry = {
                "line_id": line.id,
                "rule": "INPUT",
                "reason": f"the {line.kind} line cannot be read: " + "; ".join(line.errors),
            }
            if line.project_id in known:
                by_project[line.project_id]["unreadable"].append(entry)
            else:
                unassigned.append({**entry, "project_id": line.project_id})
            continue
        if line.project_id is None:
            continue  # an expense of no project is the firm's own, never billed
        if line.project_id not in known:
            if request.project_ids is None:
                unassigned.append(
                    {
                        "line_id": line.id,
                        "project_id": line.project_id,
                        "rule": "INPUT",
                        "reason": f"line {line.id} is booked to project {line.project_id}, which the PSA does not "
                        "list as billable in this period: correct the project on the line",
                    }
                )
            continue
        kind = "time" if isinstance(line, TimeEntry) else "expenses"
        by_project[line.project_id][kind].append(_dump(line))
        billed_lines.append(line)
    settled = {
        key: list(rules)
        for key, rules in (decisions.settled_in_week(billed_lines) if decisions else {}).items()
    }
    files.put(SETTLED_IN_WEEK, settled)

    # Each project's lines in a file of its own: a step of the Map reads its project's, not the period's.
    for project_id, lines in by_project.items():
        files.put(f"projects/{project_id}/lines.json", lines)
    files.put(
        "period.json",
        {
            "period": {"start": start.isoformat(), "end": end.isoformat()},
            "projects": {project.id: _dump(project) for project in projects},
            "unassigned": unassigned,
            "workers": [_dump(worker) for worker in workers],
        },
    )
    # The same lines once more, a list per field, for the scorer: read without a dict per line. The fields
    # it groups by are written coded (``coded_lists``): made once here, not per line when it reads them.
    files.put(
        "lines.json",
        scorer_lines(
            [line for lines in by_project.values() for line in lines["time"]],
            [line for lines in by_project.values() for line in lines["expenses"]],
        ),
    )
    project_list = files.put(PROJECT_LIST, [{"project_id": project.id} for project in projects])
    return {
        "period": {"start": start.isoformat(), "end": end.isoformat()},
        "projects": len(projects),
        "project_list": project_list,
        "results_prefix": files.key(RESULTS_PREFIX),
        "map_run": {
            "max_concurrency": policy.max_concurrent_projects,
            "tolerated_failure_percentage": float(policy.tolerated_failure_percentage),
        },
        "time_lines": sum(len(v["time"]) for v in by_project.values()),
        "expense_lines": sum(len(v["expenses"]) for v in by_project.values()),
        "unassigned_lines": len(unassigned),
        "exceptions": [f"{item['rule']} {item['reason']}" for item in unassigned[:20]],
        # Lines the weekly review approved as they are (not reviewed again), and of them those it had flagged:
        # exceptions settled before the close.
        "settled_in_week": {"lines": len(settled), "flagged": sum(1 for rules in settled.values() if rules)},
    }


@dataclass(frozen=True)
class PeriodFile:
    """The run's period file (the period, its projects and the workers) and, read on demand, a project's
    lines from their own file."""

    period: BillingPeriod
    projects: dict[str, Project]
    workers: list[Worker]
    files: BillingFiles
    _lines_read: dict[str, dict[str, list[dict[str, Any]]]] = field(default_factory=dict)

    def time(self, project_id: str) -> list[TimeEntry]:
        return [TimeEntry.from_json_dict(body) for body in self._lines(project_id)["time"]]

    def expenses(self, project_id: str) -> list[ExpenseEntry]:
        return [ExpenseEntry.from_json_dict(body) for body in self._lines(project_id)["expenses"]]

    def unreadable(self, project_id: str) -> list[ExcludedLine]:
        return [ExcludedLine.from_json_dict(body) for body in self._lines(project_id)["unreadable"]]

    def _lines(self, project_id: str) -> dict[str, list[dict[str, Any]]]:
        if project_id not in self.projects:
            raise ProjectNotInRun(f"project {project_id} is not in this billing run")
        if project_id not in self._lines_read:
            self._lines_read[project_id] = self.files.get(f"projects/{project_id}/lines.json")
        return self._lines_read[project_id]


def load_period(files: BillingFiles) -> PeriodFile:
    raw = files.get("period.json")
    return PeriodFile(
        period=BillingPeriod(
            start=date.fromisoformat(raw["period"]["start"]), end=date.fromisoformat(raw["period"]["end"])
        ),
        projects={pid: Project.from_json_dict(body) for pid, body in raw["projects"].items()},
        workers=[Worker.from_json_dict(body) for body in raw["workers"]],
        files=files,
    )


# ------------------------------------------------------------------------------------------------------------
# 2. score every line of the period (the anomaly scorer; it recommends, people decide)
# ------------------------------------------------------------------------------------------------------------


def read_history(
    psa: PsaPort, start: date, policy: AnomalyPolicy, workers: Sequence[Worker]
) -> tuple[AnomalyHistory, int]:
    """The history lines are scored against: every time entry and expense of the ``HISTORY_DAYS`` before
    ``start`` (the workers' own and their peers'), and how many lines that was. The billing run and the weekly
    review (``backoffice.time_expense``) read it alike, so a line scores the same in the week and at month end."""
    before = start - timedelta(days=1)
    first = start - timedelta(days=HISTORY_DAYS)
    past_time = [
        line
        for line in all_pages(lambda token: psa.list_time_entries(first, before, token))
        if isinstance(line, TimeEntry)
    ]
    past_expenses = [
        line
        for line in all_pages(lambda token: psa.list_expenses(first, before, token))
        if isinstance(line, ExpenseEntry)
    ]
    history = AnomalyHistory.from_lines(past_time, past_expenses, policy=policy, workers=workers)
    return history, len(past_time) + len(past_expenses)


def scorer_lines(
    time_lines: Sequence[Mapping[str, Any]], expense_lines: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """Lines in their JSON form as the scorer reads them: a list per field, the fields it groups by coded (what
    the billing run's ``lines.json`` holds)."""
    return {
        "time": coded_lists(time_json_lists(time_lines)),
        "expenses": coded_lists(expense_json_lists(expense_lines)),
    }


@dataclass(frozen=True)
class ScoredLines:
    """What the scorer found in a set of lines: each flagged line's score, reasons and checks by id."""

    flagged: dict[str, dict[str, Any]]
    lines_scored: int
    lines_to_review: int
    by_rule: dict[str, int]
    benford: str


def score_line_lists(
    lines: Mapping[str, Any], history: AnomalyHistory, policy: AnomalyPolicy, workers: Sequence[Worker]
) -> ScoredLines:
    """The one scorer over lines as ``scorer_lines`` gives them, against ``read_history``'s history: the billing
    run scores a period's lines with it, the weekly review a worker's week or an expense report."""
    # A list per field (validated when read from the PSA): no model or dict per line.
    times = time_columns_of(lines["time"])
    expenses = expense_columns_of(lines["expenses"], policy.currency, policy.fx_rates)
    # The flagged lines only: every other line scores 0 with no reason, and none is reported.
    scored = flagged_in_columns(
        times, expenses, history, policy, worker_roles=worker_roles(workers)
    ).flagged()
    lines_scored = len(times.ids) + len(expenses.ids)
    benford = benford_coverage_of(expenses, history, policy)
    del times, expenses
    flagged = {
        line.line_id: {
            "score": line.score,
            "review": line.review,
            "reasons": [reason.text for reason in line.reasons],
            "checks": sorted(line.checks),
            "features": dict(line.features),
        }
        for line in scored
        if line.reasons
    }
    by_rule = Counter(reason.rule for line in scored for reason in line.reasons)
    return ScoredLines(
        flagged=flagged,
        lines_scored=lines_scored,
        lines_to_review=sum(line.review for line in scored),
        by_rule=dict(sorted(by_rule.items())),
        benford=benford,
    )


def score_period(files: BillingFiles, psa: PsaPort, policy: AnomalyPolicy) -> dict[str, Any]:
    """Scores every line of the period against the workers' own and their peers' history (the 90 days before)."""
    period = load_period(files)
    history, history_lines = read_history(psa, period.period.start, policy, period.workers)
    lines = files.get("lines.json")
    # Every line is scored (a new line is compared with the week's approved ones too), but a line the weekly review
    # approved as it is now is not sent to a person again: only new or changed lines' findings go on.
    found = score_line_lists(lines, history, policy, period.workers)
    settled = files.get(SETTLED_IN_WEEK)  # open_period writes it, empty when the week settled nothing
    # A finding the week's reviewer saw (its rule among those stored with the approval) is not asked again; a finding
    # the week could not see (a duplicate of a line in another report or week, hours over a day's limit with a line
    # added since) is new and goes to a person like any other.
    flagged = {
        line_id: score
        for line_id, score in found.flagged.items()
        if line_id not in settled or not _rules_of(score) <= set(settled[line_id])
    }
    files.put("scores.json", {"policy": policy.to_json_dict(), "scores": flagged})
    # And each project's flagged lines apart, for its step of the Map (lines of every kind, time first).
    project_of = dict(
        zip(
            [*lines["time"]["id"], *lines["expenses"]["id"]],
            [*lines["time"]["project_id"], *lines["expenses"]["project_id"]],
            strict=True,
        )
    )
    by_project: dict[str, dict[str, Any]] = {project_id: {} for project_id in period.projects}
    for line_id, score in flagged.items():
        by_project[project_of[line_id]][line_id] = score
    for project_id, project_scores in by_project.items():
        files.put(f"projects/{project_id}/scores.json", {"scores": project_scores})
    model = policy.model()
    return {
        "lines_scored": found.lines_scored,
        "lines_flagged": len(flagged),
        "lines_to_review": sum(1 for score in flagged.values() if score["review"]),
        "settled_in_week": len(settled),
        "flagged_again_but_settled": len(found.flagged) - len(flagged),
        "benford": found.benford,
        "signal_model": {
            "trained_on": model.trained_on,
            "trained_at": model.trained_at.isoformat(),
            "review_threshold": model.threshold_for(policy.target_precision),
            "target_precision": policy.target_precision,
        },
        "history_lines": history_lines,
        "by_rule": found.by_rule,
    }


def _rules_of(score: Mapping[str, Any]) -> set[str]:
    """The rules of a flagged line's reasons (each reason starts with its rule: ``TE1 duplicate of ...``)."""
    return {str(reason).split(" ", 1)[0] for reason in score.get("reasons") or []}


def load_scores(files: BillingFiles, project_id: str) -> dict[str, LineScore]:
    """The scores of the project's flagged lines (a line absent from them was not flagged)."""
    raw = files.get(f"projects/{project_id}/scores.json")["scores"]
    return {line_id: LineScore.from_json_dict(body) for line_id, body in raw.items()}


# ------------------------------------------------------------------------------------------------------------
# 3. per project: readiness, scores, what a person must decide
# ------------------------------------------------------------------------------------------------------------


def check_project(
    project_id: str,
    files: BillingFiles,
    psa: PsaPort,
    erp: ErpPort,
    policy: BillingPolicy,
    explain: Callable[[AnomalyContext], Explanation] | None = None,
) -> dict[str, Any]:
    """The project's readiness and review; ``explain``: the assistant's plain-words explanation of the top flagged
    lines' reasons for the exception reviewer (None: none)."""
    period = load_period(files)
    project = period.projects.get(project_id)
    if project is None:
        raise ProjectNotInRun(f"project {project_id} is not in this billing run")
    existing = erp.find_invoice(project_id, period.period.start, period.period.end)
    if existing is not None and existing.status != "draft":
        return {
            "status": "already_invoiced",
            "project_id": project_id,
            "invoice_id": existing.id,
            "invoice_number": existing.invoice_number,
            "amount": str(existing.grand_total),
            "currency": existing.currency,
            "reasons": [
                f"invoice {existing.invoice_number or existing.id} for this project and period is already "
                f"{existing.status}: nothing is billed twice"
            ],
            "exceptions_by_rule": {},
        }
    client = erp.get_customer(project.client_id)
    contract = psa.get_contract(project.contract_id) if project.contract_id else None
    time_entries, expenses = period.time(project_id), period.expenses(project_id)
    report = check_billing_readiness(
        project,
        client,
        contract,
        time_entries,
        expenses,
        psa.project_rate_card(project_id),
        project.total_billed_amount,
        period.period,
        policy,
        workers=period.workers,
        purchase_order=erp.purchase_order(client.id, project_id) if client.requires_po else None,
        tax_template=erp.tax_template(client.id),
        client_outstanding=erp.customer_balance(client.id),
    )
    review = review_project(
        report,
        load_scores(files, project_id),
        [*time_entries, *expenses],
        policy,
        extra_exceptions=period.unreadable(project_id),
        retainer_fee=contract.monthly_retainer_fee
        if contract is not None and contract.billing_model == "retainer"
        else None,
    )
    files.put(f"projects/{project_id}/review.json", _dump(review))
    return {
        "status": review.status,
        "project_id": project_id,
        "client": client.customer_name,
        "currency": review.currency,
        "reasons": review.reasons[:10],
        "warnings": review.warnings[:10],
        "lines_to_review": len(review.review_lines),
        "lines_excluded": len(review.excluded),
        "exceptions_by_rule": review.exceptions_by_rule,
        "subject": review.approval_subject(
            client.customer_name,
            project.service_line,
            explain_lines(review, explain) if explain is not None and review.review_lines else (),
        ),
    }


def load_review(files: BillingFiles, project_id: str) -> ProjectReview:
    return ProjectReview.from_json_dict(files.get(f"projects/{project_id}/review.json"))


# ------------------------------------------------------------------------------------------------------------
# 4. the reviewer's decision: what bills, what goes back
# ------------------------------------------------------------------------------------------------------------


def settle_review(
    project_id: str,
    decision: Literal["approved", "rejected", "none"],
    comment: str | None,
    files: BillingFiles,
    psa: PsaPort,
    policy: BillingPolicy,
    labels: ReviewLabels | None = None,
    to_base: Callable[[Decimal, str], Decimal] | None = None,
) -> dict[str, Any]:
    """Applies the reviewer's decision: approved lines bill, the rest go back or are written off in the PSA.

    ``to_base`` turns a written-off line's amount into the firm's reporting currency (the delivery policy's rates;
    ``ValueError`` when it has none for the currency); without it amounts are taken as they are."""
    review = load_review(files, project_id)
    held_back = held_back_in(comment, review) if decision == "approved" else set()
    outcome = apply_review(review, decision, held_back=held_back)
    verdict = "kept back when the rest was approved" if held_back else "rejected"
    reason = f"{verdict} in the billing exception review: {comment or 'no comment'}"
    returned: dict[str, list[str]] = {"send_back": [], "write_off": []}
    if outcome.returned_time_entry_ids:
        returned[policy.rejected_time_action].extend(outcome.returned_time_entry_ids)
    if outcome.returned_expense_ids:
        returned[policy.rejected_expense_action].extend(outcome.returned_expense_ids)
    for action in ("send_back", "write_off"):
        ids = set(returned[action])
        if ids:
            psa.return_lines(
                time_entry_ids=[i for i in outcome.returned_time_entry_ids if i in ids],
                expense_ids=[i for i in outcome.returned_expense_ids if i in ids],
                action=action,
                reason=reason,
            )
    files.put(f"projects/{project_id}/outcome.json", _dump(outcome))
    period = load_period(files)
    period_start = period.period.start
    decided = review_labels(files, project_id, period_start, review, returned) if decision != "none" else []
    if labels is not None:
        labels.put(decided)
    written_off = (
        written_off_lines(
            review, load_scores(files, project_id), period, project_id, returned["write_off"], to_base
        )
        if returned["write_off"]
        else []
    )
    return {
        "decision": decision,
        "lines_billed_after_review": len(outcome.billable_time_entry_ids) + len(outcome.billable_expense_ids),
        "sent_back": returned["send_back"],
        "written_off": returned["write_off"],
        # What the reviewer decided on the lines the scorer sent, per rule: the scorer's agreement with people.
        "decisions_by_rule": decision_counts(decided),
        "period_start": period_start.isoformat(),
        # Margin leakage (the process report's write-offs by rule): each written-off line with what it was worth.
        "written_off_lines": written_off,
        "written_off_base": str(
            sum(
                (Decimal(line["value_base"]) for line in written_off if line["value_base"] is not None),
                _ZERO_BASE,
            )
        ),
    }


_ZERO_BASE = Decimal("0.00")


def strongest_rules(score: LineScore | None) -> list[str]:
    """The rules of the scorer's reasons for a line, strongest first: policy violations (certain), then signals
    by how far past their threshold the line is, each rule once; [] for a line the scorer did not flag."""
    if score is None:
        return []
    ranked = sorted(
        score.checks,
        key=lambda check: (
            0 if check in CHECKS and CHECKS[check].kind == "violation" else 1,
            -score.features.get(check, 0.0),
            CHECKS[check].rule if check in CHECKS else "INPUT",
        ),
    )
    rules: list[str] = []
    for check in ranked:
        rule = CHECKS[check].rule if check in CHECKS else "INPUT"
        if rule not in rules:
            rules.append(rule)
    return rules


def written_off_lines(
    review: ProjectReview,
    scores: Mapping[str, LineScore],
    period: PeriodFile,
    project_id: str,
    written_off_ids: Sequence[str],
    to_base: Callable[[Decimal, str], Decimal] | None = None,
) -> list[dict[str, Any]]:
    """Each written-off line: its kind, the scorer's rules (strongest first), hours (time) and what it would have
    billed in the base currency (None when the policy has no rate for its currency)."""
    wanted = set(written_off_ids)
    times = {line.id: line for line in period.time(project_id) if line.id in wanted}
    expenses = {line.id: line for line in period.expenses(project_id) if line.id in wanted}
    found = []
    for line in review.review_lines:
        if line.line_id not in wanted:
            continue
        entry = times.get(line.line_id)
        expense = expenses.get(line.line_id)
        currency = entry.currency if entry else expense.currency if expense else review.currency
        try:
            value: Decimal | None = (
                to_base(line.amount, currency) if to_base else line.amount.quantize(_ZERO_BASE)
            )
        except ValueError:
            value = None
        found.append(
            {
                "line_id": line.line_id,
                "kind": line.kind,
                "rules": strongest_rules(scores.get(line.line_id)),
                "hours": str(entry.billing_hours.quantize(_ZERO_BASE)) if entry is not None else None,
                "value_base": str(value) if value is not None else None,
            }
        )
    return found


def review_labels(
    files: BillingFiles,
    project_id: str,
    period_start: date,
    review: ProjectReview,
    returned: Mapping[str, Sequence[str]],
) -> list[ReviewLabel]:
    """A label per line under review that the scorer sent (lines under review for a billing rule alone are not
    the scorer's), with what the reviewer did to it."""
    scores = load_scores(files, project_id)
    sent_back, written_off = set(returned["send_back"]), set(returned["write_off"])
    decided_at = datetime.now(UTC)
    found: list[ReviewLabel] = []
    for line in review.review_lines:
        scored = scores.get(line.line_id)
        if scored is None or not scored.review:
            continue
        checks = [check for check in scored.checks if check in CHECKS]
        found.append(
            ReviewLabel(
                line_id=line.line_id,
                kind=line.kind,
                project_id=project_id,
                period_start=period_start,
                run_case_id=files.case_id,
                checks=checks,
                rules=sorted({CHECKS[check].rule for check in checks}),
                features=scored.features,
                score=scored.score,
                decision="sent_back"
                if line.line_id in sent_back
                else "written_off"
                if line.line_id in written_off
                else "approved",
                decided_at=decided_at,
            )
        )
    return found


# ------------------------------------------------------------------------------------------------------------
# 5. draft in the ERP (one invoice per project and period, whatever the retries)
# ------------------------------------------------------------------------------------------------------------


def draft(
    project_id: str, files: BillingFiles, psa: PsaPort, erp: ErpPort, policy: BillingPolicy
) -> dict[str, Any]:
    period = load_period(files)
    project = period.projects[project_id]
    review = load_review(files, project_id)
    outcome = (
        ReviewOutcome.from_json_dict(files.get(f"projects/{project_id}/outcome.json"))
        if files.exists(f"projects/{project_id}/outcome.json")
        else apply_review(review, "none")
    )
    client = erp.get_customer(project.client_id)
    contract = psa.get_contract(project.contract_id) if project.contract_id else None
    time_ids, expense_ids = set(outcome.billable_time_entry_ids), set(outcome.billable_expense_ids)
    milestone_ids = set(outcome.billable_milestone_ids)
    try:
        invoice = draft_invoice(
            project,
            client,
            contract,
            period.period,
            time_entries=[line for line in period.time(project_id) if line.id in time_ids],
            expenses=[line for line in period.expenses(project_id) if line.id in expense_ids],
            milestones=[m for m in (contract.milestones if contract else []) if m.id in milestone_ids],
            workers=period.workers,
            tax_template=erp.tax_template(client.id),
            purchase_order=erp.purchase_order(client.id, project_id) if client.requires_po else None,
            policy=policy,
        )
    except NothingToInvoice as error:
        return {"status": "nothing_to_bill", "reasons": [f"BR3 {error}"]}
    created = erp.create_invoice(invoice, idempotency_key=invoice_key(project_id, period.period))
    lines = [f"{line.description}: {money(invoice.currency, line.amount)}" for line in invoice.lines]
    return {
        "status": "drafted",
        "invoice_id": created.id,
        "created": created.created,
        "amount": str(invoice.grand_total),
        "currency": invoice.currency,
        "lines": len(invoice.lines),
        "subject": {
            "title": f"Invoice for {client.customer_name}: project {project_id}, "
            f"{period_label(period.period.start, period.period.end)}",
            "summary": f"{len(invoice.lines)} line(s), {money(invoice.currency, invoice.grand_total)} before tax, "
            f"due {invoice.due_date}.",
            "amount": str(invoice.grand_total),
            "currency": invoice.currency,
            "client": client.customer_name,
            "service_line": project.service_line,
            "project_id": project_id,
            "reasons": lines[:30] + ([f"... and {len(lines) - 30} more"] if len(lines) > 30 else []),
        },
    }


# ------------------------------------------------------------------------------------------------------------
# 6. post, and link every line to the invoice
# ------------------------------------------------------------------------------------------------------------


def post(
    project_id: str,
    invoice_id: str,
    psa: PsaPort,
    erp: ErpPort,
    *,
    files: BillingFiles | None = None,
    ledger: ReceivablesLedger | None = None,
    case_id: str | None = None,
) -> dict[str, Any]:
    """Post the draft, link its lines in the PSA and, with a ``ledger``, register it as a receivable of
    ``case_id`` (where its payments will be recorded). Returns R1, ``invoice.posted``'s data: the invoice's
    figures, in its currency and in the firm's (``*_base``), and its realization inputs (``billed_figures``),
    which need the run's ``files`` (the period's lines and workers)."""
    invoice = erp.post_invoice(invoice_id)
    ids = _billed_ids(invoice)
    psa.mark_billed(
        invoice.id,
        time_entry_ids=ids["time"],
        expense_ids=ids["expense"],
        milestone_ids=ids["milestone"],
    )
    if ledger is not None and case_id is not None:
        register_receivable(ledger, invoice, case_id)
    period = load_period(files) if files is not None else None
    project = period.projects.get(project_id) if period is not None else None
    rate = invoice.conversion_rate
    return {
        "invoice_id": invoice.id,
        "invoice_number": invoice.invoice_number,
        "amount": str(invoice.grand_total),
        "currency": invoice.currency,
        "lines_billed": len(ids["time"]) + len(ids["expense"]) + len(ids["milestone"]),
        "client_id": invoice.client_id,
        "project_id": invoice.project_id or project_id,
        "practice": project.service_line if project is not None else None,
        "invoice_date": invoice.posting_date.isoformat(),
        "due_date": invoice.due_date.isoformat(),
        "period_start": _iso(invoice.period_start or (period.period.start if period else None)),
        "period_end": _iso(invoice.period_end or (period.period.end if period else None)),
        "conversion_rate": str(rate),
        "amount_base": str(base_amount(invoice.grand_total, rate)),
        **billed_figures(invoice, project, period, psa),
    }


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day is not None else None


def billed_figures(
    invoice: Invoice, project: Project | None, period: PeriodFile | None, psa: PsaPort
) -> dict[str, Any]:
    """The invoice's time billed against its standard value: hours billed (the time lines' hours), their amount
    and the hours WORKED on those lines at the project's rate card for each line's role and work date (the rate
    billing readiness holds a line to, ``readiness.expected_rate``: the card's line for the worker, role or
    activity in force that day, else the contract's rate for the role), all in the firm's currency. Hours worked,
    not hours billed: trimming 10 hours worked to 6 billed is the commonest write-down, and realization must see
    it. A line with no such rate, or whose entries the run's files do not hold, counts at its billed amount: it
    neither raises nor lowers realization."""
    time_lines = [line for line in invoice.lines if line.source == "time"]
    hours = sum((line.quantity for line in time_lines), Decimal(0))
    billed = sum((line.amount for line in time_lines), Decimal(0))
    standard = billed
    if time_lines and project is not None and period is not None:
        entries = {entry.id: entry for entry in period.time(project.id)}
        card = psa.project_rate_card(project.id)
        contract = psa.get_contract(project.contract_id) if project.contract_id else None
        roles = {worker.id: list(worker.roles) for worker in period.workers}
        standard = Decimal(0)
        for line in time_lines:
            found = [entries[i] for i in line.source_ids if i in entries]
            if len(found) != len(line.source_ids):
                standard += line.amount
                continue
            for entry in found:
                expected = expected_rate(entry, card, contract, roles)
                standard += entry.hours * expected.amount if expected is not None else entry.billing_amount
    rate = invoice.conversion_rate
    return {
        "hours_billed": str(hours),
        "time_billed_base": str(base_amount(billed, rate)),
        "time_standard_base": str(base_amount(standard, rate)),
    }


def _billed_ids(invoice: Invoice) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {"time": [], "expense": [], "milestone": []}
    for line in invoice.lines:
        if line.source in found:
            found[line.source].extend(line.source_ids)
    return found


# ------------------------------------------------------------------------------------------------------------
# 7. the run's summary
# ------------------------------------------------------------------------------------------------------------


def read_project_results(s3: Any, written: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every project's result, read from what the Map's ResultWriter wrote (``written``: the Map's output,
    ``{"MapRunArn", "ResultWriterDetails": {"Bucket", "Key"}}``, the key naming its ``manifest.json``).

    The manifest lists the result files by status; each holds one entry per child execution, with its
    ``Input`` and ``Output`` as JSON text. A child that did not succeed (FAILED, or PENDING after the Map stopped
    early) has no output: its project is counted blocked by a technical fault, with the error Step Functions
    gives, so that the run fails and pages, as for a step's error caught inside the project."""
    details = written["ResultWriterDetails"]
    manifest = get_json(s3, details["Bucket"], details["Key"])
    bucket = manifest.get("DestinationBucket", details["Bucket"])
    results: list[dict[str, Any]] = []
    for status in ("SUCCEEDED", "FAILED", "PENDING"):
        for result_file in manifest.get("ResultFiles", {}).get(status, []):
            for execution in get_json(s3, bucket, result_file["Key"]):
                if status == "SUCCEEDED":
                    results.append(json.loads(execution["Output"]))
                else:
                    results.append(_unfinished_project(execution, status))
    return results


def _unfinished_project(execution: Mapping[str, Any], status: str) -> dict[str, Any]:
    item = json.loads(execution.get("Input") or "{}")
    error = execution.get("Error") or ("States.Aborted" if status == "PENDING" else "States.Runtime")
    cause = execution.get("Cause") or f"the project's execution ended {status.lower()}"
    return {
        "project_id": item.get("project_id"),
        "outcome": "Invoice Blocked",
        "exceptions_by_rule": {},
        "reasons": [f"{error}: {cause}"[:500]],
        "technical_fault": True,
    }


def summarize(results: Sequence[Mapping[str, Any]], opened: Mapping[str, Any]) -> dict[str, Any]:
    """Invoices posted and blocked, and exceptions by reason, from the Map's per-project results.

    ``technical_faults`` counts the projects blocked by a step's error rather than by a business outcome: the
    state machine fails the run when there is any, so that a failed run means a technical fault."""
    posted = [r for r in results if r.get("outcome") == "Invoice Posted"]
    blocked = [r for r in results if r.get("outcome") == "Invoice Blocked"]
    exceptions: Counter[str] = Counter()
    for result in results:
        exceptions.update({str(k): int(v) for k, v in (result.get("exceptions_by_rule") or {}).items()})
    exceptions["INPUT"] += int(opened.get("unassigned_lines", 0))
    totals: dict[str, Decimal] = {}
    for result in posted:
        currency = str(result.get("currency") or "")
        totals[currency] = totals.get(currency, Decimal(0)) + Decimal(str(result.get("amount") or 0))
    return {
        "projects": len(results),
        "invoices_posted": len(posted),
        "invoices_blocked": len(blocked),
        "nothing_to_bill": sum(1 for r in results if r.get("outcome") == "Nothing To Bill"),
        "already_invoiced": sum(1 for r in results if r.get("outcome") == "Already Invoiced"),
        "posted_totals": {currency: str(total) for currency, total in sorted(totals.items())},
        "exceptions_by_rule": {rule: n for rule, n in sorted(exceptions.items()) if n},
        # The first few, for the console; the run's audit record and each project's own event have them all
        # (every one listed, 10,000 projects' reasons would pass the 256 KiB a state may hold).
        "blocked": [
            {
                "project_id": r.get("project_id"),
                "reasons": list(r.get("reasons") or [])[:3],
                "technical_fault": r.get("technical_fault") is True,
            }
            for r in blocked[:BLOCKED_LISTED]
        ],
        "technical_faults": sum(1 for r in blocked if r.get("technical_fault") is True),
        # What the weekly review settled before the close: lines approved in the week as they are (not reviewed
        # again), and of them those the scorer had flagged then (exceptions settled before the close).
        "settled_in_week": dict(opened.get("settled_in_week") or {"lines": 0, "flagged": 0}),
    }


# ------------------------------------------------------------------------------------------------------------
# Configuration: the firm's billing and anomaly policies
# ------------------------------------------------------------------------------------------------------------


def billing_policy(environ: Mapping[str, str]) -> BillingPolicy:
    """``BILLING_POLICY`` (JSON) in the function's environment, else the defaults of DOMAIN.md."""
    text = environ.get("BILLING_POLICY")
    return BillingPolicy.from_json_dict(json.loads(text)) if text else BillingPolicy()


def anomaly_policy(environ: Mapping[str, str]) -> AnomalyPolicy:
    """``ANOMALY_POLICY`` (JSON: thresholds, limits, weights) in the function's environment, else defaults."""
    text = environ.get("ANOMALY_POLICY")
    return AnomalyPolicy.from_json_dict(json.loads(text)) if text else AnomalyPolicy()
