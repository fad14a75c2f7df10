"""Checks on time entries: duplicates (TE1), the hours rules (TE7) and hours far above the worker's own (TE11).

Each function reads the columns it needs and adds reasons to ``Flags``; none builds a model or a reason for a
line that passes. Keys of lines seen in earlier periods come from ``AnomalyHistory``, which builds them with
the same ``*_keys`` functions.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_left
from collections.abc import Hashable, Mapping
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any

from backoffice.anomaly import vectors
from backoffice.anomaly.expense_rules import robust_center
from backoffice.anomaly.grouping import pick, repeats, segments, where
from backoffice.anomaly.policy import AnomalyPolicy
from backoffice.anomaly.public_holidays import public_holiday_name
from backoffice.anomaly.rows import TimeColumns
from backoffice.anomaly.scored import Flags
from backoffice.anomaly.vectors import (
    cached_codes,
    factorized,
    float_bits,
    floats,
    lines_where,
    made_once,
    maybe_repeated,
    numpy,
)

PastEntry = tuple[str, str | None]  # a past time entry's line id and description


class PastTime(dict[Hashable, list[PastEntry]]):
    """What a history keeps of past time entries: per duplicate key (``duplicate_time_keys``) the entries
    with it, and each worker's daily totals in date order (``day_totals``)."""

    __slots__ = ("day_totals",)

    def __init__(self) -> None:
        super().__init__()
        self.day_totals: dict[str, list[float]] = {}


def duplicate_time_keys(columns: TimeColumns) -> list[Hashable]:
    """What makes two entries candidates for the same work (DOMAIN.md TE1): worker, project, date and hours.
    Not the start time, task or activity: a copy re-keyed without a start time or under another task code is
    still the same work; the descriptions then tell the same work from two pieces of work of equal length."""
    return list(zip(columns.workers, columns.projects, columns.dates, columns.hours, strict=True))


@lru_cache(maxsize=4096)  # the copies of an entry share its description, and teams share theirs
def _words(text: str) -> frozenset[str]:
    return frozenset(_WORD.findall(text.lower()))


_WORD = re.compile(r"[a-z0-9]+")


def like_descriptions(first: str | None, second: str | None, minimum: float) -> bool:
    """Whether two entries' descriptions say the same work: at least ``minimum`` of their words shared
    (Jaccard); an entry without a description (or without a word) says nothing against it."""
    if not first or not second or first == second:
        return True
    words, other = _words(first), _words(second)
    if not words or not other:
        return True
    return len(words & other) / len(words | other) >= minimum


def flag_duplicate_time(
    columns: TimeColumns,
    policy: AnomalyPolicy,
    history: Mapping[Hashable, list[PastEntry]],
    flags: Flags,
) -> None:
    """TE1: the second entry of the same work. The first one seen (history first, then input order) is the
    original; only the later ones are flagged, so the reviewer rejects the copy, not both. Entries of one key
    whose descriptions differ (``like_descriptions``) are two pieces of work that took as long."""
    ids, descriptions, minimum = columns.ids, columns.descriptions, policy.duplicate_description_similarity
    # Keys made and grouped for the lines that may repeat one (the same worker, date and hours: numpy
    # marks them from the codes) or one of the history's (a date the history has) only.
    np = numpy()
    workers, _ = cached_codes(columns.derived, "worker_codes", columns.workers)
    dates, distinct_dates = cached_codes(columns.derived, "date_codes", columns.dates)
    hours = made_once(columns.derived, "hours_array", columns.hours, floats)
    marked = maybe_repeated([workers, dates, float_bits(hours)])
    past_dates = {key[2] for key in history} if history else set()  # type: ignore[index]
    if past_dates:
        marked |= np.array([day in past_dates for day in distinct_dates], dtype=bool)[dates]
    lines = lines_where(marked)
    line_dates = pick(columns.dates, lines)
    keys = list(
        zip(
            pick(columns.workers, lines),
            pick(columns.projects, lines),
            line_dates,
            pick(columns.hours, lines),
            strict=True,
        )
    )
    candidates = repeats(keys, ids, history, lines, part=2, parts=line_dates, history_parts=past_dates)
    if not candidates:
        return
    later_of: dict[int, list[int]] = {}  # the first batch line of a key -> the later ones
    past_of: dict[int, list[PastEntry]] = {}  # the first batch line of a key -> the key's past entries
    for line, original in candidates:
        if isinstance(original, int):
            later_of.setdefault(original, []).append(line)
        else:
            past_of[line] = original
            later_of.setdefault(line, [])
    for first, later in later_of.items():
        seen = [entry for entry in past_of.get(first, ()) if entry[0] != ids[first]]
        for line in [first, *sorted(later)]:
            description = descriptions[line]
            original_id = next(
                (past_id for past_id, past in seen if like_descriptions(past, description, minimum)), None
            )
            if original_id is not None:
                flags.add(
                    line,
                    "duplicate_time",
                    f"TE1 duplicate of time entry {original_id}: same worker, project, date and "
                    f"{columns.hours[line]:g} h" + (", and a like description" if description else ""),
                )
            seen.append((ids[line], description))


class WorkerDays:
    """Each line's worker-day and each worker-day's total hours: what the daily rules look at. A day is
    known by the index of its first line; ``days`` lists them in date order (a date's days in the order of
    their first lines).

    The days are found in numpy from the codes of the workers and the dates (``_coded_days``): a bin per
    (date, worker) pair, each taking its first line. When those bins would outweigh the lines, lines are
    grouped a date at a time (``segments``): the workers of one date fit in a small dict."""

    __slots__ = (
        "_day_array",
        "_day_list",
        "_day_workers",
        "_days_array",
        "_total_list",
        "_totals",
        "_worker_codes",
        "dates",
        "days",
        "workers",
    )

    def __init__(self, columns: TimeColumns) -> None:
        workers, n = columns.workers, len(columns.workers)
        np = numpy()
        self._worker_codes: tuple[Any, list[str]] | None = None
        coded = self._coded_days(columns)
        # The day of every line and the total of every day as lists only when asked (``day_of_line``,
        # ``totals``: a history's): the rules read them in numpy, and for their flagged lines.
        self._day_list: list[int] | None = None
        self._total_list: list[float] | None = None
        if coded is not None:
            self._day_array, self._days_array = coded
            days = self._days_array.tolist()
        else:
            self._day_list, days = _days_by_date(columns)
            self._day_array = np.fromiter(self._day_list, dtype=np.intp, count=n)
            self._days_array = np.fromiter(days, dtype=np.intp, count=len(days))
        # A total per line (the day's at its first line), summed in line order from 0 (np.bincount adds
        # its weights one after the other, as a loop over the lines would).
        hours = made_once(columns.derived, "hours_array", columns.hours, floats)
        self._totals: Any = np.bincount(self._day_array, weights=hours, minlength=n)
        self.days = days
        self.workers, self.dates = workers, columns.dates  # by line, so by day too
        self._day_workers: tuple[Any, list[str]] | None = None

    @property
    def day_of_line(self) -> list[int]:
        """The day of each line."""
        if self._day_list is None:
            self._day_list = self._day_array.tolist()
        return self._day_list

    @property
    def totals(self) -> list[float]:
        """The total of each day, at the day's index (the index of its first line); 0 elsewhere."""
        if self._total_list is None:
            self._total_list = self._totals.tolist()
        return self._total_list

    def total(self, day: int) -> float:
        """The day's total hours."""
        return float(self._totals[day])

    def _coded_days(self, columns: TimeColumns) -> tuple[Any, Any] | None:
        """The day of each line and the days in order, as arrays; None when a bin per (date, worker) would
        outweigh the lines."""
        np = numpy()
        n = len(columns.workers)
        workers, distinct_workers = cached_codes(columns.derived, "worker_codes", columns.workers)
        dates, distinct_dates = cached_codes(columns.derived, "date_codes", columns.dates)
        size = len(distinct_workers) * len(distinct_dates)
        if size > vectors.MAX_BINS_PER_LINE * n + 1024:
            return None
        self._worker_codes = (workers, distinct_workers)
        rank_of = np.empty(len(distinct_dates), dtype=np.intp)  # each date's place in date order
        rank_of[sorted(range(len(distinct_dates)), key=distinct_dates.__getitem__)] = np.arange(
            len(distinct_dates)
        )
        line_ranks = rank_of[dates]
        pairs = line_ranks * len(distinct_workers) + workers
        order = np.arange(n)
        first = np.full(size, n)
        np.minimum.at(first, pairs, order)
        day_array = first[pairs]
        firsts = np.flatnonzero(day_array == order)  # the days, by their first lines in line order
        return day_array, firsts[np.argsort(line_ranks[firsts], kind="stable")]

    def day_workers(self) -> tuple[list[str], Any, list[str]]:
        """The worker of each day (in ``days`` order), as names and as codes (a numpy array) into the
        distinct names."""
        return (pick(self.workers, self.days), *self.day_worker_codes())

    def day_worker_codes(self) -> tuple[Any, list[str]]:
        """The worker of each day (in ``days`` order) as codes (a numpy array) into the distinct names: made
        once for the daily rules (from the lines' codes when they have them, no name read per day)."""
        if self._day_workers is None:
            if self._worker_codes is not None:  # the lines' codes, read at the days
                codes, distinct = self._worker_codes
                self._day_workers = (codes[self._days_array], distinct)
            else:
                self._day_workers = factorized(pick(self.workers, self.days))
        return self._day_workers

    def day_totals(self) -> Any:
        """Each day's total (in ``days`` order), as a numpy array."""
        return self._totals[self._days_array]

    def over(self, limit: float) -> list[int]:
        """The days whose total is above ``limit``, compared in numpy."""
        days = self._days_array
        return days[self._totals[days] > limit].tolist()

    def lines_of(self, days: set[int]) -> list[int]:
        """The lines of the days, in order: looked up in numpy, the day of every line read into an array
        once for the daily rules that ask."""
        return [line for line, _ in self.lines_and_days(days)]

    def lines_and_days(self, days: set[int]) -> list[tuple[int, int]]:
        """The lines of the days, in order, each with its day."""
        np = numpy()
        wanted = np.zeros(len(self._day_array), dtype=bool)
        wanted[np.fromiter(days, dtype=np.intp, count=len(days))] = True
        lines = np.flatnonzero(wanted[self._day_array])
        return list(zip(lines.tolist(), self._day_array[lines].tolist(), strict=True))

    def approved(self, columns: TimeColumns) -> set[int]:
        """The days with overtime approved in the PSA (on any of the day's lines)."""
        approved = where(columns.overtime)
        if not approved:
            return set()
        np = numpy()
        return set(self._day_array[np.fromiter(approved, dtype=np.intp, count=len(approved))].tolist())

    def totals_by_worker(self) -> dict[str, list[float]]:
        """Each worker's daily totals, in date order: what a history keeps of past days."""
        by_worker: dict[str, list[float]] = {}
        totals, workers = self.totals, self.workers
        for day in self.days:
            found = by_worker.get(workers[day])
            if found is None:
                by_worker[workers[day]] = [totals[day]]
            else:
                found.append(totals[day])
        return by_worker


def _days_by_date(columns: TimeColumns) -> tuple[list[int], list[int]]:
    """The day of each line and the days in date order, grouped a date at a time in dicts."""
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
    return day_of_line, days


def flag_daily_hours(days: WorkerDays, policy: AnomalyPolicy, approved: set[int], flags: Flags) -> None:
    """TE7: every line of a worker-day whose total exceeds the daily limit (the day is what is wrong), unless
    the day's overtime was approved."""
    limit = policy.max_daily_hours + 1e-9
    over = set(days.over(limit)) - approved
    if not over:
        return
    texts = {
        day: f"TE7 {days.total(day):g} h recorded by {days.workers[day]} on {days.dates[day]:%a %Y-%m-%d} "
        f"(limit {policy.max_daily_hours:g} h)"
        for day in over
    }
    for index, day in days.lines_and_days(over):
        flags.add(index, "daily_hours", texts[day])


def flag_weekend_or_holiday(columns: TimeColumns, policy: AnomalyPolicy, flags: Flags) -> None:
    """TE7: time on a Saturday, a Sunday or a public holiday of the policy's calendar, unless on overtime
    approved in the PSA. Strength: the hours, over a half day."""
    texts: dict[date, str] = {}
    for day in set(columns.dates):
        holiday = public_holiday_name(day, policy.holiday_calendar, policy.extra_holidays)
        if holiday is not None:
            texts[day] = f"TE7 time on a public holiday: {holiday} ({day:%a %Y-%m-%d})"
        elif policy.flag_weekends and day.weekday() >= 5:
            texts[day] = f"TE7 time on a weekend: {day:%A %Y-%m-%d}"
    if not texts:
        return
    hours, overtime = columns.hours, columns.overtime
    # The lines of those days, found by the dates' codes: a lookup per distinct date, then one in numpy a line.
    codes, distinct = cached_codes(columns.derived, "date_codes", columns.dates)
    off_days = numpy().array([day in texts for day in distinct], dtype=bool)
    for index in lines_where(off_days[codes]):
        if hours[index] > 0.0 and not overtime[index]:
            flags.add(index, "weekend_or_holiday", texts[columns.dates[index]], max(1.0, hours[index] / 4.0))


def flag_identical_hours(
    days: WorkerDays, policy: AnomalyPolicy, past_days: Mapping[str, list[float]], flags: Flags
) -> None:
    """TE7: the same daily total on at least ``identical_hours_min_days`` worked days in a row.

    People's days vary; a timesheet copied forward does not. Days without time (leave, weekends) neither
    break nor extend a run: the run counts the days the worker recorded. A worker whose past days mostly
    have that total (``identical_hours_habit_share``: fixed contract hours) is left alone. Strength: the
    run's length over the minimum.
    """
    minimum = policy.identical_hours_min_days
    day_ids = days.days  # in date order
    codes, _ = days.day_worker_codes()
    # Rounded once per distinct total (a few dozen quarter hours, found by np.unique), not once a day:
    # round() is slow, and numpy's rounding is not Python's.
    np = numpy()
    distinct_totals, total_of_day = np.unique(days.day_totals(), return_inverse=True)
    day_totals = floats([round(total, 2) for total in distinct_totals.tolist()])[total_of_day]
    if len(day_ids) < minimum:
        return
    # Runs found in numpy: the days ordered by worker (a stable sort keeps each worker's in date order),
    # a run starting wherever the worker or the rounded total changes. Only the long runs come back to Python.
    order = np.argsort(codes, kind="stable")
    ordered_workers, ordered_totals = codes[order], day_totals[order]
    starts_run = np.empty(len(order), dtype=bool)
    starts_run[0] = True
    starts_run[1:] = (ordered_workers[1:] != ordered_workers[:-1]) | (
        ordered_totals[1:] != ordered_totals[:-1]
    )
    starts = np.flatnonzero(starts_run)
    lengths = np.diff(np.append(starts, len(order)))
    long_runs = np.flatnonzero(lengths >= minimum)
    dates = days.dates
    flagged: dict[int, tuple[str, float]] = {}
    for start, length in zip(starts[long_runs].tolist(), lengths[long_runs].tolist(), strict=True):
        places = order[start : start + length].tolist()
        worker, total = days.workers[day_ids[places[0]]], float(day_totals[places[0]])
        if _habitual(past_days.get(worker), total, policy):
            continue
        worker_days = pick(day_ids, places)
        first, last = dates[worker_days[0]], dates[worker_days[-1]]
        text = (
            f"TE7 exactly {total:g} h every day for {length} worked days "
            f"({first:%Y-%m-%d} to {last:%Y-%m-%d})"
        )
        for day in worker_days:
            flagged[day] = (text, length / minimum)
    if not flagged:
        return
    for index, day in days.lines_and_days(set(flagged)):
        flags.add(index, "identical_hours", *flagged[day])


def _habitual(past: list[float] | None, total: float, policy: AnomalyPolicy) -> bool:
    """Whether the worker's past days mostly have this total: fixed hours, not a timesheet copied forward."""
    if not past or len(past) < policy.hours_history_min_days:
        return False
    same = sum(1 for hours in past if abs(hours - total) < 0.005)
    return same / len(past) >= policy.identical_hours_habit_share


class PastDays:
    """A worker's past daily totals, sorted, with their median and robust scale (TE11 hours)."""

    __slots__ = ("center", "ordered")

    def __init__(self, totals: list[float]) -> None:
        self.ordered = sorted(totals)
        self.center = robust_center(self.ordered)

    def share_at_or_above(self, total: float) -> float:
        return (len(self.ordered) - bisect_left(self.ordered, total - 0.005)) / len(self.ordered)


def flag_hours_outliers(
    days: WorkerDays,
    policy: AnomalyPolicy,
    past_days: Mapping[str, list[float]],
    approved: set[int],
    flags: Flags,
) -> None:
    """TE11 hours: a day's total far above the worker's own past days (robust z on the history alone, which
    excludes the period scored), by at least ``hours_outlier_min_extra`` hours, unless the day's overtime
    was approved or the worker's past days reached it often enough (``outlier_explained_share``: a
    month-end close every month). Strength: the robust z over its threshold."""
    threshold, extra = policy.robust_z_threshold, policy.hours_outlier_min_extra
    lowest: dict[str, float] = {}  # per worker: the smallest total that can be an outlier
    # Each worker's median and scale (``robust_center``); a worker's past days are kept sorted (``PastDays``)
    # only for a day that is a suspect.
    for worker, totals in past_days.items():
        if len(totals) < policy.hours_history_min_days:
            continue
        center = robust_center(totals)
        if center is not None:
            median, scale = center
            lowest[worker] = median + max(extra, threshold * scale)
    if not lowest:
        return
    workers = days.workers
    # In numpy: each worker's lowest spread to the worker's days (none: +inf), one comparison per day.
    codes, distinct = days.day_worker_codes()
    lowest_of = floats([lowest.get(worker, math.inf) for worker in distinct])
    suspects = pick(days.days, lines_where(days.day_totals() > lowest_of[codes] + 1e-9))
    pasts: dict[str, PastDays] = {}
    flagged: dict[int, tuple[str, float]] = {}
    for day in suspects:
        if day in approved:
            continue
        total = days.total(day)
        past = pasts.get(workers[day]) or pasts.setdefault(workers[day], PastDays(past_days[workers[day]]))
        if past.share_at_or_above(total) >= policy.outlier_explained_share:
            continue
        median, scale = past.center  # type: ignore[misc]
        z = (total - median) / scale
        flagged[day] = (
            f"TE11 {total:g} h recorded by {workers[day]} on {days.dates[day]:%a %Y-%m-%d}: "
            f"{total - median:g} h above the worker's median day ({median:g} h over "
            f"{len(past.ordered)} days, robust z {z:.1f})",
            z / threshold,
        )
    if flagged:
        for index, day in days.lines_and_days(set(flagged)):
            flags.add(index, "hours_outlier", *flagged[day])


def flag_late_entries(columns: TimeColumns, policy: AnomalyPolicy, flags: Flags) -> None:
    """TE7: an entry submitted more than ``late_entry_days`` after the work date is reconstructed memory.
    Strength: the days late over the days allowed."""
    allowed = timedelta(days=policy.late_entry_days)
    dates, submitted = columns.dates, columns.submitted
    # Compared as day numbers in numpy, by the codes of the dates and of the timestamps (a batch has a few
    # hundred distinct ones): the latest day allowed per distinct date, the day of each distinct timestamp
    # (0, before any date, for a line without one: never late).
    np = numpy()
    date_codes, distinct_dates = cached_codes(columns.derived, "date_codes", dates)
    stamp_codes, distinct_stamps = cached_codes(columns.derived, "submitted_codes", submitted)
    latest = np.array([(day + allowed).toordinal() for day in distinct_dates], dtype=np.int64)
    stamped_on = np.array(
        [0 if stamp is None else datetime.date(stamp).toordinal() for stamp in distinct_stamps],
        dtype=np.int64,
    )
    late = lines_where(stamped_on[stamp_codes] > latest[date_codes])
    allowed_days = max(1, policy.late_entry_days)
    for index in late:
        submitted_on = columns.submitted[index].date()  # type: ignore[union-attr]
        days_late = (submitted_on - dates[index]).days
        flags.add(
            index,
            "late_entry",
            f"TE7 submitted {days_late} days after the work date "
            f"{dates[index]:%Y-%m-%d} (policy: within {policy.late_entry_days})",
            days_late / allowed_days,
        )


def score_time_rules(
    columns: TimeColumns,
    policy: AnomalyPolicy,
    history_keys: PastTime,
    flags: Flags,
) -> None:
    """The time rules, against the history's entries by duplicate key and each worker's past daily totals
    (``PastTime.day_totals``: TE7 habits, TE11 hours)."""
    past_days = history_keys.day_totals
    if policy.is_on("duplicate_time"):
        flag_duplicate_time(columns, policy, history_keys, flags)
    if policy.is_on("daily_hours", "identical_hours", "hours_outlier"):
        days = WorkerDays(columns)
        approved = days.approved(columns)
        if policy.is_on("daily_hours"):
            flag_daily_hours(days, policy, approved, flags)
        if policy.is_on("identical_hours"):
            flag_identical_hours(days, policy, past_days, flags)
        if policy.is_on("hours_outlier"):
            flag_hours_outliers(days, policy, past_days, approved, flags)
    if policy.is_on("weekend_or_holiday"):
        flag_weekend_or_holiday(columns, policy, flags)
    if policy.is_on("late_entry"):
        flag_late_entries(columns, policy, flags)
