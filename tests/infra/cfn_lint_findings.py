"""cfn-lint on a synthesized template, configured by the repository's ``.cfnlintrc`` as on the command line.

Its findings are kept under ``.local/synth/cfn-lint/``, keyed by the template, cfn-lint's version and the
configuration files (the project's and the user's): linting the whole stack takes half a minute of CPU, and the
same template linted by the same cfn-lint under the same rules finds the same (a change to ``backoffice/`` leaves
the template as it was). ``cfn-lint --update-specs`` rewrites its schemas without a new version: clear the folder
after it.
"""

from __future__ import annotations

import hashlib
import json
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
from cfnlint.api import lint_file

from backoffice.local.template import CACHE, write_whole
from infra.catalog import ROOT

FINDINGS = CACHE / "cfn-lint"
# What configures cfn-lint (cfnlint/config.py): the project's file, and the user's own, merged into it.
CONFIGURATIONS = [ROOT / name for name in (".cfnlintrc", ".cfnlintrc.yaml", ".cfnlintrc.yml")] + [
    Path.home() / name for name in (".cfnlintrc", ".cfnlintrc.yaml", ".cfnlintrc.yml")
]


def cfn_lint(
    template: dict[str, Any], directory: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[list[str], list[str]]:
    """cfn-lint's errors, and its other findings (warnings; informational ones are off), on ``template``."""
    text = json.dumps(template, indent=1)
    kept = FINDINGS / f"{_key(text)}.json"
    if kept.is_file():
        found = json.loads(kept.read_text())
        return list(found["errors"]), list(found["others"])
    path = directory / "template.json"
    path.write_text(text)
    # cfn-lint reads the project's configuration (regions, ignored rules and why) from the working directory.
    monkeypatch.chdir(ROOT)
    matches = lint_file(path)
    errors = [
        str(match).replace(str(path), "template.json") for match in matches if match.rule.severity == "error"
    ]
    others = [
        str(match).replace(str(path), "template.json") for match in matches if match.rule.severity != "error"
    ]
    FINDINGS.mkdir(parents=True, exist_ok=True)
    write_whole(kept, json.dumps({"errors": errors, "others": others}).encode())
    return errors, others


def _key(text: str) -> str:
    """The template, cfn-lint's version and every configuration file there is (which, and what each says)."""
    digest = hashlib.sha256()
    digest.update(text.encode() + b"\0" + version("cfn-lint").encode() + b"\0")
    for path in CONFIGURATIONS:
        if path.is_file():
            digest.update(str(path).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:32]
