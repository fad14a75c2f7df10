"""The local runtime's IAM and the assistant's Bedrock calls: a function may call Bedrock only when the stack
granted it, as on AWS; refused, the assistant falls back to the local rules with the refusal audited."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from backoffice.assist.config import AiAssistConfig
from backoffice.assist.models import AssistCase, DocumentText
from backoffice.assist.wiring import assistant
from backoffice.local.iam import IamEnforcer, LocalArns, SynthesizedIam, acting_as_function
from backoffice.local.runtime import ACCOUNT, PREFIX, REGION, local_names
from backoffice.local.template import synthesized_template, synthesized_variant
from infra.catalog import CATALOG

pytestmark = pytest.mark.slow

HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"
CONFIG = AiAssistConfig(adapter="bedrock", model_id=HAIKU, region=REGION)
W9 = DocumentText(text="Form W-9 Request for Taxpayer Identification Number and Certification")


def _iam(template: dict[str, Any]) -> SynthesizedIam:
    arns = LocalArns(REGION, ACCOUNT, local_names(CATALOG, endpoint_url=None), PREFIX)
    return SynthesizedIam.from_template(template, CATALOG, arns)


@pytest.fixture(scope="module")
def enabled_template() -> dict[str, Any]:
    """The stack as synthesized for a firm that turned Bedrock on (cdk-nag runs on this synth too; the same
    synthesis as tests/infra/test_bedrock_grant_stack.py's, kept once per change)."""
    setting = json.dumps({"model_id": HAIKU, "region": "", "routing_regions": []})
    return synthesized_variant({"ai_assist": setting})


@pytest.fixture
def bedrock() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client(
        "bedrock-runtime", region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    with Stubber(client) as stubber:
        yield client, stubber


def _enforced(template: dict[str, Any]) -> IamEnforcer:
    enforcer = IamEnforcer(_iam(template), REGION, ACCOUNT, secret_arn=lambda name: None)
    enforcer.install()
    return enforcer


class Trail:
    def __init__(self) -> None:
        self.appended: list[dict[str, Any]] = []

    def records(self, case_id: str) -> list[Any]:
        return []

    def append(self, **fields: Any) -> Any:
        self.appended.append(fields)
        return fields


def _classify_as(function: str, client: Any, trail: Trail, config: AiAssistConfig = CONFIG) -> Any:
    case = AssistCase(case_id="vendor-x-1", workflow="vendor_approval", step=function)
    with acting_as_function(function):
        return assistant(
            "document_classification", case, trail=trail, config=config, bedrock_client=client
        ).classify_document(W9)


def test_without_the_grant_the_call_is_refused_and_the_rules_answer_with_the_refusal_audited(
    bedrock: tuple[Any, Stubber],
) -> None:
    # Given the stack as deployed for the sample firm (Bedrock off: no grant), enforced
    client, _ = bedrock
    enforcer = _enforced(synthesized_template())
    trail = Trail()
    try:
        # When the vendor documents' reader is (mis)configured to ask Bedrock
        suggestion = _classify_as("read_vendor_documents", client, trail)
    finally:
        enforcer.uninstall()
    # Then IAM refused the call as AWS would, and the local rules answered, saying so
    assert any(
        "bedrock:InvokeModel" in message and f"foundation-model/{HAIKU}" in message
        for message in enforcer.denied
    )
    assert (suggestion.label, suggestion.fallback_reason) == ("w9", "error: AccessDeniedException")
    assert trail.appended[0]["reasons"] == ("error: AccessDeniedException",)


def test_with_the_grant_the_configured_model_answers(
    enabled_template: dict[str, Any], bedrock: tuple[Any, Stubber]
) -> None:
    # Given the stack synthesized with Bedrock on for Claude 3 Haiku, enforced
    client, stubber = bedrock
    stubber.add_response(
        "converse",
        {
            "output": {
                "message": {"role": "assistant", "content": [{"text": '{"label": "w9", "confidence": 0.97}'}]}
            },
            "stopReason": "end_turn",
            "usage": {"inputTokens": 700, "outputTokens": 12, "totalTokens": 712},
            "metrics": {"latencyMs": 420},
        },
        {"modelId": HAIKU, "system": ANY, "messages": ANY, "inferenceConfig": ANY},
    )
    enforcer = _enforced(enabled_template)
    trail = Trail()
    try:
        # When the vendor documents' reader asks
        suggestion = _classify_as("read_vendor_documents", client, trail)
    finally:
        enforcer.uninstall()
    # Then the call was allowed and the model answered
    assert enforcer.denied == []
    assert (suggestion.source, suggestion.model_id, suggestion.fallback_reason) == ("bedrock", HAIKU, None)


def test_with_the_grant_another_model_or_another_function_is_still_refused(
    enabled_template: dict[str, Any], bedrock: tuple[Any, Stubber]
) -> None:
    # Given the stack with Bedrock on for Claude 3 Haiku, enforced
    client, _ = bedrock
    enforcer = _enforced(enabled_template)
    try:
        # When a function asks for a model the firm did not configure, and a function that is not an assistant
        # user asks for the configured one
        other_model = CONFIG.model_copy(update={"model_id": "anthropic.claude-3-opus-20240229-v1:0"})
        trail = Trail()
        refused_model = _classify_as("request_approval", client, trail, other_model)
        refused_function = _classify_as("create_project", client, trail)
    finally:
        enforcer.uninstall()
    # Then both are refused and answered by the rules
    assert refused_model.fallback_reason == refused_function.fallback_reason == "error: AccessDeniedException"
    assert len(enforcer.denied) == 2
