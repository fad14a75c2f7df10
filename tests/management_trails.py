"""Writing issue #20's records (R1-R6) onto a test trail, with the data the handlers' contracts give them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from backoffice.audit import Actor
from backoffice.intelligence.samples import TrailWriter

POST = Actor.system("post_invoice")
RECORDER = Actor.system("record_invoice_payment")
MEASURE = Actor.system("measure_delivery")
SETTLE = Actor.system("settle_exception_review")


def noon(day: str, hours: float = 0) -> datetime:
    """``day`` at 12:00 UTC, plus ``hours``."""
    return datetime.fromisoformat(day).replace(hour=12, tzinfo=UTC) + timedelta(hours=hours)


def case_of(invoice_id: str) -> str:
    return f"billing-2026-P-{invoice_id}"


def post(
    trail: TrailWriter,
    invoice_id: str,
    amount_base: str,
    invoice_date: str,
    *,
    due_date: str | None = None,
    client: str = "C1",
    practice: str | None = "Advisory",
    period_end: str | None = None,
    posted_on: str | None = None,
    billed: str | None = None,
    standard: str | None = None,
    currency: str = "USD",
    amount: str | None = None,
) -> None:
    """R1 ``invoice.posted`` on the invoice's case (its record dated ``posted_on``, default the invoice date)."""
    due = due_date or (date.fromisoformat(invoice_date) + timedelta(days=30)).isoformat()
    data: dict[str, Any] = {
        "invoice_id": invoice_id,
        "invoice_number": invoice_id,
        "amount": amount or amount_base,
        "currency": currency,
        "lines_billed": 1,
        "client_id": client,
        "project_id": f"P-{invoice_id}",
        "practice": practice,
        "invoice_date": invoice_date,
        "due_date": due,
        "period_start": None,
        "period_end": period_end,
        "conversion_rate": "1",
        "amount_base": amount_base,
    }
    if billed is not None:
        data.update(hours_billed="10", time_billed_base=billed, time_standard_base=standard or billed)
    trail.add(
        case_of(invoice_id), noon(posted_on or invoice_date), "post invoice in ERP", POST, "invoice.posted",
        "posted", workflow="invoicing", data=data,
    )  # fmt: skip


def pay(
    trail: TrailWriter,
    invoice_id: str,
    amount_base: str,
    paid_on: str,
    *,
    open_after: str,
    invoice_date: str | None = None,
    due_date: str | None = None,
    client: str = "C1",
    payment_id: str | None = None,
) -> None:
    """R2 ``invoice.paid``: outcome paid when nothing is left open, else partly_paid."""
    data = {
        "invoice_id": invoice_id,
        "payment_id": payment_id or f"PAY-{invoice_id}-{paid_on}",
        "client_id": client,
        "paid_on": paid_on,
        "amount": amount_base,
        "currency": "USD",
        "amount_base": amount_base,
        "invoice_date": invoice_date,
        "due_date": due_date,
        "open_after": open_after,
        "open_after_base": open_after,
    }
    outcome = "paid" if float(open_after) == 0 else "partly_paid"
    trail.add(
        case_of(invoice_id), noon(paid_on), "record invoice payment", RECORDER, "invoice.paid", outcome,
        workflow="invoicing", data=data,
    )  # fmt: skip


def credit(
    trail: TrailWriter, invoice_id: str, amount_base: str, credited_on: str, *, open_after: str
) -> None:
    """R3 ``invoice.credited``: a credit memo applied to a posted invoice."""
    data = {
        "invoice_id": invoice_id,
        "credit_id": f"CM-{invoice_id}",
        "client_id": "C1",
        "credited_on": credited_on,
        "amount": amount_base,
        "currency": "USD",
        "amount_base": amount_base,
        "open_after": open_after,
        "open_after_base": open_after,
        "reason": "hours billed twice",
    }
    trail.add(
        case_of(invoice_id), noon(credited_on), "record invoice payment", RECORDER, "invoice.credited",
        "credited", workflow="invoicing", data=data,
    )  # fmt: skip


def measure(
    trail: TrailWriter,
    worker: str,
    month: str,
    available: str,
    billable: str,
    *,
    practice: str | None = "Advisory",
    at: datetime | None = None,
) -> None:
    """R4 ``delivery.measured``: one worker's month."""
    data = {
        "month": month,
        "worker_id": worker,
        "practice": practice,
        "employment": "employee",
        "available_hours": available,
        "leave_hours": "0",
        "billable_hours": billable,
        "non_billable_hours": "0",
        "standard_value_base": "0",
    }
    trail.add(
        f"delivery-{month}", at or noon(f"{month}-28"), "measure delivery", MEASURE, "delivery.measured",
        "measured", workflow="delivery", data=data,
    )  # fmt: skip


def measure_wip(
    trail: TrailWriter,
    project: str,
    month: str,
    as_of: str,
    wip_base: str,
    aging: dict[str, str],
    *,
    practice: str = "Advisory",
    client: str = "C1",
    hours: str = "10",
    at: datetime | None = None,
) -> None:
    """R5 ``wip.measured``: one project's approved unbilled work at a month end."""
    data = {
        "month": month,
        "as_of": as_of,
        "project_id": project,
        "client_id": client,
        "practice": practice,
        "hours": hours,
        "wip_base": wip_base,
        "aging_base": aging,
    }
    trail.add(
        f"delivery-{month}", at or noon(as_of, 2), "measure delivery", MEASURE, "wip.measured", "measured",
        workflow="delivery", data=data,
    )  # fmt: skip


def settle_review(
    trail: TrailWriter, case: str, period_start: str, written_off: list[dict[str, Any]], at: datetime
) -> None:
    """R6: an exception review settled, with the lines it wrote off."""
    total = sum(float(line["value_base"]) for line in written_off)
    trail.add(
        case, at, "settle exception review", SETTLE, "exceptions.settled", "approved", workflow="invoicing",
        data={"period_start": period_start, "written_off": written_off, "written_off_base": f"{total:.2f}"},
    )  # fmt: skip
