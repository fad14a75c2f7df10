"""The invoicing state machine's role holds what its Distributed Map does in AWS, and nothing wider.

Read from the synthesized template the way the local runtime's IAM reads it (backoffice/local/iam.py), so the
grants checked here are the ones local runs are authorized against: the ItemReader's and ResultWriter's S3 calls
are made as the state machine locally too (backoffice/local/distributed_map.py).
"""

from __future__ import annotations

from typing import Any

import pytest

from backoffice.local.iam import LocalArns, SynthesizedIam
from backoffice.local.iam_policy import Decision, Request, evaluate
from backoffice.local.runtime import ACCOUNT, PREFIX, REGION, local_names
from infra.catalog import CATALOG, Ref

MACHINE = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{PREFIX}-invoicing"
BUCKET = local_names(CATALOG)[Ref("bucket_name", "documents")]
RUN = "billing-2026-10-01-2026-10-31"


@pytest.fixture(scope="module")
def invoicing_role(stack_template: dict[str, Any]) -> Any:
    arns = LocalArns(REGION, ACCOUNT, local_names(CATALOG), PREFIX)
    return SynthesizedIam.from_template(stack_template, CATALOG, arns).policies[
        ("state_machine", "invoicing")
    ]


@pytest.mark.parametrize(
    ("action", "resource", "allowed"),
    [
        # The map run starts, describes and stops its children: executions of this state machine only
        ("states:StartExecution", MACHINE, True),
        (
            "states:DescribeExecution",
            f"{MACHINE.replace(':stateMachine:', ':execution:')}/projects:0b5e",
            True,
        ),
        ("states:StopExecution", f"{MACHINE.replace(':stateMachine:', ':execution:')}/projects:0b5e", True),
        ("states:StartExecution", MACHINE.replace("invoicing", "onboarding"), False),
        # ItemReader: the run's project list, no other file of the run
        ("s3:GetObject", f"arn:aws:s3:::{BUCKET}/billing/{RUN}/projects.json", True),
        ("s3:GetObject", f"arn:aws:s3:::{BUCKET}/billing/{RUN}/period.json", False),
        # ResultWriter: under the run's results folder only
        ("s3:PutObject", f"arn:aws:s3:::{BUCKET}/billing/{RUN}/results/0b5e/SUCCEEDED_0.json", True),
        ("s3:PutObject", f"arn:aws:s3:::{BUCKET}/billing/{RUN}/projects.json", False),
        ("s3:PutObject", f"arn:aws:s3:::{BUCKET}/cases/c-1/vendor/w9.pdf", False),
    ],
)
def test_the_map_run_may_do_what_a_distributed_map_does(
    invoicing_role: Any, action: str, resource: str, allowed: bool
) -> None:
    assert (evaluate(invoicing_role, Request(action, resource)) is Decision.ALLOWED) is allowed


def test_the_other_workflows_have_no_map_run_grants(stack_template: dict[str, Any]) -> None:
    arns = LocalArns(REGION, ACCOUNT, local_names(CATALOG), PREFIX)
    policies = SynthesizedIam.from_template(stack_template, CATALOG, arns).policies
    onboarding = MACHINE.replace("invoicing", "onboarding")
    assert evaluate(
        policies[("state_machine", "onboarding")], Request("states:StartExecution", onboarding)
    ) is (Decision.IMPLICIT_DENY)
