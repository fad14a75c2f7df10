"""Vendor upload links and webhooks under real parallel HTTP requests against the local gateway.

Two guards are proved here (docs/concurrency.md): the upload link's version (a CSRF token added on view, the
``RECEIVED`` transition: two tabs opened at once both get a working form, two confirmations at once resume the case
once), and the handlers' event parsed per call instead of Powertools' resolver's process-wide ``current_event``
(concurrent requests with different bodies each get their own answer). Requests are released together from a
barrier, on threads; counts are exact.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

from backoffice.approvals.store import link_hash
from backoffice.local.polling import Pauses
from backoffice.local.vendor_samples import blank_w9, page_forms, post_file, put_vendor_request, scenarios
from backoffice.vendors import uploads
from tests.integration.conftest import Firm, csrf_of, heading, http
from tests.integration.test_approval_concurrency import at_once
from tests.integration.test_webhooks_local import deal_won, post, signed

CONTACT = scenarios()["missing-w9"].application.request.contact_email
WAITING = "Ask vendor for missing documents"
VIEW_TRIALS = 10


def vendor_cases(firm: Firm, count: int) -> list[tuple[str, str, bytes]]:
    """``count`` vendor cases waiting for their W-9: (case id, its upload link, the filled W-9) each."""
    runtime = firm.runtime
    started = []
    for _ in range(count):
        detail, later = put_vendor_request(
            runtime.client("s3"), runtime.documents_bucket, scenarios()["missing-w9"], blank_w9()
        )
        event_id = runtime.put_event("Vendor Onboarding Requested", detail, source="procurement.portal")
        [case_id] = {d.case_id for d in runtime.router.deliveries if d.event_id == event_id}
        assert case_id is not None
        started.append((case_id, later["w9"]))
    return [(case_id, upload_link(firm, case_id), w9) for case_id, w9 in started]


def upload_link(firm: Firm, case_id: str, timeout: float = 30) -> str:
    """The link mailed to the vendor once the case waits for the upload (``firm.settle`` waits for approvals)."""
    deadline = time.monotonic() + timeout
    pause = Pauses()
    while True:
        mails = [m for m in firm.inbox(CONTACT) if f"Case {case_id}." in m.text]
        if mails and firm.execution(case_id).current_state == WAITING:
            [mail] = mails
            return next(w for w in mail.text.split() if "/uploads/" in w).rstrip(".")
        assert time.monotonic() < deadline, f"{case_id} is not waiting for the vendor's documents"
        pause()


def upload(link: str, page: str, data: bytes) -> Callable[[], tuple[int, str]]:
    """The vendor's browser sending the W-9 with the page's form; S3 sends it back to the page (a fresh view)."""
    [form] = [f for f in page_forms(page) if f.get("data-document") == "w9"]

    def send() -> tuple[int, str]:
        status, _, back = post_file(form["action"], form["fields"], form["file"], data)
        return status, back

    return send


def w9_key(page: str) -> str:
    """The S3 key the page's W-9 form is signed for: which case the page is about."""
    forms = [f for f in page_forms(page) if f.get("data-document") == "w9"]
    return str(dict(forms[0]["fields"])["key"]) if len(forms) == 1 else "(no W-9 form on the page)"


def confirmation(link: str, page: str) -> Callable[[], tuple[int, str]]:
    csrf = csrf_of(page)
    return lambda: http(link, {"csrf": csrf})


def refusals(firm: Firm, case_id: str) -> Counter[str]:
    return Counter(r.outcome for r in firm.records(case_id) if r.action == "documents.refused")


def received(firm: Firm, case_id: str) -> list[dict[str, Any]]:
    return [dict(r.data) for r in firm.records(case_id) if r.action == "documents.received"]


def resumed(firm: Firm, case_id: str) -> int:
    """How many times the case went on from the upload: it read the vendor's documents once per resumption. (What
    it decides next is not this test's: the sample vendor of a second case is refused as a duplicate.)"""
    assert firm.settle(case_id).current_state != WAITING
    return firm.actions(case_id).count(("vendor_documents.read", "read"))


def resumed_with(firm: Firm, case_id: str) -> dict[str, Any]:
    """The documents the case was resumed with (the upload task's result), as the state machine holds them."""
    history = firm.runtime.client("stepfunctions").get_execution_history(
        executionArn=firm.execution(case_id).arn, maxResults=1000
    )["events"]
    outputs = [
        json.loads(e["taskSucceededEventDetails"]["output"]) for e in history if e["type"] == "TaskSucceeded"
    ]
    # The callback's output is the task's result as sent; a Lambda task's is wrapped in StatusCode and Payload.
    results = [o for o in outputs if set(o) == {"documents"}]
    assert len(results) == 1, "the case was resumed more or less than once"
    documents: dict[str, Any] = results[0]["documents"]
    return documents


def stored(firm: Firm, pointer: dict[str, Any]) -> bytes:
    s3 = firm.runtime.client("s3")
    got = s3.get_object(Bucket=pointer["bucket"], Key=pointer["key"], VersionId=pointer["version_id"])
    return bytes(got["Body"].read())


def another_w9(w9: bytes, mark: str) -> bytes:
    """The same filled W-9 as another file: a PDF comment after its end (readers ignore it)."""
    return w9 + f"\n% {mark}\n".encode()


# ------------------------------------------------------------------------------------------------------------
# The upload link's version guard
# ------------------------------------------------------------------------------------------------------------


def test_two_views_of_one_upload_page_at_once_both_give_a_working_form_every_time(firm: Firm) -> None:
    # Given a vendor case waiting for its W-9
    [(case_id, link, _)] = vendor_cases(firm, 1)
    tokens: set[str] = set()
    for trial in range(VIEW_TRIALS):
        # When the vendor opens the link in two tabs at the same moment
        pages = at_once(lambda: http(link), lambda: http(link))
        assert [(status, heading(page).startswith("Documents for ")) for status, page in pages] == [
            (200, True)
        ] * 2
        first, second = (csrf_of(page) for _, page in pages)
        assert first != second
        tokens |= {first, second}
        # Then each tab's confirmation is taken as from the page: checked for the W-9 (not there yet), not refused
        # as a forged form
        answers = at_once(confirmation(link, pages[0][1]), confirmation(link, pages[1][1]))
        assert [(status, "IRS Form W-9 has not been uploaded yet" in page) for status, page in answers] == [
            (400, True)
        ] * 2, f"trial {trial}"
    # And over 10 trials: 20 distinct tokens, 20 confirmations checked, none refused as not from the page
    assert len(tokens) == 2 * VIEW_TRIALS
    assert refusals(firm, case_id) == {"missing_document": 2 * VIEW_TRIALS}
    # And every view wrote the link exactly once: created as version 1, one version per view
    item = firm.approvals.get_item(f"upload#{link_hash(link.rsplit('/', 1)[1])}")
    assert item is not None and int(item["version"]["N"]) == 1 + 2 * VIEW_TRIALS
    assert firm.execution(case_id).current_state == WAITING


def test_one_upload_link_used_from_two_tabs_at_once_with_two_files_resumes_the_case_once(firm: Firm) -> None:
    for case_id, link, w9 in vendor_cases(firm, 3):
        # Given the vendor's upload page open in two tabs, each with its own file for the W-9
        files = [w9, another_w9(w9, "second tab, a different scan")]
        pages = [http(link)[1], http(link)[1]]
        # When both tabs send their file to S3 at the same moment (S3 sends each back to the page)
        sent = at_once(*(upload(link, page, data) for page, data in zip(pages, files, strict=True)))
        assert [status for status, _ in sent] == [200, 200]
        # And both confirm at the same moment, each with the form S3 sent it back to
        answers = at_once(*(confirmation(link, page) for _, page in sent))
        # Then exactly one confirmation resumed the case and the other was told the link was used
        assert sorted((status, heading(page)) for status, page in answers) == [
            (200, "Thank you"),
            (409, "Already uploaded"),
        ]
        # And the trail holds one receipt and one refusal as used, nothing refused as forged or missing
        assert len(received(firm, case_id)) == 1
        assert refusals(firm, case_id) == {"used": 1}
        # And the case was resumed once, with one W-9: the version S3 holds last, which is one of the two files
        assert resumed(firm, case_id) == 1
        documents = resumed_with(firm, case_id)
        assert list(documents) == ["w9"]
        pointer = documents["w9"]
        s3 = firm.runtime.client("s3")
        versions = s3.list_object_versions(Bucket=pointer["bucket"], Prefix=pointer["key"])["Versions"]
        assert len(versions) == 2
        assert [v["VersionId"] for v in versions if v["IsLatest"]] == [pointer["version_id"]]
        taken = stored(firm, pointer)
        assert taken in files
        assert received(firm, case_id)[0]["size_bytes"] == {"w9": len(taken)}
        # And the link is used from now on
        assert http(link)[0] == 409


# ------------------------------------------------------------------------------------------------------------
# The event parsed per call, not read from the resolver's process-wide current event
# ------------------------------------------------------------------------------------------------------------

DELIVERIES = 12


def _deal(index: int) -> tuple[str, bytes, tuple[str, str, str]]:
    """A won deal of its own: (event id, signed body, what its canonical event must say)."""
    event_id = f"evt_parallel_{index:02d}"
    body = json.loads(deal_won(event_id))
    deal = body["data"]["deal"]
    deal["id"] = f"006Dn00000001{index:02d}XYZ"
    deal["title"] = f"Parallel deal {index}"
    deal["value_cents"] = 1_000_000 + index * 12_345
    expected = (deal["id"], deal["title"], f"{deal['value_cents'] / 100:.2f}")
    return event_id, json.dumps(body).encode(), expected


def test_many_webhook_deliveries_at_once_each_put_their_own_event_on_the_bus(firm: Firm) -> None:
    # Given 12 different won deals, each signed by the CRM
    deals = [_deal(i) for i in range(DELIVERIES)]
    barrier = threading.Barrier(DELIVERIES)

    def deliver(index: int) -> tuple[int, dict[str, object]]:
        _, body, _ = deals[index]
        headers = signed(body)
        barrier.wait()
        return post(firm, body, headers)

    # When the CRM posts all of them at the same moment
    with ThreadPoolExecutor(DELIVERIES) as pool:
        answers = list(pool.map(deliver, range(DELIVERIES)))
    # Then each delivery was accepted under its own event id
    assert answers == [(202, {"event_id": event_id, "status": "accepted"}) for event_id, _, _ in deals]
    # And the bus holds exactly one canonical event per delivery, each saying what its own body said
    canonical = [e for e in firm.runtime.bus_events if e["source"] == "crm.webhook"]
    seen = {(o["id"], o["name"], o["amount"]) for o in (e["detail"]["opportunity"] for e in canonical)}
    assert len(canonical) == DELIVERIES and seen == {expected for _, _, expected in deals}
    # And each delivery is audited once as accepted on its own case, and nothing was refused
    for event_id, _, _ in deals:
        assert firm.actions(f"webhook-crm-{event_id}") == [("webhook.accepted", "accepted")]
    assert firm.records("webhook-refusals") == []


def test_uploads_to_different_links_at_once_each_land_under_their_own_case(firm: Firm) -> None:
    # Given four vendor cases waiting for their W-9, each vendor with its own file
    cases = vendor_cases(firm, 4)
    files = {case_id: another_w9(w9, f"case {i} {'x' * i}") for i, (case_id, _, w9) in enumerate(cases)}
    # When each vendor opens its page while a mail scanner checks every link with HEAD, all at the same moment
    opened = at_once(
        *(partial(http, link) for _, link, _ in cases),
        *(partial(http, link, method="HEAD") for _, link, _ in cases),
    )
    # Then each vendor got its own case's page (its W-9 form signed for its case's key), each scanner no body
    pages = {case_id: page for (case_id, _, _), (_, page) in zip(cases, opened, strict=False)}
    assert [status for status, _ in opened] == [200] * 8
    assert {case_id: w9_key(page) for case_id, page in pages.items()} == {
        case_id: uploads.document_key(case_id, "w9") for case_id, _, _ in cases
    }
    assert [page for _, page in opened[4:]] == [""] * 4
    # When all four send their file to S3 at the same moment, then all four confirm at the same moment
    sent = at_once(*(upload(link, pages[case_id], files[case_id]) for case_id, link, _ in cases))
    assert [(status, w9_key(page)) for status, page in sent] == [
        (200, uploads.document_key(case_id, "w9")) for case_id, _, _ in cases
    ]
    answers = at_once(
        *(confirmation(link, page) for (_, link, _), (_, page) in zip(cases, sent, strict=True))
    )
    # Then every confirmation resumed its own case
    assert [(status, heading(page)) for status, page in answers] == [(200, "Thank you")] * 4
    for case_id, _, _ in cases:
        # And each case received exactly its own file, under its own key, and refused nothing
        assert [r["size_bytes"] for r in received(firm, case_id)] == [{"w9": len(files[case_id])}]
        assert refusals(firm, case_id) == {}
        assert resumed(firm, case_id) == 1
        pointer = resumed_with(firm, case_id)["w9"]
        assert pointer["key"] == uploads.document_key(case_id, "w9")
        assert stored(firm, pointer) == files[case_id]
