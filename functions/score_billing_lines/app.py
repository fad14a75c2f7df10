"""Lambda: invoicing step 'Score every line': the anomaly scorer (TE1 to TE11) over the whole period.

The scores recommend: they send lines to a person, never decide. The scorer's output is kept in S3 with the
policy it ran with and summarized in the audit trail as an AI output.
"""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from backoffice import aws, metrics
from backoffice.audit import Actor
from backoffice.connectors import wiring
from backoffice.invoicing.step_inputs import ScoreBillingLinesInput
from backoffice.invoicing.steps import BillingFiles, anomaly_policy, score_period
from backoffice.steps import Step, settings

logger = Logger()
tracer = Tracer()
STEP = Step("invoicing", "score every line", Actor.system("score_billing_lines"))
INPUT_MODEL = ScoreBillingLinesInput


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
@STEP.calls_systems
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    case_id = INPUT_MODEL.model_validate(event).case_id
    files = BillingFiles(aws.client("s3"), settings().documents_bucket_name, case_id)
    try:
        scored = score_period(files, wiring.psa(), anomaly_policy(os.environ))
    except Exception as error:
        STEP.failed(event, error, "lines.scored")
        raise
    model = scored["signal_model"]
    STEP.record(
        event,
        action="lines.scored",
        outcome="recommendation",
        reasons=[
            f"{scored['lines_flagged']} of {scored['lines_scored']} line(s) flagged by the anomaly scorer, "
            f"{scored['lines_to_review']} sent to a person (every policy violation, and signals at or above "
            f"{model['review_threshold']:.3f}, the threshold of the signal model ({model['trained_on']}, "
            f"{model['trained_at']}) for a precision of {model['target_precision']:.0%}); history: "
            f"{scored['history_lines']} line(s); the scorer decides nothing",
            scored["benford"],
            *(f"{rule}: {count} reason(s)" for rule, count in scored["by_rule"].items()),
        ],
        data=scored,
    )
    metrics.record("LinesScored", scored["lines_scored"], workflow="invoicing")
    metrics.record("LinesFlagged", scored["lines_flagged"], workflow="invoicing")
    metrics.record("LinesSentToReview", scored["lines_to_review"], workflow="invoicing")
    return scored
