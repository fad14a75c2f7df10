"""The event log for process-mining tools: CSV (one row per event) and IEEE 1849 XES.

XES declares the standard Concept, Time, Organizational and Lifecycle extensions, the globals every event carries,
and the Activity and Resource classifiers; each case is a trace named by its case id, each audit record an event
with ``concept:name`` (the activity), ``time:timestamp``, ``org:resource`` (``system:<function>``, ``user:<e-mail>``
or ``ai:<model>``), ``org:role`` (the actor's kind) and ``lifecycle:transition`` = ``complete`` (the trail records
what was done, not when it began). The workflow, step, action, outcome and sequence number ride along as plain
attributes.
"""

from __future__ import annotations

import csv
import io
import os
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import IO, Any, cast

from backoffice.intelligence.events import Event

CSV_COLUMNS = ("case_id", "activity", "timestamp", "actor", "workflow", "outcome")
XES_NAMESPACE = "http://www.xes-standard.org/"
XES_EXTENSIONS = (
    ("Concept", "concept", "http://www.xes-standard.org/concept.xesext"),
    ("Time", "time", "http://www.xes-standard.org/time.xesext"),
    ("Organizational", "org", "http://www.xes-standard.org/org.xesext"),
    ("Lifecycle", "lifecycle", "http://www.xes-standard.org/lifecycle.xesext"),
)

Destination = str | os.PathLike[str] | IO[str] | IO[bytes]


def xes_timestamp(moment: datetime) -> str:
    """xs:dateTime with milliseconds and the offset, as XES tools expect: ``2026-03-02T08:30:00.125+00:00``."""
    return moment.isoformat(timespec="milliseconds")


@contextmanager
def _text_stream(file: Destination) -> Iterator[IO[str]]:
    if isinstance(file, str | os.PathLike):
        with open(file, "w", encoding="utf-8", newline="") as stream:
            yield stream
    elif isinstance(file, io.RawIOBase | io.BufferedIOBase) or "b" in str(getattr(file, "mode", "")):
        wrapper = io.TextIOWrapper(cast(IO[bytes], file), encoding="utf-8", newline="")
        try:
            yield wrapper
        finally:
            wrapper.flush()
            wrapper.detach()  # the caller's stream stays open
    else:
        yield cast(IO[str], file)


def export_csv(events: Iterable[Event], file: Destination) -> int:
    """Write ``case_id, activity, timestamp, actor, workflow, outcome`` rows; returns the number of events."""
    rows = 0
    with _text_stream(file) as stream:
        writer = csv.writer(stream, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        for e in events:
            writer.writerow([e.case_id, e.activity, e.timestamp.isoformat(), e.actor, e.workflow, e.outcome])
            rows += 1
    return rows


def _attribute(parent: ET.Element, kind: str, key: str, value: Any) -> None:
    ET.SubElement(parent, kind, {"key": key, "value": str(value)})


def xes_document(events: Sequence[Event], *, name: str = "backoffice audit trail") -> ET.Element:
    """The event log as an XES element tree: one trace per case, events in the case's chain order."""
    log = ET.Element(
        "log",
        {"xes.version": "1849-2016", "xes.features": "nested-attributes", "xmlns": XES_NAMESPACE},
    )
    for ext_name, prefix, uri in XES_EXTENSIONS:
        ET.SubElement(log, "extension", {"name": ext_name, "prefix": prefix, "uri": uri})
    trace_globals = ET.SubElement(log, "global", {"scope": "trace"})
    _attribute(trace_globals, "string", "concept:name", "__INVALID__")
    event_globals = ET.SubElement(log, "global", {"scope": "event"})
    _attribute(event_globals, "string", "concept:name", "__INVALID__")
    _attribute(event_globals, "date", "time:timestamp", "1970-01-01T00:00:00.000+00:00")
    _attribute(event_globals, "string", "org:resource", "__INVALID__")
    _attribute(event_globals, "string", "lifecycle:transition", "complete")
    ET.SubElement(log, "classifier", {"name": "Activity", "keys": "concept:name"})
    ET.SubElement(log, "classifier", {"name": "Resource", "keys": "org:resource"})
    ET.SubElement(
        log, "classifier", {"name": "Activity and transition", "keys": "concept:name lifecycle:transition"}
    )
    _attribute(log, "string", "concept:name", name)

    by_case: dict[str, list[Event]] = {}
    for e in events:
        by_case.setdefault(e.case_id, []).append(e)
    for case_id, trail in by_case.items():
        trace = ET.SubElement(log, "trace")
        _attribute(trace, "string", "concept:name", case_id)
        _attribute(trace, "string", "workflow", trail[0].workflow)
        for e in sorted(trail, key=lambda x: x.seq):
            node = ET.SubElement(trace, "event")
            _attribute(node, "string", "concept:name", e.activity)
            _attribute(node, "date", "time:timestamp", xes_timestamp(e.timestamp))
            _attribute(node, "string", "org:resource", e.actor)
            _attribute(node, "string", "org:role", e.actor_kind)
            _attribute(node, "string", "lifecycle:transition", e.lifecycle)
            _attribute(node, "string", "workflow", e.workflow)
            _attribute(node, "string", "step", e.step)
            _attribute(node, "string", "action", e.action)
            _attribute(node, "string", "outcome", e.outcome)
            _attribute(node, "int", "seq", e.seq)
    ET.indent(log, space="  ")
    return log


def export_xes(events: Iterable[Event], file: Destination, *, name: str = "backoffice audit trail") -> int:
    """Write the event log as XES (UTF-8); returns the number of traces (cases)."""
    root = xes_document(list(events), name=name)
    text = '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
    with _text_stream(file) as stream:
        stream.write(text)
    return len(root.findall("trace"))
