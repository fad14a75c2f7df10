"""The contract between each state machine and the Lambda handlers its Task states invoke.

A Task's ``Payload`` (and, inside a Map, the ``ItemSelector`` that builds each iteration's input) is the only
thing a handler receives; the handler validates it with its input model, ``INPUT_MODEL`` in its ``app.py``. For
every Task of every catalog state machine that invokes a catalog function, this checks, without running anything:

- the handler has an input model, and its handler validates the event with it;
- every required field of the model is supplied by the Task, and every key the Task supplies is a field of the
  model (no model allows extra keys: ``StepInput`` forbids them; ``AnalysisRequest`` ignores them, and is held to
  the same rule here);
- every JSONPath the Task or the Map reads (``"x.$": "$.root..."``) starts from a key that every path through the
  workflow to that state has put in the state (the execution's input, a ``ResultPath``, a Catch's ``ResultPath``,
  an ``ItemSelector``).

The ASL is read through ``StateMachine.definition()``: the file as deployed, with its named policies expanded.
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from types import ModuleType
from typing import Any

import pytest
from pydantic import BaseModel

from backoffice.local.lambdas import load_handler_module
from infra.catalog import CATALOG, StateMachine

# What ``CaseStarter`` passes StartExecution (backoffice/cases.py): the input of every execution.
EXECUTION_INPUT_KEYS = frozenset({"case_id", "workflow", "event"})
LAMBDA_INVOKE = re.compile(r"^arn:aws:states:::lambda:invoke(\.waitForTaskToken)?$")
PLACEHOLDER = re.compile(r"^\$\{([^}]+)\}$")
# "$.root" and "$.root.more" in a path or inside an intrinsic function; "$$." (the context object) is not state.
STATE_PATH_ROOT = re.compile(r"(?<!\$)\$\.([A-Za-z_][A-Za-z0-9_-]*)")


@dataclass(frozen=True)
class TaskInvocation:
    """One Task state that invokes a catalog function, with the keys its state has on every path to it."""

    workflow: str
    state: str
    function: str
    payload: Mapping[str, Any]
    available: frozenset[str] | None  # None: not determined (a state before it replaced the whole input)

    def __str__(self) -> str:
        return f"{self.workflow} / {self.state!r} -> {self.function}"


@dataclass(frozen=True)
class MapSelection:
    workflow: str
    state: str
    selector: Mapping[str, Any]
    available: frozenset[str] | None


# ---------------------------------------------------------------------------------------------------------------
# Reading the ASL
# ---------------------------------------------------------------------------------------------------------------


def _key(name: str) -> str:
    return name.removesuffix(".$")


def _path_roots(value: Any) -> Iterator[str]:
    """The root key of every state path a Payload value reads (nested objects and intrinsic functions too)."""
    if isinstance(value, str):
        yield from STATE_PATH_ROOT.findall(value)
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _path_roots(item)
    elif isinstance(value, list):
        for item in value:
            yield from _path_roots(item)


def _written_keys(template: Mapping[str, Any]) -> frozenset[str]:
    return frozenset(_key(name) for name in template)


def _after(state: Mapping[str, Any], keys: frozenset[str] | None) -> frozenset[str] | None:
    """The top-level keys of a state's output, given those of its input (None: not determined)."""
    if state["Type"] in ("Choice", "Wait", "Succeed", "Fail"):
        return keys
    if "OutputPath" in state and state["OutputPath"] != "$":
        return None
    result_path = state.get("ResultPath", "$")
    if result_path is None:
        return keys
    if result_path == "$":
        if state["Type"] == "Pass" and "Parameters" not in state and "Result" not in state:
            return keys
        template = state.get("ResultSelector") or state.get("Parameters") or state.get("Result")
        return _written_keys(template) if isinstance(template, Mapping) and state["Type"] == "Pass" else None
    root = STATE_PATH_ROOT.match(result_path)
    return None if keys is None or root is None else keys | {root.group(1)}


def _edges(state: Mapping[str, Any]) -> Iterator[tuple[str, str | None]]:
    """(next state, the root key a Catch writes its error to, if the edge is a Catch)."""
    if "Next" in state:
        yield state["Next"], None
    if "Default" in state:
        yield state["Default"], None
    for choice in state.get("Choices", ()):
        yield choice["Next"], None
    for catcher in state.get("Catch", ()):
        path = catcher.get("ResultPath", "$")
        root = STATE_PATH_ROOT.match(path) if isinstance(path, str) else None
        yield catcher["Next"], root.group(1) if root else "$"


def _available_keys(
    machine: Mapping[str, Any], input_keys: frozenset[str] | None
) -> dict[str, frozenset[str] | None]:
    """For each state of one scope (a machine, a Map's iteration): the keys its input has on every path to it.

    A must-analysis: a state's input has a key only if each state that can pass control to it has it.
    """
    states: Mapping[str, Mapping[str, Any]] = machine["States"]
    unset = object()
    incoming: dict[str, Any] = dict.fromkeys(states, unset)
    incoming[machine["StartAt"]] = input_keys
    changed = True
    while changed:
        changed = False
        for name, state in states.items():
            keys = incoming[name]
            if keys is unset:
                continue
            for target, caught in _edges(state):
                if caught is None:
                    out = _after(state, keys)
                elif caught == "$":
                    out = frozenset(
                        {"Error", "Cause"}
                    )  # a Catch without ResultPath: the error replaces the state
                else:
                    out = None if keys is None else keys | {caught}
                merged = out if incoming[target] is unset else _meet(incoming[target], out)
                if incoming[target] is unset or merged != incoming[target]:
                    incoming[target] = merged
                    changed = True
    return {name: (None if keys is unset else keys) for name, keys in incoming.items()}


def _meet(current: frozenset[str] | None, new: frozenset[str] | None) -> frozenset[str] | None:
    # None (not determined) yields to what the other path says: a miss there is not reported, never invented.
    if current is None or new is None:
        return new if current is None else current
    return current & new


def _function_of(spec: StateMachine, state: Mapping[str, Any]) -> str | None:
    """The catalog function a Task invokes (optimized ``lambda:invoke`` or the function's ARN), else None."""
    resource = state.get("Resource", "")
    parameters = state.get("Parameters") or {}
    target = parameters.get("FunctionName", "") if LAMBDA_INVOKE.match(resource) else resource
    placeholder = PLACEHOLDER.match(target) if isinstance(target, str) else None
    if placeholder is None:
        return None
    ref = spec.substitutions.get(placeholder.group(1))
    return ref.name if ref is not None and ref.kind == "function_arn" else None


def _scan(
    spec: StateMachine, machine: Mapping[str, Any], input_keys: frozenset[str] | None
) -> Iterator[TaskInvocation | MapSelection]:
    available = _available_keys(machine, input_keys)
    for name, state in machine["States"].items():
        if state["Type"] == "Task":
            function = _function_of(spec, state)
            if function is not None:
                parameters = state.get("Parameters")
                if not LAMBDA_INVOKE.match(state["Resource"]):
                    # The function's ARN as Resource: Parameters are the event; without them, the whole state.
                    payload = parameters if parameters is not None else {"$": "$"}
                elif "Payload.$" in parameters:
                    payload = {"$": parameters["Payload.$"]}
                else:
                    payload = parameters.get("Payload", {})
                yield TaskInvocation(spec.name, name, function, payload, available[name])
        for branch in state.get("Branches", ()):
            yield from _scan(spec, branch, available[name])
        for processor in ("ItemProcessor", "Iterator"):
            if processor in state:
                selector = state.get("ItemSelector", state.get("Parameters"))
                if selector is not None:
                    yield MapSelection(spec.name, name, selector, available[name])
                item_keys = _written_keys(selector) if isinstance(selector, Mapping) else None
                yield from _scan(spec, state[processor], item_keys)


@cache
def _invocations() -> tuple[TaskInvocation | MapSelection, ...]:
    found: list[TaskInvocation | MapSelection] = []
    for spec in CATALOG.state_machines:
        found.extend(_scan(spec, json.loads(spec.definition()), EXECUTION_INPUT_KEYS))
    return tuple(found)


def task_invocations() -> list[TaskInvocation]:
    return [found for found in _invocations() if isinstance(found, TaskInvocation)]


def map_selections() -> list[MapSelection]:
    return [found for found in _invocations() if isinstance(found, MapSelection)]


# ---------------------------------------------------------------------------------------------------------------
# Reading the handlers
# ---------------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def handler_modules() -> Iterator[dict[str, ModuleType]]:
    """The handler module of each invoked function, imported as Lambda would, its environment filled with stand-ins
    (settings are read at import; nothing here calls AWS)."""
    names = sorted({invocation.function for invocation in task_invocations()})
    with pytest.MonkeyPatch.context() as env:
        env.setenv("AWS_DEFAULT_REGION", "us-east-1")
        modules = {}
        for name in names:
            function = CATALOG.function(name)
            for variable, value in function.environment.items():
                env.setenv(variable, value if isinstance(value, str) else f"contract-{variable.lower()}")
            modules[name] = load_handler_module(function)
        yield modules


def _input_model(modules: Mapping[str, ModuleType], function: str) -> type[BaseModel]:
    model = getattr(modules[function], "INPUT_MODEL", None)
    assert isinstance(model, type) and issubclass(model, BaseModel), (
        f"functions/{function}/app.py has no INPUT_MODEL (a pydantic model of the payload its Tasks pass)"
    )
    return model


# ---------------------------------------------------------------------------------------------------------------
# The tests
# ---------------------------------------------------------------------------------------------------------------


def test_the_workflows_invoke_handlers_through_tasks() -> None:
    # Given the catalog's state machines, When reading their Tasks, Then each workflow invokes handlers
    assert {invocation.workflow for invocation in task_invocations()} == {
        spec.name for spec in CATALOG.state_machines
    }


@pytest.mark.parametrize(
    "function",
    sorted({invocation.function for invocation in task_invocations()}),
)
def test_every_handler_a_task_invokes_validates_its_event_with_an_input_model(
    handler_modules: dict[str, ModuleType], function: str
) -> None:
    # Given a catalog function that a Task of some workflow invokes
    module = handler_modules[function]
    # When looking up its input model and reading its handler
    model = _input_model(handler_modules, function)
    source = inspect.getsource(inspect.unwrap(module.handler))
    # Then the handler validates the event with that model before using it
    assert re.search(rf"\b(INPUT_MODEL|{model.__name__})\.(model_validate|from_event)\(event\)", source), (
        f"functions/{function}/app.py: the handler does not validate its event with INPUT_MODEL ({model.__name__})"
    )


@pytest.mark.parametrize("invocation", task_invocations(), ids=str)
def test_every_task_payload_matches_its_handlers_input_model(
    handler_modules: dict[str, ModuleType], invocation: TaskInvocation
) -> None:
    # Given a Task state and the input model of the handler it invokes
    model = _input_model(handler_modules, invocation.function)
    assert "$" not in invocation.payload, f"{invocation}: passes its whole state; pass named keys instead"
    # When comparing the keys of its Payload with the model's fields
    supplied = {_key(name) for name in invocation.payload}
    fields = {field.alias or name for name, field in model.model_fields.items()}
    required = {field.alias or name for name, field in model.model_fields.items() if field.is_required()}
    # Then every required field is supplied
    missing = sorted(required - supplied)
    assert not missing, (
        f"{invocation}: the Payload lacks required field(s) {missing} of {model.__name__} "
        f"(workflow {invocation.workflow}, state {invocation.state!r}, handler {invocation.function})"
    )
    # and every key it supplies is a field (no input model accepts extra keys)
    unknown = sorted(supplied - fields)
    assert not unknown, (
        f"{invocation}: the Payload passes key(s) {unknown} that {model.__name__} has no field for "
        f"(workflow {invocation.workflow}, state {invocation.state!r}, handler {invocation.function})"
    )


@pytest.mark.parametrize("invocation", task_invocations(), ids=str)
def test_every_path_a_task_payload_reads_is_in_the_state_on_every_way_there(
    invocation: TaskInvocation,
) -> None:
    # Given a Task state and the keys its input holds on every path to it
    if invocation.available is None:
        pytest.skip(
            f"{invocation}: a state before it replaces the whole input; its keys are not determined here"
        )
    # When reading the root key of each JSONPath of its Payload
    absent = {
        f"{_key(name)} <- $.{root}"
        for name, value in invocation.payload.items()
        for root in _path_roots(value)
        if root not in invocation.available
    }
    # Then every root is there
    assert not absent, (
        f"{invocation}: Payload field(s) read keys no earlier state put in the state on every path: "
        f"{sorted(absent)} (has {sorted(invocation.available)})"
    )


@pytest.mark.parametrize("selection", map_selections(), ids=lambda s: f"{s.workflow} / {s.state!r}")
def test_every_path_a_map_item_selector_reads_is_in_the_state(selection: MapSelection) -> None:
    # Given a Map state's ItemSelector (each iteration's input) and the keys the Map's input holds
    assert selection.available is not None
    # When reading the root key of each JSONPath of the selector
    absent = sorted(
        f"{_key(name)} <- $.{root}"
        for name, value in selection.selector.items()
        for root in _path_roots(value)
        if root not in selection.available
    )
    # Then every root is there
    assert not absent, (
        f"{selection.workflow} / {selection.state!r}: ItemSelector reads absent key(s) {absent}"
    )


def test_the_path_check_sees_a_key_set_on_one_branch_only() -> None:
    # Given a workflow where one branch of a Choice sets $.approval and the other does not, then both meet
    machine = {
        "StartAt": "Route",
        "States": {
            "Route": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.x", "IsPresent": True, "Next": "Plan"}],
                "Default": "Ask",
            },
            "Plan": {
                "Type": "Task",
                "Resource": "r",
                "ResultPath": "$.approval",
                "Next": "Ask",
                "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Blocked"}],
            },
            "Ask": {"Type": "Task", "Resource": "r", "ResultPath": "$.decision", "End": True},
            "Blocked": {"Type": "Task", "Resource": "r", "ResultPath": "$.outcome", "End": True},
        },
    }
    # When computing the keys each state's input holds on every path to it
    available = _available_keys(machine, EXECUTION_INPUT_KEYS)
    # Then the state both branches reach lacks $.approval, and the Catch target has $.error
    assert available["Ask"] == EXECUTION_INPUT_KEYS
    assert available["Blocked"] == EXECUTION_INPUT_KEYS | {"error"}
