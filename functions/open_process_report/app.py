"""Lambda behind API Gateway: a process owner's report link. A live link answers 303 to a short-lived presigned
GET of the report it was mailed for; an unknown or expired one answers a page that says so. Link ids are never
logged (backoffice.reports.links)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent
from aws_lambda_powertools.utilities.typing import LambdaContext

from backoffice.approvals.pages import SECURITY_HEADERS
from backoffice.reports.links import page
from backoffice.reports.wiring import opener_from_env

logger = Logger()
tracer = Tracer()


@logger.inject_lambda_context(log_event=False)  # the path holds the link id: never log the event
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = APIGatewayProxyEvent(event)
    method = request.http_method.upper()
    if method not in ("GET", "HEAD"):
        return {"statusCode": 405, "headers": {"Allow": "GET, HEAD"}, "body": "", "isBase64Encoded": False}
    headers = {k.lower(): v for k, v in (request.headers or {}).items()}
    answer = opener_from_env().open(
        (request.path_parameters or {}).get("link_id", ""),
        method=method,
        ip=request.request_context.identity.source_ip,
        user_agent=headers.get("user-agent"),
    )
    logger.info("report link followed", extra={"answer": answer.kind, "status": answer.status})
    if answer.location is not None:
        redirect = {k: v for k, v in SECURITY_HEADERS.items() if k in ("Cache-Control", "Referrer-Policy")}
        return {
            "statusCode": answer.status,
            "headers": {**redirect, "Location": answer.location},
            "body": "",
            "isBase64Encoded": False,
        }
    body = "" if method == "HEAD" else page(answer)
    return {
        "statusCode": answer.status,
        "headers": dict(SECURITY_HEADERS),
        "body": body,
        "isBase64Encoded": False,
    }
