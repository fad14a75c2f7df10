"""Which staffing request a hire's welcome step took, so a retried or repeated step takes no second one.

The PSA lists only the requests nobody holds: a step retried after it assigned one (a timeout, a failed mail) would
otherwise find that request gone from the list and take the next. Before assigning a request the step writes its
choice in the idempotency table, item ``worker#assignment#<case>`` (one per worker: a corrected record moving the
start date re-uses it; a rehire after the held request ended takes a new one; a change of role takes no second one
and says so), with the role it was taken for, with a conditional
put: ``attribute_not_exists(id)``, or, to move on from a request another hire took, ``request_id = :previous``. A
retry reads the item first and asks the PSA for that request again: the PSA answers True when it is this worker's
(``ResourcePsaPort.assign_resource_request``), and the step reports it as its assignment.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

KEEP_DAYS = 400  # a corrected record of the hire may come months later


class AssignmentHolds:
    def __init__(self, dynamodb: Any, table_name: str, *, clock: Callable[[], float] = time.time) -> None:
        self.dynamodb, self.table_name, self.clock = dynamodb, table_name, clock

    def held(self, key: str) -> dict[str, str] | None:
        """The request this hire took (request_id, project_id, start, end, hours), or None."""
        found = self.dynamodb.get_item(TableName=self.table_name, Key={"id": {"S": key}}, ConsistentRead=True)
        item = found.get("Item")
        if not item or "request_id" not in item:
            return None
        return {
            name: str(item[name]["S"])
            for name in ("request_id", "project_id", "start", "end", "hours", "role")
            if name in item
        }

    def hold(self, key: str, assignment: dict[str, str], previous: str | None) -> bool:
        """Write the request this hire is about to take; False when another run of the step holds another."""
        now = int(self.clock())
        condition = "attribute_not_exists(id)" + (" OR request_id = :previous" if previous else "")
        values = {":previous": {"S": previous}} if previous else None
        try:
            self.dynamodb.put_item(
                TableName=self.table_name,
                Item={
                    "id": {"S": key},
                    **{name: {"S": str(value)} for name, value in assignment.items()},
                    "held_at": {"N": str(now)},
                    "expiration": {"N": str(now + KEEP_DAYS * 86400)},
                },
                ConditionExpression=condition,
                **({"ExpressionAttributeValues": values} if values else {}),
            )
        except self.dynamodb.exceptions.ConditionalCheckFailedException:
            return False
        return True


__all__ = ["AssignmentHolds"]
