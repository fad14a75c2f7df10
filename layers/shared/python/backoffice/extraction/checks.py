"""Format checks for the values read from documents: tax ids, bank numbers, dates, amounts, W-9 codes.

Tax ids, routing and account numbers are judged by ``backoffice.identifiers`` (python-stdnum underneath, the
ABA prefix ranges added), the same rules the vendor checks apply; here they are read as OCR writes them and
given back in their canonical spelling. A check never repeats the value in its problem text: the value may be
a tax id, and problem texts go to the audit trail and to reviewers' screens.

Dates and amounts are read as invoices from anywhere write them. "01/02/2021" (day and month could swap) and
"1,234" (one separator, three digits after it) have two readings: a date order (``DMY``/``MDY``) or a decimal
mark settles them; without one the check refuses the value and gives both readings, so a person decides
rather than the code guessing. The defaults (month first, decimal point) are the US forms' (W-9, ACORD 25).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from backoffice.identifiers import (
    ein_problems,
    has_aba_prefix,
    itin_problems,
    routing_number_problems,
    ssn_problems,
    us_account_number,
)
from backoffice.models.entities import ISO_4217_CURRENCIES, TAX_CLASSIFICATIONS


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
    if ein_problems(digits):
        return _bad("not a valid EIN: its prefix is not one the IRS assigns")
    from stdnum.us import ein  # here, not at cold start (stdnum.util imports pydoc)

    return _ok(ein.format(digits))


def check_ssn(text: str) -> CheckOutcome:
    """A social security number: not area 000, 666 or 9xx, group not 00, serial not 0000, no known
    advertising number."""
    digits = _tin_digits(text)
    if digits is None:
        return _bad("an SSN has 9 digits (NNN-NN-NNNN)")
    if ssn_problems(digits):
        return _bad("not a valid SSN: area, group or serial number is never issued")
    from stdnum.us import ssn  # here, not at cold start (stdnum.util imports pydoc)

    return _ok(ssn.format(digits))


def check_itin(text: str) -> CheckOutcome:
    """An individual taxpayer identification number: starts with 9, group 70-99 except 89 and 93."""
    digits = _tin_digits(text)
    if digits is None:
        return _bad("an ITIN has 9 digits (9NN-NN-NNNN)")
    if itin_problems(digits):
        return _bad("not a valid ITIN: it must start with 9 and have a group number the IRS assigns")
    from stdnum.us import itin  # here, not at cold start (stdnum.util imports pydoc)

    return _ok(itin.format(digits))


def check_ssn_or_itin(text: str) -> CheckOutcome:
    """The W-9 SSN boxes take an SSN or, for a resident alien without one, an ITIN (which starts with 9)."""
    digits = _tin_digits(text)
    if digits is not None and digits.startswith("9"):
        return check_itin(digits)
    return check_ssn(text)


def check_routing_number(text: str) -> CheckOutcome:
    """An ABA routing number: 9 digits, a Federal Reserve prefix and the 3-7-1 checksum."""
    if re.search(r"[A-Za-z]", text):
        return _bad("a routing number has 9 digits")
    digits = digits_of(text)
    if len(digits) != 9:
        return _bad("a routing number has 9 digits")
    if not has_aba_prefix(digits):
        return _bad("not a valid routing number: its first two digits are not an ABA prefix")
    if routing_number_problems(digits):
        return _bad("not a valid routing number: its check digit is wrong")
    return _ok(digits)


def check_account_number(text: str) -> CheckOutcome:
    """A US bank account number as ACH carries it: 4 to 17 digits (separators ignored)."""
    compact = us_account_number(text)
    if compact is None:
        return _bad("a bank account number has 4 to 17 digits")
    return _ok(compact)


# -- Dates ---------------------------------------------------------------------------------------------------------

DateOrder = Literal["DMY", "MDY"]

# US forms (W-9, ACORD 25 "DATE (MM/DD/YYYY)") write the month first: the order the form-reading callers use.
US_FORMS_DATE_ORDER: DateOrder = "MDY"

_NUMERIC_DATE = re.compile(r"(\d{1,2})([/.-])(\d{1,2})\2(\d{4}|\d{2})")
_YEAR_FIRST_DATE = re.compile(r"(\d{4})([/.-])(\d{1,2})\2(\d{1,2})")
# Dates with the month in words, once commas, dots and dashes are blanks: "01-Jan-2021", "Jan. 1, 2021",
# "Thursday, 26 March 2020". English month names only (strptime's C locale).
_NAMED_DATE_FORMATS = tuple(
    f"{weekday}{layout.format(month=month)} {year}"
    for weekday in ("", "%A ", "%a ")
    for layout in ("%d {month}", "{month} %d")
    for month in ("%b", "%B")
    for year in ("%Y", "%y")
)


def _full_year(year: str) -> int:
    # strptime's %y pivot (00-68 are 20xx), so that "01/02/21" reads as it did when strptime read it.
    if len(year) == 4:
        return int(year)
    return int(year) + (2000 if int(year) < 69 else 1900)


def _date_or_none(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def date_readings(text: str) -> tuple[date, ...]:
    """Every date ``text`` can be: none, one, or two for a numeric date whose day and month could swap
    ("01/02/2021": month first, then day first)."""
    cleaned = re.sub(r"\s+", " ", text.strip().rstrip("."))
    cleaned = re.sub(r"(\d)(st|nd|rd|th)\b", r"\1", cleaned, flags=re.IGNORECASE)
    numeric = _NUMERIC_DATE.fullmatch(cleaned)
    if numeric:
        first, second, year = int(numeric.group(1)), int(numeric.group(3)), _full_year(numeric.group(4))
        month_first = _date_or_none(year, first, second)
        day_first = _date_or_none(year, second, first)
        return tuple(dict.fromkeys(d for d in (month_first, day_first) if d is not None))
    year_first = _YEAR_FIRST_DATE.fullmatch(cleaned)
    if year_first:
        found = _date_or_none(int(year_first.group(1)), int(year_first.group(3)), int(year_first.group(4)))
        return (found,) if found else ()
    if not re.search(r"[A-Za-z]", cleaned):
        return ()
    words = " ".join(re.sub(r"[,./-]", " ", cleaned).split())
    words = re.sub(r"\bsept\b", "Sep", words, flags=re.IGNORECASE)
    for layout in _NAMED_DATE_FORMATS:
        try:
            return (datetime.strptime(words, layout).date(),)
        except ValueError:
            continue
    return ()


def _pick_date(readings: tuple[date, ...], order: DateOrder | None) -> date | None:
    if len(readings) == 1:
        return readings[0]
    if len(readings) == 2 and order is not None:
        return readings[0] if order == "MDY" else readings[1]
    return None


def parse_date(text: str, order: DateOrder | None = US_FORMS_DATE_ORDER) -> date | None:
    """A date as people write it; None when it is not one, or when its day and month could swap and ``order``
    (``MDY``, the US forms' order, unless told) does not say which comes first. A numeric date that reads one
    way only ("13/02/2021") is read that way whatever the order."""
    return _pick_date(date_readings(text), order)


def check_date(text: str, order: DateOrder | None = US_FORMS_DATE_ORDER) -> CheckOutcome:
    """``order=None`` (an invoice whose vendor and entity give no date order): a date whose day and month could
    swap is refused with both readings, never guessed."""
    readings = date_readings(text)
    if not readings:
        return _bad("not a date (expected e.g. 03/26/2020, 26-Mar-2020 or March 26, 2020)")
    picked = _pick_date(readings, order)
    if picked is None:
        month_first, day_first = readings
        return _bad(
            f"ambiguous date: {month_first.isoformat()} if the month comes first (MDY) or"
            f" {day_first.isoformat()} if the day does (DMY); set the date order of the vendor or the entity"
        )
    return _ok(picked.isoformat())


# -- Amounts -------------------------------------------------------------------------------------------------------

DecimalMark = Literal[".", ","]

# Dollar prefixes that name their currency; a bare "$" is read as USD, as Textract reads it.
_DOLLARS = {
    "$": "USD",
    "US$": "USD",
    "C$": "CAD",
    "CA$": "CAD",
    "A$": "AUD",
    "AU$": "AUD",
    "NZ$": "NZD",
    "HK$": "HKD",
    "S$": "SGD",
    "R$": "BRL",
    "MX$": "MXN",
}
# ¥ is the yen and the yuan: accepted as a currency sign, its currency not reported.
_SIGNS: dict[str, str | None] = {"€": "EUR", "£": "GBP", "₹": "INR", "¥": None, "￥": None}
_CURRENCY_PREFIX = re.compile(r"^([A-Z]{0,2}\$|[€£₹¥￥]|[A-Z]{3}(?![A-Za-z]))\s*")
_CURRENCY_SUFFIX = re.compile(r"\s*((?<![A-Za-z])[A-Z]{0,2}\$|[€£₹¥￥]|(?<![A-Za-z])[A-Z]{3})$")
_NUMBER = re.compile(r"\d(?:[\d.,' ]*\d)?")


@dataclass(frozen=True)
class AmountReading:
    """What an amount's text can be: one value, or two when its one separator may group thousands or mark
    decimals ("1,234": grouping first, then decimals); the currency its symbol or code names, if any."""

    amounts: tuple[Decimal, ...]
    currency: str | None
    separator: str | None = None  # the separator that makes it ambiguous


def _currency(token: str) -> tuple[bool, str | None]:
    """Whether ``token`` is a currency sign or code, and the ISO code it names (None: not told)."""
    if token in _DOLLARS:
        return True, _DOLLARS[token]
    if token in _SIGNS:
        return True, _SIGNS[token]
    if token in ISO_4217_CURRENCIES:
        return True, token
    return False, None


def _grouped(integer: str, separator: str) -> bool:
    """Thousands groups: 1 to 3 digits (not a leading 0), then groups of exactly 3."""
    first, *rest = integer.split(separator)
    return (
        bool(rest)
        and first.isdigit()
        and len(first) <= 3
        and not first.startswith("0")
        and all(len(group) == 3 and group.isdigit() for group in rest)
    )


def _number_readings(number: str) -> tuple[Decimal, ...]:
    """Each reading of a number, grouping first: every separator as a thousands group, or the last '.' or ','
    as the decimal mark (the others then grouping); blanks and apostrophes only ever group."""
    if re.search(r"[.,' ]{2,}", number):
        return ()
    separators = [char for char in number if not char.isdigit()]
    if not separators:
        return (Decimal(number),)
    readings: list[Decimal] = []
    last = separators[-1]
    if len(set(separators)) == 1 and _grouped(number, last):
        readings.append(Decimal(number.replace(last, "")))
    if last in ".,":
        integer, _, fraction = number.rpartition(last)
        others = set(separators[:-1])
        if not others or (len(others) == 1 and last not in others and _grouped(integer, others.pop())):
            readings.append(Decimal(re.sub(r"\D", "", integer) + "." + fraction))
    return tuple(readings)


def read_amount(text: str) -> AmountReading | None:
    """An amount as printed, in either convention ("$1,234.56", "€ 1.234,56", "1 234,56 EUR",
    "CHF 1'234.50", "(12.50)", "-12.50", "$899.99 S" with a receipt's tax flag); None if it is none."""
    cleaned = text.strip().replace("\u2212", "-").replace("\u2019", "'")
    cleaned = re.sub(r"[\s\u00a0\u202f\u2009]+", " ", cleaned)
    cleaned = re.sub(r" [A-Z]{1,2}$", "", cleaned)  # trailing tax flag of receipt lines
    negative = False
    currency_seen, currency = False, None
    for _ in range(3):  # parentheses, a minus and a currency, in any order around the number
        if cleaned.startswith("(") and cleaned.endswith(")"):
            negative, cleaned = True, cleaned[1:-1].strip()
        elif cleaned.startswith("-") or cleaned.endswith("-"):
            negative, cleaned = True, cleaned.strip("-").strip()
        if not currency_seen:
            for pattern in (_CURRENCY_PREFIX, _CURRENCY_SUFFIX):
                match = pattern.search(cleaned)
                if match:
                    known, code = _currency(match.group(1))
                    if known:
                        currency_seen, currency = True, code
                        cleaned = (cleaned[: match.start()] + cleaned[match.end() :]).strip()
                        break
    if not _NUMBER.fullmatch(cleaned):
        return None
    readings = _number_readings(cleaned)
    if not readings:
        return None
    if negative:
        readings = tuple(-amount for amount in readings)
    separator = next(char for char in reversed(cleaned) if char in ".,") if len(readings) > 1 else None
    return AmountReading(readings, currency, separator)


def _pick_amount(reading: AmountReading, decimal_mark: DecimalMark | None) -> Decimal | None:
    if len(reading.amounts) == 1:
        return reading.amounts[0]
    if decimal_mark is None:
        return None
    grouping, decimals = reading.amounts
    return decimals if decimal_mark == reading.separator else grouping


def parse_amount(text: str, decimal_mark: DecimalMark | None = ".") -> Decimal | None:
    """The amount of ``text``; None when it is none, or when its one separator could group thousands or mark
    decimals ("1,234") and ``decimal_mark`` (a point, the US convention, unless told) does not settle it."""
    reading = read_amount(text)
    return None if reading is None else _pick_amount(reading, decimal_mark)


def amount_currency(text: str) -> str | None:
    """The ISO 4217 code an amount's symbol or code names ("€ 1.234,56" is EUR, "$5.00" USD); None if none."""
    reading = read_amount(text)
    return None if reading is None else reading.currency


def check_amount(text: str, decimal_mark: DecimalMark | None = ".") -> CheckOutcome:
    """``decimal_mark=None`` (an invoice whose vendor and entity give no convention): an amount whose separator
    could go either way is refused with both readings, never guessed."""
    reading = read_amount(text)
    if reading is None:
        return _bad("not an amount (expected e.g. $1,350.00, 1.350,00 EUR or (12.50))")
    picked = _pick_amount(reading, decimal_mark)
    if picked is None:
        grouping, decimals = reading.amounts
        name = "comma" if reading.separator == "," else "point"
        return _bad(
            f"ambiguous amount: {grouping} if the {name} groups thousands or {decimals} if it marks decimals;"
            " set the decimal mark of the vendor or the entity"
        )
    return _ok(str(picked))


def check_tax_classification(text: str) -> CheckOutcome:
    if text not in TAX_CLASSIFICATIONS:
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
