"""The catalog's state machines: each one an ASL file whose placeholders the catalog resolves."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from aws_cdk import CfnResource, RemovalPolicy, Tags
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.catalog import Catalog, StateMachine
from infra.compliance import acknowledge, iam5_resource_finding
from infra.naming import CATALOG_TAG, pascal
from infra.permissions import Permission, distributed_map_children, permission_for
from infra.resources import CatalogResources

LOG_RETENTION = logs.RetentionDays.SIX_MONTHS


class Workflows(Construct):
    """One Standard state machine per catalog entry, from ``statemachines/<file>`` with its policies expanded.

    Shaped so because the ASL file is the workflow a reviewer reads (and the local runtime runs), so CDK must not
    re-author it: the file goes in as ``StateMachine.definition()`` renders it (its named Retry and Catch policies
    expanded, the same text the local runtime registers) and CloudFormation fills its ``${...}`` placeholders
    from ``DefinitionSubstitutions``. Standard, not Express: cases wait for people (approvals) for days and each step
    must run exactly once. Every execution logs ALL events with their data to an encrypted log group and is
    traced in X-Ray, since "what happened to this case" is the question operators get. The role may invoke
    exactly the functions the definition names through its placeholders, nothing else.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        catalog: Catalog,
        resources: CatalogResources,
        key: kms.IKey,
    ) -> None:
        super().__init__(scope, construct_id)
        self.state_machines: dict[str, sfn.StateMachine] = {
            spec.name: self._state_machine(spec, resources, key) for spec in catalog.state_machines
        }

    def _state_machine(
        self, spec: StateMachine, resources: CatalogResources, key: kms.IKey
    ) -> sfn.StateMachine:
        scope = Construct(self, pascal(spec.name))
        log_group = logs.LogGroup(
            scope,
            "ExecutionLogs",
            retention=LOG_RETENTION,
            encryption_key=key,
            removal_policy=RemovalPolicy.RETAIN,
        )
        substitutions = {placeholder: resources.token(ref) for placeholder, ref in spec.substitutions.items()}
        definition = spec.definition()
        machine = sfn.StateMachine(
            scope,
            "StateMachine",
            state_machine_type=sfn.StateMachineType.STANDARD,
            definition_body=sfn.DefinitionBody.from_string(definition),
            definition_substitutions=substitutions,
            logs=sfn.LogOptions(destination=log_group, level=sfn.LogLevel.ALL, include_execution_data=True),
            tracing_enabled=True,
        )
        invoked = sorted({ref.name for ref in spec.substitutions.values() if ref.kind == "function_arn"})
        if invoked:
            # Exact function ARNs: the ASL invokes unqualified ARNs, so no ':*' for versions and aliases.
            machine.add_to_role_policy(
                iam.PolicyStatement(
                    actions=["lambda:InvokeFunction"],
                    resources=[resources.functions[name].function_arn for name in invoked],
                )
            )
        self._grant_map_runs(scope, spec, machine, resources, key, json.loads(definition))
        if _succeed_states_filter_their_output(json.loads(definition)):
            # The definition is inline, so cfn-lint validates it (E3601). Its ASL schema (1.58) refuses OutputPath
            # on a Succeed state, which the States Language allows and Step Functions runs (the blocked cases'
            # output is their $.outcome). Only such workflows skip the check; the others stay validated.
            cfn = machine.node.default_child
            assert isinstance(cfn, CfnResource)
            cfn.add_metadata("cfn-lint", {"config": {"ignore_checks": ["E3601"]}})
        Tags.of(scope).add(CATALOG_TAG, spec.name)
        acknowledge(
            machine.role,
            "AwsSolutions-IAM5[Resource::*]",
            "Execution logging and X-Ray tracing: the CloudWatch Logs delivery actions (logs:CreateLogDelivery, "
            "logs:PutResourcePolicy, ...) and xray:PutTraceSegments / GetSampling* do not support resource-level "
            "permissions, so CDK grants them on '*'.",
        )
        return machine

    def _grant_map_runs(
        self,
        scope: Construct,
        spec: StateMachine,
        machine: sfn.StateMachine,
        resources: CatalogResources,
        key: kms.IKey,
        definition: Mapping[str, Any],
    ) -> None:
        """A Distributed Map's grants, in a policy of their own: StartExecution names the state machine itself,
        and a statement in its default policy (which the state machine depends on) would make a cycle."""
        permissions: list[tuple[str, Permission]] = [
            (grant, permission_for(grant, resources, key)) for grant in spec.grants
        ]
        if _has_distributed_map(definition):
            permissions.append(("Distributed Map", distributed_map_children(machine)))
        if not permissions:
            return
        policy = iam.Policy(
            scope,
            "MapRunPolicy",
            statements=[statement for _, permission in permissions for statement in permission.statements],
            roles=[machine.role],
        )
        for grant, permission in permissions:
            for wildcard in permission.wildcards:
                acknowledge(
                    policy, iam5_resource_finding(policy, wildcard.resource), f"{grant}: {wildcard.reason}"
                )


def _has_distributed_map(definition: Mapping[str, Any]) -> bool:
    for state in definition["States"].values():
        processor = state.get("ItemProcessor", {})
        if processor.get("ProcessorConfig", {}).get("Mode") == "DISTRIBUTED":
            return True
        if any(
            _has_distributed_map(branch)
            for branch in [*state.get("Branches", ()), *([processor] if processor else [])]
        ):
            return True
    return False


def _succeed_states_filter_their_output(definition: Mapping[str, Any]) -> bool:
    for state in definition["States"].values():
        if state["Type"] == "Succeed" and "OutputPath" in state:
            return True
        branches = [
            *state.get("Branches", ()),
            *(state[k] for k in ("ItemProcessor", "Iterator") if k in state),
        ]
        if any(_succeed_states_filter_their_output(branch) for branch in branches):
            return True
    return False
