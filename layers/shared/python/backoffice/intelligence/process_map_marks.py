"""Every mark of the process map placed, as data: boxes with their pills and wrapped names, arrows with their paths
and count pills, the start marker, and the legend's keys. ``process_map_layout`` decides where the boxes go; the
template ``intelligence/process_map.svg.j2`` draws what this module returns and escapes every text on the way.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from backoffice.intelligence.chart_geometry import INK, MUTED, Label
from backoffice.intelligence.chart_scales import text_width, wrap
from backoffice.intelligence.metrics import ProcessMap
from backoffice.intelligence.process_map_layout import (
    BOX_H,
    BOX_W,
    COL_GAP,
    START,
    TERMINAL_R,
    Route,
    Slot,
    layout,
)
from backoffice.intelligence.stats import format_duration

EDGE_COLOR, LOOP_COLOR = "#94a3b8", "#a78bfa"

CATEGORY_STYLE = {
    # category: (fill, stroke, label colour)
    "start": ("#eff6ff", "#3b82f6", "#1d4ed8"),
    "work": ("#f8fafc", "#94a3b8", "#334155"),
    "approval": ("#fffbeb", "#f59e0b", "#92400e"),
    "exception": ("#fef2f2", "#ef4444", "#b91c1c"),
    "success": ("#ecfdf5", "#10b981", "#047857"),
    "intake": ("#f5f3ff", "#8b5cf6", "#6d28d9"),
}

LEGEND = (
    ("start", "case started"),
    ("work", "system step"),
    ("approval", "approval"),
    ("exception", "exception"),
    ("success", "outcome"),
    ("intake", "duplicate / resume"),
)


@dataclass(frozen=True)
class CountPill:
    """The rounded box and number on an arrow (or in a box's corner)."""

    x: float
    y: float
    width: float
    color: str
    label: Label


@dataclass(frozen=True)
class Arrow:
    """A transition: its path, its stroke (wider the more travelled), its tooltip and the pill with its count."""

    path: str
    color: str
    width: float
    loop: bool
    tooltip: str
    pill: CountPill


@dataclass(frozen=True)
class CasesEnded:
    """The square and count beside a box: how many cases ended there."""

    x: float
    y: float
    label: Label


@dataclass(frozen=True)
class ActivityBox:
    x: float
    y: float
    width: float
    height: float
    fill: str
    stroke: str
    by_people: bool  # drawn dashed
    tooltip: str
    events: CountPill
    lines: list[Label]  # the step's name and the activity's label, wrapped to the box
    ended: CasesEnded | None


@dataclass(frozen=True)
class StartMarker:
    cx: float
    cy: float
    r: float
    label: Label


@dataclass(frozen=True)
class MapMarks:
    width: float
    height: float
    arrows: list[Arrow]  # the least travelled first, so the busiest are drawn on top
    start: StartMarker
    boxes: list[ActivityBox]


@dataclass(frozen=True)
class LegendKey:
    fill: str
    stroke: str
    text: str


def legend_keys() -> list[LegendKey]:
    return [LegendKey(*CATEGORY_STYLE[category][:2], text) for category, text in LEGEND]


def map_marks(pm: ProcessMap) -> MapMarks:
    """Boxes per activity (events in the pill; ■ n: cases that ended there), arrows per transition with counts
    (``pm`` has at least one activity)."""
    plan = layout(pm)
    peak = max(r.count for r in plan.routes)
    arrows: list[Arrow] = []
    loop_index = 0
    for route in sorted(plan.routes, key=lambda r: r.count):
        if route.loop:
            a, b = plan.slots[route.source], plan.slots[route.target]
            lane = plan.lanes_top + 12 * loop_index
            path, lx, ly = loop_path(a, b, lane, 3.0 * (loop_index % 3))
            loop_index += 1
        else:
            path, lx, ly = forward_path(route)
        arrows.append(_arrow(route, path, lx, ly, peak))
    start = plan.slots[START]
    boxes = [_box(slot, pm.ends.get(slot.key, 0)) for slot in plan.slots.values() if slot.kind == "node"]
    return MapMarks(plan.width, plan.height, arrows, _start(start), boxes)


def _arrow(route: Route, path: str, lx: float, ly: float, peak: int) -> Arrow:
    color = LOOP_COLOR if route.loop else EDGE_COLOR
    tooltip = f"{route.source} → {route.target}: {route.count}"
    if route.source != START:
        tooltip += f" (median {format_duration(route.median_seconds)} between them)"
    text = str(route.count)
    w = text_width(text, 9.5) + 9
    pill = CountPill(
        lx - w / 2,
        ly - 7.5,
        w,
        color,
        Label(lx, ly + 3.5, text, size=9.5, fill="#475569", anchor="middle", weight=600),
    )
    return Arrow(path, color, 1.2 + 4.0 * math.sqrt(route.count / peak), route.loop, tooltip, pill)


def _bezier(p0: float, p1: float, p2: float, p3: float, t: float) -> float:
    u = 1 - t
    return u**3 * p0 + 3 * u * u * t * p1 + 3 * u * t * t * p2 + t**3 * p3


def forward_path(route: Route) -> tuple[str, float, float]:
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


def loop_path(a: Slot, b: Slot, lane_y: float, offset: float) -> tuple[str, float, float]:
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


def _box(slot: Slot, ends: int) -> ActivityBox:
    n = slot.node
    assert n is not None
    fill, stroke, ink = CATEGORY_STYLE.get(n.category, CATEGORY_STYLE["work"])
    tooltip = f"{n.activity}\n{n.events} event(s) in {n.cases} case(s)" + (
        f"; {ends} case(s) ended here" if ends else ""
    )
    x, y = slot.x, slot.y
    count = str(n.events)
    pill = text_width(count, 9.5) + 10
    events = CountPill(
        x + BOX_W - pill - 5,
        y + 5,
        pill,
        stroke,
        Label(x + BOX_W - 5 - pill / 2, y + 16, count, size=9.5, fill=MUTED, anchor="middle", weight=600),
    )
    lines: list[Label] = []
    if n.stage:
        chars = int((BOX_W - 16 - pill) / 6.1)
        for i, line in enumerate(wrap(n.stage, chars, 3)):
            lines.append(Label(x + 8, y + 16 + i * 13, line, size=10.5, weight=600))
        full = int((BOX_W - 16) / 6.1)
        lines.append(Label(x + 8, y + BOX_H - 9, _fit(n.label, full), size=10.5, fill=ink, weight=600))
    else:
        for i, line in enumerate(wrap(n.label, int((BOX_W - 16 - pill) / 7.0), 2)):
            lines.append(Label(x + 8, y + 17 + i * 14, line, size=11.5, fill=ink, weight=700))
    # Outside the box, under where arrows leave it: how many cases ended here.
    ended = (
        CasesEnded(
            x + BOX_W + 4,
            y + BOX_H - 8,
            Label(x + BOX_W + 14, y + BOX_H - 1.5, f"{ends}", size=9.5, fill=INK, weight=600),
        )
        if ends
        else None
    )
    return ActivityBox(x, y, BOX_W, BOX_H, fill, stroke, n.by_people, tooltip, events, lines, ended)


def _fit(text: str, chars: int) -> str:
    return text if len(text) <= chars else text[: max(1, chars - 1)] + "…"


def _start(slot: Slot) -> StartMarker:
    cx, cy = slot.x + TERMINAL_R, slot.cy
    return StartMarker(
        cx, cy, TERMINAL_R, Label(cx, cy + TERMINAL_R + 13, "start", size=10, fill=MUTED, anchor="middle")
    )
