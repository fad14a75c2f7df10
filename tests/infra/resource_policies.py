"""Resource-based policies of the synthesized template, evaluated for one principal as AWS would.

``backoffice.local.iam_policy`` evaluates identity policies (action, resource, conditions). A resource policy (a
key policy, a topic policy) also names who it is for: ``Principal``/``NotPrincipal``. This adds that match, and
resolves the template's intrinsic functions to ARNs in a fixed account and region, so a test can ask "may
cloudwatch.amazonaws.com, acting for this alarm, publish to this topic?" of the policies CloudFormation would
install.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from backoffice.local.iam_policy import Decision, Request, Statement, evaluate

ACCOUNT = "111122223333"
OTHER_ACCOUNT = "444455556666"
REGION = "eu-west-1"
PARTITION = "aws"

_PSEUDO = {
    "AWS::AccountId": ACCOUNT,
    "AWS::Region": REGION,
    "AWS::Partition": PARTITION,
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::StackName": "BackofficeStack",
}

# How each resource type's ARN reads, with the logical id standing in for the physical name CloudFormation gives.
_ARNS = {
    "AWS::KMS::Key": "arn:aws:kms:{region}:{account}:key/{id}",
    "AWS::SNS::Topic": "arn:aws:sns:{region}:{account}:{id}",
    "AWS::SQS::Queue": "arn:aws:sqs:{region}:{account}:{id}",
    "AWS::CloudWatch::Alarm": "arn:aws:cloudwatch:{region}:{account}:alarm:{id}",
    "AWS::Events::EventBus": "arn:aws:events:{region}:{account}:event-bus/{id}",
    "AWS::IAM::Role": "arn:aws:iam::{account}:role/{id}",
    "AWS::Lambda::Function": "arn:aws:lambda:{region}:{account}:function:{id}",
}
# The types whose Ref is their ARN (the others' Ref is their name or id).
_REF_IS_ARN = {"AWS::SNS::Topic"}
# The types whose Ref is the ``Name`` they were given (an SES configuration set's ARN is built from it).
_REF_IS_NAME = {"AWS::Events::EventBus", "AWS::SES::ConfigurationSet"}


@dataclass(frozen=True)
class Principal:
    """Who asks: ``kind`` is the key under ``Principal`` that would name it ("Service" or "AWS")."""

    kind: str
    name: str


def service(name: str) -> Principal:
    return Principal("Service", name)


class ResolvedTemplate:
    """The template's resources with ``Ref``, ``Fn::GetAtt`` and ``Fn::Join`` resolved in ``ACCOUNT``/``REGION``."""

    def __init__(self, template: Mapping[str, Any]) -> None:
        self.resources: Mapping[str, Mapping[str, Any]] = template["Resources"]

    def arn(self, logical_id: str) -> str:
        resource = self.resources[logical_id]
        if resource["Type"] == "AWS::Events::Rule":
            bus = resource["Properties"].get("EventBusName")
            path = f"{self.value(bus)}/{logical_id}" if bus else logical_id
            return f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{path}"
        pattern = _ARNS.get(resource["Type"])
        if pattern is None:
            raise KeyError(f"no ARN pattern for {resource['Type']} ({logical_id})")
        return pattern.format(region=REGION, account=ACCOUNT, id=logical_id)

    def value(self, node: Any) -> Any:
        if isinstance(node, list):
            return [self.value(item) for item in node]
        if not isinstance(node, dict):
            return node
        if set(node) == {"Ref"}:
            name = node["Ref"]
            if name in _PSEUDO:
                return _PSEUDO[name]
            if self.resources[name]["Type"] in _REF_IS_ARN:
                return self.arn(name)
            if self.resources[name]["Type"] in _REF_IS_NAME:
                return self.resources[name]["Properties"].get("Name", name)
            return name
        if set(node) == {"Fn::GetAtt"}:
            logical_id, attribute = node["Fn::GetAtt"]
            if attribute != "Arn":
                raise KeyError(f"Fn::GetAtt {logical_id}.{attribute} is not resolved by the test helper")
            return self.arn(logical_id)
        if set(node) == {"Fn::Join"}:
            separator, parts = node["Fn::Join"]
            return separator.join(str(self.value(part)) for part in parts)
        return {key: self.value(item) for key, item in node.items()}

    def statements(self, document: Mapping[str, Any]) -> list[Statement]:
        statements = document["Statement"]
        return [
            self.value(statement)
            for statement in ([statements] if isinstance(statements, dict) else statements)
        ]

    def key_policy(self, key_id: str) -> list[Statement]:
        return self.statements(self.resources[key_id]["Properties"]["KeyPolicy"])

    def topic_policy(self, topic_id: str) -> list[Statement]:
        """Every statement of every ``AWS::SNS::TopicPolicy`` attached to the topic (none: SNS's default policy)."""
        return [
            statement
            for resource in self.resources.values()
            if resource["Type"] == "AWS::SNS::TopicPolicy"
            and {"Ref": topic_id} in resource["Properties"]["Topics"]
            for statement in self.statements(resource["Properties"]["PolicyDocument"])
        ]


def _as_list(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _names(element: Any, principal: Principal) -> bool:
    if element == "*":
        return True
    if not isinstance(element, Mapping):
        return False
    # "AWS": "*" is everyone, services included (IAM User Guide, "Principal": anonymous and all principals).
    if "*" in _as_list(element.get("AWS", [])):
        return True
    return principal.name in _as_list(element.get(principal.kind, []))


def principal_matches(statement: Statement, principal: Principal) -> bool:
    if "Principal" in statement:
        return _names(statement["Principal"], principal)
    if "NotPrincipal" in statement:
        return not _names(statement["NotPrincipal"], principal)
    return False


def decide(statements: Iterable[Statement], principal: Principal, request: Request) -> Decision:
    """The resource policy's decision for ``principal``: its statements that name the principal, evaluated as IAM
    does (an explicit Deny wins, then an Allow, else implicitly denied). Enough on its own for a service principal,
    which has no identity policy of the account to add an Allow."""
    return evaluate([s for s in statements if principal_matches(s, principal)], request)
