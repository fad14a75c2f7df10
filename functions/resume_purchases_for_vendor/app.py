"""Lambda: the target of the rule on the vendor approval's outcomes (Vendor Approved, Vendor Rejected, Vendor
Onboarding Blocked): every purchase waiting for that vendor's onboarding is resumed once, with the outcome."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from backoffice import aws
from backoffice.audit import Actor, AuditTrail
from backoffice.models import CaseOutcome
from backoffice.purchasing.onboarding_wait import VENDOR_OUTCOMES, resume_waiting
from backoffice.purchasing.requests import WORKFLOW
from backoffice.purchasing.vendor_waits import VendorWaits
from backoffice.settings import Settings, from_env

logger = Logger()
tracer = Tracer()
ACTOR = Actor.system("resume_purchases_for_vendor")


class ResumeSettings(Settings):
    audit_table_name: str
    purchasing_table_name: str


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    own = from_env(ResumeSettings)
    detail_type = str(event.get("detail-type"))
    if detail_type not in VENDOR_OUTCOMES:
        raise ValueError(f"not a vendor onboarding outcome: {detail_type}")
    outcome = CaseOutcome.model_validate(event.get("detail") or {})
    audit = AuditTrail(own.audit_table_name)

    def said(case_id: str, output: Mapping[str, Any], resumed: bool) -> None:
        audit.append(
            case_id=case_id,
            workflow=WORKFLOW,
            step="wait for vendor onboarding",
            actor=ACTOR,
            action="vendor_onboarding.decided",
            outcome=str(output["outcome"]),
            reasons=[
                f"vendor case {outcome.case_id}: {detail_type}"
                + ("" if resumed else " (this purchase was resumed before: left alone)"),
                *output["reasons"],
            ],
            input=event,
            data={"vendor_case_id": outcome.case_id, "vendor_id": output["vendor_id"], "resumed": resumed},
        )

    # Each purchase's record goes on its trail before its execution goes on (``before_resume``).
    resumed = resume_waiting(
        detail_type,
        outcome,
        waits=VendorWaits(own.purchasing_table_name, aws.client("dynamodb")),
        sfn=aws.client("stepfunctions"),
        now=lambda: datetime.now(UTC),
        before_resume=lambda case_id, output: said(case_id, output, True),
    )
    if resumed["vendor_key"] is None:
        # A vendor onboarding procurement asked for itself: no purchase waits for it.
        return {"status": "ignored", "case_id": outcome.case_id}
    if resumed.get("ignored"):
        # Not the onboarding the purchases wait for (an earlier one, or another vendor's): said on its trail.
        audit.append(
            case_id=outcome.case_id,
            workflow=WORKFLOW,
            step="resume purchases for vendor",
            actor=ACTOR,
            action="vendor_onboarding.ignored",
            outcome="ignored",
            reasons=[resumed["ignored"], "no purchase was resumed"],
            input=event,
            data={"vendor_case_id": outcome.case_id, "vendor_key": resumed["vendor_key"]},
        )
        return {"status": "ignored", "case_id": outcome.case_id, "reasons": [resumed["ignored"]]}
    for case_id in resumed["already"]:
        said(case_id, resumed["outcome"], False)
    logger.info(
        "vendor outcome for purchases",
        extra={"vendor_case": outcome.case_id, "resumed": len(resumed["resumed"])},
    )
    return {"status": "ingested", "case_id": outcome.case_id, "resumed": resumed["resumed"]}
