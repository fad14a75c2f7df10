"""The local operator console: cases, their state machine and history, approvals, the outbox, on 127.0.0.1.

``mount_console(runtime)`` returns a page for ``LocalGateway.mount`` that serves under ``/console/``:

- ``/console/``                the cases (status, current state, age, business keys, search with ``?q=``), pending
                               approvals, a form that puts a sample won deal on the bus (``POST /console/send``);
- ``/console/cases/<case_id>`` the state machine drawn as SVG with the states the execution entered, the timeline,
                               each step's input and output (tax ids and bank account numbers masked), the audit
                               trail and whether its hash chain verifies;
- ``/console/outbox``          the e-mails SES sent, and ``/console/outbox/<file>`` one of them;
- ``/console/report``          the process-intelligence report over the audit trail.

Every page is one self-contained HTML document (no external resources), every value is escaped, and nothing is
cached. The console reads the same APIs the CLI does; it is a local tool and is not part of the deployed product.
"""

from __future__ import annotations

import itertools
import json
import re
import secrets
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote

from backoffice.approvals.store import ApprovalStore, RequestRecord
from backoffice.audit import AuditRecord, AuditTrail
from backoffice.intelligence import build_report, load_records, render_html
from backoffice.intelligence.charts import wrap
from backoffice.local.gateway import Mounted
from backoffice.local.outbox import read_mail
from backoffice.local.runtime import ExecutionView, LocalRuntime
from backoffice.local.samples import Deal, new_client, put_deal
from backoffice.masking import mask, mask_text, masked_json
from backoffice.models import Client
from backoffice.onboarding.contract_risk import RiskRule
from infra.catalog import Ref

PREFIX = "/console"
Response = tuple[int, dict[str, str], bytes]

# --------------------------------------------------------------------------------------------------------------
# Cases
# --------------------------------------------------------------------------------------------------------------

BUSINESS_KEYS = ("client", "project", "vendor", "opportunity")


@dataclass
class CaseRow:
    case_id: str
    workflow: str
    status: str
    outcome: str | None
    current_state: str | None
    started: datetime | None
    stopped: datetime | None
    keys: dict[str, str] = field(default_factory=dict)
    error: str | None = None

    def matches(self, q: str) -> bool:
        needle = q.strip().lower()
        return not needle or any(needle in text.lower() for text in (self.case_id, *self.keys.values()))


def _first(mapping: Any, *paths: str) -> str | None:
    for path in paths:
        node = mapping
        for part in path.split("."):
            node = node.get(part) if isinstance(node, Mapping) else None
        if isinstance(node, (str, int)) and not isinstance(node, bool) and str(node):
            return str(node)
    return None


def business_keys(
    execution_input: Mapping[str, Any] | None, records: Sequence[AuditRecord]
) -> dict[str, str]:
    """Client, project, vendor and opportunity of a case, from its start event and its audit records."""
    keys: dict[str, str] = {}
    detail = (execution_input or {}).get("event", {}).get("detail", {}) if execution_input else {}
    found = {
        "opportunity": _first(detail, "opportunity.id"),
        "client": _first(detail, "client.customer_name", "client.name", "client.id"),
        "vendor": _first(detail, "vendor.legal_name", "vendor.name", "vendor.vendor_name", "vendor.id"),
        "project": _first(detail, "project.id", "project.project_id", "project_id"),
    }
    for record in records:
        data = dict(record.data)
        found["opportunity"] = found["opportunity"] or _first(data, "opportunity_id")
        found["client"] = found["client"] or _first(data, "client_name", "customer_name", "client_id")
        found["vendor"] = found["vendor"] or _first(data, "vendor_name", "legal_name", "vendor_id")
        found["project"] = found["project"] or _first(data, "project_id", "project_code")
    for name in BUSINESS_KEYS:
        value = found.get(name)
        if value:
            keys[name] = mask_text(value)
    return keys


def _outcome(records: Sequence[AuditRecord]) -> str | None:
    published = [r for r in records if r.action == "outcome.published"]
    return published[-1].outcome if published else None


def _age(since: datetime | None, now: datetime | None = None) -> str:
    if since is None:
        return ""
    seconds = max(0.0, ((now or datetime.now(UTC)) - since.astimezone(UTC)).total_seconds())
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds // 60:.0f} min"
    if seconds < 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def _parse_time(value: str | datetime | None) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _fmt(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if moment else ""


# --------------------------------------------------------------------------------------------------------------
# The state machine graph
# --------------------------------------------------------------------------------------------------------------

BOX_W, BOX_H, GAP_X, GAP_Y, MARGIN = 210, 44, 34, 40, 24


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    kind: str  # next | choice | default | catch


def asl_edges(states: Mapping[str, Mapping[str, Any]]) -> list[Edge]:
    edges: list[Edge] = []
    for name, state in states.items():
        if state.get("Next"):
            edges.append(Edge(name, str(state["Next"]), "next"))
        for choice in state.get("Choices", []) or []:
            if choice.get("Next"):
                edges.append(Edge(name, str(choice["Next"]), "choice"))
        if state.get("Default"):
            edges.append(Edge(name, str(state["Default"]), "default"))
        for catch in state.get("Catch", []) or []:
            if catch.get("Next"):
                edges.append(Edge(name, str(catch["Next"]), "catch"))
    return [e for e in edges if e.target in states]


@dataclass
class Layout:
    positions: dict[str, tuple[float, float]]
    back_edges: set[Edge]
    width: float
    height: float


def layout(start: str, states: Mapping[str, Mapping[str, Any]], edges: Sequence[Edge]) -> Layout:
    """Top-to-bottom ranks by longest path once back edges (loops) are set aside; one barycentre pass per rank."""
    order, back = _visit_order(start, states, edges)
    forward = [e for e in edges if e not in back]
    rank = _longest_path_ranks(states, forward)
    ranks: dict[int, list[str]] = {}
    for name in order:
        ranks.setdefault(rank[name], []).append(name)
    widest = max(len(row) for row in ranks.values())
    width = 2 * MARGIN + widest * BOX_W + (widest - 1) * GAP_X + 90
    positions = _place_rows(ranks, order, forward, width)
    height = 2 * MARGIN + (max(ranks) + 1) * (BOX_H + GAP_Y) - GAP_Y
    return Layout(positions, back, width, height)


def _visit_order(
    start: str, states: Mapping[str, Mapping[str, Any]], edges: Sequence[Edge]
) -> tuple[list[str], set[Edge]]:
    """States in depth-first order from ``start`` (catch edges followed last) and the edges that close a loop."""
    out: dict[str, list[Edge]] = {name: [] for name in states}
    for edge in sorted(edges, key=lambda e: e.kind == "catch"):
        out[edge.source].append(edge)
    order: list[str] = []
    back: set[Edge] = set()
    visiting: set[str] = set()
    done: set[str] = set()

    def visit(node: str) -> None:
        visiting.add(node)
        order.append(node)
        for edge in out[node]:
            if edge.target in visiting:
                back.add(edge)
            elif edge.target not in done:
                visit(edge.target)
        visiting.discard(node)
        done.add(node)

    for root in [start, *states]:
        if root not in done:
            visit(root)
    return order, back


def _longest_path_ranks(states: Mapping[str, Mapping[str, Any]], forward: Sequence[Edge]) -> dict[str, int]:
    """Each state's rank: the length of the longest loop-free path reaching it."""
    rank: dict[str, int] = dict.fromkeys(states, 0)
    for _ in range(len(states)):
        changed = False
        for edge in forward:
            if rank[edge.target] < rank[edge.source] + 1:
                rank[edge.target] = rank[edge.source] + 1
                changed = True
        if not changed:
            break
    return rank


def _place_rows(
    ranks: Mapping[int, list[str]], order: Sequence[str], forward: Sequence[Edge], width: float
) -> dict[str, tuple[float, float]]:
    """Top-left corner of each box, rank by rank, each row centred and sorted under its predecessors."""
    x_of: dict[str, float] = {}
    positions: dict[str, tuple[float, float]] = {}
    for level in sorted(ranks):
        row = ranks[level]

        def barycentre(node: str) -> float:
            preds = [
                x_of[e.source] for e in forward if e.target == node and e.source in x_of and e.kind != "catch"
            ]
            preds = preds or [x_of[e.source] for e in forward if e.target == node and e.source in x_of]
            return sum(preds) / len(preds) if preds else width / 2

        row.sort(key=lambda n: (barycentre(n), order.index(n)))
        row_width = len(row) * BOX_W + (len(row) - 1) * GAP_X
        left = (width - 90 - row_width) / 2
        for i, name in enumerate(row):
            x = left + i * (BOX_W + GAP_X)
            x_of[name] = x + BOX_W / 2
            positions[name] = (x, MARGIN + level * (BOX_H + GAP_Y))
    return positions


def state_graph_svg(
    definition: Mapping[str, Any], entered: Sequence[str], current: str | None, failed: str | None = None
) -> str:
    states: Mapping[str, Mapping[str, Any]] = definition.get("States", {})
    edges = asl_edges(states)
    plan = layout(str(definition.get("StartAt")), states, edges)
    entered_set = set(entered)
    taken = set(itertools.pairwise(entered))
    parts: list[str] = []
    for edge in edges:
        sx, sy = plan.positions[edge.source]
        tx, ty = plan.positions[edge.target]
        classes = ["edge", edge.kind]
        if (edge.source, edge.target) in taken:
            classes.append("taken")
        if edge in plan.back_edges or ty <= sy:
            x1, y1 = sx + BOX_W, sy + BOX_H / 2
            x2, y2 = tx + BOX_W, ty + BOX_H / 2
            bulge = max(x1, x2) + 40 + abs(y1 - y2) * 0.1
            path = f"M{x1:.0f},{y1:.0f} C{bulge:.0f},{y1:.0f} {bulge:.0f},{y2:.0f} {x2 + 2:.0f},{y2:.0f}"
        else:
            x1, y1 = sx + BOX_W / 2, sy + BOX_H
            x2, y2 = tx + BOX_W / 2, ty
            mid = (y1 + y2) / 2
            path = f"M{x1:.0f},{y1:.0f} C{x1:.0f},{mid:.0f} {x2:.0f},{mid:.0f} {x2:.0f},{y2 - 2:.0f}"
        parts.append(
            f"<path class='{' '.join(classes)}' d='{path}' marker-end='url(#arrow{'-taken' if 'taken' in classes else ''})'>"
            f"<title>{escape(edge.source)} → {escape(edge.target)} ({edge.kind})</title></path>"
        )
    for name, state in states.items():
        x, y = plan.positions[name]
        kind = str(state.get("Type", ""))
        classes = ["state", kind.lower()]
        status = "not entered"
        if name in entered_set:
            classes.append("entered")
            status = "entered"
        if name == current:
            classes.append("current")
            status = "current"
        if name == failed:
            classes.append("failed")
            status = "failed"
        rx = 22 if kind == "Choice" else 6
        lines = wrap(name, 28, 2)
        text_y = y + BOX_H / 2 - (len(lines) - 1) * 7 + 4
        label = "".join(
            f"<text x='{x + BOX_W / 2:.0f}' y='{text_y + i * 14:.0f}'>{escape(line)}</text>"
            for i, line in enumerate(lines)
        )
        parts.append(
            f"<g class='{' '.join(classes)}' data-state='{escape(name)}' data-status='{status}'>"
            f"<title>{escape(name)} ({escape(kind)}): {status}</title>"
            f"<rect x='{x:.0f}' y='{y:.0f}' width='{BOX_W}' height='{BOX_H}' rx='{rx}'/>{label}</g>"
        )
    defs = (
        "<defs>"
        "<marker id='arrow' viewBox='0 0 10 10' refX='9' refY='5' markerWidth='7' markerHeight='7' "
        "orient='auto-start-reverse'><path d='M0,0 L10,5 L0,10 z' fill='#8a94a6'/></marker>"
        "<marker id='arrow-taken' viewBox='0 0 10 10' refX='9' refY='5' markerWidth='7' markerHeight='7' "
        "orient='auto-start-reverse'><path d='M0,0 L10,5 L0,10 z' fill='#1f7a4d'/></marker></defs>"
    )
    return (
        f"<svg class='graph' xmlns='http://www.w3.org/2000/svg' width='{plan.width:.0f}' height='{plan.height:.0f}' "
        f"viewBox='0 0 {plan.width:.0f} {plan.height:.0f}' role='img' aria-label='state machine'>"
        f"{defs}{''.join(parts)}</svg>"
    )


# --------------------------------------------------------------------------------------------------------------
# HTML
# --------------------------------------------------------------------------------------------------------------

CSS = """
*{box-sizing:border-box}body{margin:0;font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;
color:#1d2433;background:#f5f6f8}header{background:#1d2433;color:#fff;padding:.7rem 1.5rem;display:flex;
gap:1.5rem;align-items:center}header a{color:#cfd6e4;text-decoration:none}header a:hover{color:#fff}
header strong{font-size:1.05rem;margin-right:1rem}main{padding:1.2rem 1.5rem;max-width:1400px}
h1{font-size:1.35rem;margin:.2rem 0 1rem}h2{font-size:1.05rem;margin:1.6rem 0 .6rem}
section{background:#fff;border:1px solid #e1e5ec;border-radius:8px;padding:1rem 1.2rem;margin-bottom:1.2rem}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.4rem .6rem;border-bottom:1px solid #eef0f4;
vertical-align:top}th{font-weight:600;color:#5b6478;font-size:.8rem;text-transform:uppercase;letter-spacing:.03em}
tr:hover td{background:#fafbfc}a{color:#2456c7}code,pre{font:12px/1.4 ui-monospace,Menlo,Consolas,monospace}
pre{background:#f7f8fa;border:1px solid #e6e8ee;border-radius:6px;padding:.6rem;overflow:auto;max-height:28rem;
white-space:pre-wrap;word-break:break-word}.badge{display:inline-block;padding:.05rem .5rem;border-radius:999px;
font-size:.78rem;font-weight:600;background:#e8ebf1;color:#3b4456}.badge.RUNNING{background:#fff3d6;color:#8a5a00}
.badge.SUCCEEDED{background:#dcf3e6;color:#1f7a4d}.badge.FAILED,.badge.ABORTED,.badge.TIMED_OUT{background:#fde2e1;
color:#a4262c}.badge.ok{background:#dcf3e6;color:#1f7a4d}.badge.bad{background:#fde2e1;color:#a4262c}
.muted{color:#6b7385}.keys span{display:inline-block;margin:0 .5rem .1rem 0}.keys b{font-weight:600;color:#5b6478;
font-size:.78rem}form.inline{display:flex;gap:.6rem;align-items:center;flex-wrap:wrap}
input[type=search],select{font:inherit;padding:.35rem .5rem;border:1px solid #c9cfda;border-radius:6px;min-width:18rem}
button{font:inherit;padding:.38rem 1rem;border-radius:6px;border:1px solid #2456c7;background:#2456c7;color:#fff;
cursor:pointer}button.secondary{background:#fff;color:#2456c7}.notice{background:#e7f0ff;border:1px solid #bcd2fb;
border-radius:6px;padding:.5rem .8rem;margin-bottom:1rem}.grid{display:grid;grid-template-columns:minmax(0,3fr) minmax(0,2fr);gap:1.2rem}section{min-width:0;overflow-x:auto}
td code{word-break:break-word;white-space:pre-wrap}table.audit td:nth-child(8){min-width:22rem;max-width:34rem}table.audit td:nth-child(7){min-width:14rem}
.grid.case{grid-template-columns:minmax(0,1fr)}
@media (max-width:1100px){.grid{grid-template-columns:1fr}}.graphbox{overflow:auto}
svg.graph text{font:12px system-ui,sans-serif;text-anchor:middle;fill:#5b6478}
svg.graph .state rect{fill:#fff;stroke:#c3cad6;stroke-width:1.2}
svg.graph .state.choice rect{fill:#fbfbfd;stroke-dasharray:4 2}
svg.graph .state.entered rect{fill:#dcf3e6;stroke:#1f7a4d;stroke-width:1.8}
svg.graph .state.entered text{fill:#124d30;font-weight:600}
svg.graph .state.current rect{fill:#fff3d6;stroke:#c98a00;stroke-width:2.4}
svg.graph .state.failed rect{fill:#fde2e1;stroke:#a4262c;stroke-width:2.4}
svg.graph .edge{fill:none;stroke:#a9b1c0;stroke-width:1.2}svg.graph .edge.catch{stroke:#d6b5b5;stroke-dasharray:3 3;
stroke-width:1}svg.graph .edge.taken{stroke:#1f7a4d;stroke-width:2.2;stroke-dasharray:none}
.legend span{margin-right:1rem}.legend i{display:inline-block;width:.9rem;height:.9rem;border-radius:3px;
vertical-align:-2px;margin-right:.3rem;border:1px solid #c3cad6}details{margin:.3rem 0}summary{cursor:pointer}
.io{display:grid;grid-template-columns:1fr 1fr;gap:.6rem}.io h3{font-size:.8rem;margin:.4rem 0;color:#5b6478}
td.num{text-align:right;white-space:nowrap}.nowrap{white-space:nowrap}
"""

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


def document(title: str, body: str) -> bytes:
    nav = (
        f"<header><strong>Back-office console</strong><a href='{PREFIX}/'>Cases</a>"
        f"<a href='{PREFIX}/outbox'>Outbox</a><a href='{PREFIX}/report'>Process report</a></header>"
    )
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body>{nav}<main>{body}</main></body></html>"
    ).encode()


def _badge(text: str) -> str:
    return f"<span class='badge {escape(text)}'>{escape(text)}</span>"


def _table(headers: Sequence[str], rows: Iterable[Sequence[str]], empty: str, css: str = "") -> str:
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    if not body:
        return f"<p class='muted'>{escape(empty)}</p>"
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    return f"<table class='{css}'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


_URL = re.compile(r"https?://[^\s<>\"']+")


def linkify(text: str) -> str:
    """Escaped text with its http(s) URLs as links."""
    out, last = [], 0
    for match in _URL.finditer(text):
        url = match.group(0).rstrip(".,;:)")
        out.append(escape(text[last : match.start()]))
        out.append(f"<a href='{escape(url)}'>{escape(url)}</a>")
        last = match.start() + len(url)
    out.append(escape(text[last:]))
    return "".join(out)


# --------------------------------------------------------------------------------------------------------------
# Samples
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    key: str
    label: str
    risks: frozenset[RiskRule] = frozenset()
    with_sow: bool = True
    billing_model: str = "time_and_materials"


SAMPLES: tuple[Sample, ...] = (
    Sample("standard", "Standard deal: low risk, time and materials"),
    Sample(
        "medium_risk",
        "Medium-risk deal: payment terms over the limit (legal reviews)",
        risks=frozenset({"payment_terms_over_limit"}),
    ),
    Sample(
        "high_risk",
        "High-risk deal: uncapped liability (legal, then the general counsel)",
        risks=frozenset({"uncapped_liability"}),
    ),
    Sample("fixed_fee", "Fixed-fee deal", billing_model="fixed_fee"),
    Sample("no_sow", "Deal without a statement of work (blocked)", with_sow=False),
)


def sample_tax_id(index: int) -> str:
    """A made-up EIN for a sample client, so the console shows its masking at work."""
    return f"84-{2231900 + index % 100000:07d}"


# --------------------------------------------------------------------------------------------------------------
# The console
# --------------------------------------------------------------------------------------------------------------


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
                        _outcome(records),
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
                        _parse_time(first.timestamp),
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

    def _html(self, page: bytes, status: int = 200) -> Response:
        return status, dict(HEADERS), page

    def _error(self, status: int, title: str, message: str) -> Response:
        return self._html(
            document(title, f"<h1>{escape(title)}</h1><section><p>{escape(message)}</p></section>"), status
        )

    # -- pages ----------------------------------------------------------------------------------------------------

    def index_page(self, query: Mapping[str, list[str]]) -> bytes:
        q = (query.get("q") or [""])[-1]
        sent = (query.get("sent") or [""])[-1]
        now = self.now()
        rows = self.cases()
        shown = [r for r in rows if r.matches(q)]
        notice = (
            f"<div class='notice' id='sent'>Sample deal sent: case "
            f"<a href='{PREFIX}/cases/{quote(sent)}'>{escape(sent)}</a>.</div>"
            if sent
            else ""
        )
        case_rows = []
        for r in shown:
            status = _badge(r.status)
            if r.outcome:
                status += f" <span class='outcome'>{escape(mask_text(r.outcome))}</span>"
            if r.error:
                status += f"<div class='muted'>{escape(mask_text(r.error))}</div>"
            keys = "".join(f"<span><b>{escape(k)}</b> {escape(v)}</span>" for k, v in r.keys.items())
            case_rows.append(
                [
                    f"<a class='case' href='{PREFIX}/cases/{quote(r.case_id)}'>{escape(r.case_id)}</a>",
                    escape(r.workflow),
                    f"<span class='status'>{status}</span>",
                    f"<span class='current'>{escape(r.current_state or '')}</span>",
                    f"<span class='nowrap' title='{escape(_fmt(r.started))}'>{escape(_age(r.started, now))}</span>",
                    f"<div class='keys'>{keys}</div>",
                ]
            )
        cases = _table(
            ["Case", "Workflow", "Status", "Current state", "Age", "Business keys"],
            case_rows,
            "No case matches." if q else "No cases yet: send a sample deal below.",
            "cases",
        )
        search = (
            f"<form class='inline' method='get' action='{PREFIX}/'>"
            f"<input type='search' name='q' value='{escape(q)}' placeholder='Case id, client, project, vendor, "
            f"opportunity' aria-label='search cases'><button type='submit' class='secondary'>Search</button>"
            + (f"<a href='{PREFIX}/'>clear</a>" if q else "")
            + f"<span class='muted'>{len(shown)} of {len(rows)} cases</span></form>"
        )
        pending = self.pending_section(now)
        options = "".join(f"<option value='{escape(s.key)}'>{escape(s.label)}</option>" for s in SAMPLES)
        send = (
            f"<form class='inline' method='post' action='{PREFIX}/send'>"
            f"<input type='hidden' name='csrf' value='{escape(self.csrf)}'>"
            f"<select name='sample' id='sample' aria-label='sample deal'>{options}</select>"
            "<button type='submit' id='send'>Send Closed Won event</button></form>"
            "<p class='muted'>Puts a won deal of the sample firm (with its SOW in the CRM) on the bus, as the CRM "
            "would.</p>"
        )
        body = (
            f"<h1>Cases</h1>{notice}<section>{search}<div style='height:.8rem'></div>{cases}</section>"
            f"<div class='grid'><section><h2 style='margin-top:0'>Pending approvals</h2>{pending}</section>"
            f"<section><h2 style='margin-top:0'>Send a sample event</h2>{send}"
            f"<p><a href='{PREFIX}/outbox'>Outbox</a> · <a href='{PREFIX}/report'>Process report</a></p>"
            "</section></div>"
        )
        return document("Cases · back-office console", body)

    def pending_section(self, now: datetime) -> str:
        try:
            pending: list[RequestRecord] = self.approvals.pending_requests()
        except Exception as error:  # the approvals table may not exist in a trimmed catalog
            return f"<p class='muted'>Approvals unavailable: {escape(type(error).__name__)}</p>"
        rows = [
            [
                f"<a href='{PREFIX}/cases/{quote(r.case_id)}'>{escape(r.case_id)}</a>",
                escape(r.step),
                escape(f"{r.level_name} ({r.level_index + 1} of {r.level_count})"),
                escape(", ".join(r.approvers)),
                f"<span class='nowrap' title='{escape(r.created_at)}'>{escape(_age(_parse_time(r.created_at), now))}"
                "</span>",
            ]
            for r in pending
        ]
        return _table(
            ["Case", "Step", "Level", "Approvers", "Waiting"], rows, "Nothing waits for a person.", "pending"
        )

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
        parts = [f"<h1>Case <code>{escape(case_id)}</code></h1>"]
        history: list[dict[str, Any]] = []
        if execution is not None:
            sfn = self.runtime.client("stepfunctions")
            history = sfn.get_execution_history(executionArn=execution.arn, maxResults=1000)["events"]
            keys = business_keys(self.execution_input(execution.arn), records)
            outcome = _outcome(records)
            summary = [
                ("Workflow", escape(execution.workflow)),
                (
                    "Status",
                    f"<span id='status'>{_badge(execution.status)}</span>"
                    + (f" <span class='outcome'>{escape(outcome)}</span>" if outcome else ""),
                ),
                ("Current state", f"<span id='current'>{escape(execution.current_state or '—')}</span>"),
                ("Started", escape(_fmt(execution.started))),
                ("Stopped", escape(_fmt(execution.stopped) or "—")),
            ]
            if execution.error:
                summary.append(("Error", escape(mask_text(execution.error))))
            summary += [(k.capitalize(), escape(v)) for k, v in keys.items()]
            parts.append(
                "<section><table>"
                + "".join(
                    f"<tr><th style='width:12rem'>{escape(k)}</th><td>{v}</td></tr>" for k, v in summary
                )
                + "</table></section>"
            )
            entered = [
                e["stateEnteredEventDetails"]["name"] for e in history if e["type"].endswith("StateEntered")
            ]
            failed = None
            if execution.status == "FAILED":
                failed = next(
                    (
                        e["stateEnteredEventDetails"]["name"]
                        for e in reversed(history)
                        if e["type"].endswith("StateEntered")
                    ),
                    None,
                )
            graph = state_graph_svg(
                self.definition(execution.workflow), entered, execution.current_state, failed
            )
            legend = (
                "<p class='legend muted'><span><i style='background:#dcf3e6;border-color:#1f7a4d'></i>entered</span>"
                "<span><i style='background:#fff3d6;border-color:#c98a00'></i>current</span>"
                "<span><i style='background:#fde2e1;border-color:#a4262c'></i>failed</span>"
                "<span><i style='background:#fff'></i>not entered</span>"
                "<span>dashed: on error (Catch)</span></p>"
            )
            parts.append(
                f"<div class='grid case'><section><h2 style='margin-top:0'>State machine</h2>{legend}"
                f"<div class='graphbox'>{graph}</div></section>"
                f"<section><h2 style='margin-top:0'>Timeline</h2>{self.timeline(history)}</section></div>"
            )
            parts.append(f"<section><h2 style='margin-top:0'>Steps</h2>{self.steps(history)}</section>")
        parts.append(self.audit_section(trail, case_id, records))
        return self._html(document(f"{case_id} · back-office console", "".join(parts)))

    def timeline(self, history: Sequence[Mapping[str, Any]]) -> str:
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
                details: Any = next((v for k, v in event.items() if k.endswith("EventDetails")), {})
                if isinstance(details, Mapping):
                    detail = " ".join(str(details[k]) for k in ("error", "cause") if details.get(k))
            elif kind.endswith("Failed") or kind.endswith("TimedOut"):
                what = kind
                details = next((v for k, v in event.items() if k.endswith("EventDetails")), {})
                if isinstance(details, Mapping):
                    detail = " ".join(str(details[k]) for k in ("error", "cause") if details.get(k))
            else:
                continue
            moment = event["timestamp"]
            offset = f"+{(moment - start).total_seconds():.2f} s" if start is not None else ""
            rows.append(
                [
                    f"<span class='nowrap'>{escape(moment.astimezone(UTC).strftime('%H:%M:%S.%f')[:-3])}</span>",
                    f"<span class='muted nowrap'>{escape(offset)}</span>",
                    escape(what),
                    escape(name)
                    + (f"<div class='muted'>{escape(mask_text(detail)[:400])}</div>" if detail else ""),
                ]
            )
        return _table(["Time (UTC)", "Since start", "Event", "State"], rows, "No history.", "timeline")

    def steps(self, history: Sequence[Mapping[str, Any]]) -> str:
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
                blocks.append(self._step_block(name, pending.pop(0), details.get("output")))
        for name, inputs in open_inputs.items():
            for raw in inputs:
                blocks.append(self._step_block(name, raw, None, running=True))
        return "".join(blocks) or "<p class='muted'>No steps yet.</p>"

    def _step_block(self, name: str, raw_in: str | None, raw_out: str | None, running: bool = False) -> str:
        out = (
            escape(masked_json(raw_out))
            if raw_out is not None
            else "<span class='muted'>(not exited yet)</span>"
        )
        return (
            f"<details class='step'><summary>{escape(name)}{' <em>(running)</em>' if running else ''}</summary>"
            f"<div class='io'><div><h3>Input</h3><pre>{escape(masked_json(raw_in))}</pre></div>"
            f"<div><h3>Output</h3><pre>{out}</pre></div></div></details>"
        )

    def audit_section(self, trail: AuditTrail, case_id: str, records: Sequence[AuditRecord]) -> str:
        report = trail.verify([case_id])
        if report.ok:
            verdict = (
                f"<span class='badge ok' id='chain'>chain verified</span> "
                f"<span class='muted'>{report.records_checked} records checked</span>"
            )
        else:
            verdict = (
                "<span class='badge bad' id='chain'>chain broken</span><ul>"
                + "".join(f"<li>{escape(str(p))}</li>" for p in report.problems)
                + "</ul>"
            )
        rows = [
            [
                f"<span class='num'>{r.seq}</span>",
                f"<span class='nowrap'>{escape(r.timestamp)}</span>",
                escape(r.step),
                escape(str(r.actor)),
                escape(r.action),
                escape(mask_text(r.outcome)),
                escape(mask_text("; ".join(r.reasons))),
                f"<code>{escape(json.dumps(mask(dict(r.data)), ensure_ascii=False, default=str))}</code>",
                f"<code title='{escape(r.hash)}'>{escape(r.hash[:10])}</code>",
            ]
            for r in records
        ]
        table = _table(
            ["#", "Time", "Step", "Actor", "Action", "Outcome", "Reasons", "Data", "Hash"],
            rows,
            "No audit records.",
            "audit",
        )
        return f"<section><h2 style='margin-top:0'>Audit trail</h2><p>{verdict}</p>{table}</section>"

    def outbox_files(self) -> list[Path]:
        return list(reversed(self.runtime.outbox()))

    def outbox_page(self) -> bytes:
        rows = []
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
            rows.append(
                [
                    f"<span class='nowrap'>{escape(_fmt(sent))}</span>",
                    escape(mail.to),
                    f"<a class='mail' href='{PREFIX}/outbox/{quote(path.name)}'>{escape(mail.subject)}</a>",
                ]
            )
        table = _table(["Sent", "To", "Subject"], rows, "No e-mail sent yet.", "outbox")
        return document(
            "Outbox · back-office console",
            f"<h1>Outbox</h1><section><p class='muted'>E-mails SES sent, newest first "
            f"({escape(str(self.runtime.outbox_dir))}).</p>{table}</section>",
        )

    def mail_page(self, name: str) -> Response:
        path = next((p for p in self.runtime.outbox() if p.name == name), None)
        if path is None or not re.fullmatch(r"[A-Za-z0-9@._-]+\.eml", name):
            return self._error(404, "No such e-mail", "The outbox has no such e-mail.")
        mail = read_mail(path)
        body = (
            f"<h1>{escape(mail.subject)}</h1><section><table>"
            f"<tr><th style='width:8rem'>To</th><td id='to'>{escape(mail.to)}</td></tr>"
            f"<tr><th>Subject</th><td>{escape(mail.subject)}</td></tr>"
            f"<tr><th>File</th><td><code>{escape(path.name)}</code></td></tr></table></section>"
            f"<section><pre class='mailtext'>{linkify(mask_text(mail.text))}</pre></section>"
            f"<p><a href='{PREFIX}/outbox'>← Outbox</a></p>"
        )
        return self._html(document(f"{mail.subject} · outbox", body))

    def report_page(self) -> bytes:
        return render_html(build_report(load_records(self.audit)), title="Process report").encode()


def mount_console(runtime: LocalRuntime) -> Mounted:
    """The operator console as a page for ``LocalGateway.mount`` (serves ``/console/``)."""
    return Console(runtime)
