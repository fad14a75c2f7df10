"""Lambda behind API Gateway: the decision endpoint of approval links.

GET and HEAD render the confirmation page and never decide (mail scanners and link previews open every link);
a POST from that page, carrying its CSRF token and the approver's e-mail, decides once. A POST whose body is not a
form (``text/plain`` is what a cross-site form sends without a preflight) is refused. Link ids are never logged.

The event is parsed per call and passed along, not read back from Powertools' ``APIGatewayRestResolver``: the
resolver keeps the current event in a class attribute shared by every resolver in the process, and the local runtime
runs concurrent invocations as threads of one process; concurrent decisions are what this endpoint must get right.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email import policy
from email.parser import BytesParser
from typing import Any, Literal
from urllib.parse import parse_qs

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent
from aws_lambda_powertools.utilities.typing import LambdaContext

from backoffice import metrics
from backoffice.approvals import pages
from backoffice.approvals.page_model import Page
from backoffice.approvals.service import FORM_MEDIA_TYPES, ClientInfo
from backoffice.approvals.wiring import approvals_from_env

logger = Logger()
tracer = Tracer()


def _client(event: APIGatewayProxyEvent, method: str, approver: str | None = None) -> ClientInfo:
    headers = {k.lower(): v for k, v in (event.headers or {}).items()}
    channel: Literal["email", "cli"] = "cli" if headers.get("x-backoffice-channel") == "cli" else "email"
    return ClientInfo(
        method=method,
        ip=event.request_context.identity.source_ip,
        user_agent=headers.get("user-agent"),
        channel=channel,
        claimed_approver=approver,
    )


def _respond(page: Page, method: str, action_hint: str | None = None) -> dict[str, Any]:
    body = "" if method == "HEAD" else pages.render(page, action_hint=action_hint)
    return {
        "statusCode": page.status,
        "headers": dict(pages.SECURITY_HEADERS),
        "body": body,
        "isBase64Encoded": False,
    }


def show(event: APIGatewayProxyEvent, link_id: str) -> dict[str, Any]:
    method = event.http_method
    page = approvals_from_env().view(link_id, client=_client(event, method))
    action = (event.query_string_parameters or {}).get("action")
    logger.info("approval page shown", extra={"page": page.kind, "status": page.status})
    return _respond(page, method, action_hint=action)


def _form(event: APIGatewayProxyEvent) -> tuple[str, dict[str, str] | None]:
    """The media type of the POST and its fields, or None for a body that is not a form."""
    content_type = next((v for k, v in (event.headers or {}).items() if k.lower() == "content-type"), "")
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type not in FORM_MEDIA_TYPES:
        return media_type, None
    body = event.decoded_body or ""
    if media_type == "application/x-www-form-urlencoded":
        return media_type, {k: v[0] for k, v in parse_qs(body).items()}
    message = BytesParser(policy=policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body.encode()
    )
    fields: dict[str, str] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if isinstance(name, str) and part.get_filename() is None:
            # Browsers send form fields as UTF-8 and say no charset: decode the raw bytes, not as ASCII.
            raw = part.get_payload(decode=True)
            fields.setdefault(name, raw.decode("utf-8", "replace") if isinstance(raw, bytes) else "")
    return media_type, fields


def decide(event: APIGatewayProxyEvent, link_id: str) -> dict[str, Any]:
    media_type, form = _form(event)
    if form is None:
        page = approvals_from_env().refuse_form(link_id, media_type=media_type, client=_client(event, "POST"))
        logger.info("approval decision refused: not a form", extra={"status": page.status})
        return _respond(page, "POST")
    approver = form.get("approver", "")
    page = approvals_from_env().decide(
        link_id,
        decision=form.get("decision", ""),
        approver=approver,
        csrf=form.get("csrf"),
        comment=form.get("comment", ""),
        client=_client(event, "POST", approver or None),
        resolution=form.get("resolution", ""),
    )
    if page.kind in ("decided", "recorded") and page.request is not None:
        waited = datetime.now(UTC) - datetime.fromisoformat(page.request.created_at)
        metrics.record(
            "ApprovalTurnaround",
            waited.total_seconds(),
            unit=MetricUnit.Seconds,
            workflow=page.request.workflow,
            step=page.request.step,
        )
    logger.info("approval decision handled", extra={"page": page.kind, "status": page.status})
    return _respond(page, "POST")


@logger.inject_lambda_context(log_event=False)  # the path holds the link id: never log the event
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = APIGatewayProxyEvent(event)
    link_id = (request.path_parameters or {}).get("link_id", "")
    if request.http_method in ("GET", "HEAD"):
        return show(request, link_id)
    if request.http_method == "POST":
        return decide(request, link_id)
    return {"statusCode": 405, "headers": {"Allow": "GET, HEAD, POST"}, "body": "", "isBase64Encoded": False}
