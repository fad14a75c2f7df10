"""A PSA without EventBridge posts its submissions to the product's webhook: the firm's mapping turns them into the
canonical ``Timesheet Submitted`` and ``Expense Report Submitted`` events, validated against their models before
they go on the bus (the rules then start the weekly review as for the PSA's own events)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from backoffice.connectors.webhooks import WebhookRefused, WebhookSource, receive, sign
from backoffice.models import ExpenseReportSubmitted, TimesheetSubmitted

SECRET = "whsec_psa_test_0001"
NOW = 1_780_000_000.0
# A PSA that posts {"id", "event", "payload": {...}}; each kind of submission is a sender of its own (one mapping
# per detail-type), under its own webhook path (/webhooks/psa_timesheets, /webhooks/psa_expense_reports).
TIMESHEETS = WebhookSource.model_validate(
    {
        "secret_name": "backoffice/webhooks/psa",
        "event_source": "psa.webhook",
        "event_id_path": "/id",
        "detail_type": "Timesheet Submitted",
        "detail": {
            "fields": {
                "worker_id": "payload.employee",
                "week_start": "payload.period.from",
                "week_end": "payload.period.to",
                "submitted_at": "payload.submitted",
                "submission_id": "payload.sheet",
            }
        },
    }
)
EXPENSE_REPORTS = WebhookSource.model_validate(
    {
        "secret_name": "backoffice/webhooks/psa",
        "event_source": "psa.webhook",
        "event_id_path": "/id",
        "detail_type": "Expense Report Submitted",
        "detail": {
            "fields": {
                "report_id": "payload.report",
                "worker_id": "payload.employee",
                "expense_ids": "payload.lines",
                "submitted_at": "payload.submitted",
            }
        },
    }
)


def delivery(event: str, payload: dict[str, Any], event_id: str = "evt_1") -> tuple[dict[str, str], bytes]:
    body = json.dumps({"id": event_id, "event": event, "payload": payload}).encode()
    ts = str(int(NOW))
    return {"X-Timestamp": ts, "X-Signature": sign(SECRET, body, timestamp=ts)}, body


def test_a_submitted_timesheet_becomes_the_canonical_event() -> None:
    # Given the PSA's signed delivery of a submitted week
    headers, body = delivery(
        "timesheet.submitted",
        {"employee": "W-005", "period": {"from": "2026-11-30", "to": "2026-12-06"},
         "submitted": "2026-12-04T17:30:00Z", "sheet": "TS-881"},
    )  # fmt: skip
    # When received
    accepted = receive(
        "psa_timesheets", TIMESHEETS, SECRET, headers, body, bus_name="backoffice", now=NOW + 5
    )
    # Then the bus gets a Timesheet Submitted the weekly review's rule takes
    assert accepted.detail_type == "Timesheet Submitted"
    detail = TimesheetSubmitted.model_validate_json(accepted.entry["Detail"])
    assert (detail.worker_id, detail.week_start.isoformat(), detail.submission_id) == (
        "W-005",
        "2026-11-30",
        "TS-881",
    )


def test_a_submitted_expense_report_becomes_the_canonical_event() -> None:
    headers, body = delivery(
        "expense_report.submitted",
        {
            "employee": "W-007",
            "report": "ER-7",
            "lines": ["EX-1", "EX-2"],
            "submitted": "2026-12-04T17:30:00Z",
        },
    )
    accepted = receive(
        "psa_expense_reports", EXPENSE_REPORTS, SECRET, headers, body, bus_name="b", now=NOW + 5
    )
    detail = ExpenseReportSubmitted.model_validate_json(accepted.entry["Detail"])
    assert detail.report_id == "ER-7" and detail.expense_ids == ["EX-1", "EX-2"]


def test_a_timesheet_without_its_week_is_refused_before_the_bus() -> None:
    # Given a delivery whose payload lacks the week
    headers, body = delivery(
        "timesheet.submitted", {"employee": "W-005", "submitted": "2026-12-04T17:30:00Z"}
    )
    # When received / Then refused, naming the missing fields, and nothing goes on the bus
    with pytest.raises(WebhookRefused) as refused:
        receive("psa_timesheets", TIMESHEETS, SECRET, headers, body, bus_name="backoffice", now=NOW + 5)
    assert refused.value.status in (400, 422) and "week_start" in refused.value.reason
