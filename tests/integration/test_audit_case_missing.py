"""A case deleted whole from the audit trail that the anchors cannot name, caught by ``backoffice audit verify``
from what started it: the case-start claim in the idempotency table and the case's execution.

The case runs for real (the Closed Won event, ``start_case``, the onboarding ASL and its handlers) while the anchors
bucket is unavailable, so none of its records is anchored (anchoring failed for longer than the stream keeps
records); its records are then deleted. Table and anchors then agree the case never existed."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from backoffice import audit_completeness
from backoffice.audit_anchors import ANCHORS_BUCKET, AnchorStore
from backoffice.cli import main as cli
from backoffice.local.runtime import LocalRuntime
from backoffice.local.samples import Deal, new_client
from infra.catalog import Ref
from tests.integration.conftest import Firm


class Borrowed:
    """The test's runtime as ``backoffice audit verify`` connects to it; the test stops it, not the command."""

    def __init__(self, runtime: LocalRuntime) -> None:
        self._runtime = runtime

    def __getattr__(self, name: str) -> Any:
        return getattr(self._runtime, name)

    def stop(self) -> None:
        pass


@pytest.fixture
def verify(runtime: LocalRuntime, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Any:
    """Run ``backoffice audit verify`` against the test's runtime: (exit code, printed lines)."""
    monkeypatch.setattr(cli, "_connect", lambda args: Borrowed(runtime))

    def run(*case_ids: str) -> tuple[int, list[str]]:
        capsys.readouterr()
        code = cli.main(["audit", "verify", *case_ids])
        return code, capsys.readouterr().out.splitlines()

    return run


@pytest.fixture
def unanchored_case(firm: Firm, monkeypatch: pytest.MonkeyPatch) -> str:
    """A real onboarding case (blocked: no SOW) that ran while every anchor put failed, its records deleted."""

    def unavailable(self: AnchorStore, anchor: Any) -> Any:
        raise ClientError({"Error": {"Code": "ServiceUnavailable", "Message": "S3 is down"}}, "PutObject")

    # The deletions fall in the outage too: a delivery after it would retry the records still pending and anchor
    # them, where in AWS the stream has dropped them by then.
    with monkeypatch.context() as outage:
        outage.setattr(AnchorStore, "put", unavailable)
        case_id = firm.win(Deal(4, new_client(4), with_sow=False))
        assert firm.finish(case_id).status == "SUCCEEDED"
        trail = firm.audit
        records = trail.records(case_id)
        assert records, "the case wrote its trail"
        for record in records:
            trail.dynamodb.delete_item(
                TableName=trail.table_name,
                Key={"case_id": {"S": case_id}, "seq": {"N": str(record.seq)}},
            )
    return case_id


def test_a_started_case_with_no_trail_and_no_anchor_is_named_missing(
    runtime: LocalRuntime, firm: Firm, unanchored_case: str, verify: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    case_id = unanchored_case
    # Given a case with a claim and an execution, but neither a record nor an anchor
    anchors = AnchorStore(runtime.resolve(Ref("bucket_name", ANCHORS_BUCKET)), s3=runtime.client("s3"))
    assert case_id not in firm.audit.case_ids() and case_id not in anchors.case_ids()
    claim = runtime.client("dynamodb").get_item(
        TableName=runtime.resolve(Ref("table_name", "idempotency")), Key={"id": {"S": f"case#{case_id}"}}
    )["Item"]
    execution = firm.execution(case_id)
    assert claim["execution_arn"]["S"] == execution.arn
    # When verified while the claim is within its lease, the case may still be starting: not named
    code, lines = verify()
    assert not [line for line in lines if case_id in line], lines
    # When verified once the lease has passed (the lease shrunk to nothing stands for the time gone by)
    monkeypatch.setattr(audit_completeness, "CLAIM_LEASE", timedelta(0))
    code, lines = verify()
    # Then verify exits 1 naming the case missing, with the claim and the execution that show it existed
    assert code == 1
    named = [line for line in lines if case_id in line]
    assert named == [
        f"TAMPERED {case_id} #1: case missing (case-start claim of {claim['claimed_at']['S']} and execution"
        f" {execution.arn} exist, no audit record or anchor)"
    ], lines
    # And naming the case on the command line checks it alone, with the same finding
    code, lines = verify(case_id)
    assert code == 1 and lines[:-1] == named
