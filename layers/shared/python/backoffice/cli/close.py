"""``backoffice reconcile`` and ``backoffice revenue``: a period's PSA-to-ERP reconciliation and its findings,
and its revenue recognition, asked for now.

    backoffice [--stack NAME | --outputs-file FILE] reconcile run --period 2026-10 --as EMAIL [--rerun LABEL]
                                                                   [--as-of 2026-12-15]
    backoffice [--stack NAME | --outputs-file FILE] reconcile findings --period 2026-10 [--status open] [--json]
    backoffice [--stack NAME | --outputs-file FILE] revenue run --period 2026-10 --as EMAIL [--rerun LABEL]

``run`` puts ``Reconciliation Requested`` on the bus, as the monthly schedule and a billing run's completion do:
one case per period, so asking again for a period already reconciled needs a ``--rerun`` label (after fixes, to
close what no longer holds). ``findings`` lists the period's findings across its runs, with their status (open,
in review, awaiting a fix, settled, closed) and what was decided; exit 1 while any is open or in review.
``revenue run`` puts ``Revenue Recognition Requested`` on the bus, as the monthly schedule does; finance approves
the proposed journal through the approval e-mail before it is posted.
"""

from __future__ import annotations

import argparse
import calendar
import json
from datetime import date
from typing import Any

from backoffice.cli.approvals import with_connection
from infra.catalog import Ref

SOURCE = "backoffice.cli"


def period(text: str) -> tuple[date, date]:
    """``2026-10`` (a month) or ``2026-10-01..2026-10-15``."""
    try:
        if ".." in text:
            first, last = text.split("..", 1)
            start, end = date.fromisoformat(first), date.fromisoformat(last)
        else:
            year, month = (int(part) for part in text.split("-", 1))
            start = date(year, month, 1)
            end = date(year, month, calendar.monthrange(year, month)[1])
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a period: 2026-10, or 2026-10-01..2026-10-15"
        ) from None
    if end < start:
        raise argparse.ArgumentTypeError(f"{text!r} ends before it starts")
    return start, end


def cmd_run(args: argparse.Namespace, runtime: Any) -> int:
    return _request(args, runtime, "Reconciliation Requested", "reconciliation")


def cmd_revenue_run(args: argparse.Namespace, runtime: Any) -> int:
    return _request(args, runtime, "Revenue Recognition Requested", "revenue recognition")


def _request(args: argparse.Namespace, runtime: Any, detail_type: str, what: str) -> int:
    start, end = args.period
    detail: dict[str, Any] = {
        "period_start": start.isoformat(),
        "period_end": end.isoformat(),
        "requested_by": args.as_email,
    }
    if args.rerun:
        detail["rerun"] = args.rerun
    if getattr(args, "as_of", None):
        detail["as_of"] = args.as_of.isoformat()
    event_id = runtime.put_event(detail_type, detail, source=SOURCE)
    print(f"asked for the {what} of {start} to {end} (event {event_id})")
    if not runtime.deployed:
        from backoffice.cli.main import _start_decisions

        for record in _start_decisions(runtime, event_id):
            print(f"  {record.action} -> case {record.case_id}: {record.outcome}")
            for reason in record.reasons:
                print(f"      - {reason}")
    return 0


def cmd_findings(args: argparse.Namespace, runtime: Any) -> int:
    from backoffice.finance_close.findings import FindingStore

    start, end = args.period
    store = FindingStore(runtime.resolve(Ref("table_name", "finance_close")), runtime.client("dynamodb"))
    records = [r for r in store.findings(start, end) if not args.status or r.status == args.status]
    if args.json:
        print(json.dumps([{**r.__dict__} for r in records], default=str))
    else:
        if not records:
            print(
                f"no findings for {start} to {end}" + (f" with status {args.status}" if args.status else "")
            )
        for record in records:
            finding = record.finding
            amount = finding.get("amount_at_stake")
            at_stake = f" {finding.get('currency')} {amount}" if amount is not None else ""
            decided = f" ({record.resolution.replace('_', ' ')})" if record.resolution else ""
            print(f"{record.status:<12} {record.key}{at_stake}{decided}")
            print(f"{'':<13}{finding.get('description', '')[:160]}")
    return 1 if any(r.status in ("open", "in_review") for r in records) else 0


def add_close_parsers(sub: Any, connect: Any) -> None:
    reconcile = sub.add_parser("reconcile", help="a period's PSA-to-ERP reconciliation and its findings")
    inner = reconcile.add_subparsers(dest="reconcile_command", required=True)
    run = inner.add_parser("run", help="reconcile a period now (one case a period; --rerun after fixes)")
    run.add_argument("--period", type=period, required=True, help="2026-10, or 2026-10-01..2026-10-15")
    run.add_argument("--as", dest="as_email", required=True, help="who asks (recorded in the audit trail)")
    run.add_argument("--rerun", help="a label for reconciling a period again (after fixes)")
    run.add_argument("--as-of", type=date.fromisoformat, help="count ages to this day (default: today)")
    run.set_defaults(func=lambda a: with_connection(connect, a, cmd_run))
    findings = inner.add_parser("findings", help="the period's findings and their status; exit 1 while open")
    findings.add_argument("--period", type=period, required=True, help="2026-10, or 2026-10-01..2026-10-15")
    findings.add_argument(
        "--status", choices=("open", "in_review", "awaiting_fix", "settled", "closed"), help="only these"
    )
    findings.add_argument("--json", action="store_true")
    findings.set_defaults(func=lambda a: with_connection(connect, a, cmd_findings))


def add_revenue_parsers(sub: Any, connect: Any) -> None:
    revenue = sub.add_parser("revenue", help="a period's revenue recognition")
    inner = revenue.add_subparsers(dest="revenue_command", required=True)
    run = inner.add_parser(
        "run", help="recognize a period's revenue now (one case a period; --rerun after fixes)"
    )
    run.add_argument("--period", type=period, required=True, help="2026-10, or 2026-10-01..2026-10-15")
    run.add_argument("--as", dest="as_email", required=True, help="who asks (recorded in the audit trail)")
    run.add_argument("--rerun", help="a label for recognizing a period again (after fixes)")
    run.set_defaults(func=lambda a: with_connection(connect, a, cmd_revenue_run))
