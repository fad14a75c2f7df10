"""The product's event bus, its archive, and the rules that turn business events into cases."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_cdk import Aws, Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.async_failures import park_failed_invocations
from infra.catalog import Catalog, EventRule
from infra.naming import pascal
from infra.salesforce_relay import SalesforceEventRelay, salesforce_partner_event_source

# The function every rule delivers to. It is the only thing that may start a case, because it names the
# execution after the case key: a duplicate event then meets the execution that already exists.
CASE_STARTER = "start_case"

ARCHIVE_RETENTION = Duration.days(365)
# EventBridge retries delivery (throttling, Lambda service errors) with backoff for up to a day: a won deal is
# worth a day of retries before it is parked in the undelivered-events queue for an operator.
DELIVERY_RETRY_ATTEMPTS = 185
DELIVERY_MAX_EVENT_AGE = Duration.hours(24)
# Once delivered, an error inside the starter is retried by Lambda's async invocation twice, then parked too.
STARTER_RETRY_ATTEMPTS = 2
STARTER_MAX_EVENT_AGE = Duration.hours(6)

# Catalog patterns use EventBridge's JSON keys; the CDK EventPattern takes them as snake_case keywords.
_PATTERN_FIELDS = {
    "account",
    "detail",
    "detail-type",
    "id",
    "region",
    "resources",
    "source",
    "time",
    "version",
}


class BusinessEvents(Construct):
    """The custom event bus named in the catalog, an archive of everything on it, and one rule per catalog rule.

    Shaped so because the bus is the product's front door: SaaS systems put business events on it and the
    workflows put their outcomes back. The archive keeps a year of events so a case can be replayed after a bug
    fix. Rules target the ``start_case`` function, not the state machine: EventBridge cannot name an execution,
    and the execution name (prefix + case key) is what makes a duplicate event find the existing case. The target
    input hands the starter everything it needs to do that (rule, workflow, state machine ARN, case key path,
    execution prefix) and the whole original event. Delivery failures (after retries) and the starter's own
    failures land in the undelivered-events queue, so no event is dropped silently. With Salesforce Event Relay
    set up (``infra/salesforce_relay.py``), the relay's partner bus forwards to this bus.
    """

    def __init__(self, scope: Construct, construct_id: str, *, catalog: Catalog) -> None:
        super().__init__(scope, construct_id)
        self._catalog = catalog
        self.bus = events.EventBus(
            self,
            "Bus",
            event_bus_name=catalog.event_bus,
            description="Business events from the firm's SaaS systems and the outcomes of back-office cases",
        )
        self.archive = self.bus.archive(
            "Archive",
            description="Every event on the back-office bus, kept for replaying cases",
            # Matches every event: all events on a bus carry the account they were put in.
            event_pattern=events.EventPattern(account=[Aws.ACCOUNT_ID]),
            retention=ARCHIVE_RETENTION,
        )
        self.rules: dict[str, events.Rule] = {}
        self.salesforce_relay: SalesforceEventRelay | None = None

    def start_cases(
        self,
        *,
        starter: lambda_.Function,
        functions: Mapping[str, lambda_.Function],
        state_machines: Mapping[str, sfn.IStateMachine],
        undelivered: sqs.IQueue,
        key: kms.IKey,
    ) -> None:
        """Add one rule per catalog rule, each delivering to ``starter``; called once the workflows exist."""
        for spec in self._catalog.rules:
            rule = events.Rule(
                self,
                f"{pascal(spec.name)}Rule",
                event_bus=self.bus,
                description=spec.description,
                event_pattern=event_pattern(spec.pattern),
            )
            if spec.function:
                # An ingest rule: the function receives the event as EventBridge sends it.
                rule.add_target(
                    targets.LambdaFunction(
                        functions[spec.function],
                        dead_letter_queue=undelivered,
                        retry_attempts=DELIVERY_RETRY_ATTEMPTS,
                        max_event_age=DELIVERY_MAX_EVENT_AGE,
                    )
                )
                self.rules[spec.name] = rule
                continue
            rule.add_target(
                targets.LambdaFunction(
                    starter,
                    event=case_start_input(spec, state_machines[spec.workflow], self._catalog),
                    dead_letter_queue=undelivered,
                    retry_attempts=DELIVERY_RETRY_ATTEMPTS,
                    max_event_age=DELIVERY_MAX_EVENT_AGE,
                )
            )
            self.rules[spec.name] = rule
        park_failed_invocations(
            self,
            "StarterFailures",
            starter,
            undelivered=undelivered,
            key=key,
            retry_attempts=STARTER_RETRY_ATTEMPTS,
            max_event_age=STARTER_MAX_EVENT_AGE,
        )
        # Salesforce Event Relay delivers to a partner bus of its own; set up only when the app is told its name.
        relay_source = salesforce_partner_event_source(self)
        if relay_source:
            self.salesforce_relay = SalesforceEventRelay(
                self,
                "SalesforceEventRelay",
                event_source_name=relay_source,
                bus=self.bus,
                undelivered=undelivered,
            )


def case_start_input(
    spec: EventRule, state_machine: sfn.IStateMachine, catalog: Catalog
) -> events.RuleTargetInput:
    """What the starter receives: the rule's routing facts and, under ``event``, the whole original event.

    ``EventField.from_path("$")`` becomes an input-transformer variable bound to ``$``, the entire event,
    ``detail`` included (the predefined ``<aws.events.event>`` would leave ``detail`` out, and with it the case
    key of every business event).
    """
    return events.RuleTargetInput.from_object(
        {
            "rule": spec.name,
            "workflow": spec.workflow,
            "state_machine_arn": state_machine.state_machine_arn,
            "case_key": spec.case_key,
            "execution_prefix": spec.execution_prefix
            or catalog.state_machine(spec.workflow).execution_prefix,
            "event": events.EventField.from_path("$"),
            **({"attempt_key": spec.attempt_key} if spec.attempt_key else {}),
        }
    )


def event_pattern(pattern: Mapping[str, object]) -> events.EventPattern:
    """The catalog's pattern (EventBridge JSON keys) as a CDK ``EventPattern``, refusing keys it would drop."""
    unknown = set(pattern) - _PATTERN_FIELDS
    if unknown:
        raise ValueError(f"event pattern fields {sorted(unknown)} are not top-level EventBridge event fields")
    fields: dict[str, Any] = {key.replace("-", "_"): _top_level(value) for key, value in pattern.items()}
    return events.EventPattern(**fields)


def _top_level(value: object) -> object:
    """CDK types top-level fields as lists of strings: content filters there go through its ``Match`` helpers
    (``detail`` is passed as JSON and keeps its filters as written)."""
    if isinstance(value, list) and len(value) == 1 and isinstance(value[0], dict) and len(value[0]) == 1:
        [(operator, operand)] = value[0].items()
        helpers = {"prefix": events.Match.prefix, "suffix": events.Match.suffix}
        if operator in helpers:
            return helpers[operator](operand)
        if operator == "anything-but":
            return events.Match.anything_but(*(operand if isinstance(operand, list) else [operand]))
        raise ValueError(f"top-level content filter {operator!r} is not supported by the stack yet")
    return value
