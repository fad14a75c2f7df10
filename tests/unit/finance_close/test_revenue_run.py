"""The period's revenue run as a whole (issue #19 item 2): totals per currency, counts by method, what goes to
review and what is a finding, small enough for Step Functions state, printed as finance reads it."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest
from revenue_samples import OCTOBER, contract, eac, entry, hours_worked, inputs, milestone, project

from backoffice.finance_close.revenue import (
    ProjectRevenue,
    RevenueRunResult,
    recognize_project_revenue,
    summarize_revenue_run,
)
from backoffice.invoicing.readiness import BillingPeriod

STATE_LIMIT = 256 * 1024
PERIOD = BillingPeriod(start=OCTOBER[0], end=OCTOBER[1])


def october_projects() -> list[ProjectRevenue]:
    tm = recognize_project_revenue(
        inputs(
            project("P-TM", "time_and_materials"),
            contract("P-TM", "time_and_materials"),
            time_entries=[entry("P-TM", date(2026, 10, 5), "7.5", "200.00")],  # 1,500.00
            billed_to_date="1000.00",
        )
    )
    ff = recognize_project_revenue(
        inputs(
            project("P-FF", "fixed_fee"),
            contract("P-FF", "fixed_fee", fixed_fee=Decimal("120000.00")),
            time_entries=hours_worked("P-FF", 450, date(2026, 4, 1)),
            estimate=eac(hours="1500"),  # 450 / 1,500 = 30 %: 36,000.00
            previous_estimate=eac(hours="1200"),  # +25 %: review
            recognized_to_date="30000.00",
            billed_to_date="40000.00",
        )
    )
    no_estimate = recognize_project_revenue(
        inputs(
            project("P-NE", "fixed_fee"),
            contract("P-NE", "fixed_fee", fixed_fee=Decimal("50000.00")),
            billed_to_date="5000.00",
        )
    )
    ms = recognize_project_revenue(
        inputs(
            project("P-MS", "fixed_fee", "EUR"),
            contract(
                "P-MS",
                "fixed_fee",
                "EUR",
                milestones=[milestone("M1", "25000.00", "accepted", date(2026, 10, 14))],
            ),
            billed_to_date="25000.00",
        )
    )
    rt = recognize_project_revenue(
        inputs(
            project("P-RT", "retainer", "EUR"),
            contract("P-RT", "retainer", "EUR", monthly_retainer_fee=Decimal("9000.00")),
            recognized_to_date="81000.00",  # January to September
            billed_to_date="99000.00",  # November billed in advance
        )
    )
    return [tm, ff, no_estimate, ms, rt]


def test_the_run_totals_each_currency_apart_and_lists_review_and_findings() -> None:
    # Given October's five projects in USD and EUR
    # When the run is summarized
    run = summarize_revenue_run(october_projects(), PERIOD)
    # Then totals are per currency, never one sum:
    usd, eur = run.totals["USD"], run.totals["EUR"]
    # USD: 1,500.00 (T&M) + 6,000.00 (36,000.00 - 30,000.00) + 0 (no estimate)
    assert (usd.projects, usd.recognized_this_period) == (3, Decimal("7500.00"))
    # unbilled 1,500 - 1,000 = 500.00; deferred 40,000 - 36,000 = 4,000.00 and 5,000 - 0 = 5,000.00
    assert (usd.unbilled_receivable, usd.deferred_revenue) == (Decimal("500.00"), Decimal("9000.00"))
    # EUR: milestone 25,000.00 + retainer October 9,000.00; deferred: the retainer's 99,000 - 90,000
    assert (eur.projects, eur.recognized_this_period, eur.cumulative_recognized) == (
        2,
        Decimal("34000.00"),
        Decimal("115000.00"),
    )
    assert (eur.unbilled_receivable, eur.deferred_revenue) == (Decimal(0), Decimal("9000.00"))
    assert run.counts_by_method == {"as_delivered": 1, "milestones": 1, "percent_complete": 2, "ratable": 1}
    # and the moved estimate goes to review with its old and new figure; the missing estimate is a finding
    assert [(f.project_id, f.code, f.old, f.new) for f in run.review] == [
        ("P-FF", "eac_changed", Decimal(1200), Decimal(1500))
    ]
    assert run.projects_for_review == ["P-FF"]
    assert [(f.project_id, f.code) for f in run.findings] == [("P-NE", "no_estimate_at_completion")]


def test_the_summary_prints_one_line_a_project_then_totals_review_and_findings() -> None:
    run = summarize_revenue_run(october_projects(), PERIOD)
    text = run.summary()
    print(text)
    lines = text.splitlines()
    assert lines[0] == (
        "Revenue recognition 2026-10-01 to 2026-10-31: 5 projects "
        "(as delivered 1, milestones 1, percent complete 2, ratable 1)"
    )
    project_lines = [line for line in lines if line[3:5] == "P-"]
    assert [line[3:8] for line in project_lines] == ["P-MS ", "P-RT ", "P-FF ", "P-NE ", "P-TM "]
    assert project_lines[2].startswith(
        "!! P-FF    percent_complete  30.00 % USD        6,000.00"
    )  # for review
    assert "  EUR 2 project(s): recognized this period 34,000.00," in text
    assert "For finance review (1):" in text
    assert "  P-NE no_estimate_at_completion: no estimate at completion (hours) in the PSA" in text


def test_fifty_projects_fit_in_step_functions_state_many_times_over() -> None:
    # Given 50 projects, each with a flag and a few lines
    results = []
    for n in range(50):
        pid = f"P-{n:04d}"
        results.append(
            recognize_project_revenue(
                inputs(
                    project(pid, "time_and_materials"),
                    contract(pid, "time_and_materials", not_to_exceed=Decimal("100.00")),
                    time_entries=[
                        entry(pid, date(2026, 10, day), "8", rate, role=role)
                        for day, rate, role in (
                            (1, "150.00", "analyst"),
                            (2, "200.00", "senior"),
                            (3, "250.00", "lead"),
                        )
                    ],
                    billed_to_date="50.00",
                )
            )
        )
    # When the run is summarized and written as JSON
    run = summarize_revenue_run(results, PERIOD)
    size = len(json.dumps(run.to_state_dict()))
    print(f"50 projects: {size} bytes")
    # Then it is a fraction of the 256 KiB a state may hold, and reads back the same
    assert size < STATE_LIMIT / 4
    assert RevenueRunResult.from_json_dict(run.to_state_dict()) == run


def test_results_of_another_period_are_refused() -> None:
    with pytest.raises(ValueError, match="another period"):
        summarize_revenue_run(
            october_projects(), BillingPeriod(start=date(2026, 11, 1), end=date(2026, 11, 30))
        )
