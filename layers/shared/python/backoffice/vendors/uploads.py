"""Asking a vendor for missing documents by an upload link, and taking the upload.

The same rules as approval links: one link per request, a 192-bit id stored only as a hash, GET only renders the
form, a POST with the form's CSRF token and every missing file resumes the waiting workflow once (conditional write
before the callback), and expired, used and unknown links get their own page. Files go to S3 under the case; the
state machine receives pointers, never the documents.
"""

from __future__ import annotations

import contextlib
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.policy import default as default_policy
from html import escape
from typing import Any

from backoffice.approvals.service import Mailer, TaskCallback, TokenNoLongerValid
from backoffice.approvals.store import ApprovalStore, StaleState, csrf_hash, link_hash
from backoffice.audit import Actor, AuditTrail

DOCUMENT_NAMES = {
    "w9": "IRS Form W-9",
    "coi": "Certificate of insurance",
    "bank_letter": "Bank account letter",
}
MAX_UPLOAD_BYTES = 5 * 1024 * 1024  # API Gateway and Lambda cap a request near 6 MB
SYSTEM = Actor.system("vendor_documents")


@dataclass
class UploadPage:
    kind: str  # form | received | expired | used | unknown | invalid
    status: int
    missing: list[str]
    vendor: str = ""
    csrf: str | None = None
    message: str | None = None


@dataclass
class VendorUploads:
    store: ApprovalStore
    audit: AuditTrail
    mailer: Mailer
    callback: TaskCallback
    s3: Any
    bucket: str
    base_url: str
    deadline_seconds: int = 7 * 24 * 3600

    def request(self, payload: dict[str, Any]) -> dict[str, Any]:
        """E-mail the vendor contact one link to upload the missing documents; the task token waits server-side."""
        now = datetime.now(UTC)
        link_id = secrets.token_urlsafe(24)
        record = {
            "case_id": payload["case_id"],
            "workflow": "vendor_approval",
            "vendor": payload["vendor_legal_name"],
            "contact": payload["contact_email"].lower(),
            "missing": list(payload["missing"]),
            "task_token": payload["task_token"],
            "created_at": now.isoformat(),
            "expires_at": (now + timedelta(seconds=self.deadline_seconds)).isoformat(),
            "csrf_hashes": [],
            "execution_arn": payload.get("execution_arn"),
        }
        self._put(link_hash(link_id), record, expected=None)
        self._send(record, link_id, reminder=False)
        names = ", ".join(DOCUMENT_NAMES.get(d, d) for d in record["missing"])
        self.audit.append(
            case_id=record["case_id"],
            workflow="vendor_approval",
            step="collect vendor documents",
            actor=SYSTEM,
            action="documents.requested",
            outcome="pending",
            reasons=[f"missing: {names}; asked {record['contact']} by upload link"],
            data={"missing": record["missing"], "expires_at": record["expires_at"], "channel": "email"},
            execution_arn=record["execution_arn"],
        )
        return {"requested": record["missing"], "expires_at": record["expires_at"]}

    def remind(self, *, after_seconds: int, now: datetime | None = None) -> list[str]:
        """Re-send upload requests still open after ``after_seconds`` with a fresh link; the old link dies."""
        now = now or datetime.now(UTC)
        reminded = []
        for item in self.store._scan("upload", "PENDING"):
            record = json.loads(item["body"]["S"])
            last = datetime.fromisoformat(record.get("last_sent_at") or record["created_at"])
            if (now - last).total_seconds() < after_seconds or now >= datetime.fromisoformat(
                record["expires_at"]
            ):
                continue
            record["status"] = "REPLACED"
            try:
                self._put(item["pk"]["S"].split("#", 1)[1], record, expected="PENDING")
            except StaleState:
                continue
            link_id = secrets.token_urlsafe(24)
            fresh = {**record, "status": "PENDING", "csrf_hashes": [], "last_sent_at": now.isoformat()}
            self._put(link_hash(link_id), fresh, expected=None)
            self._send(fresh, link_id, reminder=True)
            self.audit.append(
                case_id=record["case_id"],
                workflow="vendor_approval",
                step="collect vendor documents",
                actor=SYSTEM,
                action="documents.reminded",
                outcome="pending",
                reasons=[f"still missing: {', '.join(DOCUMENT_NAMES.get(d, d) for d in record['missing'])}"],
                data={"channel": "email", "expires_at": record["expires_at"]},
                execution_arn=record.get("execution_arn"),
            )
            reminded.append(str(record["case_id"]))
        return reminded

    def view(self, link_id: str) -> UploadPage:
        record, key = self._lookup(link_id)
        if record is None:
            return UploadPage("unknown", 404, [])
        dead = self._dead(record)
        if dead:
            return dead
        csrf = secrets.token_urlsafe(24)
        record["csrf_hashes"] = [*record["csrf_hashes"][-4:], csrf_hash(csrf)]
        with contextlib.suppress(StaleState):
            self._put(key, record, expected="PENDING")
        return UploadPage("form", 200, record["missing"], record["vendor"], csrf=csrf)

    def receive(
        self, link_id: str, content_type: str, body: bytes, *, ip: str | None, user_agent: str | None
    ) -> UploadPage:
        record, key = self._lookup(link_id)
        if record is None:
            self._refuse(None, "unknown", "the upload link is not one this system issued", ip, user_agent)
            return UploadPage("unknown", 404, [])
        dead = self._dead(record)
        if dead:
            self._refuse(record, dead.kind, f"the upload link is {dead.kind}", ip, user_agent)
            return dead
        fields, files = parse_multipart(content_type, body)
        if not fields.get("csrf") or csrf_hash(fields["csrf"]) not in record["csrf_hashes"]:
            self._refuse(
                record, "missing_csrf", "the form did not come from this link's page", ip, user_agent
            )
            return UploadPage(
                "invalid", 403, record["missing"], record["vendor"], message="Please open the link again."
            )
        absent = [d for d in record["missing"] if not files.get(d)]
        too_big = [d for d, data in files.items() if len(data) > MAX_UPLOAD_BYTES]
        not_pdf = [d for d, data in files.items() if data and not data.startswith(b"%PDF")]
        if absent or too_big or not_pdf:
            problems = [f"{DOCUMENT_NAMES.get(d, d)} is missing" for d in absent]
            problems += [f"{DOCUMENT_NAMES.get(d, d)} is over 5 MB" for d in too_big]
            problems += [f"{DOCUMENT_NAMES.get(d, d)} is not a PDF" for d in not_pdf]
            return UploadPage(
                "form",
                400,
                record["missing"],
                record["vendor"],
                csrf=fields["csrf"],
                message="; ".join(problems),
            )
        record["status"] = "RECEIVED"
        try:
            self._put(key, record, expected="PENDING")
        except StaleState:
            return UploadPage("used", 409, [], record["vendor"])
        documents = {}
        for document_type in record["missing"]:
            s3_key = f"cases/{record['case_id']}/vendor/{document_type}.pdf"
            put = self.s3.put_object(
                Bucket=self.bucket, Key=s3_key, Body=files[document_type], ContentType="application/pdf"
            )
            documents[document_type] = {
                "bucket": self.bucket,
                "key": s3_key,
                "version_id": put.get("VersionId"),
            }
        self.audit.append(
            case_id=record["case_id"],
            workflow="vendor_approval",
            step="collect vendor documents",
            actor=Actor.user(record["contact"]),
            action="documents.received",
            outcome="received",
            reasons=[f"uploaded: {', '.join(DOCUMENT_NAMES.get(d, d) for d in documents)}"],
            data={
                "documents": list(documents),
                "channel": "upload link",
                "ip": ip,
                "user_agent": (user_agent or "")[:256],
            },
            execution_arn=record.get("execution_arn"),
        )
        try:
            self.callback.succeed(record["task_token"], {"documents": documents})
        except TokenNoLongerValid:
            return UploadPage("expired", 410, [], record["vendor"])
        return UploadPage("received", 200, [], record["vendor"])

    # -- helpers -------------------------------------------------------------------------------------------------

    def _send(self, record: dict[str, Any], link_id: str, *, reminder: bool) -> None:
        url = f"{self.base_url.rstrip('/')}/uploads/{link_id}"
        names = ", ".join(DOCUMENT_NAMES.get(d, d) for d in record["missing"])
        prefix = "Reminder: " if reminder else ""
        text = (
            f"{prefix}To finish setting up {record['vendor']} as a supplier, we need: {names}.\n\n"
            f"Upload them here: {url}\n\nThe link works once and until {record['expires_at'][:10]}. "
            f"Case {record['case_id']}."
        )
        html = (
            f"<p>{escape(prefix)}To finish setting up <b>{escape(record['vendor'])}</b> as a supplier, we need: "
            f"{escape(names)}.</p><p><a href='{escape(url)}'>Upload the documents</a></p>"
            f"<p>The link works once and until {escape(record['expires_at'][:10])}. "
            f"Case {escape(record['case_id'])}.</p>"
        )
        subject = f"{prefix}Documents needed: {record['vendor']}"
        self.mailer.send(to=record["contact"], subject=subject, text=text, html=html)

    def _lookup(self, link_id: str) -> tuple[dict[str, Any] | None, str]:
        key = link_hash(link_id) if link_id and len(link_id) <= 128 else ""
        item = self.store._get(f"upload#{key}") if key else None
        return (json.loads(item["body"]["S"]) if item else None), key

    def _dead(self, record: dict[str, Any]) -> UploadPage | None:
        if record.get("status") == "RECEIVED":
            return UploadPage("used", 409, [], record["vendor"])
        if record.get("status") == "REPLACED":
            return UploadPage("replaced", 410, [], record["vendor"])
        if datetime.now(UTC) >= datetime.fromisoformat(record["expires_at"]):
            return UploadPage("expired", 410, [], record["vendor"])
        return None

    def _put(self, key: str, record: dict[str, Any], *, expected: str | None) -> None:
        record.setdefault("status", "PENDING")
        item = {
            "pk": {"S": f"upload#{key}"},
            "kind": {"S": "upload"},
            "status": {"S": record["status"]},
            "body": {"S": json.dumps(record)},
        }
        condition: dict[str, Any] = (
            {"ConditionExpression": "attribute_not_exists(pk)"}
            if expected is None
            else {
                "ConditionExpression": "#s = :e",
                "ExpressionAttributeNames": {"#s": "status"},
                "ExpressionAttributeValues": {":e": {"S": expected}},
            }
        )
        try:
            self.store.db.put_item(TableName=self.store.table, Item=item, **condition)
        except self.store.db.exceptions.ConditionalCheckFailedException:
            raise StaleState("the upload link changed first") from None

    def _refuse(
        self, record: dict[str, Any] | None, kind: str, why: str, ip: str | None, user_agent: str | None
    ) -> None:
        self.audit.append(
            case_id=record["case_id"] if record else "upload-refusals",
            workflow="vendor_approval",
            step="collect vendor documents",
            actor=Actor.system("anonymous"),
            action="documents.refused",
            outcome=kind,
            reasons=[why],
            data={"channel": "upload link", "ip": ip, "user_agent": (user_agent or "")[:256]},
            execution_arn=record.get("execution_arn") if record else None,
        )


def parse_multipart(content_type: str, body: bytes) -> tuple[dict[str, str], dict[str, bytes]]:
    """Form fields and files of a multipart/form-data body (the standard library's MIME parser)."""
    if not content_type.lower().startswith("multipart/form-data"):
        return {}, {}
    message = message_from_bytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body, policy=default_policy
    )
    fields: dict[str, str] = {}
    files: dict[str, bytes] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not name:
            continue
        decoded = part.get_payload(decode=True)
        payload = decoded if isinstance(decoded, bytes) else b""
        if part.get_filename():
            files[str(name)] = payload
        else:
            fields[str(name)] = payload.decode("utf-8", "replace")
    return fields, files


def render(page: UploadPage) -> str:
    from backoffice.approvals.pages import _document

    if page.kind == "form":
        inputs = "".join(
            f"<label for='{d}'>{escape(DOCUMENT_NAMES.get(d, d))} (PDF)</label>"
            f"<input type='file' id='{d}' name='{d}' accept='application/pdf' required>"
            for d in page.missing
        )
        message = f"<p class='warn'>{escape(page.message)}</p>" if page.message else ""
        return _document(
            "Upload documents",
            f"<h1>Documents for {escape(page.vendor)}</h1>{message}"
            "<form method='post' enctype='multipart/form-data' class='box'>"
            f"<input type='hidden' name='csrf' value='{escape(page.csrf or '')}'>{inputs}"
            "<p><button type='submit' class='approve'>Upload</button></p></form>",
        )
    titles = {
        "received": ("Thank you", "We received the documents; the review continues."),
        "expired": (
            "Link expired",
            "The time to upload has passed. Please contact the person who asked you.",
        ),
        "used": ("Already uploaded", "Documents were already uploaded with this link."),
        "unknown": ("Unknown link", "This upload link is not one we issued."),
        "invalid": ("Please start again", page.message or "Open the link from your e-mail again."),
        "replaced": ("Link replaced", "A newer e-mail replaced this link. Please use the newest one."),
    }
    title, text = titles.get(page.kind, ("Upload", ""))
    return _document(title, f"<h1>{escape(title)}</h1><p>{escape(text)}</p>")


def uploads_from_env() -> VendorUploads:
    """The upload service wired from the environment (the request and the receive handlers share it)."""
    import os

    from backoffice import aws
    from backoffice.approvals.adapters import SesMailer, StepFunctionsCallback

    return VendorUploads(
        store=ApprovalStore(os.environ["APPROVALS_TABLE_NAME"], aws.client("dynamodb")),
        audit=AuditTrail(os.environ["AUDIT_TABLE_NAME"]),
        mailer=SesMailer(aws.client("ses"), os.environ["APPROVALS_SENDER"]),
        callback=StepFunctionsCallback(aws.client("stepfunctions")),
        s3=aws.client("s3"),
        bucket=os.environ["DOCUMENTS_BUCKET_NAME"],
        base_url=os.environ["APPROVALS_BASE_URL"],
    )
