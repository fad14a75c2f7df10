"""The plain-row form of time and expense lines the scorer works on, and its reading into columns.

A row is a dict keyed by the canonical model's field names (``TimeEntry``, ``ExpenseEntry``, with its
receipt facts: what the receipt says, the tip, the card, an advance), the receipt document flattened to
``receipt_sha256``, and optionally the claimant's ``role``. Values may be Python values or their JSON
spelling: dates as ``date`` or ISO text, amounts as float, int, Decimal or text.

The scorer reads rows once into columns (one list per field): every rule then runs a tight loop over the
columns it needs, and the cost per line stays in the low microseconds. A row that cannot be read does not
stop the run: it is scored 1.0 with a reason saying what is wrong with it.

Lines that already arrive column-wise (one list per field) are read by ``time_columns_of`` and
``expense_columns_of`` without a dict per line, for ``scoring.score_columns``; the fields the rules group by
may come coded (``coded_lists``: distinct values and a code per line), as a period's lines file holds them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from operator import itemgetter
from typing import Any, NotRequired, TypedDict

from backoffice.anomaly.grouping import collector_paused, compact_float_array, compact_floats, pick, present
from backoffice.anomaly.scored import LineKind, ScoredLine, unscored_lines
from backoffice.anomaly.vectors import (
    all_in_range,
    converted_codes,
    factorized,
    numpy,
    object_table,
    whole_numbers,
)
from backoffice.models import EXPENSE_RECEIPT_FACTS, ExpenseEntry, TimeEntry


class TimeRow(TypedDict):
    id: str
    worker_id: str
    project_id: str
    activity_type: str
    work_date: date | str
    hours: float | Decimal | str
    task: NotRequired[str | None]
    role: NotRequired[str | None]
    from_time: NotRequired[datetime | None]
    submitted_at: NotRequired[datetime | None]
    description: NotRequired[str | None]
    overtime_approved: NotRequired[bool | None]


class ExpenseRow(TypedDict):
    id: str
    worker_id: str
    expense_date: date | str
    expense_type: str
    amount: float | Decimal | str
    currency: str
    merchant: NotRequired[str | None]
    city: NotRequired[str | None]
    receipt_sha256: NotRequired[str | None]
    attendees: NotRequired[int]
    sanctioned_amount: NotRequired[float | Decimal | str | None]
    project_id: NotRequired[str | None]
    # Facts about the line beyond the expense itself (see LINE_FACTS).
    receipt_amount: NotRequired[float | Decimal | str | None]
    receipt_date: NotRequired[date | str | None]
    receipt_number: NotRequired[str | None]
    tip_amount: NotRequired[float | Decimal | str | None]
    advance_amount: NotRequired[float | Decimal | str | None]
    card_id: NotRequired[str | None]
    nights: NotRequired[int | None]
    trip_id: NotRequired[str | None]
    role: NotRequired[str | None]


# Facts about an expense line beyond the expense itself: what the receipt says and how it was paid (the
# ``ExpenseEntry`` fields ``ENTRY_FACTS``), and the claimant's role for the peer group (default: the worker's
# first role). ``score_lines`` also takes them per expense id, over what the model says.
ENTRY_FACTS = (*EXPENSE_RECEIPT_FACTS, "trip_id")
LINE_FACTS = (*ENTRY_FACTS, "role")


def time_row(entry: TimeEntry) -> dict[str, Any]:
    """The row of a time entry: attribute reads, no validation (the model was validated when built)."""
    return {
        "id": entry.id,
        "worker_id": entry.worker_id,
        "project_id": entry.project_id,
        "activity_type": entry.activity_type,
        "task": entry.task,
        "role": entry.role,
        "work_date": entry.work_date,
        "hours": entry.hours,
        "from_time": entry.from_time,
        "submitted_at": entry.submitted_at,
        "description": entry.description,
        "overtime_approved": entry.overtime_approved,
    }


def expense_row(entry: ExpenseEntry, facts: Mapping[str, Any] | None = None) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": entry.id,
        "worker_id": entry.worker_id,
        "project_id": entry.project_id,
        "expense_date": entry.expense_date,
        "expense_type": entry.expense_type,
        "amount": entry.amount,
        "sanctioned_amount": entry.sanctioned_amount,
        "currency": entry.currency,
        "merchant": entry.merchant,
        "city": entry.city,
        "receipt_sha256": entry.receipt_document.sha256 if entry.receipt_document else None,
        "attendees": entry.attendees,
        **{name: getattr(entry, name) for name in ENTRY_FACTS},
        "role": None,
    }
    if facts:
        _check_facts(entry.id, facts)
        row.update(facts)
    return row


def _check_facts(line_id: str, facts: Mapping[str, Any]) -> None:
    if not _KNOWN_FACTS.issuperset(facts):
        unknown = set(facts) - _KNOWN_FACTS
        raise ValueError(f"unknown line facts for {line_id}: {', '.join(sorted(unknown))}")


def time_entry_lists(entries: Sequence[TimeEntry]) -> dict[str, list[Any]]:
    """Time entries column-wise, as ``time_columns_of`` takes them: attribute reads, no dict per line."""
    return {
        "id": [entry.id for entry in entries],
        "worker_id": [entry.worker_id for entry in entries],
        "project_id": [entry.project_id for entry in entries],
        "activity_type": [entry.activity_type for entry in entries],
        "work_date": [entry.work_date for entry in entries],
        "hours": [entry.hours for entry in entries],
        "task": [entry.task for entry in entries],
        "from_time": [entry.from_time for entry in entries],
        "submitted_at": [entry.submitted_at for entry in entries],
        "description": [entry.description for entry in entries],
        "overtime_approved": [entry.overtime_approved for entry in entries],
    }


def expense_entry_lists(
    entries: Sequence[ExpenseEntry], line_facts: Mapping[str, Mapping[str, Any]] | None = None
) -> dict[str, list[Any]]:
    """Expenses column-wise, as ``expense_columns_of`` takes them, with the ``LINE_FACTS`` each entry
    carries, over which those of its id in ``line_facts`` go (as ``expense_row``: an unknown fact raises
    ValueError)."""
    found = [(line_facts or {}).get(entry.id) for entry in entries]
    for entry, facts in zip(entries, found, strict=True):
        if facts:
            _check_facts(entry.id, facts)
    lists: dict[str, list[Any]] = {
        "id": [entry.id for entry in entries],
        "worker_id": [entry.worker_id for entry in entries],
        "expense_date": [entry.expense_date for entry in entries],
        "expense_type": [entry.expense_type for entry in entries],
        "amount": [entry.amount for entry in entries],
        "currency": [entry.currency for entry in entries],
        "merchant": [entry.merchant for entry in entries],
        "city": [entry.city for entry in entries],
        "receipt_sha256": [
            entry.receipt_document.sha256 if entry.receipt_document else None for entry in entries
        ],
        "attendees": [entry.attendees for entry in entries],
        "sanctioned_amount": [entry.sanctioned_amount for entry in entries],
    }
    for name in ENTRY_FACTS:
        lists[name] = [getattr(entry, name) for entry in entries]
    lists["role"] = [None] * len(entries)
    for line, facts in enumerate(found):
        for name, value in (facts or {}).items():
            lists[name][line] = value
    return lists


def time_json_lists(bodies: Sequence[Mapping[str, Any]]) -> dict[str, list[Any]]:
    """Time entries in their JSON form (``TimeEntry.to_json_dict``: dates and timestamps as ISO text)
    column-wise, as ``time_columns_of`` takes them, hours as numbers (``json_numbers``); a line's missing
    field is None. Kept as JSON, the lists decode straight into what the scorer reads fastest."""
    lists = {name: [body.get(name) for body in bodies] for name in TIME_COLUMN_FIELDS}
    lists["hours"] = json_numbers(lists["hours"])
    return lists


EXPENSE_AMOUNTS = ("amount", "sanctioned_amount", "receipt_amount", "tip_amount", "advance_amount")


def expense_json_lists(bodies: Sequence[Mapping[str, Any]]) -> dict[str, list[Any]]:
    """Expenses in their JSON form (``ExpenseEntry.to_json_dict``) column-wise, as ``expense_columns_of``
    takes them: the receipt document's checksum for ``receipt_sha256``, amounts as numbers
    (``json_numbers``); a line's missing field is None (``attendees``: 1)."""
    lists = {
        name: [body.get(name) for body in bodies]
        for name in EXPENSE_COLUMN_FIELDS
        if name not in ("receipt_sha256", "attendees")
    }
    lists["receipt_sha256"] = [(body.get("receipt_document") or {}).get("sha256") for body in bodies]
    lists["attendees"] = [body.get("attendees", 1) for body in bodies]
    for name in EXPENSE_AMOUNTS:
        lists[name] = json_numbers(lists[name])
    return lists


def json_numbers(values: list[Any]) -> list[Any]:
    """Decimal text (how the models write money and hours) as numbers, for a scorer's file: a float holds
    any amount to the cent and hours to the minute exactly enough for scoring, and JSON decodes a number
    without a parse of ours. Anything else (None, a value that is no number) is kept as it is, for the
    scorer to report."""
    found: list[Any] = []
    for value in values:
        if type(value) is str:
            try:
                number = float(value)
            except ValueError:
                number = math.nan
            found.append(number if math.isfinite(number) else value)
        else:
            found.append(value)
    return found


_KNOWN_FACTS = frozenset(LINE_FACTS)


# The fields a lines file may hold coded (``coded_lists``): those the rules group lines by.
CODED_FIELDS = frozenset(
    ("worker_id", "work_date", "submitted_at", "expense_date", "expense_type", "currency", "merchant", "city")
)


def coded_lists(lists: Mapping[str, Sequence[Any]]) -> dict[str, Any]:
    """The lists with each of the ``CODED_FIELDS`` as a coded column: ``{"values": [...], "codes": [...]}``,
    the distinct values in order of first occurrence and each line's place among them, as a period's lines
    file holds them ("Open billing period" writes it once; ``time_columns_of`` and ``expense_columns_of``
    take either form).

    Why: the rules group lines by worker, date, type, merchant and city, and the scorer reads each such
    column into codes first. From a list of text that costs a hash of every line's own string (the decoded
    file makes a new one per line, scattered in memory); from codes, one pass in C, and every line of a
    worker then shares one string, hashed once. The file gets smaller too."""
    found: dict[str, Any] = {}
    for name, values in lists.items():
        found[name] = values
        if name in CODED_FIELDS:
            place: dict[Any, int] = {}
            try:
                codes = [place.setdefault(value, len(place)) for value in values]
            except TypeError:  # a value that cannot be hashed: kept as it came, for the scorer to report
                continue
            found[name] = {"values": list(place), "codes": codes}
    return found


def _is_coded(column: Any) -> bool:
    return type(column) is dict


def _column_length(column: Any) -> int:
    return len(column["codes"]) if _is_coded(column) else len(column)


def _uncoded(lists: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, tuple[Any, list[Any]]]]:
    """The lists with every coded column read back into a list of its values (the lines of one value
    sharing one object), and for each coded field whose codes are what ``vectors.factorized`` of that list
    gives (distinct values, numbered in order of first occurrence), those codes: the rules take them as
    made by ``factorized``. Codes that are not so (another writer's numbering) are left for the rules to
    make; codes that do not fit their values raise ValueError."""
    plain: dict[str, Any] = {}
    coded: dict[str, tuple[Any, list[Any]]] = {}
    for name, column in lists.items():
        if not _is_coded(column):
            plain[name] = column
            continue
        if set(column) != {"values", "codes"}:
            raise ValueError(f"coded column {name} needs values and codes, not {', '.join(sorted(column))}")
        values, codes = list(column["values"]), column["codes"]
        try:
            # Read in C as whole numbers (a float or a text among them is refused), not one call per code.
            code_array = whole_numbers(codes)
        except (TypeError, OverflowError) as error:
            raise ValueError(f"coded column {name}: codes must be whole numbers") from error
        if len(code_array) and (code_array.min() < 0 or code_array.max() >= len(values)):
            raise ValueError(f"coded column {name}: a code outside its {len(values)} values")
        plain[name] = object_table(values)[code_array].tolist()
        if _numbered_by_first_occurrence(code_array, values):
            coded[name] = (code_array, values)
    return plain, coded


def _numbered_by_first_occurrence(codes: Any, values: list[Any]) -> bool:
    """True when the values are distinct, each is used, and each code first appears right after the
    highest code before it: the numbering ``vectors.factorized`` gives."""
    try:
        if len(dict.fromkeys(values)) != len(values):
            return False
    except TypeError:  # a value that cannot be hashed: the rules report it
        return False
    if not len(codes):
        return not values
    np = numpy()
    highest = np.maximum.accumulate(codes)
    return bool(
        codes[0] == 0 and int(highest[-1]) == len(values) - 1 and (codes[1:] <= highest[:-1] + 1).all()
    )


# ------------------------------------------------------------------------------------------------------------
# Reading rows into columns
# ------------------------------------------------------------------------------------------------------------


def as_date(value: object) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        return date.fromisoformat(value)
    raise TypeError("not a date")


def as_datetime(value: object) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    if isinstance(value, str):
        return datetime.fromisoformat(value)
    raise TypeError("not a timestamp")


def _coded_dates(
    raw: list[Any], derived: dict[str, Any], coded: tuple[Any, list[Any]] | None = None
) -> list[date]:
    """The dates of the lines, each distinct value read once (a batch holds a few dozen dates), and their
    codes kept in ``derived`` (``date_codes``, see ``vectors.cached_codes``) for the rules that look a line's
    date up: the codes come from the pass over the column the conversion makes anyway (``coded``: the raw
    values' codes, when the lines file had them)."""
    dates, codes, distinct = converted_codes(raw, as_date, coded=coded)
    derived["date_codes"] = (dates, (codes, distinct))
    return dates  # type: ignore[return-value]


_TIMESTAMP_TYPES = frozenset((datetime, type(None)))
_TIMESTAMP_TEXT = frozenset((str, type(None)))


def _timestamps(
    raw: list[Any],
    derived: dict[str, Any] | None = None,
    name: str = "",
    coded: tuple[Any, list[Any]] | None = None,
) -> list[datetime | None]:
    missing = raw.count(None)
    if missing == len(raw):  # a field the lines do not have: counted in C, no type looked up per line
        return raw
    if missing * 2 > len(raw):  # a field few lines have: those read, the others stay None
        stamped = present(raw)
        found: list[datetime | None] = [None] * len(raw)
        for line, stamp in zip(stamped, _timestamps(pick(raw, stamped)), strict=True):
            found[line] = stamp
        return found
    try:
        # Hashed once: the kinds and the parsing then go by distinct value. With ``derived``, each line's
        # code is kept too, for the rules that look a line's timestamp up.
        if coded is None and derived is not None:
            coded = factorized(raw)
        distinct = coded[1] if coded is not None else set(raw)
    except TypeError:  # a value that is no timestamp and cannot be hashed either
        return [as_datetime(value) for value in raw]
    kinds = set(map(type, distinct))
    if kinds <= _TIMESTAMP_TYPES:
        if derived is not None:
            derived[name] = (raw, coded)
        return raw
    if kinds <= _TIMESTAMP_TEXT:  # as JSON spells them: parsed without a call of ours per line
        if len(distinct) * 2 < len(raw):  # a timesheet's lines share the time it was submitted
            if derived is not None:
                stamps, codes, distinct_stamps = converted_codes(raw, as_datetime, coded=coded)
                derived[name] = (stamps, (codes, distinct_stamps))
                return stamps  # type: ignore[return-value]
            converted = {value: as_datetime(value) for value in distinct}
            return list(map(converted.__getitem__, raw))
        parse = datetime.fromisoformat
        return [None if value is None else parse(value) for value in raw]
    return [as_datetime(value) for value in raw]


def _all_in_range(values: list[float], low: float, high: float) -> bool:
    """True when every value is a number from low to high (NaN is not)."""
    if not values:
        return True
    # The sum is NaN when a value is (values at or above 0 never add up to inf - inf): one pass in C, not a
    # call per value.
    return min(values) >= low and max(values) <= high and not math.isnan(sum(values))


@dataclass(slots=True)
class TimeColumns:
    ids: list[str]
    workers: list[str]
    projects: list[str]
    activities: list[str]
    tasks: list[str | None]
    dates: list[date]
    hours: list[float]
    starts: list[datetime | None]
    submitted: list[datetime | None]
    descriptions: list[str | None]
    overtime: list[bool | None]  # overtime approved in the PSA (None: not said, as False)
    invalid: dict[int, str] = field(default_factory=dict)  # line index -> what is wrong with it
    unflagged: list[ScoredLine] | None = None  # see _columns
    # What several rules derive from the same columns (codes of a column, ``vectors.cached_codes``).
    derived: dict[str, Any] = field(default_factory=dict)


# Optional per-line facts read with the columns, for the rules that need them.
EXPENSE_FACTS = ("sanctioned_amount", *LINE_FACTS)


@dataclass(slots=True)
class ExpenseColumns:
    ids: list[str]
    workers: list[str]
    dates: list[date]
    types: list[str]
    amounts: list[float]  # in the line's currency
    currencies: list[str]
    base: list[float]  # in the policy currency; NaN when no rate converts it
    merchants: list[str | None]
    cities: list[str | None]
    receipts: list[str | None]
    attendees: list[int]
    facts: dict[str, list[Any]]  # EXPENSE_FACTS: one column each, None where a row lacks it
    invalid: dict[int, str] = field(default_factory=dict)
    unflagged: list[ScoredLine] | None = None  # see _columns
    # The lines with a receipt, found once for the rules that ask: a checksum is a string of its own per
    # line, scattered in memory, and each pass over the column fetches every one of them.
    _receipt_lines: list[int] | None = None
    # What several rules derive from the same columns, computed once (see ``expense_rules.round_counts``).
    derived: dict[str, Any] = field(default_factory=dict)

    def fact(self, name: str) -> list[Any]:
        return self.facts[name]

    def receipt_lines(self) -> list[int]:
        """The lines with a receipt (a checksum), in order."""
        if self._receipt_lines is None:
            self._receipt_lines = present(self.receipts)
        return self._receipt_lines


def time_columns(rows: Sequence[Mapping[str, Any]], *, scored: bool = False) -> TimeColumns:
    """The rows' columns; ``scored``: with each line's ``ScoredLine`` before any check (``unflagged``)."""
    try:
        columns = _time_columns_fast(rows, scored)
    except (KeyError, TypeError, ValueError, AttributeError):
        return _time_columns_checked(rows)
    if not _all_in_range(columns.hours, 0.0, 24.0):
        return _time_columns_checked(rows)
    return columns


def time_columns_of(lists: Mapping[str, Sequence[Any]], *, scored: bool = False) -> TimeColumns:
    """The columns of time lines that arrive column-wise: one list per row field, keyed by its name
    (``TimeRow``: ``id``, ``worker_id``, ``project_id``, ``activity_type``, ``work_date``, ``hours``, and
    optionally ``task``, ``role``, ``from_time``, ``submitted_at``, ``description``,
    ``overtime_approved``), all of one length. Values are read as in a row (dates as ``date`` or ISO text,
    hours as float, Decimal or text). No dict is built per line.

    A missing required list, an unknown name or lists of different lengths raise ValueError; a line that
    cannot be read (None in a required list: the line has no such field) is scored 1.0 with the reason, as
    with rows. ``scored`` as for ``time_columns``. Any of the ``CODED_FIELDS`` may be a coded column instead
    of a list (``coded_lists``); codes outside their values, or that are not whole numbers, raise
    ValueError."""
    length = _length_of(lists, _TIME_FIELDS, TIME_COLUMN_FIELDS, "time")
    with collector_paused():
        return _time_columns_of(lists, length, scored)


def _time_columns_of(lists: Mapping[str, Sequence[Any]], length: int, scored: bool) -> TimeColumns:
    lists, coded = _uncoded(lists)
    ids, workers, projects, activities, dates, hours = (_as_list(lists[name]) for name in _TIME_FIELDS)
    tasks, starts, submitted, descriptions, overtime = (
        _optional_list(lists, name, length) for name in _TIME_OPTIONAL
    )
    derived: dict[str, Any] = {}
    if "worker_id" in coded:
        derived["worker_codes"] = (workers, coded["worker_id"])
    try:
        hours, hours_array = compact_float_array(hours)
        derived["hours_array"] = (hours, hours_array)
        columns = TimeColumns(
            ids=ids,
            workers=workers,
            projects=projects,
            activities=activities,
            tasks=tasks,
            dates=_coded_dates(dates, derived, coded.get("work_date")),
            hours=hours,
            starts=_timestamps(starts),
            submitted=_timestamps(submitted, derived, "submitted_codes", coded.get("submitted_at")),
            descriptions=descriptions,
            overtime=overtime,
            derived=derived,
        )
    except (TypeError, ValueError, AttributeError):
        return _time_columns_checked(_rows_of(lists))
    if not all_in_range(hours_array, 0.0, 24.0):
        return _time_columns_checked(_rows_of(lists))
    if scored:
        columns.unflagged = unscored_lines(columns.ids, "time")
    return columns


def _length_of(
    lists: Mapping[str, Sequence[Any]], required: tuple[str, ...], known: tuple[str, ...], kind: str
) -> int:
    """The number of lines, once the lists are known to be those of a line kind and of one length."""
    missing = [name for name in required if name not in lists]
    if missing:
        raise ValueError(f"{kind} columns without {', '.join(missing)}")
    unknown = sorted(set(lists) - set(known))
    if unknown:
        raise ValueError(f"unknown {kind} columns: {', '.join(unknown)}")
    lengths = {name: _column_length(values) for name, values in lists.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"{kind} columns of different lengths: {lengths}")
    return lengths[required[0]]


def _as_list(values: Sequence[Any]) -> list[Any]:
    # Taken as they are when a list: the scorer only reads its columns.
    return values if type(values) is list else list(values)


def _optional_list(lists: Mapping[str, Sequence[Any]], name: str, length: int) -> list[Any]:
    values = lists.get(name)
    return [None] * length if values is None else _as_list(values)


def _rows_of(lists: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """Rows from the lists, for the checked path only: it says which line is wrong and why. A None in a
    list is a field the line does not have, as in a row without the key."""
    names = list(lists)
    return [
        {name: value for name, value in zip(names, values, strict=True) if value is not None}
        for values in zip(*lists.values(), strict=True)
    ]


_TIME_FIELDS = ("id", "worker_id", "project_id", "activity_type", "work_date", "hours")
_TIME_OPTIONAL = ("task", "from_time", "submitted_at", "description", "overtime_approved")
# The lists ``time_columns_of`` takes (a row's fields; ``role`` is accepted and not read).
TIME_COLUMN_FIELDS = (*_TIME_FIELDS, *_TIME_OPTIONAL, "role")

# Rows read per pass: their dicts and values stay in the CPU cache until the chunk is transposed.
_CHUNK = 256


def _columns(
    rows: Sequence[Mapping[str, Any]],
    required: tuple[str, ...],
    optional: tuple[str, ...],
    kind: LineKind | None = None,
    floats: tuple[int, ...] = (),
) -> tuple[list[list[Any]], list[ScoredLine] | None]:
    """The rows' fields as columns, required ones first.

    Rows are read once each, every field in one visit, by ``itemgetter`` in C, when every row has every key
    (rows from ``time_row``, ``expense_row``, the generator); otherwise ``get`` fills the optional ones with
    None, and a missing required one raises KeyError. Rows parsed or generated over time lie scattered in
    memory, and even counting a reference to a value fetches it: so a chunk of rows is read into tuples and
    transposed (``zip``) while it is still in the cache, rather than all rows at once, which would fetch
    every value from memory three times (read, transpose, free the tuple).

    With a ``kind``, each line's ``ScoredLine`` (score 0, no reason) is made here too, while its id is in
    the cache: most lines are returned as they are, and made at the end they would cost a fetch of every
    id from memory. The id is the first required field. The fields at the places ``floats`` are read as
    floats (``compact_floats``), chunk by chunk for the same reason."""
    width = len(required) + len(optional)
    columns: list[list[Any]] = [[] for _ in range(width)]
    extends = [column.extend for column in columns]
    read_all, read_required = itemgetter(*required, *optional), itemgetter(*required)
    unflagged: list[ScoredLine] = []
    for start in range(0, len(rows), _CHUNK):
        chunk = rows[start : start + _CHUNK]
        try:
            records = list(map(read_all, chunk))
        except KeyError:
            records = [(*read_required(row), *(row.get(name) for name in optional)) for row in chunk]
        for place, (extend, values) in enumerate(zip(extends, zip(*records, strict=True), strict=True)):
            extend(compact_floats(values) if place in floats else values)
        if kind is not None:
            unflagged += unscored_lines(columns[0][start:], kind)
    return columns, (unflagged if kind is not None else None)


def _time_columns_fast(rows: Sequence[Mapping[str, Any]], scored: bool) -> TimeColumns:
    (
        (ids, workers, projects, activities, dates, hours, tasks, starts, submitted, descriptions, overtime),
        unflagged,
    ) = _columns(rows, _TIME_FIELDS, _TIME_OPTIONAL, "time" if scored else None, floats=(5,))
    derived: dict[str, Any] = {}
    return TimeColumns(
        ids=ids,
        workers=workers,
        projects=projects,
        activities=activities,
        tasks=tasks,
        dates=_coded_dates(dates, derived),
        hours=hours,
        starts=_timestamps(starts),
        submitted=_timestamps(submitted, derived, "submitted_codes"),
        descriptions=descriptions,
        overtime=overtime,
        unflagged=unflagged,
        derived=derived,
    )


_PLACEHOLDER_DATE = date(1970, 1, 1)


def _nobody(index: int) -> str:
    # A worker id of its own, so that a placeholder never meets another line in a group (day, duplicate).
    return f"\x00unreadable-{index}"


def _time_columns_checked(rows: Sequence[Mapping[str, Any]]) -> TimeColumns:
    """The slow path, row by row: a bad row is kept as an inert placeholder and reported."""
    columns = TimeColumns([], [], [], [], [], [], [], [], [], [], [])
    for index, row in enumerate(rows):
        line_id = str(row.get("id") or f"line {index + 1}")
        try:
            hours = float(row["hours"])
            if not 0.0 <= hours <= 24.0:
                raise ValueError(f"hours {hours:g} are outside 0 to 24")
            values = (
                str(row["worker_id"]),
                str(row["project_id"]),
                str(row["activity_type"]),
                row.get("task"),
                as_date(row["work_date"]),
                hours,
                as_datetime(row.get("from_time")),
                as_datetime(row.get("submitted_at")),
                row.get("description"),
                row.get("overtime_approved"),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            columns.invalid[index] = _what_is_wrong("time entry", line_id, error)
            values = (_nobody(index), "", "", None, _PLACEHOLDER_DATE, 0.0, None, None, None, None)
        columns.ids.append(line_id)
        for column, value in zip(
            (
                columns.workers,
                columns.projects,
                columns.activities,
                columns.tasks,
                columns.dates,
                columns.hours,
                columns.starts,
                columns.submitted,
                columns.descriptions,
                columns.overtime,
            ),
            values,
            strict=True,
        ):
            column.append(value)  # type: ignore[attr-defined]
    return columns


def expense_columns(
    rows: Sequence[Mapping[str, Any]], currency: str, fx_rates: Mapping[str, float], *, scored: bool = False
) -> ExpenseColumns:
    """The rows' columns, amounts also in ``currency``; ``scored`` as for ``time_columns``."""
    try:
        columns = _expense_columns_fast(rows, currency, fx_rates, scored)
    except (KeyError, TypeError, ValueError, AttributeError):
        return _expense_columns_checked(rows, currency, fx_rates)
    if not _readable(columns):
        return _expense_columns_checked(rows, currency, fx_rates)
    return columns


def expense_columns_of(
    lists: Mapping[str, Sequence[Any]],
    currency: str = "USD",
    fx_rates: Mapping[str, float] | None = None,
    *,
    scored: bool = False,
) -> ExpenseColumns:
    """The columns of expense lines that arrive column-wise: one list per row field, keyed by its name
    (``ExpenseRow``: ``id``, ``worker_id``, ``expense_date``, ``expense_type``, ``amount``, ``currency``,
    and optionally ``merchant``, ``city``, ``receipt_sha256``, ``attendees``, ``sanctioned_amount``,
    ``project_id`` and the ``LINE_FACTS``), all of one length; amounts also in ``currency`` (``score_columns``
    converts them again to its policy's currency). Coded columns and errors as for ``time_columns_of``."""
    length = _length_of(lists, _EXPENSE_FIELDS, EXPENSE_COLUMN_FIELDS, "expense")
    with collector_paused():
        return _expense_columns_of(lists, length, currency, fx_rates or {}, scored)


def _expense_columns_of(
    lists: Mapping[str, Sequence[Any]],
    length: int,
    currency: str,
    fx_rates: Mapping[str, float],
    scored: bool,
) -> ExpenseColumns:
    lists, coded = _uncoded(lists)
    required = [_as_list(lists[name]) for name in _EXPENSE_FIELDS]
    optional = [_optional_list(lists, name, length) for name in _EXPENSE_OPTIONAL]
    try:
        required[4], amounts = compact_float_array(required[4])
        columns = _expense_columns_made([*required, *optional], currency, fx_rates, None, amounts, coded)
    except (TypeError, ValueError, AttributeError):
        return _expense_columns_checked(_rows_of(lists), currency, fx_rates)
    if not _readable(columns, amounts):
        return _expense_columns_checked(_rows_of(lists), currency, fx_rates)
    if scored:
        columns.unflagged = unscored_lines(columns.ids, "expense")
    return columns


def _readable(columns: ExpenseColumns, amount_array: Any = None) -> bool:
    """False when an amount or a number of attendees is not one a line can have (the checked path says
    which line and why). ``amount_array``: the amounts as a numpy array, checked there."""
    amounts = columns.amounts
    if amount_array is not None:
        if not all_in_range(amount_array, 0.0, math.inf) or (amounts and amount_array.max() == math.inf):
            return False
    elif not _all_in_range(amounts, 0.0, math.inf) or (amounts and max(amounts) == math.inf):
        return False
    attendees = columns.attendees
    if not attendees:
        return True
    known = columns.derived.get("attendee_types")
    kinds = known[1] if known is not None and known[0] is attendees else set(map(type, attendees))
    if kinds != {int}:
        return False
    # Whole numbers all: read into an array once (kept for the rules, ``expense_rules._alone``), the
    # smallest found there; None when one does not fit in 64 bits (then compared in Python).
    numbers = _int64s(attendees)
    columns.derived["attendee_array"] = (attendees, numbers)
    return (int(numbers.min()) if numbers is not None else min(attendees)) >= 1


def _int64s(values: list[int]) -> Any:
    """The whole numbers as an int64 array; None when one does not fit."""
    np = numpy()
    try:
        return np.fromiter(values, dtype=np.int64, count=len(values))
    except (OverflowError, TypeError, ValueError):
        return None


def to_base(
    amounts: list[float], currencies: list[str], currency: str, fx_rates: Mapping[str, float]
) -> list[float]:
    if all(c == currency for c in set(currencies)):
        return amounts
    rates = {c: (1.0 if c == currency else fx_rates.get(c, math.nan)) for c in set(currencies)}
    return [a * rates[c] for a, c in zip(amounts, currencies, strict=True)]


_EXPENSE_FIELDS = ("id", "worker_id", "expense_date", "expense_type", "amount", "currency")
_EXPENSE_OPTIONAL = ("merchant", "city", "receipt_sha256", "attendees", *EXPENSE_FACTS)
# The lists ``expense_columns_of`` takes (a row's fields; ``project_id`` is accepted and not read).
EXPENSE_COLUMN_FIELDS = (*_EXPENSE_FIELDS, *_EXPENSE_OPTIONAL, "project_id")


def _expense_columns_fast(
    rows: Sequence[Mapping[str, Any]], currency: str, fx_rates: Mapping[str, float], scored: bool
) -> ExpenseColumns:
    columns, unflagged = _columns(
        rows, _EXPENSE_FIELDS, _EXPENSE_OPTIONAL, "expense" if scored else None, floats=(4,)
    )
    return _expense_columns_made(columns, currency, fx_rates, unflagged)


def _expense_columns_made(
    columns: list[list[Any]],
    currency: str,
    fx_rates: Mapping[str, float],
    unflagged: list[ScoredLine] | None,
    amount_array: Any = None,
    coded: Mapping[str, tuple[Any, list[Any]]] | None = None,
) -> ExpenseColumns:
    """The columns from the lists of the required and optional fields, in order, amounts as floats
    (``amount_array``: the same as a numpy array, kept for the rules)."""
    ids, workers, dates, types, amounts, currencies, merchants, cities, receipts, attendees = columns[:10]
    derived: dict[str, Any] = {}
    attendee_types = set(map(type, attendees))
    if type(None) in attendee_types:  # not ``None in``: that compares every int with None
        attendees = [n or 1 for n in attendees]
    else:  # kept for ``_readable``, which asks the same of the same list
        derived["attendee_types"] = (attendees, attendee_types)
    if amount_array is not None:
        derived["amount_array"] = (amounts, amount_array)
    coded = coded or {}
    # The codes the lines file had, under the names the rules keep them by (``expense_rules._array_of``).
    for field_name, column, code_name in (
        ("worker_id", workers, "worker_codes"),
        ("expense_type", types, "type_codes"),
        ("merchant", merchants, "merchant_codes"),
        ("city", cities, "city_codes"),
    ):
        if field_name in coded:
            derived[code_name] = (column, coded[field_name])
    return ExpenseColumns(
        ids=ids,
        workers=workers,
        dates=_coded_dates(dates, derived, coded.get("expense_date")),
        types=types,
        amounts=amounts,
        currencies=currencies,
        base=to_base(amounts, currencies, currency, fx_rates),
        merchants=merchants,
        cities=cities,
        receipts=receipts,
        attendees=attendees,
        facts=dict(zip(EXPENSE_FACTS, columns[10:], strict=True)),
        unflagged=unflagged,
        derived=derived,
    )


def _expense_columns_checked(
    rows: Sequence[Mapping[str, Any]], currency: str, fx_rates: Mapping[str, float]
) -> ExpenseColumns:
    columns = ExpenseColumns([], [], [], [], [], [], [], [], [], [], [], {name: [] for name in EXPENSE_FACTS})
    for index, row in enumerate(rows):
        line_id = str(row.get("id") or f"line {index + 1}")
        try:
            amount = float(row["amount"])
            if not math.isfinite(amount) or amount < 0:
                raise ValueError(f"amount {row['amount']} is not a non-negative number")
            attendees = int(row.get("attendees") or 1)
            if attendees < 1:
                raise ValueError("attendees must be at least 1")
            values = (
                str(row["worker_id"]),
                as_date(row["expense_date"]),
                str(row["expense_type"]),
                amount,
                str(row["currency"]),
                row.get("merchant"),
                row.get("city"),
                row.get("receipt_sha256"),
                attendees,
            )
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            columns.invalid[index] = _what_is_wrong("expense", line_id, error)
            values = (_nobody(index), _PLACEHOLDER_DATE, "", 0.0, currency, None, None, None, 1)
        columns.ids.append(line_id)
        for column, value in zip(
            (
                columns.workers,
                columns.dates,
                columns.types,
                columns.amounts,
                columns.currencies,
                columns.merchants,
                columns.cities,
                columns.receipts,
                columns.attendees,
            ),
            values,
            strict=True,
        ):
            column.append(value)  # type: ignore[attr-defined]
        for name, facts in columns.facts.items():
            facts.append(row.get(name) if index not in columns.invalid else None)
    columns.base = to_base(columns.amounts, columns.currencies, currency, fx_rates)
    return columns


def _what_is_wrong(kind: str, line_id: str, error: Exception) -> str:
    if isinstance(error, KeyError):
        return f"INPUT {kind} {line_id} cannot be reviewed: it has no {error.args[0]}"
    return f"INPUT {kind} {line_id} cannot be reviewed: {error}"
