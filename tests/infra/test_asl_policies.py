"""Retry and Catch policies are named once (statemachines/policies.json) and every Task of every workflow has both.

The ASL files name policies; ``infra.asl.render_definition`` expands them into the one definition that the CDK
stack deploys and the local runtime runs.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from synthesized_stack import Synthesized

from infra.asl import PolicyError, load_policies, references, render
from infra.catalog import CATALOG, StateMachine

# The steps that create a record in a firm's system: their handlers are @idempotent_on (backoffice/idempotency.py).
IDEMPOTENT_FUNCTIONS = {"match_customer", "create_project", "request_staffing", "create_vendor_on_hold"}
IN_PROGRESS = "IdempotencyAlreadyInProgressError"


def _source(spec: StateMachine) -> dict[str, Any]:
    source: dict[str, Any] = json.loads(spec.definition_path.read_text())
    return source


def _states(definition: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any], Mapping[str, Any]]]:
    """``(name, state, the States it is one of)`` for every state, those of Map items and Parallel branches too."""
    for name, state in definition["States"].items():
        yield name, state, definition["States"]
        for branch in [
            *state.get("Branches", ()),
            *(state[k] for k in ("ItemProcessor", "Iterator") if k in state),
        ]:
            yield from _states(branch)


@pytest.mark.parametrize("spec", CATALOG.state_machines, ids=lambda machine: machine.name)
def test_every_task_retries_and_catches(spec: StateMachine) -> None:
    # Given a workflow's definition as deployed
    definition = json.loads(spec.definition())

    # When looking at each of its Task states
    tasks = [(name, state, scope) for name, state, scope in _states(definition) if state["Type"] == "Task"]

    # Then each one retries something and catches what is left, to a state of its own scope
    assert tasks
    for name, state, scope in tasks:
        assert isinstance(state.get("Retry"), list) and state["Retry"], f"{spec.name}: {name!r} has no Retry"
        assert isinstance(state.get("Catch"), list) and state["Catch"], f"{spec.name}: {name!r} has no Catch"
        assert all(retrier["ErrorEquals"] and retrier["MaxAttempts"] >= 1 for retrier in state["Retry"])
        assert all(catcher["Next"] in scope for catcher in state["Catch"]), f"{spec.name}: {name!r}"
        # And what is left after the retries is caught: the last catcher takes every error
        assert state["Catch"][-1]["ErrorEquals"] == ["States.ALL"], f"{spec.name}: {name!r}"


@pytest.mark.parametrize("spec", CATALOG.state_machines, ids=lambda machine: machine.name)
def test_asl_files_name_policies_instead_of_pasting_them(spec: StateMachine) -> None:
    # Given a workflow's ASL file as written
    text = spec.definition_path.read_text()

    # When collecting its Retry and Catch fields
    found = list(references(json.loads(text)))

    # Then each Retry is a policy's name and each Catch a policy's name with its parameters, nothing written out
    assert found
    for state, field, reference in found:
        if field == "Retry":
            assert isinstance(reference, str), f"{spec.name}: {state!r} pastes a Retry block"
        else:
            assert (
                isinstance(reference, list)
                and len(reference) == 1
                and isinstance(reference[0].get("policy"), str)
            ), f"{spec.name}: {state!r} pastes a Catch block"
    assert "ErrorEquals" not in text


def test_every_referenced_policy_exists_and_every_defined_one_is_used() -> None:
    # Given the policies and every workflow's ASL file
    policies = load_policies()
    sources = {spec.name: _source(spec) for spec in CATALOG.state_machines}

    # When expanding every file and collecting the policies they name
    for source in sources.values():
        render(source, policies)  # raises PolicyError on an unknown policy or a missing parameter
    found = [(field, ref) for source in sources.values() for _, field, ref in references(source)]
    retry_used = {ref for field, ref in found if field == "Retry"}
    catch_used = {ref[0]["policy"] for field, ref in found if field == "Catch"}

    # Then the files name exactly the policies defined, and every named retrier is part of a Retry policy
    assert retry_used == set(policies.retry)
    assert catch_used == set(policies.catch)
    assert {retrier for names in policies.retry.values() for retrier in names} == set(policies.retriers)


def test_a_reference_to_nothing_or_a_pasted_block_is_refused() -> None:
    # Given the policies
    policies = load_policies()

    def one_task(**fields: Any) -> dict[str, Any]:
        return {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "r", "End": True, **fields}}}

    # When expanding a state naming an unknown policy, missing a Catch parameter, or pasting a Retry block
    # Then the expansion is refused, so that neither CDK nor the local runtime gets a half-expanded definition
    with pytest.raises(PolicyError, match="no Retry policy"):
        render(one_task(Retry="retry_forever"), policies)
    with pytest.raises(PolicyError, match="no Catch policy"):
        render(one_task(Catch=[{"policy": "ignore_everything", "next": "T"}]), policies)
    with pytest.raises(PolicyError, match="takes"):
        render(one_task(Catch=[{"policy": "callback_timeout", "next": "T"}]), policies)
    with pytest.raises(PolicyError, match="not be written out"):
        render(one_task(Retry=[{"ErrorEquals": ["States.ALL"]}]), policies)
    with pytest.raises(PolicyError, match="not be written out"):
        render(one_task(Catch=[{"ErrorEquals": ["States.ALL"], "Next": "T"}]), policies)


@pytest.mark.slow
@pytest.mark.parametrize("spec", CATALOG.state_machines, ids=lambda machine: machine.name)
def test_the_stack_deploys_the_rendered_definition(synthesized: Synthesized, spec: StateMachine) -> None:
    # Given a workflow's definition as rendered (what the local runtime registers)
    rendered = spec.definition()

    # When reading its state machine's definition in the synthesized template
    _, machine = synthesized.catalog_entry("AWS::StepFunctions::StateMachine", spec.name)
    deployed = machine["Properties"]["DefinitionString"]

    # Then it is valid JSON and the very same text, ${...} placeholders included (CloudFormation fills them)
    assert json.loads(rendered)
    assert deployed == rendered


@pytest.mark.parametrize("spec", CATALOG.state_machines, ids=lambda machine: machine.name)
def test_idempotent_steps_retry_a_copy_that_races_the_first_attempt(spec: StateMachine) -> None:
    # Given the functions whose handlers are idempotent, and a workflow's definition
    idempotent = {
        f.name for f in CATALOG.functions if "@idempotent_on(" in (f.code_dir / "app.py").read_text()
    }
    assert idempotent == IDEMPOTENT_FUNCTIONS
    placeholders = {
        f"${{{key}}}"
        for key, ref in spec.substitutions.items()
        if ref.kind == "function_arn" and ref.name in idempotent
    }
    definition = json.loads(spec.definition())

    # When looking at the Tasks invoking them
    for name, state, _ in _states(definition):
        if state["Type"] != "Task":
            continue
        retried = {error for retrier in state["Retry"] for error in retrier["ErrorEquals"]}
        invokes_idempotent = state.get("Parameters", {}).get("FunctionName") in placeholders

        # Then exactly those retry IdempotencyAlreadyInProgressError (Powertools' advice), with the connector's
        # and the Lambda service's errors still retried
        assert (IN_PROGRESS in retried) == invokes_idempotent, f"{spec.name}: {name!r}"
        if invokes_idempotent:
            assert {"Lambda.ServiceException", "ConnectorUnavailable"} <= retried, f"{spec.name}: {name!r}"
