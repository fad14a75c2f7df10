"""Concurrent copies of one step's invocation, through the local runtime's Lambda invoke to the real handler.

Powertools' idempotency (``backoffice/idempotency.py``) saves ``INPROGRESS`` with a conditional put before the
handler runs: of copies arriving together one runs, the others get ``IdempotencyAlreadyInProgressError`` while it
runs or its saved result after. The handler's body running once is what is counted (its audit record), not only
the record in the firm's system: the sandbox's own idempotency key would hide a second run there
(docs/concurrency.md).
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backoffice.audit import AuditTrail
from backoffice.local.runtime import LocalRuntime
from backoffice.local.samples import Deal, new_client
from backoffice.local.vendor_samples import scenarios
from backoffice.vendors.steps import store_application
from infra.catalog import Ref
from tests.integration.test_sandbox_concurrency import at_once

IN_PROGRESS = "IdempotencyAlreadyInProgressError"


@pytest.fixture(scope="module")
def local() -> Iterator[LocalRuntime]:
    with LocalRuntime(retry_time_scale=0.001, api_port=None) as runtime:
        yield runtime


def invoke_at_once(local: LocalRuntime, function: str, payload: dict[str, Any], copies: int) -> list[Any]:
    """``copies`` invocations of the function with one payload, released together; each one's result, or the
    ``errorType`` of its error as Lambda reports it to the state machine."""
    answers = at_once([lambda: local.lambdas.invoke(function, payload)] * copies)
    assert not [a for a in answers if isinstance(a, Exception)]
    return [error["errorType"] if error else result for result, error in answers]  # type: ignore[misc]


def audit_actions(local: LocalRuntime, case_id: str) -> Counter[str]:
    trail = AuditTrail(local.resolve(Ref("table_name", "audit")))
    return Counter(record.action for record in trail.records(case_id))


def idempotency_records(local: LocalRuntime, function: str) -> list[dict[str, Any]]:
    items = local.client("dynamodb").scan(TableName=local.resolve(Ref("table_name", "idempotency")))["Items"]
    return [item for item in items if f".{function}.app.handler#" in item["id"]["S"]]


def vendor_case(local: LocalRuntime) -> tuple[dict[str, Any], str]:
    """The payload of 'Create vendor in ERP on hold' for a fresh case of the clean sample vendor, and its name."""
    case_id = f"vendor-race-{uuid.uuid4().hex[:8]}"
    application = scenarios()["clean"].application.model_copy(update={"case_id": case_id})
    key = store_application(local.client("s3"), local.documents_bucket, application)
    execution_arn = (
        f"{local.state_machine_arn('vendor_approval').replace(':stateMachine:', ':execution:')}:{case_id}"
    )
    return {"case_id": case_id, "execution_arn": execution_arn, "application_key": key}, case_id


def test_ten_copies_of_create_vendor_on_hold_at_once_create_one_vendor_and_run_once(
    local: LocalRuntime,
) -> None:
    # Given a vendor case at 'Create vendor in ERP on hold' and the vendors the ERP has
    payload, case_id = vendor_case(local)
    before = {v["id"] for v in local.sandbox().all("erp", "vendor")}
    # When ten copies of the step's invocation arrive at the same moment (a retried task, a redelivery)
    answers = invoke_at_once(local, "create_vendor_on_hold", payload, 10)
    # Then each copy either got the one vendor id or was told the step is in progress, and at least one got the id
    results = [a for a in answers if isinstance(a, dict)]
    outcomes = Counter("result" if isinstance(a, dict) else a for a in answers)
    assert set(outcomes) <= {"result", IN_PROGRESS} and outcomes["result"] >= 1
    assert outcomes["result"] + outcomes[IN_PROGRESS] == 10
    [vendor_id] = {r["vendor_id"] for r in results}
    # and the ERP has exactly one new vendor, on hold, under that id
    new = [v for v in local.sandbox().all("erp", "vendor") if v["id"] not in before]
    assert [(v["id"], v["supplier_name"], v["on_hold"]) for v in new] == [
        (vendor_id, "Harbor & Pine Facilities LLC", True)
    ]
    # and the step's body ran once: one audit record of the creation, one idempotency record, completed
    assert audit_actions(local, case_id)["vendor.created_on_hold"] == 1
    records = [
        r for r in idempotency_records(local, "create_vendor_on_hold") if r["status"]["S"] == "COMPLETED"
    ]
    assert len([r for r in records if vendor_id in r.get("data", {}).get("S", "")]) == 1
    # and a copy arriving afterwards gets the saved result without running again
    assert local.lambdas.invoke("create_vendor_on_hold", payload) == ({"vendor_id": vendor_id}, None)
    assert audit_actions(local, case_id)["vendor.created_on_hold"] == 1


@settings(max_examples=6, deadline=None)
@given(copies=st.integers(min_value=2, max_value=12))
def test_any_number_of_copies_of_one_vendor_step_run_it_once(local: LocalRuntime, copies: int) -> None:
    # Given a fresh vendor case at 'Create vendor in ERP on hold'
    payload, case_id = vendor_case(local)
    # When `copies` copies of its invocation arrive at once
    answers = invoke_at_once(local, "create_vendor_on_hold", payload, copies)
    # Then every copy got the one result or IdempotencyAlreadyInProgressError, and the step ran once
    outcomes = Counter("result" if isinstance(a, dict) else a for a in answers)
    assert outcomes["result"] >= 1 and outcomes["result"] + outcomes[IN_PROGRESS] == copies
    assert len({a["vendor_id"] for a in answers if isinstance(a, dict)}) == 1
    assert audit_actions(local, case_id)["vendor.created_on_hold"] == 1


def _won_deal_payload(local: LocalRuntime, deal: Deal) -> dict[str, Any]:
    """The payload of 'Match customer in ERP' for a fresh case of the deal, recorded in the CRM first."""
    from backoffice.local.samples import put_deal

    detail = put_deal(local.sandbox(), local.client("s3"), local.documents_bucket, deal)
    case_id = f"onboard-{deal.opportunity_id}-{uuid.uuid4().hex[:6]}"
    event = {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Opportunity Closed Won",
        "source": "crm.salesforce",
        "account": "000000000000",
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": "us-east-1",
        "resources": [],
        "detail": detail,
    }
    return {"case_id": case_id, "execution_arn": f"arn:local:{case_id}", "event": event}


def test_ten_copies_of_match_customer_for_a_new_client_at_once_create_one_customer(
    local: LocalRuntime,
) -> None:
    # Given a won deal of a client the ERP does not have, recorded in the CRM
    deal = Deal(index=7001, client=new_client(7001).model_copy(update={"id": f"ACC-{uuid.uuid4().hex[:8]}"}))
    payload = _won_deal_payload(local, deal)
    case_id = payload["case_id"]
    before = {c["id"] for c in local.sandbox().all("erp", "customer")}
    # When ten copies of 'Match customer in ERP' arrive at the same moment
    answers = invoke_at_once(local, "match_customer", payload, 10)
    # Then each got the one new customer or IdempotencyAlreadyInProgressError
    outcomes = Counter("result" if isinstance(a, dict) else a for a in answers)
    assert set(outcomes) <= {"result", IN_PROGRESS} and outcomes["result"] >= 1
    assert outcomes["result"] + outcomes[IN_PROGRESS] == 10
    [(customer_id, decision)] = {(a["customer_id"], a["decision"]) for a in answers if isinstance(a, dict)}
    assert decision == "created"
    # and the ERP has exactly one new customer, and the step recorded one creation
    assert [c["id"] for c in local.sandbox().all("erp", "customer") if c["id"] not in before] == [customer_id]
    assert audit_actions(local, case_id)["customer.created"] == 1


def test_deals_of_several_crm_accounts_of_one_new_client_at_once_create_one_customer(
    local: LocalRuntime,
) -> None:
    # Given one new company the ERP does not have, kept in the CRM as six accounts (their ids differ, so
    # Powertools' idempotency keys their cases apart), each with a won deal
    name = f"Concurrent Customer {uuid.uuid4().hex[:6]} GmbH"
    payloads = [
        _won_deal_payload(
            local,
            Deal(
                index=7100 + n,
                client=new_client(7100).model_copy(
                    update={"id": f"ACC-{uuid.uuid4().hex[:8]}", "customer_name": name}
                ),
            ),
        )
        for n in range(6)
    ]
    # When the six cases' 'Match customer in ERP' run at the same moment
    answers = at_once([lambda p=p: local.lambdas.invoke("match_customer", p) for p in payloads])
    assert not [a for a in answers if isinstance(a, Exception)]
    # Then each either ran or was told another case is creating that customer, a retryable error (a case that
    # came after the first had finished ran, and found the customer)
    errors = {error["errorType"] for result, error in answers if error}  # type: ignore[misc]
    assert errors <= {"RecordBeingCreated"}
    # And when the state machine retries those, each finds the customer the first created
    results = [
        result if not error else local.lambdas.invoke("match_customer", payload)[0]
        for (result, error), payload in zip(answers, payloads, strict=True)  # type: ignore[misc]
    ]
    assert Counter(r["decision"] for r in results) == {"created": 1, "existing": 5}
    assert len({r["customer_id"] for r in results}) == 1
    assert [c for c in local.sandbox().all("erp", "customer") if c["customer_name"] == name] == [
        c for c in local.sandbox().all("erp", "customer") if c["id"] == results[0]["customer_id"]
    ]


def test_a_creation_claim_is_held_once_released_by_its_owner_and_taken_over_when_its_lease_ran_out(
    local: LocalRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    from backoffice.idempotency import RecordBeingCreated, creation_claim

    monkeypatch.setenv("IDEMPOTENCY_TABLE_NAME", local.resolve(Ref("table_name", "idempotency")))
    dynamodb, key = local.client("dynamodb"), f"test#{uuid.uuid4().hex}"
    # Given a claim held / When eight others try it at once / Then every one is refused
    with creation_claim(dynamodb, key):
        refused = at_once([lambda: creation_claim(dynamodb, key).__enter__()] * 8)
        assert all(isinstance(answer, RecordBeingCreated) for answer in refused)
    # When its owner is done / Then the next one gets it
    with creation_claim(dynamodb, key):
        pass
    # Given a claim whose invocation died (its lease already over) / Then the next one takes it over
    claim = creation_claim(dynamodb, key, lease_seconds=-1)
    claim.__enter__()
    with creation_claim(dynamodb, key):
        # and the dead invocation's late release does not free the claim its successor holds
        claim.__exit__(None, None, None)
        with pytest.raises(RecordBeingCreated):
            creation_claim(dynamodb, key).__enter__()
