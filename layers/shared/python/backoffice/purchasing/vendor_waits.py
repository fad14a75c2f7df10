"""The purchases waiting for a vendor's onboarding, and that onboarding's outcome: the ``purchasing`` table.

A purchase whose vendor is not yet approved asks for the vendor's onboarding and waits with a task token. Several
purchases may wait for the same new vendor: one ``Vendor Onboarding Requested`` goes on the bus for it, and the
onboarding's outcome (``Vendor Approved``, ``Vendor Rejected``, ``Vendor Onboarding Blocked``) resumes every one of
them. Items (pk, sk):

- ``vendor#<vendor key>`` / ``onboarding``: who asked for the onboarding (the claim: a conditional put, so of two
  purchases asking at once one puts the event; a claim left without its event past ``CLAIM_LEASE`` is taken over
  by one other purchase; one that ended rejected or blocked is claimed again by a later purchase), the vendor case
  it started, and its outcome once known (a conditional update on that vendor case: the first outcome stands, but
  a blocked onboarding resumed and approved later replaces it; the reasons a list, in order).
- ``vendor#<vendor key>`` / ``waiter#<purchase case>``: the purchase's task token (a credential: never logged,
  audited or put in a state) and, once resumed, when (a conditional update on the token: the outcome handler and
  a purchase that registered late never both resume it; given back when the callback or its audit record failed).
- ``vendor-case#<vendor case id>`` / ``vendor``: the vendor key of a vendor onboarding a purchase started, so that
  its outcome finds the purchases waiting.

The conditions are listed in docs/concurrency.md and proven with threads (tests/integration/
test_purchase_concurrency.py).
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from botocore.exceptions import ClientError

VendorOutcome = Literal["approved", "rejected", "blocked"]
# A claim whose purchase has not put the onboarding request on the bus after this long belongs to a purchase that
# failed in between (the step's Lambda times out at 30 s, its retries end within minutes): another purchase takes
# it over.
CLAIM_LEASE = timedelta(minutes=15)
# A blocked vendor onboarding (documents never received, a review nobody answered) can be resumed on its own case:
# purchases wait for it. Only one nobody resumed for this long is abandoned, and claimed again by a new onboarding.
BLOCKED_ABANDONED = timedelta(days=14)
_KEY_MAX = 200


def vendor_key(legal_name: str) -> str:
    """The vendor's name as a key: case, width forms and punctuation do not make two vendors, but anything else
    does. NFKC and casefold, words joined by ``-``, in any script ("Ōkami 株式会社" keeps its letters); a legal form
    is kept (``Delta Co`` and ``Delta Corp`` may be two companies), and a name with no letter or digit at all is
    the digest of its normalized text, never a fixed word two vendors could share."""
    plain = unicodedata.normalize("NFKC", legal_name).casefold()
    key = "-".join(_words(plain))
    if not key:
        return "name-" + hashlib.sha256(plain.strip().encode()).hexdigest()[:32]
    if len(key) > _KEY_MAX:
        key = key[: _KEY_MAX - 17] + "-" + hashlib.sha256(key.encode()).hexdigest()[:16]
    return key


def _words(text: str) -> list[str]:
    """The text's words: runs of letters, digits and combining marks (of any script: the vowel signs of Devanagari
    are marks, so "कमिल" and "कमाल" stay two words, not "क-ल" both); anything else separates them."""
    words, word = [], []
    for char in text:
        if unicodedata.category(char)[0] in "LNM":
            word.append(char)
        elif word:
            words.append("".join(word))
            word = []
    if word:
        words.append("".join(word))
    return words


def _conditional_failed(error: ClientError) -> bool:
    return bool(error.response["Error"]["Code"] == "ConditionalCheckFailedException")


@dataclass(frozen=True)
class Waiter:
    case_id: str
    task_token: str
    execution_arn: str | None
    resumed_at: str | None
    audited: bool = (
        False  # its resume's record is on the purchase's trail (a retry after a release adds none)
    )


@dataclass(frozen=True)
class VendorWaits:
    table: str
    dynamodb: Any

    # -- the onboarding ---------------------------------------------------------------------------------------------

    def onboarding(self, key: str) -> dict[str, Any] | None:
        item = self.dynamodb.get_item(
            TableName=self.table,
            Key={"pk": {"S": f"vendor#{key}"}, "sk": {"S": "onboarding"}},
            ConsistentRead=True,
        ).get("Item")
        if item is None:
            return None
        found: dict[str, Any] = {k: v.get("S") for k, v in item.items() if "S" in v}
        if "reasons" in item:
            # A list (L), in the outcome's order; an older record kept them as a string set (SS).
            stored = item["reasons"]
            listed = [r.get("S") for r in stored["L"]] if "L" in stored else stored.get("SS", [])
            found["reasons"] = [r for r in listed if r]
        return found

    def claim_onboarding(self, key: str, *, vendor_legal_name: str, case_id: str, now: datetime) -> bool:
        """Claim asking for the vendor's onboarding: True for exactly one purchase, however many ask at once. An
        onboarding that ended rejected is claimed again (a new onboarding: the vendor fixed what was wrong), by one
        purchase of those asking: the put is conditional on that outcome, which it clears. A blocked one is not (its
        vendor case may be resumed: the purchases wait for it) until it is abandoned (blocked for
        ``BLOCKED_ABANDONED``): a second onboarding of the same vendor would run beside the first."""
        try:
            self.dynamodb.put_item(
                TableName=self.table,
                Item={
                    "pk": {"S": f"vendor#{key}"},
                    "sk": {"S": "onboarding"},
                    "vendor_legal_name": {"S": vendor_legal_name},
                    "claimed_by": {"S": case_id},
                    "claimed_at": {"S": now.isoformat()},
                },
                ConditionExpression=(
                    "attribute_not_exists(pk) OR outcome = :rejected "
                    "OR (outcome = :blocked AND decided_at < :abandoned)"
                ),
                ExpressionAttributeValues={
                    ":rejected": {"S": "rejected"},
                    ":blocked": {"S": "blocked"},
                    ":abandoned": {"S": (now - BLOCKED_ABANDONED).isoformat()},
                },
            )
            return True
        except ClientError as error:
            if _conditional_failed(error):
                return False
            raise

    def take_over_stale_claim(self, key: str, *, case_id: str, now: datetime) -> bool:
        """Take over a claim whose purchase never put the request on the bus (it failed in between) once the claim
        is older than ``CLAIM_LEASE``: True for exactly one of the purchases trying, which then asks."""
        found = self.onboarding(key) or {}
        claimed_at = found.get("claimed_at")
        if not claimed_at or found.get("event_id") or found.get("outcome"):
            return False
        if now - datetime.fromisoformat(claimed_at) < CLAIM_LEASE:
            return False
        try:
            self.dynamodb.update_item(
                TableName=self.table,
                Key={"pk": {"S": f"vendor#{key}"}, "sk": {"S": "onboarding"}},
                UpdateExpression="SET claimed_by = :me, claimed_at = :now",
                ConditionExpression="claimed_at = :then AND attribute_not_exists(event_id)",
                ExpressionAttributeValues={
                    ":me": {"S": case_id},
                    ":now": {"S": now.isoformat()},
                    ":then": {"S": claimed_at},
                },
            )
            return True
        except ClientError as error:
            if _conditional_failed(error):
                return False
            raise

    def record_vendor_case(self, key: str, *, vendor_case_id: str, event_id: str) -> None:
        """The vendor onboarding the claim started: on the claim, and as the way back from its outcome."""
        self.dynamodb.put_item(
            TableName=self.table,
            Item={
                "pk": {"S": f"vendor-case#{vendor_case_id}"},
                "sk": {"S": "vendor"},
                "vendor_key": {"S": key},
            },
        )
        self.dynamodb.update_item(
            TableName=self.table,
            Key={"pk": {"S": f"vendor#{key}"}, "sk": {"S": "onboarding"}},
            UpdateExpression="SET vendor_case_id = :c, event_id = :e",
            ExpressionAttributeValues={":c": {"S": vendor_case_id}, ":e": {"S": event_id}},
        )

    def vendor_key_of_case(self, vendor_case_id: str) -> str | None:
        item = self.dynamodb.get_item(
            TableName=self.table,
            Key={"pk": {"S": f"vendor-case#{vendor_case_id}"}, "sk": {"S": "vendor"}},
            ConsistentRead=True,
        ).get("Item")
        return str(item["vendor_key"]["S"]) if item else None

    def decide(
        self,
        key: str,
        *,
        outcome: VendorOutcome,
        vendor_id: str | None,
        vendor_case_id: str,
        reasons: Sequence[str],
        now: datetime,
    ) -> bool:
        """Record the onboarding's outcome. The first outcome stands (a redelivered outcome changes nothing), but a
        blocked onboarding that was resumed and then approved or rejected replaces it. Only the outcome of the vendor
        case the claim started counts: a late outcome of an earlier onboarding, claimed again since, does not.
        False: already decided, or another onboarding's. The reasons are a list, in order, repeats kept."""
        values: dict[str, Any] = {
            ":o": {"S": outcome},
            ":c": {"S": vendor_case_id},
            ":at": {"S": now.isoformat()},
            ":blocked": {"S": "blocked"},
            ":r": {"L": [{"S": str(r)} for r in reasons]},
        }
        update = "SET outcome = :o, decided_case_id = :c, decided_at = :at, reasons = :r"
        if vendor_id:
            update += ", vendor_id = :v"
            values[":v"] = {"S": vendor_id}
        try:
            self.dynamodb.update_item(
                TableName=self.table,
                Key={"pk": {"S": f"vendor#{key}"}, "sk": {"S": "onboarding"}},
                UpdateExpression=update,
                ConditionExpression="vendor_case_id = :c AND (attribute_not_exists(outcome) OR outcome = :blocked)",
                ExpressionAttributeValues=values,
            )
            return True
        except ClientError as error:
            if _conditional_failed(error):
                return False
            raise

    # -- the purchases waiting ----------------------------------------------------------------------------------

    def wait(
        self, key: str, *, case_id: str, task_token: str, execution_arn: str | None, now: datetime
    ) -> None:
        """The purchase waits with this token. A later attempt of the same purchase waits with its own token, which
        replaces the old one; the same token again (a retried step) leaves the item, and whether it was resumed, as
        it is."""
        try:
            self.dynamodb.put_item(
                TableName=self.table,
                Item={
                    "pk": {"S": f"vendor#{key}"},
                    "sk": {"S": f"waiter#{case_id}"},
                    "task_token": {"S": task_token},
                    "registered_at": {"S": now.isoformat()},
                    **({"execution_arn": {"S": execution_arn}} if execution_arn else {}),
                },
                ConditionExpression="attribute_not_exists(pk) OR task_token <> :t",
                ExpressionAttributeValues={":t": {"S": task_token}},
            )
        except ClientError as error:
            if not _conditional_failed(error):
                raise

    def waiters(self, key: str) -> list[Waiter]:
        items: list[dict[str, Any]] = []
        query: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :w)",
            "ExpressionAttributeValues": {":pk": {"S": f"vendor#{key}"}, ":w": {"S": "waiter#"}},
            "ConsistentRead": True,
        }
        while True:
            page = self.dynamodb.query(**query)
            items.extend(page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                break
            query["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return [
            Waiter(
                case_id=item["sk"]["S"].removeprefix("waiter#"),
                task_token=item["task_token"]["S"],
                execution_arn=item.get("execution_arn", {}).get("S"),
                resumed_at=item.get("resumed_at", {}).get("S"),
                audited=item.get("audited_token", {}).get("S") == item["task_token"]["S"],
            )
            for item in items
        ]

    def mark_audited(self, key: str, waiter: Waiter) -> None:
        """The resume's record of this token is on the purchase's trail: a resume released and tried again (its
        callback failed) records nothing twice."""
        try:
            self.dynamodb.update_item(
                TableName=self.table,
                Key={"pk": {"S": f"vendor#{key}"}, "sk": {"S": f"waiter#{waiter.case_id}"}},
                UpdateExpression="SET audited_token = :t",
                ConditionExpression="task_token = :t",
                ExpressionAttributeValues={":t": {"S": waiter.task_token}},
            )
        except ClientError as error:
            if not _conditional_failed(error):  # another attempt's token replaced it: its own record follows
                raise

    def claim_resume(self, key: str, waiter: Waiter, now: datetime) -> bool:
        """Claim resuming this waiter's token: True once per token, whoever asks (the outcome handler, a purchase
        that registered after the outcome, a redelivered outcome)."""
        try:
            self.dynamodb.update_item(
                TableName=self.table,
                Key={"pk": {"S": f"vendor#{key}"}, "sk": {"S": f"waiter#{waiter.case_id}"}},
                UpdateExpression="SET resumed_at = :at",
                ConditionExpression="task_token = :t AND attribute_not_exists(resumed_at)",
                ExpressionAttributeValues={":t": {"S": waiter.task_token}, ":at": {"S": now.isoformat()}},
            )
            return True
        except ClientError as error:
            if _conditional_failed(error):
                return False
            raise

    def release_resume(self, key: str, waiter: Waiter, at: datetime) -> None:
        """Give back a resume claimed at ``at`` whose callback did not go out (Step Functions or the audit write
        failed): the next delivery of the outcome, or the purchase's retried step, resumes it. Conditional on this
        claim, so a claim another caller took since is left alone."""
        try:
            self.dynamodb.update_item(
                TableName=self.table,
                Key={"pk": {"S": f"vendor#{key}"}, "sk": {"S": f"waiter#{waiter.case_id}"}},
                UpdateExpression="REMOVE resumed_at",
                ConditionExpression="task_token = :t AND resumed_at = :at",
                ExpressionAttributeValues={":t": {"S": waiter.task_token}, ":at": {"S": at.isoformat()}},
            )
        except ClientError as error:
            if not _conditional_failed(error):
                raise
