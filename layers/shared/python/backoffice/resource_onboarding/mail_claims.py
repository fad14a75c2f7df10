"""Each onboarding mail sent once per attempt, and sent again by a retry when the send itself failed.

The claims are the timesheet reminders' (``time_expense.reminder_claims.ReminderClaims``: a conditional put in the
idempotency table, ``done_at`` once sent). A claim whose send failed (SES refused or was unreachable) is given back
at once (a delete on ``#owner = :token``: only its owner), so the step's retry mails instead of finding a claim it
would otherwise have to wait out the lease of.
"""

from __future__ import annotations

from backoffice.time_expense.reminder_claims import ReminderClaims


class MailClaims(ReminderClaims):
    def release(self, key: str, token: str) -> bool:
        """Give back a claim whose mail was not sent; False when it is no longer this caller's."""
        try:
            self.dynamodb.delete_item(
                TableName=self.table_name,
                Key={"id": {"S": key}},
                ConditionExpression="#owner = :token AND attribute_not_exists(done_at)",
                ExpressionAttributeNames={"#owner": "owner"},
                ExpressionAttributeValues={":token": {"S": token}},
            )
        except self.dynamodb.exceptions.ConditionalCheckFailedException:
            return False
        return True


__all__ = ["MailClaims"]
