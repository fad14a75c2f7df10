"""The monthly delivery measurement on the local runtime (issue #20, R4 and R5): the sample firm's October 2026
measured by the real handler under its synthesized role, through the sandbox HRIS and PSA, onto case
``delivery-2026-10``; measured again, nothing doubles; after a line is billed, its project's figure is superseded.

Hand-computed: October 2026 has 22 weekdays and one US public holiday (Columbus Day, Monday 12th): 21 working days,
168 h for a full-timer, 134.4 h at 32 h a week (W-0007), 100.8 h at 24 (W-0100). W-0100, the solo consultant, books
six days on P-0020 (billable) and the same hours on P-0018 (not billable): 3.5 + 4.25 + 5 + 2.75 + 6 + 3 = 24.5 h
each, at the card rate of their role, and a 7.75 h line to a project the PSA does not have; the test adds a
vacation day (8 h) to their month, so 92.8 h are available.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from backoffice.audit import AuditRecord, AuditTrail
from backoffice.connectors.sandbox import SandboxPsa
from backoffice.local.billing_samples import seed_billing_period
from backoffice.local.runtime import LocalRuntime
from infra.catalog import Ref

MONTH = "2026-10"
CASE = f"delivery-{MONTH}"
ASKED = {"month": MONTH, "requested_by": "ops@example-firm.com"}
SOLO = "W-0100"
SOLO_DAYS = (Decimal("3.5"), Decimal("4.25"), Decimal(5), Decimal("2.75"), Decimal(6), Decimal(3))


@pytest.fixture(scope="module")
def runtime() -> Iterator[LocalRuntime]:
    logging.getLogger("moto").setLevel(logging.CRITICAL)
    with LocalRuntime(retry_time_scale=0.001) as local:
        seed_billing_period(local.sandbox())
        vacation = {
            "id": "TE-LEAVE-W-0100",
            "worker_id": SOLO,
            "project_id": "INT-ABSENCE",
            "activity_type": "vacation",
            "work_date": "2026-10-30",
            "hours": "8",
            "is_billable": False,
            "billing_hours": "0",
            "billing_rate": "0",
            "billing_amount": "0",
            "costing_rate": "0",
            "currency": "USD",
            "status": "approved",
        }
        local.sandbox().put_lines("psa", "time_entry", [(vacation["id"], date(2026, 10, 30), vacation)])
        yield local


def measure(runtime: LocalRuntime) -> dict[str, Any]:
    result, error = runtime.lambdas.invoke("measure_delivery", ASKED)
    assert error is None, error
    return dict(result)


def records(runtime: LocalRuntime) -> list[AuditRecord]:
    return AuditTrail(
        runtime.resolve(Ref("table_name", "audit")), dynamodb=runtime.client("dynamodb")
    ).records(CASE)


def latest(found: list[AuditRecord], action: str, key: str) -> dict[str, dict[str, Any]]:
    return {str(r.data[key]): dict(r.data) for r in found if r.action == action}


def test_a_month_is_measured_rerun_without_duplicates_and_superseded_when_the_data_changes(
    runtime: LocalRuntime,
) -> None:
    # Given the sample firm's October (sixty generated consultants and the solo consultant) and W-0100's card rate
    card = SandboxPsa(runtime.sandbox()).project_rate_card("P-0020")
    assert card is not None
    solo_lines = [
        line
        for line in runtime.sandbox().all_lines("psa", "time_entry")
        if line["worker_id"] == SOLO and line["project_id"] == "P-0020"
    ]
    rate = Decimal(str(solo_lines[0]["billing_rate"]))
    assert rate in {line.billing_rate for line in card.lines}

    # When the month is measured
    result = measure(runtime)

    # Then each active person of the HRIS has a record, the run says what it appended, and who asked
    found = records(runtime)
    assert result["records_appended"] == len(found) > 60
    assert result["public_holidays"] == {"2026-10-12": "Columbus Day"}
    assert {(r.workflow, r.step, r.actor.id) for r in found} == {
        ("delivery", "measure delivery", "ops@example-firm.com")
    }
    people = latest(found, "delivery.measured", "worker_id")
    # And the part-time solo consultant: 100.8 h less a vacation day; 24.5 h billable at the card; not billable
    # 24.5 h on P-0018 and the 7.75 h orphan line booked to a project the PSA does not have (a copy of P-0001's
    # first line, which is not billable)
    orphan = next(
        line for line in runtime.sandbox().all_lines("psa", "time_entry") if line["id"] == "TE-ORPHAN-001"
    )
    assert (orphan["worker_id"], orphan["is_billable"], Decimal(str(orphan["hours"]))) == (
        SOLO,
        False,
        Decimal("7.75"),
    )
    billable = sum(SOLO_DAYS, Decimal(0))
    assert people[SOLO] == {
        "month": MONTH,
        "worker_id": SOLO,
        "practice": "technology",
        "employment": "employee",
        "weekly_hours": "24.00",
        "working_days": 21,
        "available_hours": "92.80",
        "leave_hours": "8.00",
        "billable_hours": "24.50",
        "non_billable_hours": "32.25",
        "standard_value_base": f"{billable * rate:.2f}",
    }
    # And a full-timer and a four-day-week person of the generated firm have their month's capacity
    assert people["W-0001"]["available_hours"] == "168.00" and people["W-0001"]["practice"] == "advisory"
    assert people["W-0007"]["available_hours"] == "134.40" and people["W-0007"]["weekly_hours"] == "32.00"
    # And W-0001's hours are their October lines as the PSA holds them, billable or not (none rejected)
    theirs = [
        line
        for line in runtime.sandbox().all_lines("psa", "time_entry")
        if line["worker_id"] == "W-0001"
        and line["work_date"].startswith(MONTH)
        and line["status"] != "rejected"
    ]
    assert Decimal(people["W-0001"]["billable_hours"]) == sum(
        (Decimal(str(line["hours"])) for line in theirs if line["is_billable"]), Decimal(0)
    )

    # And P-0020's work in progress is the solo consultant's six approved unbilled days, all under 30 days old;
    # P-0018 (not billable) has none
    wip = latest(found, "wip.measured", "project_id")
    in_progress = sum(SOLO_DAYS, Decimal(0)) * rate
    assert wip["P-0020"] == {
        "month": MONTH,
        "as_of": "2026-10-31",
        "project_id": "P-0020",
        "client_id": wip["P-0020"]["client_id"],
        "practice": "technology",
        "hours": "24.50",
        "lines": 6,
        "wip_base": f"{in_progress:.2f}",
        "aging_base": {"0-30": f"{in_progress:.2f}", "31-60": "0.00", "61-90": "0.00", "90+": "0.00"},
    }
    assert wip["P-0020"]["client_id"] and "P-0018" not in wip

    # When the month is measured again over the same data
    again = measure(runtime)
    # Then nothing is appended
    assert again["records_appended"] == 0 and len(records(runtime)) == len(found)

    # When one of P-0020's lines is billed meanwhile and the month is measured again
    billed = next(line for line in solo_lines if Decimal(str(line["hours"])) == Decimal(6))
    runtime.sandbox().update_lines(
        "psa", "time_entry", [billed["id"]], lambda body: {**body, "invoice_id": "SINV-2026-LATE"}
    )
    changed = measure(runtime)
    # Then only P-0020's figure is superseded: the latest record of the project says what is left
    assert (changed["worker_records_appended"], changed["wip_records_appended"]) == (0, 1)
    after = latest(records(runtime), "wip.measured", "project_id")
    assert after["P-0020"]["hours"] == "18.50"
    assert after["P-0020"]["wip_base"] == f"{in_progress - 6 * rate:.2f}"
