"""The vendor onboarding workflow's steps as plain functions over ports: what each Lambda handler calls."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from backoffice.approvals.policy import load_policy
from backoffice.assist.models import DocumentSuggestion, DocumentText
from backoffice.connectors.ports import ErpPort, HrisPort, all_pages
from backoffice.extraction import ExtractionResult, extract_local, read_local_document
from backoffice.firm_settings import firm_config_section
from backoffice.json_files import get_json, put_json
from backoffice.models import Vendor, VendorOnboardingRequested, parse_event_as
from backoffice.models.entities import last4
from backoffice.vendors.assessment import VendorAssessment, assess_application
from backoffice.vendors.checks import insurance_expires_on
from backoffice.vendors.documents import (
    DocumentNotRead,
    bank_letter_from_extraction,
    certificate_from_extraction,
    facts_from_w9,
)
from backoffice.vendors.facts import VendorApplication, proposed_vendor
from backoffice.vendors.policy import VendorPolicy
from backoffice.vendors.sanctions import SanctionsList, load_sample_sanctions_list, load_sanctions_list

REQUIRED_DOCUMENTS = ("w9", "coi", "bank_letter")


class VendorDocumentsUnreadable(Exception):
    """A document the vendor sent cannot be read (corrupt, encrypted, a scan without OCR)."""


class VendorDocumentsNeedOcr(VendorDocumentsUnreadable):
    """Every document that could not be read is a scan: Amazon Textract can read them (``scans``, each
    ``{document_type, bucket, key, version_id}``) when the firm has turned it on, else a person does."""

    def __init__(self, message: str, scans: list[dict[str, Any]]) -> None:
        super().__init__(message)
        self.scans = scans


def request_of(event: dict[str, Any]) -> VendorOnboardingRequested:
    _, request = parse_event_as(event, VendorOnboardingRequested)
    return request


def documents_on_request(request: VendorOnboardingRequested) -> dict[str, dict[str, Any]]:
    return {
        d.document_type: {"bucket": d.bucket, "key": d.key, "version_id": d.version_id}
        for d in request.documents
        if d.document_type in REQUIRED_DOCUMENTS
    }


def missing_documents(request: VendorOnboardingRequested) -> list[str]:
    present = documents_on_request(request)
    return [d for d in REQUIRED_DOCUMENTS if d not in present]


# What the vendor's upload page calls each slot, as the assistant's document labels name them.
SLOT_NAMES = {"w9": "W-9", "coi": "certificate of insurance", "bank_letter": "bank letter"}
_LABEL_NAMES = {
    **SLOT_NAMES,
    "invoice": "an invoice",
    "sow": "a statement of work",
    "other": "another document",
}
FIRST_PAGE_CHARACTERS = 4_000  # what the classifier reads of a file: its first page, no more


def first_page_text(data: bytes) -> str | None:
    """The text of a file's first page (None: a scan or a file the embedded reader cannot open)."""
    read = read_local_document(data)
    if isinstance(read, ExtractionResult) or not read.pages:
        return None
    text = "\n".join(line.text for line in read.pages[0].lines).strip()
    return text[:FIRST_PAGE_CHARACTERS] or None


def wrong_slot_hint(
    slot: str, data: bytes, file_name: str | None, classify: Callable[[DocumentText], DocumentSuggestion]
) -> str | None:
    """When a file uploaded as ``slot`` could not be read as one: what the assistant takes it for, if something
    else, worded for the person who asks the vendor again. A suggestion only: the file stays where it was put."""
    text = first_page_text(data)
    if text is None:
        return None
    suggestion = classify(DocumentText(text=text, file_name=file_name, declared_type=slot))
    if suggestion.label == slot:
        return None
    return (
        f"the file uploaded as the {SLOT_NAMES.get(slot, slot)} looks like {_LABEL_NAMES[suggestion.label]} "
        f"({suggestion.why}; suggested by {suggestion.author}): ask the vendor to upload each document in its own place"
    )


def read_application(
    case_id: str,
    request: VendorOnboardingRequested,
    documents: dict[str, dict[str, Any]],
    s3: Any,
    extracted: Mapping[str, ExtractionResult] | None = None,
    classify: Callable[[DocumentText], DocumentSuggestion] | None = None,
) -> VendorApplication:
    """Every document read by the embedded extractor (or, for a scan, what Amazon Textract read of it:
    ``extracted`` by document type) and mapped to the facts the vendor checks consume. ``classify``: the
    assistant's document classification, asked about a file that cannot be read as its slot (wrong_slot_hint).

    Raises ``VendorDocumentsNeedOcr`` when the only documents that could not be read are scans, and
    ``VendorDocumentsUnreadable`` for anything else that could not be read.
    """
    facts: dict[str, Any] = {}
    problems: list[str] = []
    hints: list[str] = []
    scans: list[dict[str, Any]] = []
    readers = {
        "w9": facts_from_w9,
        "coi": certificate_from_extraction,
        "bank_letter": bank_letter_from_extraction,
    }
    names = {"w9": "w9", "coi": "certificate", "bank_letter": "bank_letter"}
    for document_type, pointer in documents.items():
        get: dict[str, Any] = {"Bucket": pointer["bucket"], "Key": pointer["key"]}
        if pointer.get("version_id"):
            get["VersionId"] = pointer["version_id"]
        result = (extracted or {}).get(document_type)
        data: bytes | None = None
        if result is None:
            data = s3.get_object(**get)["Body"].read()
            result = extract_local(data, document_type)
        # A file its slot's reader could not read completely may be another document: the assistant says what.
        hint = None
        if classify is not None and data is not None and result.status not in ("complete", "needs_ocr"):
            hint = wrong_slot_hint(document_type, data, pointer.get("file_name"), classify)
        try:
            facts[names[document_type]] = readers[document_type](result)
        except DocumentNotRead as error:
            if result.status == "needs_ocr":
                scans.append({"document_type": document_type, **pointer})
            problems.append(f"{document_type}: {error}" + (f"; {hint}" if hint else ""))
            continue
        if hint:
            hints.append(hint)
    if problems:
        if len(scans) == len(problems):
            raise VendorDocumentsNeedOcr("; ".join(problems), scans)
        raise VendorDocumentsUnreadable("; ".join(problems))
    return VendorApplication(
        case_id=case_id,
        request=request,
        handles_data=request.handles_data,
        contact_phone=request.contact_phone,
        document_hints=hints,
        **facts,
    )


def application_key(case_id: str) -> str:
    return f"cases/{case_id}/vendor-application.json"


def store_application(s3: Any, bucket: str, application: VendorApplication) -> str:
    key = application_key(application.case_id)
    put_json(s3, bucket, key, application.to_json_dict(reveal_secrets=True))
    return key


def load_application(s3: Any, bucket: str, key: str) -> VendorApplication:
    return VendorApplication.from_json_dict(get_json(s3, bucket, key))


def vendor_policy() -> VendorPolicy:
    """The firm's vendor policy (``VENDOR_POLICY``, JSON, else the ``vendor_policy`` of the deployed firm
    configuration, else the defaults), with the approver groups of the approval policy: one list of people serves
    the vendor approval chain and the approval step's routing."""
    document = os.environ.get("VENDOR_POLICY")
    section = json.loads(document) if document else firm_config_section("vendor_policy")
    policy = VendorPolicy.from_json_dict(section) if section is not None else VendorPolicy()
    if policy.approver_groups:
        return policy
    groups = {name: list(members) for name, members in load_policy().groups.items()}
    return policy.model_copy(update={"approver_groups": groups})


def sanctions_list() -> SanctionsList:
    """The list to screen against: in a deployment (and the local runtime) the current version the daily refresh
    stored (``vendors/sanctions_lists.py``; none stored yet raises ``SanctionsListMissing``, so nobody is cleared
    against no list); outside one, a directory of OFAC's files (``SANCTIONS_LIST_DIR``) or the sample list."""
    bucket = os.environ.get("SANCTIONS_LISTS_BUCKET_NAME")
    if bucket:
        from backoffice import aws
        from backoffice.vendors.sanctions_lists import SanctionsListStore

        listed, _ = SanctionsListStore(aws.client("s3"), bucket).load()
        return listed
    location = os.environ.get("SANCTIONS_LIST_DIR")
    return load_sanctions_list(Path(location)) if location else load_sample_sanctions_list()


def assess(application: VendorApplication, erp: ErpPort, hris: HrisPort) -> VendorAssessment:
    return assessed(application, all_pages(erp.list_vendors), hris)


def assessed(application: VendorApplication, vendors: list[Vendor], hris: HrisPort) -> VendorAssessment:
    return assess_application(
        application,
        vendors=vendors,
        employees=hris.employee_records(),
        sanctions_list=sanctions_list(),
        policy=vendor_policy(),
        as_of=datetime.now(UTC).date(),
    )


def approval_subject(application: VendorApplication, assessment: VendorAssessment) -> dict[str, Any]:
    """What approvers see: the vendor, the spend, the risk and every reason, with numbers only as last four."""
    request = application.request
    reasons = [*assessment.risk.reasons]
    for check in assessment.checks:
        reasons.extend(f"{check.check}: {r}" for r in check.reasons if check.status != "pass")
    reasons.extend(application.document_hints)
    for hit in assessment.screening.hits:
        reasons.append(
            f"possible sanctions match: {hit.matched_name} (SDN entry {hit.ent_num}, {hit.program}, score {hit.score:.2f})"
        )
    tin = application.w9.ein or application.w9.ssn if application.w9 else None
    # A sole proprietor's names are a person's: the approval summary's prompt says "the vendor" instead.
    individual = application.w9 is not None and application.w9.tax_classifications == [
        "individual_sole_proprietor"
    ]
    people = (
        {name: "the vendor" for name in (request.vendor_legal_name, application.w9.name) if name}
        if individual and application.w9 is not None
        else {}
    )
    return {
        "title": f"New vendor: {request.vendor_legal_name} ({request.category})",
        "vendor": request.vendor_legal_name,
        "vendor_category": request.category,
        "amount": str(request.expected_annual_spend),
        "currency": request.currency,
        "risk_level": assessment.risk.level,
        "risk_score": float(assessment.risk.score),
        "tin": last4(tin) if tin else None,
        "reasons": reasons,
        **({"people": people} if people else {}),
    }


def create_on_hold(application: VendorApplication, erp: ErpPort) -> str:
    expires = insurance_expires_on(application, vendor_policy())
    vendor = proposed_vendor(application).model_copy(
        update={"on_hold": True, "hold_type": "all", "insurance_expires_on": expires}
    )
    return erp.create_vendor(vendor, idempotency_key=f"vendor#{application.case_id}").id


def bank_change(
    application: VendorApplication, assessment: VendorAssessment, vendors: list[Vendor]
) -> dict[str, str] | None:
    """A request for a vendor the firm already has (same TIN) with a different bank account than the one on file.

    That is how payment-redirection fraud looks, and also how a genuine change of bank looks: it is never applied
    silently. It becomes a verification (finance calls the vendor back on the number on file) instead of a
    rejection as a duplicate.
    """
    letter = application.bank_letter
    if assessment.risk.next_step != "duplicate" or letter is None or letter.account_number is None:
        return None
    existing = next((v for v in vendors if v.id == assessment.risk.duplicate_of), None)
    if existing is None:
        return None
    on_file = existing.bank_account
    new_routing = letter.routing_number.get_secret_value() if letter.routing_number else ""
    new_account = letter.account_number.get_secret_value()
    if on_file is not None and (
        on_file.routing_number.get_secret_value() == new_routing
        and on_file.account_number.get_secret_value() == new_account
    ):
        return None
    return {
        "vendor_id": existing.id,
        "vendor_name": existing.supplier_name,
        "old_account": last4(on_file.account_number) or "none" if on_file else "none",
        "new_account": last4(letter.account_number) or "****",
    }
