"""What vendor onboarding knows about a vendor: the request and the facts read from its documents.

The workflow fills these models from the extraction results (W-9, ACORD 25 certificate of insurance, bank
letter). Every field read from a document is optional: a field the extractor could not read is a finding of
the checks, not a reason to refuse the model. Fields the extractor read with low confidence, and no person
has confirmed yet, are named in ``low_confidence_fields`` so that the checks can ask for a look instead of
trusting them (docs/EXTRACTION.md: tax ids and bank numbers need >= 99 confidence). The names are those of
the model's fields (``"ein"``, ``"routing_number"``); for a certificate, any path such as
``"policies[0].expiry_date"``.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field, SecretStr, StringConstraints, ValidationError

from backoffice.models import (
    Address,
    BankAccount,
    CanonicalModel,
    SensitiveStr,
    Vendor,
    VendorOnboardingRequested,
)
from backoffice.models.entities import TaxClassification
from backoffice.models.records import Name, Phone

# ------------------------------------------------------------------------------------------------------------
# W-9 (Rev. October 2018)
# ------------------------------------------------------------------------------------------------------------

# The line 3 boxes (``TaxClassification``) are defined once in ``backoffice.models.entities``, beside the other
# vocabularies the extraction checks share with the workflows.


class W9Facts(CanonicalModel):
    """Form W-9 as read from the vendor's document: lines 1-6, Part I (TIN) and Part II (certification).

    ``tax_classifications`` lists every box found checked, so that a form with two boxes checked can be
    reported as such. An ITIN is written in the SSN boxes of Part I, so it arrives in ``ssn``.
    """

    name: Name | None = None  # line 1: the name on the owner's income tax return
    business_name: Name | None = None  # line 2: business name or disregarded entity name
    tax_classifications: list[TaxClassification] = Field(default_factory=list)
    llc_tax_classification: Annotated[str, StringConstraints(max_length=5)] | None = None  # C, S or P
    other_classification: Name | None = None
    exempt_payee_code: Annotated[str, StringConstraints(max_length=5)] | None = None  # line 4
    fatca_exemption_code: Annotated[str, StringConstraints(max_length=5)] | None = None  # line 4
    address: Address | None = None  # lines 5-6
    ssn: SensitiveStr | None = None  # Part I, SSN boxes (an ITIN too)
    ein: SensitiveStr | None = None  # Part I, EIN boxes
    tin_applied_for: bool = False  # "Applied For" written in Part I
    signed: bool = False  # Part II
    signature_date: date | None = None
    low_confidence_fields: list[Name] = Field(default_factory=list)

    @property
    def tax_id(self) -> SecretStr | None:
        """The TIN the vendor is paid and reported under: the EIN if given, else the SSN or ITIN."""
        return self.ein or self.ssn


# ------------------------------------------------------------------------------------------------------------
# Certificate of insurance (ACORD 25)
# ------------------------------------------------------------------------------------------------------------

# The coverage lines of ACORD 25. ``employers_liability`` is the "Workers Compensation and Employers'
# Liability" line; professional and cyber liability are written in its "Other" rows.
CoverageType = Literal[
    "general_liability",
    "auto_liability",
    "umbrella_liability",
    "employers_liability",
    "professional_liability",
    "cyber_liability",
]
# The limit boxes of ACORD 25, by coverage line.
LimitName = Literal[
    "each_occurrence",  # general liability, umbrella
    "general_aggregate",
    "products_completed_operations_aggregate",
    "personal_advertising_injury",
    "damage_to_rented_premises",
    "medical_expense",
    "combined_single_limit",  # auto
    "el_each_accident",  # employer's liability
    "el_disease_each_employee",
    "el_disease_policy_limit",
    "each_claim",  # professional, cyber
    "aggregate",
]

COVERAGE_LABELS: dict[str, str] = {
    "general_liability": "general liability",
    "auto_liability": "auto liability",
    "umbrella_liability": "umbrella liability",
    "employers_liability": "employer's liability",
    "professional_liability": "professional liability (E&O)",
    "cyber_liability": "cyber liability",
}


class Insurer(CanonicalModel):
    """One of the insurers A-F of the certificate."""

    letter: Literal["A", "B", "C", "D", "E", "F"]
    name: Name
    naic_number: Annotated[str, StringConstraints(pattern=r"^\d{5}$")] | None = None


class InsurancePolicy(CanonicalModel):
    """One coverage line of the certificate."""

    coverage: CoverageType
    insurer_letter: Literal["A", "B", "C", "D", "E", "F"] | None = None
    policy_number: Annotated[str, StringConstraints(min_length=1, max_length=60)] | None = None
    effective_date: date | None = None
    expiry_date: date | None = None
    additional_insured: bool = False  # "ADDL INSD"
    subrogation_waived: bool = False  # "SUBR WVD"
    limits: dict[LimitName, Annotated[Decimal, Field(ge=0)]] = Field(default_factory=dict)


class InsuranceCertificate(CanonicalModel):
    """ACORD 25 Certificate of Liability Insurance, as read from the vendor's document."""

    certificate_date: date | None = None
    producer: Name | None = None
    insured_name: Name | None = None
    insured_address: Address | None = None
    insurers: list[Insurer] = Field(default_factory=list)
    policies: list[InsurancePolicy] = Field(default_factory=list)
    certificate_holder: Name | None = None
    low_confidence_fields: list[Name] = Field(default_factory=list)


# ------------------------------------------------------------------------------------------------------------
# Bank letter
# ------------------------------------------------------------------------------------------------------------


class BankLetterFacts(CanonicalModel):
    """A bank's letter (or voided check) confirming the account the vendor wants to be paid into.

    Routing and account numbers are plain secrets here, not the canonical ``RoutingNumber``: a number with the
    wrong length is what the bank checks must report, so the model has to accept it.
    """

    bank_name: Name | None = None
    account_holder_name: Name | None = None
    routing_number: SensitiveStr | None = None
    account_number: SensitiveStr | None = None
    account_type: Literal["checking", "savings"] | None = None
    letter_date: date | None = None
    low_confidence_fields: list[Name] = Field(default_factory=list)


# ------------------------------------------------------------------------------------------------------------
# The application as a whole, and the HRIS records it is compared with
# ------------------------------------------------------------------------------------------------------------


class VendorApplication(CanonicalModel):
    """One vendor onboarding case: the request and whatever documents have been read so far.

    ``handles_data``: the vendor will hold or process client or firm data, which brings cyber cover into the
    insurance requirements. ``contact_phone`` is compared with the vendor master and the HRIS.
    """

    case_id: Annotated[str, StringConstraints(min_length=1, max_length=255)]
    request: VendorOnboardingRequested
    handles_data: bool = False
    contact_phone: Phone | None = None
    w9: W9Facts | None = None
    certificate: InsuranceCertificate | None = None
    bank_letter: BankLetterFacts | None = None
    # What the assistant takes a file for when it was not read completely as its slot's document ("the file
    # uploaded as the W-9 looks like certificate of insurance ..."): suggestions for the approvers, nothing more.
    document_hints: list[Annotated[str, StringConstraints(max_length=1000)]] = Field(default_factory=list)


def proposed_vendor(application: VendorApplication) -> Vendor:
    """The vendor record the application would create, for comparison with the vendor master.

    Built from the request and the documents read so far; the supplier type follows the W-9 box (a sole
    proprietor is an individual, a partnership a partnership, anything else a company).
    """
    request, w9, letter = application.request, application.w9, application.bank_letter
    supplier_type: Literal["company", "individual", "partnership"] = "company"
    if w9 is not None and w9.tax_classifications == ["individual_sole_proprietor"]:
        supplier_type = "individual"
    elif w9 is not None and w9.tax_classifications == ["partnership"]:
        supplier_type = "partnership"
    bank_account = None
    if letter is not None and letter.routing_number is not None and letter.account_number is not None:
        try:
            bank_account = BankAccount.model_validate(
                {
                    "account_holder_name": letter.account_holder_name or request.vendor_legal_name,
                    "bank_name": letter.bank_name,
                    "routing_number": letter.routing_number,
                    "account_number": letter.account_number,
                    "account_type": letter.account_type,
                }
            )
        except ValidationError:
            # A malformed number is the bank check's finding; the comparison goes on without the account.
            bank_account = None
    return Vendor(
        id=application.case_id,
        supplier_name=request.vendor_legal_name,
        doing_business_as=w9.business_name if w9 is not None else None,
        supplier_type=supplier_type,
        category=request.category,
        tax_id=w9.tax_id if w9 is not None else None,
        default_currency=request.currency,
        bank_account=bank_account,
        email=request.contact_email,
        phone=application.contact_phone,
        address=w9.address if w9 is not None else None,
    )
