"""Format checks with the test vectors of docs/DOMAIN.md section 4 (python-stdnum underneath)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from backoffice.extraction.checks import (
    check_account_number,
    check_date,
    check_ein,
    check_exempt_payee_code,
    check_fatca_code,
    check_itin,
    check_llc_tax_code,
    check_routing_number,
    check_ssn,
    check_ssn_or_itin,
    parse_amount,
)


@pytest.mark.parametrize(
    ("check", "value", "valid", "normalized"),
    [
        (check_ein, "91-1144442", True, "91-1144442"),
        (check_ein, "911144442", True, "91-1144442"),
        (check_ein, "07-1144442", False, None),
        (check_ssn, "536-90-4399", True, "536-90-4399"),
        (check_ssn, "536 90 4399", True, "536-90-4399"),
        (check_ssn, "666-00-0000", False, None),
        (check_ssn, "078-05-1120", False, None),
        (check_itin, "912-90-3456", True, "912-90-3456"),
        (check_itin, "912-93-4567", False, None),
        (check_ssn_or_itin, "912-90-3456", True, "912-90-3456"),
        (check_ssn_or_itin, "536-90-4399", True, "536-90-4399"),
        (check_routing_number, "111000025", True, "111000025"),
        (check_routing_number, "112000025", False, None),
        (check_account_number, "000123456789", True, "000123456789"),
        (check_account_number, "12", False, None),
    ],
)
def test_domain_vectors(check: object, value: str, valid: bool, normalized: str | None) -> None:
    # Given a vector from DOMAIN.md
    # When it is checked
    outcome = check(value)  # type: ignore[operator]
    # Then it is valid or not as documented, and a valid one comes back in its canonical spelling
    assert outcome.valid is valid
    assert outcome.normalized == normalized


def test_a_routing_number_outside_the_aba_prefixes_is_refused_even_with_a_good_checksum() -> None:
    # Given a 9-digit number whose checksum works but whose prefix 13 is not an ABA prefix
    number = "130000006"
    digits = [int(c) for c in number]
    assert (3 * (digits[0] + digits[3] + digits[6]) + 7 * (digits[1] + digits[4] + digits[7])
            + (digits[2] + digits[5] + digits[8])) % 10 == 0  # fmt: skip
    # When it is checked
    outcome = check_routing_number(number)
    # Then the prefix is the reason
    assert not outcome.valid and "prefix" in (outcome.problem or "")


def test_problems_never_repeat_the_value() -> None:
    # Given invalid tax ids and bank numbers
    for check, value in [
        (check_ein, "07-1144442"),
        (check_ssn, "666-00-0000"),
        (check_routing_number, "112000025"),
    ]:
        # When checked
        outcome = check(value)
        # Then the problem text does not hold the digits (it goes to the audit trail and reviewers' screens)
        assert (
            outcome.problem and value not in outcome.problem and value.replace("-", "") not in outcome.problem
        )


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("11/20/2026", "2026-11-20"),
        ("2026-11-20", "2026-11-20"),
        ("November 20, 2026", "2026-11-20"),
        ("12 March 2020", "2020-03-12"),
        ("Thursday, 26 March 2020", "2020-03-26"),
        ("Nov 20th, 2026", "2026-11-20"),
    ],
)
def test_dates_as_people_write_them(text: str, iso: str) -> None:
    assert check_date(text).normalized == iso


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("$5,715.00", "5715.00"),
        ("$899.99 S", "899.99"),
        ("1810.46", "1810.46"),
        ("(12.50)", "-12.50"),
        ("USD 1,000", "1000"),
    ],
)
def test_amounts_as_printed(text: str, amount: str) -> None:
    assert parse_amount(text) == Decimal(amount)


def test_w9_codes() -> None:
    assert check_llc_tax_code(" s ").normalized == "S"
    assert not check_llc_tax_code("X").valid
    assert check_exempt_payee_code("05").normalized == "5"
    assert not check_exempt_payee_code("14").valid
    assert check_fatca_code("m").normalized == "M"
    assert not check_fatca_code("N").valid
