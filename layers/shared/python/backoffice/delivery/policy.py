"""What a firm configures about measuring delivery: its standard week, where its public holidays come from, which
activity types are leave, and the currency its management numbers are in.

Every field has a default that suits the sample firm (a US firm reporting in USD, a 40-hour week): a firm's
configuration document may leave the section ``delivery_policy`` out, or set only what differs. Load it with
``DeliveryPolicy.from_json_dict`` (keys left out keep their defaults).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Self

from pydantic import ConfigDict, Field, field_validator, model_validator

from backoffice.models.entities import CurrencyCode
from backoffice.models.envelope import JsonModel

CENT = Decimal("0.01")


class CurrencyWithoutRate(ValueError):
    """An amount in a currency the policy has no rate to the base currency for."""


class DeliveryPolicy(JsonModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # The week a full-time person is contracted for; a worker's own ``weekly_hours`` (part-time) wins over it.
    standard_weekly_hours: Annotated[Decimal, Field(gt=0, le=80)] = Decimal(40)
    # Public holidays are not capacity: the ``holidays`` package's calendar of this country (ISO 3166-1 alpha-2)
    # and, where holidays differ by state or province, its subdivision (ISO 3166-2 code without the country,
    # e.g. "NY"); None: the country's national holidays only.
    holiday_country: Annotated[str, Field(min_length=2, max_length=3)] = "US"
    holiday_subdivision: str | None = None
    # Time booked on these activity types is leave (vacation, sickness): taken off capacity, neither billable nor
    # non-billable work. Compared without regard to case.
    leave_activity_types: tuple[str, ...] = ("leave", "vacation", "sick_leave", "parental_leave", "pto")
    # The reporting currency (the ERP's company currency): every ``*_base`` figure is in it.
    base_currency: CurrencyCode = "USD"
    # Per other currency, the rate that turns one unit of it into the base currency (the firm's reporting rates
    # for the month). An amount in a currency without one is left out of the base figures and listed by the job.
    rates_to_base: dict[CurrencyCode, Annotated[Decimal, Field(gt=0)]] = Field(default_factory=dict)

    @field_validator("holiday_country")
    @classmethod
    def _country_code(cls, value: str) -> str:
        return value.upper()

    @model_validator(mode="after")
    def _a_known_calendar(self) -> Self:
        """A country or subdivision the calendar does not know fails when the firm's document is validated (at
        synth), not on the 1st of the month."""
        import holidays

        try:
            holidays.country_holidays(self.holiday_country, subdiv=self.holiday_subdivision)
        except NotImplementedError as error:
            raise ValueError(f"no public holiday calendar: {error}") from None
        return self

    def is_leave(self, activity_type: str) -> bool:
        return activity_type.casefold() in {kind.casefold() for kind in self.leave_activity_types}

    def to_base(self, amount: Decimal, currency: str) -> Decimal:
        """``amount`` in the base currency, rounded half-up to cents; ``CurrencyWithoutRate`` when no rate."""
        if currency == self.base_currency:
            return amount.quantize(CENT, ROUND_HALF_UP)
        rate = self.rates_to_base.get(currency)
        if rate is None:
            raise CurrencyWithoutRate(
                f"no rate from {currency} to {self.base_currency} in the delivery policy"
            )
        return (amount * rate).quantize(CENT, ROUND_HALF_UP)


__all__ = ["CENT", "CurrencyWithoutRate", "DeliveryPolicy"]
