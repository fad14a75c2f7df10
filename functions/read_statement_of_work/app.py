"""Lambda: onboarding step 'Read statement of work': the SOW's facts, kept in S3 under the case."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from backoffice import aws
from backoffice.audit import Actor
from backoffice.onboarding.sow_documents import sow_problems
from backoffice.onboarding.steps import (
    StatementOfWorkUnreadable,
    facts_summary,
    read_statement_of_work,
    store_facts,
)
from backoffice.steps import Step, settings

logger = Logger()
tracer = Tracer()
# Extraction is machine output: recorded as such, checked by rules, and decided on by people where it matters.
STEP = Step("onboarding", "read statement of work", Actor.system("read_statement_of_work:pypdf"))


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    document = event["document"]
    s3 = aws.client("s3")
    request: dict[str, Any] = {"Bucket": document["bucket"], "Key": document["key"]}
    if document.get("version_id"):
        request["VersionId"] = document["version_id"]
    try:
        facts = read_statement_of_work(s3.get_object(**request)["Body"].read())
        problems = sow_problems(facts)
        if problems:
            raise StatementOfWorkUnreadable("the SOW lacks what a project needs: " + "; ".join(problems))
    except StatementOfWorkUnreadable as error:
        STEP.failed(event, error, "sow.read")
        raise
    key = store_facts(s3, settings().documents_bucket_name, event["case_id"], facts)
    summary = facts_summary(facts)
    STEP.record(event, action="sow.read", outcome="read", output=summary, data=summary)
    return {"facts_key": key, "summary": summary}
