"""What happens when SES reports that a product mail bounced, was marked as spam or is delayed.

The mail's tags say what it was about (``backoffice.mail_events``): an approval mail goes to the approval service,
which audits it on the case and, for a permanent bounce or a complaint, escalates the level now when its approvers
can no longer reach the quorum (``Approvals.mail_undeliverable``); a vendor's upload request is audited on its case,
and the operators are told, because the vendor never gets the link; a mail that names neither is logged and counted
(the ``MailEventsUntraced`` metric), since there is no case to put it on.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from backoffice.approvals.service import Approvals, Notifier, mail_event_key
from backoffice.approvals.store import ApprovalStore
from backoffice.audit import Actor, AuditTrail
from backoffice.mail_events import (
    APPROVAL_MAIL,
    CASE_TAG,
    PROCESS_REPORT_MAIL,
    PURPOSE_TAG,
    REQUEST_TAG,
    UPLOAD_TAG,
    VENDOR_UPLOAD_MAIL,
    MailEvent,
    MailTrouble,
    tags_of,
    troubles,
)

UPLOAD_STEP = "collect vendor documents"
REPORT_STEP = "publish process report"


@dataclass
class UndeliveredMail:
    approvals: Approvals
    store: ApprovalStore
    audit: AuditTrail
    notifier: Notifier

    def handle(self, event: MailEvent) -> list[dict[str, Any]]:
        """One result per recipient the event is about (``outcome`` says what was done)."""
        tags = tags_of(event.mail)
        purpose = tags.get(PURPOSE_TAG)
        results = []
        for trouble in troubles(event):
            if purpose == APPROVAL_MAIL and tags.get(REQUEST_TAG):
                results.append(self.approvals.mail_undeliverable(tags[REQUEST_TAG], trouble))
            elif purpose == VENDOR_UPLOAD_MAIL and tags.get(UPLOAD_TAG):
                results.append(self._upload_request(tags[UPLOAD_TAG], trouble))
            elif purpose == PROCESS_REPORT_MAIL and tags.get(CASE_TAG):
                results.append(self._process_report(tags[CASE_TAG], trouble))
            else:
                results.append(_untraced(trouble, purpose))
        return results

    def _upload_request(self, key: str, trouble: MailTrouble) -> dict[str, Any]:
        item = self.store.get_item(f"upload#{key}")
        if item is None:
            return _untraced(trouble, VENDOR_UPLOAD_MAIL)
        record = json.loads(item["body"]["S"])
        case_id = str(record["case_id"])
        return self._record_once(
            trouble,
            case_id=case_id,
            workflow=str(record.get("workflow") or "vendor_approval"),
            step=UPLOAD_STEP,
            action="documents.undeliverable",
            what_now="the vendor did not get the upload link; ask for a working address",
            data={"vendor": record.get("vendor")},
            execution_arn=record.get("execution_arn"),
            notice=(
                f"Upload request bounced: {record.get('vendor') or case_id}",
                f"For case {case_id}, {trouble.summary()}. The vendor did not get the upload link: "
                "ask procurement for a working contact address.",
            ),
        )

    def _process_report(self, case_id: str, trouble: MailTrouble) -> dict[str, Any]:
        """A process owner's weekly report mail: on that publication's trail; a permanent failure tells the
        operators, since the owner will not see this week's report unless someone fixes the address."""
        return self._record_once(
            trouble,
            case_id=case_id,
            workflow=PROCESS_REPORT_MAIL,
            step=REPORT_STEP,
            action="process_report.undeliverable",
            what_now="the process owner did not get the report link; fix process_report_recipients",
            data={},
            execution_arn=None,
            notice=(
                f"Process report mail bounced: {trouble.recipient}",
                f"For {case_id}, {trouble.summary()}. Fix the address in the firm configuration's "
                "process_report_recipients.",
            ),
        )

    def _record_once(
        self,
        trouble: MailTrouble,
        *,
        case_id: str,
        workflow: str,
        step: str,
        action: str,
        what_now: str,
        data: dict[str, Any],
        execution_arn: str | None,
        notice: tuple[str, str],
    ) -> dict[str, Any]:
        """Audit the trouble on the case once (a redelivered event is a duplicate); a permanent one also tells
        the operators (``notice``: subject and message), with ``what_now`` on the record."""
        result = {"case_id": case_id, "recipient": trouble.recipient}
        outcome = "undeliverable" if trouble.permanent else "recorded"
        # Released if recording or telling fails, so the redelivery or Lambda's retry does it (store.claimed).
        with self.store.claimed(mail_event_key(trouble), datetime.now(UTC).isoformat()) as won:
            if not won:
                return {**result, "outcome": "duplicate"}
            self.audit.append(
                case_id=case_id,
                workflow=workflow,
                step=step,
                actor=Actor.system("ses"),
                action=action,
                outcome=outcome,
                reasons=[trouble.summary(), *([what_now] if trouble.permanent else [])],
                data={**data, **trouble.audit_fields()},
                execution_arn=execution_arn,
            )
            if trouble.permanent:
                subject, message = notice
                self.notifier.publish(subject=subject, message=message, kind=action)
        return {**result, "outcome": outcome}


def _untraced(trouble: MailTrouble, purpose: str | None) -> dict[str, Any]:
    return {"outcome": "untraced", "recipient": trouble.recipient, "purpose": purpose, "event": trouble.kind}


__all__ = ["UndeliveredMail"]
