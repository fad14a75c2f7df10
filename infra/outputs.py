"""The stack's outputs the operators' command reads: one output per resource an operate command reaches.

``cdk deploy --outputs-file`` writes them as ``{stack name: {output key: value}}``, CloudFormation's
DescribeStacks lists them, and ``backoffice serve`` writes the local runtime's own in the same shape
(``.local/cdk-outputs.json``), so ``backoffice --stack``, ``--outputs-file`` and the local server resolve a
catalog reference through one mapping: ``output_key``. Plain Python (no CDK): the command imports it too.
"""

from __future__ import annotations

from infra.catalog import Catalog, Ref
from infra.naming import pascal

STACK_NAME = "BackofficeStack"

# The output key's suffix per kind of reference (the prefix is the catalog name in PascalCase).
_SUFFIXES = {
    "table_name": "TableName",
    "bucket_name": "BucketName",
    "queue_url": "QueueUrl",
    "topic_arn": "TopicArn",
    "state_machine_arn": "WorkflowArn",
    "key_arn": "KeyArn",
    "function_arn": "FunctionArn",
}
# References with one resource per stack: a fixed key.
_FIXED = {"event_bus_name": "BusinessEventBusName", "api_url": "PublicApiUrl"}
# Settings an operator's command needs as deployed (a deploy may override them with -c name=value).
_SETTINGS = {"firm_config_parameter": "FirmConfigParameterName"}
# Functions an operator runs now instead of waiting for their schedule (``backoffice sanctions refresh``).
_OPERATED_FUNCTIONS = ("refresh_sanctions_list",)


def output_key(ref: Ref) -> str:
    """``Ref("table_name", "audit")`` -> ``AuditTableName``; ``Ref("api_url")`` -> ``PublicApiUrl``."""
    if ref.kind in _FIXED:
        return _FIXED[ref.kind]
    if ref.kind == "setting" and ref.name in _SETTINGS:
        return _SETTINGS[ref.name]
    if ref.kind not in _SUFFIXES:
        raise ValueError(f"a {ref.kind} reference is not a stack output")
    return f"{pascal(ref.name)}{_SUFFIXES[ref.kind]}"


def operator_refs(catalog: Catalog) -> list[Ref]:
    """Every reference the operate commands may resolve, in the order the stack exports them."""
    refs = [Ref("event_bus_name")]
    refs += [Ref("table_name", t.name) for t in catalog.tables]
    refs += [Ref("bucket_name", b) for b in catalog.buckets]
    refs += [Ref("queue_url", q) for q in catalog.queues]
    refs += [Ref("topic_arn", t) for t in catalog.topics]
    refs += [Ref("state_machine_arn", sm.name) for sm in catalog.state_machines]
    refs += [Ref("key_arn", k) for k in catalog.signing_keys]
    names = {fn.name for fn in catalog.functions}
    refs += [Ref("function_arn", name) for name in _OPERATED_FUNCTIONS if name in names]
    if catalog.api_routes:
        refs.append(Ref("api_url"))
    refs += [Ref("setting", name) for name in _SETTINGS if name in catalog.settings]
    return refs


__all__ = ["STACK_NAME", "operator_refs", "output_key"]
