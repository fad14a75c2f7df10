"""Plain domain functions of the first path: case ids, outcome reasons, onboarding intake (no AWS)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from backoffice.audit import Actor
from backoffice.cases import CaseCannotResume, case_id_for, resume_case
from backoffice.local.runtime import UnresolvedPlaceholder, substitute
from backoffice.local.samples import closed_won_detail
from backoffice.models import OpportunityClosedWon
from backoffice.onboarding.intake import deal_summary, reasons_not_onboardable
from backoffice.outcomes import reasons_from_error
from backoffice.settings import AuditSettings, MissingSettings, from_env


def test_the_case_id_is_the_business_key_so_redelivery_finds_the_same_case() -> None:
    # Given two deliveries of one opportunity with different event ids
    first = {"id": "e-1", "detail": {"opportunity": {"id": "006Dn000001"}}}
    second = {"id": "e-2", "detail": {"opportunity": {"id": "006Dn000001"}}}
    # When case ids are derived / Then they are equal and readable in the console
    assert case_id_for("onboard", first, "detail.opportunity.id") == "onboard-006Dn000001"
    assert case_id_for("onboard", second, "detail.opportunity.id") == "onboard-006Dn000001"


def test_the_case_id_falls_back_to_the_event_id_and_stays_a_valid_execution_name() -> None:
    # Given an event without the business key, and one whose key has characters Step Functions refuses
    no_key = {"id": "3f2a-77", "detail": {}}
    odd_key = {"id": "x", "detail": {"opportunity": {"id": "ACME/2026 #7" + "9" * 100}}}
    # Then the event id is used, and names are cleaned and capped at 80 characters
    assert case_id_for("onboard", no_key, "detail.opportunity.id") == "onboard-3f2a-77"
    name = case_id_for("onboard", odd_key, "detail.opportunity.id")
    assert name.startswith("onboard-ACME-2026-7") and len(name) == 80
    assert all(c.isalnum() or c in "-_" for c in name)


def test_reasons_come_from_the_lambda_error_message_not_its_stack() -> None:
    # Given a Catch result of a failed Lambda task
    cause = json.dumps(
        {"errorType": "OpportunityNotOnboardable", "errorMessage": "amount missing", "stackTrace": []}
    )
    # When reasons are extracted / Then the person reads the error name and message only
    assert reasons_from_error({"Error": "OpportunityNotOnboardable", "Cause": cause}) == [
        "OpportunityNotOnboardable: amount missing"
    ]
    assert reasons_from_error({"Error": "States.Timeout", "Cause": "not json"}) == [
        "States.Timeout: not json"
    ]
    assert reasons_from_error(None) == []


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"is_won": False, "stage_name": "Closed Lost"}, "is not closed-won"),
        ({"amount": "0"}, "has no positive amount"),
    ],
)
def test_an_opportunity_that_is_not_onboardable_says_why(change: dict[str, object], reason: str) -> None:
    # Given a deal with one thing wrong
    detail = closed_won_detail(1)
    detail["opportunity"].update(change)
    deal = OpportunityClosedWon.from_json_dict(detail)
    # Then the reason names it
    [found] = reasons_not_onboardable(deal)
    assert reason in found


def test_a_frozen_client_blocks_onboarding() -> None:
    detail = closed_won_detail(1)
    detail["client"]["is_frozen"] = True
    assert any("frozen" in r for r in reasons_not_onboardable(OpportunityClosedWon.from_json_dict(detail)))


def test_the_deal_summary_carries_ids_and_figures_only() -> None:
    detail = closed_won_detail(2)
    summary = deal_summary(OpportunityClosedWon.from_json_dict(detail))
    assert summary["opportunity"]["id"] == detail["opportunity"]["id"]
    assert summary["opportunity"]["amount"] == detail["opportunity"]["amount"]
    assert set(summary["client"]) == {"name"}


def test_substitution_fills_every_placeholder_and_refuses_an_unknown_one() -> None:
    assert (
        substitute('{"F": "${A}", "G": "${B}"}', {"A": "arn:1", "B": "arn:2"})
        == '{"F": "arn:1", "G": "arn:2"}'
    )
    with pytest.raises(UnresolvedPlaceholder, match="MissingArn"):
        substitute('{"F": "${MissingArn}"}', {})


def test_a_mis_wired_function_fails_at_cold_start_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("AUDIT_TABLE_NAME", raising=False)
    monkeypatch.setenv("EVENT_BUS_NAME", "backoffice")
    with pytest.raises(MissingSettings, match="AUDIT_TABLE_NAME"):
        from_env(AuditSettings)


def test_a_case_id_can_join_a_readable_name_and_the_event_id_within_80_characters() -> None:
    # Given a vendor request with a long legal name
    event = {
        "id": "6f14e906-6055-4831-8665-1d2a3b4c5d6e",
        "detail": {"vendor_legal_name": "Harbor & Pine " * 8},
    }
    # When its case id is derived from the name and the event id
    name = case_id_for("vendor", event, "detail.vendor_legal_name+id")
    # Then it starts with the readable name, ends with the whole event id, and fits Step Functions' limit
    assert name.startswith("vendor-Harbor-Pine-") and name.endswith("-" + event["id"])
    assert len(name) <= 80


def test_the_state_form_of_an_event_leaves_its_secrets_out_and_still_validates() -> None:
    # Given a won deal whose client carries a tax id
    raw = closed_won_detail(1)
    raw["client"]["tax_id"] = "91-1144442"
    detail = OpportunityClosedWon.from_json_dict(raw)
    assert detail.client.tax_id is not None
    # When it is put in the form executions carry
    state = detail.to_state_dict()
    # Then the tax id is not there, masked or otherwise, and the rest reads back as the same deal
    assert "tax_id" not in state["client"]
    assert "1144442" not in json.dumps(state)
    again = OpportunityClosedWon.from_json_dict(state)
    assert again.client.tax_id is None
    assert again.model_copy(update={"client": detail.client}) == detail


class _Executions:
    """An in-memory Step Functions with one ended attempt of a case: what ``resume_case`` reads and starts."""

    def __init__(self, status: str, output: dict[str, Any]) -> None:
        self.attempt = {
            "name": "onboard-006",
            "executionArn": "arn:aws:states:us-east-1:1:execution:onboarding:onboard-006",
            "status": status,
            "startDate": datetime(2026, 12, 1, tzinfo=UTC),
        }
        self.output = output
        self.started: list[str] = []
        self.audited: list[list[str]] = []

    def get_paginator(self, _: str) -> Any:
        executions = self

        class Pages:
            def paginate(self, **_: Any) -> list[dict[str, Any]]:
                return [{"executions": [executions.attempt]}]

        return Pages()

    def describe_execution(self, executionArn: str) -> dict[str, Any]:
        return {"input": "{}", "output": json.dumps(self.output), "status": self.attempt["status"]}

    def start_execution(self, **request: Any) -> dict[str, str]:
        self.started.append(request["name"])
        return {"executionArn": f"arn:aws:states:us-east-1:1:execution:onboarding:{request['name']}"}

    def append(self, **record: Any) -> None:
        self.audited.append(list(record["reasons"]))


def _resume(executions: _Executions) -> str:
    return resume_case(
        sfn=executions,
        audit=executions,  # type: ignore[arg-type]
        state_machine_arn="arn:aws:states:us-east-1:1:stateMachine:onboarding",
        workflow="onboarding",
        case_id="onboard-006",
        actor=Actor.user("ops@example-firm.com"),
        reason="SOW attached",
    )


def test_a_case_a_business_decision_stopped_resumes_though_its_execution_succeeded() -> None:
    # Given a case blocked for a business reason: its execution SUCCEEDED with the blocked outcome as its output
    executions = _Executions(
        "SUCCEEDED", {"outcome": "Onboarding Blocked", "reasons": ["x"], "resumable": True}
    )
    # When an operator resumes it
    _resume(executions)
    # Then a second attempt starts, and the trail says how the first one ended
    assert executions.started == ["onboard-006-r1"]
    assert executions.audited[0][1] == "attempt 2; previous onboard-006 ended SUCCEEDED (Onboarding Blocked)"


def test_a_completed_case_does_not_resume_a_technical_fault_does() -> None:
    # Given a case that completed (its output is the workflow's state, not a blocked outcome)
    completed = _Executions("SUCCEEDED", {"outcome": {"outcome": "Project Onboarded", "event_id": "e"}})
    # Then it cannot be resumed
    with pytest.raises(CaseCannotResume, match="already completed"):
        _resume(completed)
    # While a case a technical fault stopped (FAILED) can
    failed = _Executions("FAILED", {})
    _resume(failed)
    assert failed.started == ["onboard-006-r1"]
