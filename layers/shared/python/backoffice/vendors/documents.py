"""The vendor facts read back from what extraction makes of a vendor's documents (issue 7).

``facts_from_w9``, ``certificate_from_extraction`` and ``bank_letter_from_extraction`` take a profile's fields
and records (``backoffice.extraction``) as ``W9Facts``, ``InsuranceCertificate`` and ``BankLetterFacts``. A
field read below its threshold, or required and missing, is named in the facts' ``low_confidence_fields``, so
that the checks ask a person to look. A document that could not be read at all (a scan, a broken file) raises
``DocumentNotRead``: it goes to a person whole, and nothing is made up from it.

The sample documents these read (the demo's, the tests') are written by ``backoffice.vendors.sample_documents``,
which the Lambda layer does not ship.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from backoffice.extraction.model import ExtractedField, ExtractionResult, Record
from backoffice.models.entities import TAX_CLASSIFICATIONS
from backoffice.vendors.facts import (
    BankLetterFacts,
    CoverageType,
    InsuranceCertificate,
    LimitName,
    W9Facts,
)

__all__ = [
    "DocumentNotRead",
    "bank_letter_from_extraction",
    "certificate_from_extraction",
    "facts_from_w9",
]


class DocumentNotRead(ValueError):
    """The extraction result holds no document to take facts from (wrong type, a scan, a broken file)."""

    def __init__(self, message: str, reasons: Sequence[str] = ()) -> None:
        self.reasons = list(reasons)
        super().__init__("; ".join([message, *self.reasons]))


# How a certificate's printed coverage line is recognized from its first row (most specific first).
_COVERAGE_PATTERNS: tuple[tuple[str, CoverageType], ...] = (
    (r"cyber|network security|privacy", "cyber_liability"),
    (r"professional|errors|omissions|\be\s*&\s*o\b", "professional_liability"),
    (r"workers|employer", "employers_liability"),
    (r"umbrella|excess", "umbrella_liability"),
    (r"auto", "auto_liability"),
    (r"general liab|commercial general|\bcgl\b", "general_liability"),
)
# How a limit box's label read back (as the profile keys it: lower case, words joined by "_") is recognized.
# "E.L." loses its dots in the profile's limit names, so employer's liability limits are told apart by their
# own words.
_LIMIT_PATTERNS: tuple[tuple[str, LimitName], ...] = (
    (r"occurrence$", "each_occurrence"),
    (r"rented|premises", "damage_to_rented_premises"),
    (r"^med", "medical_expense"),
    (r"personal|adv", "personal_advertising_injury"),
    (r"^gen", "general_aggregate"),
    (r"products|comp_op", "products_completed_operations_aggregate"),
    (r"combined|single_limit", "combined_single_limit"),
    (r"disease.*(employee|ea_emp)", "el_disease_each_employee"),
    (r"disease.*policy", "el_disease_policy_limit"),
    (r"each_accident", "el_each_accident"),
    (r"each_claim|per_claim", "each_claim"),
    (r"aggregate", "aggregate"),
)


# ------------------------------------------------------------------------------------------------------------
# From extraction results to vendor facts
# ------------------------------------------------------------------------------------------------------------


def _require(result: ExtractionResult, document_type: str) -> None:
    if result.document_type != document_type:
        raise DocumentNotRead(f"expected a {document_type} extraction, got {result.document_type!r}")
    if result.status in ("error", "needs_ocr"):
        raise DocumentNotRead(
            f"the {document_type} document could not be read ({result.status})", result.reasons
        )


def _doubtful(field: ExtractedField | None) -> bool:
    """Read below its threshold, or required and not found: a person must confirm it."""
    if field is None or field.text is None:
        return field is not None and field.required
    return field.confidence is not None and field.threshold is not None and field.confidence < field.threshold


def _clean(field: ExtractedField | None) -> str | None:
    text = field.text if field is not None else None
    return " ".join(text.split()) if text and text.strip() else None


class _Reader:
    """The values of one extraction's fields (or of one of its records) for the facts, naming in ``doubtful``
    each fact a person must confirm: read below its threshold, required and missing, or read but unusable
    (a date that is not one, a name too long for the model)."""

    def __init__(self, fields: Mapping[str, ExtractedField], doubtful: list[str], prefix: str = "") -> None:
        self.fields, self.doubtful, self.prefix = fields, doubtful, prefix

    def note(self, *facts: str) -> None:
        self.doubtful.extend(self.prefix + fact for fact in facts)

    def text(self, name: str, fact: str, *, max_length: int = 300) -> str | None:
        field = self.fields.get(name)
        value = _clean(field)
        usable = value if value is None or len(value) <= max_length else None
        if _doubtful(field) or usable != value:
            self.note(fact)
        return usable

    def date(self, name: str, fact: str) -> str | None:
        """The date as ISO text (the profile normalizes a valid date to it)."""
        field = self.fields.get(name)
        value = _clean(field)
        parsed = None
        if value is not None and field is not None and field.valid is not False:
            try:
                parsed = date.fromisoformat(value).isoformat()
            except ValueError:
                parsed = None
        if _doubtful(field) or (value is not None and parsed is None):
            self.note(fact)
        return parsed

    def flag(self, name: str, fact: str) -> bool:
        """An ACORD Y/N box: ticked when read as Y."""
        return self.text(name, fact) == "Y"

    def letter(self, name: str, fact: str) -> str | None:
        letter = (self.text(name, fact) or "").upper()
        return letter if letter in ("A", "B", "C", "D", "E", "F") else None


# ---- W-9

_UNIT = re.compile(
    r"^(suite|ste\.?|apt\.?|apartment|unit|floor|fl\.?|room|rm\.?|bldg\.?|building|#)\s*\S", re.I
)
_CITY_STATE_ZIP = re.compile(r"^(?P<city>.+?),?\s+(?P<region>[A-Z]{2})\.?\s+(?P<zip>\d{5}(?:-?\d{4})?)$")


def _w9_address(street: str | None, place: str | None) -> dict[str, Any] | None:
    """Lines 5 and 6 as an address: the street, with a suite or floor after its last comma as line 2, and
    "City, ST 12345". A line 6 not in that form stays whole in the city, so that the W-9 check asks for the
    state and ZIP code."""
    if street is None or place is None:
        return None
    line1, line2 = street, None
    head, comma, tail = street.rpartition(",")
    if comma and head.strip() and _UNIT.match(tail.strip()):
        line1, line2 = head.strip(), tail.strip()
    match = _CITY_STATE_ZIP.match(place)
    if match is None:
        return {"line1": line1, "line2": line2, "city": place, "country": "US"}
    return {
        "line1": line1,
        "line2": line2,
        "city": match["city"].strip(" ,"),
        "region": match["region"],
        "postal_code": match["zip"],
        "country": "US",
    }


def _as_printed(tin: str, tin_type: str | None) -> str:
    """Nine digits read from Part I as the boxes print them (NN-NNNNNNN, NNN-NN-NNNN); a valid TIN already
    comes so from the profile, an invalid one as bare digits."""
    digits = "".join(char for char in tin if char.isdigit())
    if len(digits) != 9 or digits != tin:
        return tin
    return f"{digits[:2]}-{digits[2:]}" if tin_type == "ein" else f"{digits[:3]}-{digits[3:5]}-{digits[5:]}"


def facts_from_w9(result: ExtractionResult) -> W9Facts:
    """The W-9 facts of a ``w9`` extraction. The TIN goes to ``ssn`` (an ITIN too) or ``ein`` by the boxes it
    was read from, "Applied For" to ``tin_applied_for``; every ticked line 3 box is listed. Raises
    ``DocumentNotRead`` for a result that holds no document (``error``, ``needs_ocr``) or is not a W-9's."""
    _require(result, "w9")
    doubtful: list[str] = []
    read = _Reader(result.fields, doubtful)

    classification = result.fields.get("tax_classification")
    if _doubtful(classification):
        read.note("tax_classifications")
    ticked = [_clean(classification), *(classification.other_values if classification else [])]
    boxes = [box for box in dict.fromkeys(ticked) if box in TAX_CLASSIFICATIONS]

    tin_field = result.fields.get("tin")
    tin, tin_type = _clean(tin_field), _clean(result.fields.get("tin_type"))
    applied_for = tin is not None and "applied" in tin.lower()
    if tin_field is not None and not applied_for:
        # A problem other than the number's own format (which the TIN check finds again) is one the facts
        # cannot show, such as both the SSN and the EIN boxes filled: a person must read Part I.
        explained = int(tin_field.valid is False) + int(_doubtful(tin_field))
        unexplained = len(tin_field.problems) > explained
        if unexplained or tin_type is None:
            read.note("ssn", "ein")
        elif _doubtful(tin_field):
            read.note("ein" if tin_type == "ein" else "ssn")
    tin = _as_printed(tin, tin_type) if tin is not None and not applied_for else None

    street = read.text("address", "address")
    place = read.text("city_state_zip", "address")
    return W9Facts.from_json_dict(
        {
            "name": read.text("name", "name"),
            "business_name": read.text("business_name", "business_name"),
            "tax_classifications": boxes,
            "llc_tax_classification": read.text(
                "llc_tax_classification", "llc_tax_classification", max_length=5
            ),
            "other_classification": read.text("other_classification", "other_classification"),
            "exempt_payee_code": read.text("exempt_payee_code", "exempt_payee_code", max_length=5),
            "fatca_exemption_code": read.text("fatca_exemption_code", "fatca_exemption_code", max_length=5),
            "address": _w9_address(street, place),
            "ssn": tin if tin_type in ("ssn", "itin") else None,
            "ein": tin if tin_type == "ein" else None,
            "tin_applied_for": applied_for,
            "signed": read.text("signature", "signed") is not None,
            "signature_date": read.date("signature_date", "signature_date"),
            "low_confidence_fields": list(dict.fromkeys(doubtful)),
        }
    )


# ---- Certificate of insurance


def _coverage(printed: str | None) -> CoverageType | None:
    folded = (printed or "").lower()
    return next((coverage for pattern, coverage in _COVERAGE_PATTERNS if re.search(pattern, folded)), None)


def _limit_name(key: str, coverage: CoverageType) -> LimitName | None:
    """A profile record key (``limit_each_occurrence``) as the limit box it stands for."""
    slug = key.removeprefix("limit_")
    name = next((name for pattern, name in _LIMIT_PATTERNS if re.search(pattern, slug)), None)
    # Employer's liability has no plain aggregate: "E.L. DISEASE - POLICY LIMIT" is its aggregate.
    return None if coverage == "employers_liability" and name == "aggregate" else name


def _policy(record: Record, doubtful: list[str], index: int) -> dict[str, Any] | None:
    read = _Reader(record, doubtful, prefix=f"policies[{index}].")
    coverage = _coverage(read.text("type", "coverage"))
    if coverage is None:
        read.note("coverage")  # a coverage line nobody can place: a person reads it
        return None
    limits: dict[str, str] = {}
    for key in record:
        name = _limit_name(key, coverage) if key.startswith("limit_") else None
        if name is not None and name not in limits:
            amount = read.text(key, f"limits.{name}")
            if amount is not None and record[key].valid is not False:
                limits[name] = amount
    return {
        "coverage": coverage,
        "insurer_letter": read.letter("letter", "insurer_letter"),
        "policy_number": read.text("number", "policy_number", max_length=60),
        "effective_date": read.date("effective_date", "effective_date"),
        "expiry_date": read.date("expiry_date", "expiry_date"),
        "additional_insured": read.flag("additional_insured", "additional_insured"),
        "subrogation_waived": read.flag("subrogation_waived", "subrogation_waived"),
        "limits": limits,
    }


def certificate_from_extraction(result: ExtractionResult) -> InsuranceCertificate:
    """The certificate of a ``coi`` extraction: its header fields, insurers A-F and one policy per policy row
    of the coverage table, each limit under the ACORD 25 box it was printed in. Doubtful values are named by
    path (``policies[0].expiry_date``); ``policies`` when no coverage table was read at all. Raises
    ``DocumentNotRead`` as ``facts_from_w9`` does."""
    _require(result, "coi")
    doubtful: list[str] = []
    read = _Reader(result.fields, doubtful)
    header = {
        "certificate_date": read.date("certificate_date", "certificate_date"),
        "producer": read.text("producer", "producer"),
        "insured_name": read.text("insured", "insured_name"),
        "certificate_holder": read.text("certificate_holder", "certificate_holder"),
    }

    insurers: list[dict[str, Any]] = []
    for record in result.records.get("insurers", []):
        insurer = _Reader(record, doubtful, prefix=f"insurers[{len(insurers)}].")
        letter, name = insurer.letter("letter", "letter"), insurer.text("name", "name")
        if letter is None or name is None or letter in {found["letter"] for found in insurers}:
            continue
        naic = insurer.text("naic", "naic_number")
        insurers.append(
            {
                "letter": letter,
                "name": name,
                "naic_number": naic if naic and re.fullmatch(r"\d{5}", naic) else None,
            }
        )

    records = result.records.get("policies", [])
    if not records:
        doubtful.append("policies")
    policies: list[dict[str, Any]] = []
    for record in records:
        policy = _policy(record, doubtful, len(policies))
        if policy is not None:
            policies.append(policy)
    return InsuranceCertificate.from_json_dict(
        {
            **header,
            "insurers": insurers,
            "policies": policies,
            "low_confidence_fields": list(dict.fromkeys(doubtful)),
        }
    )


# ---- Bank letter


def bank_letter_from_extraction(result: ExtractionResult) -> BankLetterFacts:
    """The bank letter facts of a ``bank_letter`` extraction. A routing or account number failing its format
    check is kept as read, for the bank checks to report. The profile reads no letter date, so
    ``letter_date`` stays empty. Raises ``DocumentNotRead`` as ``facts_from_w9`` does."""
    _require(result, "bank_letter")
    doubtful: list[str] = []
    read = _Reader(result.fields, doubtful)
    kind = (read.text("account_type", "account_type") or "").lower()
    return BankLetterFacts.from_json_dict(
        {
            "bank_name": read.text("bank_name", "bank_name"),
            "account_holder_name": read.text("account_holder", "account_holder_name"),
            "routing_number": read.text("routing_number", "routing_number"),
            "account_number": read.text("account_number", "account_number"),
            "account_type": kind if kind in ("checking", "savings") else None,
            "low_confidence_fields": list(dict.fromkeys(doubtful)),
        }
    )
