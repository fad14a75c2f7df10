"""The CDK app, synthesized once per test session: every infra test reads the same cloud assembly."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk.assertions import Template
from synthesized_stack import Synthesized

from infra.cdk_app import build_app


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    # Given the app built from the catalog, synthesized into a private directory (make synth owns cdk.out/).
    # Synth runs cdk-nag: an unacknowledged AwsSolutions error fails right here, with the report in the error.
    outdir = tmp_path_factory.mktemp("cdk.out")
    app, stack = build_app(outdir=outdir)
    app.synth()
    # Template.from_stack reuses the assembly synthesized above instead of synthesizing again.
    return Synthesized(app=app, stack=stack, template=Template.from_stack(stack), outdir=outdir)


@pytest.fixture(scope="session")
def stack_template() -> dict[str, Any]:
    """The stack's template as ``make synth`` writes it, from the cache the local runtime's IAM reads.

    Shared across test workers and with the local-runtime tests: synthesized once per change of ``infra/``,
    ``app.py``, ``cdk.json`` or the state machines, not once per worker. Tests that only read the template
    (policies, cfn-lint) use it; tests that need the constructs use ``synthesized``.
    """
    from backoffice.local.template import synthesized_template

    return synthesized_template()
