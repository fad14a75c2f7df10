"""Duplicate and ghost vendors: is the vendor requested one the firm already pays, or a front for an employee?

A duplicate vendor record pays one invoice twice; a ghost vendor (an employee's own company, or a name with an
employee's bank account) is the classic billing scheme of occupational fraud. The signals are those of
docs/DOMAIN.md section 4: a shared TIN is the same vendor for certain, a shared bank account a strong match;
a shared address, phone or e-mail and a close name are signals that add up. Against the HRIS, a vendor sharing
an employee's bank account, TIN, home address or phone is flagged, and a vendor with only a PO box for an
address is flagged too, since a ghost vendor has no premises.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal

from pydantic import Field, SecretStr

from backoffice.masking import last_four
from backoffice.models import Address, BankAccount, CanonicalModel, EmployeeRecord, Vendor
from backoffice.vendors.names import fold, name_similarity
from backoffice.vendors.policy import VendorPolicy

SignalKind = Literal[
    "same_tin", "same_bank_account", "same_address", "same_phone", "same_email", "similar_name"
]
Strength = Literal["certain", "strong", "possible"]
Decision = Literal["new", "duplicate", "review"]


class DuplicateSignal(CanonicalModel):
    kind: SignalKind
    detail: str  # for people: sensitive values as last four only


class DuplicateMatch(CanonicalModel):
    """An existing vendor, or an employee, that shares something with the vendor requested."""

    party: Literal["vendor", "employee"]
    party_id: str
    party_name: str
    signals: list[DuplicateSignal]
    strength: Strength

    @property
    def reason(self) -> str:
        shared = "; ".join(signal.detail for signal in self.signals)
        if self.party == "employee":
            return f"{self.strength} match with employee {self.party_id} {self.party_name!r} ({shared}): possible ghost vendor"
        verdict = {
            "certain": "the same vendor",
            "strong": "probably the same vendor",
            "possible": "possibly the same vendor",
        }
        return f"{verdict[self.strength]} as vendor {self.party_id} {self.party_name!r} ({shared})"


class DuplicateReport(CanonicalModel):
    """Every match found, strongest first, and what to do: create (``new``), stop (``duplicate``) or look."""

    candidate_id: str
    matches: list[DuplicateMatch] = Field(default_factory=list)
    flags: list[str] = Field(default_factory=list)  # findings about the candidate alone (PO box)
    decision: Decision

    @property
    def duplicate_of(self) -> str | None:
        """The existing vendor the request duplicates for certain, if any."""
        for match in self.matches:
            if match.party == "vendor" and match.strength == "certain":
                return match.party_id
        return None

    @property
    def reasons(self) -> list[str]:
        return [match.reason for match in self.matches] + list(self.flags)


# ------------------------------------------------------------------------------------------------------------
# Comparable forms of identifiers, addresses and contacts
# ------------------------------------------------------------------------------------------------------------

# Unit designators are dropped, not abbreviated: "Suite 200", "Ste. 200" and "#200" are one unit.
_UNIT_WORDS = frozenset(
    {"suite", "ste", "unit", "apt", "apartment", "room", "rm", "floor", "fl", "no", "number"}
)
_STREET_WORDS = {
    "street": "st",
    "avenue": "ave",
    "av": "ave",
    "road": "rd",
    "boulevard": "blvd",
    "drive": "dr",
    "lane": "ln",
    "place": "pl",
    "court": "ct",
    "highway": "hwy",
    "parkway": "pkwy",
    "square": "sq",
    "terrace": "ter",
    "north": "n",
    "south": "s",
    "east": "e",
    "west": "w",
}
_PO_BOX = re.compile(r"\b(?:p ?o ?box|p ?o ?b|post office box|postal box|caja postal|apartado)\s*\d+")


def _tin_digits(tax_id: SecretStr | None) -> str | None:
    if tax_id is None:
        return None
    digits = "".join(char for char in tax_id.get_secret_value() if char.isdigit())
    return digits if len(digits) == 9 else None


def _bank_key(account: BankAccount | None) -> tuple[str, str] | None:
    if account is None:
        return None
    number = account.account_number.get_secret_value().upper().lstrip("0")
    return account.routing_number.get_secret_value(), number


def address_key(address: Address | None) -> str | None:
    """An address as compared: street words abbreviated, unit words dropped, ZIP to five digits."""
    if address is None:
        return None
    street_words = []
    for word in fold(" ".join(filter(None, [address.line1, address.line2]))).split():
        if word in _UNIT_WORDS:
            continue
        street_words.append(_STREET_WORDS.get(word, word))
    postal = "".join(char for char in (address.postal_code or "") if char.isalnum()).lower()
    if address.country == "US":
        postal = postal[:5]
    place = postal or fold(address.city)
    return f"{' '.join(street_words)}|{place}|{address.country}"


def is_po_box_only(address: Address | None) -> bool:
    """Every street line of the address is a post-office box: nowhere to visit."""
    if address is None:
        return False
    lines = [fold(line) for line in (address.line1, address.line2) if line]
    return bool(lines) and all(_PO_BOX.search(line) for line in lines)


def phone_key(phone: str | None) -> str | None:
    """The last ten digits, so that "+1 (206) 555-0147" and "206.555.0147" compare equal."""
    if not phone:
        return None
    digits = "".join(char for char in phone if char.isdigit())
    return digits[-10:] if len(digits) >= 7 else None


def _email_key(email: str | None) -> str | None:
    return email.strip().casefold() if email else None


# ------------------------------------------------------------------------------------------------------------
# Matching
# ------------------------------------------------------------------------------------------------------------


def _contact_signals(
    candidate: Vendor, address: Address | None, phone: str | None, email: str | None
) -> list[DuplicateSignal]:
    signals = []
    if candidate.address is not None and address_key(candidate.address) == address_key(address):
        signals.append(
            DuplicateSignal(kind="same_address", detail=f"same address {candidate.address.line1!r}")
        )
    key = phone_key(candidate.phone)
    if key is not None and key == phone_key(phone):
        signals.append(DuplicateSignal(kind="same_phone", detail=f"same phone ending {key[-4:]}"))
    key = _email_key(candidate.email)
    if key is not None and key == _email_key(email):
        signals.append(DuplicateSignal(kind="same_email", detail=f"same e-mail {key}"))
    return signals


def _vendor_match(candidate: Vendor, existing: Vendor, policy: VendorPolicy) -> DuplicateMatch | None:
    signals: list[DuplicateSignal] = []
    tin = _tin_digits(candidate.tax_id)
    if tin is not None and tin == _tin_digits(existing.tax_id):
        signals.append(DuplicateSignal(kind="same_tin", detail=f"same TIN {last_four(tin)}"))
    bank = _bank_key(candidate.bank_account)
    if bank is not None and bank == _bank_key(existing.bank_account):
        signals.append(
            DuplicateSignal(kind="same_bank_account", detail=f"same bank account {last_four(bank[1])}")
        )
    signals += _contact_signals(candidate, existing.address, existing.phone, existing.email)
    candidate_names = [n for n in (candidate.supplier_name, candidate.doing_business_as) if n]
    existing_names = [n for n in (existing.supplier_name, existing.doing_business_as) if n]
    score = max(name_similarity(a, b) for a in candidate_names for b in existing_names)
    if score >= policy.name_match_threshold:
        signals.append(DuplicateSignal(kind="similar_name", detail=f"name score {score:.0f}"))
    if not signals:
        return None

    kinds = {signal.kind for signal in signals}
    strength: Strength = "possible"
    if "same_tin" in kinds:
        strength = "certain"
    elif "same_bank_account" in kinds or ("similar_name" in kinds and len(kinds) >= 2):
        strength = "strong"
    name = existing.supplier_name + (" (disabled)" if existing.disabled else "")
    return DuplicateMatch(
        party="vendor", party_id=existing.id, party_name=name, signals=signals, strength=strength
    )


def _employee_match(candidate: Vendor, employee: EmployeeRecord) -> DuplicateMatch | None:
    signals: list[DuplicateSignal] = []
    tin = _tin_digits(candidate.tax_id)
    if tin is not None and tin == _tin_digits(employee.tax_id):
        signals.append(DuplicateSignal(kind="same_tin", detail=f"same TIN {last_four(tin)}"))
    bank = _bank_key(candidate.bank_account)
    if bank is not None and bank == _bank_key(employee.bank_account):
        signals.append(
            DuplicateSignal(kind="same_bank_account", detail=f"same bank account {last_four(bank[1])}")
        )
    signals += _contact_signals(candidate, employee.home_address, employee.phone, employee.email)
    if not signals:
        return None
    kinds = {signal.kind for signal in signals}
    strength: Strength = (
        "strong" if kinds & {"same_tin", "same_bank_account"} or len(kinds) >= 2 else "possible"
    )
    return DuplicateMatch(
        party="employee",
        party_id=employee.worker_id,
        party_name=employee.name,
        signals=signals,
        strength=strength,
    )


_STRENGTH_ORDER = {"certain": 0, "strong": 1, "possible": 2}


def find_duplicates(
    candidate: Vendor,
    vendors: Sequence[Vendor],
    employees: Sequence[EmployeeRecord],
    policy: VendorPolicy,
) -> DuplicateReport:
    """Compares the vendor requested with the vendor master and the HRIS.

    ``duplicate`` when an existing vendor has the same TIN (disabled or not: reactivate it instead);
    ``review`` when anything else matches or the address is a PO box only; ``new`` otherwise. A match with an
    employee is always ``review``: it may be innocent (an employee's spouse runs a print shop) but must be
    declared and approved by someone who knows.
    """
    matches = [
        match
        for existing in vendors
        if existing.id != candidate.id
        for match in [_vendor_match(candidate, existing, policy)]
        if match is not None
    ]
    matches += [
        match for employee in employees if (match := _employee_match(candidate, employee)) is not None
    ]
    matches.sort(key=lambda match: (_STRENGTH_ORDER[match.strength], match.party != "vendor", match.party_id))

    flags = []
    if is_po_box_only(candidate.address):
        flags.append("the vendor's only address is a PO box: confirm it has premises")

    decision: Decision = "new"
    if any(match.party == "vendor" and match.strength == "certain" for match in matches):
        decision = "duplicate"
    elif matches or flags:
        decision = "review"
    return DuplicateReport(candidate_id=candidate.id, matches=matches, flags=flags, decision=decision)
