"""The process map's layout: a directly-follows graph, left to right by the activities' average position.

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

from collections import defaultdict
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Literal

from backoffice.intelligence.metrics import MapNode, ProcessMap

BOX_W, BOX_H = 144.0, 66.0
COL_GAP, ROW_GAP, LANE_GAP = 48.0, 22.0, 8.0
DUMMY_H = 12.0
TERMINAL_R = 11.0
MARGIN = 18.0
START = "\u25b6 start"

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
