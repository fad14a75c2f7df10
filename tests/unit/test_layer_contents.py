"""What the Lambda layer ships of ``backoffice``: what the handlers reach and its data, nothing for laptops.

The ship list (``infra.layer_contents``) is what ``infra.layer.build_shared_layer`` copies; these tests read it
without synthesizing the stack, and import every handler against a copy of it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from bench.cold_start import placeholder
from infra.catalog import CATALOG, ROOT
from infra.layer_contents import (
    LayerContents,
    handler_files,
    handler_imports,
    layer_contents,
    package_modules,
)

PACKAGE_DIR = ROOT / "layers" / "shared" / "python" / "backoffice"
HANDLERS_DIR = ROOT / "functions"
# Code for laptops, demos and tests. No handler imports any of it; if one ever must, move what it needs out first.
DEV_ONLY = (
    "backoffice.local",  # the embedded local runtime
    "backoffice.cli",  # the `backoffice` command
    "backoffice.onboarding.sample_firm",
    "backoffice.onboarding.sample_sow",  # writes the sample SOWs; the parser stays in sow_documents
    "backoffice.vendors.sample_vendors",
    "backoffice.vendors.sample_documents",  # writes the sample W-9s, certificates, bank letters
    "backoffice.sample_pdf",  # the PDF writer the two above share
    "backoffice.anomaly.generator",
    "backoffice.anomaly.evaluation",  # precision and recall on the labelled generator, fitting the shipped model
    # the process-intelligence report ships (the weekly report function builds it); its synthetic month does not
    "backoffice.intelligence.samples",
    "backoffice.intelligence.sample_firm",  # the six-month sample firm of `backoffice report --sample`
    "backoffice.events",  # EventBridge pattern matching, for the local runtime's event router
    "backoffice.assist.evaluation",  # ai assist (issue #23): `backoffice ai eval` on the labelled sets
)


@pytest.fixture(scope="module")
def contents() -> LayerContents:
    return layer_contents(PACKAGE_DIR, HANDLERS_DIR)


def _is_dev_only(module: str) -> bool:
    return any(module == dev or module.startswith(f"{dev}.") for dev in DEV_ONLY)


def test_the_layer_leaves_the_developer_tools_and_the_samples_behind(contents: LayerContents) -> None:
    # Given the ship list computed from the handlers
    # When looking for the modules only a laptop, the demo or the tests need
    shipped_dev_only = sorted(module for module in contents.modules if _is_dev_only(module))

    # Then none is shipped, and neither is the local runtime's data (the blank IRS W-9)
    assert shipped_dev_only == []
    dev_only_folders = ("local/", "cli/")
    assert not [name for name in contents.relative_files() if name.startswith(dev_only_folders)]


def test_every_module_a_handler_imports_is_shipped(contents: LayerContents) -> None:
    # Given the backoffice names each handler imports (``from backoffice.x import y``: y a module or not)
    modules = package_modules(PACKAGE_DIR)
    imported = handler_imports(handler_files(HANDLERS_DIR), "backoffice")
    assert imported and all(imported.values())

    # When each is resolved to the module that defines it
    missing = {
        f"{handler.parent.name}: {name}"
        for handler, names in imported.items()
        for name in names
        if (name if name in modules else name.rpartition(".")[0]) not in contents.modules
    }

    # Then every one is in the layer
    assert missing == set()


def test_the_data_a_shipped_module_reads_ships_beside_it(contents: LayerContents) -> None:
    # Given the modules that read files next to themselves at run time
    assert {"backoffice.approvals.policy", "backoffice.vendors.sanctions"} <= contents.modules

    # Then their files are shipped: the country table and the sample SDN list (and no firm's approvers: those
    # come from the firm's configuration document)
    files = set(contents.relative_files())
    assert not [f for f in files if f.startswith("approvals/") and f.endswith(".json")]
    assert "vendors/data/countries.csv" in files
    assert {"vendors/data/sdn_sample/sdn.csv", "vendors/data/sdn_sample/alt.csv"} <= files
    # And the templates of the pages and e-mails the approval and upload endpoints render
    assert {
        "approvals/templates/page.html.j2",
        "approvals/templates/style.css",
        "approvals/templates/confirm.html.j2",
        "approvals/templates/email.html.j2",
        "vendors/templates/upload.html.j2",
        "vendors/templates/upload_email.html.j2",
        # and the process report's page and e-mail, which the weekly report function renders
        "intelligence/templates/report.html.j2",
        "reports/templates/email.html.j2",
    } <= files


# Imports every handler with only the copied layer's backoffice importable (the editable install of the source
# tree would otherwise answer for any module missing from the copy), then reads the shipped data files.
_IMPORT_EVERY_HANDLER = """
import importlib.abc, importlib.util, json, sys
shipped = set(json.loads(sys.argv[1]))

class OnlyTheLayer(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path=None, target=None):
        if fullname.partition(".")[0] == "backoffice" and fullname not in shipped:
            raise ModuleNotFoundError(f"{fullname} is not in the layer", name=fullname)
        return None

sys.meta_path.insert(0, OnlyTheLayer())
failures = {}
for handler in sys.argv[2:]:
    name = "handler_" + handler.split("/")[-2]
    try:
        spec = importlib.util.spec_from_file_location(name, handler)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    except Exception as error:
        failures[handler] = f"{type(error).__name__}: {error}"

import backoffice
from backoffice.approvals.policy import ApprovalPolicyMissing, load_policy
from backoffice.vendors.sanctions import country_code, load_sample_sanctions_list
from backoffice.vendors.uploads import UploadPage, render

try:
    load_policy({})
    firm_specific = True
except ApprovalPolicyMissing:
    firm_specific = False
upload_page = render(UploadPage("form", 200, ["w9"], "Acme", csrf="token"))
print(json.dumps({
    "upload_page": "Documents for Acme" in upload_page,
    "firm_specific": firm_specific,
    "failures": failures,
    "backoffice": backoffice.__file__,
    "germany": country_code("Germany"),
    "sample_sdn_entries": len(load_sample_sanctions_list().entries),
}))
"""


def test_every_handler_imports_from_the_layer_alone(contents: LayerContents, tmp_path: Path) -> None:
    # Given the layer's backoffice copied as the build copies it, and each function's environment (cold start
    # reads its settings) with placeholder resource names
    contents.copy_to(tmp_path / "backoffice")
    environment = {
        **os.environ,
        "PYTHONPATH": str(tmp_path),
        "AWS_DEFAULT_REGION": "us-east-1",
        **{
            name: placeholder(name, value)
            for function in CATALOG.functions
            for name, value in function.environment.items()
        },
    }

    # When every handler is imported with nothing else of backoffice importable
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            _IMPORT_EVERY_HANDLER,
            json.dumps(sorted(contents.modules)),
            *map(str, handler_files(HANDLERS_DIR)),
        ],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )

    # Then each one loads, from the copy, and the data files it reads at run time are there
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["failures"] == {}
    assert Path(report["backoffice"]).is_relative_to(tmp_path)
    assert report["germany"] == "DE"
    assert report["sample_sdn_entries"] > 0
    assert report["upload_page"]  # its templates (and the approvals' layout) from the copy
    assert report["firm_specific"] is False  # no sample firm's approvers to fall back on


def test_the_layer_ships_a_fraction_of_the_package(
    contents: LayerContents, record_property: Callable[[str, object], None]
) -> None:
    # Given every Python line of the package
    every_module = package_modules(PACKAGE_DIR)
    total = sum(len(path.read_text(encoding="utf-8").splitlines()) for path in every_module.values())

    # When counting the lines the layer ships, and those it leaves behind
    shipped = contents.python_lines()
    left = sorted(set(every_module) - contents.modules)

    # Then the count is on record (pytest -s prints it, --junitxml keeps it) and the layer holds less than all
    record_property("layer_python_lines", shipped)
    record_property("package_python_lines", total)
    modules = f"{len(contents.modules)} of {len(every_module)} modules"
    print(f"\nlayer ships {shipped:,} of {total:,} Python lines ({modules})")
    print("left behind:", ", ".join(left))
    assert 0 < shipped < total
