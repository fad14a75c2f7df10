"""How the weekly review's request routes: the amount rules read when a report mixes currencies, and a firm
without expense approvers (the second reviewer's findings on #21)."""

from __future__ import annotations

from datetime import date

from backoffice.anomaly import AnomalyPolicy
from backoffice.approvals.policy import ApprovalPolicy, as_facts
from backoffice.approvals.routing import route_level, select_rule
from backoffice.models import ExpenseEntry
from backoffice.time_expense.review import _subject

SUBMITTED = {
    "worker_id": "W-7",
    "expense_ids": ["EX-1", "EX-2"],
    "report_id": "ER-1",
    "submitted_at": "2026-12-04T17:00:00+00:00",
}


def expense(line_id: str, amount: str, currency: str) -> ExpenseEntry:
    return ExpenseEntry.from_json_dict(
        {
            "id": line_id,
            "worker_id": "W-7",
            "project_id": "P-1",
            "expense_date": "2026-12-01",
            "expense_type": "lodging",
            "amount": amount,
            "currency": currency,
            "status": "submitted",
        }
    )


def test_a_report_in_two_currencies_routes_on_its_total_in_the_scorers_currency() -> None:
    from backoffice.time_expense.review import ExpenseReportSubmitted

    # Given a report flagged on a USD 600 hotel and a EUR 500 one, EUR at 1.10 USD
    detail = ExpenseReportSubmitted.from_json_dict(SUBMITTED)
    lines = [expense("EX-1", "600.00", "USD"), expense("EX-2", "500.00", "EUR")]
    policy = AnomalyPolicy(currency="USD", fx_rates={"EUR": 1.10})
    # When its approval subject is made
    subject = _subject(detail, "expense_report", lines, {}, {}, {}, None, policy)
    # Then it carries USD 1,150.00, so that a firm's amount rule matches it
    assert (subject["amount"], subject["currency"]) == ("1150.00", "USD")
    firm = ApprovalPolicy.model_validate(
        {
            "groups": {"p": ["partner@firm.com"]},
            "routes": {
                "time_expense_review": [
                    {
                        "name": "large",
                        "when": {"min_amount": "1000"},
                        "levels": [{"name": "partner", "group": "p"}],
                    },
                    {
                        "name": "small",
                        "when": {"max_amount": "1000"},
                        "levels": [{"name": "p2", "group": "p"}],
                    },
                ]
            },
        }
    )
    rule = select_rule(firm, "time_expense_review", as_facts(subject))
    assert rule is not None and rule.name == "large"


def test_without_an_expense_approver_the_project_managers_approval_is_the_whole_review() -> None:
    # Given a firm with no expense approvers: the subject read_and_score gives an expense report then
    policy = ApprovalPolicy.model_validate(
        {"groups": {"engagement_partners": ["partner@firm.com"]}, "routes": {}}
    )
    subject = {
        "owner": "expenses, no expense approver",
        "approvers": {
            "project_manager": ["pm@firm.com"],
            "expense_approver": ["pm@firm.com"],
            "reviewers": ["partner@firm.com"],
        },
    }
    # When it is routed / Then the one-level rule takes it: the manager decides, and no level asks them again
    rule = select_rule(policy, "time_expense_review", as_facts(subject))
    assert rule is not None and len(rule.levels) == 1
    level = route_level(
        policy,
        rule,
        0,
        requested_by="w-7@firm.com",
        decided_earlier=frozenset(),
        today=date(2026, 12, 7),
        subject_groups=subject["approvers"],
    )
    assert [a.email for a in level.approvers] == ["pm@firm.com"]
