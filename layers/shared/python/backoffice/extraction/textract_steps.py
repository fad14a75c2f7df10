"""The Textract step of a workflow: what the ``start_textract_analysis`` and ``textract_completed`` handlers call.

A workflow reaches this step when its local read found a scan. The state machine calls
``start_textract_analysis`` as a ``.waitForTaskToken`` task, so the execution waits until someone calls back
with its token:

- ``start_document_analysis``: a PDF (or TIFF) starts an asynchronous Textract job with an SNS completion
  notice, and the token waits in the job table under the job id. A single-page image is analysed in the call,
  and a document Textract cannot take (not a PDF or image, empty, too large, refused) is answered with an error
  result: both resume the execution at once with ``SendTaskSuccess``. Throttling and limit errors are raised
  under their own names: with a task token, a raised error fails the task, and the task's Retry (backoff and
  jitter) starts it again under a new token.
- ``finish_textract_job``: the completion notice reads every result page, and resumes the execution with
  ``SendTaskSuccess``, or with ``SendTaskFailure`` (error ``TextractJobFailed``) when the job failed.

Either way the execution receives an ``ExtractionOutcome``: the status, the reasons and an S3 pointer to the
normalized document and the profile's result (a document does not fit in a state's 256 KiB payload). The read
step of the workflow then takes the facts from that analysis as it would from its own local read.

Audit records name the document type, the job and the status with its reasons; never a field's value (the
reasons of a profile never repeat a value: a value may be a tax id or an account number).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from typing import Any, Final

from botocore.exceptions import ClientError
from pydantic import ConfigDict

from backoffice.audit import Actor, AuditTrail
from backoffice.extraction.model import ResultStatus
from backoffice.extraction.textract_backend import (
    AnalysisStarted,
    DocumentAnalysis,
    S3Document,
    TaskTokenStore,
    TextractSettings,
    begin_analysis,
    on_job_completed,
)
from backoffice.json_files import put_json
from backoffice.models import REVEAL_SECRETS
from backoffice.models.envelope import Model
from backoffice.settings import Settings

__all__ = [
    "COMPLETION_ACTOR",
    "JOB_FAILED",
    "START_ACTOR",
    "STEP_NAME",
    "AnalysisRequest",
    "ExtractionOutcome",
    "TextractResultSettings",
    "analysis_key",
    "finish_textract_job",
    "load_analysis",
    "start_document_analysis",
    "store_analysis",
]

STEP_NAME: Final = "read document with Textract"
START_ACTOR: Final = Actor.system("start_textract_analysis")
# What Textract read is machine output: recorded as the model's, checked by the profile, reviewed by people.
COMPLETION_ACTOR: Final = Actor.ai("amazon-textract")
JOB_FAILED: Final = "TextractJobFailed"
# Callbacks that come too late: the execution timed out, was stopped, or was already resumed.
_TOKEN_GONE: Final = {"TaskTimedOut", "InvalidToken", "TaskDoesNotExist"}


class TextractResultSettings(Settings):
    """Environment of the completion handler (validated at cold start)."""

    textract_output_bucket: str
    textract_output_prefix: str = "textract-output"
    textract_job_table_name: str


class AnalysisRequest(Model):
    """The payload of the waiting task: the case, the document pointer and type, the token to resume."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    case_id: str
    workflow: str
    task_token: str
    document_type: str
    document: S3Document
    execution_arn: str | None = None

    @classmethod
    def from_event(cls, event: Mapping[str, Any]) -> AnalysisRequest:
        """The state's payload; the document may be a whole ``Document`` (content type, digest...) of which only
        the S3 location counts."""
        pointer = event["document"]
        location = {name: pointer.get(name) for name in ("bucket", "key", "version_id")}
        return cls.model_validate({**event, "document": location})

    def audited(self) -> dict[str, Any]:
        """The request as the audit trail digests it: the task token is a credential, not a fact of the case."""
        return self.model_dump(mode="json", exclude={"task_token"})


class ExtractionOutcome(Model):
    """What the waiting state is resumed with: pointers and a summary, never the document itself."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    document_type: str
    status: ResultStatus
    page_count: int | None = None
    reasons: list[str]
    extraction: S3Document
    job_id: str | None = None


# --------------------------------------------------------------------------------------------------------------
# The analysis in S3
# --------------------------------------------------------------------------------------------------------------


def analysis_key(prefix: str, case_id: str, document_type: str) -> str:
    """Beside Textract's own output (``<prefix>/<job id>/...``), one normalized analysis per case and document."""
    return f"{prefix.strip('/')}/cases/{case_id}/{document_type}.json"


def store_analysis(s3: Any, bucket: str, key: str, analysis: DocumentAnalysis) -> S3Document:
    """The document and the profile's result, whole (tax ids included: the bucket is encrypted and private, and
    the read step needs them), for the read step to take facts from. Only the document and the result: a job
    completion's task token is a credential and stays out of S3."""
    analysis = DocumentAnalysis(document=analysis.document, result=analysis.result)
    body = analysis.model_dump(
        mode="json", context={REVEAL_SECRETS: True}, exclude={"result": {"manual_review"}}
    )
    response = put_json(s3, bucket, key, body)
    return S3Document(bucket=bucket, key=key, version_id=response.get("VersionId"))


def load_analysis(s3: Any, pointer: Mapping[str, Any]) -> DocumentAnalysis:
    """The analysis an ``ExtractionOutcome``'s ``extraction`` points to."""
    request: dict[str, Any] = {"Bucket": pointer["bucket"], "Key": pointer["key"]}
    if pointer.get("version_id"):
        request["VersionId"] = pointer["version_id"]
    return DocumentAnalysis.model_validate_json(s3.get_object(**request)["Body"].read())


def _outcome(
    analysis: DocumentAnalysis, document_type: str, stored: S3Document, job_id: str | None
) -> dict[str, Any]:
    result = analysis.result
    return ExtractionOutcome(
        document_type=document_type,
        status=result.status,
        page_count=result.page_count,
        reasons=list(result.reasons),
        extraction=stored,
        job_id=job_id,
    ).model_dump(mode="json")


# --------------------------------------------------------------------------------------------------------------
# Resuming the execution
# --------------------------------------------------------------------------------------------------------------


def _resume(
    sfn: Any, task_token: str, *, output: Mapping[str, Any] | None = None, error: str = "", cause: str = ""
) -> bool:
    """``SendTaskSuccess`` with ``output``, else ``SendTaskFailure``. False when the execution no longer waits
    (it timed out or was stopped): nothing is left to resume, and retrying would not change that."""
    try:
        if output is not None:
            sfn.send_task_success(taskToken=task_token, output=json.dumps(output))
        else:
            # Step Functions caps the cause at 32,768 characters.
            sfn.send_task_failure(taskToken=task_token, error=error, cause=cause[:32_000])
    except ClientError as failure:
        if failure.response.get("Error", {}).get("Code") in _TOKEN_GONE:
            return False
        raise
    return True


# --------------------------------------------------------------------------------------------------------------
# The two steps
# --------------------------------------------------------------------------------------------------------------


def start_document_analysis(
    request: AnalysisRequest,
    *,
    textract: Any,
    s3: Any,
    sfn: Any,
    tokens: TaskTokenStore,
    audit: AuditTrail,
    settings: TextractSettings,
    clock: Callable[[], float] = time.time,
) -> dict[str, Any]:
    """Start the analysis of a scan for the execution waiting on ``request.task_token``; see the module."""
    analysis = begin_analysis(
        textract=textract,
        s3=s3,
        tokens=tokens,
        document=request.document,
        document_type=request.document_type,
        case_id=request.case_id,
        task_token=request.task_token,
        settings=settings,
        workflow=request.workflow,
        clock=clock,
    )
    if isinstance(analysis, AnalysisStarted):
        audit.append(
            case_id=request.case_id,
            workflow=request.workflow,
            step=STEP_NAME,
            actor=START_ACTOR,
            action="textract.started",
            outcome="started",
            input=request.audited(),
            output=analysis.model_dump(mode="json"),
            data={"document_type": request.document_type, "job_id": analysis.job_id, "api": analysis.api},
            execution_arn=request.execution_arn,
        )
        return {"job_id": analysis.job_id, "api": analysis.api, "resumed": False}
    # Answered in the call (a single-page image), or refused before any job: no notice will ever come.
    key = analysis_key(settings.textract_output_prefix, request.case_id, request.document_type)
    stored = store_analysis(s3, settings.textract_output_bucket, key, analysis)
    output = _outcome(analysis, request.document_type, stored, None)
    resumed = _resume(sfn, request.task_token, output=output)
    result = analysis.result
    audit.append(
        case_id=request.case_id,
        workflow=request.workflow,
        step=STEP_NAME,
        actor=COMPLETION_ACTOR if analysis.document is not None else START_ACTOR,
        action="textract.analysed" if analysis.document is not None else "textract.refused",
        outcome=result.status if resumed else "too late",
        reasons=result.reasons,
        input=request.audited(),
        output=output,
        data={
            "document_type": request.document_type,
            "page_count": result.page_count,
            "error": result.error.kind if result.error else None,
        },
        execution_arn=request.execution_arn,
    )
    return {"job_id": None, "status": result.status, "resumed": resumed}


def finish_textract_job(
    notice: Mapping[str, Any] | str,
    *,
    textract: Any,
    s3: Any,
    sfn: Any,
    tokens: TaskTokenStore,
    audit: AuditTrail,
    settings: TextractResultSettings,
) -> dict[str, Any]:
    """Resume the execution waiting for a finished job with what Textract read (every page), or with
    ``TextractJobFailed``. Raises ``UnknownTextractJob`` for a job without a pending token, and Textract's
    transient errors (the notice's Lambda invocation is retried)."""
    completion = on_job_completed(notice, textract=textract, tokens=tokens)
    result = completion.result
    document_type = result.document_type or "document"
    key = analysis_key(settings.textract_output_prefix, completion.case_id, document_type)
    stored = store_analysis(s3, settings.textract_output_bucket, key, completion)
    output = _outcome(completion, document_type, stored, completion.job_id)
    if completion.error_name:
        resumed = _resume(
            sfn, completion.task_token, error=completion.error_name, cause="; ".join(result.reasons)
        )
    else:
        resumed = _resume(sfn, completion.task_token, output=output)
    outcome = ("failed" if completion.error_name else result.status) if resumed else "too late"
    audit.append(
        case_id=completion.case_id,
        workflow=_workflow_of(audit, completion.case_id, completion.workflow),
        step=STEP_NAME,
        actor=COMPLETION_ACTOR,
        action="textract.completed",
        outcome=outcome,
        reasons=result.reasons,
        input={"job_id": completion.job_id},
        output=output,
        data={
            "document_type": document_type,
            "job_id": completion.job_id,
            "page_count": result.page_count,
            "error": completion.error_name or (result.error.kind if result.error else None),
        },
    )
    return {
        "job_id": completion.job_id,
        "case_id": completion.case_id,
        "outcome": outcome,
        "resumed": resumed,
    }


def _workflow_of(audit: AuditTrail, case_id: str, known: str | None) -> str:
    if known:
        return known
    head = audit.head(case_id)
    return head.workflow if head else "unknown"
