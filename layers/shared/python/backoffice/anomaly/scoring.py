"""Scoring time and expense lines for review: a score in [0, 1] and the reasons for it, per line.

``score_lines`` takes the canonical models; ``score_field_lists`` their JSON form kept a list per field, as
the invoicing handler reads a period's lines from S3; ``score_rows`` takes plain rows (see ``rows``) and is what a
handler reading a period's lines from S3 calls; ``score_columns`` takes lines that arrive column-wise (a
list per field, see ``rows.time_columns_of``). There is one scoring path: rows are read into the same
columns, which the same rules score. All return one ``ScoredLine`` per input line, time lines first, each
kind in input order. A line no check fires on scores 0 with no reasons.

The work is arranged for throughput on one core: rows are read once into columns, each rule is one loop
over the columns it needs, group statistics (medians, digit counts) are computed once per group, and text
is written only for lines that are flagged.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from backoffice.anomaly.expense_rules import (
    benford_coverage,
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
from backoffice.anomaly.grouping import collector_paused
from backoffice.anomaly.history import AnomalyHistory, worker_roles
from backoffice.anomaly.policy import AnomalyPolicy
from backoffice.anomaly.rows import (
    ExpenseColumns,
    TimeColumns,
    expense_columns,
    expense_columns_of,
    expense_entry_lists,
    time_columns,
    time_columns_of,
    time_entry_lists,
    to_base,
)
from backoffice.anomaly.scored import INVALID_LINE, FlaggedLines, Flags, ScoredLine
from backoffice.anomaly.time_rules import score_time_rules
from backoffice.models import ExpenseEntry, TimeEntry, Worker

_EMPTY_HISTORY = AnomalyHistory()


def score_rows(
    time_rows: Sequence[Mapping[str, Any]] = (),
    expense_rows: Sequence[Mapping[str, Any]] = (),
    history: AnomalyHistory | None = None,
    policy: AnomalyPolicy | None = None,
    *,
    worker_roles: Mapping[str, str] | None = None,
) -> list[ScoredLine]:
    """Scores plain rows: reads them into columns and scores those (``score_columns``). ``worker_roles``
    maps a worker id to the role of its peer group (TE11), for rows without a ``role``."""
    policy, history = _checked(policy, history)
    with collector_paused():
        # Each kind read and scored in turn, so that its columns are freed before the next is read.
        times = time_columns(time_rows, scored=True)
        scored = _score_time_columns(times, policy, history, times.unflagged)
        del times
        expenses = expense_columns(expense_rows, policy.currency, policy.fx_rates, scored=True)
        scored += _score_expense_columns(expenses, policy, history, worker_roles or {}, expenses.unflagged)
    return scored


def score_columns(
    times: TimeColumns | None = None,
    expenses: ExpenseColumns | None = None,
    history: AnomalyHistory | None = None,
    policy: AnomalyPolicy | None = None,
    *,
    worker_roles: Mapping[str, str] | None = None,
) -> list[ScoredLine]:
    """Scores lines that arrive column-wise (``rows.time_columns_of``, ``rows.expense_columns_of``): the
    same scores, reasons and order as ``score_rows`` on the same lines, without a dict per line.

    Expense amounts are converted to the policy's currency here, whatever currency the columns were built
    with. The unscored lines the builders make with ``scored=True`` are used by the first call only: the
    columns can be scored again (under another policy, say), each call returning lines of its own."""
    policy, history = _checked(policy, history)
    with collector_paused():
        scored: list[ScoredLine] = []
        if times is not None:
            unflagged, times.unflagged = times.unflagged, None
            scored = _score_time_columns(times, policy, history, unflagged)
        if expenses is not None:
            unflagged, expenses.unflagged = expenses.unflagged, None
            in_policy_currency = replace(
                expenses,
                base=to_base(expenses.amounts, expenses.currencies, policy.currency, policy.fx_rates),
            )
            scored += _score_expense_columns(
                in_policy_currency, policy, history, worker_roles or {}, unflagged
            )
    return scored


def flagged_in_columns(
    times: TimeColumns | None = None,
    expenses: ExpenseColumns | None = None,
    history: AnomalyHistory | None = None,
    policy: AnomalyPolicy | None = None,
    *,
    worker_roles: Mapping[str, str] | None = None,
) -> FlaggedLines:
    """``score_columns`` keeping the flagged lines only (``FlaggedLines``; ``all_lines()`` is the list
    ``score_columns`` returns): what a run that reports the flagged lines needs, without a ``ScoredLine`` for
    each of the others (most of a period's lines). Build the columns without ``scored``."""
    policy, history = _checked(policy, history)
    with collector_paused():
        flagged_time: dict[int, ScoredLine] = {}
        flagged_expenses: dict[int, ScoredLine] = {}
        if times is not None:
            flagged_time = _time_flags(times, policy, history).flagged_lines(times.ids, "time", policy)
        if expenses is not None:
            in_policy_currency = replace(
                expenses,
                base=to_base(expenses.amounts, expenses.currencies, policy.currency, policy.fx_rates),
            )
            flagged_expenses = _expense_flags(
                in_policy_currency, policy, history, worker_roles or {}
            ).flagged_lines(expenses.ids, "expense", policy)
    return FlaggedLines(
        times.ids if times is not None else [],
        expenses.ids if expenses is not None else [],
        flagged_time,
        flagged_expenses,
    )


def _checked(
    policy: AnomalyPolicy | None, history: AnomalyHistory | None
) -> tuple[AnomalyPolicy, AnomalyHistory]:
    policy = policy or AnomalyPolicy()
    history = history or _EMPTY_HISTORY
    if history.lines and history.benford_test != policy.benford_test:
        raise ValueError(
            f"the history counts {history.benford_test} digits, the policy asks for {policy.benford_test}"
        )
    return policy, history


def _score_time_columns(
    times: TimeColumns,
    policy: AnomalyPolicy,
    history: AnomalyHistory,
    unflagged: list[ScoredLine] | None,
) -> list[ScoredLine]:
    return _time_flags(times, policy, history).scored_lines(times.ids, "time", policy, unflagged)


def _time_flags(times: TimeColumns, policy: AnomalyPolicy, history: AnomalyHistory) -> Flags:
    flags = Flags(len(times.ids), policy)
    score_time_rules(times, policy, history.time_keys, flags)
    _mark_unreadable(times.invalid, flags)
    return flags


def _score_expense_columns(
    expenses: ExpenseColumns,
    policy: AnomalyPolicy,
    history: AnomalyHistory,
    roles: Mapping[str, str],
    unflagged: list[ScoredLine] | None,
) -> list[ScoredLine]:
    flags = _expense_flags(expenses, policy, history, roles)
    return flags.scored_lines(expenses.ids, "expense", policy, unflagged)


def _expense_flags(
    expenses: ExpenseColumns, policy: AnomalyPolicy, history: AnomalyHistory, roles: Mapping[str, str]
) -> Flags:
    flags = Flags(len(expenses.ids), policy)
    _score_expense_rules(expenses, policy, history, roles, flags)
    _mark_unreadable(expenses.invalid, flags)
    return flags


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

    ``workers`` gives each worker's role for the peer groups (TE11). The receipt facts (what the receipt
    says, the tip, the card, an advance: ``rows.LINE_FACTS``) are read off each ``ExpenseEntry``;
    ``line_facts`` maps an expense id to facts that go over the model's (a role, say). A line without a
    fact skips the checks that need it.
    """
    # Straight to columns: a list per field read off the models, no dict per line.
    with collector_paused():
        return score_field_lists(
            time_entry_lists(list(time_entries)),
            expense_entry_lists(list(expenses), line_facts),
            history,
            policy,
            workers=workers,
        )


def score_field_lists(
    time_lists: Mapping[str, Sequence[Any]] | None = None,
    expense_lists: Mapping[str, Sequence[Any]] | None = None,
    history: AnomalyHistory | None = None,
    policy: AnomalyPolicy | None = None,
    *,
    workers: Iterable[Worker] = (),
) -> list[ScoredLine]:
    """Scores lines kept column-wise in their JSON form: one list per field, as ``rows.time_json_lists``
    and ``rows.expense_json_lists`` make them from ``TimeEntry``/``ExpenseEntry`` JSON and as a period's
    lines file holds them (dates and timestamps as ISO text, amounts and hours as numbers). The
    scores of ``score_lines`` on the same models, without a model or a dict per line (``score_columns``);
    a line with an impossible value is scored 1.0 with the reason, as everywhere."""
    policy = policy or AnomalyPolicy()
    with collector_paused():
        times = time_columns_of(time_lists, scored=True) if time_lists is not None else None
        expenses = (
            expense_columns_of(expense_lists, policy.currency, policy.fx_rates, scored=True)
            if expense_lists is not None
            else None
        )
        return score_columns(times, expenses, history, policy, worker_roles=worker_roles(workers))


def flagged_in_field_lists(
    time_lists: Mapping[str, Sequence[Any]] | None = None,
    expense_lists: Mapping[str, Sequence[Any]] | None = None,
    history: AnomalyHistory | None = None,
    policy: AnomalyPolicy | None = None,
    *,
    workers: Iterable[Worker] = (),
) -> FlaggedLines:
    """``score_field_lists`` keeping the flagged lines only (``flagged_in_columns``): how the invoicing run
    scores a period's lines file."""
    policy = policy or AnomalyPolicy()
    with collector_paused():
        times = time_columns_of(time_lists) if time_lists is not None else None
        expenses = (
            expense_columns_of(expense_lists, policy.currency, policy.fx_rates)
            if expense_lists is not None
            else None
        )
        return flagged_in_columns(times, expenses, history, policy, worker_roles=worker_roles(workers))


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
        flag_round_amounts(columns, policy, flags, history.round_endings)
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


def benford_coverage_of(
    expenses: ExpenseColumns, history: AnomalyHistory | None = None, policy: AnomalyPolicy | None = None
) -> str:
    """What TE8 could test on these lines with this history, in a sentence for the run's summary: Benford's law
    means little under ``benford_min_lines`` amounts a set, and a firm should read that it did not run rather
    than take silence for conformity."""
    policy, history = _checked(policy, history)
    return benford_coverage(
        expenses, policy, history.worker_digits, history.merchant_digits, history.type_digits
    )


def _mark_unreadable(invalid: Mapping[int, str], flags: Flags) -> None:
    for index, text in invalid.items():
        flags.clear(index)
        flags.add(index, INVALID_LINE, text)
