"""The published process report in the stack: its weekly schedule (a deploy setting), the reports bucket and the
two functions' grants, which are exactly what publishing and opening a report need."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest
from synthesized_stack import Synthesized

from infra.catalog import CATALOG
from infra.schedules import schedule_expression

WEEKLY = next(s for s in CATALOG.schedules if s.name == "weekly_process_report")


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _actions_on(statements: list[dict[str, Any]], resource_id: str) -> set[str]:
    """The actions granted on a resource (its ARN) or on objects under it (an ``Fn::Join`` naming it)."""
    found = set()
    for statement in statements:
        for resource in _as_list(statement["Resource"]):
            if resource_id in str(resource):
                found.update(_as_list(statement["Action"]))
    return found


def test_the_weekly_report_runs_on_monday_morning_by_default(synthesized: Synthesized) -> None:
    # Given the publisher function and the default settings
    function_id, _ = synthesized.catalog_entry("AWS::Lambda::Function", "publish_process_report")

    # When looking for the schedule that invokes it
    (schedule,) = [
        s["Properties"]
        for s in synthesized.of_type("AWS::Scheduler::Schedule").values()
        if s["Properties"]["Target"]["Arn"] == {"Fn::GetAtt": [function_id, "Arn"]}
    ]

    # Then it runs at 07:00 UTC every Monday, with the schedule's name as input
    assert schedule["ScheduleExpression"] == "cron(0 7 ? * MON *)"
    assert '"schedule": "weekly_process_report"' in schedule["Target"]["Input"]


def test_a_deployment_sets_its_own_schedule_and_a_wrong_one_fails_the_synth() -> None:
    # Given deployments with -c process_report_schedule=...
    friday = cdk.App(context={"process_report_schedule": "cron(30 16 ? * FRI *)"})
    typo = cdk.App(context={"process_report_schedule": "every monday"})

    # Then the schedule takes the deployment's expression, and one Scheduler would refuse stops the synth
    assert schedule_expression(friday, CATALOG, WEEKLY) == "cron(30 16 ? * FRI *)"
    assert schedule_expression(cdk.App(), CATALOG, WEEKLY) == "cron(0 7 ? * MON *)"
    with pytest.raises(ValueError, match="'every monday' is not a rate"):
        schedule_expression(typo, CATALOG, WEEKLY)


def test_the_reports_bucket_is_in_the_stack_and_its_name_is_an_output(synthesized: Synthesized) -> None:
    # Given the reports bucket (versioned, encrypted, private, logged: the checks every catalog bucket gets)
    bucket_id, bucket = synthesized.catalog_entry("AWS::S3::Bucket", "reports")

    # Then it is versioned and the stack exports its name for `backoffice --stack`
    assert bucket["Properties"]["VersioningConfiguration"] == {"Status": "Enabled"}
    assert synthesized.template["Outputs"]["ReportsBucketName"]["Value"] == {"Ref": bucket_id}


def test_the_publisher_reads_the_whole_trail_and_writes_only_reports(synthesized: Synthesized) -> None:
    # Given the publisher's role, the audit table and the buckets
    statements = synthesized.function_statements("publish_process_report")
    audit_id, _ = synthesized.catalog_entry("AWS::DynamoDB::Table", "audit")
    reports_id, _ = synthesized.catalog_entry("AWS::S3::Bucket", "reports")
    documents_id, _ = synthesized.catalog_entry("AWS::S3::Bucket", "documents")

    # Then it may scan and query the trail (and append its own record), put objects under process-reports/ only,
    # and reach no document of a case
    assert {"dynamodb:Scan", "dynamodb:Query", "dynamodb:PutItem"} <= _actions_on(statements, audit_id)
    assert _actions_on(statements, reports_id) == {"s3:PutObject"}
    assert all(
        "process-reports/*" in str(resource)
        for statement in statements
        for resource in _as_list(statement["Resource"])
        if reports_id in str(resource)
    )
    assert _actions_on(statements, documents_id) == set()


def test_the_link_endpoint_may_only_read_reports(synthesized: Synthesized) -> None:
    # Given the link endpoint's role (its presigned GETs are authorized against it)
    statements = synthesized.function_statements("open_process_report")
    reports_id, _ = synthesized.catalog_entry("AWS::S3::Bucket", "reports")

    # Then it may read the reports and their versions, and write none
    assert _actions_on(statements, reports_id) == {"s3:GetObject", "s3:GetObjectVersion"}
