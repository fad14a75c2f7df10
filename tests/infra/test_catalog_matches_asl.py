"""The catalog and what is built from it agree: ASL placeholders, and one resource per catalog entry."""

from __future__ import annotations

import re

import pytest
from synthesized_stack import Synthesized

from infra.catalog import CATALOG, StateMachine

pytestmark = pytest.mark.slow

_PLACEHOLDER = re.compile(r"\$\{([^}]+)\}")


@pytest.mark.parametrize("spec", CATALOG.state_machines, ids=lambda machine: machine.name)
def test_asl_placeholders_are_exactly_the_catalog_substitutions(spec: StateMachine) -> None:
    # Given a state machine's definition (its ASL file with the named policies expanded) and its catalog entry
    asl = spec.definition()

    # When collecting the ${...} placeholders the file uses
    placeholders = set(_PLACEHOLDER.findall(asl))

    # Then the catalog resolves each one and declares nothing the file does not use
    assert placeholders == set(spec.substitutions)


@pytest.mark.parametrize(
    ("resource_type", "names"),
    [
        ("AWS::Lambda::Function", [function.name for function in CATALOG.functions]),
        ("AWS::StepFunctions::StateMachine", [machine.name for machine in CATALOG.state_machines]),
        ("AWS::DynamoDB::Table", [table.name for table in CATALOG.tables]),
        ("AWS::S3::Bucket", list(CATALOG.buckets)),
        ("AWS::SNS::Topic", list(CATALOG.topics)),
        ("AWS::SQS::Queue", list(CATALOG.queues)),
        ("AWS::IAM::Role", [role.name for role in CATALOG.service_roles]),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_every_catalog_entry_is_in_the_template(
    synthesized: Synthesized, resource_type: str, names: list[str]
) -> None:
    # Given the catalog entries of one kind
    # When looking each one up in the synthesized template by its catalog tag
    # Then each is there exactly once
    for name in names:
        synthesized.catalog_entry(resource_type, name)


@pytest.mark.parametrize("rule", CATALOG.rules, ids=lambda rule: rule.name)
def test_every_catalog_rule_is_in_the_template(synthesized: Synthesized, rule: object) -> None:
    # Given a catalog rule
    # When looking for a rule with its description and pattern
    found = [
        props
        for props in (r["Properties"] for r in synthesized.of_type("AWS::Events::Rule").values())
        if props.get("Description") == rule.description and props["EventPattern"] == dict(rule.pattern)  # type: ignore[attr-defined]
    ]

    # Then there is exactly one
    assert len(found) == 1


@pytest.mark.parametrize("schedule", CATALOG.schedules, ids=lambda schedule: schedule.name)
def test_every_catalog_schedule_is_in_the_template(synthesized: Synthesized, schedule: object) -> None:
    # Given a catalog schedule
    # When looking for a schedule with its expression and description
    found = [
        props
        for props in (s["Properties"] for s in synthesized.of_type("AWS::Scheduler::Schedule").values())
        if props["ScheduleExpression"] == CATALOG.schedule_expression(schedule)  # type: ignore[arg-type]
        and props["Description"] == (schedule.description or schedule.name)  # type: ignore[attr-defined]
    ]

    # Then there is exactly one
    assert len(found) == 1


def test_every_catalog_api_route_is_in_the_template(synthesized: Synthesized) -> None:
    # Given the catalog's routes
    expected = {(route.method, route.path) for route in CATALOG.api_routes}

    # When collecting the API methods of the template with their full paths
    resources = synthesized.resources
    found = set()
    for method in synthesized.of_type("AWS::ApiGateway::Method").values():
        parts: list[str] = []
        reference = method["Properties"]["ResourceId"]
        while "Ref" in reference:
            parts.insert(0, resources[reference["Ref"]]["Properties"]["PathPart"])
            reference = resources[reference["Ref"]]["Properties"]["ParentId"]
        found.add((method["Properties"]["HttpMethod"], "/" + "/".join(parts)))

    # Then they are the same set
    assert found == expected
