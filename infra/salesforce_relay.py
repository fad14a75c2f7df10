"""Salesforce Event Relay: the partner event bus Salesforce delivers to, forwarded to the business bus.

Salesforce's Event Relay does not put events on a bus of ours: it creates a partner event source in the account
(``aws.partner/salesforce.com/<org id>/<relay id>``) and delivers to the partner event bus that is associated with
it. The stack creates that bus only when told the source's name (``cdk synth -c
salesforce_partner_event_source=...``, or the same key in ``cdk.json``): without it, nothing partner-related exists.

One rule on the partner bus forwards every event of the relay to the business bus, rather than rules there that
target the ingest function. Why: the catalog's ``salesforce_opportunity_won`` rule already matches relay events on
the business bus (``source`` prefixed ``aws.partner/salesforce.com``) and delivers them to
``ingest_salesforce_event`` with the same retries and dead-letter queue as every other rule; forwarding keeps that
one rule the only place the pattern lives, puts the raw relay events in the business bus's archive (a case can be
replayed from the event Salesforce sent), and is the path the local runtime runs, where relay events are put on the
business bus. The forwarded event keeps its source and detail-type. The cost is one more hop per event.
"""

from __future__ import annotations

import re

from aws_cdk import Aws, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sqs as sqs
from constructs import Construct

PARTNER_EVENT_SOURCE_CONTEXT = "salesforce_partner_event_source"
_PARTNER_EVENT_SOURCE = re.compile(r"aws\.partner/salesforce\.com/[A-Za-z0-9]+/[A-Za-z0-9]+")


def salesforce_partner_event_source(scope: Construct) -> str | None:
    """The partner event source named in the app's context, checked; ``None`` when the relay is not set up."""
    value = scope.node.try_get_context(PARTNER_EVENT_SOURCE_CONTEXT)
    if value in (None, ""):
        return None
    name = str(value).strip()
    if not _PARTNER_EVENT_SOURCE.fullmatch(name):
        raise ValueError(
            f"{PARTNER_EVENT_SOURCE_CONTEXT}={name!r}: expected the partner event source Salesforce created, "
            "aws.partner/salesforce.com/<org id>/<relay id> (EventBridge console, Partner event sources)"
        )
    return name


class SalesforceEventRelay(Construct):
    """The partner event bus for ``event_source_name`` and the rule forwarding its events to ``bus``.

    EventBridge needs a role to put events on another bus. The role trusts EventBridge only for rules on this
    partner bus in this account (the confused-deputy guard) and may put events on the business bus and nothing
    else. An event the business bus does not accept (after EventBridge's retries, up to a day) is parked in
    ``undelivered`` with every other undeliverable event, where an alarm waits for it.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        event_source_name: str,
        bus: events.IEventBus,
        undelivered: sqs.IQueue,
    ) -> None:
        super().__init__(scope, construct_id)
        self.partner_bus = events.EventBus(
            self,
            "PartnerBus",
            event_source_name=event_source_name,
            description="Salesforce Event Relay delivers here; every event is forwarded to the back-office bus",
        )
        self.role = iam.Role(
            self,
            "ForwardingRole",
            assumed_by=iam.ServicePrincipal(
                "events.amazonaws.com",
                conditions={
                    "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
                    # The rule's own ARN would be a cycle (the rule names this role): its bus's rules instead.
                    "ArnLike": {
                        "aws:SourceArn": Stack.of(self).format_arn(
                            service="events", resource="rule", resource_name=f"{event_source_name}/*"
                        )
                    },
                },
            ),
            description="EventBridge: forwards Salesforce Event Relay events to the back-office bus",
        )
        bus.grant_put_events_to(self.role)
        self.forward = events.Rule(
            self,
            "ForwardToBusinessBus",
            event_bus=self.partner_bus,
            description="Every Salesforce Event Relay event, forwarded to the back-office bus for its catalog rules",
            # Every event on a partner bus carries the partner source's name as its source.
            event_pattern=events.EventPattern(source=[event_source_name]),
        )
        self.forward.add_target(targets.EventBus(bus, role=self.role, dead_letter_queue=undelivered))
