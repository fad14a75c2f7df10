"""Lambda behind API Gateway: the vendor's upload page. GET shows the form; a POST with its token uploads once."""

from __future__ import annotations

import base64
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from backoffice.approvals import pages
from backoffice.vendors.uploads import UploadPage, render, uploads_from_env

logger = Logger()
tracer = Tracer()
app = APIGatewayRestResolver()


uploads = uploads_from_env


def _respond(page: UploadPage, method: str) -> Response[str]:
    body = "" if method == "HEAD" else render(page)
    return Response(status_code=page.status, headers=dict(pages.SECURITY_HEADERS), body=body)


@app.route("/uploads/<link_id>", method=["GET", "HEAD"])
def show(link_id: str) -> Response[str]:
    return _respond(uploads().view(link_id), app.current_event.http_method)


@app.post("/uploads/<link_id>")
def upload(link_id: str) -> Response[str]:
    event = app.current_event
    raw = event.body or ""
    body = base64.b64decode(raw) if event.is_base64_encoded else raw.encode("latin-1", "replace")
    headers = {k.lower(): v for k, v in (event.headers or {}).items()}
    page = uploads().receive(
        link_id,
        headers.get("content-type", ""),
        body,
        ip=event.request_context.identity.source_ip,
        user_agent=headers.get("user-agent"),
    )
    logger.info("vendor upload handled", extra={"page": page.kind, "status": page.status})
    return _respond(page, "POST")


@logger.inject_lambda_context(log_event=False)  # the body holds tax ids and bank details: never log it
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
