"""Lambda: Salesforce Opportunity events (Event Relay) in, the canonical Opportunity Closed Won event out."""

from __future__ import annotations

import json
import os
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from backoffice import aws
from backoffice.audit import Actor, AuditTrail
from backoffice.connectors import wiring
from backoffice.onboarding.ingest import closed_won_details

logger = Logger()
tracer = Tracer()
ACTOR = Actor.system("ingest_salesforce_event")


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    audit = AuditTrail(os.environ["AUDIT_TABLE_NAME"])
    published = []
    for decision in closed_won_details(event, wiring.crm()):
        case_id = f"onboard-{decision.opportunity_id}"
        if decision.detail is None:
            audit.append(
                case_id=case_id,
                workflow="onboarding",
                step="ingest Salesforce event",
                actor=ACTOR,
                action="crm_event.ignored",
                outcome="ignored",
                reasons=[decision.reason],
                input=event,
                data={"event_id": event.get("id"), "detail_type": event.get("detail-type")},
            )
            continue
        response = aws.client("events").put_events(
            Entries=[
                {
                    "EventBusName": os.environ["EVENT_BUS_NAME"],
                    "Source": "crm.salesforce",
                    "DetailType": "Opportunity Closed Won",
                    "Detail": json.dumps(decision.detail),
                    "Resources": [f"salesforce:Opportunity/{decision.opportunity_id}"],
                }
            ]
        )
        if response.get("FailedEntryCount"):
            raise RuntimeError(
                f"the bus refused the canonical event: {response['Entries'][0].get('ErrorCode')}"
            )
        audit.append(
            case_id=case_id,
            workflow="onboarding",
            step="ingest Salesforce event",
            actor=ACTOR,
            action="crm_event.ingested",
            outcome="published",
            reasons=[decision.reason],
            input=event,
            output={"event_id": response["Entries"][0]["EventId"]},
            data={"event_id": event.get("id"), "detail_type": event.get("detail-type")},
        )
        published.append(decision.opportunity_id)
    logger.info("salesforce event ingested", extra={"published": len(published)})
    return {"published": published}
