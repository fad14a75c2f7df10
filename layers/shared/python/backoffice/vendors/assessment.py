"""Everything vendor onboarding decides about one application, in one pure call.

The workflow may run the checks, the screening and the duplicate search as separate states (each is a plain
function of its module); ``assess_application`` runs them in order for the cases where one step is enough,
such as the demo, a re-assessment after a document arrives, and the tests of the sample scenarios.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from pydantic import Field

from backoffice.models import CanonicalModel, EmployeeRecord, Vendor
from backoffice.vendors.checks import CheckResult, run_vendor_checks, vendor_names
from backoffice.vendors.duplicates import DuplicateReport, find_duplicates
from backoffice.vendors.facts import VendorApplication, proposed_vendor
from backoffice.vendors.policy import VendorPolicy
from backoffice.vendors.risk import ApprovalLevel, VendorRisk, approval_chain, assess_vendor_risk
from backoffice.vendors.sanctions import SanctionsList, ScreeningResult, screen_names


class VendorAssessment(CanonicalModel):
    """The findings and the route: ``approval_chain`` is empty unless the next step leads to approvers."""

    case_id: str
    checks: list[CheckResult]
    screening: ScreeningResult
    duplicates: DuplicateReport
    risk: VendorRisk
    approval_chain: list[ApprovalLevel] = Field(default_factory=list)


def assess_application(
    application: VendorApplication,
    *,
    vendors: Sequence[Vendor],
    employees: Sequence[EmployeeRecord],
    sanctions_list: SanctionsList,
    policy: VendorPolicy,
    as_of: date,
) -> VendorAssessment:
    """Checks, sanctions screening of every name the vendor goes by, duplicate search, risk and chain."""
    checks = run_vendor_checks(application, policy, as_of)
    w9 = application.w9
    country = w9.address.country if w9 is not None and w9.address is not None else None
    screening = screen_names(
        vendor_names(application),
        country,
        sanctions_list=sanctions_list,
        threshold=policy.sanctions_threshold,
    )
    duplicates = find_duplicates(proposed_vendor(application), vendors, employees, policy)
    risk = assess_vendor_risk(application, checks, screening, duplicates, policy)
    chain: list[ApprovalLevel] = []
    if risk.next_step in ("approval", "compliance_review"):
        chain = approval_chain(application.request, risk, policy)
    return VendorAssessment(
        case_id=application.case_id,
        checks=checks,
        screening=screening,
        duplicates=duplicates,
        risk=risk,
        approval_chain=chain,
    )
