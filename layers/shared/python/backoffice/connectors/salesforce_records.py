"""Salesforce records read into the product's models, field by field as SOQL returns them.

A record that does not fit its model is ``RecordUnmappable`` (with the reasons); a time entry or expense that does
not fit is an ``UnreadableLine``, which the billing run reports instead of failing. Fields are read through
relationship paths (``pse__Schedule__r.pse__Start_Date__c``), numbers as ``Decimal``.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Literal, TypeVar

from pydantic import ValidationError

from backoffice.connectors.http import RecordUnmappable, tagged
from backoffice.connectors.ports import UnreadableLine
from backoffice.connectors.salesforce_api import SYSTEM
from backoffice.models import ExpenseEntry, TimeEntry, readable_errors


def load_record(model: Any, body: dict[str, Any], what: str) -> Any:
    """``body`` as a ``model``, else ``RecordUnmappable`` naming the Salesforce object ``what`` and the reasons."""
    try:
        return model.from_json_dict(body)
    except ValidationError as error:
        raise tagged(
            RecordUnmappable(f"salesforce {what} does not fit {model.__name__}", readable_errors(error)),
            SYSTEM,
        ) from None


_Line = TypeVar("_Line", TimeEntry, ExpenseEntry)


def line_or_unreadable(
    model: type[_Line], kind: Literal["time", "expense"], body: dict[str, Any]
) -> _Line | UnreadableLine:
    """A time entry or expense, or the reasons it is not one (the billing run reports those, it does not fail)."""
    try:
        return model.from_json_dict(body)
    except ValidationError as error:
        project = body.get("project_id")
        return UnreadableLine(
            kind, str(body.get("id") or "?"), str(project) if project else None, tuple(readable_errors(error))
        )


def decimal_or_none(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def read_field(record: Mapping[str, Any], path: str) -> Any:
    """A field of a SOQL result, following relationship paths (``pse__Schedule__r.pse__Start_Date__c``)."""
    value: Any = record
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value
