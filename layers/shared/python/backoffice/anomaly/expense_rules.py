"""Checks on expense lines: TE1 to TE6 and TE8 to TE11 of DOMAIN.md section 3.

Each ``flag_*`` function runs one rule over the columns it needs and adds reasons to ``Flags``. Rules that
compare a line with others (duplicates, Benford, peer outliers) take the state of earlier periods from
``AnomalyHistory``; the ``collect_*`` functions compute that state, for a batch or for the history alike, so
both sides use the same keys.

TE9 (ACFE expense schemes) is covered by the checks that catch each scheme: a mischaracterised or
multiply-reimbursed expense by the TE1 duplicates (same receipt, same merchant charge), an overstated one by
the receipt amount and the peer outliers, a fictitious one by Benford and round amounts; the one scheme
with its own test is consecutively numbered receipts from one merchant spread over weeks.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections import Counter
from collections.abc import Callable, Collection, Hashable, Mapping, Sequence
from datetime import date
from itertools import compress, repeat
from operator import is_not, itemgetter, sub
from typing import Any, TypeVar

from backoffice.anomaly.benford import benford_mad, conformity
from backoffice.anomaly.grouping import (
    compact_float_array,
    compact_floats,
    each_distinct_once,
    first_of_each,
    group_positions,
    pick,
    present,
    repeats,
    where,
)
from backoffice.anomaly.policy import AnomalyPolicy
from backoffice.anomaly.rows import ExpenseColumns, as_date
from backoffice.anomaly.scored import Flags, money
from backoffice.anomaly.vectors import (
    MAX_BINS_PER_LINE,
    cached_codes,
    converted_codes,
    factorized,
    float_bits,
    floats,
    lines_where,
    made_once,
    maybe_repeated,
    maybe_repeated_values,
    numpy,
)

OwnKey = tuple[str, str]  # worker, expense type
PeerKey = tuple[str | None, str, str | None]  # role, expense type, city
ReceiptNumber = tuple[int, date, str, int]  # number, date, line id, line index (-1: history)
GroupKey = TypeVar("GroupKey", bound=Hashable)


def _number(value: object) -> float | None:
    """A fact's amount, or None when it is missing or not a number (the check is then skipped)."""
    if value is None:
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _day(value: object) -> date | None:
    if value is None:
        return None
    try:
        return as_date(value)
    except (TypeError, ValueError):
        return None


# ------------------------------------------------------------------------------------------------------------
# TE1 duplicates
# ------------------------------------------------------------------------------------------------------------


def duplicate_expense_keys(columns: ExpenseColumns) -> list[Hashable]:
    return list(
        zip(columns.workers, columns.types, columns.dates, columns.amounts, columns.currencies, strict=True)
    )


def receipt_keys(columns: ExpenseColumns) -> tuple[list[str], list[int]]:
    """The receipt checksums present, and the line of each."""
    positions = columns.receipt_lines()
    return pick(columns.receipts, positions), positions  # type: ignore[arg-type]


def merchant_charge_keys(columns: ExpenseColumns, policy: AnomalyPolicy) -> tuple[list[Hashable], list[int]]:
    """(merchant, date, amount, currency) of the lines with a merchant and an amount worth comparing."""
    # The lines found in numpy, from the batch's merchant mask and amounts (NaN is below any minimum).
    positions = lines_where(
        _with_merchant(columns) & (base_array(columns) >= policy.merchant_match_min_amount)
    )
    merchants, dates, amounts, currencies = (
        columns.merchants,
        columns.dates,
        columns.amounts,
        columns.currencies,
    )
    keys: list[Hashable] = [(merchants[i], dates[i], amounts[i], currencies[i]) for i in positions]
    return keys, positions


# The expense rules' bound on bins per line (``vectors.MAX_BINS_PER_LINE``), a name of their own so that a
# test can leave them no bin to spare.
_MAX_BINS_PER_LINE = MAX_BINS_PER_LINE


def _array_of(columns: ExpenseColumns, name: str, column: list[Any], make: Any) -> Any:
    """``make(column)``, made once per column object (kept in ``derived`` with the column it was made of:
    ``score_columns`` replaces ``base`` in a copy that shares ``derived``)."""
    cached = columns.derived.get(name)
    if cached is None or cached[0] is not column:
        cached = columns.derived[name] = (column, make(column))
    return cached[1]


def base_array(columns: ExpenseColumns) -> Any:
    """The amounts in the policy currency as a numpy array (those in the line's currency when every line
    is in the policy's: the same list)."""
    if columns.base is columns.amounts:
        return amount_array(columns)
    return _array_of(columns, "base_array", columns.base, floats)


def amount_array(columns: ExpenseColumns) -> Any:
    """The amounts in the line's currency as a numpy array."""
    return _array_of(columns, "amount_array", columns.amounts, floats)


def _type_codes(columns: ExpenseColumns) -> tuple[Any, list[str]]:
    return _array_of(columns, "type_codes", columns.types, factorized)


def _worker_codes(columns: ExpenseColumns) -> tuple[Any, list[str]]:
    return _array_of(columns, "worker_codes", columns.workers, factorized)


def of_types(columns: ExpenseColumns, kinds: Collection[str]) -> Any:
    """Per line (a numpy bool array): its expense type is one of ``kinds``. The types are read once a batch
    into codes (a batch has a few dozen types); each question is then one lookup per line in C."""
    codes, distinct = _type_codes(columns)
    np = numpy()
    return np.array([kind in kinds for kind in distinct], dtype=bool)[codes]


def _int_array(values: list[int]) -> Any:
    """The whole numbers as an int64 array; None when one does not fit (the rules then read them one by one)."""
    np = numpy()
    try:
        return np.fromiter(values, dtype=np.int64, count=len(values))
    except (OverflowError, TypeError, ValueError):
        return None


def _alone(columns: ExpenseColumns) -> Any:
    """Per line (a numpy bool array): one attendee, the claimant alone; None when the numbers of attendees
    cannot be read into an array."""
    attendees = _array_of(columns, "attendee_array", columns.attendees, _int_array)
    return None if attendees is None else attendees == 1


def _present_mask(columns: ExpenseColumns, lines: list[int]) -> Any:
    np = numpy()
    mask = np.zeros(len(columns.ids), dtype=bool)
    mask[np.fromiter(lines, dtype=np.intp, count=len(lines))] = True
    return mask


def _with_merchant(columns: ExpenseColumns) -> Any:
    return _array_of(
        columns,
        "merchant_mask",
        columns.merchants,
        lambda merchants: _present_by_codes(columns, merchants, "merchant_codes"),
    )


def _present_by_codes(columns: ExpenseColumns, column: list[Any], code_name: str) -> Any:
    """Per line (a numpy bool array): its value is not None. By the column's codes when the lines file had
    them (a test per distinct value, then one lookup per line in C), else by the values."""
    coded = columns.derived.get(code_name)
    if coded is not None and coded[0] is column:
        codes, values = coded[1]
        return numpy().array([value is not None for value in values], dtype=bool)[codes]
    return _present_mask(columns, present(column))


def _maybe_repeated_lines(
    columns: ExpenseColumns, lines: Sequence[int], owner_codes: Any, history: Mapping[Any, Any], part: int
) -> tuple[list[int], list[date], set[Any]]:
    """Of ``lines``, those whose duplicate key another line may share (the same owner, date and amount:
    ``vectors.maybe_repeated`` on the codes) or the history may hold (a date the history has, the key's
    element ``part``), with their dates; and the history's dates. Only those lines' keys are made."""
    np = numpy()
    if type(lines) is range and lines.step == 1:
        places = np.arange(lines.start, lines.stop, dtype=np.intp)
    else:
        places = np.fromiter(lines, dtype=np.intp, count=len(lines))
    dates, distinct_dates = cached_codes(columns.derived, "date_codes", columns.dates)
    marked = maybe_repeated([owner_codes[places], dates[places], float_bits(amount_array(columns)[places])])
    past_dates = {key[part] for key in history} if history else set()
    if past_dates:
        marked |= np.array([day in past_dates for day in distinct_dates], dtype=bool)[dates[places]]
    found = pick(lines, lines_where(marked))
    return found, pick(columns.dates, found), past_dates


def flag_duplicate_expenses(columns: ExpenseColumns, history: Mapping[Hashable, str], flags: Flags) -> None:
    """TE1: the same (worker, expense type, date, amount, currency) claimed again; the first is the original."""
    ids = columns.ids
    lines, line_dates, past_dates = _maybe_repeated_lines(
        columns, range(len(ids)), _worker_codes(columns)[0], history, 2
    )
    keys = list(
        zip(
            pick(columns.workers, lines),
            pick(columns.types, lines),
            line_dates,
            pick(columns.amounts, lines),
            pick(columns.currencies, lines),
            strict=True,
        )
    )
    for index, original in repeats(
        keys, ids, history, lines, part=2, parts=line_dates, history_parts=past_dates
    ):
        original_id = ids[original] if isinstance(original, int) else original
        flags.add(
            index,
            "duplicate_expense",
            f"TE1 duplicate of expense {original_id}: same worker, {columns.types[index]}, "
            f"{columns.dates[index]:%Y-%m-%d} and {money(columns.currencies[index], columns.amounts[index])}",
        )


def flag_duplicate_receipts(columns: ExpenseColumns, history: Mapping[str, str], flags: Flags) -> None:
    """TE1: one receipt file (by SHA-256) behind two claims: the classic multiple reimbursement."""
    ids = columns.ids
    keys, positions = receipt_keys(columns)
    # Grouped in a dict for the receipts whose checksum may repeat another's or one the history has only
    # (numpy marks them by hash): the others can be no one's copy.
    marked = lines_where(maybe_repeated_values(keys, history.keys()))
    keys, positions = pick(keys, marked), pick(positions, marked)
    for index, original in repeats(keys, ids, history, positions):
        original_id = ids[original] if isinstance(original, int) else original
        flags.add(index, "duplicate_receipt", f"TE1 the receipt of expense {original_id} is attached again")


MerchantCharge = tuple[str, str, str, str | None]  # line id, worker, expense type, trip id


def _list_priced_types(columns: ExpenseColumns, policy: AnomalyPolicy, lines: list[int]) -> set[str]:
    """Of the types of ``lines`` with a whole amount ending in 0 or 5, those where round prices are normal
    (``round_shares``: learnt from the batch's own lines of the type)."""
    amounts = columns.amounts
    if not any(amounts[index] % 5.0 == 0.0 for index in lines):
        return set()
    shares = round_shares(columns, policy, {})
    return {kind for kind, share in shares.items() if share >= policy.round_normal_share}


def flag_duplicate_merchant_charges(
    columns: ExpenseColumns,
    policy: AnomalyPolicy,
    history: Mapping[Hashable, MerchantCharge],
    flags: Flags,
) -> None:
    """TE1: the same merchant, date and amount claimed by another worker, or by the same one as another type.

    The same worker and type is already a TE1 duplicate; small amounts are left out because flat fares and
    parking rates make equal charges at one merchant ordinary; colleagues on one trip (the same ``trip_id``)
    pay equal charges for the trip's shared items (``team_trip_types``: one hotel at a negotiated rate, one
    itinerary) by design. A dinner two of them claim is still claimed twice. Equal round amounts on a type
    sold at list prices (``round_normal_share``) are the price, not one charge claimed twice.
    """
    ids, workers, types, trips = columns.ids, columns.workers, columns.types, columns.fact("trip_id")
    shared = set(policy.team_trip_types)
    positions = lines_where(
        _with_merchant(columns) & (base_array(columns) >= policy.merchant_match_min_amount)
    )
    lines, line_dates, past_dates = _maybe_repeated_lines(
        columns, positions, _array_of(columns, "merchant_codes", columns.merchants, factorized)[0], history, 1
    )
    keys = list(
        zip(
            pick(columns.merchants, lines),
            line_dates,
            pick(columns.amounts, lines),
            pick(columns.currencies, lines),
            strict=True,
        )
    )
    found = repeats(
        keys,
        ids,
        history,
        lines,
        history_id=lambda charge: charge[0],
        part=1,
        parts=line_dates,
        history_parts=past_dates,
    )
    list_priced = _list_priced_types(columns, policy, [index for index, _ in found]) if found else set()
    for index, original in found:
        if isinstance(original, int):
            first_id, first_worker, first_type = ids[original], workers[original], types[original]
            first_trip = trips[original]
        else:
            first_id, first_worker, first_type, first_trip = original
        if first_worker == workers[index] and first_type == types[index]:
            continue
        if first_trip is not None and first_trip == trips[index] and types[index] in shared:
            continue
        if types[index] in list_priced and columns.amounts[index] % 5.0 == 0.0:
            continue  # a list price (a software seat, a conference fee): equal charges are the price
        merchant, day = columns.merchants[index], columns.dates[index]
        amount, currency = columns.amounts[index], columns.currencies[index]
        who = "the same worker as" if first_worker == workers[index] else f"{first_worker} in"
        flags.add(
            index,
            "duplicate_merchant_charge",
            f"TE1 {merchant} charge of {money(currency, amount)} on {day:%Y-%m-%d} is also claimed by "
            f"{who} expense {first_id}",
        )


# ------------------------------------------------------------------------------------------------------------
# TE2 split transactions
# ------------------------------------------------------------------------------------------------------------


def flag_split_transactions(columns: ExpenseColumns, policy: AnomalyPolicy, flags: Flags) -> None:
    """TE2: purchases at one merchant by one card (or worker), each under the limit, together at or over it,
    within ``split_window_days``: one bill split to stay under the receipt or approval limit. Rides, parking
    (``split_skip_types``) and one's own meals are separate purchases by nature and are left out."""
    limit, window = policy.split_limit, policy.split_window_days
    base, dates = columns.base, columns.dates
    skipped, meal_types = set(policy.split_skip_types), set(policy.meal_types)
    attendees, workers, merchants = columns.attendees, columns.workers, columns.merchants
    cards = columns.fact("card_id")
    candidates = _with_merchant(columns) & (base_array(columns) < limit) & ~of_types(columns, skipped)
    types = columns.types
    alone = _alone(columns)
    if alone is not None:  # own meals: the M&IE per diem judges the day
        positions = lines_where(candidates & ~(of_types(columns, meal_types) & alone))
    else:
        positions = [
            index
            for index in lines_where(candidates)
            if not (types[index] in meal_types and attendees[index] == 1)
        ]
    payers = pick(cards, positions)
    if not all(payers):  # no card: the worker's own purchases
        payers = [card or workers[index] for card, index in zip(payers, positions, strict=True)]
    keys = list(zip(payers, pick(merchants, positions), strict=True))
    groups = group_positions(keys, positions)
    flagged: dict[int, str] = {}
    for (_, merchant), members in groups.items():
        if len(members) < 2:
            continue
        members.sort(key=dates.__getitem__)
        left, total = 0, 0.0
        for right, index in enumerate(members):
            total += base[index]
            while (dates[index] - dates[members[left]]).days > window:
                total -= base[members[left]]
                left += 1
            if right > left and total >= limit:
                parts = members[left : right + 1]
                text = (
                    f"TE2 {len(parts)} purchases at {merchant} each under {money(policy.currency, limit)} "
                    f"add up to {money(policy.currency, total)}"
                    + (" on one day" if window == 0 else f" within {window + 1} days")
                )
                for part in parts:
                    flagged[part] = text
    for index, text in flagged.items():
        flags.add(index, "split_transaction", text)


# ------------------------------------------------------------------------------------------------------------
# TE3 round amounts
# ------------------------------------------------------------------------------------------------------------


RoundKey = tuple[str, str]  # worker, expense type


def flag_round_amounts(
    columns: ExpenseColumns,
    policy: AnomalyPolicy,
    flags: Flags,
    history: Mapping[RoundKey, list[int]] | None = None,
) -> None:
    """TE3: an amount in whole hundreds (the modulus) is more often estimated than paid, except on a type
    where round prices are normal (``round_normal_types``: conference fees, software seats). Strength: how
    much rarer round amounts are on the type than where they are normal (1 at the normal share)."""
    modulus = policy.round_amount_modulus
    np = numpy()
    amounts_array = amount_array(columns)
    # fmod is exact, and zero exactly when Python's % is (amounts are never negative).
    found = lines_where((np.fmod(amounts_array, modulus) == 0.0) & (amounts_array >= modulus))
    if not found:
        return
    shares = round_shares(columns, policy, history or {})
    normal = policy.round_normal_share
    types = columns.types
    for index in found:
        share = shares.get(types[index])
        if share is not None and share >= normal:
            continue
        flags.add(
            index,
            "round_amount",
            f"TE3 round amount {money(columns.currencies[index], columns.amounts[index])} ({types[index]})",
            1.0 + (normal - share) / normal if share is not None else 1.0,
        )


def _ends_in_0_or_5(columns: ExpenseColumns) -> list[bool]:
    """Per line: the amount is whole and ends in 0 or 5."""
    return _round_end_mask(columns).tolist()


def _round_end_mask(columns: ExpenseColumns) -> Any:
    """Per line (a numpy bool array, made once a batch): the amount is whole and ends in 0 or 5."""

    def ends_in_0_or_5(amounts: Any) -> Any:
        return (numpy().fmod(amounts, 5.0) == 0.0) & (amounts > 0.0)

    return _array_of(columns, "round_end_mask", amount_array(columns), ends_in_0_or_5)


def collect_round_endings(
    columns: ExpenseColumns, round_ends: list[bool] | None = None
) -> dict[RoundKey, list[int]]:
    """Per (worker, expense type): [lines, lines with a whole amount ending in 0 or 5]; counted once a batch
    (the TE1 and TE3 rules all ask)."""
    found: dict[RoundKey, list[int]] | None = columns.derived.get("round_counts")
    if found is not None:
        return found
    # Counted in numpy: a bin per (worker, type) code pair (a batch has thousands of workers and a few dozen
    # types; the pairs that occur, in code order, are the keys).
    np = numpy()
    workers, distinct_workers = _worker_codes(columns)
    kinds, distinct_types = _type_codes(columns)
    width = max(len(distinct_types), 1)
    size = len(distinct_workers) * width
    if size > _MAX_BINS_PER_LINE * len(columns.ids) + 1024:  # a bin per pair would outweigh the lines
        keys = list(zip(columns.workers, columns.types, strict=True))
        counted = Counter(compress(keys, _ends_in_0_or_5(columns)))
        found = {key: [lines, counted[key]] for key, lines in Counter(keys).items()}
        columns.derived["round_counts"] = found
        return found
    pairs = workers * width + kinds
    lines = np.bincount(pairs, minlength=size)
    round_lines = np.bincount(pairs[_round_end_mask(columns)], minlength=size)
    occurring = np.flatnonzero(lines)
    found = {
        (distinct_workers[pair // width], distinct_types[pair % width]): [count, rounds]
        for pair, count, rounds in zip(
            occurring.tolist(), lines[occurring].tolist(), round_lines[occurring].tolist(), strict=True
        )
    }
    columns.derived["round_counts"] = found
    return found


def round_shares(
    columns: ExpenseColumns,
    policy: AnomalyPolicy,
    history: Mapping[RoundKey, list[int]],
    counts: Mapping[RoundKey, list[int]] | None = None,
) -> dict[str, float]:
    """Per expense type with at least ``round_history_min_lines`` lines (the history's, else the batch's):
    the share whose amounts are whole and end in 0 or 5, learnt from the history (the batch's own lines
    when the history has too few). Computed once per policy and history for the batch: three rules ask,
    and a history holds a count per worker and type (the result is only read)."""
    asked = (policy, history or None)
    known: list[tuple[tuple[object, object], dict[str, float]]] = columns.derived.setdefault(
        "round_shares", []
    )
    for key, found_shares in known:
        if key[0] is asked[0] and key[1] is asked[1]:
            return found_shares
    shares = _round_shares(columns, policy, history, counts)
    known.append((asked, shares))
    return shares


def _round_shares(
    columns: ExpenseColumns,
    policy: AnomalyPolicy,
    history: Mapping[RoundKey, list[int]],
    counts: Mapping[RoundKey, list[int]] | None,
) -> dict[str, float]:
    by_type: dict[str, list[int]] = {}
    for (_, kind), (lines, round_lines) in history.items():
        found = by_type.setdefault(kind, [0, 0])
        found[0] += lines
        found[1] += round_lines
    minimum = policy.round_history_min_lines
    shares = {kind: found[1] / found[0] for kind, found in by_type.items() if found[0] >= minimum}
    batch = _round_counts_by_type(columns, counts or collect_round_endings(columns))
    shares.update(
        {
            kind: found[1] / found[0]
            for kind, found in batch.items()
            if kind not in shares and found[0] >= minimum
        }
    )
    return shares


def _round_counts_by_type(
    columns: ExpenseColumns, counts: Mapping[RoundKey, list[int]]
) -> dict[str, list[int]]:
    """Per expense type: [lines, round lines] of the batch's counts; added up once a batch when the counts
    are the batch's own (``collect_round_endings``), which the rules ask for more than once."""
    cached = columns.derived.get("round_counts_by_type")
    if cached is not None and cached[0] is counts:
        return cached[1]
    by_type: dict[str, list[int]] = {}
    for (_, kind), (lines, round_lines) in counts.items():
        found = by_type.setdefault(kind, [0, 0])
        found[0] += lines
        found[1] += round_lines
    if counts is columns.derived.get("round_counts"):
        columns.derived["round_counts_by_type"] = (counts, by_type)
    return by_type


def flag_round_endings(
    columns: ExpenseColumns, policy: AnomalyPolicy, history: Mapping[RoundKey, list[int]], flags: Flags
) -> None:
    """TE3: a worker whose amounts are whole and end in 0 or 5 far more often than receipts do. Types where
    round prices are normal (see ``flag_round_amounts``) are not counted. Strength: the worker's share over
    the policy's."""
    counts = collect_round_endings(columns)
    shares = round_shares(columns, policy, history, counts)
    normal_types = {kind for kind, share in shares.items() if share >= policy.round_normal_share}
    per_worker: dict[str, list[int]] = {}
    for source in (counts, history):
        for (worker, kind), (lines, round_lines) in source.items():
            if kind in normal_types:
                continue
            found = per_worker.setdefault(worker, [0, 0])
            found[0] += lines
            found[1] += round_lines
    batch_workers = {worker for worker, _ in counts}
    habits: dict[str, tuple[str, float]] = {}
    for worker, (lines, round_lines) in per_worker.items():
        if worker not in batch_workers:
            continue
        if lines >= policy.round_endings_min_lines and round_lines / lines >= policy.round_endings_share:
            habits[worker] = (
                f"TE3 {round_lines} of {worker}'s {lines} amounts are whole and end in 0 or 5 "
                f"({round_lines / lines:.0%})",
                round_lines / lines / policy.round_endings_share,
            )
    if not habits:
        return
    workers, types = columns.workers, columns.types
    # The habitual workers' round lines, found in numpy by the workers' codes.
    codes, distinct = _worker_codes(columns)
    habitual = numpy().array([worker in habits for worker in distinct], dtype=bool)[codes]
    for index in lines_where(habitual & _round_end_mask(columns)):
        if types[index] not in normal_types:
            flags.add(index, "round_endings", *habits[workers[index]])


# ------------------------------------------------------------------------------------------------------------
# TE4 receipts
# ------------------------------------------------------------------------------------------------------------


def _numbers(values: list[Any]) -> list[float | None]:
    """Fact amounts as floats; one that is not a number reads as missing (its check is skipped)."""
    try:
        if all(map(is_not, values, repeat(None))):
            return list(map(float, values))
        return [None if value is None else float(value) for value in values]
    except (TypeError, ValueError):
        return [_number(value) for value in values]


def _present_number_array(
    values: list[Any], lines: list[int] | None = None
) -> tuple[list[int], list[float], Any]:
    """``_present_numbers``, and the amounts as a numpy array too (read with them when every fact is a
    number)."""
    if lines is None:
        lines = present(values)
    try:
        found, array = compact_float_array(pick(values, lines))
    except (TypeError, ValueError):
        lines, found = _present_numbers(values, lines)
        return lines, found, floats(found)
    return lines, found, array


def _fact_array(columns: ExpenseColumns, name: str) -> Any:
    """The fact ``name`` of every line as a float64 array, NaN where a line has none (made once); None when a
    value is no number, or is NaN itself (missing and NaN could not be told apart): the rules then read the
    facts one by one. numpy reads each value in one pass in C, as ``float()`` reads it (text too)."""

    def read(values: list[Any]) -> Any:
        np = numpy()
        try:
            found = np.fromiter(values, dtype=np.float64, count=len(values))
        except (TypeError, ValueError, OverflowError):
            return None
        # ``count`` in C: a None per NaN, else a NaN was given.
        if int(np.count_nonzero(np.isnan(found))) != values.count(None):
            return None
        return found

    return _array_of(columns, f"fact_array_{name}", columns.fact(name), read)


def _given_numbers(
    columns: ExpenseColumns, name: str, lines: list[int] | None = None
) -> tuple[list[int], list[float], Any]:
    """``_present_number_array`` of the fact ``name``: the lines (of ``lines``, or all) with the fact, its
    amounts and the same as an array, picked in numpy from ``_fact_array`` when it can be read so."""
    values = _fact_array(columns, name)
    if values is None:
        return _present_number_array(columns.fact(name), lines)
    np = numpy()
    if lines is None:
        given = np.flatnonzero(~np.isnan(values))
    else:
        places = np.fromiter(lines, dtype=np.intp, count=len(lines))
        given = places[~np.isnan(values[places])]
    found = values[given]
    return given.tolist(), found.tolist(), found


def _present_numbers(values: list[Any], lines: list[int] | None = None) -> tuple[list[int], list[float]]:
    """The lines (of ``lines``, or all) whose fact is given, and its amount; one that is not a number reads
    as missing. Facts lie scattered in memory like the rows: each value is fetched once for its amount (and
    once more to see if it is there when ``lines`` is None), and the amounts come back compact."""
    if lines is None:
        lines = present(values)
    try:  # a list: floats and ints read as doubles in C, without a call of float() per value
        return lines, compact_floats(pick(values, lines))
    except (TypeError, ValueError):  # a missing fact among ``lines``, or one that is not a number
        given = pick(values, lines)
    places = present(given)
    try:
        return pick(lines, places), compact_floats(pick(given, places))
    except (TypeError, ValueError):
        numbers = [_number(value) for value in pick(given, places)]
    read = present(numbers)
    return pick(pick(lines, places), read), pick(numbers, read)  # type: ignore[arg-type]


def _days(values: list[Any]) -> list[date | None]:
    if set(map(type, values)) <= {date, type(None)}:
        return values
    try:
        # Few distinct dates (ISO text as JSON spells them): each read once.
        return each_distinct_once(values, _day)
    except TypeError:  # a value that is no date and cannot be hashed either
        return [_day(value) for value in values]


def _other_receipt_days(columns: ExpenseColumns, lines: list[int]) -> list[tuple[int, date | None]]:
    """Of ``lines``, those whose receipt date is given and is not the claim date, with that date: compared
    in numpy as day numbers, by the codes of the receipt dates (a batch prints few distinct dates) and of the
    claim dates. All of ``lines`` with their receipt dates when the dates cannot be coded."""
    printed = pick(columns.fact("receipt_date"), lines)
    try:
        _, codes, distinct = converted_codes(printed, _day, per_line=False)
    except TypeError:  # a value that is no date and cannot be hashed either
        return list(zip(lines, _days(printed), strict=True))
    np = numpy()
    shown_on = np.array([0 if day is None else day.toordinal() for day in distinct], dtype=np.int64)
    claim_codes, claim_days = cached_codes(columns.derived, "date_codes", columns.dates)
    claimed_on = np.array([day.toordinal() for day in claim_days], dtype=np.int64)
    places = np.fromiter(lines, dtype=np.intp, count=len(lines))
    other = (shown_on[codes] != 0) & (shown_on[codes] != claimed_on[claim_codes[places]])
    found = lines_where(other)
    return list(zip(pick(lines, found), pick(distinct, codes[found].tolist()), strict=True))


def _tips(columns: ExpenseColumns) -> tuple[list[int], list[float | None], Any]:
    """The lines with a tip (other than 0, which no check fires on), the tips (None: not a number) and the
    same as a float array (NaN: not a number)."""
    np = numpy()
    tips: list[float | None]
    tip_fact = _fact_array(columns, "tip_amount")
    if tip_fact is not None:  # every tip a number: picked in numpy
        tipped_array = np.flatnonzero((tip_fact != 0.0) & ~np.isnan(tip_fact))
        tip_array = tip_fact[tipped_array]
        return tipped_array.tolist(), tip_array.tolist(), tip_array
    raw_tips = columns.fact("tip_amount")
    tipped = where(raw_tips)
    try:  # every tip a number: read as doubles in C
        tips, tip_array = compact_float_array(pick(raw_tips, tipped))  # type: ignore[assignment]
    except (TypeError, ValueError):
        tips = _numbers(pick(raw_tips, tipped))
        tip_array = np.array(tips, dtype=np.float64)
    return tipped, tips, tip_array


def flag_receipt_rules(columns: ExpenseColumns, policy: AnomalyPolicy, flags: Flags) -> None:
    """TE4: receipt present where required, and saying what the claim says (amount, date); tip within share."""
    always = set(policy.receipt_always_types)
    required_at = policy.receipt_required_at
    currencies, amounts, types, dates = columns.currencies, columns.amounts, columns.types, columns.dates
    with_receipt = columns.receipt_lines()
    if policy.is_on("receipt_missing"):
        required = of_types(columns, always) | (base_array(columns) >= required_at)
        missing = lines_where(required & ~_present_mask(columns, with_receipt))
        for index in missing:
            kind = types[index]
            why = (
                "always required" if kind in always else f"required at {money(policy.currency, required_at)}"
            )
            flags.add(
                index,
                "receipt_missing",
                f"TE4 receipt missing for {kind} {money(currencies[index], amounts[index])} ({why})",
            )
    if policy.is_on("receipt_amount_mismatch"):
        tolerance = policy.receipt_amount_tolerance + 1e-9
        shown_on, printed, printed_array = _given_numbers(columns, "receipt_amount", with_receipt)
        np = numpy()
        claimed = amount_array(columns)[np.fromiter(shown_on, dtype=np.intp, count=len(shown_on))]
        differing = lines_where(np.abs(printed_array - claimed) > tolerance)
        for index, shown in zip(pick(shown_on, differing), pick(printed, differing), strict=True):
            if not abs(shown - amounts[index]) > tolerance:  # NaN: not a mismatch
                continue
            flags.add(
                index,
                "receipt_amount_mismatch",
                f"TE4 claimed {money(currencies[index], amounts[index])} but the receipt shows "
                f"{money(currencies[index], shown)}",
            )
    if policy.is_on("receipt_date_mismatch"):
        date_tolerance = policy.receipt_date_tolerance_days
        for index, shown_day in _other_receipt_days(columns, with_receipt):
            if shown_day is None or shown_day == dates[index]:
                continue
            apart = abs((shown_day - dates[index]).days)
            if apart > date_tolerance:
                flags.add(
                    index,
                    "receipt_date_mismatch",
                    f"TE4 receipt dated {shown_day:%Y-%m-%d}, {apart} days from the claim date "
                    f"{dates[index]:%Y-%m-%d}",
                )
    if policy.is_on("tip_above_limit"):
        share_limit = policy.tip_max_share + 1e-9
        # The lines a check can fire on, found in numpy (a tip that is no number reads as NaN, which no
        # comparison passes, as in Python); each then checked as it always was.
        np = numpy()
        tipped, tips, tip_array = _tips(columns)
        bills = amount_array(columns)[np.fromiter(tipped, dtype=np.intp, count=len(tipped))] - tip_array
        with np.errstate(divide="ignore", invalid="ignore"):
            high = (tip_array > 0.0) & ((bills <= 0.0) | (tip_array / bills > share_limit))
        high_places = lines_where(high)
        for index, tip in zip(pick(tipped, high_places), pick(tips, high_places), strict=True):
            if tip is None or tip <= 0.0:
                continue
            bill = amounts[index] - tip
            if bill <= 0.0 or tip / bill > share_limit:
                share = f"{tip / bill:.0%} of the bill" if bill > 0.0 else "more than the bill"
                flags.add(
                    index,
                    "tip_above_limit",
                    f"TE4 tip {money(currencies[index], tip)} is {share} (limit {policy.tip_max_share:.0%})",
                )


# ------------------------------------------------------------------------------------------------------------
# TE5 per diem, TE6 per attendee
# ------------------------------------------------------------------------------------------------------------


def flag_per_diem(columns: ExpenseColumns, policy: AnomalyPolicy, flags: Flags) -> None:
    """TE5: lodging per night and a day's own meals against the GSA rates (standard CONUS unless the city has
    its own rate in the policy)."""
    lodging_types, meal_types = set(policy.lodging_types), set(policy.meal_types)
    currency, base, cities = policy.currency, columns.base, columns.cities
    if policy.is_on("per_diem_lodging"):
        by_city, standard = policy.lodging_per_night_by_city, policy.lodging_per_night
        nights_column = columns.fact("nights")
        for index in _lodging_above(columns, of_types(columns, lodging_types), by_city, standard):
            nights = nights_column[index] or 1
            city = cities[index]
            rate = by_city.get(city, standard) if city else standard
            if base[index] / nights > rate + 0.005:
                in_city = f" in {city}" if city else ""
                flags.add(
                    index,
                    "per_diem_lodging",
                    f"TE5 lodging {money(currency, base[index] / nights)} a night{in_city} is above the per diem "
                    f"{money(currency, rate)}",
                )
    if policy.is_on("per_diem_meals"):
        mie_by_city, standard_mie = policy.mie_per_day_by_city, policy.mie_per_day
        attendees, workers, dates = columns.attendees, columns.workers, columns.dates
        meals = of_types(columns, meal_types) & ~numpy().isnan(base_array(columns))
        alone = _alone(columns)
        if alone is not None:
            own_meals = lines_where(meals & alone)
        else:
            own_meals = [index for index in lines_where(meals) if attendees[index] == 1]
        lowest_rate = min([standard_mie, *mie_by_city.values()])
        own_meals = _days_above(columns, own_meals, lowest_rate)
        days = group_positions(
            list(zip(pick(workers, own_meals), pick(dates, own_meals), strict=True)), own_meals
        )
        for (worker, day), members in days.items():
            total = sum(base[index] for index in members)
            if total <= lowest_rate:
                continue
            rate = max(mie_by_city.get(cities[index] or "", standard_mie) for index in members)
            if total > rate + 0.005:
                text = (
                    f"TE5 {worker}'s own meals on {day:%Y-%m-%d} total {money(currency, total)}, above the M&IE "
                    f"per diem {money(currency, rate)}"
                )
                for index in members:
                    flags.add(index, "per_diem_meals", text)


def _lodging_above(
    columns: ExpenseColumns, lodging: Any, by_city: Mapping[str, float], standard: float
) -> list[int]:
    """The lodging lines (a numpy mask) the rule can fire on: when no line says its nights (one night each),
    those whose amount is above their city's rate, compared in numpy by the codes of the cities; all of
    them otherwise."""
    nights = columns.fact("nights")
    if nights.count(None) != len(nights):
        return lines_where(lodging)
    np = numpy()
    codes, cities = _array_of(columns, "city_codes", columns.cities, factorized)
    rates = np.array([by_city.get(city, standard) if city else standard for city in cities], dtype=np.float64)
    return lines_where(lodging & (base_array(columns) > rates[codes] + 0.005))


def _days_above(columns: ExpenseColumns, lines: list[int], lowest: float) -> list[int]:
    """Of ``lines``, those of a (worker, date) whose amounts total more than ``lowest``: the day totals added
    in numpy, in line order from 0 (``np.bincount``), as the rule's own ``sum`` adds them, so the same days
    pass."""
    if not lines:
        return lines
    np = numpy()
    places = np.fromiter(lines, dtype=np.intp, count=len(lines))
    workers, distinct_workers = _worker_codes(columns)
    dates, distinct_dates = cached_codes(columns.derived, "date_codes", columns.dates)
    if len(distinct_workers) * len(distinct_dates) > _MAX_BINS_PER_LINE * len(lines) + 1024:
        return lines  # bins for every (worker, date) pair would outweigh the lines: no prefilter
    days = workers[places] * len(distinct_dates) + dates[places]
    totals = np.bincount(days, weights=base_array(columns)[places])
    return pick(lines, lines_where(totals[days] > lowest))


def flag_per_attendee(columns: ExpenseColumns, policy: AnomalyPolicy, flags: Flags) -> None:
    """TE6: amount per attendee above the type's limit; a meal alone is left to the M&IE per diem."""
    limits, meal_types = policy.per_attendee_limits, set(policy.meal_types)
    currency, types, base, attendees = policy.currency, columns.types, columns.base, columns.attendees
    candidates = of_types(columns, limits)
    alone = _alone(columns)
    if alone is not None:  # the lines the check can fire on, found in numpy; each then checked as it was
        np = numpy()
        codes, kinds = _type_codes(columns)
        limit_of = np.array([limits.get(kind, math.inf) for kind in kinds], dtype=np.float64)
        with np.errstate(invalid="ignore"):
            candidates &= ~(alone & of_types(columns, meal_types)) & (
                base_array(columns) / _array_of(columns, "attendee_array", attendees, _int_array)
                > limit_of[codes] + 0.005
            )
    over = [
        index
        for index in lines_where(candidates)
        if not (attendees[index] == 1 and types[index] in meal_types)
        and base[index] / attendees[index] > limits[types[index]] + 0.005
    ]
    for index in over:
        kind, people = types[index], attendees[index]
        flags.add(
            index,
            "per_attendee",
            f"TE6 {kind} {money(currency, base[index])} for {people} {'person' if people == 1 else 'people'} is "
            f"{money(currency, base[index] / people)} a head (limit {money(currency, limits[kind])})",
        )


# ------------------------------------------------------------------------------------------------------------
# TE8 Benford
# ------------------------------------------------------------------------------------------------------------


DigitKey = tuple[str, str]  # worker or merchant, expense type


Leading = tuple[list[int], list[int]]  # lines counted, and the leading digit(s) of each


def leading_digits_of(columns: ExpenseColumns, policy: AnomalyPolicy) -> Leading:
    """The lines whose amounts the Benford test counts (at or above its minimum, not of a capped type) and
    their first digit or first two digits; computed once a batch and shared by every count."""
    width = 1 if policy.benford_test == "first_digit" else 2
    minimum = max(policy.benford_min_amount, 10.0 ** (width - 1))
    skipped = benford_types_skipped(policy)
    amounts = columns.amounts
    np = numpy()
    amounts_array = amount_array(columns)
    positions = lines_where(
        (amounts_array >= minimum) & (amounts_array < math.inf) & ~of_types(columns, skipped)
    )
    counted = amount_array(columns)[np.fromiter(positions, dtype=np.intp, count=len(positions))]
    if not len(counted) or counted.max() < 2.0**53:  # whole amounts exact in a double
        # The leading digits in numpy, exactly: the whole amount (int() truncates, amounts are positive)
        # divided by 10 until it has ``width`` digits.
        leading = np.trunc(counted).astype(np.int64)
        bound = 10**width
        while True:
            longer = leading >= bound
            if not longer.any():
                break
            leading = np.where(longer, leading // 10, leading)
        return positions, leading.tolist()
    whole = map(str, map(int, pick(amounts, positions)))
    if width == 1:
        return positions, list(map(sub, map(ord, map(itemgetter(0), whole)), repeat(48)))
    return positions, list(map(int, map(itemgetter(slice(0, 2)), whole)))


def collect_digits(
    columns: ExpenseColumns,
    policy: AnomalyPolicy,
    owners: Sequence[str | None] | None,
    only: set[str] | None = None,
    leading: Leading | None = None,
) -> dict[DigitKey, list[int]]:
    """Counts of leading digits per (owner, expense type), of the amounts the test counts.

    ``owners`` is the worker or merchant column; None counts per expense type only (owner ``""``): the
    firm's profile. ``only`` restricts the owners counted.
    """
    positions, digits = leading or leading_digits_of(columns, policy)
    types = columns.types
    size = 10 if policy.benford_test == "first_digit" else 100
    coded = _coded_digit_counts(columns, owners, only, positions, digits, size)
    if coded is not None:
        return coded
    per_owner: Mapping[tuple[str | None, str, int], int]
    if owners is None:
        tally = Counter(zip(pick(types, positions), digits, strict=True))
        per_owner = {("", kind, digit): count for (kind, digit), count in tally.items()}
    elif only is not None:
        keep = where(map(only.__contains__, pick(owners, positions)))
        lines = pick(positions, keep)
        per_owner = Counter(zip(pick(owners, lines), pick(types, lines), pick(digits, keep), strict=True))
    else:
        per_owner = Counter(zip(pick(owners, positions), pick(types, positions), digits, strict=True))
    counts: dict[DigitKey, list[int]] = {}
    for (owner, kind, digit), count in per_owner.items():
        if owner is None:
            continue
        found = counts.get((owner, kind))
        if found is None:
            found = counts[(owner, kind)] = [0] * size
        found[digit] += count
    return counts


def _owner_codes(columns: ExpenseColumns, owners: Sequence[str | None]) -> tuple[Any, list[Any]] | None:
    """The codes of an owner column the batch codes (workers, merchants); None for another column."""
    if owners is columns.workers:
        return _worker_codes(columns)
    if owners is columns.merchants:
        return _array_of(columns, "merchant_codes", columns.merchants, factorized)
    return None


def _coded_digit_counts(
    columns: ExpenseColumns,
    owners: Sequence[str | None] | None,
    only: set[str] | None,
    positions: list[int],
    digits: list[int],
    size: int,
) -> dict[DigitKey, list[int]] | None:
    """``collect_digits`` counted in numpy, from the codes of the owners and the types: a bin per (owner,
    type, digit), the (owner, type) pairs in the order of their first counted line, as the count line by
    line makes them. None when the owners have no codes or the bins would outweigh the lines."""
    np = numpy()
    kinds, distinct_types = _type_codes(columns)
    if owners is None:
        owner_codes, distinct_owners = np.zeros(len(kinds), dtype=np.intp), [""]
    else:
        coded = _owner_codes(columns, owners)
        if coded is None:
            return None
        owner_codes, distinct_owners = coded
    width = max(len(distinct_types), 1)
    pair_count = len(distinct_owners) * width
    if pair_count * size > _MAX_BINS_PER_LINE * len(positions) + 1024:
        return None
    places = np.fromiter(positions, dtype=np.intp, count=len(positions))
    line_digits = made_once(
        columns.derived,
        "digit_array",
        digits,
        lambda found: np.fromiter(found, dtype=np.intp, count=len(found)),
    )
    pairs = owner_codes[places] * width + kinds[places]
    if only is not None:
        kept = np.array([owner in only for owner in distinct_owners], dtype=bool)[owner_codes[places]]
        pairs, line_digits = pairs[kept], line_digits[kept]
    counts = np.bincount(pairs * size + line_digits, minlength=pair_count * size).reshape(pair_count, size)
    first = np.full(pair_count, len(pairs))
    np.minimum.at(first, pairs, np.arange(len(pairs)))
    occurring = np.flatnonzero(first < len(pairs))
    occurring = occurring[np.argsort(first[occurring], kind="stable")]
    found: dict[DigitKey, list[int]] = {}
    for pair, row in zip(occurring.tolist(), counts[occurring].tolist(), strict=True):
        owner = distinct_owners[pair // width]
        if owner is not None:
            found[(owner, distinct_types[pair % width])] = row
    return found


def _owner_sizes(columns: ExpenseColumns, owners: Sequence[str | None], positions: list[int]) -> Counter[Any]:
    """The number of counted lines per owner (None among them)."""
    coded = _owner_codes(columns, owners)
    if coded is None:
        return Counter(pick(owners, positions))
    np = numpy()
    codes, distinct = coded
    sizes = np.bincount(
        codes[np.fromiter(positions, dtype=np.intp, count=len(positions))], minlength=len(distinct)
    )
    present_codes = np.flatnonzero(sizes)
    return Counter(
        dict(zip(pick(distinct, present_codes.tolist()), sizes[present_codes].tolist(), strict=True))
    )


def _lines_of_owners(
    columns: ExpenseColumns, owners: Sequence[str | None], wanted: Collection[Any]
) -> list[int]:
    """The lines whose owner is one of ``wanted``: by the owners' codes where the batch has them."""
    coded = _owner_codes(columns, owners)
    if coded is None:
        return where(map(wanted.__contains__, owners))
    codes, distinct = coded
    return lines_where(numpy().array([owner in wanted for owner in distinct], dtype=bool)[codes])


def _merged(
    batch: Mapping[DigitKey, list[int]], history: Mapping[DigitKey, list[int]]
) -> dict[DigitKey, list[int]]:
    merged = {key: list(counts) for key, counts in batch.items()}
    for key, counts in history.items():
        found = merged.get(key)
        if found is None:
            merged[key] = list(counts)
        else:
            for digit, count in enumerate(counts):
                found[digit] += count
    return merged


def flag_benford(
    columns: ExpenseColumns,
    policy: AnomalyPolicy,
    worker_history: Mapping[DigitKey, list[int]],
    merchant_history: Mapping[DigitKey, list[int]],
    type_history: Mapping[DigitKey, list[int]],
    flags: Flags,
) -> None:
    """TE8: every line of a worker or merchant whose amounts (with history) depart from the reference digits
    (Benford's law, or the firm's profile: see ``AnomalyPolicy.benford_reference``), once there are
    ``benford_min_lines`` of them. The finding is about the set; each line of the set carries it so a reviewer
    sees it. Lines of capped types are not in the set (``benford_skip_capped_types``). Which sets are tested
    is ``benford_sets``; ``benford_coverage`` says which reached the volume. Strength: the MAD over its
    cut-off."""
    minimum_amount, minimum_lines = policy.benford_min_amount, policy.benford_min_lines
    cutoff, test = policy.benford_cutoff(), policy.benford_test
    skipped = benford_types_skipped(policy)
    leading = leading_digits_of(columns, policy)
    profiles: dict[str, list[float]] = {}
    if policy.benford_reference == "firm_profile":
        for (_, kind), counts in _merged(
            collect_digits(columns, policy, None, None, leading), type_history
        ).items():
            total = sum(counts)
            profiles[kind] = [count / total for count in counts]
    digits_name = "first digits" if test == "first_digit" else "first two digits"
    sets = [
        (label, owners, history)
        for label, owners, history in (
            ("worker", columns.workers, worker_history),
            ("merchant", columns.merchants, merchant_history),
        )
        if label in policy.benford_sets
    ]
    for label, owners, history in sets:
        sizes = _owner_sizes(columns, owners, leading[0])
        for (owner, _), counts in history.items():
            sizes[owner] += sum(counts)
        eligible = {owner for owner, size in sizes.items() if owner is not None and size >= minimum_lines}
        if not eligible:
            continue
        by_owner: dict[str, dict[str, list[int]]] = {}
        eligible_history = {key: counts for key, counts in history.items() if key[0] in eligible}
        for (owner, kind), counts in _merged(
            collect_digits(columns, policy, owners, eligible, leading), eligible_history
        ).items():
            by_owner.setdefault(owner, {})[kind] = counts
        texts: dict[str | None, tuple[str, float]] = {}
        for owner, per_type in by_owner.items():
            counts = [sum(column) for column in zip(*per_type.values(), strict=True)]
            total = sum(counts)
            expected: list[float] | None = None
            if profiles:
                expected = [0.0] * len(counts)
                for kind, kind_counts in per_type.items():
                    share = sum(kind_counts) / total
                    for digit, p in enumerate(profiles[kind]):
                        expected[digit] += share * p
            mad = benford_mad(counts, test, expected)
            if mad > cutoff:
                reference = (
                    f"Benford's law ({conformity(mad, test)})"
                    if expected is None
                    else "the firm's usual digits for the same expense types"
                )
                texts[owner] = (
                    f"TE8 the {digits_name} of {label} {owner}'s {total:,} amounts depart from {reference}: "
                    f"MAD {mad:.4f} > {cutoff:.4f}",
                    mad / cutoff,
                )
        if not texts:
            continue
        types, amounts = columns.types, columns.amounts
        for index in _lines_of_owners(columns, owners, texts):
            if amounts[index] >= minimum_amount and types[index] not in skipped:
                flags.add(index, "benford", *texts[owners[index]])


def benford_coverage(
    columns: ExpenseColumns,
    policy: AnomalyPolicy,
    worker_history: Mapping[DigitKey, list[int]],
    merchant_history: Mapping[DigitKey, list[int]],
    type_history: Mapping[DigitKey, list[int]] | None = None,
) -> str:
    """One sentence for a run's summary on what TE8 could test: the sets (``benford_sets``) that reached
    ``benford_min_lines`` amounts with the history, or why it did not run ("TE8 not run: largest set 240
    amounts (worker W-0007), 1,000 needed"). With the firm's pool, its conformity is stated too."""
    if not policy.is_on("benford"):
        return "TE8 not run: switched off in the policy"
    minimum = policy.benford_min_lines
    positions, _ = leading = leading_digits_of(columns, policy)
    sizes: dict[str, Counter[str]] = {}
    parts: list[str] = []
    largest: tuple[int, str] = (0, "")
    for label, owners, history in (
        ("worker", columns.workers, worker_history),
        ("merchant", columns.merchants, merchant_history),
    ):
        if label not in policy.benford_sets:
            continue
        counted: Counter[str] = Counter(owner for owner in pick(owners, positions) if owner is not None)
        for (owner, _), counts in history.items():
            counted[owner] += sum(counts)
        sizes[label] = counted
        tested = sum(1 for size in counted.values() if size >= minimum)
        if counted:
            owner, size = max(counted.items(), key=lambda item: (item[1], item[0]))
            largest = max(largest, (size, f"{label} {owner}"))
        if tested:
            parts.append(f"{tested} of {len(counted)} {label} sets")
    if "firm" in policy.benford_sets:
        firm = _merged(collect_digits(columns, policy, None, None, leading), type_history or {})
        counts = [sum(column) for column in zip(*firm.values(), strict=True)] if firm else []
        total = sum(counts)
        if total >= minimum:
            mad = benford_mad(counts, policy.benford_test)
            parts.append(
                f"the firm's pool of {total:,} amounts ({conformity(mad, policy.benford_test)} to Benford's "
                f"law, MAD {mad:.4f})"
            )
        largest = max(largest, (total, "the firm's pool"))
    if not parts:
        size, name = largest
        of = f" ({name})" if name else ""
        return f"TE8 not run: largest set {size:,} amounts{of}, {minimum:,} needed"
    return f"TE8 run on {' and '.join(parts)} with at least {minimum:,} amounts"


# ------------------------------------------------------------------------------------------------------------
# TE9 consecutive receipts, TE10 claim integrity
# ------------------------------------------------------------------------------------------------------------


def _receipt_number(printed: object) -> int | None:
    if type(printed) is str and printed.isdigit():
        return int(printed)
    digits = "".join(char for char in str(printed) if char.isdigit())
    return int(digits) if digits else None


def _numbered_receipts(columns: ExpenseColumns) -> tuple[list[int], list[int]]:
    """The lines with a receipt number and a merchant, and each one's number."""
    printed = columns.fact("receipt_number")
    positions = lines_where(_present_mask(columns, present(printed)) & _with_merchant(columns))
    try:
        numbers = list(map(int, map(printed.__getitem__, positions)))
    except (TypeError, ValueError):
        parsed = [(index, _receipt_number(printed[index])) for index in positions]
        positions = [index for index, number in parsed if number is not None]
        numbers = [number for _, number in parsed if number is not None]
    return positions, numbers


def collect_receipt_numbers(
    columns: ExpenseColumns, in_history: bool = False
) -> dict[str, list[ReceiptNumber]]:
    """Per merchant: (number, date, line id, line index or -1 in the history) of each numbered receipt."""
    positions, numbers = _numbered_receipts(columns)
    merchants, dates, ids = columns.merchants, columns.dates, columns.ids
    by_merchant: dict[str, list[ReceiptNumber]] = {}
    for index, number in zip(positions, numbers, strict=True):
        entry = (number, dates[index], ids[index], -1 if in_history else index)
        found = by_merchant.get(merchants[index])  # type: ignore[arg-type]
        if found is None:
            by_merchant[merchants[index]] = [entry]  # type: ignore[index]
        else:
            found.append(entry)
    return by_merchant


def _numbers_with_neighbours(
    numbers: list[int], history: Mapping[str, list[ReceiptNumber]]
) -> tuple[list[int], Callable[[str], list[ReceiptNumber]]]:
    """The places of the batch's numbers with a neighbour (n - 1 or n + 1) among the batch's and the
    history's numbers, and a merchant's past entries with one. Found in numpy, when the numbers fit in
    64 bits: the distinct numbers sorted once, a neighbour being the next or previous distinct number."""
    past_numbers = [entry[0] for past in history.values() for entry in past]
    every = [*numbers, *past_numbers]
    np = numpy()
    try:  # read in C; the bounds then checked in numpy
        every_array = np.array(every, dtype=np.int64)
    except OverflowError:
        every_array = None
    if (
        len(every)
        and every_array is not None
        and int(every_array.min()) > -(2**62)
        and int(every_array.max()) < 2**62
    ):
        distinct, number_of = np.unique(every_array, return_inverse=True)
        next_to = np.diff(distinct) == 1
        linked = np.zeros(len(distinct), dtype=bool)
        linked[1:] |= next_to
        linked[:-1] |= next_to
        with_neighbour = linked[number_of]
        places = lines_where(with_neighbour[: len(numbers)])
        past_linked: dict[str, list[ReceiptNumber]] = {}
        start = len(numbers)
        for merchant, past in history.items():
            past_linked[merchant] = list(compress(past, with_neighbour[start : start + len(past)].tolist()))
            start += len(past)
        return places, lambda merchant: past_linked.get(merchant, [])
    known = set(every)
    places = [place for place, number in enumerate(numbers) if number + 1 in known or number - 1 in known]
    return places, lambda merchant: [
        entry for entry in history.get(merchant, ()) if entry[0] + 1 in known or entry[0] - 1 in known
    ]


def flag_consecutive_receipts(
    columns: ExpenseColumns,
    policy: AnomalyPolicy,
    history: Mapping[str, list[ReceiptNumber]],
    flags: Flags,
) -> None:
    """TE9: a shop numbers its receipts as it sells, so receipts numbered n, n+1, n+2 dated weeks apart come
    from a pad, not from purchases."""
    minimum, span = policy.consecutive_receipts_min, policy.consecutive_receipts_min_span_days
    positions, numbers = _numbered_receipts(columns)
    dates, ids = columns.dates, columns.ids
    # A run is made of numbers that each have a neighbour (n - 1 or n + 1) at the same merchant, in the batch
    # or before. A number with no neighbour at any merchant has none at its own, and is no one's neighbour:
    # that test, on plain integers, leaves few lines (the runs, and chance neighbours at the merchants with
    # thousands of receipts) for the test per merchant.
    places, linked_past = _numbers_with_neighbours(numbers, history)
    if not places:
        return
    line_merchants = pick(columns.merchants, pick(positions, places))
    by_merchant = group_positions([merchant or "" for merchant in line_merchants], places)
    for merchant, places in by_merchant.items():
        past = linked_past(merchant)
        if len(places) + len(past) < minimum:
            continue
        batch_numbers = {numbers[place] for place in places}
        every_number = batch_numbers | {entry[0] for entry in past} if past else batch_numbers
        linked = {
            number for number in every_number if number + 1 in every_number or number - 1 in every_number
        }
        if not linked or linked.isdisjoint(batch_numbers):
            continue
        entries = sorted(
            [entry for entry in past if entry[0] in linked]
            + [
                (numbers[place], dates[positions[place]], ids[positions[place]], positions[place])
                for place in places
                if numbers[place] in linked
            ]
        )
        start = 0
        for end in range(1, len(entries) + 1):
            if end < len(entries) and entries[end][0] - entries[end - 1][0] <= 1:
                continue
            run = entries[start:end]
            start = end
            if len({entry[0] for entry in run}) < minimum:
                continue
            days = [entry[1] for entry in run]
            if (max(days) - min(days)).days >= span:
                text = (
                    f"TE9 receipts {run[0][0]} to {run[-1][0]} of {merchant} are consecutively numbered but "
                    f"dated {min(days):%Y-%m-%d} to {max(days):%Y-%m-%d}"
                )
                for entry in run:
                    if entry[3] >= 0:
                        flags.add(entry[3], "consecutive_receipts", text)


def flag_claim_integrity(columns: ExpenseColumns, policy: AnomalyPolicy, flags: Flags) -> None:
    """TE10: an approver may sanction less than claimed, never more; an advance never exceeds what is
    sanctioned."""
    currencies, amounts = columns.currencies, columns.amounts
    given, sanctioned, sanctioned_array = _given_numbers(columns, "sanctioned_amount")
    np = numpy()
    amounts_array = amount_array(columns)
    given_array = np.fromiter(given, dtype=np.intp, count=len(given))
    if policy.is_on("sanctioned_above_claimed"):
        # The lines a check can fire on, found in numpy; each then checked as it always was.
        above = lines_where(sanctioned_array > amounts_array[given_array] + 0.005)
        for index, amount in zip(pick(given, above), pick(sanctioned, above), strict=True):
            if not amount > amounts[index] + 0.005:
                continue
            flags.add(
                index,
                "sanctioned_above_claimed",
                f"TE10 sanctioned {money(currencies[index], amount or 0.0)} is more than the "
                f"{money(currencies[index], amounts[index])} claimed",
            )
    if policy.is_on("advance_above_sanctioned"):
        advanced, advances, _ = _given_numbers(columns, "advance_amount")
        granted_on = np.zeros(len(amounts), dtype=bool)
        granted_on[given_array] = True
        granted_amounts = np.zeros(len(amounts))
        granted_amounts[given_array] = sanctioned_array
        advanced_array = np.fromiter(advanced, dtype=np.intp, count=len(advanced))
        allowed_array = np.where(
            granted_on[advanced_array], granted_amounts[advanced_array], amounts_array[advanced_array]
        )
        above = lines_where(floats(advances) > allowed_array + 0.005)
        for index, advance in zip(pick(advanced, above), pick(advances, above), strict=True):
            place = bisect_left(given, index)  # the lines with a sanctioned amount are in order
            granted = sanctioned[place] if place < len(given) and given[place] == index else None
            allowed = amounts[index] if granted is None else granted
            if advance > allowed + 0.005:
                flags.add(
                    index,
                    "advance_above_sanctioned",
                    f"TE10 advance {money(currencies[index], advance)} is more than the "
                    f"{money(currencies[index], allowed)} {'claimed' if granted is None else 'sanctioned'}",
                )


# ------------------------------------------------------------------------------------------------------------
# TE11 robust outliers
# ------------------------------------------------------------------------------------------------------------


def outlier_types_skipped(policy: AnomalyPolicy) -> set[str]:
    return policy.capped_types() if policy.outliers_skip_capped_types else set()


def benford_types_skipped(policy: AnomalyPolicy) -> set[str]:
    return policy.capped_types() if policy.benford_skip_capped_types else set()


class OutlierSample:
    """Log amounts of the lines TE11 judges, grouped by the worker's own history and by peer group.

    A group is known by the position (in ``positions``) of its first line: ``own_group[i]`` and
    ``peer_group[i]`` name the groups of the i-th judged line, ``own_keys`` and ``peer_keys`` their keys.
    Without values (the scoring), the groups are found in numpy from the batch's codes where they can be,
    and the keys and log amounts are read per place on demand (``_PlaceKeys``, ``_PlaceLogs``): the rule
    reads them for its groups' first lines and its suspects only; ``log_array`` then holds numpy's log of
    every amount, for the filter (``_above_a_median``).
    """

    __slots__ = (
        "group_arrays",
        "log_array",
        "logs",
        "own",
        "own_group",
        "own_keys",
        "peer",
        "peer_group",
        "peer_keys",
        "positions",
    )

    def __init__(
        self,
        columns: ExpenseColumns,
        policy: AnomalyPolicy,
        worker_roles: Mapping[str, str],
        *,
        with_values: bool = True,
    ) -> None:
        """``with_values``: also the log amounts per group (``own``, ``peer``: what a history keeps); without,
        those dicts hold each group's first position only, with an empty list."""
        skipped = outlier_types_skipped(policy)
        types, base = columns.types, columns.base
        base_values = base_array(columns)
        judged = (base_values > 0.0) & (base_values < math.inf) & ~of_types(columns, skipped)
        self.positions = positions = lines_where(judged)
        self.log_array: Any = None
        self.group_arrays: tuple[Any, Any] | None = None
        role_column = columns.fact("role")
        if not with_values and role_column.count(None) == len(role_column):
            coded = _coded_groups(columns, positions, worker_roles)
            if coded is not None:
                np = numpy()
                (self.own_group, self.own), (self.peer_group, self.peer), self.group_arrays = coded
                self.log_array = np.log(base_values[judged])
                self.logs: Sequence[float] = _PlaceLogs(base, positions)
                self.own_keys: Sequence[OwnKey] = _PlaceKeys(positions, columns.workers, types)
                self.peer_keys: Sequence[PeerKey] = _PlaceKeys(
                    positions, _Roles(columns.workers, worker_roles), types, columns.cities
                )
                return
        workers, kinds = pick(columns.workers, positions), pick(types, positions)
        roles = pick(role_column, positions)
        if any(roles):
            get_role = worker_roles.get
            roles = [role or get_role(worker) for role, worker in zip(roles, workers, strict=True)]
        else:
            roles = list(map(worker_roles.get, workers))
        self.logs = list(map(math.log, pick(base, positions)))
        self.own_keys = list(zip(workers, kinds, strict=True))
        self.peer_keys = list(zip(roles, kinds, pick(columns.cities, positions), strict=True))
        own_grouped = None if with_values else _own_groups(columns, positions)
        self.own_group, self.own = own_grouped or _grouped(self.own_keys, self.logs, with_values)
        self.peer_group, self.peer = _grouped(self.peer_keys, self.logs, with_values)


class _PlaceLogs(Sequence[float]):
    """The log amount of the judged line at each place, computed when read (``math.log``, as a history's)."""

    __slots__ = ("base", "positions")

    def __init__(self, base: list[float], positions: list[int]) -> None:
        self.base, self.positions = base, positions

    def __len__(self) -> int:
        return len(self.positions)

    def __getitem__(self, place: Any) -> Any:
        return math.log(self.base[self.positions[place]])


class _Roles:
    """A worker column read as the workers' roles (the peer group's role when the lines say none)."""

    __slots__ = ("roles", "workers")

    def __init__(self, workers: list[str], roles: Mapping[str, str]) -> None:
        self.workers, self.roles = workers, roles

    def __getitem__(self, index: int) -> str | None:
        return self.roles.get(self.workers[index])


class _PlaceKeys(Sequence[Any]):
    """The key of the judged line at each place (its values in the columns), made when read."""

    __slots__ = ("columns", "positions")

    def __init__(self, positions: list[int], *columns: Any) -> None:
        self.positions, self.columns = positions, columns

    def __len__(self) -> int:
        return len(self.positions)

    def __getitem__(self, place: Any) -> Any:
        index = self.positions[place]
        return tuple([column[index] for column in self.columns])


def _first_places(keys: Any, size: int) -> tuple[list[int], dict[int, list[float]], Any]:
    """Per place, the place of the first line with its key (a code below ``size``), as a list and an array,
    and the groups (by first place, in order) with an empty list each, found in numpy."""
    np = numpy()
    order = np.arange(len(keys))
    first = np.full(size, len(keys))
    np.minimum.at(first, keys, order)
    group_of = first[keys]
    return group_of.tolist(), {group: [] for group in lines_where(group_of == order)}, group_of


def _coded_groups(
    columns: ExpenseColumns, positions: list[int], worker_roles: Mapping[str, str]
) -> tuple[tuple[list[int], dict[int, list[float]]], tuple[list[int], dict[int, list[float]]], Any] | None:
    """The own groups (worker, type) and peer groups (role, type, city) of the lines at ``positions``, as
    ``_grouped`` makes them without values, from the batch's codes: the role of each distinct worker looked
    up once, the cities coded once. None when a bin per group would outweigh the lines."""
    np = numpy()
    workers, distinct_workers = _worker_codes(columns)
    kinds, distinct_types = _type_codes(columns)
    cities, distinct_cities = _array_of(columns, "city_codes", columns.cities, factorized)
    role_codes, distinct_roles = factorized([worker_roles.get(worker) for worker in distinct_workers])
    width = max(len(distinct_types), 1)
    own_size = len(distinct_workers) * width
    peer_size = max(len(distinct_roles), 1) * width * max(len(distinct_cities), 1)
    if max(own_size, peer_size) > _MAX_BINS_PER_LINE * len(positions) + 1024:
        return None
    places = np.fromiter(positions, dtype=np.intp, count=len(positions))
    line_workers, line_kinds = workers[places], kinds[places]
    own_of, own, own_array = _first_places(line_workers * width + line_kinds, own_size)
    peer_keys = (role_codes[line_workers] * width + line_kinds) * max(len(distinct_cities), 1) + cities[
        places
    ]
    peer_of, peer, peer_array = _first_places(peer_keys, peer_size)
    return (own_of, own), (peer_of, peer), (own_array, peer_array)


def _own_groups(
    columns: ExpenseColumns, positions: list[int]
) -> tuple[list[int], dict[int, list[float]]] | None:
    """``_grouped`` of the (worker, expense type) keys of the lines at ``positions``, without values, from
    the batch's worker and type codes: each key's first place found in numpy (``np.minimum.at``), not a
    tuple hashed into a dict per line. None when a bin per (worker, type) pair would outweigh the lines."""
    np = numpy()
    workers, distinct_workers = _worker_codes(columns)
    kinds, distinct_types = _type_codes(columns)
    size = len(distinct_workers) * max(len(distinct_types), 1)
    if size > _MAX_BINS_PER_LINE * len(positions) + 1024:
        return None
    places = np.fromiter(positions, dtype=np.intp, count=len(positions))
    pairs = workers[places] * max(len(distinct_types), 1) + kinds[places]
    group_of, groups, _ = _first_places(pairs, size)
    return group_of, groups


def _grouped(
    keys: list[GroupKey], values: list[float], with_values: bool = True
) -> tuple[list[int], dict[int, list[float]]]:
    first, group_of = first_of_each(keys)
    groups: dict[int, list[float]] = {group: [] for group in first.values()}
    if not with_values:
        return group_of, groups
    for group, value in zip(group_of, values, strict=True):
        groups[group].append(value)
    return group_of, groups


def robust_center(values: list[float]) -> tuple[float, float] | None:
    """Median and robust scale: MAD / 0.6745 (so that z = 0.6745 (x - median) / MAD, Iglewicz and Hoaglin),
    or 1.2533 x mean absolute deviation when more than half the values are equal; None when all are."""
    ordered = sorted(values)
    n = len(ordered)
    middle = n // 2
    median = ordered[middle] if n % 2 else (ordered[middle - 1] + ordered[middle]) / 2
    deviations = sorted(map(abs, map(sub, ordered, repeat(median))))
    mad = deviations[middle] if n % 2 else (deviations[middle - 1] + deviations[middle]) / 2
    if mad > 0.0:
        return median, mad / 0.6745
    mean_deviation = sum(deviations) / n
    if mean_deviation > 0.0:
        return median, 1.253314 * mean_deviation
    return None


def _centers(
    groups: Mapping[int, list[float]],
    keys: Sequence[GroupKey],
    history: Mapping[GroupKey, list[float]],
    minimum: int,
) -> dict[int, tuple[float, float, int]]:
    """Median, robust scale and size of each group's history: the period scored is never in its own
    baseline, or a worker's two or three spikes would hide each other."""
    centers: dict[int, tuple[float, float, int]] = {}
    for group in groups:
        past = history.get(keys[group])
        if past is None or len(past) < minimum:
            continue
        center = robust_center(past)
        if center is not None:
            centers[group] = (center[0], center[1], len(past))
    return centers


def _above_a_median(
    sample: OutlierSample,
    own: Mapping[int, tuple[float, float, int]],
    peer: Mapping[int, tuple[float, float, int]],
    min_log_ratio: float,
) -> list[int]:
    """The places of the sample whose log amount is at least ``min_log_ratio`` above its own group's or its
    peer group's median."""
    size = len(sample.logs)
    if not size or not (own or peer):
        return []
    np = numpy()
    if sample.log_array is not None:
        # numpy's log may differ from math.log in the last bit: a margin keeps every line the exact test
        # (the rule's, on math.log) would pass; the rule tests each suspect again.
        logs, min_log_ratio = sample.log_array, min_log_ratio - 1e-9
    else:
        logs = floats(sample.logs)
    above = np.zeros(size, dtype=bool)
    group_arrays = sample.group_arrays or (None, None)
    for centers, group_of, group_array in (
        (own, sample.own_group, group_arrays[0]),
        (peer, sample.peer_group, group_arrays[1]),
    ):
        if not centers:
            continue
        medians = np.full(size, math.inf)  # by group (a group is known by its first place)
        medians[np.fromiter(centers.keys(), dtype=np.intp, count=len(centers))] = np.fromiter(
            (center[0] for center in centers.values()), dtype=np.float64, count=len(centers)
        )
        if group_array is None:
            group_array = np.fromiter(group_of, dtype=np.intp, count=size)
        above |= logs - medians[group_array] >= min_log_ratio
    return lines_where(above)


def _explained(past: list[float] | None, value: float, share: float) -> bool:
    """Whether at least ``share`` of the past values reached ``value``: a spike the history explains."""
    if not past or share <= 0.0:
        return False
    return sum(1 for old in past if old >= value - 1e-9) / len(past) >= share


def flag_amount_outliers(
    columns: ExpenseColumns,
    policy: AnomalyPolicy,
    worker_roles: Mapping[str, str],
    own_history: Mapping[OwnKey, list[float]],
    peer_history: Mapping[PeerKey, list[float]],
    flags: Flags,
) -> None:
    """TE11: a claim far above the worker's own past claims of the type, or far above the peer group's past
    claims (role, expense type, city). Robust z on log amounts above ``robust_z_threshold`` and at least
    ``outlier_min_ratio`` times the median: a modest rise in a tight group is not what a reviewer looks for.
    The baselines are the history alone (the period scored is not in them); a claim the worker's own history
    reached often enough (``outlier_explained_share``: a yearly licence) is no outlier. Strength: the
    largest robust z over the threshold."""
    sample = OutlierSample(columns, policy, worker_roles, with_values=False)
    own = _centers(sample.own, sample.own_keys, own_history, policy.own_history_min_lines)
    peer = _centers(sample.peer, sample.peer_keys, peer_history, policy.peer_group_min_lines)
    threshold = policy.robust_z_threshold
    min_log_ratio = math.log(policy.outlier_min_ratio)
    currency = policy.currency
    # A line is a suspect when it is at least the minimum ratio above one of its medians (none: +inf),
    # found in numpy: each group's median spread to its lines, one subtraction per line as in Python.
    suspects = _above_a_median(sample, own, peer, min_log_ratio)
    explained_share = policy.outlier_explained_share
    for place in suspects:
        value, index = sample.logs[place], sample.positions[place]
        if _explained(own_history.get(sample.own_keys[place]), value, explained_share):
            continue
        found: list[str] = []
        strength = 0.0
        center = own.get(sample.own_group[place])
        if (
            center is not None
            and value - center[0] >= min_log_ratio
            and value - center[0] > threshold * center[1]
        ):
            worker, kind = sample.own_keys[place]
            strength = (value - center[0]) / center[1] / threshold
            found.append(
                f"{math.exp(value - center[0]):.1f}x {worker}'s median {kind} claim "
                f"({money(currency, math.exp(center[0]))} over {center[2]} claims, robust z "
                f"{(value - center[0]) / center[1]:.1f})"
            )
        center = peer.get(sample.peer_group[place])
        if (
            center is not None
            and value - center[0] >= min_log_ratio
            and value - center[0] > threshold * center[1]
        ):
            role, kind, city = sample.peer_keys[place]
            strength = max(strength, (value - center[0]) / center[1] / threshold)
            found.append(
                f"{math.exp(value - center[0]):.1f}x the median of peers ({role or 'any role'}, {kind}, "
                f"{city or 'any city'}: {money(currency, math.exp(center[0]))} over {center[2]} claims, "
                f"robust z {(value - center[0]) / center[1]:.1f})"
            )
        if found:
            flags.add(
                index,
                "amount_outlier",
                f"TE11 {columns.types[index]} {money(currency, columns.base[index])} is "
                + " and ".join(found),
                strength,
            )
