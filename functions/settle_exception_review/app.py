"""Lambda: invoicing step 'Settle exception review': approved lines bill; rejected ones go back to the worker or
are written off, as the billing policy says."""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from backoffice import aws
from backoffice.anomaly.labels import ReviewLabels
from backoffice.audit import Actor
from backoffice.connectors import wiring
from backoffice.delivery.policy import DeliveryPolicy
from backoffice.firm_settings import firm_policy
from backoffice.invoicing.step_inputs import SettleExceptionReviewInput
from backoffice.invoicing.steps import BillingFiles, billing_policy, settle_review
from backoffice.steps import Step, settings

logger = Logger()
tracer = Tracer()
STEP = Step("invoicing", "settle exception review", Actor.system("settle_exception_review"))
INPUT_MODEL = SettleExceptionReviewInput


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
@STEP.calls_systems
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    payload = INPUT_MODEL.model_validate(event)
    s3, bucket = aws.client("s3"), settings().documents_bucket_name
    files = BillingFiles(s3, bucket, payload.run_case_id)
    comments = [str(c) for c in payload.comments or []]
    try:
        settled = settle_review(
            payload.project_id,
            payload.decision,
            "; ".join(comments) or None,
            files,
            wiring.psa(),
            billing_policy(os.environ),
            ReviewLabels(s3, bucket),
            # Written-off lines are valued in the firm's reporting currency (its delivery policy's rates).
            to_base=firm_policy("delivery_policy", DeliveryPolicy).to_base,
        )
    except Exception as error:
        STEP.failed(event, error, "exceptions.settled")
        raise
    written_off_lines = settled.pop("written_off_lines")  # on the trail; the state keeps the ids only
    reasons = []
    if settled["sent_back"]:
        reasons.append(
            f"{len(settled['sent_back'])} line(s) sent back to the worker: {', '.join(settled['sent_back'][:10])}"
        )
    if settled["written_off"]:
        reasons.append(
            f"{len(settled['written_off'])} line(s) written off: {', '.join(settled['written_off'][:10])}"
        )
    STEP.record(
        event,
        action="exceptions.settled",
        outcome=settled["decision"],
        reasons=reasons or ["the lines under review bill as recorded"],
        output=settled,
        # The reviewer's decisions on the lines the scorer sent, per rule: the process report's agreement figures.
        # And each written-off line with its rules and value: the margin leakage by rule (issue #20, R6).
        data={
            "period_start": settled["period_start"],
            "decisions_by_rule": settled["decisions_by_rule"],
            "written_off": written_off_lines,
            "written_off_base": settled["written_off_base"],
        },
    )
    return settled
