"""What the product's schedules and run summaries put on its event bus: a business event, checked as accepted.

The monthly schedules (close last month for billing, reconcile it) and the billing run's completion each put one
event; the case rules take it from there. ``put_event`` raises when the bus refused it, so a scheduled function or
a step fails (and is retried or parked) instead of believing it announced something.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

SCHEDULE_SOURCE = "backoffice.schedule"


class EventRefused(RuntimeError):
    """The event bus did not accept the event."""


def previous_month(today: date) -> tuple[date, date]:
    """The first and last day of the month before ``today``'s."""
    end = today.replace(day=1) - timedelta(days=1)
    return end.replace(day=1), end


def put_event(events: Any, bus_name: str, source: str, detail_type: str, detail: Mapping[str, Any]) -> str:
    """Puts one event on the bus; its id, or ``EventRefused`` naming the bus's error."""
    response = events.put_events(
        Entries=[
            {
                "EventBusName": bus_name,
                "Source": source,
                "DetailType": detail_type,
                "Detail": json.dumps(detail, default=str),
            }
        ]
    )
    entry = response["Entries"][0]
    if response.get("FailedEntryCount") or "EventId" not in entry:
        raise EventRefused(
            f"the event bus refused the event: {entry.get('ErrorCode')}: {entry.get('ErrorMessage')}"
        )
    return str(entry["EventId"])
