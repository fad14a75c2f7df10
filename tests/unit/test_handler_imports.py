"""A cold start imports what the handler needs to start, not what only some of its invocations use.

Lambda imports ``app`` before the first event, and whatever the import pulls in is paid on every cold start.
The PDF readers (pypdf, pdfminer.six), the fuzzy matcher (rapidfuzz), the tax-id checks (python-stdnum, whose
``stdnum.util`` imports pydoc), the JWT signer (PyJWT on cryptography) and the template engine (Jinja2) are
imported where they are used, inside the functions that read a PDF, compare names, check a number, sign a token
or render a page. This test holds every handler to that, without timing anything
(``python -m bench cold_start`` measures the time).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from test_layer_contents import HANDLERS_DIR

from bench.cold_start import placeholder
from infra.catalog import CATALOG
from infra.layer_contents import handler_files

# Imported only on the code paths that use them, never by ``import app``.
DEFERRED = ("pypdf", "pdfminer", "rapidfuzz", "stdnum", "cryptography", "jwt", "jinja2", "numpy")

# Handlers that may import one of them at cold start, with the reason. The handlers that read documents
# (read_vendor_documents, read_statement_of_work, receive_vendor_document) import pypdf on their first PDF, not
# here: a cold start that ends on a Textract document or a bad upload never pays for it. Empty on purpose.
ALLOWED_AT_IMPORT: dict[str, dict[str, str]] = {module: {} for module in DEFERRED}

# Imports each handler in turn (those allowed a deferred module last) and names, for every deferred module that
# shows up in sys.modules, the handler whose import brought it. Then imports the PDF reader itself, to show that
# the check sees a deferred module when one is imported.
_IMPORT_HANDLERS_IN_TURN = """
import importlib.util, json, sys
deferred = json.loads(sys.argv[1])
brought = {}
for handler in sys.argv[2:]:
    name = "handler_" + handler.split("/")[-2]
    spec = importlib.util.spec_from_file_location(name, handler)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    for top in deferred:
        if top in sys.modules and top not in brought:
            brought[top] = handler.split("/")[-2]
import backoffice.extraction.local_pdf
print(json.dumps({"brought": brought, "pypdf_seen_when_imported": "pypdf" in sys.modules}))
"""


def test_no_handler_imports_the_pdf_readers_the_matcher_the_signer_or_the_templates_at_cold_start() -> None:
    # Given every handler, those allowed a deferred module at import last, and the functions' environments
    allowed = {handler for handlers in ALLOWED_AT_IMPORT.values() for handler in handlers}
    handlers = sorted(handler_files(HANDLERS_DIR), key=lambda path: (path.parent.name in allowed, path))
    environment = {
        **os.environ,
        "AWS_DEFAULT_REGION": "us-east-1",
        **{
            name: placeholder(name, value)
            for function in CATALOG.functions
            for name, value in function.environment.items()
        },
    }

    # When each is imported in a fresh interpreter, in turn
    result = subprocess.run(
        [sys.executable, "-c", _IMPORT_HANDLERS_IN_TURN, json.dumps(DEFERRED), *map(str, handlers)],
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )

    # Then no handler brought a deferred module unless it is allowed to, and the check does see one imported
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    unexpected = {
        module: handler
        for module, handler in report["brought"].items()
        if handler not in ALLOWED_AT_IMPORT[module]
    }
    assert unexpected == {}
    assert report["pypdf_seen_when_imported"]


# The onboarding steps' modules: each handler imports its own step's (and the rules or readers it runs), never
# another step's. Compiled patterns: the contract rules' regular expressions compiled by the import
# (``contract_risk.compile_patterns``): all of them where every invocation runs every rule, those reading a SOW
# runs in the reading step, none elsewhere (the other steps use the contract models only).
STEP_MODULES = ("reading_step", "contract_review_step", "customer_step", "project_step", "staffing_step")
ONBOARDING_STEPS: dict[str, tuple[set[str], str]] = {
    "fetch_statement_of_work": (set(), "none"),
    "read_statement_of_work": ({"reading_step"}, "sow_reading"),
    "assess_contract_risk": ({"contract_review_step"}, "all"),
    "match_customer": ({"customer_step"}, "none"),
    "create_project": ({"project_step"}, "none"),
    "request_staffing": ({"staffing_step"}, "none"),
}

_IMPORT_ONE_HANDLER = """
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("app", sys.argv[1])
module = importlib.util.module_from_spec(spec)
sys.modules["app"] = module
spec.loader.exec_module(module)
from backoffice.onboarding import contract_risk
compiled = {id(p) for p in contract_risk._PATTERNS if p._compiled is not None}
print(json.dumps({
    "steps": sorted(name.rsplit(".", 1)[1] for name in sys.modules if name.startswith("backoffice.onboarding.")),
    "extraction": any(name.startswith("backoffice.extraction") for name in sys.modules),
    "compiled": "none" if not compiled else "all" if len(compiled) == len(contract_risk._PATTERNS)
    else "sow_reading" if compiled == {id(p) for p in contract_risk._SOW_READING} else sorted(compiled),
}))
"""


def _environment() -> dict[str, str]:
    return {
        **os.environ,
        "AWS_DEFAULT_REGION": "us-east-1",
        **{
            name: placeholder(name, value)
            for function in CATALOG.functions
            for name, value in function.environment.items()
        },
    }


@pytest.mark.parametrize("handler", sorted(ONBOARDING_STEPS))
def test_an_onboarding_handler_imports_its_own_step_and_compiles_only_the_rules_it_runs(handler: str) -> None:
    # Given an onboarding step's handler
    expected_steps, expected_compiled = ONBOARDING_STEPS[handler]

    # When it is imported alone, in a fresh interpreter
    result = subprocess.run(
        [sys.executable, "-c", _IMPORT_ONE_HANDLER, str(HANDLERS_DIR / handler / "app.py")],
        env=_environment(),
        capture_output=True,
        text=True,
        check=False,
    )

    # Then of the steps' modules it imported its own only, the extraction readers only if it reads the SOW, and
    # of the contract rules' expressions it compiled those its every invocation runs
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert {name for name in report["steps"] if name in STEP_MODULES} == expected_steps
    assert report["extraction"] == (handler == "read_statement_of_work")
    assert report["compiled"] == expected_compiled


_READ_A_SOW = """
import json
from datetime import date
from decimal import Decimal
from backoffice.onboarding import contract_risk
from backoffice.onboarding.reading_step import read_statement_of_work
from backoffice.onboarding.sample_firm import sample_sow_spec
from backoffice.onboarding.sample_sow import sow_pdf
pdf = sow_pdf(sample_sow_spec(
    title="Northwind - ERP implementation", client_legal_name="Northwind Logistics Inc.", amount=Decimal("240000"),
    start=date(2026, 11, 16), service_line="technology", billing_model="time_and_materials",
    risks=frozenset({"payment_terms_over_limit"}),
))
before = sum(p._compiled is not None for p in contract_risk._PATTERNS)
facts = read_statement_of_work(pdf)
after = sum(p._compiled is not None for p in contract_risk._PATTERNS)
print(json.dumps({"before": before, "after": after, "payment_terms_days": facts.payment_terms_days}))
"""


def test_the_reading_step_compiles_at_init_every_expression_reading_a_sow_runs() -> None:
    # Given the reading step imported (the read handler's init), When it reads a SOW with payment terms
    result = subprocess.run(
        [sys.executable, "-c", _READ_A_SOW], env=_environment(), capture_output=True, text=True, check=False
    )

    # Then the SOW's payment terms are read, and no expression was left to compile on the event
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["payment_terms_days"]
    assert report["after"] == report["before"] > 0
