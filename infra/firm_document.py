"""The firm's configuration document as the stack stores it: where it comes from and its stored form.

Plain Python (no CDK): the stack (``infra/firm_config.py``) and the local runtime, which writes the sample firm's
document to its own parameter, store the same bytes.
"""

from __future__ import annotations

import json
from pathlib import Path

from infra.catalog import ROOT

# -c config=firm.json: the firm's configuration document (backoffice/firm_config.py validates it).
CONFIG_CONTEXT = "config"
SAMPLE_CONFIG = ROOT / "config" / "sample-firm.json"


def document_text(path: Path | None) -> str:
    """The document as it is stored: compact JSON (whitespace is not the firm's, and SSM counts the bytes)."""
    source = path or SAMPLE_CONFIG
    return json.dumps(json.loads(source.read_text()), separators=(",", ":"), ensure_ascii=False)


__all__ = ["CONFIG_CONTEXT", "SAMPLE_CONFIG", "document_text"]
