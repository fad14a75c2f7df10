"""Lambda: weekly review steps 'Approve the clean lines' and 'Settle the line review': a decision carried into the
PSA (approved, or sent back to the worker with the reason and an e-mail), the audit trail and the decisions store
the month-end billing run reads."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from backoffice import aws
from backoffice.approvals.adapters import SesMailer
from backoffice.audit import Actor
from backoffice.connectors import wiring
from backoffice.settings import Settings, from_env
from backoffice.steps import Step, settings
from backoffice.time_expense.decisions import DecisionStore
from backoffice.time_expense.review import WORKFLOW, Plan, decide_lines
from backoffice.time_expense.step_inputs import DecideLinesInput

logger = Logger()
tracer = Tracer()
STEP = Step(WORKFLOW, "decide the lines", Actor.system("decide_time_expense_lines"))
INPUT_MODEL = DecideLinesInput


class DecideSettings(Settings):
    time_expense_table_name: str
    approvals_sender: str
    mail_configuration_set: str | None = None


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
@STEP.calls_systems
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    payload = INPUT_MODEL.model_validate(event)
    own = from_env(DecideSettings)
    try:
        decided = decide_lines(
            Plan.read(aws.client("s3"), settings().documents_bucket_name, payload.plan_key),
            payload.which,
            payload.decision,
            decided_by=payload.decided_by,
            comments=payload.comments,
            psa=wiring.psa(),
            approvals_psa=wiring.time_expense_psa(),
            store=DecisionStore(own.time_expense_table_name, aws.client("dynamodb")),
            mailer=SesMailer(aws.client("ses"), own.approvals_sender, own.mail_configuration_set),
            now=lambda: datetime.now(UTC),
        )
    except Exception as error:
        STEP.failed(event, error, f"lines.{payload.decision}")
        raise
    lines = len(decided["time_entry_ids"]) + len(decided["expense_ids"])
    data = {
        "time_entry_ids": decided["time_entry_ids"],
        "expense_ids": decided["expense_ids"],
        "by": decided["by"],
    }
    if payload.decision == "approved":
        STEP.record(
            event,
            action="lines.approved",
            outcome="approved",
            reasons=[
                f"{lines} {payload.which} line(s) approved in the PSA by {decided['by']}"
                + (f" ({decided['reason']})" if decided["reason"] else "")
            ],
            data=data,
        )
    else:
        STEP.record(
            event,
            action="lines.rejected",
            outcome="sent_back",
            reasons=[
                f"{lines} line(s) sent back to the worker: {decided['reason']}",
                "the worker was mailed" if decided["mailed"] else "the worker has no e-mail: not mailed",
            ],
            data={**data, "reason": decided["reason"], "back_to": "worker", "mailed": decided["mailed"]},
        )
    return {k: decided[k] for k in ("decision", "which", "by", "mailed", "written")} | {"lines": lines}
