"""Approvals that ask what is to be done: the choices come with the subject, approving means choosing one."""

from __future__ import annotations

from backoffice.approvals import pages
from backoffice.approvals.page_model import Page
from backoffice.approvals.resolutions import refusal, resolutions_of
from backoffice.approvals.store import LinkRecord, RequestRecord

SUBJECT = {
    "title": "Finding RC3 on INV-2026-00012",
    "resolutions": [
        {"value": "acknowledge", "label": "Acknowledge"},
        {"value": "fix_in_psa", "label": "Fix in the PSA"},
        {"value": "write_off", "label": "Write off", "reason_required": True},
    ],
}


def test_a_plain_approval_offers_no_choices_and_needs_none() -> None:
    # Given a subject without resolutions
    # Then approve and reject are taken as they are
    assert resolutions_of({"title": "Invoice"}) == ()
    assert refusal({"title": "Invoice"}, "approve", "", "") is None
    assert refusal({"title": "Invoice"}, "approve", "write_off", "") is None


def test_approving_a_request_with_choices_needs_one_of_them() -> None:
    # When the approver approves without a choice, or with one the request did not offer
    # Then the page asks again, naming the choices
    assert (
        refusal(SUBJECT, "approve", "", "")
        == "Choose what is to be done: Acknowledge, Fix in the PSA, Write off."
    )
    assert refusal(SUBJECT, "approve", "delete_invoice", "") is not None
    # And a choice the request offers is taken
    assert refusal(SUBJECT, "approve", "fix_in_psa", "") is None
    # And rejecting needs no choice
    assert refusal(SUBJECT, "reject", "", "not mine") is None


def test_a_write_off_needs_its_reason() -> None:
    assert (
        refusal(SUBJECT, "approve", "write_off", "  ")
        == "Please give the reason in the comment: Write off needs one."
    )
    assert refusal(SUBJECT, "approve", "write_off", "client dispute settled at 90%") is None


def test_the_confirmation_page_offers_the_choices() -> None:
    # Given a request with choices
    request = RequestRecord(
        request_id="r1",
        case_id="reconcile-2026-10",
        workflow="reconciliation",
        step="finding review",
        route="reconciliation_findings",
        rule="billing",
        level_index=0,
        level_count=1,
        level_name="billing review",
        quorum=1,
        approvers=["fin@x.com"],
        on_behalf_of={},
        requested_by="reconciliation",
        subject=SUBJECT,
        payload_hash="h",
        task_token="t",
        status="PENDING",
        created_at="2026-12-06T10:00:00+00:00",
        expires_at="2026-12-08T10:00:00+00:00",
    )
    link = LinkRecord(link_hash="l", request_id="r1", approver="fin@x.com", status="PENDING", created_at="")
    # When the page is rendered
    page = pages.render(Page("confirm", 200, request=request, link=link, csrf="token"))
    # Then each choice is a radio of the form, the one needing a reason says so
    assert "name='resolution' value='acknowledge'> Acknowledge" in page
    assert "name='resolution' value='write_off'> Write off (reason required)" in page


def test_approvers_of_one_level_must_agree_on_what_is_done() -> None:
    # Given an earlier approver of the level chose to fix it in the PSA
    # When another approves with a write-off, the page refuses, naming the earlier choice
    assert refusal(SUBJECT, "approve", "write_off", "bad debt", chosen_before="fix_in_psa") == (
        "Another approver of this level chose: Fix in the PSA. Approve with the same choice, or reject and say why. "
        "Nothing was decided."
    )
    # And the same choice, or a rejection, is taken
    assert refusal(SUBJECT, "approve", "fix_in_psa", "", chosen_before="fix_in_psa") is None
    assert refusal(SUBJECT, "reject", "", "no", chosen_before="fix_in_psa") is None
