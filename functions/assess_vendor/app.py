"""Lambda: vendor step 'Assess vendor': checks, sanctions screening, duplicates, risk with reasons."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from backoffice import aws
from backoffice.audit import Actor
from backoffice.connectors import wiring
from backoffice.steps import Step, settings
from backoffice.vendors.steps import approval_subject, assess, load_application

logger = Logger()
tracer = Tracer()
STEP = Step("vendor_approval", "assess vendor", Actor.system("assess_vendor"))


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
@STEP.calls_systems
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    application = load_application(
        aws.client("s3"), settings().documents_bucket_name, event["application_key"]
    )
    assessment = assess(application, wiring.erp(), wiring.hris())
    subject = approval_subject(application, assessment)
    risk = assessment.risk
    summary = "; ".join(risk.blockers or subject["reasons"][:3]) or f"{risk.level} risk"
    STEP.record(
        event,
        action="vendor.assessed",
        outcome=risk.next_step,
        reasons=subject["reasons"],
        output={"next_step": risk.next_step, "level": risk.level, "score": risk.score},
        data={"level": risk.level, "score": risk.score, "duplicate_of": risk.duplicate_of},
    )
    return {
        "next_step": risk.next_step,
        "level": risk.level,
        "score": risk.score,
        "summary": summary,
        "approval_subject": subject,
    }
