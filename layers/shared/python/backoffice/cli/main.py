"""The ``backoffice`` command: run the product locally, send events, look at cases and their audit trails."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from botocore.exceptions import EndpointConnectionError

from backoffice.audit import Actor, AuditTrail
from backoffice.cases import CaseCannotResume, resume_case
from backoffice.cli.approvals import add_approvals_parser
from backoffice.cli.extract import add_extract_parser
from backoffice.cli.report import add_audit_export_parser, add_report_parsers
from backoffice.local.runtime import LocalRuntime
from backoffice.local.server import DEFAULT_PORT
from infra.catalog import Ref

ENDPOINT_ENV = "BACKOFFICE_ENDPOINT"


def _endpoint(args: argparse.Namespace) -> str:
    return str(args.endpoint or os.environ.get(ENDPOINT_ENV) or f"http://127.0.0.1:{DEFAULT_PORT}")


def _connect(args: argparse.Namespace) -> LocalRuntime:
    """A runtime view of a running ``backoffice serve`` (no resources created, no hooks installed here)."""
    runtime = LocalRuntime(endpoint_url=_endpoint(args), api_port=None)
    runtime.start(create_resources=False)
    return runtime


def _audit(runtime: LocalRuntime) -> AuditTrail:
    return AuditTrail(runtime.resolve(Ref("table_name", "audit")))


# -- commands ---------------------------------------------------------------------------------------------------


def cmd_demo(args: argparse.Namespace) -> int:
    from backoffice.local.demo import run_demo

    return run_demo(out=sys.stdout)


def cmd_serve(args: argparse.Namespace) -> int:
    from backoffice.local.server import LocalServer

    server = LocalServer(port=args.port, retry_time_scale=args.retry_time_scale, outbox_dir=Path(args.outbox))
    server.start()
    print(f"backoffice local runtime serving on {server.endpoint_url} (Ctrl-C to stop)", flush=True)
    print(
        f"  AWS APIs (moto):       {server.endpoint_url}   export {ENDPOINT_ENV}={server.endpoint_url}",
        flush=True,
    )
    print(f"  approval links (API):  {server.api_url}", flush=True)
    print(f"  e-mail outbox:         {Path(args.outbox).resolve()}", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: server.stopped.set())
    try:
        server.stopped.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


def cmd_send(args: argparse.Namespace) -> int:
    document = json.loads(Path(args.event_file).read_text())
    entries = document if isinstance(document, list) else [document]
    runtime = _connect(args)
    try:
        for entry in entries:
            detail_type = entry.get("detail-type") or entry.get("DetailType")
            source = entry.get("source") or entry.get("Source") or "backoffice.cli"
            detail = entry.get("detail") if "detail" in entry else entry.get("Detail")
            if isinstance(detail, str):
                detail = json.loads(detail)
            if not detail_type or not isinstance(detail, dict):
                print("an event needs 'detail-type' and an object 'detail'", file=sys.stderr)
                return 2
            event_id = runtime.put_event(detail_type, detail, source=source)
            print(f"sent {detail_type!r} as event {event_id}")
            # The server routes an event while accepting it, so its start-case decision is already recorded.
            for record in _audit(runtime).find_start_decisions(event_id):
                print(f"  {record.action} -> case {record.case_id}: {record.outcome}")
                for reason in record.reasons:
                    print(f"      - {reason}")
    finally:
        runtime.stop()
    return 0


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
    runtime = _connect(args)
    try:
        report = _audit(runtime).verify(args.case_ids or None)
    finally:
        runtime.stop()
    for problem in report.problems:
        print(f"TAMPERED {problem}")
    status = "intact" if report.ok else f"{len(report.problems)} problem(s)"
    print(f"checked {report.records_checked} records: {status}")
    return 0 if report.ok else 1


def cmd_resume(args: argparse.Namespace) -> int:
    runtime = _connect(args)
    try:
        workflow = next(
            (
                sm.name
                for sm in runtime.catalog.state_machines
                if args.case_id.startswith(f"{sm.execution_prefix}-")
            ),
            None,
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="backoffice", description=__doc__)
    parser.add_argument(
        "--endpoint", help=f"a running 'backoffice serve' (default ${ENDPOINT_ENV} or port 4566)"
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
    verify = audit_sub.add_parser("verify", help="check every hash chain; exit 1 naming each tampered record")
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
    add_report_parsers(sub, _connect)
    add_audit_export_parser(audit_sub, _connect)
    add_extract_parser(sub)

    parked = sub.add_parser("parked", help="list parked (dead-lettered or rejected) events")
    parked.add_argument("--json", action="store_true")
    parked.set_defaults(func=cmd_parked)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args: Any = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except EndpointConnectionError:
        print(
            f"no local runtime answers at {_endpoint(args)}: start one with 'backoffice serve' (or 'make serve'),"
            f" or point --endpoint / ${ENDPOINT_ENV} at it",
            file=sys.stderr,
        )
        return 2


if __name__ == "__main__":
    sys.exit(main())
