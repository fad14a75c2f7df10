"""Resource onboarding's PSA port (``ResourcePsaPort``) through the real adapters against the fakes of the vendors'
APIs: Certinia (a Contact as the resource, its work calendar, practice, manager and skill ratings; the first
assignment a ``pse__Assignment__c`` keyed by the request) and the generic REST PSA. Each: the standard card read, a
new hire created and a rehire updated (never a second resource), a waiting request assigned to exactly one of many
hires racing for it."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar

import pytest

from backoffice.connectors.http import external_id
from backoffice.connectors.ports import ConnectorError, ConnectorRateLimited, PsaResource
from backoffice.connectors.salesforce_psa import CertiniaPsa
from backoffice.onboarding.sample_firm import standard_rate_card
from tests.contract.fakes.rest_fake import RestFake
from tests.contract.fakes.salesforce_fake import SalesforceFake
from tests.contract.test_generic_rest_adapter import connector
from tests.contract.test_salesforce_adapter import api_for

T = TypeVar("T")
START = date(2027, 1, 11)


def resource(worker_id: str = "W-101", **changes: Any) -> PsaResource:
    values: dict[str, Any] = {
        "worker_id": worker_id,
        "name": "Nadia Brooks",
        "email": "nadia.brooks@meridian-advisory.example",
        "employment": "employee",
        "role": "engineer",
        "practice": "technology",
        "cost_rate": Decimal(85),
        "bill_rate": Decimal(190),
        "currency": "USD",
        "start_date": START,
        "weekly_hours": Decimal(40),
        "manager_worker_id": "W-010",
        "skills": ("aws", "python", "cobol"),
        **changes,
    }
    return PsaResource(**values)


def at_once(calls: list[Callable[[], T]]) -> list[T]:
    """Each call on its own thread, released together."""
    barrier = threading.Barrier(len(calls))
    answers: list[Any] = [None] * len(calls)

    def run(index: int, call: Callable[[], T]) -> None:
        barrier.wait()
        answers[index] = call()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return answers


# ------------------------------------------------------------------------------------------------------------
# Certinia
# ------------------------------------------------------------------------------------------------------------


def seed_certinia(fake: SalesforceFake) -> dict[str, str]:
    """The org's standard rate cards, the technology practice, two of the HRIS's skills and the manager W-010 as a
    resource (onboarded by the product before: keyed as the adapter keys it); returns their ids."""
    for line in standard_rate_card("USD").lines:
        fake.put(
            "pse__Rate_Card__c",
            {
                "pse__Role__c": line.role,
                "pse__Account__c": None,
                "pse__Suggested_Bill_Rate__c": float(line.billing_rate),
                "pse__Average_Cost_Rate__c": float(line.costing_rate),
                "pse__Start_Date__c": "2026-01-01",
                "CurrencyIsoCode": "USD",
            },
        )
    return {
        "practice": fake.put("pse__Practice__c", {"Name": "technology"}),
        "aws": fake.put("pse__Skill__c", {"Name": "aws"}),
        "python": fake.put("pse__Skill__c", {"Name": "python"}),
        "manager": fake.put(
            "Contact",
            {"LastName": "Wagner", "FirstName": "Ruth", "Backoffice_Key__c": external_id("resource:W-010")},
        ),
    }


def test_certinia_reads_the_standard_card_per_role(salesforce_fake: SalesforceFake) -> None:
    seed_certinia(salesforce_fake)
    card = CertiniaPsa(api_for(salesforce_fake)).standard_rate_card("USD")
    assert card is not None and card.client_id is None
    rates = {line.role: line.billing_rate for line in card.lines}
    assert rates["engineer"] == Decimal(190) and rates["senior_consultant"] == Decimal(225)
    assert CertiniaPsa(api_for(salesforce_fake)).standard_rate_card("EUR") is None


def test_certinia_reads_the_card_in_force_on_the_start_date(salesforce_fake: SalesforceFake) -> None:
    # Given the 2026 cards, and a raise for engineers from 2027-03-01 (the 2026 engineer card ending the day before)
    seed_certinia(salesforce_fake)
    for record in salesforce_fake.tables["pse__Rate_Card__c"].values():
        if record["pse__Role__c"] == "engineer":
            record["pse__End_Date__c"] = "2027-02-28"
    salesforce_fake.put(
        "pse__Rate_Card__c",
        {"pse__Role__c": "engineer", "pse__Account__c": None, "pse__Suggested_Bill_Rate__c": 210.0,
         "pse__Average_Cost_Rate__c": 100.0, "pse__Start_Date__c": "2027-03-01", "CurrencyIsoCode": "USD"},
    )  # fmt: skip
    psa = CertiniaPsa(api_for(salesforce_fake))

    def engineer(as_of: date | None) -> Decimal:
        card = psa.standard_rate_card("USD", as_of=as_of)
        assert card is not None
        return next(line.billing_rate for line in card.lines if line.role == "engineer")

    # Then a hire starting in January is rated on the 2026 card, one starting in March on the raise
    assert engineer(date(2027, 1, 11)) == Decimal(190)
    assert engineer(date(2027, 3, 15)) == Decimal(210)
    assert engineer(None) == Decimal(210)


def test_certinia_creates_the_resource_once_and_a_rehire_updates_it(salesforce_fake: SalesforceFake) -> None:
    # Given the org's practice, skills and the manager's resource
    ids = seed_certinia(salesforce_fake)
    psa = CertiniaPsa(api_for(salesforce_fake))

    # When the hire is set up, then set up again on a rehire (part time, a new start)
    first = psa.save_resource(resource())
    again = psa.save_resource(resource(start_date=date(2027, 6, 1), weekly_hours=Decimal(24)))

    # Then one Contact is the resource, created then updated, with the HRIS's facts and the manager linked
    assert first.created and not again.created and first.id == again.id
    contacts = [c for c in salesforce_fake.tables["Contact"].values() if c.get("pse__Is_Resource__c")]
    assert len(contacts) == 1
    contact = contacts[0]
    assert (contact["FirstName"], contact["LastName"], contact["pse__Resource_Role__c"]) == (
        "Nadia",
        "Brooks",
        "engineer",
    )
    # (the adapters send amounts as JSON strings, which Salesforce reads into number and currency fields)
    assert contact["pse__Default_Cost_Rate__c"] == "85" and contact["Backoffice_Bill_Rate__c"] == "190"
    assert contact["pse__Start_Date__c"] == "2027-06-01" and contact["pse__Practice__c"] == ids["practice"]
    assert contact["ReportsToId"] == ids["manager"] and first.manager_resource_id == ids["manager"]
    # And the availability is a work calendar of the weekly hours, reused by name
    calendar = salesforce_fake.tables["pse__Work_Calendar__c"][contact["pse__Work_Calendar__c"]]
    assert calendar["Name"] == "24 hours a week" and calendar["pse__Monday_Hours__c"] == "4.80"
    assert calendar["pse__Saturday_Hours__c"] == 0
    # And the skills the org knows are rated once each; the one it does not know is reported, not invented
    ratings = salesforce_fake.tables["pse__Skill_Certification_Rating__c"].values()
    assert sorted(r["pse__Skill_Certification__c"] for r in ratings) == sorted([ids["aws"], ids["python"]])
    assert first.unknown_skills == ("cobol",)


def test_certinias_work_calendar_of_forty_hours_is_named_as_people_write_it(
    salesforce_fake: SalesforceFake,
) -> None:
    # Given a full-time hire (40 hours: Decimal.normalize would print 4E+1)
    seed_certinia(salesforce_fake)
    psa = CertiniaPsa(api_for(salesforce_fake))
    # When the resource is set up
    saved = psa.save_resource(resource(weekly_hours=Decimal("40.0")))
    # Then its work calendar reads "40 hours a week"
    contact = salesforce_fake.tables["Contact"][saved.id]
    calendar = salesforce_fake.tables["pse__Work_Calendar__c"][contact["pse__Work_Calendar__c"]]
    assert calendar["Name"] == "40 hours a week" and calendar["pse__Monday_Hours__c"] == "8.00"


def test_certinia_reports_a_practice_it_does_not_know_and_leaves_the_field_as_it_was(
    salesforce_fake: SalesforceFake,
) -> None:
    # Given the org's technology practice, and the worker set up in it
    ids = seed_certinia(salesforce_fake)
    psa = CertiniaPsa(api_for(salesforce_fake))
    first = psa.save_resource(resource())
    assert first.unknown_practice is None
    # When a rehire names a practice the org does not have
    again = psa.save_resource(resource(practice="quantum", start_date=date(2027, 6, 1)))
    # Then it is reported, and the resource keeps its practice (not blanked silently)
    assert again.unknown_practice == "quantum"
    assert salesforce_fake.tables["Contact"][first.id]["pse__Practice__c"] == ids["practice"]


def test_certinia_assigns_a_waiting_request_to_one_of_many_hires_at_once(
    salesforce_fake: SalesforceFake,
) -> None:
    # Given a request for an engineer, ready to staff, and eight new engineers' resources
    seed_certinia(salesforce_fake)
    project = salesforce_fake.put("pse__Proj__c", {"Name": "Cloud migration"})
    request = salesforce_fake.put(
        "pse__Resource_Request__c",
        {
            "pse__Project__c": project,
            "pse__Resource_Role__c": "engineer",
            "pse__SOW_Hours__c": 320,
            "pse__Start_Date__c": "2027-01-18",
            "pse__End_Date__c": "2027-04-30",
            "pse__Status__c": "Ready to Staff",
        },
    )
    psa = CertiniaPsa(api_for(salesforce_fake))
    hires = [psa.save_resource(resource(f"W-2{n:02d}", skills=())).id for n in range(8)]
    [waiting] = psa.open_resource_requests("engineer")
    assert (waiting.id, waiting.project_id, waiting.start) == (request, project, date(2027, 1, 18))

    # When all eight are assigned to it at once
    won = at_once(
        [lambda r=r, n=n: psa.assign_resource_request(request, resource_id=r, worker_id=f"W-2{n:02d}",
                                                      bill_rate=Decimal(190))
         for n, r in enumerate(hires)]
    )  # fmt: skip

    # Then exactly one holds it: one assignment, the request marked assigned to that resource
    assert won.count(True) == 1
    winner = hires[won.index(True)]
    assignments = list(salesforce_fake.tables["pse__Assignment__c"].values())
    assert len(assignments) == 1 and assignments[0]["pse__Resource__c"] == winner
    marked = salesforce_fake.tables["pse__Resource_Request__c"][request]
    assert (marked["pse__Status__c"], marked["pse__Staffer_Resource__c"]) == ("Assigned", winner)
    # And the winner's retry is still theirs; the request is no longer open
    assert psa.assign_resource_request(request, resource_id=winner, worker_id="W-2xx")
    assert psa.open_resource_requests("engineer") == []


def test_certinias_assignment_is_staffed_on_the_requests_schedule_and_billed_at_the_resources_rate(
    salesforce_fake: SalesforceFake,
) -> None:
    # Given a request for an engineer, 320 hours from 2027-01-18 to 2027-04-30, and the new engineer's resource
    seed_certinia(salesforce_fake)
    project = salesforce_fake.put("pse__Proj__c", {"Name": "Cloud migration"})
    request = salesforce_fake.put(
        "pse__Resource_Request__c",
        {
            "pse__Project__c": project,
            "pse__Resource_Role__c": "engineer",
            "pse__SOW_Hours__c": 320,
            "pse__Start_Date__c": "2027-01-18",
            "pse__End_Date__c": "2027-04-30",
            "pse__Status__c": "Ready to Staff",
        },
    )
    psa = CertiniaPsa(api_for(salesforce_fake))
    hired = psa.save_resource(resource(skills=())).id
    # When it is assigned at the resource's bill rate (the org requires a schedule, a bill rate and billability)
    assert psa.assign_resource_request(request, resource_id=hired, worker_id="W-101", bill_rate=Decimal(190))
    # Then the assignment is on a schedule of the request's dates and hours, billable at 190
    [assignment] = salesforce_fake.tables["pse__Assignment__c"].values()
    schedule = salesforce_fake.tables["pse__Schedule__c"][assignment["pse__Schedule__c"]]
    assert (schedule["pse__Start_Date__c"], schedule["pse__End_Date__c"]) == ("2027-01-18", "2027-04-30")
    assert Decimal(str(schedule["pse__Scheduled_Hours__c"])) == 320
    assert Decimal(str(assignment["pse__Bill_Rate__c"])) == 190 and assignment["pse__Is_Billable__c"] is True
    # And a retry finds it the worker's, on the same single schedule
    assert psa.assign_resource_request(request, resource_id=hired, worker_id="W-101", bill_rate=Decimal(190))
    assert len(salesforce_fake.tables["pse__Schedule__c"]) == 1


# ------------------------------------------------------------------------------------------------------------
# Generic REST
# ------------------------------------------------------------------------------------------------------------


def test_the_generic_psa_reads_the_card_and_creates_then_updates_the_resource(rest_fake: RestFake) -> None:
    rest_fake.seed_standard_rate_card(standard_rate_card("USD"))
    psa = connector(rest_fake)
    card = psa.standard_rate_card("USD")
    assert card is not None and {line.role: line.billing_rate for line in card.lines}["engineer"] == 190
    assert psa.standard_rate_card("GBP") is None

    # Given the manager is a resource already
    manager = psa.save_resource(resource("W-010", name="Ruth Wagner", manager_worker_id=None, skills=()))
    # When the hire is set up, then rehired
    first = psa.save_resource(resource())
    again = psa.save_resource(resource(start_date=date(2027, 6, 1)))
    # Then one resource per worker, created then updated, with the manager linked
    assert first.created and not again.created and first.id == again.id == "res_W-101"
    assert first.manager_resource_id == manager.id
    stored = rest_fake.resources["W-101"]
    assert (stored["role"], stored["cost_rate"], stored["bill_rate"], stored["starts"]) == (
        "engineer",
        "85",
        "190",
        "2027-06-01",
    )
    assert stored["skills"] == ["aws", "python", "cobol"] and stored["manager"] == "W-010"


def test_the_generic_psa_assigns_a_waiting_request_to_one_of_many_hires_at_once(rest_fake: RestFake) -> None:
    request = rest_fake.add_staffing_request("PRJ-7", "engineer", "2027-01-18", "2027-04-30")
    rest_fake.add_staffing_request("PRJ-8", "designer", "2027-01-18", "2027-04-30")
    psa = connector(rest_fake)
    [waiting] = psa.open_resource_requests("engineer")
    assert (waiting.id, waiting.project_id, waiting.hours) == (request, "PRJ-7", Decimal(160))

    won = at_once(
        [lambda n=n: psa.assign_resource_request(request, resource_id=f"res_W-2{n:02d}", worker_id=f"W-2{n:02d}")
         for n in range(8)]
    )  # fmt: skip

    assert won.count(True) == 1
    winner = f"res_W-2{won.index(True):02d}"
    assert rest_fake.staffing_requests[request]["assigned_to"] == winner
    assert psa.assign_resource_request(request, resource_id=winner, worker_id="W-2xx")
    assert psa.open_resource_requests("engineer") == []


def test_certinia_reports_a_rate_limit_and_a_refused_assignment_by_name(
    salesforce_fake: SalesforceFake,
) -> None:
    # Given the org's API limit used up: the set-up fails with the name the state machine retries
    psa = CertiniaPsa(api_for(salesforce_fake))
    salesforce_fake.inject(
        429,
        [{"message": "Too many requests", "errorCode": "REQUEST_LIMIT_EXCEEDED"}],
        headers={"Retry-After": "3"},
    )
    with pytest.raises(ConnectorRateLimited):
        psa.save_resource(resource())
    # And an assignment the org refuses for another reason than a duplicate is an error, not "someone else's"
    project = salesforce_fake.put("pse__Proj__c", {"Name": "Cloud migration"})
    request = salesforce_fake.put("pse__Resource_Request__c", {"pse__Project__c": project})
    salesforce_fake.inject(
        400,
        [{"message": "Resource is not active", "errorCode": "FIELD_CUSTOM_VALIDATION_EXCEPTION"}],
        path_prefix="/services/data/v62.0/sobjects/pse__Assignment__c",
        method="POST",
    )
    with pytest.raises(ConnectorError):
        psa.assign_resource_request(request, resource_id="003Dn0000000099AAA", worker_id="W-101")
    assert salesforce_fake.tables["pse__Assignment__c"] == {}
