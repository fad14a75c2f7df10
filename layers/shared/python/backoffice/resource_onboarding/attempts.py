"""Which attempt of a worker's onboarding is the latest, so an older one never overwrites a newer one's resource.

A worker's case runs an attempt per record of the hire (``start_date`` + ``hired_at``: a rehire, a corrected
record). Two may run at once, and a record may arrive after its correction. The latest is an item
``worker#latest#<worker id>`` in the idempotency table holding the attempt's order, ``<hired_at>|<start_date>``
(when the HRIS recorded it first: with ``hired_at``, a correction that moves the start date earlier is still the
latest). Without ``hired_at`` nothing says which record is newer, so the start date alone orders them: a later start
date is the latest (a rehire), and a record moving the start date earlier counts as the older one and is refused as
superseded. An HRIS that corrects start dates must send ``hired_at`` (every shipped adapter does):

- the check step writes it only if its order is not lower (``attribute_not_exists(id) OR #order <= :order``): an
  older record arriving late is told it is superseded and changes nothing;
- the set-up step, before it writes the PSA, confirms it is still the latest (an update conditioned on
  ``#order = :order``): an attempt a newer one overtook during a long review ends superseded.
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

from backoffice.models.events import WorkerHired

_UNRECORDED = "0000-00-00T00:00:00.000000Z"  # no hired_at: before any recorded one (and "|" would sort after)


def attempt_order(detail: WorkerHired) -> str:
    """The attempt's place among the worker's records (strings compare as the attempts order)."""
    recorded = (
        detail.hired_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ") if detail.hired_at else _UNRECORDED
    )
    return f"{recorded}|{detail.start_date.isoformat()}"


def _described(order: str) -> str:
    recorded, _, start = order.partition("|")
    return f"start {start}" + (f", recorded {recorded}" if recorded and recorded != _UNRECORDED else "")


class LatestAttempts:
    def __init__(self, dynamodb: Any, table_name: str) -> None:
        self.dynamodb, self.table_name = dynamodb, table_name

    @staticmethod
    def key(worker_id: str) -> str:
        return f"worker#latest#{worker_id}"

    def claim(self, worker_id: str, order: str, execution: str) -> str | None:
        """Record this attempt as the worker's latest; None when it is, else why it is superseded."""
        try:
            self.dynamodb.put_item(
                TableName=self.table_name,
                Item={
                    "id": {"S": self.key(worker_id)},
                    "order": {"S": order},
                    "execution": {"S": execution},
                },
                ConditionExpression="attribute_not_exists(id) OR #order <= :order",
                ExpressionAttributeNames={"#order": "order"},
                ExpressionAttributeValues={":order": {"S": order}},
            )
        except self.dynamodb.exceptions.ConditionalCheckFailedException:
            return self._superseded(worker_id, order)
        return None

    def confirm(self, worker_id: str, order: str, execution: str) -> str | None:
        """Still the latest (None), else why not: the set-up step's guard before it writes the PSA."""
        try:
            self.dynamodb.update_item(
                TableName=self.table_name,
                Key={"id": {"S": self.key(worker_id)}},
                UpdateExpression="SET set_up_by = :execution",
                ConditionExpression="attribute_not_exists(id) OR #order = :order",
                ExpressionAttributeNames={"#order": "order"},
                ExpressionAttributeValues={":order": {"S": order}, ":execution": {"S": execution}},
            )
        except self.dynamodb.exceptions.ConditionalCheckFailedException:
            return self._superseded(worker_id, order)
        return None

    def still_latest(self, worker_id: str, order: str) -> str | None:
        """A read before the welcome: None while this attempt is the latest, else why it is not (a later record
        checked since the set-up: its own set-up and welcome follow, so this one mails nobody)."""
        found = self.dynamodb.get_item(
            TableName=self.table_name, Key={"id": {"S": self.key(worker_id)}}, ConsistentRead=True
        ).get("Item")
        latest = str(((found or {}).get("order") or {}).get("S") or "")
        if not latest or latest == order:
            return None
        return self._superseded(worker_id, order)

    def _superseded(self, worker_id: str, order: str) -> str:
        found = (
            self.dynamodb.get_item(
                TableName=self.table_name, Key={"id": {"S": self.key(worker_id)}}, ConsistentRead=True
            ).get("Item")
            or {}
        )
        latest = str((found.get("order") or {}).get("S") or "")
        return (
            f"a later record of this hire ({_described(latest)}) is onboarded instead of this one "
            f"({_described(order)}): this attempt changes nothing"
        )


__all__ = ["LatestAttempts", "attempt_order"]
