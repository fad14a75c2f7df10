"""Working-capital arithmetic the report quotes: DSO, cash freed by cutting it, lockup (DOMAIN.md section 6)."""

from __future__ import annotations


def dso(receivables: float, credit_sales: float, days: float = 365) -> float:
    """Days sales outstanding = receivables / credit sales x days (50,000 / 200,000 x 365 = 91.25)."""
    if credit_sales <= 0:
        raise ValueError("credit sales must be positive to compute DSO")
    if days <= 0:
        raise ValueError("the period must have a positive number of days")
    return receivables / credit_sales * days


def cash_freed(d: float, revenue: float, days_in_year: float = 365) -> float:
    """Cash released by collecting ``d`` days faster = d x annual revenue / 365."""
    if days_in_year <= 0:
        raise ValueError("a year must have a positive number of days")
    return d * revenue / days_in_year


def lockup(wip_days: float, debtor_days: float) -> float:
    """Lockup = WIP days (work done, not yet billed) + debtor days (billed, not yet paid)."""
    return wip_days + debtor_days
