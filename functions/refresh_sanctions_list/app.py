"""Lambda: the daily schedule (or ``backoffice sanctions refresh``) fetches OFAC's SDN files and makes them current.

A list that does not read, or shrank suspiciously, is refused and the previous one stays: the refusal is audited
and counted (``SanctionsListRefused`` pages). Every run reports the current list's age (``SanctionsListAgeDays``;
past 8 days, or a day with no run, pages), so a source that stays down is noticed before screening goes stale.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from backoffice import aws, metrics
from backoffice.audit import Actor, AuditTrail
from backoffice.models.envelope import Model
from backoffice.settings import AuditSettings, from_env
from backoffice.vendors.sanctions_lists import (
    SanctionsListStore,
    list_source,
    refresh_sanctions_list,
    sources_from_json,
)

logger = Logger()
tracer = Tracer()
ACTOR = Actor.system("refresh_sanctions_list")
WORKFLOW = "sanctions_list"  # one of audit.JOB_WORKFLOWS: the process report leaves these records out


class RefreshSettings(AuditSettings):
    sanctions_lists_bucket_name: str
    sanctions_sources: str = "{}"


class RefreshRequest(Model):
    """What the scheduler sends (``{"schedule": name}``) or an operator's invoke (``{"requested_by": email}``)."""

    schedule: str | None = None
    requested_by: str | None = None


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = RefreshRequest.model_validate(event or {})
    settings = from_env(RefreshSettings)
    sources = sources_from_json(settings.sanctions_sources)
    result = refresh_sanctions_list(
        list_source(sources),
        SanctionsListStore(aws.client("s3"), settings.sanctions_lists_bucket_name),
        now=lambda: datetime.now(UTC),
        max_shrink=sources.max_shrink,
    )
    why = (
        f"schedule {request.schedule}"
        if request.schedule
        else f"requested by {request.requested_by or 'an operator'}"
    )
    AuditTrail(settings.audit_table_name).append(
        case_id=f"sanctions-list-{datetime.now(UTC):%Y-%m}",
        workflow=WORKFLOW,
        step="refresh sanctions list",
        actor=Actor.user(request.requested_by) if request.requested_by else ACTOR,
        action=f"sanctions_list.{result.outcome}",
        outcome=result.outcome,
        reasons=[why, *result.reasons],
        input={"source": sources.source, "urls": sources.urls if sources.source == "ofac" else {}},
        output=result.model_dump(mode="json"),
        data=result.model_dump(mode="json", exclude={"reasons"}),
    )
    if result.outcome in ("refused", "unavailable"):
        logger.error("sanctions list not refreshed", extra=result.model_dump(mode="json"))
    else:
        logger.info("sanctions list refreshed", extra=result.model_dump(mode="json"))
    if result.outcome == "refused":
        metrics.record("SanctionsListRefused", 1, workflow=WORKFLOW)
    if result.age_days is not None:
        metrics.record("SanctionsListAgeDays", result.age_days, unit=MetricUnit.Count, workflow=WORKFLOW)
    return result.model_dump(mode="json")
