"""Asking a vendor for missing documents by an upload link, and taking the documents.

The same rules as approval links: one link per request, a 192-bit id stored only as a hash, GET only renders the
page, a POST with the page's CSRF token resumes the waiting workflow once (conditional write before the callback),
and expired, used and unknown links get their own page.

The documents themselves never pass through the API (its firewall refuses bodies over 8 KB, API Gateway over
10 MB): the page holds one presigned S3 POST form per missing document, signed by the page's function for exactly
``cases/<case>/vendor/<document>.pdf``, a PDF content type, at most ``MAX_UPLOAD_BYTES`` and
``UPLOAD_FORM_SECONDS``; S3 sends the browser back to the page. The vendor then confirms with a small form post, and
that confirmation resumes the case, not an S3 event: the vendor sees at once what is missing, too large or not a PDF
(each refusal audited with the address it came from), several documents resume the case once, and the single-use
link stays the one place a case is resumed. The state machine receives pointers (with the version checked), never
the documents.

What S3 itself refuses on the presigned POST (a broken or expired policy, a file over the size range, another
content type) never reaches a function: in AWS it is in the bucket's server access logs only. So the confirmation
is where those refusals reach the case's trail: it refuses, and audits with channel, address, user agent and
reason, every document it finds missing, too large or not a PDF, as well as expired, used, replaced and unknown
links, a form not from the link's page (CSRF) and a body in another content type than the page's form sends.

Every change of a link (a CSRF token added when the page is opened, ``RECEIVED``, ``REPLACED``) is a read-modify-write
guarded as the approvals store guards its items: the item carries ``version``, the write is conditioned on the
version read and on the status still being ``PENDING``, and a writer that loses reads again and re-applies its change
(``_update``). So two tabs opened at once both get a working form, and of two confirmations at once one resumes the
case and the other is refused, and audited, as a link already used (docs/concurrency.md).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any
from urllib.parse import parse_qs, urlsplit

from botocore.exceptions import ClientError

from backoffice.approvals.service import Mailer, TaskCallback, TokenNoLongerValid
from backoffice.approvals.store import (
    MAX_ATTEMPTS,
    ApprovalStore,
    StaleState,
    back_off,
    csrf_hash,
    item_version,
    link_hash,
)
from backoffice.audit import Actor, AuditTrail
from backoffice.mail_events import UPLOAD_TAG, VENDOR_UPLOAD_MAIL, mail_tags

DOCUMENT_NAMES = {
    "w9": "IRS Form W-9",
    "coi": "Certificate of insurance",
    "bank_letter": "Bank account letter",
}
MB = 1024 * 1024
# A scanned certificate runs to a few MB; the reader takes the whole file in memory (read_vendor_documents).
MAX_UPLOAD_BYTES = 20 * MB
# How long one page's upload forms stay valid: opening the link again gives fresh ones.
UPLOAD_FORM_SECONDS = 15 * 60
PDF = "application/pdf"
SYSTEM = Actor.system("vendor_documents")
# What a browser sends for the page's confirmation form: urlencoded as the page writes it, or multipart when a
# browser or tool submits it with a file-form's encoding. Anything else is not the page's form.
CONFIRMATION_CONTENT_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def document_key(case_id: str, document_type: str) -> str:
    """Where a vendor's document is kept: under the case (the grant vendor_uploads:readwrite covers this)."""
    return f"cases/{case_id}/vendor/{document_type}.pdf"


@dataclass(frozen=True)
class UploadForm:
    """One document's presigned S3 POST: where the form posts, its fields, and what S3 holds now."""

    document: str
    url: str
    fields: dict[str, str]
    received: int | None = None  # the size of the version now stored, None when nothing is


@dataclass(frozen=True)
class StoredDocument:
    key: str
    version_id: str | None
    size: int
    content_type: str = PDF


@dataclass
class UploadPage:
    kind: str  # form | received | expired | used | unknown | invalid | replaced
    status: int
    missing: list[str]
    vendor: str = ""
    csrf: str | None = None
    message: str | None = None
    forms: list[UploadForm] = field(default_factory=list)


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
            # The vendor's name as given: the e-mail's subject carries it on one clean line (mail_headers).
            data={
                "missing": record["missing"],
                "expires_at": record["expires_at"],
                "channel": "email",
                "vendor": record["vendor"],
            },
            execution_arn=record["execution_arn"],
        )
        return {"requested": record["missing"], "expires_at": record["expires_at"]}

    def remind(self, *, after_seconds: int, now: datetime | None = None) -> list[str]:
        """Re-send upload requests still open after ``after_seconds`` with a fresh link; the old link dies."""
        now = now or datetime.now(UTC)
        reminded = []
        for item in self.store.scan_items("upload", "PENDING"):
            record = json.loads(item["body"]["S"])
            last = datetime.fromisoformat(record.get("last_sent_at") or record["created_at"])
            if (now - last).total_seconds() < after_seconds or now >= datetime.fromisoformat(
                record["expires_at"]
            ):
                continue
            replaced, changed = self._update(item["pk"]["S"].split("#", 1)[1], _set_status("REPLACED"))
            if replaced is None or not changed:
                continue  # used or replaced meanwhile
            record = replaced
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
        """The upload page: one form per missing document posting it straight to S3, and the confirmation."""
        csrf = secrets.token_urlsafe(24)

        def add_token(record: dict[str, Any]) -> bool:
            if self._dead(record):
                return False
            record["csrf_hashes"] = [*record["csrf_hashes"][-4:], csrf_hash(csrf)]
            return True

        record, added = self._update(_key(link_id), add_token)
        if record is None:
            return UploadPage("unknown", 404, [])
        if not added:
            return self._dead(record) or UploadPage("used", 409, [], record["vendor"])
        return self._form(record, link_id, csrf)

    def confirm(
        self,
        link_id: str,
        fields: Mapping[str, str],
        *,
        ip: str | None,
        user_agent: str | None,
        content_type: str = CONFIRMATION_CONTENT_TYPES[0],
    ) -> UploadPage:
        """The vendor says the documents are in S3: check each one, then resume the waiting workflow once."""
        record, key = self._lookup(link_id)
        if record is None:
            self._refuse(None, "unknown", "the upload link is not one this system issued", ip, user_agent)
            return UploadPage("unknown", 404, [])
        dead = self._dead(record)
        if dead:
            self._refuse(record, dead.kind, f"the upload link is {dead.kind}", ip, user_agent)
            return dead
        kind = _media_type(content_type)
        if kind not in CONFIRMATION_CONTENT_TYPES:
            self._refuse(
                record,
                "unsupported_content_type",
                f"the confirmation came as {kind or 'no content type'}, not the page's form",
                ip,
                user_agent,
            )
            return UploadPage(
                "invalid", 415, record["missing"], record["vendor"], message="Please open the link again."
            )
        csrf = fields.get("csrf") or ""
        if not csrf or csrf_hash(csrf) not in record["csrf_hashes"]:
            self._refuse(
                record, "missing_csrf", "the form did not come from this link's page", ip, user_agent
            )
            return UploadPage(
                "invalid", 403, record["missing"], record["vendor"], message="Please open the link again."
            )
        stored = {d: self._stored(record["case_id"], d) for d in record["missing"]}
        absent = [d for d, found in stored.items() if found is None]
        too_big = [d for d, found in stored.items() if found and found.size > MAX_UPLOAD_BYTES]
        not_pdf = [d for d, found in stored.items() if found and d not in too_big and not self._is_pdf(found)]
        if absent or too_big or not_pdf:
            # A document S3 refused on the presigned POST (policy, size, content type) is one missing here.
            refused = [f"{_name(d)} has not been uploaded (or S3 refused it)" for d in absent]
            refused += [f"{_name(d)} is over {MAX_UPLOAD_BYTES // MB} MB" for d in too_big]
            refused += [f"{_name(d)} is not a PDF" for d in not_pdf]
            self._refuse(
                record,
                "invalid_document" if too_big or not_pdf else "missing_document",
                "; ".join(refused),
                ip,
                user_agent,
                documents={
                    **dict.fromkeys(absent, "missing"),
                    **dict.fromkeys(too_big, "too_large"),
                    **dict.fromkeys(not_pdf, "not_pdf"),
                },
            )
            problems = [f"{_name(d)} has not been uploaded yet" for d in absent]
            problems += [f"{_name(d)} is over {MAX_UPLOAD_BYTES // MB} MB" for d in too_big]
            problems += [f"{_name(d)} is not a PDF: please upload it again as a PDF" for d in not_pdf]
            return self._form(record, link_id, csrf, message="; ".join(problems), status=400)
        stored_record, received = self._update(key, _set_status("RECEIVED"))
        if stored_record is None or not received:
            # Another confirmation of this link won the race: refused and audited as a sequential one would be.
            dead = self._dead(stored_record or record) or UploadPage("used", 409, [], record["vendor"])
            self._refuse(record, dead.kind, f"the upload link is {dead.kind}", ip, user_agent)
            return dead
        record = stored_record
        # The version checked is the version the case reads: a later POST with a still-valid form cannot swap it.
        documents = {
            d: {"bucket": self.bucket, "key": found.key, "version_id": found.version_id}
            for d, found in stored.items()
            if found is not None
        }
        self.audit.append(
            case_id=record["case_id"],
            workflow="vendor_approval",
            step="collect vendor documents",
            actor=Actor.user(record["contact"]),
            action="documents.received",
            outcome="received",
            reasons=[f"uploaded: {', '.join(_name(d) for d in documents)}"],
            data={
                "documents": list(documents),
                "size_bytes": {d: found.size for d, found in stored.items() if found is not None},
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

    def upload_form(self, case_id: str, document_type: str, link_id: str) -> UploadForm:
        """A presigned POST for one document: S3 takes only a PDF content type, at most ``MAX_UPLOAD_BYTES``, at
        exactly this case's key, for ``UPLOAD_FORM_SECONDS``, then sends the browser back to the upload page."""
        back = self._link_url(link_id)
        post = self.s3.generate_presigned_post(
            Bucket=self.bucket,
            Key=document_key(case_id, document_type),
            Fields={"Content-Type": PDF, "success_action_redirect": back},
            Conditions=[
                ["content-length-range", 1, MAX_UPLOAD_BYTES],
                {"Content-Type": PDF},
                {"success_action_redirect": back},
            ],
            ExpiresIn=UPLOAD_FORM_SECONDS,
        )
        found = self._stored(case_id, document_type)
        return UploadForm(
            document_type, str(post["url"]), dict(post["fields"]), found.size if found else None
        )

    # -- helpers -------------------------------------------------------------------------------------------------

    def _form(
        self,
        record: dict[str, Any],
        link_id: str,
        csrf: str,
        *,
        message: str | None = None,
        status: int = 200,
    ) -> UploadPage:
        forms = [self.upload_form(record["case_id"], d, link_id) for d in record["missing"]]
        return UploadPage(
            "form", status, record["missing"], record["vendor"], csrf=csrf, message=message, forms=forms
        )

    def _stored(self, case_id: str, document_type: str) -> StoredDocument | None:
        """The document's current version in S3, None when the vendor has not uploaded it."""
        key = document_key(case_id, document_type)
        try:
            head = self.s3.head_object(Bucket=self.bucket, Key=key)
        except ClientError as error:
            # S3 answers a missing key with 404, or 403 to a caller without s3:ListBucket (this one has none).
            if error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") in (403, 404):
                return None
            raise
        return StoredDocument(
            key,
            head.get("VersionId"),
            int(head.get("ContentLength", 0)),
            str(head.get("ContentType") or ""),
        )

    def _is_pdf(self, found: StoredDocument) -> bool:
        # The form's Content-Type is what the browser claims; the first bytes are what the file is.
        if _media_type(found.content_type) != PDF:
            return False
        version = {"VersionId": found.version_id} if found.version_id else {}
        head = self.s3.get_object(Bucket=self.bucket, Key=found.key, Range="bytes=0-4", **version)
        return bytes(head["Body"].read()).startswith(b"%PDF")

    def _link_url(self, link_id: str) -> str:
        return f"{self.base_url.rstrip('/')}/uploads/{link_id}"

    def _send(self, record: dict[str, Any], link_id: str, *, reminder: bool) -> None:
        url = self._link_url(link_id)
        names = ", ".join(DOCUMENT_NAMES.get(d, d) for d in record["missing"])
        prefix = "Reminder: " if reminder else ""
        text = (
            f"{prefix}To finish setting up {record['vendor']} as a supplier, we need: {names}.\n\n"
            f"Upload them here: {url}\n\nThe link works once and until {record['expires_at'][:10]}. "
            f"Case {record['case_id']}."
        )
        from backoffice.html import render as render_template  # jinja2 only when something is rendered

        html = render_template(
            "vendors/upload_email.html.j2",
            prefix=prefix,
            vendor=record["vendor"],
            names=names,
            url=url,
            until=record["expires_at"][:10],
            case_id=record["case_id"],
        )
        subject = f"{prefix}Documents needed: {record['vendor']}"
        # Tagged with the link's stored key, so a bounce finds the case (backoffice.mail_events).
        tags = mail_tags(VENDOR_UPLOAD_MAIL, **{UPLOAD_TAG: link_hash(link_id)})
        self.mailer.send(to=record["contact"], subject=subject, text=text, html=html, tags=tags)

    def _lookup(self, link_id: str) -> tuple[dict[str, Any] | None, str]:
        key = _key(link_id)
        item = self.store.get_item(f"upload#{key}") if key else None
        return (json.loads(item["body"]["S"]) if item else None), key

    def _dead(self, record: dict[str, Any]) -> UploadPage | None:
        if record.get("status") == "RECEIVED":
            return UploadPage("used", 409, [], record["vendor"])
        if record.get("status") == "REPLACED":
            return UploadPage("replaced", 410, [], record["vendor"])
        if datetime.now(UTC) >= datetime.fromisoformat(record["expires_at"]):
            return UploadPage("expired", 410, [], record["vendor"])
        return None

    def _update(
        self, key: str, change: Callable[[dict[str, Any]], bool]
    ) -> tuple[dict[str, Any] | None, bool]:
        """Read the link, let ``change`` modify it (it returns False to leave it as it is), and write it back on the
        version read while it is still ``PENDING``; on a lost race read again and re-apply. Returns the link as
        stored (None for no link) and whether it changed."""
        if not key:
            return None, False
        for attempt in range(MAX_ATTEMPTS):
            item = self.store.get_item(f"upload#{key}")
            if item is None:
                return None, False
            record = json.loads(item["body"]["S"])
            if record.get("status", "PENDING") != "PENDING" or not change(record):
                return record, False
            try:
                self._put(key, record, expected="PENDING", version=item_version(item))
            except StaleState:
                back_off(attempt)
                continue
            return record, True
        raise StaleState(f"could not change the upload link after {MAX_ATTEMPTS} attempts")

    def _put(self, key: str, record: dict[str, Any], *, expected: str | None, version: int = 0) -> None:
        """Write the link as version ``version + 1``: a new link only if the key is free, else only if the stored
        link is still version ``version`` (links written before versions count as 0) and has status ``expected``."""
        record.setdefault("status", "PENDING")
        item = {
            "pk": {"S": f"upload#{key}"},
            "kind": {"S": "upload"},
            "status": {"S": record["status"]},
            "body": {"S": json.dumps(record)},
            "version": {"N": str(version + 1)},
        }
        condition: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(pk)"}
        if expected is not None:
            unchanged = "#v = :v" if version else "attribute_not_exists(#v) OR #v = :v"
            condition = {
                "ConditionExpression": f"#s = :e AND ({unchanged})",
                "ExpressionAttributeNames": {"#s": "status", "#v": "version"},
                "ExpressionAttributeValues": {":e": {"S": expected}, ":v": {"N": str(version)}},
            }
        try:
            self.store.db.put_item(TableName=self.store.table, Item=item, **condition)
        except self.store.db.exceptions.ConditionalCheckFailedException:
            raise StaleState("the upload link changed first") from None

    def _refuse(
        self,
        record: dict[str, Any] | None,
        kind: str,
        why: str,
        ip: str | None,
        user_agent: str | None,
        *,
        documents: Mapping[str, str] | None = None,
    ) -> None:
        data: dict[str, Any] = {
            "channel": "upload link",
            "ip": ip,
            "user_agent": (user_agent or "")[:256],
            "reason": why,
        }
        if documents:
            data["documents"] = dict(documents)
        self.audit.append(
            case_id=record["case_id"] if record else "upload-refusals",
            workflow="vendor_approval",
            step="collect vendor documents",
            actor=Actor.system("anonymous"),
            action="documents.refused",
            outcome=kind,
            reasons=[why],
            data=data,
            execution_arn=record.get("execution_arn") if record else None,
        )


def _key(link_id: str) -> str:
    """The link's key: the hash of its id, or "" for an id no link can have."""
    return link_hash(link_id) if link_id and len(link_id) <= 128 else ""


def _set_status(status: str) -> Callable[[dict[str, Any]], bool]:
    def change(record: dict[str, Any]) -> bool:
        record["status"] = status
        return True

    return change


def confirmation_fields(content_type: str, body: str) -> dict[str, str]:
    """The confirmation's fields: the page's form, urlencoded or multipart (other content types have none; the
    confirmation refuses them)."""
    kind = _media_type(content_type)
    if kind == "application/x-www-form-urlencoded":
        return {k: v[-1] for k, v in parse_qs(body or "", keep_blank_values=True).items()}
    if kind == "multipart/form-data":
        head = f"Content-Type: {content_type}\r\n\r\n".encode()
        message = BytesParser(policy=HTTP).parsebytes(head + (body or "").encode())
        fields = {}
        for part in message.iter_parts() if message.is_multipart() else []:
            name = part.get_param("name", header="content-disposition")
            if isinstance(name, str) and part.get_filename() is None:
                fields[name] = str(part.get_content()).strip("\r\n")
        return fields
    return {}


def _media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def response_headers(page: UploadPage) -> dict[str, str]:
    """The pages' security headers, with the S3 endpoint the forms post to allowed as a form action."""
    from backoffice.approvals.pages import SECURITY_HEADERS

    headers = dict(SECURITY_HEADERS)
    origins = sorted({_origin(form.url) for form in page.forms})
    policy = headers.get("Content-Security-Policy")
    if origins and policy:
        directives = [d.strip() for d in policy.split(";") if d.strip()]
        directives = [d for d in directives if not d.startswith("form-action")]
        directives.append(" ".join(["form-action 'self'", *origins]))
        headers["Content-Security-Policy"] = "; ".join(directives)
    return headers


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _name(document_type: str) -> str:
    return DOCUMENT_NAMES.get(document_type, document_type)


def render(page: UploadPage) -> str:
    """The page's HTML, from ``vendors/templates`` and the approvals' page layout (escaped by default)."""
    from backoffice.html import render as render_template  # jinja2 only when something is rendered

    if page.kind == "form":
        return render_template(
            "vendors/upload.html.j2",
            title="Upload documents",
            vendor=page.vendor,
            message=page.message,
            forms=page.forms,
            document_names=DOCUMENT_NAMES,
            max_megabytes=MAX_UPLOAD_BYTES // MB,
            csrf=page.csrf or "",
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
    return render_template("approvals/message.html.j2", title=title, heading=title, text=text)


def uploads_from_env() -> VendorUploads:
    """The upload service wired from the environment (the request and the receive handlers share it)."""
    import os

    from backoffice import aws
    from backoffice.approvals.adapters import SesMailer, StepFunctionsCallback

    return VendorUploads(
        store=ApprovalStore(os.environ["APPROVALS_TABLE_NAME"], aws.client("dynamodb")),
        audit=AuditTrail(os.environ["AUDIT_TABLE_NAME"]),
        mailer=SesMailer(
            aws.client("ses"), os.environ["APPROVALS_SENDER"], os.environ.get("MAIL_CONFIGURATION_SET")
        ),
        callback=StepFunctionsCallback(aws.client("stepfunctions")),
        s3=aws.client("s3", signature_version="s3v4"),
        bucket=os.environ["DOCUMENTS_BUCKET_NAME"],
        base_url=os.environ["APPROVALS_BASE_URL"],
    )
