"""The sample firm's books beyond its billing period, as a reconciliation finds them: the CRM's and the PSA's
client accounts, the ERP's projects and rate cards, and the ERP invoices someone keyed in by hand.

Seeded after ``billing_samples.seed_billing_period``; each difference is one a finance team meets at a close:

======  =====================================================================================================
rule    what is seeded
======  =====================================================================================================
RC1     September's invoice for P-0008 (posted 5 October) bills one of its lines for 10 % less than the PSA
RC2     a P-0008 line the PSA shows billed on that invoice is not on it
RC3     the September invoice also bills a time entry the PSA does not have (keyed in the ERP)
RC4     a hand-keyed ERP invoice for P-0001 has no billing link in the PSA at all
RC5     P-0003's line billed in the PSA on SINV-2026-PRIOR, an invoice the ERP does not have (BR2's line)
RC6     approved October work of the projects the billing run blocks, unbilled for over 60 days (from early
        December on)
RC7     Bluestem Health's payment terms are 45 days in the CRM, 30 in the ERP; Cardinal Mutual's legal name
        differs in the PSA; Prairie State University's tax id differs in the ERP (shown only as "differs")
RC8     Greenleaf Retail Group has projects but no account in the PSA
RC9     P-0005 has another name in the ERP; P-0008 is completed in the ERP while open in the PSA
RC10    P-0020 is not in the ERP; P-0021 is open in the ERP but unknown to the PSA
RC11    P-0006's ERP rate for one role is 5 % above the PSA's card; P-0001's ERP card lacks a role
======  =====================================================================================================
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from backoffice.connectors.sandbox import SandboxStore
from backoffice.local.billing_samples import PROJECTS, billing_clients
from backoffice.models import Client, Invoice, InvoiceLine, Project, RateCard

# The September invoice of P-0008 and the hand-keyed one of P-0001.
SEPTEMBER_INVOICE = "SINV-2026-0917"
MANUAL_INVOICE = "SINV-2026-0944"


def seed_close_books(store: SandboxStore) -> dict[str, int]:
    """Writes the accounts, ERP projects, rate cards and invoices (with the drift above) into the sandbox."""
    records: list[tuple[str, str, str, date | None, dict[str, Any]]] = []

    def put(system: str, entity: str, record_id: str, body: dict[str, Any]) -> None:
        records.append((system, entity, record_id, None, body))

    for client in billing_clients():
        crm, psa, erp = client, client, client
        if client.id == "BC-002":
            crm = client.model_copy(update={"payment_terms_days": 45})
        if client.id == "BC-003":
            psa = client.model_copy(update={"customer_name": "Cardinal Mutual Assurance Company"})
        if client.id == "BC-004":
            # A SecretStr field: validated from the document, not copied in as text.
            erp = Client.model_validate({**client.to_json_dict(reveal_secrets=True), "tax_id": "04-7654399"})
            put("erp", "customer", client.id, erp.to_json_dict(reveal_secrets=True))
        put("crm", "account", f"ACC-{client.id}", _as_account(crm))
        if client.id != "BC-008":
            put("psa", "account", client.id, psa.to_json_dict(reveal_secrets=True))

    for sample in PROJECTS:
        body = store.get("psa", "project", sample.project_id)
        if body is None:
            continue
        project = Project.from_json_dict(body)
        if project.id == "P-0020":
            continue
        if project.id == "P-0005":
            project = project.model_copy(update={"project_name": "Claims platform rebuild"})
        if project.id == "P-0008":
            project = project.model_copy(update={"status": "completed"})
        put("erp", "project", project.id, project.to_json_dict())
        card = _psa_rate_card(store, project)
        if card is not None:
            put("erp", "rate_card", project.id, _erp_card(project.id, card).to_json_dict())
    extra = Project.from_json_dict(store.get("psa", "project", "P-0001") or {}).model_copy(
        update={"id": "P-0021", "project_name": "Freight analytics retainer"}
    )
    put("erp", "project", extra.id, extra.to_json_dict())

    billed = _september_lines(store, "P-0008", 4)
    september = _invoice(
        SEPTEMBER_INVOICE,
        "P-0008",
        client_id=str((store.get("psa", "project", "P-0008") or {}).get("client_id")),
        posted=date(2026, 10, 5),
        lines=[(line, Decimal("0.9") if n == 0 else Decimal(1)) for n, line in enumerate(billed[:3])],
        number="INV-2026-00917",
        keyed="TE-KEYED-0917",
    )
    put("erp", "invoice", september.id, september.to_json_dict())
    manual = _invoice(
        MANUAL_INVOICE,
        "P-0001",
        client_id=str((store.get("psa", "project", "P-0001") or {}).get("client_id")),
        posted=date(2026, 10, 20),
        lines=[],
        number="INV-2026-00944",
        keyed="TE-KEYED-0944",
        keyed_hours=Decimal(24),
    )
    put("erp", "invoice", manual.id, manual.to_json_dict())
    written = store.put_many(records)
    # The PSA marks all four September lines billed on the September invoice: the fourth is not on it (RC2).
    store.update_lines(
        "psa",
        "time_entry",
        [str(line["id"]) for line in billed],
        lambda b: {**b, "invoice_id": SEPTEMBER_INVOICE},
    )
    return {"records": written, "invoices": 2}


def _as_account(client: Client) -> dict[str, Any]:
    """The CRM's account: the CRM's own id, the client's master data."""
    return client.model_copy(update={"id": f"ACC-{client.id}"}).to_json_dict(reveal_secrets=True)


def _psa_rate_card(store: SandboxStore, project: Project) -> RateCard | None:
    for body in store.all("psa", "rate_card"):
        card = RateCard.from_json_dict(body)
        if card.contract_id and card.contract_id == project.contract_id:
            return card
    return None


def _erp_card(project_id: str, card: RateCard) -> RateCard:
    lines = list(card.lines)
    if project_id == "P-0006":
        first_role = lines[0].role
        lines = [
            line.model_copy(
                update={"billing_rate": (line.billing_rate * Decimal("1.05")).quantize(Decimal("0.01"))}
            )
            if line.role == first_role
            else line
            for line in lines
        ]
    if project_id == "P-0001":
        last_role = lines[-1].role
        lines = [line for line in lines if line.role != last_role] or lines
    return card.model_copy(update={"lines": lines})


def _september_lines(store: SandboxStore, project_id: str, count: int) -> list[dict[str, Any]]:
    """The first billable time lines of the project in September (the history the billing sample seeds)."""
    found: list[dict[str, Any]] = []
    token = None
    while len(found) < count:
        items, token = store.lines_between("psa", "time_entry", date(2026, 9, 1), date(2026, 9, 30), token)
        found += [
            i
            for i in items
            if i.get("project_id") == project_id
            and i.get("is_billable")
            and Decimal(str(i["billing_hours"])) > 0
        ]
        if not token:
            break
    return found[:count]


def _invoice(
    invoice_id: str,
    project_id: str,
    *,
    client_id: str,
    posted: date,
    lines: list[tuple[dict[str, Any], Decimal]],
    number: str,
    keyed: str,
    keyed_hours: Decimal = Decimal(6),
) -> Invoice:
    """A posted invoice billing the PSA lines given (each at a share of its amount), and one line of hours keyed
    in the ERP with the id ``keyed``, which no PSA line has."""
    invoice_lines = [
        InvoiceLine(
            source="time",
            source_ids=[str(line["id"])],
            description=f"{line.get('role') or 'consulting'} on {line['work_date']}",
            role=line.get("role"),
            worker_id=line.get("worker_id"),
            quantity=Decimal(str(line["billing_hours"])),
            rate=Decimal(str(line["billing_rate"])),
            amount=(Decimal(str(line["billing_amount"])) * share).quantize(Decimal("0.01")),
        )
        for line, share in lines
    ] + [
        InvoiceLine(
            source="time",
            source_ids=[keyed],
            description="Advisory hours keyed in the ERP",
            quantity=keyed_hours,
            rate=Decimal("250.00"),
            amount=keyed_hours * Decimal("250.00"),
        )
    ]
    total = sum((line.amount for line in invoice_lines), Decimal(0))
    return Invoice(
        id=invoice_id,
        invoice_number=number,
        client_id=client_id,
        project_id=project_id,
        currency="USD",
        posting_date=posted,
        due_date=posted + timedelta(days=30),
        lines=invoice_lines,
        net_total=total,
        grand_total=total,
        outstanding_amount=total,
        status="posted",
    )
