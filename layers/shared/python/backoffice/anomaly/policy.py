"""What a firm configures about time and expense review: thresholds, limits, and which checks are policy.

Every threshold of DOMAIN.md section 3 marked *(policy)* lives here with its documented default, so a firm
changes a limit in configuration (``AnomalyPolicy.from_json_dict``), never in code. Money thresholds are in
``policy.currency`` (USD by default: the receipt threshold and the GSA per diem are US rules); a line in
another currency is held to them only when ``fx_rates`` converts it, otherwise the absolute-amount checks
skip it rather than compare dollars with yen.

Two kinds of finding:
- a **policy violation** (a missing receipt where one is required, a meal over per diem, hours over the daily
  limit, a duplicate, ...) is a fact: the line always goes to review, with the policy clause, and scores 1;
- a **statistical signal** (round amounts, Benford, far above the usual, late entry, identical hours, ...) is a
  prompt to look: the signals of a line are scored together by a fitted model (``signal_model``), whose
  probability that a reviewer finds a real problem sends the line to review at or above the threshold that
  reaches the policy's ``target_precision``.
Which check is which is configuration (``violations``); ``checks_off`` switches checks off (not computed).
"""

from __future__ import annotations

from datetime import date
from typing import Literal, NamedTuple

from pydantic import ConfigDict, Field, field_validator

from backoffice.anomaly.signal_model import SignalModel
from backoffice.models.envelope import JsonModel

FindingKind = Literal["violation", "signal"]
BenfordSet = Literal["worker", "merchant", "firm"]
DEFAULT_BENFORD_SETS: tuple[BenfordSet, ...] = ("worker", "merchant")


class Check(NamedTuple):
    """One anomaly check: the DOMAIN rule it implements, its kind by default and what a reviewer reads."""

    rule: str
    kind: FindingKind
    meaning: str


# The check name is also the label the generator puts on an injected anomaly, so quality is measured per check.
CHECKS: dict[str, Check] = {
    "duplicate_time": Check(
        "TE1", "violation", "the same work entered twice: worker, date, project, hours, a like description"
    ),
    "duplicate_expense": Check(
        "TE1", "violation", "same worker, expense type, date, amount and currency twice"
    ),
    "duplicate_receipt": Check("TE1", "violation", "the same receipt file (SHA-256) on two claims"),
    "duplicate_merchant_charge": Check("TE1", "signal", "same merchant, date and amount claimed by another"),
    "split_transaction": Check(
        "TE2", "violation", "purchases at one merchant each under the limit, together over"
    ),
    "round_amount": Check("TE3", "signal", "an amount in whole hundreds"),
    "round_endings": Check("TE3", "signal", "a worker's amounts repeatedly whole and ending in 0 or 5"),
    "receipt_missing": Check(
        "TE4", "violation", "no receipt for lodging or for an item at or above the limit"
    ),
    "receipt_amount_mismatch": Check("TE4", "violation", "the receipt shows another amount than the claim"),
    "receipt_date_mismatch": Check("TE4", "violation", "the receipt is dated days away from the claim"),
    "tip_above_limit": Check("TE4", "violation", "a tip above the allowed share of the bill"),
    "per_diem_lodging": Check("TE5", "violation", "lodging above the per diem lodging rate for the city"),
    "per_diem_meals": Check("TE5", "violation", "a day's own meals above the M&IE rate for the city"),
    "per_attendee": Check("TE6", "violation", "amount per attendee above the limit for the expense type"),
    "daily_hours": Check("TE7", "violation", "more hours in a day than the limit"),
    "weekend_or_holiday": Check("TE7", "signal", "time on a weekend or a public holiday"),
    "identical_hours": Check("TE7", "signal", "identical daily hours for weeks on end"),
    "late_entry": Check("TE7", "signal", "time entered long after the work date"),
    "benford": Check("TE8", "signal", "a worker's or merchant's amounts depart from Benford's law"),
    "consecutive_receipts": Check(
        "TE9", "signal", "consecutively numbered receipts of one merchant over weeks"
    ),
    "sanctioned_above_claimed": Check("TE10", "violation", "more sanctioned than claimed"),
    "advance_above_sanctioned": Check("TE10", "violation", "an advance larger than the sanctioned amount"),
    "amount_outlier": Check("TE11", "signal", "far above the worker's own history or the peer group"),
    "hours_outlier": Check("TE11", "signal", "a day's hours far above the worker's own history"),
}

DEFAULT_VIOLATIONS: tuple[str, ...] = tuple(
    name for name, check in CHECKS.items() if check.kind == "violation"
)
SIGNALS: tuple[str, ...] = tuple(name for name, check in CHECKS.items() if check.kind == "signal")


class AnomalyPolicy(JsonModel):
    """Thresholds of the time and expense checks, which are violations, and the signal model; defaults from
    DOMAIN.md section 3.

    Load a firm's policy with ``AnomalyPolicy.from_json_dict(data)``; keys left out keep their defaults.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    currency: str = Field(default="USD", min_length=3, max_length=3)
    # Units of ``currency`` per unit of another currency, for the absolute-amount checks only.
    fx_rates: dict[str, float] = Field(default_factory=dict)

    # TE1: flat fares and parking make small equal amounts at one merchant common, so only larger ones count.
    merchant_match_min_amount: float = Field(default=30.0, ge=0)
    # TE1: two time entries of one worker, date, project and hours are the same work when their descriptions
    # share at least this share of their words (Jaccard); an entry without a description matches any.
    duplicate_description_similarity: float = Field(default=0.5, ge=0, le=1)
    # TE1: what colleagues on one trip (one ``trip_id``) share and so pay alike: not duplicate charges.
    team_trip_types: list[str] = Field(default_factory=lambda: ["lodging", "airfare"])

    # TE2: purchases below this limit need no receipt, which is what splitting a bill tries to exploit.
    split_limit: float = Field(default=75.0, gt=0)
    split_window_days: int = Field(default=0, ge=0)  # 0: the same day
    # Two rides with one cab company, or two parking tickets, are two purchases, not one bill split.
    split_skip_types: list[str] = Field(default_factory=lambda: ["taxi", "parking"])

    # TE3
    round_amount_modulus: float = Field(default=100.0, gt=0)
    round_endings_min_lines: int = Field(default=10, ge=2)
    round_endings_share: float = Field(default=0.5, gt=0, le=1)
    # An expense type whose history holds at least this share of round amounts (whole hundreds, or whole and
    # ending in 0 or 5) is one where round prices are normal (conference fees, software seats, parking
    # rates): its round amounts are not flagged, nor counted in a worker's round endings. Judged on at least
    # ``round_history_min_lines`` past lines of the type.
    round_normal_share: float = Field(default=0.2, gt=0, le=1)
    round_history_min_lines: int = Field(default=20, ge=1)

    # TE4: 26 CFR 1.274-5(c)(2)(iii): documentary evidence for lodging, and for any other item of $75 or more.
    receipt_required_at: float = Field(default=75.0, ge=0)
    receipt_always_types: list[str] = Field(default_factory=lambda: ["lodging"])
    receipt_amount_tolerance: float = Field(default=0.01, ge=0)
    receipt_date_tolerance_days: int = Field(default=2, ge=0)
    tip_max_share: float = Field(default=0.25, ge=0)  # of the bill before the tip

    # TE5: GSA Bulletin FTR 26-01, FY2026 CONUS standard rates; non-standard areas go in the per-city maps.
    lodging_types: list[str] = Field(default_factory=lambda: ["lodging"])
    lodging_per_night: float = Field(default=110.0, gt=0)
    lodging_per_night_by_city: dict[str, float] = Field(default_factory=dict)
    meal_types: list[str] = Field(default_factory=lambda: ["meals"])
    mie_per_day: float = Field(default=68.0, gt=0)
    mie_per_day_by_city: dict[str, float] = Field(default_factory=dict)

    # TE6: a meal with guests is judged per head; a meal alone falls under the M&IE per diem instead.
    per_attendee_limits: dict[str, float] = Field(
        default_factory=lambda: {"meals": 75.0, "client_entertainment": 150.0}
    )

    # TE7
    max_daily_hours: float = Field(default=12.0, gt=0, le=24)
    flag_weekends: bool = True
    holiday_calendar: Literal["us_federal", "none"] = "us_federal"
    extra_holidays: dict[date, str] = Field(default_factory=dict)  # the firm's own closing days
    identical_hours_min_days: int = Field(default=15, ge=2)  # three working weeks
    late_entry_days: int = Field(default=14, ge=0)

    # TE8: Nigrini (2012) mean absolute deviation cut-offs; the test means little on fewer than ~1,000 amounts.
    benford_test: Literal["first_digit", "first_two_digits"] = "first_digit"
    benford_min_lines: int = Field(default=1000, ge=50)
    benford_min_amount: float = Field(default=10.0, ge=0)  # Nigrini leaves out amounts below 10
    benford_mad_limit: float | None = None  # None: the nonconformity cut-off of the chosen test
    # What a set's digits are compared with. "benford": log10(1 + 1/d). "firm_profile": the digits the
    # firm's own claims of the same expense types show, mixed in the set's proportions of types; for a firm
    # whose amounts do not follow Benford as a whole (per diem caps and flat fares bound them: Nigrini's
    # conditions for the law do not hold), where comparing with the law would flag everyone.
    benford_reference: Literal["benford", "firm_profile"] = "benford"
    # Nigrini: the law does not hold for amounts with a built-in maximum, so types under a per diem or per
    # attendee cap are left out of the digit counts.
    benford_skip_capped_types: bool = True
    # The sets TE8 tests, each once it holds ``benford_min_lines`` amounts (history included): each worker's,
    # each merchant's (the amounts of every worker at it), and the firm's as one pool (a finding about the
    # firm's data, reported by ``benford_coverage``, not a reason on a line).
    benford_sets: list[BenfordSet] = Field(default_factory=lambda: list(DEFAULT_BENFORD_SETS))

    # TE9
    consecutive_receipts_min: int = Field(default=3, ge=2)
    consecutive_receipts_min_span_days: int = Field(default=7, ge=1)

    # TE11: Iglewicz and Hoaglin's modified z-score, on log amounts (expense amounts are multiplicative).
    robust_z_threshold: float = Field(default=3.5, gt=0)
    own_history_min_lines: int = Field(default=12, ge=3)
    peer_group_min_lines: int = Field(default=20, ge=3)
    # A reviewer looks for claims several times the usual, not a 50 % price rise in a tight group.
    outlier_min_ratio: float = Field(default=3.0, ge=1)
    # A type already held to a per diem or per attendee limit is judged by that limit, not by its peers.
    outliers_skip_capped_types: bool = True
    # A spike the worker's own history explains is not an outlier: at least this share of the worker's past
    # values (claims of the type, or days) reached it (a yearly licence renewal, a month-end close).
    outlier_explained_share: float = Field(default=0.03, ge=0, le=1)
    # TE11 hours: a day's total against the worker's past days (at least ``hours_history_min_days`` of them),
    # and at least ``hours_outlier_min_extra`` hours above the worker's median day.
    hours_history_min_days: int = Field(default=20, ge=3)
    hours_outlier_min_extra: float = Field(default=2.0, ge=0)
    # TE7: a worker whose past days have the run's daily total on at least this share of them works fixed
    # hours (a part-time contract): identical hours are the worker's pattern, not a copied timesheet.
    identical_hours_habit_share: float = Field(default=0.6, gt=0, le=1)

    # Which checks are policy violations (always reviewed); every other check is a signal the model scores.
    violations: list[str] = Field(default_factory=lambda: list(DEFAULT_VIOLATIONS))
    # Checks the firm does not run at all.
    checks_off: list[str] = Field(default_factory=list)
    # The share of signal-only lines sent to review that a reviewer should find a real problem in: the review
    # threshold is the lowest the model's held-back figures show reaching it (most found at that precision).
    target_precision: float = Field(default=0.9, gt=0, lt=1)
    # The fitted signal model; None: the one shipped with the package (fitted on the labelled generator).
    signal_model: SignalModel | None = None

    @field_validator("currency")
    @classmethod
    def _upper_currency(cls, value: str) -> str:
        return value.upper()

    @field_validator("violations", "checks_off")
    @classmethod
    def _known_checks(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(CHECKS))
        if unknown:
            raise ValueError(f"unknown checks: {', '.join(unknown)}; known: {', '.join(CHECKS)}")
        return value

    def is_on(self, *checks: str) -> bool:
        """True when any of the checks runs: a rule whose checks are all off is not computed."""
        return any(check not in self.checks_off for check in checks)

    def is_violation(self, check: str) -> bool:
        return check in self.violations

    def model(self) -> SignalModel:
        """The signal model this policy scores with: its own, or the one shipped with the package."""
        return self.signal_model if self.signal_model is not None else SignalModel.shipped()

    def capped_types(self) -> set[str]:
        """Expense types held to a per diem or per attendee limit."""
        return {*self.lodging_types, *self.meal_types, *self.per_attendee_limits}

    def benford_cutoff(self) -> float:
        if self.benford_mad_limit is not None:
            return self.benford_mad_limit
        return 0.015 if self.benford_test == "first_digit" else 0.0022
