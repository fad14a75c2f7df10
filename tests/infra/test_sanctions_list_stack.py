"""CDK assertions on the sanctions list: who may write it, who may read it, and the alarms that say it is stale or
was refused."""

from __future__ import annotations

import json

import pytest
from synthesized_stack import Synthesized

from infra.catalog import CATALOG
from infra.monitoring import SANCTIONS_LIST_MAX_AGE_DAYS

pytestmark = pytest.mark.slow

BUCKET = "sanctions_lists"
REFRESH = "refresh_sanctions_list"
SCREEN = "assess_vendor"


def _actions_on_bucket(synthesized: Synthesized, function_name: str) -> set[str]:
    bucket_id, _ = synthesized.catalog_entry("AWS::S3::Bucket", BUCKET)
    return {
        action
        for s in synthesized.function_statements(function_name)
        if bucket_id in json.dumps(s["Resource"])
        for action in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
    }


def test_only_the_refresh_writes_the_list_and_the_screen_only_reads_it(synthesized: Synthesized) -> None:
    # Given the two functions that reach the sanctions-lists bucket / When collecting their actions on it
    # Then the refresh reads and writes (never deletes: every version stays), the screen reads
    assert _actions_on_bucket(synthesized, REFRESH) == {"s3:GetObject", "s3:PutObject", "s3:ListBucket"}
    assert _actions_on_bucket(synthesized, SCREEN) == {"s3:GetObject", "s3:ListBucket"}
    others = [f.name for f in CATALOG.functions if f.name not in (REFRESH, SCREEN)]
    assert [name for name in others if _actions_on_bucket(synthesized, name)] == []


def test_the_list_bucket_keeps_every_version(synthesized: Synthesized) -> None:
    _, bucket = synthesized.catalog_entry("AWS::S3::Bucket", BUCKET)
    assert bucket["Properties"]["VersioningConfiguration"] == {"Status": "Enabled"}


def test_a_stale_list_or_a_refresh_that_stopped_running_pages(synthesized: Synthesized) -> None:
    # Given the alarm on the list's age
    [stale] = [
        a["Properties"]
        for a in synthesized.of_type("AWS::CloudWatch::Alarm").values()
        if a["Properties"].get("MetricName") == "SanctionsListAgeDays"
    ]
    # Then it pages on the first daily run past 8 days, and on a day the runs do not report at all
    assert (stale["Threshold"], stale["Period"], stale["Statistic"]) == (
        SANCTIONS_LIST_MAX_AGE_DAYS,
        86400,
        "Maximum",
    )
    assert stale["ComparisonOperator"] == "GreaterThanThreshold"
    assert stale["TreatMissingData"] == "breaching" and stale["EvaluationPeriods"] == 1
    assert stale["AlarmActions"]
    refused = [
        a["Properties"]
        for a in synthesized.of_type("AWS::CloudWatch::Alarm").values()
        if a["Properties"].get("MetricName") == "SanctionsListRefused"
    ]
    assert len(refused) == 1 and refused[0]["Threshold"] == 1


def test_the_operators_command_finds_the_refresh_function(synthesized: Synthesized) -> None:
    function_id, _ = synthesized.catalog_entry("AWS::Lambda::Function", REFRESH)
    outputs = synthesized.template.get("Outputs", {})
    assert outputs["RefreshSanctionsListFunctionArn"]["Value"] == {"Fn::GetAtt": [function_id, "Arn"]}
