"""Every Lambda function of the catalog, made by one factory so they cannot drift apart."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, Tags
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.catalog import Catalog, Grant, LambdaFunction
from infra.compliance import acknowledge, iam5_resource_finding
from infra.function_code import staged_function_code
from infra.layer import ARCHITECTURE, RUNTIME
from infra.naming import CATALOG_TAG, pascal
from infra.permissions import permission_for
from infra.resources import CatalogResources

METRICS_NAMESPACE = "Backoffice"
LOG_RETENTION = logs.RetentionDays.THREE_MONTHS
# Grants whose statements name the state machines, for a function a workflow may also invoke (the Textract step
# calls back into the execution that invoked it). In the role's default policy, on which CloudFormation makes the
# function wait, they would close a cycle (function -> policy -> state machine -> its policy -> function); in a
# policy of their own beside the role (not inside it: the function waits for everything under its role), they do not.
_WORKFLOW_GRANTS: frozenset[Grant] = frozenset({"states:callback"})


class Functions(Construct):
    """One Lambda function per catalog entry, from one set of defaults.

    Shaped so because every step must behave the same in production: arm64 (cheaper per GB-second), Python 3.13,
    its code shipped with its bytecode (no compiling at a cold start), the shared layer, X-Ray active tracing,
    JSON logs at the level the ``backoffice:logLevel`` context sets, and Powertools told its service name (the
    business step) and metrics namespace. Each function gets its own role
    and its own encrypted log group with a retention: the role holds exactly the catalog's grants for that step
    and the right to write its own logs (no ``AWSLambdaBasicExecutionRole``, which may write to any log group).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        catalog: Catalog,
        resources: CatalogResources,
        layer: lambda_.ILayerVersion,
        key: kms.IKey,
        log_level: str,
    ) -> None:
        super().__init__(scope, construct_id)
        self._catalog = catalog
        self._key = key
        self._scopes: dict[str, Construct] = {}
        self.functions: dict[str, lambda_.Function] = {
            spec.name: self._function(spec, resources, layer, log_level) for spec in catalog.functions
        }

    def _function(
        self, spec: LambdaFunction, resources: CatalogResources, layer: lambda_.ILayerVersion, log_level: str
    ) -> lambda_.Function:
        scope = Construct(self, pascal(spec.name))
        log_group = logs.LogGroup(
            scope,
            "Logs",
            retention=LOG_RETENTION,
            encryption_key=self._key,
            removal_policy=RemovalPolicy.RETAIN,
        )
        role = iam.Role(
            scope,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"{spec.name}: its catalog grants and its own log group, nothing else",
        )
        log_group.grant_write(role)
        self._scopes[spec.name] = scope
        function = lambda_.Function(
            scope,
            "Function",
            description=spec.description,
            # functions/<name>/ with its bytecode for the runtime (infra/function_code.py): a test run's own
            # __pycache__ stays out, so it never changes the asset's hash.
            code=lambda_.Code.from_asset(str(staged_function_code(spec.code_dir))),
            handler=spec.handler,
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            layers=[layer],
            memory_size=spec.memory_mb,
            timeout=Duration.seconds(spec.timeout_seconds),
            role=role,
            tracing=lambda_.Tracing.ACTIVE,
            log_group=log_group,
            logging_format=lambda_.LoggingFormat.JSON,
            application_log_level_v2=lambda_.ApplicationLogLevel(log_level),
            system_log_level_v2=lambda_.SystemLogLevel.WARN,
            environment={
                "POWERTOOLS_SERVICE_NAME": spec.name,
                "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
                "POWERTOOLS_LOG_LEVEL": log_level,
                **{name: resources.resolve(value) for name, value in spec.environment.items()},
            },
        )
        Tags.of(scope).add(CATALOG_TAG, spec.name)
        acknowledge(
            role,
            "AwsSolutions-IAM5[Resource::*]",
            "X-Ray active tracing: xray:PutTraceSegments and xray:PutTelemetryRecords do not support "
            "resource-level permissions, so CDK grants them on '*'.",
        )
        acknowledge(
            function,
            "AwsSolutions-L1",
            "Python 3.13 is the runtime the shared layer is built for (pip --python-version 3.13, cp313 "
            "wheels); moving to a newer runtime means rebuilding the layer for it in the same change.",
        )
        return function

    def grant_catalog_access(self, resources: CatalogResources) -> None:
        """Turn each function's catalog grants into statements on its role.

        Called once the state machines exist, since ``states:start`` names them.
        """
        for spec in self._catalog.functions:
            function = self.functions[spec.name]
            role = function.role
            if role is None:  # every function here is built with a role; this keeps the type checker honest
                raise ValueError(f"function {spec.name} has no role")
            for grant in spec.grants:
                permission = permission_for(grant, resources, self._key)
                if grant in _WORKFLOW_GRANTS:
                    iam.Policy(
                        self._scopes[spec.name],
                        f"{pascal(grant.replace(':', '_'))}Policy",
                        statements=list(permission.statements),
                        roles=[role],
                    )
                else:
                    for statement in permission.statements:
                        role.add_to_principal_policy(statement)
                for wildcard in permission.wildcards:
                    acknowledge(
                        role,
                        iam5_resource_finding(role, wildcard.resource),
                        f"{grant}: {wildcard.reason}",
                    )
