"""The process map as SVG: a directly-follows graph laid out left to right by the activities' average position.

Layout, in the manner of a layered (Sugiyama) drawing, kept small:

1. activities are ranked by their average position in their cases; every edge to a later rank points forward, and
   so does an edge to an earlier rank unless it closes a cycle: then it is a *loop back*;
2. each activity's column is one past the furthest column of its forward predecessors, so every forward arrow
   points right and no arrow joins two boxes of one column;
3. an arrow that skips columns gets a lane through each column it crosses (a dummy slot), so it never runs behind a
   box;
4. within a column, each slot is ordered after its busiest predecessor's row (the busier sibling first) and placed
   level with it, or as near as the slots above it allow: the most travelled path runs straight along the top;
5. loops back run in lanes under the boxes, through the gaps between columns.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Literal

from backoffice.intelligence.charts import INK, MUTED, esc, svg_root, svg_text, text_width, wrap
from backoffice.intelligence.metrics import MapNode, ProcessMap
from backoffice.intelligence.stats import format_duration

BOX_W, BOX_H = 144.0, 66.0
COL_GAP, ROW_GAP, LANE_GAP = 48.0, 22.0, 8.0
DUMMY_H = 12.0
TERMINAL_R = 11.0
MARGIN = 18.0
EDGE_COLOR, LOOP_COLOR = "#94a3b8", "#a78bfa"
START = "\u25b6 start"

CATEGORY_STYLE = {
    # category: (fill, stroke, label colour)
    "start": ("#eff6ff", "#3b82f6", "#1d4ed8"),
    "work": ("#f8fafc", "#94a3b8", "#334155"),
    "approval": ("#fffbeb", "#f59e0b", "#92400e"),
    "exception": ("#fef2f2", "#ef4444", "#b91c1c"),
    "success": ("#ecfdf5", "#10b981", "#047857"),
    "intake": ("#f5f3ff", "#8b5cf6", "#6d28d9"),
}

SlotKind = Literal["node", "start", "dummy"]


@dataclass
class Slot:
    key: str
    kind: SlotKind
    column: int
    node: MapNode | None = None
    weight: int = 0
    order: float = 0.0
    x: float = 0.0
    y: float = 0.0

    @property
    def width(self) -> float:
        return TERMINAL_R * 2 if self.kind == "start" else BOX_W

    @property
    def height(self) -> float:
        return {"node": BOX_H, "start": TERMINAL_R * 2, "dummy": DUMMY_H}[self.kind]

    @property
    def cy(self) -> float:
        return self.y + self.height / 2


@dataclass
class Route:
    source: str
    target: str
    count: int
    median_seconds: float
    slots: list[Slot] = field(default_factory=list)  # source, lanes crossed, target (forward edges)
    loop: bool = False


@dataclass
class Layout:
    slots: dict[str, Slot]
    routes: list[Route]
    width: float
    height: float
    lanes_top: float


def layout(pm: ProcessMap) -> Layout:
    ranked = sorted(pm.nodes, key=lambda n: (n.mean_position, -n.events, n.activity))
    rank = {n.activity: i for i, n in enumerate(ranked)}
    rank[START] = -1
    routes = [Route(e.source, e.target, e.count, e.median_seconds) for e in pm.edges]
    routes += [Route(START, activity, n, 0.0) for activity, n in pm.starts.items()]
    _mark_loops(routes, rank)

    slots: dict[str, Slot] = {START: Slot(START, "start", 0, weight=pm.cases)}
    for activity in _topological(ranked, routes, rank):
        node = next(n for n in ranked if n.activity == activity)
        before = [slots[r.source].column for r in routes if r.target == activity and not r.loop]
        slots[activity] = Slot(activity, "node", 1 + max(before, default=0), node=node, weight=node.events)

    # Layered edges between neighbouring columns, with a lane slot wherever a forward edge skips a column.
    links: list[tuple[Slot, Slot, int]] = []
    for i, r in enumerate(routes):
        if r.loop:
            continue
        a, b = slots[r.source], slots[r.target]
        chain = [a]
        for column in range(a.column + 1, b.column):
            lane = Slot(f"~{i}:{column}", "dummy", column, weight=r.count)
            slots[lane.key] = lane
            chain.append(lane)
        chain.append(b)
        r.slots = chain
        links.extend((u, v, r.count) for u, v in pairwise(chain))

    columns: dict[int, list[Slot]] = defaultdict(list)
    for slot in slots.values():
        columns[slot.column].append(slot)
    last = max(columns)
    for members in columns.values():
        members.sort(key=lambda s: (s.kind == "dummy", -s.weight, rank.get(s.key, 0), s.key))
        for i, s in enumerate(members):
            s.order = float(i)

    preds: dict[str, list[tuple[Slot, int]]] = defaultdict(list)
    for u, v, w in links:
        preds[v.key].append((u, w))

    # Column by column, a slot goes next to its busiest predecessor, the busier of two siblings above the other:
    # the most travelled path stays on the top row and each branch hangs under the step it leaves from.
    for column in range(1, last + 1):
        members = columns[column]

        def key(s: Slot) -> tuple[float, int, int, str]:
            around = sorted(preds.get(s.key, []), key=lambda nw: (-nw[1], nw[0].order))
            anchor = around[0][0].order if around else s.order
            return (anchor, -s.weight, rank.get(s.key, 0), s.key)

        members.sort(key=key)
        for i, s in enumerate(members):
            s.order = float(i)

    x = MARGIN
    for column in range(last + 1):
        members = columns[column]
        bottom = MARGIN - ROW_GAP
        for s in members:
            s.x = x
            # In line with the busiest predecessor, so the main path runs straight (an average would drift).
            around = sorted(preds.get(s.key, []), key=lambda nw: (-nw[1], nw[0].order))
            wanted = around[0][0].cy - s.height / 2 if around else MARGIN
            gap = LANE_GAP if s.kind == "dummy" else ROW_GAP
            s.y = max(wanted, bottom + gap, MARGIN)
            bottom = s.y + s.height
        x += (TERMINAL_R * 2 if column == 0 else BOX_W) + COL_GAP
    width = x - COL_GAP + MARGIN + 24  # room for the end marker of the last column
    lowest = max(s.y + s.height for s in slots.values())
    loops = sum(1 for r in routes if r.loop)
    lanes_top = lowest + 22
    height = lanes_top + 12 * (loops - 1) + 22 if loops else lowest + 22
    return Layout(slots, routes, width, height, lanes_top)


def _mark_loops(routes: list[Route], rank: dict[str, int]) -> None:
    """Edges that go to a later rank are kept; one going back is kept too unless it would close a cycle."""
    ahead: dict[str, set[str]] = defaultdict(set)

    def reaches(start: str, goal: str) -> bool:
        seen, stack = {start}, [start]
        while stack:
            here = stack.pop()
            if here == goal:
                return True
            for nxt in ahead[here] - seen:
                seen.add(nxt)
                stack.append(nxt)
        return False

    ordered = sorted(routes, key=lambda r: (rank[r.target] <= rank[r.source], -r.count, r.source, r.target))
    for r in ordered:
        r.loop = r.source == r.target or reaches(r.target, r.source)
        if not r.loop:
            ahead[r.source].add(r.target)


def _topological(ranked: list[MapNode], routes: list[Route], rank: dict[str, int]) -> list[str]:
    """Activities in an order where every kept edge points forward, ties broken by average position."""
    incoming: dict[str, int] = {n.activity: 0 for n in ranked}
    outgoing: dict[str, list[str]] = defaultdict(list)
    for r in routes:
        if not r.loop and r.source != START:
            incoming[r.target] += 1
            outgoing[r.source].append(r.target)
    ready = sorted((a for a, n in incoming.items() if n == 0), key=lambda a: rank[a])
    order: list[str] = []
    while ready:
        here = ready.pop(0)
        order.append(here)
        for nxt in outgoing[here]:
            incoming[nxt] -= 1
            if incoming[nxt] == 0:
                ready.append(nxt)
        ready.sort(key=lambda a: rank[a])
    return order


def _bezier(p0: float, p1: float, p2: float, p3: float, t: float) -> float:
    u = 1 - t
    return u**3 * p0 + 3 * u * u * t * p1 + 3 * u * t * t * p2 + t**3 * p3


def _forward_path(route: Route) -> tuple[str, float, float]:
    """Curves from slot to slot with horizontal tangents, straight through each lane; the label sits on the first."""
    first = route.slots[0]
    x, y = first.x + first.width, first.cy
    parts = [f"M{x:.1f},{y:.1f}"]
    label = (x, y)
    for i, slot in enumerate(route.slots[1:]):
        tx, ty = slot.x - (1.5 if slot.kind == "node" else 0.0), slot.cy
        dx = max(16.0, (tx - x) / 2)
        parts.append(f"C{x + dx:.1f},{y:.1f} {tx - dx:.1f},{ty:.1f} {tx:.1f},{ty:.1f}")
        if i == 0:
            label = (_bezier(x, x + dx, tx - dx, tx, 0.5), _bezier(y, y, ty, ty, 0.5))
        if slot.kind == "dummy":
            x, y = slot.x + slot.width, ty
            parts.append(f"L{x:.1f},{y:.1f}")
        else:
            x, y = tx, ty
    return " ".join(parts), label[0], label[1]


def _loop_path(a: Slot, b: Slot, lane_y: float, offset: float) -> tuple[str, float, float]:
    """Right out of the source, down the gap after its column, left along a lane, up the gap before the target."""
    r = 6.0
    x1, y1 = a.x + a.width, a.cy + 8
    gx1 = a.x + a.width + COL_GAP * 0.3 + offset
    gx2 = b.x - COL_GAP * 0.3 - offset
    x2, y2 = b.x - 1.5, b.cy + 8
    path = (
        f"M{x1:.1f},{y1:.1f} L{gx1 - r:.1f},{y1:.1f} Q{gx1:.1f},{y1:.1f} {gx1:.1f},{y1 + r:.1f} "
        f"L{gx1:.1f},{lane_y - r:.1f} Q{gx1:.1f},{lane_y:.1f} {gx1 - r:.1f},{lane_y:.1f} "
        f"L{gx2 + r:.1f},{lane_y:.1f} Q{gx2:.1f},{lane_y:.1f} {gx2:.1f},{lane_y - r:.1f} "
        f"L{gx2:.1f},{y2 + r:.1f} Q{gx2:.1f},{y2:.1f} {gx2 + r:.1f},{y2:.1f} L{x2:.1f},{y2:.1f}"
    )
    return path, (gx1 + gx2) / 2, lane_y


def _node(slot: Slot, ends: int) -> str:
    n = slot.node
    assert n is not None
    fill, stroke, ink = CATEGORY_STYLE.get(n.category, CATEGORY_STYLE["work"])
    dash = ' stroke-dasharray="5 3"' if n.by_people else ""
    tip = f"{n.activity}\n{n.events} event(s) in {n.cases} case(s)" + (
        f"; {ends} case(s) ended here" if ends else ""
    )
    x, y = slot.x, slot.y
    parts = [
        f'<g class="node"><title>{esc(tip)}</title>'
        f'<rect x="{x:.1f}" y="{y:.1f}" width="{BOX_W}" height="{BOX_H}" rx="7" fill="{fill}" stroke="{stroke}" '
        f'stroke-width="1.3"{dash}/>'
    ]
    count = str(n.events)
    pill = text_width(count, 9.5) + 10
    parts.append(
        f'<rect x="{x + BOX_W - pill - 5:.1f}" y="{y + 5:.1f}" width="{pill:.1f}" height="15" rx="7.5" fill="#fff" '
        f'stroke="{stroke}" stroke-opacity="0.6"/>'
    )
    parts.append(
        svg_text(x + BOX_W - 5 - pill / 2, y + 16, count, size=9.5, fill=MUTED, anchor="middle", weight=600)
    )
    chars = int((BOX_W - 16 - pill) / 6.1)
    full = int((BOX_W - 16) / 6.1)
    if n.stage:
        lines = wrap(n.stage, chars, 3)
        for i, line in enumerate(lines):
            parts.append(svg_text(x + 8, y + 16 + i * 13, line, size=10.5, weight=600))
        parts.append(svg_text(x + 8, y + BOX_H - 9, _fit(n.label, full), size=10.5, fill=ink, weight=600))
    else:
        for i, line in enumerate(wrap(n.label, int((BOX_W - 16 - pill) / 7.0), 2)):
            parts.append(svg_text(x + 8, y + 17 + i * 14, line, size=11.5, fill=ink, weight=700))
    if ends:
        # Outside the box, under where arrows leave it: how many cases ended here.
        parts.append(
            f'<rect x="{x + BOX_W + 4:.1f}" y="{y + BOX_H - 8:.1f}" width="7" height="7" fill="{INK}"/>'
            + svg_text(x + BOX_W + 14, y + BOX_H - 1.5, f"{ends}", size=9.5, fill=INK, weight=600)
        )
    parts.append("</g>")
    return "".join(parts)


def _fit(text: str, chars: int) -> str:
    return text if len(text) <= chars else text[: max(1, chars - 1)] + "…"


def _start(slot: Slot) -> str:
    cx, cy = slot.x + TERMINAL_R, slot.cy
    return (
        f'<g><circle cx="{cx:.1f}" cy="{cy:.1f}" r="{TERMINAL_R}" fill="#2563eb"/>'
        f'<path d="M{cx - 3:.1f},{cy - 5:.1f} L{cx + 5:.1f},{cy:.1f} L{cx - 3:.1f},{cy + 5:.1f} Z" fill="#fff"/>'
        + svg_text(cx, cy + TERMINAL_R + 13, "start", size=10, fill=MUTED, anchor="middle")
        + "</g>"
    )


def process_map_svg(pm: ProcessMap, *, title: str | None = None) -> str:
    """Boxes per activity (events in the pill; ■ n: cases that ended there), arrows per transition with counts."""
    name = title or f"process map of {pm.workflow}"
    if not pm.nodes:
        return svg_root(400, 44, name, [svg_text(12, 26, "No events.", fill=MUTED)])
    plan = layout(pm)
    peak = max(r.count for r in plan.routes)
    body = [
        "<defs>"
        f'<marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerUnits="userSpaceOnUse" markerWidth="9" '
        f'markerHeight="9" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#64748b"/></marker>'
        f'<marker id="loop-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerUnits="userSpaceOnUse" markerWidth="9" '
        f'markerHeight="9" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="{LOOP_COLOR}"/></marker>'
        "</defs>"
    ]
    labels: list[str] = []
    loop_index = 0
    for route in sorted(plan.routes, key=lambda r: r.count):
        a, b = plan.slots[route.source], plan.slots[route.target]
        if route.loop:
            lane = plan.lanes_top + 12 * loop_index
            path, lx, ly = _loop_path(a, b, lane, 3.0 * (loop_index % 3))
            loop_index += 1
            color, marker, dash = LOOP_COLOR, "loop-arrow", ' stroke-dasharray="6 3"'
        else:
            path, lx, ly = _forward_path(route)
            color, marker, dash = EDGE_COLOR, "arrow", ""
        stroke = 1.2 + 4.0 * math.sqrt(route.count / peak)
        tip = f"{route.source} → {route.target}: {route.count}"
        if route.source != START:
            tip += f" (median {format_duration(route.median_seconds)} between them)"
        body.append(
            f'<path d="{path}" fill="none" stroke="{color}" stroke-opacity="0.8" stroke-width="{stroke:.1f}"{dash} '
            f'marker-end="url(#{marker})"><title>{esc(tip)}</title></path>'
        )
        text = str(route.count)
        w = text_width(text, 9.5) + 9
        labels.append(
            f'<g><rect x="{lx - w / 2:.1f}" y="{ly - 7.5:.1f}" width="{w:.1f}" height="15" rx="7.5" fill="#fff" '
            f'stroke="{color}"/>'
            + svg_text(lx, ly + 3.5, text, size=9.5, fill="#475569", anchor="middle", weight=600)
            + "</g>"
        )
    for slot in plan.slots.values():
        if slot.kind == "node":
            body.append(_node(slot, pm.ends.get(slot.key, 0)))
        elif slot.kind == "start":
            body.append(_start(slot))
    body.extend(labels)
    return svg_root(plan.width, plan.height, name, body, css_class="map")


def legend() -> str:
    """The colour and line key of the process map, as inline SVG swatches."""
    items = [
        ("start", "case started"),
        ("work", "system step"),
        ("approval", "approval"),
        ("exception", "exception"),
        ("success", "outcome"),
        ("intake", "duplicate / resume"),
    ]
    parts = []
    for category, text in items:
        fill, stroke, _ = CATEGORY_STYLE[category]
        parts.append(
            f'<span class="key"><svg width="18" height="12" aria-hidden="true"><rect x="1" y="1" width="16" '
            f'height="10" rx="3" fill="{fill}" stroke="{stroke}"/></svg>{esc(text)}</span>'
        )
    parts.append(
        '<span class="key"><svg width="18" height="12" aria-hidden="true"><rect x="1" y="1" width="16" height="10" '
        f'rx="3" fill="#fff" stroke="{MUTED}" stroke-dasharray="4 2"/></svg>done by a person</span>'
    )
    parts.append(
        f'<span class="key"><svg width="22" height="12" aria-hidden="true"><path d="M1,6 L21,6" stroke="{LOOP_COLOR}" '
        'stroke-width="2" stroke-dasharray="5 3"/></svg>loop back</span>'
    )
    parts.append(
        f'<span class="key"><svg width="12" height="12" aria-hidden="true"><rect x="2" y="2" width="8" height="8" '
        f'fill="{INK}"/></svg>cases that ended there</span>'
    )
    return "".join(parts)
