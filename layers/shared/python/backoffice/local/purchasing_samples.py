"""Purchase requests on the sample firm, for purchase approval (``make run`` and the tests).

The sample firm's projects ``P-PO-01`` (a cloud migration owned by W-003, Priya Reid: budget 120,000, 40,000 spent)
and ``P-PO-02`` (a risk review owned by W-004, Tom Mehta: budget 30,000, 26,000 spent, 2,500 committed on an open
purchase order), two approved vendors in the ERP (``V-PO-SOFT`` software, ``V-PO-SUB`` a subcontractor) and one the
firm has never bought from (Bluegate Software Labs LLC, with its W-9, certificate and bank letter).

=====================  ==================================================================  =========================
scenario               the request                                                         outcome
=====================  ==================================================================  =========================
clean                  800 of software on P-PO-01 (within budget, under 1,000)             issued by the policy
over-budget            4,000 of software on P-PO-02 (26,000 + 2,500 + 4,000 > 30,000)     project owner, finance
new-vendor             900 of software from Bluegate (not a vendor yet)                    onboarding, then issued
rejected               3,200 of travel on P-PO-01                                          the project owner rejects
own-request            a 6,000 work order on P-PO-01 requested by its owner, W-003         the partners approve
duplicate              the clean request delivered eight times at once                      one case, one order
=====================  ==================================================================  =========================

``run_purchase_approvals`` (for ``backoffice demo``) seeds the firm, puts the requests on the bus, decides the
approvals as the people would (through the links in their e-mails), and prints a table: scenario, case, outcome.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from backoffice.connectors.sandbox import SandboxStore
from backoffice.models import Project, Vendor
from backoffice.onboarding.sample_firm import sample_workers
from backoffice.vendors.sample_vendors import (
    SampleScenario,
    _address,
    _application,
    _bank_letter,
    _certificate,
    _w9,
)

if TYPE_CHECKING:
    from backoffice.approvals.store import ApprovalStore
    from backoffice.local.runtime import LocalRuntime

CLOUD, RISK = "P-PO-01", "P-PO-02"
SOFTWARE_VENDOR, SUBCONTRACTOR = "V-PO-SOFT", "V-PO-SUB"
NEW_VENDOR = "Bluegate Software Labs LLC"
EMAIL = {worker.id: str(worker.email) for worker in sample_workers()}
OWNER = {CLOUD: "W-003", RISK: "W-004"}
FINANCE = "priya.raman@example-firm.com"  # the sample approval policy's first finance approver
PARTNER = "alex.chen@example-firm.com"  # the first engagement partner: the fallback group
PROCUREMENT = "kofi.mensah@example-firm.com"  # approves a low-risk vendor's onboarding
REQUESTED_AT = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
INSURED_UNTIL = date(2027, 6, 30)


@dataclass(frozen=True)
class SamplePurchase:
    key: str
    title: str
    detail: dict[str, Any]
    expected: str  # the outcome's detail-type
    # What the people do, in order: (who, "approve" | "reject", comment); "owner" is the project owner.
    decisions: tuple[tuple[str, str, str], ...] = ()

    @property
    def case_id(self) -> str:
        return f"purchase-{self.detail['request_id']}"


def seed_purchasing(store: SandboxStore) -> None:
    """The projects with their budgets, the two approved vendors and the open purchase order, in the sandbox PSA
    and ERP. Seeding twice writes the same records."""
    for project_id, name, budget, actual in (
        (CLOUD, "Cloud migration", "120000.00", "40000.00"),
        (RISK, "Operational risk review", "30000.00", "26000.00"),
    ):
        project = Project(
            id=project_id,
            project_name=name,
            client_id="BC-001",
            billing_model="time_and_materials",
            currency="USD",
            service_line="advisory",
            project_manager_id=OWNER[project_id],
            expected_start_date=date(2026, 9, 1),
            expected_end_date=date(2027, 8, 31),
        )
        store.put("psa", "project", project.id, project.to_json_dict())
        store.put(
            "psa",
            "project_budget",
            project_id,
            {"project_id": project_id, "budget": budget, "actual_cost": actual},
        )
    for vendor_id, name, category in (
        (SOFTWARE_VENDOR, "Northwind Analytics Software Inc.", "software"),
        (SUBCONTRACTOR, "Keystone Field Services LLC", "subcontractor"),
    ):
        vendor = Vendor(
            id=vendor_id,
            supplier_name=name,
            category=category,
            default_currency="USD",
            payment_terms_days=30,
            email=f"orders@{vendor_id.lower()}.example",
            **_insured(),
        )
        store.put("erp", "vendor", vendor_id, vendor.to_json_dict(reveal_secrets=True))
    store.put(
        "erp",
        "vendor_purchase_order",
        "PO-SAMPLE-0001",
        {
            "id": "PO-SAMPLE-0001",
            "number": "PO-2026-00001",
            "request_id": "PR-SAMPLE-0001",
            "vendor_id": SOFTWARE_VENDOR,
            "project_id": RISK,
            "category": "software",
            "description": "Risk register licences, year one",
            "amount": "2500.00",
            "currency": "USD",
            "order_date": "2026-10-01",
            "requester_email": EMAIL["W-008"],
            "status": "open",
        },
    )


def _insured() -> dict[str, Any]:
    """The vendor's insurance expiry, where the canonical vendor has the field (``Vendor.insurance_expires_on``)."""
    return {"insurance_expires_on": INSURED_UNTIL} if "insurance_expires_on" in Vendor.model_fields else {}


def new_vendor_scenario() -> SampleScenario:
    """Bluegate Software Labs LLC, whose documents are all in order: its onboarding goes to procurement."""
    address = _address("77 Bluegate Lane", "Redmond", "WA", "98052")
    application = _application(
        "purchase-new-vendor",
        legal_name=NEW_VENDOR,
        category="professional_services",
        spend=24_000,
        requester=EMAIL["W-009"],
        phone="425-555-0177",
        w9=_w9(NEW_VENDOR, "llc", address, ein="27-5510284", llc_code="P"),
        certificate=_certificate("Bluegate Software Labs, L.L.C.", "professional_services", prefix="BSL"),
        bank_letter=_bank_letter(NEW_VENDOR, "021000021", "6641029934"),
    )
    return SampleScenario(
        key="purchase-new-vendor",
        title="A software vendor the firm has not bought from",
        application=application,
        expected_next_step="approval",
        expected_risk_level="low",
        expected_approval_levels=["procurement"],
    )


def purchase_detail(
    request_id: str,
    *,
    requester: str,
    category: str,
    description: str,
    amount: str,
    project_id: str = CLOUD,
    vendor_id: str | None = SOFTWARE_VENDOR,
    new_vendor: dict[str, Any] | None = None,
) -> dict[str, Any]:
    detail: dict[str, Any] = {
        "request_id": request_id,
        "requester_email": EMAIL[requester],
        "category": category,
        "description": description,
        "amount": amount,
        "currency": "USD",
        "project_id": project_id,
        "needed_by": "2027-01-15",
        "requested_at": REQUESTED_AT.isoformat(),
    }
    if new_vendor is not None:
        detail["new_vendor"] = new_vendor
    else:
        detail["vendor_id"] = vendor_id
    return detail


def sample_purchases(new_vendor: dict[str, Any] | None = None) -> dict[str, SamplePurchase]:
    """The scenarios, by key; ``new_vendor``: Bluegate's ``NewVendor`` with its documents in S3
    (``put_new_vendor``), else the scenario is left out."""
    purchases = [
        SamplePurchase(
            "clean",
            "Software within budget, under 1,000",
            purchase_detail(
                "PR-2026-0101",
                requester="W-008",
                category="software",
                description="BI seats",
                amount="800.00",
            ),
            "Purchase Order Issued",
        ),
        SamplePurchase(
            "over-budget",
            "Over the project's budget",
            purchase_detail(
                "PR-2026-0102",
                requester="W-009",
                category="software",
                description="Control-testing tool, one year",
                amount="4000.00",
                project_id=RISK,
            ),
            "Purchase Order Issued",
            (
                ("owner", "approve", "Needed for the control tests"),
                (FINANCE, "approve", "Budget change to follow"),
            ),
        ),
        SamplePurchase(
            "rejected",
            "Travel the project owner rejects",
            purchase_detail(
                "PR-2026-0104",
                requester="W-010",
                category="travel",
                description="Team travel to the client's Lisbon office",
                amount="3200.00",
                vendor_id=SOFTWARE_VENDOR,
            ),
            "Purchase Rejected",
            (("owner", "reject", "Run the workshop remotely"),),
        ),
        SamplePurchase(
            "own-request",
            "A work order requested by the project owner",
            purchase_detail(
                "PR-2026-0105",
                requester=OWNER[CLOUD],
                category="subcontractor",
                description="Field survey of the data centre, two weeks",
                amount="6000.00",
                vendor_id=SUBCONTRACTOR,
            ),
            "Purchase Order Issued",
            ((PARTNER, "approve", "Agreed with the client"),),
        ),
    ]
    if new_vendor is not None:
        purchases.insert(
            2,
            SamplePurchase(
                "new-vendor",
                "A vendor not yet approved: onboarded first",
                purchase_detail(
                    "PR-2026-0103",
                    requester="W-009",
                    category="software",
                    description="Process-mining licences",
                    amount="900.00",
                    new_vendor=new_vendor,
                ),
                "Purchase Order Issued",
                ((PROCUREMENT, "approve", "Documents in order"),),
            ),
        )
    return {purchase.key: purchase for purchase in purchases}


def put_new_vendor(runtime: LocalRuntime, w9_form: Path | None = None) -> dict[str, Any]:
    """Bluegate's documents in S3, as the procurement portal uploads them; its ``NewVendor`` for the request."""
    from backoffice.local.vendor_samples import blank_w9, put_vendor_request

    request, _ = put_vendor_request(
        runtime.client("s3"), runtime.documents_bucket, new_vendor_scenario(), w9_form or blank_w9()
    )
    return {
        key: request[key]
        for key in (
            "vendor_legal_name",
            "contact_email",
            "category",
            "expected_annual_spend",
            "currency",
            "documents",
            "handles_data",
        )
    }


def request_purchase(runtime: LocalRuntime, purchase: SamplePurchase, times: int = 1) -> None:
    """The procurement portal puts the request on the bus (``times`` deliveries at once: its retries)."""
    if times == 1:
        runtime.put_event("Purchase Requested", purchase.detail, source="procurement.portal")
        return
    with ThreadPoolExecutor(times) as pool:
        list(
            pool.map(
                lambda _: runtime.put_event(
                    "Purchase Requested", purchase.detail, source="procurement.portal"
                ),
                range(times),
            )
        )


def decide(
    runtime: LocalRuntime,
    approvals: ApprovalStore,
    link_of: Callable[[LocalRuntime, str, str], str | None],
    case_id: str,
    who: str,
    action: str,
    comment: str,
    *,
    timeout: float = 60,
) -> str | None:
    """``who`` opens the newest link about the case in their e-mail once a request for them is pending, and
    decides. The page's heading, or None when no request came in time."""
    from backoffice.local.approver import decide_via_http

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pending = [r for r in approvals.pending_requests() if r.case_id == case_id and who in r.approvers]
        link = link_of(runtime, who, case_id) if pending else None
        if link:
            _, heading, _ = decide_via_http(link, action, who, comment)
            return heading
        time.sleep(0.1)
    return None


def outcome_of(runtime: LocalRuntime, case_id: str, timeout: float = 60) -> tuple[str, list[str]]:
    """The case's published outcome and its reasons (waits for it)."""
    from backoffice.audit import AuditTrail
    from infra.catalog import Ref

    audit = AuditTrail(runtime.resolve(Ref("table_name", "audit")))
    deadline = time.monotonic() + timeout
    while True:
        published = [r for r in audit.records(case_id) if r.action == "outcome.published"]
        if published:
            return published[-1].outcome, list(published[-1].reasons)
        if time.monotonic() > deadline:
            return "no outcome", []
        time.sleep(0.1)


def run_purchase_approvals(
    runtime: LocalRuntime,
    approvals: ApprovalStore,
    link_of: Callable[[LocalRuntime, str, str], str | None],
    out: TextIO,
) -> bool:
    """Every scenario end to end; one table line per scenario. True when each ended as the sample expects."""
    seed_purchasing(runtime.sandbox())
    purchases = sample_purchases(put_new_vendor(runtime))
    ok = True
    for purchase in purchases.values():
        request_purchase(runtime, purchase)
        for who, action, comment in purchase.decisions:
            person = EMAIL[OWNER[purchase.detail["project_id"]]] if who == "owner" else who
            case_id = purchase.case_id
            if who == PROCUREMENT:
                case_id = _vendor_case(runtime, purchase.case_id)
            ok = decide(runtime, approvals, link_of, case_id, person, action, comment) is not None and ok
    duplicate = SamplePurchase(
        "duplicate",
        "The clean request delivered eight times",
        purchases["clean"].detail,
        "Purchase Order Issued",
    )
    request_purchase(runtime, duplicate, times=8)
    runtime.wait_until_idle(timeout=120, raise_on_timeout=False)
    out.write(f"  {'SCENARIO':<46} {'CASE':<22} OUTCOME\n")
    for purchase in [*purchases.values(), duplicate]:
        outcome, reasons = outcome_of(runtime, purchase.case_id)
        good = outcome == purchase.expected
        if purchase.key == "duplicate":
            orders = [
                o
                for o in runtime.sandbox().all("erp", "vendor_purchase_order")
                if o.get("request_id") == purchase.detail["request_id"]
            ]
            good = good and len(orders) == 1
            outcome = f"{outcome} ({len(orders)} order)"
        ok = ok and good
        mark = "ok " if good else "!! "
        out.write(f"{mark}{purchase.title[:46]:<46} {purchase.case_id:<22} {outcome}\n")
        if reasons and not good:
            out.write(f"{'':<5}{reasons[0][:130]}\n")
    return ok


def _vendor_case(runtime: LocalRuntime, purchase_case: str, timeout: float = 60) -> str:
    """The vendor onboarding the purchase asked for (its trail names it)."""
    from backoffice.audit import AuditTrail
    from infra.catalog import Ref

    audit = AuditTrail(runtime.resolve(Ref("table_name", "audit")))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for record in audit.records(purchase_case):
            if record.action == "vendor_onboarding.requested" and record.data.get("vendor_case_id"):
                return str(record.data["vendor_case_id"])
        time.sleep(0.1)
    return "unknown"


__all__ = [
    "CLOUD",
    "NEW_VENDOR",
    "RISK",
    "SamplePurchase",
    "new_vendor_scenario",
    "put_new_vendor",
    "request_purchase",
    "run_purchase_approvals",
    "sample_purchases",
    "seed_purchasing",
]
