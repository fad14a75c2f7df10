"""CDK assertions on the Textract step: the completion topic and its subscription, the role Textract publishes
with, and what the two functions may do (and only that)."""

from __future__ import annotations

from typing import Any

import pytest
from synthesized_stack import Synthesized

from infra.catalog import CATALOG

pytestmark = pytest.mark.slow

TOPIC = "textract_completed"
ROLE = "textract_notifications"


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _allowed(statements: list[dict[str, Any]], action: str) -> list[dict[str, Any]]:
    return [s for s in statements if action in _as_list(s["Action"])]


def test_the_completion_topic_delivers_to_the_completion_function(synthesized: Synthesized) -> None:
    # Given the catalog's completion topic and the function subscribed to it
    topic_id, _ = synthesized.catalog_entry("AWS::SNS::Topic", TOPIC)
    function_id, _ = synthesized.catalog_entry("AWS::Lambda::Function", "textract_completed")

    # When looking for the subscription and the permission that lets SNS invoke the function
    subscriptions = [
        s["Properties"]
        for s in synthesized.of_type("AWS::SNS::Subscription").values()
        if s["Properties"]["TopicArn"] == {"Ref": topic_id}
    ]
    permissions = [
        p["Properties"]
        for p in synthesized.of_type("AWS::Lambda::Permission").values()
        if p["Properties"].get("SourceArn") == {"Ref": topic_id}
    ]

    # Then every notice goes to the function, and only this topic may invoke it that way
    assert subscriptions == [
        {
            "Protocol": "lambda",
            "TopicArn": {"Ref": topic_id},
            "Endpoint": {"Fn::GetAtt": [function_id, "Arn"]},
        }
    ]
    assert [(p["Principal"], p["FunctionName"]) for p in permissions] == [
        ("sns.amazonaws.com", {"Fn::GetAtt": [function_id, "Arn"]})
    ]


def test_a_notice_the_function_cannot_handle_is_parked_not_lost(synthesized: Synthesized) -> None:
    # Given the completion function
    function_id, _ = synthesized.catalog_entry("AWS::Lambda::Function", "textract_completed")

    # When looking at how its asynchronous invocations end
    (config,) = [
        c["Properties"]
        for c in synthesized.of_type("AWS::Lambda::EventInvokeConfig").values()
        if c["Properties"]["FunctionName"] == {"Ref": function_id}
    ]

    # Then a notice that keeps failing goes to the undelivered-events queue after Lambda's retries
    destination = config["DestinationConfig"]["OnFailure"]["Destination"]
    queue_id = destination["Fn::GetAtt"][0]
    assert synthesized.resources[queue_id]["Type"] == "AWS::SQS::Queue"
    assert config["MaximumRetryAttempts"] == 2
    assert _allowed(synthesized.function_statements("textract_completed"), "sqs:SendMessage")


def test_textract_publishes_with_a_role_only_it_can_assume_and_only_to_the_topic(
    synthesized: Synthesized,
) -> None:
    # Given the service role of the catalog and the completion topic
    role_id, role = synthesized.catalog_entry("AWS::IAM::Role", ROLE)
    topic_id, _ = synthesized.catalog_entry("AWS::SNS::Topic", TOPIC)

    # When looking at its trust policy and its permissions
    (trust,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    statements = synthesized.role_statements(role_id)

    # Then Textract, and only for this account, may assume it
    assert trust["Principal"] == {"Service": "textract.amazonaws.com"}
    assert trust["Action"] == "sts:AssumeRole"
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
    # And it may publish to the completion topic alone, with the data key only through SNS
    [publish] = _allowed(statements, "sns:Publish")
    assert publish["Resource"] == {"Ref": topic_id}
    for statement in statements:
        if any(action.startswith("kms:") for action in _as_list(statement["Action"])):
            assert "kms:ViaService" in statement["Condition"]["StringEquals"]
    assert {action for s in statements for action in _as_list(s["Action"])} == {
        "sns:Publish",
        "kms:Decrypt",
        "kms:GenerateDataKey",
    }


def test_the_start_function_knows_the_topic_and_role_and_may_pass_the_role_to_textract_only(
    synthesized: Synthesized,
) -> None:
    # Given the start function, the service role and the topic
    _, function = synthesized.catalog_entry("AWS::Lambda::Function", "start_textract_analysis")
    role_id, _ = synthesized.catalog_entry("AWS::IAM::Role", ROLE)
    topic_id, _ = synthesized.catalog_entry("AWS::SNS::Topic", TOPIC)
    statements = synthesized.function_statements("start_textract_analysis")

    # When looking at its environment and its grants
    variables = function["Properties"]["Environment"]["Variables"]

    # Then it names the job's notification channel: the topic and the role Textract publishes with
    assert variables["TEXTRACT_SNS_TOPIC_ARN"] == {"Ref": topic_id}
    assert variables["TEXTRACT_SNS_ROLE_ARN"] == {"Fn::GetAtt": [role_id, "Arn"]}
    # And it may pass that role, to Textract alone
    [pass_role] = _allowed(statements, "iam:PassRole")
    assert pass_role["Resource"] == {"Fn::GetAtt": [role_id, "Arn"]}
    assert pass_role["Condition"] == {"StringEquals": {"iam:PassedToService": "textract.amazonaws.com"}}
    # And it may start analyses (Textract's actions take no resource ARNs), but not read other jobs' results
    for action in (
        "textract:StartDocumentAnalysis",
        "textract:StartExpenseAnalysis",
        "textract:AnalyzeDocument",
    ):
        [statement] = _allowed(statements, action)
        assert statement["Resource"] == "*"
    assert not _allowed(statements, "textract:GetDocumentAnalysis")


@pytest.mark.parametrize("name", ["start_textract_analysis", "textract_completed"])
def test_the_textract_functions_write_only_under_the_output_prefix_and_resume_only_the_workflows(
    synthesized: Synthesized, name: str
) -> None:
    # Given one of the two functions
    statements = synthesized.function_statements(name)
    bucket_id, _ = synthesized.catalog_entry("AWS::S3::Bucket", "documents")
    jobs_id, _ = synthesized.catalog_entry("AWS::DynamoDB::Table", "textract_jobs")
    prefix = CATALOG.settings["textract_output_prefix"]

    # When collecting where it may write, and whose tasks it may resume
    writes = [resource for s in _allowed(statements, "s3:PutObject") for resource in _as_list(s["Resource"])]
    [callback] = _allowed(statements, "states:SendTaskSuccess")
    [jobs] = [s for s in statements if s["Resource"] == {"Fn::GetAtt": [jobs_id, "Arn"]}]

    # Then it writes objects under the Textract output prefix of the documents bucket, nowhere else
    assert writes == [{"Fn::Join": ["", [{"Fn::GetAtt": [bucket_id, "Arn"]}, f"/{prefix}/*"]]}]
    # And it may resume or fail tasks of the catalog's state machines, by their ARNs
    assert "states:SendTaskFailure" in _as_list(callback["Action"])
    machine_ids = {
        synthesized.catalog_entry("AWS::StepFunctions::StateMachine", m.name)[0]
        for m in CATALOG.state_machines
    }
    assert {r["Ref"] for r in _as_list(callback["Resource"])} == machine_ids
    # And it keeps the pending jobs' task tokens with a put and a read, nothing wider
    assert sorted(_as_list(jobs["Action"])) == ["dynamodb:GetItem", "dynamodb:PutItem"]


def test_the_completion_function_reads_results_but_starts_nothing(synthesized: Synthesized) -> None:
    # Given the completion function's grants
    statements = synthesized.function_statements("textract_completed")

    # Then it may read finished jobs' pages, and may neither start jobs nor pass roles
    for action in ("textract:GetDocumentAnalysis", "textract:GetExpenseAnalysis"):
        assert _allowed(statements, action)
    assert not _allowed(statements, "textract:StartDocumentAnalysis")
    assert not _allowed(statements, "iam:PassRole")


@pytest.mark.parametrize("name", ["onboarding", "vendor_approval"])
def test_textract_is_off_unless_a_deployment_turns_it_on(synthesized: Synthesized, name: str) -> None:
    # Given a workflow with the Textract branch
    _, machine = synthesized.catalog_entry("AWS::StepFunctions::StateMachine", name)

    # When looking at the value its ASL's ${TextractEnabled} gets
    substitutions = machine["Properties"]["DefinitionSubstitutions"]

    # Then it is the catalog's default, "false" (cdk deploy -c textract_enabled=true turns it on)
    assert substitutions["TextractEnabled"] == CATALOG.settings["textract_enabled"] == "false"
