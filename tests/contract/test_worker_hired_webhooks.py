"""An HRIS without EventBridge posts its hires to the product's webhook: the firm's mapping turns a hire into the
canonical ``Worker Hired``, validated against its model before it goes on the bus (rule ``worker_hired`` then starts
resource onboarding as for the HRIS's own events). Money and hours in the HRIS's shapes map with the mapping's
transforms; a hire without its start date never reaches the bus."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from backoffice.connectors.webhooks import WebhookRefused, WebhookSource, receive, sign
from backoffice.models.events import WorkerHired

SECRET = "whsec_hris_test_0001"
NOW = 1_780_000_000.0
HIRES = WebhookSource.model_validate(
    {
        "secret_name": "backoffice/webhooks/hris",
        "event_source": "hris.webhook",
        "event_id_path": "/id",
        "detail_type": "Worker Hired",
        "detail": {
            "fields": {
                "worker_id": "data.employeeId",
                "name": "data.displayName",
                "email": {"source": "data.workEmail", "transforms": ["lower"]},
                "employment": {
                    "source": "data.employmentType",
                    "values": {
                        "Full-Time": "employee",
                        "Contractor": "contractor",
                        "Subcontractor": "subcontractor",
                    },
                },
                "role": "data.jobCode",
                "practice": {"source": "data.department", "transforms": ["lower"]},
                "cost_rate": {"source": "data.costRate.amount", "transforms": ["decimal"]},
                "currency": {"source": "data.costRate.currency", "transforms": ["upper"]},
                "start_date": "data.hireDate",
                "manager_id": "data.managerId",
                "vendor_id": "data.agency",
                "documents": "data.documents",
            }
        },
    }
)


def delivery(data: dict[str, Any], event_id: str = "evt_1") -> tuple[dict[str, str], bytes]:
    body = json.dumps({"id": event_id, "event": "employee.hired", "data": data}).encode()
    ts = str(int(NOW))
    return {"X-Timestamp": ts, "X-Signature": sign(SECRET, body, timestamp=ts)}, body


HIRE = {
    "employeeId": "W-108",
    "displayName": "Iris Falk",
    "workEmail": "IRIS.FALK@MERIDIAN-ADVISORY.EXAMPLE",
    "employmentType": "Subcontractor",
    "jobCode": "engineer",
    "department": "Technology",
    "costRate": {"amount": "95.00", "currency": "usd"},
    "hireDate": "2026-12-14",
    "managerId": "W-010",
    "agency": "V-RO-NORTHSTAR",
    "documents": [{"kind": "nda", "signed_on": "2026-12-01"}],
}


def test_a_hire_becomes_the_canonical_event() -> None:
    # Given the HRIS's signed delivery of a subcontractor's hire
    headers, body = delivery(HIRE)
    # When received
    accepted = receive("hris_hires", HIRES, SECRET, headers, body, bus_name="backoffice", now=NOW + 5)
    # Then the bus gets a Worker Hired the onboarding rule takes, in the canonical shape
    assert accepted.detail_type == "Worker Hired"
    detail = WorkerHired.from_json_dict(json.loads(accepted.entry["Detail"]))
    assert (detail.worker_id, detail.employment, detail.practice, detail.cost_rate, detail.currency) == (
        "W-108",
        "subcontractor",
        "technology",
        Decimal("95.00"),
        "USD",
    )
    assert str(detail.email) == "iris.falk@meridian-advisory.example" and detail.vendor_id == "V-RO-NORTHSTAR"
    assert [d.kind for d in detail.documents] == ["nda"]


def test_a_hire_without_its_start_date_is_refused_before_the_bus() -> None:
    headers, body = delivery({k: v for k, v in HIRE.items() if k != "hireDate"})
    with pytest.raises(WebhookRefused) as refused:
        receive("hris_hires", HIRES, SECRET, headers, body, bus_name="backoffice", now=NOW + 5)
    assert refused.value.status in (400, 422) and "start_date" in refused.value.reason
