"""Cases whose audit trail is missing whole, found from what started them rather than from the trail itself.

The chain and its anchors prove what was written; neither can name a case none of whose records was ever anchored
(written while the audit table's stream was off, or anchoring failed for longer than the stream keeps records) and
whose records were then deleted: the table and the anchor bucket then agree that the case never existed. Two things
outside the trail say otherwise: the case-start claim ``case#<case id>`` that ``CaseStarter`` puts in the
idempotency table, and the case's Step Functions execution (named after the case). A claim or an execution with no
record and no anchor is reported as ``case missing``.

A case being started right now has a claim (and perhaps its execution) a moment before its first record, so a claim
or an execution younger than the claim lease (``CLAIM_LEASE``) is not a problem yet.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from backoffice.audit import ChainProblem
from backoffice.cases import CLAIM_LEASE

CLAIM_PREFIX = "case#"
# ``resume_case`` names a case's later attempts ``<case id, cut>-r<n>``; their input holds the case's own id.
_RESUMED_ATTEMPT = re.compile(r"-r\d+$")


@dataclass(frozen=True)
class CaseClaim:
    """A case-start claim: ``claimed_at`` is None when unreadable (then old, as ``CaseStarter`` treats it)."""

    case_id: str
    claimed_at: datetime | None
    execution_arn: str | None = None


@dataclass(frozen=True)
class ExecutionRef:
    """One execution of a catalog state machine, and the case it runs."""

    case_id: str
    arn: str
    started_at: datetime


def missing_trails(
    claims: Iterable[CaseClaim],
    executions: Iterable[ExecutionRef],
    trail_case_ids: set[str],
    anchored_case_ids: set[str],
    *,
    now: datetime | None = None,
) -> list[ChainProblem]:
    """The cases a claim or an execution names that have neither a record nor an anchor, sorted by case id.

    A case with anchors but no record is left out: verifying against the anchors already names it missing.
    """
    now = now or datetime.now(UTC)
    evidence: dict[str, list[str]] = {}
    young: set[str] = set()
    for claim in claims:
        if claim.claimed_at is not None and now - claim.claimed_at < CLAIM_LEASE:
            young.add(claim.case_id)
        parts = evidence.setdefault(claim.case_id, [])
        parts.append(f"case-start claim of {claim.claimed_at.isoformat() if claim.claimed_at else '?'}")
        if claim.execution_arn:
            parts.append(f"execution {claim.execution_arn}")
    for execution in executions:
        if now - execution.started_at < CLAIM_LEASE:
            young.add(execution.case_id)
        parts = evidence.setdefault(execution.case_id, [])
        if f"execution {execution.arn}" not in parts:
            parts.append(f"execution {execution.arn}")
    known = trail_case_ids | anchored_case_ids | young
    return [
        ChainProblem(
            case_id,
            1,
            "case missing",
            f"{' and '.join(parts)} {'exists' if len(parts) == 1 else 'exist'}, no audit record or anchor",
        )
        for case_id, parts in sorted(evidence.items())
        if case_id not in known
    ]


# --------------------------------------------------------------------------------------------------------------
# Readers
# --------------------------------------------------------------------------------------------------------------


class IdempotencyClaims:
    """The case-start claims in the idempotency table (a scan: an operator's check, not a function's)."""

    def __init__(self, table_name: str, *, dynamodb: Any) -> None:
        self.table_name = table_name
        self._dynamodb = dynamodb

    def claims(self) -> Iterator[CaseClaim]:
        paginator = self._dynamodb.get_paginator("scan")
        for page in paginator.paginate(
            TableName=self.table_name,
            FilterExpression="begins_with(#id, :prefix)",
            ExpressionAttributeNames={"#id": "id"},
            ExpressionAttributeValues={":prefix": {"S": CLAIM_PREFIX}},
            ConsistentRead=True,
        ):
            for item in page.get("Items", []):
                yield CaseClaim(
                    case_id=item["id"]["S"][len(CLAIM_PREFIX) :],
                    claimed_at=_instant(item.get("claimed_at", {}).get("S", "")),
                    execution_arn=item.get("execution_arn", {}).get("S"),
                )


class CaseExecutions:
    """The executions of the given state machines, each mapped to its case as ``start_case`` names them: the
    execution name is the case id, but for a resumed attempt, whose input carries the case id."""

    def __init__(self, state_machine_arns: Sequence[str], *, sfn: Any) -> None:
        self.state_machine_arns = tuple(state_machine_arns)
        self._sfn = sfn

    def executions(self) -> Iterator[ExecutionRef]:
        paginator = self._sfn.get_paginator("list_executions")
        for arn in self.state_machine_arns:
            for page in paginator.paginate(stateMachineArn=arn):
                for summary in page["executions"]:
                    yield ExecutionRef(
                        case_id=self._case_of(summary),
                        arn=summary["executionArn"],
                        started_at=summary["startDate"],
                    )

    def _case_of(self, summary: dict[str, Any]) -> str:
        name = str(summary["name"])
        if not _RESUMED_ATTEMPT.search(name):
            return name
        # Only a name that looks like a resumed attempt is described: a business key may end in "-r2" too.
        described = self._sfn.describe_execution(executionArn=summary["executionArn"])
        try:
            case_id = json.loads(described.get("input") or "{}").get("case_id")
        except (ValueError, AttributeError):
            case_id = None
        return str(case_id) if case_id else name


def _instant(text: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
