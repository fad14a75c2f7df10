"""cfn-lint on a synthesized template, configured by the repository's ``.cfnlintrc`` as on the command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cfnlint.api import lint_file

from infra.catalog import ROOT


def cfn_lint(
    template: dict[str, Any], directory: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[list[str], list[str]]:
    """cfn-lint's errors, and its other findings (warnings; informational ones are off), on ``template``."""
    path = directory / "template.json"
    path.write_text(json.dumps(template, indent=1))
    # cfn-lint reads the project's configuration (regions, ignored rules and why) from the working directory.
    monkeypatch.chdir(ROOT)
    matches = lint_file(path)
    errors = [str(match) for match in matches if match.rule.severity == "error"]
    others = [str(match) for match in matches if match.rule.severity != "error"]
    return errors, others
