"""IAM enforced on the local runtime: each handler's AWS calls are authorized against its synthesized role.

The roles come from the CloudFormation template CDK synthesizes (``template.synthesized_template``), not from a
copy: a grant removed from ``infra/permissions.py`` is removed here too. Each resource the template names is
resolved to its local ARN by the catalog entry it is tagged with (``backoffice:catalog-entry``), so a statement
scoped to the audit table's ARN matches the local audit table and nothing else.

What is checked, with the error AWS returns:

- every call a handler makes while it runs (``LocalLambdas`` says which one), under the handler's role: the IAM
  action of the API operation on the resource it names (``request_authorizations``), and the KMS use a service
  makes with the caller's permissions when the resource is encrypted with the stack's key (S3 objects, SNS topics,
  SQS queues: ``kms:GenerateDataKey``/``kms:Decrypt`` with ``kms:ViaService``), and ``iam:PassRole`` for a role
  passed to a service;
- every Lambda invocation the Step Functions engine makes, under the state machine's role.

Calls made by the runtime itself (creating resources, a test's own reads) act as the account's administrator, as
``cdk deploy`` and an operator would. Enforcement is on unless ``BACKOFFICE_LOCAL_IAM=off`` says otherwise, and
then the runtime says so on stderr.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

from botocore.client import BaseClient
from botocore.exceptions import ClientError

from backoffice.local.iam_policy import Decision, Request, Statement, evaluate
from infra.catalog import Catalog, Ref

IAM_SETTING = "BACKOFFICE_LOCAL_IAM"
CATALOG_TAG = "backoffice:catalog-entry"
PARTITION = "aws"

# The principal a call runs as: ("function", name) inside a handler, ("state_machine", arn) inside the engine.
_principal: contextvars.ContextVar[tuple[str, str] | None] = contextvars.ContextVar(
    "backoffice_iam_principal", default=None
)


def iam_enforced() -> bool:
    """False only when ``BACKOFFICE_LOCAL_IAM`` is ``off`` (or ``0``/``false``): an explicit opt-out."""
    return os.environ.get(IAM_SETTING, "on").strip().lower() not in {"off", "0", "false", "no"}


def current_principal() -> tuple[str, str] | None:
    """Who the calling code runs as: ("function", name), ("state_machine", arn), or None (the runtime itself)."""
    return _principal.get()


@contextlib.contextmanager
def acting_as_function(name: str) -> Iterator[None]:
    token = _principal.set(("function", name))
    try:
        yield
    finally:
        _principal.reset(token)


@contextlib.contextmanager
def acting_as_state_machine(arn: str) -> Iterator[None]:
    token = _principal.set(("state_machine", arn))
    try:
        yield
    finally:
        _principal.reset(token)


def kms_key_arn(key_id: str, region: str, account: str) -> str:
    """The key ARN IAM authorizes a KMS call against. AWS resolves an alias to its key and evaluates policies on
    the key's ARN; locally a signing key's alias ``alias/<name>`` names the key ``key/<name>``."""
    if ":alias/" in key_id or key_id.startswith("alias/"):
        return f"arn:{PARTITION}:kms:{region}:{account}:key/{key_id.split('alias/', 1)[1]}"
    return key_id if key_id.startswith("arn:") else f"arn:{PARTITION}:kms:{region}:{account}:key/{key_id}"


# -- the template, resolved to local ARNs ------------------------------------------------------------------------


@dataclass
class LocalArns:
    """How a template's references resolve on the local runtime."""

    region: str
    account: str
    names: Mapping[Ref, str]
    prefix: str

    def table(self, name: str) -> str:
        return f"arn:{PARTITION}:dynamodb:{self.region}:{self.account}:table/{name}"

    def bucket(self, name: str) -> str:
        return f"arn:{PARTITION}:s3:::{name}"

    def queue_arn_of_url(self, url: str) -> str:
        parts = urlparse(url).path.strip("/").split("/")
        return f"arn:{PARTITION}:sqs:{self.region}:{parts[0]}:{parts[-1]}"

    def event_bus(self, name: str) -> str:
        return (
            name
            if name.startswith("arn:")
            else f"arn:{PARTITION}:events:{self.region}:{self.account}:event-bus/{name}"
        )

    def function_role(self, function: str) -> str:
        return f"arn:{PARTITION}:iam::{self.account}:role/{self.prefix}-{function}-role"

    def state_machine_role(self, workflow: str) -> str:
        return f"arn:{PARTITION}:iam::{self.account}:role/{self.prefix}-{workflow}"

    @property
    def data_key(self) -> str:
        return f"arn:{PARTITION}:kms:{self.region}:{self.account}:key/{self.prefix}-data-key"

    def signing_key(self, name: str) -> str:
        """A catalog signing key; handlers name it by its alias ``alias/<prefix>-<name>`` (see ``kms_key_arn``)."""
        return f"arn:{PARTITION}:kms:{self.region}:{self.account}:key/{self.prefix}-{name.replace('_', '-')}"


class _Unresolved(str):
    """A reference the local runtime has no resource for: it never matches an ARN."""


def _tag(properties: Mapping[str, Any]) -> str | None:
    tags = properties.get("Tags")
    if isinstance(tags, list):
        for tag in tags:
            if isinstance(tag, dict) and tag.get("Key") == CATALOG_TAG:
                return str(tag.get("Value"))
    return None


@dataclass
class SynthesizedIam:
    """Each principal's identity policies and each resource's encryption key, from the synthesized template."""

    policies: dict[tuple[str, str], list[Statement]]  # (kind, catalog name) -> statements
    encrypted: dict[str, str]  # resource ARN -> the ARN of the KMS key it is encrypted with
    roles: dict[tuple[str, str], str]  # (kind, catalog name) -> the role's local ARN

    @classmethod
    def from_template(cls, template: Mapping[str, Any], catalog: Catalog, arns: LocalArns) -> SynthesizedIam:
        resources: Mapping[str, Mapping[str, Any]] = template.get("Resources", {})
        resolver = _Resolver(resources, catalog, arns)
        roles: dict[str, tuple[str, str]] = {}  # role logical id -> principal
        for resource in resources.values():
            properties = resource.get("Properties", {})
            role = properties.get("Role") or properties.get("RoleArn")
            name = _tag(properties)
            if name is None or not isinstance(role, dict) or "Fn::GetAtt" not in role:
                continue
            kind = {
                "AWS::Lambda::Function": "function",
                "AWS::StepFunctions::StateMachine": "state_machine",
            }.get(resource.get("Type", ""))
            if kind:
                roles[role["Fn::GetAtt"][0]] = (kind, name)
        policies: dict[tuple[str, str], list[Statement]] = {principal: [] for principal in roles.values()}
        for resource in resources.values():
            properties = resource.get("Properties", {})
            if resource.get("Type") == "AWS::IAM::Policy":
                for role_ref in properties.get("Roles", []):
                    principal = roles.get(role_ref.get("Ref", "")) if isinstance(role_ref, dict) else None
                    if principal is not None:
                        policies[principal].extend(resolver.statements(properties["PolicyDocument"]))
        for logical_id, principal in roles.items():
            role_properties = resources[logical_id].get("Properties", {})
            for inline in role_properties.get("Policies", []):
                policies[principal].extend(resolver.statements(inline["PolicyDocument"]))
        return cls(
            policies=policies,
            encrypted=resolver.encryption(),
            roles={
                principal: (
                    arns.function_role(principal[1])
                    if principal[0] == "function"
                    else arns.state_machine_role(principal[1])
                )
                for principal in roles.values()
            },
        )


class _Resolver:
    """CloudFormation's intrinsic functions over the template, with local values for what they name."""

    def __init__(self, resources: Mapping[str, Mapping[str, Any]], catalog: Catalog, arns: LocalArns) -> None:
        self._resources = resources
        self._catalog = catalog
        self._arns = arns

    def statements(self, document: Mapping[str, Any]) -> list[Statement]:
        statements = document.get("Statement", [])
        if isinstance(statements, dict):
            statements = [statements]
        return [self.value(statement) for statement in statements]

    def encryption(self) -> dict[str, str]:
        encrypted: dict[str, str] = {}
        for logical_id, resource in self._resources.items():
            properties = resource.get("Properties", {})
            key: Any = None
            kind = resource.get("Type")
            if kind == "AWS::S3::Bucket":
                rules = properties.get("BucketEncryption", {}).get("ServerSideEncryptionConfiguration", [])
                for rule in rules:
                    key = rule.get("ServerSideEncryptionByDefault", {}).get("KMSMasterKeyID") or key
            elif kind in ("AWS::SNS::Topic", "AWS::SQS::Queue"):
                key = properties.get("KmsMasterKeyId")
            elif kind == "AWS::DynamoDB::Table":
                key = properties.get("SSESpecification", {}).get("KMSMasterKeyId")
            if key is None:
                continue
            arn = self._attribute(logical_id, "Arn")
            if not isinstance(arn, _Unresolved):
                encrypted[arn] = self.value(key)
        return encrypted

    def value(self, node: Any) -> Any:
        if isinstance(node, list):
            return [self.value(item) for item in node]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            ((function, argument),) = node.items()
            if function == "Ref":
                return self._ref(argument)
            if function == "Fn::GetAtt":
                logical_id, attribute = argument if isinstance(argument, list) else argument.split(".", 1)
                return self._attribute(logical_id, attribute)
            if function == "Fn::Join":
                separator, parts = argument
                resolved = [self.value(part) for part in parts]
                joined = separator.join(str(part) for part in resolved)
                return _Unresolved(joined) if any(isinstance(p, _Unresolved) for p in resolved) else joined
            if function == "Fn::Select":
                index, items = argument
                return self.value(items)[int(index)]
            if function == "Fn::Split":
                separator, text = argument
                return str(self.value(text)).split(separator)
        return {key: self.value(item) for key, item in node.items()}

    def _ref(self, name: str) -> str:
        pseudo = {
            "AWS::Region": self._arns.region,
            "AWS::AccountId": self._arns.account,
            "AWS::Partition": PARTITION,
            "AWS::URLSuffix": "amazonaws.com",
        }
        if name in pseudo:
            return pseudo[name]
        return self._attribute(name, "Ref")

    def _attribute(self, logical_id: str, attribute: str) -> str:
        resource = self._resources.get(logical_id)
        if resource is None:
            return _Unresolved(f"unresolved:{logical_id}.{attribute}")
        kind = resource.get("Type", "")
        properties = resource.get("Properties", {})
        name = _tag(properties)
        names, arns = self._arns.names, self._arns
        if kind == "AWS::KMS::Key":
            if attribute not in ("Arn", "Ref"):
                return _Unresolved(logical_id)
            # A tagged key is a catalog signing key; the untagged one is the data key.
            return arns.signing_key(name) if name is not None else arns.data_key
        if kind == "AWS::Events::EventBus":
            bus = str(properties.get("Name", self._catalog.event_bus))
            return arns.event_bus(bus) if attribute == "Arn" else bus
        if name is None:
            return _Unresolved(f"unresolved:{logical_id}.{attribute}")
        if kind == "AWS::DynamoDB::Table":
            table = names[Ref("table_name", name)]
            return arns.table(table) if attribute == "Arn" else table
        if kind == "AWS::S3::Bucket":
            bucket = names[Ref("bucket_name", name)]
            return arns.bucket(bucket) if attribute == "Arn" else bucket
        if kind == "AWS::SQS::Queue":
            url = names[Ref("queue_url", name)]
            return arns.queue_arn_of_url(url) if attribute == "Arn" else url
        if kind == "AWS::SNS::Topic":
            return names[Ref("topic_arn", name)]
        if kind == "AWS::Lambda::Function":
            return names[Ref("function_arn", name)]
        if kind == "AWS::StepFunctions::StateMachine":
            arn = names[Ref("state_machine_arn", name)]
            return arn.rsplit(":", 1)[-1] if attribute == "Name" else arn
        if kind == "AWS::IAM::Role":
            if Ref("role_arn", name) in names:
                return names[Ref("role_arn", name)]
            if any(fn.name == name for fn in self._catalog.functions):
                return arns.function_role(name)
            return arns.state_machine_role(name)
        return _Unresolved(f"unresolved:{logical_id}.{attribute}")


# -- what an API call asks IAM for -------------------------------------------------------------------------------


@dataclass(frozen=True)
class CallContext:
    region: str
    account: str
    token_owner: Callable[[str], str | None] = field(default=lambda token: None)
    secret_arn: Callable[[str], str | None] = field(default=lambda name: None)


def _s3_object(params: Mapping[str, Any], key_param: str = "Key") -> str:
    return f"arn:{PARTITION}:s3:::{params.get('Bucket')}/{params.get(key_param)}"


def _s3(operation: str, params: Mapping[str, Any]) -> list[tuple[str, str]]:
    bucket = f"arn:{PARTITION}:s3:::{params.get('Bucket')}"
    versioned = "VersionId" in params
    if operation in ("GetObject", "HeadObject"):
        return [("s3:GetObjectVersion" if versioned else "s3:GetObject", _s3_object(params))]
    if operation in ("PutObject", "CreateMultipartUpload", "UploadPart", "CompleteMultipartUpload"):
        return [("s3:PutObject", _s3_object(params))]
    if operation == "AbortMultipartUpload":
        return [("s3:AbortMultipartUpload", _s3_object(params))]
    if operation == "CopyObject":
        source = params.get("CopySource")
        if isinstance(source, dict):
            source_arn = f"arn:{PARTITION}:s3:::{source.get('Bucket')}/{source.get('Key')}"
            source_versioned = "VersionId" in source
        else:
            text = str(source).lstrip("/")
            source_versioned = "?versionId=" in text
            source_arn = f"arn:{PARTITION}:s3:::{text.split('?', 1)[0]}"
        return [
            ("s3:GetObjectVersion" if source_versioned else "s3:GetObject", source_arn),
            ("s3:PutObject", _s3_object(params)),
        ]
    if operation == "DeleteObject":
        return [("s3:DeleteObjectVersion" if versioned else "s3:DeleteObject", _s3_object(params))]
    if operation == "DeleteObjects":
        objects = params.get("Delete", {}).get("Objects", [])
        return [
            (
                "s3:DeleteObjectVersion" if "VersionId" in item else "s3:DeleteObject",
                f"arn:{PARTITION}:s3:::{params.get('Bucket')}/{item.get('Key')}",
            )
            for item in objects
        ]
    if operation == "HeadBucket":
        return [("s3:ListBucket", bucket)]
    if operation == "ListObjectVersions":
        return [("s3:ListBucketVersions", bucket)]
    if operation in ("GetObjectTagging", "PutObjectTagging"):
        return [(f"s3:{operation}{'Version' if versioned else ''}", _s3_object(params))]
    if "Key" in params:
        return [(f"s3:{operation}", _s3_object(params))]
    return [(f"s3:{operation}", bucket)]


def _dynamodb(operation: str, params: Mapping[str, Any], context: CallContext) -> list[tuple[str, str]]:
    def table(name: str, index: str | None = None) -> str:
        arn = (
            name
            if name.startswith("arn:")
            else (f"arn:{PARTITION}:dynamodb:{context.region}:{context.account}:table/{name}")
        )
        return f"{arn}/index/{index}" if index else arn

    if operation in ("BatchGetItem", "BatchWriteItem"):
        return [(f"dynamodb:{operation}", table(name)) for name in params.get("RequestItems", {})]
    if operation == "TransactWriteItems":
        verbs = {
            "ConditionCheck": "ConditionCheckItem",
            "Put": "PutItem",
            "Update": "UpdateItem",
            "Delete": "DeleteItem",
        }
        return [
            (f"dynamodb:{verbs[kind]}", table(request["TableName"]))
            for item in params.get("TransactItems", [])
            for kind, request in item.items()
        ]
    if operation == "TransactGetItems":
        return [
            ("dynamodb:GetItem", table(item["Get"]["TableName"])) for item in params.get("TransactItems", [])
        ]
    if "TableName" in params:
        return [(f"dynamodb:{operation}", table(params["TableName"], params.get("IndexName")))]
    return [(f"dynamodb:{operation}", "*")]


def request_authorizations(
    service: str, operation: str, params: Mapping[str, Any], context: CallContext
) -> list[Request]:
    """The IAM authorizations AWS makes for one API call (the Service Authorization Reference's mapping of each
    operation to its action and resource; the KMS use a service makes on the caller's behalf is added by the
    enforcer, which knows the resources' keys)."""
    region, account = context.region, context.account
    if service == "s3":
        return _s3_requests(operation, params)
    if service == "dynamodb":
        return [Request(action, resource) for action, resource in _dynamodb(operation, params, context)]
    if service == "lambda" and operation == "Invoke":
        name = str(params.get("FunctionName"))
        arn = (
            name if name.startswith("arn:") else f"arn:{PARTITION}:lambda:{region}:{account}:function:{name}"
        )
        return [Request("lambda:InvokeFunction", ":".join(arn.split(":")[:7]))]
    if service == "states":
        return _states_requests(operation, params, context)
    if service == "events" and operation == "PutEvents":
        buses = {str(entry.get("EventBusName") or "default") for entry in params.get("Entries", [])}
        return [
            Request(
                "events:PutEvents",
                bus
                if bus.startswith("arn:")
                else f"arn:{PARTITION}:events:{region}:{account}:event-bus/{bus}",
            )
            for bus in sorted(buses)
        ]
    if service == "sns" and operation == "Publish":
        return [Request("sns:Publish", str(params.get("TopicArn") or params.get("TargetArn")))]
    if service == "sqs" and "QueueUrl" in params:
        path = urlparse(str(params["QueueUrl"])).path.strip("/").split("/")
        action = "sqs:SendMessage" if operation == "SendMessageBatch" else f"sqs:{operation}"
        return [Request(action, f"arn:{PARTITION}:sqs:{region}:{path[0]}:{path[-1]}")]
    if service == "ses" and operation in ("SendRawEmail", "SendEmail"):
        source = str(params.get("Source") or "")
        address = source.rsplit("<", 1)[-1].rstrip(">").strip()
        # SES authorizes the identity that covers the sender: locally the address, verified on its own.
        identity = f"arn:{PARTITION}:ses:{region}:{account}:identity/{address}"
        requests = [Request(f"ses:{operation}", identity, {"ses:FromAddress": address})]
        if params.get("ConfigurationSetName"):
            # A send with a configuration set is authorized against the set too (SES Developer Guide,
            # "Controlling access to Amazon SES": the configuration-set resource type of SendRawEmail).
            configuration_set = (
                f"arn:{PARTITION}:ses:{region}:{account}:configuration-set/{params['ConfigurationSetName']}"
            )
            requests.append(Request(f"ses:{operation}", configuration_set, {"ses:FromAddress": address}))
        return requests
    if service == "ssm" and "Name" in params:
        name = str(params["Name"]).lstrip("/")
        return [Request(f"ssm:{operation}", f"arn:{PARTITION}:ssm:{region}:{account}:parameter/{name}")]
    if service == "secretsmanager" and "SecretId" in params:
        secret = str(params["SecretId"])
        arn = secret if secret.startswith("arn:") else (context.secret_arn(secret) or secret)
        return [Request(f"secretsmanager:{operation}", arn)]
    if service == "kms" and "KeyId" in params:
        return [Request(f"kms:{operation}", kms_key_arn(str(params["KeyId"]), region, account))]
    if service == "sts" and operation == "GetCallerIdentity":
        return []  # needs no permission (IAM User Guide: GetCallerIdentity)
    if service == "bedrock" and operation in _BEDROCK_INVOKE:
        return _bedrock_requests(_BEDROCK_INVOKE[operation], params, context)
    return [Request(f"{service}:{operation}", "*")]


# -- ai assist (issue #23) ---------------------------------------------------------------------------------------
# bedrock-runtime (signing name "bedrock"): Converse and ConverseStream are authorized as InvokeModel and
# InvokeModelWithResponseStream (Bedrock User Guide, "Converse API": the same permissions as InvokeModel).
_BEDROCK_INVOKE = {
    "Converse": "bedrock:InvokeModel",
    "InvokeModel": "bedrock:InvokeModel",
    "ConverseStream": "bedrock:InvokeModelWithResponseStream",
    "InvokeModelWithResponseStream": "bedrock:InvokeModelWithResponseStream",
}
_INFERENCE_PROFILE_PREFIXES = ("us.", "eu.", "apac.", "global.")


def _bedrock_requests(action: str, params: Mapping[str, Any], context: CallContext) -> list[Request]:
    """A foundation model is authorized on its ARN (no account); an inference profile on the profile's ARN and on
    the foundation model's in the region that serves (here the caller's), with the profile as condition key; a
    Guardrail in the request on the Guardrail too (bedrock:ApplyGuardrail)."""
    region, account = context.region, context.account
    model = str(params.get("modelId") or "")
    requests: list[Request]
    if model.startswith("arn:"):
        requests = [Request(action, model)]
    elif model.startswith(_INFERENCE_PROFILE_PREFIXES):
        profile = f"arn:{PARTITION}:bedrock:{region}:{account}:inference-profile/{model}"
        base = model.split(".", 1)[1]
        requests = [
            Request(action, profile),
            Request(
                action,
                f"arn:{PARTITION}:bedrock:{region}::foundation-model/{base}",
                {"bedrock:InferenceProfileArn": profile},
            ),
        ]
    else:
        requests = [Request(action, f"arn:{PARTITION}:bedrock:{region}::foundation-model/{model}")]
    guardrail = (params.get("guardrailConfig") or {}).get("guardrailIdentifier")
    if guardrail:
        name = str(guardrail)
        arn = (
            name
            if name.startswith("arn:")
            else f"arn:{PARTITION}:bedrock:{region}:{account}:guardrail/{name}"
        )
        requests.append(Request("bedrock:ApplyGuardrail", arn))
    return requests


def _s3_requests(operation: str, params: Mapping[str, Any]) -> list[Request]:
    if operation in ("ListObjects", "ListObjectsV2"):
        # s3:prefix is the condition key a listing grant can be narrowed by (absent: the whole bucket).
        prefix = {"s3:prefix": str(params["Prefix"])} if "Prefix" in params else {}
        return [Request("s3:ListBucket", f"arn:{PARTITION}:s3:::{params.get('Bucket')}", prefix)]
    return [Request(action, resource) for action, resource in _s3(operation, params)]


def _states_requests(operation: str, params: Mapping[str, Any], context: CallContext) -> list[Request]:
    if operation in ("SendTaskSuccess", "SendTaskFailure", "SendTaskHeartbeat"):
        owner = context.token_owner(str(params.get("taskToken")))
        return [Request(f"states:{operation}", owner or "unknown-task-token")]
    for key in ("stateMachineArn", "executionArn", "resourceArn"):
        if key in params:
            return [Request(f"states:{operation}", str(params[key]))]
    return [Request(f"states:{operation}", "*")]


_ENCRYPTED_USE: dict[tuple[str, str], tuple[str, ...]] = {
    # S3 SSE-KMS: the caller needs GenerateDataKey to write an object and Decrypt to read one (S3 User Guide,
    # "Using server-side encryption with AWS KMS keys"); SQS and SNS: the producer needs GenerateDataKey and
    # Decrypt (SQS Developer Guide "Key management"; SNS Developer Guide "Setting up topic encryption").
    ("s3", "s3:PutObject"): ("kms:GenerateDataKey",),
    ("s3", "s3:GetObject"): ("kms:Decrypt",),
    ("s3", "s3:GetObjectVersion"): ("kms:Decrypt",),
    ("sqs", "sqs:SendMessage"): ("kms:GenerateDataKey", "kms:Decrypt"),
    ("sqs", "sqs:ReceiveMessage"): ("kms:Decrypt",),
    ("sns", "sns:Publish"): ("kms:GenerateDataKey", "kms:Decrypt"),
}


def _error_code(service: str) -> str:
    return {
        "s3": "AccessDenied",
        "sqs": "AccessDenied",
        "sns": "AuthorizationError",
        "ses": "AccessDenied",
    }.get(service, "AccessDeniedException")


class IamEnforcer:
    """Installed by the local runtime: authorizes every call made as a function or as a state machine."""

    def __init__(
        self, iam: SynthesizedIam, region: str, account: str, *, secret_arn: Callable[[str], str | None]
    ) -> None:
        self.iam = iam
        self.region = region
        self.account = account
        self._secret_arn = secret_arn
        self._token_owner: dict[str, str] = {}
        self._lock = threading.Lock()
        self.denied: list[str] = []
        self._saved_make_api_call: Any = None
        self._saved_engine: list[tuple[type, Any]] = []

    # -- installation ----------------------------------------------------------------------------------------------

    def install(self) -> None:
        if self._saved_make_api_call is not None:
            return
        original = BaseClient._make_api_call
        self._saved_make_api_call = original
        enforcer = self

        def _make_api_call(client: BaseClient, operation_name: str, api_params: dict[str, Any]) -> Any:
            principal = _principal.get()
            if principal is not None:
                enforcer.authorize(principal, client, operation_name, api_params)
            return original(client, operation_name, api_params)

        BaseClient._make_api_call = _make_api_call
        self._install_engine_hooks()

    def uninstall(self) -> None:
        if self._saved_make_api_call is not None:
            BaseClient._make_api_call = self._saved_make_api_call
            self._saved_make_api_call = None
        for cls, method in self._saved_engine:
            cls._eval_service_task = method  # type: ignore[attr-defined]
        self._saved_engine = []

    def _install_engine_hooks(self) -> None:
        """Service integrations of moto's engine run as their state machine; a task token is remembered with the
        state machine that issued it (SendTaskSuccess is authorized against that state machine)."""
        from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_lambda import (
            StateTaskServiceLambda,
        )

        enforcer = self
        original = StateTaskServiceLambda._eval_service_task

        def _eval_service_task(task: Any, env: Any, *args: Any, **kwargs: Any) -> Any:
            data = env.states.context_object.context_object_data
            machine = str(data.get("StateMachine", {}).get("Id", ""))
            token = data.get("Task", {}).get("Token")
            if token:
                with enforcer._lock:
                    enforcer._token_owner[str(token)] = machine
            with acting_as_state_machine(machine):
                return original(task, env, *args, **kwargs)

        StateTaskServiceLambda._eval_service_task = _eval_service_task  # type: ignore[method-assign, assignment]
        self._saved_engine.append((StateTaskServiceLambda, original))

    # -- authorization ---------------------------------------------------------------------------------------------

    def _principal_key(self, principal: tuple[str, str]) -> tuple[str, str]:
        kind, name = principal
        if kind == "state_machine":
            name = name.rsplit(":", 1)[-1].removeprefix("backoffice-")
        return kind, name

    def authorize(
        self, principal: tuple[str, str], client: BaseClient, operation: str, params: Mapping[str, Any]
    ) -> None:
        service_model = client.meta.service_model
        service = service_model.signing_name or service_model.endpoint_prefix
        key = self._principal_key(principal)
        statements = self.iam.policies.get(key)
        role = self.iam.roles.get(key, f"arn:{PARTITION}:iam::{self.account}:role/unknown")
        context = CallContext(self.region, self.account, self._token_owner.get, self._secret_arn)
        for request in request_authorizations(service, operation, params, context):
            self._check(statements, role, key, request, service, operation)
            key_arn = self.iam.encrypted.get(_encrypted_resource(request.resource))
            for kms_action in _ENCRYPTED_USE.get((service, request.action), ()) if key_arn else ():
                via = {"kms:ViaService": f"{service}.{self.region}.amazonaws.com"}
                self._check(statements, role, key, Request(kms_action, str(key_arn), via), service, operation)
        if service == "textract" and "NotificationChannel" in params:
            passed = str(params["NotificationChannel"].get("RoleArn"))
            conditions = {"iam:PassedToService": "textract.amazonaws.com"}
            self._check(
                statements, role, key, Request("iam:PassRole", passed, conditions), service, operation
            )

    def _check(
        self,
        statements: list[Statement] | None,
        role: str,
        principal: tuple[str, str],
        request: Request,
        service: str,
        operation: str,
    ) -> None:
        decision = evaluate(statements or [], request) if statements is not None else Decision.IMPLICIT_DENY
        if decision is Decision.ALLOWED:
            return
        session = principal[1]
        because = (
            "with an explicit deny in an identity-based policy"
            if decision is Decision.EXPLICIT_DENY
            else "because no identity-based policy allows the " + request.action + " action"
        )
        message = (
            f"User: arn:{PARTITION}:sts::{self.account}:assumed-role/{role.rsplit('/', 1)[-1]}/{session} is not "
            f"authorized to perform: {request.action} on resource: {request.resource} {because}"
        )
        with self._lock:
            self.denied.append(message)
        print(f"[local IAM] {principal[0]} {principal[1]}: {message}", file=sys.stderr)
        raise ClientError(
            {
                "Error": {"Code": _error_code(service), "Message": message},
                "ResponseMetadata": {"HTTPStatusCode": 403 if service in ("s3", "sns", "sqs") else 400},
            },
            operation,
        )


def _encrypted_resource(resource: str) -> str:
    """The ARN whose encryption applies: an S3 object's bucket, else the resource itself."""
    if resource.startswith(f"arn:{PARTITION}:s3:::") and "/" in resource:
        return resource.split("/", 1)[0]
    return resource


__all__ = [
    "IAM_SETTING",
    "CallContext",
    "IamEnforcer",
    "LocalArns",
    "SynthesizedIam",
    "acting_as_function",
    "acting_as_state_machine",
    "current_principal",
    "iam_enforced",
    "request_authorizations",
]
