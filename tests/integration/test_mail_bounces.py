"""Approval mails that do not arrive, end to end on the local runtime: SES's mailbox simulator bounces the mail,
the event goes through the configuration set's destination to the mail_events topic and its real subscription
(handle_mail_event), and the case escalates now instead of waiting for a timeout nobody would answer.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from backoffice.approvals.store import link_hash
from backoffice.local.polling import Pauses
from backoffice.local.runtime import ACCOUNT, REGION
from backoffice.local.samples import Deal, new_client, sample_approval_policy
from backoffice.local.vendor_samples import blank_w9, put_vendor_request, scenarios
from infra.catalog import CATALOG, Ref
from tests.integration.conftest import Firm, approval_policy, csrf_of, http
from tests.ses_samples import BOUNCE, addressed, sns_delivery

MEDIUM_RISK = frozenset({"payment_terms_over_limit"})
LENA, GRACE = "lena.hoffmann@example-firm.com", "grace.okafor@example-firm.com"
BOUNCING = "bounce@simulator.amazonses.com"
ASK_LEGAL = "Ask legal to review the contract"


def legal_is(members: list[str], **level: object) -> dict[str, Any]:
    """The packaged policy with legal made of ``members`` and its contract review level changed."""
    groups = sample_approval_policy()["groups"]
    return {
        "groups": {**groups, "legal": members},
        "contract_review": [
            {
                "name": "medium risk contracts go to legal",
                "when": {"risk_levels": ["medium", "high"]},
                "levels": [
                    {"name": "legal review", "group": "legal", "quorum": 1, "timeout_seconds": 3600, **level}
                ],
            }
        ],
    }


def eventually(check: Callable[[], Any], timeout: float = 20) -> Any:
    deadline = time.monotonic() + timeout
    pause = Pauses()
    while True:
        found = check()
        if found:
            return found
        assert time.monotonic() < deadline, "not within the time allowed"
        pause()


def undeliverable(firm: Firm, case_id: str) -> list[str]:
    return [r.outcome for r in firm.records(case_id) if r.action == "approval.undeliverable"]


def operator_notices(firm: Firm) -> list[tuple[str, str]]:
    from moto.sns.models import sns_backends

    arn = firm.runtime.resolve(Ref("topic_arn", "notifications"))
    sent = sns_backends[ACCOUNT][REGION].topics[arn].sent_notifications
    return [(subject, message) for _, message, subject, *_ in sent if "bounced" in (subject or "")]


def request_of(firm: Firm, case_id: str) -> Any:
    return eventually(
        lambda: next((r for r in firm.approvals.pending_requests() if r.case_id == case_id), None)
    )


def test_an_approver_whose_address_bounces_is_escalated_past_at_once(
    firm: Firm, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given legal is one person whose mailbox does not exist (SES's mailbox simulator bounces the mail), with
    # an hour to decide and the general counsel as the escalation
    monkeypatch.setenv(
        "APPROVAL_POLICY", approval_policy(**legal_is([BOUNCING], escalate_to="general_counsel"))
    )
    # When a medium-risk deal is won and legal's approval mail goes out
    case_id = firm.win(Deal(61, new_client(61), risks=MEDIUM_RISK))
    # Then SES's bounce reaches the case through the topic, and the general counsel is asked now, not in an hour
    link = firm.link(GRACE, case_id, timeout=30)
    assert undeliverable(firm, case_id) == ["escalating"]
    (record,) = [r for r in firm.records(case_id) if r.action == "approval.undeliverable"]
    assert record.data["recipient"] == BOUNCING and record.data["level"] == "legal review"
    assert (record.data["type"], record.data["subtype"]) == ("Permanent", "General")
    assert "550 5.1.1" in record.data["diagnostic"]
    assert "task_token" not in json.dumps(record.data) and "approvals/" not in json.dumps(record.data)
    assert ("approval.escalated", "pending") in firm.actions(case_id)
    # And the timeout path did not also write an expiry
    assert [a for a, _ in firm.actions(case_id)].count("approval.expired") == 0
    # And the operators read one plain sentence about it
    (notice,) = eventually(lambda: [n for n in operator_notices(firm) if case_id in n[1]])
    assert f"the mail to {BOUNCING} bounced" in notice[1] and "general_counsel" in notice[1]
    # And the general counsel's approval moves the case on
    status, _ = http(link, {"csrf": csrf_of(http(link)[1]), "decision": "approve", "approver": GRACE})
    assert status == 200
    assert firm.settle(case_id).status == "SUCCEEDED"


def test_a_bounce_delivered_twice_at_once_escalates_once(firm: Firm, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a case waiting for Lena alone, who escalates to the general counsel
    monkeypatch.setenv("APPROVAL_POLICY", approval_policy(**legal_is([LENA], escalate_to="general_counsel")))
    case_id = firm.win(Deal(62, new_client(62), risks=MEDIUM_RISK))
    request = request_of(firm, case_id)
    firm.mail(LENA, case_id)
    # (SES's message id of her mail is kept with her link, to trace the mail from SES's side too)
    (link,) = eventually(lambda: [k for k in firm.approvals.links_of(request) if k.message_id])
    assert link.approver == LENA
    # When SNS delivers SES's bounce of her mail to the handler six times at once (redelivery)
    topic = firm.runtime.resolve(Ref("topic_arn", "mail_events"))
    event = sns_delivery(
        addressed(BOUNCE, LENA, tags={"purpose": "approval", "request": request.request_id}), topic
    )
    results: list[Any] = []
    start = threading.Barrier(6)

    def deliver() -> None:
        start.wait()
        results.append(firm.runtime.lambdas.invoke("handle_mail_event", event))

    threads = [threading.Thread(target=deliver) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Then every delivery succeeded, one of them escalated, and the case asked the general counsel once
    assert [error for _, error in results] == [None] * 6
    outcomes = sorted(r["results"][0]["outcome"] for r, _ in results)
    assert outcomes == ["duplicate"] * 5 + ["escalating"]
    firm.mail(GRACE, case_id, timeout=30)
    eventually(lambda: firm.settle(case_id).current_state == ASK_LEGAL)
    assert undeliverable(firm, case_id) == ["escalating"]
    assert [a for a, _ in firm.actions(case_id)].count("approval.escalated") == 1
    assert len([m for m in firm.inbox(GRACE) if case_id in m.text]) == 1


def test_a_transient_bounce_is_recorded_and_the_case_keeps_waiting(
    firm: Firm, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a case waiting for Lena alone
    monkeypatch.setenv("APPROVAL_POLICY", approval_policy(**legal_is([LENA], escalate_to="general_counsel")))
    case_id = firm.win(Deal(63, new_client(63), risks=MEDIUM_RISK))
    request = request_of(firm, case_id)
    firm.mail(LENA, case_id)
    # When SES publishes a transient bounce (mailbox full) of her mail to the topic
    record = addressed(
        BOUNCE, LENA, tags={"purpose": "approval", "request": request.request_id}, bounce_type="Transient"
    )
    sns = firm.runtime.client("sns")
    sns.publish(TopicArn=firm.runtime.resolve(Ref("topic_arn", "mail_events")), Message=json.dumps(record))
    # Then the case's trail records it, nothing escalates, and Lena's link still works
    eventually(lambda: undeliverable(firm, case_id))
    assert undeliverable(firm, case_id) == ["recorded"]
    assert firm.settle(case_id).current_state == ASK_LEGAL
    assert ("approval.escalated", "pending") not in firm.actions(case_id)
    assert http(firm.link(LENA, case_id))[0] == 200


def failing_once(monkeypatch: pytest.MonkeyPatch, target: Any, name: str, when: Callable[..., bool]) -> None:
    """``target.name`` raises the first time ``when(**kwargs)`` holds (an outage after the work was claimed)."""
    original = getattr(target, name)
    failed: list[bool] = []

    def flaky(self: Any, *args: Any, **kwargs: Any) -> Any:
        if not failed and when(**kwargs):
            failed.append(True)
            raise RuntimeError("throttled")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(target, name, flaky)


def test_a_bounce_whose_recording_failed_is_recorded_when_it_is_delivered_again(
    firm: Firm, monkeypatch: pytest.MonkeyPatch
) -> None:
    from backoffice.audit import AuditTrail

    # Given a case waiting for Lena, and an audit trail that fails the first time the bounce is written
    monkeypatch.setenv("APPROVAL_POLICY", approval_policy(**legal_is([LENA], escalate_to="general_counsel")))
    case_id = firm.win(Deal(66, new_client(66), risks=MEDIUM_RISK))
    request = request_of(firm, case_id)
    firm.mail(LENA, case_id)
    failing_once(monkeypatch, AuditTrail, "append", lambda **kw: kw.get("action") == "approval.undeliverable")
    topic = firm.runtime.resolve(Ref("topic_arn", "mail_events"))
    event = sns_delivery(
        addressed(
            BOUNCE, LENA, tags={"purpose": "approval", "request": request.request_id}, bounce_type="Transient"
        ),
        topic,
    )
    # When SNS delivers SES's transient bounce, the handler fails, and SNS delivers it again
    _, error = firm.runtime.lambdas.invoke("handle_mail_event", event)
    assert error is not None
    result, error = firm.runtime.lambdas.invoke("handle_mail_event", event)
    # Then the redelivery records it (the failed attempt gave its claim back), once
    assert error is None, error
    assert result["results"][0]["outcome"] == "recorded"
    assert undeliverable(firm, case_id) == ["recorded"]


def test_an_escalation_whose_signal_failed_is_signalled_by_the_retry(
    firm: Firm, monkeypatch: pytest.MonkeyPatch
) -> None:
    from backoffice.approvals.adapters import StepFunctionsCallback

    # Given a case waiting for Lena alone, who escalates to the general counsel, and Step Functions throttling
    # the first SendTaskFailure
    monkeypatch.setenv("APPROVAL_POLICY", approval_policy(**legal_is([LENA], escalate_to="general_counsel")))
    case_id = firm.win(Deal(67, new_client(67), risks=MEDIUM_RISK))
    request = request_of(firm, case_id)
    firm.mail(LENA, case_id)
    failing_once(monkeypatch, StepFunctionsCallback, "fail", lambda **kw: True)
    topic = firm.runtime.resolve(Ref("topic_arn", "mail_events"))
    event = sns_delivery(
        addressed(BOUNCE, LENA, tags={"purpose": "approval", "request": request.request_id}), topic
    )
    # When her mail's bounce is delivered, the signal fails, and Lambda retries the delivery
    _, error = firm.runtime.lambdas.invoke("handle_mail_event", event)
    assert error is not None
    result, error = firm.runtime.lambdas.invoke("handle_mail_event", event)
    # Then the retry escalates (not "duplicate"), and the general counsel is asked once
    assert error is None, error
    assert result["results"][0]["outcome"] == "escalating"
    firm.mail(GRACE, case_id, timeout=30)
    assert undeliverable(firm, case_id) == ["escalating"]
    assert len([m for m in firm.inbox(GRACE) if case_id in m.text]) == 1


def test_without_an_escalation_the_operators_are_told_and_the_case_waits(
    firm: Firm, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given legal is one unreachable person and the policy names no escalation
    monkeypatch.setenv("APPROVAL_POLICY", approval_policy(**legal_is([BOUNCING])))
    # When the case asks legal and the mail bounces
    case_id = firm.win(Deal(64, new_client(64), risks=MEDIUM_RISK))
    eventually(lambda: undeliverable(firm, case_id), timeout=30)
    # Then the trail says the case waits, the operators are told, and the case still waits for legal
    assert undeliverable(firm, case_id) == ["waiting"]
    (record,) = [r for r in firm.records(case_id) if r.action == "approval.undeliverable"]
    assert any("names no escalation" in reason for reason in record.reasons)
    eventually(lambda: any(case_id in message for _, message in operator_notices(firm)))
    assert firm.settle(case_id).current_state == ASK_LEGAL


def test_sending_with_a_configuration_set_that_does_not_exist_is_refused(firm: Firm) -> None:
    # Given the runtime's SES (where the approvals sender is verified)
    ses = firm.runtime.client("ses")
    # When a mail names a configuration set SES does not have, Then SES refuses it, as in AWS
    with pytest.raises(ClientError) as refused:
        ses.send_raw_email(
            Source=CATALOG.settings["approvals_sender"],
            Destinations=[LENA],
            RawMessage={"Data": b"Subject: x\n\nhello"},
            ConfigurationSetName="no-such-set",
        )
    assert refused.value.response["Error"]["Code"] == "ConfigurationSetDoesNotExist"


def test_a_bounced_upload_request_is_recorded_on_the_vendor_case_once(firm: Firm) -> None:
    # Given a vendor case whose upload link went to the vendor contact
    runtime = firm.runtime
    scenario = scenarios()["missing-w9"]
    contact = scenario.application.request.contact_email
    detail, _ = put_vendor_request(runtime.client("s3"), runtime.documents_bucket, scenario, blank_w9())
    event_id = runtime.put_event("Vendor Onboarding Requested", detail, source="procurement.portal")
    [case_id] = {d.case_id for d in runtime.router.deliveries if d.event_id == event_id}
    mail = eventually(lambda: next((m for m in firm.inbox(contact) if case_id in m.text), None))
    link_id = next(w for w in mail.text.split() if "/uploads/" in w).rstrip(".").rsplit("/", 1)[1]
    # When SES's bounce of that mail is delivered, twice
    topic = runtime.resolve(Ref("topic_arn", "mail_events"))
    tags = {"purpose": "vendor_upload", "upload": link_hash(link_id)}
    event = sns_delivery(addressed(BOUNCE, contact, tags=tags), topic)
    outcomes = [
        runtime.lambdas.invoke("handle_mail_event", event)[0]["results"][0]["outcome"] for _ in range(2)
    ]
    # Then the case's trail says the vendor never got the link, once, and the operators are told
    assert outcomes == ["undeliverable", "duplicate"]
    records = [r for r in firm.records(case_id) if r.action == "documents.undeliverable"]
    assert [(r.outcome, r.data["recipient"]) for r in records] == [("undeliverable", contact.lower())]
    assert any(case_id in message for _, message in operator_notices(firm))


def test_a_complaint_from_one_of_two_approvers_leaves_the_other_to_decide(
    firm: Firm, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given legal is Lena and an address that marks the mail as spam (the simulator's complaint@), quorum 1
    complaining = "complaint@simulator.amazonses.com"
    monkeypatch.setenv(
        "APPROVAL_POLICY", approval_policy(**legal_is([LENA, complaining], escalate_to="general_counsel"))
    )
    # When the case asks legal and the complaint comes back
    case_id = firm.win(Deal(65, new_client(65), risks=MEDIUM_RISK))
    eventually(lambda: undeliverable(firm, case_id), timeout=30)
    # Then it is recorded, nothing escalates (Lena can still make the quorum), and her approval moves the case on
    assert undeliverable(firm, case_id) == ["still_reachable"]
    (record,) = [r for r in firm.records(case_id) if r.action == "approval.undeliverable"]
    assert (record.data["event"], record.data["type"]) == ("complaint", "abuse")
    assert ("approval.escalated", "pending") not in firm.actions(case_id)
    link = firm.link(LENA, case_id)
    status, _ = http(link, {"csrf": csrf_of(http(link)[1]), "decision": "approve", "approver": LENA})
    assert status == 200
    assert firm.settle(case_id).status == "SUCCEEDED"


def test_a_bounce_of_a_mail_that_names_no_case_is_counted_not_failed(firm: Firm) -> None:
    # Given SES's sample bounce of a mail sent without the product's tags
    topic = firm.runtime.resolve(Ref("topic_arn", "mail_events"))
    # When it is delivered to the handler
    result, error = firm.runtime.lambdas.invoke("handle_mail_event", sns_delivery(BOUNCE, topic))
    # Then it succeeds (nothing to retry) and says the event names no case
    assert error is None
    assert [r["outcome"] for r in result["results"]] == ["untraced"]
