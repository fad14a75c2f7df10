"""The period-end revenue journal finance approves and the ERP posts: one entry per currency for the period, one
group of lines per project.

The accounting convention. An invoice posts Dr Accounts receivable / Cr Revenue when the ERP posts it, so the
revenue account already holds what was billed. What revenue should hold is what was recognized; the difference,
recognized to date less billed to date, is the project's contract position: a contract asset (unbilled
receivable) when positive, a contract liability (deferred revenue) when negative. The period-end entry moves each
project's two balances from what the previous close booked (``unbilled_receivable_before``,
``deferred_revenue_before``) to the new ones, and the revenue account takes the other side:

- unbilled receivable up: Dr Unbilled receivable / Cr Revenue (earned ahead of the invoices);
- unbilled receivable down: Dr Revenue / Cr Unbilled receivable (the invoices caught up with the work);
- deferred revenue up: Dr Revenue / Cr Deferred revenue (billed ahead of the work);
- deferred revenue down: Dr Deferred revenue / Cr Revenue (the work caught up with the invoices).

A project that moves from one side to the other gets both. The revenue line is the net of the two, so each
project's lines balance on their own, and revenue in the ledger for the period = invoices of the period + this
entry = the period's recognized revenue. Nothing is reversed at the next period: each close books only the
movement.

One entry per currency and period, not one per project: finance approves the close as one journal per ledger
currency, as they would book an accrual by hand, and the ERP keeps its journal list readable. Each project is in
exactly one entry of its period (a project has one currency), its lines carry its id, so the entry's
``idempotency_key`` (period and currency) makes the posting idempotent per project and period too: a retried or
re-run posting finds the entry it already booked. A figure corrected after the posting is not re-posted for that
period: the next close books it, since it starts from the balances this one booked.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal
from typing import Literal

from backoffice.finance_close.revenue import ProjectRevenue
from backoffice.finance_close.revenue_policy import RevenuePolicy
from backoffice.invoicing.readiness import BillingPeriod
from backoffice.models import JournalEntry, JournalLine

Side = Literal["debit", "credit"]


def revenue_journal_key(period: BillingPeriod, currency: str) -> str:
    """The idempotency key of the period's revenue journal in one currency: one entry, whatever the retries."""
    return f"revenue-journal:{period.start.isoformat()}:{period.end.isoformat()}:{currency}"


def propose_journal(
    results: Sequence[ProjectRevenue], policy: RevenuePolicy, period: BillingPeriod
) -> list[JournalEntry]:
    """The period's journal entries, one per currency (sorted by currency), from each project's recognition.

    A project whose balances did not move has no line; a currency none of whose projects moved has no entry.
    Dated ``period.posting_date`` (the period's end by default). Raises ``ValueError`` for a result of another
    period, and (from ``JournalEntry``) if an entry did not balance, which the construction rules out.
    """
    strays = [r.project_id for r in results if (r.period_start, r.period_end) != (period.start, period.end)]
    if strays:
        raise ValueError(f"results of another period: {', '.join(strays)}")
    lines_by_currency: dict[str, list[JournalLine]] = defaultdict(list)
    projects_by_currency: dict[str, int] = defaultdict(int)
    for result in sorted(results, key=lambda r: (r.currency, r.project_id)):
        lines = project_journal_lines(result, policy)
        if lines:
            lines_by_currency[result.currency].extend(lines)
            projects_by_currency[result.currency] += 1
    entries = []
    for currency in sorted(lines_by_currency):
        entry = JournalEntry(
            idempotency_key=revenue_journal_key(period, currency),
            journal_date=period.invoice_date,
            currency=currency,
            memo=f"Revenue recognition {period.start} to {period.end} ({currency}): "
            f"{projects_by_currency[currency]} project(s)",
            period_start=period.start,
            period_end=period.end,
            lines=lines_by_currency[currency],
        )
        assert entry.total_debits == entry.total_credits  # JournalEntry refuses otherwise; said here too
        entries.append(entry)
    return entries


def project_journal_lines(result: ProjectRevenue, policy: RevenuePolicy) -> list[JournalLine]:
    """One project's lines: the movement of its unbilled receivable and deferred revenue, revenue the balance."""
    accounts = policy.accounts
    asset_move = result.unbilled_receivable - result.unbilled_receivable_before
    liability_move = result.deferred_revenue - result.deferred_revenue_before
    revenue_move = asset_move - liability_move
    what = (
        f"{result.project_id} {result.method.replace('_', ' ')}: recognized {result.recognized_this_period:,} "
        f"this period, {result.cumulative_recognized:,} to date, billed {result.billed_to_date:,}"
    )
    moves: list[tuple[str, Side, Decimal, str]] = [
        (
            accounts.unbilled_receivable,
            "debit" if asset_move > 0 else "credit",
            asset_move,
            f"unbilled receivable {result.unbilled_receivable_before:,} -> {result.unbilled_receivable:,}",
        ),
        (
            accounts.deferred_revenue,
            "credit" if liability_move > 0 else "debit",
            liability_move,
            f"deferred revenue {result.deferred_revenue_before:,} -> {result.deferred_revenue:,}",
        ),
        (
            accounts.revenue(result.billing_model),
            "credit" if revenue_move > 0 else "debit",
            revenue_move,
            what,
        ),
    ]
    return [
        JournalLine(
            account=account,
            side=side,
            amount=abs(amount),
            project_id=result.project_id,
            memo=memo,
            basis=result.basis_reference,
        )
        for account, side, amount, memo in moves
        if amount != 0
    ]
