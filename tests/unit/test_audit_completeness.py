"""Cases missing whole from the audit trail, named from their case-start claims and executions, without AWS: the
pure check, and the readers over in-memory stand-ins for DynamoDB's scan and Step Functions' list_executions."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from backoffice.audit_completeness import (
    CaseClaim,
    CaseExecutions,
    ExecutionRef,
    IdempotencyClaims,
    missing_trails,
)
from backoffice.cases import CLAIM_LEASE

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
LONG_AGO = NOW - timedelta(hours=3)
CASE = "onboard-006A"
MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:backoffice-onboarding"
EXECUTION = f"{MACHINE.replace(':stateMachine:', ':execution:')}:{CASE}"


def found(problems: list[Any]) -> list[tuple[str, int, str]]:
    return [(p.case_id, p.seq, p.kind) for p in problems]


def test_a_claim_older_than_the_lease_with_no_trail_is_a_case_missing() -> None:
    # Given a case-start claim from three hours ago, and no record or anchor of that case
    claims = [CaseClaim(CASE, LONG_AGO)]
    # When checked
    problems = missing_trails(claims, [], set(), set(), now=NOW)
    # Then the case is named missing, saying what shows it existed
    assert found(problems) == [(CASE, 1, "case missing")]
    assert problems[0].detail == (
        f"case-start claim of {LONG_AGO.isoformat()} exists, no audit record or anchor"
    )


def test_a_claim_within_its_lease_is_a_case_being_started_not_a_missing_one() -> None:
    # Given a claim made a moment ago: its delivery is starting the execution and has written nothing yet
    claims = [CaseClaim(CASE, NOW - CLAIM_LEASE + timedelta(seconds=1))]
    # When checked / Then nothing is reported
    assert missing_trails(claims, [], set(), set(), now=NOW) == []


def test_an_execution_with_no_trail_is_a_case_missing() -> None:
    # Given an execution started three hours ago whose case has neither records nor anchors (and no claim)
    executions = [ExecutionRef(CASE, EXECUTION, LONG_AGO)]
    # When checked
    problems = missing_trails([], executions, set(), set(), now=NOW)
    # Then the case is named missing, with the execution that shows it existed
    assert found(problems) == [(CASE, 1, "case missing")]
    assert problems[0].detail == f"execution {EXECUTION} exists, no audit record or anchor"


def test_a_claim_and_its_execution_are_named_together_once() -> None:
    # Given the claim recording its execution, and that execution listed too
    claims = [CaseClaim(CASE, LONG_AGO, execution_arn=EXECUTION)]
    executions = [ExecutionRef(CASE, EXECUTION, LONG_AGO)]
    # When checked / Then one problem names both, the execution once
    problems = missing_trails(claims, executions, set(), set(), now=NOW)
    assert [p.detail for p in problems] == [
        f"case-start claim of {LONG_AGO.isoformat()} and execution {EXECUTION} exist, no audit record or anchor"
    ]


def test_a_case_with_records_is_fine() -> None:
    # Given a claim and an execution of a case that has records in the trail
    claims = [CaseClaim(CASE, LONG_AGO, execution_arn=EXECUTION)]
    executions = [ExecutionRef(CASE, EXECUTION, LONG_AGO)]
    # When checked / Then nothing is reported
    assert missing_trails(claims, executions, {CASE}, set(), now=NOW) == []


def test_a_case_with_anchors_only_is_left_to_the_anchor_check() -> None:
    # Given a claim of a case whose records are gone but whose anchors remain (verify against anchors names it)
    claims = [CaseClaim(CASE, LONG_AGO)]
    # When checked / Then it is not reported a second time
    assert missing_trails(claims, [], set(), {CASE}, now=NOW) == []


def test_an_unreadable_claim_time_counts_as_old() -> None:
    # Given a claim whose time cannot be read (CaseStarter treats such a claim as stale too)
    claims = [CaseClaim(CASE, None)]
    # When checked / Then the case is named missing
    problems = missing_trails(claims, [], set(), set(), now=NOW)
    assert found(problems) == [(CASE, 1, "case missing")]
    assert problems[0].detail.startswith("case-start claim of ? exists")


# -- readers ---------------------------------------------------------------------------------------------------


class Pages:
    def __init__(self, pages: list[dict[str, Any]]) -> None:
        self.pages = pages
        self.calls: list[dict[str, Any]] = []

    def paginate(self, **params: Any) -> Iterator[dict[str, Any]]:
        self.calls.append(params)
        yield from self.pages


class InMemoryIdempotencyTable:
    """Scan pages as DynamoDB returns them after the filter (the filter itself is asserted on the call)."""

    def __init__(self, pages: list[list[dict[str, Any]]]) -> None:
        self.scan = Pages([{"Items": items} for items in pages])

    def get_paginator(self, operation: str) -> Pages:
        assert operation == "scan"
        return self.scan


class InMemoryStepFunctions:
    def __init__(
        self, executions: dict[str, list[dict[str, Any]]], inputs: dict[str, dict[str, Any]]
    ) -> None:
        self.by_machine = executions
        self.inputs = inputs
        self.described: list[str] = []

    def get_paginator(self, operation: str) -> Any:
        assert operation == "list_executions"
        sfn = self

        class ByMachine:
            def paginate(self, stateMachineArn: str) -> Iterator[dict[str, Any]]:
                executions = sfn.by_machine.get(stateMachineArn, [])
                # One execution a page: every page is read.
                for execution in executions:
                    yield {"executions": [execution]}

        return ByMachine()

    def describe_execution(self, executionArn: str) -> dict[str, Any]:
        self.described.append(executionArn)
        return {"executionArn": executionArn, "input": json.dumps(self.inputs[executionArn])}


def test_the_claims_reader_reads_every_page_of_case_claims() -> None:
    # Given case claims over two scan pages, one with its execution and one with an unreadable time
    table = InMemoryIdempotencyTable(
        [
            [
                {
                    "id": {"S": f"case#{CASE}"},
                    "claimed_at": {"S": LONG_AGO.isoformat()},
                    "event_id": {"S": "e1"},
                }
            ],
            [
                {
                    "id": {"S": "case#billing-2026-10"},
                    "claimed_at": {"S": "yesterday"},
                    "execution_arn": {"S": EXECUTION},
                }
            ],
        ]
    )
    # When the claims are read
    claims = list(IdempotencyClaims("idempotency", dynamodb=table).claims())
    # Then both pages' claims come back with their case ids, and the scan asked only for case claims
    assert claims == [
        CaseClaim(CASE, LONG_AGO),
        CaseClaim("billing-2026-10", None, execution_arn=EXECUTION),
    ]
    call = table.scan.calls[0]
    assert call["FilterExpression"] == "begins_with(#id, :prefix)"
    assert call["ExpressionAttributeValues"] == {":prefix": {"S": "case#"}}


def test_the_executions_reader_maps_a_resumed_attempt_to_its_case() -> None:
    # Given a case's first execution and its resumed attempt, and a case whose own key ends like an attempt
    first = {"name": CASE, "executionArn": EXECUTION, "startDate": LONG_AGO}
    resumed_arn = f"{EXECUTION}-r1"
    resumed = {"name": f"{CASE}-r1", "executionArn": resumed_arn, "startDate": NOW}
    lookalike_arn = f"{EXECUTION[: -len(CASE)]}onboard-deal-r2"
    lookalike = {"name": "onboard-deal-r2", "executionArn": lookalike_arn, "startDate": LONG_AGO}
    sfn = InMemoryStepFunctions(
        {MACHINE: [first, resumed, lookalike]},
        {resumed_arn: {"case_id": CASE}, lookalike_arn: {"case_id": "onboard-deal-r2"}},
    )
    # When the executions are read
    executions = list(CaseExecutions([MACHINE], sfn=sfn).executions())
    # Then each is mapped to its case (from its input where the name alone cannot tell)
    assert [(e.case_id, e.arn) for e in executions] == [
        (CASE, EXECUTION),
        (CASE, resumed_arn),
        ("onboard-deal-r2", lookalike_arn),
    ]
    assert sfn.described == [resumed_arn, lookalike_arn]
