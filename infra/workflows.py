"""The catalog's state machines: each one an ASL file whose placeholders the catalog resolves."""

from __future__ import annotations

from aws_cdk import RemovalPolicy, Tags
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.catalog import Catalog, StateMachine
from infra.compliance import acknowledge
from infra.naming import CATALOG_TAG, pascal
from infra.resources import CatalogResources

LOG_RETENTION = logs.RetentionDays.SIX_MONTHS


class Workflows(Construct):
    """One Standard state machine per catalog entry, loaded from ``statemachines/<file>`` as written.

    Shaped so because the ASL file is the workflow a reviewer reads (and the local runtime runs), so CDK must not
    re-author it: the file goes in untouched and CloudFormation fills its ``${...}`` placeholders from
    ``DefinitionSubstitutions``. Standard, not Express: cases wait for people (approvals) for days and each step
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
        machine = sfn.StateMachine(
            scope,
            "StateMachine",
            state_machine_type=sfn.StateMachineType.STANDARD,
            definition_body=sfn.DefinitionBody.from_file(str(spec.definition_path)),
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
        Tags.of(scope).add(CATALOG_TAG, spec.name)
        acknowledge(
            machine.role,
            "AwsSolutions-IAM5[Resource::*]",
            "Execution logging and X-Ray tracing: the CloudWatch Logs delivery actions (logs:CreateLogDelivery, "
            "logs:PutResourcePolicy, ...) and xray:PutTraceSegments / GetSampling* do not support resource-level "
            "permissions, so CDK grants them on '*'.",
        )
        return machine
