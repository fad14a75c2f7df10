"""Lambda: weekly review step 'Score the submission': a week's time or an expense report read from the PSA,
validated, scored by the one scorer against the 90 days before, and its route planned (the policy approves the
clean lines; the scorer's review lines go to the project manager and, for expenses, the expense approver)."""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from backoffice import aws
from backoffice.approvals.policy import ApprovalPolicyMissing, load_policy
from backoffice.audit import Actor
from backoffice.connectors import wiring
from backoffice.firm_settings import firm_policy
from backoffice.invoicing.steps import anomaly_policy
from backoffice.models import ExpenseReportSubmitted, TimesheetSubmitted, parse_event
from backoffice.steps import Step, settings
from backoffice.time_expense.policy import TimeExpensePolicy
from backoffice.time_expense.review import WORKFLOW, read_and_score
from backoffice.time_expense.step_inputs import ScoreSubmissionInput

logger = Logger()
tracer = Tracer()
STEP = Step(WORKFLOW, "score the submission", Actor.system("score_time_expense_submission"))
INPUT_MODEL = ScoreSubmissionInput


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
@STEP.calls_systems
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    payload = INPUT_MODEL.model_validate(event)
    _, detail = parse_event(payload.event)
    if not isinstance(detail, TimesheetSubmitted | ExpenseReportSubmitted):
        raise TypeError("the weekly review takes Timesheet Submitted and Expense Report Submitted events")
    try:
        approval_policy = load_policy()
    except ApprovalPolicyMissing:
        approval_policy = None  # the managers the projects name still decide; no fallback group
    try:
        result = read_and_score(
            detail,
            case_id=payload.case_id,
            execution_arn=payload.execution_arn,
            psa=wiring.psa(),
            hris=wiring.hris(),
            anomaly_policy=anomaly_policy(os.environ),
            policy=firm_policy("time_expense_review", TimeExpensePolicy),
            approval_policy=approval_policy,
            s3=aws.client("s3"),
            bucket=settings().documents_bucket_name,
        )
    except Exception as error:
        STEP.failed(event, error, "lines.scored")
        raise
    submitted = result.pop("submitted")
    scored = result.pop("scored")
    STEP.record(
        event,
        action=f"{result['kind']}.submitted",
        outcome="received",
        reasons=[
            f"{result['lines']} submitted line(s) to review"
            + (f"; {len(result['already_decided'])} decided before" if result["already_decided"] else ""),
            *result["problems"],
        ],
        data=submitted,
    )
    STEP.record(
        event,
        action="lines.scored",
        outcome="recommendation",
        reasons=[
            f"{scored['lines_flagged']} of {scored['lines_scored']} line(s) flagged by the anomaly scorer, "
            f"{scored['lines_to_review']} sent to a person; history: {scored['history_lines']} line(s); "
            "the scorer decides nothing",
            f"route: {result['clean']} clean, {result['to_review']} to review",
            *(f"{rule}: {count} reason(s)" for rule, count in scored["by_rule"].items()),
        ],
        data=scored,
    )
    logger.info("submission scored", extra={"case_id": payload.case_id, "status": result["status"]})
    return result
