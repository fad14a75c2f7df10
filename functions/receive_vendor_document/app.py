"""Lambda behind API Gateway: the vendor's upload page. GET shows one S3 upload form per missing document; a POST
with the page's token (a small form, the documents are already in S3) checks them and resumes the case once."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
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
app = APIGatewayRestResolver()


uploads = uploads_from_env


def _respond(page: UploadPage, method: str) -> Response[str]:
    body = "" if method == "HEAD" else render(page)
    return Response(status_code=page.status, headers=response_headers(page), body=body)


@app.route("/uploads/<link_id>", method=["GET", "HEAD"])
def show(link_id: str) -> Response[str]:
    return _respond(uploads().view(link_id), app.current_event.http_method)


@app.post("/uploads/<link_id>")
def confirm(link_id: str) -> Response[str]:
    event = app.current_event
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
    return app.resolve(event, context)
