"""'Create the purchase order' and 'Notify the vendor': the approved purchase as the vendor's purchase order in the
ERP, once per request, and the vendor's e-mail.

The order's idempotency key is ``purchase-<request id>`` (NetSuite: its externalId): a retried step, a resumed
case or a second delivery of the request finds the order the first created. The vendor's mail says what is ordered,
for how much and by when, and quotes the order's number; it carries no bank or tax data (the vendor record's are
never read into it) and every value is escaped by the template.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from botocore.exceptions import ClientError

from backoffice.connectors.ports import ErpPort, PurchasingErpPort
from backoffice.idempotency import RecordBeingCreated
from backoffice.models import PurchaseRequested, VendorPurchaseOrder
from backoffice.purchasing.requests import money

ORDER_MAIL = "purchase_order"  # the tag SES copies into a bounce of the vendor's mail


class Mailer(Protocol):
    """The SES mailer's shape (``approvals.adapters.SesMailer``)."""

    def send(
        self, *, to: str, subject: str, text: str, html: str, tags: Mapping[str, str] | None = None
    ) -> str | None: ...


def order_key(request_id: str) -> str:
    return f"purchase-{request_id}"


def create_order(
    detail: PurchaseRequested,
    *,
    vendor_id: str,
    decided_by: Sequence[str],
    erp: PurchasingErpPort,
    vendors: ErpPort,
    today: date,
) -> dict[str, Any]:
    vendor = vendors.get_vendor(vendor_id)
    order = VendorPurchaseOrder(
        request_id=detail.request_id,
        vendor_id=vendor_id,
        project_id=detail.project_id,
        category=detail.category,
        description=detail.description,
        amount=detail.amount,
        currency=detail.currency,
        order_date=today,
        needed_by=detail.needed_by,
        requester_email=detail.requester_email,
        approved_by=[str(who) for who in decided_by],
    )
    created = erp.create_purchase_order(order, idempotency_key=order_key(detail.request_id))
    return {
        "order_id": created.id,
        "number": created.details.get("number") or created.id,
        "created": created.created,
        "vendor_email": str(vendor.email) if vendor.email else None,
        "vendor_name": vendor.doing_business_as or vendor.supplier_name,
    }


def notify_vendor(
    detail: PurchaseRequested, order: Mapping[str, Any], *, firm: str, mailer: Mailer | None
) -> dict[str, Any]:
    """Mail the vendor its order; a vendor without an e-mail is not mailed (procurement sends it from the ERP)."""
    to = order.get("vendor_email")
    if mailer is None or not to:
        return {"mailed": False, "reasons": ["the vendor has no e-mail in the ERP: not mailed"]}
    from backoffice.html import render as render_template  # jinja2 only when a mail is sent
    from backoffice.mail_events import mail_tags

    number = str(order["number"])
    amount = money(detail.amount, detail.currency)
    needed = detail.needed_by.isoformat() if detail.needed_by else None
    subject = f"Purchase order {number} from {firm}"
    text = "\n".join(
        [
            f"Dear {order['vendor_name']},",
            "",
            f"{firm} issues purchase order {number}:",
            f"- {detail.description}",
            f"- amount: {amount}",
            *([f"- needed by: {needed}"] if needed else []),
            "",
            f"Please quote {number} on your invoice. Questions: {detail.requester_email}.",
        ]
    )
    html = render_template(
        "purchasing/purchase_order_email.html.j2",
        firm=firm,
        vendor=order["vendor_name"],
        number=number,
        description=detail.description,
        amount=amount,
        needed_by=needed,
        contact=str(detail.requester_email),
    )
    mailer.send(to=str(to), subject=subject, text=text, html=html, tags=mail_tags(ORDER_MAIL))
    return {"mailed": True, "reasons": [f"purchase order {number} mailed to the vendor"]}


MAIL_LEASE = timedelta(
    seconds=60
)  # twice the function's 30 s timeout: a claim outlives the attempt that took it


@dataclass(frozen=True)
class OrderMails:
    """The vendor's mail of a purchase's order, sent once: ``order#<request id>`` / ``vendor-mail`` in the
    ``purchasing`` table. The step claims it (a conditional put: of two attempts at once, one sends), sends, then
    marks it sent; a failed send gives the claim back, so that the retry sends. An attempt that finds it sent
    answers as the first did; one that finds it claimed by a live attempt raises ``RecordBeingCreated`` (the step's
    Retry waits, then finds it sent). Not guarded: an attempt that dies after SES took the mail and before it marked
    it sent; after ``MAIL_LEASE`` the retry sends it again."""

    table: str
    dynamodb: Any

    def _key(self, request_id: str) -> dict[str, Any]:
        return {"pk": {"S": f"order#{request_id}"}, "sk": {"S": "vendor-mail"}}

    def claim(self, request_id: str, *, token: str, now: datetime) -> dict[str, Any] | None:
        """None: this attempt holds the claim and sends. Else the item another attempt left (``sent_at`` once sent)."""
        try:
            self.dynamodb.put_item(
                TableName=self.table,
                Item={**self._key(request_id), "owner": {"S": token}, "claimed_at": {"S": now.isoformat()}},
                ConditionExpression="attribute_not_exists(pk) OR "
                "(attribute_not_exists(sent_at) AND claimed_at < :stale)",
                ExpressionAttributeValues={":stale": {"S": (now - MAIL_LEASE).isoformat()}},
            )
            return None
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
        item = self.dynamodb.get_item(
            TableName=self.table, Key=self._key(request_id), ConsistentRead=True
        ).get("Item", {})
        return {k: v.get("S") for k, v in item.items() if "S" in v}

    def sent(self, request_id: str, *, token: str, now: datetime, message_id: str | None) -> None:
        self.dynamodb.update_item(
            TableName=self.table,
            Key=self._key(request_id),
            UpdateExpression="SET sent_at = :now, message_id = :m",
            ConditionExpression="#owner = :token",
            ExpressionAttributeNames={"#owner": "owner"},
            ExpressionAttributeValues={
                ":now": {"S": now.isoformat()},
                ":m": {"S": message_id or ""},
                ":token": {"S": token},
            },
        )

    def release(self, request_id: str, *, token: str) -> None:
        try:
            self.dynamodb.delete_item(
                TableName=self.table,
                Key=self._key(request_id),
                ConditionExpression="#owner = :token AND attribute_not_exists(sent_at)",
                ExpressionAttributeNames={"#owner": "owner"},
                ExpressionAttributeValues={":token": {"S": token}},
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise


def notify_vendor_once(
    detail: PurchaseRequested,
    order: Mapping[str, Any],
    *,
    firm: str,
    mailer: Mailer | None,
    mails: OrderMails,
    now: Callable[[], datetime],
) -> dict[str, Any]:
    """``notify_vendor``, once per request however often the step runs (``OrderMails``)."""
    if mailer is None or not order.get("vendor_email"):
        return notify_vendor(detail, order, firm=firm, mailer=mailer)
    token = uuid.uuid4().hex
    found = mails.claim(detail.request_id, token=token, now=now())
    if found is not None:
        if found.get("sent_at"):
            return {
                "mailed": True,
                "reasons": [
                    f"purchase order {order['number']} was mailed to the vendor at {found['sent_at']}: not sent again"
                ],
            }
        raise RecordBeingCreated(f"the vendor's mail of {detail.request_id} is being sent; retried shortly")
    recorder = _MessageId(mailer)
    try:
        said = notify_vendor(detail, order, firm=firm, mailer=recorder)
    except Exception:
        mails.release(detail.request_id, token=token)
        raise
    mails.sent(detail.request_id, token=token, now=now(), message_id=recorder.message_id)
    return said


class _MessageId:
    """The mailer, keeping the id SES gave the message."""

    def __init__(self, mailer: Mailer) -> None:
        self.mailer = mailer
        self.message_id: str | None = None

    def send(
        self, *, to: str, subject: str, text: str, html: str, tags: Mapping[str, str] | None = None
    ) -> str | None:
        self.message_id = self.mailer.send(to=to, subject=subject, text=text, html=html, tags=tags)
        return self.message_id
