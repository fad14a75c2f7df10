"""The workflow catalog: every Lambda function, state machine and event rule of the product, declared once.

Both the CDK stack (``infra/``) and the embedded local runtime (``backoffice.local``) are built from this module, so
it imports nothing from CDK or boto3. A newcomer looking for a workflow starts here: each state machine names its ASL
file, each ``${...}`` placeholder in that file names the resource it resolves to, and each function names its folder
under ``functions/``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, TypeVar

ROOT = Path(__file__).resolve().parent.parent
FUNCTIONS_DIR = ROOT / "functions"
STATEMACHINES_DIR = ROOT / "statemachines"

ResourceKind = Literal[
    "function_arn",  # a Lambda function of this catalog, by name
    "state_machine_arn",  # a state machine of this catalog, by name
    "event_bus_name",  # the product's custom event bus
    "table_name",  # a DynamoDB table, by logical name
    "bucket_name",  # an S3 bucket, by logical name
    "topic_arn",  # an SNS topic, by logical name
    "queue_url",  # an SQS queue, by logical name
    "setting",  # a plain value (for example a timeout), given in ``name``
]


@dataclass(frozen=True)
class Ref:
    """A resource that an ASL placeholder or a function's environment variable resolves to."""

    kind: ResourceKind
    name: str = ""


def function(name: str) -> Ref:
    return Ref("function_arn", name)


def state_machine(name: str) -> Ref:
    return Ref("state_machine_arn", name)


def table(name: str) -> Ref:
    return Ref("table_name", name)


def bucket(name: str) -> Ref:
    return Ref("bucket_name", name)


def topic(name: str) -> Ref:
    return Ref("topic_arn", name)


def queue(name: str) -> Ref:
    return Ref("queue_url", name)


EVENT_BUS = Ref("event_bus_name")


# Resource grants a function may hold; the CDK stack turns each into a least-privilege policy.
Grant = Literal[
    "audit:append",  # put (never update or delete) audit records
    "audit:read",
    "idempotency:readwrite",
    "documents:read",
    "documents:write",
    "bus:put",
    "states:start",  # start executions of the catalog's state machines
    "notifications:publish",
    "parked:send",  # send to the parked-events queue (dead letters and rejected input)
]


@dataclass(frozen=True)
class LambdaFunction:
    """A Lambda function: code in ``functions/<name>/app.py``, handler ``app.handler``."""

    name: str
    description: str
    memory_mb: int = 256
    timeout_seconds: int = 30
    environment: Mapping[str, Ref | str] = field(default_factory=dict)
    grants: tuple[Grant, ...] = ()

    @property
    def code_dir(self) -> Path:
        return FUNCTIONS_DIR / self.name

    @property
    def handler(self) -> str:
        return "app.handler"


@dataclass(frozen=True)
class StateMachine:
    """A Standard state machine defined by an ASL file whose placeholders the catalog resolves."""

    name: str
    description: str
    definition_file: str
    substitutions: Mapping[str, Ref]
    # Names the execution-name prefix (business words read well in the Step Functions console).
    execution_prefix: str

    @property
    def definition_path(self) -> Path:
        return STATEMACHINES_DIR / self.definition_file


@dataclass(frozen=True)
class EventRule:
    """An EventBridge rule on the product's bus: events matching ``pattern`` start a case of ``workflow``.

    ``case_key`` is the path (dotted, from the event root) of the business key that identifies the case; the event id
    is used when it is absent. The same key delivered twice starts one execution, not two.
    """

    name: str
    description: str
    pattern: Mapping[str, object]
    workflow: str
    case_key: str = "id"


@dataclass(frozen=True)
class Table:
    name: str
    partition_key: str
    sort_key: str | None = None
    sort_key_type: Literal["S", "N"] = "S"
    ttl_attribute: str | None = None
    # The audit table is the record of what happened: never deleted with the stack, point-in-time recovery on.
    retain: bool = False


_Named = TypeVar("_Named", "LambdaFunction", "StateMachine", "EventRule", "Table")


@dataclass(frozen=True)
class Catalog:
    event_bus: str
    event_source: str
    tables: tuple[Table, ...]
    buckets: tuple[str, ...]
    topics: tuple[str, ...]
    queues: tuple[str, ...]
    functions: tuple[LambdaFunction, ...]
    state_machines: tuple[StateMachine, ...]
    rules: tuple[EventRule, ...]

    def function(self, name: str) -> LambdaFunction:
        return _by_name(self.functions, name, "function")

    def state_machine(self, name: str) -> StateMachine:
        return _by_name(self.state_machines, name, "state machine")

    def rule(self, name: str) -> EventRule:
        return _by_name(self.rules, name, "rule")

    def table(self, name: str) -> Table:
        return _by_name(self.tables, name, "table")


def _by_name(items: tuple[_Named, ...], name: str, what: str) -> _Named:
    for item in items:
        if item.name == name:
            return item
    raise KeyError(f"no {what} named {name!r} in the catalog")


# ---------------------------------------------------------------------------------------------------------------
# The product
# ---------------------------------------------------------------------------------------------------------------

# Every function that writes audit records gets these; names are resolved per environment (CDK tokens or local names).
_AUDIT_ENV: Mapping[str, Ref | str] = {
    "AUDIT_TABLE_NAME": table("audit"),
    "EVENT_BUS_NAME": EVENT_BUS,
}

CATALOG = Catalog(
    event_bus="backoffice",
    event_source="backoffice",
    tables=(
        Table("audit", partition_key="case_id", sort_key="seq", sort_key_type="N", retain=True),
        Table("idempotency", partition_key="id", ttl_attribute="expiration"),
    ),
    buckets=("documents",),
    topics=("notifications",),
    queues=("parked_events",),
    functions=(
        LambdaFunction(
            name="start_case",
            description="Starts one case per business event: validates it, names the execution, parks bad input",
            environment={
                **_AUDIT_ENV,
                "PARKED_EVENTS_QUEUE_URL": queue("parked_events"),
                "IDEMPOTENCY_TABLE_NAME": table("idempotency"),
            },
            grants=("audit:append", "audit:read", "states:start", "parked:send", "idempotency:readwrite"),
        ),
        LambdaFunction(
            name="validate_opportunity",
            description="Checks that a closed-won opportunity can be onboarded",
            environment=dict(_AUDIT_ENV),
            grants=("audit:append", "audit:read"),
        ),
        LambdaFunction(
            name="publish_outcome",
            description="Records a case's outcome and announces it on the event bus",
            environment=dict(_AUDIT_ENV),
            grants=("audit:append", "audit:read", "bus:put"),
        ),
    ),
    state_machines=(
        StateMachine(
            name="onboarding",
            description="Project onboarding: from a closed-won opportunity to a project ready to staff and bill",
            definition_file="onboarding.asl.json",
            execution_prefix="onboard",
            substitutions={
                "ValidateOpportunityFunctionArn": function("validate_opportunity"),
                "PublishOutcomeFunctionArn": function("publish_outcome"),
            },
        ),
    ),
    rules=(
        EventRule(
            name="opportunity_closed_won",
            description="A won deal in the CRM starts project onboarding",
            pattern={"detail-type": ["Opportunity Closed Won"]},
            workflow="onboarding",
            case_key="detail.opportunity.id",
        ),
    ),
)
