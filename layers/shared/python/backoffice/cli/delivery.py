"""``backoffice delivery measure``: a month's delivery (capacity, hours, work in progress) measured now.

    backoffice [--stack NAME | --outputs-file FILE] delivery measure --month 2026-10 --as EMAIL

The monthly schedule measures last month early on the 1st; this runs the same function for any month (in AWS: a
Lambda invoke with your credentials; locally: the server runs it) and records you as who asked. Measuring a
month again appends only what changed since (``backoffice.delivery.steps``), so it is safe to repeat.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from backoffice.cli.approvals import with_connection
from backoffice.cli.jobs import run_job_now

SCHEDULE = "monthly_delivery_measurement"
FUNCTION = "measure_delivery"


def month(text: str) -> str:
    from backoffice.delivery.measurement import month_bounds

    try:
        month_bounds(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return text


def cmd_measure(args: argparse.Namespace, runtime: Any) -> int:
    payload = {"month": args.month, "requested_by": args.as_email}
    result, error = run_job_now(args, runtime, function=FUNCTION, schedule=SCHEDULE, payload=payload)
    if error:
        print(f"the measurement failed: {error}")
        return 1
    if args.json:
        print(json.dumps(result))
        return 0
    print(
        f"{result['month']}: {result['workers_measured']} people, {result['projects_with_wip']} projects with work "
        f"in progress; {result['records_appended']} record(s) appended to {result['case_id']}"
    )
    if result.get("currencies_without_rate"):
        print(f"  no rate to the reporting currency for {', '.join(result['currencies_without_rate'])}")
    if result.get("unknown_worker_entry_count"):
        print(
            f"  {result['unknown_worker_entry_count']} time entries of workers the HRIS does not know left out"
        )
    return 0


def add_delivery_parser(sub: Any, connect: Any) -> None:
    delivery = sub.add_parser("delivery", help="a month's delivery: utilization and work in progress")
    delivery.add_argument("--api", help="the local API (default $BACKOFFICE_API or the server's port + 1)")
    inner = delivery.add_subparsers(dest="delivery_command", required=True)
    measure = inner.add_parser("measure", help="measure a month now, as the monthly schedule does")
    measure.add_argument("--month", type=month, required=True, help="the month, e.g. 2026-10")
    measure.add_argument(
        "--as", dest="as_email", required=True, help="who asks (recorded in the audit trail)"
    )
    measure.add_argument("--json", action="store_true")
    measure.set_defaults(func=lambda a: with_connection(connect, a, cmd_measure))
