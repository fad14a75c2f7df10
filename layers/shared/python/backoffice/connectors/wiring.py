"""Which adapter serves which system: configuration (``CONNECTOR_CRM`` and friends), sandbox by default."""

from __future__ import annotations

import os

from backoffice import aws
from backoffice.connectors.ports import CrmPort, ErpPort, HrisPort, PsaPort
from backoffice.connectors.sandbox import SandboxCrm, SandboxErp, SandboxHris, SandboxPsa, SandboxStore


class UnknownConnector(ValueError):
    pass


def _kind(system: str) -> str:
    kind = os.environ.get(f"CONNECTOR_{system.upper()}", "sandbox")
    if kind != "sandbox":
        raise UnknownConnector(
            f"CONNECTOR_{system.upper()}={kind!r}: only 'sandbox' is available in this release"
        )
    return kind


def _store() -> SandboxStore:
    return SandboxStore(os.environ["SANDBOX_TABLE_NAME"], aws.client("dynamodb"))


def crm() -> CrmPort:
    _kind("crm")
    return SandboxCrm(_store())


def erp() -> ErpPort:
    _kind("erp")
    return SandboxErp(_store())


def psa() -> PsaPort:
    _kind("psa")
    return SandboxPsa(_store())


def hris() -> HrisPort:
    _kind("hris")
    return SandboxHris(_store())
