"""A vendor's standing today: approved (exists, not on hold, not disabled) and its certificate of insurance in force.

Placeholder of the interface in the issue #22 design until the lead's "Vendor standing" commit lands on main (that
commit's module replaces this one at the merge).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from backoffice.models import Vendor


@dataclass(frozen=True)
class VendorStanding:
    approved: bool
    insurance_in_force: bool
    reasons: tuple[str, ...]


def vendor_standing(vendor: Vendor | None, as_of: date) -> VendorStanding:
    if vendor is None:
        return VendorStanding(False, False, ("the vendor is not in the ERP",))
    reasons = []
    approved = not vendor.on_hold and not vendor.disabled
    if vendor.disabled:
        reasons.append("the vendor is disabled in the ERP")
    elif vendor.on_hold:
        reasons.append("the vendor is on hold in the ERP (not approved)")
    expires: date | None = getattr(vendor, "insurance_expires_on", None)
    in_force = expires is not None and expires > as_of
    if expires is None:
        reasons.append("the vendor has no certificate of insurance on file")
    elif not in_force:
        reasons.append(f"the vendor's certificate of insurance expired on {expires.isoformat()}")
    return VendorStanding(approved, in_force, tuple(reasons))
