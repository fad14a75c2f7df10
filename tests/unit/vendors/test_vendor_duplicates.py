"""Duplicate vendors against the vendor master, ghost vendors against the HRIS, PO-box-only addresses."""

from __future__ import annotations

from typing import Any

from backoffice.models import Vendor
from backoffice.vendors.duplicates import address_key, find_duplicates, is_po_box_only, phone_key
from backoffice.vendors.policy import VendorPolicy
from backoffice.vendors.sample_vendors import existing_employees, existing_vendors

ADDRESS = {
    "line1": "1 Quiet Road",
    "city": "Olympia",
    "region": "WA",
    "postal_code": "98501",
    "country": "US",
}


def candidate(**changes: Any) -> Vendor:
    """A requested vendor sharing nothing with the sample vendor master or employees."""
    data: dict[str, Any] = {
        "id": "vendor-new",
        "supplier_name": "Riverbend Courier Services LLC",
        "tax_id": "27-4418390",
        "default_currency": "USD",
        "email": "ops@riverbend.example",
        "phone": "360-555-0100",
        "address": ADDRESS,
        "bank_account": {
            "account_holder_name": "Riverbend Courier Services LLC",
            "routing_number": "021000021",
            "account_number": "1111222233",
        },
    }
    data.update(changes)
    return Vendor.from_json_dict(data)


def report(vendor: Vendor, policy: VendorPolicy) -> Any:
    return find_duplicates(vendor, existing_vendors(), existing_employees(), policy)


def test_a_vendor_sharing_nothing_is_new(policy: VendorPolicy) -> None:
    result = report(candidate(), policy)
    assert (result.decision, result.matches, result.flags) == ("new", [], [])


def test_the_same_tin_is_the_same_vendor_for_certain(policy: VendorPolicy) -> None:
    # Given a request under another name but with the EIN of vendor SUP-1001
    result = report(candidate(tax_id="943217650", supplier_name="CPS Marketing"), policy)
    # Then it is a duplicate of that vendor
    assert result.decision == "duplicate"
    assert result.duplicate_of == "SUP-1001"
    assert [signal.kind for signal in result.matches[0].signals] == ["same_tin"]
    assert result.reasons == [
        "the same vendor as vendor SUP-1001 'Cobalt Print & Signage Inc.' (same TIN ****7650)"
    ]


def test_a_disabled_vendor_with_the_same_tin_is_still_a_duplicate_and_says_so(policy: VendorPolicy) -> None:
    result = report(candidate(tax_id="83-1947026"), policy)
    assert result.decision == "duplicate"
    assert "'Summit Legal Staffing Inc. (disabled)'" in result.reasons[0]


def test_the_same_bank_account_is_a_strong_match_for_review(policy: VendorPolicy) -> None:
    # Given another name and TIN but Greenway's bank account
    bank = {"account_holder_name": "Riverbend", "routing_number": "021000021", "account_number": "7730045120"}
    result = report(candidate(bank_account=bank), policy)
    # Then a person looks: strong, not certain
    assert result.decision == "review"
    match = result.matches[0]
    assert (match.party_id, match.strength, [s.kind for s in match.signals]) == (
        "SUP-1002",
        "strong",
        ["same_bank_account"],
    )
    assert "7730045120" not in " ".join(result.reasons) and "****5120" in result.reasons[0]


def test_a_close_name_with_a_shared_contact_is_strong_and_a_close_name_alone_possible(
    policy: VendorPolicy,
) -> None:
    # Given Greenway's name without its legal form, once with its phone written differently, once alone
    with_phone = report(candidate(supplier_name="GREENWAY OFFICE CLEANING", phone="+1 425.555.0178"), policy)
    name_only = report(candidate(supplier_name="Greenway Office Cleaning, Inc."), policy)
    assert with_phone.matches[0].strength == "strong"
    assert [s.kind for s in with_phone.matches[0].signals] == ["same_phone", "similar_name"]
    assert name_only.matches[0].strength == "possible"
    assert name_only.decision == with_phone.decision == "review"


def test_addresses_compare_across_abbreviations_and_unit_spellings() -> None:
    # Given one address written two ways
    a = {
        "line1": "600 Pine Street",
        "line2": "Suite 1400",
        "city": "Seattle",
        "postal_code": "98101",
        "country": "US",
    }
    b = {
        "line1": "600 PINE ST.",
        "line2": "#1400",
        "city": "SEATTLE",
        "postal_code": "98101-2201",
        "country": "US",
    }
    first, second = (candidate(address=x).address for x in (a, b))
    # Then they compare equal
    assert address_key(first) == address_key(second)
    assert phone_key("+1 (206) 555-0147") == phone_key("206.555.0147")


def test_an_address_match_alone_is_a_possible_duplicate(policy: VendorPolicy) -> None:
    address = {
        "line1": "600 Pine St",
        "line2": "Ste 1400",
        "city": "Seattle",
        "postal_code": "98101",
        "country": "US",
    }
    result = report(candidate(address=address), policy)
    assert result.matches[0].party_id == "SUP-1003"
    assert (result.matches[0].strength, result.decision) == ("possible", "review")


def test_a_vendor_paid_into_an_employees_account_is_flagged_as_a_possible_ghost_vendor(
    policy: VendorPolicy,
) -> None:
    # Given a request whose bank account is payroll's account for employee EMP-0042
    bank = {
        "account_holder_name": "DW Consulting",
        "routing_number": "026009593",
        "account_number": "0092281734",
    }
    result = report(candidate(supplier_name="DW Consulting", bank_account=bank), policy)
    # Then it goes to review as a strong employee match
    assert result.decision == "review"
    match = result.matches[0]
    assert (match.party, match.party_id, match.strength) == ("employee", "EMP-0042", "strong")
    assert result.reasons[0].endswith("possible ghost vendor")


def test_an_employees_home_address_or_phone_is_flagged(policy: VendorPolicy) -> None:
    home = {
        "line1": "4471 Meridian Ave N",
        "city": "Seattle",
        "region": "WA",
        "postal_code": "98103",
        "country": "US",
    }
    by_address = report(candidate(address=home), policy)
    by_phone = report(candidate(phone="(425) 555-0114"), policy)
    assert [(m.party_id, m.strength) for m in by_address.matches] == [("EMP-0107", "possible")]
    assert [(m.party_id, m.strength) for m in by_phone.matches] == [("EMP-0311", "possible")]
    assert by_address.decision == by_phone.decision == "review"


def test_an_address_that_is_only_a_po_box_is_flagged(policy: VendorPolicy) -> None:
    po_box = {
        "line1": "P.O. Box 4411",
        "city": "Spokane",
        "region": "WA",
        "postal_code": "99220",
        "country": "US",
    }
    result = report(candidate(address=po_box), policy)
    assert result.decision == "review"
    assert result.flags == ["the vendor's only address is a PO box: confirm it has premises"]
    # A street address with a PO box for mail has premises
    street_and_box = {**po_box, "line1": "12 Mill Road", "line2": "PO Box 4411"}
    assert not is_po_box_only(candidate(address=street_and_box).address)
    assert not is_po_box_only(candidate(address={**po_box, "line1": "Boxwood Lane 4"}).address)


def test_the_candidate_is_not_its_own_duplicate_when_already_in_the_master(policy: VendorPolicy) -> None:
    # Given a re-run after the vendor was created under the case id
    vendor = candidate()
    result = find_duplicates(vendor, [*existing_vendors(), vendor], existing_employees(), policy)
    assert result.decision == "new"


def test_matches_are_ordered_strongest_first(policy: VendorPolicy) -> None:
    # Given a candidate sharing SUP-1001's TIN and Greenway's phone
    result = report(candidate(tax_id="94-3217650", phone="425-555-0178"), policy)
    assert [(m.party_id, m.strength) for m in result.matches] == [
        ("SUP-1001", "certain"),
        ("SUP-1002", "possible"),
    ]
