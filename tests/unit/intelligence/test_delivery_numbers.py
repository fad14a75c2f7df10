"""Delivery and margin from the audit trail (issue #20): utilization, realization, WIP and leakage, each checked
against figures worked out by hand in the test."""

from __future__ import annotations

from decimal import Decimal

import pytest

from backoffice.intelligence import event_log
from backoffice.intelligence.delivery import leakage, realization, utilization, wip
from backoffice.intelligence.samples import TrailWriter
from tests.management_trails import measure, measure_wip, noon, post, settle_review


def test_utilization_takes_the_latest_measure_of_each_worker_month(trail: TrailWriter) -> None:
    # Given January measured for two people, then W1's January measured again (a late timesheet: 128 billable)
    measure(trail, "W1", "2026-01", "160", "120", at=noon("2026-02-01"))
    measure(trail, "W2", "2026-01", "150", "90", practice="Data", at=noon("2026-02-01"))
    measure(trail, "W1", "2026-01", "160", "128", at=noon("2026-02-03"))
    # And February for W1 only
    measure(trail, "W1", "2026-02", "140", "126", at=noon("2026-03-01"))
    # When utilization is measured
    found = utilization(event_log(trail.records))
    # Then overall: (128 + 90 + 126) billable / (160 + 150 + 140) available = 344 / 450
    assert found.available and found.utilization == pytest.approx(344 / 450)
    assert (found.billable_hours, found.available_hours, found.workers) == (344.0, 450.0, 2)
    # And by practice: Advisory (128 + 126) / 300, Data 90 / 150
    assert [(g.key, g.utilization) for g in found.by_practice] == [
        ("Advisory", pytest.approx(254 / 300)),
        ("Data", pytest.approx(0.6)),
    ]
    # And by month: January 218 / 310, February 126 / 140 = 0.9
    assert [(g.key, g.workers, g.utilization) for g in found.by_month] == [
        ("2026-01", 2, pytest.approx(218 / 310)),
        ("2026-02", 1, pytest.approx(0.9)),
    ]
    # And per person, with the distribution the histogram draws
    assert [(p.worker_id, p.months, p.utilization) for p in found.by_person] == [
        ("W1", 2, pytest.approx(254 / 300)),
        ("W2", 1, pytest.approx(0.6)),
    ]
    assert found.distribution == [pytest.approx(0.6), pytest.approx(254 / 300)]


def test_realization_is_time_billed_over_the_same_hours_at_the_rate_card(trail: TrailWriter) -> None:
    # Given client A billed 9,000 for work worth 10,000 at card, client B 5,000 at card, in two months
    post(trail, "INV-1", "9500.00", "2026-01-31", client="A", billed="9000.00", standard="10000.00")
    post(trail, "INV-2", "5000.00", "2026-02-28", client="B", practice="Data", billed="5000.00")
    # When realization is measured
    found = realization(event_log(trail.records))
    # Then 14,000 / 15,000 overall; A 90%, B 100%; by practice and month alike
    assert found.available and found.realization == pytest.approx(14000 / 15000)
    assert (found.time_billed_base, found.time_standard_base) == (Decimal("14000.00"), Decimal("15000.00"))
    assert [(g.key, g.realization) for g in found.by_client] == [("A", 0.9), ("B", 1.0)]
    assert [(g.key, g.realization) for g in found.by_practice] == [("Advisory", 0.9), ("Data", 1.0)]
    assert [(g.key, g.invoices) for g in found.by_month] == [("2026-01", 1), ("2026-02", 1)]


def test_wip_is_the_latest_month_end_with_its_aging_and_the_trend_of_every_month(trail: TrailWriter) -> None:
    # Given January's month end: P1 1,000 and P2 500 unbilled
    measure_wip(trail, "P1", "2026-01", "2026-01-31", "1000.00", {"0-30": "1000.00"})
    measure_wip(
        trail, "P2", "2026-01", "2026-01-31", "500.00", {"0-30": "500.00"}, practice="Data", client="C2"
    )
    # And February's: P1 measured 900, then re-measured 800 (600 recent, 200 aged 31-60); P3 200 aged 90+
    measure_wip(trail, "P1", "2026-02", "2026-02-28", "900.00", {"0-30": "900.00"}, at=noon("2026-03-01"))
    measure_wip(trail, "P1", "2026-02", "2026-02-28", "800.00", {"0-30": "600.00", "31-60": "200.00"},
                at=noon("2026-03-02"))  # fmt: skip
    measure_wip(trail, "P3", "2026-02", "2026-02-28", "200.00", {"90+": "200.00"}, practice="Data")
    # When WIP is measured
    found = wip(event_log(trail.records))
    # Then it is February's: 800 + 200 = 1,000 over two projects, aged 600 / 200 / 0 / 200
    assert found.available and (found.month, found.projects, found.wip_base) == (
        "2026-02",
        2,
        Decimal("1000.00"),
    )
    assert found.aging == {
        "0-30": Decimal("600.00"),
        "31-60": Decimal("200.00"),
        "61-90": Decimal(0),
        "90+": Decimal("200.00"),
    }
    assert [(g.key, g.wip_base) for g in found.by_practice] == [
        ("Advisory", Decimal("800.00")),
        ("Data", Decimal("200.00")),
    ]
    # And the trend: January 1,500, February 1,000
    assert [(g.key, g.wip_base) for g in found.by_month] == [
        ("2026-01", Decimal("1500.00")),
        ("2026-02", Decimal("1000.00")),
    ]


def test_leakage_charges_write_offs_to_their_first_rule_and_adds_write_downs_below_the_card(
    trail: TrailWriter,
) -> None:
    # Given a review that wrote off 300 (TE3), an expense of 50 (TE5 first, then TE3) and 150 nothing flagged
    settle_review(trail, "billing-2026-01-P1", "2026-01-01", [
        {"line_id": "T1", "kind": "time", "rules": ["TE3"], "hours": "2", "value_base": "300.00"},
        {"line_id": "E1", "kind": "expense", "rules": ["TE5", "TE3"], "hours": None, "value_base": "50.00"},
        {"line_id": "T2", "kind": "time", "rules": [], "hours": "1", "value_base": "150.00"},
    ], noon("2026-02-02"))  # fmt: skip
    # And an invoice billed 9,000 for 10,000 at card (a 1,000 write-down), one billed above card (no write-down)
    post(trail, "INV-1", "9000.00", "2026-01-31", client="A", billed="9000.00", standard="10000.00")
    post(trail, "INV-2", "5200.00", "2026-01-31", client="B", billed="5200.00", standard="5000.00")
    # When leakage is measured
    found = leakage(event_log(trail.records))
    # Then write-offs 500 by rule: TE3 300, unscored 150, TE5 50; write-downs 1,000 (client A)
    assert [(r.rule, r.lines, r.value_base) for r in found.by_rule] == [
        ("TE3", 1, Decimal("300.00")),
        ("unscored", 1, Decimal("150.00")),
        ("TE5", 1, Decimal("50.00")),
    ]
    assert (found.write_off_base, found.write_down_base, found.total_base) == (
        Decimal("500.00"),
        Decimal("1000.00"),
        Decimal("1500.00"),
    )
    assert [(c.client_id, c.write_down_base) for c in found.by_client] == [
        ("A", Decimal("1000.00")),
        ("B", Decimal(0)),
    ]
    # And as a share of the work's value: 1,500 / (15,000 at card + 500 written off)
    assert found.standard_base == Decimal("15500.00")
    assert found.share_of_standard == pytest.approx(1500 / 15500)
    assert [(m.month, m.write_off_base, m.write_down_base) for m in found.by_month] == [
        ("2026-01", Decimal("500.00"), Decimal("1000.00"))
    ]


def test_delivery_numbers_are_not_available_without_their_records(trail: TrailWriter) -> None:
    events = event_log(trail.records)
    for number in (utilization(events), realization(events), wip(events), leakage(events)):
        assert number.available is False and number.note.startswith("n/a")


def test_a_project_re_measured_at_zero_holds_no_wip_and_an_empty_month_is_still_the_latest(
    trail: TrailWriter,
) -> None:
    # Given January: P1 1,000 unbilled, then re-measured at zero once its work was billed; P2 300
    measure_wip(trail, "P1", "2026-01", "2026-01-31", "1000.00", {"0-30": "1000.00"}, at=noon("2026-02-01"))
    measure_wip(trail, "P1", "2026-01", "2026-01-31", "0.00", {}, at=noon("2026-02-03"))
    measure_wip(trail, "P2", "2026-01", "2026-01-31", "300.00", {"0-30": "300.00"})
    # When WIP is measured
    found = wip(event_log(trail.records))
    # Then January holds one project with 300
    assert (found.month, found.projects, found.wip_base) == ("2026-01", 1, Decimal("300.00"))
    # And once February is measured with nothing in progress, February is the latest: nil, not January's
    measure(trail, "W1", "2026-02", "160", "120")
    found = wip(event_log(trail.records))
    assert (found.month, found.projects, found.wip_base) == ("2026-02", 0, Decimal(0))
    assert [(g.key, g.projects, g.wip_base) for g in found.by_month] == [("2026-01", 1, Decimal("300.00"))]
