"""The one HTTP client of every connector, and the governance every outbound call goes through.

Each call carries a correlation id header (the case id when a handler sets one, else a fresh id), is recorded through
an injected recorder (system, operation, record id, outcome, HTTP status, latency; never a header, body or token),
has connect and read timeouts, and passes a per-system circuit breaker and concurrency cap:

- after ``breaker_failures`` consecutive failures (timeouts, refused connections, 5xx) the breaker opens and calls
  fail at once with ``ConnectorUnavailable`` for ``breaker_reset_seconds``; then one trial call decides whether it
  closes again. A system that is down is not hammered by every retrying state machine at once.
- at most ``max_concurrency`` calls to one system are in flight per process (NetSuite and Salesforce both cap the
  concurrent requests of an account; one runaway thread pool must not exhaust them for the whole firm).
- a 429 or 503 with ``Retry-After`` is honoured: until that time has passed, calls to the system fail at once with
  the same failure (``ConnectorRateLimited`` with the time left, or ``ConnectorUnavailable``) without being sent.

Transport is urllib3 (it ships with botocore, so the Lambda runtime already has it), without its own retries: the
state machines retry by error name with back-off, and two layers of retries multiply.

The module also holds what the adapters share: the failure names raised for HTTP statuses and external ids derived
from idempotency keys. The breaker itself is ``circuit_breaker.py``; OAuth tokens and JWT signing are ``oauth.py``;
the uploader that puts a downloaded file in S3 is ``s3_upload.py``.
"""

from __future__ import annotations

import contextlib
import contextvars
import email.utils
import hashlib
import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlencode, urlsplit

import urllib3
from pydantic import ConfigDict, Field

from backoffice.connectors.circuit_breaker import CircuitBreaker, CircuitOpen
from backoffice.connectors.ports import (
    ConnectorError,
    ConnectorRateLimited,
    ConnectorTimeout,
    ConnectorUnavailable,
    RecordNotFound,
)
from backoffice.models.envelope import Model

if TYPE_CHECKING:
    from backoffice.audit import Actor, AuditTrail

logger = logging.getLogger(__name__)

CORRELATION_HEADER = "X-Correlation-Id"
MAX_RETRY_AFTER_SECONDS = (
    3600.0  # a longer wait asked for is cut to this: the state machines retry later anyway
)

# ------------------------------------------------------------------------------------------------------------
# Failures (beyond the retryable ones of ports.py)
# ------------------------------------------------------------------------------------------------------------


class ConnectorAuthFailed(ConnectorError):
    """The system refused the connector's credentials. Not retryable: a person fixes the integration record."""


class ConnectorRequestRejected(ConnectorError):
    """The system refused the request as invalid (a 4xx other than 401, 404 and 429). Not retryable."""

    def __init__(self, message: str, status: int | None = None, codes: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.status = status
        self.codes = tuple(codes)


class RecordUnmappable(ConnectorError):
    """A record of the system does not fit the canonical model (``errors`` name fields, never values)."""

    def __init__(self, message: str, errors: Sequence[str] = ()) -> None:
        super().__init__(message + (": " + "; ".join(errors) if errors else ""))
        self.errors = list(errors)


class ConnectorNotConfigured(ConnectorError):
    """The configuration does not say how to do this operation with this system."""


def tagged(error: ConnectorError, system: str) -> ConnectorError:
    """The error, marked with the system it came from (``ConnectorError.system``)."""
    error.system = system
    return error


# ------------------------------------------------------------------------------------------------------------
# Governance settings, call records and the call context
# ------------------------------------------------------------------------------------------------------------


class Governance(Model):
    """Limits of the calls to one system; part of each adapter's settings."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    connect_timeout_seconds: float = Field(default=3.05, gt=0, le=60)
    read_timeout_seconds: float = Field(default=20.0, gt=0, le=900)
    max_concurrency: int = Field(default=4, ge=1, le=100)
    # How long a call waits for a free slot before it gives up as rate limited (by us, not by the system).
    slot_wait_seconds: float = Field(default=10.0, ge=0, le=300)
    breaker_failures: int = Field(default=5, ge=1, le=100)
    breaker_reset_seconds: float = Field(default=30.0, gt=0, le=3600)


Outcome = Literal[
    "ok",
    "not_found",
    "rate_limited",
    "unauthorized",
    "rejected",
    "unavailable",
    "timeout",
    "circuit_open",
    "throttled_locally",
]


@dataclass(frozen=True)
class CallRecord:
    """One outbound call as the audit trail and the metrics see it: no URL query, header, body or token."""

    system: str
    operation: str
    method: str
    path: str
    record_id: str | None
    outcome: Outcome
    status: int | None
    latency_ms: int
    correlation_id: str


CallRecorder = Callable[[CallRecord], None]


def log_recorder(record: CallRecord) -> None:
    """The recorder used when a handler sets none: one structured log line per call."""
    logger.info(
        "connector call",
        extra={
            "system": record.system,
            "operation": record.operation,
            "record_id": record.record_id,
            "outcome": record.outcome,
            "status": record.status,
            "latency_ms": record.latency_ms,
            "correlation_id": record.correlation_id,
        },
    )


def audit_recorder(
    trail: AuditTrail, *, case_id: str, workflow: str, step: str, actor: Actor
) -> CallRecorder:
    """A recorder that appends each call to the case's audit trail (for handlers)."""

    def record(call: CallRecord) -> None:
        trail.append(
            case_id=case_id,
            workflow=workflow,
            step=step,
            actor=actor,
            action=f"connector.{call.system}.{call.operation}",
            outcome=call.outcome,
            data={
                "system": call.system,
                "operation": call.operation,
                "method": call.method,
                "path": call.path,
                "record_id": call.record_id,
                "status": call.status,
                "latency_ms": call.latency_ms,
                "correlation_id": call.correlation_id,
            },
        )

    return record


@dataclass(frozen=True)
class CallContext:
    correlation_id: str | None = None
    recorder: CallRecorder | None = None


_CONTEXT: contextvars.ContextVar[CallContext | None] = contextvars.ContextVar(
    "connector_call_context", default=None
)


@contextlib.contextmanager
def call_context(
    *, correlation_id: str | None = None, recorder: CallRecorder | None = None
) -> Iterator[None]:
    """Within the block, calls carry ``correlation_id`` and are recorded by ``recorder``.

    Adapters are built once per container; the case they work for changes with each invocation, so the handler
    says it here rather than at construction.
    """
    token = _CONTEXT.set(CallContext(correlation_id, recorder))
    try:
        yield
    finally:
        _CONTEXT.reset(token)


# ------------------------------------------------------------------------------------------------------------
# The breaker and concurrency cap of each system, one of each per system and process
# ------------------------------------------------------------------------------------------------------------


@dataclass
class SystemGovernor:
    breaker: CircuitBreaker
    slots: threading.BoundedSemaphore
    governance: Governance
    # Set when the system answered 429 or 503 with Retry-After: until then calls fail at once without being sent.
    wait_until: float = 0.0
    wait_status: int = 0


_GOVERNORS: dict[tuple[str, Governance], SystemGovernor] = {}
_GOVERNORS_LOCK = threading.Lock()


def governor_for(
    system: str, governance: Governance, clock: Callable[[], float] = time.monotonic
) -> SystemGovernor:
    """The process-wide breaker and slots of ``system`` under ``governance`` (the CRM and PSA adapters of one
    Salesforce org share them; a new configuration with other limits gets its own)."""
    with _GOVERNORS_LOCK:
        found = _GOVERNORS.get((system, governance))
        if found is None:
            found = SystemGovernor(
                CircuitBreaker(governance.breaker_failures, governance.breaker_reset_seconds, clock),
                threading.BoundedSemaphore(governance.max_concurrency),
                governance,
            )
            _GOVERNORS[(system, governance)] = found
        return found


def reset_governors() -> None:
    """Forget every breaker and cap (tests; a new configuration)."""
    with _GOVERNORS_LOCK:
        _GOVERNORS.clear()


# ------------------------------------------------------------------------------------------------------------
# The client
# ------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: Mapping[str, str]  # names in lower case
    body: bytes = b""

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def json(self) -> Any:
        """The body as JSON; numbers with a fraction become Decimal, so money never passes through a float."""
        if not self.body:
            return None
        try:
            return json.loads(self.body, parse_float=Decimal)
        except ValueError:
            return None


def build_url(base: str, path: str = "", params: Mapping[str, Any] | None = None) -> str:
    url = base.rstrip("/") + "/" + path.lstrip("/") if path else base
    query = {k: v for k, v in (params or {}).items() if v is not None}
    if query:
        url += ("&" if "?" in url else "?") + urlencode(query)
    return url


def same_origin(url: str, base: str) -> bool:
    a, b = urlsplit(url), urlsplit(base)
    return (a.scheme, a.hostname, a.port) == (b.scheme, b.hostname, b.port)


class ConnectorHttp:
    """Sends requests to one system under its governance. Returns every HTTP response; raises only for a call
    that got none (``ConnectorTimeout``, ``ConnectorUnavailable``) or was not sent (circuit open, no slot)."""

    def __init__(
        self,
        system: str,
        governance: Governance | None = None,
        *,
        pool: urllib3.PoolManager | None = None,
        clock: Callable[[], float] = time.monotonic,
        governor: SystemGovernor | None = None,
    ) -> None:
        self.system = system
        self.governance = governance or Governance()
        self.governor = governor or governor_for(system, self.governance, clock)
        self.clock = clock
        self.pool = pool or urllib3.PoolManager(num_pools=4, maxsize=self.governance.max_concurrency)

    def request(
        self,
        method: str,
        url: str,
        *,
        operation: str,
        record_id: str | None = None,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        form: Mapping[str, str] | None = None,
        body: bytes | None = None,
    ) -> HttpResponse:
        context = _CONTEXT.get() or CallContext()
        correlation_id = context.correlation_id or str(uuid.uuid4())
        recorder = context.recorder or log_recorder
        full_url = build_url(url, "", params)
        path = urlsplit(full_url).path
        sent_headers = {CORRELATION_HEADER: correlation_id, **(headers or {})}
        if json_body is not None:
            body = json.dumps(json_body, default=_json_default).encode()
            sent_headers.setdefault("Content-Type", "application/json")
        elif form is not None:
            body = urlencode(form).encode()
            sent_headers.setdefault("Content-Type", "application/x-www-form-urlencoded")

        def record(outcome: Outcome, status: int | None, started: float) -> None:
            recorder(
                CallRecord(
                    system=self.system,
                    operation=operation,
                    method=method,
                    path=path,
                    record_id=record_id,
                    outcome=outcome,
                    status=status,
                    latency_ms=int((self.clock() - started) * 1000),
                    correlation_id=correlation_id,
                )
            )

        started = self.clock()
        waiting = self.governor.wait_until - started
        if waiting > 0:
            record("throttled_locally", None, started)
            asked = f"{self.system}: not called, the system asked to wait {waiting:.0f} s more"
            if self.governor.wait_status == 429:
                raise tagged(ConnectorRateLimited(asked, retry_after_seconds=waiting), self.system)
            raise tagged(ConnectorUnavailable(asked), self.system)
        try:
            self.governor.breaker.before_call()
        except CircuitOpen as error:
            record("circuit_open", None, started)
            raise tagged(
                ConnectorUnavailable(f"{self.system}: not called, {error} after repeated failures"),
                self.system,
            ) from None
        if not self.governor.slots.acquire(timeout=self.governance.slot_wait_seconds):
            self.governor.breaker.call_not_sent()
            record("throttled_locally", None, started)
            raise tagged(
                ConnectorRateLimited(
                    f"{self.system}: {self.governance.max_concurrency} calls already in flight",
                    retry_after_seconds=1.0,
                ),
                self.system,
            )
        try:
            response = self.pool.request(
                method,
                full_url,
                body=body,
                headers=sent_headers,
                timeout=urllib3.Timeout(
                    connect=self.governance.connect_timeout_seconds, read=self.governance.read_timeout_seconds
                ),
                retries=False,
                redirect=False,
                preload_content=True,
            )
        except urllib3.exceptions.NewConnectionError:
            self.governor.breaker.failed()
            record("unavailable", None, started)
            raise tagged(
                ConnectorUnavailable(f"{self.system}: connection refused ({operation})"), self.system
            ) from None
        except urllib3.exceptions.TimeoutError:
            self.governor.breaker.failed()
            record("timeout", None, started)
            raise tagged(
                ConnectorTimeout(f"{self.system}: no answer in time ({operation})"), self.system
            ) from None
        except urllib3.exceptions.HTTPError as error:
            self.governor.breaker.failed()
            record("unavailable", None, started)
            raise tagged(
                ConnectorUnavailable(f"{self.system}: {type(error).__name__} ({operation})"), self.system
            ) from None
        finally:
            self.governor.slots.release()

        status = response.status
        if status >= 500:
            self.governor.breaker.failed()
        else:
            self.governor.breaker.succeeded()
        record(outcome_of(status), status, started)
        answer = HttpResponse(
            status=status,
            headers={k.lower(): v for k, v in response.headers.items()},
            body=response.data or b"",
        )
        if status in (429, 503):
            wait = retry_after_seconds(answer)
            if wait:
                # Honoured for every caller in this process, not only the one the answer reached.
                self.governor.wait_until = self.clock() + min(wait, MAX_RETRY_AFTER_SECONDS)
                self.governor.wait_status = status
        return answer


def outcome_of(status: int) -> Outcome:
    if status < 400:
        return "ok"
    if status == 404:
        return "not_found"
    if status == 429:
        return "rate_limited"
    if status in (401, 403):
        return "unauthorized"
    if status >= 500:
        return "unavailable"
    return "rejected"


def _json_default(value: object) -> object:
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"a value of type {type(value).__name__} has no JSON form")


# ------------------------------------------------------------------------------------------------------------
# From HTTP statuses to the names the state machines retry by
# ------------------------------------------------------------------------------------------------------------


def retry_after_seconds(response: HttpResponse, now: Callable[[], float] = time.time) -> float | None:
    """``Retry-After`` in seconds: delta-seconds or an HTTP date (RFC 9110 10.2.3); None when absent or unreadable."""
    value = response.header("retry-after")
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - now(), 0.0)


def error_for_status(
    response: HttpResponse,
    *,
    system: str,
    operation: str,
    record_id: str | None = None,
    codes: Sequence[str] = (),
) -> ConnectorError:
    """The failure an HTTP error status stands for. ``codes`` are the system's error codes, which the message names
    (never the system's free-text message, which may repeat the values sent, tax ids included)."""
    status = response.status
    what = f"{system} {operation}" + (f" {record_id}" if record_id else "")
    detail = f"HTTP {status}" + (f" {', '.join(codes)}" if codes else "")
    error: ConnectorError
    if status == 429:
        wait = retry_after_seconds(response)
        error = ConnectorRateLimited(f"{what}: rate limited ({detail})", retry_after_seconds=wait)
    elif status >= 500:
        wait = retry_after_seconds(response)
        hint = f"; retry after {wait:.0f} s" if wait is not None else ""
        error = ConnectorUnavailable(f"{what}: unavailable ({detail}{hint})")
    elif status == 404:
        error = RecordNotFound(f"{what}: not found ({detail})")
    elif status in (401, 403):
        error = ConnectorAuthFailed(f"{what}: credentials refused ({detail})")
    else:
        error = ConnectorRequestRejected(f"{what}: refused ({detail})", status, codes)
    return tagged(error, system)


# ------------------------------------------------------------------------------------------------------------
# Helpers shared by adapters
# ------------------------------------------------------------------------------------------------------------

_EXTERNAL_ID_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


def external_id(idempotency_key: str, max_length: int = 80) -> str:
    """The value written to a system's external-id field for an idempotency key: safe in a URL path segment and
    stable (the same key always gives the same value; two keys never share one, thanks to the digest suffix)."""
    safe = _EXTERNAL_ID_UNSAFE.sub("-", idempotency_key)
    if safe == idempotency_key and len(safe) <= max_length:
        return safe
    suffix = hashlib.sha256(idempotency_key.encode()).hexdigest()[:10]
    return safe[: max_length - len(suffix) - 1] + "-" + suffix
