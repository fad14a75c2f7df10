"""The sample firm's vendor requests: one per onboarding scenario, deterministic for the demo and the tests.

Each scenario carries the request, the facts the extraction would have read from the vendor's W-9,
certificate of insurance and bank letter, and the outcome the vendor checks must reach; ``sample_documents``
writes the PDFs the vendor sends. The firm's vendor master, its employees (as the HRIS knows them) and its
approver groups come with them. Every company,
person, address and account here is invented; tax ids and routing numbers are the test vectors of
docs/DOMAIN.md or numbers of a valid form, and bank routing numbers are public bank identifiers.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import Field

from backoffice.models import (
    Address,
    BankAccount,
    CanonicalModel,
    EmployeeRecord,
    Vendor,
    VendorOnboardingRequested,
)
from backoffice.models.entities import TaxClassification
from backoffice.vendors.facts import (
    BankLetterFacts,
    InsuranceCertificate,
    InsurancePolicy,
    Insurer,
    VendorApplication,
    W9Facts,
)
from backoffice.vendors.policy import VendorPolicy
from backoffice.vendors.risk import NextStep, RiskLevel
from backoffice.vendors.sample_documents import bank_letter_pdf, certificate_pdf, w9_pdf

# The day the sample checks run: certificates are judged in force or expired on this date.
SAMPLE_CHECK_DATE = date(2026, 11, 16)
_POLICY_EXPIRY = date(2027, 6, 30)
_DOMAIN = "sample-firm.example"


def _person(name: str) -> str:
    return f"{name}@{_DOMAIN}"


PROCUREMENT = [_person("alex.moreno"), _person("jordan.lee"), _person("sam.okafor")]
FINANCE = [_person("riley.chen"), _person("morgan.adeyemi"), _person("casey.brandt")]
COMPLIANCE = [_person("taylor.nguyen"), _person("jamie.holt")]


def sample_policy() -> VendorPolicy:
    """DOMAIN.md defaults with the sample firm's approver groups."""
    return VendorPolicy(
        approver_groups={"procurement": PROCUREMENT, "finance": FINANCE, "compliance": COMPLIANCE}
    )


# ------------------------------------------------------------------------------------------------------------
# The vendor master and the HRIS
# ------------------------------------------------------------------------------------------------------------


def _address(line1: str, city: str, region: str, postal_code: str, line2: str | None = None) -> Address:
    return Address(line1=line1, line2=line2, city=city, region=region, postal_code=postal_code, country="US")


def _bank(holder: str, routing: str, account: str, bank_name: str = "Sample National Bank") -> BankAccount:
    return BankAccount.from_json_dict(
        {
            "account_holder_name": holder,
            "bank_name": bank_name,
            "routing_number": routing,
            "account_number": account,
            "account_type": "checking",
        }
    )


def existing_vendors() -> list[Vendor]:
    """Vendors the firm already pays (ERPNext Supplier records)."""
    return [
        Vendor.from_json_dict(
            {
                "id": "SUP-1001",
                "supplier_name": "Cobalt Print & Signage Inc.",
                "category": "marketing_agency",
                "tax_id": "94-3217650",
                "default_currency": "USD",
                "payment_terms_days": 30,
                "email": "billing@cobaltprint.example",
                "phone": "+1 206 555 0131",
                "address": _address("2200 Western Avenue", "Seattle", "WA", "98121").to_json_dict(),
                "bank_account": _bank("Cobalt Print & Signage Inc.", "121000358", "4410023311").to_json_dict(
                    reveal_secrets=True
                ),
            }
        ),
        Vendor.from_json_dict(
            {
                "id": "SUP-1002",
                "supplier_name": "Greenway Office Cleaning LLC",
                "category": "facilities",
                "tax_id": "46-5512873",
                "default_currency": "USD",
                "email": "accounts@greenwayclean.example",
                "phone": "(425) 555-0178",
                "address": _address("915 Industry Drive", "Tukwila", "WA", "98188").to_json_dict(),
                "bank_account": _bank("Greenway Office Cleaning LLC", "021000021", "7730045120").to_json_dict(
                    reveal_secrets=True
                ),
            }
        ),
        Vendor.from_json_dict(
            {
                "id": "SUP-1003",
                "supplier_name": "Summit Legal Staffing Inc.",
                "category": "professional_services",
                "tax_id": "83-1947026",
                "default_currency": "USD",
                "disabled": True,
                "email": "ap@summitlegal.example",
                "address": _address(
                    "600 Pine Street", "Seattle", "WA", "98101", line2="Suite 1400"
                ).to_json_dict(),
            }
        ),
    ]


def existing_employees() -> list[EmployeeRecord]:
    """Employees with what payroll knows of them: what a ghost vendor would share."""
    return [
        EmployeeRecord.from_json_dict(
            {
                "worker_id": "EMP-0042",
                "name": "Dana Whitfield",
                "email": _person("dana.whitfield"),
                "phone": "206-555-0199",
                "home_address": _address("18 Larch Lane", "Redmond", "WA", "98052").to_json_dict(),
                "bank_account": _bank("Dana Whitfield", "026009593", "0092281734").to_json_dict(
                    reveal_secrets=True
                ),
            }
        ),
        EmployeeRecord.from_json_dict(
            {
                "worker_id": "EMP-0107",
                "name": "Marcus Oyelaran",
                "email": _person("marcus.oyelaran"),
                "phone": "+1 (425) 555-0162",
                "home_address": _address(
                    "4471 Meridian Avenue North", "Seattle", "WA", "98103"
                ).to_json_dict(),
            }
        ),
        EmployeeRecord.from_json_dict(
            {
                "worker_id": "EMP-0311",
                "name": "Priya Raman",
                "email": _person("priya.raman"),
                "phone": "425 555 0114",
                "home_address": _address("77 Juniper Court", "Bellevue", "WA", "98004").to_json_dict(),
            }
        ),
    ]


# ------------------------------------------------------------------------------------------------------------
# Documents as extraction reads them
# ------------------------------------------------------------------------------------------------------------

_MILLION = Decimal(1_000_000)
# Limits a certificate shows for each coverage line, at or above every default requirement.
_LIMITS: dict[str, dict[str, Decimal]] = {
    "general_liability": {
        "each_occurrence": _MILLION,
        "general_aggregate": 2 * _MILLION,
        "damage_to_rented_premises": Decimal(300_000),
        "medical_expense": Decimal(10_000),
    },
    "auto_liability": {"combined_single_limit": _MILLION},
    "employers_liability": {
        "el_each_accident": _MILLION,
        "el_disease_each_employee": _MILLION,
        "el_disease_policy_limit": _MILLION,
    },
    "professional_liability": {"each_claim": 2 * _MILLION, "aggregate": 2 * _MILLION},
    "cyber_liability": {"each_claim": 2 * _MILLION, "aggregate": 2 * _MILLION},
}
_COVERAGES_BY_CATEGORY = {
    "it_subcontractor": [
        "general_liability",
        "employers_liability",
        "professional_liability",
        "cyber_liability",
    ],
    "facilities": ["general_liability", "auto_liability", "employers_liability"],
    "marketing_agency": ["general_liability", "professional_liability", "cyber_liability"],
    "professional_services": ["general_liability", "professional_liability"],
}


def _w9(
    name: str,
    classification: TaxClassification,
    address: Address,
    *,
    ein: str | None = None,
    ssn: str | None = None,
    llc_code: str | None = None,
    business_name: str | None = None,
    signed_on: date = date(2026, 11, 3),
) -> W9Facts:
    return W9Facts.from_json_dict(
        {
            "name": name,
            "business_name": business_name,
            "tax_classifications": [classification],
            "llc_tax_classification": llc_code,
            "address": address.to_json_dict(),
            "ein": ein,
            "ssn": ssn,
            "signed": True,
            "signature_date": signed_on.isoformat(),
        }
    )


def _certificate(
    insured: str, category: str, *, expiring: dict[str, date] | None = None, prefix: str = "PL"
) -> InsuranceCertificate:
    """An ACORD 25 meeting the category's default requirements; ``expiring`` overrides expiry dates."""
    policies = []
    for number, coverage in enumerate(_COVERAGES_BY_CATEGORY[category], start=1):
        expiry = (expiring or {}).get(coverage, _POLICY_EXPIRY)
        policies.append(
            InsurancePolicy.from_json_dict(
                {
                    "coverage": coverage,
                    "insurer_letter": "A" if coverage != "cyber_liability" else "B",
                    "policy_number": f"{prefix}-{2026_0000 + number}",
                    "effective_date": date(expiry.year - 1, expiry.month, expiry.day).isoformat(),
                    "expiry_date": expiry.isoformat(),
                    "additional_insured": coverage == "general_liability",
                    "subrogation_waived": coverage in ("general_liability", "employers_liability"),
                    "limits": {key: str(value) for key, value in _LIMITS[coverage].items()},
                }
            )
        )
    return InsuranceCertificate(
        certificate_date=date(2026, 11, 2),
        producer="Lakeshore Insurance Brokers",
        insured_name=insured,
        insurers=[
            Insurer(letter="A", name="Sample Mutual Casualty Company", naic_number="10001"),
            Insurer(letter="B", name="Sample Specialty Insurance Company", naic_number="10002"),
        ],
        policies=policies,
        certificate_holder="the sample firm",
    )


def _bank_letter(holder: str, routing: str, account: str) -> BankLetterFacts:
    return BankLetterFacts.from_json_dict(
        {
            "bank_name": "Sample National Bank",
            "account_holder_name": holder,
            "routing_number": routing,
            "account_number": account,
            "account_type": "checking",
            "letter_date": "2026-10-28",
        }
    )


def _application(
    key: str,
    *,
    legal_name: str,
    category: str,
    spend: int,
    requester: str,
    w9: W9Facts | None,
    certificate: InsuranceCertificate | None,
    bank_letter: BankLetterFacts | None,
    handles_data: bool = False,
    phone: str | None = None,
) -> VendorApplication:
    contact = "".join(char for char in legal_name.lower() if char.isalnum())[:18]
    request: dict[str, Any] = {
        "requester_email": requester,
        "vendor_legal_name": legal_name,
        "category": category,
        "expected_annual_spend": f"{spend}.00",
        "currency": "USD",
        "contact_email": f"accounts@{contact}.example",
    }
    return VendorApplication(
        case_id=f"vendor-{key}",
        request=VendorOnboardingRequested.from_json_dict(request),
        handles_data=handles_data,
        contact_phone=phone,
        w9=w9,
        certificate=certificate,
        bank_letter=bank_letter,
    )


# ------------------------------------------------------------------------------------------------------------
# Scenarios
# ------------------------------------------------------------------------------------------------------------


class SampleScenario(CanonicalModel):
    """A vendor request and the outcome the onboarding checks must reach for it.

    ``supplied_later``: the W-9 that arrives after the case asked for it; with it, the case reaches
    ``expected_after_documents``.
    """

    key: str
    title: str
    application: VendorApplication
    expected_next_step: NextStep
    expected_risk_level: RiskLevel
    expected_approval_levels: list[str] = Field(
        default_factory=list
    )  # names, in order; [] if no approval yet
    expected_quorum: int = 1  # of the procurement level
    supplied_later: W9Facts | None = None
    expected_after_documents: NextStep | None = None


def sample_scenarios() -> list[SampleScenario]:
    """One scenario per outcome of vendor onboarding, in the order the demo shows them."""
    harbor = _address("1450 Harbor Avenue SW", "Seattle", "WA", "98126")
    quayside = _address("88 Quayside Plaza", "Tacoma", "WA", "98402", line2="Floor 3")
    meridian = _address("300 Technology Way", "Bellevue", "WA", "98004", line2="Suite 410")
    ostrander = _address("1201 Third Avenue", "Seattle", "WA", "98101", line2="Suite 2900")
    lantern = _address("251 Little Falls Drive", "Wilmington", "DE", "19808")
    cobalt = _address("2200 Western Ave", "Seattle", "WA", "98121")
    fennimore = _address("3120 NE 55th Street", "Seattle", "WA", "98105")
    atlas = _address("500 Yale Avenue North", "Seattle", "WA", "98109")

    clean = _application(
        "clean",
        legal_name="Harbor & Pine Facilities LLC",
        category="facilities",
        spend=48_000,
        requester=_person("dana.whitfield"),
        phone="206-555-0140",
        w9=_w9("Harbor & Pine Facilities LLC", "llc", harbor, ein="27-4418390", llc_code="P"),
        certificate=_certificate("Harbor and Pine Facilities, L.L.C.", "facilities", prefix="HPF"),
        bank_letter=_bank_letter("Harbor & Pine Facilities LLC", "021000021", "5530017788"),
    )
    insurance_expired = _application(
        "insurance-expired",
        legal_name="Quayside Marketing Group Inc.",
        category="marketing_agency",
        spend=65_000,
        requester=_person("priya.raman"),
        handles_data=True,
        w9=_w9("Quayside Marketing Group Inc.", "s_corporation", quayside, ein="88-0561234"),
        certificate=_certificate(
            "Quayside Marketing Group Inc.",
            "marketing_agency",
            expiring={"general_liability": date(2026, 10, 31)},
            prefix="QMG",
        ),
        bank_letter=_bank_letter("Quayside Marketing Group Inc.", "121000358", "8812004455"),
    )
    invalid_tin = _application(
        "invalid-tin",
        legal_name="Meridian Data Labs LLC",
        category="it_subcontractor",
        spend=90_000,
        requester=_person("marcus.oyelaran"),
        handles_data=True,
        w9=_w9("Meridian Data Labs LLC", "llc", meridian, ein="07-1144442", llc_code="C"),
        certificate=_certificate("Meridian Data Labs LLC", "it_subcontractor", prefix="MDL"),
        bank_letter=_bank_letter("Meridian Data Labs LLC", "026009593", "3300218841"),
    )
    invalid_routing = _application(
        "invalid-routing",
        legal_name="Ostrander Legal Support LLP",
        category="professional_services",
        spend=30_000,
        requester=_person("priya.raman"),
        w9=_w9("Ostrander Legal Support LLP", "partnership", ostrander, ein="61-1776452"),
        certificate=_certificate("Ostrander Legal Support LLP", "professional_services", prefix="OLS"),
        bank_letter=_bank_letter("Ostrander Legal Support LLP", "112000025", "6120098813"),
    )
    sanctions_hit = _application(
        "sanctions-hit",
        legal_name="Blue Lantern Digital Services Inc.",
        category="it_subcontractor",
        spend=60_000,
        requester=_person("marcus.oyelaran"),
        handles_data=True,
        w9=_w9("Blue Lantern Digital Services Inc.", "c_corporation", lantern, ein="33-0984217"),
        certificate=_certificate("Blue Lantern Digital Services Inc.", "it_subcontractor", prefix="BLD"),
        bank_letter=_bank_letter("Blue Lantern Digital Services Inc.", "061000104", "2200871123"),
    )
    duplicate = _application(
        "duplicate",
        legal_name="Cobalt Print and Signage",
        category="marketing_agency",
        spend=12_000,
        requester=_person("priya.raman"),
        phone="206.555.0131",
        w9=_w9("Cobalt Print & Signage Inc.", "c_corporation", cobalt, ein="94-3217650"),
        certificate=_certificate("Cobalt Print & Signage Inc.", "marketing_agency", prefix="CPS"),
        bank_letter=_bank_letter("Cobalt Print & Signage Inc.", "121000358", "4410023311"),
    )
    missing_w9 = _application(
        "missing-w9",
        legal_name="Fennimore Translation Services",
        category="professional_services",
        spend=18_000,
        requester=_person("marcus.oyelaran"),
        w9=None,
        certificate=_certificate(
            "Ingrid Fennimore DBA Fennimore Translation Services", "professional_services"
        ),
        bank_letter=_bank_letter("Fennimore Translation Services", "322271627", "9100456672"),
    )
    fennimore_w9 = _w9(
        "Ingrid Fennimore",
        "individual_sole_proprietor",
        fennimore,
        ssn="536-90-4399",
        business_name="Fennimore Translation Services",
        signed_on=date(2026, 11, 12),
    )
    high_spend = _application(
        "high-spend",
        legal_name="Atlas Cloud Integrators Inc.",
        category="it_subcontractor",
        spend=750_000,
        requester=PROCUREMENT[0],  # a procurement approver asking for a vendor: excluded from approving it
        handles_data=True,
        w9=_w9("Atlas Cloud Integrators Inc.", "c_corporation", atlas, ein="91-1144442"),
        certificate=_certificate("Atlas Cloud Integrators, Inc.", "it_subcontractor", prefix="ACI"),
        bank_letter=_bank_letter("Atlas Cloud Integrators Inc.", "111000025", "4021198870"),
    )

    return [
        SampleScenario(
            key="clean",
            title="A facilities vendor with every document in order",
            application=clean,
            expected_next_step="approval",
            expected_risk_level="low",
            expected_approval_levels=["procurement"],
        ),
        SampleScenario(
            key="insurance-expired",
            title="A marketing agency whose general liability policy expired two weeks ago",
            application=insurance_expired,
            expected_next_step="vendor_correction",
            expected_risk_level="medium",
        ),
        SampleScenario(
            key="invalid-tin",
            title="An IT subcontractor whose W-9 gives an EIN with a prefix the IRS never assigns",
            application=invalid_tin,
            expected_next_step="vendor_correction",
            expected_risk_level="medium",
        ),
        SampleScenario(
            key="invalid-routing",
            title="A legal support firm whose bank letter has a routing number failing the ABA checksum",
            application=invalid_routing,
            expected_next_step="vendor_correction",
            expected_risk_level="medium",
        ),
        SampleScenario(
            key="sanctions-hit",
            title="An IT subcontractor whose name is on the (sample) SDN list",
            application=sanctions_hit,
            expected_next_step="compliance_review",
            expected_risk_level="high",
            expected_approval_levels=["compliance", "procurement", "finance"],
            expected_quorum=2,
        ),
        SampleScenario(
            key="duplicate",
            title="A print shop the firm already pays under another spelling, with the same EIN",
            application=duplicate,
            expected_next_step="duplicate",
            expected_risk_level="medium",
        ),
        SampleScenario(
            key="missing-w9",
            title="A translator who sends the W-9 after the request; the name on line 1 is the owner's",
            application=missing_w9,
            expected_next_step="awaiting_documents",
            expected_risk_level="low",
            supplied_later=fennimore_w9,
            expected_after_documents="approval",
        ),
        SampleScenario(
            key="high-spend",
            title="A cloud integrator with $750,000 of expected spend: finance and two approvers per level",
            application=high_spend,
            expected_next_step="approval",
            expected_risk_level="high",
            expected_approval_levels=["procurement", "finance"],
            expected_quorum=2,
        ),
    ]


def sample_documents(scenario: SampleScenario, *, w9_form: str | Path | None = None) -> dict[str, bytes]:
    """The PDFs the vendor of a sample scenario sends, by document type (``w9``, ``coi``, ``bank_letter``);
    a document the scenario lacks is absent, and the W-9 it receives later is under ``supplied_later``.

    ``w9_form``: the blank IRS W-9 (see ``sample_documents.w9_form_path``); raises ``W9FormUnavailable``
    without it when the scenario has a W-9.
    """
    application = scenario.application
    documents: dict[str, bytes] = {}
    if application.w9 is not None:
        documents["w9"] = w9_pdf(application.w9, w9_form)
    if application.certificate is not None:
        documents["coi"] = certificate_pdf(application.certificate)
    if application.bank_letter is not None:
        documents["bank_letter"] = bank_letter_pdf(application.bank_letter)
    if scenario.supplied_later is not None:
        documents["supplied_later"] = w9_pdf(scenario.supplied_later, w9_form)
    return documents
