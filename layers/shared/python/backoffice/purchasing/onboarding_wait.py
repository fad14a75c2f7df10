"""A purchase waiting for its vendor's onboarding: 'Wait for vendor onboarding' asks for it and waits with a task
token; the vendor approval's outcome resumes every purchase waiting for that vendor.

    wait_for_onboarding   claim the vendor's onboarding (one purchase of those waiting puts Vendor Onboarding
                          Requested on the bus), keep this purchase's token, and resume it at once if the
                          onboarding already has its outcome (it ended between the check and this step)
    resume_waiting        Vendor Approved / Vendor Rejected / Vendor Onboarding Blocked of an onboarding a purchase
                          started: the outcome recorded, every waiting token resumed once (SendTaskSuccess with
                          {outcome, vendor_id, vendor_case_id, reasons}); a token already resumed, or whose
                          execution no longer waits, is left alone: a resume twice is harmless

The vendor onboarding's case id is the vendor approval rule's (``VENDOR_CASE_PREFIX``, ``VENDOR_CASE_KEY``: a test
holds them to the catalog), made of the event id EventBridge gave the request.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from backoffice.cases import case_id_for
from backoffice.models import CaseOutcome, DetailType, PurchaseRequested, VendorOnboardingRequested
from backoffice.purchasing.vendor_waits import VendorOutcome, VendorWaits, Waiter, vendor_key

# The source of the Vendor Onboarding Requested a purchase puts on the bus (not backoffice.workflows: it is a
# request, not a case's outcome).
PURCHASING_SOURCE = "backoffice.purchasing"
VENDOR_CASE_PREFIX = "vendor"  # the vendor_approval state machine's execution prefix
VENDOR_CASE_KEY = "detail.vendor_legal_name+id"  # the vendor_onboarding_requested rule's case key
VENDOR_OUTCOMES: Mapping[str, VendorOutcome] = {
    DetailType.VENDOR_APPROVED: "approved",
    DetailType.VENDOR_REJECTED: "rejected",
    "Vendor Onboarding Blocked": "blocked",
}
_TOKEN_GONE = {"TaskTimedOut", "InvalidToken", "TaskDoesNotExist"}


class PurchasesNotResumed(RuntimeError):
    """Some waiting purchases could not be resumed (the others were): the outcome's redelivery tries them again."""


class VendorOnboardingNotRequested(RuntimeError):
    """The bus refused the vendor onboarding request: the step fails and its Retry tries again."""


def onboarding_request(detail: PurchaseRequested) -> dict[str, Any]:
    """The ``Vendor Onboarding Requested`` detail for the purchase's new vendor; the requester asks for it."""
    assert detail.new_vendor is not None
    vendor = detail.new_vendor
    request = VendorOnboardingRequested(
        requester_email=detail.requester_email,
        vendor_legal_name=vendor.vendor_legal_name,
        category=vendor.category,
        expected_annual_spend=vendor.expected_annual_spend,
        currency=vendor.currency,
        contact_email=vendor.contact_email,
        documents=vendor.documents,
        handles_data=vendor.handles_data,
    )
    body: dict[str, Any] = request.to_json_dict()
    return body


def wait_for_onboarding(
    detail: PurchaseRequested,
    *,
    key: str,
    case_id: str,
    execution_arn: str | None,
    task_token: str,
    waits: VendorWaits,
    events: Any,
    bus_name: str,
    now: Callable[[], datetime],
) -> dict[str, Any]:
    """Ask for the vendor's onboarding (once per vendor) and register this purchase's token. Returns what the
    audit record says: whether this purchase asked, and the vendor case. ``resume_if_decided`` comes next."""
    assert detail.new_vendor is not None
    asked = waits.claim_onboarding(
        key, vendor_legal_name=detail.new_vendor.vendor_legal_name, case_id=case_id, now=now()
    )
    onboarding = waits.onboarding(key) or {}
    # A retry of the purchase that claimed, whose first attempt died before the event went out, puts it now; so does
    # a purchase that takes over a claim its purchase left without an event (that purchase failed in between).
    mine = onboarding.get("claimed_by") == case_id and not onboarding.get("event_id")
    if asked or mine or waits.take_over_stale_claim(key, case_id=case_id, now=now()):
        request = onboarding_request(detail)
        response = events.put_events(
            Entries=[
                {
                    "EventBusName": bus_name,
                    "Source": PURCHASING_SOURCE,
                    "DetailType": DetailType.VENDOR_ONBOARDING_REQUESTED.value,
                    "Detail": json.dumps(request, default=str),
                    "Resources": [execution_arn] if execution_arn else [],
                }
            ]
        )
        entry = response["Entries"][0]
        if response.get("FailedEntryCount") or "EventId" not in entry:
            raise VendorOnboardingNotRequested(f"{entry.get('ErrorCode')}: {entry.get('ErrorMessage')}")
        vendor_case = case_id_for(
            VENDOR_CASE_PREFIX, {"id": entry["EventId"], "detail": request}, VENDOR_CASE_KEY
        )
        waits.record_vendor_case(key, vendor_case_id=vendor_case, event_id=entry["EventId"])
        asked = True
        onboarding = waits.onboarding(key) or {}
    waits.wait(key, case_id=case_id, task_token=task_token, execution_arn=execution_arn, now=now())
    return {"asked": asked, "vendor_case_id": onboarding.get("vendor_case_id")}


def resume_if_decided(
    *,
    key: str,
    case_id: str,
    execution_arn: str | None,
    task_token: str,
    waits: VendorWaits,
    sfn: Any,
    now: Callable[[], datetime],
) -> dict[str, Any] | None:
    """After the token is kept: the onboarding may have ended before, when its outcome handler could not see this
    purchase. Then the purchase is resumed now, with the outcome (returned); else None, and it waits."""
    onboarding = waits.onboarding(key) or {}
    if not onboarding.get("outcome") or onboarding.get("outcome") == "blocked":
        return None  # under way, or blocked: its vendor case may be resumed, and its next outcome resumes this one
    output = _outcome_of(onboarding)
    resumed = _resume(waits, key, Waiter(case_id, task_token, execution_arn, None), output, sfn, now)
    return output if resumed else None


def _outcome_of(onboarding: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "outcome": onboarding.get("outcome"),
        "vendor_id": onboarding.get("vendor_id"),
        "vendor_case_id": onboarding.get("decided_case_id") or onboarding.get("vendor_case_id"),
        "reasons": list(onboarding.get("reasons") or []),
    }


def _resume(
    waits: VendorWaits,
    key: str,
    waiter: Waiter,
    output: Mapping[str, Any],
    sfn: Any,
    now: Callable[[], datetime],
    claimed: Callable[[], None] = lambda: None,
) -> bool:
    """Resume one waiting purchase, once: False when another caller did, or its execution no longer waits.
    ``claimed`` runs once this caller holds the resume, before the execution goes on. When ``claimed`` or the
    callback fails (other than the token being gone), the claim is released before the error goes up."""
    at = now()
    if not waits.claim_resume(key, waiter, at):
        return False
    try:
        claimed()
        sfn.send_task_success(taskToken=waiter.task_token, output=json.dumps(dict(output), default=str))
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in _TOKEN_GONE:
            return False  # resumed before, or its execution no longer waits: the claim stays
        waits.release_resume(key, waiter, at)
        raise
    except Exception:
        # The audit record or the callback failed: the claim is given back, so that the outcome's redelivery (the
        # rule's retry) or the purchase's own retried step resumes it; else it would wait until its time limit.
        waits.release_resume(key, waiter, at)
        raise
    return True


def _said_once(waits: VendorWaits, key: str, waiter: Waiter, say: Callable[[], None]) -> None:
    """The resume's record on the purchase's trail, once per token (not again when a released resume is retried)."""
    if not waiter.audited:
        say()
        waits.mark_audited(key, waiter)


def _not_this_onboarding(outcome: CaseOutcome, claim: Mapping[str, Any]) -> str | None:
    """Why the outcome does not resume the purchases waiting on the claim (None: it does): the claim is another
    onboarding's now (the vendor was onboarded again after a rejection), or the outcome names another vendor."""
    if claim.get("vendor_case_id") != outcome.case_id:
        return (
            f"vendor case {outcome.case_id} is not the onboarding the purchases wait for "
            f"({claim.get('vendor_case_id') or 'none'})"
        )
    named = outcome.data.get("vendor")
    asked = claim.get("vendor_legal_name")
    if named and asked and vendor_key(str(named)) != vendor_key(str(asked)):
        return f"vendor case {outcome.case_id} decided {named}, not {asked}, whose onboarding the purchases wait for"
    return None


def resume_waiting(
    detail_type: str,
    outcome: CaseOutcome,
    *,
    waits: VendorWaits,
    sfn: Any,
    now: Callable[[], datetime],
    before_resume: Callable[[str, Mapping[str, Any]], None] = lambda case_id, output: None,
) -> dict[str, Any]:
    """The vendor onboarding's outcome, for the purchases waiting for it. Returns the vendor key (None: no purchase
    started that onboarding), whether this delivery recorded the outcome, and the purchases resumed.
    ``before_resume`` (the audit record on the purchase's trail) runs once a waiter is claimed, before its execution
    goes on, so that the record comes before the steps that follow it on the trail."""
    key = waits.vendor_key_of_case(outcome.case_id)
    if key is None:
        return {"vendor_key": None, "recorded": False, "resumed": [], "already": []}
    claim = waits.onboarding(key) or {}
    ignored = _not_this_onboarding(outcome, claim)
    if ignored:
        return {"vendor_key": key, "recorded": False, "resumed": [], "already": [], "ignored": ignored}
    word = VENDOR_OUTCOMES[detail_type]
    vendor_id = outcome.data.get("vendor_id") if word == "approved" else None
    recorded = waits.decide(
        key,
        outcome=word,
        vendor_id=str(vendor_id) if vendor_id else None,
        vendor_case_id=outcome.case_id,
        reasons=outcome.reasons,
        now=now(),
    )
    output = _outcome_of(waits.onboarding(key) or {})
    resumed, already, failed = [], [], []
    errors: list[Exception] = []
    for waiter in waits.waiters(key):
        said = functools.partial(
            _said_once, waits, key, waiter, functools.partial(before_resume, waiter.case_id, output)
        )
        try:
            if waiter.resumed_at is None and _resume(waits, key, waiter, output, sfn, now, said):
                resumed.append(waiter.case_id)
            else:
                already.append(waiter.case_id)
        except Exception as error:  # the others are still resumed; this one is released for the redelivery
            failed.append(waiter.case_id)
            errors.append(error)
    if errors:
        raise PurchasesNotResumed(
            f"{len(failed)} waiting purchase(s) not resumed ({', '.join(failed)}); resumed: "
            f"{', '.join(resumed) or 'none'}: the outcome's redelivery tries them again"
        ) from errors[0]
    return {
        "vendor_key": key,
        "recorded": recorded,
        "outcome": output,
        "resumed": resumed,
        "already": already,
    }
