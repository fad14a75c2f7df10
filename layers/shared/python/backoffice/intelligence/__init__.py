"""Process intelligence from the audit trail: an event log, process metrics, a report and exports.

Pure functions over ``AuditRecord`` lists (``load_records`` reads them from an ``AuditTrail``); no AWS calls.

    records = load_records(AuditTrail(table_name))
    events = event_log(records)
    report = build_report(records)
    Path("report.html").write_text(render_html(report))
    export_xes(events, "audit.xes")
"""

from backoffice.intelligence.events import Event, event_log
from backoffice.intelligence.export import export_csv, export_xes
from backoffice.intelligence.finance import cash_freed, dso, lockup
from backoffice.intelligence.html_report import render_html
from backoffice.intelligence.loader import RecordSource, load_records
from backoffice.intelligence.management import GLOSSARY, Definition, ManagementNumbers, management_numbers
from backoffice.intelligence.metrics import (
    Report,
    ai_agreement,
    approval_turnaround,
    build_report,
    case_summaries,
    cycle_times,
    exceptions,
    first_pass_yield,
    process_maps,
    rework,
    scorer_agreement,
    to_json,
    waits,
)
from backoffice.intelligence.receivables import billing_lag
from backoffice.intelligence.stats import Stats

__all__ = [
    "GLOSSARY",
    "Definition",
    "Event",
    "ManagementNumbers",
    "RecordSource",
    "Report",
    "Stats",
    "ai_agreement",
    "approval_turnaround",
    "billing_lag",
    "build_report",
    "case_summaries",
    "cash_freed",
    "cycle_times",
    "dso",
    "event_log",
    "exceptions",
    "export_csv",
    "export_xes",
    "first_pass_yield",
    "load_records",
    "lockup",
    "management_numbers",
    "process_maps",
    "render_html",
    "rework",
    "scorer_agreement",
    "to_json",
    "waits",
]
