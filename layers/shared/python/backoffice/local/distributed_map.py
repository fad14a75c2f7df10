"""What a Distributed Map does in AWS and the local engine (moto's port of LocalStack's) does not, taught to it.

The invoicing workflow bills each project in a child execution of a Distributed Map (statemachines/invoicing.asl.json):
the parent's history then holds a few events whatever the number of projects. moto 5.2.5 runs the children, but
(measured; docs/billing_runs.md, "The local engine (moto 5.2.5) and the Distributed Map"):

- its ResultWriter writes a ``manifest.json`` listing no result file: the results AWS writes
  (``SUCCEEDED_0.json``, ``FAILED_0.json``, ...) are missing, and the run's summary reads them;
- a child that fails becomes ``null`` among the outputs and the Map succeeds: AWS fails the map run with
  ``States.ExceedToleratedFailureThreshold`` once the failed children pass ToleratedFailureCount/Percentage
  (both 0 by default: any failure), and stops starting children;
- its ResultWriter reads ``"Prefix.$"`` from the children's outputs, not from the Map state's input;
- its ItemReader and ResultWriter call S3 as no one: in AWS they run as the state machine's role, which needs
  ``s3:GetObject`` / ``s3:PutObject`` (and the bucket key's KMS use) for them.

``install()`` patches moto's classes once per process, as the runtime's other engine patches do
(local/runtime.py): each child's status, input and output (or error and cause) is recorded on its map run; the
tolerance is checked after each child; the ResultWriter writes the result files and the manifest in AWS's format;
ItemReader and ResultWriter calls run as the state machine, so local IAM (local/iam.py) authorizes them against
the synthesized role. What stays different: children are not executions of their own locally (no
DescribeExecution of a child; ``$$.Execution.Id`` in a child is the parent's; while the Map runs, moto shows their
events as the parent's history), StartExecution on the children is not authorized locally (tests/infra checks the
grant in the template), and children running when the threshold is passed finish instead of being stopped.
"""

from __future__ import annotations

import copy
import json
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from backoffice.local.iam import acting_as_state_machine

RESULT_STATUSES = ("SUCCEEDED", "FAILED", "PENDING")
_install_lock = threading.Lock()


@dataclass
class ChildResult:
    """One child execution as AWS lists it in a ResultWriter file."""

    index: int
    execution_arn: str
    input: Any
    status: str  # SUCCEEDED, FAILED, ABORTED (listed with the failed, as AWS does), TIMED_OUT
    started: datetime
    stopped: datetime
    output: Any = None
    error: str | None = None
    cause: str | None = None

    def as_written(self, state_machine_arn: str) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "ExecutionArn": self.execution_arn,
            "Input": json.dumps(self.input, separators=(",", ":")),
            "InputDetails": {"Included": True},
            "Name": self.execution_arn.rsplit(":", 1)[-1],
            "RedriveCount": 0,
            "RedriveStatus": "NOT_REDRIVABLE" if self.status == "SUCCEEDED" else "REDRIVABLE",
            "StartDate": self.started.isoformat(),
            "StateMachineArn": state_machine_arn,
            "Status": self.status,
            "StopDate": self.stopped.isoformat(),
        }
        if self.status == "SUCCEEDED":
            entry["Output"] = json.dumps(self.output, separators=(",", ":"))
            entry["OutputDetails"] = {"Included": True}
        else:
            entry["Error"] = self.error or "States.Runtime"
            entry["Cause"] = self.cause or ""
        return entry

    @property
    def listed_as(self) -> str:
        return "SUCCEEDED" if self.status == "SUCCEEDED" else "FAILED"


class _MapRunResults:
    """The children of one map run so far, kept on moto's MapRunRecord."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.children: list[ChildResult] = []
        self.failed = 0


def results_of(map_run_record: Any) -> _MapRunResults:
    with _install_lock:
        found: _MapRunResults | None = getattr(map_run_record, "backoffice_results", None)
        if found is None:
            found = _MapRunResults()
            map_run_record.backoffice_results = found
        return found


def exceeds_tolerance(failed: int, total: int, tolerated_count: int, tolerated_percentage: float) -> bool:
    """AWS's rule: the map run fails once the failed children pass the tolerated count or percentage; with
    neither set (moto gives both as 0 then), one failure is too many. A field set to 0 next to the other is
    read as not set (moto cannot tell them apart); the invoicing workflow sets the percentage alone."""
    if failed == 0:
        return False
    if tolerated_count == 0 and tolerated_percentage == 0:
        return True
    if tolerated_count > 0 and failed > tolerated_count:
        return True
    return tolerated_percentage > 0 and total > 0 and failed * 100.0 / total > tolerated_percentage


def install() -> None:
    """Patch moto's engine (once per process; the runtime calls it when it installs its hooks)."""
    with _install_lock:
        from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.itemprocessor import (
            distributed_item_processor_worker as worker_module,
        )

        worker = worker_module.DistributedItemProcessorWorker
        if getattr(worker._eval_job, "records_children", False):
            return
        _record_children(worker)
        _write_result_files()
        _read_items_as_state_machine()


def _record_children(worker: Any) -> None:
    from moto.stepfunctions.parser.asl.eval.program_state import ProgramEnded, ProgramError, ProgramStopped

    original = worker._eval_job

    def _eval_job(self: Any, env: Any, job: Any) -> None:
        record = self._map_run_record
        started = datetime.now(UTC)
        original(self, env, job)
        state = env.program_state()
        error = cause = None
        if isinstance(state, ProgramEnded):
            status = "SUCCEEDED"
        elif isinstance(state, ProgramStopped):
            status, error, cause = "ABORTED", state.error or "States.Aborted", state.cause
        elif isinstance(state, ProgramError):
            details = state.error or {}
            status, error, cause = "FAILED", details.get("error"), details.get("cause")
        else:  # moto caught the child's error itself (a timeout, or a fault outside the program's handling)
            status, error = "FAILED", "States.Runtime"
        child = ChildResult(
            index=job.job_index,
            execution_arn=_child_arn(record),
            # As AWS lists it: the child's input after the ItemSelector, not the raw item.
            input=getattr(env, "backoffice_child_input", job.job_input),
            status=status,
            started=started,
            stopped=datetime.now(UTC),
            output=job.job_output if status == "SUCCEEDED" else None,
            error=error,
            cause=cause,
        )
        results = results_of(record)
        with results.lock:
            results.children.append(child)
            if status != "SUCCEEDED":
                results.failed += 1
            failed = results.failed
        total = self._job_pool._jobs_number
        if exceeds_tolerance(
            failed, total, record.tolerated_failure_count, float(record.tolerated_failure_percentage)
        ):
            _stop_map_run(self._job_pool, env, failed, total)

    original_input = worker._eval_input

    def _eval_input(self: Any, env_frame: Any) -> None:
        original_input(self, env_frame)
        env_frame.backoffice_child_input = copy.deepcopy(env_frame.states.get_input())

    _eval_job.records_children = True  # type: ignore[attr-defined]
    worker._eval_job = _eval_job
    worker._eval_input = _eval_input


def _child_arn(record: Any) -> str:
    # AWS: arn:...:execution:<state machine>/<map run label>:<uuid>
    return f"{record.map_state_machine_arn.replace(':stateMachine:', ':execution:', 1)}:{uuid.uuid4()}"


def _stop_map_run(job_pool: Any, env: Any, failed: int, total: int) -> None:
    """Fail the map run as AWS does: no further child starts, the Map state fails with the error its Catch sees."""
    from moto.stepfunctions.parser.api import HistoryEventType, MapRunFailedEventDetails
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
        FailureEvent,
        FailureEventException,
    )
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
        StatesErrorNameType,
    )
    from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails

    name = StatesErrorName(typ=StatesErrorNameType.StatesExceedToleratedFailureThreshold)
    failure = FailureEventException(
        failure_event=FailureEvent(
            env=env,
            error_name=name,
            event_type=HistoryEventType.MapRunFailed,
            event_details=EventDetails(  # type: ignore[typeddict-item]
                mapRunFailedEventDetails=MapRunFailedEventDetails(
                    error=name.error_name,
                    cause=f"The failed child executions ({failed} of {total}) exceeded the tolerated failure "
                    "threshold",
                )
            ),
        )
    )
    with job_pool._mutex:
        if job_pool._worker_exception is None:
            job_pool._worker_exception = failure
    job_pool._notify_on_termination()


def _state_machine_of(env: Any) -> str:
    return str(env.states.context_object.context_object_data.get("StateMachine", {}).get("Id", ""))


@contextmanager
def _as_state_machine(env: Any) -> Iterator[None]:
    with acting_as_state_machine(_state_machine_of(env)):
        yield


def _write_result_files() -> None:
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.result_writer.resource_eval import (
        resource_eval_s3,
    )

    writer = resource_eval_s3.ResourceEvalS3

    def _handle_put_object(env: Any, resource_runtime_part: Any, state_credentials: Any) -> None:
        parameters = env.stack.pop()
        env.stack.pop()  # the children's outputs in moto's shape: the result files below replace them
        s3 = writer._get_s3_client(
            resource_runtime_part=resource_runtime_part, state_credentials=state_credentials
        )
        record = env.map_run_record_pool_manager.get_all()[-1]
        bucket, prefix = parameters["Bucket"], str(parameters.get("Prefix", ""))
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        folder = f"{prefix}{record.map_run_arn.rsplit(':', 1)[-1]}/"
        results = results_of(record)
        with results.lock:
            children = sorted(results.children, key=lambda child: child.index)
        files: dict[str, list[dict[str, Any]]] = {status: [] for status in RESULT_STATUSES}
        with _as_state_machine(env):
            for status in RESULT_STATUSES:
                entries = [
                    child.as_written(record.map_state_machine_arn)
                    for child in children
                    if child.listed_as == status
                ]
                if not entries:
                    continue
                key = f"{folder}{status}_0.json"
                body = json.dumps(entries, separators=(",", ":")).encode()
                s3.put_object(Bucket=bucket, Key=key, Body=body)
                files[status].append({"Key": key, "Size": len(body)})
            manifest = {"DestinationBucket": bucket, "MapRunArn": record.map_run_arn, "ResultFiles": files}
            key = f"{folder}manifest.json"
            s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(manifest, indent=2).encode())
        env.stack.append(
            {"MapRunArn": record.map_run_arn, "ResultWriterDetails": {"Bucket": bucket, "Key": key}}
        )

    writer._handle_put_object = staticmethod(_handle_put_object)  # type: ignore[method-assign]

    from moto.stepfunctions.parser.asl.component.state.exec.state_map.result_writer.result_writer_decl import (
        ResultWriter,
    )

    def _eval_body(self: Any, env: Any) -> None:
        # AWS reads the ResultWriter's "Prefix.$" paths from the Map state's input; moto from the children's
        # outputs (the top of its stack), where the run's folder is not.
        outputs = env.stack.pop()
        env.stack.append(env.states.get_input())
        self.parargs.eval(env=env)
        parameters = env.stack.pop()
        env.stack.pop()
        env.stack.extend([outputs, parameters])
        self.resource_eval.eval_resource(env=env)

    ResultWriter._eval_body = _eval_body  # type: ignore[method-assign]


def _read_items_as_state_machine() -> None:
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.item_reader.eval import resource_eval_s3

    reader = resource_eval_s3.ResourceEvalS3
    original: Callable[[Any, Any], None] = reader.eval_resource

    def eval_resource(self: Any, env: Any) -> None:
        with _as_state_machine(env):
            original(self, env)

    reader.eval_resource = eval_resource  # type: ignore[method-assign]
