"""The operator console over real HTTP from the local gateway: cases, the state machine graph, masking, search."""

from __future__ import annotations

import re
import time
import urllib.parse

import pytest

from backoffice.local.console import mask, mask_text, mount_console
from backoffice.local.runtime import LocalRuntime
from backoffice.local.samples import Deal, new_client
from backoffice.models import Client
from tests.integration.conftest import Firm, http

TAX_ID = "84-2231907"


@pytest.fixture
def console(runtime: LocalRuntime) -> str:
    assert runtime.gateway is not None
    runtime.gateway.mount(mount_console(runtime))
    return f"{runtime.gateway.url}/console"


def client_with_tax_id(index: int) -> Client:
    return Client.model_validate({**new_client(index).to_json_dict(reveal_secrets=True), "tax_id": TAX_ID})


def wait_for(url: str, text: str, timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    while True:
        status, page = http(url)
        if status == 200 and text in page:
            return page
        assert time.monotonic() < deadline, f"{text!r} never appeared on {url}"
        time.sleep(0.1)


def test_a_case_appears_with_its_status_graph_and_no_tax_id(firm: Firm, console: str) -> None:
    # Given a won deal whose client carries a tax id
    case_id = firm.win(Deal(41, client_with_tax_id(41)))
    assert firm.finish(case_id).status == "SUCCEEDED"
    # When the operator opens the console
    status, index = http(f"{console}/")
    # Then the case is listed with its status, outcome and business keys
    assert status == 200
    row = re.search(rf"<tr><td><a class='case' href='/console/cases/{case_id}'>.*?</tr>", index, re.S)
    assert row, index
    assert "SUCCEEDED" in row.group(0) and "Project Onboarded" in row.group(0)
    assert "006Dn0000000041XYZ" in row.group(0) and "Coho Winery LLC" in row.group(0)
    # And the case page draws the state machine with the states the execution entered
    status, page = http(f"{console}/cases/{case_id}")
    assert status == 200
    entered = set(re.findall(r"<g class='state [a-z]+ entered[^']*' data-state='([^']+)'", page))
    assert {
        "Validate closed-won opportunity",
        "Create project in PSA",
        "Announce project onboarded",
    } <= entered
    assert "Ask legal to review the contract" not in entered
    assert "data-state='Ask legal to review the contract' data-status='not entered'" in page
    # And the timeline, the steps' input and output, and the verified audit trail are there
    assert "Validate closed-won opportunity" in page and "<details class='step'>" in page
    assert "chain verified" in page
    # And the tax id does not appear, in full or masked: the console shows the execution's state, and a tax id
    # never travels in it (start_case leaves it out; match_customer reads it from the CRM)
    assert TAX_ID not in page and TAX_ID.replace("-", "") not in page
    assert "•••••1907" not in page
    for url in (f"{console}/", f"{console}/outbox", f"{console}/report"):
        assert TAX_ID not in http(url)[1]


def test_search_filters_cases_by_id_and_business_keys(firm: Firm, console: str) -> None:
    blue = firm.win(Deal(50, new_client(0)))
    lucerne = firm.win(Deal(51, new_client(3)))
    firm.finish(blue)
    firm.finish(lucerne)

    def listed(q: str) -> set[str]:
        page = http(f"{console}/?q={urllib.parse.quote(q)}")[1]
        return set(re.findall(r"class='case' href='/console/cases/([^']+)'", page))

    assert listed("") == {blue, lucerne}
    assert listed("lucerne") == {lucerne}
    assert listed("Blue Yonder") == {blue}
    assert listed("0000000050") == {blue}
    assert listed("no such thing") == set()


def test_the_form_sends_a_sample_deal_that_waits_for_legal(firm: Firm, console: str) -> None:
    page = http(f"{console}/")[1]
    csrf = re.search(r"name='csrf' value='([^']+)'", page)
    assert csrf
    # A form post without the console's token is refused
    assert http(f"{console}/send", {"sample": "high_risk", "csrf": "forged"})[0] == 403
    # With it, the high-risk sample becomes a case waiting for legal, listed among pending approvals
    status, page = http(f"{console}/send", {"sample": "high_risk", "csrf": csrf.group(1)})
    assert status == 200
    sent = re.search(r"Sample deal sent: case <a href='/console/cases/([^']+)'>", page)
    assert sent
    case_id = sent.group(1)
    assert firm.settle(case_id).current_state == "Ask legal to review the contract"
    page = wait_for(f"{console}/", "lena.hoffmann@example-firm.com")
    assert "legal review (1 of 2)" in page
    case = http(f"{console}/cases/{case_id}")[1]
    assert "data-state='Ask legal to review the contract' data-status='current'" in case
    # And the approval e-mail is in the outbox, its link clickable
    outbox = wait_for(f"{console}/outbox", "lena.hoffmann@example-firm.com")
    mail = re.search(r"class='mail' href='(/console/outbox/[^']+lena[^']+)'", outbox)
    assert mail
    base = console.removesuffix("/console")
    status, letter = http(base + mail.group(1))
    assert status == 200 and re.search(r"<a href='http://127\.0\.0\.1:\d+/approvals/[A-Za-z0-9_-]+", letter)


def test_pages_are_uncached_and_unknown_things_are_refused(console: str) -> None:
    import urllib.request

    with urllib.request.urlopen(f"{console}/", timeout=10) as response:
        assert response.headers["Cache-Control"] == "no-store"
        assert "default-src 'none'" in response.headers["Content-Security-Policy"]
        page = response.read().decode()
    assert not re.search(r"(src|href)=['\"]https?://", page)  # self-contained
    assert http(f"{console}/cases/onboard-nope")[0] == 404
    assert http(f"{console}/outbox/..%2F..%2Fetc%2Fpasswd")[0] == 404
    assert http(f"{console}/send", {"sample": "nope"})[0] == 403


def test_masking_rules() -> None:
    masked = mask(
        {
            "tax_id": "84-2231907",
            "bankAccount": {"account_number": "DE89370400440532013000", "routing_number": "021000021"},
            "ein": "12-3456789",
            "note": "SSN 123-45-6789 and 987654321, order 1234567890",
            "payload": '{"ssn": "123-45-6789"}',
            "setting": "on",
        }
    )
    assert masked["tax_id"] == "•••••1907"
    assert masked["bankAccount"] == {"account_number": "•••••3000", "routing_number": "•••••0021"}
    assert masked["ein"] == "•••••6789"
    assert masked["note"] == "SSN •••••6789 and •••••4321, order 1234567890"
    assert "123-45-6789" not in masked["payload"]
    assert masked["setting"] == "on"
    assert mask_text("EIN 84-2231907.") == "EIN •••••1907."


def test_a_purchase_and_a_new_hire_appear_with_their_graphs(firm: Firm, console: str) -> None:
    # Given a clean purchase and a clean hire (issue #22's workflows), each run to its outcome
    from backoffice.local.purchasing_samples import request_purchase, sample_purchases, seed_purchasing
    from backoffice.local.resource_demo import sample_hires, seed_resource_onboarding

    seed_purchasing(firm.runtime.sandbox())
    seed_resource_onboarding(firm.runtime.sandbox())
    request_purchase(firm.runtime, sample_purchases()["clean"])
    [clean_hire] = [h for h in sample_hires() if h.scenario == "clean"]
    firm.runtime.put_event("Worker Hired", clean_hire.detail, source="hris.workday")
    cases = {"purchase-PR-2026-0101": "Create the purchase order", "worker-W-101": "Set up the PSA resource"}
    for case_id in cases:
        assert firm.finish(case_id).status == "SUCCEEDED", firm.fault(case_id)

    # When the operator opens the console / Then each case is listed with its outcome, and its page draws its own
    # state machine with the states it entered
    index = wait_for(f"{console}/", "worker-W-101")
    assert "Purchase Order Issued" in index and "Worker Onboarded" in index
    for case_id, state in cases.items():
        status, page = http(f"{console}/cases/{case_id}")
        assert status == 200
        entered = set(re.findall(r"<g class='state [a-z]+ entered[^']*' data-state='([^']+)'", page))
        assert state in entered, (case_id, sorted(entered))
        assert "chain verified" in page
