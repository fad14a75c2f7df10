"""Each reminder, escalation and summary sent once, however many runs of the job overlap.

A claim is an item ``timesheet#<kind>#<case or week>[#<recipient>]`` in the idempotency table, put with
``attribute_not_exists(id) OR (attribute_not_exists(done_at) AND claimed_at < :stale)``: of two runs at once one
takes it and mails, the other leaves it (the check and the claim are one conditional write). The taker marks it
``done_at`` after the mail is sent and the audit record appended (``#owner = :token``: only its owner). A claim
whose run died before marking it is taken over after ``LEASE_SECONDS`` (above the function's timeout); the taker
first reads the case's trail, and a record already there (the run died between recording and marking) is only
marked. Claims expire (the table's TTL attribute ``expiration``) after ``KEEP_DAYS``; a run reads the trail before
claiming, so a week chased after that still finds its records.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

LEASE_SECONDS = 900  # the job's timeout is 300 s
KEEP_DAYS = 60


class ReminderClaims:
    def __init__(
        self,
        dynamodb: Any,
        table_name: str,
        *,
        clock: Callable[[], float] = time.time,
        lease_seconds: int = LEASE_SECONDS,
    ) -> None:
        self.dynamodb, self.table_name, self.clock, self.lease_seconds = (
            dynamodb,
            table_name,
            clock,
            lease_seconds,
        )

    def take(self, key: str) -> str | None:
        """The claim's token when this caller holds ``key`` now; None when another run has it or it is done."""
        token, now = uuid.uuid4().hex, int(self.clock())
        try:
            self.dynamodb.put_item(
                TableName=self.table_name,
                Item={
                    "id": {"S": key},
                    "owner": {"S": token},
                    "claimed_at": {"N": str(now)},
                    "expiration": {"N": str(now + KEEP_DAYS * 86400)},
                },
                ConditionExpression="attribute_not_exists(id) OR "
                "(attribute_not_exists(done_at) AND claimed_at < :stale)",
                ExpressionAttributeValues={":stale": {"N": str(now - self.lease_seconds)}},
            )
        except self.dynamodb.exceptions.ConditionalCheckFailedException:
            return None
        return token

    def done(self, key: str, token: str) -> bool:
        """Marks the claim done; False when the lease ran out and another run took it over meanwhile."""
        try:
            self.dynamodb.update_item(
                TableName=self.table_name,
                Key={"id": {"S": key}},
                UpdateExpression="SET done_at = :now",
                ConditionExpression="#owner = :token",
                ExpressionAttributeNames={"#owner": "owner"},
                ExpressionAttributeValues={":now": {"N": str(int(self.clock()))}, ":token": {"S": token}},
            )
        except self.dynamodb.exceptions.ConditionalCheckFailedException:
            return False
        return True


__all__ = ["KEEP_DAYS", "LEASE_SECONDS", "ReminderClaims"]
