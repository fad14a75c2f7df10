"""The onboarding and vendor state machines, unchanged, on the firm's real kind of systems: Salesforce (CRM) with
Certinia (PSA), NetSuite (ERP) and a REST HRIS, each a local fake of the vendor's documented API reached through the real
adapters. The same ASL and handlers as the sandbox runs; only the connector configuration differs."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from backoffice.connectors import wiring
from backoffice.local.samples import Deal, new_client
from tests.contract.fakes.firm import SampleFirmSystems, sample_firm_systems
from tests.integration.conftest import Firm
from tests.integration.test_onboarding_workflow import salesforce_change_event


@pytest.fixture
def systems(firm: Firm, monkeypatch: pytest.MonkeyPatch) -> Iterator[SampleFirmSystems]:
    with sample_firm_systems() as found:
        for name, value in found.environment.items():
            monkeypatch.setenv(name, value)
        wiring.configure(found.document, found.secrets)
        yield found
    wiring.configure()


def test_a_salesforce_deal_onboards_into_netsuite_and_certinia_through_the_real_adapters(
    firm: Firm, systems: SampleFirmSystems
) -> None:
    # Given a won deal in Salesforce, its SOW attached, for a client NetSuite does not know
    deal = Deal(41, new_client(41))
    systems.salesforce.seed_deal(deal)
    # When Salesforce relays the change event to the bus
    firm.runtime.put_event(
        "OpportunityChangeEvent",
        salesforce_change_event(deal.opportunity_id, "Closed Won"),
        "aws.partner/salesforce.com/00Dxx0000001gPL/0YLxx0000004CfV",
    )
    # Then the same onboarding workflow completes against the firm's systems
    case_id = f"onboard-{deal.opportunity_id}"
    assert firm.settle(case_id).status == "SUCCEEDED"
    assert ("customer.created", "created") in firm.actions(case_id)
    assert len(systems.netsuite.customers) == 13  # the twelve of the sample firm and this one
    [project] = systems.salesforce.tables["pse__Proj__c"].values()
    assert project["pse__Opportunity__c"] == deal.opportunity_id
    assert systems.salesforce.tables["pse__Resource_Request__c"]
    # And every outbound call is on the case's trail with the execution as its correlation id
    calls = [r for r in firm.records(case_id) if r.action.startswith("connector.")]
    assert {r.data["system"] for r in calls} >= {"salesforce", "netsuite"}
    assert all(r.data["correlation_id"].endswith(f":{case_id}") for r in calls)


def test_a_vendor_request_is_checked_against_netsuite_and_the_hris_and_released_there(
    firm: Firm, systems: SampleFirmSystems
) -> None:
    from backoffice.cli.approvals import decide_via_http
    from backoffice.local.vendor_samples import blank_w9, put_vendor_request, scenarios

    form = blank_w9()
    if form is None:
        pytest.skip("the blank IRS W-9 (../shared/fixtures) is not here")
    # Given a clean vendor request (its documents in S3), with NetSuite as the ERP and the HRIS behind REST
    runtime = firm.runtime
    detail, _ = put_vendor_request(runtime.client("s3"), runtime.documents_bucket, scenarios()["clean"], form)
    event_id = runtime.put_event("Vendor Onboarding Requested", detail, source="procurement.portal")
    [case_id] = {d.case_id for d in runtime.router.deliveries if d.event_id == event_id}
    assert case_id is not None
    # When it reaches procurement, the vendor exists in NetSuite (held), and procurement approves
    assert firm.settle(case_id).current_state == "Ask for vendor approval"
    approver = "kofi.mensah@example-firm.com"
    assert decide_via_http(firm.link(approver, case_id), "approve", approver, "")[0] == 200
    # Then the vendor is released in NetSuite and the case is approved
    assert firm.finish(case_id).status == "SUCCEEDED"
    assert firm.outcome_event(case_id)["detail-type"] == "Vendor Approved"
    calls = [r for r in firm.records(case_id) if r.action.startswith("connector.")]
    assert {r.data["system"] for r in calls} >= {"netsuite"}
