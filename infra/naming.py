"""Construct ids and output names derived from catalog names, so the console reads in business words."""

from __future__ import annotations

# Every resource built from a catalog entry carries this tag; the value is the catalog name. Operators find a
# workflow's pieces in the console (and in Cost Explorer) by it, and the infra tests find them in the template by it.
CATALOG_TAG = "backoffice:catalog-entry"


def pascal(name: str) -> str:
    """``parked_events`` -> ``ParkedEvents``: the catalog's snake_case names as CloudFormation-friendly ids."""
    return "".join(part[:1].upper() + part[1:] for part in name.replace("-", "_").split("_") if part)
