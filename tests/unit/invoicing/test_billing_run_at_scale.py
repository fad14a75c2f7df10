"""A period of 10,000 projects: what the billing run keeps in its state stays small; the rest is in S3.

Step Functions caps a state at 256 KiB. The open step hands the Map a file of projects, not a list; the summary
reads each project's result from what the Map's ResultWriter wrote, in AWS's format. In-memory fakes, no AWS.
"""

from __future__ import annotations

import io
import json
from datetime import date
from typing import Any

from backoffice.connectors.ports import Page
from backoffice.invoicing.policy import BillingPolicy
from backoffice.invoicing.steps import (
    BLOCKED_LISTED,
    BillingFiles,
    open_period,
    read_project_results,
    summarize,
)
from backoffice.models import BillingPeriodClosed, Project

STATE_LIMIT = 256 * 1024
FIRM_SIZE = 10_000


class MemoryS3:
    def __init__(self) -> None:
        self.objects: dict[tuple[str, str], bytes] = {}

    def put_object(self, *, Bucket: str, Key: str, Body: bytes, **_: Any) -> dict[str, Any]:
        self.objects[(Bucket, Key)] = Body
        return {}

    def get_object(self, *, Bucket: str, Key: str) -> dict[str, Any]:
        return {"Body": io.BytesIO(self.objects[(Bucket, Key)])}


class ManyProjects:
    """A PSA listing ``count`` projects in pages of 500, and no line."""

    def __init__(self, count: int) -> None:
        self.projects = [
            Project.model_validate(
                {
                    "id": f"P-{n:05d}",
                    "project_name": f"Engagement {n}",
                    "client_id": "BC-001",
                    "billing_model": "retainer",
                    "currency": "USD",
                }
            )
            for n in range(count)
        ]

    def list_billable_projects(self, start: date, end: date, token: str | None) -> Page[Project]:
        first = int(token or 0)
        following = first + 500
        return Page(
            self.projects[first:following], str(following) if following < len(self.projects) else None
        )

    def list_time_entries(self, start: date, end: date, token: str | None) -> Page[Any]:
        return Page([])

    def list_expenses(self, start: date, end: date, token: str | None) -> Page[Any]:
        return Page([])


class NoWorkers:
    def list_workers(self, token: str | None) -> Page[Any]:
        return Page([])


def test_the_open_step_hands_the_map_a_file_not_a_list_of_10000_projects() -> None:
    # Given a period of 10,000 projects and a firm that bills 20 at once and tolerates 2 % failed projects
    s3 = MemoryS3()
    files = BillingFiles(s3, "documents", "billing-2026-11")
    request = BillingPeriodClosed(period_start=date(2026, 11, 1), period_end=date(2026, 11, 30))
    policy = BillingPolicy(max_concurrent_projects=20, tolerated_failure_percentage=2.0)
    # When the period is opened
    opened = open_period(request, ManyProjects(FIRM_SIZE), NoWorkers(), files, policy)  # type: ignore[arg-type]
    # Then the state gets the count, where the list is, and the Map's settings: a few hundred bytes
    assert len(json.dumps(opened)) < 2_000
    assert opened["projects"] == FIRM_SIZE
    assert opened["map_run"] == {"max_concurrency": 20, "tolerated_failure_percentage": 2.0}
    assert opened["results_prefix"] == "billing/billing-2026-11/results"
    # And the list is a JSON array of items, one per project, as the Map's ItemReader reads it
    items = json.loads(s3.objects[("documents", opened["project_list"])])
    assert len(items) == FIRM_SIZE and items[0] == {"project_id": "P-00000"}


def written_results(
    s3: MemoryS3, succeeded: list[dict[str, Any]], failed: list[dict[str, Any]]
) -> dict[str, Any]:
    """What a Distributed Map's ResultWriter leaves: result files per status and a manifest naming them."""
    folder = "billing/run/results/0b5e/"
    files: dict[str, list[dict[str, Any]]] = {"SUCCEEDED": [], "FAILED": [], "PENDING": []}
    for status, entries in (("SUCCEEDED", succeeded), ("FAILED", failed)):
        body = json.dumps(entries).encode()
        s3.put_object(Bucket="documents", Key=f"{folder}{status}_0.json", Body=body)
        files[status].append({"Key": f"{folder}{status}_0.json", "Size": len(body)})
    manifest = {"DestinationBucket": "documents", "MapRunArn": "arn:map-run", "ResultFiles": files}
    s3.put_object(Bucket="documents", Key=f"{folder}manifest.json", Body=json.dumps(manifest).encode())
    return {
        "MapRunArn": "arn:map-run",
        "ResultWriterDetails": {"Bucket": "documents", "Key": f"{folder}manifest.json"},
    }


def test_the_summary_of_10000_projects_reads_their_results_from_s3_and_fits_a_state() -> None:
    # Given 10,000 projects' results written by the Map: all blocked by a business rule but two that failed
    s3 = MemoryS3()
    blocked = {
        "outcome": "Invoice Blocked",
        "exceptions_by_rule": {"BR1": 1},
        "reasons": ["BR1 3 time entries are still drafts: have them submitted and approved" * 3],
        "technical_fault": False,
    }
    succeeded = [
        {"Status": "SUCCEEDED", "Input": "{}", "Output": json.dumps({"project_id": f"P-{n:05d}", **blocked})}
        for n in range(FIRM_SIZE - 2)
    ]
    failed = [
        {
            "Status": "FAILED",
            "Input": json.dumps({"project_id": f"P-{n:05d}", "case_id": f"run-P-{n:05d}"}),
            "Error": "States.Runtime",
            "Cause": "a fault no step caught",
        }
        for n in (FIRM_SIZE - 2, FIRM_SIZE - 1)
    ]
    # When the run is summarized from them
    summary = summarize(read_project_results(s3, written_results(s3, succeeded, failed)), {})
    # Then every project counts, the failed ones as technical faults with their error, and the summary fits
    assert summary["projects"] == FIRM_SIZE and summary["invoices_blocked"] == FIRM_SIZE
    assert summary["technical_faults"] == 2 and summary["exceptions_by_rule"] == {"BR1": FIRM_SIZE - 2}
    assert len(summary["blocked"]) == BLOCKED_LISTED
    assert len(json.dumps(summary)) < STATE_LIMIT // 4
    assert summarize(read_project_results(s3, written_results(s3, [], failed)), {})["blocked"][0] == {
        "project_id": f"P-{FIRM_SIZE - 2:05d}",
        "reasons": ["States.Runtime: a fault no step caught"],
        "technical_fault": True,
    }
