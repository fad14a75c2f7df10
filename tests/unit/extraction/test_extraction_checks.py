"""Format checks with the test vectors of docs/DOMAIN.md section 4 (python-stdnum underneath)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from backoffice.extraction.checks import (
    DateOrder,
    DecimalMark,
    amount_currency,
    check_account_number,
    check_amount,
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
    parse_date,
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


# -- Dates and amounts as invoices write them (issue 17) --------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("01-Jan-2021", "2021-01-01"),
        ("1-JAN-21", "2021-01-01"),
        ("1 January 2021", "2021-01-01"),
        ("Jan 1, 2021", "2021-01-01"),
        ("Jan. 1, 2021", "2021-01-01"),
        ("Sept 3, 2021", "2021-09-03"),
        ("2021-01-01", "2021-01-01"),
        ("2021/01/02", "2021-01-02"),
        ("13/02/2021", "2021-02-13"),
        ("02/13/2021", "2021-02-13"),
        ("25.12.2021", "2021-12-25"),
        ("01/01/2021", "2021-01-01"),
    ],
)
def test_invoice_dates_that_read_one_way_need_no_date_order(text: str, iso: str) -> None:
    # Given a date as an invoice writes it, whose day and month cannot swap
    # When it is checked with no date order (neither the vendor nor the entity gives one)
    outcome = check_date(text, None)
    # Then it is read, the slash form whichever way is possible
    assert (outcome.valid, outcome.normalized) == (True, iso)


@pytest.mark.parametrize("text", ["01/02/2021", "01.02.2021", "01-02-2021", "1/2/21"])
def test_a_date_whose_day_and_month_could_swap_is_refused_with_both_readings(text: str) -> None:
    # Given a numeric date with both parts 12 or less
    # When it is checked with no date order
    outcome = check_date(text, None)
    # Then it is not guessed: the problem says it is ambiguous and gives both readings
    assert not outcome.valid and outcome.normalized is None
    assert outcome.problem == (
        "ambiguous date: 2021-01-02 if the month comes first (MDY) or 2021-02-01 if the day does (DMY);"
        " set the date order of the vendor or the entity"
    )
    assert parse_date(text, None) is None


@pytest.mark.parametrize(("order", "iso"), [("DMY", "2021-02-01"), ("MDY", "2021-01-02")])
def test_the_date_order_settles_an_ambiguous_date(order: DateOrder, iso: str) -> None:
    # Given 01/02/2021 and a date order
    # When it is checked in that order
    outcome = check_date("01/02/2021", order)
    # Then it reads day first for DMY, month first for MDY
    assert outcome.normalized == iso
    # And a date that reads one way only is read that way whatever the order says
    assert check_date("13/02/2021", order).normalized == "2021-02-13"


def test_us_forms_keep_reading_the_month_first() -> None:
    # Given the date of a W-9 or an ACORD 25 certificate (MM/DD/YYYY), checked as they always were
    # Then the month comes first, as the form says
    assert check_date("01/02/2021").normalized == "2021-01-02"
    assert not check_date("31/02/2021").valid and not check_date("someday").valid


@pytest.mark.parametrize(
    ("text", "amount", "currency"),
    [
        ("1,234.56", "1234.56", None),
        ("1.234,56", "1234.56", None),
        ("1 234,56", "1234.56", None),
        ("1\u00a0234,56", "1234.56", None),
        ("1'234.56", "1234.56", None),
        ("1,234,567.89", "1234567.89", None),
        ("1.234.567", "1234567", None),
        ("12,50", "12.50", None),
        ("$1,234.56", "1234.56", "USD"),
        ("€ 1.234,56", "1234.56", "EUR"),
        ("1.234,56 €", "1234.56", "EUR"),
        ("1.234,56 EUR", "1234.56", "EUR"),
        ("USD 1,234.56", "1234.56", "USD"),
        ("CHF 1'234.50", "1234.50", "CHF"),
        ("£12.00", "12.00", "GBP"),
        ("12.00 CAD", "12.00", "CAD"),
        ("(1,234.56)", "-1234.56", None),
        ("(€ 1.234,56)", "-1234.56", "EUR"),
        ("-1.234,56 EUR", "-1234.56", "EUR"),
        ("$-12.50", "-12.50", "USD"),
        ("-$12.50", "-12.50", "USD"),
        ("12.50-", "-12.50", None),
    ],
)
def test_amounts_in_either_convention_with_symbols_and_codes(
    text: str, amount: str, currency: str | None
) -> None:
    # Given an amount as an invoice prints it, whose separators read one way only
    # When it is checked with no decimal mark (neither the vendor nor the entity gives one)
    outcome = check_amount(text, None)
    # Then its value is read, and the currency its symbol or code names is reported
    assert (outcome.valid, outcome.normalized) == (True, amount)
    assert amount_currency(text) == currency


@pytest.mark.parametrize(
    ("text", "grouping", "decimals", "name"),
    [
        ("1,234", "1234", "1.234", "comma"),
        ("1.234", "1234", "1.234", "point"),
        ("€ 2.500", "2500", "2.500", "point"),
    ],
)
def test_an_amount_whose_separator_could_go_either_way_is_refused_with_both_readings(
    text: str, grouping: str, decimals: str, name: str
) -> None:
    # Given an amount with one separator followed by three digits
    # When it is checked with no decimal mark
    outcome = check_amount(text, None)
    # Then it is not guessed: the problem says it is ambiguous and gives both readings
    assert not outcome.valid
    assert outcome.problem == (
        f"ambiguous amount: {grouping} if the {name} groups thousands or {decimals} if it marks decimals;"
        " set the decimal mark of the vendor or the entity"
    )
    assert parse_amount(text, None) is None


@pytest.mark.parametrize(("mark", "amount"), [(".", "1234"), (",", "1.234")])
def test_the_decimal_mark_settles_an_ambiguous_amount(mark: DecimalMark, amount: str) -> None:
    # Given 1,234 and a decimal mark
    # Then a point as the decimal mark makes the comma a thousands separator, a comma makes it the decimal mark
    assert check_amount("1,234", mark).normalized == amount
    assert check_amount("1.234", mark).normalized == ("1.234" if mark == "." else "1234")
    # And an amount that reads one way only is read that way whatever the mark says
    assert check_amount("1.234,56", mark).normalized == "1234.56"


@pytest.mark.parametrize("text", ["1.234.56", "1,2,3", "12 34", "1,,234", "abc", "$", "(12.50", "12.50 XYZ"])
def test_what_is_not_an_amount(text: str) -> None:
    assert not check_amount(text, None).valid and parse_amount(text) is None


def test_w9_codes() -> None:
    assert check_llc_tax_code(" s ").normalized == "S"
    assert not check_llc_tax_code("X").valid
    assert check_exempt_payee_code("05").normalized == "5"
    assert not check_exempt_payee_code("14").valid
    assert check_fatca_code("m").normalized == "M"
    assert not check_fatca_code("N").valid
