"""A sample firm's business events, deterministic so that demos and tests read the same every run."""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

CLIENTS = (
    ("Northwind Logistics Inc.", "Seattle", "US", "USD"),
    ("Contoso Pharmaceuticals LLC", "Boston", "US", "USD"),
    ("Fabrikam Retail GmbH", "Munich", "DE", "EUR"),
    ("Tailspin Aerospace Ltd", "Bristol", "GB", "GBP"),
    ("Wide World Importers Corp.", "Chicago", "US", "USD"),
    ("Adventure Works Cycles Inc.", "Denver", "US", "USD"),
    ("Litware Insurance Co.", "Hartford", "US", "USD"),
    ("Proseware Health Partners LLP", "Austin", "US", "USD"),
)
ENGAGEMENTS = (
    "ERP implementation",
    "Data platform modernisation",
    "Audit readiness review",
    "Customer experience redesign",
    "Cloud migration wave 1",
    "Pricing strategy",
)
SERVICE_LINES = ("technology", "advisory", "digital", "risk")


def closed_won_detail(index: int, *, won: bool = True, seed: int = 2026) -> dict[str, Any]:
    """The detail of an ``Opportunity Closed Won`` event for the sample firm's ``index``-th deal."""
    rng = random.Random(seed * 1000 + index)
    name, city, country, currency = CLIENTS[index % len(CLIENTS)]
    close = date(2026, 11, 2) + timedelta(days=index)
    amount = rng.randrange(40, 900) * 1000
    return {
        "opportunity": {
            "id": f"006Dn00000{index:06d}XYZ",
            "account_id": f"001Dn00000{index % len(CLIENTS):06d}ABC",
            "name": f"{name.split()[0]} - {ENGAGEMENTS[index % len(ENGAGEMENTS)]}",
            "stage_name": "Closed Won" if won else "Closed Lost",
            "amount": f"{amount}.00",
            "close_date": close.isoformat(),
            "is_closed": True,
            "is_won": won,
            "currency": currency,
            "probability": "100" if won else "0",
        },
        "client": {
            "id": f"001Dn00000{index % len(CLIENTS):06d}ABC",
            "customer_name": name,
            "customer_type": "company",
            "default_currency": currency,
            "payment_terms_days": 30,
            "address": {"line1": f"{100 + index} Main Street", "city": city, "country": country},
        },
        "service_line": SERVICE_LINES[index % len(SERVICE_LINES)],
    }
