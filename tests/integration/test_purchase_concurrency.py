"""Purchase approval's conditional writes under concurrent callers: the real ``purchasing`` and ``sandbox`` tables
of the local runtime, calls released together on threads (docs/concurrency.md, "Purchase approval").

Purchases from one new vendor arrive together; the vendor approval's outcome is delivered at least once and may meet
a purchase that is just registering; Step Functions retries a step whose first attempt is still running. Each write
is conditional: one onboarding request per vendor, one outcome, one resume per waiting token, one purchase order per
request.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from botocore.exceptions import ClientError

from backoffice.connectors.sandbox import SandboxErp
from backoffice.idempotency import RecordBeingCreated
from backoffice.local.runtime import LocalRuntime
from backoffice.models import CaseOutcome, VendorPurchaseOrder
from backoffice.purchasing.onboarding_wait import PurchasesNotResumed, resume_if_decided, resume_waiting
from backoffice.purchasing.orders import OrderMails, notify_vendor_once
from backoffice.purchasing.vendor_waits import CLAIM_LEASE, VendorWaits, Waiter
from infra.catalog import Ref
from tests.integration.test_sandbox_concurrency import at_once

NOW = datetime(2026, 12, 7, 9, tzinfo=UTC)
COPIES = 8


@pytest.fixture(scope="module")
def local() -> Iterator[LocalRuntime]:
    with LocalRuntime(retry_time_scale=0.001, api_port=None) as runtime:
        yield runtime


def waits_of(local: LocalRuntime) -> VendorWaits:
    return VendorWaits(local.resolve(Ref("table_name", "purchasing")), local.client("dynamodb"))


@pytest.mark.parametrize("trial", range(3))
def test_of_eight_purchases_asking_for_one_vendors_onboarding_at_once_one_asks(
    local: LocalRuntime, trial: int
) -> None:
    # Given a vendor nobody asked for yet
    waits, key = waits_of(local), f"vendor-{uuid.uuid4().hex[:8]}"
    # When eight purchases claim its onboarding at once
    answers = at_once(
        [
            lambda n=n: waits.claim_onboarding(
                key, vendor_legal_name="V LLC", case_id=f"purchase-{n}", now=NOW
            )
            for n in range(COPIES)
        ]
    )
    # Then exactly one wins, and the claim names it
    assert sorted(answers, key=str) == [False] * (COPIES - 1) + [True]
    onboarding = waits.onboarding(key)
    assert onboarding is not None and onboarding["claimed_by"].startswith("purchase-")


@pytest.mark.parametrize("trial", range(3))
def test_eight_deliveries_of_a_vendor_outcome_record_it_once(local: LocalRuntime, trial: int) -> None:
    # Given a vendor onboarding a purchase asked for
    waits, key = waits_of(local), f"vendor-{uuid.uuid4().hex[:8]}"
    assert waits.claim_onboarding(key, vendor_legal_name="V LLC", case_id="purchase-1", now=NOW)
    waits.record_vendor_case(key, vendor_case_id="vendor-1", event_id="e-1")
    # When its approval is delivered eight times at once
    answers = at_once(
        [
            lambda: waits.decide(
                key, outcome="approved", vendor_id="SUPP-1", vendor_case_id="vendor-1", reasons=[], now=NOW
            )
            for _ in range(COPIES)
        ]
    )
    # Then one delivery records it; the others find it decided
    assert answers.count(True) == 1 and answers.count(False) == COPIES - 1
    assert (waits.onboarding(key) or {})["vendor_id"] == "SUPP-1"
    # And a later rejection (a stray, older outcome) does not replace an approval; a blocked one would be
    assert not waits.decide(
        key, outcome="rejected", vendor_id=None, vendor_case_id="vendor-1", reasons=[], now=NOW
    )


def test_a_blocked_onboarding_resumed_and_approved_replaces_blocked(local: LocalRuntime) -> None:
    waits, key = waits_of(local), f"vendor-{uuid.uuid4().hex[:8]}"
    assert waits.claim_onboarding(key, vendor_legal_name="V LLC", case_id="purchase-1", now=NOW)
    waits.record_vendor_case(key, vendor_case_id="v-1", event_id="e-1")
    assert waits.decide(
        key, outcome="blocked", vendor_id=None, vendor_case_id="v-1", reasons=["late"], now=NOW
    )
    assert waits.decide(
        key, outcome="approved", vendor_id="SUPP-2", vendor_case_id="v-1", reasons=[], now=NOW
    )
    assert (waits.onboarding(key) or {})["outcome"] == "approved"


@pytest.mark.parametrize("trial", range(3))
def test_a_waiting_token_is_resumed_once_whoever_tries_at_once(local: LocalRuntime, trial: int) -> None:
    # Given a purchase waiting with its token
    waits, key = waits_of(local), f"vendor-{uuid.uuid4().hex[:8]}"
    waits.wait(key, case_id="purchase-1", task_token="token-1", execution_arn=None, now=NOW)
    [waiter] = waits.waiters(key)
    # When the outcome handler (redelivered) and the purchase itself try to resume it at once
    answers = at_once([lambda: waits.claim_resume(key, waiter, NOW) for _ in range(COPIES)])
    # Then one of them does
    assert answers.count(True) == 1
    # And the same token registered again (a retried step) does not make it resumable a second time
    waits.wait(key, case_id="purchase-1", task_token="token-1", execution_arn=None, now=NOW)
    [again] = waits.waiters(key)
    assert again.resumed_at is not None and not waits.claim_resume(key, again, NOW)
    # But a new attempt of the purchase waits with a new token, which is resumed once in its turn
    waits.wait(key, case_id="purchase-1", task_token="token-2", execution_arn=None, now=NOW)
    [fresh] = waits.waiters(key)
    assert fresh.resumed_at is None and waits.claim_resume(key, fresh, NOW)
    assert not waits.claim_resume(key, Waiter("purchase-1", "token-1", None, None), NOW)


def _order(request_id: str) -> VendorPurchaseOrder:
    return VendorPurchaseOrder(
        request_id=request_id,
        vendor_id="V-PO-SOFT",
        project_id="P-PO-01",
        category="software",
        description="Seats",
        amount=Decimal("800.00"),
        currency="USD",
        order_date=date(2026, 12, 7),
        requester_email="req@example.com",
    )


@pytest.mark.parametrize("trial", range(3))
def test_eight_creates_of_one_purchase_order_at_once_make_one_order(local: LocalRuntime, trial: int) -> None:
    # Given a purchase's order, created by eight retried or redelivered steps at once
    erp = SandboxErp(local.sandbox())
    request_id = f"PR-{uuid.uuid4().hex[:8]}"
    answers: list[Any] = at_once(
        [lambda: erp.create_purchase_order(_order(request_id), idempotency_key=f"purchase-{request_id}")]
        * COPIES
    )
    # Then one order exists, every caller got its id and number, and one of them created it
    assert not [a for a in answers if isinstance(a, Exception)]
    assert len({a.id for a in answers}) == 1 and len({a.details["number"] for a in answers}) == 1
    assert [a.created for a in answers].count(True) == 1
    stored = [o for o in local.sandbox().all("erp", "vendor_purchase_order") if o["request_id"] == request_id]
    assert len(stored) == 1
    # And it counts once in what the project has committed
    assert erp.committed_amount("P-PO-01", "USD") >= Decimal("800.00")


class _Sfn:
    """Step Functions' task-token callbacks, as seen by the waiting executions: each token resumed at most once."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    def send_task_success(self, *, taskToken: str, output: str) -> None:
        self.sent.append(taskToken)


def test_a_purchase_that_registers_after_the_outcome_and_the_outcome_handler_resume_it_once(
    local: LocalRuntime,
) -> None:
    # Given a vendor onboarding already approved, and a purchase whose token is kept just now
    waits, key = waits_of(local), f"vendor-{uuid.uuid4().hex[:8]}"
    assert waits.claim_onboarding(key, vendor_legal_name="V LLC", case_id="purchase-1", now=NOW)
    waits.record_vendor_case(key, vendor_case_id=f"{key}-case", event_id="e-1")
    waits.wait(key, case_id="purchase-2", task_token="token-2", execution_arn=None, now=NOW)
    sfn = _Sfn()
    approved = CaseOutcome(case_id=f"{key}-case", workflow="vendor_approval", outcome="Vendor Approved", data={
        "vendor_id": "SUPP-9"
    })  # fmt: skip
    # When the purchase checks for an outcome and a redelivered outcome arrives, at once, eight times each
    at_once(
        [
            lambda: resume_if_decided(
                key=key,
                case_id="purchase-2",
                execution_arn=None,
                task_token="token-2",
                waits=waits,
                sfn=sfn,
                now=lambda: NOW,
            )
            for _ in range(COPIES)
        ]
        + [
            lambda: resume_waiting("Vendor Approved", approved, waits=waits, sfn=sfn, now=lambda: NOW)
            for _ in range(COPIES)
        ]
    )
    # Then the purchase's token was resumed exactly once, with the approval
    assert sfn.sent == ["token-2"]
    assert (waits.onboarding(key) or {})["vendor_id"] == "SUPP-9"


@pytest.mark.parametrize("trial", range(3))
def test_a_claim_left_without_its_request_is_taken_over_by_one_purchase_after_the_lease(
    local: LocalRuntime, trial: int
) -> None:
    # Given a vendor's onboarding claimed by a purchase that failed before it put the request on the bus
    waits, key = waits_of(local), f"vendor-{uuid.uuid4().hex[:8]}"
    assert waits.claim_onboarding(key, vendor_legal_name="V LLC", case_id="purchase-dead", now=NOW)
    # When other purchases find it within the lease, nobody takes it over
    assert not waits.take_over_stale_claim(key, case_id="purchase-1", now=NOW + CLAIM_LEASE / 2)
    # And when eight find it at once after the lease, exactly one does
    later = NOW + CLAIM_LEASE + timedelta(seconds=1)
    answers = at_once(
        [
            lambda n=n: waits.take_over_stale_claim(key, case_id=f"purchase-{n}", now=later)
            for n in range(COPIES)
        ]
    )
    assert answers.count(True) == 1
    # And a claim whose request went out is never taken over
    waits.record_vendor_case(key, vendor_case_id="vendor-x", event_id="e-1")
    assert not waits.take_over_stale_claim(key, case_id="purchase-9", now=later + CLAIM_LEASE * 2)


def test_an_outcomes_reasons_are_kept_in_order_with_their_repeats(local: LocalRuntime) -> None:
    # Given a vendor onboarding a purchase asked for
    waits, key = waits_of(local), f"vendor-{uuid.uuid4().hex[:8]}"
    assert waits.claim_onboarding(key, vendor_legal_name="V LLC", case_id="purchase-1", now=NOW)
    waits.record_vendor_case(key, vendor_case_id="vendor-r", event_id="e-1")
    # When its rejection gives a reason twice (a string set refused duplicates: the outcome was lost)
    reasons = ["W-9 unsigned", "EIN invalid", "W-9 unsigned"]
    assert waits.decide(
        key, outcome="rejected", vendor_id=None, vendor_case_id="vendor-r", reasons=reasons, now=NOW
    )
    # Then the outcome is recorded with every reason, in order
    assert (waits.onboarding(key) or {})["reasons"] == reasons
    # And stored as a list: DynamoDB refuses a string set with a repeat (ValidationException; moto lets it pass, so
    # the stored type is what this test holds) and keeps no order in one
    stored = local.client("dynamodb").get_item(
        TableName=waits.table, Key={"pk": {"S": f"vendor#{key}"}, "sk": {"S": "onboarding"}}
    )["Item"]["reasons"]
    assert stored == {"L": [{"S": r} for r in reasons]}


@pytest.mark.parametrize("trial", range(3))
def test_a_rejected_onboarding_is_claimed_again_by_one_purchase_and_its_late_outcome_is_ignored(
    local: LocalRuntime, trial: int
) -> None:
    # Given a vendor whose onboarding was rejected
    waits, key = waits_of(local), f"vendor-{uuid.uuid4().hex[:8]}"
    assert waits.claim_onboarding(key, vendor_legal_name="V LLC", case_id="purchase-0", now=NOW)
    waits.record_vendor_case(key, vendor_case_id="vendor-old", event_id="e-0")
    assert waits.decide(
        key, outcome="rejected", vendor_id=None, vendor_case_id="vendor-old", reasons=["x"], now=NOW
    )
    # When eight new purchases from it claim its onboarding at once
    answers = at_once(
        [
            lambda n=n: waits.claim_onboarding(
                key, vendor_legal_name="V LLC", case_id=f"purchase-{n + 1}", now=NOW
            )
            for n in range(COPIES)
        ]
    )
    # Then exactly one asks again, and the record is a fresh claim, without the old outcome
    assert answers.count(True) == 1
    fresh = waits.onboarding(key) or {}
    assert "outcome" not in fresh and "reasons" not in fresh
    # And a claim under way is not claimed again
    assert not waits.claim_onboarding(key, vendor_legal_name="V LLC", case_id="purchase-x", now=NOW)
    # And a late outcome of the old vendor case is not recorded on the new onboarding, nor resumes anyone
    waits.record_vendor_case(key, vendor_case_id="vendor-new", event_id="e-9")
    waits.wait(key, case_id="purchase-1", task_token="token-new", execution_arn=None, now=NOW)
    sfn = _Sfn()
    late = CaseOutcome(case_id="vendor-old", workflow="vendor_approval", outcome="Vendor Approved", data={
        "vendor_id": "SUPP-OLD", "vendor": "V LLC"
    })  # fmt: skip
    ignored = resume_waiting("Vendor Approved", late, waits=waits, sfn=sfn, now=lambda: NOW)
    assert ignored["ignored"] and sfn.sent == [] and "outcome" not in (waits.onboarding(key) or {})
    # But the new vendor case's outcome is, and resumes the purchase
    new = CaseOutcome(case_id="vendor-new", workflow="vendor_approval", outcome="Vendor Approved", data={
        "vendor_id": "SUPP-NEW", "vendor": "V LLC"
    })  # fmt: skip
    assert resume_waiting("Vendor Approved", new, waits=waits, sfn=sfn, now=lambda: NOW)["resumed"] == [
        "purchase-1"
    ]
    assert sfn.sent == ["token-new"] and (waits.onboarding(key) or {})["vendor_id"] == "SUPP-NEW"


def test_an_outcome_naming_another_vendor_resumes_nobody(local: LocalRuntime) -> None:
    # Given purchases waiting for V LLC's onboarding
    waits, key = waits_of(local), f"vendor-{uuid.uuid4().hex[:8]}"
    assert waits.claim_onboarding(key, vendor_legal_name="V LLC", case_id="purchase-1", now=NOW)
    waits.record_vendor_case(key, vendor_case_id="vendor-v", event_id="e-1")
    waits.wait(key, case_id="purchase-1", task_token="token-1", execution_arn=None, now=NOW)
    sfn = _Sfn()
    # When the outcome of that vendor case names another vendor
    other = CaseOutcome(case_id="vendor-v", workflow="vendor_approval", outcome="Vendor Approved", data={
        "vendor_id": "SUPP-W", "vendor": "W Ltd"
    })  # fmt: skip
    said = resume_waiting("Vendor Approved", other, waits=waits, sfn=sfn, now=lambda: NOW)
    # Then nobody is resumed and nothing recorded, saying why
    assert "W Ltd" in said["ignored"] and sfn.sent == [] and "outcome" not in (waits.onboarding(key) or {})


class _FailingSfn(_Sfn):
    """Step Functions failing the first ``failures`` callbacks (a throttle, a network error)."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures

    def send_task_success(self, *, taskToken: str, output: str) -> None:
        if self.failures:
            self.failures -= 1
            raise ClientError(
                {"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "SendTaskSuccess"
            )
        super().send_task_success(taskToken=taskToken, output=output)


def test_a_resume_whose_callback_or_audit_record_failed_is_resumed_by_the_retry(local: LocalRuntime) -> None:
    # Given a purchase waiting for a vendor's onboarding, and its approval
    waits, key = waits_of(local), f"vendor-{uuid.uuid4().hex[:8]}"
    assert waits.claim_onboarding(key, vendor_legal_name="V LLC", case_id="purchase-1", now=NOW)
    waits.record_vendor_case(key, vendor_case_id="vendor-s", event_id="e-1")
    waits.wait(key, case_id="purchase-1", task_token="token-1", execution_arn=None, now=NOW)
    approved = CaseOutcome(case_id="vendor-s", workflow="vendor_approval", outcome="Vendor Approved", data={
        "vendor_id": "SUPP-1", "vendor": "V LLC"
    })  # fmt: skip
    # When the purchase's audit record fails on the first delivery
    sfn = _FailingSfn(failures=1)

    def audit_down(case_id: str, output: Any) -> None:
        raise RuntimeError("audit table unavailable")

    with pytest.raises(RuntimeError):
        resume_waiting(
            "Vendor Approved", approved, waits=waits, sfn=sfn, now=lambda: NOW, before_resume=audit_down
        )
    # And Step Functions throttles the callback on the redelivery
    with pytest.raises(PurchasesNotResumed):
        resume_waiting("Vendor Approved", approved, waits=waits, sfn=sfn, now=lambda: NOW)
    # Then the purchase was not marked resumed, and the next redelivery resumes it, once
    [waiter] = waits.waiters(key)
    assert waiter.resumed_at is None and sfn.sent == []
    assert resume_waiting("Vendor Approved", approved, waits=waits, sfn=sfn, now=lambda: NOW)["resumed"] == [
        "purchase-1"
    ]
    assert resume_waiting("Vendor Approved", approved, waits=waits, sfn=sfn, now=lambda: NOW)["resumed"] == []
    assert sfn.sent == ["token-1"]


class _CountingMailer:
    def __init__(self, failures: int = 0) -> None:
        self.sent: list[str] = []
        self.failures = failures

    def send(self, *, to: str, subject: str, text: str, html: str, tags: Any = None) -> str | None:
        if self.failures:
            self.failures -= 1
            raise RuntimeError("SES refused the mail")
        self.sent.append(to)
        return f"m-{len(self.sent)}"


def _mails_and_request(local: LocalRuntime) -> tuple[OrderMails, Any, dict[str, Any]]:
    from backoffice.models import PurchaseRequested

    request = PurchaseRequested.from_json_dict(
        {
            "request_id": f"PR-{uuid.uuid4().hex[:8]}",
            "requester_email": "req@example.com",
            "category": "software",
            "description": "Seats",
            "amount": "800.00",
            "currency": "USD",
            "project_id": "P-PO-01",
            "vendor_id": "V-PO-SOFT",
            "requested_at": "2026-12-07T09:00:00Z",
        }
    )
    order = {"number": "PO-1", "vendor_email": "orders@v.example", "vendor_name": "V"}
    return (
        OrderMails(local.resolve(Ref("table_name", "purchasing")), local.client("dynamodb")),
        request,
        order,
    )


@pytest.mark.parametrize("trial", range(3))
def test_eight_notify_steps_of_one_order_at_once_mail_the_vendor_once(
    local: LocalRuntime, trial: int
) -> None:
    # Given an issued order, and its notify step run eight times at once (retries racing the first attempt)
    mails, request, order = _mails_and_request(local)
    mailer = _CountingMailer()
    answers = at_once(
        [
            lambda: notify_vendor_once(request, order, firm="F", mailer=mailer, mails=mails, now=lambda: NOW)
            for _ in range(COPIES)
        ]
    )
    # Then the vendor got one mail; the others answered it mailed, or to retry while it was being sent
    assert mailer.sent == ["orders@v.example"]
    assert all(isinstance(a, RecordBeingCreated) or a["mailed"] for a in answers)
    # And a retry after it is sent answers mailed without sending
    again = notify_vendor_once(request, order, firm="F", mailer=mailer, mails=mails, now=lambda: NOW)
    assert again["mailed"] and "not sent again" in again["reasons"][0] and len(mailer.sent) == 1


def test_a_mail_ses_refused_is_sent_by_the_retry(local: LocalRuntime) -> None:
    mails, request, order = _mails_and_request(local)
    mailer = _CountingMailer(failures=1)
    with pytest.raises(RuntimeError):
        notify_vendor_once(request, order, firm="F", mailer=mailer, mails=mails, now=lambda: NOW)
    said = notify_vendor_once(request, order, firm="F", mailer=mailer, mails=mails, now=lambda: NOW)
    assert said["mailed"] and mailer.sent == ["orders@v.example"]


@pytest.mark.parametrize("trial", range(3))
def test_two_purchases_within_budget_but_together_over_it_rechecked_at_once_hold_it_once(
    local: LocalRuntime, trial: int
) -> None:
    # Given a project with 1,500 left, and two purchases of 1,000 each, each within budget alone
    from backoffice.purchasing.attempts import BudgetReservations

    table = local.resolve(Ref("table_name", "purchasing"))
    reservations = BudgetReservations(local.client("dynamodb"), table)
    project = f"P-{uuid.uuid4().hex[:8]}"
    room = Decimal("1500.00") - Decimal("1000.00")
    # When both are rechecked just before their orders, at once (and each step retried: four callers each)
    answers = at_once(
        [
            lambda n=n: reservations.reserve(project, f"{project}-PR-{n % 2}", Decimal("1000.00"), room)
            for n in range(COPIES)
        ]
    )
    # Then exactly one request holds the budget (its retries agree); the other is over budget: owner and finance
    by_request = {n % 2: answers[n] for n in range(COPIES)}
    assert sorted(by_request.values()) == [False, True]
    assert all(answers[n] == by_request[n % 2] for n in range(COPIES))
    assert reservations.reserved(project) == Decimal("1000.00")
    # And once the held one's order exists, its reservation is released once, whoever releases it
    held = next(n for n, ok in by_request.items() if ok)
    released = at_once([lambda: reservations.release(f"{project}-PR-{held}", NOW) for _ in range(COPIES)])
    assert released.count(True) == 1 and reservations.reserved(project) == Decimal(0)


@pytest.mark.parametrize("trial", range(3))
def test_an_attempt_and_its_correction_taking_the_order_at_once_one_orders(
    local: LocalRuntime, trial: int
) -> None:
    # Given a request whose first attempt (09:00) and correction (10:00) both claimed; the correction is the latest
    from backoffice.purchasing.attempts import PurchaseAttempts

    attempts = PurchaseAttempts(local.client("dynamodb"), local.resolve(Ref("table_name", "purchasing")))
    request = f"PR-{uuid.uuid4().hex[:8]}"
    first, fixed = "2026-12-07T09:00:00.000000Z", "2026-12-07T10:00:00.000000Z"
    assert attempts.claim(request, first, "exec-1") is None
    assert attempts.claim(request, fixed, "exec-2") is None
    assert attempts.claim(request, first, "exec-1") is not None  # the older one, late: superseded
    # When both take the order at once, four times each
    answers = at_once(
        [lambda: ("exec-1", attempts.confirm(request, first, "exec-1")) for _ in range(4)]
        + [lambda: ("exec-2", attempts.confirm(request, fixed, "exec-2")) for _ in range(4)]
    )
    # Then only the correction orders; the first is superseded
    assert [why for who, why in answers if who == "exec-2"] == [None] * 4  # type: ignore[misc]
    stopped = [why for who, why in answers if who == "exec-1"]  # type: ignore[misc]
    assert len(stopped) == 4 and all(why and "superseded" in why for why in stopped)
    # And a later correction, once ordered, is told to amend the order in the ERP
    attempts.ordered(request, "PO-77")
    assert attempts.claim(request, "2026-12-07T11:00:00.000000Z", "exec-3") == (
        f"request {request} is already ordered as PO PO-77: amend it in the ERP"
    )


@pytest.mark.parametrize("trial", range(3))
def test_a_blocked_onboarding_is_waited_for_not_claimed_again_until_it_is_abandoned(
    local: LocalRuntime, trial: int
) -> None:
    # Given a vendor onboarding that ended blocked (its vendor case may still be resumed)
    from backoffice.purchasing.vendor_waits import BLOCKED_ABANDONED

    waits, key = waits_of(local), f"vendor-{uuid.uuid4().hex[:8]}"
    assert waits.claim_onboarding(key, vendor_legal_name="V LLC", case_id="purchase-1", now=NOW)
    waits.record_vendor_case(key, vendor_case_id="v-1", event_id="e-1")
    assert waits.decide(
        key, outcome="blocked", vendor_id=None, vendor_case_id="v-1", reasons=["late"], now=NOW
    )
    # When eight purchases ask for the vendor's onboarding at once, the next day
    later = NOW + timedelta(days=1)
    answers = at_once(
        [
            lambda n=n: waits.claim_onboarding(
                key, vendor_legal_name="V LLC", case_id=f"purchase-{n}", now=later
            )
            for n in range(COPIES)
        ]
    )
    # Then none starts a second onboarding: the blocked one stays, and a purchase registering is not resumed blocked
    assert answers == [False] * COPIES
    assert (waits.onboarding(key) or {})["vendor_case_id"] == "v-1"
    sfn = _Sfn()
    assert (
        resume_if_decided(
            key=key, case_id="purchase-9", execution_arn=None, task_token="t-9", waits=waits, sfn=sfn,
            now=lambda: later,
        )
        is None
    )  # fmt: skip
    assert sfn.sent == []
    # But once it is abandoned (blocked for BLOCKED_ABANDONED), one of them asks again
    abandoned = NOW + BLOCKED_ABANDONED + timedelta(minutes=1)
    again = at_once(
        [
            lambda n=n: waits.claim_onboarding(
                key, vendor_legal_name="V LLC", case_id=f"p-{n}", now=abandoned
            )
            for n in range(COPIES)
        ]
    )
    assert again.count(True) == 1


class _SfnFailingFor(_Sfn):
    """Step Functions throttling one token's callback once."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token, self.failed = token, False

    def send_task_success(self, *, taskToken: str, output: str) -> None:
        if taskToken == self.token and not self.failed:
            self.failed = True
            raise ClientError(
                {"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "SendTaskSuccess"
            )
        super().send_task_success(taskToken=taskToken, output=output)


def test_one_waiting_purchase_that_fails_to_resume_does_not_stop_the_others_and_is_recorded_once(
    local: LocalRuntime,
) -> None:
    # Given three purchases waiting for one vendor's onboarding, and its approval
    waits, key = waits_of(local), f"vendor-{uuid.uuid4().hex[:8]}"
    assert waits.claim_onboarding(key, vendor_legal_name="V LLC", case_id="purchase-1", now=NOW)
    waits.record_vendor_case(key, vendor_case_id=f"{key}-case", event_id="e-1")
    for n in (1, 2, 3):
        waits.wait(key, case_id=f"purchase-{n}", task_token=f"token-{n}", execution_arn=None, now=NOW)
    approved = CaseOutcome(case_id=f"{key}-case", workflow="vendor_approval", outcome="Vendor Approved", data={
        "vendor_id": "SUPP-1", "vendor": "V LLC"
    })  # fmt: skip
    records: list[str] = []
    sfn = _SfnFailingFor("token-1")

    def record(case_id: str, output: Any) -> None:
        records.append(case_id)

    # When the first purchase's callback is throttled on the first delivery
    with pytest.raises(PurchasesNotResumed, match="purchase-1"):
        resume_waiting(
            "Vendor Approved", approved, waits=waits, sfn=sfn, now=lambda: NOW, before_resume=record
        )
    # Then the other two were resumed all the same
    assert sorted(sfn.sent) == ["token-2", "token-3"]
    # And the redelivery resumes the first, without a second record on its trail
    again = resume_waiting(
        "Vendor Approved", approved, waits=waits, sfn=sfn, now=lambda: NOW, before_resume=record
    )
    assert again["resumed"] == ["purchase-1"] and sorted(sfn.sent) == ["token-1", "token-2", "token-3"]
    assert sorted(records) == ["purchase-1", "purchase-2", "purchase-3"]
