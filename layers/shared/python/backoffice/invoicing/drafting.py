"""The draft invoice of a project's period, from the lines that passed review.

- time and materials: approved time at its rate, one line per worker, role, activity and rate (the quantity is
  the billing hours), each naming the time entries it bills so that none is ever billed twice;
- re-billable expenses at the sanctioned amount, one line each;
- fixed fee: the accepted milestones (time on a fixed fee is not billed by the hour);
- retainer: the monthly fee (the time it covers is not billed again).

The invoice is in the customer's currency with its tax template; the ERP computes the tax from the template
when it posts (as NetSuite and ERPNext do), so the draft carries no tax amount of its own.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import timedelta
from decimal import Decimal

from backoffice.invoicing.policy import BillingPolicy
from backoffice.invoicing.readiness import BillingPeriod
from backoffice.models import (
    Client,
    Contract,
    ExpenseEntry,
    Invoice,
    InvoiceLine,
    Milestone,
    Project,
    PurchaseOrder,
    TimeEntry,
    Worker,
)

_CENT = Decimal("0.01")
_ZERO = Decimal(0)


class NothingToInvoice(Exception):
    """The lines that passed review add up to no invoice."""


def invoice_key(project_id: str, period: BillingPeriod) -> str:
    """The idempotency key of a project's invoice for a period: one invoice, whatever the retries and re-runs."""
    return f"invoice:{project_id}:{period.start.isoformat()}:{period.end.isoformat()}"


def draft_invoice(
    project: Project,
    client: Client,
    contract: Contract | None,
    period: BillingPeriod,
    *,
    time_entries: Sequence[TimeEntry],
    expenses: Sequence[ExpenseEntry],
    milestones: Sequence[Milestone],
    workers: Sequence[Worker] = (),
    tax_template: str | None = None,
    purchase_order: PurchaseOrder | None = None,
    policy: BillingPolicy | None = None,
) -> Invoice:
    policy = policy or BillingPolicy()
    model = contract.billing_model if contract else project.billing_model
    names = {worker.id: worker.name for worker in workers}
    lines: list[InvoiceLine] = []
    if model == "time_and_materials":
        lines.extend(_time_lines(time_entries, names))
    elif model == "fixed_fee":
        lines.extend(
            InvoiceLine(
                source="milestone",
                source_ids=[milestone.id],
                description=f"Milestone: {milestone.name}",
                quantity=Decimal(1),
                rate=milestone.amount,
                amount=milestone.amount,
            )
            for milestone in milestones
        )
    elif contract is not None and contract.monthly_retainer_fee:
        fee = contract.monthly_retainer_fee
        lines.append(
            InvoiceLine(
                source="retainer",
                description=f"Retainer {period.start:%B %Y}: {contract.title}",
                quantity=Decimal(1),
                rate=fee,
                amount=fee,
            )
        )
    lines.extend(
        InvoiceLine(
            source="expense",
            source_ids=[expense.id],
            description=f"Expense {expense.expense_date}: {expense.expense_type.replace('_', ' ')}"
            + (f", {expense.merchant}" if expense.merchant else ""),
            quantity=Decimal(1),
            rate=_sanctioned(expense),
            amount=_sanctioned(expense),
        )
        for expense in expenses
        if expense.is_billable
    )
    if not lines:
        raise NothingToInvoice(f"nothing of project {project.id} bills in {period.start} to {period.end}")
    net = sum((line.amount for line in lines), _ZERO)
    if net <= 0:
        raise NothingToInvoice(f"project {project.id}'s lines add up to {net}: no invoice")
    terms = (
        contract.payment_terms_days
        if contract is not None
        else client.payment_terms_days
        if client.payment_terms_days is not None
        else policy.default_payment_terms_days
    )
    posting = period.invoice_date
    return Invoice(
        id=f"draft-{project.id}-{period.start.isoformat()}",
        client_id=client.id,
        project_id=project.id,
        contract_id=contract.id if contract else None,
        currency=client.default_currency,
        posting_date=posting,
        due_date=posting + timedelta(days=terms),
        period_start=period.start,
        period_end=period.end,
        po_no=purchase_order.po_no if purchase_order else None,
        po_date=purchase_order.po_date if purchase_order else None,
        tax_id=client.tax_id,
        taxes_and_charges=tax_template,
        lines=lines,
        net_total=net,
        grand_total=net,
        outstanding_amount=net,
    )


def _sanctioned(expense: ExpenseEntry) -> Decimal:
    amount = expense.sanctioned_amount if expense.sanctioned_amount is not None else expense.amount
    return amount.quantize(_CENT)


def _time_lines(entries: Sequence[TimeEntry], names: dict[str, str]) -> list[InvoiceLine]:
    groups: dict[tuple[str, str | None, str, Decimal], list[TimeEntry]] = defaultdict(list)
    for entry in entries:
        if entry.is_billable and entry.billing_hours > 0:
            groups[(entry.worker_id, entry.role, entry.activity_type, entry.billing_rate)].append(entry)
    lines = []
    for (worker_id, role, activity, rate), grouped in sorted(groups.items(), key=lambda item: item[0][:3]):
        hours = sum((entry.billing_hours for entry in grouped), _ZERO)
        amount = sum((entry.billing_amount for entry in grouped), _ZERO).quantize(_CENT)
        who = names.get(worker_id, worker_id)
        lines.append(
            InvoiceLine(
                source="time",
                source_ids=[entry.id for entry in grouped],
                description=f"{activity}: {who}" + (f" ({role.replace('_', ' ')})" if role else ""),
                activity_type=activity,
                role=role,
                worker_id=worker_id,
                quantity=hours,
                rate=rate,
                amount=amount,
            )
        )
    return lines
