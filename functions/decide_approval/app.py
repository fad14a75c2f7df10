"""Lambda behind API Gateway: the decision endpoint of approval links.

GET and HEAD render the confirmation page and never decide (mail scanners and link previews open every link);
a POST from that page, carrying its CSRF token and the approver's e-mail, decides once. Link ids are never logged.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import parse_qs

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from backoffice import metrics
from backoffice.approvals import pages
from backoffice.approvals.service import ClientInfo, Page
from backoffice.approvals.wiring import approvals_from_env

logger = Logger()
tracer = Tracer()
app = APIGatewayRestResolver()


def _client(method: str, approver: str | None = None) -> ClientInfo:
    event = app.current_event
    headers = {k.lower(): v for k, v in (event.headers or {}).items()}
    channel: Literal["email", "cli"] = "cli" if headers.get("x-backoffice-channel") == "cli" else "email"
    return ClientInfo(
        method=method,
        ip=event.request_context.identity.source_ip,
        user_agent=headers.get("user-agent"),
        channel=channel,
        claimed_approver=approver,
    )


def _respond(page: Page, method: str, action_hint: str | None = None) -> Response[str]:
    body = "" if method == "HEAD" else pages.render(page, action_hint=action_hint)
    return Response(status_code=page.status, headers=dict(pages.SECURITY_HEADERS), body=body)


@app.route("/approvals/<link_id>", method=["GET", "HEAD"])
def show(link_id: str) -> Response[str]:
    method = app.current_event.http_method
    page = approvals_from_env().view(link_id, client=_client(method))
    action = (app.current_event.query_string_parameters or {}).get("action")
    logger.info("approval page shown", extra={"page": page.kind, "status": page.status})
    return _respond(page, method, action_hint=action)


@app.post("/approvals/<link_id>")
def decide(link_id: str) -> Response[str]:
    form = {k: v[0] for k, v in parse_qs(app.current_event.decoded_body or "").items()}
    approver = form.get("approver", "")
    page = approvals_from_env().decide(
        link_id,
        decision=form.get("decision", ""),
        approver=approver,
        csrf=form.get("csrf"),
        comment=form.get("comment", ""),
        client=_client("POST", approver or None),
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
    return app.resolve(event, context)
