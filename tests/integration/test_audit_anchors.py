"""The anchored audit trail on the local runtime: real handlers write a case's records, the audit table's stream
feeds the real anchor function under its own role, and ``verify`` against the anchors names each of the seven
tamperings the hash chain alone could not all catch. The tamperer writes to the table directly, as someone with
access to it would; every such write goes through the stream like any other."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from backoffice.audit import (
    AuditRecord,
    AuditTrail,
    MacVerifier,
    VerificationReport,
    _body,
    _from_item,
    _sha256,
    _to_item,
)
from backoffice.audit_anchors import ANCHORS_BUCKET, AnchorStore, anchor_key, anchoring_window
from backoffice.local.runtime import LocalRuntime
from infra.catalog import CATALOG, Ref

CASE = "billing-2026-11-anchored"
RECORDS = 4


@pytest.fixture
def trail(runtime: LocalRuntime) -> AuditTrail:
    """A case of four records, each written by the real summarize_billing_run handler under its role."""
    for _ in range(RECORDS):
        _, error = runtime.lambdas.invoke(
            "summarize_billing_run", {"case_id": CASE, "results": [], "opened": {}}
        )
        assert error is None, error
    return AuditTrail(runtime.resolve(Ref("table_name", "audit")), dynamodb=runtime.client("dynamodb"))


def anchors(runtime: LocalRuntime) -> AnchorStore:
    return AnchorStore(runtime.resolve(Ref("bucket_name", ANCHORS_BUCKET)), s3=runtime.client("s3"))


def verify(runtime: LocalRuntime, trail: AuditTrail, *, later: timedelta = timedelta()) -> VerificationReport:
    return trail.verify(
        anchors=anchors(runtime), now=datetime.now(UTC) + later, window=anchoring_window(CATALOG)
    )


def findings(report: VerificationReport) -> list[tuple[str, int, str]]:
    return [(p.case_id, p.seq, p.kind) for p in report.problems]


def items(trail: AuditTrail) -> list[dict[str, Any]]:
    return list(trail._query_items(CASE))


def put(trail: AuditTrail, item: dict[str, Any]) -> None:
    trail.dynamodb.put_item(TableName=trail.table_name, Item=item)


def delete(trail: AuditTrail, seq: int) -> None:
    trail.dynamodb.delete_item(
        TableName=trail.table_name, Key={"case_id": {"S": CASE}, "seq": {"N": str(seq)}}
    )


def rehashed(item: dict[str, Any], *, seq: int, prev_hash: str, **changes: str) -> dict[str, Any]:
    """The item as a forger with the chain's (public) algorithm would write it: own hash and link correct, and no
    MAC (the forger cannot use the signing key)."""
    fields = _from_item(item).model_dump(exclude={"hash", "mac"}, mode="json")
    fields.update(seq=seq, prev_hash=prev_hash, **changes)
    return _to_item(AuditRecord(**fields, hash=_sha256(_body(fields))))


def test_an_untouched_trail_verifies_with_every_record_anchored(
    runtime: LocalRuntime, trail: AuditTrail
) -> None:
    # Given a case written by a real handler, its records streamed to the anchor function
    # When the trail is verified right away
    report = verify(runtime, trail)
    # Then it is intact, and nothing is waiting for an anchor
    assert report.ok, (report.problems, report.pending)
    assert report.records_checked == RECORDS
    assert sorted(anchors(runtime).anchors(CASE)) == [1, 2, 3, 4]
    # And the anchor function ran under its own role, refused nothing
    anchoring = [i for i in runtime.lambdas.invocations if i.function == "anchor_audit"]
    assert len(anchoring) == RECORDS and all(i.ok for i in anchoring)
    assert runtime.iam_enforcer is not None and not runtime.iam_enforcer.denied


def test_a_changed_record_is_detected(runtime: LocalRuntime, trail: AuditTrail) -> None:
    # Given record 2's outcome overwritten in the table
    item = items(trail)[1]
    item["outcome"] = {"S": "approved"}
    put(trail, item)
    # When verified / Then record 2 is named as changed
    assert findings(verify(runtime, trail)) == [(CASE, 2, "changed")]


def test_a_deleted_middle_record_is_detected(runtime: LocalRuntime, trail: AuditTrail) -> None:
    # Given record 2 deleted
    delete(trail, 2)
    # When verified / Then its place is named as removed
    assert findings(verify(runtime, trail)) == [(CASE, 2, "removed")]


def test_an_inserted_record_is_detected_even_with_the_chain_relinked(
    runtime: LocalRuntime, trail: AuditTrail
) -> None:
    # Given a forged record put after record 2, and records 3 and 4 moved to 4 and 5 with every hash and link redone
    original = items(trail)
    forged = rehashed(original[1], seq=3, prev_hash=original[1]["hash"]["S"], outcome="approved")
    moved_3 = rehashed(original[2], seq=4, prev_hash=forged["hash"]["S"])
    moved_4 = rehashed(original[3], seq=5, prev_hash=moved_3["hash"]["S"])
    for item in (forged, moved_3, moved_4):
        put(trail, item)
    # When verified
    report = verify(runtime, trail)
    # Then the chain itself is consistent, but the records from the insertion on differ from their anchors
    assert findings(report) == [(CASE, 3, "changed"), (CASE, 4, "changed")]


def test_a_forged_record_appended_with_the_right_prev_hash_is_detected(
    runtime: LocalRuntime, trail: AuditTrail
) -> None:
    # Given a well-formed record 5 linked to record 4, written while the table's stream was off
    last = items(trail)[-1]
    forged = rehashed(last, seq=5, prev_hash=last["hash"]["S"], outcome="approved")
    with runtime.streams.stream_off():
        put(trail, forged)
    # When verified within the anchoring window, it is pending, not OK
    early = verify(runtime, trail)
    assert not early.ok and [(p.seq, p.kind) for p in early.pending] == [(5, "not yet anchored")]
    # Then once the window has passed it is named as appended outside the stream
    window = anchoring_window(CATALOG)
    assert findings(verify(runtime, trail, later=window + timedelta(seconds=1))) == [(CASE, 5, "appended")]


def test_a_truncated_trail_is_detected(runtime: LocalRuntime, trail: AuditTrail) -> None:
    # Given the last record deleted, which leaves a chain that is intact on its own
    delete(trail, RECORDS)
    assert trail.verify([CASE]).ok
    # When verified against the anchors / Then the cut is named
    assert findings(verify(runtime, trail)) == [(CASE, RECORDS, "truncated")]


def test_a_consistently_rewritten_chain_is_detected(runtime: LocalRuntime, trail: AuditTrail) -> None:
    # Given every record rewritten with a new outcome, every hash and link recomputed
    prev = "0" * 64
    for item in items(trail):
        forged = rehashed(item, seq=int(item["seq"]["N"]), prev_hash=prev, outcome="rewritten")
        put(trail, forged)
        prev = forged["hash"]["S"]
    assert trail.verify([CASE]).ok  # the chain alone cannot tell
    # When verified against the anchors / Then every record is named as changed
    assert findings(verify(runtime, trail)) == [(CASE, seq, "changed") for seq in range(1, RECORDS + 1)]


def test_a_case_whose_records_were_all_deleted_is_detected(runtime: LocalRuntime, trail: AuditTrail) -> None:
    # Given every record of the case deleted
    for seq in range(1, RECORDS + 1):
        delete(trail, seq)
    assert CASE not in trail.case_ids()
    # When the whole trail is verified / Then the case is named as missing
    assert findings(verify(runtime, trail)) == [(CASE, 1, "case missing")]


def test_the_writers_roles_cannot_write_the_anchors_bucket(runtime: LocalRuntime) -> None:
    # Given every function that may append audit records, and the anchor function
    enforcer = runtime.iam_enforcer
    assert enforcer is not None
    s3 = runtime.client("s3")
    bucket = runtime.resolve(Ref("bucket_name", ANCHORS_BUCKET))
    writers = [fn.name for fn in CATALOG.functions if "audit:append" in fn.grants]
    assert writers
    put_anchor = {"Bucket": bucket, "Key": anchor_key(CASE, 1), "Body": b"{}"}
    # When each asks to put an anchor / Then IAM refuses every writer, and lets the anchor function
    for writer in writers:
        with pytest.raises(ClientError) as refused:
            enforcer.authorize(("function", writer), s3, "PutObject", put_anchor)
        assert refused.value.response["Error"]["Code"] == "AccessDenied"
        with pytest.raises(ClientError):
            enforcer.authorize(("function", writer), s3, "DeleteObject", {"Bucket": bucket, "Key": "cases/x"})
    enforcer.authorize(("function", "anchor_audit"), s3, "PutObject", put_anchor)


def test_an_anchor_cannot_be_replaced_or_deleted(runtime: LocalRuntime, trail: AuditTrail) -> None:
    # Given the anchors of the case, in the Object Lock bucket
    s3 = runtime.client("s3")
    bucket = runtime.resolve(Ref("bucket_name", ANCHORS_BUCKET))
    key = anchor_key(CASE, 1)
    version = s3.head_object(Bucket=bucket, Key=key)["VersionId"]
    # When even the account's administrator deletes its version / Then Object Lock refuses
    with pytest.raises(ClientError) as refused:
        s3.delete_object(Bucket=bucket, Key=key, VersionId=version)
    assert refused.value.response["Error"]["Code"] == "AccessDenied"
    # And a new version put over it does not change what verify reads (the first version is the anchor)
    s3.put_object(Bucket=bucket, Key=key, Body=b'{"forged": true}')
    assert anchors(runtime).anchors(CASE)[1].seq == 1
    assert verify(runtime, trail).ok


# -- who wrote it: the signing key ---------------------------------------------------------------------------------


def signatures(runtime: LocalRuntime) -> MacVerifier:
    # Verified as the operator: no function of the product holds kms:VerifyMac.
    return MacVerifier(runtime.resolve(Ref("key_arn", "audit_signing")), kms=runtime.client("kms"))


def test_every_record_a_handler_writes_is_signed_and_verifies(
    runtime: LocalRuntime, trail: AuditTrail
) -> None:
    # Given the case written by the real handler under its role
    stored = items(trail)
    # When verified with the signing key as well as the anchors
    report = trail.verify(anchors=anchors(runtime), macs=signatures(runtime))
    # Then every record carries a MAC, and nothing is named
    assert all(item.get("mac", {}).get("S") for item in stored)
    assert report.ok, report.problems


def test_a_forged_record_appended_while_the_stream_is_on_is_anchored_but_named_unsigned(
    runtime: LocalRuntime, trail: AuditTrail
) -> None:
    # Given a well-formed record 5 linked to record 4, put into the table with the stream on (so it is anchored)
    last = items(trail)[-1]
    put(trail, rehashed(last, seq=5, prev_hash=last["hash"]["S"], outcome="approved"))
    assert 5 in anchors(runtime).anchors(CASE)
    # When verified against the anchors alone, the forgery passes: the anchors prove when, not who
    assert verify(runtime, trail).ok
    # Then with the signing key it is named: no MAC, so no writer of the product wrote it
    report = trail.verify(anchors=anchors(runtime), macs=signatures(runtime))
    assert findings(report) == [(CASE, 5, "unsigned")]


def test_a_mac_copied_from_another_record_is_named_forged(runtime: LocalRuntime, trail: AuditTrail) -> None:
    # Given a forged record 5 that carries record 4's (valid) MAC
    last = items(trail)[-1]
    forged = rehashed(last, seq=5, prev_hash=last["hash"]["S"], outcome="approved")
    forged["mac"] = last["mac"]
    put(trail, forged)
    # When verified with the signing key / Then the MAC does not match the record's hash
    report = trail.verify(anchors=anchors(runtime), macs=signatures(runtime))
    assert findings(report) == [(CASE, 5, "forged")]


def test_a_consistent_rewrite_is_named_by_the_signing_key_too(
    runtime: LocalRuntime, trail: AuditTrail
) -> None:
    # Given every record rewritten with a new outcome, every hash and link recomputed, MACs dropped or kept
    prev = "0" * 64
    for index, item in enumerate(items(trail)):
        forged = rehashed(item, seq=int(item["seq"]["N"]), prev_hash=prev, outcome="rewritten")
        if index % 2:
            forged["mac"] = item["mac"]  # the old MAC signs the old hash, not this one
        put(trail, forged)
        prev = forged["hash"]["S"]
    # When verified with the signing key alone (no anchors) / Then every record is named
    report = trail.verify([CASE], macs=signatures(runtime))
    assert findings(report) == [
        (CASE, 1, "unsigned"),
        (CASE, 2, "forged"),
        (CASE, 3, "unsigned"),
        (CASE, 4, "forged"),
    ]


def test_only_the_writers_may_sign_and_no_function_may_verify(runtime: LocalRuntime) -> None:
    # Given the signing key, and the functions of the catalog
    enforcer = runtime.iam_enforcer
    assert enforcer is not None
    kms = runtime.client("kms")
    key = runtime.resolve(Ref("key_arn", "audit_signing"))
    sign = {"KeyId": key, "Message": b"x" * 64, "MacAlgorithm": "HMAC_SHA_256"}
    check = {**sign, "Mac": b"y" * 32}
    writers = {fn.name for fn in CATALOG.functions if "audit:append" in fn.grants}
    others = {fn.name for fn in CATALOG.functions} - writers
    assert writers and "anchor_audit" in others
    # When each function asks KMS to sign and to verify
    # Then every writer may sign, no other function may, and none may verify
    for name in sorted(writers):
        enforcer.authorize(("function", name), kms, "GenerateMac", sign)
    for name in sorted(others):
        with pytest.raises(ClientError) as refused:
            enforcer.authorize(("function", name), kms, "GenerateMac", sign)
        assert refused.value.response["Error"]["Code"] == "AccessDeniedException"
    for name in sorted(writers | others):
        with pytest.raises(ClientError):
            enforcer.authorize(("function", name), kms, "VerifyMac", check)


def test_an_in_place_change_pages_the_operators_through_the_tampering_metric(
    runtime: LocalRuntime,
    trail: AuditTrail,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given business metrics switched on, as in Lambda (the local runtime switches them off for readable output)
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    capsys.readouterr()
    # When record 2 is overwritten in the table, which the stream hands to the real anchor function
    item = items(trail)[1]
    item["outcome"] = {"S": "approved"}
    put(trail, item)
    # Then the function emits AuditTamperingDetected (what the AuditTampered alarm watches) once, for that change
    emitted = [
        json.loads(line)
        for line in capsys.readouterr().out.splitlines()
        if line.startswith("{") and "AuditTamperingDetected" in line
    ]
    assert [(e["AuditTamperingDetected"], e["workflow"]) for e in emitted] == [([1.0], "audit")]
