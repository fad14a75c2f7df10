"""Customer matching: a won deal's client is the ERP customer it already is, a new one, or a question."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from backoffice.local.samples import existing_client, new_client
from backoffice.models import Client
from backoffice.onboarding.customers import (
    CustomerMatchPolicy,
    match_customer,
    normalize_legal_name,
)
from backoffice.onboarding.sample_firm import sample_clients

ERP = sample_clients()


def client(
    name: str, *, tax_id: str | None = None, line1: str | None = "1 Harbour Way", city: str = "Seattle"
) -> Client:
    """The CRM's account of a won deal's client."""
    data: dict[str, Any] = {"id": "001CRM", "customer_name": name, "default_currency": "USD"}
    if tax_id is not None:
        data["tax_id"] = tax_id
    if line1 is not None:
        data["address"] = {"line1": line1, "city": city, "country": "US"}
    return Client.from_json_dict(data)


def erp_customer(
    customer_id: str, name: str, *, tax_id: str | None = None, line1: str = "1 Harbour Way", **more: Any
) -> Client:
    data: dict[str, Any] = {
        "id": customer_id,
        "customer_name": name,
        "default_currency": "USD",
        "address": {"line1": line1, "city": "Seattle", "country": "US"},
        **more,
    }
    if tax_id is not None:
        data["tax_id"] = tax_id
    return Client.from_json_dict(data)


@pytest.mark.parametrize(
    ("name", "normalized"),
    [
        ("Contoso Pharmaceuticals, L.L.C.", "contoso pharmaceuticals"),
        ("CONTOSO PHARMACEUTICALS LLC", "contoso pharmaceuticals"),
        ("Fabrikam Retail GmbH", "fabrikam retail"),
        ("Tailspin Aerospace Limited", "tailspin aerospace"),
        ("Coho Vineyard S.A.", "coho vineyard"),
        ("Harbor & Pine Co., Ltd.", "harbor and pine"),
        ("The Boeing Company", "boeing"),
        ("SA Recycling", "sa recycling"),
        ("Société Générale", "societe generale"),
        ("Company", "company"),
    ],
)
def test_legal_name_normal_form(name: str, normalized: str) -> None:
    # Given a legal name as some system spells it, Then case, punctuation, accents and legal form go
    assert normalize_legal_name(name) == normalized


def test_same_tax_id_is_the_existing_customer_whatever_the_name() -> None:
    # Given a client whose EIN is written without the dash, under a trading name
    incoming = client("Northwind Freight", tax_id="911144442")
    # When matched against the ERP
    decision = match_customer(incoming, ERP)
    # Then it is Northwind Logistics, certain, and the reason shows only the last four digits
    assert (decision.kind, decision.customer_id, decision.score) == ("existing", "CUST-0001", 100.0)
    assert "****4442" in decision.reasons[0]
    assert "911144442" not in " ".join(decision.reasons)


def test_vat_number_with_or_without_country_prefix_is_one_tax_id() -> None:
    # Given Fabrikam's VAT number written without "DE"
    decision = match_customer(client("Fabrikam", tax_id="136695976"), ERP)
    # Then it is the German customer
    assert (decision.kind, decision.customer_id) == ("existing", "CUST-0003")


def test_same_legal_name_and_address_is_existing() -> None:
    # Given the CRM's spelling of a customer's name and street
    incoming = client("Contoso Pharmaceuticals LLC", line1="101 Main Street", city="Boston")
    # When matched
    decision = match_customer(incoming, ERP)
    # Then it is the ERP's "Contoso Pharmaceuticals L.L.C." at "101 Main St"
    assert (decision.kind, decision.customer_id) == ("existing", "CUST-0002")


def test_same_name_at_another_address_is_for_review() -> None:
    # Given a client with the name of an ERP customer but another street number
    existing = [erp_customer("C1", "Harbor & Pine LLC", line1="1 Harbour Way")]
    # When matched
    decision = match_customer(client("Harbor and Pine, L.L.C.", line1="9 Harbour Way"), existing)
    # Then a person decides: a branch, a move, or a namesake
    assert (decision.kind, decision.customer_id, decision.candidate_ids) == ("review", "C1", ["C1"])
    assert "another address" in decision.reasons[0]


def test_same_name_without_an_address_is_for_review() -> None:
    # Given a client with no address
    decision = match_customer(
        client("Harbor & Pine LLC", line1=None), [erp_customer("C1", "Harbor & Pine LLC")]
    )
    # Then the name alone is not enough
    assert decision.kind == "review"
    assert "address is missing" in decision.reasons[0]


def test_same_name_and_address_but_another_tax_id_is_for_review() -> None:
    # Given a client with the name and address of a customer whose EIN differs
    existing = [erp_customer("C1", "Harbor & Pine LLC", tax_id="12-3456789")]
    # When matched
    decision = match_customer(client("Harbor & Pine LLC", tax_id="98-7654321"), existing)
    # Then it is not taken for that customer
    assert decision.kind == "review"
    assert "another tax id" in decision.reasons[0]


@pytest.mark.parametrize(
    "name",
    ["Northwind Logistic Services", "Northwnd Logistics", "Northwind Logistics Group", "Contoso Pharma"],
)
def test_near_name_is_for_review_never_a_new_customer(name: str) -> None:
    # Given a name close to an ERP customer's
    decision = match_customer(client(name), ERP)
    # Then a person reviews it, with that customer as the candidate
    assert decision.kind == "review"
    assert decision.customer_id in ("CUST-0001", "CUST-0002")
    assert 75 <= decision.score < 100


def test_namesake_sharing_only_a_first_word_is_not_a_candidate() -> None:
    # Given "Northwind Traders", a different company from the ERP's Northwind Logistics
    decision = match_customer(client("Northwind Traders Holdings"), [c for c in ERP if c.id != "CUST-0012"])
    # Then it is a new customer, not a review of Northwind Logistics
    assert decision.kind == "create"


def test_unknown_client_is_created() -> None:
    # Given a client like no ERP customer
    decision = match_customer(client("Blue Yonder Airlines Inc."), ERP)
    # Then a new customer is created
    assert (decision.kind, decision.customer_id, decision.candidate_ids) == ("create", None, [])
    assert decision.score < 75


def test_frozen_customer_is_existing_and_says_so() -> None:
    # Given the frozen Litware, found by its tax id
    decision = match_customer(client("Litware Insurance", tax_id="06-1529314"), ERP)
    # Then it is that customer, and the reasons tell the workflow it is frozen
    assert (decision.kind, decision.customer_id) == ("existing", "CUST-0007")
    assert any("frozen" in reason for reason in decision.reasons)


def test_disabled_customer_with_the_tax_id_is_for_review() -> None:
    # Given a disabled ERP customer with the client's tax id
    existing = [erp_customer("C1", "Old Name Inc", tax_id="12-3456789", disabled=True)]
    # Then reactivating it is a person's call
    decision = match_customer(client("New Name Inc", tax_id="12-3456789"), existing)
    assert (decision.kind, decision.customer_id) == ("review", "C1")


def test_two_customers_with_one_tax_id_are_for_review() -> None:
    # Given duplicates already in the ERP
    existing = [
        erp_customer("C2", "Harbor & Pine LLC", tax_id="12-3456789"),
        erp_customer("C1", "Harbor and Pine", tax_id="123456789"),
    ]
    # Then the client is not matched to either alone
    decision = match_customer(client("Harbor & Pine LLC", tax_id="12-3456789"), existing)
    assert (decision.kind, decision.candidate_ids) == ("review", ["C1", "C2"])


def test_decision_does_not_depend_on_the_order_of_customers() -> None:
    # Given the ERP's customers in two orders
    incoming = client("Northwind Logistic Services")
    # Then the decision is the same
    assert match_customer(incoming, ERP) == match_customer(incoming, list(reversed(ERP)))


def test_the_sample_pipeline_finds_known_clients_and_creates_new_ones() -> None:
    # Given deals of the sample pipeline for clients the ERP knows (as the CRM spells them) and for new ones
    known = [c for c in ERP if not c.customer_name.startswith("Northwind Traders")]
    # When they are matched
    known_decisions = [match_customer(existing_client(c.customer_name), ERP) for c in known]
    new_decisions = [match_customer(new_client(i), ERP) for i in range(8)]
    # Then each known client is its own customer, and no new client is mistaken for one
    assert [(d.kind, d.customer_id) for d in known_decisions] == [("existing", c.id) for c in known]
    assert {d.kind for d in new_decisions} == {"create"}


def test_policy_threshold_and_scorer_are_configurable() -> None:
    # Given a firm that reviews only very close names with the plain token-sort ratio
    policy = CustomerMatchPolicy.from_json_dict({"review_name_score": 95, "name_scorer": "token_sort_ratio"})
    # Then an abbreviated name is a new customer under its policy
    assert match_customer(client("Contoso Pharma"), ERP, policy).kind == "create"


@pytest.mark.parametrize("data", [{"review_name_score": 120}, {"name_scorer": "levenshtein"}, {"extra": 1}])
def test_invalid_policy_is_refused(data: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        CustomerMatchPolicy.from_json_dict(data)
