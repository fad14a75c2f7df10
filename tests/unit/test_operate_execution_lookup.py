"""One execution looked up by name (Operations.execution, backoffice/operate/deployment.py): the same view the
listing of every execution gives (``executions()``, the earliest started of that name), read by DescribeExecution of
the ARN the name has in each state machine, and once found by its remembered ARN alone.

moto runs the state machines in-process (its engine, as the local runtime does): a Pass ends SUCCEEDED, a Fail ends
FAILED with its error, a long Wait stays RUNNING in its state, a stopped one is ABORTED.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import replace
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from moto import mock_aws

from backoffice.operate.deployment import ExecutionView, Operations
from infra.catalog import Ref

ROLE = "arn:aws:iam::123456789012:role/workflows"
ENDS = {"StartAt": "Record", "States": {"Record": {"Type": "Pass", "End": True}}}
FAILS = {
    "StartAt": "Refuse",
    "States": {"Refuse": {"Type": "Fail", "Error": "Vendor.Refused", "Cause": "no W-9"}},
}
WAITS = {
    "StartAt": "Ask approver",
    "States": {"Ask approver": {"Type": "Wait", "Seconds": 86400, "End": True}},
}


class Machines(Operations):
    """Operations over state machines named by workflow, read through one client that counts its calls."""

    def __init__(self, sfn: Any, arns: dict[str, str]) -> None:
        self.catalog = SimpleNamespace(state_machines=[SimpleNamespace(name=name) for name in arns])  # type: ignore[assignment]
        self.arns = arns
        self.sfn = sfn
        self.calls: list[str] = []

    def resolve(self, ref: Ref) -> str:
        return self.arns[ref.name]

    def client(self, service: str, config: Any = None) -> Any:
        ops = self

        class Counting:
            def __getattribute__(self, operation: str) -> Any:
                ops.calls.append(operation)
                return getattr(ops.sfn, operation)

        return Counting()


@pytest.fixture
def sfn() -> Iterator[Any]:
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        client = boto3.client("stepfunctions", region_name="us-east-1")
        yield client
        stop_all(client)


def stop_all(sfn: Any) -> None:
    """Stop the executions still running, so no engine thread waits on after the test."""
    for machine in sfn.list_state_machines()["stateMachines"]:
        running = sfn.list_executions(stateMachineArn=machine["stateMachineArn"], statusFilter="RUNNING")
        for execution in running["executions"]:
            sfn.stop_execution(executionArn=execution["executionArn"])


def machines(sfn: Any, **definitions: dict[str, Any]) -> Machines:
    arns = {
        workflow: sfn.create_state_machine(name=f"{workflow}-wf", definition=json.dumps(d), roleArn=ROLE)[
            "stateMachineArn"
        ]
        for workflow, d in definitions.items()
    }
    return Machines(sfn, arns)


def start(ops: Machines, workflow: str, name: str) -> str:
    arn: str = ops.sfn.start_execution(stateMachineArn=ops.arns[workflow], name=name, input="{}")[
        "executionArn"
    ]
    return arn


def settled(ops: Machines, *arns: str) -> None:
    """Wait until each execution has ended or entered its Wait state."""
    for arn in arns:
        for _ in range(500):
            if ops.sfn.describe_execution(executionArn=arn)["status"] != "RUNNING":
                break
            events = ops.sfn.get_execution_history(executionArn=arn)["events"]
            if any(e["type"] == "WaitStateEntered" for e in events):
                break
            time.sleep(0.01)


def listed(ops: Machines, name: str) -> ExecutionView | None:
    """What the lookup answered before: the earliest started of the name among every execution listed."""
    return min((v for v in ops.executions() if v.name == name), key=lambda v: v.started, default=None)


def test_each_execution_of_a_case_is_the_one_the_listing_gives_in_each_status(sfn: Any) -> None:
    # Given a case waiting for a person, its correction failed, a resume of it ended and a stopped one, in several
    # workflows
    ops = machines(sfn, vendor=WAITS, onboarding=FAILS, invoicing=ENDS)
    arns = [
        start(ops, "vendor", "vendor-100"),
        start(ops, "onboarding", "vendor-100-s1a2b3c4d"),
        start(ops, "invoicing", "vendor-100-r1"),
        start(ops, "vendor", "vendor-101"),
    ]
    settled(ops, *arns)
    sfn.stop_execution(executionArn=arns[3])
    # When each is looked up by name, with and without its state
    for name in ("vendor-100", "vendor-100-s1a2b3c4d", "vendor-100-r1", "vendor-101"):
        expected = listed(ops, name)
        assert expected is not None
        # Then the view is the listing's: status, start, stop, current state, error
        assert ops.execution(name) == expected
        assert ops.execution(name, with_state=False) == replace(expected, current_state=None)
    views = {name: ops.execution(name) for name in ("vendor-100", "vendor-100-s1a2b3c4d", "vendor-100-r1")}
    assert [(v.status, v.current_state, v.error) for v in views.values() if v] == [
        ("RUNNING", "Ask approver", None),
        ("FAILED", None, "Vendor.Refused"),
        ("SUCCEEDED", None, None),
    ]
    assert ops.execution("vendor-101").status == "ABORTED"  # type: ignore[union-attr]


def test_a_name_in_two_workflows_is_the_earliest_started_whichever_workflow_comes_first(sfn: Any) -> None:
    # Given the same name started in the third workflow, then in the first
    ops = machines(sfn, first=WAITS, second=ENDS, third=WAITS)
    earlier = start(ops, "third", "case-7")
    later = start(ops, "first", "case-7")
    settled(ops, earlier, later)
    # When it is looked up
    found = ops.execution("case-7")
    # Then it is the earlier one, as the listing says
    assert found == listed(ops, "case-7")
    assert found is not None and (found.workflow, found.arn) == ("third", earlier)


def test_a_missing_name_is_none(sfn: Any) -> None:
    # Given executions of other names, one of which begins with the name looked up
    ops = machines(sfn, vendor=ENDS, invoicing=WAITS)
    settled(ops, start(ops, "vendor", "vendor-5-r1"), start(ops, "invoicing", "billing-5"))
    # When names no execution has are looked up (one not even a valid execution name)
    # Then there is none, as in the listing
    for name in ("vendor-5", "vendor-5-r", "no such name", ""):
        assert ops.execution(name) is None
        assert listed(ops, name) is None


def test_a_found_execution_is_read_again_by_its_arn_alone_until_it_is_gone(sfn: Any) -> None:
    # Given an execution found once among three workflows
    ops = machines(sfn, vendor=ENDS, onboarding=ENDS, invoicing=WAITS)
    settled(ops, start(ops, "invoicing", "billing-9"))
    first = ops.execution("billing-9", with_state=False)
    # When it is looked up again
    ops.calls.clear()
    again = ops.execution("billing-9", with_state=False)
    # Then only its own ARN is described, and the view is the same
    assert again == first
    assert ops.calls == ["describe_execution"]

    # Given the state machines made anew (a restored runtime: its executions gone), the name started in the vendor
    # workflow, then again in the invoicing one, under the ARN found before
    stop_all(sfn)
    for workflow, definition in (("vendor", WAITS), ("onboarding", ENDS), ("invoicing", WAITS)):
        sfn.delete_state_machine(stateMachineArn=ops.arns[workflow])
        assert machines(sfn, **{workflow: definition}).arns[workflow] == ops.arns[workflow]
    vendor = start(ops, "vendor", "billing-9")
    settled(ops, vendor, start(ops, "invoicing", "billing-9"))
    # When it is looked up
    found = ops.execution("billing-9")
    # Then it is the earliest started again, as the listing says, not the ARN remembered
    assert found == listed(ops, "billing-9")
    assert found is not None and (found.workflow, found.arn) == ("vendor", vendor)
