"""Lambda behind API Gateway: the vendor's upload page. GET shows one S3 upload form per missing document; a POST
with the page's token (a small form, the documents are already in S3) checks them and resumes the case once.

The event is parsed per call and passed along, not read back from Powertools' ``APIGatewayRestResolver``: the
resolver keeps the current event in a class attribute shared by every resolver in the process, and the local runtime
runs concurrent requests as threads of one process, so one vendor's confirmation could be read as another's.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent
from aws_lambda_powertools.utilities.typing import LambdaContext

from backoffice.vendors.uploads import (
    UploadPage,
    confirmation_fields,
    render,
    response_headers,
    uploads_from_env,
)

logger = Logger()
tracer = Tracer()


uploads = uploads_from_env


def _respond(page: UploadPage, method: str) -> dict[str, Any]:
    body = "" if method == "HEAD" else render(page)
    return {
        "statusCode": page.status,
        "headers": response_headers(page),
        "body": body,
        "isBase64Encoded": False,
    }


def show(event: APIGatewayProxyEvent, link_id: str) -> dict[str, Any]:
    return _respond(uploads().view(link_id), event.http_method.upper())


def confirm(event: APIGatewayProxyEvent, link_id: str) -> dict[str, Any]:
    headers = {k.lower(): v for k, v in (event.headers or {}).items()}
    content_type = headers.get("content-type", "")
    page = uploads().confirm(
        link_id,
        confirmation_fields(content_type, event.decoded_body or ""),
        ip=event.request_context.identity.source_ip,
        user_agent=headers.get("user-agent"),
        content_type=content_type,
    )
    logger.info("vendor upload confirmation handled", extra={"page": page.kind, "status": page.status})
    return _respond(page, "POST")


@logger.inject_lambda_context(log_event=False)  # the event holds the link id: never log it
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = APIGatewayProxyEvent(event)
    link_id = (request.path_parameters or {}).get("link_id")
    method = request.http_method.upper()
    if link_id is not None and method in ("GET", "HEAD"):
        return show(request, link_id)
    if link_id is not None and method == "POST":
        return confirm(request, link_id)
    # What the resolver answered to a route it did not have (API Gateway sends only GET, HEAD and POST here)
    return {
        "statusCode": 404,
        "headers": {"Content-Type": "application/json"},
        "body": '{"statusCode":404,"message":"Not found"}',
        "isBase64Encoded": False,
    }
