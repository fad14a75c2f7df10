"""Benchmark: onboarding cases through a real ``backoffice serve``, batch after batch, as the data grows.

A ``backoffice serve`` process (its own interpreter, as a person starts it; retry back-off scaled by 0.001 so a
transient fault costs its retry, not its wait) gets ``SERVE_THROUGHPUT_CASES`` (1,000) won deals in batches of
100. For each batch, untimed set-up first: the CRM records the batch's deals and SOW PDFs (sandbox, through the
server). Then, timed: the batch's Closed Won events are put on the bus by ``SENDERS`` (4) threads, as a CRM's
relay would, with 5% of the deals sent a second time (at-least-once delivery: a new event id, the same business
key) and a transient fault injected before 10% of the events (the ERP or the PSA answers its next call as
unavailable once; the state machine's retry policy takes it). The batch ends when none of its cases runs. Before
the batches, set-up too: one first deal per new client name, sent alone (see ``run``).

Figures:
- accepted events/s: events put / seconds spent putting them (the server's bus accepts an event and delivers it
  to ``start_case`` afterwards, as EventBridge does, so this is the pace at which the bus takes events in);
- completed cases/s per batch of 100: 100 / seconds from the batch's first put to its last case's end;
- RSS of the server process after each batch, and MiB per case after the first batch (warm-up);
- baseline, same server, same run: an 11-state Pass-only machine, 100 executions started and finished the
  same way (the engine's floor on this machine), and the first batch's pace (flatness: last / first);
- checks: 0 lost (every deal's case ran once and SUCCEEDED), 0 doubled (one execution per case, one PSA project per
  deal, one ERP customer per new client name, one ``case.started`` per case and an ``event.duplicate`` record for
  every second delivery).

Run with ``python -m bench serve_throughput``; ``SERVE_THROUGHPUT_CASES=300`` for a shorter run.
``SERVE_THROUGHPUT_PYSPY=<file.svg>`` records a py-spy profile of the server for the whole run (if installed;
``.json``: speedscope, ``.txt``: collapsed stacks).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from infra.catalog import ROOT, Ref

CASES = int(os.environ.get("SERVE_THROUGHPUT_CASES", "1000"))
BATCH = 100
SENDERS = int(os.environ.get("SERVE_THROUGHPUT_SENDERS", "4"))
DUPLICATE_EVERY = 20  # 5% of the deals are delivered twice
FAULT_EVERY = 10  # a transient fault before 10% of the events
FIRST_DEAL = 100_000  # deal indexes of the bench's own, clear of the sample pipeline's
TARGET_CASES_PER_S = 20.0
TARGET_EVENTS_PER_S = 50.0
PASS_STATES = 11


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def start_server(port: int, outbox: Path) -> subprocess.Popen[str]:
    command = [
        sys.executable,
        "-m",
        "backoffice.cli.main",
        "serve",
        "--port",
        str(port),
        "--retry-time-scale",
        "0.001",
        "--outbox",
        str(outbox),
        "--write-outputs",
        "",  # the bench's server is not the one a person's commands should find
    ]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "layers/shared/python"), str(ROOT)])}
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    assert process.stdout is not None
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if "serving on" in line:
            # Keep draining its output so a chatty server never blocks on a full pipe.
            threading.Thread(target=lambda: [None for _ in process.stdout or ()], daemon=True).start()
            return process
        if process.poll() is not None:
            raise RuntimeError(f"backoffice serve exited: {line}{process.stdout.read()}")
    process.kill()
    raise RuntimeError("backoffice serve did not come up within 120 s")


def wait_for_executions(sfn: Any, arn: str, expected: int, timeout: float = 600) -> None:
    """Until ``expected`` executions of the machine exist and none runs."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        running = sfn.list_executions(stateMachineArn=arn, statusFilter="RUNNING", maxResults=1000)
        if not running["executions"]:
            started = _count(sfn, arn)
            if started >= expected:
                return
        time.sleep(0.1)
    raise TimeoutError(f"executions of {arn} still running after {timeout} s")


def _count(sfn: Any, arn: str) -> int:
    return sum(len(page["executions"]) for page in _pages(sfn, arn))


def _pages(sfn: Any, arn: str, **kwargs: Any) -> Any:
    token = None
    while True:
        page = sfn.list_executions(
            stateMachineArn=arn, maxResults=1000, **kwargs, **({"nextToken": token} if token else {})
        )
        yield page
        token = page.get("nextToken")
        if not token:
            return


def pass_only_pace(runtime: Any, executions: int = BATCH) -> float:
    """Executions/s of an 11-state Pass-only machine on the same server: the engine's floor."""
    sfn = runtime.client("stepfunctions")
    states: dict[str, Any] = {}
    for n in range(PASS_STATES):
        states[f"Step {n}"] = {
            "Type": "Pass",
            **({"Next": f"Step {n + 1}"} if n < PASS_STATES - 1 else {"End": True}),
        }
    arn = sfn.create_state_machine(
        name="bench-pass-only",
        definition=json.dumps({"StartAt": "Step 0", "States": states}),
        roleArn="arn:aws:iam::123456789012:role/bench-pass-only",
    )["stateMachineArn"]
    started = time.perf_counter()
    with ThreadPoolExecutor(SENDERS) as pool:
        list(
            pool.map(
                lambda n: sfn.start_execution(stateMachineArn=arn, name=f"pass-{n}", input="{}"),
                range(executions),
            )
        )
    wait_for_executions(sfn, arn, executions)
    return executions / (time.perf_counter() - started)


def run() -> dict[str, Any]:
    from backoffice.audit import AuditTrail
    from backoffice.local.runtime import LocalRuntime
    from backoffice.local.samples import NEW_CLIENTS, Deal, new_client, put_deal
    from backoffice.local.server import free_port

    port = free_port()
    outbox = Path(tempfile.mkdtemp(prefix="bench-serve-outbox-"))
    server = start_server(port, outbox)
    spy = None
    profile = os.environ.get("SERVE_THROUGHPUT_PYSPY")
    py_spy = shutil.which("py-spy") or shutil.which("py-spy", path=str(Path(sys.executable).parent))
    if profile and py_spy:
        spy = subprocess.Popen(
            [
                py_spy,
                "record",
                "--pid",
                str(server.pid),
                "--output",
                profile,
                "--format",
                {".json": "speedscope", ".txt": "raw"}.get(Path(profile).suffix, "flamegraph"),
                "--rate",
                "50",
                "--nonblocking",
                "--gil",  # only the thread holding the GIL: where the server's one CPU of Python goes
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    runtime = LocalRuntime(endpoint_url=f"http://127.0.0.1:{port}", api_port=None)
    runtime.start(create_resources=False)
    try:
        rss_start = rss_mib(server.pid)
        floor = pass_only_pace(runtime)
        store, s3, bucket = runtime.sandbox(), runtime.client("s3"), runtime.documents_bucket
        sfn = runtime.client("stepfunctions")
        onboarding = runtime.state_machine_arn("onboarding")
        # Set-up: one first deal per new client, one at a time, so the ERP knows each client before the timed
        # deals arrive, and the timed batches measure matching rather than the first deals of a client waiting
        # their turn (two at once: one creates it, the other retries RecordBeingCreated; docs/concurrency.md).
        for n in range(-len(NEW_CLIENTS), 0):
            deal = Deal(FIRST_DEAL + n, new_client(FIRST_DEAL + n))
            runtime.put_event(
                "Opportunity Closed Won", put_deal(store, s3, bucket, deal), source="crm.salesforce"
            )
            wait_for_executions(sfn, onboarding, len(NEW_CLIENTS) + n + 1)
        warm_up = len(NEW_CLIENTS)
        batches: list[dict[str, Any]] = []
        deals: list[Deal] = []
        duplicates: list[str] = []
        sent_events, send_seconds = 0, 0.0
        fault_systems = ("erp", "psa")
        for first in range(0, CASES, BATCH):
            batch = [
                Deal(FIRST_DEAL + n, new_client(FIRST_DEAL + n))
                for n in range(first, min(first + BATCH, CASES))
            ]
            details = {deal.opportunity_id: put_deal(store, s3, bucket, deal) for deal in batch}  # set-up
            deals.extend(batch)
            # What is sent, in order: each deal once, a second copy of every 20th right after it (racing it,
            # with 4 senders), and a fault injected before every 10th event.
            sends: list[tuple[str | None, dict[str, Any] | None]] = []
            for k, deal in enumerate(batch):
                if (first + k) % FAULT_EVERY == FAULT_EVERY // 2:
                    sends.append((fault_systems[(first + k) // FAULT_EVERY % 2], None))
                sends.append((None, details[deal.opportunity_id]))
                if (first + k) % DUPLICATE_EVERY == 0:
                    sends.append((None, details[deal.opportunity_id]))
                    duplicates.append(deal.opportunity_id)

            def send(item: tuple[str | None, dict[str, Any] | None]) -> float:
                fault, detail = item
                if fault is not None:
                    store.inject_fault(fault, "ConnectorUnavailable", times=1)
                    return 0.0
                put_started = time.perf_counter()
                runtime.put_event("Opportunity Closed Won", detail or {}, source="crm.salesforce")
                return time.perf_counter() - put_started

            started = time.perf_counter()
            with ThreadPoolExecutor(SENDERS) as pool:
                list(pool.map(send, sends))
            accepted = time.perf_counter()
            events = sum(1 for fault, _ in sends if fault is None)
            sent_events += events
            send_seconds += accepted - started
            wait_for_executions(sfn, onboarding, warm_up + len(deals))
            done = time.perf_counter()
            batches.append(
                {
                    "cases": len(deals),
                    "events_per_s": round(events / (accepted - started), 1),
                    "cases_per_s": round(len(batch) / (done - started), 2),
                    "rss_mib": round(rss_mib(server.pid), 1),
                }
            )
            print(json.dumps(batches[-1]), file=sys.stderr, flush=True)
        checks = check_once_each(
            runtime, deals, duplicates, AuditTrail(runtime.resolve(Ref("table_name", "audit")))
        )
    finally:
        runtime.stop()
        if spy is not None:
            spy.send_signal(2)
            spy.wait(timeout=60)
        server.terminate()
        server.wait(timeout=60)
        shutil.rmtree(outbox, ignore_errors=True)
    rates = [b["cases_per_s"] for b in batches]
    after_warm_up = (batches[-1]["rss_mib"] - batches[0]["rss_mib"]) / max(
        1, batches[-1]["cases"] - batches[0]["cases"]
    )
    overall = len(deals) / sum(b["cases"] and BATCH / b["cases_per_s"] for b in batches)
    return {
        "cases": len(deals),
        "events": sent_events,
        "senders": SENDERS,
        "accepted_events_per_s": round(sent_events / send_seconds, 1),
        "completed_cases_per_s": round(overall, 2),
        "cases_per_s_per_batch": rates,
        "rss_mib_per_batch": [b["rss_mib"] for b in batches],
        "rss_mib_at_start": round(rss_start, 1),
        "mib_per_case_after_warm_up": round(after_warm_up, 4),
        "baseline_pass_only_executions_per_s": round(floor, 1),
        "ratio_cases_to_pass_only": round(overall / floor, 3),
        "ratio_last_batch_to_first": round(rates[-1] / rates[0], 2),
        "target_cases_per_s": TARGET_CASES_PER_S,
        "target_events_per_s": TARGET_EVENTS_PER_S,
        **checks,
    }


def check_once_each(runtime: Any, deals: list[Any], duplicates: list[str], audit: Any) -> dict[str, Any]:
    """0 lost, 0 doubled: every deal one SUCCEEDED case, one project, one start; every second delivery on the
    trail as a duplicate; one ERP customer per new client name."""
    sfn = runtime.client("stepfunctions")
    executions = [
        e for page in _pages(sfn, runtime.state_machine_arn("onboarding")) for e in page["executions"]
    ]
    names = Counter(e["name"] for e in executions)
    status = {e["name"]: e["status"] for e in executions}
    expected = [f"onboard-{deal.opportunity_id}" for deal in deals]
    lost = [case for case in expected if status.get(case) != "SUCCEEDED"]
    projects = Counter(p.get("opportunity_id") for p in runtime.sandbox().all("psa", "project"))
    doubled = [case for case, n in names.items() if n > 1]
    doubled += [f"project of {deal.opportunity_id}" for deal in deals if projects[deal.opportunity_id] > 1]
    lost += [f"project of {deal.opportunity_id}" for deal in deals if projects[deal.opportunity_id] == 0]
    customers = Counter(c["customer_name"] for c in runtime.sandbox().all("erp", "customer"))
    doubled += [f"customer {name}" for name in {d.client.customer_name for d in deals} if customers[name] > 1]
    starts_not_once, duplicates_unrecorded = 0, 0
    for deal in deals:
        actions = [(r.action, r.outcome) for r in audit.records(f"onboard-{deal.opportunity_id}")]
        starts_not_once += actions.count(("case.started", "started")) != 1
        if deal.opportunity_id in duplicates:
            duplicates_unrecorded += ("event.duplicate", "ignored") not in actions
    return {
        "lost": len(lost),
        "doubled": len(doubled) + starts_not_once,
        "duplicates_sent": len(duplicates),
        "duplicates_not_on_the_trail": duplicates_unrecorded,
        "lost_examples": lost[:5],
        "doubled_examples": doubled[:5],
        "statuses": dict(Counter(status.values())),
    }


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
