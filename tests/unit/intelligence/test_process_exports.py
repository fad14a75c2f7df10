"""Exports for process-mining tools: CSV columns, and XES that a real process-mining library (pm4py) loads."""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pm4py
import pytest

from backoffice.audit import Actor
from backoffice.intelligence import Event, event_log, export_csv, export_xes
from backoffice.intelligence.samples import TrailWriter, sample_records

XES = "{http://www.xes-standard.org/}"
# pm4py suggests an optional faster reader; the plain one is the one under test.
pytestmark = pytest.mark.filterwarnings("ignore:Install the optional requirement:UserWarning")


@pytest.fixture(scope="module")
def events() -> list[Event]:
    return event_log(sample_records(cases=12, invoices=3))


def test_csv_has_one_row_per_event_with_the_mining_columns(events: list[Event], tmp_path: Path) -> None:
    # Given the event log of 12 onboarding and 3 invoicing cases
    out = tmp_path / "log.csv"
    # When it is exported as CSV
    written = export_csv(events, out)
    # Then the header names the columns tools map, and every event is a row
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert list(rows[0]) == ["case_id", "activity", "timestamp", "actor", "workflow", "outcome"]
    assert written == len(rows) == len(events)
    first = rows[0]
    assert (first["case_id"], first["activity"], first["actor"]) == (
        events[0].case_id,
        events[0].activity,
        events[0].actor,
    )
    assert first["timestamp"].endswith("+00:00")


def test_csv_goes_to_text_and_binary_streams_alike(events: list[Event]) -> None:
    text, binary = io.StringIO(), io.BytesIO()
    export_csv(events[:3], text)
    export_csv(events[:3], binary)
    assert binary.getvalue().decode() == text.getvalue()
    assert text.getvalue().splitlines()[0] == "case_id,activity,timestamp,actor,workflow,outcome"


def test_xes_loads_in_pm4py_with_one_trace_per_case_and_every_event(
    events: list[Event], tmp_path: Path
) -> None:
    # Given the event log exported as XES
    out = tmp_path / "log.xes"
    traces = export_xes(events, out)
    cases = {e.case_id for e in events}
    # When pm4py reads it, as a dataframe and as a classic event log
    frame = pm4py.read_xes(str(out))
    log = pm4py.read_xes(str(out), return_legacy_log_object=True)
    # Then every case is a trace and every audit record an event, with activity, time and resource
    assert traces == len(cases) == frame["case:concept:name"].nunique() == len(log)
    assert len(frame) == len(events) == sum(len(trace) for trace in log)
    assert set(frame["concept:name"]) == {e.activity for e in events}
    assert set(frame["org:resource"]) == {e.actor for e in events}
    assert set(frame["lifecycle:transition"]) == {"complete"}
    first = frame[frame["case:concept:name"] == events[0].case_id].iloc[0]
    assert first["time:timestamp"].to_pydatetime() == events[0].timestamp.replace(
        microsecond=events[0].timestamp.microsecond // 1000 * 1000
    )


def test_xes_declares_the_standard_extensions_globals_and_classifiers(events: list[Event]) -> None:
    # Given the XES text
    buffer = io.StringIO()
    export_xes(events, buffer)
    root = ET.fromstring(buffer.getvalue())
    # Then it is an IEEE 1849 log with the Concept, Time, Organizational and Lifecycle extensions declared
    assert root.tag == f"{XES}log" and root.get("xes.version") == "1849-2016"
    assert {e.get("prefix"): e.get("uri") for e in root.findall(f"{XES}extension")} == {
        "concept": "http://www.xes-standard.org/concept.xesext",
        "time": "http://www.xes-standard.org/time.xesext",
        "org": "http://www.xes-standard.org/org.xesext",
        "lifecycle": "http://www.xes-standard.org/lifecycle.xesext",
    }
    assert {g.get("scope") for g in root.findall(f"{XES}global")} == {"trace", "event"}
    assert {c.get("name"): c.get("keys") for c in root.findall(f"{XES}classifier")}[
        "Activity"
    ] == "concept:name"
    # And each event carries its name, timestamp, resource and transition
    event = root.find(f"{XES}trace/{XES}event")
    assert event is not None
    keys = {child.get("key"): child.tag for child in event}
    assert keys["concept:name"] == f"{XES}string" and keys["time:timestamp"] == f"{XES}date"
    assert {"org:resource", "lifecycle:transition"} <= set(keys)


def test_xes_escapes_markup_in_names(
    trail: TrailWriter, at: Callable[[float], datetime], tmp_path: Path
) -> None:
    # Given a case and an activity whose names hold XML specials
    trail.add("c&1", at(0), 'a <b> & "c"', Actor.system("x"), "x.done", "ok")
    out = tmp_path / "odd.xes"
    # When it is exported
    export_xes(event_log(trail.records), out)
    # Then pm4py reads the names back unchanged
    frame = pm4py.read_xes(str(out))
    assert list(frame["concept:name"]) == ['a <b> & "c": ok']
    assert list(frame["case:concept:name"]) == ["c&1"]
