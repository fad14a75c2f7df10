"""Amazon Textract for the tests: responses in Textract's own shapes, and a fake of the service in this process.

``analysis_pages`` turns the text lines of a document into what GetDocumentAnalysis returns for it (PAGE, LINE
and WORD blocks with geometry, split into ``NextToken`` pages). ``FakeTextract`` answers the Textract calls of
the handlers running in the local runtime through a ``before-call`` hook on boto3's default session (the
mechanism the runtime uses for Lambda), and plays SNS: once the started job's token is stored, it delivers the
job's completion notice to ``textract_completed``, as the subscription does in AWS.
"""

from __future__ import annotations

import io
import json
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.awsrequest import AWSResponse
from pypdf import PdfWriter

from backoffice.extraction import NormalizedDocument, read_local_document
from backoffice.extraction.textract_backend import job_tag
from backoffice.local.runtime import LocalRuntime
from infra.catalog import Ref


def scanned_pdf(pages: int = 2) -> bytes:
    """A PDF as a scanner without OCR makes it: pages and no text layer."""
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=612, height=792)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def lines_of(pdf: bytes) -> list[list[str]]:
    """The text lines of a digital PDF, page by page: what Textract would read from its scan."""
    document = read_local_document(pdf)
    assert isinstance(document, NormalizedDocument), "the original must be a digital PDF"
    return [[line.text for line in page.lines] for page in document.pages]


def _geometry(row: int) -> dict[str, Any]:
    top = 0.05 + 0.018 * row
    box = {"Width": 0.8, "Height": 0.015, "Left": 0.1, "Top": top}
    corners = [(0.1, top), (0.9, top), (0.9, top + 0.015), (0.1, top + 0.015)]
    return {"BoundingBox": box, "Polygon": [{"X": x, "Y": y} for x, y in corners]}


def analysis_pages(pages: Sequence[Sequence[str]], responses: int = 3) -> list[dict[str, Any]]:
    """GetDocumentAnalysis's answer for a document with these lines, as ``responses`` NextToken pages."""
    blocks: list[dict[str, Any]] = []
    for number, lines in enumerate(pages, start=1):
        content: list[dict[str, Any]] = []
        for row, text in enumerate(lines):
            words = [
                {
                    "BlockType": "WORD",
                    "Id": f"w-{number}-{row}-{index}",
                    "Page": number,
                    "Text": word,
                    "TextType": "PRINTED",
                    "Confidence": 99.1,
                    "Geometry": _geometry(row),
                }
                for index, word in enumerate(text.split())
            ]
            content.append(
                {
                    "BlockType": "LINE",
                    "Id": f"l-{number}-{row}",
                    "Page": number,
                    "Text": text,
                    "Confidence": 99.3,
                    "Geometry": _geometry(row),
                    "Relationships": [{"Type": "CHILD", "Ids": [w["Id"] for w in words]}],
                }
            )
            content.extend(words)
        line_ids = [block["Id"] for block in content if block["BlockType"] == "LINE"]
        blocks.append(
            {
                "BlockType": "PAGE",
                "Id": f"p-{number}",
                "Page": number,
                "Geometry": _geometry(0),
                "Relationships": [{"Type": "CHILD", "Ids": line_ids}],
            }
        )
        blocks.extend(content)
    size = -(-len(blocks) // responses)
    answer = []
    for index in range(responses):
        page: dict[str, Any] = {
            "JobStatus": "SUCCEEDED",
            "DocumentMetadata": {"Pages": len(pages)},
            "AnalyzeDocumentModelVersion": "1.0",
            "Blocks": blocks[index * size : (index + 1) * size],
        }
        if index < responses - 1:
            page["NextToken"] = f"page-{index + 2}"
        answer.append(page)
    return answer


def sns_notice(
    job_id: str, case_id: str, status: str = "SUCCEEDED", api: str = "StartDocumentAnalysis"
) -> dict[str, Any]:
    """The Lambda event of Textract's completion notice, as the SNS subscription delivers it."""
    message = {
        "JobId": job_id,
        "Status": status,
        "API": api,
        "JobTag": job_tag(case_id),
        "Timestamp": 1795000123456,
        "DocumentLocation": {"S3ObjectName": "scan.pdf", "S3Bucket": "documents"},
    }
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "Sns": {"Type": "Notification", "Message": json.dumps(message), "Subject": None},
            }
        ]
    }


@dataclass
class FakeTextract:
    """Textract's asynchronous document analysis for the handlers in the local runtime.

    ``results`` maps an S3 key to the GetDocumentAnalysis pages of that document. Each started job is recorded in
    ``started`` (the request as the handler sent it); its notice is delivered once its task token is stored.
    """

    runtime: LocalRuntime
    results: dict[str, list[dict[str, Any]]]
    started: list[dict[str, Any]] = field(default_factory=list)
    notices: list[tuple[dict[str, Any] | None, dict[str, Any] | None]] = field(default_factory=list)
    _jobs: dict[str, str] = field(default_factory=dict)  # job id -> S3 key

    def install(self) -> None:
        assert boto3.DEFAULT_SESSION is not None, "start the runtime first: it sets up the default session"
        events = boto3.DEFAULT_SESSION.events
        events.register(
            "before-call.textract.StartDocumentAnalysis", self._start, unique_id="fake-textract-start"
        )
        events.register("before-call.textract.GetDocumentAnalysis", self._get, unique_id="fake-textract-get")

    def _start(self, params: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        request = json.loads(params["body"])
        self.started.append(request)
        job_id = uuid.uuid4().hex
        self._jobs[job_id] = request["DocumentLocation"]["S3Object"]["Name"]
        case_id = request["JobTag"]
        threading.Thread(target=self._notify_when_waiting, args=(job_id, case_id), daemon=True).start()
        return _response(params, {"JobId": job_id})

    def _get(self, params: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        request = json.loads(params["body"])
        pages = self.results[self._jobs[request["JobId"]]]
        index = int(request["NextToken"].split("-")[1]) - 1 if request.get("NextToken") else 0
        return _response(params, pages[index])

    def _notify_when_waiting(self, job_id: str, case_id: str) -> None:
        """SNS delivers the notice after the job finishes; the start handler stores the token just after the job
        starts, so the notice goes out once the token is there (as in AWS, where a job takes seconds)."""
        dynamodb = self.runtime.client("dynamodb")
        table = self.runtime.resolve(Ref("table_name", "textract_jobs"))
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if dynamodb.get_item(TableName=table, Key={"job_id": {"S": job_id}}).get("Item"):
                self.notices.append(
                    self.runtime.lambdas.invoke("textract_completed", sns_notice(job_id, case_id))
                )
                return
            time.sleep(0.02)
        raise AssertionError(f"the task token of job {job_id} was never stored")


def _response(params: dict[str, Any], body: dict[str, Any]) -> tuple[AWSResponse, dict[str, Any]]:
    return AWSResponse(params.get("url", ""), 200, {}, None), {
        **body,
        "ResponseMetadata": {"HTTPStatusCode": 200},
    }
