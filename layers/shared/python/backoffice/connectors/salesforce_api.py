"""Salesforce's REST API: authenticated calls to one org, SOQL paging, idempotent creates and bulk updates.

- Reads: records by id (``GET /services/data/vXX.X/sobjects/<object>/<id>?fields=...``) and SOQL
  (``GET .../query?q=...``), following ``nextRecordsUrl`` until ``done``.
- Creates are idempotent through an external-id field the firm adds to each object written (default
  ``Backoffice_Key__c``, Text, External ID, Unique): the record is looked up by it and, when absent, created with an
  upsert (``PATCH .../sobjects/<object>/<field>/<value>``), so a retried Lambda never makes a second record and a
  record people have edited since is not written over.
- Updates go through sObject Collections (``PATCH .../composite/sobjects``, 200 records a call, all or none).
- Auth: OAuth 2.0 client credentials (the connected app's secret, against the org's My Domain) or the JWT bearer
  flow (RS256, the connected app's certificate); the token is cached and fetched again on 401 INVALID_SESSION_ID.
- ``Sforce-Limit-Info`` (``api-usage=18/5000``) is parsed from every response into ``SalesforceApi.api_usage`` and
  passed to an optional ``on_api_usage`` callback (for a metric).
- Failures: 429 and 403 REQUEST_LIMIT_EXCEEDED -> ``ConnectorRateLimited``, 503 and other 5xx ->
  ``ConnectorUnavailable``, timeouts -> ``ConnectorTimeout``, 404 -> ``RecordNotFound``.

The ports on it: the CRM in ``salesforce_crm``, the PSA for firms on Certinia in ``salesforce_psa``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from backoffice.connectors.http import (
    ConnectorAuthFailed,
    ConnectorHttp,
    ConnectorRequestRejected,
    HttpResponse,
    RecordUnmappable,
    error_for_status,
    external_id,
    retry_after_seconds,
    same_origin,
    tagged,
)
from backoffice.connectors.oauth import (
    AccessToken,
    TokenCache,
    client_credentials_token,
    sign_jwt,
    token_from_response,
)
from backoffice.connectors.ports import ConnectorError, ConnectorRateLimited, Created, RecordNotFound
from backoffice.connectors.salesforce_settings import SalesforceSettings

SYSTEM = "salesforce"
SALESFORCE_ID = re.compile(r"^[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?$")


@dataclass(frozen=True)
class ApiUsage:
    """``Sforce-Limit-Info``: the org's daily API requests used and allowed, and per connected app if given."""

    used: int
    limit: int
    per_app: Mapping[str, tuple[int, int]] = field(default_factory=dict)

    @property
    def remaining(self) -> int:
        return max(self.limit - self.used, 0)


def parse_limit_info(header: str | None) -> ApiUsage | None:
    """``api-usage=18/5000; per-app-api-usage=17/250(appName=sample-connected-app)`` -> ``ApiUsage``."""
    if not header:
        return None
    used = limit = None
    per_app: dict[str, tuple[int, int]] = {}
    for part in header.split(";"):
        name, _, value = part.strip().partition("=")
        found = re.match(r"^\s*(\d+)/(\d+)(?:\(appName=([^)]*)\))?", value)
        if not found:
            continue
        if name == "api-usage":
            used, limit = int(found[1]), int(found[2])
        elif name == "per-app-api-usage" and found[3]:
            per_app[found[3]] = (int(found[1]), int(found[2]))
    if used is None or limit is None:
        return None
    return ApiUsage(used, limit, per_app)


def soql_literal(value: str) -> str:
    """A SOQL string literal: quotes and backslashes escaped as SOQL requires, so a value cannot end the string."""
    escaped = (
        value.replace("\\", "\\\\")
        .replace("'", "\\'")
        .replace('"', '\\"')
        .replace("\n", "\\n")
        .replace("\r", "\\r")
        .replace("\t", "\\t")
    )
    return f"'{escaped}'"


def salesforce_id(value: str, what: str) -> str:
    """``value`` if it is a Salesforce id (15 or 18 letters and digits), else ``RecordNotFound`` without a call."""
    if not SALESFORCE_ID.match(value):
        raise tagged(RecordNotFound(f"{what} id is not a Salesforce id"), SYSTEM)
    return value


def _codes(body: Any) -> list[str]:
    if isinstance(body, list):
        return [
            str(item.get("errorCode")) for item in body if isinstance(item, dict) and item.get("errorCode")
        ]
    if isinstance(body, dict) and body.get("error"):
        return [str(body["error"])]
    return []


class SalesforceApi:
    """Authenticated REST calls to one org."""

    def __init__(
        self,
        settings: SalesforceSettings,
        credentials: Callable[[], Mapping[str, Any]],
        *,
        http: ConnectorHttp | None = None,
        clock: Callable[[], float] = time.time,
        on_api_usage: Callable[[ApiUsage], None] | None = None,
    ) -> None:
        self.settings = settings
        self.credentials = credentials
        self.http = http or ConnectorHttp(SYSTEM, settings.governance)
        self.clock = clock
        self.on_api_usage = on_api_usage
        self.tokens = TokenCache(self._fetch_token, clock=clock)
        self.api_usage: ApiUsage | None = None

    # -- auth ---------------------------------------------------------------------------------------------------

    def _fetch_token(self) -> AccessToken:
        settings = self.settings
        token_url = settings.login_url.rstrip("/") + "/services/oauth2/token"
        secret = self.credentials()
        if settings.auth == "client_credentials":
            return client_credentials_token(
                self.http,
                token_url,
                client_id=settings.client_id,
                client_secret=str(secret["client_secret"]),
                clock=self.clock,
            )
        now = int(self.clock())
        assertion = sign_jwt(
            {
                "iss": settings.client_id,
                "sub": settings.username,
                "aud": settings.jwt_audience or settings.login_url.rstrip("/"),
                "exp": now + 180,  # Salesforce accepts at most 3 minutes
            },
            str(secret["private_key_pem"]),
            "RS256",
        )
        response = self.http.request(
            "POST",
            token_url,
            operation="oauth.token",
            headers={"Accept": "application/json"},
            form={"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": assertion},
        )
        return token_from_response(response, system=SYSTEM, clock=self.clock)

    def _instance(self, token: AccessToken) -> str:
        instance = self.settings.instance_url or token.extras.get("instance_url")
        if not instance:
            raise tagged(ConnectorAuthFailed("salesforce: the token response names no instance_url"), SYSTEM)
        return instance.rstrip("/")

    # -- calls --------------------------------------------------------------------------------------------------

    def call(
        self,
        method: str,
        path: str,
        *,
        operation: str,
        record_id: str | None = None,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        allow: Sequence[int] = (),
    ) -> HttpResponse:
        """``path`` below ``/services/data/vXX.X`` or absolute from the instance (``/services/...``, as
        ``nextRecordsUrl`` is). Statuses in ``allow`` are returned instead of raised."""
        for attempt in (1, 2):
            token = self.tokens.get()
            instance = self._instance(token)
            if path.startswith("/services/"):
                url = instance + path
            else:
                url = f"{instance}/services/data/{self.settings.api_version}/{path.lstrip('/')}"
            if not same_origin(url, instance):
                raise tagged(
                    ConnectorRequestRejected("salesforce: a link leads off the org's instance"), SYSTEM
                )
            response = self.http.request(
                method,
                url,
                operation=operation,
                record_id=record_id,
                params=params,
                json_body=json_body,
                headers={"Authorization": f"Bearer {token.value}", "Accept": "application/json"},
            )
            self._note_usage(response)
            if response.status < 300 or response.status in allow:
                return response
            codes = _codes(response.json())
            if response.status == 401 and attempt == 1:
                # The session expired or was revoked: one new token, one more try.
                self.tokens.invalidate(token)
                continue
            raise self._error(response, operation, record_id, codes)
        raise AssertionError("unreachable")

    def _error(
        self, response: HttpResponse, operation: str, record_id: str | None, codes: list[str]
    ) -> ConnectorError:
        if response.status == 403 and "REQUEST_LIMIT_EXCEEDED" in codes:
            return tagged(
                ConnectorRateLimited(
                    f"salesforce {operation}: the org's API request limit is used up (REQUEST_LIMIT_EXCEEDED)",
                    retry_after_seconds=retry_after_seconds(response),
                ),
                SYSTEM,
            )
        return error_for_status(
            response, system=SYSTEM, operation=operation, record_id=record_id, codes=codes
        )

    def _note_usage(self, response: HttpResponse) -> None:
        usage = parse_limit_info(response.header("sforce-limit-info"))
        if usage is not None:
            self.api_usage = usage
            if self.on_api_usage is not None:
                self.on_api_usage(usage)

    def get_record(
        self, sobject: str, record_id: str, fields: Sequence[str], *, operation: str
    ) -> dict[str, Any]:
        response = self.call(
            "GET",
            f"sobjects/{sobject}/{quote(record_id, safe='')}",
            operation=operation,
            record_id=record_id,
            params={"fields": ",".join(fields)},
        )
        body = response.json()
        if not isinstance(body, dict):
            raise tagged(RecordUnmappable(f"salesforce {operation}: the response is not a record"), SYSTEM)
        return body

    def query_page(
        self, soql: str | None = None, *, next_url: str | None = None, operation: str
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One batch of a SOQL query, and the ``nextRecordsUrl`` of the next one (None when ``done``)."""
        if next_url is not None:
            response = self.call("GET", next_url, operation=operation)
        else:
            response = self.call("GET", "query", operation=operation, params={"q": soql})
        body = response.json() or {}
        records = [r for r in body.get("records", []) if isinstance(r, dict)]
        following = None if body.get("done", True) else body.get("nextRecordsUrl")
        return records, following

    def query(self, soql: str, *, operation: str) -> Iterator[dict[str, Any]]:
        records, following = self.query_page(soql, operation=operation)
        yield from records
        while following:
            records, following = self.query_page(next_url=following, operation=operation)
            yield from records

    def create_once(
        self, sobject: str, idempotency_key: str, body: Mapping[str, Any], *, operation: str
    ) -> Created:
        """The record keyed by ``idempotency_key`` in the external-id field: found, or created by upsert."""
        field_name = self.settings.external_id_field
        key = external_id(idempotency_key)
        path = f"sobjects/{sobject}/{field_name}/{quote(key, safe='')}"
        found = self.call(
            "GET", path, operation=operation, record_id=key, params={"fields": "Id"}, allow=(404,)
        )
        if found.status == 200:
            return Created(str((found.json() or {})["Id"]), created=False, details={"external_id": key})
        response = self.call("PATCH", path, operation=operation, record_id=key, json_body=dict(body))
        result = response.json() or {}
        if response.status == 201:
            return Created(str(result["id"]), created=True, details={"external_id": key})
        if response.status == 200 and result.get("id"):
            # Another caller created it between our look-up and our upsert: the upsert updated that record.
            return Created(
                str(result["id"]), created=bool(result.get("created")), details={"external_id": key}
            )
        # API versions before 46.0 answer an update with 204 and no body.
        again = self.call("GET", path, operation=operation, record_id=key, params={"fields": "Id"})
        return Created(str((again.json() or {})["Id"]), created=False, details={"external_id": key})

    def update_records(
        self, sobject: str, changes: Mapping[str, Mapping[str, Any]], *, operation: str
    ) -> None:
        """Update records by id (``changes``: id -> fields) through sObject Collections, 200 a call, all or none."""
        items = list(changes.items())
        for start in range(0, len(items), 200):
            batch = items[start : start + 200]
            response = self.call(
                "PATCH",
                "composite/sobjects",
                operation=operation,
                json_body={
                    "allOrNone": True,
                    "records": [
                        {"attributes": {"type": sobject}, "id": record_id, **fields}
                        for record_id, fields in batch
                    ],
                },
            )
            results = response.json()
            failed = (
                [r for r in results if isinstance(r, dict) and not r.get("success")]
                if isinstance(results, list)
                else []
            )
            if failed:
                codes = sorted(
                    {
                        str(e.get("statusCode"))
                        for r in failed
                        for e in r.get("errors") or []
                        if isinstance(e, dict) and e.get("statusCode")
                    }
                )
                raise tagged(
                    ConnectorRequestRejected(
                        f"salesforce {operation}: {len(failed)} {sobject} records refused ({', '.join(codes)})",
                        response.status,
                        codes,
                    ),
                    SYSTEM,
                )

    def records_by_id(
        self, sobject: str, ids: Iterable[str], fields: Sequence[str], *, operation: str
    ) -> dict[str, dict[str, Any]]:
        """The records with these ids (missing ones are absent), queried 200 ids at a time."""
        wanted = sorted(set(ids))
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(wanted), 200):
            batch = ", ".join(soql_literal(i) for i in wanted[start : start + 200])
            for record in self.query(
                f"SELECT {', '.join(fields)} FROM {sobject} WHERE Id IN ({batch})", operation=operation
            ):
                found[str(record["Id"])] = record
        return found

    def download(self, path: str, *, operation: str, record_id: str) -> bytes:
        return self.call("GET", path, operation=operation, record_id=record_id).body
