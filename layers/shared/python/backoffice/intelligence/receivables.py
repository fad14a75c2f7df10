"""Receivables from the audit trail: DSO (count-back and simple), aging, days to pay, billing lag, billing accuracy.

Inputs (issue #20's record contracts): ``invoice.posted`` (R1: what was billed, in base currency, when, due when,
for which period), ``invoice.paid`` (R2: a payment applied to an invoice) and ``invoice.credited`` (R3: a credit
memo applied to it). Every amount is the record's ``*_base`` (the firm's reporting currency), so invoices in several
currencies add up. Receivables at a day T = what was posted up to T minus what was paid or credited on it up to T,
per invoice (never below zero: an overpayment is not a negative receivable).

Dates: an invoice is billed on its ``invoice_date`` (the ERP's posting date; the record's own date when absent),
paid on ``paid_on`` and credited on ``credited_on``. Billing lag alone reads the posted record's own date: the day the
invoice went out, whatever date the ERP printed on it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from statistics import mean, median

from backoffice.intelligence.events import Event
from backoffice.intelligence.figures import (
    CENT,
    ZERO,
    _Model,
    as_date,
    latest_per,
    money,
    month_end,
    month_of,
    month_start,
    months_between,
    of_action,
    text,
    total,
)
from backoffice.intelligence.stats import Stats, ratio

POSTED, PAID, CREDITED = "invoice.posted", "invoice.paid", "invoice.credited"
AGING_BUCKETS = ("current", "1-30", "31-60", "61-90", "90+")
# The simple method's window: the last three months' billings (the current month counted up to the day).
SIMPLE_MONTHS = 3


class MonthStats(_Model):
    month: str
    count: int
    mean: float
    median: float


class DsoMonth(_Model):
    month: str
    count_back: float | None  # days
    simple: float | None  # days
    receivables_base: Decimal  # at the month's end (or as_of, in its month)
    billed_base: Decimal  # posted in the month


class Dso(_Model):
    available: bool
    note: str
    as_of: date | None
    count_back: float | None  # days, at as_of
    simple: float | None  # days, at as_of
    receivables_base: Decimal
    by_month: list[DsoMonth]


class ClientAging(_Model):
    client_id: str
    open_base: Decimal
    invoices: int
    buckets: dict[str, Decimal]  # the AGING_BUCKETS, in order


class Aging(_Model):
    available: bool
    note: str
    as_of: date | None
    open_base: Decimal
    invoices: int  # open at as_of
    buckets: dict[str, Decimal]
    by_client: list[ClientAging]


class ClientDaysToPay(_Model):
    client_id: str
    stats: Stats  # days
    paid_late: int
    paid_late_share: float | None


class DaysToPay(_Model):
    available: bool
    note: str
    invoices: int  # fully paid
    stats: Stats | None  # days, invoice date -> final payment
    paid_late: int
    paid_late_share: float | None
    by_client: list[ClientDaysToPay]
    by_month: list[MonthStats]  # by the final payment's month
    days: list[float]  # each fully paid invoice's days to pay (for the histogram)


class BillingLag(_Model):
    available: bool
    items: int
    stats: Stats | None  # days
    note: str
    by_month: list[MonthStats] = []  # by the month posted
    lags: list[float] = []  # each invoice's lag in days (for the histogram)


class AccuracyMonth(_Model):
    month: str
    posted: int
    accurate: int
    accuracy: float | None


class BillingAccuracy(_Model):
    available: bool
    note: str
    posted: int
    credited: int
    accurate: int
    accuracy: float | None
    by_month: list[AccuracyMonth]  # by the month posted


# -- reading the records ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PostedInvoice:
    invoice_id: str
    client_id: str
    practice: str | None
    billed_on: date
    posted_on: date  # the record's own date
    due_date: date | None
    period_end: date | None
    amount_base: Decimal
    time_billed_base: Decimal | None
    time_standard_base: Decimal | None


@dataclass(frozen=True, slots=True)
class Settlement:
    invoice_id: str
    kind: str  # "paid" | "credited"
    on: date
    amount_base: Decimal
    final: bool  # a payment that left nothing open
    event: Event


def posted_invoices(events: Iterable[Event]) -> dict[str, PostedInvoice]:
    """Each invoice's ``invoice.posted`` record (the latest, should a posting be recorded twice)."""
    latest = latest_per(of_action(events, POSTED), lambda e: text(e.data.get("invoice_id")))
    invoices = {}
    for invoice_id, e in latest.items():
        amount = money(e.data.get("amount_base"))
        if amount is None:
            continue  # a posting from before the contract (no base amount): not money the report can add
        invoices[invoice_id] = PostedInvoice(
            invoice_id=invoice_id,
            client_id=text(e.data.get("client_id")) or "?",
            practice=text(e.data.get("practice")),
            billed_on=as_date(e.data.get("invoice_date")) or e.timestamp.date(),
            posted_on=e.timestamp.date(),
            due_date=as_date(e.data.get("due_date")),
            period_end=as_date(e.data.get("period_end")),
            amount_base=amount,
            time_billed_base=money(e.data.get("time_billed_base")),
            time_standard_base=money(e.data.get("time_standard_base")),
        )
    return invoices


def settlements(events: Iterable[Event]) -> list[Settlement]:
    """Every payment and credit memo applied to an invoice, oldest first (each once: the recorder never records a
    payment twice, and should a copy reach the trail all the same, it is not money paid twice)."""
    found = []
    seen: set[tuple[str, str, str]] = set()
    for e in sorted(events, key=lambda e: (e.timestamp, e.case_id, e.seq)):
        if e.action not in (PAID, CREDITED):
            continue
        invoice_id, amount = text(e.data.get("invoice_id")), money(e.data.get("amount_base"))
        day = as_date(e.data.get("paid_on" if e.action == PAID else "credited_on")) or e.timestamp.date()
        if invoice_id is None or amount is None:
            continue
        document = text(e.data.get("payment_id" if e.action == PAID else "credit_id"))
        if document is not None:
            if (e.action, invoice_id, document) in seen:
                continue
            seen.add((e.action, invoice_id, document))
        open_after = money(e.data.get("open_after_base"))
        final = e.action == PAID and (e.outcome == "paid" or (open_after is not None and open_after <= 0))
        kind = "paid" if e.action == PAID else "credited"
        found.append(Settlement(invoice_id, kind, day, amount, final, e))
    return sorted(found, key=lambda s: (s.on, s.event.timestamp, s.event.seq))


def open_at(invoice: PostedInvoice, applied: Sequence[Settlement], day: date) -> Decimal:
    """What is left open on an invoice at the end of ``day`` (zero before it was billed)."""
    if invoice.billed_on > day:
        return ZERO
    settled = total(s.amount_base for s in applied if s.on <= day)
    return max(ZERO, invoice.amount_base - settled)


def _by_invoice(found: Iterable[Settlement]) -> dict[str, list[Settlement]]:
    grouped: dict[str, list[Settlement]] = defaultdict(list)
    for s in found:
        grouped[s.invoice_id].append(s)
    return grouped


# -- DSO -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Ledger:
    invoices: Sequence[PostedInvoice]
    applied: dict[str, list[Settlement]]

    def receivables(self, day: date) -> Decimal:
        return total(open_at(i, self.applied.get(i.invoice_id, []), day) for i in self.invoices)

    def billed(self, first: date, last: date) -> Decimal:
        return total(i.amount_base for i in self.invoices if first <= i.billed_on <= last)

    def first_billed(self) -> date:
        return min(i.billed_on for i in self.invoices)

    def count_back(self, day: date) -> float:
        """Days of the most recent billings it takes to account for the receivables at ``day``."""
        remaining, days = self.receivables(day), 0.0
        last, first = day, month_start(day)
        while remaining > 0 and last >= month_start(self.first_billed()):
            span = (last - first).days + 1
            billed = self.billed(first, last)
            if billed >= remaining:
                return days + span * float(remaining / billed)
            remaining -= billed
            days += span
            last = first - timedelta(days=1)
            first = month_start(last)
        return days  # receivables older than the first billing on the trail: counted back to it, no further

    def simple(self, day: date) -> float | None:
        """Receivables / the last three months' billings x the days in those months; a window that would reach
        back before the first billing on the trail starts at that billing's month (months with no trail are not
        months of no sales)."""
        first = month_start(day)
        for _ in range(SIMPLE_MONTHS - 1):
            first = month_start(first - timedelta(days=1))
        first = max(first, month_start(self.first_billed()))
        billed = self.billed(first, day)
        return float(self.receivables(day) / billed) * ((day - first).days + 1) if billed else None


def dso(events: Sequence[Event], as_of: date | None) -> Dso:
    """DSO at ``as_of`` by the count-back method (the headline) and the simple method, and at each month's end."""
    invoices = list(posted_invoices(events).values())
    if not invoices or as_of is None or min(i.billed_on for i in invoices) > as_of:
        return Dso(
            available=False,
            note="n/a: no invoice.posted record with data.amount_base (R1) on the trail",
            as_of=as_of,
            count_back=None,
            simple=None,
            receivables_base=ZERO,
            by_month=[],
        )
    ledger = _Ledger(invoices, _by_invoice(settlements(events)))
    by_month = []
    for first in months_between(ledger.first_billed(), as_of):
        day = min(month_end(first), as_of)
        by_month.append(
            DsoMonth(
                month=month_of(first),
                count_back=ledger.count_back(day),
                simple=ledger.simple(day),
                receivables_base=ledger.receivables(day),
                billed_base=ledger.billed(first, day),
            )
        )
    latest = by_month[-1]
    return Dso(
        available=True,
        note=f"{len(invoices)} posted invoice(s); count-back walks back month by month from {as_of}, "
        f"simple = receivables / the last {SIMPLE_MONTHS} months' billings x their days",
        as_of=as_of,
        count_back=latest.count_back,
        simple=latest.simple,
        receivables_base=latest.receivables_base,
        by_month=by_month,
    )


# -- aging -----------------------------------------------------------------------------------------------------


def aging_bucket(days_past_due: int) -> str:
    if days_past_due <= 0:
        return "current"
    if days_past_due <= 30:
        return "1-30"
    if days_past_due <= 60:
        return "31-60"
    if days_past_due <= 90:
        return "61-90"
    return "90+"


def _empty_buckets() -> dict[str, Decimal]:
    return dict.fromkeys(AGING_BUCKETS, ZERO)


def aging(events: Sequence[Event], as_of: date | None) -> Aging:
    """The receivables open at ``as_of`` by days past their due date (an invoice without one is current)."""
    invoices = posted_invoices(events)
    if not invoices or as_of is None:
        return Aging(
            available=False,
            note="n/a: no invoice.posted record with data.amount_base (R1) on the trail",
            as_of=as_of,
            open_base=ZERO,
            invoices=0,
            buckets=_empty_buckets(),
            by_client=[],
        )
    applied = _by_invoice(settlements(events))
    buckets = _empty_buckets()
    clients: dict[str, dict[str, Decimal]] = defaultdict(_empty_buckets)
    counts: dict[str, int] = defaultdict(int)
    for invoice in invoices.values():
        left = open_at(invoice, applied.get(invoice.invoice_id, []), as_of)
        if left < CENT:
            continue
        late = (as_of - invoice.due_date).days if invoice.due_date else 0
        bucket = aging_bucket(late)
        buckets[bucket] += left
        clients[invoice.client_id][bucket] += left
        counts[invoice.client_id] += 1
    by_client = [
        ClientAging(client_id=client, open_base=total(b.values()), invoices=counts[client], buckets=b)
        for client, b in clients.items()
    ]
    by_client.sort(key=lambda c: (-c.open_base, c.client_id))
    return Aging(
        available=True,
        note=f"receivables open at {as_of} by days past due",
        as_of=as_of,
        open_base=total(buckets.values()),
        invoices=sum(counts.values()),
        buckets=buckets,
        by_client=by_client,
    )


# -- days to pay -----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Paid:
    client_id: str
    days: float
    late: bool
    month: str


def final_payment(invoice: PostedInvoice | None, applied: Sequence[Settlement]) -> Settlement | None:
    """The payment that left the invoice with nothing open: the first, in the order of the days they were made
    (not of their arrival), after which payments and credits add up to what it billed. A payment that applied
    nothing (a second payment of a paid invoice) is never it. Without the invoice's posting on the trail, the
    recorder's own word (its outcome ``paid``) is all there is."""
    if invoice is None:
        return next((s for s in applied if s.kind == "paid" and s.final and s.amount_base > 0), None)
    settled = ZERO
    for s in applied:  # oldest first
        settled += s.amount_base
        if s.kind == "paid" and s.amount_base > 0 and settled >= invoice.amount_base:
            return s
    return None


def _fully_paid(events: Sequence[Event]) -> list[_Paid]:
    invoices = posted_invoices(events)
    paid = []
    for invoice_id, applied in _by_invoice(settlements(events)).items():
        final = final_payment(invoices.get(invoice_id), applied)
        if final is None:
            continue
        posted = invoices.get(invoice_id)
        billed = as_date(final.event.data.get("invoice_date")) or (posted.billed_on if posted else None)
        due = as_date(final.event.data.get("due_date")) or (posted.due_date if posted else None)
        if billed is None:
            continue
        client = text(final.event.data.get("client_id")) or (posted.client_id if posted else "?")
        late = due is not None and final.on > due
        paid.append(_Paid(client, float((final.on - billed).days), late, month_of(final.on)))
    return paid


def days_to_pay(events: Sequence[Event]) -> DaysToPay:
    """Invoice date -> the payment that left nothing open, per fully paid invoice; and the share paid late."""
    paid = _fully_paid(events)
    if not paid:
        return DaysToPay(
            available=False,
            note="n/a: no invoice.paid record (R2) has paid an invoice in full yet",
            invoices=0,
            stats=None,
            paid_late=0,
            paid_late_share=None,
            by_client=[],
            by_month=[],
            days=[],
        )
    clients: dict[str, list[_Paid]] = defaultdict(list)
    for p in paid:
        clients[p.client_id].append(p)
    by_client = []
    for client, items in clients.items():
        stats = Stats.of(p.days for p in items)
        assert stats is not None
        late = sum(p.late for p in items)
        by_client.append(
            ClientDaysToPay(
                client_id=client, stats=stats, paid_late=late, paid_late_share=ratio(late, len(items))
            )
        )
    by_client.sort(key=lambda c: (-c.stats.mean, c.client_id))
    late = sum(p.late for p in paid)
    return DaysToPay(
        available=True,
        note=f"{len(paid)} invoice(s) paid in full",
        invoices=len(paid),
        stats=Stats.of(p.days for p in paid),
        paid_late=late,
        paid_late_share=ratio(late, len(paid)),
        by_client=by_client,
        by_month=month_stats((p.month, p.days) for p in paid),
        days=sorted(p.days for p in paid),
    )


def month_stats(items: Iterable[tuple[str, float]]) -> list[MonthStats]:
    grouped: dict[str, list[float]] = defaultdict(list)
    for month, value in items:
        grouped[month].append(value)
    return [
        MonthStats(month=month, count=len(values), mean=mean(values), median=median(values))
        for month, values in sorted(grouped.items())
    ]


# -- billing lag -----------------------------------------------------------------------------------------------


def billing_lag(events: Sequence[Event]) -> BillingLag:
    """Days from the end of the billed period to the day the invoice was posted (R1: the record's date minus
    ``data.period_end``)."""
    lags: list[tuple[str, float]] = []
    for e in of_action(events, POSTED):
        period_end = as_date(e.data.get("period_end"))
        if period_end is not None:
            posted = e.timestamp.date()
            lags.append((month_of(posted), float((posted - period_end).days)))
    if not lags:
        return BillingLag(
            available=False,
            items=0,
            stats=None,
            note="n/a: no invoice.posted record carries data.period_end",
        )
    return BillingLag(
        available=True,
        items=len(lags),
        stats=Stats.of(days for _, days in lags),
        note=f"{len(lags)} invoice(s): days from the billed period's end to posting",
        by_month=month_stats(lags),
        lags=sorted(days for _, days in lags),
    )


# -- billing accuracy ------------------------------------------------------------------------------------------


def billing_accuracy(events: Sequence[Event]) -> BillingAccuracy:
    """Posted invoices no credit memo was later applied to / all posted invoices, by the month posted."""
    # Only invoices posted with R1 (amount_base): one posted before it was never registered as a receivable, so a
    # credit memo on it is parked rather than recorded, and it would count as accurate unseen.
    posted = {
        invoice_id: e
        for invoice_id, e in latest_per(
            of_action(events, POSTED), lambda e: text(e.data.get("invoice_id"))
        ).items()
        if money(e.data.get("amount_base")) is not None
    }
    credited = {text(e.data.get("invoice_id")) for e in of_action(events, CREDITED)}
    if not posted:
        return BillingAccuracy(
            available=False,
            note="n/a: no invoice.posted record (R1) on the trail",
            posted=0,
            credited=0,
            accurate=0,
            accuracy=None,
            by_month=[],
        )
    months: dict[str, list[bool]] = defaultdict(list)
    for invoice_id, e in posted.items():
        months[month_of(as_date(e.data.get("invoice_date")) or e.timestamp.date())].append(
            invoice_id not in credited
        )
    accurate = sum(ok for items in months.values() for ok in items)
    return BillingAccuracy(
        available=True,
        note=f"{len(posted)} posted invoice(s), {len(posted) - accurate} with a credit memo since",
        posted=len(posted),
        credited=len(posted) - accurate,
        accurate=accurate,
        accuracy=ratio(accurate, len(posted)),
        by_month=[
            AccuracyMonth(
                month=m, posted=len(items), accurate=sum(items), accuracy=ratio(sum(items), len(items))
            )
            for m, items in sorted(months.items())
        ],
    )
