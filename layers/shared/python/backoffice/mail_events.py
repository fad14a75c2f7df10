"""What SES says about a mail after it was sent: bounces, complaints and delivery delays, as event publishing
delivers them through SNS.

Every mail of the product is sent with the configuration set the stack creates (``MAIL_CONFIGURATION_SET``), whose
event destination publishes Bounce, Complaint and DeliveryDelay records to the ``mail_events`` topic; the
``handle_mail_event`` function is subscribed to it. The models read SES's own record format (SES Developer Guide,
"Contents of event data that Amazon SES publishes to Amazon SNS"); SES adds fields over time, so unknown ones are
ignored, not refused. Identity feedback notifications (``notificationType`` instead of ``eventType``) read the same.

A mail is traced back to what it was about by the message tags it was sent with (SES copies a configuration set's
mail's tags into each of its events as ``mail.tags``): ``purpose`` (``approval`` or ``vendor_upload``) and the id of
the approval request or upload link. Tags, not a lookup by message id, because an event may arrive before the sender
stored the id (the local mailbox simulator and a fast bounce both can); the id is still kept with the approval link.
SES accepts tag names and values of ASCII letters, digits, ``_`` and ``-`` only (at most 256 characters).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import AliasChoices, ConfigDict, Field
from pydantic.alias_generators import to_camel

from backoffice.models.envelope import Model

# Message tags the product sends every mail with, and the purposes they name.
PURPOSE_TAG = "purpose"
REQUEST_TAG = "request"  # an approval request's id
UPLOAD_TAG = "upload"  # an upload link's stored key (the hash of the link id: it opens nothing)
CASE_TAG = "case"  # the case a mail belongs to, where no stored record leads to it (the weekly report's)
APPROVAL_MAIL = "approval"
VENDOR_UPLOAD_MAIL = "vendor_upload"
PROCESS_REPORT_MAIL = "process_report"

_TAG_TEXT = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


def valid_tag(text: str) -> bool:
    """Whether SES accepts ``text`` as a message tag's name or value."""
    return bool(_TAG_TEXT.match(text))


class _SesRecord(Model):
    model_config = ConfigDict(
        extra="ignore",
        frozen=True,
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        hide_input_in_errors=True,
    )


class BouncedRecipient(_SesRecord):
    email_address: str
    action: str | None = None
    status: str | None = None
    diagnostic_code: str | None = None


class Bounce(_SesRecord):
    bounce_type: Literal["Undetermined", "Permanent", "Transient"]
    bounce_sub_type: str
    bounced_recipients: list[BouncedRecipient]
    timestamp: str
    feedback_id: str
    reporting_mta: str | None = Field(default=None, alias="reportingMTA")


class ComplainedRecipient(_SesRecord):
    email_address: str


class Complaint(_SesRecord):
    complained_recipients: list[ComplainedRecipient]
    timestamp: str
    feedback_id: str
    complaint_sub_type: str | None = None
    complaint_feedback_type: str | None = None
    user_agent: str | None = None
    arrival_date: str | None = None


class DelayedRecipient(_SesRecord):
    email_address: str
    status: str | None = None
    diagnostic_code: str | None = None


class DeliveryDelay(_SesRecord):
    delay_type: str
    delayed_recipients: list[DelayedRecipient]
    timestamp: str
    expiration_time: str | None = None
    reporting_mta: str | None = Field(default=None, alias="reportingMTA")


class SentMail(_SesRecord):
    """The ``mail`` object: the message the event is about."""

    timestamp: str
    source: str
    message_id: str
    destination: list[str]
    source_arn: str | None = None
    sending_account_id: str | None = None
    tags: dict[str, list[str]] = Field(default_factory=dict)

    def tag(self, name: str) -> str | None:
        values = self.tags.get(name) or []
        return values[0] if values else None


class MailEvent(_SesRecord):
    event_type: str = Field(validation_alias=AliasChoices("eventType", "notificationType", "event_type"))
    mail: SentMail
    bounce: Bounce | None = None
    complaint: Complaint | None = None
    delivery_delay: DeliveryDelay | None = None


class _SnsMessage(Model):
    model_config = ConfigDict(extra="ignore", frozen=True, hide_input_in_errors=True)

    Message: str
    MessageId: str
    TopicArn: str | None = None


class _SnsRecord(Model):
    model_config = ConfigDict(extra="ignore", frozen=True, hide_input_in_errors=True)

    Sns: _SnsMessage


class SnsDelivery(Model):
    """The event Lambda gets from an SNS subscription (one record per invocation, as SNS delivers)."""

    model_config = ConfigDict(extra="ignore", frozen=True, hide_input_in_errors=True)

    Records: list[_SnsRecord] = Field(min_length=1)

    def mail_events(self) -> list[tuple[str, MailEvent]]:
        """(SNS message id, the SES event it carries) for each record."""
        return [
            (record.Sns.MessageId, MailEvent.model_validate(json.loads(record.Sns.Message)))
            for record in self.Records
        ]


@dataclass(frozen=True)
class MailTrouble:
    """One recipient a mail did not reach (or who marked it as spam), in the terms the audit trail keeps."""

    recipient: str
    kind: Literal["bounce", "complaint", "delay"]
    # The address will not work: a permanent bounce, or a complaint (mailing a person who called us spam again
    # harms the sender's reputation). A transient or undetermined bounce and a delay may still deliver.
    permanent: bool
    type: str  # Permanent / Transient / Undetermined, the complaint's feedback type, or the delay type
    subtype: str | None
    status: str | None
    diagnostic: str | None
    feedback_id: str | None
    message_id: str
    at: str

    def summary(self) -> str:
        """One line a person reads: what happened to the mail to whom, and SES's reason."""
        what = {"bounce": "bounced", "complaint": "was marked as spam by", "delay": "is delayed for"}[
            self.kind
        ]
        kind = "/".join(part for part in (self.type, self.subtype) if part)
        because = f": {self.diagnostic}" if self.diagnostic else ""
        if self.kind == "bounce":
            return f"the mail to {self.recipient} bounced ({kind}){because}"
        return f"the mail {what} {self.recipient} ({kind}){because}"

    def audit_fields(self) -> dict[str, Any]:
        return {
            "recipient": self.recipient,
            "event": self.kind,
            "permanent": self.permanent,
            "type": self.type,
            "subtype": self.subtype,
            "status": self.status,
            # SMTP replies quote the receiving server; kept short, they are evidence, not content.
            "diagnostic": (self.diagnostic or "")[:500] or None,
            "feedback_id": self.feedback_id,
            "message_id": self.message_id,
            "at": self.at,
        }


def troubles(event: MailEvent) -> list[MailTrouble]:
    """Each recipient the event is about; empty for event types the product does not act on (Send, Delivery)."""
    mail = event.mail
    if event.event_type == "Bounce" and event.bounce is not None:
        bounce = event.bounce
        return [
            MailTrouble(
                recipient=r.email_address.strip().lower(),
                kind="bounce",
                permanent=bounce.bounce_type == "Permanent",
                type=bounce.bounce_type,
                subtype=bounce.bounce_sub_type,
                status=r.status,
                diagnostic=r.diagnostic_code,
                feedback_id=bounce.feedback_id,
                message_id=mail.message_id,
                at=bounce.timestamp,
            )
            for r in bounce.bounced_recipients
        ]
    if event.event_type == "Complaint" and event.complaint is not None:
        complaint = event.complaint
        return [
            MailTrouble(
                recipient=r.email_address.strip().lower(),
                kind="complaint",
                permanent=True,
                type=complaint.complaint_feedback_type or "complaint",
                subtype=complaint.complaint_sub_type,
                status=None,
                diagnostic=None,
                feedback_id=complaint.feedback_id,
                message_id=mail.message_id,
                at=complaint.timestamp,
            )
            for r in complaint.complained_recipients
        ]
    if event.event_type == "DeliveryDelay" and event.delivery_delay is not None:
        delay = event.delivery_delay
        return [
            MailTrouble(
                recipient=r.email_address.strip().lower(),
                kind="delay",
                permanent=False,
                type=delay.delay_type,
                subtype=None,
                status=r.status,
                diagnostic=r.diagnostic_code,
                feedback_id=None,
                message_id=mail.message_id,
                at=delay.timestamp,
            )
            for r in delay.delayed_recipients
        ]
    return []


def mail_tags(purpose: str, **ids: str) -> dict[str, str]:
    """The tags a product mail is sent with; refuses what SES would refuse (``InvalidParameterValue``)."""
    tags = {PURPOSE_TAG: purpose, **ids}
    wrong = [f"{k}={v!r}" for k, v in tags.items() if not (valid_tag(k) and valid_tag(v))]
    if wrong:
        raise ValueError(f"SES message tags take letters, digits, '_' and '-' only: {', '.join(wrong)}")
    return tags


def tags_of(mail: SentMail) -> Mapping[str, str]:
    return {name: values[0] for name, values in mail.tags.items() if values}


__all__ = [
    "APPROVAL_MAIL",
    "CASE_TAG",
    "PROCESS_REPORT_MAIL",
    "PURPOSE_TAG",
    "REQUEST_TAG",
    "UPLOAD_TAG",
    "VENDOR_UPLOAD_MAIL",
    "MailEvent",
    "MailTrouble",
    "SentMail",
    "SnsDelivery",
    "mail_tags",
    "tags_of",
    "troubles",
    "valid_tag",
]
