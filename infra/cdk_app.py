"""Builds the CDK app: the one stack from the catalog, checked by cdk-nag's AwsSolutions pack on every synth."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aws_cdk import App, Validations
from cdk_nag import AwsSolutionsChecks

from infra.catalog import CATALOG, ROOT, Catalog
from infra.firm_document import CONFIG_CONTEXT
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
    config = app.node.try_get_context(CONFIG_CONTEXT)
    if config:
        # The firm's settings under the CDK context's own: a `-c connector_erp=...` still wins over the document.
        for name, value in firm_settings(Path(str(config))).items():
            if app.node.try_get_context(name) is None:
                app.node.set_context(name, value)
    stack = BackofficeStack(
        app,
        STACK_NAME,
        catalog=catalog,
        description="Back-office workflow automation: event bus, case workflows, functions, audit trail",
    )
    # cdk-nag 3 is a CDK validation plugin (Validations, not Aspects): unacknowledged errors fail the synth.
    Validations.of(app).add_plugins(AwsSolutionsChecks(app, verbose=True))
    return app, stack


class FirmConfigRefused(Exception):
    """The firm configuration named by ``-c config=FILE`` is invalid: the synth stops, naming each problem."""


def firm_settings(path: Path) -> dict[str, str]:
    """The catalog settings the firm's configuration document sets, validated by the product's own models
    (``backoffice/firm_config.py``) in their own interpreter: the CDK app imports nothing of the product."""
    result = subprocess.run(
        [sys.executable, "-m", "backoffice.firm_config", str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(ROOT / "layers" / "shared" / "python"), str(ROOT)]),
        },
    )
    if result.returncode != 0:
        raise FirmConfigRefused(result.stderr.strip() or f"{path}: the firm configuration check failed")
    settings: dict[str, str] = json.loads(result.stdout)
    return settings


def _default_outdir() -> Path:
    return Path(os.environ.get("CDK_OUTDIR") or ROOT / "cdk.out")


def _cdk_json_context() -> dict[str, Any]:
    context: dict[str, Any] = json.loads(CDK_JSON.read_text()).get("context", {})
    return context
