"""A billing period of 10,000 projects fits Step Functions' limit of 25,000 events in an execution's history.

The events are counted from the invoicing ASL as deployed (its named policies expanded), on the worst path: every
Task's retriers all used up, every approval level timed out and escalated. Step Functions writes per state
(Standard workflows; AWS's "History events" of each state type):

- an execution: ExecutionStarted, then ExecutionSucceeded or ExecutionFailed;
- a Task: TaskStateEntered, TaskStateExited, and per attempt TaskScheduled, TaskStarted and TaskSucceeded or
  TaskFailed (a ``.waitForTaskToken`` attempt adds TaskSubmitted; a time-out ends it with TaskTimedOut);
- a Pass, Choice or Succeed state: entered and exited; a Fail state: entered (the execution's end follows);
- a Distributed Map: MapStateEntered, MapStateStarted, MapRunStarted, MapRunSucceeded or MapRunFailed,
  MapStateSucceeded or MapStateFailed, MapStateExited: its children's events are in their own histories;
- an inline Map: the same without the map run's two, plus per item MapIterationStarted, the item's state
  events and MapIterationSucceeded, all in the parent's history (how the workflow ran before).

Loops (an approval level after another, an escalation after a time-out) each pass through a state asking people;
the test checks that removing those states leaves no cycle, then bounds the walks by the approval policy's levels.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from functools import cache
from typing import Any

from backoffice.approvals.policy import load_policy
from backoffice.local.samples import sample_approval_policy
from infra.catalog import CATALOG

HISTORY_LIMIT = 25_000
FIRM_SIZE = 10_000  # projects billed in one period by a large firm (issue #18)
MAP_STATE = "Invoice each project"
# Headroom asked of each history: a tenth of the limit, so that a workflow change that adds a few states, or a
# firm's approval policy with more levels, does not bring a billing run near it.
MARGIN = 10

Graph = Mapping[str, Mapping[str, Any]]


@cache
def definition() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(CATALOG.state_machine("invoicing").definition())
    return loaded


def child() -> dict[str, Any]:
    processor: dict[str, Any] = definition()["States"][MAP_STATE]["ItemProcessor"]
    return processor


def _is_callback(state: Mapping[str, Any]) -> bool:
    return state["Type"] == "Task" and str(state.get("Resource", "")).endswith(".waitForTaskToken")


def _attempts(state: Mapping[str, Any]) -> int:
    # Each retrier counts its own attempts: the worst case uses up every one of them, then the first try.
    return 1 + sum(int(retrier.get("MaxAttempts", 3)) for retrier in state.get("Retry", ()))


def state_events(state: Mapping[str, Any], *, items: int = 0, item_events: int = 0) -> int:
    """The events one visit of ``state`` writes to its execution's history, worst case."""
    kind = state["Type"]
    if kind == "Task":
        per_attempt = 4 if _is_callback(state) else 3
        return 2 + per_attempt * _attempts(state)
    if kind == "Map":
        if state["ItemProcessor"].get("ProcessorConfig", {}).get("Mode") == "DISTRIBUTED":
            return 6
        return 4 + items * (2 + item_events)
    if kind == "Fail":
        return 1
    return 2


def _next_states(state: Mapping[str, Any]) -> Iterator[str]:
    if "Next" in state:
        yield state["Next"]
    for choice in state.get("Choices", ()):
        yield choice["Next"]
    if "Default" in state:
        yield state["Default"]
    for catcher in state.get("Catch", ()):
        yield catcher["Next"]


def longest_simple_path(states: Graph, start: str, weight: Mapping[str, int], skip: frozenset[str]) -> int:
    """The heaviest path from ``start`` that visits no state twice (the graphs here have a few dozen states)."""

    def walk(name: str, seen: frozenset[str]) -> int:
        if name in skip:
            return 0
        ahead = [walk(n, seen | {name}) for n in set(_next_states(states[name])) if n not in seen]
        return weight[name] + max(ahead, default=0)

    return walk(start, frozenset())


def is_acyclic_without(states: Graph, removed: frozenset[str]) -> bool:
    visiting: set[str] = set()
    done: set[str] = set()

    def visit(name: str) -> bool:
        if name in removed or name in done:
            return True
        if name in visiting:
            return False
        visiting.add(name)
        ok = all(visit(n) for n in _next_states(states[name]))
        visiting.discard(name)
        done.add(name)
        return ok

    return all(visit(name) for name in states)


def max_approval_asks() -> int:
    """How often one review may ask people, at most: each level of the longest rule of any route, once, and
    once more after escalating."""
    policy = load_policy({"APPROVAL_POLICY": json.dumps(sample_approval_policy())})
    levels = max(len(rule.levels) for rules in policy.routes.values() for rule in rules)
    return 2 * levels


def child_worst_case() -> int:
    """A project's child execution, worst case: its heaviest path that asks no one twice, plus every repeated
    ask (each loop passes through one) with the heaviest walk back to it."""
    states: Graph = child()["States"]
    weight = {name: state_events(state) for name, state in states.items()}
    asks = frozenset(name for name, state in states.items() if _is_callback(state))
    path = longest_simple_path(states, child()["StartAt"], weight, frozenset())
    # A repeated ask costs at most the heaviest walk from one ask to the next one: bounded here by the heaviest
    # path from any ask that does not cross an ask again, plus the ask itself.
    loop = max(
        weight[ask]
        + sum(longest_simple_path(states, n, weight, asks) for n in set(_next_states(states[ask])))
        for ask in asks
    )
    repeats = len(asks) * (max_approval_asks() - 1)
    return 2 + path + repeats * loop


def parent_events(projects: int) -> int:
    """The billing run's own history for ``projects`` projects, worst case."""
    states: Graph = definition()["States"]
    child_events = child_worst_case() - 2  # an inline item has no execution events of its own
    weight = {
        name: state_events(state, items=projects, item_events=child_events) for name, state in states.items()
    }
    return 2 + longest_simple_path(states, definition()["StartAt"], weight, frozenset())


def test_the_project_loops_each_pass_through_a_state_asking_people() -> None:
    # Given the child's graph / When the states asking people are taken out / Then no cycle is left, so the
    # walks are bounded by how often the approval policy may ask
    states: Graph = child()["States"]
    asks = frozenset(name for name, state in states.items() if _is_callback(state))
    assert asks and is_acyclic_without(states, asks)
    assert is_acyclic_without(definition()["States"], frozenset())


def test_each_project_runs_in_a_child_execution_of_its_own() -> None:
    # Given the Map over the period's projects
    state = definition()["States"][MAP_STATE]
    # Then it is distributed: Standard children (they wait days for people), items and results in S3
    assert state["ItemProcessor"]["ProcessorConfig"] == {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}
    assert state["ItemReader"]["Resource"] == "arn:aws:states:::s3:getObject"
    assert state["ResultWriter"]["Resource"] == "arn:aws:states:::s3:putObject"
    assert "ItemsPath" not in state


def test_a_billing_run_history_does_not_grow_with_the_projects() -> None:
    # Given a period of 1 and of 10,000 projects / When the run's own events are counted on the worst path
    # Then they are the same, and far below the limit
    assert parent_events(FIRM_SIZE) == parent_events(1)
    assert parent_events(FIRM_SIZE) * MARGIN <= HISTORY_LIMIT, parent_events(FIRM_SIZE)


def test_a_project_execution_stays_far_below_the_limit_in_its_worst_case() -> None:
    # Given every retry used up and every approval level escalated / Then a project's history has a tenfold margin
    assert child_worst_case() * MARGIN <= HISTORY_LIMIT, child_worst_case()


def test_the_same_projects_in_an_inline_map_would_pass_the_limit() -> None:
    # Given the same steps run as an inline Map's iterations, each project on its shortest path (no retry, no
    # review: the project had nothing to bill) / When the run's history holds every project's events
    states: Graph = child()["States"]
    first_try = {name: state_events({**state, "Retry": []}) for name, state in states.items()}
    shortest = shortest_path_to_end(states, child()["StartAt"], first_try)
    inline_map = {
        **definition()["States"][MAP_STATE],
        "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}},
    }
    inline_run = (
        parent_events(FIRM_SIZE) - 6 + state_events(inline_map, items=FIRM_SIZE, item_events=shortest)
    )
    # Then a firm's period would not fit, however simple its projects: the estimate sees what failed before
    assert inline_run > HISTORY_LIMIT, inline_run


def shortest_path_to_end(states: Graph, start: str, weight: Mapping[str, int]) -> int:
    def walk(name: str, seen: frozenset[str]) -> float:
        following = [n for n in set(_next_states(states[name])) if n not in seen]
        if states[name].get("End") or states[name]["Type"] in ("Succeed", "Fail"):
            return weight[name]
        return weight[name] + min((walk(n, seen | {name}) for n in following), default=float("inf"))

    return int(walk(start, frozenset()))
