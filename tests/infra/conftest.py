"""The CDK app, synthesized once per change (not per session or worker): every infra test reads the same cloud
assembly, the one the local runtime's IAM reads too."""

from __future__ import annotations

from typing import Any

import pytest
from synthesized_stack import Synthesized


@pytest.fixture(scope="session")
def synthesized() -> Synthesized:
    # Given the app built from the catalog and synthesized (make synth owns cdk.out/; this is .local/synth/'s).
    # Synth runs cdk-nag: an unacknowledged AwsSolutions error fails right here, with the report in the error.
    from backoffice.local.template import synthesized_assembly

    return Synthesized(outdir=synthesized_assembly())


@pytest.fixture(scope="session")
def stack_template() -> dict[str, Any]:
    """The stack's template as ``make synth`` writes it, from the cache the local runtime's IAM reads.

    Shared across test workers and with the local-runtime tests: synthesized once per change of ``infra/``,
    ``app.py``, ``cdk.json`` or the state machines, not once per worker. Tests that only read the template
    (policies, cfn-lint) use it; tests that read the staged assets or the synth's checks use ``synthesized``.
    """
    from backoffice.local.template import synthesized_template

    return synthesized_template()
