"""``make run``: new hires from the HRIS set up as PSA resources (issue #22), one line per scenario.

``seed_resource_onboarding`` gives the sandbox what the hires need: the firm's standard rate card in the PSA, the
practice leads in the HRIS (W-001 technology, W-002 risk, W-004 digital), three subcontracting vendors in the ERP and
a staffing request waiting for a designer. ``sample_hires`` are the ``Worker Hired`` events:

=============  ======  ====================================================================  =================
scenario       worker  the hire                                                              outcome
=============  ======  ====================================================================  =================
clean          W-101   an engineer at the card's rate                                        onboarded
rate           W-102   a senior consultant costing 160/h: the card's 225 is below the floor  lead approves
expired        W-103   a subcontractor of an approved vendor whose insurance expired         blocked
unapproved     W-104   a subcontractor of a vendor on hold (not approved)                    blocked
no_nda         W-105   a subcontractor whose signed NDA is missing                           blocked
subcontractor  W-108   a subcontractor of an approved, insured vendor, papers in order       onboarded
rehire         W-106   hired, the same hire delivered again, then rehired later              one case, updated
assignment     W-107   a designer: the waiting staffing request is assigned to them          assigned
=============  ======  ====================================================================  =================

Dates are counted from today, so the sample stays true whatever day it runs.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, TextIO

from backoffice.approvals.store import ApprovalStore
from backoffice.connectors.sandbox import SandboxStore
from backoffice.local.polling import Pauses
from backoffice.local.runtime import LocalRuntime
from backoffice.models import Vendor
from backoffice.onboarding.sample_firm import FIRM_EMAIL_DOMAIN, standard_rate_card

# The demo's way to an approver's link: (runtime, approver, case id) -> the link in their latest mail, or None.
LinkFinder = Callable[[LocalRuntime, str, str], str | None]
PRACTICE_LEADS = {"W-001": "technology", "W-002": "risk", "W-004": "digital"}
APPROVED_VENDOR, EXPIRED_VENDOR, ON_HOLD_VENDOR = "V-RO-NORTHSTAR", "V-RO-HARBOR", "V-RO-PIKE"
STAFFING_REQUEST = "RR-RO-DESIGNER"
STAFFED_PROJECT = "P-RO-01"
SOURCE = "hris.workday"


@dataclass(frozen=True)
class SampleHire:
    scenario: str
    detail: dict[str, Any]
    expected: str  # Worker Onboarded / Worker Onboarding Blocked

    @property
    def worker_id(self) -> str:
        return str(self.detail["worker_id"])

    @property
    def case_id(self) -> str:
        return f"worker-{self.worker_id}"


def _email(name: str) -> str:
    return f"{name.lower().replace(' ', '.')}@{FIRM_EMAIL_DOMAIN}"


def _vendor(vendor_id: str, name: str, *, on_hold: bool, insurance_expires_on: date) -> dict[str, Any]:
    body: dict[str, Any] = Vendor(
        id=vendor_id,
        supplier_name=name,
        category="subcontractor",
        default_currency="USD",
        payment_terms_days=30,
        on_hold=on_hold,
        hold_type="all" if on_hold else None,
        insurance_expires_on=insurance_expires_on,  # as vendor approval keeps it from the certificate
    ).to_json_dict(reveal_secrets=True)
    return body


def seed_resource_onboarding(store: SandboxStore, today: date | None = None) -> None:
    """The rate card, practice leads, vendors and waiting staffing request the sample hires meet."""
    today = today or date.today()
    card = standard_rate_card("USD")
    store.put("psa", "rate_card", card.id, card.to_json_dict())
    for worker_id in PRACTICE_LEADS:
        store.change(
            "hris",
            "worker",
            worker_id,
            lambda body: (
                None
                if "practice_lead" in body.get("roles", [])
                else {**body, "roles": [*body.get("roles", []), "practice_lead"]}
            ),
        )
    year_on, month_ago = today + timedelta(days=365), today - timedelta(days=30)
    for vendor_id, name, on_hold, expires in (
        (APPROVED_VENDOR, "Northstar Engineering Partners LLC", False, year_on),
        (EXPIRED_VENDOR, "Harbor Staffing Group Inc.", False, month_ago),
        (ON_HOLD_VENDOR, "Pike Street Consulting LLC", True, year_on),
    ):
        store.put(
            "erp",
            "vendor",
            vendor_id,
            _vendor(vendor_id, name, on_hold=on_hold, insurance_expires_on=expires),
        )
    store.put(
        "psa",
        "resource_request",
        STAFFING_REQUEST,
        {
            "id": STAFFING_REQUEST,
            "project_id": STAFFED_PROJECT,
            "role": "designer",
            "hours": "320",
            "start": (today + timedelta(days=14)).isoformat(),
            "end": (today + timedelta(days=120)).isoformat(),
            "skills": ["ui_design"],
            "candidate_ids": [],
            "conflicts": ["no_candidate: no designer free for the period"],
            "status": "open",
        },
    )


def _documents(today: date, *kinds: str) -> list[dict[str, Any]]:
    return [
        {
            "kind": kind,
            "signed_on": (today - timedelta(days=3)).isoformat(),
            "expires_on": (today + timedelta(days=730)).isoformat(),
        }
        for kind in kinds
    ]


def hire(
    worker_id: str,
    name: str,
    role: str,
    practice: str,
    cost: str,
    manager: str,
    *,
    today: date,
    employment: str = "employee",
    start_in_days: int = 7,
    **extra: Any,
) -> dict[str, Any]:
    """A ``Worker Hired`` detail as the HRIS sends it."""
    return {
        "worker_id": worker_id,
        "name": name,
        "email": _email(name),
        "employment": employment,
        "role": role,
        "practice": practice,
        "cost_rate": cost,
        "currency": "USD",
        "start_date": (today + timedelta(days=start_in_days)).isoformat(),
        "manager_id": manager,
        **extra,
    }


def sample_hires(today: date | None = None) -> list[SampleHire]:
    today = today or date.today()
    both = _documents(today, "nda", "right_to_work")
    onboarded, blocked = "Worker Onboarded", "Worker Onboarding Blocked"
    return [
        SampleHire(
            "clean",
            hire("W-101", "Nadia Brooks", "engineer", "technology", "85", "W-010", today=today,
                 skills=["aws", "python"], weekly_hours="40"),
            onboarded,
        ),
        SampleHire(
            "rate",
            hire("W-102", "Omar Vance", "senior_consultant", "technology", "160", "W-013", today=today,
                 skills=["sap"]),
            onboarded,
        ),
        SampleHire(
            "expired",
            hire("W-103", "Lars Kemp", "consultant", "technology", "70", "W-010", today=today,
                 employment="subcontractor", vendor_id=EXPIRED_VENDOR, documents=both),
            blocked,
        ),
        SampleHire(
            "unapproved",
            hire("W-104", "Mira Holt", "consultant", "risk", "70", "W-008", today=today,
                 employment="subcontractor", vendor_id=ON_HOLD_VENDOR, documents=both),
            blocked,
        ),
        SampleHire(
            "no_nda",
            hire("W-105", "Pavel Dorn", "engineer", "technology", "80", "W-010", today=today,
                 employment="subcontractor", vendor_id=APPROVED_VENDOR,
                 documents=_documents(today, "right_to_work")),
            blocked,
        ),
        SampleHire(
            "subcontractor",
            hire("W-108", "Iris Falk", "engineer", "technology", "95", "W-010", today=today,
                 employment="subcontractor", vendor_id=APPROVED_VENDOR, documents=both, bill_rate="175"),
            onboarded,
        ),
        SampleHire(
            "rehire",
            hire("W-106", "Ada Quinn", "analyst", "advisory", "50", "W-014", today=today, weekly_hours="24"),
            onboarded,
        ),
        SampleHire(
            "assignment",
            hire("W-107", "Theo Lund", "designer", "digital", "70", "W-004", today=today,
                 skills=["ui_design", "ux_research"]),
            onboarded,
        ),
    ]  # fmt: skip


def rehire_of(sample: SampleHire, *, start_in_days: int = 90) -> dict[str, Any]:
    """The same worker hired again later: a new start date (the case's next attempt), full time now."""
    start = date.fromisoformat(sample.detail["start_date"]) + timedelta(days=start_in_days)
    return {**sample.detail, "start_date": start.isoformat(), "weekly_hours": "40"}


def rehire_execution(sample: SampleHire, runtime: LocalRuntime, timeout: float = 30) -> str | None:
    """The name of the rehire's execution (the case's second attempt), once its start is on the trail."""
    from backoffice.audit import AuditTrail
    from infra.catalog import Ref

    deadline = time.monotonic() + timeout
    pause = Pauses()
    while time.monotonic() < deadline:
        records = AuditTrail(runtime.resolve(Ref("table_name", "audit"))).records(sample.case_id)
        names = [
            r.data.get("execution") for r in records if r.action == "case.started" and r.data.get("execution")
        ]
        later = [n for n in names if n != sample.case_id]
        if later:
            return str(later[-1])
        pause()
    return None


# ------------------------------------------------------------------------------------------------------------
# make run
# ------------------------------------------------------------------------------------------------------------


def _trail(runtime: LocalRuntime, case_id: str) -> list[Any]:
    from backoffice.audit import AuditTrail
    from infra.catalog import Ref

    return AuditTrail(runtime.resolve(Ref("table_name", "audit"))).records(case_id)


def _wait_outcomes(runtime: LocalRuntime, case_id: str, count: int, timeout: float = 60) -> list[str]:
    deadline = time.monotonic() + timeout
    while True:
        outcomes = [r.outcome for r in _trail(runtime, case_id) if r.action == "outcome.published"]
        if len(outcomes) >= count or time.monotonic() > deadline:
            return outcomes
        time.sleep(0.1)


def _approve_by_link(
    runtime: LocalRuntime, approvals: ApprovalStore, link: LinkFinder, case_id: str, comment: str
) -> bool:
    """Wait for the case's approval request, then approve it as its first approver does: the link in their mail,
    the page's form."""
    from backoffice.local.approver import decide_via_http

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for request in approvals.pending_requests():
            url = link(runtime, request.approvers[0], case_id) if request.case_id == case_id else None
            if url:
                status, _, _ = decide_via_http(url, "approve", request.approvers[0], comment)
                return status == 200
        time.sleep(0.1)
    return False


def run_resource_onboarding(
    runtime: LocalRuntime, approvals: ApprovalStore, link: LinkFinder, out: TextIO
) -> bool:
    """Seed, send the hires, let the practice lead approve the out-of-band rate through the link, deliver the
    rehire's event twice and then its rehire, and print a table: scenario, case, outcome, ok. True when every case
    ended as the sample expects."""
    today = date.today()
    seed_resource_onboarding(runtime.sandbox(), today)
    hires = sample_hires(today)
    for sample in hires:
        runtime.put_event("Worker Hired", sample.detail, source=SOURCE)
    by_scenario = {sample.scenario: sample for sample in hires}
    rehire = by_scenario["rehire"]
    runtime.put_event("Worker Hired", rehire.detail, source=SOURCE)  # delivered twice: one case
    ok = _approve_by_link(runtime, approvals, link, by_scenario["rate"].case_id, "Scarce SAP skills: agreed")
    _wait_outcomes(runtime, rehire.case_id, 1)
    runtime.put_event("Worker Hired", rehire_of(rehire), source=SOURCE)
    runtime.wait_until_idle(timeout=120)
    out.write(f"  {'scenario':<14} {'case':<12} {'outcome':<26} {'ok':<6} why\n")
    for sample in hires:
        outcomes = _wait_outcomes(runtime, sample.case_id, 2 if sample is rehire else 1)
        trail = _trail(runtime, sample.case_id)
        expected = [sample.expected] * (2 if sample is rehire else 1)
        good = outcomes == expected
        note = ""
        if sample is rehire:
            starts = sum(1 for r in trail if r.action == "case.started")
            duplicates = sum(1 for r in trail if r.action == "event.duplicate")
            saved = [r.outcome for r in trail if r.action == "resource.saved"]
            good = good and (starts, duplicates, saved) == (2, 1, ["created", "updated"])
            note = f" ({starts} attempts, {duplicates} duplicate ignored, resource {' then '.join(saved)})"
        elif sample.scenario == "assignment":
            assigned = [r for r in trail if r.action == "resource.assigned"]
            good = good and bool(assigned)
            note = f" (staffing request {STAFFING_REQUEST} assigned)" if assigned else " (not assigned)"
        elif sample.scenario == "rate":
            approved = [r for r in trail if r.action == "approval.decided" and r.outcome == "approved"]
            good = good and bool(approved)
            note = " (rate approved by the practice lead)" if approved else ""
        elif sample.expected.endswith("Blocked"):
            blocked = next((r for r in trail if r.action == "worker.checked"), None)
            note = f" ({blocked.reasons[0]})" if blocked and blocked.reasons else ""
        first_save = next((r for r in trail if r.action == "resource.saved"), None)
        if not note and first_save is not None and len(first_save.reasons) > 1:
            note = first_save.reasons[1]  # role, practice, cost and bill rate
        ok = ok and good
        outcome = outcomes[-1] if outcomes else "no outcome"
        mark = "ok" if good else "NOT OK"
        out.write(
            f"  {sample.scenario:<14} {sample.case_id:<12} {outcome:<26} {mark:<6} {note.strip(' ()')}\n"
        )
    return ok


__all__ = [
    "SampleHire",
    "rehire_of",
    "run_resource_onboarding",
    "sample_hires",
    "seed_resource_onboarding",
]
