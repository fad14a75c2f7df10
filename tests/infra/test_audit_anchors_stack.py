"""CDK assertions on the audit trail's anchoring: the table's stream, the anchor function and its role, and the
Object Lock bucket the anchors go to, out of the audit writers' reach."""

from __future__ import annotations

import json
from typing import Any

import pytest
from synthesized_stack import Synthesized

from backoffice.audit_anchors import ANCHORS_BUCKET
from infra.catalog import CATALOG

pytestmark = pytest.mark.slow

ANCHOR_FUNCTION = "anchor_audit"


def _names(statement: dict[str, Any], logical_id: str) -> bool:
    return logical_id in json.dumps(statement["Resource"])


def test_the_audit_table_streams_every_new_record_image(synthesized: Synthesized) -> None:
    # Given the audit table
    # When looking at it in the template
    _, table = synthesized.catalog_entry("AWS::DynamoDB::Table", "audit")
    # Then it has a stream carrying each record as written
    assert table["Properties"]["StreamSpecification"] == {"StreamViewType": "NEW_IMAGE"}


def test_the_stream_feeds_the_anchor_function_and_parks_what_it_cannot_anchor(
    synthesized: Synthesized,
) -> None:
    # Given the audit table, the anchor function and the undelivered-events queue
    table_id, _ = synthesized.catalog_entry("AWS::DynamoDB::Table", "audit")
    function_id, _ = synthesized.catalog_entry("AWS::Lambda::Function", ANCHOR_FUNCTION)
    # When looking at the event source mappings
    (mapping,) = synthesized.of_type("AWS::Lambda::EventSourceMapping").values()
    props = mapping["Properties"]
    # Then the audit stream is read from its start by the anchor function, with bisection, retries and a destination
    assert props["EventSourceArn"] == {"Fn::GetAtt": [table_id, "StreamArn"]}
    assert props["FunctionName"] == {"Ref": function_id}
    assert props["StartingPosition"] == "TRIM_HORIZON"
    assert props["BisectBatchOnFunctionError"] is True
    assert props["MaximumRetryAttempts"] > 0
    destination = props["DestinationConfig"]["OnFailure"]["Destination"]["Fn::GetAtt"][0]
    assert synthesized.resources[destination]["Type"] == "AWS::SQS::Queue"


def test_the_anchors_bucket_is_locked_in_compliance_mode_for_the_catalog_retention(
    synthesized: Synthesized,
) -> None:
    # Given the anchors bucket
    # When looking at it in the template
    _, bucket = synthesized.catalog_entry("AWS::S3::Bucket", ANCHORS_BUCKET)
    props = bucket["Properties"]
    # Then Object Lock is on, in compliance mode, for the retention the catalog's setting gives, and it is retained
    days = int(CATALOG.settings[CATALOG.object_lock[ANCHORS_BUCKET]])
    assert props["ObjectLockEnabled"] is True
    assert props["ObjectLockConfiguration"] == {
        "ObjectLockEnabled": "Enabled",
        "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": days}},
    }
    assert bucket["DeletionPolicy"] == "Retain"


def test_the_anchor_function_may_only_add_anchors_and_read_the_stream(synthesized: Synthesized) -> None:
    # Given the anchor function's role, the anchors bucket and the audit table
    bucket_id, _ = synthesized.catalog_entry("AWS::S3::Bucket", ANCHORS_BUCKET)
    table_id, _ = synthesized.catalog_entry("AWS::DynamoDB::Table", "audit")
    statements = synthesized.function_statements(ANCHOR_FUNCTION)
    # When collecting what it may do on the bucket and on the table
    on_bucket = {a for s in statements if _names(s, bucket_id) for a in _as_list(s["Action"])}
    on_table = {a for s in statements if _names(s, table_id) for a in _as_list(s["Action"])}
    # Then it may put and read anchors, never delete them or touch their retention
    assert on_bucket == {"s3:PutObject", "s3:GetObject"}
    # And on the table it reads the stream only: it cannot write audit records
    assert on_table == {
        "dynamodb:DescribeStream",
        "dynamodb:GetRecords",
        "dynamodb:GetShardIterator",
        "dynamodb:ListStreams",
    }


@pytest.mark.parametrize(
    "spec", [f for f in CATALOG.functions if f.name != ANCHOR_FUNCTION], ids=lambda function: function.name
)
def test_no_other_function_may_touch_the_anchors_bucket(synthesized: Synthesized, spec: Any) -> None:
    # Given a function other than the anchor function (every audit writer among them)
    bucket_id, _ = synthesized.catalog_entry("AWS::S3::Bucket", ANCHORS_BUCKET)
    # When looking for statements naming the anchors bucket in its role / Then there are none
    assert not [s for s in synthesized.function_statements(spec.name) if _names(s, bucket_id)]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]
