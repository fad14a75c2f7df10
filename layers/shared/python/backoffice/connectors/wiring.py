"""Which adapter serves which system: configuration (``CONNECTOR_CRM`` and friends), sandbox by default.

Real adapters are built once per container and reused, so their tokens, circuit breakers and concurrency caps
outlive one invocation; the sandbox adapters are cheap and built per call, as before. ``configure`` replaces the
configuration document and the secret source (tests, the local runtime against fake servers); ``reset`` forgets
the adapters built so far.
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING, Any

from backoffice import aws
from backoffice.connectors import config
from backoffice.connectors.config import (
    ConnectorConfigInvalid,
    ConnectorsConfig,
    SecretSource,
    UnknownConnector,
)
from backoffice.connectors.generic_rest import NoAuth, RestConnector
from backoffice.connectors.netsuite import NetSuiteApi, NetSuiteErp
from backoffice.connectors.ports import (
    CloseCrmPort,
    CloseErpPort,
    ClosePsaPort,
    CrmPort,
    ErpPort,
    HrisPort,
    ProjectBudgetPsaPort,
    PsaPort,
    PurchasingErpPort,
    ReceivablesErpPort,
    ResourcePsaPort,
    RevenueErpPort,
    RevenuePsaPort,
    TimeExpensePsaPort,
)
from backoffice.connectors.s3_upload import DocumentUploader, S3DocumentUploader
from backoffice.connectors.salesforce_api import SalesforceApi
from backoffice.connectors.salesforce_crm import SalesforceCrm
from backoffice.connectors.salesforce_psa import CertiniaPsa
from backoffice.connectors.sandbox import SandboxCrm, SandboxErp, SandboxHris, SandboxPsa, SandboxStore
from backoffice.models import Document, DocumentType

__all__ = ["UnknownConnector", "configure", "crm", "erp", "hris", "psa", "reset"]

_lock = threading.RLock()
_built: dict[tuple[str, str], Any] = {}
_config_override: ConnectorsConfig | None = None
_secrets_override: SecretSource | None = None


def configure(document: ConnectorsConfig | None = None, secrets: SecretSource | None = None) -> None:
    """Use ``document`` and ``secrets`` instead of the environment's (None: back to the environment)."""
    global _config_override, _secrets_override
    with _lock:
        _config_override, _secrets_override = document, secrets
        _built.clear()


def reset() -> None:
    with _lock:
        _built.clear()


def _kind(system: str) -> str:
    return config.connector_kind(system)


def _store() -> SandboxStore:
    return SandboxStore(os.environ["SANDBOX_TABLE_NAME"], aws.client("dynamodb"))


class _DocumentsBucket:
    """The product's documents bucket, resolved when a file is stored (the environment may change in tests)."""

    def upload(
        self, *, key: str, content: bytes, content_type: str, file_name: str, document_type: DocumentType
    ) -> Document:
        uploader = S3DocumentUploader(aws.client("s3"), os.environ["DOCUMENTS_BUCKET_NAME"])
        return uploader.upload(
            key=key,
            content=content,
            content_type=content_type,
            file_name=file_name,
            document_type=document_type,
        )


def _document() -> ConnectorsConfig:
    return _config_override if _config_override is not None else config.load_config()


def _secrets() -> SecretSource:
    return _secrets_override if _secrets_override is not None else config.secrets_manager()


def _salesforce_api() -> SalesforceApi:
    with _lock:
        key = ("api", "salesforce")
        if key not in _built:
            settings = _document().salesforce
            if settings is None:
                raise ConnectorConfigInvalid("document", ["salesforce: the section is missing"])
            _built[key] = SalesforceApi(settings, config.bound(_secrets(), settings.secret_name))
        api: SalesforceApi = _built[key]
        return api


def _rest(system: str) -> RestConnector:
    settings = {str(k): v for k, v in _document().rest.items()}.get(system)
    if settings is None:
        raise ConnectorConfigInvalid("document", [f"rest.{system}: the section is missing"])
    auth = settings.auth
    credentials = None if isinstance(auth, NoAuth) else config.bound(_secrets(), auth.secret_name)
    uploader: DocumentUploader = _DocumentsBucket()
    return RestConnector(settings, credentials, uploader=uploader)


def _adapter(system: str, kind: str) -> Any:
    with _lock:
        key = (system, kind)
        if key in _built:
            return _built[key]
        adapter: Any
        if kind == "salesforce":
            adapter = (
                SalesforceCrm(_salesforce_api(), _DocumentsBucket())
                if system == "crm"
                else CertiniaPsa(_salesforce_api())
            )
        elif kind == "netsuite":
            settings = _document().netsuite
            if settings is None:
                raise ConnectorConfigInvalid("document", ["netsuite: the section is missing"])
            adapter = NetSuiteErp(NetSuiteApi(settings, config.bound(_secrets(), settings.secret_name)))
        elif kind == "rest":
            adapter = _rest(system)
        else:
            raise UnknownConnector(f"CONNECTOR_{system.upper()}={kind!r}")
        _built[key] = adapter
        return adapter


def crm() -> CrmPort:
    kind = _kind("crm")
    if kind == "sandbox":
        return SandboxCrm(_store())
    port: CrmPort = _adapter("crm", kind)
    return port


def erp() -> ErpPort:
    kind = _kind("erp")
    if kind == "sandbox":
        return SandboxErp(_store())
    port: ErpPort = _adapter("erp", kind)
    return port


def psa() -> PsaPort:
    kind = _kind("psa")
    if kind == "sandbox":
        return SandboxPsa(_store())
    port: PsaPort = _adapter("psa", kind)
    return port


def close_erp() -> CloseErpPort:
    """The ERP as the finance close reads it: every ERP adapter serves it (``_CLOSE_ERPS``)."""
    kind = _kind("erp")
    if kind == "sandbox":
        return SandboxErp(_store())
    port: CloseErpPort = _adapter("erp", kind)
    return port


def close_crm() -> CloseCrmPort | None:
    """The CRM as the finance close reads it (``_CLOSE_CRMS``), or None when it lists no accounts: a generic REST
    CRM whose document has no ``list_accounts`` operation. The reconciliation then compares the PSA and the ERP
    alone and says the CRM was not read."""
    kind = _kind("crm")
    if kind == "sandbox":
        return SandboxCrm(_store())
    port: CloseCrmPort = _adapter("crm", kind)
    if isinstance(port, RestConnector) and "list_accounts" not in port.settings.operations:
        return None
    return port


def close_psa() -> ClosePsaPort:
    """The PSA as the finance close reads it: every PSA adapter serves it (``_CLOSE_PSAS``)."""
    kind = _kind("psa")
    if kind == "sandbox":
        return SandboxPsa(_store())
    port: ClosePsaPort = _adapter("psa", kind)
    return port


def revenue_psa() -> RevenuePsaPort:
    """The PSA as revenue recognition reads it: every PSA adapter serves it (``_REVENUE_PSAS``; a generic REST
    document without ``project_estimate`` refuses the read by name)."""
    kind = _kind("psa")
    if kind == "sandbox":
        return SandboxPsa(_store())
    port: RevenuePsaPort = _adapter("psa", kind)
    return port


def revenue_erp() -> RevenueErpPort:
    """The ERP as revenue recognition books in it: every ERP adapter serves it (``_REVENUE_ERPS``; a generic REST
    document without ``post_journal_entry`` refuses the posting by name)."""
    kind = _kind("erp")
    if kind == "sandbox":
        return SandboxErp(_store())
    port: RevenueErpPort = _adapter("erp", kind)
    return port


def receivables_erp() -> ReceivablesErpPort:
    """The ERP as the receivables ledger reads it: the payments and credit memos applied to invoices
    (``_RECEIVABLES_ERPS``; a generic REST document without ``list_payments`` refuses the read by name)."""
    kind = _kind("erp")
    if kind == "sandbox":
        return SandboxErp(_store())
    port: ReceivablesErpPort = _adapter("erp", kind)
    return port


def time_expense_psa() -> TimeExpensePsaPort:
    """The PSA as the weekly time and expense review approves lines in it (``_TIME_EXPENSE_PSAS``)."""
    kind = _kind("psa")
    if kind == "sandbox":
        return SandboxPsa(_store())
    port: TimeExpensePsaPort = _adapter("psa", kind)
    return port


# -- purchasing ----


def purchasing_erp() -> PurchasingErpPort:
    """The ERP as purchase approval issues purchase orders in it (``_PURCHASING_ERPS``)."""
    kind = _kind("erp")
    if kind == "sandbox":
        return SandboxErp(_store())
    port: PurchasingErpPort = _adapter("erp", kind)
    return port


def project_budget_psa() -> ProjectBudgetPsaPort:
    """The PSA as purchase approval reads a project's budget in it (``_PROJECT_BUDGET_PSAS``)."""
    kind = _kind("psa")
    if kind == "sandbox":
        return SandboxPsa(_store())
    port: ProjectBudgetPsaPort = _adapter("psa", kind)
    return port


def hris() -> HrisPort:
    kind = _kind("hris")
    if kind == "sandbox":
        return SandboxHris(_store())
    port: HrisPort = _adapter("hris", kind)
    return port


# -- resource onboarding (issue #22) ----------------------------------------------------------------------------


def resource_psa() -> ResourcePsaPort:
    """The PSA as resource onboarding sets up a new hire in it (``_RESOURCE_PSAS``)."""
    kind = _kind("psa")
    if kind == "sandbox":
        return SandboxPsa(_store())
    port: ResourcePsaPort = _adapter("psa", kind)
    return port


if TYPE_CHECKING:
    # Each adapter must keep up with its ports as they grow: mypy checks these assignments structurally.
    _CRMS: tuple[type[CrmPort], ...] = (SandboxCrm, SalesforceCrm, RestConnector)
    _ERPS: tuple[type[ErpPort], ...] = (SandboxErp, NetSuiteErp, RestConnector)
    _PSAS: tuple[type[PsaPort], ...] = (SandboxPsa, CertiniaPsa, RestConnector)
    _HRISES: tuple[type[HrisPort], ...] = (SandboxHris, RestConnector)
    _CLOSE_ERPS: tuple[type[CloseErpPort], ...] = (SandboxErp, NetSuiteErp, RestConnector)
    _CLOSE_PSAS: tuple[type[ClosePsaPort], ...] = (SandboxPsa, CertiniaPsa, RestConnector)
    _CLOSE_CRMS: tuple[type[CloseCrmPort], ...] = (SandboxCrm, SalesforceCrm, RestConnector)
    _REVENUE_PSAS: tuple[type[RevenuePsaPort], ...] = (SandboxPsa, CertiniaPsa, RestConnector)
    _REVENUE_ERPS: tuple[type[RevenueErpPort], ...] = (SandboxErp, NetSuiteErp, RestConnector)
    _RECEIVABLES_ERPS: tuple[type[ReceivablesErpPort], ...] = (SandboxErp, NetSuiteErp, RestConnector)
    _TIME_EXPENSE_PSAS: tuple[type[TimeExpensePsaPort], ...] = (SandboxPsa, CertiniaPsa, RestConnector)
    # -- purchasing ----
    _PURCHASING_ERPS: tuple[type[PurchasingErpPort], ...] = (SandboxErp, NetSuiteErp, RestConnector)
    _PROJECT_BUDGET_PSAS: tuple[type[ProjectBudgetPsaPort], ...] = (SandboxPsa, CertiniaPsa, RestConnector)
    _RESOURCE_PSAS: tuple[type[ResourcePsaPort], ...] = (SandboxPsa, CertiniaPsa, RestConnector)
