"""Lambda: vendor step 'Assess vendor': checks, sanctions screening, duplicates, risk with reasons.

A request for a vendor the firm already pays (same TIN) with a different bank account is not a duplicate to reject
and never a silent update: it becomes a bank change to verify.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from backoffice import aws
from backoffice.audit import Actor
from backoffice.connectors import wiring
from backoffice.connectors.ports import all_pages
from backoffice.steps import Step, settings
from backoffice.vendors.step_inputs import ApplicationStepInput
from backoffice.vendors.steps import approval_subject, assessed, bank_change, load_application

logger = Logger()
tracer = Tracer()
STEP = Step("vendor_approval", "assess vendor", Actor.system("assess_vendor"))
INPUT_MODEL = ApplicationStepInput


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
@STEP.calls_systems
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    payload = INPUT_MODEL.model_validate(event)
    application = load_application(
        aws.client("s3"), settings().documents_bucket_name, payload.application_key
    )
    vendors = all_pages(wiring.erp().list_vendors)
    assessment = assessed(application, vendors, wiring.hris())
    subject = approval_subject(application, assessment)
    risk = assessment.risk
    next_step: str = risk.next_step
    summary = "; ".join(risk.blockers or subject["reasons"][:3]) or f"{risk.level} risk"
    change = bank_change(application, assessment, vendors)
    if change is not None:
        next_step = "bank_change_verification"
        subject["title"] = f"Bank account change: {change['vendor_name']} ({change['vendor_id']})"
        subject["existing_vendor_id"] = change["vendor_id"]
        subject["reasons"] = [
            f"existing vendor {change['vendor_id']} (same TIN) asks to be paid into account {change['new_account']} "
            f"instead of {change['old_account']}",
            "verify by calling the vendor back on the phone number on file, not one from the request",
            *subject["reasons"],
        ]
        summary = subject["reasons"][0]
    STEP.record(
        event,
        action="vendor.assessed",
        outcome=next_step,
        reasons=subject["reasons"],
        output={"next_step": next_step, "level": risk.level, "score": risk.score},
        data={
            "level": risk.level,
            "score": risk.score,
            "duplicate_of": risk.duplicate_of,
            # Which list the screen used: a clearance is only as good as the list it was made against.
            "sanctions_list": assessment.screening.list_version,
            "sanctions_list_digest": assessment.screening.list_digest,
        },
    )
    return {
        "next_step": next_step,
        "level": risk.level,
        "score": risk.score,
        "summary": summary,
        "approval_subject": subject,
    }
