"""The weekly review's events, case ids and attempts, and the approval levels whose approvers the case names
(no AWS)."""

from __future__ import annotations

from datetime import date

import pytest

from backoffice.approvals.policy import ApprovalFacts, ApprovalPolicy
from backoffice.approvals.routing import NoEligibleApprovers, route_level, select_rule
from backoffice.cases import attempt_of, case_id_for, execution_name_for
from backoffice.models import InvalidEvent, parse_event
from infra.catalog import CATALOG


def _event(detail_type: str, detail: dict[str, object], event_id: str = "e-1") -> dict[str, object]:
    return {
        "version": "0",
        "id": event_id,
        "detail-type": detail_type,
        "source": "psa.certinia",
        "account": "111122223333",
        "time": "2026-12-04T17:30:00Z",
        "region": "eu-west-1",
        "resources": [],
        "detail": detail,
    }


WEEK = {"worker_id": "W-005", "week_start": "2026-11-30", "week_end": "2026-12-06"}


def test_a_timesheets_case_is_the_worker_week_and_its_attempt_the_submission() -> None:
    # Given the catalog's rule and two submissions of one week: the first, and a resubmission
    rule = CATALOG.rule("timesheet_submitted")
    first = _event(
        "Timesheet Submitted", {**WEEK, "submitted_at": "2026-12-04T17:30:00Z", "submission_id": "S-1"}
    )
    again = _event(
        "Timesheet Submitted", {**WEEK, "submitted_at": "2026-12-07T09:00:00Z", "submission_id": "S-2"}
    )
    # When the case ids and attempts are derived
    case = case_id_for(rule.execution_prefix, first, rule.case_key)
    # Then both are the same worker-week case, each its own attempt, and the second runs under its own name
    assert case == case_id_for(rule.execution_prefix, again, rule.case_key) == "timesheet-W-005-2026-11-30"
    assert attempt_of(first, rule.attempt_key) == "S-1#2026-12-04T17:30:00Z"
    assert attempt_of(again, rule.attempt_key) == "S-2#2026-12-07T09:00:00Z"
    # And a PSA that keeps the sheet's id when the corrected sheet comes again still makes a new attempt of it
    kept = _event(
        "Timesheet Submitted", {**WEEK, "submitted_at": "2026-12-07T09:00:00Z", "submission_id": "S-1"}
    )
    assert attempt_of(kept, rule.attempt_key) != attempt_of(first, rule.attempt_key)
    name = execution_name_for(case, "S-2")
    assert name.startswith(f"{case}-s") and len(name) == len(case) + 10
    # And a PSA that sends no submission id tells attempts apart by the submission time
    bare = _event("Timesheet Submitted", {**WEEK, "submitted_at": "2026-12-04T17:30:00Z"})
    assert attempt_of(bare, rule.attempt_key) == "2026-12-04T17:30:00Z"


def test_an_expense_reports_case_is_the_report() -> None:
    rule = CATALOG.rule("expense_report_submitted")
    event = _event(
        "Expense Report Submitted",
        {
            "report_id": "ER-7",
            "worker_id": "W-007",
            "expense_ids": ["EX-1"],
            "submitted_at": "2026-12-04T17:30:00Z",
        },
    )
    assert case_id_for(rule.execution_prefix, event, rule.case_key) == "expense-report-ER-7"
    _, detail = parse_event(event)
    assert detail.expense_ids == ["EX-1"]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "change",
    [
        {"week_end": "2026-11-29"},  # before its start
        {"week_end": "2026-12-13"},  # two weeks
        {"submitted_at": "2026-12-04T17:30:00"},  # no time zone
    ],
)
def test_a_timesheet_event_that_is_not_one_week_is_refused(change: dict[str, str]) -> None:
    event = _event("Timesheet Submitted", {**WEEK, "submitted_at": "2026-12-04T17:30:00Z", **change})
    with pytest.raises(InvalidEvent):
        parse_event(event)


POLICY = ApprovalPolicy.model_validate({"groups": {"finance": ["fin@example.com"]}, "routes": {}})


def test_flagged_time_goes_to_the_manager_the_case_names() -> None:
    # Given a firm whose policy has no time and expense route, and a subject naming the project's manager
    subject = {
        "owner": "time",
        "approvers": {"project_manager": ["PM@Example.com"], "reviewers": ["partner@example.com"]},
    }
    # When the review's route is chosen and its first level routed
    rule = select_rule(POLICY, "time_expense_review", ApprovalFacts(owner="time"))
    assert rule is not None and len(rule.levels) == 1
    routed = route_level(
        POLICY, rule, 0, requested_by=None, decided_earlier=frozenset(), today=date(2026, 12, 4),
        subject_groups=subject["approvers"],
    )  # fmt: skip
    # Then the manager is asked; escalation goes to the reviewers
    assert [a.email for a in routed.approvers] == ["pm@example.com"]
    escalated = route_level(
        POLICY, rule, 0, requested_by=None, decided_earlier=frozenset(), today=date(2026, 12, 4),
        escalated=True, subject_groups=subject["approvers"],
    )  # fmt: skip
    assert [a.email for a in escalated.approvers] == ["partner@example.com"]


def test_flagged_expenses_go_to_the_manager_then_the_expense_approver() -> None:
    rule = select_rule(POLICY, "time_expense_review", ApprovalFacts(owner="expenses"))
    assert rule is not None
    assert [level.name for level in rule.levels] == ["project manager review", "expense approval"]


def test_nobody_approves_their_own_time() -> None:
    # Given a week whose only named manager is the worker who submitted it
    rule = select_rule(POLICY, "time_expense_review", ApprovalFacts(owner="time"))
    assert rule is not None
    # When the level is routed with the worker as the requester / Then nobody is eligible
    with pytest.raises(NoEligibleApprovers):
        route_level(
            POLICY, rule, 0, requested_by="pm@example.com", decided_earlier=frozenset(), today=date(2026, 12, 4),
            subject_groups={"project_manager": ["pm@example.com"]},
        )  # fmt: skip


def test_a_firms_own_route_of_the_name_wins_over_the_default() -> None:
    own = ApprovalPolicy.model_validate(
        {
            "groups": {"finance": ["fin@example.com"]},
            "routes": {
                "time_expense_review": [
                    {"name": "finance sees all", "levels": [{"name": "f", "group": "finance"}]}
                ]
            },
        }
    )
    rule = select_rule(own, "time_expense_review", ApprovalFacts(owner="time"))
    assert rule is not None and rule.name == "finance sees all"


def test_a_firm_document_may_configure_the_review_and_name_the_cases_people_in_its_routes() -> None:
    # Given the sample firm's document with the review's section and a route of its own for the review
    import json

    from backoffice.firm_config import FirmConfig
    from infra.firm_document import SAMPLE_CONFIG

    document = json.loads(SAMPLE_CONFIG.read_text())
    document["time_expense_review"] = {"auto_approve_clean": False, "expense_approver_group": "finance"}
    document["approval_policy"]["routes"]["time_expense_review"] = [
        {
            "name": "managers",
            "levels": [{"name": "m", "group": "subject:project_manager", "escalate_to": "finance"}],
        }
    ]
    # When the deploy validates it / Then it is accepted as written
    config = FirmConfig.model_validate(document)
    assert config.time_expense_review is not None and config.time_expense_review.auto_approve_clean is False
    # And a group that is neither the firm's nor the case's is still refused
    document["approval_policy"]["routes"]["time_expense_review"][0]["levels"][0]["group"] = "nobody"
    with pytest.raises(ValueError, match="unknown group 'nobody'"):
        FirmConfig.model_validate(document)
