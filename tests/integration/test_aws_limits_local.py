"""AWS's size limits on the local runtime: what AWS refuses is refused here, with the error AWS answers with.

The values come from the one table (``backoffice.local.limits``); each test goes one byte past a limit through the
same clients the handlers use, or through a real workflow.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from backoffice.local import lambdas
from backoffice.local.limits import (
    EVENT_ENTRIES,
    LAMBDA_ASYNC_REQUEST,
    LAMBDA_RESPONSE,
    LAMBDA_SYNC_REQUEST,
    SEND_TASK_SUCCESS_OUTPUT,
    SNS_MESSAGE,
    SQS_MESSAGE,
    START_EXECUTION_INPUT,
    history_report,
)
from backoffice.local.runtime import LocalRuntime
from backoffice.local.samples import Deal, new_client
from infra.catalog import LambdaFunction, Ref
from tests.integration.conftest import Firm


def returning(monkeypatch: pytest.MonkeyPatch, function: str, result: Any) -> None:
    """Make one catalog function's handler return ``result`` (its module is loaded when first invoked)."""
    load = lambdas.load_handler_module

    def load_with_result(spec: LambdaFunction) -> Any:
        module = load(spec)
        if spec.name == function:
            monkeypatch.setattr(module, "handler", lambda event, context: result)
        return module

    monkeypatch.setattr(lambdas, "load_handler_module", load_with_result)


def failures(runtime: LocalRuntime, execution_arn: str) -> list[str]:
    events = runtime.client("stepfunctions").get_execution_history(executionArn=execution_arn)["events"]
    return [
        details["error"]
        for event in events
        for key, details in event.items()
        if key.endswith("FailedEventDetails") and isinstance(details, dict) and "error" in details
    ]


def test_a_handler_returning_more_than_256_kb_fails_its_task_with_data_limit_exceeded(
    runtime: LocalRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the first step of onboarding returns 300 KB (moto's engine enforces the state payload quota)
    returning(monkeypatch, "validate_opportunity", {"padding": "x" * 300 * 1024})
    firm = Firm(runtime)
    # When a deal is won
    case_id = firm.win(Deal(61, new_client(61)))
    execution = firm.finish(case_id)
    # Then the task failed with the error AWS gives, and the case went no further
    assert "States.DataLimitExceeded" in failures(runtime, execution.arn)
    assert "fetch_statement_of_work" not in {i.function for i in runtime.lambdas.invocations}
    # And the run summary counts its history against the 25,000 events AWS allows, with no warning
    [line] = history_report(runtime.client("stepfunctions"), [execution])
    assert line.startswith("history events       longest ") and line.endswith(
        f"of 25,000 AWS allows ({case_id})"
    )


def test_put_events_refuses_reserved_sources_and_oversized_requests(runtime: LocalRuntime) -> None:
    events = runtime.client("events")
    bus = runtime.catalog.event_bus
    # When a caller puts an event as an AWS service would, next to an ordinary one
    response = events.put_events(
        Entries=[
            {"EventBusName": bus, "Source": "aws.s3", "DetailType": "Object Created", "Detail": "{}"},
            {"EventBusName": bus, "Source": "tests.limits", "DetailType": "Limit Probe", "Detail": "{}"},
        ]
    )
    # Then that entry is refused as AWS refuses it, and only the other reaches the bus
    assert response["FailedEntryCount"] == 1
    assert response["Entries"][0] == {
        "ErrorCode": "NotAuthorizedForSourceException",
        "ErrorMessage": "Not authorized for the source.",
    }
    assert "EventId" in response["Entries"][1]
    assert [e["source"] for e in runtime.bus_events] == ["tests.limits"]
    # And what AWS delivers itself, a partner's relay through its partner event bus, arrives
    runtime.put_event("Limit Probe", {}, source="aws.partner/example.com/org/relay")
    assert [e["source"] for e in runtime.bus_events][-1] == "aws.partner/example.com/org/relay"
    # When the entries of one request add up to one byte over the limit (Source + DetailType + Detail)
    padding = EVENT_ENTRIES.value + 1 - len("tests.limits") - len("Limit Probe") - len('{"padding": ""}')
    detail = json.dumps({"padding": "x" * padding})
    entry = {"EventBusName": bus, "Source": "tests.limits", "DetailType": "Limit Probe", "Detail": detail}
    assert len("tests.limits") + len("Limit Probe") + len(detail) == EVENT_ENTRIES.value + 1
    # Then the whole request is refused
    with pytest.raises(ClientError) as refused:
        events.put_events(Entries=[entry])
    assert refused.value.response["Error"] == {
        "Code": "ValidationException",
        "Message": "Total size of the entries in the request is over the limit.",
    }
    assert len(runtime.bus_events) == 2


def test_sqs_and_sns_refuse_messages_over_their_limits_counted_in_bytes(runtime: LocalRuntime) -> None:
    sqs, sns = runtime.client("sqs"), runtime.client("sns")
    queue = runtime.resolve(Ref("queue_url", "parked_events"))
    topic = runtime.resolve(Ref("topic_arn", "notifications"))
    # When a message one byte over the queue's limit is sent, its attributes counted
    body = "x" * (SQS_MESSAGE.value - len("reason") - len("String") - 1)
    attributes = {"reason": {"DataType": "String", "StringValue": "xx"}}
    with pytest.raises(ClientError) as refused:
        sqs.send_message(QueueUrl=queue, MessageBody=body, MessageAttributes=attributes)
    # Then SQS's error
    assert refused.value.response["Error"]["Code"] == "InvalidParameterValue"
    assert refused.value.response["Error"]["Message"] == (
        f"One or more parameters are invalid. Reason: Message must be shorter than {SQS_MESSAGE.value} bytes."
    )
    # When an SNS message is over 256 KiB in UTF-8 though under it in characters
    with pytest.raises(ClientError) as refused:
        sns.publish(TopicArn=topic, Message="é" * (SNS_MESSAGE.value // 2 + 1))
    # Then SNS's error
    assert refused.value.response["Error"]["Code"] == "InvalidParameter"
    assert refused.value.response["Error"]["Message"] == "Invalid parameter: Message too long"
    # And at the limits both are accepted
    sqs.send_message(QueueUrl=queue, MessageBody=body[:-1], MessageAttributes=attributes)
    sns.publish(TopicArn=topic, Message="x" * SNS_MESSAGE.value)


def test_a_dynamodb_item_over_400_kb_is_refused(runtime: LocalRuntime) -> None:
    dynamodb = runtime.client("dynamodb")
    table = runtime.resolve(Ref("table_name", "audit"))
    key = {"case_id": {"S": "limits"}, "seq": {"N": "1"}}
    # When an item of 401 KB is put (moto enforces DynamoDB's item size itself)
    with pytest.raises(ClientError) as refused:
        dynamodb.put_item(TableName=table, Item={**key, "padding": {"S": "x" * 401 * 1024}})
    # Then DynamoDB's error, and nothing was written
    assert refused.value.response["Error"] == {
        "Code": "ValidationException",
        "Message": "Item size has exceeded the maximum allowed size",
    }
    assert "Item" not in dynamodb.get_item(TableName=table, Key=key)


def test_step_functions_api_refuses_payloads_over_256_kb(runtime: LocalRuntime) -> None:
    sfn = runtime.client("stepfunctions")
    too_long = json.dumps({"padding": "x" * SEND_TASK_SUCCESS_OUTPUT.value})
    # When a task is completed, or an execution started, with more than 256 KiB
    with pytest.raises(ClientError) as success:
        sfn.send_task_success(taskToken="any", output=too_long)
    with pytest.raises(ClientError) as start:
        sfn.start_execution(
            stateMachineArn=runtime.state_machine_arn("onboarding"), name="big", input=too_long
        )
    # Then the API refuses the call (moto alone would accept it and fail the execution later)
    assert success.value.response["Error"]["Code"] == "ValidationException"
    limit = SEND_TASK_SUCCESS_OUTPUT.value
    assert (
        f"'output' failed to satisfy constraint: Member must have length less than or equal to {limit}"
        in str(success.value)
    )
    assert start.value.response["Error"]["Code"] == "ValidationException"
    assert f"less than or equal to {START_EXECUTION_INPUT.value}" in str(start.value)
    assert not [e for e in runtime.executions() if e.name == "big"]


def test_lambda_refuses_oversized_requests_and_fails_oversized_responses(
    runtime: LocalRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = runtime.client("lambda")
    function = runtime.resolve(Ref("function_arn", "validate_opportunity"))
    # When a synchronous invoke carries more than 6 MB, or an asynchronous one more than 1 MB
    for invocation, limit in (("RequestResponse", LAMBDA_SYNC_REQUEST), ("Event", LAMBDA_ASYNC_REQUEST)):
        payload = json.dumps({"padding": "x" * limit.value}).encode()
        with pytest.raises(ClientError) as refused:
            client.invoke(FunctionName=function, InvocationType=invocation, Payload=payload)
        # Then Lambda answers 413 before the function runs
        assert refused.value.response["Error"]["Code"] == "RequestEntityTooLargeException"
        assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 413
    assert not runtime.lambdas.invocations
    # When the function returns more than Lambda's response limit
    returning(monkeypatch, "validate_opportunity", {"padding": "x" * LAMBDA_RESPONSE.value})
    response = client.invoke(FunctionName=function, Payload=b"{}")
    # Then the invoke answers a function error, as Lambda does
    assert response["FunctionError"] == "Unhandled"
    assert json.loads(response["Payload"].read()) == {
        "errorType": "Function.ResponseSizeTooLarge",
        "errorMessage": "Response payload size exceeded maximum allowed payload size (6291556 bytes).",
    }
