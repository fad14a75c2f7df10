"""The Textract port against botocore's Stubber: the real request and response shapes of the Textract, S3 and
DynamoDB APIs are validated, no AWS account is needed.

The asynchronous flow: a task token is stored under the job id at start; the SNS completion notice reads every
NextToken page and gives back the normalized document and the token. Throttling and limit errors keep their own
names for the state machine's Retry; a failed job and a bad document come back as results, never as a retry loop.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber

from backoffice.extraction import normalize_textract_response
from backoffice.extraction.textract_backend import (
    AnalysisStarted,
    DynamoDbTaskTokenStore,
    InMemoryTaskTokenStore,
    JobCompletion,
    S3Document,
    TextractLimitExceeded,
    TextractSettings,
    TextractThrottled,
    UnknownTextractJob,
    analyze_single_page,
    begin_analysis,
    client_request_token,
    job_tag,
    on_job_completed,
)
from tests.fixture_files import textract_response

SETTINGS = TextractSettings(
    textract_sns_topic_arn="arn:aws:sns:us-east-1:123456789012:textract-done",
    textract_sns_role_arn="arn:aws:iam::123456789012:role/textract-publish",
    textract_output_bucket="backoffice-textract-output",
    textract_output_prefix="textract-output",
    textract_job_table_name="textract-jobs",
)
DOCUMENT = S3Document(
    bucket="backoffice-documents", key="vendors/v-42/coi.pdf", version_id="3HL4kqtJlcpXroDT.rmSpX"
)
CASE_ID = "vendor-onboard V-42/2026"
TASK_TOKEN = "AQCEAAAAKgAAAAMAAAAAAAAAAexampletoken"
NOW = 1_795_000_000.0
JOB_ID = "4f1c0b7e2e8d4d3a9c6b5a4f3e2d1c0b4f1c0b7e2e8d4d3a9c6b5a4f3e2d1c0b"


def fixture(name: str) -> dict[str, Any]:
    response = textract_response(name)
    response.pop("ResponseMetadata", None)
    return response


def client(service: str) -> Any:
    return boto3.client(
        service, region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
    )


@pytest.fixture
def aws() -> Iterator[dict[str, Any]]:
    clients = {name: client(name) for name in ("textract", "s3", "dynamodb")}
    stubs = {name: Stubber(c) for name, c in clients.items()}
    for stub in stubs.values():
        stub.activate()
    yield {
        "clients": clients,
        "stubs": stubs,
        "tokens": DynamoDbTaskTokenStore(clients["dynamodb"], "textract-jobs"),
    }
    for stub in stubs.values():
        stub.assert_no_pending_responses()
        stub.deactivate()


def expect_s3_checks(
    s3: Stubber, *, size: int = 256_534, head: bytes = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"
) -> None:
    s3.add_response(
        "head_object",
        {"ContentLength": size, "VersionId": DOCUMENT.version_id, "ContentType": "application/pdf"},
        {"Bucket": DOCUMENT.bucket, "Key": DOCUMENT.key, "VersionId": DOCUMENT.version_id},
    )
    s3.add_response(
        "get_object",
        {"Body": StreamingBody(io.BytesIO(head), len(head))},
        {
            "Bucket": DOCUMENT.bucket,
            "Key": DOCUMENT.key,
            "Range": "bytes=0-1023",
            "VersionId": DOCUMENT.version_id,
        },
    )


def pending_item(api: str = "document_analysis", document_type: str = "coi") -> dict[str, Any]:
    return {
        "job_id": {"S": JOB_ID},
        "task_token": {"S": TASK_TOKEN},
        "case_id": {"S": CASE_ID},
        "document_type": {"S": document_type},
        "api": {"S": api},
        "bucket": {"S": DOCUMENT.bucket},
        "key": {"S": DOCUMENT.key},
        "expires_at": {"N": str(int(NOW) + 8 * 24 * 3600)},
        "version_id": {"S": DOCUMENT.version_id or ""},
    }


def notice(status: str = "SUCCEEDED", api: str = "StartDocumentAnalysis") -> dict[str, Any]:
    """An SNS event for Lambda, as Textract publishes the completion of a job."""
    message = {
        "JobId": JOB_ID,
        "Status": status,
        "API": api,
        "JobTag": job_tag(CASE_ID),
        "Timestamp": 1795000123456,
        "DocumentLocation": {"S3ObjectName": DOCUMENT.key, "S3Bucket": DOCUMENT.bucket},
    }
    return {"Records": [{"EventSource": "aws:sns", "Sns": {"Message": json.dumps(message)}}]}


def split(response: dict[str, Any], parts: int) -> list[dict[str, Any]]:
    """A merged GetDocumentAnalysis result as the NextToken pages the API returns."""
    blocks = response["Blocks"]
    size = -(-len(blocks) // parts)
    pages = []
    for index in range(parts):
        page = {k: v for k, v in response.items() if k != "Blocks"}
        page["Blocks"] = blocks[index * size : (index + 1) * size]
        if index < parts - 1:
            page["NextToken"] = f"page-{index + 2}"
        pages.append(page)
    return pages


def test_a_multi_page_pdf_starts_a_job_and_its_notice_resumes_the_execution(aws: dict[str, Any]) -> None:
    # Given a two-page PDF certificate in S3 and a task token from the waiting execution
    textract, s3, dynamodb = (aws["stubs"][name] for name in ("textract", "s3", "dynamodb"))
    expect_s3_checks(s3)
    features = ["FORMS", "TABLES", "QUERIES"]
    token = client_request_token(DOCUMENT, "document_analysis", tuple(features))
    textract.add_response(
        "start_document_analysis",
        {"JobId": JOB_ID},
        {
            "DocumentLocation": {
                "S3Object": {"Bucket": DOCUMENT.bucket, "Name": DOCUMENT.key, "Version": DOCUMENT.version_id}
            },
            "FeatureTypes": features,
            "QueriesConfig": {"Queries": [{"Text": "Who is the insured?", "Alias": "INSURED"}]},
            "ClientRequestToken": token,
            "JobTag": "vendor-onboard-V-42-2026",
            "NotificationChannel": {
                "SNSTopicArn": SETTINGS.textract_sns_topic_arn,
                "RoleArn": SETTINGS.textract_sns_role_arn,
            },
            "OutputConfig": {"S3Bucket": "backoffice-textract-output", "S3Prefix": "textract-output"},
        },
    )
    dynamodb.add_response("put_item", {}, {"TableName": "textract-jobs", "Item": pending_item()})
    # When the analysis is started
    started = begin_analysis(
        **_clients(aws), document=DOCUMENT, document_type="coi", case_id=CASE_ID, task_token=TASK_TOKEN,
        settings=SETTINGS, clock=lambda: NOW,
    )  # fmt: skip
    # Then the job runs with an SNS notice (no polling), idempotent on the object version, tagged with the case
    assert started == AnalysisStarted(job_id=JOB_ID, api="document_analysis", client_request_token=token)

    # Given Textract's completion notice and a result in three NextToken pages
    merged = fixture("rp_async_2page_patient-intake_forms-tables.json")
    pages = split(merged, 3)
    dynamodb.add_response(
        "get_item",
        {"Item": pending_item()},
        {"TableName": "textract-jobs", "Key": {"job_id": {"S": JOB_ID}}, "ConsistentRead": True},
    )
    textract.add_response("get_document_analysis", pages[0], {"JobId": JOB_ID})
    textract.add_response("get_document_analysis", pages[1], {"JobId": JOB_ID, "NextToken": "page-2"})
    textract.add_response("get_document_analysis", pages[2], {"JobId": JOB_ID, "NextToken": "page-3"})
    # When the notice is handled
    completion = on_job_completed(notice(), textract=aws["clients"]["textract"], tokens=aws["tokens"])
    # Then every page was read, and the execution is resumed with the whole document and the profile's result
    assert isinstance(completion, JobCompletion)
    assert (completion.task_token, completion.job_id, completion.case_id) == (TASK_TOKEN, JOB_ID, CASE_ID)
    assert completion.error_name is None
    assert completion.document == normalize_textract_response(merged)
    assert completion.document is not None and completion.document.page_count == 2
    assert completion.result.document_type == "coi" and completion.result.page_count == 2


def _clients(aws: dict[str, Any]) -> dict[str, Any]:
    return {"textract": aws["clients"]["textract"], "s3": aws["clients"]["s3"], "tokens": aws["tokens"]}


def _start(aws: dict[str, Any], document_type: str = "coi") -> Any:
    return begin_analysis(
        **_clients(aws), document=DOCUMENT, document_type=document_type, case_id=CASE_ID, task_token=TASK_TOKEN,
        settings=SETTINGS, clock=lambda: NOW,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("code", "error"),
    [
        ("ThrottlingException", TextractThrottled),
        ("ProvisionedThroughputExceededException", TextractThrottled),
        ("LimitExceededException", TextractLimitExceeded),
    ],
)
def test_throttling_and_limits_keep_their_own_names_for_retry(
    aws: dict[str, Any], code: str, error: type
) -> None:
    # Given Textract refusing the start for load
    expect_s3_checks(aws["stubs"]["s3"])
    aws["stubs"]["textract"].add_client_error(
        "start_document_analysis", service_error_code=code, http_status_code=400
    )
    # When the analysis is started
    # Then the error is raised under its own name (the state machine's Retry names it), and no token is stored
    with pytest.raises(error, match=code):
        _start(aws)


def test_throttling_while_reading_the_result_is_raised_for_a_retry(aws: dict[str, Any]) -> None:
    # Given a completion notice, and Textract throttling the second page of the result
    pages = split(fixture("tx_async_2page-pdf_forms-tables.json"), 2)
    aws["stubs"]["dynamodb"].add_response("get_item", {"Item": pending_item()})
    aws["stubs"]["textract"].add_response("get_document_analysis", pages[0], {"JobId": JOB_ID})
    aws["stubs"]["textract"].add_client_error(
        "get_document_analysis", service_error_code="ThrottlingException"
    )
    # When the notice is handled
    # Then the throttling surfaces by name (the notice's Lambda retries; nothing half-read is resumed)
    with pytest.raises(TextractThrottled):
        on_job_completed(notice(), textract=aws["clients"]["textract"], tokens=aws["tokens"])


def test_a_failed_job_resumes_the_execution_with_its_error(aws: dict[str, Any]) -> None:
    # Given the notice of a failed job
    aws["stubs"]["dynamodb"].add_response("get_item", {"Item": pending_item()})
    aws["stubs"]["textract"].add_response(
        "get_document_analysis",
        {
            "JobStatus": "FAILED",
            "StatusMessage": "Request has unsupported document format",
            "DocumentMetadata": {"Pages": 0},
        },
        {"JobId": JOB_ID, "MaxResults": 1},
    )
    # When the notice is handled
    completion = on_job_completed(notice("FAILED"), textract=aws["clients"]["textract"], tokens=aws["tokens"])
    # Then the token comes back with TextractJobFailed and an error result to audit, for manual review
    assert (completion.task_token, completion.error_name) == (TASK_TOKEN, "TextractJobFailed")
    assert completion.document is None
    assert completion.result.status == "error" and completion.result.manual_review
    assert completion.result.error is not None and completion.result.error.kind == "textract_job_failed"
    assert completion.result.reasons == ["the Textract job failed", "Request has unsupported document format"]


def test_a_result_missing_a_page_is_an_error_result_not_a_crash(aws: dict[str, Any]) -> None:
    # Given a result that declares three pages but holds two
    result = fixture("tx_async_2page-pdf_forms-tables.json")
    result["DocumentMetadata"]["Pages"] = 3
    aws["stubs"]["dynamodb"].add_response("get_item", {"Item": pending_item()})
    aws["stubs"]["textract"].add_response("get_document_analysis", result, {"JobId": JOB_ID})
    # When the notice is handled
    completion = on_job_completed(notice(), textract=aws["clients"]["textract"], tokens=aws["tokens"])
    # Then the page count check fails the read, and the execution is resumed with the error to review
    assert completion.result.error is not None
    assert completion.result.error.kind == "textract_response_incomplete"
    assert "DocumentMetadata.Pages is 3" in completion.result.error.message


def test_an_invoice_goes_through_expense_analysis(aws: dict[str, Any]) -> None:
    # Given a two-page invoice PDF
    expect_s3_checks(aws["stubs"]["s3"])
    token = client_request_token(DOCUMENT, "expense_analysis")
    aws["stubs"]["textract"].add_response(
        "start_expense_analysis",
        {"JobId": JOB_ID},
        {
            "DocumentLocation": {
                "S3Object": {"Bucket": DOCUMENT.bucket, "Name": DOCUMENT.key, "Version": DOCUMENT.version_id}
            },
            "ClientRequestToken": token,
            "JobTag": "vendor-onboard-V-42-2026",
            "NotificationChannel": {
                "SNSTopicArn": SETTINGS.textract_sns_topic_arn,
                "RoleArn": SETTINGS.textract_sns_role_arn,
            },
            "OutputConfig": {"S3Bucket": "backoffice-textract-output", "S3Prefix": "textract-output"},
        },
    )
    aws["stubs"]["dynamodb"].add_response(
        "put_item", {}, {"TableName": "textract-jobs", "Item": pending_item("expense_analysis", "invoice")}
    )
    started = _start(aws, "invoice")
    assert isinstance(started, AnalysisStarted) and started.api == "expense_analysis"
    # And its result arrives as two NextToken pages, one ExpenseDocument each
    merged = fixture("rp_async_expense_2page_invoice.json")
    first = {**merged, "ExpenseDocuments": merged["ExpenseDocuments"][:1], "NextToken": "page-2"}
    second = {**merged, "ExpenseDocuments": merged["ExpenseDocuments"][1:]}
    aws["stubs"]["dynamodb"].add_response("get_item", {"Item": pending_item("expense_analysis", "invoice")})
    aws["stubs"]["textract"].add_response("get_expense_analysis", first, {"JobId": JOB_ID})
    aws["stubs"]["textract"].add_response(
        "get_expense_analysis", second, {"JobId": JOB_ID, "NextToken": "page-2"}
    )
    # When the notice is handled
    completion = on_job_completed(
        notice(api="StartExpenseAnalysis"), textract=aws["clients"]["textract"], tokens=aws["tokens"]
    )
    # Then both pages make one invoice whose eight lines add up to its total
    assert completion.result.value("total") == "5715.00"
    assert len(completion.result.records["line_items"]) == 8


@pytest.mark.parametrize(
    ("size", "head", "kind"),
    [
        (600 * 1024 * 1024, b"%PDF-1.7", "too_large"),
        (0, b"", "empty_document"),
    ],
    ids=["over 500 MB", "empty"],
)
def test_a_document_over_the_limits_is_an_error_result_without_a_job(
    aws: dict[str, Any], size: int, head: bytes, kind: str
) -> None:
    # Given an object in S3 that Textract cannot take
    aws["stubs"]["s3"].add_response("head_object", {"ContentLength": size, "VersionId": DOCUMENT.version_id})
    # When the analysis is started
    result = _start(aws).result
    # Then no job is started: the error result is for the handler to audit and route to manual review
    assert result.status == "error" and result.error.kind == kind and result.manual_review


def test_a_file_that_is_not_a_pdf_or_image_is_refused_before_textract(aws: dict[str, Any]) -> None:
    expect_s3_checks(aws["stubs"]["s3"], head=b"PK\x03\x04word/document.xml")
    result = _start(aws).result
    assert result.status == "error" and result.error.kind == "unsupported_format"


def test_a_missing_object_is_an_error_result(aws: dict[str, Any]) -> None:
    aws["stubs"]["s3"].add_client_error("head_object", service_error_code="404", http_status_code=404)
    result = _start(aws).result
    assert result.status == "error" and result.error.kind == "unreadable"


def test_a_document_textract_rejects_is_an_error_result_not_a_retry(aws: dict[str, Any]) -> None:
    # Given Textract rejecting the document itself
    expect_s3_checks(aws["stubs"]["s3"])
    aws["stubs"]["textract"].add_client_error(
        "start_document_analysis", service_error_code="BadDocumentException", service_message="cannot read"
    )
    # When started
    result = _start(aws).result
    # Then the rejection is a result for review, never raised for a Retry
    assert result.status == "error" and result.error.kind == "textract_rejected_document"
    assert result.reasons == ["Textract refused the document (BadDocumentException)", "cannot read"]


def test_a_notice_for_an_unknown_job_is_refused(aws: dict[str, Any]) -> None:
    aws["stubs"]["dynamodb"].add_response("get_item", {})
    with pytest.raises(UnknownTextractJob):
        on_job_completed(notice(), textract=aws["clients"]["textract"], tokens=aws["tokens"])


def test_a_single_page_image_is_analysed_synchronously(aws: dict[str, Any]) -> None:
    # Given a one-page scan of a W-9 in S3 and Textract's synchronous answer
    response = fixture("rp_employment-application.json")
    aws["stubs"]["textract"].add_response(
        "analyze_document",
        response,
        {
            "Document": {"S3Object": {"Bucket": DOCUMENT.bucket, "Name": DOCUMENT.key, "Version": DOCUMENT.version_id}},
            "FeatureTypes": ["FORMS", "QUERIES", "SIGNATURES"],
            "QueriesConfig": {
                "Queries": [
                    {"Text": "What is the name on line 1, as shown on the income tax return?", "Alias": "NAME"},
                    {"Text": "What is the taxpayer identification number (social security number or employer identification number)?", "Alias": "TIN"},
                    {"Text": "What is the date next to the signature?", "Alias": "SIGNATURE_DATE"},
                ]
            },
        },
    )  # fmt: skip
    # When it is analysed
    analysis = analyze_single_page(textract=aws["clients"]["textract"], document=DOCUMENT, document_type="w9")
    # Then the document and the profile's result come back in the call (this one is no W-9: it needs review)
    assert analysis.document is not None and analysis.document.page_count == 1
    assert analysis.result.status == "needs_review"


def test_a_receipt_image_is_analysed_as_an_expense(aws: dict[str, Any]) -> None:
    aws["stubs"]["textract"].add_response("analyze_expense", fixture("tx_expense_receipt.json"))
    # The receipt is dated 12/07/2019: the entity's date order (month first) settles which day that is.
    analysis = analyze_single_page(
        textract=aws["clients"]["textract"],
        document=DOCUMENT,
        document_type="invoice",
        thresholds={"locale": {"date_order": "MDY"}},
    )
    assert analysis.result.status == "complete" and analysis.result.value("total") == "1810.46"


def test_throttling_of_a_synchronous_call_keeps_its_name(aws: dict[str, Any]) -> None:
    aws["stubs"]["textract"].add_client_error(
        "analyze_expense", service_error_code="ProvisionedThroughputExceededException"
    )
    with pytest.raises(TextractThrottled):
        analyze_single_page(textract=aws["clients"]["textract"], document=DOCUMENT, document_type="invoice")


def test_the_request_token_follows_the_object_version_and_the_request() -> None:
    # Given two versions of one object
    other_version = DOCUMENT.model_copy(update={"version_id": "v2"})
    token = client_request_token(DOCUMENT, "document_analysis", ("FORMS",))
    # Then a retry of the same request reuses the job, a new version or other features start another
    assert token == client_request_token(DOCUMENT, "document_analysis", ("FORMS",))
    assert token != client_request_token(other_version, "document_analysis", ("FORMS",))
    assert token != client_request_token(DOCUMENT, "document_analysis", ("FORMS", "TABLES"))
    assert len(token) <= 64 and token.isalnum()
    # And without versioning, the object's ETag tells a new file under the same key from a retry
    unversioned = DOCUMENT.model_copy(update={"version_id": None})
    assert client_request_token(unversioned, "expense_analysis", etag='"a1"') != client_request_token(
        unversioned, "expense_analysis", etag='"b2"'
    )
    # And the job tag is the case id in the characters Textract allows
    assert job_tag("onboard-006Dn000001") == "onboard-006Dn000001"
    assert job_tag("case with spaces/and slashes" * 5) == ("case-with-spaces-and-slashes" * 5)[:64]


def test_a_retried_start_overwrites_the_token_with_the_live_one() -> None:
    # Given a start retried by Step Functions with a new task token (same job id, same request token)
    tokens = InMemoryTaskTokenStore()
    from backoffice.extraction.textract_backend import PendingJob

    first = PendingJob(job_id=JOB_ID, task_token="old", case_id=CASE_ID, document_type="coi",
                       api="document_analysis", document=DOCUMENT, expires_at=1)  # fmt: skip
    tokens.save(first)
    tokens.save(first.model_copy(update={"task_token": "new"}))
    # Then the completion resumes the execution that is still waiting
    loaded = tokens.load(JOB_ID)
    assert loaded is not None and loaded.task_token == "new"
