"""The report's SVG charts and process map escape by default: markup in a label, a title or a colour stays text."""

from __future__ import annotations

from backoffice.intelligence.charts import Bar, Range, bar_chart, histogram, range_chart
from backoffice.intelligence.metrics import MapEdge, MapNode, ProcessMap
from backoffice.intelligence.process_map_svg import legend, process_map_svg
from tests.html_probes import HOSTILE, Parsed, assert_shown_as_text_only

# Closes the attribute it lands in and opens an event handler, if it were pasted in unescaped.
ATTRIBUTE_BREAKER = '" onload="alert(1)" x="'
CHART_TAGS = {"svg", "title", "line", "rect", "text"}
MAP_TAGS = {"svg", "title", "defs", "marker", "path", "g", "circle", "rect", "text"}


def activity(name: str, *, stage: str, label: str, events: int, position: int, by_people: bool) -> MapNode:
    return MapNode(
        activity=name,
        stage=stage,
        label=label,
        category="approval",
        events=events,
        cases=events,
        mean_position=position,
        by_people=by_people,
    )


def hostile_map() -> ProcessMap:
    first, second, third = f"{HOSTILE} 1", f"{HOSTILE} 2", ATTRIBUTE_BREAKER
    return ProcessMap(
        workflow=HOSTILE,
        cases=3,
        nodes=[
            activity(first, stage=HOSTILE, label=HOSTILE, events=5, position=0, by_people=True),
            activity(second, stage="", label=HOSTILE, events=2, position=1, by_people=False),
            activity(
                third, stage=ATTRIBUTE_BREAKER, label=ATTRIBUTE_BREAKER, events=1, position=2, by_people=False
            ),
        ],
        edges=[
            MapEdge(source=first, target=second, count=2, median_seconds=60),
            MapEdge(source=second, target=first, count=1, median_seconds=5),  # a loop back
            MapEdge(source=first, target=third, count=1, median_seconds=7),
        ],
        starts={first: 3},
        ends={second: 1, third: 1},
        variants=[],
    )


def test_markup_in_a_histogram_title_and_marker_is_shown_as_text() -> None:
    # Given a cycle-time histogram whose title and marker name are markup
    svg = histogram([60.0, 120.0, 3600.0], title=HOSTILE, markers=[(HOSTILE, 120.0)])
    # Then the chart's own elements are all there is, and the markup is text
    parsed = assert_shown_as_text_only(svg, CHART_TAGS)
    assert parsed.text.count(HOSTILE) == 2  # the title, the marker's label


def test_markup_in_bar_labels_values_tooltips_and_colours_is_shown_as_text() -> None:
    # Given bars whose label, value text, tooltip and colour are markup or close an attribute
    bars = [
        Bar(label=HOSTILE, value=3, text=HOSTILE),
        Bar(label=ATTRIBUTE_BREAKER, value=1, text="1", tooltip=HOSTILE, color=ATTRIBUTE_BREAKER),
    ]
    svg = bar_chart(bars, title=HOSTILE)
    # Then no element or attribute came from them
    parsed = assert_shown_as_text_only(svg, CHART_TAGS)
    # And each value arrives whole where it belongs: the uncut label in data-full, the colour in fill
    assert ("text", "data-full", HOSTILE) in parsed.attributes
    assert ("text", "data-full", ATTRIBUTE_BREAKER) in parsed.attributes
    assert ("rect", "fill", ATTRIBUTE_BREAKER) in parsed.attributes
    assert f"{HOSTILE}: {HOSTILE}" in parsed.text  # the first bar's tooltip


def test_markup_in_range_labels_and_sublabels_is_shown_as_text() -> None:
    # Given approval turnaround rows named in markup
    rows = [
        Range(label=HOSTILE, median=600, p90=3600, count=3, sublabel=HOSTILE),
        Range(label=ATTRIBUTE_BREAKER, median=60, p90=120, count=1),
    ]
    svg = range_chart(rows, title=HOSTILE)
    # Then the markup is text: in the title, the sublabel and the tooltip
    parsed = assert_shown_as_text_only(svg, CHART_TAGS)
    assert parsed.text.count(HOSTILE) >= 3
    assert f"{ATTRIBUTE_BREAKER}: median 1 min" in parsed.text


def test_a_chart_with_nothing_to_show_escapes_its_title() -> None:
    for svg in (histogram([], title=HOSTILE), bar_chart([], title=HOSTILE), range_chart([], title=HOSTILE)):
        assert_shown_as_text_only(svg, {"svg", "title", "text"})


def test_markup_in_activities_steps_and_the_workflow_is_shown_as_text_on_the_process_map() -> None:
    # Given a process map whose workflow, activities, steps and labels are markup or close an attribute
    pm = hostile_map()
    # When it is drawn, under its own title and under one given
    for svg in (process_map_svg(pm), process_map_svg(pm, title=HOSTILE)):
        # Then the map's own elements are all there is, and every name is text
        parsed = assert_shown_as_text_only(svg, MAP_TAGS)
        assert f"{HOSTILE} 1 → {HOSTILE} 2: 2" in parsed.text  # an arrow's tooltip
        assert f"{HOSTILE} 1 → {ATTRIBUTE_BREAKER}: 1" in parsed.text
        assert f"{ATTRIBUTE_BREAKER}\n1 event(s) in 1 case(s)" in parsed.text  # a box's tooltip
    assert f"process map of {HOSTILE}" in Parsed(process_map_svg(pm)).text


def test_an_empty_process_map_escapes_its_workflow_and_the_legend_is_fixed_markup() -> None:
    empty = ProcessMap(workflow=HOSTILE, cases=0, nodes=[], edges=[], starts={}, ends={}, variants=[])
    assert_shown_as_text_only(process_map_svg(empty), {"svg", "title", "text"})
    key = Parsed(legend())
    assert set(key.tags) == {"span", "svg", "rect", "path"} and "loop back" in key.text
