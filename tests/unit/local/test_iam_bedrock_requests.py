"""What the local runtime's IAM asks of a Bedrock call (bedrock-runtime's Converse), as Bedrock authorizes it."""

from __future__ import annotations

from backoffice.local.iam import CallContext, request_authorizations
from backoffice.local.iam_policy import Decision, Request, evaluate

CONTEXT = CallContext("us-east-1", "123456789012", token_owner={}.get)
HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"


def asks(operation: str, **params: object) -> list[Request]:
    return request_authorizations("bedrock", operation, params, CONTEXT)


def test_converse_on_a_foundation_model_asks_invoke_model_on_its_arn() -> None:
    # Given a Converse call on a foundation model  Then InvokeModel on the model's ARN (no account) is asked
    assert asks("Converse", modelId=HAIKU) == [
        Request("bedrock:InvokeModel", f"arn:aws:bedrock:us-east-1::foundation-model/{HAIKU}")
    ]
    # And the streaming form asks for its own action
    assert [r.action for r in asks("ConverseStream", modelId=HAIKU)] == [
        "bedrock:InvokeModelWithResponseStream"
    ]


def test_an_inference_profile_asks_for_the_profile_and_the_model_through_it() -> None:
    # Given a call through a US inference profile
    profile_id = "us.anthropic.claude-3-5-haiku-20241022-v1:0"
    profile = f"arn:aws:bedrock:us-east-1:123456789012:inference-profile/{profile_id}"
    requests = asks("Converse", modelId=profile_id)
    # Then the profile and the model are both asked, the model with the profile as condition key
    assert requests == [
        Request("bedrock:InvokeModel", profile),
        Request(
            "bedrock:InvokeModel",
            "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-5-haiku-20241022-v1:0",
            {"bedrock:InferenceProfileArn": profile},
        ),
    ]
    # And a policy allowing the model only through that profile allows it, and not through another profile
    through_profile = {
        "Effect": "Allow",
        "Action": "bedrock:InvokeModel",
        "Resource": "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-5-haiku-20241022-v1:0",
        "Condition": {"StringEquals": {"bedrock:InferenceProfileArn": profile}},
    }
    assert evaluate([through_profile], requests[1]) is Decision.ALLOWED
    other = asks("Converse", modelId="eu.anthropic.claude-3-5-haiku-20241022-v1:0")[1]
    assert evaluate([through_profile], other) is Decision.IMPLICIT_DENY


def test_a_guardrail_in_the_request_asks_apply_guardrail_on_it() -> None:
    requests = asks(
        "Converse", modelId=HAIKU, guardrailConfig={"guardrailIdentifier": "gr1x2", "guardrailVersion": "1"}
    )
    assert requests[-1] == Request(
        "bedrock:ApplyGuardrail", "arn:aws:bedrock:us-east-1:123456789012:guardrail/gr1x2"
    )
