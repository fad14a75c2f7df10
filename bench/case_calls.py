"""Benchmark: what one onboarding case costs the local runtime in AWS calls, and the floor of one call.

The local runtime's pace (``bench/serve_throughput.py``) is bounded by the AWS calls a case makes: each goes
through botocore (serialize, sign, parse) and moto (parse, dispatch, serialize) in-process, under one GIL. This
bench runs ``CASE_CALLS_CASES`` (40) onboarding cases on an in-process runtime (IAM enforced, limits on, as
``make run``), after one first deal per new client, and counts every call the handlers, the engine and the
runtime make, by service and operation. It then times the cheapest call there is, a ``GetItem`` of a missing key
on an empty table, from outside any handler: the floor of one call.

Figures: calls per case (without the bench's own polling for the end), CPU-seconds per case, cases per
CPU-second, the floor in ms of CPU per call, and the ceiling that floor alone sets: 1 / (calls per case x floor),
cases per second on one core before any handler, engine, audit or sandbox work. Run with
``python -m bench case_calls``.
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from typing import Any

CASES = int(os.environ.get("CASE_CALLS_CASES", "40"))
FIRST_DEAL = 100_000
FLOOR_CALLS = 1_000
POLLING = {"stepfunctions.ListExecutions"}  # wait_until_idle's, not the case's


def run() -> dict[str, Any]:
    import botocore.client

    from backoffice.local.runtime import LocalRuntime
    from backoffice.local.samples import NEW_CLIENTS, Deal, new_client, put_deal

    calls: Counter[str] = Counter()
    lock = threading.Lock()
    original = botocore.client.BaseClient._make_api_call

    def counted(client: Any, operation: str, params: dict[str, Any]) -> Any:
        with lock:
            calls[f"{client.meta.service_model.service_name}.{operation}"] += 1
        return original(client, operation, params)

    botocore.client.BaseClient._make_api_call = counted  # type: ignore[method-assign]
    try:
        with LocalRuntime(retry_time_scale=0.001) as runtime:
            store, s3, bucket = runtime.sandbox(), runtime.client("s3"), runtime.documents_bucket
            for n in range(-len(NEW_CLIENTS), 0):
                deal = Deal(FIRST_DEAL + n, new_client(FIRST_DEAL + n))
                runtime.put_event(
                    "Opportunity Closed Won", put_deal(store, s3, bucket, deal), source="crm.salesforce"
                )
                runtime.wait_until_idle()
            details = [
                put_deal(store, s3, bucket, Deal(FIRST_DEAL + n, new_client(FIRST_DEAL + n)))
                for n in range(CASES)
            ]
            calls.clear()
            cpu_started = time.process_time()
            for detail in details:
                runtime.put_event("Opportunity Closed Won", detail, source="crm.salesforce")
            runtime.wait_until_idle()
            cpu = time.process_time() - cpu_started
            per_case = {k: round(v / CASES, 2) for k, v in calls.most_common() if k not in POLLING}
            statuses = Counter(e.status for e in runtime.executions())
            floor_ms = _floor_ms(runtime)
    finally:
        botocore.client.BaseClient._make_api_call = original  # type: ignore[method-assign]
    calls_per_case = round(sum(per_case.values()), 1)
    return {
        "cases": CASES,
        "statuses": dict(statuses),
        "calls_per_case": calls_per_case,
        "calls_per_case_by_operation": per_case,
        "cpu_s_per_case": round(cpu / CASES, 4),
        "cases_per_cpu_s": round(CASES / cpu, 2),
        "floor_ms_per_call": round(floor_ms, 3),
        "ceiling_cases_per_s_from_calls_alone": round(1000 / (calls_per_case * floor_ms), 1),
        "share_of_case_cpu_in_the_calls_floor": round(calls_per_case * floor_ms / 1000 / (cpu / CASES), 2),
    }


def _floor_ms(runtime: Any) -> float:
    dynamodb = runtime.client("dynamodb")
    dynamodb.create_table(
        TableName="bench-floor",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    started = time.process_time()
    for _ in range(FLOOR_CALLS):
        dynamodb.get_item(TableName="bench-floor", Key={"pk": {"S": "missing"}})
    return (time.process_time() - started) / FLOOR_CALLS * 1000
