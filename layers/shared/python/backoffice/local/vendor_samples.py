"""The sample firm's vendor requests: each scenario's PDFs in S3 and its Vendor Onboarding Requested detail."""

from __future__ import annotations

import hashlib
import os
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from backoffice.vendors.sample_documents import W9_FORM_ENV, w9_form_path
from backoffice.vendors.sample_vendors import SampleScenario, sample_documents, sample_scenarios

# The IRS's fillable W-9 (Rev. October 2018, public domain), packaged with the local runtime: data/SOURCES.md.
SAMPLE_W9 = Path(__file__).resolve().parent / "data" / "irs-fw9-rev-2018-10-blank.pdf"


def blank_w9() -> Path:
    """The blank IRS W-9 the samples fill: ``BACKOFFICE_W9_FORM`` when set, else the packaged copy.

    Raises ``W9FormUnavailable`` when the one chosen is not there (a named file that does not exist is an error,
    never a silent fall-back to the packaged form)."""
    return w9_form_path(os.environ.get(W9_FORM_ENV) or SAMPLE_W9)


def scenarios() -> dict[str, SampleScenario]:
    return {scenario.key: scenario for scenario in sample_scenarios()}


def put_vendor_request(
    s3: Any, bucket: str, scenario: SampleScenario, w9_form: Path
) -> tuple[dict[str, Any], dict[str, bytes]]:
    """Upload the scenario's documents and return (the request's event detail, the documents sent later)."""
    documents = sample_documents(scenario, w9_form=w9_form)
    later = {"w9": documents.pop("supplied_later")} if "supplied_later" in documents else {}
    attached = []
    for document_type, pdf in documents.items():
        key = f"procurement/requests/{scenario.key}/{document_type}.pdf"
        put = s3.put_object(Bucket=bucket, Key=key, Body=pdf, ContentType="application/pdf")
        attached.append(
            {
                "bucket": bucket,
                "key": key,
                "version_id": put.get("VersionId"),
                "content_type": "application/pdf",
                "document_type": document_type,
                "sha256": hashlib.sha256(pdf).hexdigest(),
                "size_bytes": len(pdf),
                "file_name": f"{document_type}.pdf",
            }
        )
    request = scenario.application.request.to_json_dict()
    request["documents"] = attached
    request["handles_data"] = scenario.application.handles_data
    if scenario.application.contact_phone:
        request["contact_phone"] = scenario.application.contact_phone
    return request, later


class _Forms(HTMLParser):
    """The forms of a page: action, enctype and fields (hidden inputs and the file input's name), in order."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, Any]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append({**found, "fields": [], "file": None})
        elif tag == "input" and self.forms:
            if found.get("type") == "file":
                self.forms[-1]["file"] = found.get("name")
            elif found.get("name"):
                self.forms[-1]["fields"].append((found["name"], found.get("value", "")))


def page_forms(page: str) -> list[dict[str, Any]]:
    parser = _Forms()
    parser.feed(page)
    return parser.forms


def post_file(
    action: str, fields: list[tuple[str, str]], file_field: str, data: bytes
) -> tuple[int, str, str]:
    """A browser submitting a multipart form with one file: (status, final URL, body), redirects followed."""
    import urllib.error
    import urllib.request
    import uuid

    boundary = uuid.uuid4().hex
    body = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields
    )
    body += (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{file_field}"; filename="document.pdf"\r\n'
            "Content-Type: application/pdf\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    request = urllib.request.Request(
        action,
        data=body,
        method="POST",
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return int(response.status), str(response.url), response.read().decode()
    except urllib.error.HTTPError as error:
        return int(error.code), action, error.read().decode()


def upload_documents(url: str, files: dict[str, bytes]) -> tuple[int, str]:
    """What the vendor does with the upload link: open the page, send each file with its form (straight to S3,
    which sends the browser back to the page), then confirm with the page's button."""
    import urllib.error
    import urllib.parse
    import urllib.request

    with urllib.request.urlopen(url, timeout=30) as response:
        page = response.read().decode()
    for document, data in files.items():
        form = next((f for f in page_forms(page) if f.get("data-document") == document), None)
        if form is None:
            return 400, page
        status, _, page = post_file(form["action"], form["fields"], form["file"], data)
        if status != 200:
            return status, page
    confirmation = next((f for f in page_forms(page) if not f.get("action")), None)
    if confirmation is None:
        return 400, page
    request = urllib.request.Request(
        url,
        data=urllib.parse.urlencode(confirmation["fields"]).encode(),
        method="POST",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return int(response.status), response.read().decode()
    except urllib.error.HTTPError as error:
        return int(error.code), error.read().decode()
