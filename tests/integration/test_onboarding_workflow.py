"""Project onboarding end to end on the local runtime: real ASL on moto's engine, real handlers.

Each test is one of the cases ``make run`` shows: a standard deal, an existing customer, a duplicate delivery, a
missing SOW, an ERP outage that recovers (and one that does not), legal approving and rejecting, a near-match
customer, a lost deal and an invalid event. Each runs twice: on the sandbox systems, and on the real adapters
against the fake Salesforce, Certinia, NetSuite and HRIS (``[fakes]``), but for the cases that involve none of the
firm's systems.
"""

from __future__ import annotations

import json

import pytest

from backoffice.local.approver import decide_via_http
from backoffice.local.samples import Deal, closed_won_detail, existing_client, new_client
from tests.contract.fakes.salesforce_fake import sample_sow_pdf
from tests.integration.conftest import Firm, start_first

pytestmark = pytest.mark.adapter_sets
HIGH_RISK = frozenset({"uncapped_liability"})
MEDIUM_RISK = frozenset({"payment_terms_over_limit"})
NO_SYSTEM = "involves none of the firm's systems"


def onboarding_steps(firm: Firm, case_id: str) -> list[str]:
    """The workflow's steps (the real adapters' calls and the assistant's suggestions, audited within a step, are
    not steps)."""
    return [r.step for r in firm.records(case_id) if not r.action.startswith(("connector.", "ai."))]


def test_a_standard_deal_becomes_a_customer_a_project_and_staffing_requests(firm: Firm) -> None:
    # Given a low-risk time-and-materials deal with a client the ERP does not know
    deal = Deal(1, new_client(1))
    # When the CRM closes it
    case_id = firm.win(deal)
    execution = firm.settle(case_id)
    # Then the case is onboarded, step by step, each step audited with an intact chain
    assert execution.status == "SUCCEEDED"
    assert start_first(onboarding_steps(firm, case_id), "start case") == [
        "start case",
        "validate closed-won opportunity",
        "fetch statement of work",
        "read statement of work",
        "assess contract risk",
        "match customer in ERP",
        "create project in PSA",
        "request staffing",
        "publish outcome",
    ]
    assert ("customer.created", "created") in firm.actions(case_id)
    # And the assistant read the clauses beside the rules (the local rules: nothing flagged but what they flag)
    [clauses] = [r for r in firm.records(case_id) if r.action == "ai.suggested"]
    assert (str(clauses.actor), clauses.step, clauses.data["use"]) == (
        "ai:local-rules",
        "assess contract risk",
        "clause_detection",
    )
    assert firm.audit.verify([case_id]).ok
    # And the ERP has the new customer, the PSA the project and one staffing request per SOW role
    systems = firm.systems
    customers = [c for c in systems.customers() if c.name == deal.client.customer_name]
    assert len(customers) == 1
    [project] = [p for p in systems.projects() if p.opportunity_id == deal.opportunity_id]
    assert project.client_id == customers[0].id
    requests = [r for r in systems.resource_requests() if r.project_id == project.id]
    assert len(requests) >= 3 and all(r.candidate_ids for r in requests)
    # And the Project Onboarded event carries the ids for the next system
    event = firm.outcome_event(case_id)
    assert event["detail-type"] == "Project Onboarded"
    assert event["detail"]["data"]["project"]["project_id"] == project.id


def test_an_existing_customer_is_matched_not_created_again(firm: Firm) -> None:
    # Given a deal with a client the ERP already has (same tax id)
    before = len(firm.systems.customers())
    case_id = firm.win(Deal(2, existing_client("Adventure Works")))
    # When it is onboarded
    assert firm.settle(case_id).status == "SUCCEEDED"
    # Then the project hangs off the existing customer and the ERP has no new customer
    assert ("customer.matched", "existing") in firm.actions(case_id)
    assert len(firm.systems.customers()) == before
    [project] = [p for p in firm.systems.projects() if str(p.opportunity_id).endswith("02XYZ")]
    assert project.client_id == firm.systems.customer_id("CUST-0006")


def test_the_same_deal_delivered_twice_makes_one_customer_and_one_project(firm: Firm) -> None:
    # Given a deal the CRM sends twice (at-least-once delivery)
    deal = Deal(3, new_client(3))
    case_id = firm.win(deal)
    firm.win(deal)
    firm.runtime.wait_until_idle()
    # Then one execution ran, one customer and one project exist, and the duplicate is on the trail
    assert [e.name for e in firm.runtime.executions()] == [case_id]
    systems = firm.systems
    assert len([c for c in systems.customers() if c.name == deal.client.customer_name]) == 1
    assert len([p for p in systems.projects() if p.opportunity_id == deal.opportunity_id]) == 1
    assert ("event.duplicate", "ignored") in firm.actions(case_id)


def test_a_missing_sow_blocks_the_case_with_the_reason_and_a_notification(firm: Firm) -> None:
    # Given an operator subscribed to notifications
    sqs, sns = firm.runtime.client("sqs"), firm.runtime.client("sns")
    queue_url = sqs.create_queue(QueueName="operator-inbox")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    topic_arn = next(
        t["TopicArn"] for t in sns.list_topics()["Topics"] if t["TopicArn"].endswith("notifications")
    )
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
    # When a deal arrives with no SOW attached in the CRM
    case_id = firm.win(Deal(4, new_client(4), with_sow=False))
    execution = firm.settle(case_id)
    # Then the case is blocked, a business outcome: the execution succeeds with the outcome as its output
    assert (execution.status, execution.error) == ("SUCCEEDED", None)
    output = firm.output(case_id)
    assert (output["outcome"], output["resumable"]) == ("Onboarding Blocked", True)
    # And the trail, the event and the notification all say why
    assert ("sow.fetched", "blocked") in firm.actions(case_id)
    reason = firm.outcome_event(case_id)["detail"]["reasons"][0]
    assert reason.startswith("StatementOfWorkMissing:") and "no statement of work" in reason
    assert output["reasons"] == [reason]
    messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)["Messages"]
    assert any("Onboarding Blocked" in json.loads(m["Body"])["Subject"] for m in messages)
    # And nothing was created in the ERP or PSA for it
    assert not [p for p in firm.systems.projects() if str(p.opportunity_id).endswith("04XYZ")]


def test_an_erp_outage_that_recovers_is_retried_by_the_state_machine(firm: Firm) -> None:
    # Given the ERP answers the next two calls with 503
    firm.systems.erp_outage(times=2)
    # When a deal is onboarded
    case_id = firm.win(Deal(5, new_client(5)))
    execution = firm.settle(case_id)
    # Then the state machine retried the ERP step and the case completed with one customer
    assert execution.status == "SUCCEEDED"
    history = firm.runtime.client("stepfunctions").get_execution_history(
        executionArn=execution.arn, maxResults=1000
    )
    failures = [
        e
        for e in history["events"]
        if e["type"] == "TaskFailed" and e["taskFailedEventDetails"].get("error") == "ConnectorUnavailable"
    ]
    assert len(failures) == 2
    assert ("customer.created", "created") in firm.actions(case_id)


def test_an_erp_outage_that_outlasts_the_retries_is_a_technical_fault_a_missing_sow_is_not(
    firm: Firm,
) -> None:
    # Given a deal blocked for a business reason (no SOW in the CRM)
    blocked = firm.win(Deal(20, new_client(20), with_sow=False))
    assert firm.settle(blocked).status == "SUCCEEDED"
    # When the ERP is down for longer than the retries last, for the next deal
    firm.systems.erp_outage(times=50)
    case_id = firm.win(Deal(6, new_client(6)))
    execution = firm.settle(case_id)
    # Then that case is announced blocked with the reason, as any blocked case is
    reason = firm.outcome_event(case_id)["detail"]["reasons"][0]
    assert reason.startswith("ConnectorUnavailable:")
    assert ("outcome.published", "Onboarding Blocked") in firm.actions(case_id)
    # But it is a technical fault: the execution fails (what the operators' alarm counts), with the reason
    assert (execution.status, execution.error) == ("FAILED", "TechnicalFault")
    assert firm.fault(case_id) == ("TechnicalFault", reason)
    # While the business block succeeded, with its outcome as the output
    assert firm.output(blocked)["outcome"] == "Onboarding Blocked"


@pytest.mark.sandbox_only(
    f"the approval chain {NO_SYSTEM} (the standard deal covers the CRM and the creates)"
)
def test_a_high_risk_contract_waits_for_legal_and_the_general_counsel_and_then_onboards(firm: Firm) -> None:
    # Given a deal whose SOW has uncapped liability (high risk: legal, then the general counsel)
    case_id = firm.win(Deal(7, new_client(7), risks=HIGH_RISK))
    # When it reaches legal review
    execution = firm.settle(case_id)
    # Then it waits, and legal got e-mails showing the finding
    assert (execution.status, execution.current_state) == ("RUNNING", "Ask legal to review the contract")
    mail = firm.mail("lena.hoffmann@example-firm.com", case_id)
    assert "uncapped liability" in mail.text and "Open the request" in mail.text
    # When legal approves through the confirmation page
    status, title, _ = decide_via_http(
        firm.link("lena.hoffmann@example-firm.com", case_id), "approve", "lena.hoffmann@example-firm.com", ""
    )
    assert (status, title) == (200, "You approved the request")
    # Then the general counsel is asked next, approves, and the project is onboarded
    assert firm.settle(case_id).current_state == "Ask legal to review the contract"
    status, _, _ = decide_via_http(
        firm.link("grace.okafor@example-firm.com", case_id),
        "approve",
        "grace.okafor@example-firm.com",
        "fine",
    )
    assert status == 200
    assert firm.settle(case_id).status == "SUCCEEDED"
    decided = [r for r in firm.records(case_id) if r.action == "approval.decided"]
    assert [(str(r.actor), r.data["level"]) for r in decided] == [
        ("user:lena.hoffmann@example-firm.com", "legal review"),
        ("user:grace.okafor@example-firm.com", "general counsel sign-off"),
    ]


@pytest.mark.sandbox_only(f"legal's decision {NO_SYSTEM}")
def test_legal_rejecting_the_contract_blocks_onboarding_with_their_comment(firm: Firm) -> None:
    # Given a medium-risk deal waiting for legal
    case_id = firm.win(Deal(8, new_client(8), risks=MEDIUM_RISK))
    assert firm.settle(case_id).current_state == "Ask legal to review the contract"
    # When legal rejects with a comment
    status, title, _ = decide_via_http(
        firm.link("omar.haddad@example-firm.com", case_id),
        "reject",
        "omar.haddad@example-firm.com",
        "90-day payment terms are not acceptable",
    )
    assert (status, title) == (200, "You rejected the request")
    # Then the case is blocked (a business outcome: the execution succeeds) with who rejected and why, and
    # nothing was created downstream
    assert firm.settle(case_id).status == "SUCCEEDED"
    reason = firm.outcome_event(case_id)["detail"]["reasons"][0]
    assert reason.startswith("ContractRejectedByLegal:")
    assert firm.output(case_id)["reasons"] == [reason]
    assert "omar.haddad@example-firm.com" in reason and "90-day payment terms" in reason
    assert not [p for p in firm.systems.projects() if str(p.opportunity_id).endswith("08XYZ")]


def test_a_near_match_customer_goes_to_review_instead_of_a_duplicate(firm: Firm) -> None:
    # Given a client whose name is close to an ERP customer at another address
    near = existing_client("Northwind Logistics").model_copy(
        update={"customer_name": "Northwind Logistic Inc", "tax_id": None}
    )
    before = len(firm.systems.customers())
    case_id = firm.win(Deal(9, near))
    # Then the case stops for master-data review (a business outcome) and the ERP gets no duplicate
    assert firm.settle(case_id).status == "SUCCEEDED"
    assert firm.output(case_id)["outcome"] == "Onboarding Blocked"
    assert firm.outcome_event(case_id)["detail"]["reasons"][0].startswith("CustomerNeedsReview:")
    assert len(firm.systems.customers()) == before


def test_fixed_fee_and_retainer_deals_onboard_with_their_billing_models(firm: Firm) -> None:
    fixed = firm.win(Deal(10, new_client(10), billing_model="fixed_fee", service_line="advisory"))
    retainer = firm.win(Deal(11, new_client(11), billing_model="retainer", service_line="digital"))
    assert firm.settle(fixed).status == "SUCCEEDED"
    assert firm.settle(retainer).status == "SUCCEEDED"
    models = {str(p.opportunity_id)[-5:]: p.billing_model for p in firm.systems.projects()}
    assert models["10XYZ"] == "fixed_fee" and models["11XYZ"] == "retainer"


@pytest.mark.sandbox_only(f"validating the event {NO_SYSTEM}")
def test_a_lost_deal_is_blocked_with_its_reason(firm: Firm) -> None:
    firm.runtime.put_event("Opportunity Closed Won", closed_won_detail(12, won=False))
    firm.runtime.wait_until_idle()
    [execution] = firm.runtime.executions()
    assert (execution.status, execution.error) == ("SUCCEEDED", None)
    assert "is not closed-won" in firm.outcome_event(execution.name)["detail"]["reasons"][0]
    assert "is not closed-won" in firm.output(execution.name)["reasons"][0]


@pytest.mark.sandbox_only(f"rejecting an invalid event {NO_SYSTEM}")
def test_an_invalid_event_is_rejected_audited_parked_and_the_next_one_still_runs(firm: Firm) -> None:
    # Given an event whose currency and amount are invalid, followed by a good deal
    broken = closed_won_detail(13)
    broken["opportunity"]["currency"] = "usd"
    broken["opportunity"]["amount"] = "-5"
    bad_id = firm.runtime.put_event("Opportunity Closed Won", broken)
    good = firm.win(Deal(14, new_client(14)))
    # Then the bad one is rejected with readable reasons and parked with the event
    [record] = firm.records(f"rejected-{bad_id}")
    assert (record.action, record.outcome) == ("event.rejected", "rejected")
    assert any(r.startswith("detail.opportunity.currency:") for r in record.reasons)
    [parked] = firm.runtime.parked_messages()
    assert parked["event"]["id"] == bad_id and parked["reasons"] == list(record.reasons)
    # And the good deal still onboards
    assert firm.settle(good).status == "SUCCEEDED"


@pytest.mark.sandbox_only(f"verifying the audit trail {NO_SYSTEM}")
def test_an_edited_audit_record_is_named_by_verification(firm: Firm) -> None:
    case_id = firm.win(Deal(15, new_client(15)))
    firm.settle(case_id)
    firm.runtime.client("dynamodb").update_item(
        TableName="backoffice-audit",
        Key={"case_id": {"S": case_id}, "seq": {"N": "4"}},
        UpdateExpression="SET outcome = :o",
        ExpressionAttributeValues={":o": {"S": "approved"}},
    )
    assert [(p.seq, p.kind) for p in firm.audit.verify([case_id]).problems] == [(4, "changed")]


def salesforce_change_event(opportunity_id: str, stage: str) -> dict[str, object]:
    """The detail of an OpportunityChangeEvent as Salesforce Event Relay puts it on EventBridge."""
    return {
        "payload": {
            "ChangeEventHeader": {
                "entityName": "Opportunity",
                "recordIds": [opportunity_id],
                "changeType": "UPDATE",
                "changedFields": ["StageName", "IsClosed", "IsWon", "LastModifiedDate"],
                "commitUser": "005Dn000001ABCD",
            },
            "StageName": stage,
            "IsClosed": stage.startswith("Closed"),
            "IsWon": stage == "Closed Won",
            "LastModifiedDate": "2026-11-25T10:00:00.000Z",
        },
        "schemaId": "Vt3x3IIhZ2pdHdVFY-pCgg",
        "id": "bbc63d05-6a5d-4e35-a9f8-04c8eba7b7a3",
    }


def test_salesforce_change_events_are_ingested_into_the_canonical_event(firm: Firm) -> None:
    # Given a won deal recorded in the CRM, and Salesforce relaying its change event
    deal = Deal(16, new_client(16))
    runtime = firm.runtime
    firm.systems.record_deal(deal)
    source = "aws.partner/salesforce.com/00Dxx0000001gPL/0YLxx0000004CfV"
    # When Salesforce sends the change event (twice, as relays may)
    for _ in range(2):
        runtime.put_event(
            "OpportunityChangeEvent", salesforce_change_event(deal.opportunity_id, "Closed Won"), source
        )
    # Then the ingest step emitted the canonical event and one case onboarded the deal
    case_id = f"onboard-{deal.opportunity_id}"
    assert firm.settle(case_id).status == "SUCCEEDED"
    assert [e.name for e in runtime.executions()] == [case_id]
    actions = firm.actions(case_id)
    assert actions.count(("crm_event.ingested", "published")) == 2
    assert ("event.duplicate", "ignored") in actions


@pytest.mark.sandbox_only("the rule's pattern drops the event before any step or system is reached")
def test_a_salesforce_change_to_another_stage_starts_nothing(firm: Firm) -> None:
    deal = Deal(17, new_client(17))
    firm.systems.record_deal(deal)
    firm.runtime.put_event(
        "OpportunityChangeEvent",
        salesforce_change_event(deal.opportunity_id, "Negotiation/Review"),
        "aws.partner/salesforce.com/00Dxx0000001gPL/0YLxx0000004CfV",
    )
    assert firm.runtime.executions() == []


def test_a_blocked_case_resumes_once_its_cause_is_fixed(firm: Firm) -> None:
    from backoffice.audit import Actor
    from backoffice.cases import resume_case

    # Given a deal blocked because its SOW was missing
    deal = Deal(18, new_client(18), with_sow=False)
    case_id = firm.win(deal)
    assert firm.settle(case_id).status == "SUCCEEDED"
    assert firm.output(case_id)["outcome"] == "Onboarding Blocked"
    # When sales attaches the SOW and an operator resumes the case
    firm.systems.record_deal(Deal(18, deal.client))
    resume_case(
        sfn=firm.runtime.client("stepfunctions"),
        audit=firm.audit,
        state_machine_arn=firm.runtime.state_machine_arn("onboarding"),
        workflow="onboarding",
        case_id=case_id,
        actor=Actor.user("ops@example-firm.com"),
        reason="SOW attached in the CRM",
    )
    # Then the second attempt onboards the project, on the same case's trail
    assert firm.finish(f"{case_id}-r1").status == "SUCCEEDED"
    actions = firm.actions(case_id)
    assert ("case.resumed", "started") in actions and actions[-1] == (
        "outcome.published",
        "Project Onboarded",
    )
    [resumed] = [r for r in firm.records(case_id) if r.action == "case.resumed"]
    assert resumed.reasons[1].endswith(f"previous {case_id} ended SUCCEEDED (Onboarding Blocked)")
    assert firm.audit.verify([case_id]).ok


def test_a_corrupt_sow_is_a_clear_reason_on_the_trail_not_a_crash_or_a_retry_loop(firm: Firm) -> None:
    # Given a deal whose attached SOW file was cut short on upload
    deal = Deal(19, new_client(19))
    runtime = firm.runtime
    detail = firm.systems.record_deal(deal, sow=sample_sow_pdf(deal)[:2000])
    # When the deal is won
    runtime.put_event("Opportunity Closed Won", detail, source="crm.salesforce")
    case_id = f"onboard-{deal.opportunity_id}"
    # Then the case stops once (a business outcome), with the reason a person can act on, audited
    assert firm.settle(case_id).status == "SUCCEEDED"
    assert ("sow.read", "blocked") in firm.actions(case_id)
    reason = firm.outcome_event(case_id)["detail"]["reasons"][0]
    assert reason.startswith("StatementOfWorkUnreadable:") and "cut short" in reason
    assert [i.function for i in runtime.lambdas.invocations].count("read_statement_of_work") == 1
