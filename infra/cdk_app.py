"""Builds the CDK app: the one stack from the catalog, checked by cdk-nag's AwsSolutions pack on every synth."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aws_cdk import App, Validations
from cdk_nag import AwsSolutionsChecks

from infra.catalog import CATALOG, ROOT, Catalog
from infra.outputs import STACK_NAME
from infra.stack import BackofficeStack

CDK_JSON = ROOT / "cdk.json"


def build_app(
    *, outdir: Path | None = None, catalog: Catalog = CATALOG, context: Mapping[str, Any] | None = None
) -> tuple[App, BackofficeStack]:
    """The app and its stack, ready for ``app.synth()``.

    Run as ``python app.py`` (``make synth``) the app reads the context in ``cdk.json`` itself, as the CDK CLI
    would, and writes ``cdk.out/`` at the repository root instead of a temporary directory. Under the CLI, its
    own context and output directory win. ``context`` adds to ``cdk.json``'s as ``cdk synth -c`` would (tests
    pass it here: the CLI's ``CDK_CONTEXT_JSON`` is read once, when jsii starts its Node process).
    """
    app = App(outdir=str(outdir or _default_outdir()), context={**_cdk_json_context(), **(context or {})})
    stack = BackofficeStack(
        app,
        STACK_NAME,
        catalog=catalog,
        description="Back-office workflow automation: event bus, case workflows, functions, audit trail",
    )
    # cdk-nag 3 is a CDK validation plugin (Validations, not Aspects): unacknowledged errors fail the synth.
    Validations.of(app).add_plugins(AwsSolutionsChecks(app, verbose=True))
    return app, stack


def _default_outdir() -> Path:
    return Path(os.environ.get("CDK_OUTDIR") or ROOT / "cdk.out")


def _cdk_json_context() -> dict[str, Any]:
    context: dict[str, Any] = json.loads(CDK_JSON.read_text()).get("context", {})
    return context
