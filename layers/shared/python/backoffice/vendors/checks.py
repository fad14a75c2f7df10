"""Vendor onboarding checks over the facts read from a vendor's W-9, bank letter and certificate of insurance.

Each check returns a ``CheckResult``: ``pass``, ``warn`` (a person should look, nothing is wrong yet) or
``fail`` (the vendor cannot be paid as submitted), with reasons a requester can act on. The rules are those of
docs/DOMAIN.md section 4; the identifier rules are ``backoffice.identifiers`` (python-stdnum underneath).

A tax id, routing or account number appears in a reason only as its last four digits (``****4442``): the
reasons go to the audit trail, e-mails and the approver's screen.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Literal

from pydantic import Field

from backoffice.identifiers import (
    ein_problems,
    is_itin,
    itin_problems,
    routing_number_problems,
    ssn_problems,
    us_account_number,
)
from backoffice.masking import last_four
from backoffice.models import CanonicalModel, DocumentType
from backoffice.vendors.facts import (
    COVERAGE_LABELS,
    BankLetterFacts,
    InsuranceCertificate,
    InsurancePolicy,
    VendorApplication,
    W9Facts,
)
from backoffice.vendors.names import best_name_match
from backoffice.vendors.policy import CoverageRequirement, VendorPolicy

CheckStatus = Literal["pass", "warn", "fail"]


class CheckName(StrEnum):
    W9_FORM = "w9_form"
    W9_TIN = "w9_tin"
    W9_NAME = "w9_name"
    BANK_ACCOUNT = "bank_account"
    BANK_ACCOUNT_HOLDER = "bank_account_holder"
    INSURANCE = "insurance"


class CheckResult(CanonicalModel):
    """The outcome of one check. ``missing_document`` is set when the check could not run for want of it."""

    check: CheckName
    status: CheckStatus
    reasons: list[str] = Field(default_factory=list)
    missing_document: DocumentType | None = None

    @property
    def failed(self) -> bool:
        return self.status == "fail"


def _result(check: CheckName, failures: Sequence[str], warnings: Sequence[str] = ()) -> CheckResult:
    status: CheckStatus = "fail" if failures else "warn" if warnings else "pass"
    return CheckResult(check=check, status=status, reasons=[*failures, *warnings])


def _missing(check: CheckName, document: DocumentType, reason: str) -> CheckResult:
    return CheckResult(check=check, status="fail", reasons=[reason], missing_document=document)


def _unconfirmed(low_confidence: Iterable[str], fields: Iterable[str], document: str) -> list[str]:
    """A warning per field the extractor read with low confidence: the check ran on a value nobody saw."""
    doubtful = set(low_confidence)
    return [
        f"{document} field {field!r} was read with low confidence: confirm it against the document"
        for field in fields
        if field in doubtful
    ]


# ------------------------------------------------------------------------------------------------------------
# W-9
# ------------------------------------------------------------------------------------------------------------

# Entities the IRS pays and reports under an EIN only; a sole proprietor may give an SSN or an EIN.
_EIN_ONLY = {
    "c_corporation": "a C corporation",
    "s_corporation": "an S corporation",
    "partnership": "a partnership",
}
_LLC_CODES = frozenset({"C", "S", "P"})


def check_w9_form(w9: W9Facts, as_of: date) -> CheckResult:
    """Line 1 name, one of seven line 3 boxes (LLC with code C, S or P), lines 5-6 address, Part II signature."""
    failures: list[str] = []
    warnings: list[str] = []
    if not w9.name:
        failures.append("W-9 line 1 (name) is empty")

    boxes = list(dict.fromkeys(w9.tax_classifications))
    if not boxes:
        failures.append("W-9 line 3: no federal tax classification box is checked")
    elif len(boxes) > 1:
        failures.append(
            f"W-9 line 3: {len(boxes)} tax classification boxes are checked; exactly one is allowed"
        )
    code = (w9.llc_tax_classification or "").strip().upper()
    if "llc" in boxes:
        if not code:
            failures.append("W-9 line 3: the LLC box is checked without its tax classification (C, S or P)")
        elif code not in _LLC_CODES:
            failures.append("W-9 line 3: the LLC tax classification must be C, S or P")
    elif code:
        warnings.append("W-9 line 3: an LLC tax classification is written but the LLC box is not checked")
    if "other" in boxes and not w9.other_classification:
        warnings.append("W-9 line 3: 'Other' is checked without saying what the entity is")

    if w9.address is None:
        failures.append("W-9 lines 5-6 (address) are empty")
    elif w9.address.country == "US" and (not w9.address.region or not w9.address.postal_code):
        failures.append("W-9 line 6 needs the city, state and ZIP code")

    if not w9.signed:
        failures.append("W-9 Part II is not signed")
    elif w9.signature_date is None:
        failures.append("W-9 Part II is signed but not dated")
    elif w9.signature_date > as_of:
        failures.append(
            f"W-9 Part II is dated {w9.signature_date.isoformat()}, after the check date {as_of.isoformat()}"
        )

    warnings += _unconfirmed(
        w9.low_confidence_fields, ["name", "tax_classifications", "address", "signed"], "W-9"
    )
    return _result(CheckName.W9_FORM, failures, warnings)


def check_w9_tin(w9: W9Facts) -> CheckResult:
    """Part I: one TIN, valid by its kind's rules, of a kind the tax classification allows."""
    failures: list[str] = []
    warnings: list[str] = []
    ssn = w9.ssn.get_secret_value() if w9.ssn is not None else None
    ein = w9.ein.get_secret_value() if w9.ein is not None else None

    if ssn is None and ein is None:
        if w9.tin_applied_for:
            warnings.append(
                "W-9 Part I says 'Applied For': payments are subject to backup withholding until the TIN arrives"
            )
        else:
            failures.append("W-9 Part I has no TIN (SSN or EIN)")
    if ssn is not None and ein is not None:
        failures.append("W-9 Part I has both an SSN and an EIN; the form takes one")

    if ssn is not None:
        kind, problems = ("ITIN", itin_problems(ssn)) if is_itin(ssn) else ("SSN", ssn_problems(ssn))
        failures += [f"{kind} {last_four(ssn)} {problem}" for problem in problems]
        boxes = set(w9.tax_classifications)
        for box, entity in _EIN_ONLY.items():
            if box in boxes:
                failures.append(f"{entity} gives its EIN on the W-9, not an {kind}")
        if "llc" in boxes:
            failures.append(f"an LLC taxed as a corporation or partnership gives its EIN, not an {kind}")
    if ein is not None:
        failures += [f"EIN {last_four(ein)} {problem}" for problem in ein_problems(ein)]

    warnings += _unconfirmed(w9.low_confidence_fields, ["ssn", "ein"], "W-9")
    return _result(CheckName.W9_TIN, failures, warnings)


def check_w9_name(w9: W9Facts, legal_name: str, policy: VendorPolicy) -> CheckResult:
    """Line 1 against the legal name requested: the TIN belongs to line 1, so that is the name to pay.

    A request made under the line 2 business name is a warning, not a failure: it is usually a trade name, and
    the fix is to record line 1 as the legal name and line 2 as doing-business-as.
    """
    warnings = _unconfirmed(w9.low_confidence_fields, ["name", "business_name"], "W-9")
    if not w9.name:
        return _result(CheckName.W9_NAME, ["W-9 line 1 is empty, so the name cannot be compared"], warnings)
    _, line1_score = best_name_match(legal_name, [w9.name])
    _, line2_score = best_name_match(legal_name, [w9.business_name] if w9.business_name else [])
    if line1_score >= policy.name_match_threshold:
        return _result(CheckName.W9_NAME, [], warnings)
    if line2_score >= policy.name_match_threshold:
        warnings.insert(
            0,
            f"the requested name {legal_name!r} is the W-9 line 2 business name; line 1 {w9.name!r} is the name "
            "the TIN is registered to: record it as the legal name and line 2 as doing-business-as",
        )
        return _result(CheckName.W9_NAME, [], warnings)
    if line1_score >= policy.name_review_threshold:
        warnings.insert(
            0,
            f"W-9 line 1 {w9.name!r} is close to, not the same as, the requested legal name {legal_name!r} "
            f"(score {line1_score:.0f}): confirm the legal name",
        )
        return _result(CheckName.W9_NAME, [], warnings)
    return _result(
        CheckName.W9_NAME,
        [
            f"W-9 line 1 {w9.name!r} does not match the requested legal name {legal_name!r} "
            f"(score {line1_score:.0f}, {policy.name_match_threshold:.0f} needed)"
        ],
        warnings,
    )


# ------------------------------------------------------------------------------------------------------------
# Bank letter
# ------------------------------------------------------------------------------------------------------------


def check_bank_account(letter: BankLetterFacts) -> CheckResult:
    """The routing number is a real ABA number and the account number looks like a US account number."""
    failures: list[str] = []
    if letter.routing_number is None:
        failures.append("the bank letter shows no routing number")
    else:
        routing = letter.routing_number.get_secret_value()
        failures += [
            f"routing number {last_four(routing)} {problem}" for problem in routing_number_problems(routing)
        ]
    if letter.account_number is None:
        failures.append("the bank letter shows no account number")
    else:
        account = letter.account_number.get_secret_value()
        if us_account_number(account) is None:
            failures.append(f"account number {last_four(account)} is not 4 to 17 digits")
    warnings = _unconfirmed(letter.low_confidence_fields, ["routing_number", "account_number"], "bank letter")
    return _result(CheckName.BANK_ACCOUNT, failures, warnings)


def check_bank_account_holder(
    letter: BankLetterFacts, vendor_names: Sequence[str], policy: VendorPolicy
) -> CheckResult:
    """The account belongs to the vendor: paying into someone else's account is how vendor fraud pays out.

    ``vendor_names``: the legal name first, then any the W-9 gives (line 1 and line 2); the holder may be any.
    """
    warnings = _unconfirmed(letter.low_confidence_fields, ["account_holder_name"], "bank letter")
    if not letter.account_holder_name:
        return _result(
            CheckName.BANK_ACCOUNT_HOLDER, ["the bank letter does not name the account holder"], warnings
        )
    holder = letter.account_holder_name
    matched, score = best_name_match(holder, [name for name in vendor_names if name])
    if score >= policy.name_match_threshold:
        return _result(CheckName.BANK_ACCOUNT_HOLDER, [], warnings)
    if score >= policy.name_review_threshold:
        warnings.insert(
            0,
            f"account holder {holder!r} is close to, not the same as, {matched!r} (score {score:.0f}): "
            "confirm with the bank that the account is the vendor's",
        )
        return _result(CheckName.BANK_ACCOUNT_HOLDER, [], warnings)
    return _result(
        CheckName.BANK_ACCOUNT_HOLDER,
        [
            f"account holder {holder!r} is not the vendor {vendor_names[0]!r} (score {score:.0f}): "
            "payments must go to the vendor's own account"
        ],
        warnings,
    )


# ------------------------------------------------------------------------------------------------------------
# Certificate of insurance (ACORD 25)
# ------------------------------------------------------------------------------------------------------------

_LIMIT_LABELS = {
    "each_occurrence": "each occurrence",
    "general_aggregate": "general aggregate",
    "products_completed_operations_aggregate": "products-completed operations aggregate",
    "personal_advertising_injury": "personal and advertising injury",
    "damage_to_rented_premises": "damage to rented premises",
    "medical_expense": "medical expense",
    "combined_single_limit": "combined single limit",
    "el_each_accident": "E.L. each accident",
    "el_disease_each_employee": "E.L. disease - each employee",
    "el_disease_policy_limit": "E.L. disease - policy limit",
    "each_claim": "each claim",
    "aggregate": "aggregate",
}


def _dollars(amount: Decimal) -> str:
    return f"${amount:,.0f}"


def required_coverages(
    category: str, handles_data: bool, policy: VendorPolicy
) -> list[CoverageRequirement] | None:
    """The policies a vendor of ``category`` must hold; ``None`` when the category is not in the policy."""
    requirements = policy.requirements_for(category)
    if requirements is None:
        return None
    return [c for c in requirements.coverages if handles_data or not c.only_when_handles_data]


def insurance_expires_on(application: VendorApplication, policy: VendorPolicy) -> date | None:
    """When the vendor's cover runs out: the earliest expiry among the required policies (of two policies of one
    kind, the later). None: no certificate, a category needing no cover, or a required policy without a date."""
    certificate = application.certificate
    coverages = required_coverages(application.request.category, application.handles_data, policy)
    if certificate is None or not coverages:
        return None
    expiries: list[date] = []
    for requirement in coverages:
        dates = [p.expiry_date for p in certificate.policies if p.coverage == requirement.coverage]
        known = [d for d in dates if d is not None]
        if not known:
            return None
        expiries.append(max(known))
    return min(expiries)


def _unknown_category(category: str, policy: VendorPolicy) -> CheckResult:
    known = ", ".join(sorted(policy.categories))
    return _result(
        CheckName.INSURANCE, [f"vendor category {category!r} is not in the vendor policy (known: {known})"]
    )


def _assess_policy(
    requirement: CoverageRequirement, insurance: InsurancePolicy, as_of: date, warning_days: int
) -> tuple[list[str], list[str]]:
    label = COVERAGE_LABELS[requirement.coverage]
    if insurance.policy_number:
        label += f" policy {insurance.policy_number}"
    failures: list[str] = []
    warnings: list[str] = []
    # ACORD expiry dates end cover at 12:01 a.m. on that date: a policy expiring today no longer covers today.
    if insurance.expiry_date is None:
        failures.append(f"{label}: the certificate shows no expiry date")
    elif insurance.expiry_date <= as_of:
        failures.append(f"{label} expired on {insurance.expiry_date.isoformat()}")
    elif (insurance.expiry_date - as_of).days <= warning_days:
        days = (insurance.expiry_date - as_of).days
        warnings.append(
            f"{label} expires on {insurance.expiry_date.isoformat()}, in {days} days: ask for the renewal certificate"
        )
    if insurance.effective_date is not None and insurance.effective_date > as_of:
        failures.append(f"{label} is not in force until {insurance.effective_date.isoformat()}")
    for limit, minimum in requirement.minimum_limits.items():
        shown = insurance.limits.get(limit)
        if shown is None:
            failures.append(f"{label}: no {_LIMIT_LABELS[limit]} limit shown ({_dollars(minimum)} required)")
        elif shown < minimum:
            failures.append(
                f"{label}: {_LIMIT_LABELS[limit]} {_dollars(shown)} is below the {_dollars(minimum)} required"
            )
    if requirement.additional_insured and not insurance.additional_insured:
        failures.append(f"{label}: the firm is not named additional insured")
    return failures, warnings


def check_insurance_certificate(
    certificate: InsuranceCertificate,
    *,
    category: str,
    vendor_names: Sequence[str],
    handles_data: bool,
    policy: VendorPolicy,
    as_of: date,
) -> CheckResult:
    """The certificate insures this vendor, and every policy its category needs is in force with the limits.

    When the certificate lists two policies of one kind, the one that best meets the requirement counts.
    """
    coverages = required_coverages(category, handles_data, policy)
    if coverages is None:
        return _unknown_category(category, policy)
    failures: list[str] = []
    # Every field of a certificate bears on the decision (a date, a limit, a policy line): any doubtful one is
    # worth a look.
    warnings = _unconfirmed(
        certificate.low_confidence_fields, certificate.low_confidence_fields, "certificate"
    )

    if not certificate.insured_name:
        failures.append("the certificate names no insured")
    else:
        matched, score = best_name_match(certificate.insured_name, [name for name in vendor_names if name])
        if score < policy.name_review_threshold:
            failures.append(
                f"the certificate insures {certificate.insured_name!r}, not the vendor {vendor_names[0]!r} "
                f"(score {score:.0f})"
            )
        elif score < policy.name_match_threshold:
            warnings.append(
                f"the certificate insures {certificate.insured_name!r}, close to {matched!r} (score {score:.0f}): "
                "confirm it is the same legal entity"
            )

    for requirement in coverages:
        candidates = [p for p in certificate.policies if p.coverage == requirement.coverage]
        if not candidates:
            failures.append(f"no {COVERAGE_LABELS[requirement.coverage]} policy on the certificate")
            continue
        assessed = [
            _assess_policy(requirement, p, as_of, policy.insurance_expiry_warning_days) for p in candidates
        ]
        best_failures, best_warnings = min(assessed, key=lambda found: (len(found[0]), len(found[1])))
        failures += best_failures
        warnings += best_warnings
    return _result(CheckName.INSURANCE, failures, warnings)


# ------------------------------------------------------------------------------------------------------------
# All checks of an application
# ------------------------------------------------------------------------------------------------------------


def missing_documents(application: VendorApplication, policy: VendorPolicy) -> list[DocumentType]:
    """Documents still to come from the vendor; a certificate is needed only if the category requires cover."""
    missing: list[DocumentType] = []
    if application.w9 is None:
        missing.append("w9")
    coverages = required_coverages(application.request.category, application.handles_data, policy)
    if application.certificate is None and coverages != []:  # an unknown category (None) needs one too
        missing.append("coi")
    if application.bank_letter is None:
        missing.append("bank_letter")
    return missing


def vendor_names(application: VendorApplication) -> list[str]:
    """The names this vendor may rightly go by: the legal name requested, then W-9 lines 1 and 2."""
    names = [application.request.vendor_legal_name]
    if application.w9 is not None:
        names += [name for name in (application.w9.name, application.w9.business_name) if name]
    return list(dict.fromkeys(names))


def run_vendor_checks(application: VendorApplication, policy: VendorPolicy, as_of: date) -> list[CheckResult]:
    """Every check of the application, in a fixed order; a check whose document is missing says so."""
    request = application.request
    names = vendor_names(application)
    results: list[CheckResult] = []

    w9 = application.w9
    if w9 is None:
        reason = "no W-9 received yet: ask the vendor for a signed Form W-9"
        results += [
            _missing(check, "w9", reason)
            for check in (CheckName.W9_FORM, CheckName.W9_TIN, CheckName.W9_NAME)
        ]
    else:
        results += [
            check_w9_form(w9, as_of),
            check_w9_tin(w9),
            check_w9_name(w9, request.vendor_legal_name, policy),
        ]

    letter = application.bank_letter
    if letter is None:
        reason = "no bank letter received yet: ask the vendor for a bank letter or a voided check"
        results += [
            _missing(check, "bank_letter", reason)
            for check in (CheckName.BANK_ACCOUNT, CheckName.BANK_ACCOUNT_HOLDER)
        ]
    else:
        results += [check_bank_account(letter), check_bank_account_holder(letter, names, policy)]

    certificate = application.certificate
    coverages = required_coverages(request.category, application.handles_data, policy)
    if coverages is None:
        results.append(_unknown_category(request.category, policy))
    elif certificate is None:
        if coverages:
            reason = "no certificate of insurance received yet: ask the vendor for an ACORD 25 certificate"
            results.append(_missing(CheckName.INSURANCE, "coi", reason))
        else:
            results.append(_result(CheckName.INSURANCE, []))
    else:
        results.append(
            check_insurance_certificate(
                certificate,
                category=request.category,
                vendor_names=names,
                handles_data=application.handles_data,
                policy=policy,
                as_of=as_of,
            )
        )
    return results
