"""AWS's size and count limits, one table, enforced on the local runtime with the errors AWS answers with.

A payload that fits locally must fit in AWS, and one AWS refuses must be refused here the same way: otherwise the
first 300 KB comment or oversized event is found in production. Each row names its AWS documentation page and who
enforces it locally: moto itself (checked, with its threshold), this module (hooks on moto's backends, so they hold
in-process and in ``backoffice serve``), ``local/lambdas.py`` (Lambda's payloads, through ``check_lambda_request``
and ``lambda_response_error``), or nobody yet.

Several limits rose in 2025-2026 (SQS to 1 MiB in August 2025, asynchronous Lambda invocations to 1 MB in October
2025, EventBridge events to 1 MB on 2026-01-29: see ``PAYLOADS_UP_TO_1_MB``); the table holds today's values, as the
installed botocore's API documentation states them. SNS and Step Functions stay at 256 KiB.

Developer tooling, not shipped in the Lambda layer (``infra/layer.py`` excludes ``backoffice.local``): handlers need
none of it; the one human-input cap they enforce (approval comments) lives with the approvals.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from botocore.exceptions import ClientError

from infra.edge import (
    API_INTEGRATION_TIMEOUT_SECONDS,
    API_MAX_BODY_BYTES,
    CORE_BODY_LIMIT_BYTES,
    CORE_BODY_RULE,
)

KIB = 1024
MIB = 1024 * KIB
PAYLOADS_UP_TO_1_MB = "https://aws.amazon.com/blogs/compute/more-room-to-build-serverless-services-now-support-payloads-up-to-1-mb"

Enforcer = Literal["moto", "local runtime", "local lambdas", "local gateway", "not enforced locally"]


@dataclass(frozen=True)
class Limit:
    service: str
    what: str
    value: int
    unit: Literal["bytes", "events", "seconds"]
    error: str  # the error AWS answers with when the limit is passed
    enforced_by: Enforcer
    source: str  # the AWS page the value comes from
    note: str = ""


STATE_PAYLOAD = Limit(
    "Step Functions",
    "task result, state input and output, execution input (UTF-8 JSON)",
    256 * KIB,
    "bytes",
    "States.DataLimitExceeded",
    "moto",
    "https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html#service-limits-task-executions",
    "moto's parser checks task results and state input/output (quotas.is_within_size_quota, < 262,144 bytes)",
)
SEND_TASK_SUCCESS_OUTPUT = Limit(
    "Step Functions",
    "SendTaskSuccess output",
    256 * KIB,
    "bytes",
    "ValidationException",
    "local runtime",
    "https://docs.aws.amazon.com/step-functions/latest/apireference/API_SendTaskSuccess.html",
    "the API refuses the call (output: max 262,144); moto accepted it and failed the waiting execution instead",
)
START_EXECUTION_INPUT = Limit(
    "Step Functions",
    "StartExecution input",
    256 * KIB,
    "bytes",
    "ValidationException",
    "local runtime",
    "https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html",
    "the API refuses the call (input: max 262,144); moto started the execution and failed it",
)
HISTORY_EVENTS = Limit(
    "Step Functions",
    "events in one execution's history",
    25_000,
    "events",
    "execution fails",
    "not enforced locally",
    "https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html#service-limits-state-machine-executions",
    "not enforced: the run summary warns from 80% (history_report)",
)
EVENT_ENTRIES = Limit(
    "EventBridge",
    "PutEvents entries of one request (Time 14 bytes, Source, DetailType, Detail, Resources in UTF-8)",
    1 * MIB,
    "bytes",
    "ValidationException",
    "local runtime",
    "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-putevent-size.html",
    f"256 KB until 2026-01-29 ({PAYLOADS_UP_TO_1_MB}); the whole request is refused: 'Total size of the "
    "entries in the request is over the limit.'",
)
RESERVED_EVENT_SOURCE = Limit(
    "EventBridge",
    "PutEvents with a Source starting 'aws.' (reserved for AWS services)",
    0,
    "bytes",
    "NotAuthorizedForSourceException",
    "local runtime",
    "https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEventsResultEntry.html",
    "an entry error ('Not authorized for the source.'); the other entries of the request go through",
)
SQS_MESSAGE = Limit(
    "SQS",
    "message body and attributes (UTF-8), the queue's MaximumMessageSize, default and maximum",
    1 * MIB,
    "bytes",
    "InvalidParameterValue",
    "local runtime",
    "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-messages.html",
    "256 KiB until August 2025; moto checks the body's length in characters only, so bytes and attributes here",
)
SNS_MESSAGE = Limit(
    "SNS",
    "Publish message and attributes (UTF-8), the topic's default MaximumMessageSize",
    256 * KIB,
    "bytes",
    "InvalidParameter",
    "local runtime",
    "https://docs.aws.amazon.com/sns/latest/api/API_Publish.html",
    "'Invalid parameter: Message too long'; moto checks the body's length in characters only",
)
LAMBDA_SYNC_REQUEST = Limit(
    "Lambda",
    "synchronous Invoke request payload",
    6 * MIB,
    "bytes",
    "RequestEntityTooLargeException",
    "local lambdas",
    "https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html",
    "HTTP 413 'Request must be smaller than 6291456 bytes for the InvokeFunction operation'",
)
LAMBDA_ASYNC_REQUEST = Limit(
    "Lambda",
    "asynchronous (Event) Invoke request payload",
    1 * MIB,
    "bytes",
    "RequestEntityTooLargeException",
    "local lambdas",
    "https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html",
    f"256 KB until October 2025 ({PAYLOADS_UP_TO_1_MB})",
)
LAMBDA_RESPONSE = Limit(
    "Lambda",
    "synchronous response payload",
    6 * MIB + 100,
    "bytes",
    "Function.ResponseSizeTooLarge",
    "local lambdas",
    "https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html",
    "a function error (FunctionError: Unhandled), 'Response payload size exceeded maximum allowed payload "
    "size (6291556 bytes).'",
)
DYNAMODB_ITEM = Limit(
    "DynamoDB",
    "item size (attribute names and values)",
    400 * KIB,
    "bytes",
    "ValidationException",
    "moto",
    "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html#limits-items",
    "moto refuses items over 405,000 bytes of its own measure: 'Item size has exceeded the maximum allowed "
    "size' (PutItem), 'Item size to update has exceeded the maximum allowed size' (UpdateItem)",
)
# The API's edge is local/gateway.py's, with its values in infra/edge.py: listed here, read from there.
API_PAYLOAD = Limit(
    "API Gateway (REST)",
    "request payload",
    API_MAX_BODY_BYTES,
    "bytes",
    "413 Request Too Long",
    "local gateway",
    "https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html",
    "Lambda's 6 MB request limit applies behind it",
)
API_INTEGRATION_TIMEOUT = Limit(
    "API Gateway (REST)",
    "integration timeout",
    API_INTEGRATION_TIMEOUT_SECONDS,
    "seconds",
    "504 Endpoint request timed out",
    "local gateway",
    "https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html",
)
WAF_CORE_BODY = Limit(
    "AWS WAF (core rule set)",
    f"request body ({CORE_BODY_RULE}), every API route but the webhooks",
    CORE_BODY_LIMIT_BYTES,
    "bytes",
    "403 Forbidden",
    "local gateway",
    "https://docs.aws.amazon.com/waf/latest/developerguide/aws-managed-rule-groups-baseline.html",
    "an approval decision is a URL-encoded form: a comment in a non-Latin script takes up to 9 bytes a character",
)

LIMITS: tuple[Limit, ...] = (
    STATE_PAYLOAD,
    SEND_TASK_SUCCESS_OUTPUT,
    START_EXECUTION_INPUT,
    HISTORY_EVENTS,
    EVENT_ENTRIES,
    RESERVED_EVENT_SOURCE,
    SQS_MESSAGE,
    SNS_MESSAGE,
    LAMBDA_SYNC_REQUEST,
    LAMBDA_ASYNC_REQUEST,
    LAMBDA_RESPONSE,
    DYNAMODB_ITEM,
    API_PAYLOAD,
    API_INTEGRATION_TIMEOUT,
    WAF_CORE_BODY,
)
HISTORY_WARNING_SHARE = 0.8


# -- measuring, as each service measures -----------------------------------------------------------------------


def utf8_size(text: str | bytes | None) -> int:
    if text is None:
        return 0
    return len(text) if isinstance(text, bytes) else len(text.encode("utf-8"))


def event_entry_size(entry: Mapping[str, Any]) -> int:
    """EventBridge's PutEventsRequestEntry size: Time counts 14 bytes; Source, DetailType, Detail and each
    Resources entry count their UTF-8 bytes (eb-putevent-size.html)."""
    size = 14 if entry.get("Time") is not None else 0
    size += (
        utf8_size(entry.get("Source")) + utf8_size(entry.get("DetailType")) + utf8_size(entry.get("Detail"))
    )
    return size + sum(utf8_size(r) for r in entry.get("Resources") or [] if r is not None)


def attributes_size(attributes: Mapping[str, Any] | None) -> int:
    """Message attributes count their name, type and value (SQS and SNS alike)."""

    def values(value: Any) -> int:
        if isinstance(value, (str, bytes)):
            return utf8_size(value)
        if isinstance(value, Mapping):
            return sum(values(v) for v in value.values())
        if isinstance(value, (list, tuple)):
            return sum(values(v) for v in value)
        return 0

    return sum(utf8_size(name) + values(value) for name, value in (attributes or {}).items())


def json_size(value: Any) -> int:
    """A payload's size as Lambda and Step Functions count it: its JSON text in UTF-8."""
    text = value if isinstance(value, (str, bytes)) else json.dumps(value, default=str)
    return utf8_size(text)


# -- Lambda (called from local/lambdas.py) ---------------------------------------------------------------------


def check_lambda_request(payload: bytes | str, *, asynchronous: bool) -> None:
    """Refuse an Invoke whose payload Lambda would refuse, before the function runs (HTTP 413)."""
    limit = LAMBDA_ASYNC_REQUEST if asynchronous else LAMBDA_SYNC_REQUEST
    size = utf8_size(payload)
    if size > limit.value:
        operation = "InvokeAsync" if asynchronous else "InvokeFunction"
        raise ClientError(
            {
                "Error": {
                    "Code": limit.error,
                    "Message": f"Request must be smaller than {limit.value} bytes for the {operation} operation",
                },
                "ResponseMetadata": {"HTTPStatusCode": 413},
            },
            "Invoke",
        )


def lambda_request_error(payload: Any) -> dict[str, Any] | None:
    """For callers that invoke without boto3 (the local gateway and router): the refusal as an error payload."""
    try:
        check_lambda_request(json.dumps(payload, default=str), asynchronous=False)
    except ClientError as refused:
        return {
            "errorType": refused.response["Error"]["Code"],
            "errorMessage": refused.response["Error"]["Message"],
        }
    return None


def lambda_response_error(result: Any) -> dict[str, Any] | None:
    """Lambda's function error for a response over the synchronous limit, or None when it fits."""
    if json_size(result) <= LAMBDA_RESPONSE.value:
        return None
    return {
        "errorType": LAMBDA_RESPONSE.error,
        "errorMessage": f"Response payload size exceeded maximum allowed payload size ({LAMBDA_RESPONSE.value} "
        "bytes).",
    }


# -- Step Functions history (the run summary) ------------------------------------------------------------------


class _Execution(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def arn(self) -> str: ...


def history_report(sfn: Any, executions: Iterable[_Execution]) -> list[str]:
    """Summary lines: the longest execution history against AWS's 25,000 events, and a warning for each execution
    at 80% or more of it (AWS fails an execution whose history reaches the limit)."""
    counted = [
        (len(sfn.get_execution_history(executionArn=e.arn, maxResults=1000)["events"]), e.name)
        for e in executions
    ]
    if not counted:
        return []
    longest, name = max(counted)
    lines = [f"history events       longest {longest:,} of {HISTORY_EVENTS.value:,} AWS allows ({name})"]
    for events, execution in sorted(counted, reverse=True):
        if events >= HISTORY_WARNING_SHARE * HISTORY_EVENTS.value:
            lines.append(
                f"!! {execution} has {events:,} history events, {events / HISTORY_EVENTS.value:.0%} of the "
                f"{HISTORY_EVENTS.value:,} at which AWS fails an execution"
            )
    return lines


# -- the hooks on moto's backends ------------------------------------------------------------------------------


@dataclass
class Enforcement:
    """The limits moto lacks, installed on its backend classes; ``undo`` puts moto's methods back."""

    saved: list[tuple[type, str, Any]]

    def undo(self) -> None:
        for cls, name, original in reversed(self.saved):
            setattr(cls, name, original)
        self.saved = []


# Who is calling PutEvents: the reserved-source rule is PutEvents' own, not that of deliveries AWS makes itself
# (PutPartnerEvents, a rule forwarding to another bus), nor of the runtime standing in for a partner relay.
_put_events_api = contextvars.ContextVar("backoffice_put_events_api", default=False)
_aws_delivery = contextvars.ContextVar("backoffice_aws_delivery", default=False)


@contextlib.contextmanager
def as_aws_delivery() -> Iterator[None]:
    """The events put inside are delivered as AWS delivers a partner's or a service's events (``aws.partner/...``
    through a partner event bus): the reserved ``aws.`` sources are not refused for them."""
    token = _aws_delivery.set(True)
    try:
        yield
    finally:
        _aws_delivery.reset(token)


def enforce_limits() -> Enforcement:
    from moto.events.models import EventsBackend
    from moto.events.responses import EventsHandler
    from moto.sns.models import SNSBackend
    from moto.sqs.models import SQSBackend
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend

    enforcement = Enforcement([])

    def wrap(cls: type, name: str, make: Any) -> None:
        original = getattr(cls, name)
        enforcement.saved.append((cls, name, original))
        setattr(cls, name, make(original))

    wrap(EventsHandler, "put_events", _put_events_api_call)
    wrap(EventsBackend, "put_events", _put_events)
    wrap(SQSBackend, "send_message", _send_message)
    wrap(SNSBackend, "publish", _publish)
    wrap(StepFunctionsParserBackend, "send_task_success", _send_task_success)
    wrap(StepFunctionsParserBackend, "start_execution", _start_execution)
    return enforcement


def _put_events_api_call(original: Any) -> Any:
    def put_events(handler: Any) -> Any:
        token = _put_events_api.set(True)
        try:
            return original(handler)
        finally:
            _put_events_api.reset(token)

    return put_events


def _put_events(original: Any) -> Any:
    def put_events(backend: Any, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        from moto.events.exceptions import ValidationException

        api_call, by_aws = _put_events_api.get(), _aws_delivery.get()
        # Events routed from here on (a handler putting its own) are calls of their own.
        tokens = _put_events_api.set(False), _aws_delivery.set(False)
        try:
            if api_call and len(events) <= 10 and sum(map(event_entry_size, events)) > EVENT_ENTRIES.value:
                raise ValidationException("Total size of the entries in the request is over the limit.")
            refused = {
                i
                for i, e in enumerate(events)
                if api_call and not by_aws and str(e.get("Source") or "").startswith("aws.")
            }
            if not refused:
                return list(original(backend, events))
            accepted = iter(original(backend, [e for i, e in enumerate(events) if i not in refused]))
        finally:
            _put_events_api.reset(tokens[0])
            _aws_delivery.reset(tokens[1])
        not_authorized = {
            "ErrorCode": RESERVED_EVENT_SOURCE.error,
            "ErrorMessage": "Not authorized for the source.",
        }
        return [dict(not_authorized) if i in refused else next(accepted) for i in range(len(events))]

    return put_events


def _send_message(original: Any) -> Any:
    def send_message(backend: Any, queue_name: str, message_body: str, *args: Any, **kwargs: Any) -> Any:
        from moto.sqs.exceptions import InvalidParameterValue

        attributes = (
            kwargs.get("message_attributes") if "message_attributes" in kwargs else (args[:1] or [None])[0]
        )
        queue = backend.get_queue(queue_name)
        maximum = min(int(getattr(queue, "maximum_message_size", SQS_MESSAGE.value)), SQS_MESSAGE.value)
        if utf8_size(message_body) + attributes_size(attributes) > maximum:
            raise InvalidParameterValue(
                f"One or more parameters are invalid. Reason: Message must be shorter than {maximum} bytes."
            )
        return original(backend, queue_name, message_body, *args, **kwargs)

    return send_message


def _publish(original: Any) -> Any:
    def publish(backend: Any, message: str, arn: str | None, *args: Any, **kwargs: Any) -> Any:
        from moto.sns.exceptions import InvalidParameterValue

        phone_number = kwargs.get("phone_number", args[0] if args else None)
        attributes = kwargs.get("message_attributes", args[2] if len(args) > 2 else None)
        if not phone_number and utf8_size(message) + attributes_size(attributes) > SNS_MESSAGE.value:
            raise InvalidParameterValue("Invalid parameter: Message too long")
        return original(backend, message, arn, *args, **kwargs)

    return publish


def _too_long(member: str, limit: Limit) -> Exception:
    from moto.stepfunctions.exceptions import ValidationException

    return ValidationException(
        f"1 validation error detected: Value at '{member}' failed to satisfy constraint: Member must have length "
        f"less than or equal to {limit.value}"
    )


def _send_task_success(original: Any) -> Any:
    def send_task_success(backend: Any, task_token: str, outcome: str) -> Any:
        if utf8_size(outcome) > SEND_TASK_SUCCESS_OUTPUT.value:
            raise _too_long("output", SEND_TASK_SUCCESS_OUTPUT)
        return original(backend, task_token, outcome)

    return send_task_success


def _start_execution(original: Any) -> Any:
    def start_execution(backend: Any, state_machine_arn: str, *args: Any, **kwargs: Any) -> Any:
        execution_input = kwargs.get("execution_input", args[1] if len(args) > 1 else None)
        if utf8_size(execution_input) > START_EXECUTION_INPUT.value:
            raise _too_long("input", START_EXECUTION_INPUT)
        return original(backend, state_machine_arn, *args, **kwargs)

    return start_execution


__all__ = [
    "LIMITS",
    "Enforcement",
    "Limit",
    "as_aws_delivery",
    "check_lambda_request",
    "enforce_limits",
    "event_entry_size",
    "history_report",
    "lambda_request_error",
    "lambda_response_error",
]
