"""The reads a poller repeats (the integration tests' ``Firm.settle``): a case's audit records past the last one read
(``AuditTrail.records_after``) and the pending items of several kinds in one scan (``ApprovalStore.scan_items``),
each the same answer as the full read it replaces. moto's DynamoDB, in-process."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from backoffice.approvals.store import ApprovalStore
from backoffice.audit import Actor, AuditTrail


@pytest.fixture
def dynamodb() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName="audit",
            KeySchema=[
                {"AttributeName": "case_id", "KeyType": "HASH"},
                {"AttributeName": "seq", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "case_id", "AttributeType": "S"},
                {"AttributeName": "seq", "AttributeType": "N"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        client.create_table(
            TableName="approvals",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield client


def append(trail: AuditTrail, case_id: str, action: str) -> None:
    actor = Actor(kind="system", id="test")
    trail.append(case_id=case_id, workflow="vendor", step="s", actor=actor, action=action, outcome="ok")


def test_the_records_after_a_sequence_number_are_the_rest_of_the_case_s_trail(dynamodb: Any) -> None:
    # Given two cases' trails, interleaved
    trail = AuditTrail("audit", dynamodb=dynamodb)
    for n in range(3):
        append(trail, "vendor-1", f"step.{n}")
        append(trail, "vendor-2", f"other.{n}")
    # When the first case's records are read after each sequence number
    # Then they are the rest of its trail, as the full read gives it
    everything = trail.records("vendor-1")
    assert [r.action for r in everything] == ["step.0", "step.1", "step.2"]
    for seq in range(4):
        assert trail.records_after("vendor-1", seq) == everything[seq:]
    # And a record appended later is all a reader that had read to the end sees next
    append(trail, "vendor-1", "approval.requested")
    assert [(r.seq, r.action) for r in trail.records_after("vendor-1", 3)] == [(4, "approval.requested")]


def test_one_scan_of_several_kinds_is_the_scans_of_each(dynamodb: Any) -> None:
    # Given pending and decided requests, pending and used upload links, and items of other kinds
    store = ApprovalStore("approvals", dynamodb)
    for pk, kind, status in [
        ("request#1", "request", "PENDING"),
        ("request#2", "request", "APPROVED"),
        ("upload#a", "upload", "PENDING"),
        ("upload#b", "upload", "USED"),
        ("link#x", "link", "PENDING"),
        ("casestep#1", "casestep", "PENDING"),
    ]:
        body = {"S": json.dumps({"pk": pk})}
        dynamodb.put_item(
            TableName="approvals",
            Item={"pk": {"S": pk}, "kind": {"S": kind}, "status": {"S": status}, "body": body},
        )
    # When the pending requests and upload links are scanned for at once
    both = store.scan_items(("request", "upload"), "PENDING")
    # Then they are the items each kind's own scan finds, and no other
    each = store.scan_items("request", "PENDING") + store.scan_items("upload", "PENDING")
    assert (
        sorted(i["pk"]["S"] for i in both) == sorted(i["pk"]["S"] for i in each) == ["request#1", "upload#a"]
    )
    assert sorted(i["pk"]["S"] for i in store.scan_items(("request", "upload"), None)) == [
        "request#1",
        "request#2",
        "upload#a",
        "upload#b",
    ]
