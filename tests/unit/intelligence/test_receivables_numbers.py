"""Receivables from the audit trail (issue #20): DSO, aging, days to pay, billing lag and billing accuracy, each
checked against figures worked out by hand in the test."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from backoffice.intelligence import event_log
from backoffice.intelligence.receivables import aging, billing_accuracy, billing_lag, days_to_pay, dso
from backoffice.intelligence.samples import TrailWriter
from tests.management_trails import credit, pay, post

MARCH_END = date(2026, 3, 31)


def test_dso_counts_back_month_by_month_and_states_the_simple_method_too(trail: TrailWriter) -> None:
    # Given three months of billing: January 30,000, February 20,000, March 40,000
    post(trail, "INV-1", "30000.00", "2026-01-15")
    post(trail, "INV-2", "20000.00", "2026-02-10")
    post(trail, "INV-3", "40000.00", "2026-03-05")
    # And January's invoice paid on 20 February, half of February's on 10 March
    pay(trail, "INV-1", "30000.00", "2026-02-20", open_after="0")
    pay(trail, "INV-2", "10000.00", "2026-03-10", open_after="10000.00")
    # When DSO is taken at the end of March
    found = dso(event_log(trail.records), MARCH_END)
    # Then receivables are 10,000 (February) + 40,000 (March) = 50,000
    assert found.available and found.receivables_base == Decimal("50000.00")
    # And count-back: March's 40,000 uses its 31 days, the 10,000 left is half of February's 20,000: 14 of 28 days
    assert found.count_back == pytest.approx(31 + 14)
    # And simple: 50,000 / (30,000 + 20,000 + 40,000) x (31 + 28 + 31) days = 50
    assert found.simple == pytest.approx(50.0)
    # And each month end has its own; the simple window starts no earlier than the first billing on the trail
    # (January): January 30,000 open = its 31 days, simple 30,000 / 30,000 x 31 = 31; February: 20,000 open = all
    # of February's billing (28 days), simple 20,000 / 50,000 x 59 (Jan-Feb) = 23.6
    rows = [(m.month, m.count_back, m.simple, m.receivables_base, m.billed_base) for m in found.by_month]
    assert rows == [
        ("2026-01", pytest.approx(31.0), pytest.approx(31.0), Decimal("30000.00"), Decimal("30000.00")),
        ("2026-02", pytest.approx(28.0), pytest.approx(23.6), Decimal("20000.00"), Decimal("20000.00")),
        ("2026-03", pytest.approx(45.0), pytest.approx(50.0), Decimal("50000.00"), Decimal("40000.00")),
    ]


def test_aging_buckets_by_days_past_due_at_their_boundaries(trail: TrailWriter) -> None:
    # Given five open invoices of 100 each, 0, 30, 31, 90 and 91 days past due at 30 June
    for invoice, due in (
        ("INV-0", "2026-06-30"),  # due today: not late
        ("INV-30", "2026-05-31"),
        ("INV-31", "2026-05-30"),
        ("INV-90", "2026-04-01"),
        ("INV-91", "2026-03-31"),
    ):
        post(
            trail, invoice, "100.00", "2026-03-01", due_date=due, client="C2" if invoice == "INV-91" else "C1"
        )
    # When the receivables are aged at 30 June
    aged = aging(event_log(trail.records), date(2026, 6, 30))
    # Then 0 is current, 30 is 1-30, 31 is 31-60, 90 is 61-90, 91 is 90+
    assert aged.buckets == {
        "current": Decimal("100.00"),
        "1-30": Decimal("100.00"),
        "31-60": Decimal("100.00"),
        "61-90": Decimal("100.00"),
        "90+": Decimal("100.00"),
    }
    assert (aged.open_base, aged.invoices) == (Decimal("500.00"), 5)
    # And per client: C1 owes the first four, C2 the one 91 days late
    clients = {c.client_id: (c.open_base, c.buckets["90+"]) for c in aged.by_client}
    assert clients == {"C1": (Decimal("400.00"), Decimal(0)), "C2": (Decimal("100.00"), Decimal("100.00"))}


def test_a_partial_payment_leaves_the_rest_open_and_the_final_one_sets_days_to_pay(
    trail: TrailWriter,
) -> None:
    # Given an invoice of 1,000 dated 10 January, due 9 February, 400 of it paid on 1 February
    post(trail, "INV-A", "1000.00", "2026-01-10", due_date="2026-02-09")
    pay(trail, "INV-A", "400.00", "2026-02-01", open_after="600.00", invoice_date="2026-01-10",
        due_date="2026-02-09")  # fmt: skip
    # And one of 500 dated 20 January, due 19 February, paid in full on 9 February
    post(trail, "INV-B", "500.00", "2026-01-20", due_date="2026-02-19", client="C2")
    pay(trail, "INV-B", "500.00", "2026-02-09", open_after="0", invoice_date="2026-01-20",
        due_date="2026-02-19", client="C2")  # fmt: skip
    events = event_log(trail.records)
    # When aged between the two payments of the first
    aged = aging(events, date(2026, 2, 10))
    # Then 600 is open, 1 day past due
    assert (aged.open_base, aged.buckets["1-30"]) == (Decimal("600.00"), Decimal("600.00"))
    # When the rest is paid on 19 February, and days to pay are measured
    pay(
        trail,
        "INV-A",
        "600.00",
        "2026-02-19",
        open_after="0",
        invoice_date="2026-01-10",
        due_date="2026-02-09",
    )
    paid = days_to_pay(event_log(trail.records))
    # Then the first took 40 days (10 Jan -> 19 Feb, its final payment) and was late, the second 20 days, on time
    assert paid.available and paid.invoices == 2 and paid.days == [20.0, 40.0]
    assert paid.stats is not None and (paid.stats.mean, paid.stats.median) == (30.0, 30.0)
    assert (paid.paid_late, paid.paid_late_share) == (1, 0.5)
    assert {(c.client_id, c.stats.mean, c.paid_late) for c in paid.by_client} == {
        ("C1", 40.0, 1),
        ("C2", 20.0, 0),
    }
    assert [(m.month, m.count, m.mean) for m in paid.by_month] == [("2026-02", 2, 30.0)]


def test_a_partly_paid_invoice_has_no_days_to_pay_yet(trail: TrailWriter) -> None:
    post(trail, "INV-A", "1000.00", "2026-01-10")
    pay(trail, "INV-A", "400.00", "2026-02-01", open_after="600.00", invoice_date="2026-01-10")
    paid = days_to_pay(event_log(trail.records))
    assert (paid.available, paid.invoices, paid.stats) == (False, 0, None)
    assert paid.note.startswith("n/a")


def test_a_credit_memo_reduces_the_receivable_and_the_billing_accuracy(trail: TrailWriter) -> None:
    # Given two invoices posted in January, two in February, and a credit memo of 200 on one of February's
    post(trail, "INV-1", "1000.00", "2026-01-12")
    post(trail, "INV-2", "1000.00", "2026-01-20")
    post(trail, "INV-3", "1000.00", "2026-02-03", due_date="2026-03-05")
    post(trail, "INV-4", "1000.00", "2026-02-17")
    credit(trail, "INV-3", "200.00", "2026-02-20", open_after="800.00")
    events = event_log(trail.records)
    # When billing accuracy is measured
    accuracy = billing_accuracy(events)
    # Then 3 of the 4 invoices went out right: 75%, January 100%, February 50%
    assert (accuracy.posted, accuracy.credited, accuracy.accurate, accuracy.accuracy) == (4, 1, 3, 0.75)
    assert [(m.month, m.posted, m.accuracy) for m in accuracy.by_month] == [
        ("2026-01", 2, 1.0),
        ("2026-02", 2, 0.5),
    ]
    # And the credited invoice is open for 800, not 1,000
    aged = aging(events, date(2026, 2, 28))
    assert aged.open_base == Decimal("3800.00")


def test_invoices_in_other_currencies_add_up_in_the_reporting_currency(trail: TrailWriter) -> None:
    # Given an invoice of EUR 1,000 at 1.10 (USD 1,100 in base) and one of USD 500, both open
    post(trail, "INV-EUR", "1100.00", "2026-03-02", currency="EUR", amount="1000.00")
    post(trail, "INV-USD", "500.00", "2026-03-09")
    # And EUR 500 paid on the first, USD 550 in base
    pay(trail, "INV-EUR", "550.00", "2026-03-20", open_after="550.00")
    events = event_log(trail.records)
    # When the receivables are taken at the end of March
    found, aged = dso(events, MARCH_END), aging(events, MARCH_END)
    # Then they are 550 + 500 = 1,050 in base (the invoice currency's amounts are never added)
    assert found.receivables_base == aged.open_base == Decimal("1050.00")
    # And count-back: 1,050 of March's 1,600 billing: 31 x 1050 / 1600 days
    assert found.count_back == pytest.approx(31 * 1050 / 1600)


def test_billing_lag_is_the_posting_day_minus_the_end_of_the_billed_period(trail: TrailWriter) -> None:
    # Given January's work posted on 10 February (dated 31 January) and February's posted on 3 March
    post(trail, "INV-1", "100.00", "2026-01-31", period_end="2026-01-31", posted_on="2026-02-10")
    post(trail, "INV-2", "100.00", "2026-03-03", period_end="2026-02-28", posted_on="2026-03-03")
    # When billing lag is measured
    lag = billing_lag(event_log(trail.records))
    # Then the lags are 10 and 3 days: median 6.5, one per month posted
    assert lag.available and lag.items == 2 and lag.lags == [3.0, 10.0]
    assert lag.stats is not None and lag.stats.median == 6.5
    assert [(m.month, m.count, m.median) for m in lag.by_month] == [("2026-02", 1, 10.0), ("2026-03", 1, 3.0)]


def test_receivables_are_not_available_without_posted_invoices(trail: TrailWriter) -> None:
    events = event_log(trail.records)
    for number in (
        dso(events, MARCH_END),
        aging(events, MARCH_END),
        billing_accuracy(events),
        days_to_pay(events),
    ):
        assert number.available is False and number.note.startswith("n/a")


def test_a_payment_on_the_trail_twice_is_paid_once(trail: TrailWriter) -> None:
    # Given a payment of 400 whose record reached the trail twice (same payment id)
    post(trail, "INV-A", "1000.00", "2026-01-10")
    for _ in range(2):
        pay(trail, "INV-A", "400.00", "2026-02-01", open_after="600.00", payment_id="PAY-7")
    # When the receivables are aged
    aged = aging(event_log(trail.records), date(2026, 2, 2))
    # Then 600 is open, not 200
    assert aged.open_base == Decimal("600.00")


def test_days_to_pay_follows_the_days_paid_not_the_order_recorded(trail: TrailWriter) -> None:
    # Given a 1,234.50 invoice of 2 November, its second payment (10 December, 234.50) recorded before its first
    # (20 November, 1,000.00), each with the outcome the recorder gave it in the order it arrived
    post(trail, "INV-1", "1234.50", "2026-11-02")
    pay(trail, "INV-1", "234.50", "2026-12-10", open_after="1000.00", payment_id="PAY-2")
    pay(trail, "INV-1", "1000.00", "2026-11-20", open_after="0", payment_id="PAY-1")
    # And a 500.00 invoice of 2 November paid on 20 November, then paid again on 15 December (nothing applied)
    post(trail, "INV-2", "500.00", "2026-11-02")
    pay(trail, "INV-2", "500.00", "2026-11-20", open_after="0", payment_id="PAY-3")
    pay(trail, "INV-2", "0.00", "2026-12-15", open_after="0", payment_id="PAY-4")
    # When days to pay are measured
    found = days_to_pay(event_log(trail.records))
    # Then INV-1 was paid in full on 10 December (38 days, after its 2 December due date), INV-2 on 20 November
    # (18 days, on time): the double payment is not when it was paid
    assert found.stats is not None and sorted(found.days) == [18.0, 38.0]
    assert (found.paid_late, found.invoices) == (1, 2)
