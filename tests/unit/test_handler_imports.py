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
