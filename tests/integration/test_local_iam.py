"""IAM on the local runtime: every handler runs under its role as synthesized, and what the role does not allow is
refused as AWS refuses it. A grant taken out of the synthesized template fails the workflow that needs it."""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from backoffice.local.iam import SynthesizedIam
from backoffice.local.runtime import LocalRuntime
from backoffice.local.samples import Deal, new_client
from backoffice.local.template import synthesized_template
from infra.catalog import CATALOG
from tests.integration.conftest import Firm, start_first


def without_grant(template: dict[str, Any], function: str, action: str) -> dict[str, Any]:
    """The template with one action taken out of one function's role policy."""
    changed = copy.deepcopy(template)
    resources = changed["Resources"]
    [role] = [
        logical_id
        for logical_id, resource in resources.items()
        if resource["Type"] == "AWS::IAM::Role"
        and {"Key": "backoffice:catalog-entry", "Value": function} in resource["Properties"].get("Tags", [])
    ]
    removed = 0
    for resource in resources.values():
        if resource["Type"] != "AWS::IAM::Policy" or {"Ref": role} not in resource["Properties"]["Roles"]:
            continue
        for statement in resource["Properties"]["PolicyDocument"]["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            if action in actions:
                statement["Action"] = [a for a in actions if a != action] or ["none:NoAction"]
                removed += 1
    assert removed, f"{function}'s role has no {action} to remove"
    return changed


@pytest.fixture
def runtime_without_audit_put() -> Iterator[LocalRuntime]:
    logging.getLogger("moto").setLevel(logging.CRITICAL)
    template = without_grant(synthesized_template(), "validate_opportunity", "dynamodb:PutItem")
    with LocalRuntime(retry_time_scale=0.001) as probe:
        iam = SynthesizedIam.from_template(template, CATALOG, probe.local_arns())
    with LocalRuntime(retry_time_scale=0.001, iam=iam) as runtime:
        yield runtime


def test_the_runtime_enforces_the_synthesized_roles_by_default(runtime: LocalRuntime) -> None:
    # Given the runtime every test uses
    # Then an enforcer is installed with a role for every catalog function and state machine
    enforcer = runtime.iam_enforcer
    assert enforcer is not None
    principals = set(enforcer.iam.policies)
    assert {("function", fn.name) for fn in CATALOG.functions} <= principals
    assert {("state_machine", sm.name) for sm in CATALOG.state_machines} <= principals
    # And a function's statements name the local resources, the audit table among them
    statements = json.dumps(enforcer.iam.policies[("function", "validate_opportunity")])
    assert "arn:aws:dynamodb:us-east-1:123456789012:table/backoffice-audit" in statements


def test_a_grant_removed_from_the_template_fails_the_case_with_access_denied(
    runtime_without_audit_put: LocalRuntime,
) -> None:
    # Given the synthesized template less validate_opportunity's PutItem on the audit table
    firm = Firm(runtime_without_audit_put)
    # When a won deal comes in
    case_id = firm.win(Deal(1, new_client(1)))
    execution = firm.finish(case_id)
    # Then the case does not go on: its validation step is refused as AWS refuses it, and nothing is validated
    assert execution.status == "FAILED"
    assert start_first([r.step for r in firm.records(case_id)], "start case") == [
        "start case",
        "publish outcome",
    ]
    denied = runtime_without_audit_put.iam_enforcer.denied if runtime_without_audit_put.iam_enforcer else []
    assert any(
        "assumed-role/backoffice-validate_opportunity-role/validate_opportunity is not authorized to perform: "
        "dynamodb:PutItem on resource: arn:aws:dynamodb:us-east-1:123456789012:table/backoffice-audit"
        in message
        for message in denied
    ), denied
    history = runtime_without_audit_put.client("stepfunctions").get_execution_history(
        executionArn=execution.arn, maxResults=1000
    )["events"]
    failures = json.dumps([e for e in history if "Failed" in e["type"]], default=str)
    assert "AccessDeniedException" in failures


def test_the_state_machine_invokes_its_functions_under_its_own_role() -> None:
    # Given the synthesized template less the onboarding state machine's lambda:InvokeFunction
    logging.getLogger("moto").setLevel(logging.CRITICAL)
    template = without_grant(synthesized_template(), "onboarding", "lambda:InvokeFunction")
    with LocalRuntime(retry_time_scale=0.001) as probe:
        iam = SynthesizedIam.from_template(template, CATALOG, probe.local_arns())
    with LocalRuntime(retry_time_scale=0.001, iam=iam) as runtime:
        firm = Firm(runtime)
        # When a won deal comes in
        case_id = firm.win(Deal(1, new_client(1)))
        execution = firm.finish(case_id)
        # Then its first task is refused: the state machine's role may not invoke the step's function
        assert execution.status == "FAILED"
        denied = runtime.iam_enforcer.denied if runtime.iam_enforcer else []
        assert any(
            "assumed-role/backoffice-onboarding/" in message
            and "lambda:InvokeFunction on resource: "
            "arn:aws:lambda:us-east-1:123456789012:function:backoffice-validate_opportunity"
            in message
            for message in denied
        ), denied
        # And no step ran: only the starter's record is on the trail
        assert start_first([r.step for r in firm.records(case_id)], "start case")[:1] == ["start case"]
        assert "validate closed-won opportunity" not in [r.step for r in firm.records(case_id)]


def test_iam_is_off_only_when_the_setting_says_so(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given BACKOFFICE_LOCAL_IAM=off
    monkeypatch.setenv("BACKOFFICE_LOCAL_IAM", "off")
    # When a runtime starts
    with LocalRuntime(retry_time_scale=0.001, seed_sample_firm=False) as runtime:
        enforcer = runtime.iam_enforcer
    # Then it enforces nothing, and says so
    assert enforcer is None
    assert "IAM is NOT enforced" in capsys.readouterr().err
