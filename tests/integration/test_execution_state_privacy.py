"""Tax ids and bank account numbers never travel in Step Functions state: the console and execution logs show an
execution's input, every state's input and output, and every task's parameters and result, so none may hold them.
Steps that need the full value read it from the system of record (the CRM, the vendor's documents in S3)."""

from __future__ import annotations

import json
import re

from backoffice.local.samples import Deal, existing_client
from backoffice.local.vendor_samples import scenarios
from tests.integration.conftest import Firm
from tests.integration.test_vendor_workflow import PROCUREMENT, approve, request_vendor


def execution_state(firm: Firm, case_id: str) -> str:
    """Everything an operator sees of the case's execution: input, output and every history event, as text."""
    sfn = firm.runtime.client("stepfunctions")
    execution = firm.execution(case_id)
    described = sfn.describe_execution(executionArn=execution.arn)
    history = sfn.get_execution_history(executionArn=execution.arn, maxResults=1000)["events"]
    return json.dumps([described.get("input"), described.get("output"), history], default=str)


def shows(text: str, secret: str) -> bool:
    """Whether ``secret`` appears in ``text``, as written or as its digits alone (a tax id with or without dash)."""
    digits = re.sub(r"\D", "", secret)
    return secret in text or (len(digits) >= 6 and digits in re.sub(r"[-\s]", "", text))


def test_a_clients_tax_id_is_not_in_the_onboarding_execution(firm: Firm) -> None:
    # Given a deal whose client has a tax id in the CRM
    client = existing_client("Adventure Works")
    assert client.tax_id is not None
    tax_id = client.tax_id.get_secret_value()
    # When the case runs to its end
    case_id = firm.win(Deal(2, client))
    assert firm.settle(case_id).status == "SUCCEEDED"
    # Then no state of the execution holds the tax id, and the customer was still matched by it
    assert not shows(execution_state(firm, case_id), tax_id)
    assert ("customer.matched", "existing") in firm.actions(case_id)


def test_a_vendors_tax_id_and_account_number_are_not_in_the_vendor_execution(firm: Firm) -> None:
    # Given a vendor whose W-9 and bank letter carry its EIN and account number
    application = scenarios()["clean"].application
    assert application.w9 is not None and application.bank_letter is not None
    secrets = [
        value.get_secret_value()
        for value in (application.w9.ein, application.w9.ssn, application.bank_letter.account_number)
        if value is not None
    ]
    assert secrets
    # When the request is read, checked, approved and the vendor released
    case_id, _ = request_vendor(firm, "clean")
    assert firm.settle(case_id).current_state == "Ask for vendor approval"
    approve(firm, case_id, PROCUREMENT[0])
    assert firm.finish(case_id).status == "SUCCEEDED"
    # Then no state of the execution holds either
    state = execution_state(firm, case_id)
    assert [secret for secret in secrets if shows(state, secret)] == []
