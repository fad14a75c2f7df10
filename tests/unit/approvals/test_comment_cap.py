"""What a person may type into an approval: capped so that no comment can push a case past an AWS limit."""

from __future__ import annotations

import json

from backoffice.approvals import pages
from backoffice.approvals.page_model import COMMENT_MAX_CHARACTERS, Page
from backoffice.approvals.service import WORKFLOW_COMMENTS_BUDGET, comment_length, comments_for_workflow
from backoffice.approvals.store import LinkRecord, RequestRecord


def test_characters_are_counted_as_the_browser_counts_a_textareas_maxlength() -> None:
    # Given text a person may type
    # Then letters of any script count one, an emoji (outside the basic plane) two, as maxlength counts them
    assert comment_length("Zürich, Ελλάδα, 東京") == 18
    assert comment_length("ok 👍") == 5
    assert comment_length("") == 0


def test_comments_reach_the_workflow_whole_unless_together_they_pass_the_budget() -> None:
    # Given two approvers' comments at the cap, in plain text
    two = [f"a@x.com: {'x' * COMMENT_MAX_CHARACTERS}", f"b@x.com: {'y' * COMMENT_MAX_CHARACTERS}"]
    # Then they reach the workflow as written
    assert comments_for_workflow(two) == two
    assert comments_for_workflow([]) == []
    # Given eight approvers' comments at the cap in a script JSON escapes (six bytes a character)
    many = [f"approver{i}@x.com: {'λ' * COMMENT_MAX_CHARACTERS}" for i in range(8)]
    assert len(json.dumps(many)) > 7 * WORKFLOW_COMMENTS_BUDGET
    # When they go to the workflow
    shortened = comments_for_workflow(many)
    # Then each is shortened alike and marked, all of them still there, and together within the budget
    assert len(shortened) == 8 and all(c.endswith(" […]") for c in shortened)
    assert [c[:18] for c in shortened] == [c[:18] for c in many]
    assert len(json.dumps(shortened).encode()) <= WORKFLOW_COMMENTS_BUDGET


def confirmation(message: str | None = None) -> str:
    request = RequestRecord(
        request_id="r1",
        case_id="onboard-1",
        workflow="onboarding",
        step="contract review",
        route="contract_review",
        rule="legal",
        level_index=0,
        level_count=1,
        level_name="legal review",
        quorum=1,
        approvers=["lena@x.com"],
        on_behalf_of={},
        requested_by="alex@x.com",
        subject={"title": "Contract of Acme"},
        payload_hash="h",
        task_token="t",
        status="PENDING",
        created_at="2026-12-06T10:00:00+00:00",
        expires_at="2026-12-08T10:00:00+00:00",
    )
    link = LinkRecord(link_hash="l", request_id="r1", approver="lena@x.com", status="PENDING", created_at="")
    return pages.render(Page("confirm", 200, request=request, link=link, csrf="token", message=message))


def test_the_confirmation_page_says_how_long_a_comment_may_be_and_the_textarea_stops_there() -> None:
    # When the confirmation page is rendered
    page = confirmation()
    # Then the comment box is capped and says so
    assert "<textarea id='comment' name='comment' rows='3' maxlength='4000'" in page
    assert "At most 4,000 characters." in page
    # And a refusal's message is shown above the form, which is offered again
    refused = confirmation("Your comment has 4,500 characters; at most 4,000 are accepted.")
    assert "Your comment has 4,500 characters" in refused and "name='csrf' value='token'" in refused
