"""A vendor's standing (approved, insured) as purchase approvals and subcontractor onboarding read it."""

from __future__ import annotations

from datetime import date

from backoffice.models import Vendor
from backoffice.vendors.checks import insurance_expires_on
from backoffice.vendors.policy import VendorPolicy
from backoffice.vendors.sample_vendors import sample_scenarios
from backoffice.vendors.standing import vendor_standing

TODAY = date(2026, 12, 7)


def _vendor(**changes: object) -> Vendor:
    data: dict[str, object] = {
        "id": "V-100",
        "supplier_name": "Harbor Analytics LLC",
        "default_currency": "USD",
        "insurance_expires_on": date(2027, 6, 30),
    }
    data.update(changes)
    return Vendor.model_validate(data)


def test_an_approved_vendor_with_cover_past_today_is_in_good_standing() -> None:
    standing = vendor_standing(_vendor(), TODAY)
    assert (standing.approved, standing.insurance_in_force, standing.in_good_standing) == (True, True, True)
    assert standing.reasons == ()


def test_a_vendor_on_hold_or_disabled_is_not_approved_and_says_why() -> None:
    held = vendor_standing(_vendor(on_hold=True, hold_type="all"), TODAY)
    disabled = vendor_standing(_vendor(disabled=True), TODAY)
    assert (held.approved, disabled.approved) == (False, False)
    assert held.reasons == (
        "Harbor Analytics LLC is on hold in the ERP: its onboarding has not been approved",
    )
    assert disabled.reasons == ("Harbor Analytics LLC is disabled in the ERP",)


def test_cover_ending_today_is_not_in_force_and_a_missing_certificate_is_named() -> None:
    # ACORD cover ends at 12:01 a.m. on the expiry date
    today = vendor_standing(_vendor(insurance_expires_on=TODAY), TODAY)
    tomorrow = vendor_standing(_vendor(insurance_expires_on=date(2026, 12, 8)), TODAY)
    none = vendor_standing(_vendor(insurance_expires_on=None, doing_business_as="Harbor"), TODAY)
    assert (today.approved, today.insurance_in_force, tomorrow.insurance_in_force) == (True, False, True)
    assert today.reasons == ("Harbor Analytics LLC's certificate of insurance expired on 2026-12-07",)
    assert none.reasons == ("Harbor has no certificate of insurance on file",)


def test_a_vendor_the_erp_does_not_have_is_neither_approved_nor_insured() -> None:
    standing = vendor_standing(None, TODAY)
    assert (standing.approved, standing.insurance_in_force) == (False, False)
    assert "not been onboarded" in standing.reasons[0]


def test_the_expiry_kept_is_the_earliest_required_policy_s() -> None:
    # Given the sample applications: one fully insured to 2027-06-30, one whose general liability ran out 31 Oct
    scenarios = {s.key: s.application for s in sample_scenarios()}
    policy = VendorPolicy()

    # Then the clean vendor's cover runs to its policies' end, the other's to the lapsed general liability
    assert insurance_expires_on(scenarios["clean"], policy) == date(2027, 6, 30)
    assert insurance_expires_on(scenarios["insurance-expired"], policy) == date(2026, 10, 31)
    # And an application without a certificate keeps none
    assert insurance_expires_on(scenarios["clean"].model_copy(update={"certificate": None}), policy) is None
