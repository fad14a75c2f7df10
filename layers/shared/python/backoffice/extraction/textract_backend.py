"""Amazon Textract in AWS: synchronous calls for single-page images, asynchronous jobs for PDFs.

An asynchronous job needs no polling loop. A Lambda task started with ``.waitForTaskToken`` calls
``begin_analysis``, which starts the job with an SNS completion notice and stores the task token under the job
id. When Textract publishes the notice, a Lambda subscribed to the topic calls ``on_job_completed``, which reads
every result page and returns the normalized document, the profile's result and the token to resume the
execution with (``SendTaskSuccess``, or ``SendTaskFailure`` with ``error_name``).

Failures keep their own names so that the state machine can tell them apart:

- ``TextractThrottled``, ``TextractLimitExceeded``, ``TextractServiceError``: transient; raised, for a Retry
  with backoff and jitter. (A public IDP pipeline lost 336 of 500 documents in a scale test because throttling
  was wrapped in a generic exception its Retry did not name.)
- a bad document (not a PDF or image, encrypted, empty, over 500 MB or 3,000 pages, refused by Textract): never
  raised and never retried; it comes back as an ``ExtractionResult`` with status ``error`` and the
  ``ExtractionError`` to audit, and the case goes to manual review.
- ``TextractJobFailed``: the job itself failed; ``on_job_completed`` returns it with the token so the handler
  can resume the execution (with ``SendTaskFailure(error="TextractJobFailed")``) instead of leaving it waiting.

Every function takes its boto3 clients as arguments: plain functions over injected clients, testable with
botocore's Stubber and usable from any handler.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable, Mapping
from typing import Any, Final, Literal, Protocol

from botocore.exceptions import ClientError
from pydantic import ConfigDict

from backoffice.extraction.inputs import (
    TEXTRACT_MAX_BYTES,
    TEXTRACT_SYNC_MAX_BYTES,
    BadDocument,
    CorruptDocument,
    DocumentTooLarge,
    EmptyDocument,
    FileKind,
    TooManyPages,
    UnreadableDocument,
    UnsupportedDocument,
    check_size,
    sniff,
)
from backoffice.extraction.model import (
    ExtractionError,
    ExtractionResult,
    NormalizedDocument,
    error_result,
)
from backoffice.extraction.profile_catalog import profile_for
from backoffice.extraction.profiles import apply_profile
from backoffice.extraction.review_policy import ExtractionSettings
from backoffice.extraction.textract_parser import (
    TextractJobFailed,
    TextractResponseError,
    normalize_textract_response,
)
from backoffice.models.envelope import Model
from backoffice.settings import Settings

# The bad-document names are re-exported so that a handler imports every error name from this module.
__all__ = [
    "AnalysisStarted",
    "BadDocument",
    "CorruptDocument",
    "DocumentAnalysis",
    "DocumentTooLarge",
    "DynamoDbTaskTokenStore",
    "EmptyDocument",
    "InMemoryTaskTokenStore",
    "JobCompletion",
    "PendingJob",
    "S3Document",
    "TaskTokenStore",
    "TextractJobFailed",
    "TextractLimitExceeded",
    "TextractRejectedDocument",
    "TextractServiceError",
    "TextractSettings",
    "TextractThrottled",
    "TooManyPages",
    "UnknownTextractJob",
    "UnsupportedDocument",
    "analyze_single_page",
    "begin_analysis",
    "client_request_token",
    "job_tag",
    "on_job_completed",
]

TextractApi = Literal["document_analysis", "expense_analysis"]

# Textract keeps asynchronous results for 7 days; a pending job's token is kept a day longer, then expires (TTL).
_TOKEN_TTL_SECONDS: Final = 8 * 24 * 3600
_SNIFF_BYTES: Final = 1024


class TextractSettings(Settings):
    """Environment of the handlers that start and finish Textract jobs (validated at cold start)."""

    textract_sns_topic_arn: str
    textract_sns_role_arn: str  # the role Textract assumes to publish to the topic
    textract_output_bucket: str
    textract_output_prefix: str = "textract-output"
    textract_job_table_name: str


class S3Document(Model):
    """A document in S3. The version pins what Textract reads and makes the request idempotent."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    bucket: str
    key: str
    version_id: str | None = None


# --------------------------------------------------------------------------------------------------------------
# Errors, under the names the state machine's Retry and Catch use
# --------------------------------------------------------------------------------------------------------------


class TextractThrottled(Exception):
    """Textract throttled the request (ThrottlingException, ProvisionedThroughputExceededException): retry."""


class TextractLimitExceeded(Exception):
    """Too many concurrent asynchronous jobs for the account (LimitExceededException): retry later."""


class TextractServiceError(Exception):
    """Textract failed on its side (InternalServerError): retry."""


class TextractRejectedDocument(BadDocument):
    """Textract could not read the document (BadDocumentException): a person looks at it."""

    kind = "textract_rejected_document"


class UnknownTextractJob(Exception):
    """A completion notice for a job this product did not start (or whose token has expired)."""


_THROTTLING: Final = {"ThrottlingException", "ProvisionedThroughputExceededException", "Throttling"}
_LIMITS: Final = {"LimitExceededException"}
_SERVICE: Final = {"InternalServerError", "ServiceUnavailable", "ServiceUnavailableException"}
_REJECTIONS: Final[dict[str, type[BadDocument]]] = {
    "BadDocumentException": TextractRejectedDocument,
    "UnsupportedDocumentException": UnsupportedDocument,
    "DocumentTooLargeException": DocumentTooLarge,
    "InvalidS3ObjectException": UnreadableDocument,
}


def _call(operation: Callable[..., Mapping[str, Any]], **params: Any) -> Mapping[str, Any]:
    """A Textract call with its errors under their own names (the document's fault never looks transient)."""
    try:
        return operation(**params)
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        message = error.response.get("Error", {}).get("Message", "")
        if code in _THROTTLING:
            raise TextractThrottled(f"{code}: {message}") from error
        if code in _LIMITS:
            raise TextractLimitExceeded(f"{code}: {message}") from error
        if code in _SERVICE:
            raise TextractServiceError(f"{code}: {message}") from error
        if code in _REJECTIONS:
            raise _REJECTIONS[code](f"Textract refused the document ({code})", message) from error
        raise


# --------------------------------------------------------------------------------------------------------------
# The task-token port
# --------------------------------------------------------------------------------------------------------------


class PendingJob(Model):
    """A started job waiting for its completion notice, and the execution waiting for it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    job_id: str
    task_token: str
    case_id: str
    document_type: str
    api: TextractApi
    document: S3Document
    expires_at: int
    # The workflow the case runs in, for the completion's audit record.
    workflow: str | None = None


class TaskTokenStore(Protocol):
    def save(self, job: PendingJob) -> None: ...

    def load(self, job_id: str) -> PendingJob | None: ...


class DynamoDbTaskTokenStore:
    """Pending jobs in a DynamoDB table keyed by ``job_id`` (with ``expires_at`` as its TTL attribute).

    ``save`` overwrites on purpose: a retried start reuses the job (same ClientRequestToken) under a new task
    token, and only the newest token still has an execution waiting on it.
    """

    def __init__(self, dynamodb: Any, table_name: str) -> None:
        self._dynamodb = dynamodb
        self._table_name = table_name

    def save(self, job: PendingJob) -> None:
        item: dict[str, Any] = {
            "job_id": {"S": job.job_id},
            "task_token": {"S": job.task_token},
            "case_id": {"S": job.case_id},
            "document_type": {"S": job.document_type},
            "api": {"S": job.api},
            "bucket": {"S": job.document.bucket},
            "key": {"S": job.document.key},
            "expires_at": {"N": str(job.expires_at)},
        }
        if job.document.version_id:
            item["version_id"] = {"S": job.document.version_id}
        if job.workflow:
            item["workflow"] = {"S": job.workflow}
        self._dynamodb.put_item(TableName=self._table_name, Item=item)

    def load(self, job_id: str) -> PendingJob | None:
        item = self._dynamodb.get_item(
            TableName=self._table_name, Key={"job_id": {"S": job_id}}, ConsistentRead=True
        ).get("Item")
        if not item:
            return None
        return PendingJob(
            job_id=item["job_id"]["S"],
            task_token=item["task_token"]["S"],
            case_id=item["case_id"]["S"],
            document_type=item["document_type"]["S"],
            api=item["api"]["S"],
            document=S3Document(
                bucket=item["bucket"]["S"],
                key=item["key"]["S"],
                version_id=item.get("version_id", {}).get("S"),
            ),
            expires_at=int(item["expires_at"]["N"]),
            workflow=item.get("workflow", {}).get("S"),
        )


class InMemoryTaskTokenStore:
    """The port in memory, for unit tests and the local runtime."""

    def __init__(self) -> None:
        self.jobs: dict[str, PendingJob] = {}

    def save(self, job: PendingJob) -> None:
        self.jobs[job.job_id] = job

    def load(self, job_id: str) -> PendingJob | None:
        return self.jobs.get(job_id)


# --------------------------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------------------------


class AnalysisStarted(Model):
    model_config = ConfigDict(frozen=True, extra="forbid")

    job_id: str
    api: TextractApi
    client_request_token: str


class DocumentAnalysis(Model):
    """A finished analysis: the document (None when it could not be read) and the profile's result."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    document: NormalizedDocument | None
    result: ExtractionResult


class JobCompletion(DocumentAnalysis):
    """What the completion handler resumes the execution with. ``error_name`` is set when the execution should
    be resumed with ``SendTaskFailure`` (``TextractJobFailed``)."""

    task_token: str
    job_id: str
    case_id: str
    error_name: str | None = None
    workflow: str | None = None


# --------------------------------------------------------------------------------------------------------------
# Request parameters
# --------------------------------------------------------------------------------------------------------------


def client_request_token(
    document: S3Document, api: TextractApi, features: tuple[str, ...] = (), *, etag: str | None = None
) -> str:
    """The idempotency token of one analysis of one object version: a retried start returns the same job.

    Derived from the S3 object version (not a random value) and from what is asked, since Textract refuses the
    same token with different parameters. A digest, because a version id may hold characters the token may
    not (it allows ``[a-zA-Z0-9-_]``, 64 at most). In a bucket without versioning the object's ETag stands in
    for the version, so that a new file under the same key is a new request.
    """
    version = document.version_id or f"etag:{etag or ''}"
    basis = "\0".join([document.bucket, document.key, version, api, ",".join(features)])
    return hashlib.sha256(basis.encode()).hexdigest()[:64]


def job_tag(case_id: str) -> str:
    """The case id as a JobTag (``[a-zA-Z0-9_.\\-:]``, 64 at most), so the notice names the case."""
    return re.sub(r"[^a-zA-Z0-9_.\-:]", "-", case_id)[:64] or "case"


def _s3_object(document: S3Document) -> dict[str, str]:
    location = {"Bucket": document.bucket, "Name": document.key}
    if document.version_id:
        location["Version"] = document.version_id
    return location


def _analysis_params(document_type: str) -> dict[str, Any]:
    profile = profile_for(document_type)
    params: dict[str, Any] = {"FeatureTypes": list(profile.feature_types)}
    queries = profile.textract_queries()
    if "QUERIES" in profile.feature_types and queries:
        params["QueriesConfig"] = {"Queries": queries}
    return params


# --------------------------------------------------------------------------------------------------------------
# Synchronous: single-page images
# --------------------------------------------------------------------------------------------------------------


def analyze_single_page(
    *,
    textract: Any,
    document: S3Document,
    document_type: str,
    size_bytes: int | None = None,
    thresholds: ExtractionSettings | Mapping[str, Any] | None = None,
) -> DocumentAnalysis:
    """A single-page image (PNG, JPEG) through AnalyzeDocument or AnalyzeExpense, answered in the call."""
    profile = profile_for(document_type)
    try:
        if size_bytes is not None:
            check_size(size_bytes, max_bytes=TEXTRACT_SYNC_MAX_BYTES)
        request = {"Document": {"S3Object": _s3_object(document)}}
        if profile.textract_api == "expense_analysis":
            response = _call(textract.analyze_expense, **request)
        else:
            response = _call(textract.analyze_document, **request, **_analysis_params(document_type))
        normalized = normalize_textract_response(response)
    except BadDocument as bad:
        return DocumentAnalysis(document=None, result=error_result(bad.error, document_type))
    except TextractResponseError as error:
        return DocumentAnalysis(document=None, result=error_result(error.error, document_type))
    return DocumentAnalysis(document=normalized, result=apply_profile(normalized, document_type, thresholds))


# --------------------------------------------------------------------------------------------------------------
# Asynchronous: PDFs and multi-page documents
# --------------------------------------------------------------------------------------------------------------


def begin_analysis(
    *,
    textract: Any,
    s3: Any,
    tokens: TaskTokenStore,
    document: S3Document,
    document_type: str,
    case_id: str,
    task_token: str,
    settings: TextractSettings,
    workflow: str | None = None,
    thresholds: ExtractionSettings | Mapping[str, Any] | None = None,
    clock: Callable[[], float] = time.time,
) -> AnalysisStarted | DocumentAnalysis:
    """Analyse a document the fastest way Textract allows, for the execution waiting on ``task_token``.

    A PNG or JPEG image of up to 10 MB is one page: it goes through the synchronous API and the finished
    ``DocumentAnalysis`` comes back at once (the caller resumes the execution itself). Anything else (a PDF, a
    TIFF, a larger image) starts an asynchronous job, answered by ``AnalysisStarted``; its completion notice
    resumes the execution. A document that cannot be analysed comes back as a ``DocumentAnalysis`` with an
    error result. Raises ``TextractThrottled`` / ``TextractLimitExceeded`` / ``TextractServiceError`` for a Retry.
    """
    try:
        inspected = _inspect(s3, document)
    except BadDocument as bad:
        return DocumentAnalysis(document=None, result=error_result(bad.error, document_type))
    if inspected.kind in ("png", "jpeg") and inspected.size <= TEXTRACT_SYNC_MAX_BYTES:
        return analyze_single_page(
            textract=textract,
            document=inspected.document,
            document_type=document_type,
            size_bytes=inspected.size,
            thresholds=thresholds,
        )
    started = _start_job(
        textract=textract,
        tokens=tokens,
        inspected=inspected,
        document_type=document_type,
        case_id=case_id,
        task_token=task_token,
        settings=settings,
        workflow=workflow,
        clock=clock,
    )
    if isinstance(started, ExtractionResult):
        return DocumentAnalysis(document=None, result=started)
    return started


def _start_job(
    *,
    textract: Any,
    tokens: TaskTokenStore,
    inspected: _Inspected,
    document_type: str,
    case_id: str,
    task_token: str,
    settings: TextractSettings,
    workflow: str | None,
    clock: Callable[[], float],
) -> AnalysisStarted | ExtractionResult:
    profile = profile_for(document_type)
    document, etag = inspected.document, inspected.etag
    try:
        api: TextractApi = profile.textract_api
        common: dict[str, Any] = {
            "DocumentLocation": {"S3Object": _s3_object(document)},
            "JobTag": job_tag(case_id),
            "NotificationChannel": {
                "SNSTopicArn": settings.textract_sns_topic_arn,
                "RoleArn": settings.textract_sns_role_arn,
            },
            "OutputConfig": {
                "S3Bucket": settings.textract_output_bucket,
                "S3Prefix": settings.textract_output_prefix,
            },
        }
        if api == "expense_analysis":
            token = client_request_token(document, api, etag=etag)
            response = _call(textract.start_expense_analysis, **common, ClientRequestToken=token)
        else:
            params = _analysis_params(document_type)
            token = client_request_token(document, api, tuple(params["FeatureTypes"]), etag=etag)
            response = _call(textract.start_document_analysis, **common, **params, ClientRequestToken=token)
    except BadDocument as bad:
        return error_result(bad.error, document_type)
    job_id = response["JobId"]
    tokens.save(
        PendingJob(
            job_id=job_id,
            task_token=task_token,
            case_id=case_id,
            document_type=document_type,
            api=api,
            document=document,
            expires_at=int(clock()) + _TOKEN_TTL_SECONDS,
            workflow=workflow,
        )
    )
    return AnalysisStarted(job_id=job_id, api=api, client_request_token=token)


class _Inspected(Model):
    model_config = ConfigDict(frozen=True)

    document: S3Document  # with its version pinned
    etag: str | None
    kind: FileKind
    size: int


def _inspect(s3: Any, document: S3Document) -> _Inspected:
    """The object's size and first bytes checked before Textract is asked (a clear reason instead of a failed
    job), its kind told from its bytes, and its version pinned."""
    version = {"VersionId": document.version_id} if document.version_id else {}
    try:
        head = s3.head_object(Bucket=document.bucket, Key=document.key, **version)
        size = int(head.get("ContentLength", 0))
        check_size(size, max_bytes=TEXTRACT_MAX_BYTES)
        start = s3.get_object(
            Bucket=document.bucket, Key=document.key, Range=f"bytes=0-{_SNIFF_BYTES - 1}", **version
        )["Body"].read()
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        if code in {"404", "NoSuchKey", "NoSuchVersion", "403", "AccessDenied"}:
            raise UnreadableDocument(f"the document cannot be read from S3 ({code})") from error
        raise
    kind: FileKind | None = sniff(start)
    if kind is None:
        raise UnsupportedDocument(
            "not a PDF or an image (PNG, JPEG, TIFF)", "ask the sender for the document as a PDF or a scan"
        )
    pinned = document.model_copy(update={"version_id": document.version_id or head.get("VersionId")})
    return _Inspected(document=pinned, etag=head.get("ETag"), kind=kind, size=size)


def _parse_notice(sns_message: Mapping[str, Any] | str) -> Mapping[str, Any]:
    """The Textract notice from an SNS Lambda event, an SNS record, or the message itself (dict or JSON)."""
    message: Any = sns_message
    if isinstance(message, Mapping) and "Records" in message:
        message = message["Records"][0]
    if isinstance(message, Mapping) and "Sns" in message:
        message = message["Sns"]["Message"]
    if isinstance(message, str):
        message = json.loads(message)
    if not isinstance(message, Mapping) or "JobId" not in message:
        raise ValueError("not a Textract completion notice (no JobId)")
    return message


def on_job_completed(
    sns_message: Mapping[str, Any] | str,
    *,
    textract: Any,
    tokens: TaskTokenStore,
    thresholds: ExtractionSettings | Mapping[str, Any] | None = None,
) -> JobCompletion:
    """Read every page of a finished job and return what to resume the waiting execution with.

    Raises ``UnknownTextractJob`` for a notice whose job has no pending token, and the transient Textract errors
    (for the Lambda's own retry). A failed job, or a result whose pages do not add up, is returned as a
    completion with an error result, never raised: the execution must be resumed either way.
    """
    notice = _parse_notice(sns_message)
    job_id = str(notice["JobId"])
    pending = tokens.load(job_id)
    if pending is None:
        raise UnknownTextractJob(f"no pending task token for Textract job {job_id}")
    get = (
        textract.get_expense_analysis if pending.api == "expense_analysis" else textract.get_document_analysis
    )
    completion: dict[str, Any] = {
        "task_token": pending.task_token,
        "job_id": job_id,
        "case_id": pending.case_id,
        "workflow": pending.workflow,
    }
    try:
        # PARTIAL_SUCCESS is read like SUCCEEDED: the normalizer turns it into a warning, hence a review.
        if notice.get("Status") in ("FAILED", "ERROR"):
            first = _call(get, JobId=job_id, MaxResults=1)
            raise TextractJobFailed(
                "the Textract job failed",
                str(first.get("StatusMessage") or f"job status {notice.get('Status')}"),
            )
        pages = collect_result_pages(get, job_id)
        normalized = normalize_textract_response(pages)
    except BadDocument as bad:
        return _failed(completion, bad.error, pending.document_type, None)
    except TextractJobFailed as failed:
        return _failed(completion, failed.error, pending.document_type, "TextractJobFailed")
    except TextractResponseError as error:
        return _failed(completion, error.error, pending.document_type, None)
    return JobCompletion(
        **completion,
        document=normalized,
        result=apply_profile(normalized, pending.document_type, thresholds),
    )


def _failed(
    completion: dict[str, Any], error: ExtractionError, document_type: str, error_name: str | None
) -> JobCompletion:
    return JobCompletion(
        **completion, document=None, result=error_result(error, document_type), error_name=error_name
    )


def collect_result_pages(get: Callable[..., Mapping[str, Any]], job_id: str) -> list[Mapping[str, Any]]:
    """Every ``NextToken`` page of a job's result (reading only the first is the most reported crash of
    Textract parsers). Raises ``TextractJobFailed`` when the job reports FAILED."""
    pages: list[Mapping[str, Any]] = []
    next_token: str | None = None
    while True:
        params: dict[str, Any] = {"JobId": job_id}
        if next_token:
            params["NextToken"] = next_token
        page = _call(get, **params)
        if page.get("JobStatus") == "FAILED":
            raise TextractJobFailed("the Textract job failed", str(page.get("StatusMessage") or "no message"))
        pages.append(page)
        next_token = page.get("NextToken")
        if not next_token:
            return pages
