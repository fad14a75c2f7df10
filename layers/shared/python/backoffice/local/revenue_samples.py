"""The sample firm's October 2026 revenue close: what the PSA estimates and the last close booked, beside the
billing period ``billing_samples`` seeds.

The billing period's projects cover three methods (fifteen time-and-materials projects as delivered, P-0016 and
P-0019 fixed fee on milestone acceptance, P-0017's retainer ratably); two fixed-fee projects billed by progress
are added for percent complete:

======  ==================================================================================================
P-0022  fixed fee 180,000 by percent complete on hours: 900 hours estimated (800 at September's close, so a
        12.5 % change goes to finance's review); September's close booked 45,000 recognized against 30,000
        billed (unbilled receivable 15,000); 320 hours to September, 384 in October, a 40,000 progress invoice.
        October: 704 / 900 hours of 180,000 = 140,800.00 to date, 95,800.00 this period; billed 70,000, so
        unbilled receivable 70,800.00 (the journal: Dr unbilled receivable 55,800.00 / Cr revenue)
P-0023  fixed fee 60,000 with no estimate at completion in the PSA: a finding, nothing recognized
======  ==================================================================================================

Seeded after the billing run in ``make run`` (the billing run would otherwise bill them), before it in tests that
do not bill.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from backoffice.connectors.sandbox import SandboxStore
from backoffice.finance_close.revenue_steps import PositionStore
from backoffice.local.billing_samples import PERIOD
from backoffice.models import Contract, Invoice, InvoiceLine, Project, ProjectEstimate, TimeEntry

PERCENT_COMPLETE = "P-0022"
NO_ESTIMATE = "P-0023"
FEE = Decimal(180_000)
LINES = 48  # P-0022's October time lines, 8 hours each: 384 hours


def seed_revenue_books(store: SandboxStore, positions: PositionStore) -> dict[str, int]:
    """Writes P-0022 and P-0023 (projects, contracts, estimates, lines, invoices) and September's position."""
    records: list[tuple[str, str, str, date | None, dict[str, Any]]] = []

    def put(system: str, entity: str, record_id: str, body: dict[str, Any]) -> None:
        records.append((system, entity, record_id, None, body))

    template = Project.from_json_dict(store.get("psa", "project", "P-0020") or {})
    for pid, name, fee in (
        (PERCENT_COMPLETE, "Operating model redesign", FEE),
        (NO_ESTIMATE, "Procurement diagnostic", Decimal(60_000)),
    ):
        project = template.model_copy(
            update={
                "id": pid,
                "project_name": name,
                "contract_id": f"SOW-{pid}",
                "billing_model": "fixed_fee",
            }
        )
        put("psa", "project", pid, project.to_json_dict())
        contract = Contract.model_validate(
            {
                "id": f"SOW-{pid}",
                "kind": "sow",
                "client_id": project.client_id,
                "title": f"Statement of work for {pid}: {name}",
                "billing_model": "fixed_fee",
                "currency": "USD",
                "fixed_fee": fee,
                "payment_terms_days": 30,
                "effective_date": date(2026, 8, 1),
                "end_date": date(2027, 3, 31),
            }
        )
        put("psa", "contract", contract.id, contract.to_json_dict())
    put("psa", "estimate", PERCENT_COMPLETE, ProjectEstimate(hours=Decimal(900)).to_json_dict())
    for invoice in _progress_invoices(template.client_id):
        put("erp", "invoice", invoice.id, invoice.to_json_dict())
    written = store.put_many(records)
    lines = _lines(store)
    written += store.put_lines(
        "psa", "time_entry", [(line.id, line.work_date, line.to_json_dict()) for line in lines]
    )
    # September's close, as it booked P-0022.
    positions.record(
        PERCENT_COMPLETE,
        date(2026, 9, 30),
        {
            "cumulative_recognized": "45000.00",
            "unbilled_receivable": "15000.00",
            "deferred_revenue": "0",
            "estimate": ProjectEstimate(hours=Decimal(800)).to_json_dict(),
            "case_id": "revenue-2026-09-01-2026-09-30",
        },
    )
    return {"records": written}


def _lines(store: SandboxStore) -> list[TimeEntry]:
    """P-0022's hours: September's (billed on the September invoice) and October's (approved, unbilled)."""
    found: list[TimeEntry] = []
    token = None
    while len(found) < LINES:
        items, token = store.lines_between("psa", "time_entry", PERIOD.start, PERIOD.end, token)
        found += [TimeEntry.from_json_dict(i) for i in items if i.get("project_id") == "P-0020"]
        if not token:
            break
    if not found:
        return []
    worker = found[0]
    lines = []
    for n in range(LINES + 40):  # 40 September lines (320 hours), then LINES in October
        day = (
            date(2026, 9, 1) + timedelta(days=n % 30)
            if n < 40
            else PERIOD.start + timedelta(days=(n - 40) % 31)
        )
        lines.append(
            worker.model_copy(
                update={
                    "id": f"TE-{PERCENT_COMPLETE}-{n:03d}",
                    "project_id": PERCENT_COMPLETE,
                    "work_date": day,
                    "from_time": None,
                    "to_time": None,
                    "hours": Decimal(8),
                    "billing_hours": Decimal(8),
                    "billing_amount": worker.billing_rate * 8,
                    "status": "approved",
                    "invoice_id": None,
                }
            )
        )
    return lines


def _progress_invoices(client_id: str) -> list[Invoice]:
    """P-0022's progress invoices: 30,000 in September, 40,000 in October."""
    invoices = []
    for number, posted, amount in (("0931", date(2026, 9, 30), 30_000), ("0958", date(2026, 10, 28), 40_000)):
        line = InvoiceLine(
            source="fee",
            description="Operating model redesign: progress billing",
            quantity=Decimal(1),
            rate=Decimal(amount),
            amount=Decimal(amount),
        )
        invoices.append(
            Invoice(
                id=f"SINV-2026-{number}",
                invoice_number=f"INV-2026-0{number}",
                client_id=client_id,
                project_id=PERCENT_COMPLETE,
                currency="USD",
                posting_date=posted,
                due_date=posted + timedelta(days=30),
                lines=[line],
                net_total=line.amount,
                grand_total=line.amount,
                outstanding_amount=line.amount,
                status="posted",
            )
        )
    return invoices
