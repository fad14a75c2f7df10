"""The ``backoffice`` command: run the product locally, send events, look at cases and their audit trails."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from backoffice.cli.ai import add_ai_parser
from backoffice.cli.anomaly import add_anomaly_parser
from backoffice.cli.approvals import add_approvals_parser
from backoffice.cli.close import add_close_parsers, add_revenue_parsers
from backoffice.cli.delivery import add_delivery_parser
from backoffice.cli.extract import add_extract_parser
from backoffice.cli.report import add_audit_export_parser, add_report_parsers
from backoffice.cli.sanctions import add_sanctions_parser
from backoffice.cli.timesheets import add_timesheets_parser
from backoffice.local.runtime import LocalRuntime
from backoffice.local.server import DEFAULT_PORT
from infra.catalog import Ref

if TYPE_CHECKING:
    from backoffice.audit import AuditTrail
    from backoffice.audit_anchors import AnchorStore

# What a command needs (the audit trail, its anchors, botocore) is imported when the command runs: ``backoffice
# --help`` and a mistyped command do not load it.

ENDPOINT_ENV = "BACKOFFICE_ENDPOINT"


def _endpoint(args: argparse.Namespace) -> str:
    return str(args.endpoint or os.environ.get(ENDPOINT_ENV) or f"http://127.0.0.1:{DEFAULT_PORT}")


def _connect(args: argparse.Namespace) -> Any:
    """Where the command acts: the deployed stack named by ``--stack`` or ``--outputs-file`` (its outputs name the
    resources; the caller's own credentials reach them), else a running ``backoffice serve`` (no resources
    created, no hooks installed here). Both answer the same calls (``backoffice.operate.deployment.Operations``)."""
    if _names_a_deployment(args):
        return _deployment(args)
    runtime = LocalRuntime(endpoint_url=_endpoint(args), api_port=None)
    runtime.start(create_resources=False)
    return runtime


def _names_a_deployment(args: argparse.Namespace) -> bool:
    return bool(getattr(args, "stack", None) or getattr(args, "outputs_file", None))


def _deployment(args: argparse.Namespace) -> Any:
    import boto3
    from botocore.exceptions import ProfileNotFound

    from backoffice.operate.deployment import Deployment, OperateError, read_outputs_file, stack_outputs

    # AWS_REGION as well as AWS_DEFAULT_REGION (botocore reads only the latter; Lambda and the AWS CLI v2 set the
    # former, and operators export it).
    region = args.region or os.environ.get("AWS_REGION") or None
    try:
        session = boto3.session.Session(profile_name=args.profile, region_name=region)
    except ProfileNotFound:
        raise OperateError(f"no AWS profile {args.profile!r} in your AWS config") from None
    if session.region_name is None:
        raise OperateError("no AWS region: pass --region, or set AWS_REGION or a region in your AWS profile")
    if args.outputs_file:
        stack, outputs = read_outputs_file(Path(args.outputs_file), args.stack)
        source = f"stack {stack} in {args.outputs_file}"
    else:
        cloudformation = session.client("cloudformation", endpoint_url=args.endpoint_url)
        outputs = stack_outputs(cloudformation, args.stack)
        source = f"stack {args.stack} in {session.region_name}"
    return Deployment(outputs, source=source, session=session, endpoint_url=args.endpoint_url)


def _audit(runtime: LocalRuntime) -> AuditTrail:
    from backoffice.audit import AuditTrail, RecordSigner

    # The operator's own records (an audited resume) are signed like a step's: the operator holds kms:GenerateMac.
    return AuditTrail(
        runtime.resolve(Ref("table_name", "audit")),
        signer=RecordSigner(_signing_key(runtime), kms=runtime.client("kms")),
        dynamodb=runtime.client("dynamodb"),
    )


def _signing_key(runtime: LocalRuntime) -> str:
    return runtime.resolve(Ref("key_arn", "audit_signing"))


def _anchors(runtime: LocalRuntime) -> AnchorStore:
    from backoffice.audit_anchors import ANCHORS_BUCKET, AnchorStore

    # Read as the operator: no function of the product holds a grant to read the anchors.
    return AnchorStore(runtime.resolve(Ref("bucket_name", ANCHORS_BUCKET)), s3=runtime.client("s3"))


# -- commands ---------------------------------------------------------------------------------------------------


def cmd_demo(args: argparse.Namespace) -> int:
    from backoffice.local.demo import run_demo

    return run_demo(out=sys.stdout)


def cmd_serve(args: argparse.Namespace) -> int:
    from backoffice.local.server import LocalServer

    server = LocalServer(
        port=args.port,
        retry_time_scale=args.retry_time_scale,
        outbox_dir=Path(args.outbox),
        outputs_file=Path(args.outputs_file) if args.outputs_file else None,
    )
    server.start()
    print(f"backoffice local runtime serving on {server.endpoint_url} (Ctrl-C to stop)", flush=True)
    print(
        f"  AWS APIs (moto):       {server.endpoint_url}   export {ENDPOINT_ENV}={server.endpoint_url}",
        flush=True,
    )
    print(f"  approval links (API):  {server.api_url}", flush=True)
    print(f"  e-mail outbox:         {Path(args.outbox).resolve()}", flush=True)
    if server.outputs_file is not None:
        print(
            f"  stack outputs:         {server.outputs_file.resolve()}   (backoffice --outputs-file"
            f" {server.outputs_file} --endpoint-url {server.endpoint_url} ...)",
            flush=True,
        )
    signal.signal(signal.SIGTERM, lambda *_: server.stopped.set())
    try:
        server.stopped.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


class EventFileError(ValueError):
    """An event file ``send`` cannot use; the message is the one line the person reads."""


def read_event_file(path: str) -> list[tuple[str, str, dict[str, Any]]]:
    """The events of a ``send`` file as (detail-type, source, detail): one event, or a JSON list of them."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise EventFileError(
            f"{path}: cannot read the file: {getattr(error, 'strerror', None) or error}"
        ) from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise EventFileError(f"{path}:{error.lineno}:{error.colno}: not valid JSON: {error.msg}") from None
    entries = document if isinstance(document, list) else [document]
    if not entries:
        raise EventFileError(f"{path}: the list holds no event")
    events = []
    for index, entry in enumerate(entries):
        where = f"{path}: event {index + 1}" if isinstance(document, list) else path
        if not isinstance(entry, dict):
            raise EventFileError(f"{where}: an event is a JSON object, not {type(entry).__name__}")
        detail_type = entry.get("detail-type") or entry.get("DetailType")
        source = entry.get("source") or entry.get("Source") or "backoffice.cli"
        detail = entry.get("detail") if "detail" in entry else entry.get("Detail")
        if isinstance(detail, str):
            try:
                detail = json.loads(detail)
            except json.JSONDecodeError as error:
                raise EventFileError(
                    f"{where}: Detail is not valid JSON: {error.msg} (column {error.colno})"
                ) from None
        if not isinstance(detail_type, str) or not detail_type or not isinstance(detail, dict):
            raise EventFileError(f"{where}: an event needs a 'detail-type' and an object 'detail'")
        if not isinstance(source, str):
            raise EventFileError(f"{where}: 'source' must be a string")
        events.append((detail_type, source, detail))
    return events


def cmd_send(args: argparse.Namespace) -> int:
    # The whole file is checked before anything is sent: a bad third event does not leave two on the bus.
    try:
        events = read_event_file(args.event_file)
    except EventFileError as error:
        print(f"backoffice send: {error}", file=sys.stderr)
        return 2
    runtime = _connect(args)
    try:
        for detail_type, source, detail in events:
            try:
                event_id = runtime.put_event(detail_type, detail, source=source)
            except ValueError as refused:  # the bus refused it (size, reserved source): say so, no traceback
                print(f"backoffice send: {args.event_file}: {refused}", file=sys.stderr)
                return 1
            print(f"sent {detail_type!r} as event {event_id}")
            if runtime.deployed:
                # EventBridge delivers to the case starter after accepting the event: nothing is recorded yet.
                print(
                    "  the bus delivers it to the case starter now: 'executions' and 'audit show' follow it"
                )
                continue
            # The server delivers an event after accepting it, as EventBridge does: its start-case decision is
            # waited for (a moment), then shown.
            decisions = _start_decisions(runtime, event_id)
            if not decisions:
                print(
                    "  no case decision yet (or no case rule takes it): 'executions' and 'audit show' follow it"
                )
            for record in decisions:
                print(f"  {record.action} -> case {record.case_id}: {record.outcome}")
                for reason in record.reasons:
                    print(f"      - {reason}")
    finally:
        runtime.stop()
    return 0


def _start_decisions(runtime: Any, event_id: str, wait: float = 10.0) -> list[Any]:
    """The case starter's decisions about an event the server accepted, once its bus has delivered it; an event no
    case rule takes (an ingest rule's, a parked one) gets none, and the command stops waiting after ``wait`` s."""
    import time

    trail = _audit(runtime)
    deadline = time.monotonic() + wait
    while True:
        found = trail.find_start_decisions(event_id)
        if found or time.monotonic() > deadline:
            return list(found)
        time.sleep(0.05)


def cmd_executions(args: argparse.Namespace) -> int:
    runtime = _connect(args)
    try:
        views = runtime.executions()
    finally:
        runtime.stop()
    if args.json:
        print(json.dumps([v.__dict__ for v in views], default=str, indent=2))
        return 0
    print(f"{'EXECUTION':<40} {'WORKFLOW':<12} {'STATUS':<10} {'STATE / ERROR':<36} STARTED")
    for v in views:
        where = v.current_state or v.error or ""
        print(f"{v.name:<40} {v.workflow:<12} {v.status:<10} {where:<36} {v.started:%Y-%m-%d %H:%M:%S}")
    if not views:
        print("(no executions)")
    return 0


def cmd_audit_show(args: argparse.Namespace) -> int:
    runtime = _connect(args)
    try:
        records = _audit(runtime).records(args.case_id)
    finally:
        runtime.stop()
    if not records:
        print(f"no audit records for case {args.case_id}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps([r.model_dump(mode="json") for r in records], indent=2))
        return 0
    print(f"audit trail of {args.case_id} ({len(records)} records)")
    for r in records:
        print(f"#{r.seq:<3} {r.timestamp}  {r.step:<32} {r.action:<24} {r.outcome:<10} by {r.actor}")
        for reason in r.reasons:
            print(f"      - {reason}")
    return 0


def cmd_audit_verify(args: argparse.Namespace) -> int:
    from backoffice.audit import MacVerifier
    from backoffice.audit_anchors import anchoring_window
    from backoffice.audit_completeness import CaseExecutions, IdempotencyClaims, missing_trails

    runtime = _connect(args)
    try:
        trail, anchors = _audit(runtime), _anchors(runtime)
        report = trail.verify(
            args.case_ids or None,
            anchors=anchors,
            macs=MacVerifier(_signing_key(runtime), kms=runtime.client("kms")),
            window=anchoring_window(runtime.catalog),
        )
        # Claims and executions are read before the trail, so a case started in between has its records counted.
        claims = list(
            IdempotencyClaims(
                runtime.resolve(Ref("table_name", "idempotency")), dynamodb=runtime.client("dynamodb")
            ).claims()
        )
        executions = list(
            CaseExecutions(
                [runtime.state_machine_arn(sm.name) for sm in runtime.catalog.state_machines],
                sfn=runtime.client("stepfunctions"),
            ).executions()
        )
        missing = missing_trails(claims, executions, set(trail.case_ids()), set(anchors.case_ids()))
    finally:
        runtime.stop()
    if args.case_ids:
        missing = [p for p in missing if p.case_id in args.case_ids]
    report = dataclasses.replace(report, problems=(*report.problems, *missing))
    for problem in report.problems:
        print(f"TAMPERED {problem}")
    for problem in report.pending:
        print(f"PENDING  {problem}")
    if report.ok:
        status = "intact, every record signed and anchored"
    else:
        status = f"{len(report.problems)} problem(s), {len(report.pending)} record(s) not yet anchored"
    print(f"checked {report.records_checked} records: {status}")
    return 0 if report.ok else 1


def cmd_resume(args: argparse.Namespace) -> int:
    from backoffice.audit import Actor
    from backoffice.cases import CaseCannotResume, resume_case

    runtime = _connect(args)
    try:
        workflow = next(
            (
                sm.name
                for sm in runtime.catalog.state_machines
                if args.case_id.startswith(f"{sm.execution_prefix}-")
            ),
            # A rule may name its cases itself (the weekly review: timesheet-..., expense-report-...).
            next(
                (
                    rule.workflow
                    for rule in runtime.catalog.rules
                    if rule.execution_prefix and args.case_id.startswith(f"{rule.execution_prefix}-")
                ),
                None,
            ),
        )
        if workflow is None:
            print(f"no workflow names its cases like {args.case_id!r}", file=sys.stderr)
            return 2
        try:
            arn = resume_case(
                sfn=runtime.client("stepfunctions"),
                audit=_audit(runtime),
                state_machine_arn=runtime.state_machine_arn(workflow),
                workflow=workflow,
                case_id=args.case_id,
                actor=Actor.user(args.as_email),
                reason=args.reason,
            )
        except CaseCannotResume as error:
            print(str(error), file=sys.stderr)
            return 1
    finally:
        runtime.stop()
    print(f"resumed {args.case_id} as {arn.rsplit(':', 1)[-1]}")
    return 0


def cmd_parked(args: argparse.Namespace) -> int:
    runtime = _connect(args)
    try:
        messages = runtime.parked_messages()
    finally:
        runtime.stop()
    if args.json:
        print(json.dumps(messages, indent=2, default=str))
        return 0
    for m in messages:
        reasons = m.get("reasons") or [m.get("error", {}).get("errorMessage", "")]
        print(
            f"{m.get('case_id') or m.get('rule', '?')}: {m.get('reason', 'invalid event')}: {'; '.join(reasons)}"
        )
    print(f"{len(messages)} parked message(s)")
    return 0


def cmd_edge(args: argparse.Namespace) -> int:
    """What the edge answered without any function running (AWS: the API stage's access log, S3's access logs)."""
    from backoffice.local.gateway import API_ACCESS_STREAM, S3_ACCESS_STREAM, edge_records

    runtime = _connect(args)
    try:
        logs = runtime.client("logs")
        api = edge_records(logs, API_ACCESS_STREAM)
        s3 = edge_records(logs, S3_ACCESS_STREAM)
    finally:
        runtime.stop()
    refused = [r for r in api if "refusedBy" in r] if not args.all else api
    if args.json:
        print(json.dumps({"api": refused, "s3": s3}, indent=2))
        return 0
    for r in refused:
        why = f" ({r['refusedBy']})" if "refusedBy" in r else ""
        print(f"{r['requestTime']} {r['ip']} {r['httpMethod']} {r['resourcePath']} {r['status']}{why}")
    for r in s3:
        print(f"{r['time']} {r['remoteIp']} S3 POST {r['bucket']} {r['httpStatus']} ({r['errorCode']})")
    print(f"{len(refused)} API request(s), {len(s3)} refused S3 upload(s)")
    return 0


def cmd_config_validate(args: argparse.Namespace) -> int:
    """The firm's configuration document checked as the synth checks it; one line per problem."""
    from backoffice.firm_config import FirmConfigInvalid, load_firm_config

    try:
        config = load_firm_config(Path(args.file))
    except FirmConfigInvalid as invalid:
        for problem in invalid.problems:
            print(f"{invalid.source}: {problem}", file=sys.stderr)
        return 1
    connectors = ", ".join(f"{system} {kind}" for system, kind in config.connectors.model_dump().items())
    groups = config.approval_policy.groups
    approvers = f"{sum(len(m) for m in groups.values())} approvers in {len(groups)} groups"
    print(f"{args.file}: valid: {config.firm}, mail from {config.sender}, {connectors}, {approvers}")
    return 0


def cmd_config_show(args: argparse.Namespace) -> int:
    """The firm's configuration document as deployed: the SSM parameter the stack wrote and the functions read."""
    runtime = _connect(args)
    try:
        name = runtime.resolve(Ref("setting", "firm_config_parameter"))
        parameter = runtime.client("ssm").get_parameter(Name=name)["Parameter"]
    finally:
        runtime.stop()
    document = json.loads(parameter["Value"])
    if args.json:
        print(json.dumps(document, indent=2))
        return 0
    policy = document.get("approval_policy") or {}
    groups = sorted((policy.get("groups") or {}).items())
    width = max([len("connectors"), *(len(group) for group, _ in groups)]) + 2
    connectors = document.get("connectors") or {}
    print(f"{name} (version {parameter.get('Version', '?')}): {document.get('firm', '?')}")
    print(f"  {'mail from':<{width}}{document.get('sender', '?')}")
    print(
        f"  {'connectors':<{width}}{', '.join(f'{k} {v}' for k, v in sorted(connectors.items())) or 'sandbox'}"
    )
    for group, members in groups:
        print(f"  {group:<{width}}{', '.join(members)}")
    for delegation in policy.get("delegations") or []:
        print(f"  {'delegation':<{width}}{json.dumps(delegation)}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="backoffice", description=__doc__)
    parser.add_argument(
        "--endpoint", help=f"a running 'backoffice serve' (default ${ENDPOINT_ENV} or port 4566)"
    )
    deployed = parser.add_argument_group(
        "a deployed stack", "act on the stack in AWS instead of a local server, with your own AWS credentials"
    )
    deployed.add_argument("--stack", help="the stack's name (its outputs name every resource)")
    deployed.add_argument(
        "--outputs-file", help="the file 'cdk deploy --outputs-file' wrote (or 'backoffice serve' writes)"
    )
    deployed.add_argument("--region", help="the stack's region (default: your AWS config)")
    deployed.add_argument("--profile", help="your AWS profile (default: your AWS config)")
    deployed.add_argument(
        "--endpoint-url", help="the AWS endpoint to call (a local 'backoffice serve'; default: AWS's)"
    )
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser(
        "demo", help="run the sample cases on an in-process local runtime and print a summary"
    )
    demo.set_defaults(func=cmd_demo)

    serve = sub.add_parser("serve", help="serve the local runtime on 127.0.0.1")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT)
    serve.add_argument(
        "--retry-time-scale", type=float, default=1.0, help="shorten Retry back-off (0.01 = 100 times faster)"
    )
    serve.add_argument("--outbox", default=".local/outbox", help="where e-mails sent through SES are written")
    serve.add_argument(
        "--write-outputs",
        dest="outputs_file",
        default=".local/cdk-outputs.json",
        help="where to write the server's resource names as 'cdk deploy --outputs-file' would ('' = nowhere)",
    )
    serve.set_defaults(func=cmd_serve)

    send = sub.add_parser("send", help="put an event (or a JSON list of events) on the local bus")
    send.add_argument("event_file")
    send.set_defaults(func=cmd_send)

    executions = sub.add_parser("executions", help="list executions with status and current state")
    executions.add_argument("--json", action="store_true")
    executions.set_defaults(func=cmd_executions)

    audit = sub.add_parser("audit", help="the audit trail")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True)
    show = audit_sub.add_parser("show", help="print a case's audit trail")
    show.add_argument("case_id")
    show.add_argument("--json", action="store_true")
    show.set_defaults(func=cmd_audit_show)
    verify = audit_sub.add_parser(
        "verify",
        help=(
            "check every hash chain and its anchors, and that every started case has a trail; exit 1 naming each"
            " tampered or unanchored record and each case missing"
        ),
    )
    verify.add_argument("case_ids", nargs="*")
    verify.set_defaults(func=cmd_audit_verify)

    cases = sub.add_parser("cases", help="operate on cases")
    cases_sub = cases.add_subparsers(dest="cases_command", required=True)
    resume = cases_sub.add_parser("resume", help="run a blocked case again once its cause is fixed")
    resume.add_argument("case_id")
    resume.add_argument(
        "--as", dest="as_email", required=True, help="who resumes it (recorded in the audit trail)"
    )
    resume.add_argument("--reason", required=True, help="what was fixed")
    resume.set_defaults(func=cmd_resume)

    add_approvals_parser(sub, _connect)
    add_anomaly_parser(sub, _connect)
    add_report_parsers(sub, _connect)
    add_audit_export_parser(audit_sub, _connect)
    add_extract_parser(sub)
    add_sanctions_parser(sub, _connect)
    add_close_parsers(sub, _connect)
    add_revenue_parsers(sub, _connect)
    add_delivery_parser(sub, _connect)
    add_timesheets_parser(sub, _connect)
    add_ai_parser(sub)  # ai assist (issue #23): backoffice ai eval

    config = sub.add_parser("config", help="the firm's configuration document (deploy settings)")
    config_sub = config.add_subparsers(dest="config_command", required=True)
    validate = config_sub.add_parser(
        "validate",
        help="check a configuration document as 'make synth CONFIG=FILE' does; exit 1 naming each problem",
    )
    validate.add_argument("file")
    validate.set_defaults(func=cmd_config_validate)
    show = config_sub.add_parser(
        "show", help="the configuration as deployed (the parameter the functions read); with --stack, in AWS"
    )
    show.add_argument("--json", action="store_true")
    show.set_defaults(func=cmd_config_show)

    parked = sub.add_parser("parked", help="list parked (dead-lettered or rejected) events")
    parked.add_argument("--json", action="store_true")
    parked.set_defaults(func=cmd_parked)

    edge = sub.add_parser(
        "edge", help="requests the edge refused before any function ran (413, WAF blocks, S3 upload refusals)"
    )
    edge.add_argument(
        "--all", action="store_true", help="every API request in the access log, not only refusals"
    )
    edge.add_argument("--json", action="store_true")
    edge.set_defaults(func=cmd_edge)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args: Any = build_parser().parse_args(argv)
    from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError

    from backoffice.operate.deployment import OperateError, access_denied_message, no_credentials_message

    deployed = _names_a_deployment(args)
    try:
        return int(args.func(args))
    except OperateError as error:
        print(f"backoffice: {error}", file=sys.stderr)
        return 2
    except NoCredentialsError:
        print(f"backoffice: {no_credentials_message()}", file=sys.stderr)
        return 2
    except ClientError as error:
        if not deployed:
            raise
        print(f"backoffice: {access_denied_message(error)}", file=sys.stderr)
        return 1
    except EndpointConnectionError:
        if deployed:
            print(f"backoffice: no AWS endpoint answers at {args.endpoint_url or 'AWS'}", file=sys.stderr)
            return 2
        print(
            f"no local runtime answers at {_endpoint(args)}: start one with 'backoffice serve' (or 'make serve'),"
            f" or point --endpoint / ${ENDPOINT_ENV} at it",
            file=sys.stderr,
        )
        return 2


if __name__ == "__main__":
    sys.exit(main())
