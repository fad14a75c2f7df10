"""The ASL a state machine runs: its file with the named Retry and Catch policies expanded.

An ASL file under ``statemachines/`` does not paste Retry and Catch blocks; it names a policy of
``statemachines/policies.json``:

- ``"Retry": "connector_call"``: a Retry policy by name (a list of named retriers).
- ``"Catch": [{"policy": "technical_fault", "next": "Record failure"}]``: a Catch policy by name, with the values
  of its parameters (the state to go to, a ResultPath), since Catch targets differ per state. It is written as a
  list of one reference so that the file keeps ASL's shape (Catch is a list of catchers) for tools that walk it.

``render_definition`` is the one code path from a file to the definition: the CDK stack deploys its result and the
local runtime registers it, so both run the same ASL. The ``${...}`` placeholders are left for
DefinitionSubstitutions (CloudFormation's, or ``backoffice.local.runtime.substitute``). The catalog and the local
runtime import this module, so it imports nothing from CDK or boto3.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from infra.catalog import StateMachine

POLICIES_PATH = Path(__file__).resolve().parent.parent / "statemachines" / "policies.json"


class PolicyError(ValueError):
    """An ASL file references a policy that does not exist, or a policy reference is malformed."""


@dataclass(frozen=True)
class CatchPolicy:
    parameters: tuple[str, ...]
    catchers: tuple[Mapping[str, Any], ...]


@dataclass(frozen=True)
class Policies:
    """The named policies of ``policies.json``, each Retry policy already expanded to its retriers."""

    retriers: Mapping[str, Mapping[str, Any]]
    retry: Mapping[str, tuple[str, ...]]
    catch: Mapping[str, CatchPolicy]

    def retry_block(self, name: str) -> list[dict[str, Any]]:
        if name not in self.retry:
            raise PolicyError(f"no Retry policy named {name!r} in {POLICIES_PATH.name}")
        return [_without_comment(self.retriers[retrier]) for retrier in self.retry[name]]

    def catch_block(self, reference: Mapping[str, Any]) -> list[dict[str, Any]]:
        name = reference.get("policy")
        if not isinstance(name, str) or name not in self.catch:
            raise PolicyError(f"no Catch policy named {name!r} in {POLICIES_PATH.name}")
        policy = self.catch[name]
        arguments = {key: value for key, value in reference.items() if key != "policy"}
        if set(arguments) != set(policy.parameters):
            raise PolicyError(
                f"Catch policy {name!r} takes {sorted(policy.parameters)}, the reference gives {sorted(arguments)}"
            )
        return [
            {field: _argument(value, arguments) for field, value in catcher.items()}
            for catcher in policy.catchers
        ]


def load_policies(path: Path = POLICIES_PATH) -> Policies:
    document = json.loads(path.read_text())
    retriers = dict(document["Retriers"])
    retry = {name: tuple(policy["Retriers"]) for name, policy in document["Retry"].items()}
    for name, names in retry.items():
        unknown = [retrier for retrier in names if retrier not in retriers]
        if unknown:
            raise PolicyError(f"Retry policy {name!r} names unknown retriers {unknown}")
    catch = {
        name: CatchPolicy(tuple(policy.get("Parameters", ())), tuple(policy["Catchers"]))
        for name, policy in document["Catch"].items()
    }
    return Policies(retriers=retriers, retry=retry, catch=catch)


def render(source: Mapping[str, Any], policies: Policies) -> dict[str, Any]:
    """A copy of ``source`` (an ASL document or a branch of one) with every policy reference expanded."""
    rendered = dict(source)
    rendered["States"] = {name: _render_state(state, policies) for name, state in source["States"].items()}
    return rendered


def render_definition(spec: StateMachine, policies: Policies | None = None) -> str:
    """The definition of ``spec`` as deployed: JSON text with the policies expanded and ``${...}`` left as is."""
    source = json.loads(spec.definition_path.read_text())
    return json.dumps(render(source, policies or load_policies()), indent=2, ensure_ascii=False) + "\n"


def references(source: Mapping[str, Any]) -> Iterator[tuple[str, str, Any]]:
    """``(state name, "Retry" or "Catch", the reference as written)`` for every state of ``source``, nested too."""
    for name, state in source["States"].items():
        for field in ("Retry", "Catch"):
            if field in state:
                yield name, field, state[field]
        for branch in _branches(state):
            yield from references(branch)


def _render_state(state: Mapping[str, Any], policies: Policies) -> dict[str, Any]:
    rendered = dict(state)
    if "Retry" in state:
        if not isinstance(state["Retry"], str):
            raise PolicyError(f"Retry must name a policy of {POLICIES_PATH.name}, not be written out")
        rendered["Retry"] = policies.retry_block(state["Retry"])
    if "Catch" in state:
        rendered["Catch"] = policies.catch_block(_catch_reference(state["Catch"]))
    if "Branches" in state:
        rendered["Branches"] = [render(branch, policies) for branch in state["Branches"]]
    for processor in ("ItemProcessor", "Iterator"):
        if processor in state:
            rendered[processor] = render(state[processor], policies)
    return rendered


def _catch_reference(catch: Any) -> Mapping[str, Any]:
    """The one reference a source Catch holds: ``[{"policy": <name>, <parameter>: ...}]``."""
    if not (
        isinstance(catch, list) and len(catch) == 1 and isinstance(catch[0], Mapping) and "policy" in catch[0]
    ):
        raise PolicyError(
            f'Catch must be [{{"policy": <name>, <parameter>: ...}}], not be written out: {catch!r}'
        )
    return catch[0]


def _branches(state: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [
        *state.get("Branches", ()),
        *(state[key] for key in ("ItemProcessor", "Iterator") if key in state),
    ]


def _argument(value: Any, arguments: Mapping[str, Any]) -> Any:
    if isinstance(value, Mapping) and set(value) == {"param"}:
        return arguments[value["param"]]
    return value


def _without_comment(retrier: Mapping[str, Any]) -> dict[str, Any]:
    # The comment says why the retrier is shaped so; it stays in policies.json, out of the deployed definition.
    return {key: value for key, value in retrier.items() if key != "Comment"}
