"""The sample firm's systems and deals, deterministic so that demos and tests read the same every run.

``seed_sample_firm`` fills the sandbox CRM, PSA, ERP and HRIS (customers, workers, allocations, project templates);
``deal`` puts one opportunity with its SOW PDF into the CRM and returns the ``Opportunity Closed Won`` detail the
CRM would send. The onboarding scenarios of ``make run`` and of the end-to-end tests are built from these.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from backoffice.connectors.sandbox import SandboxStore
from backoffice.models import Address, Client
from backoffice.onboarding.contract_risk import RiskRule
from backoffice.onboarding.sample_firm import (
    sample_allocations,
    sample_clients,
    sample_project_templates,
    sample_sow_spec,
    sample_workers,
)
from backoffice.onboarding.sample_sow import sow_pdf
from backoffice.vendors.sample_vendors import existing_employees, existing_vendors

FIRM = "Meridian Advisory Partners LLP"
NEW_CLIENTS = (
    # (legal name, street, city, region, postal code, country, currency)
    ("Blue Yonder Airlines Inc.", "500 Aviation Way", "Seattle", "WA", "98108", "US", "USD"),
    ("Coho Winery LLC", "12 Vineyard Road", "Napa", "CA", "94558", "US", "USD"),
    ("Graphic Design Institute", "77 Canal Street", "New York", "NY", "10013", "US", "USD"),
    ("Lucerne Publishing GmbH", "Seestrasse 4", "Lucerne", None, "6004", "CH", "CHF"),
    ("Margie's Travel Corp.", "9 Harbor Blvd", "Miami", "FL", "33132", "US", "USD"),
    ("School of Fine Art Ltd", "3 Gallery Lane", "Manchester", None, "M1 1AA", "GB", "GBP"),
    ("VanArsdel Ltd.", "41 Queen Street", "Toronto", "ON", "M5H 2N2", "CA", "CAD"),
    ("Humongous Insurance Co.", "800 Market Street", "Philadelphia", "PA", "19107", "US", "USD"),
)
SERVICE_LINES = ("technology", "advisory", "digital", "risk")
ENGAGEMENTS = (
    "ERP implementation",
    "Data platform modernisation",
    "Audit readiness review",
    "Customer experience redesign",
    "Cloud migration wave 1",
    "Pricing strategy",
)


def sample_approval_policy() -> dict[str, Any]:
    """The sample firm's approval policy document (the ``approval_policy`` of ``config/sample-firm.json``): what the
    local runtime deploys to its SSM parameter, and what tests change a level or a group of."""
    from infra.firm_document import SAMPLE_CONFIG

    document: dict[str, Any] = json.loads(SAMPLE_CONFIG.read_text())["approval_policy"]
    return document


def seed_sample_firm(store: SandboxStore) -> dict[str, int]:
    """The sample firm's systems of record, as the sandbox adapters serve them."""
    records, counts = sample_firm_records()
    store.put_many(records)
    return counts


def sample_firm_records() -> tuple[list[tuple[str, str, str, date | None, dict[str, Any]]], dict[str, int]]:
    """The (system, entity, id, day, body) records ``seed_sample_firm`` writes, and how many of each kind. The
    local runtime compares them to decide whether a start may restore its resources (runtime.py)."""
    counts = {"customers": 0, "workers": 0, "allocations": 0, "templates": 0}
    # The same items ``store.put`` writes one by one, in batches of 25 (a runtime starts for every test).
    records: list[tuple[str, str, str, date | None, dict[str, Any]]] = []
    for client in sample_clients():
        records.append(("erp", "customer", client.id, None, client.to_json_dict(reveal_secrets=True)))
        counts["customers"] += 1
    workers = sample_workers()
    for worker in workers:
        records.append(("hris", "worker", worker.id, None, worker.to_json_dict(reveal_secrets=True)))
        counts["workers"] += 1
    for number, allocation in enumerate(sample_allocations(workers), start=1):
        records.append(("psa", "allocation", f"AL-{number:04d}", None, allocation.to_json_dict()))
        counts["allocations"] += 1
    for template in sample_project_templates():
        records.append(("psa", "template", template.id, None, template.to_json_dict()))
        counts["templates"] += 1
    for vendor in existing_vendors():
        records.append(("erp", "vendor", vendor.id, None, vendor.to_json_dict(reveal_secrets=True)))
    for employee in existing_employees():
        body = employee.to_json_dict(reveal_secrets=True)
        records.append(("hris", "employee", employee.worker_id, None, body))
    return records, counts


def new_client(index: int) -> Client:
    name, street, city, region, postal, country, currency = NEW_CLIENTS[index % len(NEW_CLIENTS)]
    return Client(
        id=f"001Dn{index:010d}",
        customer_name=name,
        default_currency=currency,
        payment_terms_days=30,
        address=Address(line1=street, city=city, region=region, postal_code=postal, country=country),
    )


def existing_client(name_starts: str) -> Client:
    """An ERP customer of the sample firm, as the CRM knows the same company (its account id differs)."""
    client = next(c for c in sample_clients() if c.customer_name.startswith(name_starts))
    return client.model_copy(
        update={"id": f"001Dn{int(hashlib.sha1(client.id.encode()).hexdigest()[:8], 16):010d}"}
    )


@dataclass(frozen=True)
class Deal:
    """A won deal of the sample pipeline."""

    index: int
    client: Client
    billing_model: str = "time_and_materials"
    service_line: str = "technology"
    risks: frozenset[RiskRule] = frozenset()
    amount: Decimal = Decimal(240000)
    with_sow: bool = True
    won: bool = True
    owner: str = "alex.chen@example-firm.com"

    @property
    def opportunity_id(self) -> str:
        return f"006Dn{self.index:010d}XYZ"

    @property
    def name(self) -> str:
        return f"{self.client.customer_name.split()[0]} - {ENGAGEMENTS[self.index % len(ENGAGEMENTS)]}"


def put_deal(store: SandboxStore, s3: Any, bucket: str, deal: Deal) -> dict[str, Any]:
    """Record the deal (and its SOW) in the sandbox CRM; return the Closed Won event's detail."""
    close = date(2026, 11, 2) + timedelta(days=deal.index)
    currency = deal.client.default_currency
    opportunity = {
        "id": deal.opportunity_id,
        "account_id": deal.client.id,
        "name": deal.name,
        "stage_name": "Closed Won" if deal.won else "Closed Lost",
        "amount": str(deal.amount),
        "close_date": close.isoformat(),
        "is_closed": True,
        "is_won": deal.won,
        "currency": currency,
        "probability": "100" if deal.won else "0",
        "owner_id": deal.owner,
    }
    store.put("crm", "opportunity", deal.opportunity_id, opportunity)
    store.put("crm", "account", deal.client.id, deal.client.to_json_dict(reveal_secrets=True))
    if deal.with_sow:
        spec = sample_sow_spec(
            title=f"Statement of Work: {deal.name}",
            client_legal_name=deal.client.customer_name,
            amount=deal.amount,
            start=close + timedelta(days=14),
            currency=currency,
            service_line=deal.service_line,
            billing_model=deal.billing_model,  # type: ignore[arg-type]
            risks=deal.risks,
        )
        pdf = sow_pdf(spec)
        key = f"crm/opportunities/{deal.opportunity_id}/statement-of-work.pdf"
        put = s3.put_object(Bucket=bucket, Key=key, Body=pdf, ContentType="application/pdf")
        store.put(
            "crm",
            "attachment",
            deal.opportunity_id,
            {
                "bucket": bucket,
                "key": key,
                "version_id": put.get("VersionId"),
                "content_type": "application/pdf",
                "document_type": "sow",
                "sha256": hashlib.sha256(pdf).hexdigest(),
                "size_bytes": len(pdf),
                "file_name": "statement-of-work.pdf",
            },
        )
    return {
        "opportunity": opportunity,
        "client": deal.client.to_json_dict(reveal_secrets=True),
        "service_line": deal.service_line,
    }


def closed_won_detail(index: int, *, won: bool = True) -> dict[str, Any]:
    """A Closed Won detail that is valid but not recorded in the CRM (for validation and routing tests)."""
    deal = Deal(index=index, client=new_client(index), won=won)
    return {
        "opportunity": {
            "id": deal.opportunity_id,
            "account_id": deal.client.id,
            "name": deal.name,
            "stage_name": "Closed Won" if won else "Closed Lost",
            "amount": str(deal.amount),
            "close_date": (date(2026, 11, 2) + timedelta(days=index)).isoformat(),
            "is_closed": True,
            "is_won": won,
            "currency": deal.client.default_currency,
            "probability": "100" if won else "0",
        },
        "client": deal.client.to_json_dict(reveal_secrets=True),
        "service_line": deal.service_line,
    }


# The connector settings of the local runtime: sandbox systems, and one webhook sender (a CRM without an
# EventBridge integration posting won deals). The secret is a local stand-in, created in local Secrets Manager only.
LOCAL_WEBHOOK_SECRET = "whsec_local_sample_firm"
LOCAL_CONNECTORS: dict[str, Any] = {
    "webhooks": {
        "crm": {
            "secret_name": "backoffice/webhooks/crm",
            "event_source": "crm.webhook",
            "event_id_path": "/id",
            "detail_type_path": "/type",
            "detail_types": {"deal.won": "Opportunity Closed Won"},
            "detail": {
                "fields": {
                    "opportunity.id": "data.deal.id",
                    "opportunity.account_id": "data.account.id",
                    "opportunity.name": "data.deal.title",
                    "opportunity.stage_name": {"constant": "Closed Won"},
                    "opportunity.amount": {"source": "data.deal.value_cents", "transforms": ["cents"]},
                    "opportunity.close_date": {"source": "data.deal.won_at", "transforms": ["date"]},
                    "opportunity.is_closed": {"constant": True},
                    "opportunity.is_won": {"constant": True},
                    "opportunity.currency": {"source": "data.deal.currency", "transforms": ["upper"]},
                    "client.id": "data.account.id",
                    "client.customer_name": "data.account.legal_name",
                    "client.default_currency": {"source": "data.deal.currency", "transforms": ["upper"]},
                    "service_line": {"source": "data.deal.practice", "transforms": ["lower"]},
                }
            },
        }
    }
}
