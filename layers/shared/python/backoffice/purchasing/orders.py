"""'Create the purchase order' and 'Notify the vendor': the approved purchase as the vendor's purchase order in the
ERP, once per request, and the vendor's e-mail.

The order's idempotency key is ``purchase-<request id>`` (NetSuite: its externalId): a retried step, a resumed
case or a second delivery of the request finds the order the first created. The vendor's mail says what is ordered,
for how much and by when, and quotes the order's number; it carries no bank or tax data (the vendor record's are
never read into it) and every value is escaped by the template.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any, Protocol

from backoffice.connectors.ports import ErpPort, PurchasingErpPort
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
