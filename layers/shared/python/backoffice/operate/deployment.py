"""Where the operate commands act: a deployed stack, read from its outputs, or the local runtime.

An operator's command (``backoffice audit verify``, ``executions``, ``cases resume``, ...) needs two things: the
name of each resource it reaches (tables, buckets, queues, state machines, the signing key, the API's URL) and
AWS clients with the operator's own credentials. ``Operations`` holds what every command does with those;
``Deployment`` gets the names from the stack's outputs (``infra/outputs.py``: CloudFormation's DescribeStacks, or
the file ``cdk deploy --outputs-file`` writes) and its clients from the caller's profile, region and, for the
local runtime or a test, an endpoint. ``LocalRuntime`` is the other ``Operations``: the same reads, over the
names it gave its own resources. ``backoffice serve`` writes its names as an outputs file too, so the deployed
path runs against the local runtime in the tests.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from infra.catalog import CATALOG, Catalog, Ref
from infra.outputs import STACK_NAME, operator_refs, output_key


class OperateError(Exception):
    """What the operator is told, in one line, instead of a traceback: the stack, the output or the credentials."""


@dataclass(frozen=True)
class ExecutionView:
    name: str
    workflow: str
    status: str
    current_state: str | None
    started: datetime
    stopped: datetime | None
    arn: str
    error: str | None = None


class Operations:
    """What an operator reads and does in a deployment, given ``resolve`` (a catalog reference to its name) and
    ``client`` (an AWS client for a service)."""

    catalog: Catalog
    # True for a stack in AWS: what only the local runtime does (running a schedule now, recording a start
    # decision while accepting the event) is not there.
    deployed = False

    def resolve(self, ref: Ref) -> str:
        raise NotImplementedError

    def client(self, service: str, config: Any = None) -> Any:
        """A client of ``service`` (``config``: a botocore ``Config`` for this one client, e.g. a long read)."""
        raise NotImplementedError

    @property
    def documents_bucket(self) -> str:
        return self.resolve(Ref("bucket_name", "documents"))

    def put_event(self, detail_type: str, detail: Mapping[str, Any], source: str = "backoffice.local") -> str:
        """Put one event on the product's bus, as a SaaS system would; returns its event id."""
        response = self.client("events").put_events(
            Entries=[
                {
                    "EventBusName": self.resolve(Ref("event_bus_name")),
                    "Source": source,
                    "DetailType": detail_type,
                    "Detail": json.dumps(detail, default=str),
                }
            ]
        )
        entry = response["Entries"][0]
        if "EventId" not in entry:
            raise ValueError(
                f"the bus refused the event: {entry.get('ErrorCode')}: {entry.get('ErrorMessage')}"
            )
        return str(entry["EventId"])

    def parked_messages(self) -> list[dict[str, Any]]:
        """Every parked message, left in the queue (read with a zero visibility timeout so others can read it)."""
        sqs = self.client("sqs")
        url = self.resolve(Ref("queue_url", "parked_events"))
        seen: dict[str, dict[str, Any]] = {}
        for _ in range(20):
            batch = sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0, MessageAttributeNames=["All"]
            ).get("Messages", [])
            new = [m for m in batch if m["MessageId"] not in seen]
            if not new:
                break
            for m in new:
                seen[m["MessageId"]] = json.loads(m["Body"])
        return list(seen.values())

    # -- executions -----------------------------------------------------------------------------------------------

    def state_machine_arn(self, workflow: str) -> str:
        return self.resolve(Ref("state_machine_arn", workflow))

    def executions(self) -> list[ExecutionView]:
        sfn = self.client("stepfunctions")
        views = [self._view(sfn, workflow, summary) for workflow, summary in self._summaries(sfn)]
        return sorted(views, key=lambda v: v.started)

    def execution(self, name: str, *, with_state: bool = True) -> ExecutionView | None:
        """The execution called ``name`` (the earliest started, as in ``executions()``), None if there is none.
        Only this one's history is read; ``with_state=False``: not even that (``current_state`` is None), for a
        caller polling its status.

        Found by DescribeExecution of the ARN the name has in each state machine (a name is unique in its state
        machine), not by listing every execution; once found, the answer is remembered and only its ARN is
        described: a later start of the name elsewhere started later. Remembered with its start, so an execution
        gone (a restored runtime, a name reused after AWS's 90 days) is looked for again."""
        sfn = self.client("stepfunctions")
        remembered = self._found_executions.get(name)
        if remembered is not None:
            workflow, arn, started = remembered
            described = _described(sfn, arn)
            if described is not None and described["startDate"] == started:
                return self._view(sfn, workflow, described, with_state=with_state, described=True)
            self._found_executions.pop(name, None)
        try:
            found = self._earliest_named(sfn, name)
        except _NoExecutionArn:  # a name no execution ARN can hold (AWS: InvalidArn): the listing decides
            listed = [(workflow, s) for workflow, s in self._summaries(sfn) if s["name"] == name]
            if not listed:
                return None
            workflow, summary = min(listed, key=lambda found_one: found_one[1]["startDate"])
            return self._view(sfn, workflow, summary, with_state=with_state)
        if found is None:
            return None
        workflow, described = found
        self._found_executions[name] = (workflow, described["executionArn"], described["startDate"])
        return self._view(sfn, workflow, described, with_state=with_state, described=True)

    @property
    def _found_executions(self) -> dict[str, tuple[str, str, datetime]]:
        """name -> (workflow, execution ARN, start) of each execution ``execution`` found."""
        found: dict[str, tuple[str, str, datetime]] = self.__dict__.setdefault(
            "_found_executions_by_name", {}
        )
        return found

    def _earliest_named(self, sfn: Any, name: str) -> tuple[str, dict[str, Any]] | None:
        """The earliest started execution called ``name`` of any state machine, described; None: there is none
        (``_NoExecutionArn``: a state machine's ARN or the name makes no execution ARN). The state machines described
        before the first one found are described again after it: one of them may have started the name after it was
        described there and before the one found started; any other start of the name is later than the one found
        (so the answer can be remembered)."""
        arns = [
            (sm.name, _execution_arn(self.state_machine_arn(sm.name), name))
            for sm in self.catalog.state_machines
        ]
        found: list[tuple[str, dict[str, Any]]] = []
        first_found_at = None
        for index, (workflow, arn) in enumerate(arns):
            described = _described(sfn, arn, refused=_NoExecutionArn)
            if described is not None:
                found.append((workflow, described))
                if first_found_at is None:
                    first_found_at = index
        for workflow, arn in arns[: first_found_at or 0]:
            described = _described(sfn, arn)
            if described is not None:
                found.append((workflow, described))
        if not found:
            return None
        return min(found, key=lambda found_one: found_one[1]["startDate"])

    def _summaries(self, sfn: Any) -> Iterator[tuple[str, dict[str, Any]]]:
        for sm in self.catalog.state_machines:
            arn = self.state_machine_arn(sm.name)
            for summary in paginate(sfn, "list_executions", "executions", stateMachineArn=arn):
                yield sm.name, summary

    def _view(
        self,
        sfn: Any,
        workflow: str,
        summary: dict[str, Any],
        *,
        with_state: bool = True,
        described: bool = False,
    ) -> ExecutionView:
        """``summary``: ListExecutions' item or (``described``) DescribeExecution's answer, which has the error."""
        current, error = None, None
        if summary["status"] == "RUNNING":
            current = current_state(sfn, summary["executionArn"]) if with_state else None
        elif summary["status"] == "FAILED":
            full = summary if described else sfn.describe_execution(executionArn=summary["executionArn"])
            error = full.get("error")
        return ExecutionView(
            name=summary["name"],
            workflow=workflow,
            status=summary["status"],
            current_state=current,
            started=summary["startDate"],
            stopped=summary.get("stopDate"),
            arn=summary["executionArn"],
            error=error,
        )


class Deployment(Operations):
    """A deployed stack, named by its outputs, reached with the operator's own credentials."""

    deployed = True

    def __init__(
        self,
        outputs: Mapping[str, str],
        *,
        source: str,
        session: Any,
        endpoint_url: str | None = None,
        catalog: Catalog = CATALOG,
    ) -> None:
        """``outputs``: the stack's outputs by key; ``source``: where they came from, for messages (``stack
        BackofficeStack in eu-west-1``, ``cdk-outputs.json``); ``session``: a boto3 session with the operator's
        profile and region."""
        self.catalog = catalog
        self.outputs = dict(outputs)
        self.source = source
        self.session = session
        self.endpoint_url = endpoint_url
        self._clients: dict[str, Any] = {}

    def resolve(self, ref: Ref) -> str:
        if ref.kind == "setting":
            # As deployed when the stack exports it (a deploy may override a setting), else the catalog's.
            exported = _setting_output(ref)
            default = self.catalog.settings[ref.name]
            return self.outputs.get(exported, default) if exported else default
        key = output_key(ref)
        if key not in self.outputs:
            raise OperateError(
                f"{self.source} has no output {key} (the {ref.kind.replace('_', ' ')} of {ref.name or 'the stack'}):"
                " deploy the current version of the stack, or check the stack name"
            )
        return self.outputs[key]

    def client(self, service: str, config: Any = None) -> Any:
        if config is not None:
            return self.session.client(service, endpoint_url=self.endpoint_url, config=config)
        if service not in self._clients:
            self._clients[service] = self.session.client(service, endpoint_url=self.endpoint_url)
        return self._clients[service]

    @property
    def api_url(self) -> str:
        return self.resolve(Ref("api_url")).rstrip("/")

    def stop(self) -> None:
        """Nothing to stop: the deployment runs on without this command (``LocalRuntime`` has the same call)."""


def read_outputs_file(path: Path, stack: str | None = None) -> tuple[str, dict[str, str]]:
    """The outputs of one stack from a ``cdk deploy --outputs-file`` file: ``(stack name, outputs)``."""
    try:
        document = json.loads(path.read_text())
    except FileNotFoundError:
        raise OperateError(
            f"no outputs file at {path}: write one with 'cdk deploy --outputs-file {path}'"
        ) from None
    except json.JSONDecodeError as error:
        raise OperateError(f"{path} is not JSON ({error.msg} at line {error.lineno})") from None
    if not isinstance(document, dict) or not all(isinstance(v, dict) for v in document.values()):
        raise OperateError(f"{path} is not a cdk outputs file ({{stack name: {{output: value}}}})")
    if stack is None:
        if len(document) != 1:
            names = ", ".join(sorted(document)) or "none"
            raise OperateError(f"{path} holds the outputs of several stacks ({names}): name one with --stack")
        stack = next(iter(document))
    if stack not in document:
        raise OperateError(f"{path} has no stack {stack!r} (it has: {', '.join(sorted(document))})")
    return stack, {str(k): str(v) for k, v in document[stack].items()}


def stack_outputs(cloudformation: Any, stack: str) -> dict[str, str]:
    """The outputs of a deployed stack (CloudFormation DescribeStacks), with the errors an operator can act on."""
    from botocore.exceptions import ClientError, NoCredentialsError

    try:
        stacks = cloudformation.describe_stacks(StackName=stack)["Stacks"]
    except NoCredentialsError:
        raise OperateError(no_credentials_message()) from None
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        message = error.response.get("Error", {}).get("Message", "")
        if code == "ValidationError" and "does not exist" in message:
            region = cloudformation.meta.region_name
            raise OperateError(
                f"no stack {stack!r} in {region}: check --stack and --region (or AWS_REGION)"
            ) from None
        raise OperateError(access_denied_message(error, "cloudformation:DescribeStacks")) from None
    if not stacks:
        raise OperateError(f"no stack {stack!r}")
    return {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}


def no_credentials_message() -> str:
    return "no AWS credentials found: pass --profile, set AWS_PROFILE, or sign in (aws sso login)"


def access_denied_message(error: Any, action: str | None = None) -> str:
    """``AccessDenied`` in one line, naming the action the caller lacks (the one AWS names, else the call's)."""
    code = error.response.get("Error", {}).get("Code", "")
    message = error.response.get("Error", {}).get("Message", "")
    named = action or str(getattr(error, "operation_name", "") or "the call")
    if code in ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation"):
        return f"access denied: your credentials may not call {named} ({message})"
    return f"{named} failed: {code}: {message}"


def local_outputs(names: Mapping[Ref, str], catalog: Catalog = CATALOG) -> dict[str, dict[str, str]]:
    """The local runtime's names (and settings) in the shape ``cdk deploy --outputs-file`` writes."""
    values = {**names, **{Ref("setting", name): value for name, value in catalog.settings.items()}}
    return {STACK_NAME: {output_key(ref): values[ref] for ref in operator_refs(catalog) if ref in values}}


def _setting_output(ref: Ref) -> str | None:
    try:
        return output_key(ref)
    except ValueError:
        return None


class _NoExecutionArn(Exception):
    """A state machine ARN, or an execution name, that makes no execution ARN."""


def _execution_arn(state_machine_arn: str, name: str) -> str:
    """The ARN an execution called ``name`` of the state machine has: ``arn:<partition>:states:<region>:<account>:
    execution:<state machine>:<name>``."""
    parts = state_machine_arn.split(":")
    if len(parts) != 7 or parts[0] != "arn" or parts[2] != "states" or parts[5] != "stateMachine":
        raise _NoExecutionArn(state_machine_arn)
    return ":".join([*parts[:5], "execution", parts[6], name])


def _described(sfn: Any, arn: str, *, refused: type[Exception] | None = None) -> dict[str, Any] | None:
    """DescribeExecution's answer, None when there is no such execution (or AWS refuses the ARN, which then no
    execution has; ``refused``: raise that instead)."""
    from botocore.exceptions import ClientError

    try:
        described: dict[str, Any] = sfn.describe_execution(executionArn=arn)
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        if code == "ExecutionDoesNotExist":
            return None
        if code == "InvalidArn":
            if refused is not None:
                raise refused(arn) from None
            return None
        raise
    return described


def current_state(sfn: Any, execution_arn: str) -> str | None:
    """The state an execution is in now: the last state entered and not yet exited."""
    events = sfn.get_execution_history(executionArn=execution_arn, maxResults=1000)["events"]
    open_states: list[str] = []
    for event in events:
        kind = event["type"]
        if kind.endswith("StateEntered"):
            open_states.append(event["stateEnteredEventDetails"]["name"])
        elif kind.endswith("StateExited"):
            name = event["stateExitedEventDetails"]["name"]
            if name in open_states:
                open_states.remove(name)
    return open_states[-1] if open_states else None


def paginate(client: Any, operation: str, key: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
    token = None
    while True:
        page = client.__getattribute__(operation)(**kwargs, **({"nextToken": token} if token else {}))
        yield from page.get(key, [])
        token = page.get("nextToken")
        if not token:
            return


__all__ = [
    "Deployment",
    "ExecutionView",
    "OperateError",
    "Operations",
    "access_denied_message",
    "current_state",
    "local_outputs",
    "no_credentials_message",
    "paginate",
    "read_outputs_file",
    "stack_outputs",
]
