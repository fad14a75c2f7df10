"""The local runtime as a server, driven by the ``backoffice`` command as a person would drive it.

A real ``backoffice serve`` process on 127.0.0.1; ``send``, ``executions``, ``audit show``, ``audit verify`` and
``parked`` run as separate processes against it, through the local path (``--endpoint``) and through the deployed
path (``--outputs-file`` with the outputs the server writes, and ``--stack`` against moto's CloudFormation).
Where a test compares the two paths command by command (and where it waits for executions to finish), the commands
run through the CLI's entry function in this process, each with the environment a separate process would get
(``in_process``): a process costs a second of start-up, and the comparison is about the paths, not the process;
the tests around them still run the command as processes.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import redirect_stderr, redirect_stdout
from datetime import UTC, datetime
from pathlib import Path
from unittest import mock

import boto3
import pytest

from backoffice.local.samples import closed_won_detail
from backoffice.local.server import free_port

BACKOFFICE = [sys.executable, "-m", "backoffice.cli.main"]
OUTBOX = Path(tempfile.mkdtemp(prefix="backoffice-serve-outbox-"))
OUTPUTS = Path(tempfile.mkdtemp(prefix="backoffice-serve-outputs-")) / "cdk-outputs.json"


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [
            *BACKOFFICE,
            "serve",
            *("--port", str(port), "--retry-time-scale", "0.001", "--outbox", str(OUTBOX)),
            *("--write-outputs", str(OUTPUTS)),
        ],
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


def in_process(args: tuple[str, ...], env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    """``backoffice *args`` run by the CLI's entry function in this process, as a separate process with exactly
    ``env`` would run it: the environment is ``env`` alone while it runs, boto3's default session and the shared
    clients start empty, and all three are put back afterwards (the local path sets the catalog's variables and
    an endpoint in the environment, which must reach neither the next command nor the next test). An exception
    the command does not turn into an exit code fails the test, as its traceback would."""
    import boto3

    from backoffice import aws
    from backoffice.cli.main import main

    out, err = io.StringIO(), io.StringIO()
    session = boto3.DEFAULT_SESSION
    with mock.patch.dict(os.environ, env, clear=True), redirect_stdout(out), redirect_stderr(err):
        boto3.DEFAULT_SESSION = None
        aws.reset_clients()
        try:
            code = main(list(args))
        except SystemExit as exited:  # argparse's refusals; as the interpreter ends a process on it
            if exited.code is None or isinstance(exited.code, int):
                code = exited.code or 0
            else:
                print(exited.code, file=err)
                code = 1
        finally:
            aws.reset_clients()
            boto3.DEFAULT_SESSION = session
    return subprocess.CompletedProcess(["backoffice", *args], code, out.getvalue(), err.getvalue())


def cli_in_process(endpoint: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``cli``, run by ``in_process``."""
    return in_process(args, {**os.environ, "BACKOFFICE_ENDPOINT": endpoint})


def event_file(tmp_path: Path, name: str, detail: dict[str, object]) -> str:
    path = tmp_path / f"{name}.json"
    path.write_text(
        json.dumps({"detail-type": "Opportunity Closed Won", "source": "crm.salesforce", "detail": detail})
    )
    return str(path)


def executions(endpoint: str) -> list[dict[str, object]]:
    deadline = time.monotonic() + 30
    while True:
        listed = json.loads(cli_in_process(endpoint, "executions", "--json").stdout)
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


# -- the deployed path, against the local server ----------------------------------------------------------------

LOCAL_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_REGION": "us-east-1",
}


def deployed(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The command as an operator runs it against a deployed stack: no local server named, own credentials."""
    base = {k: v for k, v in os.environ.items() if k != "BACKOFFICE_ENDPOINT" and not k.startswith("AWS_")}
    return subprocess.run(
        [*BACKOFFICE, *args],
        capture_output=True,
        text=True,
        env={**base, **(LOCAL_CREDENTIALS if env is None else env)},
        timeout=120,
    )


def deployed_in_process(*args: str) -> subprocess.CompletedProcess[str]:
    """``deployed``, run by ``in_process``."""
    base = {k: v for k, v in os.environ.items() if k != "BACKOFFICE_ENDPOINT" and not k.startswith("AWS_")}
    return in_process(args, {**base, **LOCAL_CREDENTIALS})


def test_every_operate_command_reads_the_server_through_its_outputs_file_as_through_the_local_path(
    server: str, tmp_path: Path
) -> None:
    # Given a finished case on the server, and the outputs file the server wrote as `cdk deploy` would
    cli(server, "send", event_file(tmp_path, "deal", closed_won_detail(15)))
    executions(server)
    outputs = json.loads(OUTPUTS.read_text())
    assert list(outputs) == ["BackofficeStack"]
    assert outputs["BackofficeStack"]["AuditTableName"] == "backoffice-audit"
    via_outputs = ("--outputs-file", str(OUTPUTS), "--endpoint-url", server)
    # When each read and operate command runs both ways
    commands = [
        ("executions", "--json"),
        ("audit", "show", "onboard-006Dn0000000015XYZ"),
        ("audit", "verify"),
        ("audit", "verify", "onboard-006Dn0000000015XYZ"),
        ("audit", "export", "--format", "csv"),
        ("parked", "--json"),
        ("config", "show"),
        ("sanctions", "status"),
    ]
    for command in commands:
        # (in this process: see the module's docstring; the send and the report below are processes)
        local, through_outputs = cli_in_process(server, *command), deployed_in_process(*via_outputs, *command)
        # Then they answer the same, exit code included
        assert (through_outputs.returncode, through_outputs.stdout) == (local.returncode, local.stdout), (
            command
        )
        assert "Traceback" not in through_outputs.stderr, through_outputs.stderr
    # And an audited resume works both ways (the case stopped at its missing SOW): each starts the next run
    resume = (
        "cases",
        "resume",
        "onboard-006Dn0000000015XYZ",
        "--as",
        "ops@example.com",
        "--reason",
        "SOW filed",
    )
    assert cli_in_process(server, *resume).stdout.endswith("as onboard-006Dn0000000015XYZ-r1\n")
    assert deployed_in_process(*via_outputs, *resume).stdout.endswith("as onboard-006Dn0000000015XYZ-r2\n")
    # And an event sent to the deployed bus starts its case (the bus delivers it; the command does not wait)
    sent = deployed(*via_outputs, "send", event_file(tmp_path, "other", closed_won_detail(16)))
    assert sent.returncode == 0 and "delivers it to the case starter" in sent.stdout, sent.stderr
    assert "onboard-006Dn0000000016XYZ" in [e["name"] for e in executions(server)]
    # And the firm's configuration shown is the deployed document's
    assert "Example Firm LLP" in deployed(*via_outputs, "config", "show").stdout
    # And the process report reads the same trail
    report = deployed(*via_outputs, "report", "--json")
    assert report.returncode == 0, report.stderr
    assert json.loads(report.stdout)


def test_a_stack_named_in_cloudformation_is_read_from_its_outputs(server: str) -> None:
    # Given a CloudFormation stack on the server whose outputs are the server's names (as the deployed stack's are)
    outputs = json.loads(OUTPUTS.read_text())["BackofficeStack"]
    template = {
        "Resources": {"Marker": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
        "Outputs": {key: {"Value": value} for key, value in outputs.items()},
    }
    boto3.client(
        "cloudformation",
        endpoint_url=server,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    ).create_stack(StackName="ops-test", TemplateBody=json.dumps(template))
    # When an operator names the stack
    local = cli(server, "executions", "--json")
    named = deployed(
        "--stack", "ops-test", "--region", "us-east-1", "--endpoint-url", server, "executions", "--json"
    )
    # Then the command resolves every resource from its outputs
    assert named.returncode == 0, named.stderr
    assert json.loads(named.stdout) == json.loads(local.stdout)


def test_an_unknown_stack_a_missing_output_and_no_credentials_are_one_line_each(
    server: str, tmp_path: Path
) -> None:
    # Given a stack that does not exist, an outputs file without the audit table, and a shell without credentials
    partial = tmp_path / "outputs.json"
    kept = {
        k: v for k, v in json.loads(OUTPUTS.read_text())["BackofficeStack"].items() if k != "AuditTableName"
    }
    partial.write_text(json.dumps({"BackofficeStack": kept}))
    nowhere = {
        "AWS_REGION": "us-east-1",
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    # When the operator runs a command against each
    unknown = deployed("--stack", "nope", "--endpoint-url", server, "audit", "verify")
    missing = deployed("--outputs-file", str(partial), "--endpoint-url", server, "audit", "show", "x")
    no_credentials = deployed("--stack", "ops-test", "--endpoint-url", server, "executions", env=nowhere)
    # Then each fails with exit 2 and one line that says what to do, no traceback
    for result, expected in (
        (unknown, "no stack 'nope' in us-east-1"),
        (missing, "has no output AuditTableName"),
        (no_credentials, "no AWS credentials found"),
    ):
        assert result.returncode == 2, result.stderr
        (line,) = result.stderr.strip().splitlines()
        assert expected in line, line


def test_an_operator_refreshes_the_sanctions_list_now_and_is_recorded_as_who_asked(server: str) -> None:
    # Given the server stored the sample list at start
    status = cli(server, "sanctions", "status")
    assert status.returncode == 0 and status.stdout.startswith("sample SDN list sha256:"), status.stderr
    # When an operator runs the refresh now
    refreshed = cli(server, "sanctions", "refresh", "--as", "ops@example.com")
    # Then the function ran (the same list: unchanged) and the audit trail names the operator
    assert refreshed.returncode == 0, refreshed.stderr
    assert refreshed.stdout.startswith("unchanged: 15 entries")
    case = f"sanctions-list-{datetime.now(UTC):%Y-%m}"
    trail = json.loads(cli(server, "audit", "show", case, "--json").stdout)
    assert trail[-1]["action"] == "sanctions_list.unchanged"
    assert trail[-1]["actor"] == {"kind": "user", "id": "ops@example.com"}
    assert trail[-1]["reasons"][0] == "requested by ops@example.com"


def test_the_weekly_report_runs_on_the_server_and_its_mailed_link_opens_in_a_browser(
    server: str, tmp_path: Path
) -> None:
    import re
    import urllib.error
    import urllib.request

    from backoffice.local.outbox import read_outbox

    # Given a finished case on the server
    cli(server, "send", event_file(tmp_path, "weekly", closed_won_detail(17)))
    executions(server)
    api = f"http://127.0.0.1:{int(server.rsplit(':', 1)[1]) + 1}"

    # When the weekly schedule runs there, as EventBridge Scheduler would run it in AWS
    request = urllib.request.Request(f"{api}/_local/schedules/weekly_process_report", data=b"", method="POST")
    with urllib.request.urlopen(request, timeout=120) as response:
        published = json.loads(response.read())

    # Then the report is published, and the CLI's report from the deployed path counts the same cases
    assert published["status"] == "published", published
    via_outputs = ("--outputs-file", str(OUTPUTS), "--endpoint-url", server)
    cli_report = json.loads(deployed(*via_outputs, "report", "--json").stdout)
    assert cli_report["cases"] == published["cases"]
    # And the owner's mail links to the report, which a browser (following redirects) opens from the gateway
    [mail] = [m for m in read_outbox(OUTBOX) if m.subject.startswith("Process report")]
    [link] = re.findall(r"http://\S+/reports/[A-Za-z0-9_-]+", mail.text)
    with urllib.request.urlopen(link, timeout=30) as response:
        page = response.read().decode()
        assert response.url.startswith(f"{api}/_local/s3/")
    assert f"<title>Process report: Example Firm LLP, {published['day']}</title>" in page
    # And a link nobody issued gets a page saying so
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{api}/reports/{'x' * 32}", timeout=30)
    assert refused.value.code == 404 and "Unknown link" in refused.value.read().decode()
