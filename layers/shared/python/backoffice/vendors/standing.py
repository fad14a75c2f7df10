"""Whether the firm may buy from a vendor today: approved in the ERP, and its certificate of insurance in force.

Purchase approvals and the onboarding of a subcontractor's staff both ask; the ERP's vendor record answers (vendor
approval creates it on hold with the certificate's expiry and lifts the hold once approved). The reasons are for
people: they name the vendor and dates, never a tax id or a bank number.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from backoffice.models import Vendor


@dataclass(frozen=True)
class VendorStanding:
    approved: bool  # in the ERP, not on hold, not disabled
    insurance_in_force: bool  # the certificate's required cover runs past ``as_of``
    insurance_expires_on: date | None
    reasons: tuple[str, ...]

    @property
    def in_good_standing(self) -> bool:
        return self.approved and self.insurance_in_force


def vendor_standing(vendor: Vendor | None, as_of: date) -> VendorStanding:
    """The vendor's standing on ``as_of``; ``None``: the ERP has no such vendor (never approved)."""
    if vendor is None:
        return VendorStanding(
            False, False, None, ("the vendor is not in the ERP: it has not been onboarded",)
        )
    name = vendor.doing_business_as or vendor.supplier_name
    reasons: list[str] = []
    if vendor.disabled:
        reasons.append(f"{name} is disabled in the ERP")
    elif vendor.on_hold:
        reasons.append(f"{name} is on hold in the ERP: its onboarding has not been approved")
    expires = vendor.insurance_expires_on
    # ACORD expiry dates end cover at 12:01 a.m. on that date: a policy expiring today no longer covers today.
    in_force = expires is not None and expires > as_of
    if expires is None:
        reasons.append(f"{name} has no certificate of insurance on file")
    elif not in_force:
        reasons.append(f"{name}'s certificate of insurance expired on {expires.isoformat()}")
    approved = not vendor.disabled and not vendor.on_hold
    return VendorStanding(approved, in_force, expires, tuple(reasons))
