"""Checks on time entries: duplicates (TE1) and the hours rules (TE7).

Each function reads the columns it needs and adds reasons to ``Flags``; none builds a model or a reason for a
line that passes. Keys of lines seen in earlier periods come from ``AnomalyHistory``, which builds them with
the same ``*_keys`` functions.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from datetime import date, datetime, timedelta
from itertools import islice, repeat
from operator import eq, gt

from backoffice.anomaly.grouping import each_distinct_once, pick, present, repeats, segments, where
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
    for index, original in repeats(duplicate_time_keys(columns), ids, history, part=4):
        original_id = ids[original] if isinstance(original, int) else original
        flags.add(
            index,
            "duplicate_time",
            f"TE1 duplicate of time entry {original_id}: same worker, project, activity, date and "
            f"{columns.hours[index]:g} h",
        )


class WorkerDays:
    """Each line's worker-day and each worker-day's total hours: what the daily rules look at. A day is
    known by the index of its first line; ``days`` lists them in date order.

    Lines are grouped a date at a time (``segments``): the workers of one date fit in a small dict."""

    __slots__ = ("dates", "day_of_line", "days", "totals", "workers")

    def __init__(self, columns: TimeColumns) -> None:
        workers, n = columns.workers, len(columns.workers)
        days: list[int] = []
        day_of_line: list[int] = []
        in_order = True
        for _, lines in segments(columns.dates):
            first: dict[str, int] = {}
            found = list(map(first.setdefault, pick(workers, lines), lines))
            days += first.values()
            if in_order and type(lines) is range and lines.start == len(day_of_line):
                day_of_line += found
            else:
                if in_order:  # lines are not in date order: place each from now on
                    day_of_line += [0] * (n - len(day_of_line))
                    in_order = False
                for line, day in zip(lines, found, strict=True):
                    day_of_line[line] = day
        # A total per line (the day's at its first line), summed in line order.
        totals = [0.0] * n
        for day, hours in zip(day_of_line, columns.hours, strict=True):
            totals[day] += hours
        self.days = days
        self.workers, self.dates = workers, columns.dates  # by line, so by day too
        self.totals = totals
        self.day_of_line = day_of_line

    def lines_of(self, days: set[int]) -> list[int]:
        return where(map(days.__contains__, self.day_of_line))


def flag_daily_hours(days: WorkerDays, policy: AnomalyPolicy, flags: Flags) -> None:
    """TE7: every line of a worker-day whose total exceeds the daily limit (the day is what is wrong)."""
    limit = policy.max_daily_hours + 1e-9
    totals = days.totals
    over = set(pick(days.days, where(map(gt, pick(totals, days.days), repeat(limit)))))
    if not over:
        return
    texts = {
        day: f"TE7 {totals[day]:g} h recorded by {days.workers[day]} on {days.dates[day]:%a %Y-%m-%d} "
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
    hours = columns.hours
    for index in where(map(texts.__contains__, columns.dates)):
        if hours[index] > 0.0:
            flags.add(index, "weekend_or_holiday", texts[columns.dates[index]])


def flag_identical_hours(days: WorkerDays, policy: AnomalyPolicy, flags: Flags) -> None:
    """TE7: the same daily total on at least ``identical_hours_min_days`` worked days in a row.

    People's days vary; a timesheet copied forward does not. Days without time (leave, weekends) neither
    break nor extend a run: the run counts the days the worker recorded.
    """
    minimum = policy.identical_hours_min_days
    day_ids = days.days  # in date order
    day_workers = pick(days.workers, day_ids)
    day_totals = pick(days.totals, day_ids)
    # Rounded once per distinct total (a few dozen quarter hours), not once a day: round() is slow.
    day_totals = each_distinct_once(day_totals, lambda total: round(total, 2))
    by_worker: dict[str, list[int]] = {}
    for place, worker in enumerate(day_workers):
        found = by_worker.get(worker)
        if found is None:
            by_worker[worker] = [place]
        else:
            found.append(place)
    dates, run_of_same = days.dates, b"\x01" * (minimum - 1)
    flagged: dict[int, str] = {}
    for places in by_worker.values():
        if len(places) < minimum:
            continue
        rounded = pick(day_totals, places)
        # A run needs minimum - 1 days in a row each equal to the one before: looked for in C, as most
        # workers have none.
        if bytes(map(eq, rounded, islice(rounded, 1, None))).find(run_of_same) < 0:
            continue
        worker_days = pick(day_ids, places)
        start = 0
        for end in range(1, len(worker_days) + 1):
            if end < len(worker_days) and rounded[end] == rounded[start]:
                continue
            if end - start >= minimum:
                first, last = dates[worker_days[start]], dates[worker_days[end - 1]]
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
    dates, submitted = columns.dates, columns.submitted
    try:  # every line has its timestamp, as in most batches
        late = where(map(gt, map(datetime.date, submitted), map(latest.__getitem__, dates)))  # type: ignore[arg-type]
    except TypeError:
        stamped = present(submitted)
        stamped_on = map(datetime.date, pick(submitted, stamped))  # type: ignore[arg-type]
        late = pick(stamped, where(map(gt, stamped_on, map(latest.__getitem__, pick(dates, stamped)))))
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
