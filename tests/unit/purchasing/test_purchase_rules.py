"""Purchase approval's rules without AWS: the request's event and case, the purchasing policy, the vendor's
standing, the budget rule, the approval chain by amount and category, separation of duties, and the vendor's mail."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from backoffice.approvals.policy import ApprovalFacts, ApprovalPolicy, as_facts
from backoffice.approvals.routing import route_level, select_rule
from backoffice.cases import case_id_for
from backoffice.connectors.ports import Created, Page, RecordNotFound
from backoffice.models import (
    InvalidEvent,
    ProjectBudget,
    PurchaseRequested,
    Vendor,
    VendorPurchaseOrder,
    Worker,
    parse_event,
)
from backoffice.purchasing.budget import BudgetCheck, check_budget
from backoffice.purchasing.onboarding_wait import VENDOR_CASE_KEY, VENDOR_CASE_PREFIX
from backoffice.purchasing.orders import notify_vendor
from backoffice.purchasing.policy import PurchasingPolicy
from backoffice.purchasing.requests import check_request, policy_problems, standing_problems
from backoffice.purchasing.vendor_waits import vendor_key
from infra.catalog import CATALOG

TODAY = date(2026, 12, 7)
POLICY = ApprovalPolicy.model_validate(
    {
        "groups": {
            "finance": ["fin@example.com"],
            "engagement_partners": ["partner@example.com", "owner@example.com"],
        },
        "routes": {},
    }
)
DETAIL = {
    "request_id": "PR-1",
    "requester_email": "req@example.com",
    "category": "software",
    "description": "Seats",
    "amount": "800.00",
    "currency": "USD",
    "project_id": "P-1",
    "vendor_id": "V-1",
    "requested_at": "2026-12-07T09:00:00Z",
}


def _event(detail: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "version": "0",
        "id": "e-1",
        "detail-type": "Purchase Requested",
        "source": "procurement.portal",
        "account": "111122223333",
        "time": "2026-12-07T09:00:00Z",
        "region": "eu-west-1",
        "resources": [],
        "detail": dict(detail),
    }


def _request(**changes: Any) -> PurchaseRequested:
    _, detail = parse_event(_event({**DETAIL, **changes}))
    assert isinstance(detail, PurchaseRequested)
    return detail


def _vendor(**changes: Any) -> Vendor:
    body = {
        "id": "V-1",
        "supplier_name": "Northwind Inc.",
        "default_currency": "USD",
        "email": "orders@northwind.example",
        "insurance_expires_on": "2027-06-30",
        **changes,
    }
    return Vendor.from_json_dict(body)


# -- the event and the case ------------------------------------------------------------------------------------


def test_a_purchase_is_one_case_per_request() -> None:
    # Given the catalog's rule for Purchase Requested
    rule = CATALOG.rule("purchase_requested")
    prefix = CATALOG.state_machine(rule.workflow).execution_prefix
    # Then the case is the request, whichever delivery carries it
    assert case_id_for(prefix, _event(DETAIL), rule.case_key) == "purchase-PR-1"
    assert case_id_for(prefix, {**_event(DETAIL), "id": "e-2"}, rule.case_key) == "purchase-PR-1"


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"amount": "0"}, "detail.amount"),
        ({"category": "furniture"}, "detail.category"),
        ({"new_vendor": {"vendor_legal_name": "X LLC"}}, "detail.new_vendor"),
        ({"vendor_id": None}, "name the vendor"),
    ],
)
def test_a_request_that_does_not_read_is_refused_with_a_readable_reason(
    change: dict[str, Any], error: str
) -> None:
    with pytest.raises(InvalidEvent) as refused:
        _request(**change)
    assert any(error in reason for reason in refused.value.errors)


def test_the_vendor_case_the_purchase_computes_is_the_vendor_approval_rules() -> None:
    # The purchase names the vendor onboarding it started from the event id EventBridge gave it: the rule must agree
    rule = CATALOG.rule("vendor_onboarding_requested")
    assert rule.case_key == VENDOR_CASE_KEY
    assert CATALOG.state_machine(rule.workflow).execution_prefix == VENDOR_CASE_PREFIX


def test_a_vendors_key_ignores_case_width_and_punctuation_but_never_merges_two_names() -> None:
    # Case, full-width forms and punctuation do not make two vendors
    assert vendor_key("Bluegate Software Labs LLC") == vendor_key("BLUEGATE  software-labs, llc")
    assert vendor_key("ＢＬＵＥＧＡＴＥ Labs") == vendor_key("Bluegate labs")  # noqa: RUF001 (full-width on purpose)
    assert vendor_key("Café Nord GmbH") == "café-nord-gmbh"
    # A legal form is part of the name: "Delta Co" and "Delta Corp" may be two companies
    assert len({vendor_key("Delta Co"), vendor_key("Delta Corp"), vendor_key("Delta")}) == 3
    # Names in other scripts keep their letters: two of them are two vendors, never one fixed word
    assert vendor_key("株式会社オカミ") != vendor_key("株式会社サクラ")
    # Combining marks are part of a word (Devanagari vowel signs): two names differing by one are two vendors
    assert vendor_key("कमिल Ltd") != vendor_key("कमाल Ltd")
    assert vendor_key("कमिल Ltd") == "कमिल-ltd"
    assert vendor_key("ООО Ромашка") == "ооо-ромашка" and vendor_key("شركة النور") != "unnamed"  # noqa: RUF001 (Cyrillic on purpose)
    # A name with no letter or digit is its digest, not a word another such name shares
    assert vendor_key("!!!") != vendor_key("???") and vendor_key("!!!").startswith("name-")
    assert len(vendor_key("x" * 500)) <= 200 and vendor_key("x" * 500) != vendor_key("x" * 499)


# -- the purchasing policy and the vendor's standing ------------------------------------------------------------


def test_travel_below_the_limit_is_not_bought_on_a_purchase_order() -> None:
    policy = PurchasingPolicy()
    assert policy_problems(_request(category="travel", amount="2499.99"), policy)
    assert not policy_problems(_request(category="travel", amount="2500.00"), policy)
    assert not policy_problems(_request(category="software", amount="10.00"), policy)


def test_a_work_order_needs_the_vendors_insurance_in_force_software_does_not() -> None:
    expired = _vendor(insurance_expires_on="2026-11-30")
    policy = PurchasingPolicy()
    problems = standing_problems(expired, "subcontractor", policy, TODAY)
    assert problems[0] == "a subcontractor order needs the vendor's certificate of insurance in force"
    assert any("expired on 2026-11-30" in p for p in problems)
    assert standing_problems(expired, "software", policy, TODAY) == []


def test_a_vendor_on_hold_cannot_be_bought_from() -> None:
    problems = standing_problems(_vendor(on_hold=True), "software", PurchasingPolicy(), TODAY)
    assert problems and "on hold" in problems[0]


class _Erp:
    def __init__(self, vendors: list[Vendor], committed: Decimal = Decimal(0)) -> None:
        self.vendors, self.committed = {v.id: v for v in vendors}, committed

    def get_vendor(self, vendor_id: str) -> Vendor:
        if vendor_id not in self.vendors:
            raise RecordNotFound(vendor_id)
        return self.vendors[vendor_id]

    def list_vendors(self, page_token: str | None = None) -> Page[Vendor]:
        return Page(list(self.vendors.values()))

    def committed_amount(self, project_id: str, currency: str) -> Decimal:
        return self.committed

    def create_purchase_order(self, order: VendorPurchaseOrder, *, idempotency_key: str) -> Created:
        return Created("PO-1", True)


class _Psa:
    def __init__(self, budget: ProjectBudget | None) -> None:
        self.budget = budget

    def project_budget(self, project_id: str) -> ProjectBudget:
        if self.budget is None:
            raise RecordNotFound(project_id)
        return self.budget


class _Waits:
    def __init__(self, onboarding: dict[str, Any] | None = None) -> None:
        self.found = onboarding

    def onboarding(self, key: str) -> dict[str, Any] | None:
        return self.found


class _Hris:
    def list_workers(self, page_token: str | None = None) -> Page[Worker]:
        owner = Worker.from_json_dict(
            {
                "id": "W-1",
                "name": "Owner",
                "email": "owner@example.com",
                "employment": "employee",
                "cost_rate": "80",
                "currency": "USD",
            }
        )
        return Page([owner])


PROJECT = ProjectBudget(
    project_id="P-1", project_name="Cloud", owner_id="W-1", currency="USD", budget=Decimal(10000)
)


def _check(
    detail: PurchaseRequested, *, erp: _Erp, waits: _Waits | None = None, project: Any = PROJECT
) -> Any:
    return check_request(
        detail,
        erp=erp,  # type: ignore[arg-type]
        budgets=_Psa(project),
        waits=waits or _Waits(),  # type: ignore[arg-type]
        policy=PurchasingPolicy(),
        today=TODAY,
    )


def test_an_approved_vendor_is_bought_from_an_unknown_project_or_vendor_is_invalid() -> None:
    erp = _Erp([_vendor()])
    assert _check(_request(), erp=erp).status == "vendor_approved"
    assert _check(_request(vendor_id="V-9"), erp=erp).reasons == ["the ERP has no vendor V-9"]
    assert _check(_request(), erp=erp, project=None).status == "invalid"
    eur = _check(_request(currency="EUR"), erp=erp)
    assert eur.status == "invalid" and "request it in USD" in eur.reasons[0]


NEW_VENDOR = {
    "vendor_legal_name": "Bluegate Software Labs LLC",
    "contact_email": "accounts@bluegate.example",
    "category": "software",
    "expected_annual_spend": "24000.00",
}


def test_a_new_vendor_is_onboarded_first_unless_its_onboarding_already_decided() -> None:
    new = _request(vendor_id=None, new_vendor=NEW_VENDOR)
    # Not known anywhere: onboard it, waiting as long as the policy says
    checked = _check(new, erp=_Erp([]))
    assert checked.status == "vendor_onboarding" and checked.wait_seconds == 30 * 24 * 3600
    # Under way: wait for it too
    assert (
        _check(new, erp=_Erp([]), waits=_Waits({"vendor_case_id": "vendor-x"})).status == "vendor_onboarding"
    )
    # Approved: bought from, as the ERP holds it now
    approved = _Waits({"outcome": "approved", "vendor_id": "V-1"})
    assert (
        _check(new, erp=_Erp([_vendor(email="accounts@bluegate.example")]), waits=approved).vendor_id == "V-1"
    )
    # Already a vendor of the firm under that name, with the request's contact: no onboarding
    known = _Erp([_vendor(supplier_name="Bluegate Software Labs, LLC", email="accounts@bluegate.example")])
    assert _check(new, erp=known).status == "vendor_approved"


def test_a_rejected_or_blocked_onboarding_is_asked_for_again_and_an_erp_vendor_comes_first() -> None:
    # Given the vendor's earlier onboarding was rejected (or blocked)
    new = _request(vendor_id=None, new_vendor=NEW_VENDOR)
    for outcome in ("rejected", "blocked"):
        earlier = _Waits({"outcome": outcome, "vendor_case_id": "vendor-1", "reasons": ["EIN invalid"]})
        # When a purchase from it comes again and the ERP does not hold it: its onboarding is asked for again
        again = _check(new, erp=_Erp([]), waits=earlier)
        assert again.status == "vendor_onboarding", again
        assert "asked for again" in again.reasons[0] and "EIN invalid" in again.reasons
        # And when procurement has since approved it in the ERP: bought from, no onboarding
        known = _Erp([_vendor(supplier_name="Bluegate Software Labs LLC", email="accounts@bluegate.example")])
        assert _check(new, erp=known, waits=earlier).status == "vendor_approved"


def test_an_approved_onboarding_without_a_vendor_id_blocks_instead_of_waiting_again() -> None:
    # Given an onboarding recorded approved but naming no vendor id
    new = _request(vendor_id=None, new_vendor=NEW_VENDOR)
    checked = _check(new, erp=_Erp([]), waits=_Waits({"outcome": "approved", "vendor_case_id": "vendor-1"}))
    # Then the purchase is blocked with the reason (not sent to wait, which would loop back here for ever)
    assert checked.status == "vendor_blocked" and "named no vendor id" in checked.reasons[0]


def test_a_name_alone_never_picks_an_erp_vendor_that_may_be_another() -> None:
    new = _request(vendor_id=None, new_vendor=NEW_VENDOR)
    # Given two ERP vendors of the requested name
    two = _Erp(
        [
            _vendor(id="V-1", supplier_name="Bluegate Software Labs LLC", email="accounts@bluegate.example"),
            _vendor(id="V-2", supplier_name="BLUEGATE SOFTWARE LABS, LLC", email="ap@other.example"),
        ]
    )
    # Then the purchase is blocked, naming both, for procurement to name the vendor id
    refused = _check(new, erp=two)
    assert refused.status == "vendor_blocked" and "V-1, V-2" in refused.reasons[0] and not refused.vendor_id
    # Given one ERP vendor of that name but another contact e-mail
    other = _Erp([_vendor(supplier_name="Bluegate Software Labs LLC", email="ap@other.example")])
    refused = _check(new, erp=other)
    assert refused.status == "vendor_blocked" and "vendor_id V-1" in refused.reasons[0]
    # And names that differ only in legal form are not one vendor: "Bluegate Software Labs" is onboarded
    near = _Erp([_vendor(supplier_name="Bluegate Software Labs Inc", email="accounts@bluegate.example")])
    assert _check(new, erp=near).status == "vendor_onboarding"


# -- the budget rule --------------------------------------------------------------------------------------------


def test_committed_plus_actual_plus_the_request_over_the_budget_is_over_budget() -> None:
    within = BudgetCheck(Decimal(30000), Decimal(26000), Decimal(2500), Decimal(1500), "USD")
    assert not within.over_budget and within.total == Decimal(30000)
    over = BudgetCheck(Decimal(30000), Decimal(26000), Decimal(2500), Decimal("1500.01"), "USD")
    assert over.over_budget
    assert "over the budget of 30,000.00 USD" in over.reason()
    assert "= 30,000.01 USD" in over.reason()


def test_a_project_without_a_budget_counts_as_over_budget() -> None:
    none = BudgetCheck(None, Decimal(0), Decimal(0), Decimal(1), "USD")
    assert none.over_budget and "no approved budget" in none.reason()


# -- the approval chain by amount and category --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("facts", "levels"),
    [
        (
            {"owner": "over_budget", "amount": "100", "vendor_category": "software"},
            ["project owner", "finance"],
        ),
        (
            {"owner": "within_budget", "amount": "25000", "vendor_category": "travel"},
            ["project owner", "finance"],
        ),
        ({"owner": "within_budget", "amount": "400", "vendor_category": "subcontractor"}, ["project owner"]),
        ({"owner": "within_budget", "amount": "1000", "vendor_category": "software"}, ["project owner"]),
        ({"owner": "within_budget", "amount": "999.99", "vendor_category": "software"}, []),
    ],
)
def test_the_chain_follows_budget_amount_and_category(facts: dict[str, str], levels: list[str]) -> None:
    rule = select_rule(POLICY, "purchase_approval", ApprovalFacts.model_validate(facts))
    names = [level.name.removesuffix(" approval") for level in rule.levels] if rule else []
    assert names == levels


def _subject(requester: str, erp: _Erp | None = None) -> dict[str, Any]:
    checked = check_budget(
        _request(requester_email=requester, amount="12000.00"),
        vendor_name="Northwind",
        budgets=_Psa(PROJECT),
        erp=erp or _Erp([], committed=Decimal(0)),  # type: ignore[arg-type]
        hris=_Hris(),
        policy=PurchasingPolicy(),
        approval_policy=POLICY,
    )
    subject: dict[str, Any] = checked["subject"]
    assert checked["requested_by"] == requester.lower()
    return subject


def test_the_project_owner_and_finance_approve_an_over_budget_purchase() -> None:
    subject = _subject("req@example.com")
    assert subject["owner"] == "over_budget" and subject["vendor_category"] == "software"
    rule = select_rule(POLICY, "purchase_approval", as_facts(subject))
    assert rule is not None
    first = route_level(
        POLICY, rule, 0, requested_by="req@example.com", decided_earlier=frozenset(), today=TODAY,
        subject_groups=subject["approvers"],
    )  # fmt: skip
    second = route_level(
        POLICY, rule, 1, requested_by="req@example.com", decided_earlier=frozenset({"owner@example.com"}),
        today=TODAY, subject_groups=subject["approvers"],
    )  # fmt: skip
    assert [a.email for a in first.approvers] == ["owner@example.com"]
    assert [a.email for a in second.approvers] == ["fin@example.com"]


def test_the_requester_never_approves_their_own_purchase_the_fallback_does() -> None:
    # Given the project owner, also an engagement partner, requests the purchase
    subject = _subject("Owner@Example.com")
    # Then the owner's level names the other partners, never the requester
    assert subject["approvers"]["project_owner"] == ["partner@example.com"]
    assert any("cannot approve it" in reason for reason in subject["reasons"])
    rule = select_rule(POLICY, "purchase_approval", as_facts(subject))
    assert rule is not None
    for index in range(len(rule.levels)):
        for escalated in (False, True):
            routed = route_level(
                POLICY, rule, index, requested_by="owner@example.com", decided_earlier=frozenset(), today=TODAY,
                escalated=escalated, subject_groups=subject["approvers"],
            )  # fmt: skip
            assert "owner@example.com" not in [a.email for a in routed.approvers]


# -- the vendor's mail -----------------------------------------------------------------------------------------


class _Mailer:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def send(self, **mail: Any) -> str | None:
        self.sent.append(mail)
        return "m-1"


def test_the_vendors_mail_escapes_what_people_typed_and_carries_no_bank_or_tax_data() -> None:
    mailer = _Mailer()
    detail = _request(description="<script>alert(1)</script> seats")
    said = notify_vendor(
        detail,
        {
            "number": "PO-2026-00007",
            "vendor_email": "orders@northwind.example",
            "vendor_name": "Northwind & Co",
        },
        firm="Example Firm LLP",
        mailer=mailer,
    )
    [mail] = mailer.sent
    assert said["mailed"] and mail["to"] == "orders@northwind.example"
    assert "<script>" not in mail["html"] and "&lt;script&gt;" in mail["html"]
    assert "Northwind &amp; Co" in mail["html"] and "PO-2026-00007" in mail["subject"]
    assert not {"tax", "bank", "routing", "account"} & set(mail["text"].lower().split())


def test_a_vendor_without_an_email_is_not_mailed() -> None:
    said = notify_vendor(
        _request(), {"number": "PO-1", "vendor_email": None, "vendor_name": "X"}, firm="F", mailer=_Mailer()
    )
    assert not said["mailed"] and "no e-mail" in said["reasons"][0]


def test_a_firm_document_may_set_its_own_travel_limit_and_groups() -> None:
    # Given the sample firm's document with its purchasing section, and one that changes it
    import json

    from backoffice.firm_config import parse_firm_config
    from infra.firm_document import SAMPLE_CONFIG

    document = json.loads(SAMPLE_CONFIG.read_text())
    assert parse_firm_config(document, "sample").purchasing == PurchasingPolicy()
    document["purchasing"] = {"travel_limit": "5000", "fallback_group": "cfo"}
    policy = parse_firm_config(document, "changed").purchasing
    # Then the section is read as the purchasing policy
    assert policy is not None and policy.fallback_group == "cfo"
    assert policy_problems(_request(category="travel", amount="4000.00"), policy)
    # And a section with an unknown field is refused with the field's name
    document["purchasing"] = {"travel_limt": "5000"}
    with pytest.raises(Exception, match="travel_limt"):
        parse_firm_config(document, "typo")


def test_a_project_owner_the_psa_names_by_e_mail_is_found_in_the_hris() -> None:
    # Given a project whose PSA gives its owner as the project manager Contact's e-mail, not an HRIS id
    project = PROJECT.model_copy(update={"owner_id": None, "owner_email": "OWNER@example.com"})
    checked = check_budget(
        _request(amount="12000.00"),
        vendor_name="Northwind",
        budgets=_Psa(project),
        erp=_Erp([]),  # type: ignore[arg-type]
        hris=_Hris(),
        policy=PurchasingPolicy(),
        approval_policy=POLICY,
    )
    # Then the owner approves for the project, as when named by HRIS id; not the fallback group
    assert checked["subject"]["approvers"]["project_owner"] == ["owner@example.com"]
    assert not any("names no owner" in reason for reason in checked["reasons"])


def test_an_approved_onboardings_vendor_with_another_contact_is_not_handed_over() -> None:
    # Given an onboarding approved as V-9, whose ERP contact is another company's
    new = _request(vendor_id=None, new_vendor=NEW_VENDOR)
    approved = _Waits({"outcome": "approved", "vendor_id": "V-9", "vendor_case_id": "vendor-1"})
    other = _Erp([_vendor(id="V-9", supplier_name="Bluegate Software Labs LLC", email="ap@other.example")])
    # When a purchase naming the new vendor by name and contact is checked
    checked = _check(new, erp=other, waits=approved)
    # Then it is blocked, asking procurement to name the vendor id if it is that vendor
    assert checked.status == "vendor_blocked" and checked.vendor_id is None
    assert "contact e-mail is not accounts@bluegate.example" in checked.reasons[0]
    # But with the request's contact, it is bought from
    same = _Erp(
        [_vendor(id="V-9", supplier_name="Bluegate Software Labs LLC", email="accounts@bluegate.example")]
    )
    assert _check(new, erp=same, waits=approved).vendor_id == "V-9"
