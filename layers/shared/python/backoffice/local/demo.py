"""``make run``: the sample firm's events through the real workflows on the in-process local runtime."""

from __future__ import annotations

import logging
import time
from collections import Counter
from typing import TextIO

from backoffice.audit import AuditTrail
from backoffice.local.runtime import LocalRuntime
from backoffice.local.samples import closed_won_detail
from infra.catalog import Ref


def run_demo(out: TextIO) -> int:
    # The engine logs every Fail state as an exception; the summary below says what happened in business words.
    logging.getLogger("moto").setLevel(logging.CRITICAL)
    started = time.perf_counter()
    with LocalRuntime(retry_time_scale=0.01) as runtime:
        print("Local runtime up: moto in-process, Step Functions engine on, real handlers.", file=out)
        deals = [closed_won_detail(i) for i in range(1, 7)]
        for deal in deals:
            runtime.put_event("Opportunity Closed Won", deal, source="crm.salesforce")
        # At-least-once delivery: the CRM sends one deal again.
        runtime.put_event("Opportunity Closed Won", deals[0], source="crm.salesforce")
        # A lost deal that reached the won rule by mistake: the workflow blocks it with a reason.
        runtime.put_event("Opportunity Closed Won", closed_won_detail(7, won=False), source="crm.salesforce")
        # Bad input: a lower-case currency and a negative amount are rejected and parked, not crashed on.
        broken = closed_won_detail(8)
        broken["opportunity"]["currency"] = "usd"
        broken["opportunity"]["amount"] = "-5"
        runtime.put_event("Opportunity Closed Won", broken, source="crm.salesforce")
        runtime.wait_until_idle(timeout=120)

        audit = AuditTrail(runtime.resolve(Ref("table_name", "audit")))
        executions = runtime.executions()
        print(f"\n{'CASE':<34} {'STATUS':<10} OUTCOME", file=out)
        for execution in executions:
            records = audit.records(execution.name)
            outcome = next((r for r in reversed(records) if r.action == "outcome.published"), None)
            reason = f" ({outcome.reasons[0]})" if outcome and outcome.reasons else ""
            print(
                f"{execution.name:<34} {execution.status:<10} {outcome.outcome if outcome else '-'}{reason}",
                file=out,
            )

        deliveries = Counter(d.status for d in runtime.router.deliveries)
        parked = runtime.parked_messages()
        report = audit.verify()
        print("\nSummary", file=out)
        print(f"  events on the bus    {len(runtime.bus_events)} (incl. outcome events)", file=out)
        print(f"  cases started        {deliveries['started']}", file=out)
        print(f"  duplicates ignored   {deliveries['duplicate']}", file=out)
        print(f"  events rejected      {deliveries['rejected']} (parked: {len(parked)})", file=out)
        for message in parked:
            print(f"    - {message['case_id']}: {'; '.join(message.get('reasons', []))}", file=out)
        print(
            f"  executions           {len(executions)} "
            f"({', '.join(f'{n} {s.lower()}' for s, n in sorted(Counter(e.status for e in executions).items()))})",
            file=out,
        )
        print(f"  handler invocations  {len(runtime.lambdas.invocations)}", file=out)
        integrity = "intact" if report.ok else f"{len(report.problems)} problem(s)"
        print(f"  audit trail          {report.records_checked} records, hash chains {integrity}", file=out)
        print(f"  took                 {time.perf_counter() - started:.1f} s", file=out)
        healthy = report.ok and deliveries["failed"] == 0 and all(e.status != "RUNNING" for e in executions)
    return 0 if healthy else 1
