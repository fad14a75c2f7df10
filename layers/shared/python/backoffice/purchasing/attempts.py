"""Which attempt of a purchase request orders, and the project budget a purchase about to be ordered holds.

A request fixed and sent again (a new ``requested_at``) is a new attempt on the same case, with the same order key
(``purchase-<request id>``): two may run at once. The latest is an item (``request#<request id>``, ``latest``) in the
purchasing table holding the attempt's order (its ``requested_at``, UTC, microseconds: strings compare as the
attempts order):

- 'Check the purchase request' claims it (``attribute_not_exists(pk) OR #order <= :order``, and nobody has taken
  the order yet): an older attempt arriving late, or any attempt once the request is ordered, changes nothing;
- 'Recheck the project budget', just before the order, confirms it (``#order = :order`` and the order not taken by
  another execution) and takes the order (``ordered_by``): an attempt a correction overtook while it waited for
  approval ends blocked "superseded" and orders nothing; a correction arriving once the order is taken is blocked
  "already ordered as PO ...: amend it in the ERP" (the number is recorded once the order exists).

The budget a purchase holds between the recheck and its order (``project#<project id>``, ``reserved``): the recheck adds
the amount to the project's ``reserved`` only if ``reserved <= budget - committed - actual - amount`` (a conditional
ADD in one transaction with the request's own (``request#<request id>``, ``reservation``) item, so a retried step reserves once).
Two purchases each within budget but together over it, rechecked at once: one reserves, the other is over budget
and goes to the project owner and finance. The order's step releases the reservation once the ERP holds the order
(its amount is then in ``committed``); an attempt that stops before its order releases what it holds.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any


def attempt_order(requested_at: datetime) -> str:
    """The attempt's place among the request's attempts (strings compare as the attempts order)."""
    return requested_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class PurchaseAttempts:
    def __init__(self, dynamodb: Any, table_name: str) -> None:
        self.dynamodb, self.table_name = dynamodb, table_name

    @staticmethod
    def key(request_id: str) -> dict[str, Any]:
        return {"pk": {"S": f"request#{request_id}"}, "sk": {"S": "latest"}}

    def _item(self, request_id: str) -> dict[str, Any]:
        return (
            self.dynamodb.get_item(
                TableName=self.table_name, Key=self.key(request_id), ConsistentRead=True
            ).get("Item")
            or {}
        )

    def claim(self, request_id: str, order: str, execution: str) -> str | None:
        """Record this attempt as the request's latest: None when it is, else why it stops."""
        try:
            self.dynamodb.update_item(
                TableName=self.table_name,
                Key=self.key(request_id),
                UpdateExpression="SET #order = :order, #execution = :execution",
                ConditionExpression=(
                    "(attribute_not_exists(pk) OR #order <= :order) "
                    "AND (attribute_not_exists(ordered_by) OR ordered_by = :execution)"
                ),
                ExpressionAttributeNames={"#order": "order", "#execution": "execution"},
                ExpressionAttributeValues={":order": {"S": order}, ":execution": {"S": execution}},
            )
        except self.dynamodb.exceptions.ConditionalCheckFailedException:
            return self._stopped(request_id, order, execution)
        return None

    def confirm(self, request_id: str, order: str, execution: str) -> str | None:
        """Still the latest: this execution takes the order (None); else why it stops."""
        try:
            self.dynamodb.update_item(
                TableName=self.table_name,
                Key=self.key(request_id),
                UpdateExpression="SET ordered_by = :execution",
                ConditionExpression=(
                    "#order = :order AND (attribute_not_exists(ordered_by) OR ordered_by = :execution)"
                ),
                ExpressionAttributeNames={"#order": "order"},
                ExpressionAttributeValues={":order": {"S": order}, ":execution": {"S": execution}},
            )
        except self.dynamodb.exceptions.ConditionalCheckFailedException:
            return self._stopped(request_id, order, execution)
        return None

    def ordered(self, request_id: str, number: str) -> None:
        """The order exists in the ERP: its number, for a correction arriving later."""
        self.dynamodb.update_item(
            TableName=self.table_name,
            Key=self.key(request_id),
            UpdateExpression="SET ordered_as = :number",
            ExpressionAttributeValues={":number": {"S": number}},
        )

    def _stopped(self, request_id: str, order: str, execution: str) -> str:
        found = self._item(request_id)
        ordered_by = str((found.get("ordered_by") or {}).get("S") or "")
        latest = str((found.get("order") or {}).get("S") or "")
        if ordered_by and ordered_by != execution and latest <= order:
            number = str((found.get("ordered_as") or {}).get("S") or f"purchase-{request_id}")
            return f"request {request_id} is already ordered as PO {number}: amend it in the ERP"
        return (
            f"a later correction of request {request_id} (requested {latest}) is approved and ordered instead of "
            f"this one (requested {order}): this attempt is superseded and orders nothing"
        )


class BudgetReservations:
    def __init__(self, dynamodb: Any, table_name: str) -> None:
        self.dynamodb, self.table_name = dynamodb, table_name

    @staticmethod
    def project_key(project_id: str) -> dict[str, Any]:
        return {"pk": {"S": f"project#{project_id}"}, "sk": {"S": "reserved"}}

    @staticmethod
    def reservation_key(request_id: str) -> dict[str, Any]:
        return {"pk": {"S": f"request#{request_id}"}, "sk": {"S": "reservation"}}

    def reserved(self, project_id: str) -> Decimal:
        found = self.dynamodb.get_item(
            TableName=self.table_name, Key=self.project_key(project_id), ConsistentRead=True
        ).get("Item")
        return Decimal(str(((found or {}).get("reserved") or {}).get("N") or "0"))

    def _reservation(self, request_id: str) -> dict[str, Any] | None:
        found: dict[str, Any] | None = self.dynamodb.get_item(
            TableName=self.table_name,
            Key=self.reservation_key(request_id),
            ConsistentRead=True,
        ).get("Item")
        return found

    def reserve(self, project_id: str, request_id: str, amount: Decimal, room: Decimal | None) -> bool:
        """Hold ``amount`` of the project's budget for the request: True when held (now or by an earlier try of
        this step), False when the project's reservations leave less than ``room`` (budget - committed - actual -
        amount). ``room`` None: reserved whatever the others hold (a purchase approved over budget)."""
        update: dict[str, Any] = {
            "TableName": self.table_name,
            "Key": self.project_key(project_id),
            "UpdateExpression": "ADD reserved :amount",
            "ExpressionAttributeValues": {":amount": {"N": str(amount)}},
        }
        if room is not None:
            if room < 0:
                return False
            update["ConditionExpression"] = "attribute_not_exists(reserved) OR reserved <= :room"
            update["ExpressionAttributeValues"][":room"] = {"N": str(room)}
        try:
            self.dynamodb.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self.table_name,
                            "Item": {
                                **self.reservation_key(request_id),
                                "project_id": {"S": project_id},
                                "amount": {"N": str(amount)},
                            },
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                    {"Update": update},
                ]
            )
        except self.dynamodb.exceptions.TransactionCanceledException:
            held = self._reservation(request_id)
            return held is not None and "released_at" not in held
        return True

    def release(self, request_id: str, now: datetime) -> bool:
        """Give the request's reservation back (its order exists, or it stops): True when this call released it."""
        held = self._reservation(request_id)
        if held is None or "released_at" in held:
            return False
        project_id = held["project_id"]["S"]
        try:
            self.dynamodb.transact_write_items(
                TransactItems=[
                    {
                        "Update": {
                            "TableName": self.table_name,
                            "Key": self.reservation_key(request_id),
                            "UpdateExpression": "SET released_at = :now",
                            "ConditionExpression": "attribute_exists(pk) AND attribute_not_exists(released_at)",
                            "ExpressionAttributeValues": {":now": {"S": now.isoformat()}},
                        }
                    },
                    {
                        "Update": {
                            "TableName": self.table_name,
                            "Key": self.project_key(project_id),
                            "UpdateExpression": "ADD reserved :minus",
                            "ExpressionAttributeValues": {
                                ":minus": {"N": str(-Decimal(held["amount"]["N"]))}
                            },
                        }
                    },
                ]
            )
        except self.dynamodb.exceptions.TransactionCanceledException:
            return False
        return True


__all__ = ["BudgetReservations", "PurchaseAttempts", "attempt_order"]
