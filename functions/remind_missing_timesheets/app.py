"""Lambda: workers missing or short on a week's timesheet reminded, then escalated to their manager, and a summary
to each practice lead (``backoffice.time_expense.reminders``).

The schedule runs it every working day: each run chases the weeks due by then (a reminder on the first run after
the due time, an escalation on the first run after the escalation delay). An operator runs a week now with
``backoffice timesheets remind --week 2026-11-02 [--as-of TIME] --as EMAIL``; ``as_of`` is never later than now,
so nobody is escalated early. Running again sends nothing twice.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import AwareDatetime

from backoffice.audit import Actor
from backoffice.models.envelope import Model
from backoffice.time_expense.reminder_wiring import reminder_run_from_env

logger = Logger()
tracer = Tracer()


class RemindRequest(Model):
    """What the scheduler sends (``{"schedule": name}``: the weeks due now) or an operator's invoke."""

    week: date | None = None
    as_of: AwareDatetime | None = None
    requested_by: str | None = None
    schedule: str | None = None
    source: str | None = None


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = RemindRequest.model_validate(event or {})
    now = datetime.now(UTC)
    as_of = min(request.as_of, now) if request.as_of else now
    run = reminder_run_from_env()
    if request.requested_by:
        run.actor = Actor.user(request.requested_by)
    why = (
        f"requested by {request.requested_by} as of {as_of.isoformat()}"
        if request.requested_by
        else f"daily schedule as of {as_of.isoformat()}"
    )
    result = run.run(as_of, week_start=request.week, why=why)
    logger.info(
        "timesheets chased",
        extra={
            "weeks": [(w["week_start"], len(w["reminded"]), len(w["escalated"])) for w in result["weeks"]]
        },
    )
    return result
