"""Checks on time entries: duplicates (TE1) and the hours rules (TE7).

Each function reads the columns it needs and adds reasons to ``Flags``; none builds a model or a reason for a
line that passes. Keys of lines seen in earlier periods come from ``AnomalyHistory``, which builds them with
the same ``*_keys`` functions.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Mapping
from datetime import date, timedelta

from backoffice.anomaly.grouping import first_positions, repeats
from backoffice.anomaly.policy import AnomalyPolicy
from backoffice.anomaly.public_holidays import public_holiday_name
from backoffice.anomaly.rows import TimeColumns
from backoffice.anomaly.scored import Flags


def duplicate_time_keys(columns: TimeColumns) -> list[Hashable]:
    """What makes two entries the same work: worker, project, activity, task, date, hours and start."""
    return list(
        zip(
            columns.workers,
            columns.projects,
            columns.activities,
            columns.tasks,
            columns.dates,
            columns.hours,
            columns.starts,
            strict=True,
        )
    )


def flag_duplicate_time(columns: TimeColumns, history: Mapping[Hashable, str], flags: Flags) -> None:
    """TE1: the second entry of the same work. The first one seen (history first, then input order) is the
    original; only the later ones are flagged, so the reviewer rejects the copy, not both."""
    ids = columns.ids
    for index, original in repeats(duplicate_time_keys(columns), ids, history):
        original_id = ids[original] if isinstance(original, int) else original
        flags.add(
            index,
            "duplicate_time",
            f"TE1 duplicate of time entry {original_id}: same worker, project, activity, date and "
            f"{columns.hours[index]:g} h",
        )


class WorkerDays:
    """Each line's worker-day and each worker-day's total hours: what the daily rules look at. A day is
    known by the index of its first line."""

    __slots__ = ("day_of_line", "keys", "totals")

    def __init__(self, columns: TimeColumns) -> None:
        keys = list(zip(columns.workers, columns.dates, strict=True))
        first = first_positions(keys)
        day_of_line = list(map(first.__getitem__, keys))
        totals = dict.fromkeys(first.values(), 0.0)
        for day, hours in zip(day_of_line, columns.hours, strict=True):
            totals[day] += hours
        self.keys: list[tuple[str, date]] = keys  # keys[day]: the day's worker and date
        self.totals = totals
        self.day_of_line = day_of_line

    def lines_of(self, days: set[int]) -> list[int]:
        return [index for index, day in enumerate(self.day_of_line) if day in days]


def flag_daily_hours(days: WorkerDays, policy: AnomalyPolicy, flags: Flags) -> None:
    """TE7: every line of a worker-day whose total exceeds the daily limit (the day is what is wrong)."""
    limit = policy.max_daily_hours + 1e-9
    over = {day for day, total in days.totals.items() if total > limit}
    if not over:
        return
    texts = {
        day: f"TE7 {days.totals[day]:g} h recorded by {days.keys[day][0]} on {days.keys[day][1]:%a %Y-%m-%d} "
        f"(limit {policy.max_daily_hours:g} h)"
        for day in over
    }
    for index in days.lines_of(over):
        flags.add(index, "daily_hours", texts[days.day_of_line[index]])


def flag_weekend_or_holiday(columns: TimeColumns, policy: AnomalyPolicy, flags: Flags) -> None:
    """TE7: time on a Saturday, a Sunday or a public holiday of the policy's calendar."""
    texts: dict[date, str] = {}
    for day in set(columns.dates):
        holiday = public_holiday_name(day, policy.holiday_calendar, policy.extra_holidays)
        if holiday is not None:
            texts[day] = f"TE7 time on a public holiday: {holiday} ({day:%a %Y-%m-%d})"
        elif policy.flag_weekends and day.weekday() >= 5:
            texts[day] = f"TE7 time on a weekend: {day:%A %Y-%m-%d}"
    if not texts:
        return
    for index, day in enumerate(columns.dates):
        if day in texts and columns.hours[index] > 0.0:
            flags.add(index, "weekend_or_holiday", texts[day])


def flag_identical_hours(days: WorkerDays, policy: AnomalyPolicy, flags: Flags) -> None:
    """TE7: the same daily total on at least ``identical_hours_min_days`` worked days in a row.

    People's days vary; a timesheet copied forward does not. Days without time (leave, weekends) neither
    break nor extend a run: the run counts the days the worker recorded.
    """
    minimum = policy.identical_hours_min_days
    keys, totals = days.keys, days.totals
    # A run of n equal days needs a total that occurs n times: only those workers are looked at closely.
    occurrences = Counter(
        zip([keys[day][0] for day in totals], [round(total, 2) for total in totals.values()], strict=True)
    )
    candidates = {worker for (worker, _), count in occurrences.items() if count >= minimum}
    if not candidates:
        return
    by_worker: dict[str, list[int]] = {}
    for day in totals:
        worker = keys[day][0]
        if worker not in candidates:
            continue
        found = by_worker.get(worker)
        if found is None:
            by_worker[worker] = [day]
        else:
            found.append(day)
    flagged: dict[int, str] = {}
    for worker_days in by_worker.values():
        if len(worker_days) < minimum:
            continue
        worker_days.sort(key=lambda day: days.keys[day][1])
        rounded = [round(days.totals[day], 2) for day in worker_days]
        start = 0
        for end in range(1, len(worker_days) + 1):
            if end < len(worker_days) and rounded[end] == rounded[start]:
                continue
            if end - start >= minimum:
                first, last = days.keys[worker_days[start]][1], days.keys[worker_days[end - 1]][1]
                text = (
                    f"TE7 exactly {rounded[start]:g} h every day for {end - start} worked days "
                    f"({first:%Y-%m-%d} to {last:%Y-%m-%d})"
                )
                for day in worker_days[start:end]:
                    flagged[day] = text
            start = end
    if not flagged:
        return
    for index in days.lines_of(set(flagged)):
        flags.add(index, "identical_hours", flagged[days.day_of_line[index]])


def flag_late_entries(columns: TimeColumns, policy: AnomalyPolicy, flags: Flags) -> None:
    """TE7: an entry submitted more than ``late_entry_days`` after the work date is reconstructed memory."""
    allowed = timedelta(days=policy.late_entry_days)
    latest = {day: day + allowed for day in set(columns.dates)}
    dates = columns.dates
    late = [
        index
        for index, (day, submitted) in enumerate(zip(dates, columns.submitted, strict=True))
        if submitted is not None and submitted.date() > latest[day]
    ]
    for index in late:
        submitted_on = columns.submitted[index].date()  # type: ignore[union-attr]
        flags.add(
            index,
            "late_entry",
            f"TE7 submitted {(submitted_on - dates[index]).days} days after the work date "
            f"{dates[index]:%Y-%m-%d} (policy: within {policy.late_entry_days})",
        )


def score_time_rules(
    columns: TimeColumns, policy: AnomalyPolicy, history_keys: Mapping[Hashable, str], flags: Flags
) -> None:
    if policy.is_on("duplicate_time"):
        flag_duplicate_time(columns, history_keys, flags)
    if policy.is_on("daily_hours", "identical_hours"):
        days = WorkerDays(columns)
        if policy.is_on("daily_hours"):
            flag_daily_hours(days, policy, flags)
        if policy.is_on("identical_hours"):
            flag_identical_hours(days, policy, flags)
    if policy.is_on("weekend_or_holiday"):
        flag_weekend_or_holiday(columns, policy, flags)
    if policy.is_on("late_entry"):
        flag_late_entries(columns, policy, flags)
