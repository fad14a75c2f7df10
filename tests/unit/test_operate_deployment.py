"""Where the operate commands act (backoffice/operate/deployment.py): outputs files, stack outputs, messages."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from backoffice.operate.deployment import (
    Deployment,
    OperateError,
    access_denied_message,
    local_outputs,
    read_outputs_file,
)
from infra.catalog import CATALOG, Ref
from infra.outputs import operator_refs, output_key


def test_each_kind_of_reference_has_its_output_key() -> None:
    # Given references of every kind an operator resolves
    # When naming their outputs
    # Then the key is the catalog name in PascalCase with the kind's suffix, or the stack's one name
    assert output_key(Ref("table_name", "audit")) == "AuditTableName"
    assert output_key(Ref("bucket_name", "audit_anchors")) == "AuditAnchorsBucketName"
    assert output_key(Ref("queue_url", "parked_events")) == "ParkedEventsQueueUrl"
    assert output_key(Ref("state_machine_arn", "onboarding")) == "OnboardingWorkflowArn"
    assert output_key(Ref("key_arn", "audit_signing")) == "AuditSigningKeyArn"
    assert output_key(Ref("event_bus_name")) == "BusinessEventBusName"
    assert output_key(Ref("api_url")) == "PublicApiUrl"
    assert output_key(Ref("function_arn", "refresh_sanctions_list")) == "RefreshSanctionsListFunctionArn"
    with pytest.raises(ValueError, match="role_arn"):
        output_key(Ref("role_arn", "textract_notifications"))


def test_an_outputs_file_of_one_stack_is_read_without_naming_it(tmp_path: Path) -> None:
    # Given the file `cdk deploy --outputs-file` writes for one stack
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps({"Backoffice-Prod": {"AuditTableName": "prod-audit"}}))
    # When it is read without --stack
    stack, outputs = read_outputs_file(path)
    # Then its one stack's outputs come back
    assert (stack, outputs) == ("Backoffice-Prod", {"AuditTableName": "prod-audit"})


@pytest.mark.parametrize(
    ("content", "stack", "message"),
    [
        (None, None, "no outputs file at"),
        ("{not json", None, "is not JSON"),
        ('["a list"]', None, "is not a cdk outputs file"),
        ('{"A": {}, "B": {}}', None, "several stacks (A, B): name one with --stack"),
        ('{"A": {}}', "B", "has no stack 'B' (it has: A)"),
    ],
    ids=["missing", "not-json", "not-outputs", "two-stacks", "other-stack"],
)
def test_a_wrong_outputs_file_is_one_line_that_says_what_to_do(
    tmp_path: Path, content: str | None, stack: str | None, message: str
) -> None:
    # Given an outputs file that is missing, broken or ambiguous
    path = tmp_path / "outputs.json"
    if content is not None:
        path.write_text(content)
    # When it is read, then the error says why in one line
    with pytest.raises(OperateError, match=message.replace("(", r"\(").replace(")", r"\)")):
        read_outputs_file(path, stack)


def test_a_reference_the_stack_does_not_export_names_the_output_it_needs() -> None:
    # Given a deployment whose outputs lack the audit table (a stack deployed before it was exported)
    deployment = Deployment({}, source="stack Old in eu-west-1", session=None)
    # When a command resolves the audit table, then the error names the output and the stack
    with pytest.raises(OperateError, match="stack Old in eu-west-1 has no output AuditTableName"):
        deployment.resolve(Ref("table_name", "audit"))


def test_access_denied_names_the_action_the_credentials_lack() -> None:
    # Given AWS refusing a call for want of permission
    error: Any = ClientError(
        {
            "Error": {
                "Code": "AccessDeniedException",
                "Message": "User: arn:aws:iam::1:user/ops is not authorized",
            }
        },
        "Query",
    )
    # When it is told to the operator, then it names the action
    assert access_denied_message(error, "dynamodb:Query").startswith(
        "access denied: your credentials may not call dynamodb:Query"
    )
    assert "Query" in access_denied_message(error)


def test_the_local_outputs_have_the_deployed_stacks_shape_and_keys() -> None:
    # Given the local runtime's names for every operator reference
    names = {ref: f"local-{i}" for i, ref in enumerate(operator_refs(CATALOG))}
    # When written as outputs
    outputs = local_outputs(names)
    # Then one stack holds every key the stack exports
    assert list(outputs) == ["BackofficeStack"]
    assert set(outputs["BackofficeStack"]) == {output_key(ref) for ref in operator_refs(CATALOG)}
