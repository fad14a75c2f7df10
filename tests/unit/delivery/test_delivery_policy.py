"""The firm's delivery policy: its defaults, its section of the firm's configuration document, and what it refuses."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import ValidationError

from backoffice.delivery.policy import CurrencyWithoutRate, DeliveryPolicy
from backoffice.firm_config import FirmConfigInvalid, parse_firm_config

SAMPLE = Path(__file__).resolve().parents[3] / "config" / "sample-firm.json"


def test_the_defaults_suit_a_us_firm_reporting_in_usd() -> None:
    policy = DeliveryPolicy()
    assert (policy.standard_weekly_hours, policy.holiday_country, policy.base_currency) == (
        Decimal(40),
        "US",
        "USD",
    )
    assert policy.is_leave("Vacation") and policy.is_leave("PTO") and not policy.is_leave("consulting")


def test_amounts_turn_into_the_base_currency_half_up_to_cents() -> None:
    # Given a firm reporting in USD that turns EUR at 1.0835
    policy = DeliveryPolicy(rates_to_base={"EUR": Decimal("1.0835")})
    # Then EUR 10.00 is USD 10.84 (10.835 rounded half up), USD stays as it is, and GBP has no rate
    assert policy.to_base(Decimal("10.00"), "EUR") == Decimal("10.84")
    assert policy.to_base(Decimal("10.005"), "USD") == Decimal("10.01")
    with pytest.raises(CurrencyWithoutRate, match="GBP"):
        policy.to_base(Decimal(1), "GBP")


def test_the_firm_document_may_set_the_section_or_leave_it_out() -> None:
    # Given the sample firm's document, which leaves the section out
    document = json.loads(SAMPLE.read_text())
    assert parse_firm_config(document, "sample").delivery_policy is None
    # When a firm in New York with a 37.5-hour week sets it
    document["delivery_policy"] = {"holiday_subdivision": "NY", "standard_weekly_hours": 37.5}
    policy = parse_firm_config(document, "firm.json").delivery_policy
    # Then it is read with the rest defaulted
    assert policy is not None and policy.standard_weekly_hours == Decimal("37.5")
    assert policy.holiday_subdivision == "NY" and policy.base_currency == "USD"


def test_a_calendar_the_holidays_package_does_not_know_fails_at_validation() -> None:
    with pytest.raises(ValidationError, match="does not have subdivision ZZ"):
        DeliveryPolicy(holiday_subdivision="ZZ")
    document = json.loads(SAMPLE.read_text())
    document["delivery_policy"] = {"holiday_country": "XX"}
    with pytest.raises(FirmConfigInvalid, match="delivery_policy"):
        parse_firm_config(document, "firm.json")
