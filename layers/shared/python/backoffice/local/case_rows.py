"""The console's list of cases: one row a case, with its business keys, and the times the pages print.

A case is an execution of a state machine, or an event the audit trail rejected before any execution started. Its
business keys (client, project, vendor, opportunity) come from the start event and the audit records, masked.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from backoffice.audit import AuditRecord
from backoffice.masking import mask_text

BUSINESS_KEYS = ("client", "project", "vendor", "opportunity")


@dataclass
class CaseRow:
    case_id: str
    workflow: str
    status: str
    outcome: str | None
    current_state: str | None
    started: datetime | None
    stopped: datetime | None
    keys: dict[str, str] = field(default_factory=dict)
    error: str | None = None

    def matches(self, q: str) -> bool:
        needle = q.strip().lower()
        return not needle or any(needle in text.lower() for text in (self.case_id, *self.keys.values()))


def _first(mapping: Any, *paths: str) -> str | None:
    for path in paths:
        node = mapping
        for part in path.split("."):
            node = node.get(part) if isinstance(node, Mapping) else None
        if isinstance(node, (str, int)) and not isinstance(node, bool) and str(node):
            return str(node)
    return None


def business_keys(
    execution_input: Mapping[str, Any] | None, records: Sequence[AuditRecord]
) -> dict[str, str]:
    """Client, project, vendor and opportunity of a case, from its start event and its audit records."""
    keys: dict[str, str] = {}
    detail = (execution_input or {}).get("event", {}).get("detail", {}) if execution_input else {}
    found = {
        "opportunity": _first(detail, "opportunity.id"),
        "client": _first(detail, "client.customer_name", "client.name", "client.id"),
        "vendor": _first(detail, "vendor.legal_name", "vendor.name", "vendor.vendor_name", "vendor.id"),
        "project": _first(detail, "project.id", "project.project_id", "project_id"),
    }
    for record in records:
        data = dict(record.data)
        found["opportunity"] = found["opportunity"] or _first(data, "opportunity_id")
        found["client"] = found["client"] or _first(data, "client_name", "customer_name", "client_id")
        found["vendor"] = found["vendor"] or _first(data, "vendor_name", "legal_name", "vendor_id")
        found["project"] = found["project"] or _first(data, "project_id", "project_code")
    for name in BUSINESS_KEYS:
        value = found.get(name)
        if value:
            keys[name] = mask_text(value)
    return keys


def published_outcome(records: Sequence[AuditRecord]) -> str | None:
    """The outcome the case published last, if any."""
    published = [r for r in records if r.action == "outcome.published"]
    return published[-1].outcome if published else None


def age(since: datetime | None, now: datetime | None = None) -> str:
    """How long ago ``since`` was, in the largest unit that reads well (``42 s``, ``7 min``, ``3.5 h``, ``2.0 d``)."""
    if since is None:
        return ""
    seconds = max(0.0, ((now or datetime.now(UTC)) - since.astimezone(UTC)).total_seconds())
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds // 60:.0f} min"
    if seconds < 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def parse_time(value: str | datetime | None) -> datetime | None:
    """An ISO-8601 time (``Z`` allowed, UTC when it names no zone), or None when it is not one."""
    if value is None or isinstance(value, datetime):
        return value
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def format_utc(moment: datetime | None) -> str:
    """``2026-12-06 14:03:27 UTC``, or an empty string for no time."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if moment else ""
