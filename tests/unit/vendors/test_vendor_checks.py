"""W-9, TIN, bank and certificate-of-insurance checks, held to the vectors of docs/DOMAIN.md section 4."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from pydantic import ValidationError
from stdnum.us import ein as stdnum_ein
from stdnum.us import itin as stdnum_itin
from stdnum.us import rtn as stdnum_rtn
from stdnum.us import ssn as stdnum_ssn

from backoffice.identifiers import (
    INVALID_EIN_PREFIXES,
    ein_problems,
    itin_problems,
    routing_number_problems,
    ssn_problems,
)
from backoffice.vendors.checks import (
    CheckName,
    check_bank_account,
    check_bank_account_holder,
    check_insurance_certificate,
    check_w9_form,
    check_w9_name,
    check_w9_tin,
    missing_documents,
    run_vendor_checks,
)
from backoffice.vendors.facts import BankLetterFacts, InsuranceCertificate, W9Facts
from backoffice.vendors.policy import VendorPolicy
from backoffice.vendors.sample_vendors import SAMPLE_CHECK_DATE, sample_scenarios

TODAY = SAMPLE_CHECK_DATE


def w9(**changes: Any) -> W9Facts:
    data: dict[str, Any] = {
        "name": "Harbor & Pine Facilities LLC",
        "tax_classifications": ["llc"],
        "llc_tax_classification": "P",
        "address": {
            "line1": "1450 Harbor Avenue SW",
            "city": "Seattle",
            "region": "WA",
            "postal_code": "98126",
            "country": "US",
        },
        "ein": "91-1144442",
        "signed": True,
        "signature_date": "2026-11-03",
    }
    data.update(changes)
    return W9Facts.from_json_dict(data)


def letter(**changes: Any) -> BankLetterFacts:
    data: dict[str, Any] = {
        "account_holder_name": "Harbor & Pine Facilities LLC",
        "routing_number": "111000025",
        "account_number": "5530017788",
    }
    data.update(changes)
    return BankLetterFacts.from_json_dict(data)


def gl_policy(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "coverage": "general_liability",
        "policy_number": "GL-1",
        "effective_date": "2026-07-01",
        "expiry_date": "2027-07-01",
        "additional_insured": True,
        "limits": {"each_occurrence": "1000000", "general_aggregate": "2000000"},
    }
    data.update(changes)
    return data


def facilities_certificate(
    *policies: dict[str, Any], insured: str = "Harbor & Pine Facilities LLC"
) -> InsuranceCertificate:
    if not policies:
        policies = (
            gl_policy(),
            {
                "coverage": "auto_liability",
                "policy_number": "AU-1",
                "expiry_date": "2027-07-01",
                "limits": {"combined_single_limit": "1000000"},
            },
            {
                "coverage": "employers_liability",
                "policy_number": "WC-1",
                "expiry_date": "2027-07-01",
                "limits": {
                    "el_each_accident": "1000000",
                    "el_disease_each_employee": "1000000",
                    "el_disease_policy_limit": "1000000",
                },
            },
        )
    return InsuranceCertificate.from_json_dict({"insured_name": insured, "policies": list(policies)})


def check_facilities(certificate: InsuranceCertificate, policy: VendorPolicy, as_of: date = TODAY) -> Any:
    return check_insurance_certificate(
        certificate,
        category="facilities",
        vendor_names=["Harbor & Pine Facilities LLC"],
        handles_data=False,
        policy=policy,
        as_of=as_of,
    )


# ------------------------------------------------------------------------------------------------------------
# Identifier vectors
# ------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "number", "valid"),
    [
        (ein_problems, "91-1144442", True),
        (ein_problems, "911144442", True),
        (ein_problems, "07-1144442", False),
        (ssn_problems, "536-90-4399", True),
        (ssn_problems, "666-00-0000", False),
        (itin_problems, "912-90-3456", True),
        (itin_problems, "912-93-4567", False),
        (routing_number_problems, "111000025", True),
        (routing_number_problems, "112000025", False),
    ],
)
def test_the_domain_vectors_are_valid_or_invalid_as_documented(rule: Any, number: str, valid: bool) -> None:
    # Given a DOMAIN.md test vector / When its rule judges it / Then the verdict is the documented one
    assert (rule(number) == []) is valid


@pytest.mark.parametrize(
    ("rule", "library", "numbers"),
    [
        (ein_problems, stdnum_ein, ["91-1144442", "07-1144442", "00-1234567", "12-3456789", "1-11444422"]),
        (
            ssn_problems,
            stdnum_ssn,
            ["536-90-4399", "666-00-0000", "078-05-1120", "123-45-6789", "900-12-3456"],
        ),
        (
            itin_problems,
            stdnum_itin,
            ["912-90-3456", "912-93-4567", "912-89-3456", "912-70-3456", "812-90-3456"],
        ),
        (routing_number_problems, stdnum_rtn, ["111000025", "112000025", "021000021", "121000358"]),
    ],
)
def test_the_written_rules_agree_with_python_stdnum(rule: Any, library: Any, numbers: list[str]) -> None:
    # Given numbers on both sides of each rule / Then the rules here and python-stdnum agree on each
    for number in numbers:
        assert (rule(number) == []) == library.is_valid(number), number


@pytest.mark.parametrize("prefix", sorted(INVALID_EIN_PREFIXES))
def test_every_unassigned_ein_prefix_is_refused(prefix: str) -> None:
    # Given an EIN with a prefix the IRS never assigns / Then the reason names the prefix rule
    assert ein_problems(f"{prefix}-1144442") == ["has a two-digit prefix the IRS does not assign"]


def test_the_domain_ein_prefix_list_is_the_complement_of_python_stdnums_campuses() -> None:
    # Given every two-digit prefix / Then exactly the listed ones are those python-stdnum knows no campus for
    unknown = {f"{p:02d}" for p in range(100) if not stdnum_ein.is_valid(f"{p:02d}-1144442")}
    assert unknown == INVALID_EIN_PREFIXES


@pytest.mark.parametrize("number", ["078-05-1120", "457-55-5462", "219-09-9999"])
def test_advertising_ssns_are_refused(number: str) -> None:
    # Given an SSN printed on sample cards / Then it is refused as such
    assert ssn_problems(number) == ["is a known advertising (specimen) number, not anyone's SSN"]


@pytest.mark.parametrize(
    ("number", "fragment"),
    [
        ("000-12-3456", "area number"),
        ("666-12-3456", "area number"),
        ("912-12-3456", "area number"),
        ("123-00-4567", "group number 00"),
        ("123-45-0000", "serial number 0000"),
        ("12-345-6789", "not 9 digits"),
    ],
)
def test_ssn_area_group_and_serial_rules(number: str, fragment: str) -> None:
    # Given an SSN breaking one SSA rule / Then the reason names that rule
    assert any(fragment in problem for problem in ssn_problems(number))


@pytest.mark.parametrize("group", ["89", "93", "69", "00"])
def test_itin_groups_outside_the_issued_ranges_are_refused(group: str) -> None:
    assert itin_problems(f"912-{group}-3456") == ["has a group number outside 70-88, 90-92 and 94-99"]


def test_a_routing_number_with_a_good_checksum_but_no_federal_reserve_prefix_is_refused() -> None:
    # Given 131000092: its checksum holds but 13 is in no routing-number range
    assert stdnum_rtn.is_valid("131000092")
    # Then only the range rule refuses it
    assert routing_number_problems("131000092") == [
        "starts with digits outside the Federal Reserve ranges 00-12, 21-32, 61-72 and 80"
    ]
    assert routing_number_problems("1110000") == ["is not 9 digits"]


# ------------------------------------------------------------------------------------------------------------
# W-9 form and TIN
# ------------------------------------------------------------------------------------------------------------


def test_a_complete_w9_passes_every_w9_check(policy: VendorPolicy) -> None:
    form = w9()
    assert check_w9_form(form, TODAY).status == "pass"
    assert check_w9_tin(form).status == "pass"
    assert check_w9_name(form, "Harbor and Pine Facilities, L.L.C.", policy).status == "pass"


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"name": None}, "W-9 line 1 (name) is empty"),
        ({"tax_classifications": []}, "W-9 line 3: no federal tax classification box is checked"),
        (
            {"tax_classifications": ["c_corporation", "s_corporation"], "llc_tax_classification": None},
            "W-9 line 3: 2 tax classification boxes are checked; exactly one is allowed",
        ),
        (
            {"llc_tax_classification": None},
            "W-9 line 3: the LLC box is checked without its tax classification (C, S or P)",
        ),
        ({"llc_tax_classification": "D"}, "W-9 line 3: the LLC tax classification must be C, S or P"),
        ({"address": None}, "W-9 lines 5-6 (address) are empty"),
        (
            {"address": {"line1": "1450 Harbor Avenue SW", "city": "Seattle", "country": "US"}},
            "W-9 line 6 needs the city, state and ZIP code",
        ),
        ({"signed": False}, "W-9 Part II is not signed"),
        ({"signature_date": None}, "W-9 Part II is signed but not dated"),
        (
            {"signature_date": "2026-12-01"},
            "W-9 Part II is dated 2026-12-01, after the check date 2026-11-16",
        ),
    ],
)
def test_an_incomplete_w9_fails_with_the_line_to_fix(changes: dict[str, Any], reason: str) -> None:
    # Given a W-9 missing one required element / When the form is checked
    result = check_w9_form(w9(**changes), TODAY)
    # Then it fails and says which line
    assert result.check == CheckName.W9_FORM
    assert result.status == "fail"
    assert reason in result.reasons


def test_each_of_the_seven_boxes_alone_is_accepted() -> None:
    for box in (
        "individual_sole_proprietor",
        "c_corporation",
        "s_corporation",
        "partnership",
        "trust_estate",
        "other",
    ):
        form = w9(tax_classifications=[box], llc_tax_classification=None, other_classification="Cooperative")
        assert check_w9_form(form, TODAY).status == "pass", box
    # an LLC code without the LLC box is a warning, since the box may have been missed by the extractor
    stray = check_w9_form(w9(tax_classifications=["partnership"]), TODAY)
    assert stray.status == "warn"


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"ein": None}, "W-9 Part I has no TIN (SSN or EIN)"),
        ({"ssn": "536-90-4399"}, "W-9 Part I has both an SSN and an EIN; the form takes one"),
        ({"ein": "07-1144442"}, "EIN ****4442 has a two-digit prefix the IRS does not assign"),
        (
            {
                "ein": None,
                "ssn": "536-90-4399",
                "tax_classifications": ["c_corporation"],
                "llc_tax_classification": None,
            },
            "a C corporation gives its EIN on the W-9, not an SSN",
        ),
        (
            {"ein": None, "ssn": "536-90-4399"},
            "an LLC taxed as a corporation or partnership gives its EIN, not an SSN",
        ),
        (
            {"ein": None, "ssn": "912-93-4567", "tax_classifications": ["individual_sole_proprietor"]},
            "ITIN ****4567 has a group number outside 70-88, 90-92 and 94-99",
        ),
        (
            {"ein": None, "ssn": "666-00-0000", "tax_classifications": ["individual_sole_proprietor"]},
            "SSN ****0000 has an area number that is never issued (000, 666 or 900-999)",
        ),
    ],
)
def test_part_one_tin_failures(changes: dict[str, Any], fragment: str) -> None:
    # Given a W-9 whose Part I is wrong in one way / Then the TIN check fails saying how
    result = check_w9_tin(w9(**changes))
    assert result.status == "fail"
    assert fragment in result.reasons


def test_a_sole_proprietor_may_give_an_ssn_or_an_itin() -> None:
    for tin in ("536-90-4399", "912-90-3456"):
        form = w9(
            ein=None, ssn=tin, tax_classifications=["individual_sole_proprietor"], llc_tax_classification=None
        )
        assert check_w9_tin(form).status == "pass", tin


def test_tin_applied_for_is_a_warning_about_backup_withholding() -> None:
    result = check_w9_tin(w9(ein=None, tin_applied_for=True))
    assert result.status == "warn"
    assert "backup withholding" in result.reasons[0]


def test_reasons_show_a_tax_id_only_by_its_last_four_digits() -> None:
    # Given W-9s with invalid numbers of each kind
    forms = [
        w9(ein="07-1144442"),
        w9(ein=None, ssn="666-00-1234", tax_classifications=["individual_sole_proprietor"]),
        w9(ein=None, ssn="912-93-4567", tax_classifications=["individual_sole_proprietor"]),
    ]
    for form in forms:
        text = " ".join(check_w9_tin(form).reasons)
        secret = form.tax_id.get_secret_value()  # type: ignore[union-attr]
        # Then neither the number nor its first five digits appear, only its last four
        assert secret not in text and secret.replace("-", "") not in text
        assert secret.replace("-", "")[:5] not in text
        assert "****" + secret.replace("-", "")[-4:] in text


def test_low_confidence_tin_is_a_warning_to_confirm_it() -> None:
    result = check_w9_tin(w9(low_confidence_fields=["ein"]))
    assert result.status == "warn"
    assert "'ein' was read with low confidence" in result.reasons[0]


# ------------------------------------------------------------------------------------------------------------
# Names
# ------------------------------------------------------------------------------------------------------------


def test_the_w9_name_matches_across_case_punctuation_and_legal_form(policy: VendorPolicy) -> None:
    form = w9(name="HARBOR AND PINE FACILITIES, L.L.C.")
    assert check_w9_name(form, "Harbor & Pine Facilities", policy).status == "pass"


def test_a_request_under_the_line_two_business_name_is_a_warning(policy: VendorPolicy) -> None:
    # Given a sole proprietor's W-9: the owner on line 1, the trade name on line 2
    form = w9(name="Ingrid Fennimore", business_name="Fennimore Translation Services")
    # When the request used the trade name
    result = check_w9_name(form, "Fennimore Translation Services", policy)
    # Then the requester is told to record line 1 as the legal name
    assert result.status == "warn"
    assert "record it as the legal name" in result.reasons[0]


def test_a_different_name_on_the_w9_fails(policy: VendorPolicy) -> None:
    result = check_w9_name(w9(name="Northwind Janitorial Inc."), "Harbor & Pine Facilities LLC", policy)
    assert result.status == "fail"
    assert "does not match the requested legal name" in result.reasons[0]


def test_the_name_threshold_is_configuration() -> None:
    # Given a near name ("Facility" for "Facilities") that the default thresholds accept as close
    form = w9(name="Harbor & Pine Facility LLC")
    default = check_w9_name(form, "Harbor & Pine Facilities LLC", VendorPolicy())
    # When a firm demands exact names
    strict = VendorPolicy.from_json_dict({"name_match_threshold": 100, "name_review_threshold": 99})
    # Then the same W-9 fails under its policy
    assert default.status in ("pass", "warn")
    assert check_w9_name(form, "Harbor & Pine Facilities LLC", strict).status == "fail"


# ------------------------------------------------------------------------------------------------------------
# Bank letter
# ------------------------------------------------------------------------------------------------------------


def test_a_good_bank_letter_passes(policy: VendorPolicy) -> None:
    assert check_bank_account(letter()).status == "pass"
    assert check_bank_account_holder(letter(), ["Harbor & Pine Facilities LLC"], policy).status == "pass"


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        (
            {"routing_number": "112000025"},
            "routing number ****0025 fails the ABA checksum (a digit is wrong or two are swapped)",
        ),
        ({"routing_number": None}, "the bank letter shows no routing number"),
        ({"account_number": "12AB-99"}, "account number ****AB99 is not 4 to 17 digits"),
        ({"account_number": None}, "the bank letter shows no account number"),
    ],
)
def test_bank_account_failures(changes: dict[str, Any], reason: str) -> None:
    result = check_bank_account(letter(**changes))
    assert result.status == "fail"
    assert result.reasons == [reason]


def test_an_account_held_by_someone_else_fails(policy: VendorPolicy) -> None:
    # Given a bank letter for a person's account, not the vendor's
    result = check_bank_account_holder(
        letter(account_holder_name="Dana Whitfield"), ["Harbor & Pine Facilities LLC"], policy
    )
    # Then the check fails: payments must go to the vendor itself
    assert result.status == "fail"
    assert "payments must go to the vendor's own account" in result.reasons[0]


def test_the_holder_may_be_any_name_the_w9_gives(policy: VendorPolicy) -> None:
    names = ["Fennimore Translation Services", "Ingrid Fennimore"]
    assert (
        check_bank_account_holder(letter(account_holder_name="INGRID FENNIMORE"), names, policy).status
        == "pass"
    )


# ------------------------------------------------------------------------------------------------------------
# Certificate of insurance
# ------------------------------------------------------------------------------------------------------------


def test_a_certificate_meeting_the_facilities_requirements_passes(policy: VendorPolicy) -> None:
    result = check_facilities(facilities_certificate(), policy)
    assert (result.check, result.status, result.reasons) == (CheckName.INSURANCE, "pass", [])


def test_an_expired_policy_fails_and_one_expiring_on_the_check_date_is_expired(policy: VendorPolicy) -> None:
    # Given general liability that expired before the check date, and one that expires on it
    before = facilities_certificate().policies[1:]
    for expiry in ("2026-10-31", TODAY.isoformat()):
        certificate = facilities_certificate(
            gl_policy(expiry_date=expiry), *[p.to_json_dict() for p in before]
        )
        result = check_facilities(certificate, policy)
        # Then both fail: ACORD cover ends at 12:01 a.m. on the expiry date
        assert result.status == "fail"
        assert result.reasons == [f"general liability policy GL-1 expired on {expiry}"]


@pytest.mark.parametrize(("days", "status"), [(1, "warn"), (30, "warn"), (31, "pass")])
def test_a_policy_expiring_within_thirty_days_is_a_warning(
    policy: VendorPolicy, days: int, status: str
) -> None:
    rest = [p.to_json_dict() for p in facilities_certificate().policies[1:]]
    expiry = (TODAY + timedelta(days=days)).isoformat()
    result = check_facilities(facilities_certificate(gl_policy(expiry_date=expiry), *rest), policy)
    assert result.status == status
    if status == "warn":
        assert result.reasons == [
            f"general liability policy GL-1 expires on {expiry}, in {days} days: ask for the renewal certificate"
        ]


def test_limits_below_the_category_minimum_fail_with_the_amounts(policy: VendorPolicy) -> None:
    rest = [p.to_json_dict() for p in facilities_certificate().policies[1:]]
    low = gl_policy(limits={"each_occurrence": "500000"})
    result = check_facilities(facilities_certificate(low, *rest), policy)
    assert result.status == "fail"
    assert result.reasons == [
        "general liability policy GL-1: each occurrence $500,000 is below the $1,000,000 required",
        "general liability policy GL-1: no general aggregate limit shown ($2,000,000 required)",
    ]


def test_missing_coverage_not_in_force_and_no_additional_insured_fail(policy: VendorPolicy) -> None:
    certificate = facilities_certificate(gl_policy(effective_date="2026-12-01", additional_insured=False))
    result = check_facilities(certificate, policy)
    assert result.status == "fail"
    assert result.reasons == [
        "general liability policy GL-1 is not in force until 2026-12-01",
        "general liability policy GL-1: the firm is not named additional insured",
        "no auto liability policy on the certificate",
        "no employer's liability policy on the certificate",
    ]


def test_of_two_policies_of_one_kind_the_one_meeting_the_requirement_counts(policy: VendorPolicy) -> None:
    rest = [p.to_json_dict() for p in facilities_certificate().policies[1:]]
    certificate = facilities_certificate(
        gl_policy(policy_number="OLD", expiry_date="2026-01-01"), gl_policy(), *rest
    )
    assert check_facilities(certificate, policy).status == "pass"


def test_the_insured_must_be_the_vendor(policy: VendorPolicy) -> None:
    result = check_facilities(facilities_certificate(insured="Pine Street Holdings Inc."), policy)
    assert result.status == "fail"
    assert result.reasons[0].startswith("the certificate insures 'Pine Street Holdings Inc.', not the vendor")


def test_cyber_cover_is_required_only_from_vendors_holding_data(policy: VendorPolicy) -> None:
    # Given a marketing agency's certificate with general and professional liability but no cyber policy
    certificate = InsuranceCertificate.from_json_dict(
        {
            "insured_name": "Quayside Marketing Group Inc.",
            "policies": [
                gl_policy(),
                {
                    "coverage": "professional_liability",
                    "expiry_date": "2027-07-01",
                    "limits": {"each_claim": "1000000", "aggregate": "1000000"},
                },
            ],
        }
    )

    def run(handles_data: bool) -> Any:
        return check_insurance_certificate(
            certificate,
            category="marketing_agency",
            vendor_names=["Quayside Marketing Group Inc."],
            handles_data=handles_data,
            policy=policy,
            as_of=TODAY,
        )

    # Then it passes for a vendor without data and fails for one holding data
    assert run(False).status == "pass"
    assert run(True).reasons == ["no cyber liability policy on the certificate"]


def test_an_unknown_category_fails_rather_than_falling_back_to_lower_requirements(
    policy: VendorPolicy,
) -> None:
    result = check_insurance_certificate(
        facilities_certificate(),
        category="catering",
        vendor_names=["Harbor & Pine Facilities LLC"],
        handles_data=False,
        policy=policy,
        as_of=TODAY,
    )
    assert result.status == "fail"
    assert "vendor category 'catering' is not in the vendor policy" in result.reasons[0]


# ------------------------------------------------------------------------------------------------------------
# The policy as configuration
# ------------------------------------------------------------------------------------------------------------


def test_the_default_policy_has_the_domain_minimums() -> None:
    policy = VendorPolicy()
    assert set(policy.categories) == {
        "it_subcontractor",
        "facilities",
        "marketing_agency",
        "professional_services",
    }
    limits = {
        (category, coverage.coverage): {k: int(v) for k, v in coverage.minimum_limits.items()}
        for category, requirements in policy.categories.items()
        for coverage in requirements.coverages
    }
    assert limits["facilities", "general_liability"] == {
        "each_occurrence": 1_000_000,
        "general_aggregate": 2_000_000,
    }
    assert limits["facilities", "auto_liability"] == {"combined_single_limit": 1_000_000}
    assert limits["facilities", "employers_liability"] == {
        "el_each_accident": 1_000_000,
        "el_disease_each_employee": 1_000_000,
        "el_disease_policy_limit": 1_000_000,
    }
    assert limits["it_subcontractor", "professional_liability"]["each_claim"] == 2_000_000
    assert policy.insurance_expiry_warning_days == 30


def test_a_firm_policy_loaded_from_json_replaces_the_categories_and_keeps_other_defaults() -> None:
    # Given a firm's JSON policy asking facilities vendors for $3M of professional liability only
    policy = VendorPolicy.from_json_dict(
        {
            "categories": {
                "Facilities": {
                    "description": "facilities, firm rules",
                    "coverages": [
                        {"coverage": "professional_liability", "minimum_limits": {"each_claim": 3000000}}
                    ],
                }
            },
            "insurance_expiry_warning_days": 45,
        }
    )
    # Then the category is found whatever its case, the requirement is the firm's, other keys keep defaults
    assert policy.requirements_for("FACILITIES") is not None
    assert policy.requirements_for("it_subcontractor") is None
    assert policy.insurance_expiry_warning_days == 45
    assert policy.name_match_threshold == 90.0
    result = check_facilities(facilities_certificate(), policy)
    assert result.reasons == ["no professional liability (E&O) policy on the certificate"]


def test_an_inconsistent_policy_is_refused() -> None:
    with pytest.raises(ValidationError):
        VendorPolicy.from_json_dict({"name_match_threshold": 70, "name_review_threshold": 80})
    with pytest.raises(ValidationError):
        VendorPolicy.from_json_dict({"finance_approval_spend": "900000", "high_spend": "500000"})


# ------------------------------------------------------------------------------------------------------------
# All checks of an application
# ------------------------------------------------------------------------------------------------------------


def test_checks_of_an_application_without_a_w9_say_the_w9_is_missing(policy: VendorPolicy) -> None:
    # Given the sample application whose W-9 has not arrived
    application = next(s for s in sample_scenarios() if s.key == "missing-w9").application
    # When every check runs
    results = {result.check: result for result in run_vendor_checks(application, policy, TODAY)}
    # Then the three W-9 checks fail for want of it, and the others run on what is there
    assert [c for c, r in results.items() if r.missing_document == "w9"] == [
        CheckName.W9_FORM,
        CheckName.W9_TIN,
        CheckName.W9_NAME,
    ]
    assert results[CheckName.BANK_ACCOUNT].status == "pass"
    assert results[CheckName.INSURANCE].status == "pass"
    assert missing_documents(application, policy) == ["w9"]


def test_no_certificate_is_needed_for_a_category_without_insurance_requirements() -> None:
    # Given a policy whose facilities category requires no insurance, and an application without a certificate
    policy = VendorPolicy.from_json_dict({"categories": {"facilities": {"description": "none required"}}})
    application = next(s for s in sample_scenarios() if s.key == "clean").application
    bare = application.model_copy(update={"certificate": None})
    # Then nothing is missing and the insurance check passes
    assert missing_documents(bare, policy) == []
    insurance = [r for r in run_vendor_checks(bare, policy, TODAY) if r.check == CheckName.INSURANCE]
    assert insurance[0].status == "pass"


def test_a_doubtful_certificate_field_is_a_warning_to_look() -> None:
    certificate = facilities_certificate().model_copy(
        update={"low_confidence_fields": ["policies[0].expiry_date"]}
    )
    result = check_facilities(certificate, VendorPolicy())
    assert result.status == "warn"
    assert result.reasons == [
        "certificate field 'policies[0].expiry_date' was read with low confidence: confirm it against the document"
    ]
