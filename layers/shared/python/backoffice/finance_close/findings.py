"""Reconciliation findings across runs: what is open, under review, awaiting a fix, settled or closed.

A period is reconciled more than once: after the billing run, again after people fixed what the first run found,
and on demand. Each run's findings are matched to the stored ones by their key (rule and subject, never amounts),
so a re-run after fixes closes the findings that no longer hold, a finding already settled is not asked about
again, and one that comes back is reopened. Every change is a conditional write on the record's version (two
runs of one period, or a run and a reviewer's decision, at once): the loser re-reads and re-applies, as the
approval store does (docs/concurrency.md).

Table ``finance_close``: ``pk`` = ``reconciliation#<period start>#<period end>``, ``sk`` = the finding's key,
``version``, ``status`` and ``body`` (the record as JSON).
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from botocore.exceptions import ClientError

Status = Literal["open", "in_review", "awaiting_fix", "settled", "closed"]
# What an approved review's resolution makes of a finding: a fix is awaited (a later run closes it once the
# systems agree); an acknowledged or written-off finding is settled and not asked about again.
RESOLVED_STATUS: Mapping[str, Status] = {
    "acknowledge": "settled",
    "accept_difference": "settled",
    "write_off": "settled",
    "fix_in_psa": "awaiting_fix",
    "fix_in_erp": "awaiting_fix",
}
MAX_ATTEMPTS = 50


class FindingChangedMeanwhile(RuntimeError):
    """A conditional write kept losing: the finding changed under every attempt."""


@dataclass
class FindingRecord:
    key: str
    rule_id: str
    status: Status
    finding: dict[str, Any]  # the latest run's finding, as the domain made it (no tax id, no bank number)
    first_seen_case: str
    last_seen_case: str
    review_case: str | None = None  # the run whose approval step asks about it
    resolution: str | None = None
    decided_by: list[str] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)
    closed_by_case: str | None = None
    history: list[str] = field(default_factory=list)  # "<case>: <what happened>", oldest first
    # When the run that last found it read the systems (ISO time): an older run's compare never closes a finding
    # a newer run found (two runs of one period overlapping).
    last_read_at: str | None = None
    version: int = 0


@dataclass(frozen=True)
class RunChanges:
    """What a run did to the stored findings, by key."""

    new: tuple[str, ...] = ()
    still_open: tuple[str, ...] = ()
    reopened: tuple[str, ...] = ()
    closed: tuple[str, ...] = ()

    def counts(self) -> dict[str, int]:
        return {
            "new": len(self.new),
            "still_open": len(self.still_open),
            "reopened": len(self.reopened),
            "closed": len(self.closed),
        }


def period_key(start: date, end: date) -> str:
    return f"reconciliation#{start.isoformat()}#{end.isoformat()}"


class FindingStore:
    def __init__(self, table_name: str, dynamodb: Any) -> None:
        self.table = table_name
        self.db = dynamodb

    # -- reading -----------------------------------------------------------------------------------------------

    def findings(self, start: date, end: date) -> list[FindingRecord]:
        records: list[FindingRecord] = []
        token: Any = None
        while True:
            kwargs: dict[str, Any] = {
                "TableName": self.table,
                "KeyConditionExpression": "pk = :pk",
                "ExpressionAttributeValues": {":pk": {"S": period_key(start, end)}},
                "ConsistentRead": True,
            }
            if token:
                kwargs["ExclusiveStartKey"] = token
            response = self.db.query(**kwargs)
            records.extend(_load(item) for item in response.get("Items", []))
            token = response.get("LastEvaluatedKey")
            if not token:
                return sorted(records, key=lambda r: r.key)

    def get(self, start: date, end: date, key: str) -> FindingRecord | None:
        item = self.db.get_item(
            TableName=self.table,
            Key={"pk": {"S": period_key(start, end)}, "sk": {"S": key}},
            ConsistentRead=True,
        ).get("Item")
        return _load(item) if item else None

    # -- a run -------------------------------------------------------------------------------------------------

    def record_run(
        self,
        start: date,
        end: date,
        case_id: str,
        findings: Iterable[Mapping[str, Any]],
        rules_run: Iterable[str] | None = None,
        read_at: str | None = None,
    ) -> RunChanges:
        """Match this run's findings (each with ``key`` and ``rule_id``) to the stored ones: new ones are stored
        open, closed ones that came back are reopened, stored ones this run no longer finds are closed, unless
        their rule did not run (``rules_run``; None: every rule ran): switched off, it neither closes nor
        confirms them. A retried step counts as the first attempt did."""
        current = {str(f["key"]): dict(f) for f in findings}
        new: list[str] = []
        still: list[str] = []
        reopened: list[str] = []
        for key, finding in sorted(current.items()):
            kind = self._found(start, end, case_id, finding, read_at)
            {"new": new, "reopened": reopened}.get(kind, still).append(key)
        closed = self._close_gone(start, end, case_id, set(current), rules_run, read_at)
        return RunChanges(tuple(new), tuple(still), tuple(reopened), tuple(closed))

    def _found(
        self, start: date, end: date, case_id: str, finding: dict[str, Any], read_at: str | None
    ) -> Literal["new", "reopened", "still_open"]:
        def seen(record: FindingRecord | None) -> FindingRecord | None:
            if record is None:
                return FindingRecord(
                    key=str(finding["key"]),
                    rule_id=str(finding["rule_id"]),
                    status="open",
                    finding=finding,
                    first_seen_case=case_id,
                    last_seen_case=case_id,
                    history=[f"{case_id}: found"],
                    last_read_at=read_at,
                )
            if record.last_seen_case == case_id and record.finding == finding:
                return None  # this run recorded it already (a retried step)
            if read_at and record.last_read_at and record.last_read_at > read_at:
                return None  # a newer run's reading stands
            record.finding, record.last_seen_case, record.last_read_at = finding, case_id, read_at
            if record.status == "closed":
                record.status, record.closed_by_case, record.resolution = "open", None, None
                record.history.append(f"{case_id}: found again after it was closed")
            return record

        before, after = self._update(start, end, str(finding["key"]), seen)
        if before is None or (after is not None and after.first_seen_case == case_id):
            return "new"
        if after is not None and after.history[-1] == f"{case_id}: found again after it was closed":
            return "reopened"
        return "still_open"

    def _close_gone(
        self,
        start: date,
        end: date,
        case_id: str,
        found: set[str],
        rules_run: Iterable[str] | None,
        read_at: str | None,
    ) -> list[str]:
        checked = None if rules_run is None else set(rules_run)
        closed = []
        for record in self.findings(start, end):
            if record.key in found or record.status == "closed":
                continue
            if checked is not None and record.rule_id not in checked:
                continue

            def gone(stored: FindingRecord | None) -> FindingRecord | None:
                if stored is None or stored.status == "closed" or stored.last_seen_case == case_id:
                    return None  # closed meanwhile, or found again by a run of this case
                if read_at and stored.last_read_at and stored.last_read_at > read_at:
                    return None  # found by a run that read the systems after this one did
                stored.status, stored.closed_by_case = "closed", case_id
                stored.history.append(f"{case_id}: no longer holds: closed")
                return stored

            _, after = self._update(start, end, record.key, gone)
            if after is not None and after.closed_by_case == case_id:
                closed.append(record.key)
        return closed

    def claim_for_review(self, start: date, end: date, key: str, case_id: str) -> bool:
        """Move an open finding to review by this run; False when another run has it, or it is settled."""

        def claim(record: FindingRecord | None) -> FindingRecord | None:
            if record is None or record.status != "open":
                return None  # in review already (by this run: a retried step; it stays claimed), or decided
            record.status, record.review_case = "in_review", case_id
            record.history.append(f"{case_id}: sent for review")
            return record

        _, after = self._update(start, end, key, claim)
        return after is not None and after.status == "in_review" and after.review_case == case_id

    def settle(
        self,
        start: date,
        end: date,
        key: str,
        case_id: str,
        *,
        outcome: Literal["approved", "rejected", "none"],
        resolution: str | None,
        decided_by: Iterable[str] = (),
        comments: Iterable[str] = (),
    ) -> tuple[FindingRecord | None, bool]:
        """Record the review's decision on a finding this run sent for review. Approved: its resolution decides
        (awaiting a fix, or settled); rejected or not answered: open again, to be asked about by a later run.
        Returns the record as stored and whether this call applied the decision: one for a review this run no
        longer holds (a retry after it applied, a late decision) changes nothing."""
        if outcome == "approved" and resolution not in RESOLVED_STATUS:
            raise ValueError(f"an approved finding needs a resolution of {sorted(RESOLVED_STATUS)}")

        def decide(record: FindingRecord | None) -> FindingRecord | None:
            if record is None or record.status != "in_review" or record.review_case != case_id:
                return None
            who, said = list(decided_by), [c for c in comments if c]
            if outcome == "approved" and resolution is not None:
                record.status, record.resolution = RESOLVED_STATUS[resolution], resolution
                record.history.append(f"{case_id}: {resolution.replace('_', ' ')} ({', '.join(who)})")
            else:
                record.status, record.resolution = "open", None
                why = "rejected" if outcome == "rejected" else "not answered"
                record.history.append(f"{case_id}: review {why}; open again")
            record.review_case = None
            record.decided_by, record.comments = who, said
            return record

        before, after = self._update(start, end, key, decide)
        applied = before is not None and after is not None and before.version != after.version
        return after, applied

    def release_run(self, start: date, end: date, case_id: str, why: str) -> list[str]:
        """Open again every finding still in review by this run (it ended, or failed, without a decision on
        them), so that a later run asks about them; their keys."""
        released = []
        for record in self.findings(start, end):
            if record.status != "in_review" or record.review_case != case_id:
                continue

            def release(stored: FindingRecord | None) -> FindingRecord | None:
                if stored is None or stored.status != "in_review" or stored.review_case != case_id:
                    return None
                stored.status, stored.review_case = "open", None
                stored.history.append(f"{case_id}: released, {why}")
                return stored

            _, after = self._update(start, end, record.key, release)
            if (
                after is not None
                and after.status == "open"
                and after.history[-1].startswith(f"{case_id}: released")
            ):
                released.append(record.key)
        return released

    # -- conditional writes -----------------------------------------------------------------------------------

    def _update(
        self,
        start: date,
        end: date,
        key: str,
        change: Callable[[FindingRecord | None], FindingRecord | None],
    ) -> tuple[FindingRecord | None, FindingRecord | None]:
        """Read the finding, apply ``change`` (None: leave it), write it on the version read; re-read and re-apply
        on a lost race. Returns (as read before the winning write, as stored after)."""
        for attempt in range(MAX_ATTEMPTS):
            before = self.get(start, end, key)
            snapshot = _load(_item(start, end, before)) if before is not None else None
            after = change(before)
            if after is None:
                return snapshot, before
            try:
                self._write(start, end, after, new=snapshot is None)
                after.version += 1
                return snapshot, after
            except ClientError as error:
                if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                    raise
            time.sleep(random.uniform(0, 0.002 * min(attempt + 1, 10)))  # jitter, not a secret
        raise FindingChangedMeanwhile(f"finding {key} kept changing under this update")

    def _write(self, start: date, end: date, record: FindingRecord, *, new: bool) -> None:
        item = _item(start, end, record)
        item["version"] = {"N": str(record.version + 1)}
        if new:
            condition: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(sk)"}
        else:
            condition = {
                "ConditionExpression": "#v = :v",
                "ExpressionAttributeNames": {"#v": "version"},
                "ExpressionAttributeValues": {":v": {"N": str(record.version)}},
            }
        self.db.put_item(TableName=self.table, Item=item, **condition)


def _item(start: date, end: date, record: FindingRecord) -> dict[str, Any]:
    body = {k: v for k, v in record.__dict__.items() if k != "version"}
    return {
        "pk": {"S": period_key(start, end)},
        "sk": {"S": record.key},
        "status": {"S": record.status},
        "version": {"N": str(record.version)},
        "body": {"S": json.dumps(body, sort_keys=True, default=str)},
    }


def _load(item: Mapping[str, Any]) -> FindingRecord:
    fields = json.loads(item["body"]["S"])
    return FindingRecord(**fields, version=int(item["version"]["N"]))
