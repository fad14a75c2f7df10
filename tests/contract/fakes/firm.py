"""The sample firm's systems as fake vendors: Salesforce + Certinia (CRM, PSA), NetSuite (ERP), a REST HRIS.

``sample_firm_systems`` starts the three fakes on 127.0.0.1, seeds them with the data ``seed_sample_firm`` gives
the sandbox (customers, workers, allocations, project templates, vendors, payroll records), and yields the connector
document, a secret source and the ``CONNECTOR_*`` environment that point the real adapters at them. With
``wiring.configure(systems.document, systems.secrets)`` and that environment, the workflows run unchanged against
the fakes; seed each deal with ``systems.salesforce.seed_deal(deal)``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any

from backoffice.connectors.config import ConnectorsConfig
from backoffice.connectors.http import Governance
from backoffice.onboarding.sample_firm import (
    sample_allocations,
    sample_clients,
    sample_project_templates,
    sample_workers,
)
from backoffice.vendors.sample_vendors import existing_employees, existing_vendors
from tests.contract.fakes.jwt_check import new_rsa_key
from tests.contract.fakes.netsuite_fake import NetSuiteFake
from tests.contract.fakes.rest_fake import RestFake, example_document
from tests.contract.fakes.salesforce_fake import SalesforceFake

ERP_CUSTOMER_FIELD = "ERP_Customer_Id__c"
ENVIRONMENT = {
    "CONNECTOR_CRM": "salesforce",
    "CONNECTOR_PSA": "salesforce",
    "CONNECTOR_ERP": "netsuite",
    "CONNECTOR_HRIS": "rest",
}


@dataclass
class SampleFirmSystems:
    salesforce: SalesforceFake
    netsuite: NetSuiteFake
    hris: RestFake
    document: ConnectorsConfig
    secret_values: dict[str, dict[str, Any]]
    environment: Mapping[str, str]
    netsuite_ids: dict[str, str]  # sample customer id -> NetSuite internal id
    netsuite_vendor_ids: dict[str, str]  # sample vendor id -> NetSuite internal id

    def secrets(self, name: str) -> Mapping[str, Any]:
        return self.secret_values[name]


@contextmanager
def sample_firm_systems(governance: Governance | None = None) -> Iterator[SampleFirmSystems]:
    private_pem, public_pem = new_rsa_key()
    limits = (governance or Governance(connect_timeout_seconds=1.0, read_timeout_seconds=5.0)).model_dump()
    with ExitStack() as stack:
        salesforce = stack.enter_context(SalesforceFake(public_key_pem=public_pem))
        netsuite = stack.enter_context(NetSuiteFake(public_key_pem=public_pem))
        hris = stack.enter_context(RestFake())
        workers = sample_workers()
        salesforce.seed_allocations(sample_allocations(workers))
        netsuite_ids = netsuite.seed_clients(sample_clients())
        netsuite_vendor_ids = netsuite.seed_vendors(existing_vendors())
        hris.seed_workers(workers)
        hris.seed_employee_records(existing_employees())
        document = ConnectorsConfig.model_validate(
            {
                "salesforce": {
                    "auth": "jwt_bearer",
                    "login_url": salesforce.url,
                    "client_id": salesforce.client_id,
                    "username": salesforce.username,
                    "secret_name": "fake/salesforce",
                    "governance": limits,
                    "certinia": {
                        "project_templates": [t.to_json_dict() for t in sample_project_templates()],
                        # The project keeps the ERP's customer id, as the sandbox PSA does.
                        "erp_customer_field": ERP_CUSTOMER_FIELD,
                    },
                },
                "netsuite": {
                    "account_id": netsuite.account_id,
                    "base_url": netsuite.url,
                    "auth": "m2m",
                    "client_id": netsuite.client_id,
                    "certificate_id": netsuite.certificate_id,
                    "secret_name": "fake/netsuite",
                    "governance": limits,
                    # Tax ids in NetSuite's own fields, so customer matching and duplicate-vendor checks see them.
                    "customer_tax_id_field": "vatRegNumber",
                    "vendor_tax_id_field": "taxIdNum",
                },
                "rest": {"hris": {**example_document(hris.url), "governance": limits}},
            }
        )
        yield SampleFirmSystems(
            salesforce=salesforce,
            netsuite=netsuite,
            hris=hris,
            document=document,
            secret_values={
                "fake/salesforce": {"private_key_pem": private_pem},
                "fake/netsuite": {"private_key_pem": private_pem},
                "backoffice/connectors/peoplehr": {"api_key": hris.api_key},
            },
            environment=dict(ENVIRONMENT),
            netsuite_ids=netsuite_ids,
            netsuite_vendor_ids=netsuite_vendor_ids,
        )
