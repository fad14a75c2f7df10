"""Delivery and margin from the audit trail: utilization, realization, work in progress and leakage.

Inputs (issue #20's record contracts): ``delivery.measured`` (R4: one worker's month, the newest record per worker
and month wins, so a re-run of a month supersedes the one before), ``wip.measured`` (R5: one project's approved
unbilled work at a month end, the newest per project and month), ``invoice.posted`` (R1: time billed and the same
hours at the rate card) and ``exceptions.settled`` (R6: the lines a review wrote off, with the scorer's rules).
Money is the records' ``*_base`` (the firm's reporting currency); hours are floats.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from backoffice.intelligence.events import Event
from backoffice.intelligence.figures import (
    ZERO,
    _Model,
    as_date,
    latest_per,
    money,
    month_of,
    number,
    of_action,
    share,
    text,
    total,
)
from backoffice.intelligence.receivables import PostedInvoice, posted_invoices

DELIVERY_MEASURED, WIP_MEASURED, EXCEPTIONS_SETTLED = (
    "delivery.measured",
    "wip.measured",
    "exceptions.settled",
)
WIP_AGING = ("0-30", "31-60", "61-90", "90+")
NO_PRACTICE = "(none)"
UNSCORED = "unscored"


class UtilizationGroup(_Model):
    key: str  # a practice or a month
    workers: int
    available_hours: float
    billable_hours: float
    utilization: float | None


class PersonUtilization(_Model):
    worker_id: str
    practice: str | None
    months: int
    available_hours: float
    billable_hours: float
    utilization: float | None


class Utilization(_Model):
    available: bool
    note: str
    workers: int
    available_hours: float
    billable_hours: float
    utilization: float | None
    by_practice: list[UtilizationGroup]
    by_month: list[UtilizationGroup]
    by_person: list[PersonUtilization]
    distribution: list[float]  # each person's utilization over the months measured (for the histogram)


class RealizationGroup(_Model):
    key: str  # a client, a practice or a month
    invoices: int
    time_billed_base: Decimal
    time_standard_base: Decimal
    realization: float | None


class Realization(_Model):
    available: bool
    note: str
    invoices: int
    time_billed_base: Decimal
    time_standard_base: Decimal
    realization: float | None
    by_client: list[RealizationGroup]
    by_practice: list[RealizationGroup]
    by_month: list[RealizationGroup]


class WipGroup(_Model):
    key: str  # a practice, a client or a month
    projects: int
    wip_base: Decimal


class Wip(_Model):
    available: bool
    note: str
    month: str | None  # the latest month measured
    as_of: date | None
    projects: int
    hours: float
    wip_base: Decimal
    aging: dict[str, Decimal]  # by work date to as_of: 0-30, 31-60, 61-90, 90+
    by_practice: list[WipGroup]
    by_client: list[WipGroup]
    by_month: list[WipGroup]  # the total at each month end (the trend)


class LeakageRule(_Model):
    rule: str
    lines: int
    hours: float
    value_base: Decimal


class LeakageRuleMonth(_Model):
    month: str
    rule: str
    value_base: Decimal


class LeakageClient(_Model):
    client_id: str
    write_down_base: Decimal
    time_standard_base: Decimal


class LeakageMonth(_Model):
    month: str
    write_off_base: Decimal
    write_down_base: Decimal


class Leakage(_Model):
    available: bool
    note: str
    write_off_base: Decimal  # lines written off at exception reviews (R6)
    write_down_base: Decimal  # standard value - billed value of posted invoices, where billed below card (R1)
    total_base: Decimal
    standard_base: Decimal  # time billed at card + lines written off: the value of the work done
    share_of_standard: float | None
    by_rule: list[LeakageRule]
    by_rule_month: list[LeakageRuleMonth]
    by_month: list[LeakageMonth]
    by_client: list[LeakageClient]  # write-downs


# -- utilization -----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _WorkerMonth:
    worker_id: str
    month: str
    practice: str | None
    available_hours: float
    billable_hours: float


def worker_months(events: Iterable[Event]) -> list[_WorkerMonth]:
    """The latest ``delivery.measured`` per (worker, month)."""

    def key(e: Event) -> tuple[str, str] | None:
        worker, month = text(e.data.get("worker_id")), text(e.data.get("month"))
        return (worker, month) if worker and month else None

    found = []
    for (worker, month), e in sorted(latest_per(of_action(events, DELIVERY_MEASURED), key).items()):
        found.append(
            _WorkerMonth(
                worker_id=worker,
                month=month,
                practice=text(e.data.get("practice")),
                available_hours=number(e.data.get("available_hours")) or 0.0,
                billable_hours=number(e.data.get("billable_hours")) or 0.0,
            )
        )
    return found


def _utilization_groups(items: Sequence[_WorkerMonth], key: Any) -> list[UtilizationGroup]:
    grouped: dict[str, list[_WorkerMonth]] = defaultdict(list)
    for item in items:
        grouped[key(item)].append(item)
    groups = []
    for name, members in sorted(grouped.items()):
        capacity = sum(m.available_hours for m in members)
        billable = sum(m.billable_hours for m in members)
        groups.append(
            UtilizationGroup(
                key=name,
                workers=len({m.worker_id for m in members}),
                available_hours=capacity,
                billable_hours=billable,
                utilization=share(billable, capacity),
            )
        )
    return groups


def utilization(events: Sequence[Event]) -> Utilization:
    """Billable hours / available hours (capacity less leave), overall, by practice, month and person."""
    months = worker_months(events)
    if not months:
        return Utilization(
            available=False,
            note="n/a: no delivery.measured record (R4) on the trail",
            workers=0,
            available_hours=0.0,
            billable_hours=0.0,
            utilization=None,
            by_practice=[],
            by_month=[],
            by_person=[],
            distribution=[],
        )
    people: dict[str, list[_WorkerMonth]] = defaultdict(list)
    for m in months:
        people[m.worker_id].append(m)
    by_person = []
    for worker, items in sorted(people.items()):
        capacity, billable = sum(m.available_hours for m in items), sum(m.billable_hours for m in items)
        by_person.append(
            PersonUtilization(
                worker_id=worker,
                practice=items[-1].practice,  # the latest month's practice
                months=len(items),
                available_hours=capacity,
                billable_hours=billable,
                utilization=share(billable, capacity),
            )
        )
    capacity = sum(m.available_hours for m in months)
    billable = sum(m.billable_hours for m in months)
    return Utilization(
        available=True,
        note=f"{len(people)} worker(s) over {len({m.month for m in months})} month(s)",
        workers=len(people),
        available_hours=capacity,
        billable_hours=billable,
        utilization=share(billable, capacity),
        by_practice=_utilization_groups(months, lambda m: m.practice or NO_PRACTICE),
        by_month=_utilization_groups(months, lambda m: m.month),
        by_person=by_person,
        distribution=sorted(p.utilization for p in by_person if p.utilization is not None),
    )


# -- realization -----------------------------------------------------------------------------------------------


def _timed(events: Sequence[Event]) -> list[PostedInvoice]:
    """Posted invoices that bill time and state its value at the rate card."""
    return [
        i
        for i in posted_invoices(events).values()
        if i.time_billed_base is not None and i.time_standard_base is not None and i.time_standard_base > 0
    ]


def _realization_groups(invoices: Sequence[PostedInvoice], key: Any) -> list[RealizationGroup]:
    grouped: dict[str, list[PostedInvoice]] = defaultdict(list)
    for invoice in invoices:
        grouped[key(invoice)].append(invoice)
    groups = []
    for name, items in sorted(grouped.items()):
        billed = total(i.time_billed_base or ZERO for i in items)
        standard = total(i.time_standard_base or ZERO for i in items)
        groups.append(
            RealizationGroup(
                key=name,
                invoices=len(items),
                time_billed_base=billed,
                time_standard_base=standard,
                realization=share(billed, standard),
            )
        )
    return groups


def realization(events: Sequence[Event]) -> Realization:
    """Time billed / the same hours at the rate card, over posted invoices, by client, practice and month."""
    invoices = _timed(events)
    billed = total(i.time_billed_base or ZERO for i in invoices)
    standard = total(i.time_standard_base or ZERO for i in invoices)
    return Realization(
        available=bool(invoices),
        note=f"{len(invoices)} posted invoice(s) billing time"
        if invoices
        else "n/a: no invoice.posted record (R1) carries data.time_billed_base and data.time_standard_base",
        invoices=len(invoices),
        time_billed_base=billed,
        time_standard_base=standard,
        realization=share(billed, standard),
        by_client=_realization_groups(invoices, lambda i: i.client_id),
        by_practice=_realization_groups(invoices, lambda i: i.practice or NO_PRACTICE),
        by_month=_realization_groups(invoices, lambda i: month_of(i.billed_on)),
    )


# -- work in progress ------------------------------------------------------------------------------------------


def _wip_groups(items: Iterable[tuple[str, Event]]) -> list[WipGroup]:
    grouped: dict[str, list[Event]] = defaultdict(list)
    for name, e in items:
        grouped[name].append(e)
    return [
        WipGroup(
            key=name, projects=len(es), wip_base=total(money(e.data.get("wip_base")) or ZERO for e in es)
        )
        for name, es in sorted(grouped.items())
    ]


def _by_month(measured: Mapping[tuple[str, str], Event]) -> dict[str, list[Event]]:
    grouped: dict[str, list[Event]] = defaultdict(list)
    for (month, _), e in measured.items():
        grouped[month].append(e)
    return grouped


def wip(events: Sequence[Event]) -> Wip:
    """Approved, unbilled work at the latest month end measured (R5), and the total at every month end."""

    def key(e: Event) -> tuple[str, str] | None:
        month, project = text(e.data.get("month")), text(e.data.get("project_id"))
        return (month, project) if month and project else None

    measured = latest_per(of_action(events, WIP_MEASURED), key)
    if not measured:
        return Wip(
            available=False,
            note="n/a: no wip.measured record (R5) on the trail",
            month=None,
            as_of=None,
            projects=0,
            hours=0.0,
            wip_base=ZERO,
            aging=dict.fromkeys(WIP_AGING, ZERO),
            by_practice=[],
            by_client=[],
            by_month=[],
        )
    # The latest month the delivery job measured (a month with no project in progress is still that month: WIP
    # nil, not the month before's); a project re-measured at zero (its work billed since) holds none.
    latest_month = max(
        [month for month, _ in measured]
        + [m for e in of_action(events, DELIVERY_MEASURED) if (m := text(e.data.get("month")))]
    )
    latest = [
        e
        for (month, _), e in measured.items()
        if month == latest_month and (money(e.data.get("wip_base")) or ZERO) > 0
    ]
    buckets = dict.fromkeys(WIP_AGING, ZERO)
    for e in latest:
        aged = e.data.get("aging_base")
        for bucket, amount in aged.items() if isinstance(aged, Mapping) else ():
            if bucket in buckets:
                buckets[bucket] += money(amount) or ZERO
    return Wip(
        available=True,
        note=f"{len(latest)} project(s) with approved unbilled work at the end of {latest_month}",
        month=latest_month,
        as_of=max((d for e in latest if (d := as_date(e.data.get("as_of")))), default=None),
        projects=len(latest),
        hours=sum(number(e.data.get("hours")) or 0.0 for e in latest),
        wip_base=total(money(e.data.get("wip_base")) or ZERO for e in latest),
        aging=buckets,
        by_practice=_wip_groups((text(e.data.get("practice")) or NO_PRACTICE, e) for e in latest),
        by_client=_wip_groups((text(e.data.get("client_id")) or "?", e) for e in latest),
        by_month=[
            WipGroup(
                key=month,
                projects=sum(1 for e in es if (money(e.data.get("wip_base")) or ZERO) > 0),
                wip_base=total(money(e.data.get("wip_base")) or ZERO for e in es),
            )
            for month, es in sorted(_by_month(measured).items())
        ],
    )


# -- leakage ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _WrittenOff:
    month: str
    rule: str
    hours: float
    value_base: Decimal


def written_off_lines(events: Iterable[Event]) -> list[_WrittenOff]:
    """Every line an exception review wrote off (R6), charged to the scorer's strongest rule."""
    lines = []
    for e in of_action(events, EXCEPTIONS_SETTLED):
        items = e.data.get("written_off")
        if not isinstance(items, list):
            continue
        month = month_of(as_date(e.data.get("period_start")) or e.timestamp.date())
        for line in items:
            if not isinstance(line, Mapping):
                continue
            rules = line.get("rules") or []
            lines.append(
                _WrittenOff(
                    month=month,
                    rule=str(rules[0]) if rules else UNSCORED,
                    hours=number(line.get("hours")) or 0.0,
                    value_base=money(line.get("value_base")) or ZERO,
                )
            )
    return lines


def _write_down(invoice: PostedInvoice) -> Decimal:
    return max(ZERO, (invoice.time_standard_base or ZERO) - (invoice.time_billed_base or ZERO))


def leakage(events: Sequence[Event]) -> Leakage:
    """Value lost between the work and the bill: lines written off at review (by the scorer's rule) and time billed
    below the rate card (by client); as a share of the work's value (time at card + the lines written off)."""
    lines = written_off_lines(events)
    invoices = _timed(events)
    written_off = total(line.value_base for line in lines)
    written_down = total(_write_down(i) for i in invoices)
    standard = total(i.time_standard_base or ZERO for i in invoices) + written_off
    rules: dict[str, list[_WrittenOff]] = defaultdict(list)
    rule_months: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    months: dict[str, list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    for line in lines:
        rules[line.rule].append(line)
        rule_months[(line.month, line.rule)] += line.value_base
        months[line.month][0] += line.value_base
    clients: dict[str, list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    for invoice in invoices:
        # By the period the invoice billed (its work's month), as the write-offs of that period's reviews are.
        months[month_of(invoice.period_end or invoice.billed_on)][1] += _write_down(invoice)
        clients[invoice.client_id][0] += _write_down(invoice)
        clients[invoice.client_id][1] += invoice.time_standard_base or ZERO
    reviews = [
        e for e in of_action(events, EXCEPTIONS_SETTLED) if isinstance(e.data.get("written_off"), list)
    ]
    available = bool(reviews or invoices)
    by_rule = [
        LeakageRule(
            rule=rule,
            lines=len(items),
            hours=sum(i.hours for i in items),
            value_base=total(i.value_base for i in items),
        )
        for rule, items in rules.items()
    ]
    by_rule.sort(key=lambda r: (-r.value_base, r.rule))
    return Leakage(
        available=available,
        note=f"{len(lines)} line(s) written off, {sum(1 for i in invoices if _write_down(i) > 0)} invoice(s) "
        "billed below the rate card"
        if available
        else "n/a: no exceptions.settled record (R6) and no invoice.posted record with standard value (R1)",
        write_off_base=written_off,
        write_down_base=written_down,
        total_base=written_off + written_down,
        standard_base=standard,
        share_of_standard=share(written_off + written_down, standard),
        by_rule=by_rule,
        by_rule_month=[
            LeakageRuleMonth(month=m, rule=r, value_base=v) for (m, r), v in sorted(rule_months.items())
        ],
        by_month=[
            LeakageMonth(month=m, write_off_base=v[0], write_down_base=v[1])
            for m, v in sorted(months.items())
        ],
        by_client=sorted(
            (
                LeakageClient(client_id=c, write_down_base=v[0], time_standard_base=v[1])
                for c, v in clients.items()
            ),
            key=lambda c: (-c.write_down_base, c.client_id),
        ),
    )
