"""The assistant's Bedrock grant (infra/permissions.py ``bedrock:invoke``): nothing while the firm has not turned
Bedrock on; then ``bedrock:InvokeModel`` on the configured model only, for the functions that ask the assistant."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from cdk_nag import AwsSolutionsChecks

from infra.catalog import AI_ASSIST_FUNCTIONS, CATALOG
from infra.permissions import permission_for
from infra.resources import CatalogResources

ACCOUNT, REGION = "111122223333", "us-east-1"
HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _plain(value: Any) -> Any:
    """A template value with ``Fn::Join`` over the partition written out (``arn:aws:...``)."""
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict) and set(value) == {"Fn::Join"}:
        separator, parts = value["Fn::Join"]
        return separator.join("aws" if part == {"Ref": "AWS::Partition"} else str(part) for part in parts)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _grant_alone(setting: dict[str, Any] | str) -> list[dict[str, Any]]:
    """The grant's statements on a role of their own, synthesized with cdk-nag (an unacknowledged finding fails)."""
    text = setting if isinstance(setting, str) else json.dumps(setting)
    app = cdk.App(context={"ai_assist": text})
    stack = cdk.Stack(app, "BedrockGrant", env=cdk.Environment(account=ACCOUNT, region=REGION))
    resources = CatalogResources(scope=stack, catalog=CATALOG, storage=None, bus=None)  # type: ignore[arg-type]
    permission = permission_for("bedrock:invoke", resources, kms.Key(stack, "Key", enable_key_rotation=True))
    role = iam.Role(stack, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    for statement in permission.statements:
        role.add_to_principal_policy(statement)
    assert permission.wildcards == ()
    Validations.of(app).add_plugins(AwsSolutionsChecks(app, verbose=True))
    template = app.synth().get_stack_by_name(stack.stack_name).template
    return [
        _plain(statement)
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::IAM::Policy"
        for statement in resource["Properties"]["PolicyDocument"]["Statement"]
    ]


def test_while_bedrock_is_off_the_grant_allows_nothing() -> None:
    # Given the catalog's setting (no ai_assist section in the firm document)
    # When the grant is built  Then it has no statement at all
    assert CATALOG.settings["ai_assist"] == "{}"
    assert _grant_alone("{}") == []


def test_a_foundation_model_is_granted_by_its_arn_in_the_configured_region_only() -> None:
    # Given a firm using Claude 3 Haiku in us-west-2
    statements = _grant_alone({"model_id": HAIKU, "region": "us-west-2", "routing_regions": []})
    # Then the one statement invokes that model there, nothing else (cdk-nag found nothing to say)
    assert statements == [
        {
            "Action": "bedrock:InvokeModel",
            "Effect": "Allow",
            "Resource": f"arn:aws:bedrock:us-west-2::foundation-model/{HAIKU}",
        }
    ]


def test_without_a_region_the_model_is_granted_in_the_stacks_region() -> None:
    statements = _grant_alone({"model_id": HAIKU, "region": "", "routing_regions": []})
    assert [s["Resource"] for s in statements] == [f"arn:aws:bedrock:{REGION}::foundation-model/{HAIKU}"]


def test_an_inference_profile_is_granted_with_its_model_in_each_region_it_routes_to_through_it_only() -> None:
    # Given a US cross-region inference profile
    profile_id = "us.anthropic.claude-3-5-haiku-20241022-v1:0"
    statements = _grant_alone(
        {"model_id": profile_id, "region": REGION, "routing_regions": ["us-east-1", "us-east-2", "us-west-2"]}
    )
    # Then the profile may be invoked, and the model in each routed region only through that profile
    profile = f"arn:aws:bedrock:{REGION}:{ACCOUNT}:inference-profile/{profile_id}"
    assert statements[0] == {"Action": "bedrock:InvokeModel", "Effect": "Allow", "Resource": profile}
    assert statements[1]["Condition"] == {"StringEquals": {"bedrock:InferenceProfileArn": profile}}
    assert statements[1]["Resource"] == [
        f"arn:aws:bedrock:{where}::foundation-model/anthropic.claude-3-5-haiku-20241022-v1:0"
        for where in ("us-east-1", "us-east-2", "us-west-2")
    ]


def test_a_guardrail_the_firm_named_may_be_applied_and_no_other() -> None:
    statements = _grant_alone(
        {"model_id": HAIKU, "region": REGION, "routing_regions": [], "guardrail_id": "gr1x2"}
    )
    assert statements[-1] == {
        "Action": "bedrock:ApplyGuardrail",
        "Effect": "Allow",
        "Resource": f"arn:aws:bedrock:{REGION}:{ACCOUNT}:guardrail/gr1x2",
    }


@pytest.mark.parametrize("name", AI_ASSIST_FUNCTIONS)
def test_the_functions_that_ask_the_assistant_hold_the_grant_and_read_the_firm_document(name: str) -> None:
    spec = CATALOG.function(name)
    assert {"bedrock:invoke", "firm_config:read"} <= set(spec.grants)
    assert "FIRM_CONFIG_PARAMETER" in spec.environment


def test_no_other_function_holds_the_grant() -> None:
    assert {f.name for f in CATALOG.functions if "bedrock:invoke" in f.grants} == set(AI_ASSIST_FUNCTIONS)


def test_the_deployed_stack_grants_no_bedrock_call_while_the_firm_has_not_turned_it_on(
    stack_template: dict[str, Any],
) -> None:
    # Given the stack synthesized for the sample firm (no ai_assist section)
    # When reading every policy statement
    actions = [
        action
        for resource in stack_template["Resources"].values()
        if resource["Type"] == "AWS::IAM::Policy"
        for statement in resource["Properties"]["PolicyDocument"]["Statement"]
        for action in _as_list(statement["Action"])
    ]
    # Then no statement names Bedrock
    assert not [action for action in actions if action.startswith("bedrock:")]


@pytest.mark.slow
def test_turned_on_the_whole_stack_grants_the_model_to_exactly_the_assistant_functions() -> None:
    # Given the app synthesized with the setting a firm document enabling Bedrock gives it (cdk-nag runs on synth;
    # the same synthesis as tests/integration/test_bedrock_grant_local.py's, kept once per change)
    from backoffice.local.template import synthesized_variant

    setting = json.dumps({"model_id": HAIKU, "region": "", "routing_regions": []})
    template = synthesized_variant({"ai_assist": setting})
    # When reading which functions' roles may invoke a model
    roles = {
        logical_id: next(
            t["Value"] for t in r["Properties"].get("Tags", []) if t["Key"] == "backoffice:catalog-entry"
        )
        for logical_id, r in template["Resources"].items()
        if r["Type"] == "AWS::IAM::Role"
        and any(t["Key"] == "backoffice:catalog-entry" for t in r["Properties"].get("Tags", []))
    }
    granted = {
        roles[role["Ref"]]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::IAM::Policy"
        for statement in r["Properties"]["PolicyDocument"]["Statement"]
        if "bedrock:InvokeModel" in _as_list(statement["Action"])
        for role in r["Properties"]["Roles"]
        if role.get("Ref") in roles
    }
    # Then exactly the functions that ask the assistant may
    assert granted == set(AI_ASSIST_FUNCTIONS)
