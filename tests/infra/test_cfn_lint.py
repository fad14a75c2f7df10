"""cfn-lint on the synthesized stack: what CloudFormation would refuse at deploy time fails here instead."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pytest
from cfn_lint_findings import cfn_lint

pytestmark = pytest.mark.slow


def test_the_synthesized_template_has_no_cfn_lint_errors(
    stack_template: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the template make synth writes (cdk-nag already passed on it)
    # When cfn-lint checks it against CloudFormation's resource schemas and its rules
    errors, others = cfn_lint(stack_template, tmp_path, monkeypatch)

    # Then nothing it finds would fail the deployment; warnings are reported (pytest's summary) without failing
    for finding in others:
        warnings.warn(f"cfn-lint: {finding}", stacklevel=1)
    assert errors == []


def test_kept_findings_are_named_by_the_template_and_every_configuration_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a project configuration and no user configuration
    import cfn_lint_findings

    project, user = tmp_path / ".cfnlintrc", tmp_path / "home" / ".cfnlintrc"
    project.write_text("regions: [us-east-1]\n")
    monkeypatch.setattr(cfn_lint_findings, "CONFIGURATIONS", [project, user])
    key = cfn_lint_findings._key('{"Resources": {}}')
    # When the template, the project's configuration or the user's (added) changes, the findings kept are others
    assert cfn_lint_findings._key('{"Resources": {"A": {}}}') != key
    project.write_text("regions: [us-east-1]\nignore_checks: [W3005]\n")
    changed = cfn_lint_findings._key('{"Resources": {}}')
    user.parent.mkdir()
    user.write_text("regions: [eu-west-1]\n")
    # Then each gives its own key, and the same inputs the same key
    assert len({key, changed, cfn_lint_findings._key('{"Resources": {}}')}) == 3
    assert cfn_lint_findings._key('{"Resources": {}}') == cfn_lint_findings._key('{"Resources": {}}')
