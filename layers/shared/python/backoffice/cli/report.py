"""``backoffice report`` and ``backoffice audit export``: process intelligence from a running runtime's audit trail.

    backoffice report [--out PATH] [--json] [--sample] [--as-of TIME]
    backoffice audit export --format csv|xes [--out PATH]

``report`` writes a self-contained HTML page (the management numbers, cycle times, exceptions, approval turnaround,
waits, the process map) and prints its path; with ``--json`` it prints the same report as JSON instead. ``--sample``
reports on six months of a 150-person sample firm (``intelligence.sample_firm``), with no runtime needed.
``audit export`` writes the trail as an event log for process-mining tools:
CSV (case_id, activity, timestamp, actor, workflow, outcome) or IEEE 1849 XES, to a file or standard output.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from infra.catalog import Ref

if TYPE_CHECKING:
    from backoffice.audit import AuditRecord, AuditTrail
    from backoffice.intelligence import RecordSource

# The audit trail and the report's builders are imported when a command runs, not for ``backoffice --help``.

DEFAULT_REPORT = Path(".local/process-report.html")

Connect = Callable[[argparse.Namespace], Any]
TrailOf = Callable[[Any], "RecordSource"]


def audit_trail_of(runtime: Any) -> AuditTrail:
    """The audit trail of a runtime (a ``LocalRuntime`` or anything that resolves the catalog's references)."""
    from backoffice.audit import AuditTrail

    return AuditTrail(runtime.resolve(Ref("table_name", "audit")), dynamodb=runtime.client("dynamodb"))


def read_records(args: argparse.Namespace, connect: Connect, trail_of: TrailOf) -> list[AuditRecord]:
    from backoffice.intelligence import load_records

    runtime = connect(args)
    try:
        return load_records(trail_of(runtime))
    finally:
        runtime.stop()


def cmd_report(args: argparse.Namespace, connect: Connect, trail_of: TrailOf) -> int:
    from backoffice.intelligence import render_html, to_json
    from backoffice.intelligence.events import parse_timestamp
    from backoffice.intelligence.sample_firm import sample_as_of, sample_firm_records
    from backoffice.reports.process_report import NO_RECORDS, build_process_report

    records = sample_firm_records() if args.sample else read_records(args, connect, trail_of)
    # A live trail is reported as of now, so open cases show how long they have really been waiting; the sample
    # as of the day it was read. The same builder as the weekly published report (backoffice.reports).
    as_of = (
        parse_timestamp(args.as_of)
        if args.as_of
        else sample_as_of(records)
        if args.sample
        else datetime.now(UTC)
    )
    report = build_process_report(records, as_of=as_of)
    if report is None:
        print(NO_RECORDS, file=sys.stderr)
        return 1
    if args.json and not args.out:
        print(to_json(report))
        return 0
    out = Path(args.out) if args.out else DEFAULT_REPORT
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(to_json(report) + "\n" if args.json else render_html(report), encoding="utf-8")
    print(out)
    return 0


def cmd_audit_export(args: argparse.Namespace, connect: Connect, trail_of: TrailOf) -> int:
    from backoffice.intelligence import event_log, export_csv, export_xes

    events = event_log(read_records(args, connect, trail_of))
    write = export_csv if args.format == "csv" else export_xes
    if not args.out:
        write(events, sys.stdout)
        return 0
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    write(events, out)
    cases = len({e.case_id for e in events})
    print(f"wrote {len(events)} events of {cases} cases to {out} ({args.format})")
    return 0


def add_report_parsers(subparsers: Any, connect: Connect, *, trail_of: TrailOf = audit_trail_of) -> None:
    """Register ``report`` on the top-level sub-commands."""
    report = subparsers.add_parser(
        "report", help="process-intelligence report from the audit trail: an HTML page, or JSON"
    )
    report.add_argument(
        "--out", help=f"file to write (default {DEFAULT_REPORT}; with --json, standard output)"
    )
    report.add_argument("--json", action="store_true", help="the report as JSON, for machines")
    report.add_argument(
        "--sample",
        action="store_true",
        help="report on six months of a 150-person sample firm instead (no runtime needed)",
    )
    report.add_argument(
        "--as-of",
        help="ISO-8601 time to measure open cases' age and waits at (default: now; --sample: the day it is read)",
    )
    report.set_defaults(func=partial(cmd_report, connect=connect, trail_of=trail_of))


def add_audit_export_parser(
    audit_subparsers: Any, connect: Connect, *, trail_of: TrailOf = audit_trail_of
) -> None:
    """Register ``export`` under the ``audit`` sub-command group."""
    export = audit_subparsers.add_parser(
        "export", help="the audit trail as an event log for process-mining tools (CSV or XES)"
    )
    export.add_argument("--format", choices=("csv", "xes"), required=True)
    export.add_argument("--out", help="file to write (default: standard output)")
    export.set_defaults(func=partial(cmd_audit_export, connect=connect, trail_of=trail_of))
