"""cdk-nag acknowledgements, recorded where the finding is and always with the reason it does not apply."""

from __future__ import annotations

import json
from typing import Any

from aws_cdk import Acknowledgment, Stack, Validations
from constructs import IConstruct


def acknowledge(scope: IConstruct, rule_id: str, reason: str) -> None:
    """Acknowledge one cdk-nag finding on ``scope`` (and its children), with the reason a reviewer can check.

    cdk-nag 3 runs as a CDK validation plugin: an acknowledgement names one finding, e.g.
    ``AwsSolutions-IAM5[Resource::*]``, not the whole rule, so each wildcard has to be argued for separately.
    """
    Validations.of(scope).acknowledge(Acknowledgment(id=rule_id, reason=reason))


def iam5_resource_finding(scope: IConstruct, resource: str) -> str:
    """The id cdk-nag gives an IAM5 finding for a wildcard ``resource`` in a policy under ``scope``.

    cdk-nag renders the resource with references flattened (``{"Ref": "X"}`` -> ``<X>``, ``Fn::GetAtt`` ->
    ``<X.Attr>``, ``Fn::Join`` joined); computing the id the same way keeps acknowledgements exact without
    copying logical ids by hand. If cdk-nag ever renders differently, the finding stops matching and the synth
    fails on it: the mistake cannot pass silently.
    """
    return f"AwsSolutions-IAM5[Resource::{_flatten(Stack.of(scope).resolve(resource))}]"


def _flatten(node: Any) -> str:
    if node is None:
        return ""
    if isinstance(node, str):
        return node.replace("${", "<").replace("}", ">")
    if isinstance(node, dict):
        if "Fn::Join" in node:
            delimiter, items = node["Fn::Join"]
            return str(delimiter).join(_flatten(item) for item in items)
        if "Fn::Sub" in node:
            return _flatten(node["Fn::Sub"])
        if "Fn::GetAtt" in node:
            resource, attribute = node["Fn::GetAtt"]
            return f"<{_flatten(resource)}.{_flatten(attribute)}>"
        if "Fn::ImportValue" in node:
            return _flatten(node["Fn::ImportValue"])
        if "Ref" in node:
            return f"<{_flatten(node['Ref'])}>"
    return json.dumps(node, separators=(",", ":"))
