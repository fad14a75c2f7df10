"""Lambda: invoicing step 'Check project billing': BR1 to BR10 and the anomaly scores decide what the project's
invoice needs (nothing, a person's review, or a fix before it can go out)."""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from backoffice import aws, metrics
from backoffice.assist.models import AssistCase
from backoffice.assist.wiring import assistant
from backoffice.audit import Actor, AuditTrail
from backoffice.connectors import wiring
from backoffice.invoicing.step_inputs import ProjectStepInput
from backoffice.invoicing.steps import BillingFiles, billing_policy, check_project
from backoffice.steps import Step, settings

logger = Logger()
tracer = Tracer()
STEP = Step("invoicing", "check project billing", Actor.system("check_project_billing"))
INPUT_MODEL = ProjectStepInput


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
@STEP.calls_systems
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    payload = INPUT_MODEL.model_validate(event)
    files = BillingFiles(aws.client("s3"), settings().documents_bucket_name, payload.run_case_id)
    # The exception reviewer gets the top flagged lines' reasons in plain words (the assistant's, audited here).
    case = AssistCase(
        case_id=payload.case_id, workflow=STEP.workflow, step=STEP.name, execution_arn=payload.execution_arn
    )
    explainer = assistant("anomaly_explanation", case, trail=AuditTrail(settings().audit_table_name))
    try:
        checked = check_project(
            payload.project_id,
            files,
            wiring.psa(),
            wiring.erp(),
            billing_policy(os.environ),
            explain=explainer.explain_anomalies,
        )
    except Exception as error:
        STEP.failed(event, error, "billing.checked")
        raise
    STEP.record(
        event,
        action="billing.checked",
        outcome=checked["status"],
        reasons=[*checked["reasons"], *checked.get("warnings", [])],
        output={k: v for k, v in checked.items() if k != "subject"},
        data={
            "project_id": payload.project_id,
            "lines_to_review": checked.get("lines_to_review", 0),
            "lines_excluded": checked.get("lines_excluded", 0),
            "exceptions_by_rule": checked["exceptions_by_rule"],
        },
    )
    for rule, count in checked["exceptions_by_rule"].items():
        metrics.record("BillingExceptions", count, workflow="invoicing", rule=rule)
    return checked
