"""Lambda (.waitForTaskToken): e-mail the vendor contact an upload link for the missing documents."""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from backoffice import aws
from backoffice.approvals.adapters import SesMailer, StepFunctionsCallback
from backoffice.approvals.store import ApprovalStore
from backoffice.audit import AuditTrail
from backoffice.vendors.uploads import VendorUploads

logger = Logger()
tracer = Tracer()


def uploads() -> VendorUploads:
    return VendorUploads(
        store=ApprovalStore(os.environ["APPROVALS_TABLE_NAME"], aws.client("dynamodb")),
        audit=AuditTrail(os.environ["AUDIT_TABLE_NAME"]),
        mailer=SesMailer(aws.client("ses"), os.environ["APPROVALS_SENDER"]),
        callback=StepFunctionsCallback(aws.client("stepfunctions")),
        s3=aws.client("s3"),
        bucket=os.environ["DOCUMENTS_BUCKET_NAME"],
        base_url=os.environ["APPROVALS_BASE_URL"],
    )


@logger.inject_lambda_context(log_event=False)  # the event holds the task token: never log it
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    result = uploads().request(event)
    logger.info(
        "vendor documents requested", extra={"case_id": event["case_id"], "missing": result["requested"]}
    )
    return result
