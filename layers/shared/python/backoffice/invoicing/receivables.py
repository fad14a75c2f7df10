"""Receivables: what each posted invoice still owes, and the payments and credit memos applied to it.

Posting an invoice registers it in a ledger (``register_receivable``), so that a payment the ERP reports later finds
the invoicing case it belongs to: the ``Invoice Paid`` step (R2 ``invoice.paid``, R3 ``invoice.credited``) lands on
that case, after its outcome, for the process report's DSO, aging and days to pay. Payments arrive twice over, on
purpose: as the ERP's ``Invoice Paid`` events (``record_invoice_payment``) and from a daily paged read of the ERP's
payments since a watermark (``read_invoice_payments``), which also catches what an event lost. Both call
``record_payment``: each (invoice, payment) is applied and recorded once, however often and however concurrently it
is delivered.

Table ``finance_close`` (the finance close's evidence): ``pk`` = ``receivable#<invoice id>``, ``sk`` = ``ledger``
(the invoice: case, client, amounts, currency, conversion rate, dates, the open amount and every payment or credit
applied, ``version`` and the applied ids as a set), ``sk`` = ``unmatched#<kind>#<id>`` (a payment for an invoice
the ledger does not know, parked once); ``pk`` = ``receivables#watermark``, ``sk`` = ``payments`` (the day the
daily read has read up to). Every change is a conditional put (docs/concurrency.md, "Receivables").
"""

from __future__ import annotations

import json
import random
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

from botocore.exceptions import ClientError
from pydantic import ConfigDict

from backoffice.audit import Actor, AuditTrail
from backoffice.connectors.ports import ReceivablesErpPort
from backoffice.models import Invoice, Payment
from backoffice.models.envelope import Model

WORKFLOW = "invoicing"
STEP = "record invoice payment"
ACTOR = Actor.system("record_invoice_payment")
# The recorder's own bookkeeping (unknown invoices, the daily read's runs): a job's trail, not a case of the firm
# (backoffice.audit.JOB_WORKFLOWS).
JOB_WORKFLOW = "receivables"
READ_ACTOR = Actor.system("read_invoice_payments")
LEDGER_SK = "ledger"
WATERMARK_KEY = {"pk": {"S": "receivables#watermark"}, "sk": {"S": "payments"}}
# A payment claimed for recording and not recorded after this long belongs to a delivery that died between the
# two (every function that records times out sooner: 300 s at most); the next delivery, or the daily read, records
# it instead.
CLAIM_LEASE = timedelta(seconds=360)
# The daily read goes back this far behind its watermark: a payment entered in the ERP days after it was received
# is dated then. Reading it again is harmless: a payment already applied records nothing.
LOOKBACK_DAYS = 7
FIRST_READ_DAYS = 90  # the first read, with no watermark yet
MAX_ATTEMPTS = 50
_CENT = Decimal("0.01")


class LedgerChangedMeanwhile(RuntimeError):
    """A conditional write kept losing: the invoice's ledger changed under every attempt."""


class PaymentNotApplicable(ValueError):
    """A payment the ledger cannot apply: its invoice is unknown, or it is in another currency."""


def base_amount(amount: Decimal, conversion_rate: Decimal) -> Decimal:
    """An amount in the firm's reporting currency: amount x the invoice's conversion rate, half-up to cents."""
    return (amount * conversion_rate).quantize(_CENT, rounding=ROUND_HALF_UP)


def _money(value: Decimal) -> str:
    return str(value.quantize(_CENT, rounding=ROUND_HALF_UP))


# ------------------------------------------------------------------------------------------------------------
# The ledger
# ------------------------------------------------------------------------------------------------------------


@dataclass
class Receivable:
    """A posted invoice in the ledger: what it was billed, what it still owes, what was applied to it."""

    invoice_id: str
    case_id: str  # the invoicing case that posted it: where its payments are recorded
    client_id: str
    amount: Decimal  # grand total, invoice currency
    currency: str
    conversion_rate: Decimal
    invoice_date: date
    due_date: date
    open_amount: Decimal
    invoice_number: str | None = None
    project_id: str | None = None
    # "<kind>#<id>" -> what applying it did: kind, id, amount applied, day, open after, claimed_at, recorded_at
    applied: dict[str, dict[str, Any]] = field(default_factory=dict)
    version: int = 0

    @classmethod
    def of_invoice(cls, invoice: Invoice, case_id: str) -> Receivable:
        return cls(
            invoice_id=invoice.id,
            case_id=case_id,
            client_id=invoice.client_id,
            amount=invoice.grand_total,
            currency=invoice.currency,
            conversion_rate=invoice.conversion_rate,
            invoice_date=invoice.posting_date,
            due_date=invoice.due_date,
            open_amount=invoice.grand_total,
            invoice_number=invoice.invoice_number,
            project_id=invoice.project_id,
        )

    def body(self) -> dict[str, Any]:
        return {
            "invoice_id": self.invoice_id,
            "case_id": self.case_id,
            "client_id": self.client_id,
            "amount": str(self.amount),
            "currency": self.currency,
            "conversion_rate": str(self.conversion_rate),
            "invoice_date": self.invoice_date.isoformat(),
            "due_date": self.due_date.isoformat(),
            "open_amount": str(self.open_amount),
            "invoice_number": self.invoice_number,
            "project_id": self.project_id,
            "applied": self.applied,
        }

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> Receivable:
        body = json.loads(item["body"]["S"])
        return cls(
            invoice_id=body["invoice_id"],
            case_id=body["case_id"],
            client_id=body["client_id"],
            amount=Decimal(body["amount"]),
            currency=body["currency"],
            conversion_rate=Decimal(body["conversion_rate"]),
            invoice_date=date.fromisoformat(body["invoice_date"]),
            due_date=date.fromisoformat(body["due_date"]),
            open_amount=Decimal(body["open_amount"]),
            invoice_number=body.get("invoice_number"),
            project_id=body.get("project_id"),
            applied=dict(body.get("applied") or {}),
            version=int(item["version"]["N"]),
        )


def _applied_key(payment: Payment) -> str:
    return f"{payment.kind}#{payment.id}"


@dataclass(frozen=True)
class Claim:
    """What ``ReceivablesLedger.claim`` found or did for one (invoice, payment).

    ``applied``: this call applied it (its record is this caller's to write); ``retaken``: applied before by a
    delivery that died before recording it (this caller records it); ``recorded``: applied and recorded already (a
    duplicate); ``in_progress``: another delivery applied it moments ago and is recording it."""

    status: Literal["applied", "retaken", "recorded", "in_progress"]
    receivable: Receivable  # as stored after the claim
    entry: dict[str, Any]  # the payment's entry in ``receivable.applied``
    overpaid: Decimal = Decimal(0)


class ReceivablesLedger:
    def __init__(self, table_name: str, dynamodb: Any) -> None:
        self.table = table_name
        self.db = dynamodb

    @staticmethod
    def _key(invoice_id: str, sk: str = LEDGER_SK) -> dict[str, Any]:
        return {"pk": {"S": f"receivable#{invoice_id}"}, "sk": {"S": sk}}

    # -- the invoice -------------------------------------------------------------------------------------------

    def register(self, receivable: Receivable) -> bool:
        """Register a posted invoice; False when it is registered already (a retried post): the first stands."""
        item: dict[str, Any] = {
            **self._key(receivable.invoice_id),
            "version": {"N": "1"},
            "body": {"S": json.dumps(receivable.body(), sort_keys=True)},
        }
        try:
            self.db.put_item(TableName=self.table, Item=item, ConditionExpression="attribute_not_exists(sk)")
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def get(self, invoice_id: str) -> Receivable | None:
        item = self.db.get_item(TableName=self.table, Key=self._key(invoice_id), ConsistentRead=True).get(
            "Item"
        )
        return Receivable.from_item(item) if item else None

    # -- a payment ---------------------------------------------------------------------------------------------

    def claim(self, payment: Payment, *, now: datetime, claimant: str) -> Claim:
        """Apply the payment to its invoice, once: the open amount goes down by what it pays (never below zero),
        and the payment is claimed for recording by ``claimant``. The write is conditioned on the version read and
        on the payment not being among the applied ids; a lost race re-reads and decides again."""
        key = _applied_key(payment)
        for attempt in range(MAX_ATTEMPTS):
            receivable = self.get(payment.invoice_id)
            if receivable is None:
                raise PaymentNotApplicable(
                    f"invoice {payment.invoice_id} is not in the receivables ledger: no invoice the product "
                    f"posted has this id, so {payment.kind.replace('_', ' ')} {payment.id} cannot be applied"
                )
            if payment.currency != receivable.currency:
                raise PaymentNotApplicable(
                    f"{payment.kind.replace('_', ' ')} {payment.id} is in {payment.currency}, invoice "
                    f"{payment.invoice_id} in {receivable.currency}: it is not applied"
                )
            found = receivable.applied.get(key)
            if found is not None:
                if found.get("recorded_at"):
                    return Claim("recorded", receivable, found)
                claimed_at = datetime.fromisoformat(str(found.get("claimed_at")))
                if now - claimed_at < CLAIM_LEASE:
                    return Claim("in_progress", receivable, found)
                entry = {**found, "claimed_at": now.isoformat(), "claimant": claimant}
                status: Literal["applied", "retaken"] = "retaken"
                overpaid = Decimal(str(found.get("overpaid", "0")))
            else:
                applied = min(payment.amount, receivable.open_amount)
                overpaid = payment.amount - applied
                open_after = receivable.open_amount - applied
                entry = {
                    "kind": payment.kind,
                    "id": payment.id,
                    "amount": str(applied),
                    "received": str(payment.amount),
                    "overpaid": str(overpaid),
                    "on": payment.dated.isoformat(),
                    "memo": payment.memo,
                    "open_after": str(open_after),
                    "claimed_at": now.isoformat(),
                    "claimant": claimant,
                    "recorded_at": None,
                }
                receivable.open_amount = open_after
                status = "applied"
            receivable.applied[key] = entry
            condition = None if status == "retaken" else key
            if self._write(receivable, condition):
                receivable.version += 1
                return Claim(status, receivable, entry, overpaid)
            time.sleep(random.uniform(0, 0.002 * min(attempt + 1, 10)))  # jitter, not a secret
        raise LedgerChangedMeanwhile(
            f"invoice {payment.invoice_id}'s ledger kept changing under this payment"
        )

    def mark_recorded(self, payment: Payment, *, claimant: str, now: datetime) -> None:
        """Say the payment's record is on the trail (only the claimant does, so a late one that lost its claim
        to a retaker does not)."""
        key = _applied_key(payment)
        for attempt in range(MAX_ATTEMPTS):
            receivable = self.get(payment.invoice_id)
            entry = receivable.applied.get(key) if receivable else None
            if (
                receivable is None
                or entry is None
                or entry.get("recorded_at")
                or entry.get("claimant") != claimant
            ):
                return
            receivable.applied[key] = {**entry, "recorded_at": now.isoformat()}
            if self._write(receivable, None):
                return
            time.sleep(random.uniform(0, 0.002 * min(attempt + 1, 10)))  # jitter, not a secret
        raise LedgerChangedMeanwhile(
            f"invoice {payment.invoice_id}'s ledger kept changing under this payment"
        )

    def _write(self, receivable: Receivable, new_id: str | None) -> bool:
        """Put the receivable on the version read; ``new_id``: also only if that payment is not applied yet (the
        applied ids are kept as a string set for this condition). False on a lost race."""
        ids = sorted(receivable.applied)
        item: dict[str, Any] = {
            **self._key(receivable.invoice_id),
            "version": {"N": str(receivable.version + 1)},
            "body": {"S": json.dumps(receivable.body(), sort_keys=True)},
        }
        if ids:
            item["applied_ids"] = {"SS": ids}
        condition = "#v = :v"
        values: dict[str, Any] = {":v": {"N": str(receivable.version)}}
        if new_id is not None:
            condition += " AND (attribute_not_exists(applied_ids) OR NOT contains(applied_ids, :id))"
            values[":id"] = {"S": new_id}
        try:
            self.db.put_item(
                TableName=self.table,
                Item=item,
                ConditionExpression=condition,
                ExpressionAttributeNames={"#v": "version"},
                ExpressionAttributeValues=values,
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    # -- payments of unknown invoices --------------------------------------------------------------------------

    def note_unmatched(self, payment: Payment, reason: str, *, now: datetime) -> bool:
        """Keep that this payment could not be applied; False when it was noted before (the daily read meets it
        again each day of its look-back: it is audited and parked once)."""
        try:
            self.db.put_item(
                TableName=self.table,
                Item={
                    **self._key(payment.invoice_id, f"unmatched#{_applied_key(payment)}"),
                    "body": {
                        "S": json.dumps(
                            {"payment": payment.to_json_dict(), "reason": reason, "noted_at": now.isoformat()}
                        )
                    },
                },
                ConditionExpression="attribute_not_exists(sk)",
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    # -- the daily read's watermark ----------------------------------------------------------------------------

    def watermark(self) -> tuple[date | None, int]:
        """The last day the daily read read completely, and the version to advance it on."""
        item = self.db.get_item(TableName=self.table, Key=WATERMARK_KEY, ConsistentRead=True).get("Item")
        if not item:
            return None, 0
        return date.fromisoformat(json.loads(item["body"]["S"])["read_to"]), int(item["version"]["N"])

    def advance_watermark(self, read_to: date, version: int, summary: Mapping[str, Any]) -> bool:
        """Move the watermark to ``read_to`` if nobody moved it since ``version`` was read; False otherwise (two
        reads at once: the other's stands, and this one's payments were applied either way)."""
        condition = "attribute_not_exists(sk)" if version == 0 else "#v = :v"
        extra: dict[str, Any] = (
            {}
            if version == 0
            else {
                "ExpressionAttributeNames": {"#v": "version"},
                "ExpressionAttributeValues": {":v": {"N": str(version)}},
            }
        )
        try:
            self.db.put_item(
                TableName=self.table,
                Item={
                    **WATERMARK_KEY,
                    "version": {"N": str(version + 1)},
                    "body": {"S": json.dumps({"read_to": read_to.isoformat(), **summary}, default=str)},
                },
                ConditionExpression=condition,
                **extra,
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True


def register_receivable(ledger: ReceivablesLedger, invoice: Invoice, case_id: str) -> bool:
    """Posting an invoice registers it, so that its payments find ``case_id``; idempotent."""
    return ledger.register(Receivable.of_invoice(invoice, case_id))


# ------------------------------------------------------------------------------------------------------------
# Recording a payment: both entry points
# ------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ParkedPayments:
    """The parked-events queue, where a payment that cannot be applied waits for an operator."""

    sqs: Any
    queue_url: str

    def park(self, case_id: str, reasons: list[str], payment: Mapping[str, Any], event: Any = None) -> None:
        self.sqs.send_message(
            QueueUrl=self.queue_url,
            MessageBody=json.dumps(
                {
                    "case_id": case_id,
                    "reason": reasons[0],
                    "reasons": reasons,
                    "payment": payment,
                    "event": event,
                },
                default=str,
            ),
            MessageAttributes={
                "reason": {"DataType": "String", "StringValue": "payment not applied"},
                "case_id": {"DataType": "String", "StringValue": case_id},
            },
        )


@dataclass(frozen=True)
class PaymentRecorder:
    """What recording a payment needs: the ledger, the audit trail, the parked queue and a clock."""

    ledger: ReceivablesLedger
    audit: AuditTrail
    parked: ParkedPayments
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)

    def record(self, payment: Payment, *, via: str, event: Any = None) -> dict[str, Any]:
        """Apply the payment to its invoice and append R2 (``invoice.paid``) or R3 (``invoice.credited``) to the
        invoice's case, once per (invoice, payment). An unknown invoice or another currency is audited on a case of
        the payment's own (``payment-<id>``) and parked, once; it raises nothing, so a loop over payments goes on.
        ``via`` says which entry point delivered it (``event``, ``daily read``)."""
        now = self.clock()
        claimant = uuid.uuid4().hex
        try:
            claim = self.ledger.claim(payment, now=now, claimant=claimant)
        except PaymentNotApplicable as error:
            return self._not_applied(payment, str(error), via=via, event=event, now=now)
        base = {"payment_id": payment.id, "kind": payment.kind, "invoice_id": payment.invoice_id}
        if claim.status in ("recorded", "in_progress"):
            return {
                **base,
                "outcome": "duplicate",
                "case_id": claim.receivable.case_id,
                "status": claim.status,
            }
        record = self._record(payment, claim, via)
        self.ledger.mark_recorded(payment, claimant=claimant, now=self.clock())
        return {
            **base,
            "outcome": record["outcome"],
            "case_id": claim.receivable.case_id,
            "data": record["data"],
        }

    def _record(self, payment: Payment, claim: Claim, via: str) -> dict[str, Any]:
        receivable, entry = claim.receivable, claim.entry
        rate = receivable.conversion_rate
        amount, open_after = Decimal(entry["amount"]), Decimal(entry["open_after"])
        common = {
            "invoice_id": receivable.invoice_id,
            "client_id": receivable.client_id,
            "amount": _money(amount),
            "currency": receivable.currency,
            # What it took off the invoice's open base (base before - base after), not its own rounded base: the
            # pieces then add up to the invoice's base to the cent, and a paid invoice leaves no cent open.
            "amount_base": _money(base_amount(open_after + amount, rate) - base_amount(open_after, rate)),
        }
        after = {"open_after": _money(open_after), "open_after_base": _money(base_amount(open_after, rate))}
        if payment.kind == "payment":
            paid_on = date.fromisoformat(entry["on"])
            action, outcome = "invoice.paid", "paid" if open_after == 0 else "partly_paid"
            data: dict[str, Any] = {
                **common,
                "payment_id": payment.id,
                "paid_on": paid_on.isoformat(),
                "invoice_date": receivable.invoice_date.isoformat(),
                "due_date": receivable.due_date.isoformat(),
                **after,
                "days_to_pay": (paid_on - receivable.invoice_date).days,
            }
            what = f"payment {payment.id} of {receivable.currency} {_money(amount)} on {paid_on}"
        else:
            action, outcome = "invoice.credited", "credited"
            data = {
                **common,
                "credit_id": payment.id,
                "credited_on": entry["on"],
                **after,
                "reason": payment.memo,
            }
            what = f"credit memo {payment.id} of {receivable.currency} {_money(amount)} on {entry['on']}"
        reasons = [
            f"{what} applied to invoice {receivable.invoice_number or receivable.invoice_id}; "
            f"{receivable.currency} {_money(open_after)} open after it (from the ERP, by {via})"
        ]
        if claim.overpaid > 0:
            data["unapplied"] = _money(claim.overpaid)
            what = "overpaid" if payment.kind == "payment" else "credited beyond what was open"
            reasons.append(
                f"{what}: {receivable.currency} {_money(claim.overpaid)} more than the invoice had open is "
                "left unapplied on the client's account; the invoice owes nothing (never less than nothing)"
            )
        if claim.status == "retaken":
            # The delivery that applied it stopped after applying: it may have recorded it before stopping (and
            # not marked it), so the case's trail is read first; a record already there is not written twice.
            id_key = "payment_id" if payment.kind == "payment" else "credit_id"
            if any(
                r.action == action and r.data.get(id_key) == payment.id
                for r in self.audit.records(receivable.case_id)
            ):
                return {"outcome": outcome, "data": data}
            reasons.append(
                "recorded by a later delivery: the one that applied it stopped before recording it"
            )
        self.audit.append(
            case_id=receivable.case_id,
            workflow=WORKFLOW,
            step=STEP,
            actor=ACTOR,
            action=action,
            outcome=outcome,
            reasons=reasons,
            input=payment.to_json_dict(),
            data=data,
        )
        return {"outcome": outcome, "data": data}

    def unreadable(self, event: Mapping[str, Any], errors: list[str]) -> dict[str, Any]:
        """An ``Invoice Paid`` event whose detail is not a payment: audited on a case of the event's own and parked
        with the errors (which never repeat the values sent), never raised: a redelivery would not read better."""
        case_id = payment_case_id(f"event-{event.get('id', 'unknown')}")
        reasons = [f"Invoice Paid from {event.get('source')} is not a payment: " + "; ".join(errors)][:1]
        reasons.append("the event is in the parked-events queue")
        self.audit.append(
            case_id=case_id,
            workflow=JOB_WORKFLOW,
            step=STEP,
            actor=ACTOR,
            action="payment.unreadable",
            outcome="parked",
            reasons=reasons,
            input=dict(event),
            data={"event_id": str(event.get("id")), "source": str(event.get("source")), "errors": errors},
        )
        self.parked.park(case_id, reasons, {}, dict(event))
        return {"outcome": "unreadable", "case_id": case_id, "errors": errors}

    def _not_applied(
        self, payment: Payment, reason: str, *, via: str, event: Any, now: datetime
    ) -> dict[str, Any]:
        case_id = payment_case_id(payment.id)
        first = self.ledger.note_unmatched(payment, reason, now=now)
        if first:
            reasons = [reason, f"from the ERP, by {via}; the payment is in the parked-events queue"]
            self.audit.append(
                case_id=case_id,
                workflow=JOB_WORKFLOW,
                step=STEP,
                actor=ACTOR,
                action="payment.not_applied",
                outcome="parked",
                reasons=reasons,
                input=payment.to_json_dict(),
                data={
                    "payment_id": payment.id,
                    "kind": payment.kind,
                    "invoice_id": payment.invoice_id,
                    "client_id": payment.client_id,
                    "amount": str(payment.amount),
                    "currency": payment.currency,
                },
            )
            self.parked.park(case_id, reasons, payment.to_json_dict(), event)
        return {
            "payment_id": payment.id,
            "kind": payment.kind,
            "invoice_id": payment.invoice_id,
            "outcome": "not_applied",
            "case_id": case_id,
            "error": reason,
            "parked": first,
        }


def payment_case_id(payment_id: str) -> str:
    safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in payment_id)
    return f"payment-{safe}"[:80]


# ------------------------------------------------------------------------------------------------------------
# Entry point (a): the ERP's Invoice Paid event
# ------------------------------------------------------------------------------------------------------------


class InvoicePaidEvent(Model):
    """What the ``invoice_paid`` rule delivers to ``record_invoice_payment``: the EventBridge event, its detail a
    ``Payment``. Envelope fields it does not read (account, region, resources, ...) are ignored."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True, hide_input_in_errors=True)

    id: str
    source: str
    detail_type: str
    detail: Payment

    @classmethod
    def from_event(cls, event: Mapping[str, Any]) -> InvoicePaidEvent:
        """The event as EventBridge sends it (``detail-type``), its detail read as JSON so dates and amounts come
        in as the ERP wrote them."""
        return cls(
            id=str(event.get("id")),
            source=str(event.get("source")),
            detail_type=str(event.get("detail-type")),
            detail=Payment.model_validate_json(json.dumps(event.get("detail"), default=str)),
        )


# ------------------------------------------------------------------------------------------------------------
# Entry point (b): the daily read since the watermark
# ------------------------------------------------------------------------------------------------------------


def read_payments(erp: ReceivablesErpPort, recorder: PaymentRecorder, today: date) -> dict[str, Any]:
    """Page the ERP's payments and credit memos from the watermark (less the look-back) to ``today`` and record
    each. A payment that cannot be applied is parked and the read goes on; one that fails otherwise is counted,
    and then the watermark stays where it was, so the next read meets it again. Reading is idempotent throughout:
    a payment already applied records nothing."""
    mark, version = recorder.ledger.watermark()
    start = (mark - timedelta(days=LOOKBACK_DAYS)) if mark else today - timedelta(days=FIRST_READ_DAYS)
    counts: dict[str, int] = {}
    failed: list[str] = []
    pages = 0
    token: str | None = None
    while True:
        page = erp.list_payments(start, today, token)
        pages += 1
        for payment in page.items:
            try:
                result = recorder.record(payment, via="daily read")
            except Exception as error:  # one payment's failure must not stop the others
                failed.append(f"{payment.kind} {payment.id} on invoice {payment.invoice_id}: {error}"[:300])
                continue
            counts[result["outcome"]] = counts.get(result["outcome"], 0) + 1
        token = page.next_token
        if not token:
            break
    summary = {"since": start.isoformat(), "until": today.isoformat(), "pages": pages, "outcomes": counts}
    advanced = False
    if not failed:
        advanced = recorder.ledger.advance_watermark(max(today, mark or today), version, summary)
    return {
        **summary,
        "failed": failed[:20],
        "failures": len(failed),
        "watermark": (today if advanced else mark or None),
        "watermark_advanced": advanced,
    }


def outcomes_text(outcomes: Iterable[tuple[str, int]]) -> str:
    return ", ".join(f"{n} {name.replace('_', ' ')}" for name, n in sorted(outcomes)) or "no payments"
