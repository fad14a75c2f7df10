"""The local runtime as a server, driven by the ``backoffice`` command as a person would drive it.

A real ``backoffice serve`` process on 127.0.0.1; ``send``, ``executions``, ``audit show``, ``audit verify`` and
``parked`` run as separate processes against it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from backoffice.local.samples import closed_won_detail
from backoffice.local.server import free_port

BACKOFFICE = [sys.executable, "-m", "backoffice.cli.main"]
OUTBOX = Path(tempfile.mkdtemp(prefix="backoffice-serve-outbox-"))


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [*BACKOFFICE, "serve", "--port", str(port), "--retry-time-scale", "0.001", "--outbox", str(OUTBOX)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if "serving on" in line:
            break
        if process.poll() is not None:
            pytest.fail(f"backoffice serve exited: {line}{process.stdout.read()}")
    else:
        process.kill()
        pytest.fail("backoffice serve did not come up within 60 s")
    yield endpoint
    process.terminate()
    process.wait(timeout=30)


def cli(endpoint: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "BACKOFFICE_ENDPOINT": endpoint}
    return subprocess.run([*BACKOFFICE, *args], capture_output=True, text=True, env=env, timeout=120)


def event_file(tmp_path: Path, name: str, detail: dict[str, object]) -> str:
    path = tmp_path / f"{name}.json"
    path.write_text(
        json.dumps({"detail-type": "Opportunity Closed Won", "source": "crm.salesforce", "detail": detail})
    )
    return str(path)


def executions(endpoint: str) -> list[dict[str, object]]:
    deadline = time.monotonic() + 30
    while True:
        listed = json.loads(cli(endpoint, "executions", "--json").stdout)
        if all(e["status"] != "RUNNING" for e in listed) or time.monotonic() > deadline:
            return list(listed)
        time.sleep(0.2)


def test_sending_the_same_event_twice_starts_one_execution(server: str, tmp_path: Path) -> None:
    # Given an event file for a closed-won deal
    path = event_file(tmp_path, "deal", closed_won_detail(11))
    # When it is sent twice through the command line
    first, second = cli(server, "send", path), cli(server, "send", path)
    # Then the first starts a case and the second is reported as a duplicate of it
    assert first.returncode == 0, first.stderr
    assert "case.started -> case onboard-006Dn0000000011XYZ: started" in first.stdout
    assert "event.duplicate -> case onboard-006Dn0000000011XYZ: ignored" in second.stdout
    # And there is exactly one execution for the deal (it stops at the missing SOW, this deal is not in the CRM:
    # a business outcome, so the execution succeeds)
    mine = [e for e in executions(server) if e["name"] == "onboard-006Dn0000000011XYZ"]
    assert [e["status"] for e in mine] == ["SUCCEEDED"]


def test_an_invalid_event_shows_as_rejected_in_the_audit_trail_and_is_parked(
    server: str, tmp_path: Path
) -> None:
    # Given an event whose currency is not an ISO code
    detail = closed_won_detail(12)
    detail["opportunity"]["currency"] = "dollars"  # type: ignore[index]
    sent = cli(server, "send", event_file(tmp_path, "bad", detail))
    event_id = sent.stdout.split("as event ", 1)[1].split()[0]
    # When an operator looks at the case and the parked events
    shown = cli(server, "audit", "show", f"rejected-{event_id}")
    parked = json.loads(cli(server, "parked", "--json").stdout)
    # Then the trail shows the rejection with its reason, and the event waits in the dead-letter queue
    assert shown.returncode == 0, shown.stderr
    assert "event.rejected" in shown.stdout and "rejected" in shown.stdout
    assert "detail.opportunity.currency" in shown.stdout
    assert event_id in [m["event"]["id"] for m in parked]


def test_editing_one_audit_record_by_hand_makes_verify_fail_and_name_it(server: str, tmp_path: Path) -> None:
    # Given a finished case with an intact trail
    cli(server, "send", event_file(tmp_path, "deal", closed_won_detail(13)))
    executions(server)
    assert cli(server, "audit", "verify").returncode == 0
    # When someone edits record 2 of that case directly in the table
    dynamodb = boto3.client(
        "dynamodb",
        endpoint_url=server,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    dynamodb.update_item(
        TableName="backoffice-audit",
        Key={"case_id": {"S": "onboard-006Dn0000000013XYZ"}, "seq": {"N": "2"}},
        UpdateExpression="SET outcome = :o",
        ExpressionAttributeValues={":o": {"S": "approved by nobody"}},
    )
    # Then verify exits 1 and names the case and record
    verified = cli(server, "audit", "verify")
    assert verified.returncode == 1
    assert "TAMPERED onboard-006Dn0000000013XYZ #2: changed" in verified.stdout


def test_the_command_line_says_clearly_when_no_server_runs(tmp_path: Path) -> None:
    # Given no server on a port
    endpoint = f"http://127.0.0.1:{free_port()}"
    # When a command needs it
    result = cli(endpoint, "executions")
    # Then it explains what to do instead of printing a traceback
    assert result.returncode == 2
    assert "backoffice serve" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            '{"detail-type": "Opportunity Closed Won",\n  "detail": {"opportunity": }\n}',
            ":2:29: not valid JSON",
        ),
        ("", ":1:1: not valid JSON"),
        ('["an event"]', ": event 1: an event is a JSON object, not str"),
        ('{"detail-type": "Opportunity Closed Won", "detail": [1]}', ": an event needs a 'detail-type'"),
        ('{"DetailType": "Opportunity Closed Won", "Detail": "{oops"}', ": Detail is not valid JSON"),
    ],
    ids=["malformed", "empty", "not-an-object", "detail-not-an-object", "detail-string-malformed"],
)
def test_send_names_the_file_and_the_place_of_a_bad_event_in_one_line(
    tmp_path: Path, content: str, expected: str
) -> None:
    # Given an event file a person got wrong (no server needed: the file is read before connecting)
    path = tmp_path / "won.json"
    path.write_text(content)
    # When it is sent
    result = cli(f"http://127.0.0.1:{free_port()}", "send", str(path))
    # Then one line names the file and, for bad JSON, the line and column; exit 2, no traceback
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"backoffice send: {path}") and expected in line, line


def test_an_approver_decides_from_the_command_line_through_the_confirmation_page(
    server: str, tmp_path: Path
) -> None:
    from backoffice.connectors.sandbox import SandboxStore
    from backoffice.local.samples import Deal, new_client, put_deal

    # Given a high-risk deal recorded in the server's CRM, and its Closed Won event sent
    session = {
        "endpoint_url": server,
        "region_name": "us-east-1",
        "aws_access_key_id": "local",
        "aws_secret_access_key": "local",
    }
    store = SandboxStore("backoffice-sandbox", boto3.client("dynamodb", **session))
    deal = Deal(14, new_client(14), risks=frozenset({"payment_terms_over_limit"}))
    detail = put_deal(store, boto3.client("s3", **session), "backoffice-documents-123456789012", deal)
    cli(server, "send", event_file(tmp_path, "risky", detail))
    case_id = f"onboard-{deal.opportunity_id}"
    # When legal lists pending approvals, they see the case and their links from the outbox
    deadline = time.monotonic() + 30
    while True:
        listed = json.loads(cli(server, "approvals", "--outbox", str(OUTBOX), "list", "--json").stdout)
        mine = [row for row in listed if row["case_id"] == case_id and row["links"]]
        if mine or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    [row] = mine
    link = row["links"]["omar.haddad@example-firm.com"]
    # And one decides from the command line, which opens the page and submits its form
    decided = cli(
        server,
        "approvals",
        "decide",
        link,
        "approve",
        "--as",
        "omar.haddad@example-firm.com",
        "--comment",
        "ok",
    )
    assert decided.returncode == 0, decided.stdout + decided.stderr
    assert "You approved the request" in decided.stdout
    # Then the case completes, and the decision is on its trail with the command line as the channel
    mine_done = [e for e in executions(server) if e["name"] == case_id]
    assert [e["status"] for e in mine_done] == ["SUCCEEDED"]
    trail = json.loads(cli(server, "audit", "show", case_id, "--json").stdout)
    [decision] = [r for r in trail if r["action"] == "approval.decided"]
    assert decision["data"]["channel"] == "cli"
