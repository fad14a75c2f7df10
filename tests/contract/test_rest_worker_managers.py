"""The generic REST HRIS maps who a person reports to and their employment dates (the missing-timesheet job
escalates to the manager, and expects no hours outside employment)."""

from __future__ import annotations

from datetime import date

from backoffice.local.timesheet_reminder_demo import with_managers
from backoffice.onboarding.sample_firm import sample_workers
from tests.contract.fakes.rest_fake import RestFake
from tests.contract.test_generic_rest_adapter import connector, everything


def test_managers_and_employment_dates_come_through_the_mapping(rest_fake: RestFake) -> None:
    # Given the sample firm's people with their managers, a new hire and a leaver
    people = with_managers(sample_workers())
    people[20] = people[20].model_copy(update={"start_date": date(2026, 11, 4)})
    people[32] = people[32].model_copy(update={"end_date": date(2026, 10, 30)})
    rest_fake.seed_workers(people)
    # When the HRIS port lists them
    workers = everything(connector(rest_fake).list_workers)
    # Then each has their manager and dates as the HRIS holds them (roles as the vendor's job codes)
    assert [(w.id, w.manager_id, w.start_date, w.end_date) for w in workers] == [
        (w.id, w.manager_id, w.start_date, w.end_date) for w in people
    ]
    assert workers[14].manager_id == "W-010" and workers[0].manager_id is None
