"""Scoring time and expense lines for review: a score in [0, 1] and the reasons for it, per line.

``score_lines`` takes the canonical models; ``score_rows`` takes plain rows (see ``rows``) and is what a
handler reading a period's lines from S3 calls. Both return one ``ScoredLine`` per input line, time lines
first, each kind in input order. A line no check fires on scores 0 with no reasons.

The work is arranged for throughput on one core: rows are read once into columns, each rule is one loop
over the columns it needs, group statistics (medians, digit counts) are computed once per group, and text
is written only for lines that are flagged.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from backoffice.anomaly.expense_rules import (
    flag_amount_outliers,
    flag_benford,
    flag_claim_integrity,
    flag_consecutive_receipts,
    flag_duplicate_expenses,
    flag_duplicate_merchant_charges,
    flag_duplicate_receipts,
    flag_per_attendee,
    flag_per_diem,
    flag_receipt_rules,
    flag_round_amounts,
    flag_round_endings,
    flag_split_transactions,
)
from backoffice.anomaly.history import AnomalyHistory, worker_roles
from backoffice.anomaly.policy import AnomalyPolicy
from backoffice.anomaly.rows import ExpenseColumns, expense_columns, expense_row, time_columns, time_row
from backoffice.anomaly.scored import INVALID_LINE, Flags, ScoredLine
from backoffice.anomaly.time_rules import score_time_rules
from backoffice.models import ExpenseEntry, TimeEntry, Worker

_EMPTY_HISTORY = AnomalyHistory()


@contextmanager
def _collector_paused() -> Iterator[None]:
    """A run allocates millions of small objects that all live to its end; the cyclic collector would walk
    them again and again for nothing (none forms a cycle). Reference counting still frees them.

    What survives the run (a ``ScoredLine`` per line) is then long-lived: it goes straight to the oldest
    generation (``freeze`` then ``unfreeze``: two list splices, no walk), where the collector would move it
    after walking it twice; the first young collection after the run would otherwise walk a million tuples
    at once. Skipped when the application freezes objects itself, so as not to thaw them."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            if gc.get_freeze_count() == 0:
                gc.freeze()
                gc.unfreeze()
            gc.enable()


def score_rows(
    time_rows: Sequence[Mapping[str, Any]] = (),
    expense_rows: Sequence[Mapping[str, Any]] = (),
    history: AnomalyHistory | None = None,
    policy: AnomalyPolicy | None = None,
    *,
    worker_roles: Mapping[str, str] | None = None,
) -> list[ScoredLine]:
    """Scores plain rows. ``worker_roles`` maps a worker id to the role of its peer group (TE11), for rows
    without a ``role``."""
    policy = policy or AnomalyPolicy()
    history = history or _EMPTY_HISTORY
    if history.lines and history.benford_test != policy.benford_test:
        raise ValueError(
            f"the history counts {history.benford_test} digits, the policy asks for {policy.benford_test}"
        )
    with _collector_paused():
        # In functions of their own, so that their columns are freed before the collector runs again.
        scored = _score_time_rows(time_rows, policy, history)
        scored += _score_expense_rows(expense_rows, policy, history, worker_roles or {})
    return scored


def _score_time_rows(
    rows: Sequence[Mapping[str, Any]], policy: AnomalyPolicy, history: AnomalyHistory
) -> list[ScoredLine]:
    times = time_columns(rows, scored=True)
    flags = Flags(len(times.ids), policy)
    score_time_rules(times, policy, history.time_keys, flags)
    _mark_unreadable(times.invalid, flags)
    return flags.scored_lines(times.ids, "time", times.unflagged)


def _score_expense_rows(
    rows: Sequence[Mapping[str, Any]],
    policy: AnomalyPolicy,
    history: AnomalyHistory,
    roles: Mapping[str, str],
) -> list[ScoredLine]:
    expenses = expense_columns(rows, policy.currency, policy.fx_rates, scored=True)
    flags = Flags(len(expenses.ids), policy)
    _score_expense_rules(expenses, policy, history, roles, flags)
    _mark_unreadable(expenses.invalid, flags)
    return flags.scored_lines(expenses.ids, "expense", expenses.unflagged)


def score_lines(
    time_entries: Iterable[TimeEntry] = (),
    expenses: Iterable[ExpenseEntry] = (),
    history: AnomalyHistory | None = None,
    policy: AnomalyPolicy | None = None,
    *,
    workers: Iterable[Worker] = (),
    line_facts: Mapping[str, Mapping[str, Any]] | None = None,
) -> list[ScoredLine]:
    """Scores canonical time entries and expenses.

    ``workers`` gives each worker's role for the peer groups (TE11). ``line_facts`` maps an expense id to
    facts the ``ExpenseEntry`` model does not carry yet (``rows.LINE_FACTS``: what OCR read on the receipt,
    the tip, the card, an advance); without them the checks that need them are skipped for that line.
    """
    facts = line_facts or {}
    return score_rows(
        [time_row(entry) for entry in time_entries],
        [expense_row(entry, facts.get(entry.id)) for entry in expenses],
        history,
        policy,
        worker_roles=worker_roles(workers),
    )


def _score_expense_rules(
    columns: ExpenseColumns,
    policy: AnomalyPolicy,
    history: AnomalyHistory,
    roles: Mapping[str, str],
    flags: Flags,
) -> None:
    on = policy.is_on
    if on("duplicate_expense"):
        flag_duplicate_expenses(columns, history.expense_keys, flags)
    if on("duplicate_receipt"):
        flag_duplicate_receipts(columns, history.receipts, flags)
    if on("duplicate_merchant_charge"):
        flag_duplicate_merchant_charges(columns, policy, history.merchant_charges, flags)
    if on("split_transaction"):
        flag_split_transactions(columns, policy, flags)
    if on("round_amount"):
        flag_round_amounts(columns, policy, flags)
    if on("round_endings"):
        flag_round_endings(columns, policy, history.round_endings, flags)
    if on("receipt_missing", "receipt_amount_mismatch", "receipt_date_mismatch", "tip_above_limit"):
        flag_receipt_rules(columns, policy, flags)
    if on("per_diem_lodging", "per_diem_meals"):
        flag_per_diem(columns, policy, flags)
    if on("per_attendee"):
        flag_per_attendee(columns, policy, flags)
    if on("benford"):
        flag_benford(
            columns, policy, history.worker_digits, history.merchant_digits, history.type_digits, flags
        )
    if on("consecutive_receipts"):
        flag_consecutive_receipts(columns, policy, history.receipt_numbers, flags)
    if on("sanctioned_above_claimed", "advance_above_sanctioned"):
        flag_claim_integrity(columns, policy, flags)
    if on("amount_outlier"):
        flag_amount_outliers(columns, policy, roles, history.own_logs, history.peer_logs, flags)


def _mark_unreadable(invalid: Mapping[int, str], flags: Flags) -> None:
    for index, text in invalid.items():
        flags.reasons.pop(index, None)
        flags.keep[index] = 1.0
        flags.add(index, INVALID_LINE, text)
