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
