"""The synth with the firm's configuration (``make synth CONFIG=FILE``, ``cdk synth -c config=FILE``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from infra import cdk_app
from infra.catalog import ROOT

SAMPLE = ROOT / "config" / "sample-firm.json"


class _NoStack:
    """Stands in for the stack: these tests are about the context the stack is built in, not the stack."""

    def __init__(self, scope: Any, construct_id: str, **_: Any) -> None:
        self.scope = scope


def test_an_invalid_configuration_stops_the_synth_naming_each_problem(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a configuration document with an unknown ERP adapter
    document = json.loads(SAMPLE.read_text())
    document["connectors"]["erp"] = "sap"
    path = tmp_path / "firm.json"
    path.write_text(json.dumps(document))
    monkeypatch.setattr(cdk_app, "BackofficeStack", _NoStack)
    # When the app is built with it, then it is refused with the field and the reason, before any stack
    with pytest.raises(
        cdk_app.FirmConfigRefused, match=r"firm.json: connectors.erp: Input should be 'sandbox'"
    ):
        cdk_app.build_app(outdir=tmp_path / "out", context={"config": str(path)})


def test_the_documents_settings_reach_the_stack_and_a_context_setting_still_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a firm that sends from its own address and runs NetSuite, synthesized with -c connector_crm=rest too
    document = json.loads(SAMPLE.read_text())
    document["sender"] = "finance@acme.example"
    document["connectors"]["erp"] = "netsuite"
    path = tmp_path / "firm.json"
    path.write_text(json.dumps(document))
    monkeypatch.setattr(cdk_app, "BackofficeStack", _NoStack)
    # When the app is built
    app, _ = cdk_app.build_app(
        outdir=tmp_path / "out", context={"config": str(path), "connector_crm": "rest"}
    )
    # Then the stack reads the document's settings, and the explicit context where both set one
    context = app.node.try_get_context
    assert (context("approvals_sender"), context("connector_erp"), context("connector_crm")) == (
        "finance@acme.example",
        "netsuite",
        "rest",
    )


def test_the_stack_writes_the_sample_firms_document_to_its_parameter(synthesized: Any) -> None:
    # Given the stack synthesized without a firm configuration
    from infra.firm_document import document_text

    # When looking for the firm's configuration parameter
    (parameter,) = [
        r["Properties"]
        for r in synthesized.of_type("AWS::SSM::Parameter").values()
        if r["Properties"].get("Name") == "/backoffice/firm-config"
    ]
    # Then it holds the sample firm's document, compacted, in a Standard parameter (it fits in 4 KB)
    assert parameter["Value"] == document_text(None)
    assert parameter["Type"] == "String" and parameter["Tier"] == "Standard"


def test_a_document_larger_than_ssm_takes_is_refused_at_synth() -> None:
    from aws_cdk import App, Stack

    from infra.firm_config import FirmConfigParameter

    # Given a document of 9,000 bytes (an Advanced parameter holds 8 KB)
    document = json.dumps({"firm": "x" * 9000})
    # When the stack would write it, then the synth stops saying why
    with pytest.raises(ValueError, match="at most 8192"):
        FirmConfigParameter(
            Stack(App(), "S"), "FirmConfig", name="/backoffice/firm-config", document=document
        )
