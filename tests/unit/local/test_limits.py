"""The table of AWS limits and the checks the local runtime makes with it (no AWS, no moto backends)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from botocore.exceptions import ClientError

from backoffice.local.limits import (
    HISTORY_EVENTS,
    LAMBDA_ASYNC_REQUEST,
    LAMBDA_RESPONSE,
    LAMBDA_SYNC_REQUEST,
    LIMITS,
    attributes_size,
    check_lambda_request,
    enforce_limits,
    event_entry_size,
    history_report,
    lambda_request_error,
    lambda_response_error,
)


def test_every_limit_names_its_aws_page_the_error_aws_gives_and_who_enforces_it() -> None:
    # Given the table
    # Then each row comes from an AWS page, says AWS's error, and no row is listed twice
    for limit in LIMITS:
        assert limit.source.startswith("https://docs.aws.amazon.com/"), limit
        assert limit.error and limit.enforced_by
    assert len({(limit.service, limit.what) for limit in LIMITS}) == len(LIMITS)
    # And the values are AWS's, in bytes where they are sizes
    values = {(limit.service, limit.error): limit.value for limit in LIMITS}
    assert values[("Step Functions", "States.DataLimitExceeded")] == 262_144
    assert values[("SNS", "InvalidParameter")] == 262_144
    assert values[("SQS", "InvalidParameterValue")] == 1_048_576
    assert values[("EventBridge", "ValidationException")] == 1_048_576
    assert values[("DynamoDB", "ValidationException")] == 409_600
    assert values[("Lambda", "Function.ResponseSizeTooLarge")] == 6_291_556
    assert LAMBDA_SYNC_REQUEST.value == 6_291_456 and LAMBDA_ASYNC_REQUEST.value == 1_048_576
    assert HISTORY_EVENTS.value == 25_000


def test_an_event_entry_is_measured_as_eventbridge_measures_it() -> None:
    # Given an entry with a time, multi-byte text and resources
    detail = json.dumps({"client": "Zürich AG"}, ensure_ascii=False)
    entry = {
        "Time": "2026-12-06T10:00:00Z",
        "Source": "crm.salesforce",
        "DetailType": "Opportunity Closed Won",
        "Detail": detail,
        "Resources": ["arn:aws:s3:::b", None],
    }
    # Then Time counts 14 bytes and the rest their UTF-8 bytes (the ü is two)
    assert event_entry_size(entry) == 14 + 14 + 22 + (len(detail) + 1) + 14


def test_message_attributes_count_name_type_and_value() -> None:
    # Given SQS- and SNS-style attributes
    attributes = {"kind": {"DataType": "String", "StringValue": "approval.pending"}, "n": {"Type": "Number"}}
    # Then each counts its name and every text in it
    assert attributes_size(attributes) == 4 + 6 + 16 + 1 + 6
    assert attributes_size(None) == 0


def test_a_lambda_request_over_its_limit_is_refused_with_lambdas_413() -> None:
    # Given payloads at and just over each limit
    at_sync, over_sync = b"x" * LAMBDA_SYNC_REQUEST.value, b"x" * (LAMBDA_SYNC_REQUEST.value + 1)
    over_async = "x" * (LAMBDA_ASYNC_REQUEST.value + 1)
    # Then at the limit the call goes through
    check_lambda_request(at_sync, asynchronous=False)
    # And over it Lambda's error is raised, naming the operation as Lambda does
    with pytest.raises(ClientError) as sync:
        check_lambda_request(over_sync, asynchronous=False)
    assert sync.value.response["Error"] == {
        "Code": "RequestEntityTooLargeException",
        "Message": "Request must be smaller than 6291456 bytes for the InvokeFunction operation",
    }
    assert sync.value.response["ResponseMetadata"]["HTTPStatusCode"] == 413
    with pytest.raises(ClientError) as asynchronous:
        check_lambda_request(over_async, asynchronous=True)
    assert "1048576 bytes for the InvokeAsync operation" in str(asynchronous.value)
    # And callers without boto3 get it as an error payload
    assert lambda_request_error({"padding": "x" * LAMBDA_SYNC_REQUEST.value}) == {
        "errorType": "RequestEntityTooLargeException",
        "errorMessage": "Request must be smaller than 6291456 bytes for the InvokeFunction operation",
    }
    assert lambda_request_error({"ok": True}) is None


def test_a_lambda_response_over_6_mb_is_a_function_error() -> None:
    # Given a result just over the response limit, and one well under it
    assert lambda_response_error({"padding": "x" * LAMBDA_RESPONSE.value}) == {
        "errorType": "Function.ResponseSizeTooLarge",
        "errorMessage": "Response payload size exceeded maximum allowed payload size (6291556 bytes).",
    }
    assert lambda_response_error({"case_id": "onboard-1"}) is None


@dataclass(frozen=True)
class Execution:
    name: str
    arn: str


class FakeHistory:
    """get_execution_history of executions with a given number of events."""

    def __init__(self, events: dict[str, int]) -> None:
        self.events = events

    def get_execution_history(self, executionArn: str, maxResults: int) -> dict[str, Any]:
        return {"events": [{}] * self.events[executionArn]}


def test_the_run_summary_warns_from_80_percent_of_the_history_limit() -> None:
    # Given a billing run near AWS's 25,000 history events and a small case
    sfn = FakeHistory({"arn:run": 20_000, "arn:case": 40})
    executions = [Execution("invoicing-2026-10", "arn:run"), Execution("onboard-7", "arn:case")]
    # When the summary is made
    lines = history_report(sfn, executions)
    # Then it names the longest history, and warns about the run only
    assert lines == [
        "history events       longest 20,000 of 25,000 AWS allows (invoicing-2026-10)",
        "!! invoicing-2026-10 has 20,000 history events, 80% of the 25,000 at which AWS fails an execution",
    ]
    # And below 80% there is no warning
    assert len(history_report(FakeHistory({"arn:run": 19_999}), executions[:1])) == 1
    assert history_report(sfn, []) == []


def test_enforcement_is_undone_to_motos_own_methods() -> None:
    from moto.events.models import EventsBackend
    from moto.events.responses import EventsHandler
    from moto.sns.models import SNSBackend
    from moto.sqs.models import SQSBackend
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend

    # Given moto's methods
    methods = [
        (EventsHandler, "put_events"),
        (EventsBackend, "put_events"),
        (SQSBackend, "send_message"),
        (SNSBackend, "publish"),
        (StepFunctionsParserBackend, "send_task_success"),
        (StepFunctionsParserBackend, "start_execution"),
    ]
    before = [getattr(cls, name) for cls, name in methods]
    # When the limits are enforced, then undone
    enforcement = enforce_limits()
    assert all(
        getattr(cls, name) is not original for (cls, name), original in zip(methods, before, strict=True)
    )
    enforcement.undo()
    # Then moto's own methods are back
    assert [getattr(cls, name) for cls, name in methods] == before
