"""The weekly time and expense review's write to the PSA (``TimeExpensePsaPort.approve_lines``) through each PSA
adapter, against the fakes of the vendors' APIs: the submitted lines become approved with who approved them, a
billed line is left alone, and a repeat changes nothing. Sending back is ``return_lines``, tested with billing."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import boto3
import pytest
from moto import mock_aws

from backoffice.connectors.ports import ConnectorRateLimited
from backoffice.connectors.salesforce_psa import CertiniaPsa
from backoffice.connectors.sandbox import SandboxPsa, SandboxStore
from backoffice.models import ExpenseEntry, TimeEntry
from tests.contract.fakes.rest_fake import RestFake
from tests.contract.fakes.salesforce_fake import SalesforceFake
from tests.contract.test_generic_rest_adapter import NOVEMBER, _time, connector
from tests.contract.test_salesforce_adapter import _expense, api_for


def test_certinia_approves_the_weeks_timecard_and_the_expense_with_who_approved(
    salesforce_fake: SalesforceFake,
) -> None:
    # Given a submitted week, a submitted expense and an expense billed already
    [split] = salesforce_fake.add_timecard(
        worker_id="W-004",
        project_id="a1ADn0000000001AAA",
        week_start=date(2026, 11, 2),
        hours={"Monday": Decimal(8), "Tuesday": Decimal(7)},
        status="Submitted",
    )
    header = salesforce_fake.tables["pse__Timecard__c"][split]["pse__Timecard_Header__c"]
    expense = _expense(salesforce_fake, "2026-11-03", "84.50", pse__Status__c="Submitted")
    billed = _expense(
        salesforce_fake, "2026-11-04", "40.00", pse__Billed__c=True, Backoffice_Invoice__c="9001"
    )
    psa = CertiniaPsa(api_for(salesforce_fake))

    # When the week's two days and both expenses are approved by the policy, twice (a retried step)
    for _ in range(2):
        psa.approve_lines(
            time_entry_ids=[f"{split}-mon", f"{split}-tue"],
            expense_ids=[expense, billed],
            approver="policy",
            note="clean lines",
        )

    # Then the timecard is approved with who approved it, and its days read back approved
    card = salesforce_fake.tables["pse__Timecard_Header__c"][header]
    assert card["pse__Status__c"] == "Approved"
    assert card["pse__Audit_Notes__c"] == "approved by policy: clean lines"
    entries = psa.list_time_entries(date(2026, 11, 1), date(2026, 11, 30)).items
    assert {e.status for e in entries if isinstance(e, TimeEntry)} == {"approved"}
    # And the open expense is approved; the billed one is left as it was
    assert salesforce_fake.tables["pse__Expense__c"][expense]["pse__Status__c"] == "Approved"
    assert salesforce_fake.tables["pse__Expense__c"][billed].get("pse__Audit_Notes__c") is None


def test_certinia_reports_a_rate_limit_on_approving_by_name(salesforce_fake: SalesforceFake) -> None:
    psa = CertiniaPsa(api_for(salesforce_fake))
    salesforce_fake.inject(
        429,
        [{"message": "Too many requests", "errorCode": "REQUEST_LIMIT_EXCEEDED"}],
        headers={"Retry-After": "7"},
    )
    with pytest.raises(ConnectorRateLimited):
        psa.approve_lines(time_entry_ids=[], expense_ids=["a1HDn0000000001AAA"], approver="pm@example.com")


def test_the_generic_psa_posts_the_approval_with_the_approver(rest_fake: RestFake) -> None:
    # Given two submitted November entries and a submitted expense
    rest_fake.time_entries.extend(
        _time(f"te_{d}", f"2026-11-{d:02d}", "8", state="submitted") for d in (2, 3)
    )
    rest_fake.expenses.append(
        {"id": "ex_1", "person": "W-011", "project": "COHO-2026-001", "date": "2026-11-03", "category": "Meals",
         "amount": "88", "currency": "usd", "billable": True, "state": "submitted"}
    )  # fmt: skip
    rest = connector(rest_fake)

    # When the project manager approves one entry and the expense
    rest.approve_lines(
        time_entry_ids=["te_2"], expense_ids=["ex_1"], approver="pm@example-firm.com", note=None
    )

    # Then the PSA received who approved which lines, and reads them back approved
    [sent] = rest_fake.requests_to("/v2/reviews/approve")
    assert sent.json()["approver"] == "pm@example-firm.com"
    assert sent.json()["time_entries"] == ["te_2"] and sent.json()["expenses"] == ["ex_1"]
    lines = {e.id: e.status for e in rest.list_time_entries(*NOVEMBER).items if isinstance(e, TimeEntry)}
    assert lines == {"te_2": "approved", "te_3": "submitted"}
    [expense] = rest.list_expenses(*NOVEMBER).items
    assert isinstance(expense, ExpenseEntry) and expense.status == "approved"


def test_a_generic_psa_document_without_approve_lines_refuses_it_by_name(rest_fake: RestFake) -> None:
    # Given a firm's document that maps no approval operation
    rest = connector(rest_fake)
    del rest.settings.operations["approve_lines"]
    # When the review approves, Then it is told the operation is not configured
    with pytest.raises(Exception, match="approve_lines"):
        rest.approve_lines(time_entry_ids=["te_1"], expense_ids=[], approver="policy")


def test_the_sandbox_approves_submitted_lines_and_leaves_billed_ones(monkeypatch: Any) -> None:
    with mock_aws():
        db = boto3.client("dynamodb", region_name="us-east-1")
        db.create_table(
            TableName="sandbox",
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        store = SandboxStore("sandbox", db)
        base = {
            "worker_id": "W-1", "project_id": "P-1", "activity_type": "Consulting", "hours": "8",
            "is_billable": True, "billing_hours": "8", "billing_rate": "150", "billing_amount": "1200",
            "costing_rate": "80", "currency": "USD", "status": "submitted",
        }  # fmt: skip
        store.put_lines(
            "psa",
            "time_entry",
            [
                ("TS-1", date(2026, 11, 2), {**base, "id": "TS-1", "work_date": "2026-11-02"}),
                (
                    "TS-2",
                    date(2026, 11, 3),
                    {**base, "id": "TS-2", "work_date": "2026-11-03", "invoice_id": "I-1"},
                ),
            ],
        )
        psa = SandboxPsa(store)
        # When both are approved by the project manager
        psa.approve_lines(time_entry_ids=["TS-1", "TS-2"], expense_ids=[], approver="pm@example-firm.com")
        # Then the open line is approved, the billed one unchanged
        lines = {e.id: e.status for e in psa.list_time_entries(*NOVEMBER).items if isinstance(e, TimeEntry)}
        assert lines == {"TS-1": "approved", "TS-2": "submitted"}
