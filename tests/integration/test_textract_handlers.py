"""The two Lambda handlers of the Textract step: ``start_textract_analysis`` (a ``.waitForTaskToken`` task) and
``textract_completed`` (subscribed to Textract's SNS completion topic).

Textract, S3 and Step Functions are botocore Stubbers, so the real request and response shapes are validated;
the job table and the audit trail are moto's DynamoDB. The handlers are the real modules, loaded as the local
runtime loads them, with their environment as the catalog gives it.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import ANY, Stubber
from moto import mock_aws

from backoffice import aws
from backoffice.audit import AuditTrail
from backoffice.extraction import normalize_textract_response
from backoffice.extraction.profile_catalog import profile_for
from backoffice.extraction.textract_backend import (
    DocumentAnalysis,
    DynamoDbTaskTokenStore,
    PendingJob,
    S3Document,
    TextractThrottled,
    client_request_token,
)
from backoffice.local.lambdas import LocalLambdas, load_handler_module
from infra.catalog import CATALOG
from tests.fixture_files import textract_response
from tests.integration.textract_fakes import analysis_pages, sns_notice

REGION = "us-east-1"
TOPIC = "arn:aws:sns:us-east-1:123456789012:backoffice-textract_completed"
ROLE = "arn:aws:iam::123456789012:role/backoffice-textract_notifications"
BUCKET = "backoffice-documents-123456789012"
JOBS = "backoffice-textract_jobs"
AUDIT = "backoffice-audit"
ENVIRONMENT = {
    "AUDIT_TABLE_NAME": AUDIT,
    "EVENT_BUS_NAME": "backoffice",
    "TEXTRACT_SNS_TOPIC_ARN": TOPIC,
    "TEXTRACT_SNS_ROLE_ARN": ROLE,
    "TEXTRACT_OUTPUT_BUCKET": BUCKET,
    "TEXTRACT_OUTPUT_PREFIX": "textract-output",
    "TEXTRACT_JOB_TABLE_NAME": JOBS,
    "AWS_DEFAULT_REGION": REGION,
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_DISABLED": "true",
}
CASE_ID = "onboard-006Dn00000SCAN1"
TASK_TOKEN = "AQCEAAAAKgAAAAMAAAAAAAAAAexampletoken"
JOB_ID = "8c2f0e1d4b5a69788c2f0e1d4b5a69788c2f0e1d4b5a69788c2f0e1d4b5a6978"
SOW = S3Document(
    bucket=BUCKET, key="crm/opportunities/006Dn00000SCAN1/statement-of-work.pdf", version_id="v-scan"
)
PDF_HEAD = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"
PNG_HEAD = b"\x89PNG\r\n\x1a\n" + b"\x00" * 24
FEATURES = list(profile_for("sow").feature_types)


class Aws:
    """Stubbed Textract, S3 and Step Functions with every call's parameters recorded; moto's DynamoDB."""

    def __init__(self) -> None:
        self.clients = {
            name: boto3.client(name, region_name=REGION)
            for name in ("textract", "s3", "stepfunctions", "dynamodb")
        }
        self.stubs = {name: Stubber(self.clients[name]) for name in ("textract", "s3", "stepfunctions")}
        self.calls: list[tuple[str, dict[str, Any]]] = []
        for name in self.stubs:
            self.clients[name].meta.events.register("provide-client-params", self._record)

    def _record(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        self.calls.append((model.name, dict(params)))

    def params(self, operation: str) -> dict[str, Any]:
        [found] = [params for name, params in self.calls if name == operation]
        return found

    def stored(self) -> DocumentAnalysis:
        """The analysis the handler put in S3 for the read step."""
        return DocumentAnalysis.model_validate_json(self.params("PutObject")["Body"])

    def task_output(self) -> dict[str, Any]:
        output: dict[str, Any] = json.loads(self.params("SendTaskSuccess")["output"])
        return output

    @property
    def tokens(self) -> DynamoDbTaskTokenStore:
        return DynamoDbTaskTokenStore(self.clients["dynamodb"], JOBS)

    @property
    def audit(self) -> AuditTrail:
        return AuditTrail(AUDIT, dynamodb=self.clients["dynamodb"])


@pytest.fixture
def stubbed(monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    for name, value in ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        fake = Aws()
        dynamodb = fake.clients["dynamodb"]
        dynamodb.create_table(
            TableName=JOBS,
            KeySchema=[{"AttributeName": "job_id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "job_id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        dynamodb.create_table(
            TableName=AUDIT,
            KeySchema=[
                {"AttributeName": "case_id", "KeyType": "HASH"},
                {"AttributeName": "seq", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "case_id", "AttributeType": "S"},
                {"AttributeName": "seq", "AttributeType": "N"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        for stub in fake.stubs.values():
            stub.activate()
        monkeypatch.setattr(aws, "client", fake.clients.__getitem__)
        yield fake
        for stub in fake.stubs.values():
            stub.assert_no_pending_responses()
            stub.deactivate()


def handler(name: str) -> Any:
    """The real handler of a catalog function, imported afresh (its settings are read at import)."""
    return load_handler_module(CATALOG.function(name)).handler


def context() -> Any:
    from backoffice.local.lambdas import LocalLambdaContext

    return LocalLambdaContext(
        function_name="test", memory_limit_in_mb=256, invoked_function_arn="arn", timeout_seconds=30
    )


def waiting_task(document_type: str = "sow", workflow: str = "onboarding") -> dict[str, Any]:
    """The payload the state machine gives the task: the whole Document of the case, the token to resume."""
    return {
        "case_id": CASE_ID,
        "execution_arn": f"arn:aws:states:us-east-1:123456789012:execution:backoffice-{workflow}:{CASE_ID}",
        "workflow": workflow,
        "task_token": TASK_TOKEN,
        "document_type": document_type,
        "document": {
            **SOW.model_dump(),
            "content_type": "application/pdf",
            "document_type": "sow",
            "sha256": "0" * 64,
            "file_name": "statement-of-work.pdf",
        },
    }


def expect_document(
    s3: Stubber, head: bytes, size: int = 180_000, content_type: str = "application/pdf"
) -> None:
    version = {"VersionId": SOW.version_id}
    s3.add_response(
        "head_object",
        {"ContentLength": size, "ContentType": content_type, "ETag": '"e1"', **version},
        {"Bucket": SOW.bucket, "Key": SOW.key, **version},
    )
    s3.add_response(
        "get_object",
        {"Body": StreamingBody(io.BytesIO(head), len(head))},
        {"Bucket": SOW.bucket, "Key": SOW.key, "Range": "bytes=0-1023", **version},
    )


def expect_stored_analysis(s3: Stubber) -> None:
    s3.add_response(
        "put_object",
        {"VersionId": "a1"},
        {
            "Bucket": BUCKET,
            "Key": f"textract-output/cases/{CASE_ID}/sow.json",
            "Body": ANY,
            "ContentType": "application/json",
            "ServerSideEncryption": "aws:kms",
        },
    )


def pending_job(document_type: str = "sow") -> PendingJob:
    return PendingJob(
        job_id=JOB_ID,
        task_token=TASK_TOKEN,
        case_id=CASE_ID,
        document_type=document_type,
        api="document_analysis",
        document=SOW,
        expires_at=1_900_000_000,
        workflow="onboarding",
    )


def fixture(name: str) -> dict[str, Any]:
    response = textract_response(name)
    response.pop("ResponseMetadata", None)
    return response


# -- start_textract_analysis ---------------------------------------------------------------------------------


def test_a_pdf_starts_an_async_job_and_stores_the_token_under_its_id(stubbed: Aws) -> None:
    # Given a scanned SOW in S3 and the execution waiting on its task token
    expect_document(stubbed.stubs["s3"], PDF_HEAD)
    stubbed.stubs["textract"].add_response(
        "start_document_analysis",
        {"JobId": JOB_ID},
        {
            "DocumentLocation": {
                "S3Object": {"Bucket": SOW.bucket, "Name": SOW.key, "Version": SOW.version_id}
            },
            "FeatureTypes": FEATURES,
            "QueriesConfig": ANY,
            "ClientRequestToken": client_request_token(SOW, "document_analysis", tuple(FEATURES)),
            "JobTag": CASE_ID,
            "NotificationChannel": {"SNSTopicArn": TOPIC, "RoleArn": ROLE},
            "OutputConfig": {"S3Bucket": BUCKET, "S3Prefix": "textract-output"},
        },
    )
    # When the task's function runs
    result = handler("start_textract_analysis")(waiting_task(), context())
    # Then the job runs with the SNS notice, idempotent on the object version, tagged with the case
    assert result == {"job_id": JOB_ID, "api": "document_analysis", "resumed": False}
    # And the token waits under the job id for the notice, with the workflow to audit the completion in
    pending = stubbed.tokens.load(JOB_ID)
    assert pending is not None
    assert (pending.task_token, pending.case_id, pending.document_type, pending.workflow) == (
        TASK_TOKEN,
        CASE_ID,
        "sow",
        "onboarding",
    )
    # And the execution is not resumed now (no Step Functions call), and the start is on the case's trail
    assert not [name for name, _ in stubbed.calls if name.startswith("SendTask")]
    [record] = stubbed.audit.records(CASE_ID)
    assert (record.action, record.outcome, record.data["job_id"]) == ("textract.started", "started", JOB_ID)


@pytest.mark.parametrize(
    ("code", "error"),
    [("ThrottlingException", "TextractThrottled"), ("LimitExceededException", "TextractLimitExceeded")],
)
def test_throttling_fails_the_task_under_its_own_name_for_the_retry(
    stubbed: Aws, code: str, error: str
) -> None:
    # Given Textract refusing the start for load
    expect_document(stubbed.stubs["s3"], PDF_HEAD)
    stubbed.stubs["textract"].add_client_error("start_document_analysis", service_error_code=code)
    # When the function runs as Lambda runs it (the local runtime's invoke gives Lambda's error payload)
    lambdas = LocalLambdas(CATALOG, {fn.name: f"arn:{fn.name}" for fn in CATALOG.functions})
    _, failure = lambdas.invoke("start_textract_analysis", waiting_task())
    # Then the error type is the name the task's Retry lists (with a task token, a raised error fails the task)
    assert failure is not None and failure["errorType"] == error
    # And no token is stored and the execution is not resumed: the retry starts over under a new token
    assert stubbed.tokens.load(JOB_ID) is None
    assert not [name for name, _ in stubbed.calls if name.startswith("SendTask")]


def test_throttling_raises_textract_throttled(stubbed: Aws) -> None:
    expect_document(stubbed.stubs["s3"], PDF_HEAD)
    stubbed.stubs["textract"].add_client_error(
        "start_document_analysis", service_error_code="ProvisionedThroughputExceededException"
    )
    with pytest.raises(TextractThrottled):
        handler("start_textract_analysis")(waiting_task(), context())


@pytest.mark.parametrize(
    ("head", "refusal", "kind"),
    [
        (b"PK\x03\x04word/document.xml", None, "unsupported_format"),
        (PDF_HEAD, "BadDocumentException", "textract_rejected_document"),
    ],
    ids=["not a PDF or image", "Textract finds it corrupt"],
)
def test_a_corrupt_document_resumes_the_execution_at_once_with_an_error_result(
    stubbed: Aws, head: bytes, refusal: str | None, kind: str
) -> None:
    # Given a document Textract cannot read
    expect_document(stubbed.stubs["s3"], head)
    if refusal:
        stubbed.stubs["textract"].add_client_error(
            "start_document_analysis",
            service_error_code=refusal,
            service_message="Unable to process the file",
        )
    expect_stored_analysis(stubbed.stubs["s3"])
    stubbed.stubs["stepfunctions"].add_response(
        "send_task_success", {}, {"taskToken": TASK_TOKEN, "output": ANY}
    )
    # When the task's function runs
    result = handler("start_textract_analysis")(waiting_task(), context())
    # Then the execution is resumed now (no job will ever call back), with an error result: no retry loop
    assert result == {"job_id": None, "status": "error", "resumed": True}
    output = stubbed.task_output()
    assert output["status"] == "error" and output["document_type"] == "sow" and output["reasons"]
    assert output["extraction"]["key"] == f"textract-output/cases/{CASE_ID}/sow.json"
    stored = stubbed.stored()
    assert stored.document is None and stored.result.error is not None and stored.result.error.kind == kind
    # And nothing waits in the job table, and the refusal is on the trail with its reason
    assert stubbed.tokens.load(JOB_ID) is None
    [record] = stubbed.audit.records(CASE_ID)
    assert (record.action, record.outcome) == ("textract.refused", "error")
    assert record.reasons == tuple(output["reasons"])


def test_a_single_page_image_is_analysed_in_the_call_and_resumes_at_once(stubbed: Aws) -> None:
    # Given a phone photo of a one-page bank letter (PNG) and Textract's synchronous answer
    expect_document(stubbed.stubs["s3"], PNG_HEAD, size=900_000, content_type="image/png")
    stubbed.stubs["textract"].add_response(
        "analyze_document",
        fixture("rp_employment-application.json"),
        {"Document": ANY, "FeatureTypes": ANY, "QueriesConfig": ANY},
    )
    stubbed.stubs["s3"].add_response(
        "put_object",
        {"VersionId": "a1"},
        {
            "Bucket": BUCKET,
            "Key": f"textract-output/cases/{CASE_ID}/bank_letter.json",
            "Body": ANY,
            "ContentType": "application/json",
            "ServerSideEncryption": "aws:kms",
        },
    )
    stubbed.stubs["stepfunctions"].add_response(
        "send_task_success", {}, {"taskToken": TASK_TOKEN, "output": ANY}
    )
    # When the task's function runs
    result = handler("start_textract_analysis")(waiting_task("bank_letter", "vendor_approval"), context())
    # Then no job is started: the page is read in the call and the execution resumed with it
    assert result["resumed"] is True and result["job_id"] is None
    assert not [name for name, _ in stubbed.calls if name.startswith("Start")]
    output = stubbed.task_output()
    assert output["document_type"] == "bank_letter" and output["page_count"] == 1
    assert stubbed.stored().document is not None
    [record] = stubbed.audit.records(CASE_ID)
    assert (record.workflow, record.action, str(record.actor)) == (
        "vendor_approval",
        "textract.analysed",
        "ai:amazon-textract",
    )


# -- textract_completed --------------------------------------------------------------------------------------


def test_the_completion_notice_reads_every_page_and_resumes_with_send_task_success(stubbed: Aws) -> None:
    # Given a job started for a waiting execution, and its result in three NextToken pages
    stubbed.tokens.save(pending_job())
    pages = analysis_pages(
        [
            ["STATEMENT OF WORK", "1. Parties", "Fabrikam Consulting LLC"],
            ["2. Fees", "Total fees: USD 120,000"],
        ]
    )
    textract = stubbed.stubs["textract"]
    textract.add_response("get_document_analysis", pages[0], {"JobId": JOB_ID})
    textract.add_response("get_document_analysis", pages[1], {"JobId": JOB_ID, "NextToken": "page-2"})
    textract.add_response("get_document_analysis", pages[2], {"JobId": JOB_ID, "NextToken": "page-3"})
    expect_stored_analysis(stubbed.stubs["s3"])
    stubbed.stubs["stepfunctions"].add_response(
        "send_task_success", {}, {"taskToken": TASK_TOKEN, "output": ANY}
    )
    # When SNS delivers Textract's notice
    result = handler("textract_completed")(sns_notice(JOB_ID, CASE_ID), context())
    # Then the execution is resumed with the status and a pointer to the whole document, read from every page
    # (this short SOW lacks most of the profile's fields: the profile says so, the read step decides)
    assert result == {"job_id": JOB_ID, "case_id": CASE_ID, "outcome": "needs_review", "resumed": True}
    output = stubbed.task_output()
    assert (output["job_id"], output["page_count"], output["status"]) == (JOB_ID, 2, "needs_review")
    assert output["extraction"] == {
        "bucket": BUCKET,
        "key": f"textract-output/cases/{CASE_ID}/sow.json",
        "version_id": "a1",
    }
    stored = stubbed.stored()
    assert stored.document == normalize_textract_response(pages)
    assert TASK_TOKEN.encode() not in stubbed.params("PutObject")["Body"], "a credential does not go to S3"
    assert [line.text for line in stored.document.lines][-1] == "Total fees: USD 120,000"
    # And the completion is on the case's trail as Textract's output
    [record] = stubbed.audit.records(CASE_ID)
    assert (record.workflow, record.action, record.outcome, str(record.actor)) == (
        "onboarding",
        "textract.completed",
        "needs_review",
        "ai:amazon-textract",
    )


def test_a_failed_job_resumes_the_execution_with_send_task_failure(stubbed: Aws) -> None:
    # Given the notice of a job that failed
    stubbed.tokens.save(pending_job())
    stubbed.stubs["textract"].add_response(
        "get_document_analysis",
        {"JobStatus": "FAILED", "StatusMessage": "Request has unsupported document format"},
        {"JobId": JOB_ID, "MaxResults": 1},
    )
    expect_stored_analysis(stubbed.stubs["s3"])
    stubbed.stubs["stepfunctions"].add_response(
        "send_task_failure",
        {},
        {
            "taskToken": TASK_TOKEN,
            "error": "TextractJobFailed",
            "cause": "the Textract job failed; Request has unsupported document format",
        },
    )
    # When SNS delivers it
    result = handler("textract_completed")(sns_notice(JOB_ID, CASE_ID, status="FAILED"), context())
    # Then the waiting task fails with TextractJobFailed (its Catch blocks the case with the reason)
    assert result["outcome"] == "failed" and result["resumed"] is True
    [record] = stubbed.audit.records(CASE_ID)
    assert (record.action, record.outcome) == ("textract.completed", "failed")
    assert record.data["error"] == "TextractJobFailed"


def test_a_notice_after_the_execution_gave_up_is_recorded_not_retried(stubbed: Aws) -> None:
    # Given a job whose execution has timed out meanwhile
    stubbed.tokens.save(pending_job())
    stubbed.stubs["textract"].add_response(
        "get_document_analysis", analysis_pages([["A line"]], 1)[0], {"JobId": JOB_ID}
    )
    expect_stored_analysis(stubbed.stubs["s3"])
    stubbed.stubs["stepfunctions"].add_client_error("send_task_success", service_error_code="TaskTimedOut")
    # When the notice arrives
    result = handler("textract_completed")(sns_notice(JOB_ID, CASE_ID), context())
    # Then it is on the trail as too late, and no error makes Lambda retry what cannot succeed
    assert (result["outcome"], result["resumed"]) == ("too late", False)
    assert stubbed.audit.records(CASE_ID)[-1].outcome == "too late"


def test_throttling_while_reading_the_result_is_raised_for_lambdas_retry(stubbed: Aws) -> None:
    # Given a notice, and Textract throttling the read of its result
    stubbed.tokens.save(pending_job())
    stubbed.stubs["textract"].add_client_error(
        "get_document_analysis", service_error_code="ThrottlingException"
    )
    # When the notice is handled / Then TextractThrottled makes Lambda retry it, and nothing is resumed half-read
    with pytest.raises(TextractThrottled):
        handler("textract_completed")(sns_notice(JOB_ID, CASE_ID), context())
    assert not [name for name, _ in stubbed.calls if name.startswith("SendTask")]
