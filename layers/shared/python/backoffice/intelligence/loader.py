"""Reading the records to analyse from the audit trail (the only part of this package that touches storage)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from backoffice.audit import AuditRecord


class RecordSource(Protocol):
    """What ``AuditTrail`` offers for reading: the case ids, and one case's records in order."""

    def case_ids(self) -> list[str]: ...

    def records(self, case_id: str) -> list[AuditRecord]: ...


def load_records(source: RecordSource, case_ids: Iterable[str] | None = None) -> list[AuditRecord]:
    """Every record of every case (or of the named ones), in case and sequence order."""
    return [
        record
        for case_id in (case_ids if case_ids is not None else source.case_ids())
        for record in source.records(case_id)
    ]
