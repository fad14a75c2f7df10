"""The firm's configuration document (backoffice/firm_config.py) and ``backoffice config validate``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from backoffice.cli.main import main
from backoffice.firm_config import FirmConfigInvalid, load_firm_config, parse_firm_config
from infra.catalog import CATALOG, ROOT

SAMPLE = ROOT / "config" / "sample-firm.json"


def test_the_sample_firms_document_is_valid_and_sets_the_catalogs_settings() -> None:
    # Given the sample firm's configuration document
    # When it is read
    config = load_firm_config(SAMPLE)
    # Then it is the sample firm's: its sender and adapters are the catalog's defaults, with its approvers
    settings = config.settings()
    assert settings["approvals_sender"] == CATALOG.settings["approvals_sender"]
    assert {k: v for k, v in settings.items() if k.startswith("connector_")} == {
        k: v for k, v in CATALOG.settings.items() if k.startswith("connector_")
    }
    assert config.approval_policy is not None and config.approval_policy.routes


def test_an_invalid_document_names_each_field_and_its_reason() -> None:
    # Given a document with a wrong address, an unknown ERP and a negative tolerance, and an unknown key
    document = {
        "firm": "Acme",
        "sender": "billing at acme",
        "connectors": {"erp": "sap"},
        "billing_policy": {"rate_tolerance": -1},
        "colour": "blue",
    }
    # When it is validated
    with pytest.raises(FirmConfigInvalid) as refused:
        parse_firm_config(document, "acme.json")
    # Then each problem is one line: where, then why
    problems = refused.value.problems
    assert "sender: is not an e-mail address" in problems
    assert any(
        p.startswith("connectors.erp: Input should be 'sandbox', 'netsuite' or 'rest'") for p in problems
    )
    assert any(p.startswith("billing_policy.rate_tolerance: ") for p in problems)
    assert any(p.startswith("colour: Extra inputs are not permitted") for p in problems)


def test_the_contract_risk_vendor_and_sanctions_sections_are_checked_like_the_rest() -> None:
    # Given a document whose contract risk, vendor and sanctions sections each have a mistake
    document = {
        **json.loads(SAMPLE.read_text()),
        "contract_risk_policy": {"min_liability_cap_months": 0, "disabled_rules": ["no_such_rule"]},
        "vendor_policy": {"sanctions_threshold": 1.5},
        "sanctions_list": {"urls": {"sdn.csv": "http://mirror.example/sdn.csv"}},
    }
    # When it is validated / Then each is named with its reason
    with pytest.raises(FirmConfigInvalid) as refused:
        parse_firm_config(document, "firm.json")
    problems = refused.value.problems
    assert any(p.startswith("contract_risk_policy.min_liability_cap_months: ") for p in problems)
    assert any(p.startswith("contract_risk_policy.disabled_rules.") for p in problems)
    assert any(p.startswith("vendor_policy.sanctions_threshold: ") for p in problems)
    assert any(p.startswith("sanctions_list.urls: alt.csv, add.csv missing") for p in problems)


def test_the_billing_policy_setting_is_what_the_billing_steps_read(tmp_path: Path) -> None:
    # Given a firm that bills approved time only and allows 2 cents of rounding per hour
    document = json.loads(SAMPLE.read_text())
    document["billing_policy"] = {"bill_submitted_lines": False, "rate_tolerance": "0.02"}
    path = tmp_path / "firm.json"
    path.write_text(json.dumps(document))
    # When its settings are made
    setting = load_firm_config(path).settings()["billing_policy"]
    # Then the BILLING_POLICY the billing steps parse says so
    from backoffice.invoicing.policy import BillingPolicy

    policy = BillingPolicy.model_validate_json(setting)
    assert (policy.bill_submitted_lines, str(policy.rate_tolerance)) == (False, "0.02")


def test_config_validate_says_valid_or_lists_the_problems(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the sample document and a broken one
    broken = tmp_path / "broken.json"
    broken.write_text('{"firm": "Acme", "sender": "nobody"}')
    # When each is validated from the command line
    valid_exit = main(["config", "validate", str(SAMPLE)])
    valid_out = capsys.readouterr().out
    broken_exit = main(["config", "validate", str(broken)])
    broken_err = capsys.readouterr().err
    # Then the sample is valid (exit 0) and the broken one exits 1 naming the field
    assert valid_exit == 0 and "valid: Example Firm LLP" in valid_out
    assert broken_exit == 1
    assert broken_err.strip().splitlines() == [
        f"{broken}: sender: is not an e-mail address",
        f"{broken}: approval_policy: Field required",
    ]
