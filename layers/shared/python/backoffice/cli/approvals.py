"""``backoffice approvals``: the approver's side, locally: the pending list, deciding through the real HTTP path.

``decide`` does what a person does (``backoffice.local.approver``): it opens the link, then submits the page's form.
It has no shortcut into the store.
"""

from __future__ import annotations

import argparse
import json
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING, Any

from backoffice.local.server import DEFAULT_OUTBOX, DEFAULT_PORT
from infra.catalog import Ref

if TYPE_CHECKING:
    from backoffice.local.runtime import LocalRuntime

# The approvals store (botocore) and the approver's HTTP client are imported when a command runs, not for --help.

API_ENV = "BACKOFFICE_API"


def api_url(args: argparse.Namespace, runtime: Any) -> str:
    """The product's API: ``--api``, else $BACKOFFICE_API, else the deployed stack's (its ``PublicApiUrl``
    output), else the local server's gateway beside its endpoint."""
    import os

    if getattr(args, "api", None):
        return str(args.api)
    if os.environ.get(API_ENV):
        return os.environ[API_ENV]
    if runtime.deployed:
        return str(runtime.api_url)
    port = urllib.parse.urlsplit(runtime.endpoint_url or "").port or DEFAULT_PORT
    return f"http://127.0.0.1:{port + 1}"


def cmd_list(args: argparse.Namespace, runtime: LocalRuntime) -> int:
    from backoffice.approvals.store import ApprovalStore
    from backoffice.local.outbox import read_outbox

    store = ApprovalStore(runtime.resolve(Ref("table_name", "approvals")), runtime.client("dynamodb"))
    mails = read_outbox(Path(args.outbox))
    pending = store.pending_requests()
    rows: list[dict[str, Any]] = []
    for request in pending:
        waiting = [link for link in store.links_of(request) if link.status == "PENDING"]
        links = {}
        for link in waiting:
            # The newest e-mail to this approver about this case carries the live link.
            for mail in reversed(mails):
                if mail.to == link.approver and request.case_id in mail.text and mail.approval_links:
                    links[link.approver] = mail.approval_links[0]
                    break
        rows.append(
            {
                "case_id": request.case_id,
                "step": request.step,
                "level": request.level_name,
                "quorum": f"{request.approvals}/{request.quorum}",
                "requested": request.created_at,
                "expires": request.expires_at,
                "subject": request.subject.get("title"),
                "links": links,
            }
        )
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for row in rows:
        print(
            f"{row['case_id']}  {row['step']} / {row['level']}  approvals {row['quorum']}  until {row['expires'][:16]}"
        )
        print(f"  {row['subject']}")
        for approver, link in row["links"].items():
            print(f"    {approver}: {link}")
    print(f"{len(rows)} pending approval(s)")
    return 0


def cmd_decide(args: argparse.Namespace, runtime: LocalRuntime) -> int:
    from backoffice.local.approver import decide_via_http

    target = args.link
    if not target.startswith("http"):
        target = f"{api_url(args, runtime)}/approvals/{target}"
    status, heading, text = decide_via_http(target, args.decision, args.as_email, args.comment or "")
    print(f"{heading}: {text}" if text else heading)
    return 0 if status == 200 else 1


def cmd_remind(args: argparse.Namespace, runtime: LocalRuntime) -> int:
    if runtime.deployed:
        from backoffice.operate.deployment import OperateError

        raise OperateError(
            "in AWS, EventBridge Scheduler runs approval_reminders on its schedule; not from here"
        )
    request = urllib.request.Request(
        f"{api_url(args, runtime)}/_local/schedules/approval_reminders",
        data=b"",
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        result = json.loads(response.read())
    print(f"reminded {len(result.get('reminded', []))} request(s)")
    return 0


def add_approvals_parser(sub: Any, connect: Any) -> None:
    approvals = sub.add_parser("approvals", help="pending approvals; decide one as an approver would")
    approvals.add_argument("--api", help=f"the local API (default ${API_ENV} or the server's port + 1)")
    approvals.add_argument("--outbox", default=str(DEFAULT_OUTBOX), help="where the server writes e-mails")
    inner = approvals.add_subparsers(dest="approvals_command", required=True)

    listing = inner.add_parser("list", help="pending approvals with each approver's link from the outbox")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=lambda a: with_connection(connect, a, cmd_list))

    decide = inner.add_parser("decide", help="open the link and submit its form: approve or reject")
    decide.add_argument("link", help="the link from the e-mail, or just its id")
    decide.add_argument("decision", choices=["approve", "reject"])
    decide.add_argument("--comment", default="")
    decide.add_argument(
        "--as", dest="as_email", required=True, help="your e-mail address (the link's approver)"
    )
    decide.set_defaults(func=lambda a: with_connection(connect, a, cmd_decide))

    remind = inner.add_parser("remind", help="run the reminder schedule now")
    remind.set_defaults(func=lambda a: with_connection(connect, a, cmd_remind))


def with_connection(connect: Any, args: argparse.Namespace, command: Any) -> int:
    """Run ``command`` against what ``connect`` reaches (a server or a deployed stack), stopping it after."""
    runtime = connect(args)
    try:
        return int(command(args, runtime))
    finally:
        runtime.stop()
