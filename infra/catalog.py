"""The workflow catalog: every Lambda function, state machine and event rule of the product, declared once.

Both the CDK stack (``infra/``) and the embedded local runtime (``backoffice.local``) are built from this module, so
it imports nothing from CDK or boto3. A newcomer looking for a workflow starts here: each state machine names its ASL
file, each ``${...}`` placeholder in that file names the resource it resolves to, and each function names its folder
under ``functions/``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal, TypeVar

from infra.asl import render_definition

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
    "api_url",  # the base URL of the product's public HTTP API (approval links point there)
    "setting",  # a plain value from ``Catalog.settings`` by name (a deployment may override it)
    "role_arn",  # an IAM role of ``Catalog.service_roles`` (one an AWS service assumes for the product), by name
    "key_arn",  # a KMS HMAC key of ``Catalog.signing_keys``, by name
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


def role(name: str) -> Ref:
    return Ref("role_arn", name)


def signing_key(name: str) -> Ref:
    return Ref("key_arn", name)


EVENT_BUS = Ref("event_bus_name")
API_URL = Ref("api_url")


# Resource grants a function may hold; the CDK stack turns each into a least-privilege policy.
Grant = Literal[
    "audit:append",  # put (never update or delete) audit records, each signed with the audit signing key
    "audit:read",
    "idempotency:readwrite",
    "documents:read",
    "documents:write",
    "documents:list",  # list the objects under one prefix of the documents bucket (billing/: a run's files)
    # read and write (sign presigned POSTs for) the vendor documents under cases/<case>/vendor/ only
    "vendor_uploads:readwrite",
    "bus:put",
    "states:start",  # start executions of the catalog's state machines
    "notifications:publish",
    "parked:send",  # send to the parked-events queue (dead letters and rejected input)
    "approvals:readwrite",  # approval requests and links
    "states:callback",  # SendTaskSuccess / SendTaskFailure on the catalog's state machines
    "mail:send",  # SES SendRawEmail from the approvals sender identity
    "sandbox:readwrite",  # the sandbox CRM, PSA, ERP and HRIS
    "connectors:config",  # the connector settings parameter and the connector secrets
    "firm_config:read",  # the firm's configuration document in SSM (approval, contract risk, vendor policies)
    # Amazon Textract calls, passing it the role it publishes completion notices with; writes under the output prefix
    "textract:start",
    "textract:results",  # read finished Textract jobs; writes under the output prefix
    "textract_jobs:readwrite",  # the pending Textract jobs and the task tokens waiting on them
    # put (never replace) anchors in the Object Lock bucket; only the anchor function holds it
    "audit_anchors:write",
    # a state machine's Distributed Map over a billing run's projects: read billing/<run>/projects.json (its
    # ItemReader) and write the results under billing/<run>/results/ (its ResultWriter)
    "billing_runs:map",
    # the sanctions list the screen reads (sdn/ of the sanctions-lists bucket), and the refresh that writes it
    "sanctions_lists:read",
    "sanctions_lists:write",
    # read the whole trail: Scan for the case ids, Query per case (the process report reads every case)
    "audit:scan",
    "reports:write",  # write the process report under process-reports/ in the reports bucket
    "reports:read",  # read it (what a report link's presigned GET is authorized against)
    "finance_close:readwrite",  # the reconciliation findings of each period; the revenue positions each close booked
    "finance_close:read",  # read those only (revenue recognition reads the positions earlier closes booked)
    # the weekly review's decision per time entry and expense line (backoffice/time_expense/decisions.py)
    "time_expense:readwrite",
    "time_expense:read",  # read those only (the month-end billing run skips the lines settled in the week)
    # -- ai assist (issue #23) --
    # bedrock:InvokeModel on the firm's configured model only (setting ai_assist); nothing when Bedrock is off
    "bedrock:invoke",
    # -- purchasing ----: the purchases waiting for a vendor's onboarding and that onboarding's outcome
    "purchasing:readwrite",
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
    # What the state machine's own role may do beyond invoking its functions (a Distributed Map's S3 reads and
    # writes); starting and describing its own child executions follows from having a Distributed Map.
    grants: tuple[Grant, ...] = ()

    @property
    def definition_path(self) -> Path:
        """The ASL file as written: Retry and Catch name policies of ``statemachines/policies.json``."""
        return STATEMACHINES_DIR / self.definition_file

    def definition(self) -> str:
        """The ASL as deployed and run locally: the file with its policies expanded, ``${...}`` left to fill."""
        return render_definition(self)


@dataclass(frozen=True)
class EventRule:
    """An EventBridge rule on the product's bus: events matching ``pattern`` start a case of ``workflow``, or, for
    a rule with ``function``, go to that function (an ingest step that turns a SaaS event into a canonical one).

    ``case_key`` is the path (dotted, from the event root) of the business key that identifies the case; the event id
    is used when it is absent. The same key delivered twice starts one execution, not two.
    """

    name: str
    description: str
    pattern: Mapping[str, object]
    workflow: str = ""
    case_key: str = "id"
    function: str | None = None
    # The case id's prefix when not the state machine's (one workflow, two kinds of case: a timesheet's week, an
    # expense report).
    execution_prefix: str = ""
    # What tells a new attempt of the same case from a second delivery of the same event: ``|``-separated dotted
    # paths, the first with a value wins (``backoffice.cases.attempt_of``). Each attempt is an execution of its
    # own on the case's one trail; "": the case runs once.
    attempt_key: str = ""

    def __post_init__(self) -> None:
        if bool(self.workflow) == bool(self.function):
            raise ValueError(f"rule {self.name}: name a workflow or a function, not both or neither")


@dataclass(frozen=True)
class ApiRoute:
    """A route of the public HTTP API (API Gateway REST in AWS, the local gateway on 127.0.0.1)."""

    method: Literal["GET", "HEAD", "POST"]
    path: str  # API Gateway style, e.g. /approvals/{link_id}
    function: str
    description: str = ""


@dataclass(frozen=True)
class Schedule:
    """A recurring invocation (EventBridge Scheduler in AWS; ``backoffice`` commands run it locally)."""

    name: str
    # rate(...) or cron(...), or the setting that holds one (a deployment overrides it: -c <setting>=cron(...))
    expression: str | Ref
    function: str
    description: str = ""


@dataclass(frozen=True)
class Table:
    name: str
    partition_key: str
    sort_key: str | None = None
    sort_key_type: Literal["S", "N"] = "S"
    ttl_attribute: str | None = None
    # The audit table is the record of what happened: never deleted with the stack, point-in-time recovery on.
    retain: bool = False
    # A DynamoDB stream of the table's changes (the audit table's feeds its anchors); None: no stream.
    stream_view: Literal["NEW_IMAGE"] | None = None


@dataclass(frozen=True)
class ServiceRole:
    """An IAM role an AWS service assumes to act for the product, such as Textract publishing the completion
    notice of a job. Trusted by ``service`` for this account only; may publish to the catalog ``topics``."""

    name: str
    service: str  # the service principal, e.g. textract.amazonaws.com
    description: str
    publishes_to: tuple[str, ...] = ()


@dataclass(frozen=True)
class Subscription:
    """A catalog function subscribed to a catalog topic: each message is delivered to it (asynchronously)."""

    topic: str
    function: str
    description: str = ""


@dataclass(frozen=True)
class StreamSubscription:
    """A catalog function fed the changes of a catalog table's stream (a Lambda event source mapping)."""

    table: str
    function: str
    description: str = ""


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
    api_routes: tuple[ApiRoute, ...] = ()
    schedules: tuple[Schedule, ...] = ()
    # Plain settings a deployment overrides (CDK context of the same name; locally these values).
    settings: Mapping[str, str] = field(default_factory=dict)
    service_roles: tuple[ServiceRole, ...] = ()
    subscriptions: tuple[Subscription, ...] = ()
    stream_subscriptions: tuple[StreamSubscription, ...] = ()
    # Buckets in S3 Object Lock compliance mode, each with the setting that holds its retention in days.
    object_lock: Mapping[str, str] = field(default_factory=dict)
    # KMS HMAC keys (HMAC_256, GENERATE_VERIFY_MAC) by name: "audit_signing" signs every audit record, so a record
    # put into the table by anyone who cannot use the key is told apart from one a step of the product wrote.
    signing_keys: tuple[str, ...] = ()

    def function(self, name: str) -> LambdaFunction:
        return _by_name(self.functions, name, "function")

    def state_machine(self, name: str) -> StateMachine:
        return _by_name(self.state_machines, name, "state machine")

    def rule(self, name: str) -> EventRule:
        return _by_name(self.rules, name, "rule")

    def table(self, name: str) -> Table:
        return _by_name(self.tables, name, "table")

    def schedule_expression(self, schedule: Schedule, override: Mapping[str, object] | None = None) -> str:
        """The schedule's expression; one held by a setting comes from ``override`` (the CDK context) if there,
        else from the catalog's settings."""
        if isinstance(schedule.expression, str):
            return schedule.expression
        name = schedule.expression.name
        value = (override or {}).get(name)
        return str(value) if value is not None else self.settings[name]


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
    "AUDIT_SIGNING_KEY_ARN": signing_key("audit_signing"),
    "EVENT_BUS_NAME": EVENT_BUS,
}

# The firm's configuration document the deploy validated (its approval policy: approvers, delegations).
_FIRM_CONFIG_ENV: Mapping[str, Ref | str] = {"FIRM_CONFIG_PARAMETER": Ref("setting", "firm_config_parameter")}
_APPROVALS_ENV: Mapping[str, Ref | str] = {
    **_AUDIT_ENV,
    **_FIRM_CONFIG_ENV,
    "APPROVALS_TABLE_NAME": table("approvals"),
    "NOTIFICATIONS_TOPIC_ARN": topic("notifications"),
    "APPROVALS_SENDER": Ref("setting", "approvals_sender"),
    "APPROVALS_BASE_URL": API_URL,
    # Every mail is sent with it: SES publishes its bounces and complaints to the mail_events topic.
    "MAIL_CONFIGURATION_SET": Ref("setting", "mail_configuration_set"),
}
# Steps that call the firm's systems: which adapter serves each system (a setting per system, "sandbox" until a
# firm deploys with e.g. ``-c connector_erp=netsuite``), the connector settings document and its secrets.
_STEP_ENV: Mapping[str, Ref | str] = {
    **_AUDIT_ENV,
    "DOCUMENTS_BUCKET_NAME": bucket("documents"),
    "SANDBOX_TABLE_NAME": table("sandbox"),
    "CONNECTOR_CRM": Ref("setting", "connector_crm"),
    "CONNECTOR_PSA": Ref("setting", "connector_psa"),
    "CONNECTOR_ERP": Ref("setting", "connector_erp"),
    "CONNECTOR_HRIS": Ref("setting", "connector_hris"),
    "CONNECTORS_CONFIG_PARAMETER": Ref("setting", "connectors_config_parameter"),
}
_STEP_GRANTS: tuple[Grant, ...] = ("audit:append", "audit:read", "sandbox:readwrite", "connectors:config")

_APPROVALS_GRANTS: tuple[Grant, ...] = (
    "audit:append",
    "audit:read",
    "approvals:readwrite",
    "mail:send",
    "notifications:publish",
    "firm_config:read",
)

# The Textract step: Textract publishes each job's completion to a topic the completion handler is subscribed to.
_TEXTRACT_ENV: Mapping[str, Ref | str] = {
    **_AUDIT_ENV,
    "TEXTRACT_SNS_TOPIC_ARN": topic("textract_completed"),
    "TEXTRACT_SNS_ROLE_ARN": role("textract_notifications"),
    "TEXTRACT_OUTPUT_BUCKET": bucket("documents"),
    "TEXTRACT_OUTPUT_PREFIX": Ref("setting", "textract_output_prefix"),
    "TEXTRACT_JOB_TABLE_NAME": table("textract_jobs"),
}

# Every workflow's approval steps (plan, ask with a task token, expire) and its outcome announcement: the same four
# functions behind the same four placeholders in each ASL that asks people.
_APPROVAL_STEPS: Mapping[str, Ref] = {
    "PlanApprovalFunctionArn": function("plan_approval"),
    "RequestApprovalFunctionArn": function("request_approval"),
    "ExpireApprovalFunctionArn": function("expire_approval"),
    "PublishOutcomeFunctionArn": function("publish_outcome"),
}

# The systems whose business events the product consumes. An event from one of them that no rule takes is a
# mistake somewhere (an event type renamed at the source, a mapping that drifted): the unrouted_business_event rule
# parks and audits it instead of the bus dropping it unseen.
BUSINESS_EVENT_SOURCES = (
    "crm.salesforce",
    "crm.webhook",
    "psa.certinia",
    "procurement.portal",
    "backoffice.schedule",
    "erp.netsuite",
    # -- resource onboarding: the HRIS's hires --
    "hris.workday",
)
# The detail-types the case rules take from any source (a test checks this list against the rules themselves).
ROUTED_DETAIL_TYPES = (
    "Opportunity Closed Won",
    "Vendor Onboarding Requested",
    "Billing Period Closed",
    "Billing Run Completed",
    "Reconciliation Requested",
    "Revenue Recognition Requested",
    "Timesheet Submitted",
    "Expense Report Submitted",
    # -- purchasing ----
    "Purchase Requested",
    # -- resource onboarding --
    "Worker Hired",
)
# The detail-types a function rule takes from any source (not a case of their own: Invoice Paid is a step of the
# invoice's case).
INGESTED_DETAIL_TYPES = (
    "Invoice Paid",
    # -- purchasing ----: the vendor approval's outcomes resume the purchases waiting for that vendor only from
    # backoffice.workflows (its rule filters on the source): a business system's "Vendor Approved" is unrouted.
)

CATALOG = Catalog(
    event_bus="backoffice",
    event_source="backoffice",
    tables=(
        Table(
            "audit",
            partition_key="case_id",
            sort_key="seq",
            sort_key_type="N",
            retain=True,
            stream_view="NEW_IMAGE",
        ),
        Table("idempotency", partition_key="id", ttl_attribute="expiration"),
        # TTL for the unknown-link refusal counters and the report links (30 days after a link expired); approval
        # requests, links and case steps carry no expires_at.
        Table("approvals", partition_key="pk", ttl_attribute="expires_at"),
        Table("sandbox", partition_key="pk", sort_key="sk"),
        # Textract keeps a job's result 7 days; a pending job's task token expires a day after that.
        Table("textract_jobs", partition_key="job_id", ttl_attribute="expires_at"),
        # The finance close's records, kept as its evidence: reconciliation findings (pk reconciliation#<period>,
        # sk the finding's key: open, in review, awaiting a fix, settled, closed) and each project's revenue
        # position as each close booked it (pk revenue#<project>, sk the period's end); each posted invoice's
        # receivable and the payments applied to it (pk receivable#<invoice>, sk ledger; backoffice/invoicing/
        # receivables.py).
        Table("finance_close", partition_key="pk", sort_key="sk", retain=True),
        # The weekly time and expense review's decision per line (pk line#<line id>, sk decision): approved, sent
        # back or rejected, with the hash of the line as decided (backoffice/time_expense/decisions.py). Kept: the
        # month-end billing run reads it, and it is the evidence of who approved the time that was billed.
        Table("time_expense", partition_key="pk", sort_key="sk", retain=True),
        # -- purchasing ----: the purchases waiting for a vendor's onboarding with their task tokens, that
        # onboarding's claim and outcome, and the way back from a vendor case to its vendor (the keys are described
        # in backoffice/purchasing/vendor_waits.py).
        Table("purchasing", partition_key="pk", sort_key="sk"),
    ),
    buckets=("documents", "audit_anchors", "sanctions_lists", "reports"),
    # mail_events: SES's bounce, complaint and delay records (raw JSON for handle_mail_event, not for people).
    topics=("notifications", "textract_completed", "mail_events"),
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
            name="park_unrouted_event",
            description="Parks and audits an event from a known business system that no rule takes",
            environment={**_AUDIT_ENV, "PARKED_EVENTS_QUEUE_URL": queue("parked_events")},
            grants=("audit:append", "audit:read", "parked:send"),
        ),
        LambdaFunction(
            name="ingest_salesforce_event",
            description="Turns Salesforce's Opportunity events (Event Relay) into the canonical Closed Won event",
            environment={**_STEP_ENV},
            grants=("audit:append", "audit:read", "sandbox:readwrite", "bus:put"),
        ),
        LambdaFunction(
            name="receive_webhook",
            description="Signed events from SaaS systems without an EventBridge integration, put on the bus",
            environment={
                **_AUDIT_ENV,
                "CONNECTORS_CONFIG_PARAMETER": Ref("setting", "connectors_config_parameter"),
                "IDEMPOTENCY_TABLE_NAME": table("idempotency"),
            },
            # idempotency: each sender event id is claimed there before its event goes on the bus.
            grants=("audit:append", "audit:read", "bus:put", "connectors:config", "idempotency:readwrite"),
        ),
        LambdaFunction(
            name="validate_opportunity",
            description="Checks that a closed-won opportunity can be onboarded",
            environment=dict(_AUDIT_ENV),
            grants=("audit:append", "audit:read"),
        ),
        LambdaFunction(
            name="fetch_statement_of_work",
            description="Finds the statement of work: on the event, else attached to the opportunity in the CRM",
            environment=dict(_STEP_ENV),
            # documents:write: a SOW attached in the CRM is copied into the documents bucket, under the case.
            grants=(*_STEP_GRANTS, "documents:write"),
        ),
        LambdaFunction(
            name="read_statement_of_work",
            description="Reads the SOW's facts (parties, dates, fees, rates, clauses) and keeps them under the case",
            memory_mb=1024,
            timeout_seconds=120,
            environment=dict(_STEP_ENV),
            grants=(*_STEP_GRANTS, "documents:read", "documents:write"),
        ),
        LambdaFunction(
            name="assess_contract_risk",
            description="Finds risky clauses (uncapped liability, IP without carve-out, long payment terms, ...)",
            # The assistant's clause batches share three model timeouts (assist/bedrock.py), then the rules answer.
            timeout_seconds=90,
            # The firm's contract risk policy: a section of its configuration document.
            environment={**_STEP_ENV, **_FIRM_CONFIG_ENV},
            grants=(*_STEP_GRANTS, "documents:read", "firm_config:read"),
        ),
        LambdaFunction(
            name="match_customer",
            description="Matches the client to an ERP customer or creates one; near matches go to a person",
            environment={**_STEP_ENV, "IDEMPOTENCY_TABLE_NAME": table("idempotency")},
            grants=(*_STEP_GRANTS, "idempotency:readwrite"),
        ),
        LambdaFunction(
            name="create_project",
            description="Creates the project in the PSA from the template, rate card and budget of the SOW",
            environment={**_STEP_ENV, "IDEMPOTENCY_TABLE_NAME": table("idempotency")},
            grants=(*_STEP_GRANTS, "documents:read", "idempotency:readwrite"),
        ),
        LambdaFunction(
            name="request_staffing",
            description="Requests staffing per SOW role with ranked candidates and conflicts",
            environment={**_STEP_ENV, "IDEMPOTENCY_TABLE_NAME": table("idempotency")},
            grants=(*_STEP_GRANTS, "documents:read", "idempotency:readwrite"),
        ),
        LambdaFunction(
            name="validate_vendor_request",
            description="Checks a vendor request and lists which of W-9, insurance certificate and bank letter are here",
            environment=dict(_STEP_ENV),
            grants=_STEP_GRANTS,
        ),
        LambdaFunction(
            name="request_vendor_documents",
            description="E-mails the vendor contact a single-use upload link for the missing documents",
            environment={**_APPROVALS_ENV, "DOCUMENTS_BUCKET_NAME": bucket("documents")},
            grants=_APPROVALS_GRANTS,
        ),
        LambdaFunction(
            name="receive_vendor_document",
            description="The vendor's upload page: forms posting each PDF to S3; a POST with its token confirms once",
            memory_mb=512,
            environment={**_APPROVALS_ENV, "DOCUMENTS_BUCKET_NAME": bucket("documents")},
            # vendor_uploads: the presigned POSTs it signs are authorized against its role when S3 receives them.
            grants=(*_APPROVALS_GRANTS, "vendor_uploads:readwrite", "states:callback"),
        ),
        LambdaFunction(
            name="read_vendor_documents",
            description="Reads the W-9, certificate of insurance and bank letter into the facts the checks consume",
            memory_mb=1024,
            timeout_seconds=120,
            environment=dict(_STEP_ENV),
            grants=(*_STEP_GRANTS, "documents:read", "documents:write"),
        ),
        # -- scans read by Amazon Textract (used only when the textract_enabled setting is "true") -----------------
        LambdaFunction(
            name="start_textract_analysis",
            description="Reads a scan with Amazon Textract; a PDF starts a job whose notice resumes the case",
            memory_mb=512,
            timeout_seconds=60,
            environment=dict(_TEXTRACT_ENV),
            grants=(
                "audit:append",
                "audit:read",
                "documents:read",
                "textract:start",
                "textract_jobs:readwrite",
                "states:callback",
            ),
        ),
        LambdaFunction(
            name="textract_completed",
            description="A Textract job's completion notice: reads every result page and resumes the case",
            memory_mb=1024,
            timeout_seconds=120,
            environment=dict(_TEXTRACT_ENV),
            grants=(
                "audit:append",
                "audit:read",
                "textract:results",
                "textract_jobs:readwrite",
                "states:callback",
            ),
        ),
        LambdaFunction(
            name="assess_vendor",
            description="Vendor checks, sanctions screening, duplicate and ghost-vendor search, risk with reasons",
            memory_mb=512,
            # The approval policy's groups are the vendor approval chain's approvers (vendors/steps.py).
            # The sanctions list it screens against: the current version the daily refresh stored.
            environment={
                **_STEP_ENV,
                **_FIRM_CONFIG_ENV,
                "SANCTIONS_LISTS_BUCKET_NAME": bucket("sanctions_lists"),
            },
            grants=(*_STEP_GRANTS, "documents:read", "firm_config:read", "sanctions_lists:read"),
        ),
        LambdaFunction(
            name="create_vendor_on_hold",
            description="Creates the supplier in the ERP on hold, so nothing is paid before approval",
            # firm_config: the vendor policy's required cover, whose earliest expiry the vendor record keeps.
            environment={**_STEP_ENV, **_FIRM_CONFIG_ENV, "IDEMPOTENCY_TABLE_NAME": table("idempotency")},
            grants=(*_STEP_GRANTS, "documents:read", "idempotency:readwrite", "firm_config:read"),
        ),
        LambdaFunction(
            name="release_vendor",
            description="Lifts the ERP hold once the approval chain has approved",
            environment=dict(_STEP_ENV),
            grants=_STEP_GRANTS,
        ),
        LambdaFunction(
            name="plan_approval",
            description="Decides whether a subject needs approval on a route, and the first level's deadline",
            environment=dict(_FIRM_CONFIG_ENV),
            grants=("firm_config:read",),
        ),
        LambdaFunction(
            name="request_approval",
            description="Stores the task token and e-mails one single-use link per approver",
            environment=dict(_APPROVALS_ENV),
            grants=_APPROVALS_GRANTS,
        ),
        LambdaFunction(
            name="expire_approval",
            description="Retires the links of a timed-out level and escalates it once when the policy says so",
            environment=dict(_APPROVALS_ENV),
            grants=_APPROVALS_GRANTS,
        ),
        LambdaFunction(
            name="decide_approval",
            description="The decision endpoint: GET shows a confirmation page, a POST from it decides once",
            environment=dict(_APPROVALS_ENV),
            grants=(*_APPROVALS_GRANTS, "states:callback"),
        ),
        LambdaFunction(
            name="remind_approvers",
            description="Re-sends pending approvals and vendor upload requests with fresh links after an interval",
            environment={**_APPROVALS_ENV, "DOCUMENTS_BUCKET_NAME": bucket("documents")},
            grants=_APPROVALS_GRANTS,
        ),
        LambdaFunction(
            name="handle_mail_event",
            description="SES bounces and complaints: audits them on the case; an unreachable approver escalates now",
            environment=dict(_APPROVALS_ENV),
            # states:callback: the waiting approval task is failed so that the workflow escalates the level.
            grants=(*_APPROVALS_GRANTS, "states:callback"),
        ),
        # -- invoicing ------------------------------------------------------------------------------------------
        LambdaFunction(
            name="close_billing_period",
            description="Monthly schedule: announces last month's Billing Period Closed on the bus",
            environment=dict(_AUDIT_ENV),
            grants=("audit:append", "audit:read", "bus:put"),
        ),
        LambdaFunction(
            name="open_billing_period",
            description="Reads the period's projects, time, expenses and workers from the PSA and HRIS into S3",
            memory_mb=1024,
            timeout_seconds=300,
            # BILLING_POLICY: the Map's concurrency and failure tolerance, which it returns with the project list.
            # TIME_EXPENSE_TABLE_NAME: the weekly review's decisions, so lines approved in the week as they are
            # are not reviewed again at the close.
            environment={
                **_STEP_ENV,
                "BILLING_POLICY": Ref("setting", "billing_policy"),
                "TIME_EXPENSE_TABLE_NAME": table("time_expense"),
            },
            grants=(*_STEP_GRANTS, "documents:write", "time_expense:read"),
        ),
        LambdaFunction(
            name="score_billing_lines",
            description="Anomaly scoring (TE1-TE11) of every time and expense line of the period; recommends only",
            memory_mb=2048,
            timeout_seconds=300,
            environment={**_STEP_ENV, "ANOMALY_POLICY": Ref("setting", "anomaly_policy")},
            grants=(*_STEP_GRANTS, "documents:read", "documents:write"),
        ),
        LambdaFunction(
            name="check_project_billing",
            description="Billing readiness (BR1-BR10) and the scores decide what a project's invoice needs",
            memory_mb=512,
            timeout_seconds=120,
            environment={**_STEP_ENV, "BILLING_POLICY": Ref("setting", "billing_policy")},
            grants=(*_STEP_GRANTS, "documents:read", "documents:write"),
        ),
        LambdaFunction(
            name="settle_exception_review",
            description="Approved exception lines bill; rejected ones are sent back or written off in the PSA",
            # firm_config: the delivery policy's reporting currency, which values the written-off lines.
            environment={**_STEP_ENV, **_FIRM_CONFIG_ENV, "BILLING_POLICY": Ref("setting", "billing_policy")},
            grants=(*_STEP_GRANTS, "documents:read", "documents:write", "firm_config:read"),
        ),
        LambdaFunction(
            name="draft_invoice",
            description="Drafts the project's invoice in the ERP, once per project and period",
            memory_mb=512,
            timeout_seconds=120,
            environment={**_STEP_ENV, "BILLING_POLICY": Ref("setting", "billing_policy")},
            # documents:list: whether the project's review file exists (a HEAD without ListBucket answers 403).
            grants=(*_STEP_GRANTS, "documents:read", "documents:list"),
        ),
        LambdaFunction(
            name="post_invoice",
            description="Posts the approved invoice in the ERP and links every billed line to it in the PSA",
            timeout_seconds=120,
            # documents:read: the period's lines and workers (realization at rate card, R1); finance_close: the
            # posted invoice registered as a receivable, so that its payments find its case.
            environment={**_STEP_ENV, "FINANCE_CLOSE_TABLE_NAME": table("finance_close")},
            grants=(*_STEP_GRANTS, "documents:read", "finance_close:readwrite"),
        ),
        # -- receivables: payments and credit memos applied to posted invoices ------------------------------------
        LambdaFunction(
            name="record_invoice_payment",
            description="The ERP's Invoice Paid: applies the payment or credit memo once, records it on the invoice",
            # parked:send: a payment of an invoice the ledger does not know waits there for an operator.
            environment={
                **_AUDIT_ENV,
                "FINANCE_CLOSE_TABLE_NAME": table("finance_close"),
                "PARKED_EVENTS_QUEUE_URL": queue("parked_events"),
            },
            grants=("audit:append", "audit:read", "finance_close:readwrite", "parked:send"),
        ),
        LambdaFunction(
            name="read_invoice_payments",
            description="Daily: pages the ERP's payments since the watermark and records each as an event would",
            timeout_seconds=300,
            environment={
                **_STEP_ENV,
                "FINANCE_CLOSE_TABLE_NAME": table("finance_close"),
                "PARKED_EVENTS_QUEUE_URL": queue("parked_events"),
            },
            grants=(*_STEP_GRANTS, "finance_close:readwrite", "parked:send"),
        ),
        LambdaFunction(
            name="summarize_billing_run",
            description="Invoices posted and blocked, and exceptions by reason, of a billing run; announces it done",
            # documents:read: the projects' results, which the Map's ResultWriter put in S3, not in the state.
            # bus:put: Billing Run Completed, which starts the period's reconciliation.
            environment={**_AUDIT_ENV, "DOCUMENTS_BUCKET_NAME": bucket("documents")},
            grants=("audit:append", "audit:read", "documents:read", "bus:put"),
        ),
        # -- finance close: reconciliation ----------------------------------------------------------------------
        LambdaFunction(
            name="read_reconciliation_sources",
            description="Reads the period's PSA lines, projects, accounts, ERP invoices, customers and CRM accounts",
            memory_mb=1024,
            timeout_seconds=300,
            environment={**_STEP_ENV},
            grants=(*_STEP_GRANTS, "documents:write"),
        ),
        LambdaFunction(
            name="compare_psa_and_erp",
            description="Reconciliation rules RC1-RC11 over the records read; findings matched to earlier runs'",
            memory_mb=1024,
            timeout_seconds=120,
            environment={
                **_AUDIT_ENV,
                **_FIRM_CONFIG_ENV,
                "DOCUMENTS_BUCKET_NAME": bucket("documents"),
                "FINANCE_CLOSE_TABLE_NAME": table("finance_close"),
            },
            grants=(
                "audit:append",
                "audit:read",
                "documents:read",
                "documents:write",
                "finance_close:readwrite",
                "firm_config:read",
            ),
        ),
        LambdaFunction(
            name="settle_reconciliation_finding",
            description="Records a finding's review; a write-off of aged WIP takes its lines out of billing in the PSA",
            # It reads the run's sources file (as compare does) to find the aged lines of a write-off.
            memory_mb=1024,
            timeout_seconds=120,
            environment={
                **_STEP_ENV,
                **_FIRM_CONFIG_ENV,
                "FINANCE_CLOSE_TABLE_NAME": table("finance_close"),
            },
            grants=(*_STEP_GRANTS, "documents:read", "finance_close:readwrite", "firm_config:read"),
        ),
        LambdaFunction(
            name="summarize_reconciliation",
            description="Findings by rule, amounts at stake, findings closed and review decisions of a reconciliation",
            # finance_close: a finding the run still holds in review when it ends (or fails) is opened again.
            environment={**_AUDIT_ENV, "FINANCE_CLOSE_TABLE_NAME": table("finance_close")},
            grants=("audit:append", "audit:read", "finance_close:readwrite"),
        ),
        LambdaFunction(
            name="request_period_close",
            description="Monthly schedule: asks for last month's reconciliation and revenue recognition",
            environment=dict(_AUDIT_ENV),
            grants=("audit:append", "audit:read", "bus:put"),
        ),
        LambdaFunction(
            name="measure_delivery",
            description="Monthly: each person's capacity and hours and each project's WIP, on the delivery trail",
            memory_mb=1024,
            timeout_seconds=300,
            environment={**_STEP_ENV, **_FIRM_CONFIG_ENV},
            grants=(*_STEP_GRANTS, "firm_config:read"),
        ),
        LambdaFunction(
            name="remind_missing_timesheets",
            description="Working days: workers missing or short on a week's timesheet reminded, then escalated",
            timeout_seconds=300,
            # idempotency: each reminder, escalation and summary is claimed there before it is mailed, so
            # overlapping runs send it once (docs/concurrency.md); firm_config: the reminder and delivery policies.
            environment={
                **_STEP_ENV,
                **_FIRM_CONFIG_ENV,
                "IDEMPOTENCY_TABLE_NAME": table("idempotency"),
                "APPROVALS_SENDER": Ref("setting", "approvals_sender"),
                "MAIL_CONFIGURATION_SET": Ref("setting", "mail_configuration_set"),
            },
            grants=(*_STEP_GRANTS, "idempotency:readwrite", "mail:send", "firm_config:read"),
        ),
        # -- finance close: revenue recognition ---------------------------------------------------------------
        LambdaFunction(
            name="recognize_revenue",
            description="Each project's revenue of the period by its contract's method, and the proposed journal",
            memory_mb=1024,
            timeout_seconds=300,
            environment={**_STEP_ENV, **_FIRM_CONFIG_ENV, "FINANCE_CLOSE_TABLE_NAME": table("finance_close")},
            grants=(*_STEP_GRANTS, "documents:write", "finance_close:read", "firm_config:read"),
        ),
        LambdaFunction(
            name="post_revenue_journal",
            description="Posts the approved revenue journal to the ERP once; keeps each project's position",
            # A firm's ERP may take a while per entry (NetSuite's record API): the whole timeout a step may have.
            timeout_seconds=300,
            environment={**_STEP_ENV, "FINANCE_CLOSE_TABLE_NAME": table("finance_close")},
            grants=(*_STEP_GRANTS, "documents:read", "finance_close:readwrite"),
        ),
        LambdaFunction(
            name="refresh_sanctions_list",
            description="Daily: fetches OFAC's SDN files, refuses what does not read, makes the rest current",
            memory_mb=1024,
            timeout_seconds=300,
            environment={
                **_AUDIT_ENV,
                "SANCTIONS_LISTS_BUCKET_NAME": bucket("sanctions_lists"),
                "SANCTIONS_SOURCES": Ref("setting", "sanctions_sources"),
            },
            grants=("audit:append", "audit:read", "sanctions_lists:read", "sanctions_lists:write"),
        ),
        LambdaFunction(
            name="anchor_audit",
            description="Anchors each new audit record's hash in the Object Lock bucket the writers cannot reach",
            environment={"AUDIT_ANCHORS_BUCKET_NAME": bucket("audit_anchors")},
            grants=("audit_anchors:write",),
        ),
        # -- process intelligence -------------------------------------------------------------------------------
        LambdaFunction(
            name="publish_process_report",
            description="Weekly: the process report from the audit trail into the reports bucket; owners get a link",
            memory_mb=1024,
            timeout_seconds=300,
            environment={
                **_AUDIT_ENV,
                **_FIRM_CONFIG_ENV,
                "APPROVALS_TABLE_NAME": table("approvals"),
                "REPORTS_BUCKET_NAME": bucket("reports"),
                "APPROVALS_SENDER": Ref("setting", "approvals_sender"),
                "MAIL_CONFIGURATION_SET": Ref("setting", "mail_configuration_set"),
                "APPROVALS_BASE_URL": API_URL,
                "PROCESS_REPORT_LINK_DAYS": Ref("setting", "process_report_link_days"),
            },
            # approvals:readwrite: the report links live beside the approval links, stored as hashes.
            grants=(
                "audit:append",
                "audit:read",
                "audit:scan",
                "reports:write",
                "approvals:readwrite",
                "mail:send",
                "firm_config:read",
            ),
        ),
        LambdaFunction(
            name="open_process_report",
            description="A report link: 303 to a short-lived presigned GET of the report; unknown or expired: a page",
            environment={
                **_AUDIT_ENV,
                "APPROVALS_TABLE_NAME": table("approvals"),
                "REPORTS_BUCKET_NAME": bucket("reports"),
            },
            # reports:read: S3 authorizes the presigned GET it signs against its role when the owner's browser
            # follows it.
            grants=("audit:append", "audit:read", "approvals:readwrite", "reports:read"),
        ),
        LambdaFunction(
            name="score_time_expense_submission",
            description="Weekly review: a week's time or an expense report read, validated, scored and routed",
            memory_mb=1024,
            timeout_seconds=120,
            # The billing run's anomaly policy (one scorer); the firm's document: the review's policy and the
            # approval policy's groups (expense approvers, reviewers).
            environment={**_STEP_ENV, **_FIRM_CONFIG_ENV, "ANOMALY_POLICY": Ref("setting", "anomaly_policy")},
            grants=(*_STEP_GRANTS, "documents:write", "firm_config:read"),
        ),
        LambdaFunction(
            name="decide_time_expense_lines",
            description="Weekly review: lines approved in the PSA, or sent back to the worker with the reason",
            environment={
                **_STEP_ENV,
                "TIME_EXPENSE_TABLE_NAME": table("time_expense"),
                "APPROVALS_SENDER": Ref("setting", "approvals_sender"),
                "MAIL_CONFIGURATION_SET": Ref("setting", "mail_configuration_set"),
            },
            # mail:send: the worker is told which lines came back and why.
            grants=(*_STEP_GRANTS, "documents:read", "time_expense:readwrite", "mail:send"),
        ),
        # -- purchasing -------------------------------------------------------------------------------------------
        LambdaFunction(
            name="check_purchase_request",
            description="Purchase approval: the request against the policy and project; can the vendor be bought from",
            # purchasing: whether the new vendor's onboarding is under way or decided; parked: an invalid request.
            environment={
                **_STEP_ENV,
                **_FIRM_CONFIG_ENV,
                "PURCHASING_TABLE_NAME": table("purchasing"),
                "PARKED_EVENTS_QUEUE_URL": queue("parked_events"),
            },
            grants=(*_STEP_GRANTS, "firm_config:read", "purchasing:readwrite", "parked:send"),
        ),
        LambdaFunction(
            name="wait_for_vendor_onboarding",
            description="Purchase approval: asks once for the new vendor's onboarding; the purchase waits for it",
            # bus:put: Vendor Onboarding Requested; states:callback: resumes itself when the onboarding had ended.
            environment={**_AUDIT_ENV, "PURCHASING_TABLE_NAME": table("purchasing")},
            grants=("audit:append", "audit:read", "purchasing:readwrite", "bus:put", "states:callback"),
        ),
        LambdaFunction(
            name="resume_purchases_for_vendor",
            description="A vendor onboarding's outcome resumes every purchase waiting for that vendor, once",
            environment={**_AUDIT_ENV, "PURCHASING_TABLE_NAME": table("purchasing")},
            grants=("audit:append", "audit:read", "purchasing:readwrite", "states:callback"),
        ),
        LambdaFunction(
            name="check_purchase_budget",
            description="Purchase approval: committed + actual + request vs the project budget; who approves",
            # firm_config: the purchasing policy and the approval policy's groups (finance, the fallback). purchasing:
            # the recheck holds the amount in the project's budget and takes the order as the latest attempt.
            environment={**_STEP_ENV, **_FIRM_CONFIG_ENV, "PURCHASING_TABLE_NAME": table("purchasing")},
            grants=(*_STEP_GRANTS, "firm_config:read", "purchasing:readwrite"),
        ),
        LambdaFunction(
            name="create_purchase_order",
            description="Purchase approval: the vendor's purchase order in the ERP, once per request",
            # purchasing: the order's number on the request's latest attempt; the budget the recheck held released.
            environment={**_STEP_ENV, "PURCHASING_TABLE_NAME": table("purchasing")},
            grants=(*_STEP_GRANTS, "purchasing:readwrite"),
        ),
        LambdaFunction(
            name="notify_vendor_of_purchase_order",
            description="Purchase approval: mails the vendor its purchase order (no bank or tax data)",
            # firm_config: the firm's name the mail is signed with; purchasing: the order's mail, sent once.
            environment={
                **_AUDIT_ENV,
                **_FIRM_CONFIG_ENV,
                "APPROVALS_SENDER": Ref("setting", "approvals_sender"),
                "MAIL_CONFIGURATION_SET": Ref("setting", "mail_configuration_set"),
                "PURCHASING_TABLE_NAME": table("purchasing"),
            },
            grants=("audit:append", "audit:read", "mail:send", "firm_config:read", "purchasing:readwrite"),
        ),
        # -- resource onboarding (issue #22) -----------------------------------------------------------------------
        LambdaFunction(
            name="check_new_worker",
            description="Resource onboarding: the hire's record, a subcontractor's vendor and documents, the bill rate",
            # firm_config: the section resource_onboarding (margin, documents) and the approval policy's groups;
            # idempotency: the worker's latest attempt (an older record of the hire changes nothing).
            environment={**_STEP_ENV, **_FIRM_CONFIG_ENV, "IDEMPOTENCY_TABLE_NAME": table("idempotency")},
            grants=(*_STEP_GRANTS, "firm_config:read", "idempotency:readwrite"),
        ),
        LambdaFunction(
            name="set_up_psa_resource",
            description="Resource onboarding: the PSA resource created, or updated on a rehire, keyed by the worker",
            # idempotency: confirms the attempt is still the worker's latest before the PSA is written.
            environment={**_STEP_ENV, "IDEMPOTENCY_TABLE_NAME": table("idempotency")},
            grants=(*_STEP_GRANTS, "idempotency:readwrite"),
        ),
        LambdaFunction(
            name="welcome_new_worker",
            description="Resource onboarding: the first staffing request of the role assigned; worker and manager mailed",
            # idempotency: each mail is claimed there before it is sent, so a retried step mails nobody twice.
            environment={
                **_STEP_ENV,
                "IDEMPOTENCY_TABLE_NAME": table("idempotency"),
                "APPROVALS_SENDER": Ref("setting", "approvals_sender"),
                "MAIL_CONFIGURATION_SET": Ref("setting", "mail_configuration_set"),
            },
            grants=(*_STEP_GRANTS, "idempotency:readwrite", "mail:send"),
        ),
        LambdaFunction(
            name="publish_outcome",
            description="Records a case's outcome, announces it on the event bus and notifies the operators",
            environment={**_AUDIT_ENV, "NOTIFICATIONS_TOPIC_ARN": topic("notifications")},
            grants=("audit:append", "audit:read", "bus:put", "notifications:publish"),
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
                "FetchStatementOfWorkFunctionArn": function("fetch_statement_of_work"),
                "ReadStatementOfWorkFunctionArn": function("read_statement_of_work"),
                "StartTextractAnalysisFunctionArn": function("start_textract_analysis"),
                "TextractEnabled": Ref("setting", "textract_enabled"),
                "AssessContractRiskFunctionArn": function("assess_contract_risk"),
                **_APPROVAL_STEPS,
                "MatchCustomerFunctionArn": function("match_customer"),
                "CreateProjectFunctionArn": function("create_project"),
                "RequestStaffingFunctionArn": function("request_staffing"),
            },
        ),
        StateMachine(
            name="vendor_approval",
            description="Vendor and subcontractor onboarding: documents, checks, screening, approval chain, ERP",
            definition_file="vendor_approval.asl.json",
            execution_prefix="vendor",
            substitutions={
                "ValidateVendorRequestFunctionArn": function("validate_vendor_request"),
                "RequestVendorDocumentsFunctionArn": function("request_vendor_documents"),
                "ReadVendorDocumentsFunctionArn": function("read_vendor_documents"),
                "StartTextractAnalysisFunctionArn": function("start_textract_analysis"),
                "TextractEnabled": Ref("setting", "textract_enabled"),
                "AssessVendorFunctionArn": function("assess_vendor"),
                "CreateVendorOnHoldFunctionArn": function("create_vendor_on_hold"),
                "ReleaseVendorFunctionArn": function("release_vendor"),
                **_APPROVAL_STEPS,
            },
        ),
        StateMachine(
            name="invoicing",
            description="Invoicing: a billing period's time and expenses checked, scored, reviewed, drafted and posted",
            definition_file="invoicing.asl.json",
            execution_prefix="billing",
            grants=("billing_runs:map",),
            substitutions={
                "OpenBillingPeriodFunctionArn": function("open_billing_period"),
                "ScoreBillingLinesFunctionArn": function("score_billing_lines"),
                "CheckProjectBillingFunctionArn": function("check_project_billing"),
                "SettleExceptionReviewFunctionArn": function("settle_exception_review"),
                "DraftInvoiceFunctionArn": function("draft_invoice"),
                "PostInvoiceFunctionArn": function("post_invoice"),
                "SummarizeBillingRunFunctionArn": function("summarize_billing_run"),
                # The Distributed Map reads the projects from, and writes their results to, the run's folder.
                "DocumentsBucketName": bucket("documents"),
                **_APPROVAL_STEPS,
            },
        ),
        StateMachine(
            name="reconciliation",
            description="PSA-to-ERP reconciliation of a period: findings by rule, reviewed by their owners",
            definition_file="reconciliation.asl.json",
            execution_prefix="reconcile",
            substitutions={
                "ReadReconciliationSourcesFunctionArn": function("read_reconciliation_sources"),
                "ComparePsaAndErpFunctionArn": function("compare_psa_and_erp"),
                "SettleReconciliationFindingFunctionArn": function("settle_reconciliation_finding"),
                "SummarizeReconciliationFunctionArn": function("summarize_reconciliation"),
                **_APPROVAL_STEPS,
            },
        ),
        StateMachine(
            name="revenue_recognition",
            description="Revenue recognition at period close: schedules per project, a journal finance approves",
            definition_file="revenue_recognition.asl.json",
            execution_prefix="revenue",
            substitutions={
                "RecognizeRevenueFunctionArn": function("recognize_revenue"),
                "PostRevenueJournalFunctionArn": function("post_revenue_journal"),
                **_APPROVAL_STEPS,
            },
        ),
        StateMachine(
            name="time_expense_review",
            description="Weekly time and expense review: submissions scored, clean lines approved, flagged ones asked",
            definition_file="time_expense_review.asl.json",
            # Each rule names its own prefix: timesheet-<worker>-<week start>, expense-report-<report>.
            execution_prefix="time-expense",
            substitutions={
                "ScoreTimeExpenseSubmissionFunctionArn": function("score_time_expense_submission"),
                "DecideTimeExpenseLinesFunctionArn": function("decide_time_expense_lines"),
                **_APPROVAL_STEPS,
            },
        ),
        # -- purchasing ----
        StateMachine(
            name="purchase_approval",
            description="Purchase approval: vendor approved, budget checked, chain approves, PO issued in the ERP",
            definition_file="purchase_approval.asl.json",
            execution_prefix="purchase",
            substitutions={
                "CheckPurchaseRequestFunctionArn": function("check_purchase_request"),
                "WaitForVendorOnboardingFunctionArn": function("wait_for_vendor_onboarding"),
                "CheckPurchaseBudgetFunctionArn": function("check_purchase_budget"),
                "CreatePurchaseOrderFunctionArn": function("create_purchase_order"),
                "NotifyVendorOfPurchaseOrderFunctionArn": function("notify_vendor_of_purchase_order"),
                **_APPROVAL_STEPS,
            },
        ),
        # -- resource onboarding (issue #22) -----------------------------------------------------------------------
        StateMachine(
            name="resource_onboarding",
            description="Resource onboarding: a hire checked, its bill rate approved if out of band, set up in the PSA",
            definition_file="resource_onboarding.asl.json",
            execution_prefix="worker",
            substitutions={
                "CheckNewWorkerFunctionArn": function("check_new_worker"),
                "SetUpPsaResourceFunctionArn": function("set_up_psa_resource"),
                "WelcomeNewWorkerFunctionArn": function("welcome_new_worker"),
                **_APPROVAL_STEPS,
            },
        ),
    ),
    api_routes=(
        ApiRoute(
            "GET", "/approvals/{link_id}", "decide_approval", "the confirmation page of an approval link"
        ),
        ApiRoute("HEAD", "/approvals/{link_id}", "decide_approval", "link checks by mail scanners"),
        ApiRoute(
            "POST", "/approvals/{link_id}", "decide_approval", "the decision, from the confirmation page"
        ),
        ApiRoute("POST", "/webhooks/{source}", "receive_webhook", "signed events from SaaS systems"),
        ApiRoute("GET", "/uploads/{link_id}", "receive_vendor_document", "the vendor's upload form"),
        ApiRoute("HEAD", "/uploads/{link_id}", "receive_vendor_document", "link checks by mail scanners"),
        ApiRoute(
            "POST",
            "/uploads/{link_id}",
            "receive_vendor_document",
            "the vendor confirms the documents sent to S3",
        ),
        ApiRoute("GET", "/reports/{link_id}", "open_process_report", "a process owner's report link"),
        ApiRoute("HEAD", "/reports/{link_id}", "open_process_report", "link checks by mail scanners"),
    ),
    schedules=(
        Schedule("approval_reminders", "rate(1 hour)", "remind_approvers", "reminders for pending approvals"),
        # 06:00 UTC on the 2nd: last month's time is in; the PSA's own Billing Period Closed, if any, is the same case.
        # Daily: OFAC publishes changes on no fixed day; a list older than 8 days pages (infra/monitoring.py).
        Schedule(
            "sanctions_list_refresh",
            "cron(0 5 * * ? *)",
            "refresh_sanctions_list",
            "keeps the sanctions list current",
        ),
        Schedule(
            "monthly_billing_close",
            "cron(0 6 2 * ? *)",
            "close_billing_period",
            "closes last month for billing",
        ),
        # 06:00 UTC on the 6th, after the billing run: last month's revenue recognition, and its reconciliation
        # (the same case as the one the billing run's completion started, if it did: same period, same case key).
        Schedule(
            "monthly_period_close",
            "cron(0 6 6 * ? *)",
            "request_period_close",
            "asks for last month's reconciliation and revenue recognition",
        ),
        # 04:00 UTC daily: the payments the ERP recorded, for any the Invoice Paid events did not bring.
        Schedule(
            "daily_invoice_payments",
            "cron(0 4 * * ? *)",
            "read_invoice_payments",
            "records the payments and credit memos applied to posted invoices",
        ),
        # 04:00 UTC on the 1st: last month's delivery (utilization, WIP), before the billing close on the 2nd bills
        # the month's work: what is in progress at the month's end is still unbilled in the PSA.
        Schedule(
            "monthly_delivery_measurement",
            "cron(0 4 1 * ? *)",
            "measure_delivery",
            "measures last month's utilization and work in progress",
        ),
        # Working days: each run chases the weeks whose timesheets are due by then in the firm's zone (the reminder
        # policy's due time, Monday 09:00 New York by default; 14:15 UTC is after it all year), reminds on the first
        # run after the due time and escalates on the first after the escalation delay (time_expense/reminders.py).
        Schedule(
            "timesheet_reminders",
            Ref("setting", "timesheet_reminders_schedule"),
            "remind_missing_timesheets",
            "reminds workers of missing timesheets and escalates to their managers",
        ),
        Schedule(
            "weekly_process_report",
            Ref("setting", "process_report_schedule"),
            "publish_process_report",
            "publishes the process report and mails its owners a link",
        ),
    ),
    settings={
        "approvals_sender": "approvals@example-firm.com",
        # The SES identity the stack creates for the sender: "address" (the address alone) or "domain" (its
        # domain, with Easy DKIM: the firm publishes three CNAME records; docs/deploy.md).
        "sender_identity": "address",
        # The SES configuration set every mail is sent with (its events go to the mail_events topic).
        "mail_configuration_set": "backoffice-mail",
        "connectors_config_parameter": "/backoffice/connectors",
        # The firm's configuration document (make synth CONFIG=...; the sample firm's without), written by the stack.
        "firm_config_parameter": "/backoffice/firm-config",
        # Which adapter serves each system: sandbox, salesforce (CRM; Certinia PSA), netsuite (ERP) or rest.
        "connector_crm": "sandbox",
        "connector_psa": "sandbox",
        "connector_erp": "sandbox",
        "connector_hris": "sandbox",
        # "true" sends scanned documents to Amazon Textract (docs/deploy.md); else a person reads them. The local
        # runtime has no Textract: keep it "false" there.
        "textract_enabled": "false",
        "textract_output_prefix": "textract-output",
        # The firm's billing policy (invoicing.policy.BillingPolicy) and anomaly policy (anomaly.AnomalyPolicy)
        # as JSON; "{}" keeps the documented defaults.
        "billing_policy": "{}",
        "anomaly_policy": "{}",
        # Where the sanctions list comes from (vendors.sanctions_lists.SanctionsSources as JSON): "{}" is OFAC's
        # published files; the local runtime uses the sample list shipped in the package.
        "sanctions_sources": "{}",
        # How long anchors of the audit trail are locked (compliance mode: no one can shorten it), and how long a
        # new record may go without an anchor before verify calls it appended outside the stream.
        "audit_anchor_retention_days": "2557",
        "audit_anchor_window_seconds": "900",
        # When the process report is published (EventBridge Scheduler, UTC; -c process_report_schedule=... to
        # change it) and how many days the link its owners are mailed works.
        "process_report_schedule": "cron(0 7 ? * MON *)",
        "process_report_link_days": "14",
        # When the missing-timesheet job runs (EventBridge Scheduler, UTC): after the firm's due time on working days.
        "timesheet_reminders_schedule": "cron(15 14 ? * MON-FRI *)",
        # -- ai assist (issue #23) --
        # What the Bedrock grant is scoped to (the firm document's ai_assist section: assist.config): "{}" grants no
        # Bedrock call; else {"model_id", "region" ("" = the stack's), "routing_regions" (an inference profile's)}.
        "ai_assist": "{}",
    },
    object_lock={"audit_anchors": "audit_anchor_retention_days"},
    signing_keys=("audit_signing",),
    stream_subscriptions=(
        StreamSubscription("audit", "anchor_audit", "every new audit record is anchored outside the table"),
    ),
    service_roles=(
        ServiceRole(
            name="textract_notifications",
            service="textract.amazonaws.com",
            description="Amazon Textract publishes the completion notices of the product's jobs",
            publishes_to=("textract_completed",),
        ),
    ),
    subscriptions=(
        Subscription("textract_completed", "textract_completed", "Textract's job completion notices"),
        Subscription("mail_events", "handle_mail_event", "SES's bounce, complaint and delay records"),
    ),
    rules=(
        EventRule(
            name="opportunity_closed_won",
            description="A won deal in the CRM starts project onboarding",
            pattern={"detail-type": ["Opportunity Closed Won"]},
            workflow="onboarding",
            case_key="detail.opportunity.id",
        ),
        EventRule(
            name="vendor_onboarding_requested",
            description="Procurement asks for a new vendor: start vendor onboarding",
            pattern={"detail-type": ["Vendor Onboarding Requested"]},
            workflow="vendor_approval",
            # The vendor's name reads well in the console; the event id keeps two requests for it apart.
            case_key="detail.vendor_legal_name+id",
        ),
        EventRule(
            name="billing_period_closed",
            description="The PSA (or the monthly schedule) closed a billing period: invoice it",
            pattern={"detail-type": ["Billing Period Closed"]},
            workflow="invoicing",
            # One run per period; an operator bills the period again after fixes with a new ``rerun`` label.
            case_key="detail.period_start+detail.period_end+detail.rerun",
        ),
        EventRule(
            name="billing_run_completed",
            description="A billing run of a period completed: reconcile the period's PSA and ERP",
            pattern={"detail-type": ["Billing Run Completed"]},
            workflow="reconciliation",
            case_key="detail.period_start+detail.period_end+detail.rerun",
        ),
        EventRule(
            name="reconciliation_requested",
            description="Someone (or the monthly schedule) asks for a period's reconciliation",
            pattern={"detail-type": ["Reconciliation Requested"]},
            workflow="reconciliation",
            # The billing run's completion and a request for the same period are one case; after fixes, an
            # operator reconciles again with a new ``rerun`` label.
            case_key="detail.period_start+detail.period_end+detail.rerun",
        ),
        EventRule(
            name="revenue_recognition_requested",
            description="The monthly schedule (or someone) asks for a period's revenue recognition",
            pattern={"detail-type": ["Revenue Recognition Requested"]},
            workflow="revenue_recognition",
            case_key="detail.period_start+detail.period_end+detail.rerun",
        ),
        EventRule(
            name="timesheet_submitted",
            description="A worker submitted a week's time in the PSA: review it now, not at month end",
            pattern={"detail-type": ["Timesheet Submitted"]},
            workflow="time_expense_review",
            # One case per worker-week (the reminders of a missing week land on it too); a resubmission after
            # lines were sent back is a new attempt on it: a new submission id, else a new submission time.
            case_key="detail.worker_id+detail.week_start",
            execution_prefix="timesheet",
            attempt_key="detail.submission_id+detail.submitted_at",
        ),
        EventRule(
            name="expense_report_submitted",
            description="A worker submitted an expense report: review it now, not at month end",
            pattern={"detail-type": ["Expense Report Submitted"]},
            workflow="time_expense_review",
            case_key="detail.report_id",
            execution_prefix="expense-report",
            attempt_key="detail.submitted_at",
        ),
        EventRule(
            name="salesforce_opportunity_won",
            description="Salesforce Event Relay: an Opportunity change or platform event that reached Closed Won",
            # Change events carry only changed fields: the ingest step reads the opportunity from the CRM and goes on
            # only when it is closed and won.
            pattern={
                "source": [{"prefix": "aws.partner/salesforce.com"}],
                "detail-type": ["OpportunityChangeEvent", "Opportunity_Closed_Won__e"],
            },
            function="ingest_salesforce_event",
        ),
        EventRule(
            name="invoice_paid",
            description="The ERP applied a payment or credit memo to a posted invoice: recorded on its case",
            pattern={"detail-type": ["Invoice Paid"]},
            function="record_invoice_payment",
        ),
        # -- purchasing ----
        EventRule(
            name="purchase_requested",
            description="Procurement's portal asks to buy (a work order, software, travel): start purchase approval",
            pattern={"detail-type": ["Purchase Requested"]},
            workflow="purchase_approval",
            # One case per request: a second delivery is a duplicate and creates no second order. A request fixed
            # and sent again (a new requested_at) is a new attempt on the same case; the order's key stays the
            # request's, so a request already ordered is not ordered twice.
            case_key="detail.request_id",
            attempt_key="detail.requested_at",
        ),
        EventRule(
            name="vendor_outcome_for_purchases",
            description="A vendor onboarding's outcome: the purchases waiting for that vendor go on or stop",
            # Only the workflows' own outcomes: anyone else putting these detail-types resumes nothing.
            pattern={
                "source": ["backoffice.workflows"],
                "detail-type": ["Vendor Approved", "Vendor Rejected", "Vendor Onboarding Blocked"],
            },
            function="resume_purchases_for_vendor",
        ),
        # -- resource onboarding (issue #22) -----------------------------------------------------------------------
        EventRule(
            name="worker_hired",
            description="The HRIS hired (or rehired) a worker: set them up as a resource in the PSA",
            pattern={"detail-type": ["Worker Hired"]},
            workflow="resource_onboarding",
            # One case per worker (worker-<id>); a rehire (a new start date) or a corrected record of the hire (the
            # HRIS's new hired_at, e.g. the manager fixed) is a new attempt on it, the same hire delivered twice a
            # duplicate.
            case_key="detail.worker_id",
            attempt_key="detail.start_date+detail.hired_at",
        ),
        EventRule(
            name="unrouted_business_event",
            description="An event from a known business system that no other rule takes: parked and audited",
            pattern={
                "source": list(BUSINESS_EVENT_SOURCES),
                "detail-type": [{"anything-but": [*ROUTED_DETAIL_TYPES, *INGESTED_DETAIL_TYPES]}],
            },
            function="park_unrouted_event",
        ),
    ),
)


# -- ai assist (issue #23) ---------------------------------------------------------------------------------------
# The functions that ask the assistant (backoffice.assist) for what people are shown. Each reads the firm document's
# ai_assist section (firm_config:read) and holds bedrock:invoke, which grants nothing unless that section turns
# Bedrock on (infra/permissions.py). Reminders, escalations and the decision page show the summary the request
# kept, so they ask nothing.
AI_ASSIST_FUNCTIONS: tuple[str, ...] = (
    "request_approval",  # the approval context summary, written once per request (approvals/summary.py)
    "assess_contract_risk",  # clause detection beside the rules
    "read_vendor_documents",  # what a file that is not what its slot says looks like
    "check_project_billing",  # the flagged lines' reasons in plain words for the exception reviewer
)
_AI_ASSIST_GRANTS: tuple[Grant, ...] = ("firm_config:read", "bedrock:invoke")


def _asking_the_assistant(catalog: Catalog, names: tuple[str, ...]) -> Catalog:
    """``catalog`` with each named function reading the firm document and holding the Bedrock grant."""
    missing = sorted(set(names) - {f.name for f in catalog.functions})
    if missing:
        raise KeyError(f"AI_ASSIST_FUNCTIONS names no catalog function: {', '.join(missing)}")

    def asking(spec: LambdaFunction) -> LambdaFunction:
        if spec.name not in names:
            return spec
        grants = (*spec.grants, *(g for g in _AI_ASSIST_GRANTS if g not in spec.grants))
        return replace(spec, grants=grants, environment={**spec.environment, **_FIRM_CONFIG_ENV})

    return replace(catalog, functions=tuple(asking(spec) for spec in catalog.functions))


CATALOG = _asking_the_assistant(CATALOG, AI_ASSIST_FUNCTIONS)
