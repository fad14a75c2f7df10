"""The local engine runs a Distributed Map as AWS does (backoffice/local/distributed_map.py): items from S3, the
children's results written to S3 in AWS's format, and the map run failed once more children fail than tolerated.

A small state machine in moto's engine: ten items, of which the last two fail in their child execution.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from backoffice.invoicing.steps import read_project_results, summarize
from backoffice.local import distributed_map
from backoffice.local.billing_samples import billing_period_closed
from backoffice.local.iam import LocalArns, SynthesizedIam
from backoffice.local.runtime import ACCOUNT, MOTO_CONFIG, PREFIX, REGION, LocalRuntime, local_names
from backoffice.local.template import synthesized_template
from infra.catalog import CATALOG

BUCKET = "map-runs"
ITEMS = [{"project_id": f"P-{n:02d}", "n": n} for n in range(10)]  # n >= 8: the child fails

DEFINITION = {
    "StartAt": "Each project",
    "States": {
        "Each project": {
            "Type": "Map",
            "ItemReader": {
                "Resource": "arn:aws:states:::s3:getObject",
                "ReaderConfig": {"InputType": "JSON"},
                "Parameters": {"Bucket": BUCKET, "Key.$": "$.items_key"},
            },
            "MaxConcurrency": 3,
            "ToleratedFailurePercentagePath": "$.tolerated",
            "Label": "projects",
            "ItemSelector": {"project_id.$": "$$.Map.Item.Value.project_id", "n.$": "$$.Map.Item.Value.n"},
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                "StartAt": "Broken?",
                "States": {
                    "Broken?": {
                        "Type": "Choice",
                        "Choices": [{"Variable": "$.n", "NumericGreaterThanEquals": 8, "Next": "Break"}],
                        "Default": "Posted",
                    },
                    "Break": {"Type": "Fail", "Error": "ProjectBroken", "Cause": "a fault no step caught"},
                    "Posted": {
                        "Type": "Pass",
                        "Parameters": {
                            "project_id.$": "$.project_id",
                            "outcome": "Invoice Posted",
                            "amount": "10.00",
                            "currency": "USD",
                            "exceptions_by_rule": {},
                            "reasons": [],
                        },
                        "End": True,
                    },
                },
            },
            "ResultWriter": {
                "Resource": "arn:aws:states:::s3:putObject",
                "Parameters": {"Bucket": BUCKET, "Prefix.$": "$.results_prefix"},
            },
            "ResultPath": "$.results",
            "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Map run failed"}],
            "End": True,
        },
        "Map run failed": {"Type": "Pass", "End": True},
    },
}


@pytest.fixture
def engine() -> Iterator[tuple[Any, Any, str]]:
    with mock_aws(config=MOTO_CONFIG):
        distributed_map.install()
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET)
        s3.put_object(Bucket=BUCKET, Key="run/projects.json", Body=json.dumps(ITEMS).encode())
        sfn = boto3.client("stepfunctions", region_name=REGION)
        arn = sfn.create_state_machine(
            name="map-run",
            definition=json.dumps(DEFINITION),
            roleArn="arn:aws:iam::123456789012:role/map-run",
        )["stateMachineArn"]
        yield s3, sfn, arn


def run_with_tolerance(sfn: Any, arn: str, tolerated: float) -> dict[str, Any]:
    started = sfn.start_execution(
        stateMachineArn=arn,
        name=f"tolerating-{int(tolerated)}",
        input=json.dumps(
            {"items_key": "run/projects.json", "results_prefix": "run/results", "tolerated": tolerated}
        ),
    )
    for _ in range(500):
        described: dict[str, Any] = sfn.describe_execution(executionArn=started["executionArn"])
        if described["status"] != "RUNNING":
            return described
        time.sleep(0.02)
    raise AssertionError("the map run did not end")


def test_results_are_written_per_status_and_a_failed_child_is_a_technical_fault(engine: Any) -> None:
    s3, sfn, arn = engine
    # Given ten projects, two of whose children fail, and 30 % of failures tolerated
    described = run_with_tolerance(sfn, arn, 30.0)
    # Then the map run succeeds; its output says where the manifest is, under the Map input's prefix
    assert described["status"] == "SUCCEEDED"
    written = json.loads(described["output"])["results"]
    assert written["ResultWriterDetails"]["Key"].startswith("run/results/")
    manifest = json.loads(s3.get_object(**written["ResultWriterDetails"])["Body"].read())
    assert set(manifest["ResultFiles"]) == {"SUCCEEDED", "FAILED", "PENDING"}
    (failed_file,) = manifest["ResultFiles"]["FAILED"]
    failed = json.loads(s3.get_object(Bucket=BUCKET, Key=failed_file["Key"])["Body"].read())
    # And each failed child is listed with its input (after the ItemSelector), error and cause, as AWS lists it
    assert [(json.loads(f["Input"])["project_id"], f["Error"], f["Status"]) for f in failed] == [
        ("P-08", "ProjectBroken", "FAILED"),
        ("P-09", "ProjectBroken", "FAILED"),
    ]
    # And the run's summary, read from those files, counts 8 posted and 2 blocked by a technical fault
    summary = summarize(read_project_results(s3, written), {})
    assert (summary["invoices_posted"], summary["invoices_blocked"], summary["technical_faults"]) == (8, 2, 2)
    assert summary["blocked"][0]["reasons"] == ["ProjectBroken: a fault no step caught"]


def test_more_failures_than_tolerated_fail_the_map_run_with_the_error_its_catch_sees(engine: Any) -> None:
    _, sfn, arn = engine
    # Given the same projects, 10 % of failures tolerated (20 % fail)
    described = run_with_tolerance(sfn, arn, 10.0)
    # Then the Map fails with States.ExceedToleratedFailureThreshold, which its Catch takes
    assert described["status"] == "SUCCEEDED"
    error = json.loads(described["output"])["error"]
    assert error["Error"] == "States.ExceedToleratedFailureThreshold"


@pytest.mark.parametrize(
    ("failed", "count", "percentage", "exceeds"),
    [
        (0, 0, 0.0, False),
        (1, 0, 0.0, True),  # nothing tolerated (AWS's default)
        (2, 0, 20.0, False),  # 20 % of 10 tolerated
        (3, 0, 20.0, True),
        (2, 2, 0.0, False),
        (3, 2, 0.0, True),
    ],
)
def test_the_tolerated_failure_threshold(failed: int, count: int, percentage: float, exceeds: bool) -> None:
    assert distributed_map.exceeds_tolerance(failed, 10, count, percentage) is exceeds


def test_without_its_map_run_grant_the_billing_run_cannot_read_its_projects_locally_either() -> None:
    # Given the invoicing state machine's role as synthesized, less its S3 grants (the map run's ItemReader and
    # ResultWriter; its Lambda invokes kept)
    logging.getLogger("moto").setLevel(logging.CRITICAL)
    arns = LocalArns(REGION, ACCOUNT, local_names(CATALOG), PREFIX)
    iam = SynthesizedIam.from_template(synthesized_template(), CATALOG, arns)
    role = ("state_machine", "invoicing")
    iam.policies[role] = [s for s in iam.policies[role] if "s3:GetObject" not in json.dumps(s.get("Action"))]
    with LocalRuntime(retry_time_scale=0.001, seed_sample_firm=False, api_port=None, iam=iam) as runtime:
        # When a period (of no project) is billed
        runtime.put_event("Billing Period Closed", billing_period_closed(), source="psa.certinia")
        runtime.wait_until_idle(timeout=120)
        (run,) = [e for e in runtime.executions() if e.workflow == "invoicing"]
        described = runtime.client("stepfunctions").describe_execution(executionArn=run.arn)
        denied = list(runtime.iam_enforcer.denied if runtime.iam_enforcer else [])
    # Then the Map's read of the project list is refused as the state machine, as AWS would, and the run fails
    assert (run.status, described["error"]) == ("FAILED", "TechnicalFault")
    assert any("s3:GetObject" in message and "projects.json" in message for message in denied), denied
