"""Approval links over real HTTP against the local gateway, on a real waiting onboarding case.

What APPROVALS.md says goes wrong elsewhere, each as a test: robots deciding on GET, replays, forged ids, expired and
escalated links, the wrong person, a missing CSRF token, quorum, delegation and self-approval. Every refusal leaves
an audit record and does not change the case.
"""

from __future__ import annotations

import pytest

from backoffice.local.samples import Deal, new_client
from tests.integration.conftest import Firm, approval_policy, csrf_of, heading, http

MEDIUM_RISK = frozenset({"payment_terms_over_limit"})
LENA, OMAR, GRACE, RUTH = (
    "lena.hoffmann@example-firm.com",
    "omar.haddad@example-firm.com",
    "grace.okafor@example-firm.com",
    "ruth.adler@example-firm.com",
)


def legal_level(**level: object) -> list[dict[str, object]]:
    return [
        {
            "name": "medium risk contracts go to legal",
            "when": {"risk_levels": ["medium", "high"]},
            "levels": [
                {"name": "legal review", "group": "legal", "quorum": 1, "timeout_seconds": 3600, **level}
            ],
        }
    ]


def waiting_case(firm: Firm, index: int, owner: str = "alex.chen@example-firm.com") -> str:
    case_id = firm.win(Deal(index, new_client(index), risks=MEDIUM_RISK, owner=owner))
    execution = firm.settle(case_id)
    assert (execution.status, execution.current_state) == ("RUNNING", "Ask legal to review the contract")
    return case_id


def assert_still_waiting(firm: Firm, case_id: str) -> None:
    execution = firm.execution(case_id)
    assert (execution.status, execution.current_state) == ("RUNNING", "Ask legal to review the contract")
    assert not [r for r in firm.records(case_id) if r.action == "approval.decided"]


def refusals(firm: Firm, case_id: str) -> list[str]:
    return [r.outcome for r in firm.records(case_id) if r.action == "approval.refused"]


def post(url: str, csrf: str, approver: str, decision: str = "approve", comment: str = "") -> tuple[int, str]:
    return http(url, {"csrf": csrf, "decision": decision, "approver": approver, "comment": comment})


def test_opening_a_link_never_decides(firm: Firm) -> None:
    # Given a case waiting for legal
    case_id = waiting_case(firm, 21)
    url = firm.link(LENA, case_id)
    # When a mail scanner opens the link with GET (and HEAD), several times, with the approve hint
    for _ in range(3):
        status, page = http(f"{url}?action=approve")
        assert status == 200 and "Confirm decision" in page
    status, body = http(url, method="HEAD")
    assert status == 200 and body == ""
    # Then nothing was decided: the case still waits, the views are on the trail
    assert_still_waiting(firm, case_id)
    assert [r.action for r in firm.records(case_id)].count("approval.link_viewed") == 3


def test_a_post_from_the_page_decides_once_and_a_replay_is_refused(firm: Firm) -> None:
    case_id = waiting_case(firm, 22)
    url = firm.link(LENA, case_id)
    csrf = csrf_of(http(url)[1])
    # When Lena approves from the page
    status, page = post(url, csrf, LENA)
    assert (status, heading(page)) == (200, "You approved the request")
    # Then the case moves on
    assert firm.settle(case_id).status == "SUCCEEDED"
    # And the same POST again is refused as already decided, naming who decided
    status, page = post(url, csrf, LENA)
    assert status == 409 and "already approved by lena.hoffmann@example-firm.com" in page
    assert refusals(firm, case_id) == ["already_decided"]
    assert [r.action for r in firm.records(case_id)].count("approval.decided") == 1


def test_an_unknown_or_forged_link_is_refused_and_audited(firm: Firm) -> None:
    case_id = waiting_case(firm, 23)
    base = firm.link(LENA, case_id).rsplit("/", 1)[0]
    # When someone guesses a link id, or shortens a real one
    for forged in ("A" * 32, firm.link(LENA, case_id).rsplit("/", 1)[1][:-1]):
        status, page = http(f"{base}/{forged}")
        assert (status, heading(page)) == (404, "Unknown link")
        status, _ = post(f"{base}/{forged}", "x", LENA)
        assert status == 404
    # Then the refusals trail has the first of this address's hour (and the counter all four), and the case still
    # waits
    refused = firm.records("approval-refusals")
    assert [(r.outcome, r.data["count"]) for r in refused] == [("unknown", 1)] * len(refused)
    windows = {r.data["window"] for r in refused}  # one, unless the test ran across the turn of an hour
    assert len(refused) == len(windows)
    assert sum(firm.approvals.refusal_count(f"refusals#unknown#{w}#127.0.0.1") for w in windows) == 4
    assert_still_waiting(firm, case_id)


def test_the_wrong_approver_is_refused(firm: Firm) -> None:
    case_id = waiting_case(firm, 24)
    url = firm.link(LENA, case_id)
    # When Omar uses Lena's link as himself
    status, page = post(url, csrf_of(http(url)[1]), OMAR)
    assert (status, heading(page)) == (403, "Not your link")
    assert refusals(firm, case_id) == ["wrong_approver"]
    assert_still_waiting(firm, case_id)


def test_a_post_without_the_pages_csrf_token_is_refused(firm: Firm) -> None:
    case_id = waiting_case(firm, 25)
    url = firm.link(LENA, case_id)
    # When a form on another site posts to the link (no token, or a made-up one)
    assert post(url, "", LENA)[0] == 403
    assert post(url, "made-up", LENA)[0] == 403
    assert refusals(firm, case_id) == ["missing_csrf", "missing_csrf"]
    assert_still_waiting(firm, case_id)


def test_a_reject_needs_a_comment(firm: Firm) -> None:
    case_id = waiting_case(firm, 26)
    url = firm.link(LENA, case_id)
    status, page = post(url, csrf_of(http(url)[1]), LENA, decision="reject", comment=" ")
    assert status == 400 and "Please say why you reject" in page
    assert_still_waiting(firm, case_id)


def test_a_timeout_escalates_to_the_escalation_group_and_the_old_link_dies(
    firm: Firm, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given legal has two seconds to decide, then the general counsel
    monkeypatch.setenv(
        "APPROVAL_POLICY",
        approval_policy(contract_review=legal_level(timeout_seconds=2, escalate_to="general_counsel")),
    )
    case_id = waiting_case(firm, 27)
    old = firm.link(LENA, case_id)
    # When nobody in legal decides in time
    new = firm.link(GRACE, case_id, timeout=15)
    # Then the general counsel got a new link, and Lena's link no longer decides anything
    status, page = http(old)
    assert status == 410 and heading(page) in ("Link expired", "Request withdrawn")
    assert ("approval.escalated", "pending") in firm.actions(case_id)
    # And the general counsel's approval moves the case on
    status, page = post(new, csrf_of(http(new)[1]), GRACE)
    assert status == 200
    assert firm.settle(case_id).status == "SUCCEEDED"
    # And the old link, posted to, is refused and audited
    assert post(old, "x", LENA)[0] in (403, 410)


def test_a_link_used_after_the_level_ran_out_of_time_is_refused(
    firm: Firm, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given legal has two seconds and no escalation
    monkeypatch.setenv("APPROVAL_POLICY", approval_policy(contract_review=legal_level(timeout_seconds=2)))
    case_id = waiting_case(firm, 28)
    url = firm.link(LENA, case_id)
    csrf = csrf_of(http(url)[1])
    # When the deadline passes and the case times out
    assert firm.finish(case_id, timeout=20).status == "SUCCEEDED"
    assert firm.outcome_event(case_id)["detail"]["reasons"][0].startswith("ApprovalTimedOut:")
    assert firm.output(case_id)["outcome"] == "Onboarding Blocked"
    # Then the link is refused as expired
    status, page = post(url, csrf, LENA)
    assert (status, heading(page)) == (410, "Link expired")
    assert "expired" in refusals(firm, case_id)


def test_an_n_of_m_quorum_decides_only_at_n(firm: Firm, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given both lawyers must approve
    monkeypatch.setenv(
        "APPROVAL_POLICY", approval_policy(contract_review=legal_level(quorum=2, reject_quorum=2))
    )
    case_id = waiting_case(firm, 29)
    # When the first approves
    first = firm.link(LENA, case_id)
    status, page = post(first, csrf_of(http(first)[1]), LENA)
    # Then that is recorded and the case still waits for the second
    assert status == 200 and "1 of 2 approvals so far" in page
    assert firm.settle(case_id).current_state == "Ask legal to review the contract"
    assert firm.execution(case_id).status == "RUNNING"
    # When the second approves / Then the case moves on
    second = firm.link(OMAR, case_id)
    assert post(second, csrf_of(http(second)[1]), OMAR)[0] == 200
    assert firm.settle(case_id).status == "SUCCEEDED"


def test_delegation_routes_to_the_delegate_within_its_dates(
    firm: Firm, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given Lena is away and Ruth approves for her this month
    monkeypatch.setenv(
        "APPROVAL_POLICY",
        approval_policy(
            contract_review=legal_level(),
            delegations=[{"approver": LENA, "delegate": RUTH, "start": "2020-01-01", "end": "2099-12-31"}],
        ),
    )
    case_id = waiting_case(firm, 30)
    # Then Ruth, not Lena, got the e-mail, and says on whose behalf
    mail = firm.mail(RUTH, case_id)
    assert f"delegate of {LENA}" in mail.text
    assert not [m for m in firm.inbox(LENA) if case_id in m.text]
    # And her decision counts, recorded on Lena's behalf
    url = mail.approval_links[0]
    assert post(url, csrf_of(http(url)[1]), RUTH)[0] == 200
    [decided] = [r for r in firm.records(case_id) if r.action == "approval.decided"]
    assert (str(decided.actor), decided.data["on_behalf_of"]) == (f"user:{RUTH}", LENA)


def test_the_requester_cannot_approve_their_own_case(firm: Firm) -> None:
    # Given the deal's owner is a lawyer
    case_id = waiting_case(firm, 31, owner=LENA)
    # Then she got no link, and the request says why
    assert not [m for m in firm.inbox(LENA) if case_id in m.text]
    [requested] = [r for r in firm.records(case_id) if r.action == "approval.requested"]
    assert requested.data["approvers"] == [OMAR]
    assert any("cannot approve" in reason for reason in requested.reasons)
    # And using Omar's link as herself is refused
    url = firm.link(OMAR, case_id)
    assert post(url, csrf_of(http(url)[1]), LENA)[0] == 403
    assert_still_waiting(firm, case_id)


def test_a_reminder_replaces_the_links_and_the_old_one_dies_cleanly(firm: Firm) -> None:
    from datetime import UTC, datetime, timedelta

    from backoffice.approvals.wiring import approvals_from_env

    # Given a request that has waited longer than the reminder interval
    case_id = waiting_case(firm, 32)
    old = firm.link(LENA, case_id)
    approvals = approvals_from_env()
    approvals.clock = lambda: datetime.now(UTC) + timedelta(hours=25)
    # When the reminder schedule runs
    reminded = approvals.remind()
    # Then each waiting approver got a reminder with a fresh link, and the old link says it was replaced
    assert len(reminded) == 1
    reminder = firm.mail(LENA, case_id)
    assert reminder.subject.startswith("Reminder:") and reminder.approval_links[0] != old
    status, page = http(old)
    assert (status, heading(page)) == (410, "Link replaced")
    assert ("approval.reminded", "pending") in firm.actions(case_id)
    # And the fresh link decides
    fresh = reminder.approval_links[0]
    assert post(fresh, csrf_of(http(fresh)[1]), LENA)[0] == 200
    assert firm.settle(case_id).status == "SUCCEEDED"


def test_pending_and_decided_approvals_are_announced_on_the_notifications_topic(firm: Firm) -> None:
    import json as _json

    # Given an operator queue subscribed to the notifications topic
    sqs, sns = firm.runtime.client("sqs"), firm.runtime.client("sns")
    queue_url = sqs.create_queue(QueueName="approvals-watch")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    topic = next(
        t["TopicArn"] for t in sns.list_topics()["Topics"] if t["TopicArn"].endswith("notifications")
    )
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    # When a case waits for legal and legal approves
    case_id = waiting_case(firm, 33)
    url = firm.link(LENA, case_id)
    post(url, csrf_of(http(url)[1]), LENA)
    firm.settle(case_id)
    # Then operators heard of both, and no message carries a link
    bodies = [
        _json.loads(m["Body"])
        for m in sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)["Messages"]
    ]
    subjects = [b["Subject"] for b in bodies]
    assert any(s.startswith("Approval pending") for s in subjects)
    assert any(s.startswith("Approval approved") for s in subjects)
    assert not any("/approvals/" in b["Message"] for b in bodies)


def refused_comment(firm: Firm, case_id: str, url: str, page: str, comment: str) -> str:
    """Post a comment over the cap; assert the page refuses it and nothing is decided; return the page."""
    status, page = post(url, csrf_of(page), LENA, decision="reject", comment=comment)
    assert (
        status == 400 and f"Your comment has {len(comment):,} characters; at most 4,000 are accepted." in page
    )
    assert_still_waiting(firm, case_id)
    [refused] = [r for r in firm.records(case_id) if r.action == "approval.refused"]
    assert (str(refused.actor), refused.outcome) == (f"user:{LENA}", "comment_too_long")
    assert list(refused.reasons) == [
        f"the comment has {len(comment):,} characters; at most 4,000 are accepted"
    ]
    return page


def test_a_comment_over_the_cap_is_refused_on_the_page_and_the_approval_can_still_be_decided(
    firm: Firm,
) -> None:
    # Given a case waiting for legal, whose page says how long a comment may be (and the browser stops there)
    case_id = waiting_case(firm, 34)
    url = firm.link(LENA, case_id)
    page = http(url)[1]
    assert "At most 4,000 characters." in page and "maxlength='4000'" in page
    # When Lena posts a longer comment anyway (not through the page's textarea)
    # Then the page refuses it and says why, the refusal is on the trail (who, what, why), the case still waits
    page = refused_comment(firm, case_id, url, page, "x" * 4_500)
    # When she confirms again from the page it shows, with a comment at the cap (line breaks as a form sends them)
    comment = ("y" * 99 + "\r\n") * 40
    status, page = post(url, csrf_of(page), LENA, comment=comment)
    # Then her decision counts, the comment whole on the trail, and the case moves on
    assert (status, heading(page)) == (200, "You approved the request")
    [decided] = [r for r in firm.records(case_id) if r.action == "approval.decided"]
    assert list(decided.reasons) == [comment.replace("\r\n", "\n").strip()]
    assert firm.settle(case_id).status == "SUCCEEDED"


def test_a_300_kb_comment_is_refused_on_the_page_with_an_audit_record_and_the_case_is_not_harmed(
    firm: Firm,
) -> None:
    # Given a case waiting for legal
    case_id = waiting_case(firm, 36)
    url = firm.link(LENA, case_id)
    # When a 300 KB comment is posted through the edge as deployed (its web ACL included)
    # Then the page refuses it, saying how long a comment may be, with an audit record, and the case still waits
    page = refused_comment(firm, case_id, url, http(url)[1], "x" * 300 * 1024)
    # And the approval can still be decided
    status, page = post(url, csrf_of(page), LENA, comment="Fine by legal.")
    assert status == 200 and firm.settle(case_id).status == "SUCCEEDED"


def test_a_comment_at_the_cap_in_any_script_passes_the_edge(firm: Firm) -> None:
    # Given a case waiting for legal
    case_id = waiting_case(firm, 37)
    url = firm.link(LENA, case_id)
    # When Lena approves with a 4,000-character comment in Greek (what the page's textarea lets her type)
    status, _ = post(url, csrf_of(http(url)[1]), LENA, comment="λ" * 4_000)
    # Then it is accepted
    assert status == 200


def test_an_approver_field_longer_than_any_address_is_refused_without_harm(firm: Firm) -> None:
    # Given a case waiting for legal
    case_id = waiting_case(firm, 35)
    url = firm.link(LENA, case_id)
    # When someone types 6,000 characters into the e-mail field (under the edge's 8 KB)
    status, page = post(url, csrf_of(http(url)[1]), "a" * 6_000 + "@example-firm.com")
    # Then it is refused as someone else's link, and the audit keeps no more than an address's length of it
    assert (status, heading(page)) == (403, "Not your link")
    [refused] = [r for r in firm.records(case_id) if r.action == "approval.refused"]
    assert refused.outcome == "wrong_approver" and len(refused.actor.id) == 254
    assert_still_waiting(firm, case_id)
