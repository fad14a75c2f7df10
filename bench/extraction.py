"""Document extraction speed: the local extractor on a filled W-9 (pages per second) and the Textract
normalizer on the largest saved response.

Timings are the median of several runs after one warm-up, on whatever machine runs them: record the machine
with the figures (docs/benchmarks.md).
"""

from __future__ import annotations

import io
import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from backoffice.extraction import extract_local, normalize_textract_response
from backoffice.local.vendor_samples import SAMPLE_W9 as W9_BLANK

TEXTRACT = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "textract"
W9 = "topmostSubform[0].Page1[0]."
RUNS = 15


def _median_seconds(action: Callable[[], object], runs: int = RUNS) -> float:
    action()  # warm-up: imports, caches
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)


def _filled_w9() -> bytes:
    from pypdf import PdfWriter

    writer = PdfWriter(clone_from=W9_BLANK)
    writer.update_page_form_field_values(
        writer.pages[0],
        {
            W9 + "f1_1[0]": "Jane Q. Doe",
            W9 + "FederalClassification[0].c1_1[0]": "/1",
            W9 + "Address[0].f1_7[0]": "123 Main Street",
            W9 + "Address[0].f1_8[0]": "Springfield, IL 62701",
            W9 + "SSN[0].f1_11[0]": "536",
            W9 + "SSN[0].f1_12[0]": "90",
            W9 + "SSN[0].f1_13[0]": "4399",
        },
        auto_regenerate=False,
    )
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def run() -> dict[str, Any]:
    if not W9_BLANK.exists() or not TEXTRACT.exists():
        raise FileNotFoundError(f"the W-9 ({W9_BLANK}) or the Textract responses ({TEXTRACT}) are missing")
    w9 = _filled_w9()
    result = extract_local(w9, "w9")
    pages = result.page_count or 0
    w9_seconds = _median_seconds(lambda: extract_local(w9, "w9"))

    largest = max(TEXTRACT.glob("*.json"), key=lambda path: path.stat().st_size)
    response = json.loads(largest.read_text())
    normalize_seconds = _median_seconds(lambda: normalize_textract_response(response))
    all_responses = [json.loads(path.read_text()) for path in sorted(TEXTRACT.glob("*.json"))]
    all_seconds = _median_seconds(lambda: [normalize_textract_response(r) for r in all_responses], runs=5)
    return {
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "processor": platform.processor() or platform.machine(),
        },
        "local_w9": {
            "pages": pages,
            "bytes": len(w9),
            "status": result.status,
            "seconds_per_document": round(w9_seconds, 4),
            "pages_per_second": round(pages / w9_seconds, 1),
        },
        "normalize_largest_fixture": {
            "file": largest.name,
            "bytes": largest.stat().st_size,
            "blocks": len(response.get("Blocks", [])),
            "milliseconds": round(normalize_seconds * 1000, 1),
        },
        "normalize_all_fixtures": {
            "files": len(all_responses),
            "milliseconds": round(all_seconds * 1000, 1),
        },
    }
