"""The one validator of US tax ids (EIN, SSN, ITIN), ABA routing numbers and US bank account numbers.

python-stdnum (``stdnum.us.ein``, ``ssn``, ``itin``, ``rtn``) has the last word on every number; the IRS and
SSA rules are written out too, so that a reason can say which rule a number breaks (docs/DOMAIN.md section 4)
and a test can hold each written rule to python-stdnum's verdict. The ABA prefix ranges, which python-stdnum
does not check, are added here. A reason never contains the number: reasons go to the audit trail, e-mails
and reviewers' screens; a caller that names the number shows it with ``backoffice.masking.last_four``.

The vendor checks give these reasons as they are; the extraction checks (``extraction.checks``) give one
problem per document field, with the number in its canonical spelling when it passes.
"""

from __future__ import annotations

import re
from collections.abc import Callable

# Two-digit prefixes the IRS has never assigned to an EIN (IRS "How EINs are assigned and valid EIN prefixes").
INVALID_EIN_PREFIXES: frozenset[str] = frozenset(
    "00 07 08 09 17 18 19 28 29 49 69 70 78 79 89 96 97".split()  # noqa: SIM905
)
# Numbers printed on sample cards and in advertising, used by many people who were never issued them.
ADVERTISING_SSNS: frozenset[str] = frozenset({"078051120", "457555462", "219099999"})
# ITIN middle digits: 70-88, 90-92 and 94-99 (IRS ITIN ranges); 89 and 93 are not issued.
_ITIN_GROUPS: frozenset[int] = frozenset(range(70, 100)) - {89, 93}
# First two digits of an ABA routing number: 00-12 banks, 21-32 thrifts, 61-72 electronic, 80 traveller's checks.
ABA_PREFIXES: frozenset[int] = frozenset([*range(0, 13), *range(21, 33), *range(61, 73), 80])

_EIN_FORMAT = re.compile(r"^\d{2}-?\d{7}$")
_SSN_FORMAT = re.compile(r"^\d{3}-?\d{2}-?\d{4}$")
_ROUTING_FORMAT = re.compile(r"^\d{9}$")


def _digits(value: str) -> str:
    return "".join(char for char in value if char.isdigit())


def _stdnum_problem(validate: Callable[[str], str], value: str) -> list[str]:
    """python-stdnum's verdict, for anything the rules written out here would not already have said."""
    # here, not at cold start (stdnum.util imports pydoc)
    from stdnum.exceptions import ValidationError as StdnumValidationError

    try:
        validate(value)
    except StdnumValidationError as error:
        return [f"python-stdnum rejects it ({error})"]
    return []


def ein_problems(value: str) -> list[str]:
    """Why ``value`` is not a valid EIN (empty when it is). The reasons never contain the number."""
    value = value.strip()
    if not _EIN_FORMAT.match(value):
        return ["is not 9 digits written NN-NNNNNNN"]
    if value[:2] in INVALID_EIN_PREFIXES:
        return ["has a two-digit prefix the IRS does not assign"]
    from stdnum.us import ein as stdnum_ein  # here, not at cold start (stdnum.util imports pydoc)

    return _stdnum_problem(stdnum_ein.validate, value)


def ssn_problems(value: str) -> list[str]:
    """Why ``value`` is not a valid SSN (empty when it is): SSA area, group and serial rules."""
    value = value.strip()
    if not _SSN_FORMAT.match(value):
        return ["is not 9 digits written NNN-NN-NNNN"]
    digits = _digits(value)
    area, group, serial = digits[:3], digits[3:5], digits[5:]
    problems = []
    if area in ("000", "666") or area.startswith("9"):
        problems.append("has an area number that is never issued (000, 666 or 900-999)")
    if group == "00":
        problems.append("has group number 00, never issued")
    if serial == "0000":
        problems.append("has serial number 0000, never issued")
    if digits in ADVERTISING_SSNS:
        problems.append("is a known advertising (specimen) number, not anyone's SSN")
    from stdnum.us import ssn as stdnum_ssn  # here, not at cold start (stdnum.util imports pydoc)

    return problems or _stdnum_problem(stdnum_ssn.validate, value)


def itin_problems(value: str) -> list[str]:
    """Why ``value`` is not a valid ITIN (empty when it is): starts with 9, group 70-99 except 89 and 93."""
    value = value.strip()
    if not _SSN_FORMAT.match(value):
        return ["is not 9 digits written 9NN-NN-NNNN"]
    digits = _digits(value)
    problems = []
    if not digits.startswith("9"):
        problems.append("does not start with 9")
    if int(digits[3:5]) not in _ITIN_GROUPS:
        problems.append("has a group number outside 70-88, 90-92 and 94-99")
    from stdnum.us import itin as stdnum_itin  # here, not at cold start (stdnum.util imports pydoc)

    return problems or _stdnum_problem(stdnum_itin.validate, value)


def routing_number_problems(value: str) -> list[str]:
    """Why ``value`` is not a valid ABA routing number (empty when it is): length, prefix range, checksum.

    The checksum is 3(d1+d4+d7) + 7(d2+d5+d8) + (d3+d6+d9) = 0 mod 10, as python-stdnum's ``us.rtn``
    computes it.
    """
    value = value.strip()
    if not _ROUTING_FORMAT.match(value):
        return ["is not 9 digits"]
    problems = []
    if not has_aba_prefix(value):
        problems.append("starts with digits outside the Federal Reserve ranges 00-12, 21-32, 61-72 and 80")
    # here, not at cold start (stdnum.util imports pydoc)
    from stdnum.exceptions import ValidationError as StdnumValidationError
    from stdnum.us import rtn as stdnum_rtn

    try:
        stdnum_rtn.validate(value)
    except StdnumValidationError:
        problems.append("fails the ABA checksum (a digit is wrong or two are swapped)")
    return problems


def is_itin(value: str) -> bool:
    """An SSN-box number starting with 9 is an ITIN: no SSN area starts with 9."""
    return value.strip().startswith("9")


def has_aba_prefix(digits: str) -> bool:
    """Whether a routing number's first two digits are in an ABA range (python-stdnum checks only the sum)."""
    return int(digits[:2]) in ABA_PREFIXES


# A US account number as ACH carries it: 4 to 17 digits; OCR and people write blanks and dashes into it.
_US_ACCOUNT_NUMBER = re.compile(r"[0-9]{4,17}")


def us_account_number(value: str) -> str | None:
    """The account number without blanks and dashes when it is 4 to 17 digits, else None."""
    compact = re.sub(r"[\s-]", "", value)
    return compact if _US_ACCOUNT_NUMBER.fullmatch(compact) else None
