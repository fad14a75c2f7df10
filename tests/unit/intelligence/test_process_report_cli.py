"""``backoffice report`` and ``backoffice audit export`` through argparse, on an in-memory trail (no AWS)."""

from __future__ import annotations

import argparse
import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from backoffice.audit import AuditRecord
from backoffice.cli.report import add_audit_export_parser, add_report_parsers, audit_trail_of
from backoffice.intelligence.samples import sample_records
from infra.catalog import Ref


@dataclass
class FakeRuntime:
    """Stands in for a connected LocalRuntime: resolves the audit table's name, hands out clients, records that it
    was stopped."""

    stopped: bool = False
    resolved: list[Any] = field(default_factory=list)

    def resolve(self, ref: Any) -> str:
        self.resolved.append(ref)
        return "backoffice-audit"

    def client(self, service: str) -> Any:
        return f"{service} client"  # what the trail is given to read with (no AWS call is made to build it)

    def stop(self) -> None:
        self.stopped = True


@dataclass
class InMemoryTrail:
    items: list[AuditRecord]

    def case_ids(self) -> list[str]:
        return sorted({r.case_id for r in self.items})

    def records(self, case_id: str) -> list[AuditRecord]:
        return sorted((r for r in self.items if r.case_id == case_id), key=lambda r: r.seq)


@pytest.fixture
def records() -> list[AuditRecord]:
    return sample_records(cases=10, invoices=2)


@pytest.fixture
def runtime() -> FakeRuntime:
    return FakeRuntime()


def parser_for(runtime: FakeRuntime, records: list[AuditRecord]) -> argparse.ArgumentParser:
    """The commands wired the way cli/main.py wires them: report at the top, export under ``audit``."""
    parser = argparse.ArgumentParser(prog="backoffice")
    sub = parser.add_subparsers(dest="command", required=True)
    add_report_parsers(sub, lambda args: runtime, trail_of=lambda rt: InMemoryTrail(records))
    audit = sub.add_parser("audit")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True)
    add_audit_export_parser(audit_sub, lambda args: runtime, trail_of=lambda rt: InMemoryTrail(records))
    return parser


def run(parser: argparse.ArgumentParser, *argv: str) -> int:
    args = parser.parse_args(argv)
    return int(args.func(args))


def test_report_writes_the_html_page_and_prints_its_path(
    runtime: FakeRuntime, records: list[AuditRecord], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a runtime whose trail holds a dozen cases
    out = tmp_path / "reports" / "month.html"
    # When the report is asked for
    status = run(parser_for(runtime, records), "report", "--out", str(out))
    # Then the page is written, its path printed, and the runtime connection closed
    assert status == 0
    assert capsys.readouterr().out.strip() == str(out)
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert runtime.stopped


def test_report_json_prints_the_report_for_machines(
    runtime: FakeRuntime, records: list[AuditRecord], capsys: pytest.CaptureFixture[str]
) -> None:
    status = run(parser_for(runtime, records), "report", "--json")
    document = json.loads(capsys.readouterr().out)
    assert status == 0
    assert document["cases"] == len({r.case_id for r in records}) - 1
    assert "exceptions" in document and "process_maps" in document


def test_report_of_an_empty_trail_says_so(runtime: FakeRuntime, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(parser_for(runtime, []), "report", "--json") == 1
    assert "no records" in capsys.readouterr().err


def test_report_sample_needs_no_runtime(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Given a connect that fails (no server is running)
    def no_server(args: argparse.Namespace) -> Any:
        raise AssertionError("the sample report must not connect")

    parser = argparse.ArgumentParser()
    add_report_parsers(parser.add_subparsers(dest="command"), no_server)
    # When the sample report is written
    out = tmp_path / "sample.html"
    args = parser.parse_args(["report", "--sample", "--out", str(out)])
    # Then it is there
    assert args.func(args) == 0 and "<svg" in out.read_text(encoding="utf-8")


def test_audit_export_csv_goes_to_standard_output(
    runtime: FakeRuntime, records: list[AuditRecord], capsys: pytest.CaptureFixture[str]
) -> None:
    status = run(parser_for(runtime, records), "audit", "export", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert status == 0 and len(rows) == len(records)
    assert list(rows[0]) == ["case_id", "activity", "timestamp", "actor", "workflow", "outcome"]
    assert runtime.stopped


def test_audit_export_xes_to_a_file_says_what_it_wrote(
    runtime: FakeRuntime, records: list[AuditRecord], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "trail.xes"
    status = run(parser_for(runtime, records), "audit", "export", "--format", "xes", "--out", str(out))
    cases = len({r.case_id for r in records})
    assert status == 0
    assert capsys.readouterr().out.strip() == f"wrote {len(records)} events of {cases} cases to {out} (xes)"
    assert out.read_text(encoding="utf-8").count("<trace>") == cases


def test_audit_export_needs_a_known_format(runtime: FakeRuntime, records: list[AuditRecord]) -> None:
    with pytest.raises(SystemExit):
        parser_for(runtime, records).parse_args(["audit", "export", "--format", "json"])


def test_the_trail_read_is_the_runtime_audit_table(runtime: FakeRuntime) -> None:
    # When the default trail of a runtime is built
    trail = audit_trail_of(runtime)
    # Then it is the audit table the catalog names, read with the runtime's own client (the deployed stack's,
    # with the operator's credentials, under --stack), and no AWS call is made to build it
    assert runtime.resolved == [Ref("table_name", "audit")]
    assert trail.table_name == "backoffice-audit"
    assert trail.dynamodb == "dynamodb client"


def test_report_measures_open_cases_at_the_time_asked_for(
    runtime: FakeRuntime, records: list[AuditRecord], capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a trail whose last two cases wait for legal
    # When the report is taken as of 1 April 2026
    run(parser_for(runtime, records), "report", "--json", "--as-of", "2026-04-01T00:00:00Z")
    document = json.loads(capsys.readouterr().out)
    # Then that is the time open cases are measured at
    assert document["as_of"].startswith("2026-04-01T00:00:00")
    assert document["waits"]["waiting_now"]
    assert all(w["seconds"] > 0 for w in document["waits"]["waiting_now"])
