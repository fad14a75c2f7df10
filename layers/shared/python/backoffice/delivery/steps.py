"""The monthly delivery measurement over the ports: read the month from the HRIS and the PSA, measure it, and put
what changed on the month's trail.

``functions/measure_delivery`` calls ``measure_delivery`` (the schedule, early on the 1st, for the month before;
an operator's ``backoffice delivery measure --month 2026-10`` for any month). The records go on the case
``delivery-YYYY-MM`` (workflow ``delivery``, a job of the firm, not one of its cases: ``audit.JOB_WORKFLOWS``):
one ``delivery.measured`` per worker and one ``wip.measured`` per project with work in progress.

Re-runs: a record is appended only when its data differs from the latest one the case holds for the same worker
(or project), so measuring a month again over the same data appends nothing. When the data changed (a timesheet
corrected, a line billed), the new record supersedes the earlier one: readers take the latest record per
(worker_id, month) and per (project_id, month). A project whose work in progress is gone since the last run gets a
record of zero, so the latest record of every project the case ever listed tells its work in progress.

When to measure: the PSA's lines are read as they stand when the job runs, so work in progress is the month-end
figure only before the month is billed (the billing close runs on the 2nd; this schedule on the 1st). Measured
later, work billed since no longer shows as in progress.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from decimal import Decimal
from typing import Any

from backoffice.audit import Actor, AuditRecord
from backoffice.audit import CaseTrail as Trail
from backoffice.connectors.ports import HrisPort, PsaPort, RecordNotFound, all_pages
from backoffice.delivery.measurement import (
    DeliveryInputs,
    DeliveryMeasurement,
    measure_delivery_month,
    month_bounds,
)
from backoffice.delivery.policy import DeliveryPolicy
from backoffice.models import ExpenseEntry, RateCard, TimeEntry

WORKFLOW = "delivery"  # one of audit.JOB_WORKFLOWS
STEP = "measure delivery"
ACTOR = Actor.system("measure_delivery")
WORKER_ACTION = "delivery.measured"
WIP_ACTION = "wip.measured"
# How far before the month's end lines are read for the work in progress: past the last bucket (90+ days), and
# a year of unbilled work a firm would still bill (the reconciliation reads as far: LINES_LOOKBACK_DAYS).
WIP_LOOKBACK_DAYS = 400
_ZERO_AGING = {"0-30": "0.00", "31-60": "0.00", "61-90": "0.00", "90+": "0.00"}


def case_id_of(month: str) -> str:
    return f"delivery-{month}"


def read_delivery_inputs(month: str, hris: HrisPort, psa: PsaPort) -> DeliveryInputs:
    """The month's workers, lines (and earlier unbilled ones), projects and rate cards, every page read. Reads
    change nothing: a failed read is simply run again."""
    start, end = month_bounds(month)
    lines_from = end - timedelta(days=WIP_LOOKBACK_DAYS)
    workers = all_pages(hris.list_workers)
    time_entries = [
        e for e in all_pages(lambda t: psa.list_time_entries(lines_from, end, t)) if isinstance(e, TimeEntry)
    ]
    expenses = [
        e for e in all_pages(lambda t: psa.list_expenses(lines_from, end, t)) if isinstance(e, ExpenseEntry)
    ]
    projects = {p.id: p for p in all_pages(lambda t: psa.list_billable_projects(start, end, t))}
    rate_cards: dict[str, RateCard | None] = {}
    for project_id in sorted(
        {e.project_id for e in time_entries if start <= e.work_date <= end and e.is_billable}
    ):
        try:
            rate_cards[project_id] = psa.project_rate_card(project_id)
        except RecordNotFound:
            rate_cards[project_id] = None
    return DeliveryInputs(
        month=month,
        workers=workers,
        time_entries=time_entries,
        expenses=expenses,
        projects=projects,
        rate_cards=rate_cards,
    )


def _latest(records: Sequence[AuditRecord], action: str, key: str) -> dict[str, Mapping[str, Any]]:
    latest: dict[str, Mapping[str, Any]] = {}
    for record in records:  # in sequence order: a later record replaces an earlier one
        if record.action == action and record.data.get(key) is not None:
            latest[str(record.data[key])] = record.data
    return latest


def record_measurement(
    measurement: DeliveryMeasurement,
    trail: Trail,
    *,
    actor: Actor = ACTOR,
    why: str,
    execution_arn: str | None = None,
) -> dict[str, Any]:
    """Appends the records whose data changed since the case's latest; returns what was appended and kept."""
    case_id = case_id_of(measurement.month)
    existing = trail.records(case_id)
    workers_before = _latest(existing, WORKER_ACTION, "worker_id")
    wip_before = _latest(existing, WIP_ACTION, "project_id")
    appended = {WORKER_ACTION: 0, WIP_ACTION: 0}

    def append(action: str, data: dict[str, Any], reasons: list[str]) -> None:
        trail.append(
            case_id=case_id,
            workflow=WORKFLOW,
            step=STEP,
            actor=actor,
            action=action,
            outcome="measured",
            reasons=[why, *reasons],
            data=data,
            execution_arn=execution_arn,
        )
        appended[action] += 1

    for worker in measurement.workers:
        data = worker.record_data()
        if workers_before.get(worker.worker_id) != data:
            append(WORKER_ACTION, data, [])
    current_wip = set()
    for wip in measurement.wip:
        data = wip.record_data()
        current_wip.add(wip.project_id)
        if wip_before.get(wip.project_id) != data:
            append(WIP_ACTION, data, [])
    _, as_of = month_bounds(measurement.month)
    for project_id, before in sorted(wip_before.items()):
        if project_id in current_wip or Decimal(str(before.get("wip_base", "0"))) == 0:
            continue
        gone = {
            **before,
            "as_of": as_of.isoformat(),
            "hours": "0.00",
            "lines": 0,
            "wip_base": "0.00",
            "aging_base": dict(_ZERO_AGING),
        }
        append(WIP_ACTION, gone, ["no approved unbilled work left on the project"])
    return {
        "month": measurement.month,
        "case_id": case_id,
        "workers_measured": len(measurement.workers),
        "projects_with_wip": len(measurement.wip),
        "records_appended": sum(appended.values()),
        "worker_records_appended": appended[WORKER_ACTION],
        "wip_records_appended": appended[WIP_ACTION],
        "public_holidays": {day.isoformat(): name for day, name in measurement.holidays.items()},
        "unknown_worker_entries": measurement.unknown_worker_entries[:20],
        "unknown_worker_entry_count": len(measurement.unknown_worker_entries),
        "currencies_without_rate": measurement.currencies_without_rate,
    }


def measure_delivery(
    month: str,
    hris: HrisPort,
    psa: PsaPort,
    trail: Trail,
    policy: DeliveryPolicy,
    *,
    actor: Actor = ACTOR,
    why: str,
    execution_arn: str | None = None,
) -> dict[str, Any]:
    """Measures ``month`` from the HRIS and the PSA and records what changed on its trail."""
    measurement = measure_delivery_month(read_delivery_inputs(month, hris, psa), policy)
    return record_measurement(measurement, trail, actor=actor, why=why, execution_arn=execution_arn)


__all__ = [
    "ACTOR",
    "WIP_ACTION",
    "WORKER_ACTION",
    "WORKFLOW",
    "case_id_of",
    "measure_delivery",
    "read_delivery_inputs",
    "record_measurement",
]
