"""The local operator console: cases, their state machine and history, approvals, the outbox, on 127.0.0.1.

``mount_console(runtime)`` returns a page for ``LocalGateway.mount`` that serves under ``/console/``:

- ``/console/``                the cases (status, current state, age, business keys, search with ``?q=``), pending
                               approvals, a form that puts a sample won deal on the bus (``POST /console/send``);
- ``/console/cases/<case_id>`` the state machine drawn as SVG with the states the execution entered, the timeline,
                               each step's input and output (tax ids and bank account numbers masked), the audit
                               trail and whether its hash chain verifies;
- ``/console/outbox``          the e-mails SES sent, and ``/console/outbox/<file>`` one of them;
- ``/console/report``          the process-intelligence report over the audit trail.

Every page is one self-contained HTML document (no external resources) from a template in ``local/templates``
that escapes every value (``backoffice.html``), and nothing is cached. This module gathers what each page shows and
masks it; ``case_rows`` lists the cases, ``state_graph`` draws the state machine, ``sample_deals`` are the deals
the form sends. The console reads the same APIs the CLI does; it is a local tool and is not part of the deployed
product.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote

from backoffice.approvals.store import ApprovalStore
from backoffice.audit import AuditRecord, AuditTrail
from backoffice.html import render
from backoffice.intelligence import build_report, load_records, render_html
from backoffice.local.case_rows import (
    CaseRow,
    age,
    business_keys,
    format_utc,
    parse_time,
    published_outcome,
)
from backoffice.local.gateway import Mounted
from backoffice.local.outbox import read_mail
from backoffice.local.runtime import LocalRuntime
from backoffice.local.sample_deals import SAMPLES, sample_tax_id
from backoffice.local.samples import Deal, new_client, put_deal
from backoffice.local.state_graph import state_graph_svg
from backoffice.masking import mask, mask_text, masked_json
from backoffice.models import Client
from backoffice.operate.deployment import ExecutionView
from backoffice.reports.process_report import build_process_report
from infra.catalog import Ref

PREFIX = "/console"
Response = tuple[int, dict[str, str], bytes]

HEADERS = {
    "Content-Type": "text/html; charset=utf-8",
    "Cache-Control": "no-store",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; base-uri 'none'; "
        "frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}

_URL = re.compile(r"https?://[^\s<>\"']+")


def page(template: str, title: str, **context: Any) -> bytes:
    """A console page: ``local/<template>`` in the console's frame, escaped, as the bytes to send."""
    return render(f"local/{template}", title=title, prefix=PREFIX, **context).encode()


def case_path(case_id: str) -> str:
    return f"{PREFIX}/cases/{quote(case_id)}"


def split_links(text: str) -> list[tuple[str, str | None]]:
    """``text`` as (text, URL or None) pieces, so a page can show its http(s) URLs as links."""
    pieces: list[tuple[str, str | None]] = []
    last = 0
    for match in _URL.finditer(text):
        url = match.group(0).rstrip(".,;:)")
        pieces.append((text[last : match.start()], url))
        last = match.start() + len(url)
    pieces.append((text[last:], None))
    return pieces


def _entered_states(history: Sequence[Mapping[str, Any]]) -> list[str]:
    return [e["stateEnteredEventDetails"]["name"] for e in history if e["type"].endswith("StateEntered")]


def _event_error(event: Mapping[str, Any]) -> str:
    details: Any = next((v for k, v in event.items() if k.endswith("EventDetails")), {})
    if isinstance(details, Mapping):
        return " ".join(str(details[k]) for k in ("error", "cause") if details.get(k))
    return ""


class Console:
    def __init__(
        self, runtime: LocalRuntime, *, now: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self.runtime = runtime
        self.now = now
        self.csrf = secrets.token_urlsafe(24)
        self._lock = threading.Lock()
        self._next_index = 500
        self._definitions: dict[str, dict[str, Any]] = {}

    # -- data -----------------------------------------------------------------------------------------------------

    @property
    def audit(self) -> AuditTrail:
        return AuditTrail(
            self.runtime.resolve(Ref("table_name", "audit")), dynamodb=self.runtime.client("dynamodb")
        )

    @property
    def approvals(self) -> ApprovalStore:
        return ApprovalStore(
            self.runtime.resolve(Ref("table_name", "approvals")), self.runtime.client("dynamodb")
        )

    def definition(self, workflow: str) -> dict[str, Any]:
        if workflow not in self._definitions:
            self._definitions[workflow] = json.loads(
                self.runtime.catalog.state_machine(workflow).definition()
            )
        return self._definitions[workflow]

    def execution_input(self, arn: str) -> dict[str, Any] | None:
        try:
            described = self.runtime.client("stepfunctions").describe_execution(executionArn=arn)
            value = json.loads(described.get("input") or "null")
        except Exception:
            return None
        return value if isinstance(value, dict) else None

    def cases(self) -> list[CaseRow]:
        trail = self.audit
        executions = {e.name: e for e in self.runtime.executions()}
        rows: list[CaseRow] = []
        for case_id in sorted(set(executions) | set(trail.case_ids())):
            records = trail.records(case_id)
            execution = executions.get(case_id)
            if execution is not None:
                keys = business_keys(self.execution_input(execution.arn), records)
                rows.append(
                    CaseRow(
                        case_id,
                        execution.workflow,
                        execution.status,
                        published_outcome(records),
                        execution.current_state,
                        execution.started,
                        execution.stopped,
                        keys,
                        execution.error,
                    )
                )
            elif records:
                first = records[0]
                rows.append(
                    CaseRow(
                        case_id,
                        first.workflow,
                        "NOT STARTED",
                        f"{records[-1].action}: {records[-1].outcome}",
                        None,
                        parse_time(first.timestamp),
                        None,
                        business_keys(None, records),
                    )
                )
        return sorted(rows, key=lambda r: r.started or datetime.min.replace(tzinfo=UTC), reverse=True)

    # -- routing --------------------------------------------------------------------------------------------------

    def __call__(self, method: str, path: str, query: dict[str, list[str]], body: bytes) -> Response | None:
        if path == PREFIX:
            return 308, {"Location": f"{PREFIX}/", "Cache-Control": "no-store"}, b""
        if not path.startswith(PREFIX + "/"):
            return None
        rest = path[len(PREFIX) + 1 :]
        if method == "POST":
            if rest == "send":
                return self.send(body)
            return self._error(405, "Method not allowed", "The console only accepts POST at /console/send.")
        if method not in ("GET", "HEAD"):
            return self._error(405, "Method not allowed", "")
        if rest == "":
            return self._html(self.index_page(query))
        if rest == "report":
            return self._html(self.report_page())
        if rest == "outbox":
            return self._html(self.outbox_page())
        if rest.startswith("outbox/"):
            return self.mail_page(unquote(rest[len("outbox/") :]))
        if rest.startswith("cases/"):
            return self.case_page(unquote(rest[len("cases/") :]))
        return self._error(404, "Not found", "The console has no such page.")

    def _html(self, body: bytes, status: int = 200) -> Response:
        return status, dict(HEADERS), body

    def _error(self, status: int, title: str, message: str) -> Response:
        return self._html(page("error.html.j2", title, message=message), status)

    # -- pages ----------------------------------------------------------------------------------------------------

    def index_page(self, query: Mapping[str, list[str]]) -> bytes:
        q = (query.get("q") or [""])[-1]
        sent = (query.get("sent") or [""])[-1]
        now = self.now()
        rows = self.cases()
        shown = [r for r in rows if r.matches(q)]
        cases = [
            {
                "case_id": r.case_id,
                "href": case_path(r.case_id),
                "workflow": r.workflow,
                "status": r.status,
                "outcome": mask_text(r.outcome) if r.outcome else None,
                "error": mask_text(r.error) if r.error else None,
                "current_state": r.current_state or "",
                "started": format_utc(r.started),
                "age": age(r.started, now),
                "business_keys": r.keys,  # masked by business_keys
            }
            for r in shown
        ]
        return page(
            "cases.html.j2",
            "Cases · back-office console",
            q=q,
            sent={"case_id": sent, "href": case_path(sent)} if sent else None,
            cases=cases,
            shown=len(shown),
            total=len(rows),
            csrf=self.csrf,
            samples=SAMPLES,
            **self.pending_approvals(now),
        )

    def pending_approvals(self, now: datetime) -> dict[str, Any]:
        """``pending``: the approval requests waiting for a person, or ``approvals_unavailable``: why not."""
        try:
            requests = self.approvals.pending_requests()
        except Exception as error:  # the approvals table may not exist in a trimmed catalog
            return {"pending": [], "approvals_unavailable": type(error).__name__}
        pending = [
            {
                "case_id": r.case_id,
                "href": case_path(r.case_id),
                "step": r.step,
                "level": f"{r.level_name} ({r.level_index + 1} of {r.level_count})",
                "approvers": ", ".join(r.approvers),
                "created_at": r.created_at,
                "waiting": age(parse_time(r.created_at), now),
            }
            for r in requests
        ]
        return {"pending": pending, "approvals_unavailable": None}

    def send(self, body: bytes) -> Response:
        form = parse_qs(body.decode("utf-8", "replace"))
        if not secrets.compare_digest((form.get("csrf") or [""])[-1], self.csrf):
            return self._error(403, "Refused", "This form did not come from the console. Reload the console.")
        key = (form.get("sample") or ["standard"])[-1]
        sample = next((s for s in SAMPLES if s.key == key), None)
        if sample is None:
            return self._error(400, "Unknown sample", f"There is no sample deal named {key!r}.")
        taken = {e.name for e in self.runtime.executions()}
        with self._lock:
            index = self._next_index
            while f"onboard-{Deal(index, new_client(index)).opportunity_id}" in taken:
                index += 1
            self._next_index = index + 1
        base = new_client(index).to_json_dict(reveal_secrets=True)
        client = Client.model_validate({**base, "tax_id": sample_tax_id(index)})
        deal = Deal(
            index,
            client,
            billing_model=sample.billing_model,
            risks=sample.risks,
            with_sow=sample.with_sow,
            amount=Decimal(240000),
        )
        detail = put_deal(
            self.runtime.sandbox(), self.runtime.client("s3"), self.runtime.documents_bucket, deal
        )
        self.runtime.put_event("Opportunity Closed Won", detail, source="crm.salesforce")
        case_id = f"onboard-{deal.opportunity_id}"
        return 303, {"Location": f"{PREFIX}/?sent={quote(case_id)}", "Cache-Control": "no-store"}, b""

    def case_page(self, case_id: str) -> Response:
        execution: ExecutionView | None = next(
            (e for e in self.runtime.executions() if e.name == case_id), None
        )
        trail = self.audit
        records = trail.records(case_id)
        if execution is None and not records:
            return self._error(404, "No such case", f"There is no case {case_id}.")
        body = page(
            "case.html.j2",
            f"{case_id} · back-office console",
            case_id=case_id,
            execution=execution,
            **(self.execution_sections(execution, records) if execution is not None else {}),
            chain=trail.verify([case_id]),
            audit=self.audit_rows(records),
        )
        return self._html(body)

    def execution_sections(self, execution: ExecutionView, records: Sequence[AuditRecord]) -> dict[str, Any]:
        """What the case page shows of a case's execution: summary, state machine, timeline, steps."""
        sfn = self.runtime.client("stepfunctions")
        history: list[dict[str, Any]] = sfn.get_execution_history(
            executionArn=execution.arn, maxResults=1000
        )["events"]
        keys = business_keys(self.execution_input(execution.arn), records)
        entered = _entered_states(history)
        # The state an execution failed in is the last it entered.
        failed = entered[-1] if execution.status == "FAILED" and entered else None
        graph = state_graph_svg(self.definition(execution.workflow), entered, execution.current_state, failed)
        return {
            "outcome": published_outcome(records),
            "started": format_utc(execution.started),
            "stopped": format_utc(execution.stopped),
            "error": mask_text(execution.error) if execution.error else None,
            "business_keys": [(name.capitalize(), value) for name, value in keys.items()],  # masked
            "graph": graph,
            "timeline": self.timeline(history),
            "steps": self.steps(history),
        }

    def timeline(self, history: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
        start = history[0]["timestamp"] if history else None
        rows = []
        for event in history:
            kind = str(event["type"])
            name, detail = "", ""
            if kind.endswith("StateEntered"):
                name, what = event["stateEnteredEventDetails"]["name"], "entered"
            elif kind.endswith("StateExited"):
                name, what = event["stateExitedEventDetails"]["name"], "exited"
            elif kind.startswith("Execution"):
                what = kind.removeprefix("Execution").lower()
                detail = _event_error(event)
            elif kind.endswith("Failed") or kind.endswith("TimedOut"):
                what = kind
                detail = _event_error(event)
            else:
                continue
            moment = event["timestamp"]
            rows.append(
                {
                    "time": moment.astimezone(UTC).strftime("%H:%M:%S.%f")[:-3],
                    "since_start": f"+{(moment - start).total_seconds():.2f} s" if start is not None else "",
                    "what": what,
                    "state": name,
                    "detail": mask_text(detail)[:400] if detail else "",
                }
            )
        return rows

    def steps(self, history: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Each state's input and output (masked), in the order the states exited; those still running last."""
        blocks = []
        open_inputs: dict[str, list[str | None]] = {}
        for event in history:
            kind = str(event["type"])
            if kind.endswith("StateEntered"):
                details = event["stateEnteredEventDetails"]
                open_inputs.setdefault(details["name"], []).append(details.get("input"))
            elif kind.endswith("StateExited"):
                details = event["stateExitedEventDetails"]
                name = details["name"]
                pending = open_inputs.get(name) or [None]
                blocks.append(self._step(name, pending.pop(0), details.get("output")))
        for name, inputs in open_inputs.items():
            for raw in inputs:
                blocks.append(self._step(name, raw, None, running=True))
        return blocks

    def _step(
        self, name: str, raw_in: str | None, raw_out: str | None, running: bool = False
    ) -> dict[str, Any]:
        return {
            "state": name,
            "running": running,
            "input": masked_json(raw_in),
            "output": masked_json(raw_out) if raw_out is not None else None,
        }

    def audit_rows(self, records: Sequence[AuditRecord]) -> list[dict[str, Any]]:
        return [
            {
                "seq": r.seq,
                "timestamp": r.timestamp,
                "step": r.step,
                "actor": str(r.actor),
                "action": r.action,
                "outcome": mask_text(r.outcome),
                "reasons": mask_text("; ".join(r.reasons)),
                "data": json.dumps(mask(dict(r.data)), ensure_ascii=False, default=str),
                "hash": r.hash,
            }
            for r in records
        ]

    def outbox_files(self) -> list[Path]:
        return list(reversed(self.runtime.outbox()))

    def outbox_page(self) -> bytes:
        mails = []
        for path in self.outbox_files():
            try:
                mail = read_mail(path)
            except Exception:
                continue
            stamp = path.name.split("-", 1)[0]
            try:
                sent = datetime.strptime(stamp, "%Y%m%dT%H%M%S%f").replace(tzinfo=UTC)
            except ValueError:
                sent = datetime.fromtimestamp(path.stat().st_mtime, UTC)
            mails.append(
                {
                    "sent": format_utc(sent),
                    "to": mail.to,
                    "subject": mail.subject,
                    "href": f"{PREFIX}/outbox/{quote(path.name)}",
                }
            )
        return page(
            "outbox.html.j2",
            "Outbox · back-office console",
            outbox_dir=str(self.runtime.outbox_dir),
            mails=mails,
        )

    def mail_page(self, name: str) -> Response:
        path = next((p for p in self.runtime.outbox() if p.name == name), None)
        if path is None or not re.fullmatch(r"[A-Za-z0-9@._-]+\.eml", name):
            return self._error(404, "No such e-mail", "The outbox has no such e-mail.")
        mail = read_mail(path)
        body = page(
            "mail.html.j2",
            f"{mail.subject} · outbox",
            to=mail.to,
            subject=mail.subject,
            file=path.name,
            text=split_links(mask_text(mail.text)),
        )
        return self._html(body)

    def report_page(self) -> bytes:
        # The same builder as `backoffice report` and the weekly published report (backoffice.reports).
        report = build_process_report(load_records(self.audit), as_of=None) or build_report([])
        return render_html(report, title="Process report").encode()


def mount_console(runtime: LocalRuntime) -> Mounted:
    """The operator console as a page for ``LocalGateway.mount`` (serves ``/console/``)."""
    return Console(runtime)
