"""The period-end revenue journal (issue #19 item 2): one balanced entry per currency, each project's unbilled
receivable and deferred revenue moved from the previous close's balances to the new ones, revenue the other side.

The ledger check in each comment: invoices posted Dr AR / Cr Revenue, so revenue of the period in the ledger is the
period's invoices plus this entry's revenue lines, which must equal the period's recognized revenue."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from pydantic import ValidationError
from revenue_samples import contract, eac, entry, hours_worked, inputs, project

from backoffice.finance_close.journal import propose_journal, revenue_journal_key
from backoffice.finance_close.revenue import ProjectRevenue, recognize_project_revenue
from backoffice.finance_close.revenue_policy import RevenueAccounts, RevenuePolicy
from backoffice.invoicing.readiness import BillingPeriod
from backoffice.models import JournalEntry, JournalLine

OCTOBER = BillingPeriod(start=date(2026, 10, 1), end=date(2026, 10, 31))
POLICY = RevenuePolicy(
    accounts=RevenueAccounts(
        fixed_fee_revenue="4100 Fixed-fee revenue", retainer_revenue="4200 Retainer revenue"
    )
)


def fixed_fee_ahead_of_its_invoices() -> ProjectRevenue:
    # P-A, USD: 45,000.00 to date (450 of 1,200 h of 120,000.00), 30,000.00 before; billed 40,000.00 to date,
    # 28,000.00 of it before October; the September close booked 30,000 - 28,000 = 2,000.00 unbilled.
    # Ledger: October's invoices 12,000.00 + 3,000.00 = 15,000.00 recognized.
    p, c = project("P-A", "fixed_fee"), contract("P-A", "fixed_fee", fixed_fee=Decimal("120000.00"))
    entries = hours_worked("P-A", 300, date(2026, 5, 1)) + hours_worked("P-A", 150, date(2026, 10, 1))
    return recognize_project_revenue(
        inputs(
            p,
            c,
            time_entries=entries,
            estimate=eac(hours="1200"),
            recognized_to_date="30000.00",
            billed_to_date="40000.00",
            unbilled_receivable_before="2000.00",
        )
    )


def deferred_turned_unbilled() -> ProjectRevenue:
    # P-B, USD T&M: September's 50 h x 200.00 = 10,000.00 recognized, 15,000.00 billed (all before October):
    # 5,000.00 deferred. October: 40 h x 200.00 = 8,000.00, no invoice: 18,000.00 to date, 3,000.00 unbilled.
    # Ledger: no invoice + 8,000.00 = 8,000.00 recognized.
    p, c = project("P-B", "time_and_materials"), contract("P-B", "time_and_materials")
    entries = [entry("P-B", date(2026, 9, day), "10", "200.00") for day in range(1, 6)]
    entries += [entry("P-B", date(2026, 10, day), "8", "200.00") for day in range(5, 10)]
    return recognize_project_revenue(
        inputs(
            p,
            c,
            time_entries=entries,
            recognized_to_date="10000.00",
            billed_to_date="15000.00",
            deferred_revenue_before="5000.00",
        ),
        POLICY,
    )


def retainer_billed_in_advance() -> ProjectRevenue:
    # P-C, EUR: a 9,000.00 monthly retainer from 10 October, October billed in full in advance: 6,387.10 earned
    # (22/31 days), 2,612.90 deferred. Ledger: 9,000.00 - 2,612.90 = 6,387.10 recognized.
    p = project("P-C", "retainer", "EUR")
    c = contract(
        "P-C", "retainer", "EUR", monthly_retainer_fee=Decimal("9000.00"), effective_date=date(2026, 10, 10)
    )
    return recognize_project_revenue(inputs(p, c, billed_to_date="9000.00"), POLICY)


def nothing_moved() -> ProjectRevenue:
    # P-D, USD T&M: October's 8 h x 150.00 = 1,200.00, invoiced in October in full: no balance before or after.
    p, c = project("P-D", "time_and_materials"), contract("P-D", "time_and_materials")
    return recognize_project_revenue(
        inputs(p, c, time_entries=[entry("P-D", date(2026, 10, 2), "8")], billed_to_date="1200.00"), POLICY
    )


def invoices_caught_up() -> ProjectRevenue:
    # P-E, EUR T&M: 100 h x 100.00 = 10,000.00 recognized and 6,000.00 billed before October: 4,000.00 unbilled.
    # October: 10 h x 100.00 = 1,000.00 and a 4,000.00 invoice: 11,000.00 to date, 10,000.00 billed, 1,000.00
    # unbilled. Ledger: 4,000.00 - 3,000.00 = 1,000.00 recognized.
    p, c = project("P-E", "time_and_materials", "EUR"), contract("P-E", "time_and_materials", "EUR")
    entries = [entry("P-E", date(2026, 9, day), "10", "100.00", currency="EUR") for day in range(1, 11)]
    entries.append(entry("P-E", date(2026, 10, 2), "10", "100.00", currency="EUR"))
    return recognize_project_revenue(
        inputs(
            p,
            c,
            time_entries=entries,
            recognized_to_date="10000.00",
            billed_to_date="10000.00",
            unbilled_receivable_before="4000.00",
        ),
        POLICY,
    )


def lines_of(journal: JournalEntry) -> list[tuple[str | None, str, str, Decimal]]:
    return [(line.project_id, line.account, line.side, line.amount) for line in journal.lines]


def test_the_journal_moves_each_projects_balances_one_balanced_entry_per_currency() -> None:
    # Given five projects in USD and EUR, on both sides of their invoices
    results = [
        invoices_caught_up(),
        retainer_billed_in_advance(),
        nothing_moved(),
        deferred_turned_unbilled(),
        fixed_fee_ahead_of_its_invoices(),
    ]
    assert [r.flags for r in results] == [[]] * 5  # consistent figures: nothing to catch up
    # When October's journal is proposed
    eur, usd = propose_journal(results, POLICY, OCTOBER)
    # Then USD and EUR are two entries, never mixed, each with its project's lines and each balanced:
    assert (usd.currency, eur.currency) == ("USD", "EUR")
    assert lines_of(usd) == [
        # P-A: unbilled 2,000.00 -> 5,000.00: Dr Unbilled / Cr (fixed-fee) revenue 3,000.00
        ("P-A", "1250 Unbilled receivables", "debit", Decimal("3000.00")),
        ("P-A", "4100 Fixed-fee revenue", "credit", Decimal("3000.00")),
        # P-B: deferred 5,000.00 -> 0 and unbilled 0 -> 3,000.00: revenue takes 8,000.00
        ("P-B", "1250 Unbilled receivables", "debit", Decimal("3000.00")),
        ("P-B", "2400 Deferred revenue", "debit", Decimal("5000.00")),
        ("P-B", "4000 Services revenue", "credit", Decimal("8000.00")),
        # P-D: nothing moved, no line
    ]
    assert usd.total_debits == usd.total_credits == Decimal("11000.00")
    assert lines_of(eur) == [
        # P-C: deferred 0 -> 2,612.90: Dr Revenue / Cr Deferred revenue
        ("P-C", "2400 Deferred revenue", "credit", Decimal("2612.90")),
        ("P-C", "4200 Retainer revenue", "debit", Decimal("2612.90")),
        # P-E: unbilled 4,000.00 -> 1,000.00: Dr Revenue / Cr Unbilled 3,000.00
        ("P-E", "1250 Unbilled receivables", "credit", Decimal("3000.00")),
        ("P-E", "4000 Services revenue", "debit", Decimal("3000.00")),
    ]
    assert eur.total_debits == eur.total_credits == Decimal("5612.90")
    # and each line says where its figure comes from
    assert usd.lines[0].basis == "revenue:P-A:2026-10-01:2026-10-31"
    assert usd.lines[0].memo == "unbilled receivable 2,000.00 -> 5,000.00"
    assert usd.lines[1].memo.startswith(
        "P-A percent complete: recognized 15,000.00 this period, 45,000.00 to date"
    )
    assert (usd.journal_date, usd.period_start, usd.period_end) == (
        date(2026, 10, 31),
        OCTOBER.start,
        OCTOBER.end,
    )


def test_a_period_posts_once_per_currency_whatever_the_retries() -> None:
    # Given the same results proposed twice, in another order
    results = [fixed_fee_ahead_of_its_invoices(), retainer_billed_in_advance(), deferred_turned_unbilled()]
    first = propose_journal(results, POLICY, OCTOBER)
    again = propose_journal(list(reversed(results)), POLICY, OCTOBER)
    # Then the entries are the same, keyed by period and currency: the ERP books each once
    assert first == again
    assert [e.idempotency_key for e in first] == [
        "revenue-journal:2026-10-01:2026-10-31:EUR",
        "revenue-journal:2026-10-01:2026-10-31:USD",
    ]
    assert revenue_journal_key(OCTOBER, "USD") != revenue_journal_key(
        BillingPeriod(start=date(2026, 11, 1), end=date(2026, 11, 30)), "USD"
    )
    # and a project is in exactly one entry of the period
    projects = [line.project_id for e in first for line in e.lines]
    assert sorted(set(projects)) == ["P-A", "P-B", "P-C"]
    assert all(
        len({e.currency for e in first if pid in {ln.project_id for ln in e.lines}}) == 1 for pid in projects
    )


def test_nothing_moved_means_no_entry() -> None:
    assert propose_journal([nothing_moved()], POLICY, OCTOBER) == []


def test_a_result_of_another_period_is_refused() -> None:
    november = BillingPeriod(start=date(2026, 11, 1), end=date(2026, 11, 30))
    with pytest.raises(ValueError, match="P-A"):
        propose_journal([fixed_fee_ahead_of_its_invoices()], POLICY, november)


def test_a_journal_entry_whose_debits_and_credits_differ_is_refused() -> None:
    # Given lines of 100.00 debit and 99.99 credit
    lines = [
        JournalLine(account="1250 Unbilled receivables", side="debit", amount=Decimal("100.00"), memo="x"),
        JournalLine(account="4000 Services revenue", side="credit", amount=Decimal("99.99"), memo="x"),
    ]
    # When an entry is made of them / Then it is refused
    with pytest.raises(ValidationError, match="debits do not equal credits"):
        JournalEntry(
            idempotency_key="k",
            journal_date=date(2026, 10, 31),
            currency="USD",
            memo="unbalanced",
            lines=lines,
        )


def test_the_firms_accounts_and_methods_load_from_its_configuration() -> None:
    # Given a firm's finance_close revenue section naming its own accounts and a cost basis
    policy = RevenuePolicy.from_json_dict(
        {
            "accounts": {
                "fixed_fee_revenue": "4100 Fixed-fee revenue",
                "deferred_revenue": "2450 Contract liabilities",
            },
            "percent_complete_basis": "cost",
        }
    )
    # Then what it names is used and the rest keeps the defaults
    assert policy.accounts.revenue("fixed_fee") == "4100 Fixed-fee revenue"
    assert policy.accounts.revenue("retainer") == "4000 Services revenue"
    assert policy.accounts.unbilled_receivable == "1250 Unbilled receivables"
    assert (policy.accounts.deferred_revenue, policy.percent_complete_basis) == (
        "2450 Contract liabilities",
        "cost",
    )
    assert policy.methods.for_contract("fixed_fee", has_milestones=True) == "milestones"
    # and a key it does not know is refused, not ignored
    with pytest.raises(ValidationError):
        RevenuePolicy.from_json_dict({"accounts": {"revenue": "4000"}})
