"""Time and expense anomaly checks, one by one (TE1 to TE11): each fires on the case it is for and stays quiet
on the ordinary case next to it, and says why in words a reviewer reads."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from backoffice.anomaly import (
    DEFAULT_VIOLATIONS,
    AnomalyHistory,
    AnomalyPolicy,
    ScoredLine,
    score_lines,
    score_rows,
    us_federal_holidays,
)
from backoffice.anomaly.benford import FIRST_DIGIT_P, benford_mad, conformity
from backoffice.anomaly.expense_rules import benford_coverage, flag_round_amounts
from backoffice.anomaly.generator import expense_entry_of, time_entry_of
from backoffice.anomaly.rows import expense_columns
from backoffice.anomaly.scored import Flags
from backoffice.anomaly.signal_model import CurvePoint, SignalModel

TUESDAY = date(2026, 10, 6)
SHA_A = "a" * 64
SHA_B = "b" * 64


def time_row(line_id: str, **change: Any) -> dict[str, Any]:
    row = {
        "id": line_id,
        "worker_id": "W-1",
        "project_id": "P-1",
        "activity_type": "consulting",
        "work_date": TUESDAY,
        "hours": 8.0,
        "submitted_at": datetime(2026, 10, 9, 17, tzinfo=UTC),
    }
    return row | change


def expense_row(line_id: str, **change: Any) -> dict[str, Any]:
    row = {
        "id": line_id,
        "worker_id": "W-1",
        "expense_date": TUESDAY,
        "expense_type": "supplies",
        "amount": 42.17,
        "currency": "USD",
        "merchant": "Staples Boston",
        "city": "Boston",
        "receipt_sha256": None,
        "attendees": 1,
    }
    return row | change


# What a time row needs besides the scorer's fields to be a canonical TimeEntry.
MODEL_TIME_FIELDS: dict[str, Any] = {
    "is_billable": True,
    "billing_rate": 190.0,
    "costing_rate": 85.0,
    "currency": "USD",
    "status": "approved",
    "task": None,
    "role": "consultant",
}


def score(
    time_rows: list[dict[str, Any]] | None = None,
    expense_rows: list[dict[str, Any]] | None = None,
    history: AnomalyHistory | None = None,
    **policy: Any,
) -> dict[str, ScoredLine]:
    scored = score_rows(time_rows or [], expense_rows or [], history, AnomalyPolicy.model_validate(policy))
    return {line.line_id: line for line in scored}


def checks(scored: dict[str, ScoredLine], line_id: str) -> set[str]:
    return set(scored[line_id].checks)


def text(scored: dict[str, ScoredLine], line_id: str, check: str) -> str:
    [reason] = [reason for reason in scored[line_id].reasons if reason.check == check]
    return reason.text


# ------------------------------------------------------------------------------------------------------------
# Policy and scoring
# ------------------------------------------------------------------------------------------------------------


def test_the_policy_loads_from_json_and_keeps_the_defaults_it_does_not_name() -> None:
    # Given a firm's policy naming two thresholds and one check it does not run
    policy = AnomalyPolicy.from_json_dict(
        {"max_daily_hours": 10, "lodging_per_night": "150", "checks_off": ["benford"]}
    )
    # Then those change and everything else keeps the DOMAIN.md defaults
    assert policy.max_daily_hours == 10 and policy.lodging_per_night == 150
    assert not policy.is_on("benford") and policy.is_on("duplicate_receipt")
    assert policy.is_violation("receipt_missing") and not policy.is_violation("round_amount")
    assert policy.receipt_required_at == 75 and policy.mie_per_day == 68 and policy.tip_max_share == 0.25
    assert policy.benford_cutoff() == 0.015 and policy.target_precision == 0.9


@pytest.mark.parametrize(
    "config",
    [{"checks_off": ["no_such_check"]}, {"violations": ["no_such_check"]}, {"target_precision": 1.5}],
)
def test_the_policy_refuses_unknown_checks_and_a_precision_outside_0_to_1(config: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        AnomalyPolicy.from_json_dict(config)


def test_a_policy_violation_always_goes_to_review_and_a_clean_line_scores_zero() -> None:
    # Given a lodging night above the per diem and without a receipt, and an ordinary purchase
    scored = score(
        expense_rows=[expense_row("EX-1", expense_type="lodging", amount=212.0), expense_row("EX-2")]
    )
    # Then the night is a violation twice over: score 1, to review, with both reasons and no signal features;
    # the purchase scores 0 with no reason and stays out of review
    assert checks(scored, "EX-1") == {"receipt_missing", "per_diem_lodging"}
    assert scored["EX-1"].score == 1.0 and scored["EX-1"].review and scored["EX-1"].features == ()
    assert scored["EX-2"].score == 0.0 and scored["EX-2"].reasons == () and not scored["EX-2"].review


def test_a_check_configured_as_a_signal_is_scored_by_the_model_not_sent_to_review_outright() -> None:
    # Given the same night where the firm counts a per diem excess as a signal, under a model that gives a lone
    # per diem signal a probability below the threshold its figures set for the target precision
    model = SignalModel(
        intercept=-2.0,
        offsets={"per_diem_lodging": 1.0},
        trained_on="test",
        trained_at=date(2026, 12, 7),
        training_lines=10,
        training_positives=5,
        held_back_lines=10,
        held_back_positives=5,
        curve=[CurvePoint(threshold=0.5, precision=0.9, recall=0.6, lines=4)],
    )
    violations = [check for check in DEFAULT_VIOLATIONS if check != "per_diem_lodging"]
    rows = [expense_row("EX-1", expense_type="lodging", amount=212.0, receipt_sha256="ab" * 32)]
    scored = score(expense_rows=rows, violations=violations, signal_model=model)
    # Then it scores the model's probability, sigmoid(-2 + 1), under the 0.5 threshold: not reviewed
    assert checks(scored, "EX-1") == {"per_diem_lodging"}
    assert scored["EX-1"].score == pytest.approx(1 / (1 + math.exp(1)), abs=1e-4)
    assert not scored["EX-1"].review and scored["EX-1"].features == (("per_diem_lodging", 1.0),)


def test_a_check_switched_off_is_not_run() -> None:
    rows = [expense_row("EX-1", expense_type="lodging", amount=212.0)]
    scored = score(expense_rows=rows, checks_off=["receipt_missing"])
    assert checks(scored, "EX-1") == {"per_diem_lodging"}


def test_every_line_comes_back_in_order_time_first_and_as_json() -> None:
    scored = score_rows([time_row("TE-1")], [expense_row("EX-1"), expense_row("EX-2", amount=1.5)])
    assert [(line.line_id, line.kind) for line in scored] == [
        ("TE-1", "time"),
        ("EX-1", "expense"),
        ("EX-2", "expense"),
    ]
    assert scored[0].to_json_dict() == {
        "line_id": "TE-1",
        "kind": "time",
        "score": 0.0,
        "review": False,
        "reasons": [],
        "features": {},
    }


def test_an_unreadable_row_scores_one_with_its_reason_and_the_rest_are_scored() -> None:
    # Given a row without an amount and one with negative hours among good rows
    scored = score(
        [time_row("TE-1"), time_row("TE-2", hours=-3)],
        [expense_row("EX-1"), {"id": "EX-2", "worker_id": "W-1"}],
    )
    # Then each bad row scores 1 and says what is wrong; the good rows are scored as usual
    assert scored["TE-2"].score == 1.0 and "hours -3 are outside 0 to 24" in text(
        scored, "TE-2", "invalid_line"
    )
    assert scored["EX-2"].score == 1.0 and "it has no amount" in text(scored, "EX-2", "invalid_line")
    assert scored["TE-1"].score == 0.0 and scored["EX-1"].score == 0.0


def test_json_shaped_rows_score_like_python_values() -> None:
    # Given the same duplicate pair with dates, timestamps and amounts as JSON text
    as_json = [
        expense_row("EX-1", expense_date="2026-10-06", amount="142.17"),
        expense_row("EX-2", expense_date="2026-10-06", amount=Decimal("142.17")),
    ]
    scored = score(expense_rows=as_json)
    assert checks(scored, "EX-2") >= {"duplicate_expense"}


def test_models_score_like_rows() -> None:
    # Given a duplicate expense as canonical models, with the OCR facts beside them
    rows = [
        expense_row("EX-1", amount=142.17, receipt_sha256=SHA_A, status="approved", project_id=None),
        expense_row("EX-2", amount=142.17, receipt_sha256=SHA_A, status="approved", project_id=None),
    ]
    models = [expense_entry_of(row) for row in rows]
    facts = {"EX-2": {"receipt_amount": 100.0}}
    # When they are scored as models / Then the result is that of the rows
    from_models = {line.line_id: line for line in score_lines([], models, line_facts=facts)}
    assert checks(from_models, "EX-2") == {
        "duplicate_expense",
        "duplicate_receipt",
        "receipt_amount_mismatch",
    }
    assert checks(from_models, "EX-1") == set()


# ------------------------------------------------------------------------------------------------------------
# TE1 duplicates
# ------------------------------------------------------------------------------------------------------------


def test_te1_a_second_identical_time_entry_is_the_duplicate_not_the_first() -> None:
    scored = score([time_row("TE-1", hours=4.0), time_row("TE-2", hours=4.0), time_row("TE-3", hours=3.0)])
    assert checks(scored, "TE-2") == {"duplicate_time"} and "TE-1" in text(scored, "TE-2", "duplicate_time")
    assert checks(scored, "TE-1") == set() and checks(scored, "TE-3") == set()


def test_te1_a_time_entry_already_recorded_last_period_is_a_duplicate_but_the_same_line_is_not() -> None:
    # Given last period's history holding TE-0
    history = AnomalyHistory.from_rows([time_row("TE-0")])
    # When another entry of the same work comes in / Then it duplicates TE-0
    assert "TE-0" in text(score([time_row("TE-1")], history=history), "TE-1", "duplicate_time")
    # When TE-0 itself is passed again / Then it is not its own duplicate
    assert checks(score([time_row("TE-0")], history=history), "TE-0") == set()


def test_te1_a_copy_rekeyed_without_a_start_time_or_under_another_task_is_still_the_same_work() -> None:
    # Given an entry with a start time and a description, and two copies of it: one keyed without the start
    # time, one under another task code and activity with the description typed again in lower case
    work = {"hours": 3.5, "description": "Drafted findings memo for audit committee"}
    rows = [
        time_row("TE-1", from_time=datetime(2026, 10, 6, 9, tzinfo=UTC), **work),
        time_row("TE-2", **work),
        time_row(
            "TE-3",
            task="T-77",
            activity_type="documentation",
            hours=3.5,
            description="drafted findings memo for the audit committee",
        ),
    ]
    # When they are scored
    scored = score(rows)
    # Then both copies duplicate the first: DOMAIN.md keys the same work on worker, date, project and hours
    assert "TE-1" in text(scored, "TE-2", "duplicate_time") and "TE-1" in text(
        scored, "TE-3", "duplicate_time"
    )
    assert text(scored, "TE-3", "duplicate_time").endswith("3.5 h, and a like description")
    assert checks(scored, "TE-1") == set()


def test_te1_two_entries_of_equal_hours_with_different_descriptions_are_two_pieces_of_work() -> None:
    # Given two entries of one worker, project, date and hours that say different things, and a history
    # holding a third of the same length that says something else again
    history = AnomalyHistory.from_rows(
        [time_row("TE-0", hours=4.0, description="Steering committee preparation")]
    )
    rows = [
        time_row("TE-1", hours=4.0, description="Facilitated process mapping session onsite"),
        time_row("TE-2", hours=4.0, description="Built cost driver model in spreadsheet"),
    ]
    # When they are scored
    scored = score(rows, history=history)
    # Then none is a duplicate: equal length is not the same work
    assert checks(scored, "TE-1") == checks(scored, "TE-2") == set()


def test_te1_the_same_expense_twice_is_a_duplicate_and_another_amount_is_not() -> None:
    rows = [
        expense_row(f"EX-{n}", amount=amount, receipt_sha256=f"{n:064x}")
        for n, amount in ((1, 92.17), (2, 92.17), (3, 92.18))
    ]
    scored = score(expense_rows=rows)
    assert checks(scored, "EX-2") == {"duplicate_expense"}
    assert "same worker, supplies, 2026-10-06 and USD 92.17" in text(scored, "EX-2", "duplicate_expense")
    assert checks(scored, "EX-1") == set() and checks(scored, "EX-3") == set()


def test_te1_one_receipt_on_two_claims_even_from_last_month() -> None:
    history = AnomalyHistory.from_rows(
        expense_rows=[expense_row("EX-0", receipt_sha256=SHA_A, expense_date=date(2026, 9, 2))]
    )
    scored = score(
        expense_rows=[
            expense_row("EX-1", receipt_sha256=SHA_A, amount=55.0),
            expense_row("EX-2", receipt_sha256=SHA_B, merchant="Other"),
        ],
        history=history,
    )
    assert text(scored, "EX-1", "duplicate_receipt") == "TE1 the receipt of expense EX-0 is attached again"
    assert checks(scored, "EX-2") == set()


def test_te1_the_same_merchant_charge_claimed_by_two_people() -> None:
    dinner = {
        "merchant": "Legal Sea Foods",
        "amount": 148.5,
        "expense_type": "client_entertainment",
        "attendees": 3,
    }
    scored = score(
        expense_rows=[expense_row("EX-1", **dinner), expense_row("EX-2", worker_id="W-2", **dinner)],
        checks_off=["receipt_missing"],
    )
    assert "also claimed by W-1 in expense EX-1" in text(scored, "EX-2", "duplicate_merchant_charge")
    assert checks(scored, "EX-1") == set()


def test_te1_colleagues_on_one_trip_share_a_hotel_rate_but_not_a_dinner() -> None:
    # Given three colleagues on one trip (one trip id) at one hotel on the same night at the negotiated rate,
    # one of them claiming the team's dinner the other also claims, and a stranger to the trip at the hotel
    night = {"merchant": "Hilton Omaha", "amount": 104.0, "expense_type": "lodging", "trip_id": "TRIP-9"}
    dinner = {"merchant": "Omaha Grill", "amount": 148.5, "expense_type": "client_entertainment"}
    rows = [
        expense_row("EX-1", receipt_sha256=SHA_A, **night),
        expense_row("EX-2", worker_id="W-2", receipt_sha256=SHA_B, **night),
        expense_row("EX-3", worker_id="W-3", receipt_sha256="c" * 64, **night),
        expense_row("EX-4", worker_id="W-4", receipt_sha256="d" * 64, **night | {"trip_id": None}),
        expense_row("EX-5", attendees=3, trip_id="TRIP-9", **dinner),
        expense_row("EX-6", worker_id="W-2", attendees=3, trip_id="TRIP-9", **dinner),
    ]
    # When they are scored
    scored = score(expense_rows=rows, checks_off=["receipt_missing", "round_amount"])
    # Then the travellers' equal folios are no duplicate charges; the stranger's and the second dinner are
    assert checks(scored, "EX-2") == checks(scored, "EX-3") == set()
    assert checks(scored, "EX-4") == {"duplicate_merchant_charge"}
    assert checks(scored, "EX-6") == {"duplicate_merchant_charge"}


def test_a_trip_id_and_approved_overtime_come_from_the_canonical_models() -> None:
    # Given a PSA's time entry on approved overtime past the daily limit, and two colleagues' hotel nights
    # on one trip, as canonical models
    long_day = time_row("TE-1", hours=13.0, overtime_approved=True) | MODEL_TIME_FIELDS
    night = {
        "merchant": "Hilton Omaha",
        "amount": 104.0,
        "expense_type": "lodging",
        "trip_id": "TRIP-9",
        "project_id": "P-1",
        "status": "approved",
    }
    nights = [
        expense_entry_of(expense_row("EX-1", receipt_sha256=SHA_A, **night)),
        expense_entry_of(expense_row("EX-2", worker_id="W-2", receipt_sha256=SHA_B, **night)),
    ]
    # When they are scored as models
    scored = {line.line_id: line for line in score_lines([time_entry_of(long_day)], nights)}
    # Then the facts reach the rules: no long day, no duplicate charge
    assert nights[1].trip_id == "TRIP-9"
    assert scored["TE-1"].checks == frozenset() and scored["EX-2"].checks == frozenset()


def test_te1_small_flat_charges_at_one_merchant_are_ordinary() -> None:
    parking = {"merchant": "Garage 5", "amount": 20.0, "expense_type": "parking"}
    scored = score(
        expense_rows=[expense_row("EX-1", **parking), expense_row("EX-2", worker_id="W-2", **parking)]
    )
    assert checks(scored, "EX-2") == set()


# ------------------------------------------------------------------------------------------------------------
# TE2 split transactions
# ------------------------------------------------------------------------------------------------------------


def test_te2_purchases_under_the_limit_that_add_up_over_it_are_a_split_bill() -> None:
    rows = [
        expense_row("EX-1", amount=40.0),
        expense_row("EX-2", amount=39.5),
        expense_row("EX-3", merchant="Other"),
    ]
    scored = score(expense_rows=rows)
    assert checks(scored, "EX-1") == checks(scored, "EX-2") == {"split_transaction"}
    assert "2 purchases at Staples Boston each under USD 75.00 add up to USD 79.50 on one day" in text(
        scored, "EX-1", "split_transaction"
    )
    assert checks(scored, "EX-3") == set()


def test_te2_purchases_that_stay_under_the_limit_or_are_rides_are_not_split() -> None:
    under = [expense_row("EX-1", amount=30.0), expense_row("EX-2", amount=31.0)]
    rides = [
        expense_row(f"EX-{n}", expense_type="taxi", merchant="Yellow Cab", amount=45.0 + n) for n in (3, 4)
    ]
    scored = score(expense_rows=[*under, *rides])
    assert all(line.score == 0 for line in scored.values())


def test_te2_the_window_can_span_days() -> None:
    rows = [
        expense_row("EX-1", amount=40.0),
        expense_row("EX-2", amount=40.0, expense_date=TUESDAY + timedelta(days=2)),
    ]
    assert checks(score(expense_rows=rows), "EX-2") == set()
    assert checks(score(expense_rows=rows, split_window_days=2), "EX-2") == {"split_transaction"}


# ------------------------------------------------------------------------------------------------------------
# TE3 round amounts
# ------------------------------------------------------------------------------------------------------------


def test_te3_whole_hundreds_are_flagged_and_cents_are_not() -> None:
    rows = [
        expense_row("EX-1", amount=300.0, receipt_sha256=SHA_A),
        expense_row("EX-2", amount=300.01, receipt_sha256=SHA_B),
    ]
    scored = score(expense_rows=rows)
    assert text(scored, "EX-1", "round_amount") == "TE3 round amount USD 300.00 (supplies)"
    assert checks(scored, "EX-2") == set()


def test_te3_round_amounts_on_a_type_sold_at_round_prices_are_normal() -> None:
    # Given a history where a third of conference fees are round (list prices) and airfares never are
    fees = [
        expense_row(
            f"H-{n}",
            worker_id=f"W-{n % 7}",
            expense_type=kind,
            amount=amount,
            receipt_sha256=f"{n:064x}",
            expense_date=date(2026, 9, 1) + timedelta(days=n % 28),
        )
        for n, (kind, amount) in enumerate(
            [("conference", 500.0 if k % 3 == 0 else 437.19 + k) for k in range(30)]
            + [("airfare", 341.27 + k) for k in range(30)]
        )
    ]
    history = AnomalyHistory.from_rows(expense_rows=fees)
    rows = [
        expense_row("EX-1", expense_type="conference", amount=1200.0, receipt_sha256=SHA_A),
        expense_row("EX-2", expense_type="airfare", amount=400.0, receipt_sha256=SHA_B),
    ]
    # When a round conference fee and a round airfare are judged against that history
    policy = AnomalyPolicy()
    flags = Flags(len(rows), policy)
    flag_round_amounts(expense_columns(rows, "USD", {}), policy, flags, history.round_endings)
    # Then the fee is a price, the airfare an estimate, with a strength above 1 (round airfares are rare)
    assert 0 not in flags.reasons
    assert [reason.check for reason in flags.reasons[1]] == ["round_amount"]
    assert flags.signals[1]["round_amount"] == pytest.approx(2.0)
    # And without a history, the batch's own lines of the type teach the same
    scored = score(expense_rows=[*fees, *rows], checks_off=["duplicate_merchant_charge"])
    assert checks(scored, "EX-1") == set() and checks(scored, "EX-2") == {"round_amount"}


def test_te3_a_worker_whose_amounts_keep_ending_in_0_or_5() -> None:
    # Given a history of ordinary purchases (supplies are not sold at round prices), a worker whose ten
    # purchases all end in 0 or 5 and one whose purchases have cents
    history = AnomalyHistory.from_rows(
        expense_rows=[
            expense_row(
                f"H-{n}", worker_id="W-3", amount=12.37 + n, expense_date=date(2026, 9, 1) + timedelta(days=n)
            )
            for n in range(25)
        ]
    )
    habit = [
        expense_row(f"EX-{n}", amount=float(15 + 5 * n), expense_date=TUESDAY + timedelta(days=n))
        for n in range(10)
    ]
    honest = [
        expense_row(
            f"EX-1{n}", worker_id="W-2", amount=15.37 + 5 * n, expense_date=TUESDAY + timedelta(days=n)
        )
        for n in range(10)
    ]
    # When they are scored
    scored = score(
        expense_rows=[*habit, *honest], history=history, checks_off=["split_transaction", "receipt_missing"]
    )
    # Then every whole amount of the first is flagged, with the share over the policy's as its strength
    assert checks(scored, "EX-3") == {"round_endings"}
    assert dict(scored["EX-3"].features)["round_endings"] == pytest.approx(2.0)
    assert "10 of W-1's 10 amounts are whole and end in 0 or 5" in text(scored, "EX-3", "round_endings")
    assert all(checks(scored, f"EX-1{n}") == set() for n in range(10))


# ------------------------------------------------------------------------------------------------------------
# TE4 receipts
# ------------------------------------------------------------------------------------------------------------


def test_te4_lodging_always_needs_a_receipt_and_other_items_from_75() -> None:
    rows = [
        expense_row("EX-1", expense_type="lodging", amount=89.0),
        expense_row("EX-2", amount=75.0),
        expense_row("EX-3", amount=74.99, merchant="Other"),
    ]
    scored = score(expense_rows=rows)
    assert (
        text(scored, "EX-1", "receipt_missing")
        == "TE4 receipt missing for lodging USD 89.00 (always required)"
    )
    assert "required at USD 75.00" in text(scored, "EX-2", "receipt_missing")
    assert checks(scored, "EX-3") == set()


def test_te4_the_receipt_must_show_the_amount_claimed() -> None:
    rows = [
        expense_row("EX-1", amount=120.0, receipt_sha256=SHA_A, receipt_amount=95.0),
        expense_row("EX-2", amount=95.0, receipt_sha256=SHA_B, receipt_amount=95.0, merchant="Other"),
    ]
    scored = score(expense_rows=rows)
    assert (
        text(scored, "EX-1", "receipt_amount_mismatch")
        == "TE4 claimed USD 120.00 but the receipt shows USD 95.00"
    )
    assert checks(scored, "EX-2") == set()


def test_te4_a_receipt_dated_more_than_two_days_away() -> None:
    rows = [
        expense_row("EX-1", receipt_sha256=SHA_A, receipt_date=TUESDAY - timedelta(days=5)),
        expense_row("EX-2", receipt_sha256=SHA_B, receipt_date=TUESDAY - timedelta(days=2), amount=12.5),
    ]
    scored = score(expense_rows=rows)
    assert "5 days from the claim date 2026-10-06" in text(scored, "EX-1", "receipt_date_mismatch")
    assert checks(scored, "EX-2") == set()


def test_te4_a_tip_above_a_quarter_of_the_bill() -> None:
    rows = [
        expense_row("EX-1", expense_type="meals", amount=65.0, tip_amount=15.0),  # 30 % of 50
        expense_row("EX-2", expense_type="meals", amount=60.0, tip_amount=10.0, worker_id="W-2"),  # 20 %
    ]
    scored = score(expense_rows=rows, checks_off=["per_diem_meals"])
    assert text(scored, "EX-1", "tip_above_limit") == "TE4 tip USD 15.00 is 30% of the bill (limit 25%)"
    assert checks(scored, "EX-2") == set()


# ------------------------------------------------------------------------------------------------------------
# TE5 per diem, TE6 per attendee
# ------------------------------------------------------------------------------------------------------------


def test_te5_lodging_above_the_gsa_standard_rate_unless_the_city_has_its_own() -> None:
    night = {"expense_type": "lodging", "amount": 212.0, "receipt_sha256": SHA_A}
    scored = score(expense_rows=[expense_row("EX-1", **night)])
    assert (
        text(scored, "EX-1", "per_diem_lodging")
        == "TE5 lodging USD 212.00 a night in Boston is above the per diem USD 110.00"
    )
    scored = score(expense_rows=[expense_row("EX-1", **night)], lodging_per_night_by_city={"Boston": 250})
    assert checks(scored, "EX-1") == set()
    two_nights = score(expense_rows=[expense_row("EX-1", **night, nights=2)])
    assert checks(two_nights, "EX-1") == set()


def test_te5_a_days_own_meals_above_the_mie_rate() -> None:
    meals = [
        expense_row("EX-1", expense_type="meals", amount=30.0, merchant="Cafe"),
        expense_row("EX-2", expense_type="meals", amount=45.0, merchant="Bistro"),
        expense_row("EX-3", expense_type="meals", amount=50.0, worker_id="W-2", merchant="Grill"),
        expense_row("EX-4", expense_type="meals", amount=250.0, attendees=5, merchant="Steakhouse"),
    ]
    scored = score(expense_rows=meals, checks_off=["receipt_missing"])
    assert checks(scored, "EX-1") == checks(scored, "EX-2") == {"per_diem_meals"}
    assert "W-1's own meals on 2026-10-06 total USD 75.00, above the M&IE per diem USD 68.00" in text(
        scored, "EX-1", "per_diem_meals"
    )
    assert checks(scored, "EX-3") == set() and checks(scored, "EX-4") == set()  # within; a meal with guests


def test_te6_amount_per_attendee_above_the_limit_for_the_type() -> None:
    dinner = {"expense_type": "client_entertainment", "receipt_sha256": SHA_A}
    rows = [
        expense_row("EX-1", amount=812.4, attendees=4, **dinner),
        expense_row(
            "EX-2", amount=412.4, attendees=4, merchant="Other", **dinner | {"receipt_sha256": SHA_B}
        ),
    ]
    scored = score(expense_rows=rows)
    assert "is USD 203.10 a head (limit USD 150.00)" in text(scored, "EX-1", "per_attendee")
    assert checks(scored, "EX-2") == set()


# ------------------------------------------------------------------------------------------------------------
# TE7 hours
# ------------------------------------------------------------------------------------------------------------


def test_te7_more_than_twelve_hours_in_a_day_flags_the_day() -> None:
    scored = score(
        [
            time_row("TE-1"),
            time_row("TE-2", hours=5.0, project_id="P-2"),
            time_row("TE-3", worker_id="W-2", hours=12.0),
        ]
    )
    assert checks(scored, "TE-1") == checks(scored, "TE-2") == {"daily_hours"}
    assert text(scored, "TE-1", "daily_hours") == "TE7 13 h recorded by W-1 on Tue 2026-10-06 (limit 12 h)"
    assert checks(scored, "TE-3") == set()


def test_te7_weekends_and_public_holidays() -> None:
    scored = score(
        [
            time_row("TE-1", work_date=date(2026, 10, 10)),  # Saturday
            time_row("TE-2", work_date=date(2026, 11, 26)),  # Thanksgiving
            time_row("TE-3"),
        ]
    )
    assert text(scored, "TE-1", "weekend_or_holiday") == "TE7 time on a weekend: Saturday 2026-10-10"
    assert "Thanksgiving Day" in text(scored, "TE-2", "weekend_or_holiday")
    assert checks(scored, "TE-3") == set()


def test_te7_approved_overtime_is_neither_a_long_day_nor_weekend_work() -> None:
    # Given a long day and a Saturday on overtime approved in the PSA, and the same without the approval
    saturday = date(2026, 10, 10)
    rows = [
        time_row("TE-1", hours=13.0, overtime_approved=True),
        time_row("TE-2", worker_id="W-2", hours=13.0),
        time_row("TE-3", work_date=saturday, hours=6.0, overtime_approved=True),
        time_row("TE-4", worker_id="W-2", work_date=saturday, hours=6.0),
    ]
    # When they are scored
    scored = score(rows)
    # Then only the unapproved ones are flagged; the weekend signal's strength is the hours over a half day
    assert checks(scored, "TE-1") == checks(scored, "TE-3") == set()
    assert checks(scored, "TE-2") == {"daily_hours"} and checks(scored, "TE-4") == {"weekend_or_holiday"}
    assert scored["TE-4"].features == (("weekend_or_holiday", 1.5),)


def test_us_federal_holidays_follow_the_observance_rule() -> None:
    holidays_2026 = us_federal_holidays(2026)
    assert holidays_2026[date(2026, 7, 3)] == "Independence Day (observed)"  # 4 July is a Saturday
    assert holidays_2026[date(2026, 11, 26)] == "Thanksgiving Day"
    assert holidays_2026[date(2026, 1, 19)] == "Birthday of Martin Luther King, Jr."
    assert holidays_2026[date(2026, 5, 25)] == "Memorial Day"
    assert holidays_2026[date(2026, 6, 19)] == "Juneteenth National Independence Day"
    assert (
        us_federal_holidays(2027)[date(2027, 12, 31)] == "New Year's Day (observed)"
    )  # 2028-01-01 is a Saturday
    assert date(2026, 10, 6) not in holidays_2026


def test_te7_identical_hours_every_day_for_weeks() -> None:
    days = [date(2026, 10, 1) + timedelta(days=n) for n in range(40)]
    weekdays = [day for day in days if day.weekday() < 5 and day not in us_federal_holidays(2026)][:16]
    copied = [time_row(f"TE-{n}", work_date=day) for n, day in enumerate(weekdays)]
    varied = [
        time_row(f"TE-V{n}", worker_id="W-2", work_date=day, hours=7.5 + (n % 3) * 0.5)
        for n, day in enumerate(weekdays)
    ]
    scored = score([*copied, *varied])
    assert checks(scored, "TE-0") == {"identical_hours"}
    assert "exactly 8 h every day for 16 worked days" in text(scored, "TE-0", "identical_hours")
    assert all(checks(scored, f"TE-V{n}") == set() for n in range(16))


def test_te7_fixed_hours_the_workers_history_shows_are_not_a_copied_timesheet() -> None:
    # Given a part-timer whose past days are all 4 h, and a colleague whose past days vary; both record
    # exactly 4 h for sixteen days
    past_days = [date(2026, 7, 1) + timedelta(days=n) for n in range(60)]
    past_days = [day for day in past_days if day.weekday() < 5][:30]
    history = AnomalyHistory.from_rows(
        [time_row(f"H-1-{n}", work_date=day, hours=4.0) for n, day in enumerate(past_days)]
        + [
            time_row(f"H-2-{n}", worker_id="W-2", work_date=day, hours=7.0 + (n % 4) * 0.5)
            for n, day in enumerate(past_days)
        ]
    )
    days = [date(2026, 10, 1) + timedelta(days=n) for n in range(40)]
    weekdays = [day for day in days if day.weekday() < 5 and day not in us_federal_holidays(2026)][:16]
    rows = [
        time_row(f"TE-{worker}-{n}", worker_id=worker, work_date=day, hours=4.0)
        for worker in ("W-1", "W-2")
        for n, day in enumerate(weekdays)
    ]
    # When they are scored
    scored = score(rows, history=history)
    # Then the part-timer works fixed hours; the colleague's run is flagged, its length over 15 the strength
    assert checks(scored, "TE-W-1-0") == set()
    assert checks(scored, "TE-W-2-0") == {"identical_hours"}
    assert dict(scored["TE-W-2-0"].features)["identical_hours"] == pytest.approx(16 / 15)


def test_te7_time_entered_weeks_after_the_work() -> None:
    late = datetime(2026, 10, 26, 9, tzinfo=UTC)
    scored = score(
        [
            time_row("TE-1", submitted_at=late),
            time_row("TE-2", worker_id="W-2", submitted_at=datetime(2026, 10, 16, tzinfo=UTC)),
        ]
    )
    assert (
        text(scored, "TE-1", "late_entry")
        == "TE7 submitted 20 days after the work date 2026-10-06 (policy: within 14)"
    )
    assert scored["TE-1"].features == (("late_entry", pytest.approx(20 / 14)),)
    assert checks(scored, "TE-2") == set()


# ------------------------------------------------------------------------------------------------------------
# TE8 Benford
# ------------------------------------------------------------------------------------------------------------


def benford_amounts(n: int) -> list[float]:
    # Evenly spaced quantiles of a log-uniform amount over two decades: first digits follow the law.
    return [round(10 ** (1 + 2 * (k + 0.5) / n), 2) for k in range(n)]


def test_benford_mad_and_nigrini_conformity() -> None:
    counts = [0] + [round(1000 * p) for p in FIRST_DIGIT_P[1:]]
    assert benford_mad(counts) < 0.001 and conformity(benford_mad(counts)) == "close"
    uniform = [0] + [100] * 9
    assert (
        benford_mad(uniform) == pytest.approx(0.0597, abs=1e-4)
        and conformity(benford_mad(uniform)) == "nonconformity"
    )


def test_te8_a_worker_whose_amounts_do_not_follow_benford() -> None:
    # Given 300 amounts each from an honest and an inventing worker (first digits evenly 1 to 9)
    honest = [
        expense_row(f"EX-H{k}", worker_id="W-1", amount=a, merchant=f"M{k}")
        for k, a in enumerate(benford_amounts(300))
    ]
    invented = [
        expense_row(f"EX-I{k}", worker_id="W-2", amount=float(10 * (1 + k % 9)) + 0.37, merchant=f"M{k}")
        for k in range(300)
    ]
    policy: dict[str, Any] = {"benford_min_lines": 300, "checks_off": ["receipt_missing", "round_amount"]}
    scored = score(expense_rows=[*honest, *invented], **policy)
    assert "W-2's 300 amounts depart from Benford's law (nonconformity)" in text(scored, "EX-I0", "benford")
    assert all("benford" not in checks(scored, f"EX-H{k}") for k in range(300))
    # And with fewer amounts than the minimum the test is not run
    scored = score(expense_rows=invented, **policy | {"benford_min_lines": 301})
    assert all("benford" not in line.checks for line in scored.values())


def test_te8_runs_only_on_sets_with_the_volume_and_says_so() -> None:
    # Given a worker's 300 invented amounts at 300 merchants, under the default minimum of 1,000 amounts
    invented = [
        expense_row(f"EX-I{k}", worker_id="W-2", amount=float(10 * (1 + k % 9)) + 0.37, merchant=f"M{k}")
        for k in range(300)
    ]
    policy = AnomalyPolicy(checks_off=["receipt_missing", "round_amount"])
    columns = expense_columns(invented, "USD", {})
    # When TE8's coverage is stated and the lines scored
    sentence = benford_coverage(columns, policy, {}, {})
    scored = score(expense_rows=invented, checks_off=["receipt_missing", "round_amount"])
    # Then it was not run, and says why: the largest set and the volume needed
    assert sentence == "TE8 not run: largest set 300 amounts (worker W-2), 1,000 needed"
    assert all("benford" not in line.checks for line in scored.values())
    # And at 300 amounts the worker's set is tested (merchant sets hold one amount each), strength MAD/cut-off
    lowered = policy.model_copy(update={"benford_min_lines": 300})
    assert (
        benford_coverage(columns, lowered, {}, {})
        == "TE8 run on 1 of 1 worker sets with at least 300 amounts"
    )
    scored = score(
        expense_rows=invented, benford_min_lines=300, checks_off=["receipt_missing", "round_amount"]
    )
    assert dict(scored["EX-I0"].features)["benford"] == pytest.approx(0.0582 / 0.015, abs=0.01)


def test_te8_the_firms_pool_is_tested_where_the_policy_allows_and_reported_not_put_on_lines() -> None:
    # Given 300 amounts that follow Benford's law, spread over 30 workers of 10 amounts each
    honest = [
        expense_row(f"EX-{k}", worker_id=f"W-{k % 30}", amount=amount, merchant=f"M{k}")
        for k, amount in enumerate(benford_amounts(300))
    ]
    policy = AnomalyPolicy(benford_min_lines=300, benford_sets=["worker", "firm"])
    # When TE8's coverage is stated / Then only the firm's pool reached the volume, and it conforms
    sentence = benford_coverage(expense_columns(honest, "USD", {}), policy, {}, {})
    assert sentence.startswith("TE8 run on the firm's pool of 300 amounts (close to Benford's law, MAD 0.00")
    assert sentence.endswith("with at least 300 amounts")


# ------------------------------------------------------------------------------------------------------------
# TE9 consecutive receipts, TE10 claim integrity
# ------------------------------------------------------------------------------------------------------------


def test_te9_consecutively_numbered_receipts_weeks_apart() -> None:
    pad = [
        expense_row(
            f"EX-{n}",
            merchant="Yellow Cab",
            expense_type="taxi",
            receipt_sha256=f"{n:064x}",
            receipt_number=f"00{4510 + n}",
            expense_date=TUESDAY + timedelta(days=7 * n),
        )
        for n in range(3)
    ]
    shop = [
        expense_row(
            f"EX-S{n}",
            worker_id="W-2",
            merchant="Blue Cab",
            expense_type="taxi",
            receipt_sha256=f"{n + 10:064x}",
            receipt_number=str(88_000 + 7 * n),
            expense_date=TUESDAY + timedelta(days=7 * n),
        )
        for n in range(3)
    ]
    scored = score(expense_rows=[*pad, *shop])
    assert (
        "receipts 4510 to 4512 of Yellow Cab are consecutively numbered but dated 2026-10-06 to 2026-10-20"
        in text(scored, "EX-1", "consecutive_receipts")
    )
    assert all(checks(scored, f"EX-S{n}") == set() for n in range(3))


def test_te10_sanctioned_above_claimed_and_an_advance_above_sanctioned() -> None:
    rows = [
        expense_row("EX-1", sanctioned_amount=50.0),
        expense_row("EX-2", amount=40.5, sanctioned_amount=40.0, advance_amount=45.0, merchant="Other"),
        expense_row("EX-3", amount=12.0, sanctioned_amount=12.0, advance_amount=12.0),
    ]
    scored = score(expense_rows=rows)
    assert (
        text(scored, "EX-1", "sanctioned_above_claimed")
        == "TE10 sanctioned USD 50.00 is more than the USD 42.17 claimed"
    )
    assert (
        text(scored, "EX-2", "advance_above_sanctioned")
        == "TE10 advance USD 45.00 is more than the USD 40.00 sanctioned"
    )
    assert checks(scored, "EX-3") == set()


# ------------------------------------------------------------------------------------------------------------
# TE11 robust outliers
# ------------------------------------------------------------------------------------------------------------


def taxi_history(worker: str, n: int = 30) -> list[dict[str, Any]]:
    return [
        expense_row(
            f"H-{worker}-{k}",
            worker_id=worker,
            expense_type="taxi",
            merchant=f"Cab {k}",
            amount=round(18 + 8 * math.sin(k), 2),
            expense_date=date(2026, 9, 1) + timedelta(days=k),
        )
        for k in range(n)
    ]


def test_te11_a_claim_far_above_the_workers_own_history() -> None:
    history = AnomalyHistory.from_rows(expense_rows=taxi_history("W-1"))
    rows = [
        expense_row("EX-1", expense_type="taxi", amount=182.4, merchant="Cab X", receipt_sha256=SHA_A),
        expense_row("EX-2", expense_type="taxi", amount=35.0, merchant="Cab Y"),
    ]
    scored = score(expense_rows=rows, history=history)
    reason = text(scored, "EX-1", "amount_outlier")
    assert reason.startswith("TE11 taxi USD 182.40 is ") and "W-1's median taxi claim" in reason
    assert checks(scored, "EX-2") == set()


def test_te11_the_period_being_scored_is_not_in_its_own_baseline() -> None:
    # Given a worker's taxi history, and a month with three inflated rides among ten ordinary ones
    history = AnomalyHistory.from_rows(expense_rows=taxi_history("W-1", 14))
    month = [
        expense_row(
            f"EX-{k}",
            expense_type="taxi",
            merchant=f"Cab {k}",
            amount=190.0 + k if k < 3 else round(18 + 8 * math.sin(k + 40), 2),
            receipt_sha256=f"{k:064x}",
            expense_date=TUESDAY + timedelta(days=k),
        )
        for k in range(13)
    ]
    # When the month is scored
    scored = score(expense_rows=month, history=history, checks_off=["duplicate_merchant_charge"])
    # Then every spike is found against the past 14 rides (in the month's own median they would hide each
    # other), with the robust z over the threshold as the strength
    assert all(checks(scored, f"EX-{k}") == {"amount_outlier"} for k in range(3))
    assert "over 14 claims" in text(scored, "EX-0", "amount_outlier")
    assert dict(scored["EX-0"].features)["amount_outlier"] > 1.0
    assert all(checks(scored, f"EX-{k}") == set() for k in range(3, 13))
    # And without a history there is no baseline at all
    alone = score(expense_rows=month, checks_off=["duplicate_merchant_charge"])
    assert all("amount_outlier" not in line.checks for line in alone.values())


def test_te11_a_spike_the_workers_history_explains_is_not_an_outlier() -> None:
    # Given a worker who renews a licence at about 480 every month among 20 small software purchases
    small = [
        expense_row(
            f"H-{k}",
            expense_type="software",
            merchant="Apps",
            amount=round(55 + 9 * math.sin(k), 2),
            expense_date=date(2026, 3, 1) + timedelta(days=7 * k),
        )
        for k in range(20)
    ]
    renewals = [
        expense_row(
            f"H-R{k}",
            expense_type="software",
            merchant="Adobe",
            amount=479.88,
            receipt_sha256=f"{k:064x}",
            expense_date=date(2026, 3, 2) + timedelta(days=30 * k),
        )
        for k in range(6)
    ]
    history = AnomalyHistory.from_rows(expense_rows=[*small, *renewals])
    rows = [
        expense_row("EX-1", expense_type="software", merchant="Adobe", amount=479.88, receipt_sha256=SHA_A),
        expense_row("EX-2", expense_type="software", merchant="Apps", amount=960.12, receipt_sha256=SHA_B),
    ]
    # When this month's renewal and a claim twice its size are scored
    scored = score(expense_rows=rows, history=history, checks_off=["duplicate_merchant_charge"])
    # Then the renewal is what the worker always claims; the larger one is an outlier
    assert checks(scored, "EX-1") == set()
    assert checks(scored, "EX-2") == {"amount_outlier"}


def test_te11_a_day_far_above_the_workers_own_days_unless_approved_or_usual_at_month_end() -> None:
    # Given three workers' past days of 7.5 to 8.5 h; the third worked 11.5 h on the last day of each month
    past = [date(2026, 4, 1) + timedelta(days=n) for n in range(150)]
    past = [day for day in past if day.weekday() < 5]
    month_ends = {max(day for day in past if day.month == month) for month in range(4, 9)}
    history = AnomalyHistory.from_rows(
        [
            time_row(
                f"H-{worker}-{n}",
                worker_id=worker,
                work_date=day,
                hours=11.5 if worker == "W-3" and day in month_ends else 7.5 + (n % 3) * 0.5,
            )
            for worker in ("W-1", "W-2", "W-3")
            for n, day in enumerate(past)
        ]
    )
    # When each records 11.5 h on one day, the second on approved overtime
    rows = [
        time_row("TE-1", hours=11.5),
        time_row("TE-2", worker_id="W-2", hours=11.5, overtime_approved=True),
        time_row("TE-3", worker_id="W-3", hours=11.5),
        time_row("TE-4", worker_id="W-1", hours=8.0, work_date=TUESDAY + timedelta(days=1)),
    ]
    scored = score(rows, history=history)
    # Then only the first is far above the usual; the third's history explains it; an ordinary day is quiet
    assert checks(scored, "TE-1") == {"hours_outlier"}
    assert text(scored, "TE-1", "hours_outlier").startswith(
        "TE11 11.5 h recorded by W-1 on Tue 2026-10-06: 3.5 h above the worker's median day (8 h over"
    )
    assert dict(scored["TE-1"].features)["hours_outlier"] > 1.0
    assert checks(scored, "TE-2") == checks(scored, "TE-3") == checks(scored, "TE-4") == set()


def test_te11_a_claim_far_above_the_peer_group() -> None:
    # Given consultants in Boston whose taxis cost about 20, and a newcomer with no history of her own
    peers = [row for worker in ("W-2", "W-3") for row in taxi_history(worker, 15)]
    history = AnomalyHistory.from_rows(
        expense_rows=peers, worker_roles={"W-2": "consultant", "W-3": "consultant"}
    )
    rows = [
        expense_row(
            "EX-1", worker_id="W-9", expense_type="taxi", amount=240.0, merchant="Cab X", receipt_sha256=SHA_A
        )
    ]
    scored = score_rows([], rows, history, worker_roles={"W-9": "consultant"})
    [line] = scored
    assert "the median of peers (consultant, taxi, Boston" in line.reasons[0].text


def test_te11_types_under_a_cap_are_left_to_the_cap() -> None:
    history = AnomalyHistory.from_rows(
        expense_rows=[
            row | {"expense_type": "lodging", "receipt_sha256": f"{k:064x}"}
            for k, row in enumerate(taxi_history("W-1"))
        ]
    )
    rows = [expense_row("EX-1", expense_type="lodging", amount=105.0, receipt_sha256=SHA_A)]
    assert checks(score(expense_rows=rows, history=history), "EX-1") == set()


def test_time_rows_from_models_keep_their_timestamps() -> None:
    row = (
        time_row("TE-1")
        | MODEL_TIME_FIELDS
        | {
            "submitted_at": datetime(2026, 11, 30, tzinfo=UTC),
        }
    )
    [line] = score_lines([time_entry_of(row)])
    assert line.checks == {"late_entry"}
