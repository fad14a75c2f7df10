"""The onboarding steps, unchanged, through the wiring and the real adapters against the sample firm's fake systems.

(The state machines' end-to-end run against the fakes is wired separately; this shows the domain steps need no
change to run on Salesforce, Certinia, NetSuite and a REST HRIS.)
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from backoffice.connectors import wiring
from backoffice.connectors.http import CallRecord, call_context
from backoffice.local.samples import Deal, existing_client, new_client
from backoffice.models import OpportunityClosedWon
from backoffice.onboarding.steps import (
    create_project,
    fetch_statement_of_work,
    match_or_create_customer,
    read_statement_of_work,
    request_staffing,
)
from tests.contract.conftest import MemoryUploader
from tests.contract.fakes.firm import SampleFirmSystems, sample_firm_systems


@pytest.fixture
def systems(monkeypatch: pytest.MonkeyPatch) -> Iterator[SampleFirmSystems]:
    with sample_firm_systems() as found:
        for name, value in found.environment.items():
            monkeypatch.setenv(name, value)
        wiring.configure(found.document, found.secrets)
        yield found
    wiring.configure()


def _deal_event(deal: Deal) -> OpportunityClosedWon:
    return OpportunityClosedWon.model_validate(
        {
            "opportunity": wiring.crm().get_opportunity(deal.opportunity_id),
            "client": deal.client,
            "service_line": deal.service_line,
        }
    )


def test_a_won_deal_for_a_new_client_is_onboarded_in_the_firms_real_systems(
    systems: SampleFirmSystems, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a won deal in Salesforce, with its SOW attached, for a client NetSuite does not know
    deal = Deal(index=11, client=new_client(11), billing_model="fixed_fee", service_line="advisory")
    systems.salesforce.seed_deal(deal)
    documents = MemoryUploader()
    monkeypatch.setattr(wiring._DocumentsBucket, "upload", lambda self, **kw: documents.upload(**kw))
    calls: list[CallRecord] = []

    with call_context(correlation_id=f"onboard-{deal.opportunity_id}", recorder=calls.append):
        # When each onboarding step runs with the ports the wiring gives it
        event = _deal_event(deal)
        sow = fetch_statement_of_work(event, wiring.crm())
        facts = read_statement_of_work(documents.files[sow.key])
        customer, _ = match_or_create_customer(event.client, wiring.erp())
        project = create_project(
            event, customer.customer_id, facts, wiring.psa(), wiring.psa().project_templates()
        )
        staffing = request_staffing(project.project_id, facts, wiring.psa(), wiring.hris())

    # Then the customer is in NetSuite, the project and its staffing requests in Certinia
    assert customer.decision == "created" and customer.customer_id in systems.netsuite.customers
    [record] = systems.salesforce.tables["pse__Proj__c"].values()
    assert record["Id"] == project.project_id and record["pse__Opportunity__c"] == deal.opportunity_id
    assert record["pse__Billing_Type__c"] == "Fixed Price"
    assert staffing["requests"] and len(systems.salesforce.tables["pse__Resource_Request__c"]) == len(
        staffing["requests"]
    )
    # And every outbound call carried the case id and was recorded
    assert {c.correlation_id for c in calls} == {f"onboard-{deal.opportunity_id}"}
    assert {c.system for c in calls} == {"salesforce", "netsuite", "peoplehr"}
    assert all(
        r.headers.get("X-Correlation-Id") == f"onboard-{deal.opportunity_id}" for r in systems.hris.requests
    )


def test_a_known_client_is_matched_to_its_netsuite_customer_on_every_run(
    systems: SampleFirmSystems,
) -> None:
    # Given a deal for Northwind, which NetSuite spells differently
    deal = Deal(index=12, client=existing_client("Northwind Logistics"), with_sow=False)
    systems.salesforce.seed_deal(deal)
    event = _deal_event(deal)

    # When customer matching runs twice (a retried execution)
    outcomes = [match_or_create_customer(event.client, wiring.erp())[0] for _ in range(2)]

    # Then both runs found the existing customer, and nothing was created
    assert {o.customer_id for o in outcomes} == {systems.netsuite_ids["CUST-0001"]}
    assert {o.decision for o in outcomes} == {"existing"}
    assert not systems.netsuite.requests_to("/record/v1/customer/eid:", "PUT")
