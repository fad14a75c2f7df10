"""What a firm configures about chasing missing and late timesheets: its week, when a timesheet is due, how short
is short, when a reminder becomes an escalation, and who reads the practice summaries.

Every field has a default that suits the sample firm (a US firm, weeks from Monday to Sunday, timesheets due on
Monday at 09:00 New York time): a firm's configuration document may leave the section ``timesheet_reminders`` out
or set only what differs (``firm_settings.firm_policy("timesheet_reminders", ReminderPolicy)``). Hours, public
holidays and leave come from the delivery policy (``delivery.policy.DeliveryPolicy``): one calendar for the firm.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, tzinfo
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, field_validator

from backoffice.models.envelope import JsonModel

Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_ADDRESS = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
WEEKDAYS: tuple[Weekday, ...] = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def time_zone(name: str) -> tzinfo | None:
    """The IANA zone ``name``, or None when unknown. dateutil's, not ``zoneinfo``: the Lambda runtime may have no
    system zone files, and dateutil (the runtime's, under botocore) carries its own copy of the database."""
    from dateutil import tz

    return tz.gettz(name)


class ReminderPolicy(JsonModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # The firm's week: the day it starts, and the zone its days and the due time are read in.
    week_starts_on: Weekday = "monday"
    time_zone: str = "America/New_York"
    # A timesheet is due this many hours after the week ends (midnight after its last day, firm time): 9 is
    # Monday 09:00 for a Monday-to-Sunday week. The first run at or after it reminds.
    due_hours_after_week: Annotated[int, Field(ge=0, le=120)] = 9
    # A worker still missing (or short, with ``escalate_short``) this many working days (weekdays that are not
    # public holidays) after the due time is escalated to their manager. At most 4: the escalation falls before
    # the next week is due.
    escalate_after_working_days: Annotated[int, Field(ge=1, le=4)] = 2
    escalate_short: bool = True
    # Short: submitted below expected x (1 - tolerance).
    tolerance: Annotated[Decimal, Field(ge=0, lt=1)] = Decimal("0.1")
    # True: a worker with no PSA allocation overlapping the week is not expected to submit (firms whose bench
    # books no time); False: every active worker is.
    require_assignment: bool = False
    # Who reads each practice's summary: these addresses by practice; for a practice not named, the active
    # workers of the practice holding ``practice_lead_role`` in the HRIS; else the firm's notification recipients.
    practice_leads: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    practice_lead_role: str = "practice_lead"

    @field_validator("time_zone")
    @classmethod
    def _a_known_zone(cls, value: str) -> str:
        if time_zone(value) is None:
            raise ValueError(f"{value!r} is not a time zone (IANA name, e.g. Europe/Paris)")
        return value

    @field_validator("practice_leads")
    @classmethod
    def _addresses(cls, value: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        wrong = sorted(a for addresses in value.values() for a in addresses if not _ADDRESS.match(a))
        if wrong:
            raise ValueError(f"{', '.join(wrong)} is not an e-mail address")
        return value

    @property
    def zone(self) -> tzinfo:
        found = time_zone(self.time_zone)
        assert found is not None  # validated
        return found

    def week_start_of(self, day: date) -> date:
        """The first day of the firm's week holding ``day``."""
        return day - timedelta(days=(day.weekday() - WEEKDAYS.index(self.week_starts_on)) % 7)

    def is_week_start(self, day: date) -> bool:
        return self.week_start_of(day) == day

    def due_at(self, week_start: date) -> datetime:
        """When the week's timesheet is due, an aware datetime in the firm's zone."""
        after = week_start + timedelta(days=7)
        midnight = datetime(after.year, after.month, after.day, tzinfo=self.zone)
        return _wall_clock_plus(midnight, timedelta(hours=self.due_hours_after_week))


def _wall_clock_plus(moment: datetime, delta: timedelta) -> datetime:
    """``moment`` + ``delta`` on the wall clock (09:00 stays 09:00 across a daylight saving change)."""
    return (moment.replace(tzinfo=None) + delta).replace(tzinfo=moment.tzinfo)


__all__ = ["WEEKDAYS", "ReminderPolicy", "Weekday", "time_zone"]
