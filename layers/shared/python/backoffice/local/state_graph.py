"""A state machine drawn as SVG for the console's case page: its states as boxes, its transitions as arrows, and
the states an execution entered, is in, or failed in.

The edges come from the ASL definition (``Next``, the ``Choices``, ``Default`` and ``Catch``); the layout ranks the
states top to bottom and sets loops aside (drawn as arcs on the right). The SVG itself is
``local/templates/state_graph.svg.j2``, so every state name is escaped by the template.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup

from backoffice.html import render
from backoffice.intelligence.charts import wrap

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


# -- drawing ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Arrow:
    """An edge as drawn: its CSS classes, its SVG path, its arrowhead marker."""

    source: str
    target: str
    kind: str
    classes: str
    path: str
    marker: str


@dataclass(frozen=True)
class Label:
    x: str
    y: str
    text: str


@dataclass(frozen=True)
class Box:
    """A state as drawn: where, how (CSS classes, rounded corners) and what the execution did there."""

    name: str
    kind: str
    classes: str
    status: str  # not entered | entered | current | failed
    x: str
    y: str
    rx: int
    labels: tuple[Label, ...]


def _px(value: float) -> str:
    return f"{value:.0f}"


def _arrow(edge: Edge, plan: Layout, taken: set[tuple[str, str]]) -> Arrow:
    sx, sy = plan.positions[edge.source]
    tx, ty = plan.positions[edge.target]
    classes = ["edge", edge.kind]
    if (edge.source, edge.target) in taken:
        classes.append("taken")
    if edge in plan.back_edges or ty <= sy:
        # A loop, or an edge going up: an arc on the right of both boxes.
        x1, y1 = sx + BOX_W, sy + BOX_H / 2
        x2, y2 = tx + BOX_W, ty + BOX_H / 2
        bulge = max(x1, x2) + 40 + abs(y1 - y2) * 0.1
        path = f"M{x1:.0f},{y1:.0f} C{bulge:.0f},{y1:.0f} {bulge:.0f},{y2:.0f} {x2 + 2:.0f},{y2:.0f}"
    else:
        x1, y1 = sx + BOX_W / 2, sy + BOX_H
        x2, y2 = tx + BOX_W / 2, ty
        mid = (y1 + y2) / 2
        path = f"M{x1:.0f},{y1:.0f} C{x1:.0f},{mid:.0f} {x2:.0f},{mid:.0f} {x2:.0f},{y2 - 2:.0f}"
    marker = "arrow-taken" if "taken" in classes else "arrow"
    return Arrow(edge.source, edge.target, edge.kind, " ".join(classes), path, marker)


def _box(
    name: str,
    state: Mapping[str, Any],
    plan: Layout,
    entered: set[str],
    current: str | None,
    failed: str | None,
) -> Box:
    x, y = plan.positions[name]
    kind = str(state.get("Type", ""))
    classes = ["state", kind.lower()]
    status = "not entered"
    if name in entered:
        classes.append("entered")
        status = "entered"
    if name == current:
        classes.append("current")
        status = "current"
    if name == failed:
        classes.append("failed")
        status = "failed"
    lines = wrap(name, 28, 2)
    text_y = y + BOX_H / 2 - (len(lines) - 1) * 7 + 4
    labels = tuple(Label(_px(x + BOX_W / 2), _px(text_y + i * 14), line) for i, line in enumerate(lines))
    rx = 22 if kind == "Choice" else 6
    return Box(name, kind, " ".join(classes), status, _px(x), _px(y), rx, labels)


def state_graph_svg(
    definition: Mapping[str, Any], entered: Sequence[str], current: str | None, failed: str | None = None
) -> Markup:
    """The state machine of ``definition`` as an inline SVG element, the states in ``entered`` (in the order the
    execution entered them) and the transitions between them highlighted."""
    states: Mapping[str, Mapping[str, Any]] = definition.get("States", {})
    edges = asl_edges(states)
    plan = layout(str(definition.get("StartAt")), states, edges)
    taken = set(itertools.pairwise(entered))
    entered_set = set(entered)
    svg = render(
        "local/state_graph.svg.j2",
        width=_px(plan.width),
        height=_px(plan.height),
        box_width=BOX_W,
        box_height=BOX_H,
        arrows=[_arrow(edge, plan, taken) for edge in edges],
        boxes=[_box(name, state, plan, entered_set, current, failed) for name, state in states.items()],
    )
    # The template escaped every name and label.
    return Markup(svg)
