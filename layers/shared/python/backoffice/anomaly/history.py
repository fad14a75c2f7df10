"""What earlier periods tell the scorer: lines already claimed, receipts already used, usual amounts.

A duplicate is often a claim from last month submitted again, and "far above usual" needs a usual. The
history is built once from past lines (``AnomalyHistory.from_rows`` or ``from_lines``) and then only read:
each scoring run copies what it extends, so one history serves many runs, and runs in parallel.

It holds keys and small aggregates, not the past lines: digit counts per worker and merchant, log amounts
per group, receipt checksums and numbers.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from backoffice.anomaly.expense_rules import (
    DigitKey,
    MerchantCharge,
    OutlierSample,
    OwnKey,
    PeerKey,
    ReceiptNumber,
    RoundKey,
    collect_digits,
    collect_receipt_numbers,
    collect_round_endings,
    duplicate_expense_keys,
    merchant_charge_keys,
    receipt_keys,
)
from backoffice.anomaly.grouping import first_positions, remember_firsts
from backoffice.anomaly.policy import AnomalyPolicy
from backoffice.anomaly.rows import expense_columns, expense_row, time_columns, time_row
from backoffice.anomaly.time_rules import PastTime, WorkerDays, duplicate_time_keys
from backoffice.models import ExpenseEntry, TimeEntry, Worker


@dataclass(slots=True)
class AnomalyHistory:
    benford_test: str = "first_digit"
    lines: int = 0
    time_keys: PastTime = field(default_factory=PastTime)
    expense_keys: dict[Hashable, str] = field(default_factory=dict)
    receipts: dict[str, str] = field(default_factory=dict)
    merchant_charges: dict[Hashable, MerchantCharge] = field(default_factory=dict)
    round_endings: dict[RoundKey, list[int]] = field(default_factory=dict)
    worker_digits: dict[DigitKey, list[int]] = field(default_factory=dict)
    merchant_digits: dict[DigitKey, list[int]] = field(default_factory=dict)
    type_digits: dict[DigitKey, list[int]] = field(default_factory=dict)
    receipt_numbers: dict[str, list[ReceiptNumber]] = field(default_factory=dict)
    own_logs: dict[OwnKey, list[float]] = field(default_factory=dict)
    peer_logs: dict[PeerKey, list[float]] = field(default_factory=dict)

    @classmethod
    def from_rows(
        cls,
        time_rows: Sequence[Mapping[str, Any]] = (),
        expense_rows: Sequence[Mapping[str, Any]] = (),
        *,
        policy: AnomalyPolicy | None = None,
        worker_roles: Mapping[str, str] | None = None,
    ) -> AnomalyHistory:
        """The history of past rows; build it with the policy the scoring runs will use."""
        policy = policy or AnomalyPolicy()
        history = cls(benford_test=policy.benford_test)
        history.add_rows(time_rows, expense_rows, policy=policy, worker_roles=worker_roles or {})
        return history

    @classmethod
    def from_lines(
        cls,
        time_entries: Iterable[TimeEntry] = (),
        expenses: Iterable[ExpenseEntry] = (),
        *,
        policy: AnomalyPolicy | None = None,
        workers: Iterable[Worker] = (),
        line_facts: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> AnomalyHistory:
        facts = line_facts or {}
        return cls.from_rows(
            [time_row(entry) for entry in time_entries],
            [expense_row(entry, facts.get(entry.id)) for entry in expenses],
            policy=policy,
            worker_roles=worker_roles(workers),
        )

    def add_rows(
        self,
        time_rows: Sequence[Mapping[str, Any]],
        expense_rows: Sequence[Mapping[str, Any]],
        *,
        policy: AnomalyPolicy,
        worker_roles: Mapping[str, str],
    ) -> None:
        if policy.benford_test != self.benford_test:
            raise ValueError(
                f"this history counts {self.benford_test} digits, the policy asks for {policy.benford_test}"
            )
        times = time_columns(time_rows)
        # Duplicates among past lines were dealt with then: only their keys (and descriptions) matter now.
        for key, line_id, description in zip(
            duplicate_time_keys(times), times.ids, times.descriptions, strict=True
        ):
            found = self.time_keys.get(key)
            if found is None:
                self.time_keys[key] = [(line_id, description)]
            else:
                found.append((line_id, description))
        for worker, totals in WorkerDays(times).totals_by_worker().items():
            self.time_keys.day_totals.setdefault(worker, []).extend(totals)
        expenses = expense_columns(expense_rows, policy.currency, policy.fx_rates)
        ids = expenses.ids
        remember_firsts(duplicate_expense_keys(expenses), ids, self.expense_keys)
        receipts, positions = receipt_keys(expenses)
        remember_firsts(receipts, ids, self.receipts, positions)
        charges, positions = merchant_charge_keys(expenses, policy)
        for key, place in first_positions(charges).items():
            if key not in self.merchant_charges:
                line = positions[place]
                self.merchant_charges[key] = (
                    ids[line],
                    expenses.workers[line],
                    expenses.types[line],
                    expenses.fact("trip_id")[line],
                )
        for round_key, (lines, round_lines) in collect_round_endings(expenses).items():
            round_counts = self.round_endings.setdefault(round_key, [0, 0])
            round_counts[0] += lines
            round_counts[1] += round_lines
        _add_counts(self.worker_digits, collect_digits(expenses, policy, expenses.workers))
        _add_counts(self.merchant_digits, collect_digits(expenses, policy, expenses.merchants))
        _add_counts(self.type_digits, collect_digits(expenses, policy, None))
        for merchant, numbers in collect_receipt_numbers(expenses, in_history=True).items():
            self.receipt_numbers.setdefault(merchant, []).extend(numbers)
        sample = OutlierSample(expenses, policy, worker_roles)
        for group, values in sample.own.items():
            self.own_logs.setdefault(sample.own_keys[group], []).extend(values)
        for group, values in sample.peer.items():
            self.peer_logs.setdefault(sample.peer_keys[group], []).extend(values)
        self.lines += len(times.ids) + len(expenses.ids)


def _add_counts(into: dict[DigitKey, list[int]], counts: Mapping[DigitKey, list[int]]) -> None:
    for key, values in counts.items():
        found = into.get(key)
        if found is None:
            into[key] = list(values)
        else:
            for digit, count in enumerate(values):
                found[digit] += count


def worker_roles(workers: Iterable[Worker]) -> dict[str, str]:
    """Each worker's peer-group role: the first of the worker's roles."""
    return {worker.id: worker.roles[0] for worker in workers if worker.roles}
