"""Revenue recognition per project (issue #19 item 2): each method on a worked example whose figures are computed
by hand in the test, and the flags finance reads (a moved estimate, no estimate, past 100 %, a reversal)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from revenue_samples import contract, eac, entry, hours_worked, inputs, milestone, project

from backoffice.finance_close.revenue import (
    ProjectRevenue,
    ProjectRevenueInputs,
    recognize_project_revenue,
    round_money,
)
from backoffice.finance_close.revenue_policy import RecognitionMethods, RevenuePolicy


def codes(result: ProjectRevenue) -> list[str]:
    return [flag.code for flag in result.flags]


# -- time and materials ------------------------------------------------------------------------------------------


def test_time_and_materials_recognizes_the_periods_approved_billable_hours_at_their_rate() -> None:
    # Given a T&M project with, in October: a senior consultant 7.5 h + 8 h at 200.00 and an analyst 6.25 h + 4 h
    # at 120.00 (approved, billable); also an internal hour, a submitted entry and November's work, none of which
    # is revenue of October; and September's 2 h at 120.00 that the September close recognized (240.00)
    p = project("P-TM", "time_and_materials")
    c = contract(
        "P-TM", "time_and_materials", rates_by_role={"senior": Decimal(200), "analyst": Decimal(120)}
    )
    entries = [
        entry("P-TM", date(2026, 10, 5), "7.5", "200.00", role="senior"),
        entry("P-TM", date(2026, 10, 6), "8", "200.00", role="senior"),
        entry("P-TM", date(2026, 10, 7), "6.25", "120.00", role="analyst"),
        entry("P-TM", date(2026, 10, 20), "4", "120.00", role="analyst"),
        entry("P-TM", date(2026, 10, 21), "1", "120.00", role="analyst", billable=False),
        entry("P-TM", date(2026, 10, 22), "5", "120.00", role="analyst", status="submitted"),
        entry("P-TM", date(2026, 11, 2), "8", "200.00", role="senior"),
        entry("P-TM", date(2026, 9, 28), "2", "120.00", role="analyst"),
    ]
    # When October is recognized, with 3,000.00 billed to date
    result = recognize_project_revenue(
        inputs(p, c, time_entries=entries, recognized_to_date="240.00", billed_to_date="3000.00")
    )
    # Then one line a role and rate: senior 15.5 h x 200.00 = 3,100.00; analyst 10.25 h x 120.00 = 1,230.00
    assert result.method == "as_delivered"
    assert [(line.role, line.hours, line.rate, line.amount, line.entries) for line in result.lines] == [
        ("analyst", Decimal("10.25"), Decimal("120.00"), Decimal("1230.00"), 2),
        ("senior", Decimal("15.5"), Decimal("200.00"), Decimal("3100.00"), 2),
    ]
    assert result.lines[1].basis.startswith("15.5 h x 200.00 (senior) = 3,100.00")
    # and the period earns 4,330.00; 240.00 + 4,330.00 = 4,570.00 to date, 1,570.00 more than billed
    assert result.recognized_this_period == Decimal("4330.00")
    assert result.cumulative_recognized == Decimal("4570.00")
    assert (result.unbilled_receivable, result.deferred_revenue) == (Decimal("1570.00"), Decimal(0))
    assert result.flags == []


def test_time_approved_after_an_earlier_close_is_caught_up_with_a_finding() -> None:
    # Given September's 2 h at 120.00 approved only after the September close (which recognized nothing)
    p, c = project("P-TM", "time_and_materials"), contract("P-TM", "time_and_materials")
    entries = [
        entry("P-TM", date(2026, 9, 28), "2", "120.00", role="analyst"),
        entry("P-TM", date(2026, 10, 2), "3", "120.00", role="analyst"),
    ]
    # When October is recognized
    result = recognize_project_revenue(inputs(p, c, time_entries=entries))
    # Then October's 3 h x 120.00 = 360.00 and a catch-up of 2 h x 120.00 = 240.00: 600.00, with a finding
    assert [(line.kind, line.amount) for line in result.lines] == [
        ("time", Decimal("360.00")),
        ("catch_up", Decimal("240.00")),
    ]
    assert result.recognized_this_period == Decimal("600.00")
    assert codes(result) == ["recognized_to_date_differs"]
    assert not result.needs_review


def test_time_and_materials_stops_at_the_not_to_exceed_cap() -> None:
    # Given a cap of 4,000.00 and, to date, 20 h + 8 h at 150.00 = 4,200.00 delivered (3,000.00 recognized
    # before October)
    p = project("P-NTE", "time_and_materials")
    c = contract("P-NTE", "time_and_materials", not_to_exceed=Decimal("4000.00"))
    entries = [
        *(entry("P-NTE", date(2026, 9, day), "5") for day in (1, 2, 3, 4)),
        entry("P-NTE", date(2026, 10, 1), "8"),
    ]
    # When October is recognized
    result = recognize_project_revenue(inputs(p, c, time_entries=entries, recognized_to_date="3000.00"))
    # Then 8 h x 150.00 = 1,200.00 less the 200.00 above the cap: 1,000.00, flagged
    assert [(line.kind, line.amount) for line in result.lines] == [
        ("time", Decimal("1200.00")),
        ("not_to_exceed", Decimal("-200.00")),
    ]
    assert result.cumulative_recognized == Decimal("4000.00")
    assert codes(result) == ["not_to_exceed_reached"]


def test_time_in_another_currency_is_left_out_not_added() -> None:
    # Given a USD project with one October entry in EUR
    p, c = project("P-TM", "time_and_materials"), contract("P-TM", "time_and_materials")
    entries = [entry("P-TM", date(2026, 10, 2), "4"), entry("P-TM", date(2026, 10, 3), "4", currency="EUR")]
    # When October is recognized / Then only the USD 4 h x 150.00 = 600.00 count, and the EUR entry is a finding
    result = recognize_project_revenue(inputs(p, c, time_entries=entries))
    assert result.recognized_this_period == Decimal("600.00")
    assert codes(result) == ["other_currency_time"]


def test_a_yen_project_rounds_to_the_whole_yen() -> None:
    # Given 7.5 h at 12,345 JPY in October
    p, c = project("P-JP", "time_and_materials", "JPY"), contract("P-JP", "time_and_materials", "JPY")
    entries = [entry("P-JP", date(2026, 10, 1), "7.5", "12345", currency="JPY")]
    # When recognized / Then 92,587.5 rounds half-up to 92,588 yen
    assert recognize_project_revenue(inputs(p, c, time_entries=entries)).recognized_this_period == Decimal(
        92588
    )


# -- fixed fee by percent complete ----------------------------------------------------------------------------


def test_fixed_fee_by_hours_recognizes_fee_times_hours_to_date_over_the_estimate() -> None:
    # Given a 120,000.00 fixed fee, an estimate at completion of 1,200 h, 300 h before October and 150 h in it,
    # and 30,000.00 recognized by September (120,000 x 300 / 1,200)
    p, c = project("P-FF", "fixed_fee"), contract("P-FF", "fixed_fee", fixed_fee=Decimal("120000.00"))
    entries = hours_worked("P-FF", 300, date(2026, 5, 1)) + hours_worked("P-FF", 150, date(2026, 10, 1))
    facts = dict(time_entries=entries, estimate=eac(hours="1200"), previous_estimate=eac(hours="1200"))
    # When October is recognized, with 40,000.00 billed to date
    result = recognize_project_revenue(
        inputs(p, c, **facts, recognized_to_date="30000.00", billed_to_date="40000.00")
    )
    # Then 450 / 1,200 = 37.5 %: 45,000.00 to date, 15,000.00 this period, 5,000.00 earned ahead of the invoices
    assert result.method == "percent_complete"
    (line,) = result.lines
    assert (line.measure_to_date, line.estimate_at_completion, line.percent_complete) == (
        Decimal(450),
        Decimal(1200),
        Decimal("37.50"),
    )
    assert line.basis == (
        "fixed fee 120,000.00 x 450 h / 1,200 h (37.50 %) = cumulative 45,000.00 - recognized before 30,000.00 "
        "= 15,000.00"
    )
    assert result.recognized_this_period == Decimal("15000.00")
    assert result.cumulative_recognized == Decimal("45000.00")
    assert result.percent_complete == Decimal("37.50")
    assert (result.unbilled_receivable, result.deferred_revenue) == (Decimal("5000.00"), Decimal(0))
    assert result.flags == []


def test_fixed_fee_rounds_the_cumulative_once_from_the_exact_ratio() -> None:
    # Given 100,000.00 over 1,500 h with 437 h to date (non-billable hours count: effort is effort)
    p, c = project("P-FF", "fixed_fee"), contract("P-FF", "fixed_fee", fixed_fee=Decimal("100000.00"))
    entries = [
        *hours_worked("P-FF", 432, date(2026, 6, 1)),
        entry("P-FF", date(2026, 10, 5), "5", billable=False),
    ]
    # When October is recognized
    result = recognize_project_revenue(inputs(p, c, time_entries=entries, estimate=eac(hours="1500")))
    # Then 100,000 x 437 / 1,500 = 29,133.333... -> 29,133.33 (shown as 29.13 %)
    assert result.cumulative_recognized == Decimal("29133.33")
    assert result.percent_complete == Decimal("29.13")


def test_fixed_fee_by_cost_recognizes_fee_times_cost_to_date_over_the_estimated_cost() -> None:
    # Given an 80,000.00 fee whose contract says cost-to-cost, an estimated cost of 50,000.00, 100 h at a costing
    # rate of 90.00 and 60 h at 110.00 to date (9,000.00 + 6,600.00 = 15,600.00), 16,000.00 recognized before
    p, c = project("P-FC", "fixed_fee"), contract("P-FC", "fixed_fee", fixed_fee=Decimal("80000.00"))
    entries = hours_worked("P-FC", 100, date(2026, 8, 1), cost="90.00") + hours_worked(
        "P-FC", 60, date(2026, 10, 1), cost="110.00"
    )
    facts = dict(
        time_entries=entries, estimate=eac(hours="900", cost="50000.00"), percent_complete_basis="cost"
    )
    # When October is recognized, with 30,000.00 billed to date
    result = recognize_project_revenue(
        inputs(p, c, **facts, recognized_to_date="16000.00", billed_to_date="30000.00")
    )
    # Then 15,600 / 50,000 = 31.2 %: 80,000.00 x 31.2 % = 24,960.00 to date, 8,960.00 this period, and
    # 30,000.00 - 24,960.00 = 5,040.00 billed ahead: deferred revenue
    (line,) = result.lines
    assert (line.measure_to_date, line.percent_complete) == (Decimal("15600.00"), Decimal("31.20"))
    assert result.cumulative_recognized == Decimal("24960.00")
    assert result.recognized_this_period == Decimal("8960.00")
    assert (result.unbilled_receivable, result.deferred_revenue) == (Decimal(0), Decimal("5040.00"))


def test_a_fixed_fee_project_with_no_estimate_is_a_finding_and_recognizes_nothing() -> None:
    # Given a fixed-fee project whose PSA holds no estimate at completion (and one with an estimate of zero)
    p, c = project("P-NE", "fixed_fee"), contract("P-NE", "fixed_fee", fixed_fee=Decimal("50000.00"))
    entries = hours_worked("P-NE", 40, date(2026, 10, 1))
    for estimate in (None, eac(hours="0")):
        # When October is recognized, with 12,000.00 recognized before and 10,000.00 billed
        result = recognize_project_revenue(
            inputs(
                p,
                c,
                time_entries=entries,
                estimate=estimate,
                recognized_to_date="12000.00",
                billed_to_date="10000",
            )
        )
        # Then no exception: a finding, nothing recognized, the cumulative stays where it was
        assert codes(result) == ["no_estimate_at_completion"]
        assert "no estimate at completion" in result.flags[0].message
        assert result.lines == []
        assert result.recognized_this_period == 0
        assert result.cumulative_recognized == Decimal("12000.00")
        assert result.unbilled_receivable == Decimal("2000.00")


def test_percent_complete_past_100_is_capped_with_a_flag_for_review() -> None:
    # Given 440 h to date on an estimate of 400 h, for a 60,000.00 fee, 54,000.00 recognized before
    p, c = project("P-OV", "fixed_fee"), contract("P-OV", "fixed_fee", fixed_fee=Decimal("60000.00"))
    entries = hours_worked("P-OV", 440, date(2026, 7, 1))
    # When October is recognized
    result = recognize_project_revenue(
        inputs(p, c, time_entries=entries, estimate=eac(hours="400"), recognized_to_date="54000.00")
    )
    # Then 110 % is capped at 100 %: the whole fee, 6,000.00 this period, and finance is told
    assert result.percent_complete == Decimal(100)
    assert result.cumulative_recognized == Decimal("60000.00")
    assert result.recognized_this_period == Decimal("6000.00")
    (flag,) = result.flags
    assert (flag.code, flag.review, flag.old, flag.new) == (
        "percent_complete_capped",
        True,
        Decimal("110.00"),
        100,
    )
    assert result.needs_review


def test_a_risen_estimate_reverses_revenue_and_says_so() -> None:
    # Given 45,000.00 recognized by September at 450 h of 1,200 h of a 120,000.00 fee; in October 30 more hours
    # and the estimate re-planned to 1,800 h
    p, c = project("P-RV", "fixed_fee"), contract("P-RV", "fixed_fee", fixed_fee=Decimal("120000.00"))
    entries = hours_worked("P-RV", 450, date(2026, 4, 1)) + hours_worked("P-RV", 30, date(2026, 10, 5))
    facts = dict(time_entries=entries, estimate=eac(hours="1800"), previous_estimate=eac(hours="1200"))
    # When October is recognized
    result = recognize_project_revenue(inputs(p, c, **facts, recognized_to_date="45000.00"))
    # Then 480 / 1,800 = 26.67 %: 120,000 x 480 / 1,800 = 32,000.00 to date, so October reverses 13,000.00
    assert result.cumulative_recognized == Decimal("32000.00")
    assert result.recognized_this_period == Decimal("-13000.00")
    assert result.lines[0].amount == Decimal("-13000.00")
    flags = {flag.code: flag for flag in result.flags}
    assert set(flags) == {"negative_catch_up", "eac_changed"}
    assert (flags["negative_catch_up"].old, flags["negative_catch_up"].new) == (
        Decimal(45000),
        Decimal(32000),
    )
    assert "reverses 13,000.00 (the estimate at completion rose)" in flags["negative_catch_up"].message
    assert (flags["eac_changed"].old, flags["eac_changed"].new) == (Decimal(1200), Decimal(1800))


@pytest.mark.parametrize(
    ("previous", "new", "flagged"),
    [
        ("1000", "1099", None),  # +9.9 %
        ("1000", "1100", None),  # +10.0 %: not over the threshold
        ("1000", "1101", "estimate at completion 1,000 h -> 1,101 h (+10.1 %, over 10 %)"),
        # a shrinking estimate moves revenue too
        ("1000", "899", "estimate at completion 1,000 h -> 899 h (-10.1 %, over 10 %)"),
        ("1000", "901", None),  # -9.9 %
    ],
)
def test_an_estimate_that_moved_over_ten_percent_goes_to_review(
    previous: str, new: str, flagged: str | None
) -> None:
    # Given an estimate at completion re-planned from ``previous`` to ``new`` hours
    p, c = project("P-EAC", "fixed_fee"), contract("P-EAC", "fixed_fee", fixed_fee=Decimal("100000.00"))
    facts = dict(estimate=eac(hours=new), previous_estimate=eac(hours=previous))
    # When October is recognized
    result = recognize_project_revenue(
        inputs(p, c, time_entries=hours_worked("P-EAC", 100, date(2026, 10, 1)), **facts)
    )
    # Then only a move of more than 10 % is flagged, with the old and new estimate
    assert codes(result) == (["eac_changed"] if flagged else [])
    if flagged:
        flag = result.flags[0]
        assert (flag.old, flag.new, flag.review) == (Decimal(previous), Decimal(new), True)
        assert flag.message == flagged


def test_the_review_threshold_is_the_firms() -> None:
    # Given a firm reviewing estimate moves over 5 %, and an estimate moved 6 %
    policy = RevenuePolicy.from_json_dict({"eac_change_review_pct": "5"})
    p, c = project("P-EAC", "fixed_fee"), contract("P-EAC", "fixed_fee", fixed_fee=Decimal("1000"))
    facts = dict(estimate=eac(hours="106"), previous_estimate=eac(hours="100"))
    # When recognized / Then it is flagged
    assert codes(recognize_project_revenue(inputs(p, c, **facts), policy)) == ["eac_changed"]


# -- milestones -------------------------------------------------------------------------------------------------


def test_milestones_recognize_each_amount_in_the_period_of_its_acceptance() -> None:
    # Given a 60,000.00 fixed fee in three milestones: M1 20,000.00 accepted 15 September (recognized then),
    # M2 25,000.00 accepted 14 October, M3 15,000.00 delivered and not yet accepted
    p = project("P-MS", "fixed_fee")
    c = contract(
        "P-MS",
        "fixed_fee",
        fixed_fee=Decimal("60000.00"),
        milestones=[
            milestone("M1", "20000.00", "invoiced", date(2026, 9, 15)),
            milestone("M2", "25000.00", "accepted", date(2026, 10, 14)),
            milestone("M3", "15000.00", "delivered"),
        ],
    )
    # When October is recognized, with M1's 20,000.00 billed
    result = recognize_project_revenue(
        inputs(p, c, estimate=eac(hours="400"), recognized_to_date="20000.00", billed_to_date="20000.00")
    )
    # Then (a fixed fee with milestones recognizes on acceptance) M2's 25,000.00, with its id and date; M3 none
    assert result.method == "milestones"
    (line,) = result.lines
    assert (line.milestone_id, line.accepted_date, line.amount) == (
        "M2",
        date(2026, 10, 14),
        Decimal("25000.00"),
    )
    assert line.basis == "milestone M2 'Deliverable M2' accepted 2026-10-14: 25,000.00"
    assert result.cumulative_recognized == Decimal("45000.00")
    assert (result.unbilled_receivable, result.deferred_revenue) == (Decimal("25000.00"), Decimal(0))
    assert result.flags == []


def test_a_milestone_accepted_after_the_period_or_without_a_date_is_not_revenue_yet() -> None:
    # Given M1 accepted on 3 November, M2 marked accepted in the PSA with no acceptance date
    p = project("P-MS", "fixed_fee")
    c = contract(
        "P-MS",
        "fixed_fee",
        milestones=[
            milestone("M1", "10000", "accepted", date(2026, 11, 3)),
            milestone("M2", "5000", "accepted"),
        ],
    )
    # When October is recognized / Then nothing, and M2's missing date is a finding
    result = recognize_project_revenue(inputs(p, c))
    assert result.recognized_this_period == 0
    assert codes(result) == ["milestone_without_acceptance_date"]


def test_the_firm_or_the_contract_may_recognize_a_fixed_fee_with_milestones_by_percent_complete() -> None:
    # Given a 10,000.00 fixed fee with an accepted milestone, 50 of 100 h done
    p = project("P-MS", "fixed_fee")
    c = contract(
        "P-MS",
        "fixed_fee",
        fixed_fee=Decimal("10000"),
        milestones=[milestone("M1", "8000", "accepted", date(2026, 10, 2))],
    )
    facts = dict(time_entries=hours_worked("P-MS", 50, date(2026, 10, 1)), estimate=eac(hours="100"))
    by_percent = RevenuePolicy(methods=RecognitionMethods(fixed_fee_with_milestones="percent_complete"))
    # When the firm's policy says percent complete / Then 10,000 x 50 / 100 = 5,000.00
    assert recognize_project_revenue(inputs(p, c, **facts), by_percent).recognized_this_period == Decimal(
        "5000.00"
    )
    # When the firm's default applies but the contract says percent complete / Then the contract wins
    overridden = inputs(p, c, **facts, recognition_method="percent_complete")
    assert recognize_project_revenue(overridden).method == "percent_complete"
    # When neither says / Then the milestone's 8,000.00
    assert recognize_project_revenue(inputs(p, c, **facts)).recognized_this_period == Decimal("8000")


# -- retainer ---------------------------------------------------------------------------------------------------


def _retainer() -> tuple[object, object]:
    # A 9,000.00 monthly retainer from 10 October 2026 to 20 January 2027
    p = project("P-RT", "retainer")
    c = contract(
        "P-RT",
        "retainer",
        monthly_retainer_fee=Decimal("9000.00"),
        effective_date=date(2026, 10, 10),
        end_date=date(2027, 1, 20),
    )
    return p, c


@pytest.mark.parametrize(
    ("period", "before", "lines", "cumulative"),
    [
        # first month, partial: 9,000.00 x 22 / 31 days (10 to 31 October) = 6,387.0967... -> 6,387.10
        ((date(2026, 10, 1), date(2026, 10, 31)), "0", [("2026-10", 22, "6387.10")], "6387.10"),
        # a full month: the fee, whatever the month's length
        ((date(2026, 11, 1), date(2026, 11, 30)), "6387.10", [("2026-11", 30, "9000.00")], "15387.10"),
        # last month, partial: 9,000.00 x 20 / 31 days (1 to 20 January) = 5,806.4516... -> 5,806.45
        ((date(2027, 1, 1), date(2027, 1, 31)), "24387.10", [("2027-01", 20, "5806.45")], "30193.55"),
        # after the service period: nothing more
        ((date(2027, 2, 1), date(2027, 2, 28)), "30193.55", [], "30193.55"),
        # a quarter: one line a month, 6,387.10 + 9,000.00 + 9,000.00
        (
            (date(2026, 10, 1), date(2026, 12, 31)),
            "0",
            [("2026-10", 22, "6387.10"), ("2026-11", 30, "9000.00"), ("2026-12", 31, "9000.00")],
            "24387.10",
        ),
        # a period that starts mid-month: October through the 31st (6,387.10) less through the 15th
        # (6 days: 9,000 x 6 / 31 = 1,741.935... -> 1,741.94) = 4,645.16 for 16 days
        ((date(2026, 10, 16), date(2026, 10, 31)), "1741.94", [("2026-10", 16, "4645.16")], "6387.10"),
    ],
)
def test_a_retainer_earns_its_monthly_fee_by_days_served_in_each_month(
    period: tuple[date, date], before: str, lines: list[tuple[str, int, str]], cumulative: str
) -> None:
    # Given the retainer and what earlier closes recognized
    p, c = _retainer()
    # When the period is recognized
    result = recognize_project_revenue(inputs(p, c, period, recognized_to_date=before))  # type: ignore[arg-type]
    # Then each month of the period earns the fee x days served / days of that month
    assert result.method == "ratable"
    assert [(line.month, line.service_days, line.amount) for line in result.lines] == [
        (month, days, Decimal(amount)) for month, days, amount in lines
    ]
    assert result.cumulative_recognized == Decimal(cumulative)
    assert result.flags == []


def test_a_retainer_line_states_its_basis() -> None:
    p, c = _retainer()
    result = recognize_project_revenue(inputs(p, c))  # type: ignore[arg-type]
    assert result.lines[0].basis == "monthly fee 9,000.00 x 22/31 days of 2026-10 served = 6,387.10"


# -- bad input --------------------------------------------------------------------------------------------------


def test_missing_contract_or_fee_is_a_finding_never_an_exception() -> None:
    # Given a retainer without its contract, and a retainer contract without a fee
    p = project("P-X", "retainer")
    # When recognized / Then each is a finding and nothing is recognized
    assert codes(recognize_project_revenue(inputs(p, None, billed_to_date="100"))) == ["no_contract"]
    no_fee = recognize_project_revenue(inputs(p, contract("P-X", "retainer")))
    assert codes(no_fee) == ["no_fee"]
    assert no_fee.recognized_this_period == 0


def test_a_result_travels_as_json_and_reads_back_the_same() -> None:
    # Given a recognized project
    p, c = project("P-FF", "fixed_fee"), contract("P-FF", "fixed_fee", fixed_fee=Decimal("120000.00"))
    result = recognize_project_revenue(
        inputs(p, c, time_entries=hours_worked("P-FF", 45, date(2026, 10, 1)), estimate=eac(hours="1200"))
    )
    # When it goes through Step Functions state and back / Then nothing is lost, no digit changed
    assert ProjectRevenue.from_json_dict(result.to_json_dict()) == result
    assert ProjectRevenueInputs.from_json_dict(inputs(p, c).to_json_dict()).project == p


def test_money_rounds_half_up_to_the_currencys_minor_unit() -> None:
    assert round_money(Decimal("0.005"), "USD") == Decimal("0.01")
    assert round_money(Decimal("0.125"), "EUR") == Decimal("0.13")  # half-up, not banker's 0.12
    assert round_money(Decimal("1234.5"), "JPY") == Decimal("1235")
    assert round_money(Decimal("1.2345"), "KWD") == Decimal("1.235")
