"""Configuration: the adapter per system from CONNECTOR_*, settings from a file or SSM, secrets from Secrets Manager."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from backoffice import aws
from backoffice.connectors import config, wiring
from backoffice.connectors.config import ConnectorConfigInvalid, UnknownConnector
from backoffice.connectors.generic_rest import RestConnector
from backoffice.connectors.netsuite import NetSuiteErp
from backoffice.connectors.salesforce_crm import SalesforceCrm
from backoffice.connectors.salesforce_psa import CertiniaPsa
from backoffice.connectors.sandbox import SandboxCrm
from backoffice.local.samples import Deal, new_client
from backoffice.onboarding.sample_firm import sample_workers
from tests.contract.fakes.rest_fake import RestFake, example_document
from tests.contract.fakes.salesforce_fake import SalesforceFake


@pytest.fixture(autouse=True)
def clean_wiring(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in (
        "CONNECTOR_CRM",
        "CONNECTOR_ERP",
        "CONNECTOR_PSA",
        "CONNECTOR_HRIS",
        "CONNECTORS_CONFIG_PARAMETER",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SANDBOX_TABLE_NAME", "sandbox")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    wiring.configure()
    yield
    wiring.configure()


def write(tmp_path: Path, document: dict[str, Any]) -> str:
    path = tmp_path / "connectors.json"
    path.write_text(json.dumps(document))
    return str(path)


def salesforce_section(url: str) -> dict[str, Any]:
    return {
        "auth": "client_credentials",
        "login_url": url,
        "client_id": "3MVG9fake.client",
        "secret_name": "backoffice/connectors/salesforce",
    }


def test_without_configuration_every_system_is_the_sandbox() -> None:
    # Given no CONNECTOR_* variables / Then the sandbox serves, as before this release
    assert isinstance(wiring.crm(), SandboxCrm)
    assert [config.connector_kind(s) for s in ("crm", "erp", "psa", "hris")] == ["sandbox"] * 4


@pytest.mark.parametrize(("name", "value"), [("CONNECTOR_CRM", "hubspot"), ("CONNECTOR_HRIS", "salesforce")])
def test_an_adapter_a_system_cannot_have_is_refused_by_name(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(UnknownConnector, match=f"{name}='{value}'"):
        getattr(wiring, name.removeprefix("CONNECTOR_").lower())()


def test_salesforce_serves_the_crm_and_certinia_the_psa_with_one_login(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Given the org configured for both the CRM and the PSA
    with SalesforceFake() as fake:
        deal = Deal(index=8, client=new_client(8), with_sow=False)
        fake.seed_deal(deal)
        monkeypatch.setenv(
            "CONNECTORS_CONFIG_FILE", write(tmp_path, {"salesforce": salesforce_section(fake.url)})
        )
        monkeypatch.setenv("CONNECTOR_CRM", "salesforce")
        monkeypatch.setenv("CONNECTOR_PSA", "salesforce")
        wiring.configure(secrets=lambda name: {"client_secret": fake.client_secret})

        # When the workflows ask for their ports and use them
        crm, psa = wiring.crm(), wiring.psa()
        crm.get_opportunity(deal.opportunity_id)
        found = psa.find_project_by_opportunity(deal.opportunity_id)

        # Then both are the Salesforce adapters, built once, sharing one token
        assert isinstance(crm, SalesforceCrm) and isinstance(psa, CertiniaPsa) and found is None
        assert wiring.crm() is crm
        assert len(fake.requests_to("/services/oauth2/token")) == 1


def test_a_generic_rest_hris_is_wired_from_the_document(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Given the firm's HRIS document under rest.hris
    with RestFake() as fake:
        fake.seed_workers(sample_workers())
        monkeypatch.setenv(
            "CONNECTORS_CONFIG_FILE", write(tmp_path, {"rest": {"hris": example_document(fake.url)}})
        )
        monkeypatch.setenv("CONNECTOR_HRIS", "rest")
        wiring.configure(secrets=lambda name: {"api_key": fake.api_key})

        # When the staffing step's port lists workers
        hris = wiring.hris()
        page = hris.list_workers()

    # Then the generic adapter served them
    assert isinstance(hris, RestConnector) and page.items == sample_workers()[:15]


def test_a_system_whose_section_is_missing_says_so(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CONNECTORS_CONFIG_FILE", write(tmp_path, {}))
    monkeypatch.setenv("CONNECTOR_ERP", "netsuite")
    with pytest.raises(ConnectorConfigInvalid, match="netsuite: the section is missing"):
        wiring.erp()


def test_an_invalid_document_names_each_wrong_field_without_values(tmp_path: Path) -> None:
    # Given a NetSuite section with a bad auth and a secret pasted where its name belongs
    document = {
        "netsuite": {"account_id": "1234567", "auth": "password", "secret_name": ""},
        "extra": {"x": 1},
    }
    # When loaded / Then every problem is named by its location
    with pytest.raises(ConnectorConfigInvalid) as raised:
        config.load_config({"CONNECTORS_CONFIG_FILE": write(tmp_path, document)})
    text = str(raised.value)
    assert "netsuite.auth" in text and "netsuite.secret_name" in text and "extra" in text
    assert "password" not in text


def test_the_document_is_read_again_when_the_file_changes(tmp_path: Path) -> None:
    path = write(tmp_path, {})
    assert config.load_config({"CONNECTORS_CONFIG_FILE": path}).netsuite is None
    Path(path).write_text(
        json.dumps({"webhooks": {}, "salesforce": salesforce_section("https://x.my.salesforce.com")})
    )
    import os

    os.utime(path, (1, 1))  # a different modification time, whatever the clock's resolution
    assert config.load_config({"CONNECTORS_CONFIG_FILE": path}).salesforce is not None


def test_in_aws_the_document_comes_from_ssm_and_secrets_from_secrets_manager(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given the document in an SSM parameter and the credentials in Secrets Manager
    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(key, value)
    from aws_lambda_powertools.utilities import parameters
    from aws_lambda_powertools.utilities.parameters import base

    with mock_aws():
        aws.reset_clients()
        parameters.clear_caches()
        base.DEFAULT_PROVIDERS.clear()
        boto3.client("ssm").put_parameter(
            Name="/backoffice/connectors",
            Type="String",
            Value=json.dumps({"salesforce": salesforce_section("https://meridian.my.salesforce.com")}),
        )
        boto3.client("secretsmanager").create_secret(
            Name="backoffice/connectors/salesforce", SecretString=json.dumps({"client_secret": "s3cr3t"})
        )
        boto3.client("secretsmanager").create_secret(
            Name="backoffice/webhooks/crm", SecretString="whsec_plain"
        )

        # When read the way the handlers do
        document = config.load_config({"CONNECTORS_CONFIG_PARAMETER": "/backoffice/connectors"})
        secrets = config.secrets_manager({})

        # Then both are there: JSON secrets as dicts, plain ones under "value"
        assert document.salesforce is not None and document.salesforce.login_url.startswith(
            "https://meridian"
        )
        assert secrets("backoffice/connectors/salesforce") == {"client_secret": "s3cr3t"}
        assert secrets("backoffice/webhooks/crm") == {"value": "whsec_plain"}
        assert config.secret_text("backoffice/webhooks/crm") == "whsec_plain"
        parameters.clear_caches()
        base.DEFAULT_PROVIDERS.clear()
    aws.reset_clients()


def test_a_netsuite_erp_is_built_from_its_section(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    document = {
        "netsuite": {
            "account_id": "1234567_SB1",
            "auth": "tba",
            "secret_name": "backoffice/connectors/netsuite",
        }
    }
    monkeypatch.setenv("CONNECTORS_CONFIG_FILE", write(tmp_path, document))
    monkeypatch.setenv("CONNECTOR_ERP", "netsuite")
    erp = wiring.erp()
    assert isinstance(erp, NetSuiteErp)
    assert erp.api.settings.url == "https://1234567-sb1.suitetalk.api.netsuite.com"
    assert erp.api.settings.realm == "1234567_SB1"
