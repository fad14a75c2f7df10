"""CDK assertions on the synthesized back-office stack: what an operator and an auditor rely on being there."""

from __future__ import annotations

import json
import re
from typing import Any, get_args

import pytest
from synthesized_stack import Synthesized

from infra.catalog import CATALOG, Grant
from infra.events import CASE_STARTER
from infra.layer import shipped_contents
from infra.permissions import AUDIT

pytestmark = pytest.mark.slow

FORBIDDEN_AUDIT_ACTIONS = {"dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"}


# --- events -------------------------------------------------------------------------------------------------


def test_the_catalog_bus_exists_with_an_archive_of_every_event(synthesized: Synthesized) -> None:
    # Given the synthesized stack
    # When looking for the bus and its archive
    (bus_id, bus), *others = synthesized.of_type("AWS::Events::EventBus").items()
    archives = list(synthesized.of_type("AWS::Events::Archive").values())

    # Then the bus carries the catalog's name and one archive keeps everything put on it
    assert not others
    assert bus["Properties"]["Name"] == CATALOG.event_bus
    assert len(archives) == 1
    assert archives[0]["Properties"]["SourceArn"] == {"Fn::GetAtt": [bus_id, "Arn"]}
    assert archives[0]["Properties"]["EventPattern"] == {"account": [{"Ref": "AWS::AccountId"}]}


CASE_RULES = [rule for rule in CATALOG.rules if rule.workflow]
INGEST_RULES = [rule for rule in CATALOG.rules if rule.function]


@pytest.mark.parametrize("rule", CATALOG.rules, ids=lambda rule: rule.name)
def test_each_catalog_rule_matches_its_pattern_and_delivers_to_the_case_starter(
    synthesized: Synthesized, rule: Any
) -> None:
    # Given the catalog rule and the synthesized stack (an ingest rule delivers to its own function instead)
    starter_id, _ = synthesized.catalog_entry("AWS::Lambda::Function", rule.function or CASE_STARTER)

    # When looking up the rule built for it
    (rule_props,) = _rules_described(synthesized, rule.description)
    (target,) = rule_props["Targets"]

    # Then it listens on the product bus with the catalog pattern and targets the starter, never the state machine
    assert rule_props["EventBusName"] == {"Ref": _bus_id(synthesized)}
    assert rule_props["EventPattern"] == dict(rule.pattern)
    assert target["Arn"] == {"Fn::GetAtt": [starter_id, "Arn"]}
    # And a failed delivery is retried, then parked in a dead-letter queue instead of dropped
    assert target["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][1] == "Arn"
    assert target["RetryPolicy"]["MaximumRetryAttempts"] > 0
    assert target["RetryPolicy"]["MaximumEventAgeInSeconds"] > 0


@pytest.mark.parametrize("rule", CASE_RULES, ids=lambda rule: rule.name)
def test_the_case_starter_receives_the_routing_facts_and_the_whole_event(
    synthesized: Synthesized, rule: Any
) -> None:
    # Given the rule's target input transformer and a business event as a SaaS system would put it
    (rule_props,) = _rules_described(synthesized, rule.description)
    transformer = rule_props["Targets"][0]["InputTransformer"]
    event = {
        "version": "0",
        "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "detail-type": rule.pattern.get("detail-type", ["Any"])[0],
        "source": "crm.salesforce",
        "account": "111122223333",
        "time": "2026-11-25T09:00:00Z",
        "region": "eu-west-1",
        "resources": [],
        "detail": {"opportunity": {"id": "006Dn00000AbCdE"}, "client": {"name": "Fjord & Partners"}},
    }

    # When EventBridge applies the transformer to it
    delivered = _apply_input_transformer(
        transformer, event, refs={_state_machine_id(synthesized, rule): "SM-ARN"}
    )

    # Then the starter gets the routing facts and the event itself, detail included (the case key lives there)
    workflow = CATALOG.state_machine(rule.workflow)
    assert delivered == {
        "rule": rule.name,
        "workflow": rule.workflow,
        "state_machine_arn": "SM-ARN",
        "case_key": rule.case_key,
        "execution_prefix": rule.execution_prefix or workflow.execution_prefix,
        "event": event,
        **({"attempt_key": rule.attempt_key} if rule.attempt_key else {}),
    }
    # And the whole event comes from a path bound to '$', not <aws.events.event>, which leaves out detail
    (variable,) = [name for name, path in transformer["InputPathsMap"].items() if path == "$"]
    assert f'"event":<{variable}>' in _template_text(transformer["InputTemplate"])
    assert "aws.events.event>" not in _template_text(transformer["InputTemplate"])


def test_the_case_starters_own_failures_are_parked_too(synthesized: Synthesized) -> None:
    # Given the case starter and the queue rule targets dead-letter into
    starter_id, _ = synthesized.catalog_entry("AWS::Lambda::Function", CASE_STARTER)
    (rule_props, *_) = synthesized.of_type("AWS::Events::Rule").values()
    dead_letters = rule_props["Properties"]["Targets"][0]["DeadLetterConfig"]["Arn"]

    # When looking at how its asynchronous invocations end
    (config,) = [
        config
        for config in synthesized.of_type("AWS::Lambda::EventInvokeConfig").values()
        if config["Properties"]["FunctionName"] == {"Ref": starter_id}
    ]

    # Then an event that keeps failing inside the starter lands in the same queue
    assert config["Properties"]["DestinationConfig"]["OnFailure"]["Destination"] == dead_letters


# --- storage ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("spec", [t for t in CATALOG.tables if t.retain], ids=lambda table: table.name)
def test_the_retained_tables_survive_deletion_and_can_be_restored(
    synthesized: Synthesized, spec: Any
) -> None:
    # Given a table the catalog marks as retained (the audit trail, the reconciliation findings)

    # When looking at it in the template
    _, table = synthesized.catalog_entry("AWS::DynamoDB::Table", spec.name)
    props = table["Properties"]

    # Then it has point-in-time recovery, deletion protection, RETAIN, and the rotating customer-managed key
    assert {t.name for t in CATALOG.tables if t.retain} == {"audit", "finance_close", "time_expense"}
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["DeletionProtectionEnabled"] is True
    assert table["DeletionPolicy"] == "Retain"
    assert table["UpdateReplacePolicy"] == "Retain"
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["SSESpecification"]["SSEType"] == "KMS"
    _assert_rotating_customer_key(synthesized, props["SSESpecification"]["KMSMasterKeyId"])


@pytest.mark.parametrize("spec", CATALOG.tables, ids=lambda table: table.name)
def test_every_table_is_on_demand_recoverable_and_keyed_as_the_catalog_says(
    synthesized: Synthesized, spec: Any
) -> None:
    # Given a catalog table
    # When looking at it in the template
    _, table = synthesized.catalog_entry("AWS::DynamoDB::Table", spec.name)
    props = table["Properties"]

    # Then its keys, billing, recovery, TTL and key match the catalog
    expected_keys = [{"AttributeName": spec.partition_key, "KeyType": "HASH"}]
    if spec.sort_key:
        expected_keys.append({"AttributeName": spec.sort_key, "KeyType": "RANGE"})
    assert props["KeySchema"] == expected_keys
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    _assert_rotating_customer_key(synthesized, props["SSESpecification"]["KMSMasterKeyId"])
    if spec.ttl_attribute:
        assert props["TimeToLiveSpecification"] == {"AttributeName": spec.ttl_attribute, "Enabled": True}
    else:
        assert "TimeToLiveSpecification" not in props


def test_idempotency_records_expire(synthesized: Synthesized) -> None:
    # Given the idempotency table
    # When looking at it in the template
    _, table = synthesized.catalog_entry("AWS::DynamoDB::Table", "idempotency")

    # Then DynamoDB deletes its records after their expiration attribute
    assert table["Properties"]["TimeToLiveSpecification"] == {
        "AttributeName": CATALOG.table("idempotency").ttl_attribute,
        "Enabled": True,
    }


@pytest.mark.parametrize("name", CATALOG.buckets)
def test_document_buckets_are_versioned_encrypted_private_tls_only_and_logged(
    synthesized: Synthesized, name: str
) -> None:
    # Given a catalog bucket
    # When looking at it and its policy in the template
    bucket_id, bucket = synthesized.catalog_entry("AWS::S3::Bucket", name)
    props = bucket["Properties"]

    # Then versions are kept, objects are encrypted with the customer key and public access is blocked
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    (encryption,) = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert encryption["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    _assert_rotating_customer_key(synthesized, encryption["ServerSideEncryptionByDefault"]["KMSMasterKeyID"])
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    # And server access logs go to another bucket
    assert props["LoggingConfiguration"]["DestinationBucketName"]["Ref"] != bucket_id
    # And any request without TLS is denied
    assert _denies_plain_http(synthesized, "AWS::S3::BucketPolicy", "Bucket", bucket_id)


def test_queues_are_encrypted_and_tls_only(synthesized: Synthesized) -> None:
    # Given every queue in the stack (the catalog's and the undelivered-events queue)
    queues = synthesized.of_type("AWS::SQS::Queue")

    # When looking at their encryption and policies
    # Then each uses the customer key and refuses plain HTTP
    assert len(queues) == len(CATALOG.queues) + 1
    for queue_id, queue in queues.items():
        _assert_rotating_customer_key(synthesized, queue["Properties"]["KmsMasterKeyId"])
        assert _denies_plain_http(synthesized, "AWS::SQS::QueuePolicy", "Queues", queue_id), queue_id


@pytest.mark.parametrize("name", CATALOG.topics)
def test_topics_are_encrypted_and_publish_over_tls_only(synthesized: Synthesized, name: str) -> None:
    # Given a catalog topic
    # When looking at it and its policy
    topic_id, topic = synthesized.catalog_entry("AWS::SNS::Topic", name)

    # Then it uses the customer key and refuses plain HTTP
    _assert_rotating_customer_key(synthesized, topic["Properties"]["KmsMasterKeyId"])
    assert _denies_plain_http(synthesized, "AWS::SNS::TopicPolicy", "Topics", topic_id)


# --- functions ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("spec", CATALOG.functions, ids=lambda function: function.name)
def test_every_function_runs_on_the_house_defaults(synthesized: Synthesized, spec: Any) -> None:
    # Given a catalog function
    layer_id = _layer_id(synthesized)

    # When looking at it in the template
    _, function = synthesized.catalog_entry("AWS::Lambda::Function", spec.name)
    props = function["Properties"]

    # Then it runs arm64 Python 3.13 with the shared layer, X-Ray and JSON logs into its own log group
    assert props["Architectures"] == ["arm64"]
    assert props["Runtime"] == "python3.13"
    assert props["Handler"] == "app.handler"
    assert props["TracingConfig"] == {"Mode": "Active"}
    assert props["Layers"] == [{"Ref": layer_id}]
    assert props["LoggingConfig"]["LogFormat"] == "JSON"
    assert props["LoggingConfig"]["ApplicationLogLevel"] == "INFO"
    log_group = synthesized.resources[props["LoggingConfig"]["LogGroup"]["Ref"]]
    assert log_group["Properties"]["RetentionInDays"] > 0
    assert props["MemorySize"] == spec.memory_mb
    assert props["Timeout"] == spec.timeout_seconds
    # And its environment has every catalog variable plus what Powertools reads
    variables = props["Environment"]["Variables"]
    assert set(spec.environment) | {
        "POWERTOOLS_SERVICE_NAME",
        "POWERTOOLS_METRICS_NAMESPACE",
        "POWERTOOLS_LOG_LEVEL",
    } <= set(variables)
    assert variables["POWERTOOLS_SERVICE_NAME"] == spec.name
    for name, value in spec.environment.items():
        if isinstance(value, str):
            assert variables[name] == value
        elif value.kind == "setting":
            assert variables[name] == CATALOG.settings[value.name]
        else:
            assert isinstance(variables[name], dict), f"{name} should be a CloudFormation reference"


@pytest.mark.parametrize(
    "spec", [f for f in CATALOG.functions if "audit:append" in f.grants], ids=lambda function: function.name
)
def test_audit_writers_may_append_but_never_rewrite_the_trail(synthesized: Synthesized, spec: Any) -> None:
    # Given a function holding audit:append, and the audit table
    audit_id, _ = synthesized.catalog_entry("AWS::DynamoDB::Table", AUDIT.name)

    # When collecting what its role allows on the audit table
    actions = {
        action
        for statement in _role_statements(synthesized, spec.name)
        if {"Fn::GetAtt": [audit_id, "Arn"]} in _as_list(statement["Resource"])
        for action in _as_list(statement["Action"])
    }

    # Then it may put records, and no update, delete or batch write, not even through a wildcard
    assert "dynamodb:PutItem" in actions
    assert not actions & FORBIDDEN_AUDIT_ACTIONS
    assert not [action for action in actions if "*" in action]


def test_the_audit_signing_key_is_an_hmac_key_only_the_writers_may_sign_with(
    synthesized: Synthesized,
) -> None:
    # Given the catalog's audit signing key in the template
    key_id, key = synthesized.catalog_entry("AWS::KMS::Key", "audit_signing")

    # Then it is an HMAC key that outlives the stack (its MACs must stay verifiable)
    assert key["Properties"]["KeySpec"] == "HMAC_256"
    assert key["Properties"]["KeyUsage"] == "GENERATE_VERIFY_MAC"
    assert key["DeletionPolicy"] == "Retain"

    # And each function's role holds GenerateMac on it exactly when the function appends audit records; none
    # holds VerifyMac or any other use of the key
    for spec in CATALOG.functions:
        actions = {
            action
            for statement in _role_statements(synthesized, spec.name)
            if {"Fn::GetAtt": [key_id, "Arn"]} in _as_list(statement["Resource"])
            for action in _as_list(statement["Action"])
        }
        assert actions == ({"kms:GenerateMac"} if "audit:append" in spec.grants else set()), spec.name


def test_no_function_may_rewrite_the_audit_trail(synthesized: Synthesized) -> None:
    # Given every function of the catalog and the audit table
    audit_id, _ = synthesized.catalog_entry("AWS::DynamoDB::Table", AUDIT.name)

    # When collecting every action any function's role holds on that table
    actions = {
        action
        for spec in CATALOG.functions
        for statement in _role_statements(synthesized, spec.name)
        if {"Fn::GetAtt": [audit_id, "Arn"]} in _as_list(statement["Resource"])
        for action in _as_list(statement["Action"])
    }

    # Then none of them may update or delete a record
    assert not actions & FORBIDDEN_AUDIT_ACTIONS


def test_every_catalog_grant_has_a_policy() -> None:
    # Given the grants the catalog's type allows
    from infra.permissions import _BUILDERS

    # When comparing them with the grants the stack knows how to turn into IAM
    # Then none is missing (a new grant in the catalog needs its statements here first)
    assert set(get_args(Grant)) == set(_BUILDERS)


def test_the_layer_ships_the_package_without_developer_tools(synthesized: Synthesized) -> None:
    # Given the layer's staged asset
    asset_dir = synthesized.layer_asset()

    # When looking inside it
    package = asset_dir / "python" / "backoffice"

    # Then the backoffice package and its dependencies are there, the local runtime and the CLI are not
    assert (package / "__init__.py").is_file()
    assert (asset_dir / "python" / "pydantic").is_dir()
    assert (asset_dir / "python" / "aws_lambda_powertools").is_dir()
    for excluded in ("local", "cli"):
        assert not (package / excluded).exists(), excluded
    # And of backoffice it holds exactly the ship list the build computes from the handlers (with the bytecode
    # compiled for the runtime beside it, which tests/infra/test_layer_as_deployed.py checks)
    staged = sorted(
        path.relative_to(package).as_posix()
        for path in package.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    )
    assert staged == shipped_contents().relative_files()
    assert not list(asset_dir.glob(".*")), "build bookkeeping must stay out of the layer"


# --- workflows ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("spec", CATALOG.state_machines, ids=lambda machine: machine.name)
def test_every_workflow_is_standard_logged_traced_and_fully_substituted(
    synthesized: Synthesized, spec: Any
) -> None:
    # Given a catalog state machine
    # When looking at it in the template
    _, machine = synthesized.catalog_entry("AWS::StepFunctions::StateMachine", spec.name)
    props = machine["Properties"]

    # Then it is Standard, logs ALL events with data, and is traced
    assert props["StateMachineType"] == "STANDARD"
    assert props["LoggingConfiguration"]["Level"] == "ALL"
    assert props["LoggingConfiguration"]["IncludeExecutionData"] is True
    assert props["TracingConfiguration"] == {"Enabled": True}
    log_group_id = props["LoggingConfiguration"]["Destinations"][0]["CloudWatchLogsLogGroup"]["LogGroupArn"][
        "Fn::GetAtt"
    ][0]
    _assert_rotating_customer_key(synthesized, synthesized.resources[log_group_id]["Properties"]["KmsKeyId"])
    # And once CloudFormation applies DefinitionSubstitutions no ${...} is left in the definition
    definition = _deployed_definition(synthesized, props)
    assert "${" not in definition
    # And the definition is the ASL file with its named policies expanded (the text the local runtime registers),
    # placeholders aside
    expected = _substitute(spec.definition(), props["DefinitionSubstitutions"])
    assert json.loads(definition) == json.loads(expected)


@pytest.mark.parametrize("spec", CATALOG.state_machines, ids=lambda machine: machine.name)
def test_a_workflow_may_invoke_exactly_the_functions_it_names(synthesized: Synthesized, spec: Any) -> None:
    # Given a catalog state machine and the functions its placeholders name
    named = {
        synthesized.catalog_entry("AWS::Lambda::Function", ref.name)[0]
        for ref in spec.substitutions.values()
        if ref.kind == "function_arn"
    }
    _, machine = synthesized.catalog_entry("AWS::StepFunctions::StateMachine", spec.name)

    # When collecting what its role may invoke
    role_id = machine["Properties"]["RoleArn"]["Fn::GetAtt"][0]
    statements = synthesized.role_statements(role_id)
    invokable = {
        resource["Fn::GetAtt"][0]
        for statement in statements
        if "lambda:InvokeFunction" in _as_list(statement["Action"])
        for resource in _as_list(statement["Resource"])
    }

    # Then it is exactly those functions, unqualified (no ':*' versions)
    assert invokable == named


# --- public API and schedules -------------------------------------------------------------------------------


@pytest.mark.parametrize("route", CATALOG.api_routes, ids=lambda route: f"{route.method} {route.path}")
def test_each_api_route_reaches_its_function(synthesized: Synthesized, route: Any) -> None:
    # Given a catalog route and its function
    function_id, _ = synthesized.catalog_entry("AWS::Lambda::Function", route.function)

    # When looking for the API method on that path
    (method,) = [
        m["Properties"]
        for m in synthesized.of_type("AWS::ApiGateway::Method").values()
        if m["Properties"]["HttpMethod"] == route.method
        and _api_path(synthesized, m["Properties"]) == route.path
    ]

    # Then a Lambda proxy integration hands the request to the function, path parameters required
    assert method["Integration"]["Type"] == "AWS_PROXY"
    assert {"Fn::GetAtt": [function_id, "Arn"]} in _flatten_intrinsics(method["Integration"]["Uri"])
    for parameter in re.findall(r"\{(\w+)\}", route.path):
        assert method["RequestParameters"][f"method.request.path.{parameter}"] is True
    assert method["RequestValidatorId"]


def test_the_public_api_is_logged_traced_throttled_and_behind_a_firewall(synthesized: Synthesized) -> None:
    # Given the API stage
    if not CATALOG.api_routes:
        pytest.skip("the catalog declares no API route")
    (stage_id, stage), *others = synthesized.of_type("AWS::ApiGateway::Stage").items()
    props = stage["Properties"]

    # When looking at its settings and what guards it
    (association,) = synthesized.of_type("AWS::WAFv2::WebACLAssociation").values()
    (acl,) = synthesized.of_type("AWS::WAFv2::WebACL").values()

    # Then every request is access-logged (by resource path, never the link id) and traced
    assert not others
    assert props["TracingEnabled"] is True
    log_format = json.loads(props["AccessLogSetting"]["Format"])
    assert "resourcePath" in log_format
    assert "path" not in log_format
    assert props["MethodSettings"][0]["ThrottlingRateLimit"] > 0
    # And a web ACL with a per-address rate limit sits in front of the stage
    assert association["Properties"]["ResourceArn"] == _stage_arn(stage_id, association)
    assert any("RateBasedStatement" in rule["Statement"] for rule in acl["Properties"]["Rules"])


def test_approval_links_point_at_the_public_api(synthesized: Synthesized) -> None:
    # Given the functions whose environment the catalog gives the API's URL
    users = [
        f
        for f in CATALOG.functions
        if any(getattr(v, "kind", "") == "api_url" for v in f.environment.values())
    ]
    if not users:
        pytest.skip("no function carries the API URL")
    (api_id,) = synthesized.of_type("AWS::ApiGateway::RestApi")

    # When looking at that variable
    for spec in users:
        _, function = synthesized.catalog_entry("AWS::Lambda::Function", spec.name)
        (name,) = [n for n, v in spec.environment.items() if getattr(v, "kind", "") == "api_url"]
        url = function["Properties"]["Environment"]["Variables"][name]

        # Then it is the API's https URL, built from the API id (not the stage, which would be a cycle)
        assert {"Ref": api_id} in _flatten_intrinsics(url)
        assert url["Fn::Join"][1][0] == "https://"


@pytest.mark.parametrize("spec", CATALOG.schedules, ids=lambda schedule: schedule.name)
def test_each_schedule_invokes_its_function_with_retries_and_a_dead_letter_queue(
    synthesized: Synthesized, spec: Any
) -> None:
    # Given a catalog schedule and its function
    function_id, _ = synthesized.catalog_entry("AWS::Lambda::Function", spec.function)

    # When looking for the schedule
    (schedule,) = [
        s["Properties"]
        for s in synthesized.of_type("AWS::Scheduler::Schedule").values()
        if s["Properties"]["ScheduleExpression"] == CATALOG.schedule_expression(spec)
        and s["Properties"]["Target"]["Arn"] == {"Fn::GetAtt": [function_id, "Arn"]}
    ]

    # Then a failed run is retried, then parked
    assert schedule["Target"]["RetryPolicy"]["MaximumRetryAttempts"] > 0
    assert schedule["Target"]["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][1] == "Arn"


@pytest.mark.parametrize("name", sorted({s.function for s in CATALOG.schedules}), ids=lambda name: name)
def test_a_scheduled_run_that_keeps_failing_is_parked_not_dropped(
    synthesized: Synthesized, name: str
) -> None:
    # Given a scheduled function (Scheduler invokes it asynchronously, so Lambda retries and then drops a failure)
    function_id, _ = synthesized.catalog_entry("AWS::Lambda::Function", name)
    # When looking for its asynchronous invocation settings
    (config,) = [
        c["Properties"]
        for c in synthesized.of_type("AWS::Lambda::EventInvokeConfig").values()
        if c["Properties"]["FunctionName"] == {"Ref": function_id}
    ]
    # Then a run that still fails after the retries goes to the undelivered-events queue, which it may send to
    queue_id = config["DestinationConfig"]["OnFailure"]["Destination"]["Fn::GetAtt"][0]
    assert synthesized.resources[queue_id]["Type"] == "AWS::SQS::Queue"
    assert config["MaximumRetryAttempts"] == 2
    assert any(
        "sqs:SendMessage" in _as_list(s["Action"]) and queue_id in json.dumps(s["Resource"])
        for s in synthesized.function_statements(name)
    )


@pytest.mark.parametrize(
    "spec", [f for f in CATALOG.functions if "mail:send" in f.grants], ids=lambda function: function.name
)
def test_mail_senders_may_send_only_as_the_approvals_address(synthesized: Synthesized, spec: Any) -> None:
    # Given a function holding mail:send
    sender = CATALOG.settings["approvals_sender"]

    # When collecting its SES statements
    statements = [
        s for s in _role_statements(synthesized, spec.name) if "ses:SendRawEmail" in _as_list(s["Action"])
    ]

    # Then each pins the From address to the approvals sender
    assert statements
    for statement in statements:
        assert statement["Condition"] == {"StringEquals": {"ses:FromAddress": sender}}


# --- cdk-nag ------------------------------------------------------------------------------------------------


def test_cdk_nag_aws_solutions_reports_nothing_unacknowledged(synthesized: Synthesized) -> None:
    # Given the construct tree with its acknowledgements
    # When the AwsSolutions pack checked it at synth (infra/assembly.py: AwsSolutionsChecks.validate_scope)
    findings = synthesized.checks["cdk_nag"]

    # Then no error and no warning is left
    assert findings == []


def test_no_cdk_errors_or_warnings_are_annotated(synthesized: Synthesized) -> None:
    # Given the synthesized stack's error and warning annotations (infra/assembly.py: Annotations.from_stack; cdk-nag
    # 3 reports through the validation report, see above; these are CDK's own, e.g. deprecated APIs or
    # misconfigured constructs)
    checks = synthesized.checks

    # Then there are none, AwsSolutions ones included
    assert checks["errors"] == []
    assert checks["warnings"] == []


# --- helpers ------------------------------------------------------------------------------------------------


def _rules_described(synthesized: Synthesized, description: str) -> list[dict[str, Any]]:
    return [
        rule["Properties"]
        for rule in synthesized.of_type("AWS::Events::Rule").values()
        if rule["Properties"].get("Description") == description
    ]


def _bus_id(synthesized: Synthesized) -> str:
    (bus_id,) = synthesized.of_type("AWS::Events::EventBus")
    return bus_id


def _layer_id(synthesized: Synthesized) -> str:
    (layer_id,) = synthesized.of_type("AWS::Lambda::LayerVersion")
    return layer_id


def _state_machine_id(synthesized: Synthesized, rule: Any) -> str:
    return synthesized.catalog_entry("AWS::StepFunctions::StateMachine", rule.workflow)[0]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _role_statements(synthesized: Synthesized, function_name: str) -> list[dict[str, Any]]:
    _, function = synthesized.catalog_entry("AWS::Lambda::Function", function_name)
    role_id = function["Properties"]["Role"]["Fn::GetAtt"][0]
    role = synthesized.resources[role_id]["Properties"]
    assert "ManagedPolicyArns" not in role, "function roles carry only their own statements"
    return synthesized.role_statements(role_id)


def _assert_rotating_customer_key(synthesized: Synthesized, reference: Any) -> None:
    key_id = reference["Fn::GetAtt"][0] if "Fn::GetAtt" in reference else reference["Ref"]
    key = synthesized.resources[key_id]
    assert key["Type"] == "AWS::KMS::Key"
    assert key["Properties"]["EnableKeyRotation"] is True


def _denies_plain_http(
    synthesized: Synthesized, policy_type: str, attached_to: str, resource_id: str
) -> bool:
    for policy in synthesized.of_type(policy_type).values():
        targets = _as_list(policy["Properties"][attached_to])
        if {"Ref": resource_id} not in targets:
            continue
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            if statement["Effect"] == "Deny" and statement.get("Condition") == {
                "Bool": {"aws:SecureTransport": "false"}
            }:
                return True
    return False


def _template_text(template: Any, refs: dict[str, str] | None = None) -> str:
    """An input template as text, with ``{"Ref": X}`` rendered as ``refs[X]`` (or ``<ref:X>``)."""
    if isinstance(template, str):
        return template
    if "Fn::Join" in template:
        delimiter, parts = template["Fn::Join"]
        return str(delimiter).join(_template_text(part, refs) for part in parts)
    if "Ref" in template:
        return (refs or {}).get(template["Ref"], f"<ref:{template['Ref']}>")
    raise AssertionError(f"unexpected intrinsic in input template: {template}")


def _apply_input_transformer(transformer: dict[str, Any], event: dict[str, Any], refs: dict[str, str]) -> Any:
    """EventBridge's substitution, enough of it for JSON templates: ``<var>`` outside strings becomes JSON."""
    text = _template_text(transformer["InputTemplate"], refs)
    for variable, path in transformer["InputPathsMap"].items():
        text = text.replace(f"<{variable}>", json.dumps(_json_path(event, path)))
    return json.loads(text)


def _json_path(document: Any, path: str) -> Any:
    assert path == "$" or path.startswith("$."), path
    for part in [p for p in path[2:].split(".") if p]:
        document = document[part]
    return document


def _deployed_definition(synthesized: Synthesized, props: dict[str, Any]) -> str:
    if "DefinitionString" in props:
        body = _template_text(props["DefinitionString"])
    else:
        body = synthesized.asset_path(props["DefinitionS3Location"]["Key"]).read_text()
    return _substitute(body, props.get("DefinitionSubstitutions", {}))


def _substitute(body: str, substitutions: dict[str, Any]) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        return f"resolved:{name}" if name in substitutions else match.group(0)

    return re.sub(r"\$\{([^}]+)\}", replace, body)


def _flatten_intrinsics(value: Any) -> list[Any]:
    """Every intrinsic (Ref, GetAtt) and string inside a value, Fn::Join unpacked."""
    if isinstance(value, dict) and "Fn::Join" in value:
        return [item for part in value["Fn::Join"][1] for item in _flatten_intrinsics(part)]
    return [value]


def _api_path(synthesized: Synthesized, method: dict[str, Any]) -> str:
    parts: list[str] = []
    reference = method["ResourceId"]
    while "Ref" in reference:
        resource = synthesized.resources[reference["Ref"]]["Properties"]
        parts.insert(0, resource["PathPart"])
        reference = resource["ParentId"]
    return "/" + "/".join(parts)


def _stage_arn(stage_id: str, association: dict[str, Any]) -> Any:
    # CDK renders a stage ARN as arn:<partition>:apigateway:<region>::/restapis/<api>/stages/<stage>
    arn = association["Properties"]["ResourceArn"]
    assert {"Ref": stage_id} in _flatten_intrinsics(arn)
    return arn


def test_operators_are_alarmed_on_failed_executions_dead_letters_overdue_approvals_and_tampering(
    synthesized: Synthesized,
) -> None:
    # Given the synthesized stack
    alarms = list(synthesized.of_type("AWS::CloudWatch::Alarm").values())
    described = [a["Properties"]["AlarmDescription"] for a in alarms]
    # Then each workflow's failed executions, each dead-letter queue and overdue approvals have an alarm
    assert sum("execution failed" in d for d in described) == len(CATALOG.state_machines)
    assert sum(d.startswith("Messages wait in") for d in described) == len(CATALOG.queues) + 1
    assert any(d.startswith("Approvals still pending") for d in described)
    # And the first in-place change of the audit trail the anchor function counts pages them
    [tampered] = [
        a["Properties"] for a in alarms if a["Properties"].get("MetricName") == "AuditTamperingDetected"
    ]
    assert tampered["Namespace"] == "Backoffice" and tampered["Threshold"] == 1
    assert tampered["Dimensions"] == [{"Name": "workflow", "Value": "audit"}]
    # And every alarm notifies the operators' topic
    assert all(a["Properties"]["AlarmActions"] for a in alarms)
    # And one dashboard shows them beside the business metrics
    [dashboard] = synthesized.of_type("AWS::CloudWatch::Dashboard").values()
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    for metric in ("CaseOutcomes", "CaseExceptions", "ApprovalTurnaround", "DocumentsNeedingReview"):
        assert metric in body


def test_the_dashboard_shows_every_management_number_the_weekly_report_sends(
    synthesized: Synthesized,
) -> None:
    from backoffice.reports.process_report import MANAGEMENT_METRICS

    # Given the synthesized dashboard
    [dashboard] = synthesized.of_type("AWS::CloudWatch::Dashboard").values()
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    # Then each number the published process report sends to CloudWatch has a graph, weekly
    for name, _, _ in MANAGEMENT_METRICS:
        assert f'\\"{name}\\"' in body, name
    assert '\\"period\\":604800' in body


def test_only_technical_faults_page_business_outcomes_succeed(synthesized: Synthesized) -> None:
    # Given the synthesized stack
    alarms = list(synthesized.of_type("AWS::CloudWatch::Alarm").values())
    executions = [a["Properties"] for a in alarms if a["Properties"].get("Namespace") == "AWS/States"]
    # Then each workflow has exactly one execution alarm, on ExecutionsFailed and nothing else (not on
    # succeeded, aborted or timed-out executions), paging on the first failure
    assert len(executions) == len(CATALOG.state_machines)
    assert {a["MetricName"] for a in executions} == {"ExecutionsFailed"}
    assert all((a["Threshold"], a["Statistic"]) == (1, "Sum") for a in executions)
    machines = {a["Dimensions"][0]["Value"]["Ref"] for a in executions}
    assert machines == set(synthesized.of_type("AWS::StepFunctions::StateMachine"))
    # And its description tells the on-call what a failure means: a technical fault; business outcomes succeed
    for alarm in executions:
        description = alarm["AlarmDescription"]
        assert "technical fault" in description and "TechnicalFault" in description
        assert "Business outcomes (blocked, rejected) end SUCCEEDED and do not alarm" in description
    # And every workflow ends in a Fail state only for TechnicalFault: a business outcome ends in a Succeed state
    # (a Fail inside a Map's item or a Parallel branch ends only that item: it passes the error it caught on,
    # unchanged, to the enclosing state's Catch)
    for machine in CATALOG.state_machines:
        definition = json.loads(machine.definition())
        ending = [s for s in definition["States"].values() if s["Type"] == "Fail"]
        assert ending and {s.get("Error") for s in ending} == {"TechnicalFault"}, machine.name
        nested = [s for s in _states_of_type(definition, "Fail") if not any(s is e for e in ending)]
        assert all(
            s.get("Error") == "TechnicalFault" or s.get("ErrorPath") == "$.error.Error" for s in nested
        )
        assert _states_of_type(definition, "Succeed"), machine.name


def _states_of_type(definition: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    found = []
    for state in definition["States"].values():
        if state["Type"] == kind:
            found.append(state)
        for branch in state.get("Branches", []):
            found += _states_of_type(branch, kind)
        if "ItemProcessor" in state:
            found += _states_of_type(state["ItemProcessor"], kind)
    return found


# --- outputs ------------------------------------------------------------------------------------------------


def test_the_stack_exports_every_name_the_operate_commands_resolve(synthesized: Synthesized) -> None:
    # Given the references an operator's command may resolve (infra/outputs.py)
    from infra.outputs import operator_refs, output_key

    wanted = {output_key(ref) for ref in operator_refs(CATALOG)}

    # When reading the stack's outputs
    outputs = synthesized.template.get("Outputs", {})

    # Then each has its output, under the key `backoffice --stack` and `--outputs-file` look for
    assert wanted <= set(outputs), sorted(wanted - set(outputs))
    assert "AuditSigningKeyArn" in outputs and "PublicApiUrl" in outputs
