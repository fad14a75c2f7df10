"""``python -m infra.assembly``: synthesize the app into ``$CDK_OUTDIR`` and write what CDK and cdk-nag found.

The cached synth (``backoffice/local/template.py``) runs this in its own interpreter, so the local runtime's IAM
and the infra tests read one cloud assembly per change instead of each test worker synthesizing its own. Beside
the assembly it writes ``checks.json``: every cdk-nag AwsSolutions finding left unacknowledged (errors fail the
synth already; warnings do not) and CDK's own error and warning annotations, which the infra tests assert empty.
``BACKOFFICE_SYNTH_CONTEXT`` (a JSON object) adds CDK context, as ``cdk synth -c`` does: the tests' variants of the
stack (Bedrock turned on) are synthesized this way, once per change.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

CHECKS = "checks.json"
CONTEXT_VARIABLE = "BACKOFFICE_SYNTH_CONTEXT"  # JSON object: context added as `cdk synth -c name=value` would


def main() -> None:
    from aws_cdk.assertions import Annotations, Match
    from cdk_nag import AwsSolutionsChecks

    from infra.cdk_app import build_app

    app, stack = build_app(context=json.loads(os.environ.get(CONTEXT_VARIABLE) or "{}"))
    app.synth()
    report = AwsSolutionsChecks(verbose=True).validate_scope(app)
    annotations = Annotations.from_stack(stack)
    checks: dict[str, Any] = {
        "artifact_id": stack.artifact_id,
        "cdk_nag": [
            f"{violation.severity} {violation.rule_name} at {resource.construct_path}"
            for violation in report.violations
            for resource in violation.violating_resources
        ],
        "errors": [_message(m) for m in annotations.find_error("*", Match.any_value())],
        "warnings": [_message(m) for m in annotations.find_warning("*", Match.any_value())],
    }
    (Path(os.environ["CDK_OUTDIR"]) / CHECKS).write_text(json.dumps(checks, indent=1))


def _message(message: Any) -> str:
    return f"{message.id}: {message.entry.data}"


if __name__ == "__main__":
    main()
