"""Vendor and subcontractor onboarding: the pure domain logic behind the vendor workflow (issue 7).

- ``facts``: what the workflow knows of a vendor (``VendorApplication`` with ``W9Facts``,
  ``InsuranceCertificate`` and ``BankLetterFacts`` filled from extraction); the HRIS's ``EmployeeRecord`` is in
  ``backoffice.models``;
- ``policy``: ``VendorPolicy``, the firm's configuration (insurance per category, thresholds, approver groups);
- ``checks``: W-9, TIN, bank and certificate-of-insurance checks, each a ``CheckResult``;
- ``sanctions``: screening against OFAC's SDN list in its CSV format;
- ``duplicates``: duplicate and ghost vendors against the vendor master and the HRIS;
- ``risk``: the risk score, the next step of the case and the approval chain;
- ``assessment``: all of the above for one application in one call;
- ``documents``: the W-9, certificate and bank letter facts read back from their extraction;
- ``sample_vendors`` and ``sample_documents``: the sample firm's scenarios and the PDFs of their documents,
  for the local runtime and the tests only (no handler imports them, so the Lambda layer leaves them out: keep
  it so).

Nothing here calls AWS: handlers in ``functions/`` load the inputs and call these functions.
"""

from backoffice.identifiers import ein_problems, itin_problems, routing_number_problems, ssn_problems
from backoffice.vendors.assessment import VendorAssessment, assess_application
from backoffice.vendors.checks import (
    CheckName,
    CheckResult,
    CheckStatus,
    check_bank_account,
    check_bank_account_holder,
    check_insurance_certificate,
    check_w9_form,
    check_w9_name,
    check_w9_tin,
    missing_documents,
    run_vendor_checks,
)
from backoffice.vendors.duplicates import DuplicateMatch, DuplicateReport, DuplicateSignal, find_duplicates
from backoffice.vendors.facts import (
    BankLetterFacts,
    InsuranceCertificate,
    InsurancePolicy,
    Insurer,
    VendorApplication,
    W9Facts,
    proposed_vendor,
)
from backoffice.vendors.policy import (
    CategoryRequirements,
    CoverageRequirement,
    VendorPolicy,
    default_vendor_policy,
)
from backoffice.vendors.risk import (
    ApprovalChainUnfillable,
    ApprovalLevel,
    VendorRisk,
    approval_chain,
    assess_vendor_risk,
)
from backoffice.vendors.sanctions import (
    Hit,
    SanctionsList,
    ScreeningResult,
    load_sample_sanctions_list,
    load_sanctions_list,
    screen,
    screen_names,
)

__all__ = [
    "ApprovalChainUnfillable",
    "ApprovalLevel",
    "BankLetterFacts",
    "CategoryRequirements",
    "CheckName",
    "CheckResult",
    "CheckStatus",
    "CoverageRequirement",
    "DuplicateMatch",
    "DuplicateReport",
    "DuplicateSignal",
    "Hit",
    "InsuranceCertificate",
    "InsurancePolicy",
    "Insurer",
    "SanctionsList",
    "ScreeningResult",
    "VendorApplication",
    "VendorAssessment",
    "VendorPolicy",
    "VendorRisk",
    "W9Facts",
    "approval_chain",
    "assess_application",
    "assess_vendor_risk",
    "check_bank_account",
    "check_bank_account_holder",
    "check_insurance_certificate",
    "check_w9_form",
    "check_w9_name",
    "check_w9_tin",
    "default_vendor_policy",
    "ein_problems",
    "find_duplicates",
    "itin_problems",
    "load_sample_sanctions_list",
    "load_sanctions_list",
    "missing_documents",
    "proposed_vendor",
    "routing_number_problems",
    "run_vendor_checks",
    "screen",
    "screen_names",
    "ssn_problems",
]
