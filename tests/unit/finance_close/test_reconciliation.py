"""PSA-to-ERP reconciliation (issue #19 item 1), rule by rule (RC1 to RC11), then the run: routing, sums per
currency, re-runs, duplicates and the tax id that must never show.

The sample firm closes October 2026 on 5 November. Its clean books: project P-1 (time and materials, USD, managed
by PM-1) for customer CUST-1 (Acme Corp); two days of 8 h at USD 150.00 (T-1, T-2) and an expense of USD 120.00
(E-1), all billed on ERP invoice SI-1 (number INV-0001): a time line of 16 h for USD 2,400.00 and an expense line
of USD 120.00. Each test changes one thing and works out by hand what the reconciliation must say.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from backoffice.finance_close.reconciliation import (
    RULE_FUNCTIONS,
    RULES,
    FindingDecision,
    ReconciliationInputs,
    ReconciliationResult,
    age_bucket,
    compare_runs,
    reconcile,
)
from backoffice.finance_close.reconciliation_policy import RULE_IDS, ReconciliationPolicy
from backoffice.models import Client, ExpenseEntry, Invoice, Project, RateCard, TimeEntry

START, END, AS_OF = date(2026, 10, 1), date(2026, 10, 31), date(2026, 11, 5)
ACME_TAX_ID = "91-1144442"
OTHER_TAX_ID = "91-7654321"
ADDRESS = {
    "line1": "100 Main Street",
    "line2": "Suite 4",
    "city": "Springfield",
    "postal_code": "62701",
    "country": "US",
}


# ------------------------------------------------------------------------------------------------------------
# The records
# ------------------------------------------------------------------------------------------------------------


def time_entry(
    entry_id: str,
    *,
    day: date = date(2026, 10, 5),
    hours: str = "8",
    rate: str = "150.00",
    invoice: str | None = "SI-1",
    status: str = "approved",
    project: str = "P-1",
    currency: str = "USD",
    billable: bool = True,
) -> TimeEntry:
    return TimeEntry.from_json_dict(
        {
            "id": entry_id,
            "worker_id": "W-1",
            "project_id": project,
            "role": "consultant",
            "activity_type": "consulting",
            "work_date": day.isoformat(),
            "hours": hours,
            "is_billable": billable,
            "billing_hours": hours,
            "billing_rate": rate,
            "billing_amount": str(Decimal(hours) * Decimal(rate)),
            "costing_rate": "80.00",
            "currency": currency,
            "status": status,
            "invoice_id": invoice,
        }
    )


def expense(
    expense_id: str,
    *,
    day: date = date(2026, 10, 6),
    amount: str = "120.00",
    sanctioned: str | None = None,
    invoice: str | None = "SI-1",
    status: str = "approved",
    project: str | None = "P-1",
    currency: str = "USD",
) -> ExpenseEntry:
    return ExpenseEntry.from_json_dict(
        {
            "id": expense_id,
            "worker_id": "W-1",
            "project_id": project,
            "expense_date": day.isoformat(),
            "expense_type": "travel",
            "amount": amount,
            "sanctioned_amount": sanctioned,
            "currency": currency,
            "is_billable": True,
            "status": status,
            "invoice_id": invoice,
        }
    )


def line(source: str, ids: list[str], quantity: str, amount: str, rate: str | None = None) -> dict[str, Any]:
    return {
        "source": source,
        "source_ids": ids,
        "description": f"{source} {', '.join(ids) or 'fee'}",
        "quantity": quantity,
        "rate": rate or amount,
        "amount": amount,
    }


def invoice(
    invoice_id: str,
    lines: list[dict[str, Any]],
    *,
    number: str | None = None,
    project: str | None = "P-1",
    client: str = "CUST-1",
    currency: str = "USD",
    status: str = "posted",
) -> Invoice:
    net = sum((Decimal(item["amount"]) for item in lines), Decimal(0))
    return Invoice.from_json_dict(
        {
            "id": invoice_id,
            "invoice_number": number,
            "client_id": client,
            "project_id": project,
            "currency": currency,
            "posting_date": "2026-10-31",
            "due_date": "2026-11-30",
            "period_start": "2026-10-01",
            "period_end": "2026-10-31",
            "lines": lines,
            "net_total": str(net),
            "grand_total": str(net),
            "outstanding_amount": str(net),
            "status": status,
        }
    )


def project(project_id: str = "P-1", **change: Any) -> Project:
    return Project.from_json_dict(
        {
            "id": project_id,
            "project_name": "Acme ERP rollout",
            "client_id": "CUST-1",
            "billing_model": "time_and_materials",
            "currency": "USD",
            "project_manager_id": "PM-1",
        }
        | change
    )


def client(client_id: str = "CUST-1", **change: Any) -> Client:
    return Client.from_json_dict(
        {
            "id": client_id,
            "customer_name": "Acme Corp",
            "tax_id": ACME_TAX_ID,
            "default_currency": "USD",
            "payment_terms_days": 30,
            "address": ADDRESS,
        }
        | change
    )


def rate_card(card_id: str, rates: dict[str, str]) -> RateCard:
    return RateCard.from_json_dict(
        {
            "id": card_id,
            "name": "Acme SOW rates",
            "effective_date": "2026-01-01",
            "lines": [
                {
                    "role": role,
                    "activity_type": "consulting",
                    "currency": "USD",
                    "billing_rate": rate,
                    "costing_rate": "80.00",
                }
                for role, rate in rates.items()
            ],
        }
    )


CLEAN_INVOICE = invoice(
    "SI-1",
    [line("time", ["T-1", "T-2"], "16", "2400.00", "150.00"), line("expense", ["E-1"], "1", "120.00")],
    number="INV-0001",
)
RATES = {"consultant": "150.00", "manager": "200.00"}


def books(**change: Any) -> ReconciliationInputs:
    """The clean books of October, with ``change`` applied."""
    base: dict[str, Any] = {
        "period_start": START,
        "period_end": END,
        "as_of": AS_OF,
        "psa_time": [time_entry("T-1"), time_entry("T-2", day=date(2026, 10, 6))],
        "psa_expenses": [expense("E-1")],
        "erp_invoices": [CLEAN_INVOICE],
        "psa_projects": [project()],
        "erp_projects": [project()],
        "crm_accounts": [client("ACC-1")],
        "psa_accounts": [client()],
        "erp_customers": [client()],
        "crm_account_links": {"ACC-1": "CUST-1"},
        "psa_rate_cards": {"P-1": rate_card("RC-P1", RATES)},
        "erp_rate_cards": {"P-1": rate_card("RC-P1", RATES)},
    }
    return ReconciliationInputs(**(base | change))


def keys(result: ReconciliationResult, rule: str | None = None) -> list[str]:
    return [f.key for f in result.findings if rule is None or f.rule_id == rule]


def test_clean_books_have_no_finding() -> None:
    # Given the clean books of October
    # When they are reconciled
    result = reconcile(books())
    # Then every rule ran and none found anything; nothing is in progress either
    assert result.findings == []
    assert result.rules_run == list(RULE_IDS)
    assert result.counts_by_rule == dict.fromkeys(RULE_IDS, 0)
    assert result.wip == [] and result.amount_at_stake == {}


def test_the_rules_table_names_at_least_eight_rules_each_with_a_function() -> None:
    assert len(RULES) >= 8
    assert list(RULES) == list(RULE_IDS) == list(RULE_FUNCTIONS)
    assert all(meaning.strip() for meaning in RULES.values())


# ------------------------------------------------------------------------------------------------------------
# RC1 to RC5: billed lines
# ------------------------------------------------------------------------------------------------------------


def test_rc1_an_erp_line_billing_less_than_the_psa_lines_it_names() -> None:
    # Given the ERP time line bills T-1 and T-2 for USD 2,250.00, where the PSA has 2 x 8 h x 150.00 = 2,400.00
    short = invoice(
        "SI-1",
        [line("time", ["T-1", "T-2"], "16", "2250.00", "150.00"), line("expense", ["E-1"], "1", "120.00")],
        number="INV-0001",
    )
    # When reconciled
    result = reconcile(books(erp_invoices=[short]))
    # Then one RC1 finding on that line: USD 150.00 at stake, the client billed less
    [finding] = result.findings
    assert finding.rule_id == "RC1" and finding.key == "RC1:SI-1:time:T-1"
    assert finding.attribute == "amount"
    assert finding.amount_at_stake == Decimal("150.00") and finding.currency == "USD"
    assert finding.psa_value == "16 h, USD 2,400.00"
    assert finding.erp_value == "16 h, USD 2,250.00"
    assert "USD 150.00 less" in finding.description and "INV-0001" in finding.description
    assert finding.suggested_owner == "billing" and finding.project_manager_id == "PM-1"


def test_rc1_a_quantity_that_differs_for_the_same_amount() -> None:
    # Given the ERP line says 15 h for the PSA's USD 2,400.00 of 16 h
    wrong_hours = invoice(
        "SI-1",
        [line("time", ["T-1", "T-2"], "15", "2400.00", "160.00"), line("expense", ["E-1"], "1", "120.00")],
    )
    result = reconcile(books(erp_invoices=[wrong_hours]))
    # Then a quantity finding with nothing at stake in money
    [finding] = result.findings
    assert (finding.rule_id, finding.attribute, finding.amount_at_stake) == (
        "RC1",
        "quantity",
        Decimal("0.00"),
    )
    assert finding.psa_value == "16 h, USD 2,400.00" and finding.erp_value == "15 h, USD 2,400.00"


def test_rc1_a_difference_within_the_tolerance_is_no_finding() -> None:
    # Given the ERP expense line is USD 120.01 for the PSA's 120.00
    cent_off = invoice(
        "SI-1",
        [line("time", ["T-1", "T-2"], "16", "2400.00", "150.00"), line("expense", ["E-1"], "1", "120.01")],
    )
    # When the policy tolerates a cent, then nothing; by default (0.00), one finding of USD 0.01
    assert (
        reconcile(books(erp_invoices=[cent_off]), ReconciliationPolicy(tolerance=Decimal("0.01"))).findings
        == []
    )
    [finding] = reconcile(books(erp_invoices=[cent_off])).findings
    assert finding.key == "RC1:SI-1:expense:E-1" and finding.amount_at_stake == Decimal("0.01")


def test_rc1_an_expense_compared_at_its_sanctioned_amount() -> None:
    # Given E-1 claimed USD 150.00, sanctioned USD 120.00, and the ERP bills 120.00: they agree
    result = reconcile(books(psa_expenses=[expense("E-1", amount="150.00", sanctioned="120.00")]))
    assert result.findings == []


def test_rc2_a_psa_line_its_invoice_does_not_carry() -> None:
    # Given the ERP's SI-1 bills only T-1 (8 h, USD 1,200.00) while the PSA shows T-2 billed on SI-1 too
    without_t2 = invoice(
        "SI-1",
        [line("time", ["T-1"], "8", "1200.00", "150.00"), line("expense", ["E-1"], "1", "120.00")],
        number="INV-0001",
    )
    result = reconcile(books(erp_invoices=[without_t2]))
    # Then T-2 is an RC2 finding: USD 8 x 150.00 = 1,200.00 at stake, the work billed in the PSA but not invoiced
    [finding] = result.findings
    assert finding.rule_id == "RC2" and finding.key == "RC2:time:T-2"
    assert finding.subject.kind == "time_entry" and finding.subject.id == "T-2"
    assert finding.amount_at_stake == Decimal("1200.00") and finding.currency == "USD"
    assert finding.erp_value == "on no invoice line"
    assert "no line of ERP invoice INV-0001 bills it" in finding.description


def test_rc2_a_psa_line_the_erp_bills_on_another_invoice() -> None:
    # Given the PSA shows T-2 billed on SI-1, but the ERP bills it on SI-2 (INV-0002)
    si1 = invoice(
        "SI-1",
        [line("time", ["T-1"], "8", "1200.00", "150.00"), line("expense", ["E-1"], "1", "120.00")],
        number="INV-0001",
    )
    si2 = invoice("SI-2", [line("time", ["T-2"], "8", "1200.00", "150.00")], number="INV-0002")
    result = reconcile(books(erp_invoices=[si1, si2]))
    # Then RC2 names the invoice the ERP uses; SI-2, which no PSA line is billed to, is also an RC4 finding
    [moved] = result.for_rule("RC2")
    assert moved.key == "RC2:time:T-2" and moved.attribute == "invoice"
    assert moved.psa_value == "invoice SI-1, project P-1" and moved.erp_value == "invoice INV-0002"
    [unlinked] = result.for_rule("RC4")
    assert unlinked.key == "RC4:SI-2" and "billed on other invoices" in unlinked.description


def test_rc2_a_line_billed_twice_and_one_on_another_project() -> None:
    # Given SI-1 bills T-1 and T-2, and T-2 again on SI-3, an invoice of project P-9 that the PSA bills E-1 on
    si1 = invoice("SI-1", [line("time", ["T-1", "T-2"], "16", "2400.00", "150.00")], number="INV-0001")
    si3 = invoice(
        "SI-3",
        [line("time", ["T-2"], "8", "1200.00"), line("expense", ["E-1"], "1", "120.00")],
        project="P-9",
    )
    result = reconcile(books(erp_invoices=[si1, si3], psa_expenses=[expense("E-1", invoice="SI-3")]))
    findings = {f.key: f for f in result.for_rule("RC2")}
    # Then T-2 is billed twice (USD 1,200.00 at stake), E-1 sits on an invoice of another project
    assert findings["RC2:time:T-2"].erp_value == "invoices INV-0001, SI-3"
    assert "bills it 2 times" in findings["RC2:time:T-2"].description
    assert findings["RC2:expense:E-1"].attribute == "project"
    assert findings["RC2:expense:E-1"].erp_value == "invoice SI-3, project P-9"


def test_rc3_erp_lines_the_psa_does_not_show_billed_or_does_not_have() -> None:
    # Given SI-1's time line also bills T-3 (approved, 8 h x 150.00, unbilled in the PSA) and T-9, which the
    # PSA does not have: 32 h for USD 4,800.00
    si1 = invoice(
        "SI-1",
        [
            line("time", ["T-1", "T-2", "T-3", "T-9"], "32", "4800.00"),
            line("expense", ["E-1"], "1", "120.00"),
        ],
    )
    unbilled = time_entry("T-3", day=date(2026, 10, 7), invoice=None)
    result = reconcile(books(erp_invoices=[si1], psa_time=[time_entry("T-1"), time_entry("T-2"), unbilled]))
    # Then one RC3 per source: T-3 with its USD 1,200.00 at stake; T-9 with no amount of its own (a share of a
    # four-entry line); the line's total is not compared (RC1) and T-3 is not work in progress
    by_key = {f.key: f for f in result.findings}
    assert sorted(by_key) == ["RC3:SI-1:time:T-3", "RC3:SI-1:time:T-9"]
    assert by_key["RC3:SI-1:time:T-3"].amount_at_stake == Decimal("1200.00")
    assert "bill it again" in by_key["RC3:SI-1:time:T-3"].description
    assert by_key["RC3:SI-1:time:T-9"].amount_at_stake is None
    assert by_key["RC3:SI-1:time:T-9"].psa_value == "no such time entry"
    assert result.wip == []


def test_rc4_invoices_with_no_psa_billing_link() -> None:
    # Given three more posted invoices: SI-7 raised in the ERP alone (USD 5,000.00 of time named X-1, which the
    # PSA does not have); SI-8 whose line bills T-8, which the PSA never marked billed (USD 750.00); and SI-6, a
    # retainer of the PSA's project P-1 (no PSA lines to link, its project is the link); and a draft SI-5
    si7 = invoice("SI-7", [line("time", ["X-1"], "25", "5000.00")], number="INV-0007")
    si8 = invoice("SI-8", [line("time", ["T-8"], "5", "750.00")], number="INV-0008")
    si6 = invoice("SI-6", [line("retainer", [], "1", "3000.00")])
    si5 = invoice("SI-5", [line("time", ["X-5"], "1", "100.00")], status="draft")
    t8 = time_entry("T-8", hours="5", invoice=None)
    result = reconcile(
        books(
            erp_invoices=[CLEAN_INVOICE, si7, si8, si6, si5],
            psa_time=[time_entry("T-1"), time_entry("T-2"), t8],
        )
    )
    # Then SI-7 and SI-8 are RC4 findings at their net totals, for accounts receivable
    findings = {f.key: f for f in result.findings}
    assert sorted(findings) == ["RC4:SI-7", "RC4:SI-8"]
    assert findings["RC4:SI-7"].amount_at_stake == Decimal("5000.00")
    assert "outside the PSA" in findings["RC4:SI-7"].description
    assert findings["RC4:SI-8"].amount_at_stake == Decimal("750.00")
    assert "the PSA does not show the 1 time entry it bills as billed" in findings["RC4:SI-8"].description
    assert findings["RC4:SI-8"].suggested_owner == "accounts_receivable"


def test_rc5_psa_lines_on_invoices_the_erp_does_not_have_or_cancelled() -> None:
    # Given T-5 (20 Oct, 8 h x 150.00) billed on SI-404, which the ERP does not have; T-6 (15 Aug) billed on
    # SI-OLD, an earlier close's invoice not read here; E-7 (USD 80.00) billed on SI-9, cancelled in the ERP
    cancelled = invoice("SI-9", [line("expense", ["E-7"], "1", "80.00")], status="cancelled")
    result = reconcile(
        books(
            erp_invoices=[CLEAN_INVOICE, cancelled],
            psa_time=[
                time_entry("T-1"),
                time_entry("T-2"),
                time_entry("T-5", day=date(2026, 10, 20), invoice="SI-404"),
                time_entry("T-6", day=date(2026, 8, 15), invoice="SI-OLD"),
            ],
            psa_expenses=[expense("E-1"), expense("E-7", amount="80.00", invoice="SI-9")],
        )
    )
    # Then one RC5 per missing or cancelled invoice: SI-404 for USD 1,200.00, SI-9 for USD 80.00
    findings = {f.key: f for f in result.findings}
    assert sorted(findings) == ["RC5:SI-404:USD", "RC5:SI-9:USD"]
    assert findings["RC5:SI-404:USD"].amount_at_stake == Decimal("1200.00")
    assert findings["RC5:SI-404:USD"].erp_value == "no such invoice"
    assert findings["RC5:SI-9:USD"].amount_at_stake == Decimal("80.00")
    assert "cancelled" in findings["RC5:SI-9:USD"].description


def test_rc4_a_credit_note_raised_in_the_erp_alone_is_at_stake_by_its_size() -> None:
    # Given a posted credit note of USD -300.00 of no project, raised in the ERP
    credit = invoice("CN-1", [line("adjustment", [], "1", "-300.00")], project=None)
    [finding] = reconcile(books(erp_invoices=[CLEAN_INVOICE, credit])).findings
    # Then RC4 puts USD 300.00 at stake
    assert (finding.key, finding.amount_at_stake) == ("RC4:CN-1", Decimal("300.00"))


def test_rc4_a_credit_note_of_a_psa_project_is_linked_by_its_project_whatever_it_credits() -> None:
    # Given a credit note of project P-1 taking back 2 h of SI-1's time and its expense (USD -420.00), its lines
    # naming no PSA line, as the ERP adapters read a credit memo of an invoice
    credit = invoice(
        "CN-2", [line("time", [], "-2", "-300.00", "150.00"), line("expense", [], "-1", "-120.00", "120.00")]
    )
    # When the books are reconciled
    result = reconcile(books(erp_invoices=[CLEAN_INVOICE, credit]))
    # Then the credit note is no RC4 finding (nor anything else): it refers to its project's billing
    assert result.findings == []


def test_a_psa_line_may_name_its_invoice_by_number() -> None:
    # Given a PSA that keeps the invoice number (INV-0001) rather than the ERP's id
    result = reconcile(
        books(
            psa_time=[time_entry("T-1", invoice="INV-0001"), time_entry("T-2", invoice="INV-0001")],
            psa_expenses=[expense("E-1", invoice="INV-0001")],
        )
    )
    # Then the books still agree
    assert result.findings == []


# ------------------------------------------------------------------------------------------------------------
# RC6: the work in progress, by age
# ------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("age", "bucket"),
    [
        (0, "0-30"),
        (30, "0-30"),
        (31, "31-60"),
        (60, "31-60"),
        (61, "61-90"),
        (90, "61-90"),
        (91, "90+"),
        (-3, "0-30"),
    ],
)
def test_age_bucket_edges(age: int, bucket: str) -> None:
    assert age_bucket(age) == bucket


def test_rc6_the_wip_table_by_age_and_the_findings_past_the_policy_age() -> None:
    # Given six approved unbilled time entries of P-1, aged 30, 31, 60, 61, 90 and 91 days on 5 November, of 1
    # to 6 hours at USD 100.00; an approved unbilled expense of P-2 (sanctioned USD 45.50 of 50.00, 10 days
    # old); and lines that are no WIP: a submitted entry, a non-billable one, one billed
    aged = [
        time_entry(f"W-{age}", day=AS_OF - timedelta(days=age), hours=str(hours), rate="100.00", invoice=None)
        for hours, age in enumerate((30, 31, 60, 61, 90, 91), start=1)
    ]
    not_wip = [
        time_entry("S-1", invoice=None, status="submitted"),
        time_entry("N-1", invoice=None, billable=False),
    ]
    p2_expense = expense(
        "X-1", day=AS_OF - timedelta(days=10), amount="50.00", sanctioned="45.50", invoice=None, project="P-2"
    )
    result = reconcile(
        books(
            psa_time=[time_entry("T-1"), time_entry("T-2"), *aged, *not_wip],
            psa_expenses=[expense("E-1"), p2_expense],
            psa_projects=[project(), project("P-2", project_name="Acme audit", project_manager_id="PM-2")],
            erp_projects=[project(), project("P-2", project_name="Acme audit", project_manager_id="PM-2")],
        )
    )
    # Then the table: P-1 0-30: 100 (30 d); 31-60: 200 + 300 = 500 (31, 60 d); 61-90: 400 + 500 = 900 (61,
    # 90 d); 90+: 600 (91 d); total 2,100.00 over 21 h. P-2: 45.50 in 0-30.
    p1, p2 = result.wip
    assert (p1.project_id, p1.currency, p1.project_manager_id) == ("P-1", "USD", "PM-1")
    assert (p1.days_0_30, p1.days_31_60, p1.days_61_90, p1.days_over_90) == (
        Decimal("100.00"),
        Decimal("500.00"),
        Decimal("900.00"),
        Decimal("600.00"),
    )
    assert (p1.total, p1.hours, p1.lines, p1.oldest) == (
        Decimal("2100.00"),
        Decimal(21),
        6,
        AS_OF - timedelta(days=91),
    )
    assert (p2.project_id, p2.days_0_30, p2.total, p2.hours) == (
        "P-2",
        Decimal("45.50"),
        Decimal("45.50"),
        Decimal(0),
    )
    assert result.wip_totals == {"USD": Decimal("2145.50")}
    # And one RC6 finding for P-1, the work over 60 days: 400 + 500 + 600 = USD 1,500.00, for its manager
    [finding] = result.findings
    assert finding.key == "RC6:P-1:USD" and finding.amount_at_stake == Decimal("1500.00")
    assert finding.suggested_owner == "project_manager" and finding.project_manager_id == "PM-1"
    # And a policy of 90 days finds only the 91-day line: USD 600.00
    [strict] = reconcile(
        books(psa_time=[time_entry("T-1"), time_entry("T-2"), *aged]), ReconciliationPolicy(wip_age_days=90)
    ).findings
    assert strict.amount_at_stake == Decimal("600.00")


def test_wip_is_kept_per_currency_and_leaves_out_lines_of_nothing_to_bill() -> None:
    # Given P-1's unbilled work in USD (8 h x 150.00, 40 days) and in EUR (2 h x 90.00, 5 days), an expense of
    # EUR 35.00 booked to no project (70 days), and an approved billable entry of zero billing hours
    result = reconcile(
        books(
            psa_time=[
                time_entry("T-1"),
                time_entry("T-2"),
                time_entry("U-1", day=AS_OF - timedelta(days=40), invoice=None),
                time_entry(
                    "U-2",
                    day=AS_OF - timedelta(days=5),
                    hours="2",
                    rate="90.00",
                    currency="EUR",
                    invoice=None,
                ),
                time_entry("U-3", day=AS_OF - timedelta(days=75), hours="0", invoice=None),
            ],
            psa_expenses=[
                expense("E-1"),
                expense(
                    "X-9",
                    day=AS_OF - timedelta(days=70),
                    amount="35.00",
                    currency="EUR",
                    invoice=None,
                    project=None,
                ),
            ],
        )
    )
    # Then three rows, USD and EUR apart; the zero-hour entry is in none
    rows = [(row.project_id, row.currency, row.total, row.lines) for row in result.wip]
    assert rows == [
        (None, "EUR", Decimal("35.00"), 1),
        ("P-1", "EUR", Decimal("180.00"), 1),
        ("P-1", "USD", Decimal("1200.00"), 1),
    ]
    assert result.wip_totals == {"EUR": Decimal("215.00"), "USD": Decimal("1200.00")}
    # And the 70-day expense is an RC6 finding of no project, in EUR
    [finding] = result.findings
    assert (finding.key, finding.amount_at_stake, finding.currency) == ("RC6:-:EUR", Decimal("35.00"), "EUR")


# ------------------------------------------------------------------------------------------------------------
# RC7, RC8: customers
# ------------------------------------------------------------------------------------------------------------


def test_rc7_names_that_differ_only_in_case_punctuation_or_legal_form_agree() -> None:
    # Given "ACME CORP." in the PSA, "Acme Corp" in the ERP, "Acme Corporation" in the CRM; the CRM's address
    # written "100 Main St, Ste 4"
    crm = client(
        "ACC-1",
        customer_name="Acme Corporation",
        address=ADDRESS | {"line1": "100 Main St", "line2": "Ste 4"},
    )
    result = reconcile(books(psa_accounts=[client(customer_name="ACME CORP.")], crm_accounts=[crm]))
    # Then they agree
    assert result.findings == []


@pytest.mark.parametrize(
    ("erp_name", "psa_name", "drifts"),
    [
        ("Acme, Inc.", "ACME INC", False),
        ("Acme Inc", "Acme Inc.", False),
        ("Acme Corp", "  acme   corp ", False),
        ("Acme Corp", "Acme Holdings Corp", True),
        ("Acme Corp", "Acne Corp", True),
    ],
)
def test_rc7_legal_names_compared_in_their_normal_form(erp_name: str, psa_name: str, drifts: bool) -> None:
    result = reconcile(
        books(
            erp_customers=[client(customer_name=erp_name)],
            psa_accounts=[client(customer_name=psa_name)],
            crm_accounts=[],
        )
    )
    assert keys(result) == (["RC7:CUST-1:legal_name"] if drifts else [])


def test_rc7_customer_master_drift_attribute_by_attribute() -> None:
    # Given the PSA keeps another tax id, another street, EUR and 45 days; the CRM another legal name
    psa = client(
        tax_id=OTHER_TAX_ID,
        address=ADDRESS | {"line1": "200 Main Street"},
        default_currency="EUR",
        payment_terms_days=45,
    )
    crm = client("ACC-1", customer_name="Acme Holdings Inc.")
    result = reconcile(books(psa_accounts=[psa], crm_accounts=[crm]))
    # Then one RC7 finding per attribute, the ERP the reference, for master data
    findings = {f.attribute: f for f in result.for_rule("RC7")}
    assert sorted(findings) == ["billing_address", "currency", "legal_name", "payment_terms", "tax_id"]
    assert all(f.suggested_owner == "master_data" and f.subject.id == "CUST-1" for f in findings.values())
    assert (findings["legal_name"].crm_value, findings["legal_name"].erp_value) == (
        "Acme Holdings Inc.",
        "Acme Corp",
    )
    assert findings["legal_name"].psa_value == "Acme Corp"
    assert (findings["tax_id"].psa_value, findings["tax_id"].erp_value, findings["tax_id"].crm_value) == (
        "differs from ERP",
        "on file",
        "same as ERP",
    )
    assert findings["billing_address"].psa_value == "200 Main Street, Suite 4, Springfield, 62701, US"
    assert (findings["currency"].psa_value, findings["currency"].erp_value) == ("EUR", "USD")
    assert (findings["payment_terms"].psa_value, findings["payment_terms"].erp_value) == (
        "45 days",
        "30 days",
    )
    assert findings["tax_id"].key == "RC7:CUST-1:tax_id"


def test_rc7_a_tax_id_one_system_lacks() -> None:
    # Given the ERP has no tax id for CUST-1 and the PSA has one
    result = reconcile(books(erp_customers=[client(tax_id=None)], crm_accounts=[]))
    [finding] = result.findings
    assert (finding.attribute, finding.psa_value, finding.erp_value) == (
        "tax_id",
        "on file, none in ERP",
        "not on file",
    )
    assert ACME_TAX_ID not in finding.model_dump_json()


def test_rc7_an_unlinked_crm_account_is_matched_as_onboarding_matches() -> None:
    # Given a CRM account with no recorded link but the customer's tax id, under a new name
    crm = client("ACC-7", customer_name="Acme Global Corp")
    result = reconcile(books(crm_accounts=[crm], crm_account_links={}))
    # Then it is the ERP customer CUST-1 (same tax id), and its name drifts
    [finding] = result.findings
    assert finding.key == "RC7:CUST-1:legal_name" and finding.crm_value == "Acme Global Corp"
    # And a prospect like no customer is not compared
    prospect = client("ACC-8", customer_name="Initech", tax_id="12-3456789", address=None)
    assert reconcile(books(crm_accounts=[prospect], crm_account_links={})).findings == []


def test_rc8_a_customer_with_work_that_one_system_lacks() -> None:
    # Given P-2 for customer CUST-2, which the PSA has and the ERP does not; and the ERP's CUST-3 with no work
    p2 = project("P-2", client_id="CUST-2", project_name="Globex audit")
    result = reconcile(
        books(
            psa_projects=[project(), p2],
            erp_projects=[project(), p2],
            psa_accounts=[client(), client("CUST-2", customer_name="Globex Inc")],
            erp_customers=[client(), client("CUST-3", customer_name="Initech")],
        )
    )
    # Then one RC8 finding: CUST-2 missing in the ERP
    [finding] = result.findings
    assert finding.key == "RC8:CUST-2:missing_in_erp"
    assert (finding.psa_value, finding.erp_value) == ("present", "missing")
    assert "Globex Inc" in finding.description


# ------------------------------------------------------------------------------------------------------------
# RC9, RC10: projects
# ------------------------------------------------------------------------------------------------------------


def test_rc9_project_drift_and_a_project_under_another_code() -> None:
    # Given the ERP's P-1 is completed and in EUR, its name written "ACME  ERP Rollout"; and the PSA's P-3
    # "Globex audit" is in the ERP as GLX-3 under the same name and client
    erp_p1 = project(project_name="ACME  ERP Rollout", status="completed", currency="EUR")
    psa_p3 = project("P-3", project_name="Globex audit", project_manager_id="PM-3")
    erp_p3 = project("GLX-3", project_name="Globex Audit", project_manager_id=None)
    result = reconcile(books(psa_projects=[project(), psa_p3], erp_projects=[erp_p1, erp_p3]))
    # Then RC9 findings for P-1's currency and status, and P-3's code; the name agrees; nothing is missing
    findings = {f.key: f for f in result.findings}
    assert sorted(findings) == ["RC9:P-1:currency", "RC9:P-1:status", "RC9:P-3:code"]
    status = findings["RC9:P-1:status"]
    assert (status.psa_value, status.erp_value) == ("open", "completed")
    assert status.suggested_owner == "project_manager" and status.project_manager_id == "PM-1"
    assert findings["RC9:P-1:currency"].suggested_owner == "finance"
    assert (findings["RC9:P-3:code"].psa_value, findings["RC9:P-3:code"].erp_value) == ("P-3", "GLX-3")


def test_rc10_an_open_or_active_project_one_system_lacks() -> None:
    # Given the PSA's open P-4 is not in the ERP; the ERP's completed P-5 has an invoice in the period and is
    # not in the PSA; the ERP's completed P-OLD has nothing in the period
    p4 = project("P-4", project_name="Acme data migration")
    p5 = project("P-5", project_name="Acme training", status="completed")
    old = project("P-OLD", project_name="Acme 2019 audit", status="completed")
    si5 = invoice("SI-50", [line("fee", [], "1", "900.00")], project="P-5")
    result = reconcile(
        books(
            psa_projects=[project(), p4], erp_projects=[project(), p5, old], erp_invoices=[CLEAN_INVOICE, si5]
        )
    )
    # Then RC10 for P-4 (missing in the ERP) and P-5 (missing in the PSA); SI-50, a fee invoice of a project the
    # PSA does not know, has no PSA link (RC4)
    assert keys(result, "RC10") == ["RC10:P-4:missing_in_erp", "RC10:P-5:missing_in_psa"]
    assert keys(result, "RC4") == ["RC4:SI-50"]


# ------------------------------------------------------------------------------------------------------------
# RC11: rate cards
# ------------------------------------------------------------------------------------------------------------


def test_rc11_rate_card_drift_line_by_line_and_a_missing_card() -> None:
    # Given the ERP's card for P-1 has the manager at USD 210.00 (PSA 200.00) and an analyst line the PSA lacks;
    # P-2 has a card in the PSA and none in the ERP
    erp_card = rate_card("RC-P1", {"consultant": "150.00", "manager": "210.00", "analyst": "90.00"})
    result = reconcile(
        books(
            erp_rate_cards={"P-1": erp_card, "P-2": None},
            psa_rate_cards={"P-1": rate_card("RC-P1", RATES), "P-2": rate_card("RC-P2", RATES)},
        )
    )
    findings = {f.key: f for f in result.findings}
    assert sorted(findings) == [
        "RC11:P-1:role=analyst:consulting:USD",
        "RC11:P-1:role=manager:consulting:USD",
        "RC11:P-2:card",
    ]
    manager = findings["RC11:P-1:role=manager:consulting:USD"]
    assert (manager.attribute, manager.psa_value, manager.erp_value) == (
        "billing_rate",
        "USD 200.00/h",
        "USD 210.00/h",
    )
    analyst = findings["RC11:P-1:role=analyst:consulting:USD"]
    assert (analyst.attribute, analyst.psa_value) == ("line", "no line")
    assert findings["RC11:P-2:card"].erp_value == "no rate card"


# ------------------------------------------------------------------------------------------------------------
# The run
# ------------------------------------------------------------------------------------------------------------


def messy_books() -> ReconciliationInputs:
    """Findings of several rules in USD, EUR and JPY: RC1 (USD 150.00), RC5 in EUR (500.00) and JPY (60,000),
    RC6 (USD 1,500.00 in P-1), RC7 (payment terms), RC9 (status)."""
    short = invoice(
        "SI-1",
        [line("time", ["T-1", "T-2"], "16", "2250.00", "150.00"), line("expense", ["E-1"], "1", "120.00")],
    )
    aged = [
        time_entry(f"W-{age}", day=AS_OF - timedelta(days=age), hours=str(hours), rate="100.00", invoice=None)
        for hours, age in ((4, 61), (5, 90), (6, 91))
    ]
    return books(
        erp_invoices=[short],
        psa_time=[
            time_entry("T-1"),
            time_entry("T-2"),
            *aged,
            time_entry("T-E", currency="EUR", hours="5", rate="100.00", invoice="SI-EUR"),
            time_entry("T-J", currency="JPY", hours="4", rate="15000", invoice="SI-JPY"),
        ],
        psa_accounts=[client(payment_terms_days=45)],
        erp_projects=[project(status="completed")],
    )


def test_findings_are_sorted_by_rule_then_key_and_counted() -> None:
    result = reconcile(messy_books())
    assert keys(result) == [
        "RC1:SI-1:time:T-1",
        "RC5:SI-EUR:EUR",
        "RC5:SI-JPY:JPY",
        "RC6:P-1:USD",
        "RC7:CUST-1:payment_terms",
        "RC9:P-1:status",
    ]
    assert result.counts_by_rule["RC5"] == 2 and result.counts_by_rule["RC10"] == 0
    assert sum(result.counts_by_rule.values()) == len(result.findings)


def test_amounts_at_stake_are_summed_per_currency_never_across() -> None:
    # Given USD 150.00 (RC1) + 1,500.00 (RC6); EUR 5 h x 100.00 = 500.00; JPY 4 h x 15,000 = 60,000
    result = reconcile(messy_books())
    assert result.amount_at_stake == {
        "EUR": Decimal("500.00"),
        "JPY": Decimal("60000"),
        "USD": Decimal("1650.00"),
    }


def test_routing_by_the_threshold_of_each_currency() -> None:
    # Given a threshold of USD 1,000.00, JPY 100,000, and every customer finding to review
    policy = ReconciliationPolicy(
        approval_threshold=Decimal("1000.00"),
        approval_thresholds_by_currency={"JPY": Decimal("100000")},
        always_review=("RC7",),
    )
    result = reconcile(messy_books(), policy)
    # Then RC6 (USD 1,500.00) and RC7 go to review; RC1 (USD 150.00), EUR 500.00 and JPY 60,000 are listed, and
    # the project status drift, which has no amount, is listed too
    assert result.to_review == ["RC6:P-1:USD", "RC7:CUST-1:payment_terms"]
    assert result.listed == ["RC1:SI-1:time:T-1", "RC5:SI-EUR:EUR", "RC5:SI-JPY:JPY", "RC9:P-1:status"]
    assert {f.key: f.route for f in result.findings}["RC6:P-1:USD"] == "review"
    summary = result.summary()
    assert (summary.findings, summary.to_review, summary.listed) == (6, 2, 4)


def test_only_the_rules_the_policy_turns_on_run() -> None:
    result = reconcile(messy_books(), ReconciliationPolicy(rules_on=("RC1", "RC9")))
    assert result.rules_run == ["RC1", "RC9"]
    assert keys(result) == ["RC1:SI-1:time:T-1", "RC9:P-1:status"]
    assert result.counts_by_rule == {"RC1": 1, "RC9": 1}


def test_a_tax_id_never_appears_in_a_result() -> None:
    # Given tax ids that differ between all three systems
    inputs = books(
        psa_accounts=[client(tax_id=OTHER_TAX_ID)],
        crm_accounts=[client("ACC-1", tax_id="98-7654321")],
    )
    result = reconcile(inputs)
    assert keys(result) == ["RC7:CUST-1:tax_id"]
    # Then no form of any of them is in the result's JSON, nor in its summary
    dumped = json.dumps(result.to_json_dict()) + result.model_dump_json() + result.summary().model_dump_json()
    for secret in (ACME_TAX_ID, OTHER_TAX_ID, "98-7654321"):
        assert secret not in dumped
        assert secret.replace("-", "") not in dumped
        assert secret[-4:] not in dumped


def test_a_rerun_after_fixes_closes_the_findings_that_no_longer_hold() -> None:
    # Given the first run's open findings
    first = reconcile(messy_books())
    # When billing corrects SI-1 and master data the payment terms, and the run is repeated
    fixed = messy_books().model_copy(update={"erp_invoices": [CLEAN_INVOICE], "psa_accounts": [client()]})
    second = reconcile(fixed)
    comparison = compare_runs(keys(first), second)
    # Then those two are closed, the rest still open, nothing new
    assert comparison.closed == ["RC1:SI-1:time:T-1", "RC7:CUST-1:payment_terms"]
    assert comparison.still_open == ["RC5:SI-EUR:EUR", "RC5:SI-JPY:JPY", "RC6:P-1:USD", "RC9:P-1:status"]
    assert comparison.new == [] and comparison.not_checked == []


def test_a_rerun_keeps_a_finding_whose_amount_changed_and_never_closes_an_unchecked_rule() -> None:
    # Given the first run, then SI-1 short by USD 100.00 instead of 150.00, and RC9 switched off
    first = reconcile(messy_books())
    less_short = invoice(
        "SI-1",
        [line("time", ["T-1", "T-2"], "16", "2300.00", "150.00"), line("expense", ["E-1"], "1", "120.00")],
    )
    second = reconcile(
        messy_books().model_copy(update={"erp_invoices": [less_short]}),
        ReconciliationPolicy(rules_on=tuple(rule for rule in RULE_IDS if rule != "RC9")),
    )
    comparison = compare_runs([*keys(first), "RC2:time:T-404"], second)
    # Then the RC1 finding is still open (now USD 100.00), RC9's is not checked, the old RC2 closed
    assert "RC1:SI-1:time:T-1" in comparison.still_open
    assert second.for_rule("RC1")[0].amount_at_stake == Decimal("100.00")
    assert comparison.not_checked == ["RC9:P-1:status"]
    assert comparison.closed == ["RC2:time:T-404"]


def test_duplicates_in_the_input_make_no_second_finding() -> None:
    # Given the messy books read with overlapping pages: every record twice
    once = messy_books()
    twice = once.model_copy(
        update={
            name: [*getattr(once, name), *getattr(once, name)]
            for name in (
                "psa_time",
                "psa_expenses",
                "erp_invoices",
                "psa_projects",
                "erp_projects",
                "crm_accounts",
                "psa_accounts",
                "erp_customers",
            )
        }
    )
    # When reconciled, then the same findings, amounts and WIP as read once
    first, second = reconcile(once), reconcile(twice)
    assert keys(second) == keys(first)
    assert len(set(keys(second))) == len(second.findings)
    assert second.amount_at_stake == first.amount_at_stake
    assert second.wip == first.wip


def test_inputs_and_result_travel_as_json() -> None:
    inputs = messy_books()
    again = ReconciliationInputs.from_json_dict(inputs.to_json_dict(reveal_secrets=True))
    result = reconcile(again)
    assert result == reconcile(inputs)
    assert ReconciliationResult.from_json_dict(result.to_json_dict()) == result


def test_a_firms_policy_loads_from_json_with_defaults_for_the_rest() -> None:
    policy = ReconciliationPolicy.from_json_dict(
        {"approval_threshold": "2500", "approval_thresholds_by_currency": {"JPY": 300000}, "wip_age_days": 90}
    )
    assert (policy.threshold("USD"), policy.threshold("JPY")) == (Decimal(2500), Decimal(300000))
    assert policy.tolerance == Decimal("0.00") and policy.rules_on == RULE_IDS
    with pytest.raises(ValidationError):
        ReconciliationPolicy.from_json_dict({"rules_on": ["RC99"]})
    with pytest.raises(ValidationError):
        ReconciliationPolicy.from_json_dict({"approval_thresholds_by_currency": {"usd": 10}})


def test_a_period_that_ends_before_it_starts_is_refused() -> None:
    with pytest.raises(ValidationError, match="ends before it starts"):
        books(period_end=date(2026, 9, 30))


# ------------------------------------------------------------------------------------------------------------
# Decisions on reviewed findings
# ------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("decision", ["acknowledge", "fix_in_psa", "fix_in_erp"])
def test_decisions_that_need_no_reason(decision: str) -> None:
    made = FindingDecision.from_json_dict({"finding_key": "RC1:SI-1:time:T-1", "decision": decision})
    assert made.decision == decision and made.reason is None


def test_a_write_off_needs_a_reason() -> None:
    for reason in (None, "", "   "):
        with pytest.raises(ValidationError, match="write-off needs a reason"):
            FindingDecision.from_json_dict(
                {"finding_key": "RC6:P-1:USD", "decision": "write_off", "reason": reason}
            )
    made = FindingDecision.from_json_dict(
        {"finding_key": "RC6:P-1:USD", "decision": "write_off", "reason": " client disputes the hours "}
    )
    assert made.reason == "client disputes the hours"


def test_an_unknown_decision_is_refused() -> None:
    with pytest.raises(ValidationError):
        FindingDecision.from_json_dict({"finding_key": "RC6:P-1:USD", "decision": "ignore"})
