"""The document types the product reads, in a module of their own so the command line can list them without
loading pydantic and the profiles (``backoffice --help``)."""

from __future__ import annotations

from typing import Literal

DocumentTypeName = Literal["w9", "coi", "bank_letter", "sow", "invoice"]
DOCUMENT_TYPES: tuple[DocumentTypeName, ...] = ("w9", "coi", "bank_letter", "sow", "invoice")
