"""The product's public HTTP API: the catalog's routes, today the decision endpoint of approval links."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from aws_cdk import Aws, RemovalPolicy
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from infra.catalog import ApiRoute
from infra.compliance import acknowledge
from infra.edge import (
    API_BINARY_MEDIA_TYPES,
    API_STAGE,
    CORE_BODY_LABEL,
    CORE_BODY_LIMIT_BYTES,
    CORE_BODY_RULE,
    CORE_RULE_SET,
    FIREWALL,
    BodyLimit,
    Firewall,
)

STAGE = API_STAGE
ACCESS_LOG_RETENTION = logs.RetentionDays.ONE_YEAR
# The stage caps the whole API; the firewall (infra/edge.py) caps one address.
THROTTLE_RATE_PER_SECOND = 20
THROTTLE_BURST = 40

_PATH_PARAMETER = re.compile(r"\{([A-Za-z0-9_]+)\}")


class PublicApi(Construct):
    """A regional REST API for the catalog's routes, behind a WAF web ACL, with JSON access logs and tracing.

    Shaped so because its callers are people following links in e-mails, not systems with credentials: the
    routes have no authorizer, the single-use link id in the path is the credential and the function checks it,
    so what the edge adds is a per-address rate limit (slows anyone guessing link ids) and AWS's managed rules for
    common and known-bad requests. The access log format has the resource path (``/approvals/{link_id}``), never
    the request path, so link ids stay out of the logs. The base URL is built from the API id, not from the
    deployment stage, so the decision function can carry it in its environment without a dependency cycle.
    """

    def __init__(self, scope: Construct, construct_id: str, *, key: kms.IKey) -> None:
        super().__init__(scope, construct_id)
        access_logs = logs.LogGroup(
            self,
            "AccessLogs",
            retention=ACCESS_LOG_RETENTION,
            encryption_key=key,
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.api = apigw.RestApi(
            self,
            "Api",
            description="Back-office public endpoints: approval decision pages and vendor document uploads",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            # Vendor documents go straight to S3 (a presigned POST); the API takes small forms and JSON only.
            binary_media_types=list(API_BINARY_MEDIA_TYPES) or None,
            # The account-wide API Gateway logging role is not this stack's to own (see the APIG6 note below).
            cloud_watch_role=False,
            deploy_options=apigw.StageOptions(
                stage_name=STAGE,
                access_log_destination=apigw.LogGroupLogDestination(access_logs),
                access_log_format=apigw.AccessLogFormat.json_with_standard_fields(
                    caller=False,
                    http_method=True,
                    ip=True,
                    protocol=True,
                    request_time=True,
                    resource_path=True,
                    response_length=True,
                    status=True,
                    user=False,
                ),
                tracing_enabled=True,
                throttling_rate_limit=THROTTLE_RATE_PER_SECOND,
                throttling_burst_limit=THROTTLE_BURST,
            ),
        )
        # The stack outputs the URL under a business name; CDK's generic "Endpoint" output would repeat it.
        self.api.node.try_remove_child("Endpoint")
        self.url = f"https://{self.api.rest_api_id}.execute-api.{Aws.REGION}.{Aws.URL_SUFFIX}/{STAGE}"
        # Required path parameters are checked at the edge; body validation applies once a route declares a
        # request model (the decision form is validated by the function today).
        self._validator = self.api.add_request_validator(
            "Requests",
            request_validator_name="parameters-and-body",
            validate_request_parameters=True,
            validate_request_body=True,
        )
        self._firewall()
        acknowledge(
            self.api.deployment_stage,
            "AwsSolutions-APIG6",
            "Execution logging needs the account-wide API Gateway CloudWatch role (AWS::ApiGateway::Account), a "
            "per-account, per-region singleton that a product stack must not own or overwrite. Access logs (every "
            "request, status, latency) and X-Ray traces are on; enable execution logging at ERROR once the "
            "account baseline sets that role.",
        )

    def route(self, routes: Sequence[ApiRoute], functions: Mapping[str, lambda_.IFunction]) -> None:
        """Add the catalog's routes, each to its function through a Lambda proxy integration."""
        integrations: dict[str, apigw.LambdaIntegration] = {}
        for route in routes:
            resource = self.api.root.resource_for_path(route.path.strip("/"))
            integration = integrations.setdefault(
                route.function, apigw.LambdaIntegration(functions[route.function], allow_test_invoke=False)
            )
            method = resource.add_method(
                route.method,
                integration,
                authorization_type=apigw.AuthorizationType.NONE,
                request_validator=self._validator,
                request_parameters={
                    f"method.request.path.{name}": True for name in _PATH_PARAMETER.findall(route.path)
                },
            )
            for rule_id in ("AwsSolutions-APIG4", "AwsSolutions-COG4"):
                acknowledge(
                    method,
                    rule_id,
                    f"{route.method} {route.path} ({route.description or route.function}) is opened from an "
                    "e-mail by an approver who has no account here; the single-use, unguessable link id in the "
                    "path is the credential, checked by the function, and the WAF rate limit slows guessing.",
                )

    def _firewall(self, spec: Firewall = FIREWALL) -> None:
        """The web ACL of ``infra/edge.py``: the local gateway applies the same description."""

        def visibility(metric: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
            return wafv2.CfnWebACL.VisibilityConfigProperty(
                cloud_watch_metrics_enabled=True, metric_name=metric, sampled_requests_enabled=True
            )

        relaxed = {limit.relaxes for limit in spec.body_limits if limit.relaxes}

        def managed(priority: int, name: str) -> wafv2.CfnWebACL.RuleProperty:
            # A managed rule that a body limit stands in for counts (and labels) instead of blocking.
            overrides = (
                [
                    wafv2.CfnWebACL.RuleActionOverrideProperty(
                        name=rule, action_to_use=wafv2.CfnWebACL.RuleActionProperty(count={})
                    )
                    for rule in sorted(relaxed)
                ]
                if name == CORE_RULE_SET
                else None
            )
            return wafv2.CfnWebACL.RuleProperty(
                name=name,
                priority=priority,
                override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
                statement=wafv2.CfnWebACL.StatementProperty(
                    managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                        vendor_name="AWS", name=name, rule_action_overrides=overrides
                    )
                ),
                visibility_config=visibility(name),
            )

        def body_limit(priority: int, limit: BodyLimit) -> wafv2.CfnWebACL.RuleProperty:
            return wafv2.CfnWebACL.RuleProperty(
                name=limit.name,
                priority=priority,
                action=wafv2.CfnWebACL.RuleActionProperty(block={}),
                statement=_body_limit_statement(limit),
                visibility_config=visibility(limit.name),
            )

        rate = wafv2.CfnWebACL.RuleProperty(
            name=spec.rate_limit.name,
            priority=0,
            action=wafv2.CfnWebACL.RuleActionProperty(block={}),
            statement=wafv2.CfnWebACL.StatementProperty(
                rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                    limit=spec.rate_limit.requests_per_5_minutes, aggregate_key_type="IP"
                )
            ),
            visibility_config=visibility(spec.rate_limit.name),
        )
        # Body limits come after the managed groups: a rule matching a managed rule's label must run after it.
        groups = [managed(1 + index, name) for index, name in enumerate(spec.managed_rule_groups)]
        first_limit = 1 + len(groups)
        limits = [body_limit(first_limit + index, limit) for index, limit in enumerate(spec.body_limits)]
        firewall = wafv2.CfnWebACL(
            self,
            "Firewall",
            scope="REGIONAL",
            description="Rate limit per address, AWS managed rules and body size limits in front of the public API",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            visibility_config=visibility("BackofficePublicApi"),
            rules=[rate, *groups, *limits],
            # How much of a body API Gateway forwards to WAF: the largest body limit is inspected whole.
            association_config=wafv2.CfnWebACL.AssociationConfigProperty(
                request_body={
                    "API_GATEWAY": wafv2.CfnWebACL.RequestBodyAssociatedResourceTypeConfigProperty(
                        default_size_inspection_limit=spec.body_inspection_limit
                    )
                }
            ),
        )
        wafv2.CfnWebACLAssociation(
            self,
            "FirewallAssociation",
            resource_arn=self.api.deployment_stage.stage_arn,
            web_acl_arn=firewall.attr_arn,
        )


def _path_starts_with(prefix: str) -> wafv2.CfnWebACL.StatementProperty:
    # WAF sees API Gateway's request path with the stage in front: /v1/webhooks/crm.
    return wafv2.CfnWebACL.StatementProperty(
        byte_match_statement=wafv2.CfnWebACL.ByteMatchStatementProperty(
            field_to_match=wafv2.CfnWebACL.FieldToMatchProperty(uri_path={}),
            positional_constraint="STARTS_WITH",
            search_string=f"/{STAGE}{prefix}",
            text_transformations=[wafv2.CfnWebACL.TextTransformationProperty(priority=0, type="NONE")],
        )
    )


def _body_limit_statement(limit: BodyLimit) -> wafv2.CfnWebACL.StatementProperty:
    """What a body limit matches: the relaxed managed rule's label, or a body over the limit (a body larger than
    WAF is given to inspect counts as over it), on its paths."""
    if limit.relaxes is not None:
        if limit.relaxes != CORE_BODY_RULE or limit.max_bytes != CORE_BODY_LIMIT_BYTES:
            raise ValueError(f"{limit.name}: only the core rule set's 8 KB body rule can be relaxed")
        oversize = wafv2.CfnWebACL.StatementProperty(
            label_match_statement=wafv2.CfnWebACL.LabelMatchStatementProperty(
                key=CORE_BODY_LABEL, scope="LABEL"
            )
        )
    else:
        oversize = wafv2.CfnWebACL.StatementProperty(
            size_constraint_statement=wafv2.CfnWebACL.SizeConstraintStatementProperty(
                comparison_operator="GT",
                size=limit.max_bytes,
                field_to_match=wafv2.CfnWebACL.FieldToMatchProperty(
                    body=wafv2.CfnWebACL.BodyProperty(oversize_handling="MATCH")
                ),
                text_transformations=[wafv2.CfnWebACL.TextTransformationProperty(priority=0, type="NONE")],
            )
        )
    statements = [oversize]
    if limit.path_prefix is not None:
        statements.append(_path_starts_with(limit.path_prefix))
    statements += [
        wafv2.CfnWebACL.StatementProperty(
            not_statement=wafv2.CfnWebACL.NotStatementProperty(statement=_path_starts_with(prefix))
        )
        for prefix in limit.except_prefixes
    ]
    if len(statements) == 1:
        return oversize
    return wafv2.CfnWebACL.StatementProperty(
        and_statement=wafv2.CfnWebACL.AndStatementProperty(statements=statements)
    )
