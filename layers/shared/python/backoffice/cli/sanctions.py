"""``backoffice sanctions status`` and ``backoffice sanctions refresh``: the list vendors are screened against.

    backoffice [--stack NAME | --outputs-file FILE] sanctions status [--json]
    backoffice [--stack NAME | --outputs-file FILE] sanctions refresh --as EMAIL

``status`` reads the manifest the screen reads (version, counts, when retrieved and last confirmed, age) and exits
1 when there is no list or it is older than the alarm's 8 days. ``refresh`` runs the refresh function now, as its
daily schedule does (in AWS: a Lambda invoke with your credentials; locally: the server runs it), and records you
as who asked. After a first deploy, run it once: until a list is stored, vendor screening stops rather than clear
anyone.
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from typing import Any

from backoffice.cli.approvals import with_connection
from backoffice.cli.jobs import run_job_now
from infra.catalog import Ref

MAX_AGE_DAYS = 8  # the SanctionsListStale alarm's threshold (infra/monitoring.py)
SCHEDULE = "sanctions_list_refresh"
FUNCTION = "refresh_sanctions_list"


def cmd_status(args: argparse.Namespace, runtime: Any) -> int:
    from backoffice.vendors.sanctions_lists import SanctionsListStore

    store = SanctionsListStore(runtime.client("s3"), runtime.resolve(Ref("bucket_name", "sanctions_lists")))
    manifest, _ = store.manifest()
    if manifest is None:
        print(
            "no sanctions list stored yet: vendor screening stops until `backoffice sanctions refresh` runs"
        )
        return 1
    age = manifest.age_days(datetime.now(UTC))
    if args.json:
        print(json.dumps({**manifest.model_dump(mode="json"), "version": manifest.version, "age_days": age}))
    else:
        print(manifest.version)
        print(f"  {manifest.entries} entries, {manifest.aliases} aliases, {manifest.addresses} addresses")
        print(f"  from {manifest.source}")
        print(f"  last confirmed {manifest.checked_at:%Y-%m-%d %H:%M} UTC ({age:.1f} days ago)")
    if age > MAX_AGE_DAYS:
        print(f"stale: older than {MAX_AGE_DAYS} days; run `backoffice sanctions refresh`")
        return 1
    return 0


def cmd_refresh(args: argparse.Namespace, runtime: Any) -> int:
    result, error = run_job_now(
        args, runtime, function=FUNCTION, schedule=SCHEDULE, payload={"requested_by": args.as_email}
    )
    if error:
        print(f"the refresh failed: {error}")
        return 1
    print(f"{result['outcome']}: {'; '.join(result.get('reasons') or [])}")
    if result.get("version"):
        print(f"current: {result['version']}")
    return 0 if result["outcome"] in ("updated", "unchanged", "superseded") else 1


def add_sanctions_parser(sub: Any, connect: Any) -> None:
    sanctions = sub.add_parser("sanctions", help="the sanctions list vendors are screened against")
    sanctions.add_argument("--api", help="the local API (default $BACKOFFICE_API or the server's port + 1)")
    inner = sanctions.add_subparsers(dest="sanctions_command", required=True)
    status = inner.add_parser("status", help="which list is current and how old; exit 1 when none or stale")
    status.add_argument("--json", action="store_true")
    status.set_defaults(func=lambda a: with_connection(connect, a, cmd_status))
    refresh = inner.add_parser("refresh", help="fetch and check the list now, as the daily schedule does")
    refresh.add_argument(
        "--as", dest="as_email", required=True, help="who asks (recorded in the audit trail)"
    )
    refresh.set_defaults(func=lambda a: with_connection(connect, a, cmd_refresh))
