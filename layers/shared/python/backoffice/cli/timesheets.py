"""``backoffice timesheets remind``: a week's missing and short timesheets chased now, as the daily schedule does.

    backoffice [--stack NAME | --outputs-file FILE] timesheets remind --week 2026-11-02 [--as-of TIME] --as EMAIL

The schedule runs the job every working day for the weeks due by then; this runs it for one week (in AWS: a Lambda
invoke with your credentials; locally: the server runs it) and records you as who asked. ``--as-of`` runs it as at
an earlier moment (never later than now: nobody is escalated early), which is how a week is replayed on the local
runtime. Running it again sends nothing twice (``backoffice.time_expense.reminders``).
"""

from __future__ import annotations

import argparse
import json
from datetime import date, datetime
from typing import Any

from backoffice.cli.approvals import with_connection
from backoffice.cli.jobs import run_job_now

SCHEDULE = "timesheet_reminders"
FUNCTION = "remind_missing_timesheets"


def week(text: str) -> str:
    try:
        date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a date: YYYY-MM-DD, the week's first day"
        ) from None
    return text


def moment(text: str) -> str:
    """An ISO time with its offset (``2026-11-12T09:15-05:00`` or ``...Z``)."""
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO time, e.g. 2026-11-12T09:15-05:00"
        ) from None
    if parsed.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} has no offset: add Z or e.g. -05:00")
    return parsed.isoformat()


def cmd_remind(args: argparse.Namespace, runtime: Any) -> int:
    payload: dict[str, Any] = {"week": args.week, "requested_by": args.as_email}
    if args.as_of:
        payload["as_of"] = args.as_of
    result, error = run_job_now(args, runtime, function=FUNCTION, schedule=SCHEDULE, payload=payload)
    if error:
        print(f"the reminder run failed: {error}")
        return 1
    if args.json:
        print(json.dumps(result))
        return 0
    for chased in result.get("weeks", []):
        print(
            f"week of {chased['week_start']} (due {chased['due_at']}): {chased['expected']} people expected, "
            f"{len(chased['missing'])} missing, {len(chased['short'])} short"
        )
        if chased.get("not_due"):
            print("  not due yet: nothing sent")
            continue
        print(f"  reminded:  {', '.join(chased['reminded']) or 'nobody new'}")
        print(f"  escalated: {', '.join(chased['escalated']) or 'nobody new'} (from {chased['escalate_at']})")
        if chased.get("summaries"):
            print(f"  summaries: {', '.join(chased['summaries'])}")
    return 0


def add_timesheets_parser(sub: Any, connect: Any) -> None:
    timesheets = sub.add_parser("timesheets", help="missing and late timesheets: reminders and escalations")
    timesheets.add_argument("--api", help="the local API (default $BACKOFFICE_API or the server's port + 1)")
    inner = timesheets.add_subparsers(dest="timesheets_command", required=True)
    remind = inner.add_parser("remind", help="chase a week's missing and short timesheets now")
    remind.add_argument("--week", type=week, required=True, help="the week's first day, e.g. 2026-11-02")
    remind.add_argument(
        "--as-of", dest="as_of", type=moment, help="run as at this time (never later than now)"
    )
    remind.add_argument("--as", dest="as_email", required=True, help="who asks (recorded in the audit trail)")
    remind.add_argument("--json", action="store_true")
    remind.set_defaults(func=lambda a: with_connection(connect, a, cmd_remind))
