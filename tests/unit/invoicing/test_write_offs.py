"""Written-off lines on the settled review's record (issue #20, R6): margin leakage charged to the scorer's rules.

The sample: project P-1 (USD) of the October 2026 billing run has four lines under review. T-1 (8 h at 200.00,
USD 1,600.00) broke the daily-hours limit (TE7, a violation) and is an hours outlier (TE11, 2.5 past its threshold)
on a weekend (TE7 again, 1.2); T-2 (2 h, USD 400.00) is under review for an overlap only (a billing rule, not the
scorer's); E-1 is a EUR 100.00 claim sanctioned at 90.00 with no receipt (TE4) at a round amount (TE3); E-2 is a
GBP 50.00 claim. The firm reports in USD, turns EUR at 1.10 and has no GBP rate. In-memory S3 and PSA, no AWS.
"""

from __future__ import annotations

import io
import json
from datetime import date
from decimal import Decimal
from typing import Any

from backoffice.delivery.policy import DeliveryPolicy
from backoffice.invoicing.policy import BillingPolicy
from backoffice.invoicing.review import LineScore, ProjectReview, ReviewLine
from backoffice.invoicing.steps import BillingFiles, settle_review, strongest_rules
from backoffice.models import ExpenseEntry, Project, TimeEntry

RATES = DeliveryPolicy(rates_to_base={"EUR": Decimal("1.10")})


class MemoryS3:
    def __init__(self) -> None:
        self.objects: dict[tuple[str, str], bytes] = {}

    def put_object(self, *, Bucket: str, Key: str, Body: bytes, **_: Any) -> dict[str, Any]:
        self.objects[(Bucket, Key)] = Body
        return {}

    def get_object(self, *, Bucket: str, Key: str) -> dict[str, Any]:
        return {"Body": io.BytesIO(self.objects[(Bucket, Key)])}


class ReturningPsa:
    """The PSA's ``return_lines``, recorded."""

    def __init__(self) -> None:
        self.returned: list[dict[str, Any]] = []

    def return_lines(self, **call: Any) -> None:
        self.returned.append(call)


def _time(line_id: str, hours: int) -> TimeEntry:
    return TimeEntry.model_validate(
        {
            "id": line_id,
            "worker_id": "W-1",
            "project_id": "P-1",
            "activity_type": "consulting",
            "work_date": date(2026, 10, 10),
            "hours": Decimal(hours),
            "is_billable": True,
            "billing_hours": Decimal(hours),
            "billing_rate": Decimal(200),
            "billing_amount": Decimal(200 * hours),
            "costing_rate": Decimal(90),
            "currency": "USD",
            "status": "approved",
        }
    )


def _expense(line_id: str, currency: str, amount: str, sanctioned: str | None = None) -> ExpenseEntry:
    return ExpenseEntry.model_validate(
        {
            "id": line_id,
            "worker_id": "W-1",
            "project_id": "P-1",
            "expense_date": date(2026, 10, 12),
            "expense_type": "meals",
            "amount": Decimal(amount),
            "sanctioned_amount": Decimal(sanctioned) if sanctioned else None,
            "currency": currency,
            "is_billable": True,
            "status": "approved",
        }
    )


def billing_run_with_a_review() -> BillingFiles:
    files = BillingFiles(MemoryS3(), "documents", "billing-2026-10")
    project = Project(
        id="P-1",
        project_name="Engagement",
        client_id="C-1",
        billing_model="time_and_materials",
        currency="USD",
    )
    files.put(
        "period.json",
        {
            "period": {"start": "2026-10-01", "end": "2026-10-31"},
            "projects": {"P-1": project.to_json_dict()},
            "workers": [],
        },
    )
    lines = {
        "time": [
            _time("T-1", 8).to_json_dict(),
            _time("T-2", 2).to_json_dict(),
            _time("T-3", 4).to_json_dict(),
        ],
        "expenses": [
            _expense("E-1", "EUR", "100", "90").to_json_dict(),
            _expense("E-2", "GBP", "50").to_json_dict(),
        ],
        "unreadable": [],
    }
    files.put("projects/P-1/lines.json", lines)
    scores = {
        "T-1": LineScore(
            score=1.0,
            reasons=["TE7 ...", "TE11 ...", "TE7 weekend"],
            review=True,
            checks=["daily_hours", "hours_outlier", "weekend_or_holiday"],
            features={"hours_outlier": 2.5, "weekend_or_holiday": 1.2},
        ),
        "E-1": LineScore(
            score=1.0,
            reasons=["TE3 ...", "TE4 ..."],
            review=True,
            checks=["receipt_missing", "round_amount"],
            features={"round_amount": 1.0},
        ),
    }
    files.put("projects/P-1/scores.json", {"scores": {k: v.to_json_dict() for k, v in scores.items()}})
    review = ProjectReview(
        project_id="P-1",
        client_id="C-1",
        period_start=date(2026, 10, 1),
        period_end=date(2026, 10, 31),
        currency="USD",
        status="review",
        reasons=[],
        warnings=[],
        review_lines=[
            ReviewLine(
                line_id="T-1", kind="time", summary="T-1", amount=Decimal(1600), reasons=["TE7"], score=1.0
            ),
            ReviewLine(
                line_id="T-2", kind="time", summary="T-2", amount=Decimal(400), reasons=["BR4 overlap"]
            ),
            ReviewLine(
                line_id="E-1", kind="expense", summary="E-1", amount=Decimal(90), reasons=["TE4"], score=1.0
            ),
            ReviewLine(line_id="E-2", kind="expense", summary="E-2", amount=Decimal(50), reasons=["BR6"]),
        ],
        excluded=[],
        billable_time_entry_ids=["T-3"],
        billable_expense_ids=[],
        billable_milestone_ids=[],
        exceptions_by_rule={"TE7": 1, "TE4": 1, "BR4": 1},
        review_amount=Decimal(2140),
    )
    files.put("projects/P-1/review.json", review.to_json_dict())
    return files


def test_a_rejected_review_lists_each_written_off_line_with_its_rules_and_base_value() -> None:
    # Given a firm that writes off rejected time and expenses
    files, psa = billing_run_with_a_review(), ReturningPsa()
    policy = BillingPolicy(rejected_time_action="write_off", rejected_expense_action="write_off")
    # When the reviewer rejects P-1's exceptions
    settled = settle_review("P-1", "rejected", "not billable", files, psa, policy, to_base=RATES.to_base)  # type: ignore[arg-type]
    # Then every line under review is written off, each with the scorer's rules strongest first, its hours and
    # its value in USD: the violation before the signals, each rule once; [] for the overlap the scorer did not
    # flag; EUR 90.00 sanctioned x 1.10; the GBP claim without a value (no rate), left out of the total
    assert settled["written_off"] == ["T-1", "T-2", "E-1", "E-2"]
    assert settled["written_off_lines"] == [
        {
            "line_id": "T-1",
            "kind": "time",
            "rules": ["TE7", "TE11"],
            "hours": "8.00",
            "value_base": "1600.00",
        },
        {"line_id": "T-2", "kind": "time", "rules": [], "hours": "2.00", "value_base": "400.00"},
        {"line_id": "E-1", "kind": "expense", "rules": ["TE4", "TE3"], "hours": None, "value_base": "99.00"},
        {"line_id": "E-2", "kind": "expense", "rules": [], "hours": None, "value_base": None},
    ]
    assert settled["written_off_base"] == "2099.00"
    assert json.loads(json.dumps(settled))  # what the handler records is plain JSON


def test_time_sent_back_to_the_worker_is_not_written_off() -> None:
    # Given the default policy: rejected time goes back to be corrected, rejected expenses are written off
    files, psa = billing_run_with_a_review(), ReturningPsa()
    # When the reviewer rejects
    settled = settle_review("P-1", "rejected", None, files, psa, BillingPolicy(), to_base=RATES.to_base)  # type: ignore[arg-type]
    # Then only the expenses are leakage
    assert [line["line_id"] for line in settled["written_off_lines"]] == ["E-1", "E-2"]
    assert settled["written_off_base"] == "99.00" and settled["sent_back"] == ["T-1", "T-2"]


def test_an_approved_review_writes_nothing_off() -> None:
    files, psa = billing_run_with_a_review(), ReturningPsa()
    settled = settle_review("P-1", "approved", None, files, psa, BillingPolicy())  # type: ignore[arg-type]
    assert settled["written_off_lines"] == [] and settled["written_off_base"] == "0.00"


def test_a_line_the_scorer_did_not_flag_has_no_rules() -> None:
    assert strongest_rules(None) == []
