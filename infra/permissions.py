"""The catalog's grants as least-privilege IAM statements: exact actions, exact resources, no helper wildcards.

CDK's ``grant_*`` helpers grant more than a grant here means (``grant_write_data`` would let the audit writer
update and delete records; ``grant_send_messages`` brings ``kms:ReEncrypt*``), so each grant spells out its
statements. KMS use is always bound to the service that needs it with ``kms:ViaService``: holding
``audit:append`` lets a function use the data key through DynamoDB, not decrypt a document from S3.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from aws_cdk import ArnFormat, Aws, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn

from infra.catalog import Grant, Ref, bucket, queue, role, signing_key, table, topic
from infra.resources import CatalogResources

# The catalog names each grant refers to.
AUDIT = table("audit")
IDEMPOTENCY = table("idempotency")
DOCUMENTS = bucket("documents")
AUDIT_ANCHORS = bucket("audit_anchors")
SANCTIONS_LISTS = bucket("sanctions_lists")
REPORTS = bucket("reports")
# Where the published process reports are kept in the reports bucket (backoffice.reports.process_report).
REPORTS_PREFIX = "process-reports"
AUDIT_SIGNING = signing_key("audit_signing")
NOTIFICATIONS = topic("notifications")
PARKED_EVENTS = queue("parked_events")
APPROVALS = table("approvals")
SANDBOX = table("sandbox")
TEXTRACT_JOBS = table("textract_jobs")
FINANCE_CLOSE = table("finance_close")
TIME_EXPENSE = table("time_expense")
PURCHASING = table("purchasing")
TEXTRACT_NOTIFICATIONS = role("textract_notifications")
TEXTRACT_OUTPUT_PREFIX = "textract_output_prefix"
# The setting that names the address approval e-mails are sent from.
APPROVALS_SENDER = "approvals_sender"
# The setting that names the SES configuration set every mail is sent with.
MAIL_CONFIGURATION_SET = "mail_configuration_set"
CONNECTORS_PARAMETER = "connectors_config_parameter"
FIRM_CONFIG_PARAMETER = "firm_config_parameter"
# Where a billing run keeps its working files in the documents bucket (backoffice.invoicing.steps).
BILLING_PREFIX = "billing"
# Where a vendor's uploaded documents go in the documents bucket (backoffice.vendors.uploads.document_key).
VENDOR_UPLOADS = "cases/*/vendor/*"


# What each service asks KMS for on the caller's behalf.
_TABLE_READ = ["kms:Decrypt", "kms:DescribeKey"]
_TABLE_WRITE = ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"]
_OBJECT_READ = ["kms:Decrypt"]
_OBJECT_WRITE = ["kms:GenerateDataKey", "kms:Decrypt"]  # Decrypt: multipart uploads read back their parts
_MESSAGE_SEND = ["kms:GenerateDataKey", "kms:Decrypt"]


@dataclass(frozen=True)
class Wildcard:
    """A resource pattern that cannot be narrower, and why; it becomes a cdk-nag acknowledgement."""

    resource: str
    reason: str


@dataclass(frozen=True)
class Permission:
    statements: tuple[iam.PolicyStatement, ...]
    wildcards: tuple[Wildcard, ...] = ()


def permission_for(grant: Grant, resources: CatalogResources, key: kms.IKey) -> Permission:
    """The statements one catalog grant stands for."""
    return _BUILDERS[grant](resources, key)


def send_to_queue(target: sqs.IQueue, key: kms.IKey) -> tuple[iam.PolicyStatement, ...]:
    """SendMessage on one queue, with the KMS use SQS makes for it (for the starter's failure destination)."""
    return (_allow(["sqs:SendMessage"], [target.queue_arn]), _key_use(key, "sqs", _MESSAGE_SEND))


def _audit_append(resources: CatalogResources, key: kms.IKey) -> Permission:
    # PutItem only: the audit trail is append-only, a record once written is never updated or deleted.
    # GenerateMac on the audit signing key: each record is signed (backoffice.audit.RecordSigner), a call the
    # function makes to KMS itself, so no kms:ViaService. Never VerifyMac: a writer has no use for it.
    audit = resources.storage.tables[AUDIT.name]
    signing = resources.signing_keys[AUDIT_SIGNING.name]
    return Permission(
        (
            _allow(["dynamodb:PutItem"], [audit.table_arn]),
            _key_use(key, "dynamodb", _TABLE_WRITE),
            _allow(["kms:GenerateMac"], [signing.key_arn]),
        ),
    )


def _audit_read(resources: CatalogResources, key: kms.IKey) -> Permission:
    audit = resources.storage.tables[AUDIT.name]
    return Permission(
        (
            _allow(["dynamodb:GetItem", "dynamodb:Query"], [audit.table_arn]),
            _key_use(key, "dynamodb", _TABLE_READ),
        ),
    )


def _audit_scan(resources: CatalogResources, key: kms.IKey) -> Permission:
    # Scan (projected to case ids) finds the cases, Query reads each one: the process report reads the whole trail.
    audit = resources.storage.tables[AUDIT.name]
    return Permission(
        (
            _allow(["dynamodb:Scan", "dynamodb:Query"], [audit.table_arn]),
            _key_use(key, "dynamodb", _TABLE_READ),
        ),
    )


def _audit_anchors_write(resources: CatalogResources, key: kms.IKey) -> Permission:
    # PutObject (with If-None-Match, so never over an anchor) and GetObject to compare a redelivered record with
    # the anchor already kept. No delete, no version or retention actions: Object Lock would refuse them anyway.
    objects = resources.storage.buckets[AUDIT_ANCHORS.name].arn_for_objects("cases/*")
    return Permission(
        (
            _allow(["s3:PutObject", "s3:GetObject"], [objects]),
            _key_use(key, "s3", _OBJECT_WRITE),
        ),
        (
            Wildcard(
                objects,
                "One anchor object per audit record (cases/<case id>/<seq>.json); case ids are made at run time, "
                "so the grant covers the anchors folder of the anchors bucket and nothing else.",
            ),
        ),
    )


def _idempotency_readwrite(resources: CatalogResources, key: kms.IKey) -> Permission:
    # What Powertools' DynamoDB persistence layer calls, and nothing else.
    records = resources.storage.tables[IDEMPOTENCY.name]
    actions = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"]
    return Permission((_allow(actions, [records.table_arn]), _key_use(key, "dynamodb", _TABLE_WRITE)))


def _objects(
    bucket: Ref,
    prefix: str,
    actions: list[str],
    *,
    write: bool,
    reason: str,
    list_bucket: bool = False,
) -> Callable[[CatalogResources, kms.IKey], Permission]:
    """Object actions under ``prefix`` of a catalog bucket, with the KMS use S3 makes for them; ``reason`` says why
    the keys cannot be named one by one (it becomes the cdk-nag acknowledgement). ``list_bucket``: ListBucket on
    the bucket too, for a bucket that holds only these objects (S3 answers a missing key 404, not 403, then)."""

    def build(resources: CatalogResources, key: kms.IKey) -> Permission:
        store = resources.storage.buckets[bucket.name]
        objects = store.arn_for_objects(f"{prefix}*")
        listing = (_allow(["s3:ListBucket"], [store.bucket_arn]),) if list_bucket else ()
        return Permission(
            (
                _allow(actions, [objects]),
                *listing,
                _key_use(key, "s3", _OBJECT_WRITE if write else _OBJECT_READ),
            ),
            (Wildcard(objects, reason),),
        )

    return build


_DOCUMENT_KEYS = (
    "Object-level S3 actions name objects, and document keys are made per case at run time "
    "(case id + document name), so the grant has to cover the bucket's object ARNs."
)
_REPORT_KEYS = (
    "A report is kept per publication day (process-reports/<yyyy-mm-dd>/report.html), a date "
    "made at run time, so the grant covers the reports folder of the reports bucket and nothing else."
)
# The list's versions (sdn/<sha256>/...) and its manifest (sdn/current.json), with ListBucket on that bucket (it
# holds nothing else): without it S3 answers a GetObject of a manifest not yet written 403, not 404, and the
# screen could not tell "no list yet" from "not allowed".
_SANCTIONS_LIST_KEYS = (
    "The sanctions list is stored content-addressed (sdn/<sha256>/<file>.csv), a key known only "
    "once the files are fetched, so the grant covers the list folder of its own bucket."
)


def _documents_list(resources: CatalogResources, key: kms.IKey) -> Permission:
    # ListBucket names the bucket, narrowed by the s3:prefix condition key to the billing runs' files.
    documents = resources.storage.buckets[DOCUMENTS.name]
    return Permission(
        (
            iam.PolicyStatement(
                actions=["s3:ListBucket"],
                resources=[documents.bucket_arn],
                conditions={"StringLike": {"s3:prefix": [f"{BILLING_PREFIX}/*"]}},
            ),
        )
    )


def _vendor_uploads(resources: CatalogResources, key: kms.IKey) -> Permission:
    # The upload page signs presigned POSTs that S3 authorizes against this role when the vendor's browser posts
    # the file, so PutObject is what lets the vendor write; only under cases/<case>/vendor/, never elsewhere.
    # GetObject/GetObjectVersion: the confirmation checks each uploaded version's size and first bytes.
    objects = resources.storage.buckets[DOCUMENTS.name].arn_for_objects(VENDOR_UPLOADS)
    actions = ["s3:PutObject", "s3:GetObject", "s3:GetObjectVersion"]
    return Permission(
        (_allow(actions, [objects]), _key_use(key, "s3", _OBJECT_WRITE)),
        (
            Wildcard(
                objects,
                "Vendor documents are stored per case (cases/<case id>/vendor/<document>.pdf) and case ids are made "
                "at run time, so the grant covers the vendor folder of every case and nothing else.",
            ),
        ),
    )


def _bus_put(resources: CatalogResources, key: kms.IKey) -> Permission:
    return Permission((_allow(["events:PutEvents"], [resources.bus.event_bus_arn]),))


def _states_start(resources: CatalogResources, key: kms.IKey) -> Permission:
    # DescribeExecution is how a duplicate event finds the case that already exists: StartExecution with a taken
    # name fails with ExecutionAlreadyExists, and the starter then reads that execution.
    machines = list(resources.state_machines.values())
    executions = [_executions_of(machine) for machine in machines]
    return Permission(
        (
            _allow(["states:StartExecution"], [machine.state_machine_arn for machine in machines]),
            _allow(["states:DescribeExecution"], executions),
        ),
        tuple(
            Wildcard(
                execution,
                "Execution ARNs are the state machine's name plus an execution name made per case at run time; "
                "DescribeExecution on this state machine's executions cannot name them in advance.",
            )
            for execution in executions
        ),
    )


def _billing_runs_map(resources: CatalogResources, key: kms.IKey) -> Permission:
    # What AWS documents for a Distributed Map's ItemReader (GetObject on the items) and ResultWriter (PutObject
    # and the multipart upload actions a large result file needs, GetObject), with the bucket key through S3.
    documents = resources.storage.buckets[DOCUMENTS.name]
    items = documents.arn_for_objects(f"{BILLING_PREFIX}/*/projects.json")
    results = documents.arn_for_objects(f"{BILLING_PREFIX}/*/results/*")
    writes = ["s3:PutObject", "s3:GetObject", "s3:ListMultipartUploadParts", "s3:AbortMultipartUpload"]
    return Permission(
        (_allow(["s3:GetObject"], [items]), _allow(writes, [results]), _key_use(key, "s3", _OBJECT_WRITE)),
        (
            Wildcard(
                items,
                "A billing run's folder is named by its case id, made per run at run time: the Map reads the "
                "project list of any run, and no other file of it.",
            ),
            Wildcard(
                results,
                "The ResultWriter writes under the run's results folder, in a folder per map run whose id Step "
                "Functions makes at run time.",
            ),
        ),
    )


def distributed_map_children(machine: sfn.StateMachine) -> Permission:
    """A state machine with a Distributed Map starts its children as executions of itself (AWS's documented
    policy): StartExecution on itself, DescribeExecution and StopExecution on its child executions, whose ARNs
    are ``execution:<state machine>/<map run label>:<id>``."""
    children = Stack.of(machine).format_arn(
        service="states",
        resource="execution",
        resource_name=f"{machine.state_machine_name}/*",
        arn_format=ArnFormat.COLON_RESOURCE_NAME,
    )
    return Permission(
        (
            _allow(["states:StartExecution"], [machine.state_machine_arn]),
            _allow(["states:DescribeExecution", "states:StopExecution"], [children]),
        ),
        (
            Wildcard(
                children,
                "A map run names its child executions at run time (the map run's label, then an id per child).",
            ),
        ),
    )


def _notifications_publish(resources: CatalogResources, key: kms.IKey) -> Permission:
    notifications = resources.storage.topics[NOTIFICATIONS.name]
    return Permission(
        (_allow(["sns:Publish"], [notifications.topic_arn]), _key_use(key, "sns", _MESSAGE_SEND)),
    )


def _parked_send(resources: CatalogResources, key: kms.IKey) -> Permission:
    return Permission(send_to_queue(resources.storage.queues[PARKED_EVENTS.name], key))


def _approvals_readwrite(resources: CatalogResources, key: kms.IKey) -> Permission:
    # What the approvals store calls: versioned conditional puts, reads by key, the scan for pending requests,
    # and the atomic ADD of the unknown-link refusal counters.
    approvals = resources.storage.tables[APPROVALS.name]
    actions = [
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:Query",
        "dynamodb:Scan",
    ]
    return Permission((_allow(actions, [approvals.table_arn]), _key_use(key, "dynamodb", _TABLE_WRITE)))


def _sandbox_readwrite(resources: CatalogResources, key: kms.IKey) -> Permission:
    # What the sandbox CRM/PSA/ERP/HRIS adapters call: reads (one by one and in batches of line ids), paged
    # queries, idempotent puts, counters.
    sandbox = resources.storage.tables[SANDBOX.name]
    actions = [
        "dynamodb:GetItem",
        "dynamodb:BatchGetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:Query",
    ]
    return Permission((_allow(actions, [sandbox.table_arn]), _key_use(key, "dynamodb", _TABLE_WRITE)))


def _states_callback(resources: CatalogResources, key: kms.IKey) -> Permission:
    # Step Functions authorizes task-token callbacks against the state machine that issued the token.
    machines = [machine.state_machine_arn for machine in resources.state_machines.values()]
    return Permission((_allow(["states:SendTaskSuccess", "states:SendTaskFailure"], machines),))


def _mail_send(resources: CatalogResources, key: kms.IKey) -> Permission:
    # SES authorizes against the identity that covers the sender: the address if verified on its own, else its
    # domain. Both are named, and the From address is pinned so the grant cannot send as anyone else. A send that
    # names a configuration set is also authorized against the set's ARN (every product mail names one).
    sender = resources.setting(APPROVALS_SENDER)
    domain = sender.rsplit("@", 1)[-1]
    stack = Stack.of(resources.scope)
    identities = [
        stack.format_arn(service="ses", resource="identity", resource_name=name) for name in (sender, domain)
    ]
    configuration_set = stack.format_arn(
        service="ses", resource="configuration-set", resource_name=resources.setting(MAIL_CONFIGURATION_SET)
    )
    return Permission(
        (
            iam.PolicyStatement(
                actions=["ses:SendRawEmail"],
                resources=[*identities, configuration_set],
                conditions={"StringEquals": {"ses:FromAddress": sender}},
            ),
        )
    )


def _firm_config_read(resources: CatalogResources, key: kms.IKey) -> Permission:
    # One parameter, named: the document the deploy validated and wrote (a String: it holds no secret).
    parameter = Stack.of(resources.scope).format_arn(
        service="ssm",
        resource="parameter",
        resource_name=resources.setting(FIRM_CONFIG_PARAMETER).lstrip("/"),
    )
    return Permission((_allow(["ssm:GetParameter"], [parameter]),))


def _connectors_config(resources: CatalogResources, key: kms.IKey) -> Permission:
    # The connector settings document (one SSM parameter) and the connector secrets under backoffice/ in
    # Secrets Manager (a firm adds them after deploying; their names, not ARNs, are in the document).
    stack = Stack.of(resources.scope)
    parameter = stack.format_arn(
        service="ssm", resource="parameter", resource_name=resources.setting(CONNECTORS_PARAMETER).lstrip("/")
    )
    secrets = stack.format_arn(
        service="secretsmanager",
        resource="secret",
        resource_name="backoffice/*",
        arn_format=ArnFormat.COLON_RESOURCE_NAME,
    )
    return Permission(
        (
            _allow(["ssm:GetParameter"], [parameter]),
            _allow(["secretsmanager:GetSecretValue"], [secrets]),
        ),
        (
            Wildcard(
                secrets,
                "Connector secrets are created by each firm after deployment, named backoffice/<system>; Secrets "
                "Manager appends a random suffix to every secret ARN, so the names cannot be listed in advance.",
            ),
        ),
    )


# Textract's actions do not support resource-level permissions (only its custom adapters have ARNs).
_TEXTRACT_ANY_RESOURCE = Wildcard(
    "*",
    "Amazon Textract's Analyze*, Start*Analysis and Get*Analysis actions do not support resource-level "
    "permissions, so IAM can only grant them on '*'; the documents they read are bounded by the S3 grants.",
)


def _textract_output(resources: CatalogResources, key: kms.IKey) -> Permission:
    # Textract writes a job's output with the caller's credentials, and so do the handlers with the normalized
    # analysis beside it: both only under the output prefix of the documents bucket.
    prefix = resources.setting(TEXTRACT_OUTPUT_PREFIX).strip("/")
    objects = resources.storage.buckets[DOCUMENTS.name].arn_for_objects(f"{prefix}/*")
    return Permission(
        (_allow(["s3:PutObject"], [objects]), _key_use(key, "s3", _OBJECT_WRITE)),
        (
            Wildcard(
                objects,
                "Textract names its output objects after the job id, and analyses are stored per case: both are "
                "made at run time, so the grant covers the output prefix of the documents bucket.",
            ),
        ),
    )


def _textract_start(resources: CatalogResources, key: kms.IKey) -> Permission:
    notifications = resources.roles[TEXTRACT_NOTIFICATIONS.name]
    output = _textract_output(resources, key)
    actions = [
        "textract:AnalyzeDocument",
        "textract:AnalyzeExpense",
        "textract:StartDocumentAnalysis",
        "textract:StartExpenseAnalysis",
    ]
    return Permission(
        (
            _allow(actions, ["*"]),
            # The job's NotificationChannel passes this role to Textract, and only to Textract.
            iam.PolicyStatement(
                actions=["iam:PassRole"],
                resources=[notifications.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": "textract.amazonaws.com"}},
            ),
            *output.statements,
        ),
        (_TEXTRACT_ANY_RESOURCE, *output.wildcards),
    )


def _textract_results(resources: CatalogResources, key: kms.IKey) -> Permission:
    output = _textract_output(resources, key)
    return Permission(
        (
            _allow(["textract:GetDocumentAnalysis", "textract:GetExpenseAnalysis"], ["*"]),
            *output.statements,
        ),
        (_TEXTRACT_ANY_RESOURCE, *output.wildcards),
    )


def _textract_jobs_readwrite(resources: CatalogResources, key: kms.IKey) -> Permission:
    # What the task-token store calls: a put per started job, a consistent read per completion notice.
    jobs = resources.storage.tables[TEXTRACT_JOBS.name]
    return Permission(
        (
            _allow(["dynamodb:GetItem", "dynamodb:PutItem"], [jobs.table_arn]),
            _key_use(key, "dynamodb", _TABLE_WRITE),
        )
    )


def _finance_close_readwrite(resources: CatalogResources, key: kms.IKey) -> Permission:
    # What the reconciliation findings store calls: a period's findings by query, one by key, versioned
    # conditional puts (backoffice/finance_close/findings.py). No scan, no delete: a closed finding stays.
    findings = resources.storage.tables[FINANCE_CLOSE.name]
    return Permission(
        (
            _allow(["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"], [findings.table_arn]),
            _key_use(key, "dynamodb", _TABLE_WRITE),
        )
    )


def _finance_close_read(resources: CatalogResources, key: kms.IKey) -> Permission:
    # What revenue recognition reads: the positions earlier closes booked (queries by project), no write.
    table_ = resources.storage.tables[FINANCE_CLOSE.name]
    return Permission(
        (
            _allow(["dynamodb:GetItem", "dynamodb:Query"], [table_.table_arn]),
            _key_use(key, "dynamodb", _TABLE_READ),
        )
    )


def _time_expense_readwrite(resources: CatalogResources, key: kms.IKey) -> Permission:
    # What the weekly decisions store calls: one line's decision by key, many by BatchGetItem, versioned
    # conditional puts (backoffice/time_expense/decisions.py). No scan, no delete: a decision stays.
    decisions = resources.storage.tables[TIME_EXPENSE.name]
    return Permission(
        (
            _allow(["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:PutItem"], [decisions.table_arn]),
            _key_use(key, "dynamodb", _TABLE_WRITE),
        )
    )


def _time_expense_read(resources: CatalogResources, key: kms.IKey) -> Permission:
    # What the month-end billing run reads: the week's decisions of its lines, no write.
    decisions = resources.storage.tables[TIME_EXPENSE.name]
    return Permission(
        (
            _allow(["dynamodb:GetItem", "dynamodb:BatchGetItem"], [decisions.table_arn]),
            _key_use(key, "dynamodb", _TABLE_READ),
        )
    )


# -- ai assist (issue #23) ---------------------------------------------------------------------------------------
# The setting that says which model the assistant may invoke (the firm document's ai_assist section, assist.config).
AI_ASSIST = "ai_assist"


def _bedrock_invoke(resources: CatalogResources, key: kms.IKey) -> Permission:
    """``bedrock:InvokeModel`` (what Converse is authorized as) on the firm's configured model only, and nothing at
    all while the firm has not turned Bedrock on (setting ``ai_assist`` is "{}").

    - a foundation model id: its ARN in the configured region (the stack's when none), which has no account;
    - a cross-region inference profile id (``us.anthropic...``): the profile's ARN in the configured region, and
      the foundation model's ARN in each region the profile routes to (``routing_regions``), usable only through
      that profile (condition ``bedrock:InferenceProfileArn``): Bedrock checks both, the model where it serves;
    - a Guardrail: ``bedrock:ApplyGuardrail`` on it, which Converse with ``guardrailConfig`` also needs.
    """
    setting = json.loads(resources.setting(AI_ASSIST) or "{}")
    model = str(setting.get("model_id") or "")
    if not model:
        return Permission(())
    stack = Stack.of(resources.scope)
    region = str(setting.get("region") or "") or stack.region

    def arn(resource: str, name: str, *, account: bool = True) -> str:
        return stack.format_arn(
            service="bedrock",
            region=region,
            account=None if account else "",
            resource=resource,
            resource_name=name,
        )

    routing = [str(r) for r in setting.get("routing_regions") or []]
    if routing:
        profile = arn("inference-profile", model)
        base_model = model.split(".", 1)[1]
        statements = [
            _allow(["bedrock:InvokeModel"], [profile]),
            iam.PolicyStatement(
                actions=["bedrock:InvokeModel"],
                resources=[
                    f"arn:{Aws.PARTITION}:bedrock:{where}::foundation-model/{base_model}" for where in routing
                ],
                conditions={"StringEquals": {"bedrock:InferenceProfileArn": profile}},
            ),
        ]
    else:
        statements = [_allow(["bedrock:InvokeModel"], [arn("foundation-model", model, account=False)])]
    guardrail = str(setting.get("guardrail_id") or "")
    if guardrail:
        guardrail_arn = guardrail if guardrail.startswith("arn:") else arn("guardrail", guardrail)
        statements.append(_allow(["bedrock:ApplyGuardrail"], [guardrail_arn]))
    return Permission(tuple(statements))


# -- purchasing ----


def _purchasing_readwrite(resources: CatalogResources, key: kms.IKey) -> Permission:
    # What backoffice/purchasing/vendor_waits.py calls: the vendor's onboarding item and a purchase's waiting item by
    # key, conditional puts and updates (the claim, the outcome, the resume), a Query of one vendor's waiting
    # purchases. No scan, no delete.
    waits = resources.storage.tables[PURCHASING.name]
    return Permission(
        (
            _allow(
                ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query"],
                [waits.table_arn],
            ),
            _key_use(key, "dynamodb", _TABLE_WRITE),
        )
    )


_BUILDERS: dict[Grant, Callable[[CatalogResources, kms.IKey], Permission]] = {
    "audit:append": _audit_append,
    "audit:read": _audit_read,
    "audit_anchors:write": _audit_anchors_write,
    "idempotency:readwrite": _idempotency_readwrite,
    # GetObjectVersion: steps read the version a case pinned (and Textract reads it with the caller's rights).
    "documents:read": _objects(
        DOCUMENTS, "", ["s3:GetObject", "s3:GetObjectVersion"], write=False, reason=_DOCUMENT_KEYS
    ),
    "documents:write": _objects(DOCUMENTS, "", ["s3:PutObject"], write=True, reason=_DOCUMENT_KEYS),
    "documents:list": _documents_list,
    "vendor_uploads:readwrite": _vendor_uploads,
    "bus:put": _bus_put,
    "states:start": _states_start,
    "notifications:publish": _notifications_publish,
    "parked:send": _parked_send,
    "approvals:readwrite": _approvals_readwrite,
    "states:callback": _states_callback,
    "mail:send": _mail_send,
    "sandbox:readwrite": _sandbox_readwrite,
    "connectors:config": _connectors_config,
    "firm_config:read": _firm_config_read,
    "textract:start": _textract_start,
    "textract:results": _textract_results,
    "textract_jobs:readwrite": _textract_jobs_readwrite,
    "finance_close:readwrite": _finance_close_readwrite,
    "finance_close:read": _finance_close_read,
    "time_expense:readwrite": _time_expense_readwrite,
    "time_expense:read": _time_expense_read,
    "purchasing:readwrite": _purchasing_readwrite,
    "billing_runs:map": _billing_runs_map,
    "sanctions_lists:read": _objects(
        SANCTIONS_LISTS, "sdn/", ["s3:GetObject"], write=False, reason=_SANCTIONS_LIST_KEYS, list_bucket=True
    ),
    "sanctions_lists:write": _objects(
        SANCTIONS_LISTS,
        "sdn/",
        ["s3:GetObject", "s3:PutObject"],
        write=True,
        reason=_SANCTIONS_LIST_KEYS,
        list_bucket=True,
    ),
    "audit:scan": _audit_scan,
    "reports:write": _objects(
        REPORTS, f"{REPORTS_PREFIX}/", ["s3:PutObject"], write=True, reason=_REPORT_KEYS
    ),
    # GetObjectVersion: a report link opens the version that was mailed, not whatever was published since.
    "reports:read": _objects(
        REPORTS,
        f"{REPORTS_PREFIX}/",
        ["s3:GetObject", "s3:GetObjectVersion"],
        write=False,
        reason=_REPORT_KEYS,
    ),
    # -- ai assist (issue #23) --
    "bedrock:invoke": _bedrock_invoke,
}


def _allow(actions: list[str], resources: list[str]) -> iam.PolicyStatement:
    return iam.PolicyStatement(actions=actions, resources=resources)


def _key_use(key: kms.IKey, service: str, actions: list[str]) -> iam.PolicyStatement:
    return iam.PolicyStatement(
        actions=actions,
        resources=[key.key_arn],
        conditions={"StringEquals": {"kms:ViaService": f"{service}.{Aws.REGION}.amazonaws.com"}},
    )


def _executions_of(machine: sfn.StateMachine) -> str:
    return Stack.of(machine).format_arn(
        service="states",
        resource="execution",
        resource_name=f"{machine.state_machine_name}:*",
        arn_format=ArnFormat.COLON_RESOURCE_NAME,
    )
