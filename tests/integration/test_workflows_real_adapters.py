"""The real adapters' own trace on a case: every outbound call to the firm's systems is audited on the case's trail.

The onboarding and vendor scenarios themselves run on the real adapters against the fakes as the ``[fakes]``
cases of ``test_onboarding_workflow.py`` and ``test_vendor_workflow.py``; what only the real adapters have is HTTP
calls, and this checks those are on the trail with the execution as their correlation id.
"""

from __future__ import annotations

import pytest

from backoffice.local.samples import Deal, new_client
from tests.integration.conftest import FakeSystems, Firm
from tests.integration.test_onboarding_workflow import salesforce_change_event


@pytest.mark.parametrize("systems", ["fakes"], indirect=True)
def test_every_call_to_the_firms_systems_is_on_the_case_trail_with_the_execution_as_correlation_id(
    firm: Firm,
) -> None:
    # Given a won deal in Salesforce, its SOW attached, for a client NetSuite does not know
    assert isinstance(firm.systems, FakeSystems)
    deal = Deal(41, new_client(41))
    firm.systems.record_deal(deal)
    # When Salesforce relays the change event to the bus and the case runs
    firm.runtime.put_event(
        "OpportunityChangeEvent",
        salesforce_change_event(deal.opportunity_id, "Closed Won"),
        "aws.partner/salesforce.com/00Dxx0000001gPL/0YLxx0000004CfV",
    )
    case_id = f"onboard-{deal.opportunity_id}"
    assert firm.settle(case_id).status == "SUCCEEDED"
    # Then every outbound call is on the case's trail, to each system, with the execution as its correlation id
    calls = [r for r in firm.records(case_id) if r.action.startswith("connector.")]
    assert {r.data["system"] for r in calls} >= {"salesforce", "netsuite", "peoplehr"}
    assert all(r.data["correlation_id"].endswith(f":{case_id}") for r in calls)
    # And the calls reached the fakes (the customer, the project and its staffing requests were created there)
    fakes = firm.systems.fakes
    assert len(fakes.netsuite.customers) == 13  # the twelve of the sample firm and this one
    assert [p["pse__Opportunity__c"] for p in fakes.salesforce.tables["pse__Proj__c"].values()] == [
        deal.opportunity_id
    ]
    assert fakes.salesforce.tables["pse__Resource_Request__c"]
