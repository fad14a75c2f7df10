"""Format checks for the values read from documents: tax ids, bank numbers, dates, amounts, W-9 codes.

Tax ids and routing numbers are checked with python-stdnum (``stdnum.us.ein``, ``ssn``, ``itin``, ``rtn``), the
IRS prefix lists and checksums being its maintainers' job rather than ours; the ABA routing prefix ranges,
which stdnum does not check, are added here. A check never repeats the value in its problem text: the value may
be a tax id, and problem texts go to the audit trail and to reviewers' screens.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from stdnum.exceptions import ValidationError as StdnumValidationError
from stdnum.us import ein, itin, rtn, ssn


@dataclass(frozen=True)
class CheckOutcome:
    """``normalized`` is the value in its canonical spelling (``91-1144442``) when the check passed."""

    valid: bool
    normalized: str | None = None
    problem: str | None = None


def _ok(normalized: str) -> CheckOutcome:
    return CheckOutcome(True, normalized)


def _bad(problem: str) -> CheckOutcome:
    return CheckOutcome(False, None, problem)


def digits_of(text: str) -> str:
    return "".join(char for char in text if char.isdigit())


# OCR reads the separators of a tax id as anything from a dash to a blank to an en dash; only the digits count.
def _tin_digits(text: str) -> str | None:
    if re.search(r"[A-Za-z]", text):
        return None
    digits = digits_of(text)
    return digits if len(digits) == 9 else None


def check_ein(text: str) -> CheckOutcome:
    """An employer identification number: 9 digits, a prefix the IRS assigns (``07-...`` is refused)."""
    digits = _tin_digits(text)
    if digits is None:
        return _bad("an EIN has 9 digits (NN-NNNNNNN)")
    try:
        ein.validate(digits)
    except StdnumValidationError:
        return _bad("not a valid EIN: its prefix is not one the IRS assigns")
    return _ok(ein.format(digits))


def check_ssn(text: str) -> CheckOutcome:
    """A social security number: not area 000, 666 or 9xx, group not 00, serial not 0000, no known
    advertising number."""
    digits = _tin_digits(text)
    if digits is None:
        return _bad("an SSN has 9 digits (NNN-NN-NNNN)")
    try:
        ssn.validate(digits)
    except StdnumValidationError:
        return _bad("not a valid SSN: area, group or serial number is never issued")
    return _ok(ssn.format(digits))


def check_itin(text: str) -> CheckOutcome:
    """An individual taxpayer identification number: starts with 9, group 70-99 except 89 and 93."""
    digits = _tin_digits(text)
    if digits is None:
        return _bad("an ITIN has 9 digits (9NN-NN-NNNN)")
    try:
        itin.validate(digits)
    except StdnumValidationError:
        return _bad("not a valid ITIN: it must start with 9 and have a group number the IRS assigns")
    return _ok(itin.format(digits))


def check_ssn_or_itin(text: str) -> CheckOutcome:
    """The W-9 SSN boxes take an SSN or, for a resident alien without one, an ITIN (which starts with 9)."""
    digits = _tin_digits(text)
    if digits is not None and digits.startswith("9"):
        return check_itin(digits)
    return check_ssn(text)


# ABA prefixes: 00-12 (Federal Reserve districts), 21-32 (thrifts), 61-72 (electronic), 80 (traveler's cheques).
_ROUTING_PREFIXES = {*range(0, 13), *range(21, 33), *range(61, 73), 80}


def check_routing_number(text: str) -> CheckOutcome:
    """An ABA routing number: 9 digits, a Federal Reserve prefix and the 3-7-1 checksum."""
    if re.search(r"[A-Za-z]", text):
        return _bad("a routing number has 9 digits")
    digits = digits_of(text)
    if len(digits) != 9:
        return _bad("a routing number has 9 digits")
    if int(digits[:2]) not in _ROUTING_PREFIXES:
        return _bad("not a valid routing number: its first two digits are not an ABA prefix")
    try:
        rtn.validate(digits)
    except StdnumValidationError:
        return _bad("not a valid routing number: its check digit is wrong")
    return _ok(digits)


def check_account_number(text: str) -> CheckOutcome:
    """A US bank account number as ACH carries it: 4 to 17 digits (separators ignored)."""
    compact = re.sub(r"[\s-]", "", text)
    if not compact.isdigit() or not 4 <= len(compact) <= 17:
        return _bad("a bank account number has 4 to 17 digits")
    return _ok(compact)


_DATE_FORMATS = (
    "%m/%d/%Y",
    "%m/%d/%y",
    "%m-%d-%Y",
    "%Y-%m-%d",
    "%B %d, %Y",
    "%B %d %Y",
    "%b %d, %Y",
    "%b %d %Y",
    "%d %B %Y",
    "%d %b %Y",
    "%A, %d %B %Y",
    "%A, %B %d, %Y",
    "%m.%d.%Y",
)


def parse_date(text: str) -> date | None:
    """A date as people write it on US forms (month before day); None when it is not one."""
    cleaned = re.sub(r"\s+", " ", text.strip().rstrip(".")).replace(" ,", ",")
    cleaned = re.sub(r"(\d)(st|nd|rd|th)\b", r"\1", cleaned)
    for layout in _DATE_FORMATS:
        try:
            return datetime.strptime(cleaned, layout).date()
        except ValueError:
            continue
    return None


def check_date(text: str) -> CheckOutcome:
    parsed = parse_date(text)
    if parsed is None:
        return _bad("not a date (expected e.g. 03/26/2020 or March 26, 2020)")
    return _ok(parsed.isoformat())


_AMOUNT = re.compile(r"^\(?-?\s*[$€£]?\s*-?\s*(\d{1,3}(?:,\d{3})+|\d+)(\.\d{1,2})?\s*\)?$")


def parse_amount(text: str) -> Decimal | None:
    """An amount as printed ("$1,350.00", "(12.50)", "$899.99 S" with a receipt's tax flag); None if none."""
    cleaned = re.sub(r"\s+[A-Z]{1,2}$", "", text.strip())  # trailing tax flag of receipt lines
    cleaned = re.sub(r"^(USD|US\$)\s*", "", cleaned)
    match = _AMOUNT.match(cleaned)
    if not match:
        return None
    try:
        amount = Decimal(match.group(1).replace(",", "") + (match.group(2) or ""))
    except InvalidOperation:
        return None
    negative = cleaned.startswith("(") or "-" in cleaned
    return -amount if negative else amount


def check_amount(text: str) -> CheckOutcome:
    parsed = parse_amount(text)
    if parsed is None:
        return _bad("not an amount (expected e.g. $1,350.00)")
    return _ok(str(parsed))


W9_TAX_CLASSIFICATIONS = (
    "individual_sole_proprietor",
    "c_corporation",
    "s_corporation",
    "partnership",
    "trust_estate",
    "llc",
    "other",
)


def check_tax_classification(text: str) -> CheckOutcome:
    if text not in W9_TAX_CLASSIFICATIONS:
        return _bad("not one of the seven W-9 tax classifications")
    return _ok(text)


def check_llc_tax_code(text: str) -> CheckOutcome:
    """W-9 line 3 for an LLC: C (C corporation), S (S corporation) or P (partnership)."""
    code = text.strip().upper()
    if code not in {"C", "S", "P"}:
        return _bad("an LLC's tax classification is C, S or P")
    return _ok(code)


def check_exempt_payee_code(text: str) -> CheckOutcome:
    """W-9 line 4: exempt payee codes are 1 to 13."""
    code = text.strip()
    if not code.isdigit() or not 1 <= int(code) <= 13:
        return _bad("an exempt payee code is a number from 1 to 13")
    return _ok(str(int(code)))


def check_fatca_code(text: str) -> CheckOutcome:
    """W-9 line 4: FATCA exemption codes are the letters A to M."""
    code = text.strip().upper()
    if len(code) != 1 or not "A" <= code <= "M":
        return _bad("a FATCA exemption code is a letter from A to M")
    return _ok(code)


def check_yes_no(text: str) -> CheckOutcome:
    """ACORD 25 ADDL INSD / SUBR WVD columns: Y, N or blank, often read as X for a ticked box."""
    answer = text.strip().upper()
    if answer in {"Y", "YES", "X", "SELECTED"}:
        return _ok("Y")
    if answer in {"N", "NO", "NOT_SELECTED"}:
        return _ok("N")
    return _bad("expected Y or N")


def check_present(text: str) -> CheckOutcome:
    return _ok(text) if text.strip() else _bad("empty")


Check = Callable[[str], CheckOutcome]

CHECKS: dict[str, Check] = {
    "ein": check_ein,
    "ssn": check_ssn,
    "itin": check_itin,
    "ssn_or_itin": check_ssn_or_itin,
    "routing_number": check_routing_number,
    "account_number": check_account_number,
    "date": check_date,
    "amount": check_amount,
    "tax_classification": check_tax_classification,
    "llc_tax_code": check_llc_tax_code,
    "exempt_payee_code": check_exempt_payee_code,
    "fatca_code": check_fatca_code,
    "yes_no": check_yes_no,
    "present": check_present,
}
