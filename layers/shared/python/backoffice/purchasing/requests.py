"""'Check the purchase request': the request against the purchasing policy and the project, and whether its vendor
can be bought from.

The vendor is bought from when the ERP holds it approved (not on hold, not inactive) and, for the categories the
policy names (a subcontractor's work order), its certificate of insurance is in force: ``vendors.standing``, the one
reading of a vendor's standing both #22 workflows share. A vendor the firm does not know yet (``new_vendor``) is
onboarded first (``vendor_onboarding``: the purchase waits for it, ``vendor_waits``); one the ERP holds on hold or
inactive blocks the purchase. A new vendor is the ERP's vendor of that name (``vendor_key``) only when the ERP holds
exactly one, with the request's contact e-mail; else the purchase is blocked until procurement names the vendor id.
An onboarding that rejected the vendor (or was blocked) is asked for again by a later purchase, unless the ERP holds
the vendor by then.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from backoffice.connectors.ports import ErpPort, ProjectBudgetPsaPort, RecordNotFound, all_pages
from backoffice.models import PurchaseRequested, Vendor
from backoffice.purchasing.policy import PurchasingPolicy
from backoffice.purchasing.vendor_waits import BLOCKED_ABANDONED, VendorWaits, vendor_key
from backoffice.vendors.standing import vendor_standing

WORKFLOW = "purchase_approval"
CheckStatus = Literal["invalid", "vendor_approved", "vendor_onboarding", "vendor_blocked"]


@dataclass(frozen=True)
class RequestCheck:
    status: CheckStatus
    reasons: list[str]
    vendor_id: str | None = None
    vendor_key: str | None = None
    wait_seconds: int = 0
    data: dict[str, Any] = field(default_factory=dict)

    def result(self) -> dict[str, Any]:
        """What the state carries (``$.request``)."""
        return {
            "status": self.status,
            "reasons": self.reasons,
            "vendor_id": self.vendor_id,
            "vendor_key": self.vendor_key,
            "wait_seconds": self.wait_seconds,
        }


def money(amount: Any, currency: str) -> str:
    return f"{amount:,.2f} {currency}"


def policy_problems(detail: PurchaseRequested, policy: PurchasingPolicy) -> list[str]:
    """What the purchasing policy refuses before any system is read."""
    if detail.category == "travel" and detail.amount < policy.travel_limit:
        return [
            f"travel of {money(detail.amount, detail.currency)} is below the purchasing limit of "
            f"{money(policy.travel_limit, detail.currency)}: book it as an expense, not on a purchase order"
        ]
    return []


def standing_problems(vendor: Vendor, category: str, policy: PurchasingPolicy, today: date) -> list[str]:
    """Why the vendor cannot be bought from for this category today; [] when it can."""
    standing = vendor_standing(vendor, today)
    problems = [] if standing.approved else list(standing.reasons) or [f"vendor {vendor.id} is not approved"]
    if category in policy.insurance_required_for and not standing.insurance_in_force:
        problems.append(f"a {category} order needs the vendor's certificate of insurance in force")
        problems += [r for r in standing.reasons if r not in problems]
    return problems


def check_request(
    detail: PurchaseRequested,
    *,
    erp: ErpPort,
    budgets: ProjectBudgetPsaPort,
    waits: VendorWaits,
    policy: PurchasingPolicy,
    today: date,
) -> RequestCheck:
    wait_seconds = policy.vendor_wait_days * 24 * 3600
    problems = policy_problems(detail, policy)
    if problems:
        return RequestCheck("invalid", problems)
    try:
        project = budgets.project_budget(detail.project_id)
    except RecordNotFound:
        return RequestCheck("invalid", [f"the PSA has no project {detail.project_id}"])
    if project.status != "open":
        return RequestCheck(
            "invalid", [f"project {detail.project_id} is {project.status}: nothing is bought for it any more"]
        )
    if project.currency != detail.currency:
        return RequestCheck(
            "invalid",
            [
                f"the request is in {detail.currency} and project {detail.project_id}'s budget in "
                f"{project.currency}: request it in {project.currency}"
            ],
        )
    if detail.vendor_id is not None:
        try:
            vendor = erp.get_vendor(detail.vendor_id)
        except RecordNotFound:
            return RequestCheck("invalid", [f"the ERP has no vendor {detail.vendor_id}"])
        return _bought_from(vendor, detail, policy, today)

    assert detail.new_vendor is not None  # the model holds one of the two
    new = detail.new_vendor
    key = vendor_key(new.vendor_legal_name)
    onboarding = waits.onboarding(key) or {}
    outcome = onboarding.get("outcome")
    case = onboarding.get("decided_case_id") or onboarding.get("vendor_case_id") or "?"
    if outcome == "approved":
        return _approved_onboarding(onboarding, str(case), key, detail, erp, policy, today)
    # A vendor the ERP already holds under that name is bought from, whatever an earlier onboarding said.
    known = [v for v in all_pages(erp.list_vendors) if vendor_key(v.supplier_name) == key]
    if len(known) > 1:
        ids = ", ".join(v.id for v in known)
        return RequestCheck(
            "vendor_blocked",
            [
                f"the ERP holds {len(known)} vendors named {new.vendor_legal_name} ({ids}): procurement requests "
                "the purchase again naming the vendor_id of the one meant"
            ],
            vendor_key=key,
        )
    if known:
        [vendor] = known
        if vendor.email is None or str(vendor.email).lower() != str(new.contact_email).lower():
            return RequestCheck(
                "vendor_blocked",
                [
                    f"the ERP's vendor {vendor.id} is named {vendor.supplier_name} but its contact e-mail is not "
                    f"{new.contact_email}: if it is that vendor, request the purchase again with vendor_id "
                    f"{vendor.id}; if not, with the new vendor's full legal name"
                ],
                vendor_key=key,
            )
        return _bought_from(vendor, detail, policy, today, key)
    if outcome in ("rejected", "blocked"):
        # Rejected: the vendor may be approved now (its documents fixed): its onboarding is asked again. Blocked: its
        # vendor case may be resumed (the documents arrive, the review is answered): the purchase waits for it; only
        # one abandoned (blocked for BLOCKED_ABANDONED) is asked for again.
        return RequestCheck(
            "vendor_onboarding",
            [
                f"vendor onboarding {case} rejected the vendor: the vendor's onboarding is asked for again and the "
                "purchase waits for it"
                if outcome == "rejected"
                else f"vendor onboarding {case} was blocked: the purchase waits for it to be resumed and decided "
                f"(one blocked for {BLOCKED_ABANDONED.days} days is asked for again)",
                *onboarding.get("reasons", []),
            ],
            vendor_key=key,
            wait_seconds=wait_seconds,
        )
    if onboarding:
        return RequestCheck(
            "vendor_onboarding",
            [f"the vendor's onboarding is under way ({case}): the purchase waits for it"],
            vendor_key=key,
            wait_seconds=wait_seconds,
        )
    return RequestCheck(
        "vendor_onboarding",
        [f"{new.vendor_legal_name} is not a vendor of the firm yet: its onboarding is requested"],
        vendor_key=key,
        wait_seconds=wait_seconds,
    )


def _approved_onboarding(
    onboarding: dict[str, Any],
    case: str,
    key: str,
    detail: PurchaseRequested,
    erp: ErpPort,
    policy: PurchasingPolicy,
    today: date,
) -> RequestCheck:
    """The vendor onboarding approved a vendor: bought from if the ERP holds it with the request's contact."""
    assert detail.new_vendor is not None
    new = detail.new_vendor
    if not onboarding.get("vendor_id"):
        return RequestCheck(
            "vendor_blocked",
            [
                f"vendor onboarding {case} approved the vendor but named no vendor id: procurement finds the "
                "vendor in the ERP and requests the purchase again with its vendor_id"
            ],
            vendor_key=key,
        )
    try:
        vendor = erp.get_vendor(str(onboarding["vendor_id"]))
    except RecordNotFound:
        return RequestCheck(
            "vendor_blocked",
            [f"vendor onboarding {case} approved vendor {onboarding['vendor_id']}, which the ERP lacks"],
        )
    if vendor.email is not None and str(vendor.email).lower() != str(new.contact_email).lower():
        # Same name key, another contact: perhaps another company of that name; never handed over unasked.
        return RequestCheck(
            "vendor_blocked",
            [
                f"vendor onboarding {case} approved vendor {vendor.id} ({vendor.supplier_name}), whose contact "
                f"e-mail is not {new.contact_email}: if it is that vendor, request the purchase again with "
                f"vendor_id {vendor.id}; if not, with the new vendor's full legal name"
            ],
            vendor_key=key,
        )
    return _bought_from(vendor, detail, policy, today, key)


def _bought_from(
    vendor: Vendor, detail: PurchaseRequested, policy: PurchasingPolicy, today: date, key: str | None = None
) -> RequestCheck:
    problems = standing_problems(vendor, detail.category, policy, today)
    if problems:
        return RequestCheck("vendor_blocked", problems, vendor_id=vendor.id, vendor_key=key)
    return RequestCheck(
        "vendor_approved",
        [f"vendor {vendor.id} ({vendor.supplier_name}) is approved"],
        vendor_id=vendor.id,
        vendor_key=key,
        data={"vendor_name": vendor.supplier_name},
    )
