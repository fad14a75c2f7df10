"""Explainable anomaly scoring of time and expense lines (TE1 to TE11 of DOMAIN.md section 3).

Every line gets a score in [0, 1], the reasons behind it, each naming its rule
(``"TE4 receipt missing for lodging USD 212.00"``), and whether a person must review it. A policy violation
(duplicates, split bills, receipts, per diem, hours, claim integrity) always goes to review; statistical
signals (round amounts, Benford's law, robust z-scores against the worker's own history and the peer group,
calendar patterns) are scored together by a fitted logistic model (``signal_model``) and go to review at the
threshold that reaches the policy's target precision.

    scored = score_lines(time_entries, expenses, history, AnomalyPolicy.from_json_dict(firm_policy))
    scored = score_field_lists(time_json_lists(time_dicts), expense_json_lists(expense_dicts), history, policy)
    scored = score_field_lists(coded_lists(time_json_lists(time_dicts)), ...)  # as a period's lines file
    scored = score_columns(time_columns_of({"id": [...], "hours": [...], ...}), expense_columns_of(...), ...)
    flagged = flagged_in_field_lists(lines["time"], lines["expenses"], history, policy).flagged()  # as the
    # invoicing run scores a period: a ScoredLine for the flagged lines only (``FlaggedLines``)
"""

from backoffice.anomaly.history import AnomalyHistory
from backoffice.anomaly.policy import CHECKS, DEFAULT_VIOLATIONS, SIGNALS, AnomalyPolicy, Check
from backoffice.anomaly.public_holidays import public_holiday_name, us_federal_holidays
from backoffice.anomaly.rows import (
    LINE_FACTS,
    ExpenseColumns,
    ExpenseRow,
    TimeColumns,
    TimeRow,
    coded_lists,
    expense_columns_of,
    expense_json_lists,
    expense_row,
    time_columns_of,
    time_json_lists,
    time_row,
)
from backoffice.anomaly.scored import FlaggedLines, Reason, ScoredLine
from backoffice.anomaly.scoring import (
    benford_coverage_of,
    flagged_in_columns,
    flagged_in_field_lists,
    score_columns,
    score_field_lists,
    score_lines,
    score_rows,
)
from backoffice.anomaly.signal_model import SignalModel

__all__ = [
    "CHECKS",
    "DEFAULT_VIOLATIONS",
    "LINE_FACTS",
    "SIGNALS",
    "AnomalyHistory",
    "AnomalyPolicy",
    "Check",
    "ExpenseColumns",
    "ExpenseRow",
    "FlaggedLines",
    "Reason",
    "ScoredLine",
    "SignalModel",
    "TimeColumns",
    "TimeRow",
    "benford_coverage_of",
    "coded_lists",
    "expense_columns_of",
    "expense_json_lists",
    "expense_row",
    "flagged_in_columns",
    "flagged_in_field_lists",
    "public_holiday_name",
    "score_columns",
    "score_field_lists",
    "score_lines",
    "score_rows",
    "time_columns_of",
    "time_json_lists",
    "time_row",
    "us_federal_holidays",
]
