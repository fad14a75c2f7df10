"""The back-office stack: composes one construct per concern, all built from the catalog."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from infra.api import PublicApi
from infra.catalog import Catalog
from infra.encryption import DataKey, SigningKeys
from infra.events import CASE_STARTER, BusinessEvents
from infra.firm_config import FirmConfigParameter
from infra.firm_document import CONFIG_CONTEXT, document_text
from infra.functions import Functions
from infra.layer import SharedLayer
from infra.mail import Mail
from infra.monitoring import Monitoring
from infra.outputs import operator_refs, output_key
from infra.permissions import APPROVALS_SENDER, FIRM_CONFIG_PARAMETER, MAIL_CONFIGURATION_SET
from infra.resources import CatalogResources
from infra.schedules import Schedules
from infra.service_roles import ServiceRoles
from infra.storage import Storage
from infra.streams import TableStreams
from infra.subscriptions import TopicSubscriptions
from infra.workflows import Workflows

LOG_LEVEL_CONTEXT = "backoffice:logLevel"
# The levels both Lambda's JSON logging and Powertools (Python logging names) understand.
LOG_LEVELS = ("DEBUG", "INFO", "WARN", "ERROR")


class BackofficeStack(Stack):
    """Everything the back office runs on, in one stack, in the order data flows.

    The stack only composes: storage first (the functions' environment names its tables and queues), then the
    bus and the public API (whose URL approval e-mails carry), the functions, the state machines (which name the
    functions), and last what names the state machines or routes to the functions: grants, rules, API routes and
    schedules. No construct here looks anything up in an AWS account, so the stack synthesizes with no
    credentials and deploys to whichever account and region the CLI is pointed at.
    """

    def __init__(self, scope: Construct, construct_id: str, *, catalog: Catalog, **kwargs: Any) -> None:
        # The template is written without indentation: with every workflow in one stack it passed 80% of
        # CloudFormation's 1 MB limit (800 KB with issue #22's resource onboarding), most of it whitespace.
        kwargs.setdefault("suppress_template_indentation", True)
        super().__init__(scope, construct_id, **kwargs)
        log_level = str(self.node.try_get_context(LOG_LEVEL_CONTEXT) or "INFO").upper()
        if log_level not in LOG_LEVELS:
            raise ValueError(f"{LOG_LEVEL_CONTEXT}={log_level!r}: use one of {', '.join(LOG_LEVELS)}")

        data_key = DataKey(self, "DataKey")
        self.signing_keys = SigningKeys(self, "SigningKeys", names=catalog.signing_keys)
        self.storage = Storage(self, "Storage", catalog=catalog, key=data_key.key)
        self.events = BusinessEvents(self, "BusinessEvents", catalog=catalog)
        # Built before the functions: approval e-mails carry links to it, so its URL is in their environment.
        self.api = PublicApi(self, "PublicApi", key=data_key.key) if catalog.api_routes else None
        resources = CatalogResources(
            scope=self,
            catalog=catalog,
            storage=self.storage,
            bus=self.events.bus,
            api_url=self.api.url if self.api else None,
            signing_keys=dict(self.signing_keys.keys),
        )
        # Roles services assume for the product (Textract's completion notices): functions pass them, so they
        # are in the functions' environment and grants.
        self.service_roles = ServiceRoles(
            self, "ServiceRoles", catalog=catalog, storage=self.storage, key=data_key.key
        )
        resources.roles.update(self.service_roles.roles)

        # The sender's SES identity and the configuration set whose bounces and complaints reach mail_events.
        self.mail = Mail(
            self,
            "Mail",
            sender=resources.setting(APPROVALS_SENDER),
            sender_identity=resources.setting("sender_identity"),
            configuration_set_name=resources.setting(MAIL_CONFIGURATION_SET),
            events_topic=self.storage.topics["mail_events"],
            key=data_key.key,
        )

        config = self.node.try_get_context(CONFIG_CONTEXT)
        self.firm_config = FirmConfigParameter(
            self,
            "FirmConfig",
            name=resources.setting(FIRM_CONFIG_PARAMETER),
            document=document_text(Path(str(config)) if config else None),
        )

        layer = SharedLayer(self, "SharedLayer")
        self.functions = Functions(
            self,
            "Functions",
            catalog=catalog,
            resources=resources,
            layer=layer.layer,
            key=data_key.key,
            log_level=log_level,
        )
        resources.functions.update(self.functions.functions)

        self.workflows = Workflows(self, "Workflows", catalog=catalog, resources=resources, key=data_key.key)
        resources.state_machines.update(self.workflows.state_machines)

        self.functions.grant_catalog_access(resources)
        self.events.start_cases(
            starter=self.functions.functions[CASE_STARTER],
            functions=self.functions.functions,
            state_machines=self.workflows.state_machines,
            undelivered=self.storage.undelivered_events,
            key=data_key.key,
        )
        if self.api:
            self.api.route(catalog.api_routes, self.functions.functions)
        self.subscriptions = TopicSubscriptions(
            self,
            "Subscriptions",
            catalog=catalog,
            topics=self.storage.topics,
            functions=self.functions.functions,
            undelivered=self.storage.undelivered_events,
            key=data_key.key,
        )
        self.streams = TableStreams(
            self,
            "Streams",
            catalog=catalog,
            tables=self.storage.tables,
            functions=self.functions.functions,
            undelivered=self.storage.undelivered_events,
            key=data_key.key,
        )
        self.schedules = Schedules(
            self,
            "Schedules",
            catalog=catalog,
            functions=self.functions.functions,
            undelivered=self.storage.undelivered_events,
            key=data_key.key,
        )
        self.monitoring = Monitoring(
            self,
            "Monitoring",
            state_machines=self.workflows.state_machines,
            dead_letter_queues={**self.storage.queues, "undelivered_events": self.storage.undelivered_events},
            notifications=self.storage.topics["notifications"],
        )
        self._outputs(catalog, resources)

    def _outputs(self, catalog: Catalog, resources: CatalogResources) -> None:
        # What the operators' command resolves (infra/outputs.py: the same keys in `cdk deploy --outputs-file`,
        # DescribeStacks and the local server's .local/cdk-outputs.json).
        for ref in operator_refs(catalog):
            CfnOutput(self, output_key(ref), value=resources.token(ref))
        CfnOutput(self, "UndeliveredEventsQueueUrl", value=self.storage.undelivered_events.queue_url)
        CfnOutput(self, "OperatorsDashboardName", value=self.monitoring.dashboard.dashboard_name)
