"""Benchmark: a billing run of 500 generated projects on the local runtime, against one of 50 in the same run.

The invoicing workflow bills each project in a child execution of a Distributed Map (statemachines/
invoicing.asl.json); the local runtime runs the same ASL with moto's engine, taught what it lacks by
``backoffice.local.distributed_map``. Each run gets a fresh runtime and its own period's projects: retainer
projects of a small monthly fee (no time lines, no review, no approval), so every project takes the same steps
(check, draft, plan the approval, post, announce) and the figure is the engine's and the handlers' per project,
not a person's. The run must succeed with every project posted; ``per_project_ratio`` is the large run's Map
seconds per project (from its history: opening and scoring an empty period cost the same at any size) over the
small one's: 1.0 means the cost per project stays flat as the period grows (the inline Map
it replaced kept every project's result in the run's state and history). ``cpu_per_project_ratio`` is the same
with the process's CPU seconds, the steadier figure on a shared machine.

Run alone with ``python -m bench billing_run`` (``BENCH_BILLING_PROJECTS=500,50`` to change the sizes).
"""

from __future__ import annotations

import json
import logging
import os
import resource
import time
from datetime import date
from decimal import Decimal
from typing import Any

from backoffice.invoicing.readiness import BillingPeriod
from backoffice.local.billing_samples import billing_clients, billing_period_closed
from backoffice.local.runtime import ExecutionView, LocalRuntime
from backoffice.models import Contract, Project

PERIOD = BillingPeriod(start=date(2026, 11, 1), end=date(2026, 11, 30))
SIZES = (500, 50)  # the measured run, then its baseline
MONTHLY_FEE = Decimal("4000")  # under the invoice approval route's first threshold: no person is asked
TIMEOUT_SECONDS = 1800


def generated_projects(count: int) -> list[tuple[str, str, str, date | None, dict[str, Any]]]:
    """``count`` retainer projects spread over the sample clients, with their contracts, as sandbox records."""
    clients = [
        client for client in billing_clients() if client.id in ("BC-001", "BC-002", "BC-003", "BC-004")
    ]
    records: list[tuple[str, str, str, date | None, dict[str, Any]]] = []
    for client in billing_clients():
        records.append(("erp", "customer", client.id, None, client.to_json_dict(reveal_secrets=True)))
        records.append(("erp", "tax_template", client.id, None, {"template": "US services - exempt"}))
    for number in range(1, count + 1):
        project_id, client = f"R-{number:05d}", clients[number % len(clients)]
        contract = Contract.model_validate(
            {
                "id": f"SOW-{project_id}",
                "kind": "sow",
                "client_id": client.id,
                "title": f"Retainer {project_id}",
                "billing_model": "retainer",
                "currency": "USD",
                "monthly_retainer_fee": MONTHLY_FEE,
                "payment_terms_days": 30,
                "effective_date": date(2026, 1, 1),
                "end_date": date(2026, 12, 31),
            }
        )
        project = Project.model_validate(
            {
                "id": project_id,
                "project_name": f"Retainer {project_id}",
                "client_id": client.id,
                "contract_id": contract.id,
                "billing_model": "retainer",
                "currency": "USD",
                "service_line": "advisory",
                "expected_start_date": date(2026, 1, 15),
                "expected_end_date": date(2026, 12, 31),
            }
        )
        records.append(("psa", "project", project.id, None, project.to_json_dict()))
        records.append(("psa", "contract", contract.id, None, contract.to_json_dict()))
    return records


def _finished(runtime: LocalRuntime, name: str) -> ExecutionView:
    """The run once it ends, its status read 4 times a second (``wait_until_idle`` lists every execution 50
    times a second: measured 13 % of the process's CPU over a run of 200 projects)."""
    deadline = time.monotonic() + TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        run = runtime.execution(name, with_state=False)
        if run is not None and run.status != "RUNNING":
            return run
        time.sleep(0.25)
    raise TimeoutError(f"{name} still running after {TIMEOUT_SECONDS} s")


def bill(projects: int) -> dict[str, Any]:
    with LocalRuntime(retry_time_scale=0.001, seed_sample_firm=False, api_port=None) as runtime:
        runtime.sandbox().put_many(generated_projects(projects))
        started = time.perf_counter()
        cpu_started = time.process_time()
        runtime.put_event("Billing Period Closed", billing_period_closed(PERIOD), source="psa.certinia")
        (name,) = [e.name for e in runtime.executions() if e.workflow == "invoicing"]
        run = _finished(runtime, name)
        seconds = time.perf_counter() - started
        cpu_seconds = time.process_time() - cpu_started
        described = runtime.client("stepfunctions").describe_execution(executionArn=run.arn)
        summary = json.loads(described.get("output") or "{}")
        history = runtime.client("stepfunctions").get_execution_history(executionArn=run.arn, maxResults=1000)
    events = {event["type"]: event["timestamp"] for event in history["events"]}
    map_seconds = (events["MapStateExited"] - events["MapStateEntered"]).total_seconds()
    if run.status != "SUCCEEDED" or summary.get("invoices_posted") != projects:
        raise RuntimeError(
            f"the run of {projects} projects ended {run.status}: {described.get('cause')} {summary}"
        )
    return {
        "projects": projects,
        "seconds": round(seconds, 2),
        "cpu_seconds": round(cpu_seconds, 2),
        # The Map alone (from the run's history): opening and scoring the period are the same whatever its size.
        "map_seconds": round(map_seconds, 2),
        "map_seconds_per_project": round(map_seconds / projects, 4),
        "projects_per_second": round(projects / seconds, 2),
        # The process's CPU per project: on a shared machine the wall time also counts other processes' turns.
        "cpu_seconds_per_project": round(cpu_seconds / projects, 4),
        "run_history_events": len(history["events"]),
    }


def run() -> dict[str, Any]:
    logging.getLogger("moto").setLevel(logging.CRITICAL)
    sizes = [int(size) for size in os.environ.get("BENCH_BILLING_PROJECTS", "").split(",") if size] or SIZES
    measured, baseline = (bill(size) for size in sizes[:2])
    return {
        "measured": measured,
        "baseline": baseline,
        # The Map's seconds per project, large run over small: about 1.0 is flat; above it, each project costs
        # more as the period grows.
        "per_project_ratio": round(
            measured["map_seconds_per_project"] / baseline["map_seconds_per_project"], 2
        ),
        "cpu_per_project_ratio": round(
            measured["cpu_seconds_per_project"] / baseline["cpu_seconds_per_project"], 2
        ),
        "max_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "load_average": [round(load, 2) for load in os.getloadavg()],
    }


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
