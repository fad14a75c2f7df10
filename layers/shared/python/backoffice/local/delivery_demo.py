"""``make run``, after the close: October 2026's delivery measured as the monthly schedule does (each person's
capacity and hours, each project's work in progress), on case ``delivery-2026-10`` for the process report."""

from __future__ import annotations

from decimal import Decimal
from typing import TextIO

from backoffice.audit import AuditTrail
from backoffice.local.billing_samples import PERIOD
from backoffice.local.runtime import LocalRuntime
from infra.catalog import Ref


def run_delivery_measurement(runtime: LocalRuntime, out: TextIO) -> bool:
    """Runs ``measure_delivery`` for the sample month and prints what it found. Returns as expected?"""
    month = f"{PERIOD.start:%Y-%m}"
    result, error = runtime.lambdas.invoke("measure_delivery", {"source": "backoffice.local", "month": month})
    if error is not None:
        print(f"Delivery measurement failed: {error}", file=out)
        return False
    records = AuditTrail(runtime.resolve(Ref("table_name", "audit"))).records(result["case_id"])
    people = {r.data["worker_id"]: r.data for r in records if r.action == "delivery.measured"}
    wip = {r.data["project_id"]: r.data for r in records if r.action == "wip.measured"}
    available = sum((Decimal(p["available_hours"]) for p in people.values()), Decimal(0))
    billable = sum((Decimal(p["billable_hours"]) for p in people.values()), Decimal(0))
    in_progress = sum((Decimal(w["wip_base"]) for w in wip.values()), Decimal(0))
    utilization = f"{billable / available:.0%}" if available else "n/a"
    print(f"Delivery of {month} measured ({result['case_id']}):", file=out)
    print(
        f"  {len(people)} people, {billable:,.1f} billable of {available:,.1f} available hours "
        f"(utilization {utilization})",
        file=out,
    )
    print(f"  work in progress after the billing run: {in_progress:,.2f} on {len(wip)} project(s)", file=out)
    return bool(people)
