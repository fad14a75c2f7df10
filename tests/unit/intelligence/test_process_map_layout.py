"""The process map's drawing: left to right, the busiest path straight along the top, loops under the boxes."""

from __future__ import annotations

import itertools

from backoffice.intelligence import build_report
from backoffice.intelligence.metrics import ProcessMap
from backoffice.intelligence.process_map_svg import BOX_H, BOX_W, START, layout, process_map_svg
from backoffice.intelligence.samples import sample_records


def onboarding_map() -> ProcessMap:
    return next(pm for pm in build_report(sample_records()).process_maps if pm.workflow == "onboarding")


def test_every_arrow_that_is_not_a_loop_points_right_and_skipped_columns_get_lanes() -> None:
    plan = layout(onboarding_map())
    for route in plan.routes:
        if route.loop:
            continue
        columns = [slot.column for slot in route.slots]
        # one slot per column crossed, strictly left to right
        assert columns == list(range(columns[0], columns[-1] + 1))


def test_only_the_edges_that_close_a_cycle_loop_back() -> None:
    # Given the onboarding map, where blocked cases are resumed and run again from validation
    plan = layout(onboarding_map())
    loops = {(r.source, r.target) for r in plan.routes if r.loop}
    # Then the resume is the loop, drawn back to validation
    assert loops == {("case resumed", "validate closed-won opportunity: passed")}


def test_the_busiest_path_runs_straight_along_the_top() -> None:
    # Given the most common variant of the onboarding cases
    pm = onboarding_map()
    plan = layout(pm)
    main = pm.variants[0].activities
    # Then its boxes sit on one row, the top one, left to right
    ys = {plan.slots[a].y for a in main}
    assert ys == {min(s.y for s in plan.slots.values() if s.kind == "node")}
    xs = [plan.slots[a].x for a in main]
    assert xs == sorted(xs) and len(set(xs)) == len(xs)


def test_no_two_boxes_overlap() -> None:
    plan = layout(onboarding_map())
    boxes = [s for s in plan.slots.values() if s.kind == "node"]
    for a, b in itertools.combinations(boxes, 2):
        apart = a.x + BOX_W <= b.x or b.x + BOX_W <= a.x or a.y + BOX_H <= b.y or b.y + BOX_H <= a.y
        assert apart, f"{a.key} overlaps {b.key}"


def test_the_map_names_each_activity_and_counts_each_arrow() -> None:
    pm = onboarding_map()
    svg = process_map_svg(pm)
    assert svg.startswith("<svg") and svg.count("<title>") >= len(pm.nodes) + len(pm.edges)
    assert START not in [n.activity for n in pm.nodes]
    for edge in pm.edges:
        assert f"{edge.source} → {edge.target}: {edge.count}" in svg.replace("&gt;", ">")
