"""Connector configuration: which adapter serves which system, their settings, and their credentials.

- The adapter per system comes from the environment: ``CONNECTOR_CRM=sandbox|salesforce|rest``,
  ``CONNECTOR_ERP=sandbox|netsuite|rest``, ``CONNECTOR_PSA=sandbox|salesforce|rest`` (Salesforce = Certinia),
  ``CONNECTOR_HRIS=sandbox|rest``. Unset means sandbox.
- Connection settings are one JSON document (``ConnectorsConfig``): from the file named by ``CONNECTORS_CONFIG_FILE``
  (local runs), else the SSM parameter named by ``CONNECTORS_CONFIG_PARAMETER`` (AWS; read through Powertools
  Parameters and cached for ``CONNECTOR_CONFIG_MAX_AGE`` seconds, 300 by default). The document holds names of
  secrets, never secrets.
- Credentials are Secrets Manager secrets read by name through Powertools Parameters, cached for
  ``CONNECTOR_SECRETS_MAX_AGE`` seconds (300 by default), so a rotated secret is picked up within minutes and a warm
  container does not call Secrets Manager on every request.

An invalid document fails with ``ConnectorConfigInvalid`` naming each wrong field (never a value).
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import ConfigDict, Field, ValidationError

from backoffice.connectors.generic_rest import RestSettings
from backoffice.connectors.netsuite import NetSuiteSettings
from backoffice.connectors.salesforce_settings import SalesforceSettings
from backoffice.connectors.webhooks import WebhookSource
from backoffice.models import readable_errors
from backoffice.models.envelope import Model

System = Literal["crm", "erp", "psa", "hris"]
ADAPTERS: Mapping[str, frozenset[str]] = {
    "crm": frozenset({"sandbox", "salesforce", "rest"}),
    "erp": frozenset({"sandbox", "netsuite", "rest"}),
    "psa": frozenset({"sandbox", "salesforce", "rest"}),
    "hris": frozenset({"sandbox", "rest"}),
}
DEFAULT_MAX_AGE_SECONDS = 300

SecretSource = Callable[[str], Mapping[str, Any]]


class UnknownConnector(ValueError):
    pass


class ConnectorConfigInvalid(ValueError):
    def __init__(self, where: str, errors: list[str]) -> None:
        self.errors = errors
        super().__init__(f"connector configuration {where} is invalid: " + "; ".join(errors))


class ConnectorsConfig(Model):
    """The connection settings document."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    salesforce: SalesforceSettings | None = None
    netsuite: NetSuiteSettings | None = None
    rest: dict[System, RestSettings] = Field(default_factory=dict)  # one generic REST system per port
    webhooks: dict[str, WebhookSource] = Field(default_factory=dict)  # by the {source} of /webhooks/{source}


def connector_kind(system: str, environ: Mapping[str, str] | None = None) -> str:
    env = os.environ if environ is None else environ
    name = f"CONNECTOR_{system.upper()}"
    kind = env.get(name, "sandbox").strip().lower() or "sandbox"
    allowed = ADAPTERS.get(system)
    if allowed is None:
        raise UnknownConnector(f"no system named {system!r}; one of {sorted(ADAPTERS)}")
    if kind not in allowed:
        raise UnknownConnector(f"{name}={kind!r}: one of {', '.join(sorted(allowed))}")
    return kind


def _max_age(environ: Mapping[str, str], name: str) -> int:
    try:
        return max(int(environ.get(name, DEFAULT_MAX_AGE_SECONDS)), 0)
    except ValueError:
        return DEFAULT_MAX_AGE_SECONDS


def parse_config(document: Any, where: str = "document") -> ConnectorsConfig:
    if isinstance(document, str | bytes):
        try:
            document = json.loads(document)
        except ValueError:
            raise ConnectorConfigInvalid(where, ["the document is not JSON"]) from None
    try:
        return ConnectorsConfig.model_validate(document)
    except ValidationError as error:
        raise ConnectorConfigInvalid(where, readable_errors(error)) from None


_file_cache: dict[str, tuple[float, ConnectorsConfig]] = {}
_file_lock = threading.Lock()


def load_config(environ: Mapping[str, str] | None = None) -> ConnectorsConfig:
    """The document named by the environment; an empty one when none is named (sandbox everywhere)."""
    env = os.environ if environ is None else environ
    path = env.get("CONNECTORS_CONFIG_FILE")
    if path:
        file = Path(path)
        try:
            modified = file.stat().st_mtime
        except OSError:
            raise ConnectorConfigInvalid(path, ["the file cannot be read"]) from None
        with _file_lock:
            cached = _file_cache.get(path)
            if cached is None or cached[0] != modified:
                cached = (modified, parse_config(file.read_text(encoding="utf-8"), path))
                _file_cache[path] = cached
            return cached[1]
    parameter = env.get("CONNECTORS_CONFIG_PARAMETER")
    if parameter:
        from aws_lambda_powertools.utilities import parameters

        raw = parameters.get_parameter(parameter, max_age=_max_age(env, "CONNECTOR_CONFIG_MAX_AGE"))
        return parse_config(raw, parameter)
    return ConnectorsConfig()


def secrets_manager(environ: Mapping[str, str] | None = None) -> SecretSource:
    """Reads a secret by name (Powertools Parameters, cached): JSON secrets as dicts, plain text as ``{"value": ...}``."""
    env = os.environ if environ is None else environ
    max_age = _max_age(env, "CONNECTOR_SECRETS_MAX_AGE")

    def read(name: str) -> Mapping[str, Any]:
        from aws_lambda_powertools.utilities import parameters

        text = parameters.get_secret(name, max_age=max_age)
        try:
            value = json.loads(text)
        except ValueError:
            return {"value": text}
        return value if isinstance(value, dict) else {"value": text}

    return read


def secret_text(name: str, environ: Mapping[str, str] | None = None) -> str:
    """A secret's text as stored (webhook secrets, which may be plain text or JSON)."""
    from aws_lambda_powertools.utilities import parameters

    env = os.environ if environ is None else environ
    return str(parameters.get_secret(name, max_age=_max_age(env, "CONNECTOR_SECRETS_MAX_AGE")))


def bound(source: SecretSource, name: str) -> Callable[[], Mapping[str, Any]]:
    """A credentials reader for one secret: adapters read it when they need a token, not once at start."""
    return lambda: source(name)
