"""Vendor documents end to end: PDF written from the facts, read by the local extractor, mapped back to facts.

Every sample scenario must reach the same outcome from its PDFs as from the facts they were written from; the
focused tests hold each document type to what a reviewer would notice (an unsigned W-9, an expired policy, a
value read with low confidence, a tax id in a log line). The blank IRS W-9 is the real one, kept in the
repository (tests/fixtures/SOURCES.md).
"""

from __future__ import annotations

import functools
import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from backoffice.extraction import ExtractionResult, apply_profile, extract_local, read_local_document
from backoffice.extraction.model import NormalizedDocument
from backoffice.vendors.assessment import VendorAssessment, assess_application
from backoffice.vendors.checks import (
    CheckName,
    check_bank_account,
    check_insurance_certificate,
    check_w9_form,
    check_w9_tin,
)
from backoffice.vendors.documents import (
    DocumentNotRead,
    bank_letter_from_extraction,
    certificate_from_extraction,
    facts_from_w9,
)
from backoffice.vendors.facts import (
    InsuranceCertificate,
    InsurancePolicy,
    VendorApplication,
    W9Facts,
)
from backoffice.vendors.policy import VendorPolicy
from backoffice.vendors.sample_documents import (
    W9_FORM_ENV,
    W9FormUnavailable,
    bank_letter_pdf,
    certificate_pdf,
    w9_pdf,
)
from backoffice.vendors.sample_vendors import (
    SAMPLE_CHECK_DATE,
    SampleScenario,
    existing_employees,
    existing_vendors,
    sample_documents,
    sample_scenarios,
)
from backoffice.vendors.sanctions import SanctionsList
from tests.fixture_files import blank_w9

SCENARIOS = {scenario.key: scenario for scenario in sample_scenarios()}
DOCUMENT_TYPE = {"w9": "w9", "supplied_later": "w9", "coi": "coi", "bank_letter": "bank_letter"}


@pytest.fixture(scope="module")
def w9_form() -> Path:
    return blank_w9()


@functools.cache
def read_back(key: str, form: Path) -> tuple[dict[str, bytes], dict[str, ExtractionResult]]:
    """A scenario's PDFs and their extraction results, made once per test run (a W-9 takes a second)."""
    documents = sample_documents(SCENARIOS[key], w9_form=form)
    return documents, {name: extract_local(pdf, DOCUMENT_TYPE[name]) for name, pdf in documents.items()}


def rebuilt(
    scenario: SampleScenario, results: dict[str, ExtractionResult], *, w9: str = "w9"
) -> VendorApplication:
    """The scenario's application with every document as extraction read it from its PDF."""
    data: dict[str, Any] = {
        "w9": facts_from_w9(results[w9]) if w9 in results else None,
        "certificate": certificate_from_extraction(results["coi"]) if "coi" in results else None,
        "bank_letter": bank_letter_from_extraction(results["bank_letter"])
        if "bank_letter" in results
        else None,
    }
    return scenario.application.model_copy(update=data)


def assess(application: VendorApplication, sdn_list: SanctionsList, policy: VendorPolicy) -> VendorAssessment:
    return assess_application(
        application,
        vendors=existing_vendors(),
        employees=existing_employees(),
        sanctions_list=sdn_list,
        policy=policy,
        as_of=SAMPLE_CHECK_DATE,
    )


def extracted(pdf: bytes, document_type: str, **confidences: float) -> ExtractionResult:
    """The PDF through its profile as if OCR had read parts of it less surely: ``confidences`` maps a text to
    the confidence given to every line or form field holding it."""
    document = read_local_document(pdf)
    assert isinstance(document, NormalizedDocument)

    def confidence(text: str, current: float) -> float:
        return min([value for found, value in confidences.items() if found in text], default=current)

    pages = [
        page.model_copy(
            update={
                "lines": [
                    line.model_copy(update={"confidence": confidence(line.text, line.confidence)})
                    for line in page.lines
                ]
            }
        )
        for page in document.pages
    ]
    fields = [
        field.model_copy(update={"confidence": confidence(field.value, field.confidence)})
        for field in document.fields
    ]
    return apply_profile(document.model_copy(update={"pages": pages, "fields": fields}), document_type)


# ------------------------------------------------------------------------------------------------------------
# Every sample scenario, from PDF to decision
# ------------------------------------------------------------------------------------------------------------


def test_each_scenario_has_the_pdfs_its_vendor_sent(w9_form: Path) -> None:
    # Given every sample scenario
    # When its documents are written
    sent = {key: sorted(read_back(key, w9_form)[0]) for key in SCENARIOS}
    # Then each has a W-9, a certificate and a bank letter, except the W-9 that comes later
    assert sent == {
        key: ["bank_letter", "coi", "supplied_later"] if key == "missing-w9" else ["bank_letter", "coi", "w9"]
        for key in SCENARIOS
    }
    assert all(pdf.startswith(b"%PDF-") for key in SCENARIOS for pdf in read_back(key, w9_form)[0].values())


def test_only_the_documents_with_a_bad_number_need_review(w9_form: Path) -> None:
    # Given every scenario's PDFs read by the local extractor
    statuses = {
        (key, name): (result.status, result.reasons)
        for key in SCENARIOS
        for name, result in read_back(key, w9_form)[1].items()
        if result.status != "complete"
    }
    # Then the invalid EIN and the routing number failing its checksum are the only reasons to look
    assert statuses == {
        ("invalid-tin", "w9"): (
            "needs_review",
            [
                "Part I: taxpayer identification number (SSN, ITIN or EIN): not a valid EIN: its prefix is not "
                "one the IRS assigns"
            ],
        ),
        ("invalid-routing", "bank_letter"): (
            "needs_review",
            ["ABA routing number: not a valid routing number: its check digit is wrong"],
        ),
    }


@pytest.mark.parametrize("key", list(SCENARIOS))
def test_the_facts_read_back_are_the_facts_written(key: str, w9_form: Path) -> None:
    # Given a scenario's documents written from its facts
    scenario = SCENARIOS[key]
    _, results = read_back(key, w9_form)
    # When they are extracted and mapped back to facts
    application = rebuilt(scenario, results)
    # Then every fact comes back as written, except the bank letter's date, which the profile does not read
    original = scenario.application
    assert application.w9 == original.w9
    assert application.certificate == original.certificate
    assert original.bank_letter is not None and application.bank_letter is not None
    assert application.bank_letter == original.bank_letter.model_copy(update={"letter_date": None})
    if scenario.supplied_later is not None:
        assert facts_from_w9(results["supplied_later"]) == scenario.supplied_later


@pytest.mark.parametrize("key", list(SCENARIOS))
def test_each_scenario_reaches_the_same_outcome_from_its_pdfs(
    key: str, w9_form: Path, sdn_list: SanctionsList, policy: VendorPolicy
) -> None:
    # Given a scenario's PDFs read back into its application
    scenario = SCENARIOS[key]
    _, results = read_back(key, w9_form)
    # When the application is assessed as the workflow would
    from_pdfs = assess(rebuilt(scenario, results), sdn_list, policy)
    from_facts = assess(scenario.application, sdn_list, policy)
    # Then it reaches the scenario's next step, risk level and approval chain, with the same findings
    assert (from_pdfs.risk.next_step, from_pdfs.risk.level) == (
        scenario.expected_next_step,
        scenario.expected_risk_level,
    )
    assert [level.name for level in from_pdfs.approval_chain] == scenario.expected_approval_levels
    assert [(c.check, c.status, c.reasons) for c in from_pdfs.checks] == [
        (c.check, c.status, c.reasons) for c in from_facts.checks
    ]
    assert from_pdfs.risk.score == from_facts.risk.score


def test_the_w9_supplied_later_completes_the_case(
    w9_form: Path, sdn_list: SanctionsList, policy: VendorPolicy
) -> None:
    # Given the translator's case waiting for its W-9, and the W-9 PDF that arrives
    scenario = SCENARIOS["missing-w9"]
    _, results = read_back("missing-w9", w9_form)
    assert assess(rebuilt(scenario, results), sdn_list, policy).risk.next_step == "awaiting_documents"
    # When the W-9 is read and added to the case
    after = assess(rebuilt(scenario, results, w9="supplied_later"), sdn_list, policy)
    # Then the case goes on to approval, its line 2 business name the name requested
    assert after.risk.next_step == scenario.expected_after_documents == "approval"
    w9 = facts_from_w9(results["supplied_later"])
    assert (w9.name, w9.business_name, w9.tax_classifications) == (
        "Ingrid Fennimore",
        "Fennimore Translation Services",
        ["individual_sole_proprietor"],
    )


# ------------------------------------------------------------------------------------------------------------
# Form W-9
# ------------------------------------------------------------------------------------------------------------


def _w9(**changes: Any) -> W9Facts:
    clean = SCENARIOS["clean"].application.w9
    assert clean is not None
    return W9Facts.from_json_dict({**clean.to_json_dict(reveal_secrets=True), **changes})


def test_an_unsigned_w9_goes_to_review(w9_form: Path, sdn_list: SanctionsList, policy: VendorPolicy) -> None:
    # Given a W-9 filled in but neither signed nor dated
    result = extract_local(w9_pdf(_w9(signed=False, signature_date=None), w9_form), "w9")
    # When it is read
    facts = facts_from_w9(result)
    # Then extraction asks for review, the facts say unsigned, and the W-9 check fails on it
    assert result.status == "needs_review"
    assert {"Part II: signature: missing", "Part II: date signed: missing"} <= set(result.reasons)
    assert (facts.signed, facts.signature_date) == (False, None)
    assert {"signed", "signature_date"} <= set(facts.low_confidence_fields)
    check = check_w9_form(facts, SAMPLE_CHECK_DATE)
    assert check.status == "fail" and "W-9 Part II is not signed" in check.reasons
    # And the case goes back to the vendor
    application = SCENARIOS["clean"].application.model_copy(update={"w9": facts})
    assert assess(application, sdn_list, policy).risk.next_step == "vendor_correction"


def test_sensitive_values_never_reach_repr_or_json(w9_form: Path) -> None:
    # Given a W-9 with an SSN, one with an EIN, and a bank letter, each read back into facts
    ssn_w9 = facts_from_w9(read_back("missing-w9", w9_form)[1]["supplied_later"])
    _, clean = read_back("clean", w9_form)
    ein_w9, letter = facts_from_w9(clean["w9"]), bank_letter_from_extraction(clean["bank_letter"])
    secrets = ["536-90-4399", "536904399", "27-4418390", "274418390", "021000021", "5530017788"]
    # When facts and results are printed the way logs and events print them
    texts = [
        *(repr(model) for model in (ssn_w9, ein_w9, letter)),
        *(str(model) for model in (ssn_w9, ein_w9, letter)),
        *(json.dumps(model.to_json_dict()) for model in (ssn_w9, ein_w9, letter)),
        repr(clean["w9"]),
        json.dumps(clean["w9"].to_json_dict()),
        repr(clean["bank_letter"]),
        json.dumps(clean["bank_letter"].to_json_dict()),
    ]
    # Then no tax id, routing or account number appears in any of them
    for text in texts:
        assert not [secret for secret in secrets if secret in text], text
    # And the values are there for the checks that need them
    assert ssn_w9.ssn is not None and ssn_w9.ssn.get_secret_value() == "536-90-4399"
    assert letter.account_number is not None and letter.account_number.get_secret_value() == "5530017788"


def test_two_boxes_ticked_are_both_reported(w9_form: Path) -> None:
    # Given a W-9 with the C corporation and the LLC boxes ticked
    result = extract_local(w9_pdf(_w9(tax_classifications=["c_corporation", "llc"]), w9_form), "w9")
    # When it is read back
    facts = facts_from_w9(result)
    # Then both boxes are in the facts, and the W-9 check refuses the form
    assert facts.tax_classifications == ["c_corporation", "llc"]
    assert (
        "W-9 line 3: 2 tax classification boxes are checked; exactly one is allowed"
        in check_w9_form(facts, SAMPLE_CHECK_DATE).reasons
    )


def test_an_itin_and_a_tin_applied_for_are_read_as_such(w9_form: Path) -> None:
    # Given a sole proprietor's W-9 with an ITIN, and one whose TIN is "Applied For"
    itin = _w9(
        tax_classifications=["individual_sole_proprietor"],
        llc_tax_classification=None,
        ein=None,
        ssn="912-90-3456",
    )
    applied = _w9(ein=None, tin_applied_for=True)
    # When they are read back
    itin_facts = facts_from_w9(extract_local(w9_pdf(itin, w9_form), "w9"))
    applied_facts = facts_from_w9(extract_local(w9_pdf(applied, w9_form), "w9"))
    # Then the ITIN is in the SSN boxes' fact and valid; the other is waiting for its TIN
    assert itin_facts.ssn is not None and itin_facts.ssn.get_secret_value() == "912-90-3456"
    assert check_w9_tin(itin_facts).status == "pass"
    assert (applied_facts.tin_applied_for, applied_facts.ein, applied_facts.ssn) == (True, None, None)
    assert check_w9_tin(applied_facts).status == "warn"


def test_a_tax_id_read_below_99_percent_is_for_a_person_to_confirm(w9_form: Path) -> None:
    # Given the clean vendor's W-9, its EIN boxes read at 97% confidence (as OCR might)
    pdf = read_back("clean", w9_form)[0]["w9"]
    result = extracted(pdf, "w9", **{"4418390": 97.0})
    # When it is read back
    facts = facts_from_w9(result)
    # Then the EIN is kept but named for confirmation, and the TIN check warns instead of passing
    assert facts.low_confidence_fields == ["ein"]
    check = check_w9_tin(facts)
    assert check.status == "warn"
    assert check.reasons == ["W-9 field 'ein' was read with low confidence: confirm it against the document"]


def test_both_tins_on_one_w9_are_for_a_person_to_read(w9_form: Path) -> None:
    # Given a W-9 with both the SSN and the EIN boxes filled
    result = extract_local(w9_pdf(_w9(ssn="536-90-4399"), w9_form), "w9")
    # When it is read back (extraction keeps one TIN, the SSN, and says both were given)
    facts = facts_from_w9(result)
    # Then both TIN facts are named for a person to confirm, and the TIN check does not pass the form
    assert any("both the SSN and the EIN boxes are filled" in reason for reason in result.reasons)
    assert facts.low_confidence_fields == ["ssn", "ein"]
    assert check_w9_tin(facts).status != "pass"


def test_without_a_blank_form_the_w9_cannot_be_written(
    w9_form: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    facts = _w9()
    # Given no form path and no BACKOFFICE_W9_FORM
    monkeypatch.delenv(W9_FORM_ENV, raising=False)
    # Then writing a W-9 says what is missing and where to set it
    with pytest.raises(W9FormUnavailable, match=W9_FORM_ENV):
        w9_pdf(facts)
    # And a file that is not the IRS form is refused, not half filled
    other = tmp_path / "not-a-w9.pdf"
    other.write_bytes(certificate_pdf(_certificate("clean")))
    with pytest.raises(W9FormUnavailable, match="not the fillable IRS Form W-9"):
        w9_pdf(facts, other)
    # And the environment variable is enough
    monkeypatch.setenv(W9_FORM_ENV, str(w9_form))
    assert facts_from_w9(extract_local(w9_pdf(facts), "w9")) == facts


def test_a_document_that_was_not_read_gives_no_facts() -> None:
    # Given a broken file, and a certificate's result handed to the W-9 mapping
    broken = extract_local(b"%PDF-1.4 truncated", "w9")
    certificate = extract_local(certificate_pdf(_certificate("clean")), "coi")
    # Then neither becomes W-9 facts: the document goes to a person whole
    with pytest.raises(DocumentNotRead, match="could not be read"):
        facts_from_w9(broken)
    with pytest.raises(DocumentNotRead, match="expected a w9 extraction"):
        facts_from_w9(certificate)


# ------------------------------------------------------------------------------------------------------------
# Certificate of insurance
# ------------------------------------------------------------------------------------------------------------


def _certificate(key: str) -> InsuranceCertificate:
    certificate = SCENARIOS[key].application.certificate
    assert certificate is not None
    return certificate


def test_an_expired_policy_is_read_as_expired(w9_form: Path, policy: VendorPolicy) -> None:
    # Given the marketing agency's certificate, whose general liability policy expired on October 31
    scenario = SCENARIOS["insurance-expired"]
    result = read_back("insurance-expired", w9_form)[1]["coi"]
    # When it is read back
    certificate = certificate_from_extraction(result)
    # Then the policy's dates are those printed, and the insurance check finds it expired
    general = next(p for p in certificate.policies if p.coverage == "general_liability")
    assert (general.effective_date, general.expiry_date) == (date(2025, 10, 31), date(2026, 10, 31))
    check = check_insurance_certificate(
        certificate,
        category=scenario.application.request.category,
        vendor_names=[scenario.application.request.vendor_legal_name],
        handles_data=scenario.application.handles_data,
        policy=policy,
        as_of=SAMPLE_CHECK_DATE,
    )
    assert check.status == "fail"
    assert check.reasons == ["general liability policy QMG-20260001 expired on 2026-10-31"]


def test_every_coverage_line_and_limit_box_reads_back() -> None:
    # Given a certificate with every coverage line of the model, each with its ACORD 25 limit boxes, six
    # insurers and an insured name longer than its column
    million = Decimal(1_000_000)
    limits: dict[str, dict[str, Decimal]] = {
        "general_liability": {
            "each_occurrence": million,
            "damage_to_rented_premises": Decimal(100_000),
            "medical_expense": Decimal(5_000),
            "personal_advertising_injury": million,
            "general_aggregate": 2 * million,
            "products_completed_operations_aggregate": 2 * million,
        },
        "auto_liability": {"combined_single_limit": million},
        "umbrella_liability": {"each_occurrence": 5 * million, "aggregate": 5 * million},
        "employers_liability": {
            "el_each_accident": million,
            "el_disease_each_employee": million,
            "el_disease_policy_limit": million,
        },
        "professional_liability": {"each_claim": 3 * million, "aggregate": 3 * million},
        "cyber_liability": {"each_claim": Decimal("2500000.50"), "aggregate": 5 * million},
    }
    certificate = InsuranceCertificate.from_json_dict(
        {
            "certificate_date": "2026-11-02",
            "producer": "Lakeshore Insurance Brokers",
            "insured_name": "Harbor and Pine Facilities and Grounds Maintenance Services of Puget Sound, L.L.C.",
            "insurers": [
                {"letter": letter, "name": f"Sample Insurer {letter}", "naic_number": f"1000{n}"}
                for n, letter in enumerate("ABCDEF", start=1)
            ],
            "policies": [
                InsurancePolicy.from_json_dict(
                    {
                        "coverage": coverage,
                        "insurer_letter": "ABCDEF"[n],
                        "policy_number": f"POL-{n:04d}",
                        "effective_date": "2026-01-01",
                        "expiry_date": "2027-01-01",
                        "additional_insured": n % 2 == 0,
                        "subrogation_waived": n % 3 == 0,
                        "limits": {name: str(amount) for name, amount in boxes.items()},
                    }
                ).to_json_dict()
                for n, (coverage, boxes) in enumerate(limits.items())
            ],
            "certificate_holder": "the sample firm",
        }
    )
    # When it is written and read back
    result = extract_local(certificate_pdf(certificate), "coi")
    # Then the certificate comes back whole
    assert result.status == "complete", result.reasons
    assert certificate_from_extraction(result) == certificate


def test_a_policy_date_read_with_low_confidence_is_for_a_person_to_confirm(policy: VendorPolicy) -> None:
    # Given the clean vendor's certificate, its expiry dates read at 80% confidence (as OCR might)
    certificate = _certificate("clean")
    result = extracted(certificate_pdf(certificate), "coi", **{"06/30/2027": 80.0})
    # When it is read back
    read = certificate_from_extraction(result)
    # Then the dates are kept, each named by its path in the certificate for a person to confirm
    assert read.policies == certificate.policies
    assert read.low_confidence_fields == [f"policies[{n}].expiry_date" for n in range(3)]
    # And the insurance check asks for that look instead of passing the certificate
    check = check_insurance_certificate(
        read,
        category="facilities",
        vendor_names=["Harbor & Pine Facilities LLC"],
        handles_data=False,
        policy=policy,
        as_of=SAMPLE_CHECK_DATE,
    )
    assert check.status == "warn" and len(check.reasons) == 3


def test_a_certificate_without_an_insured_fails_the_insurance_check(policy: VendorPolicy) -> None:
    # Given a certificate that names no insured
    certificate = _certificate("clean").model_copy(update={"insured_name": None})
    # When it is read back
    result = extract_local(certificate_pdf(certificate), "coi")
    read = certificate_from_extraction(result)
    # Then extraction and the facts both say so, and the check fails on it
    assert result.reasons == ["Insured: missing"]
    assert (read.insured_name, read.low_confidence_fields) == (None, ["insured_name"])
    check = check_insurance_certificate(
        read,
        category="facilities",
        vendor_names=["Harbor & Pine Facilities LLC"],
        handles_data=False,
        policy=policy,
        as_of=SAMPLE_CHECK_DATE,
    )
    assert check.status == "fail" and "the certificate names no insured" in check.reasons


# ------------------------------------------------------------------------------------------------------------
# Bank letter
# ------------------------------------------------------------------------------------------------------------


def test_a_routing_number_failing_its_checksum_is_kept_for_the_bank_check(w9_form: Path) -> None:
    # Given the legal support firm's bank letter, whose routing number fails the ABA checksum
    result = read_back("invalid-routing", w9_form)[1]["bank_letter"]
    # When it is read back
    letter = bank_letter_from_extraction(result)
    # Then the number is kept as printed, and the bank check reports it without printing it
    assert letter.routing_number is not None and letter.routing_number.get_secret_value() == "112000025"
    check = check_bank_account(letter)
    assert (check.check, check.status) == (CheckName.BANK_ACCOUNT, "fail")
    assert check.reasons == [
        "routing number ****0025 fails the ABA checksum (a digit is wrong or two are swapped)"
    ]


def test_a_bank_number_read_below_99_percent_is_for_a_person_to_confirm(w9_form: Path) -> None:
    # Given the clean vendor's bank letter, its account number line read at 96% confidence
    pdf = read_back("clean", w9_form)[0]["bank_letter"]
    letter = bank_letter_from_extraction(extracted(pdf, "bank_letter", **{"5530017788": 96.0}))
    # Then the bank check warns about it rather than passing it
    assert letter.low_confidence_fields == ["account_number"]
    assert check_bank_account(letter).status == "warn"


def test_the_documents_are_deterministic(w9_form: Path) -> None:
    # Given the same facts written twice, then the same bytes (a document's SHA-256 is stable)
    application = SCENARIOS["high-spend"].application
    assert application.w9 is not None and application.bank_letter is not None
    assert w9_pdf(application.w9, w9_form) == read_back("high-spend", w9_form)[0]["w9"]
    assert certificate_pdf(_certificate("high-spend")) == certificate_pdf(_certificate("high-spend"))
    assert bank_letter_pdf(application.bank_letter) == read_back("high-spend", w9_form)[0]["bank_letter"]


# ------------------------------------------------------------------------------------------------------------
# A file under the wrong slot (issue #23: document classification)
# ------------------------------------------------------------------------------------------------------------


class _Bucket:
    """S3's get_object over the files a vendor uploaded."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files

    def get_object(self, Bucket: str, Key: str, **_: Any) -> dict[str, Any]:
        return {"Body": _Body(self.files[Key])}


class _Body:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def read(self) -> bytes:
        return self.data


def test_a_certificate_uploaded_as_the_w9_is_named_for_what_it_looks_like(w9_form: Path) -> None:
    # Given a vendor who put its certificate of insurance in the W-9's slot (and the certificate in its own)
    from backoffice.assist.config import AiAssistConfig
    from backoffice.assist.wiring import assistant
    from backoffice.vendors.steps import approval_subject, read_application

    files, _ = read_back("clean", w9_form)
    bucket = _Bucket({"w9.pdf": files["coi"], "coi.pdf": files["coi"], "bank.pdf": files["bank_letter"]})
    documents = {
        slot: {"bucket": "documents", "key": key}
        for slot, key in (("w9", "w9.pdf"), ("coi", "coi.pdf"), ("bank_letter", "bank.pdf"))
    }
    local = assistant("document_classification", None, trail=None, config=AiAssistConfig())
    request = SCENARIOS["clean"].application.request

    # When the documents are read, with the assistant asked about a file not read completely as its slot
    application = read_application("vendor-1", request, documents, bucket, classify=local.classify_document)

    # Then the application says the W-9 slot holds what looks like a certificate, as the rules' suggestion
    [hint] = application.document_hints
    assert hint.startswith("the file uploaded as the W-9 looks like certificate of insurance")
    assert "suggested by the firm's rules" in hint
    # And the approvers read it among the reasons
    assessment = assess(application, SanctionsList([]), VendorPolicy())
    assert hint in approval_subject(application, assessment)["reasons"]
    # And without the assistant (or with the right files) there is no hint
    assert read_application("vendor-1", request, documents, bucket).document_hints == []
    right = _Bucket({"w9.pdf": files["w9"], "coi.pdf": files["coi"], "bank.pdf": files["bank_letter"]})
    assert (
        read_application("v", request, documents, right, classify=local.classify_document).document_hints
        == []
    )


def test_a_w9_filled_again_is_the_same_file_and_any_other_fill_is_its_own(
    w9_form: Path, tmp_path: Path
) -> None:
    # Given a W-9 filled once (filling copies the whole IRS form: the same W-9 is made once per process)
    clean = _w9()
    first = w9_pdf(clean, w9_form)
    # When the same facts are filled in again, then it is the same file, not another copy
    assert w9_pdf(_w9(), w9_form) is first
    # And facts that differ only in the TIN, or a requester's box, are their own fill
    other_tin = _w9(ssn="536-90-4399", ein=None)
    assert facts_from_w9(extract_local(w9_pdf(other_tin, w9_form), "w9")).ssn == other_tin.ssn
    assert facts_from_w9(extract_local(w9_pdf(clean, w9_form), "w9")).ssn == clean.ssn
    assert w9_pdf(clean, w9_form, requester="Example Firm, 1 Main St") != first
    # And a form file replaced by another file is read again: not the IRS form, it is refused
    copy = tmp_path / "fw9.pdf"
    copy.write_bytes(w9_form.read_bytes())
    assert w9_pdf(clean, copy) == first
    copy.write_bytes(certificate_pdf(_certificate("clean")))
    with pytest.raises(W9FormUnavailable, match="not the fillable IRS Form W-9"):
        w9_pdf(clean, copy)


def test_fills_cloned_from_the_form_parsed_once_are_the_bytes_a_freshly_parsed_form_gives(
    w9_form: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from backoffice.vendors import sample_documents as documents

    # Given two W-9s filled one after the other, and the first again, from the blank form parsed once per process
    # (a fill clones it)
    first, second = _w9(), _w9(ssn="536-90-4399", ein=None)
    content = w9_form.read_bytes()

    def fill(one: W9Facts) -> bytes:
        values = tuple(documents._w9_values(one, "Example Firm, 1 Main St").items())
        return documents._filled_w9.__wrapped__(w9_form, content, values, one.signed, one.signature_date)

    shared = [fill(first), fill(second), fill(first)]
    # When each is filled from a form parsed for it alone
    monkeypatch.setattr(documents, "_parsed_form", documents._parsed_form.__wrapped__)
    fresh = [fill(first), fill(second)]
    # Then the bytes are the same: no fill changed the parsed form for the next
    assert shared == [fresh[0], fresh[1], fresh[0]] and fresh[0] != fresh[1]
