"""The console's drawing of a state machine: its transitions, where the states go, what an execution did."""

from __future__ import annotations

import re
from typing import Any

from backoffice.local.state_graph import BOX_W, Edge, asl_edges, layout, state_graph_svg
from tests.html_probes import HOSTILE, Parsed

REVIEW: dict[str, Any] = {
    "StartAt": "Validate",
    "States": {
        "Validate": {"Type": "Task", "Next": "Review needed?", "Catch": [{"Next": "Blocked"}]},
        "Review needed?": {
            "Type": "Choice",
            "Choices": [{"Next": "Ask legal"}, {"Next": "Not a state"}],
            "Default": "Create project",
        },
        "Ask legal": {"Type": "Task", "Next": "Next level?"},
        "Next level?": {"Type": "Choice", "Choices": [{"Next": "Ask legal"}], "Default": "Create project"},
        "Create project": {"Type": "Task", "End": True, "Catch": [{"Next": "Blocked"}]},
        "Blocked": {"Type": "Fail"},
    },
}


def test_the_transitions_are_read_from_next_choices_default_and_catch() -> None:
    # Given a definition with every kind of transition, one of them to a state that does not exist
    # When its edges are read
    edges = asl_edges(REVIEW["States"])
    # Then each transition is there with its kind, and the one to nowhere is left out
    assert edges == [
        Edge("Validate", "Review needed?", "next"),
        Edge("Validate", "Blocked", "catch"),
        Edge("Review needed?", "Ask legal", "choice"),
        Edge("Review needed?", "Create project", "default"),
        Edge("Ask legal", "Next level?", "next"),
        Edge("Next level?", "Ask legal", "choice"),
        Edge("Next level?", "Create project", "default"),
        Edge("Create project", "Blocked", "catch"),
    ]


def test_states_go_top_to_bottom_and_a_loop_is_set_aside() -> None:
    # Given the definition's edges, with a loop back to legal
    states = REVIEW["States"]
    edges = asl_edges(states)
    # When the states are laid out
    plan = layout(REVIEW["StartAt"], states, edges)
    top = {name: y for name, (_, y) in plan.positions.items()}
    # Then the start is on top, every state below the one before it, and the loop is the only back edge
    assert plan.back_edges == {Edge("Next level?", "Ask legal", "choice")}
    assert (
        top["Validate"]
        < top["Review needed?"]
        < top["Ask legal"]
        < top["Next level?"]
        < top["Create project"]
    )
    assert top["Create project"] < top["Blocked"]
    # And every box fits in the drawing
    assert all(
        x >= 0 and x + BOX_W <= plan.width and 0 <= y <= plan.height for x, y in plan.positions.values()
    )


def test_the_drawing_shows_what_the_execution_did() -> None:
    # Given an execution that went through legal and failed creating the project
    entered = ["Validate", "Review needed?", "Ask legal", "Next level?", "Create project"]
    # When the state machine is drawn
    svg = str(state_graph_svg(REVIEW, entered, current=None, failed="Create project"))
    # Then each state says whether the execution entered it, and where it failed
    status = dict(re.findall(r"data-state='([^']+)' data-status='([^']+)'", svg))
    assert status == {
        "Validate": "entered",
        "Review needed?": "entered",
        "Ask legal": "entered",
        "Next level?": "entered",
        "Create project": "failed",
        "Blocked": "not entered",
    }
    # And the transitions it took are highlighted, the others not
    taken = re.findall(r"<path class='edge [a-z]+ taken'[^>]*><title>([^<]+)</title>", svg)
    assert taken == [
        "Validate → Review needed? (next)",
        "Review needed? → Ask legal (choice)",
        "Ask legal → Next level? (next)",
        "Next level? → Create project (default)",
    ]


def test_the_current_state_is_marked() -> None:
    svg = str(state_graph_svg(REVIEW, ["Validate", "Review needed?", "Ask legal"], current="Ask legal"))
    assert "<g class='state task entered current' data-state='Ask legal' data-status='current'>" in svg


def test_a_state_name_is_shown_as_text_only() -> None:
    # Given a state machine whose state names carry markup
    definition = {
        "StartAt": HOSTILE,
        "States": {HOSTILE: {"Type": "Task", "Next": "Done"}, "Done": {"Type": "Succeed"}},
    }
    # When it is drawn
    svg = str(state_graph_svg(definition, [HOSTILE], current="Done"))
    # Then the names are text and attribute values, never elements
    parsed = Parsed(svg)
    assert set(parsed.tags) == {"svg", "defs", "marker", "path", "title", "g", "rect", "text"}
    assert ("g", "data-state", HOSTILE) in parsed.attributes
    assert "<script" not in svg and "<img" not in svg
