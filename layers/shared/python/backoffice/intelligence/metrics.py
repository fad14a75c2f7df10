"""Process metrics over the event log, with the definitions of DOMAIN.md section 6.

Which trails are cases: every case id in the trail, except a trail made only of refused approval attempts that
belong to no case (the approval service's sink for unknown or forged links). Its refusals still count, as
occurrences, under their exception rule. A case whose trail is a single ``event.rejected`` is a *rejected event*: it
counts as a case with an exception, but never ran, so it has no cycle time, rework or waits.

- Cycle time, per workflow: start = the case's first record; end = its last ``outcome.published``. A case is open
  while it has no published outcome, or was resumed after its last one; open cases are counted apart, with their age
  (as_of - start), and stay out of the median and p90.
- Approval turnaround: for each ``approval.decided`` record, its time minus the time of the request it answers
  (``approval.requested`` or ``approval.escalated`` with the same ``data.request_id``), grouped by workflow step, by
  approval level and by approver. With a quorum above one, each approver's decision is one sample.
- Exception rate: cases with at least one exception / all cases. Exceptions, by rule: a failure outcome by the error
  name that blocked the case (``blocked: StatementOfWorkMissing``), approval attempts refused by kind, approvals
  that expired (timed out, or escalated), rejected events. A step that recorded ``blocked`` counts on its own only in
  a case that published no failure (a retry or resume got it through).
- First-pass yield: cases with no exception, no rework and no manual edit / all cases (open ones included: so far).
  A manual edit is a record by a person outside the approval protocol (resuming a case, correcting data).
- Rework: occurrences of the same work in a case beyond the first, where the work is (stage, action): a step
  that is done again after a resume counts whatever its outcome was each time. Follow-ups (link opened, reminder
  sent, refused attempt, duplicate delivery) are not work. Rework % = rework / all events of the cases.
- Billing lag and the other management numbers (DSO, utilization, realization, ...): ``management`` (each defined
  once in its ``GLOSSARY``, which the report carries). They read every record, the measurement jobs' included
  (``events.MEASUREMENT_WORKFLOWS``); the case metrics leave those out, and step over the records that land on a
  case after its outcome (an invoice's payments and credit memos, ``events.AFTER_OUTCOME_ACTIONS``): they neither
  reopen it, nor count as rework, nor as time it waited.
- Waits: the time between consecutive records of a case (interjections such as duplicate deliveries and refused
  attempts skipped) is charged to the stage of the later record: the time until that stage recorded its result.
  Open cases also show how long they have been waiting since their last record (as_of - last record).

``as_of`` defaults to the newest timestamp in the log, so a report of the same records is always the same report.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from itertools import pairwise
from typing import Literal

from pydantic import ConfigDict

from backoffice.audit import AuditRecord
from backoffice.intelligence.events import (
    APPROVAL_REQUEST_ACTIONS,
    FOLLOW_UP_ACTIONS,
    NOT_CASES,
    SIDE_ACTIONS,
    Category,
    Event,
    as_events,
    case_rules,
    case_work,
    final_outcome,
    is_failure,
    is_manual_edit,
)
from backoffice.intelligence.management import Definition, ManagementNumbers, glossary, management_numbers
from backoffice.intelligence.receivables import BillingLag
from backoffice.intelligence.stats import Stats, ratio
from backoffice.models.envelope import Model

CaseKind = Literal["workflow", "rejected event"]


class _Model(Model):
    model_config = ConfigDict(frozen=True)


class CaseSummary(_Model):
    case_id: str
    workflow: str
    kind: CaseKind
    started_at: datetime
    last_at: datetime
    closed: bool
    outcome: str | None
    succeeded: bool | None
    cycle_seconds: float | None  # closed cases: end - start
    age_seconds: float | None  # open cases: as_of - start
    events: int
    exceptions: list[str]
    rework: int
    manual_edits: int
    first_pass: bool


class CycleTime(_Model):
    workflow: str
    cases: int
    closed: int
    open: int
    stats: Stats | None  # closed cases, seconds
    by_outcome: dict[str, Stats]
    open_age: Stats | None  # open cases, seconds since their first record
    durations: list[float]  # each closed case's cycle time, seconds (for the histogram)


class WorkflowSummary(_Model):
    workflow: str
    cases: int
    rejected_events: int
    outcomes: dict[str, int]
    cycle: CycleTime
    exception_rate: float | None
    first_pass_yield: float | None
    rework_rate: float | None


class TurnaroundGroup(_Model):
    key: str
    workflow: str
    decisions: int
    approved: int
    rejected: int
    stats: Stats


class ApprovalTurnaround(_Model):
    requests: int
    decisions: int
    pending: int
    expired: int
    escalated: int
    reminders: int
    overall: Stats | None
    by_step: list[TurnaroundGroup]
    by_level: list[TurnaroundGroup]
    by_approver: list[TurnaroundGroup]


class ExceptionRule(_Model):
    rule: str
    cases: int
    occurrences: int
    share_of_cases: float | None
    workflows: list[str]
    example: str


class Exceptions(_Model):
    cases: int
    cases_with_exception: int
    rate: float | None
    rules: list[ExceptionRule]


class FirstPassYield(_Model):
    cases: int
    first_pass: int
    rate: float | None


class ReworkItem(_Model):
    stage: str
    action: str
    workflow: str
    repeats: int
    cases: int


class Rework(_Model):
    rework: int
    activities: int
    rate: float | None
    cases_with_rework: int
    items: list[ReworkItem]


class RuleAgreement(_Model):
    rule: str  # TE1 ... TE11
    month: str  # the billing period's month, 2026-10
    decided: int  # lines of the rule the scorer sent to review and a person decided
    confirmed: int  # kept from billing as recorded (sent back or written off)
    cleared: int  # let bill as recorded
    agreement: float | None  # confirmed / decided


class ScorerAgreement(_Model):
    """How often the reviewers confirm what the anomaly scorer sends them (the seed's model monitoring)."""

    available: bool
    decided: int
    confirmed: int
    agreement: float | None
    by_rule: list[RuleAgreement]  # per rule and month
    note: str


class AiUseAgreement(_Model):
    use: str  # approval_summary, clause_detection, document_classification, anomaly_explanation
    model: str  # who answered: local-rules or the Bedrock model id
    suggestions: int
    decided: int  # suggestions a person's decision on the same case followed
    approved: int  # of those, decisions to approve
    flagged: (
        int  # suggestions that raised a concern (clauses: a sentence not standard); 0 for uses without one
    )
    agreed: (
        int  # decided suggestions whose decision went their way (flagged -> rejected, standard -> approved)
    )
    agreement: float | None  # agreed / decided, for a use whose suggestion points a way; None otherwise
    fallbacks: int  # Bedrock was asked and the local rules answered


class AiAgreement(_Model):
    """How often people went the way the assistant's suggestions pointed, per use and model (issue #23)."""

    available: bool
    suggestions: int
    by_use: list[AiUseAgreement]
    note: str


class WaitGroup(_Model):
    workflow: str
    stage: str
    waits: int
    total_seconds: float
    share: float | None  # of all waiting time in the workflow
    stats: Stats


class Wait(_Model):
    case_id: str
    workflow: str
    stage: str
    after: str
    before: str | None  # None: the case is still waiting
    since: datetime
    seconds: float


class Waits(_Model):
    by_stage: list[WaitGroup]
    top: list[Wait]
    waiting_now: list[Wait]


class MapNode(_Model):
    activity: str
    stage: str
    label: str
    category: Category
    events: int
    cases: int
    mean_position: float
    by_people: bool


class MapEdge(_Model):
    source: str
    target: str
    count: int
    median_seconds: float


class Variant(_Model):
    activities: list[str]
    cases: int
    share: float | None


class ProcessMap(_Model):
    workflow: str
    cases: int
    nodes: list[MapNode]
    edges: list[MapEdge]
    starts: dict[str, int]
    ends: dict[str, int]
    variants: list[Variant]


class Report(_Model):
    as_of: datetime | None
    first_event_at: datetime | None
    events: int
    cases: int
    open_cases: int
    workflows: list[WorkflowSummary]
    case_summaries: list[CaseSummary]
    approvals: ApprovalTurnaround
    exceptions: Exceptions
    first_pass: FirstPassYield
    rework: Rework
    billing_lag: BillingLag  # the same as management.billing_lag (kept where the report always had it)
    scorer_agreement: ScorerAgreement
    ai_agreement: AiAgreement
    waits: Waits
    process_maps: list[ProcessMap]
    management: ManagementNumbers
    glossary: list[Definition]


# -- cases ------------------------------------------------------------------------------------------------------


def trails(events: Iterable[Event]) -> dict[str, list[Event]]:
    """Each case's events in chain order."""
    by_case: dict[str, list[Event]] = defaultdict(list)
    for event in events:
        by_case[event.case_id].append(event)
    return {case_id: sorted(trail, key=lambda e: e.seq) for case_id, trail in sorted(by_case.items())}


def is_case(trail: Sequence[Event]) -> bool:
    return not all(e.action == "approval.refused" for e in trail)


def case_kind(trail: Sequence[Event]) -> CaseKind:
    return "rejected event" if all(e.action == "event.rejected" for e in trail) else "workflow"


def as_of_of(events: Sequence[Event]) -> datetime | None:
    return max((e.timestamp for e in events), default=None)


def rework_keys(trail: Sequence[Event]) -> Counter[tuple[str, str]]:
    return Counter(
        (e.stage or e.step, e.action) for e in case_work(trail) if e.action not in FOLLOW_UP_ACTIONS
    )


def summarize_case(trail: Sequence[Event], as_of: datetime) -> CaseSummary:
    kind = case_kind(trail)
    first, last = trail[0], trail[-1]
    final = final_outcome(trail)
    closed = kind == "rejected event" or final is not None
    outcome: str | None = None
    succeeded: bool | None = None
    cycle: float | None = None
    if kind == "rejected event":
        outcome, succeeded = "event rejected", False
    elif closed and final is not None:
        outcome, succeeded = final.outcome, not is_failure(final)
        cycle = (final.timestamp - first.timestamp).total_seconds()
    rules = sorted({rule for rule, _ in case_rules(trail)})
    rework = 0 if kind == "rejected event" else sum(n - 1 for n in rework_keys(trail).values())
    manual = sum(1 for e in trail if is_manual_edit(e))
    return CaseSummary(
        case_id=first.case_id,
        workflow=first.workflow,
        kind=kind,
        started_at=first.timestamp,
        last_at=last.timestamp,
        closed=closed,
        outcome=outcome,
        succeeded=succeeded,
        cycle_seconds=cycle,
        age_seconds=None if closed else (as_of - first.timestamp).total_seconds(),
        events=len(trail),
        exceptions=rules,
        rework=rework,
        manual_edits=manual,
        first_pass=not rules and rework == 0 and manual == 0,
    )


def case_summaries(events: Sequence[Event], as_of: datetime | None = None) -> list[CaseSummary]:
    moment = as_of or as_of_of(events)
    if moment is None:
        return []
    return [summarize_case(trail, moment) for trail in trails(events).values() if is_case(trail)]


# -- cycle time -------------------------------------------------------------------------------------------------


def cycle_times(cases: Sequence[CaseSummary]) -> list[CycleTime]:
    """Per workflow: closed cases' cycle time (median, p90, by outcome), open cases counted apart with their age."""
    result = []
    for workflow in sorted({c.workflow for c in cases}):
        ran = [c for c in cases if c.workflow == workflow and c.kind == "workflow"]
        closed = [c for c in ran if c.closed and c.cycle_seconds is not None]
        by_outcome: dict[str, list[float]] = defaultdict(list)
        for c in closed:
            by_outcome[c.outcome or "?"].append(c.cycle_seconds or 0.0)
        result.append(
            CycleTime(
                workflow=workflow,
                cases=len(ran),
                closed=len(closed),
                open=len([c for c in ran if not c.closed]),
                stats=Stats.of(c.cycle_seconds or 0.0 for c in closed),
                by_outcome={k: s for k, v in sorted(by_outcome.items()) if (s := Stats.of(v)) is not None},
                open_age=Stats.of(c.age_seconds or 0.0 for c in ran if not c.closed),
                durations=[c.cycle_seconds or 0.0 for c in closed],
            )
        )
    return result


# -- approvals --------------------------------------------------------------------------------------------------


def approval_turnaround(events: Sequence[Event]) -> ApprovalTurnaround:
    """Decision time minus request time, per decision, grouped by step, approval level and approver."""
    samples: list[tuple[Event, float]] = []
    requests = decisions = expired = escalated = reminders = 0
    pending = 0
    for trail in trails(events).values():
        open_requests: dict[str, Event] = {}
        answered: set[str] = set()
        closed_requests: set[str] = set()
        for e in trail:
            request_id = str(e.data.get("request_id") or "")
            if e.action in APPROVAL_REQUEST_ACTIONS:
                requests += 1
                escalated += int(e.action == "approval.escalated")
                key = request_id or f"{e.step}#{e.seq}"
                open_requests[key] = e
            elif e.action == "approval.decided":
                decisions += 1
                request = open_requests.get(request_id) or _latest_request(open_requests, e.step)
                if request is not None:
                    samples.append((e, (e.timestamp - request.timestamp).total_seconds()))
                    answered.add(request_id or _key_of(open_requests, request))
            elif e.action == "approval.expired":
                expired += 1
                closed_requests.add(request_id)
            elif e.action == "approval.undeliverable" and e.outcome == "escalating":
                # Ended early: its mail bounced, and the level went to the escalation group (not an expiry).
                closed_requests.add(request_id)
            elif e.action == "approval.reminded":
                reminders += 1
        # A request is pending while nobody decided it, it did not expire and the case published no outcome since.
        last_outcome = max((e.seq for e in trail if e.action == "outcome.published"), default=0)
        pending += sum(
            1
            for key, request in open_requests.items()
            if key not in answered and key not in closed_requests and request.seq > last_outcome
        )
    return ApprovalTurnaround(
        requests=requests,
        decisions=decisions,
        pending=pending,
        expired=expired,
        escalated=escalated,
        reminders=reminders,
        overall=Stats.of(seconds for _, seconds in samples),
        by_step=_turnaround_groups(samples, lambda e: e.step),
        by_level=_turnaround_groups(samples, lambda e: str(e.data.get("level") or e.stage)),
        by_approver=_turnaround_groups(samples, lambda e: e.actor.partition(":")[2] or e.actor),
    )


def _latest_request(open_requests: Mapping[str, Event], step: str) -> Event | None:
    same_step = [r for r in open_requests.values() if r.step == step]
    return max(same_step, key=lambda r: r.seq) if same_step else None


def _key_of(open_requests: Mapping[str, Event], request: Event) -> str:
    return next(k for k, r in open_requests.items() if r is request)


def _turnaround_groups(
    samples: Sequence[tuple[Event, float]], key: Callable[[Event], str]
) -> list[TurnaroundGroup]:
    groups: dict[tuple[str, str], list[tuple[Event, float]]] = defaultdict(list)
    for event, seconds in samples:
        groups[(event.workflow, key(event))].append((event, seconds))
    result = []
    for (workflow, name), items in groups.items():
        stats = Stats.of(seconds for _, seconds in items)
        assert stats is not None
        result.append(
            TurnaroundGroup(
                key=name,
                workflow=workflow,
                decisions=len(items),
                approved=sum(1 for e, _ in items if e.outcome == "approved"),
                rejected=sum(1 for e, _ in items if e.outcome == "rejected"),
                stats=stats,
            )
        )
    return sorted(result, key=lambda g: (-g.stats.median, g.key))


# -- exceptions, first-pass yield, rework -----------------------------------------------------------------------


def exceptions(events: Sequence[Event], cases: Sequence[CaseSummary] | None = None) -> Exceptions:
    """Exception rate over all cases and the rules behind it (cases per rule, and occurrences incl. caseless)."""
    summaries = list(cases) if cases is not None else case_summaries(events)
    real = {c.case_id for c in summaries}
    occurrences: Counter[str] = Counter()
    rule_cases: dict[str, set[str]] = defaultdict(set)
    rule_workflows: dict[str, set[str]] = defaultdict(set)
    example: dict[str, str] = {}
    for case_id, trail in trails(events).items():
        for rule, event in case_rules(trail):
            occurrences[rule] += 1
            if case_id in real:
                rule_cases[rule].add(case_id)
            rule_workflows[rule].add(event.workflow)
            example.setdefault(rule, event.reasons[0] if event.reasons else event.activity)
    total = len(summaries)
    flagged = sum(1 for c in summaries if c.exceptions)
    rules = [
        ExceptionRule(
            rule=rule,
            cases=len(rule_cases[rule]),
            occurrences=count,
            share_of_cases=ratio(len(rule_cases[rule]), total),
            workflows=sorted(rule_workflows[rule]),
            example=example[rule],
        )
        for rule, count in occurrences.items()
    ]
    rules.sort(key=lambda r: (-r.cases, -r.occurrences, r.rule))
    return Exceptions(cases=total, cases_with_exception=flagged, rate=ratio(flagged, total), rules=rules)


def first_pass_yield(cases: Sequence[CaseSummary]) -> FirstPassYield:
    passed = sum(1 for c in cases if c.first_pass)
    return FirstPassYield(cases=len(cases), first_pass=passed, rate=ratio(passed, len(cases)))


def rework(events: Sequence[Event]) -> Rework:
    """Work done again within a case, by (stage, action), and its share of all events of the cases."""
    repeats: Counter[tuple[str, str, str]] = Counter()
    cases_of: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    activities = 0
    reworked_cases: set[str] = set()
    for case_id, trail in trails(events).items():
        if not is_case(trail):
            continue
        activities += len(case_work(trail))
        if case_kind(trail) == "rejected event":
            continue
        for (stage, action), n in rework_keys(trail).items():
            if n > 1:
                key = (trail[0].workflow, stage, action)
                repeats[key] += n - 1
                cases_of[key].add(case_id)
                reworked_cases.add(case_id)
    total = sum(repeats.values())
    items = [
        ReworkItem(stage=key[1], action=key[2], workflow=key[0], repeats=n, cases=len(cases_of[key]))
        for key, n in repeats.items()
    ]
    items.sort(key=lambda i: (-i.repeats, i.workflow, i.stage, i.action))
    return Rework(
        rework=total,
        activities=activities,
        rate=ratio(total, activities),
        cases_with_rework=len(reworked_cases),
        items=items,
    )


# -- the anomaly scorer against the reviewers -----------------------------------------------------------------


def scorer_agreement(events: Sequence[Event]) -> ScorerAgreement:
    """Per TE rule and billing month: of the lines the scorer sent to review, how many the reviewers confirmed
    (``data.decisions_by_rule`` of each settled exception review)."""
    confirmed: Counter[tuple[str, str]] = Counter()
    cleared: Counter[tuple[str, str]] = Counter()
    for e in events:
        decisions = e.data.get("decisions_by_rule") if e.action == "exceptions.settled" else None
        if not isinstance(decisions, Mapping):
            continue
        month = str(e.data.get("period_start") or e.timestamp.date().isoformat())[:7]
        for rule, counts in decisions.items():
            confirmed[(rule, month)] += int(counts.get("confirmed", 0))
            cleared[(rule, month)] += int(counts.get("cleared", 0))
    keys = sorted({*confirmed, *cleared}, key=lambda key: (_rule_number(key[0]), key[0], key[1]))
    by_rule = [
        RuleAgreement(
            rule=rule,
            month=month,
            decided=confirmed[(rule, month)] + cleared[(rule, month)],
            confirmed=confirmed[(rule, month)],
            cleared=cleared[(rule, month)],
            agreement=ratio(confirmed[(rule, month)], confirmed[(rule, month)] + cleared[(rule, month)]),
        )
        for rule, month in keys
    ]
    decided = sum(item.decided for item in by_rule)
    agreed = sum(item.confirmed for item in by_rule)
    return ScorerAgreement(
        available=bool(by_rule),
        decided=decided,
        confirmed=agreed,
        agreement=ratio(agreed, decided),
        by_rule=by_rule,
        note=f"{decided} rule finding(s) on lines a reviewer decided"
        if by_rule
        else "n/a: no exception review has been settled on lines the scorer sent",
    )


# The uses whose suggestion points a way a person can go or not: the outcome word of ai.suggested that raises a
# concern (a decision to reject agrees with it) and the one that raises none (a decision to approve agrees).
_POINTING = {"clause_detection": ("flagged", "standard")}


def ai_agreement(events: Sequence[Event]) -> AiAgreement:
    """Per use and model: the assistant's suggestions (``ai.suggested``), how many a person's decision on the same
    case followed (the next ``approval.decided``), how many of those approved, and for a use whose suggestion points
    a way (clauses: flagged or standard) how often the decision went that way."""
    rows: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for trail in trails(events).values():
        for index, event in enumerate(trail):
            if event.action != "ai.suggested":
                continue
            use = str(event.data.get("use") or "")
            counts = rows[(use, str(event.data.get("model_id") or event.actor))]
            counts["suggestions"] += 1
            counts["fallbacks"] += 1 if event.data.get("fallback_reason") else 0
            concern, no_concern = _POINTING.get(use, ("", ""))
            counts["flagged"] += 1 if concern and event.outcome == concern else 0
            decision = next(
                (later for later in trail[index + 1 :] if later.action == "approval.decided"), None
            )
            if decision is None:
                continue
            counts["decided"] += 1
            approved = decision.outcome == "approved"
            counts["approved"] += 1 if approved else 0
            if (event.outcome == concern and not approved) or (event.outcome == no_concern and approved):
                counts["agreed"] += 1
    by_use = [
        AiUseAgreement(
            use=use,
            model=model,
            suggestions=c["suggestions"],
            decided=c["decided"],
            approved=c["approved"],
            flagged=c["flagged"],
            agreed=c["agreed"],
            agreement=ratio(c["agreed"], c["decided"]) if use in _POINTING else None,
            fallbacks=c["fallbacks"],
        )
        for (use, model), c in sorted(rows.items())
    ]
    total = sum(row.suggestions for row in by_use)
    return AiAgreement(
        available=bool(by_use),
        suggestions=total,
        by_use=by_use,
        note=f"{total} suggestion(s) on the trail"
        if by_use
        else "n/a: the assistant has made no suggestion yet",
    )


def _rule_number(rule: str) -> int:
    digits = "".join(ch for ch in rule if ch.isdigit())
    return int(digits) if digits else 0


# -- waits ------------------------------------------------------------------------------------------------------


def waits(events: Sequence[Event], as_of: datetime | None = None, top: int = 10) -> Waits:
    """Where cases wait: gaps between consecutive records charged to the later record's stage."""
    moment = as_of or as_of_of(events)
    gaps: list[Wait] = []
    now: list[Wait] = []
    for trail in trails(events).values():
        if not is_case(trail) or case_kind(trail) == "rejected event":
            continue
        flow = [e for e in case_work(trail) if e.action not in SIDE_ACTIONS]
        for before, after in pairwise(flow):
            gaps.append(
                Wait(
                    case_id=after.case_id,
                    workflow=after.workflow,
                    stage=after.stage or after.step,
                    after=before.activity,
                    before=after.activity,
                    since=before.timestamp,
                    seconds=(after.timestamp - before.timestamp).total_seconds(),
                )
            )
        last = flow[-1] if flow else trail[-1]
        if final_outcome(trail) is None and moment is not None:
            now.append(
                Wait(
                    case_id=last.case_id,
                    workflow=last.workflow,
                    stage=last.stage or last.step,
                    after=last.activity,
                    before=None,
                    since=last.timestamp,
                    seconds=(moment - last.timestamp).total_seconds(),
                )
            )
    totals: dict[str, float] = defaultdict(float)
    grouped: dict[tuple[str, str], list[float]] = defaultdict(list)
    for gap in gaps:
        grouped[(gap.workflow, gap.stage)].append(gap.seconds)
        totals[gap.workflow] += gap.seconds
    groups = []
    for (workflow, stage), values in grouped.items():
        stats = Stats.of(values)
        assert stats is not None
        groups.append(
            WaitGroup(
                workflow=workflow,
                stage=stage,
                waits=len(values),
                total_seconds=sum(values),
                share=sum(values) / totals[workflow] if totals[workflow] else None,
                stats=stats,
            )
        )
    groups.sort(key=lambda g: (-g.total_seconds, g.stage))
    return Waits(
        by_stage=groups,
        top=sorted(gaps, key=lambda g: -g.seconds)[:top],
        waiting_now=sorted(now, key=lambda g: -g.seconds),
    )


# -- process map ------------------------------------------------------------------------------------------------


def process_maps(events: Sequence[Event], variants: int = 8) -> list[ProcessMap]:
    """Per workflow: the directly-follows graph of the observed paths, with counts, and the most common variants."""
    by_workflow: dict[str, list[list[Event]]] = defaultdict(list)
    for trail in trails(events).values():
        if is_case(trail):
            by_workflow[trail[0].workflow].append(trail)
    return [_process_map(workflow, cases, variants) for workflow, cases in sorted(by_workflow.items())]


def _process_map(workflow: str, cases: list[list[Event]], top_variants: int) -> ProcessMap:
    counts: Counter[str] = Counter()
    case_counts: Counter[str] = Counter()
    positions: dict[str, list[int]] = defaultdict(list)
    sample: dict[str, Event] = {}
    people: dict[str, bool] = defaultdict(bool)
    edges: dict[tuple[str, str], list[float]] = defaultdict(list)
    starts: Counter[str] = Counter()
    ends: Counter[str] = Counter()
    paths: Counter[tuple[str, ...]] = Counter()
    for trail in cases:
        for index, e in enumerate(trail):
            counts[e.activity] += 1
            positions[e.activity].append(index)
            sample.setdefault(e.activity, e)
            people[e.activity] |= e.actor_kind == "user"
        for activity in {e.activity for e in trail}:
            case_counts[activity] += 1
        for a, b in pairwise(trail):
            edges[(a.activity, b.activity)].append((b.timestamp - a.timestamp).total_seconds())
        starts[trail[0].activity] += 1
        ends[trail[-1].activity] += 1
        paths[tuple(e.activity for e in trail)] += 1
    nodes = [
        MapNode(
            activity=activity,
            stage=sample[activity].stage,
            label=sample[activity].label,
            category=sample[activity].category,
            events=n,
            cases=case_counts[activity],
            mean_position=sum(positions[activity]) / len(positions[activity]),
            by_people=people[activity],
        )
        for activity, n in counts.items()
    ]
    nodes.sort(key=lambda node: (node.mean_position, -node.events, node.activity))
    edge_list = []
    for (source, target), gaps in edges.items():
        stats = Stats.of(gaps)
        assert stats is not None
        edge_list.append(MapEdge(source=source, target=target, count=len(gaps), median_seconds=stats.median))
    edge_list.sort(key=lambda e: (-e.count, e.source, e.target))
    return ProcessMap(
        workflow=workflow,
        cases=len(cases),
        nodes=nodes,
        edges=edge_list,
        starts=dict(starts.most_common()),
        ends=dict(ends.most_common()),
        variants=[
            Variant(activities=list(path), cases=n, share=ratio(n, len(cases)))
            for path, n in paths.most_common(top_variants)
        ],
    )


# -- the whole report -------------------------------------------------------------------------------------------


def build_report(
    items: Iterable[AuditRecord | Event], *, as_of: datetime | None = None, top_waits: int = 10
) -> Report:
    """Every metric over a set of audit records (or events already built with ``event_log``)."""
    every = as_events(items)
    # The measurement jobs' records (a month's delivery, its WIP) feed the management numbers, not the case metrics.
    events = [e for e in every if e.workflow not in NOT_CASES]
    moment = as_of or as_of_of(every)
    cases = case_summaries(events, moment)
    cycles = {c.workflow: c for c in cycle_times(cases)}
    workflows = []
    for workflow, cycle in cycles.items():
        mine = [c for c in cases if c.workflow == workflow]
        mine_ids = {c.case_id for c in mine}
        mine_rework = rework([e for e in events if e.case_id in mine_ids])
        workflows.append(
            WorkflowSummary(
                workflow=workflow,
                cases=len(mine),
                rejected_events=sum(1 for c in mine if c.kind == "rejected event"),
                outcomes=dict(Counter(c.outcome or "open" for c in mine).most_common()),
                cycle=cycle,
                exception_rate=ratio(sum(1 for c in mine if c.exceptions), len(mine)),
                first_pass_yield=first_pass_yield(mine).rate,
                rework_rate=mine_rework.rate,
            )
        )
    management = management_numbers(every, moment)
    return Report(
        as_of=moment,
        first_event_at=min((e.timestamp for e in every), default=None),
        events=len(every),
        cases=len(cases),
        open_cases=sum(1 for c in cases if not c.closed),
        workflows=workflows,
        case_summaries=cases,
        approvals=approval_turnaround(events),
        exceptions=exceptions(events, cases),
        first_pass=first_pass_yield(cases),
        rework=rework(events),
        billing_lag=management.billing_lag,
        scorer_agreement=scorer_agreement(events),
        ai_agreement=ai_agreement(events),
        waits=waits(events, moment, top_waits),
        process_maps=process_maps(events),
        management=management,
        glossary=glossary(),
    )


def to_json(report: Report, *, indent: int | None = 2) -> str:
    """The report for machines: durations in seconds, billing lag in days, timestamps ISO-8601 UTC."""
    return report.model_dump_json(indent=indent)
