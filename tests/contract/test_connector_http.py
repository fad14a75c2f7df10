"""The one HTTP client of the connectors: correlation ids, call records, timeouts, circuit breaker, concurrency cap."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from backoffice.connectors.circuit_breaker import CircuitBreaker
from backoffice.connectors.http import (
    CORRELATION_HEADER,
    CallRecord,
    ConnectorAuthFailed,
    ConnectorHttp,
    ConnectorRequestRejected,
    Governance,
    HttpResponse,
    call_context,
    error_for_status,
    external_id,
    retry_after_seconds,
)
from backoffice.connectors.oauth import AccessToken, TokenCache
from backoffice.connectors.ports import (
    ConnectorRateLimited,
    ConnectorTimeout,
    ConnectorUnavailable,
    RecordNotFound,
)
from tests.contract.conftest import FAST
from tests.contract.fakes.server import FakeServer, Reply, Request


class EchoFake(FakeServer):
    """Answers 200 with the correlation id it received."""

    def route(self, request: Request) -> Reply:
        return Reply(200, {"correlation_id": request.headers.get(CORRELATION_HEADER)})


@pytest.fixture
def echo() -> Iterator[EchoFake]:
    with EchoFake() as fake:
        yield fake


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_every_call_carries_the_case_correlation_id_and_is_recorded(echo: EchoFake) -> None:
    # Given a handler working for case onboard-006 with a recorder
    recorded: list[CallRecord] = []
    http = ConnectorHttp("crm", FAST)

    # When two calls go out
    with call_context(correlation_id="onboard-006", recorder=recorded.append):
        http.request(
            "GET", echo.url + "/a?token=secret-in-query", operation="get_opportunity", record_id="006X"
        )
        http.request("GET", echo.url + "/b", operation="get_account")

    # Then both carry the case id, and each is recorded with its outcome but not its query string
    assert [r.headers.get(CORRELATION_HEADER) for r in echo.requests] == ["onboard-006", "onboard-006"]
    assert [(c.system, c.operation, c.record_id, c.outcome, c.status) for c in recorded] == [
        ("crm", "get_opportunity", "006X", "ok", 200),
        ("crm", "get_account", None, "ok", 200),
    ]
    assert recorded[0].path == "/a" and all(c.latency_ms >= 0 for c in recorded)


def test_a_call_outside_a_case_gets_a_fresh_correlation_id_and_a_log_line_without_secrets(
    echo: EchoFake, caplog: pytest.LogCaptureFixture
) -> None:
    # Given no call context, and a request with a bearer token
    http = ConnectorHttp("erp", FAST)
    caplog.set_level(logging.INFO, logger="backoffice.connectors.http")

    # When it is sent
    http.request(
        "GET", echo.url + "/x", operation="list_customers", headers={"Authorization": "Bearer tok-SECRET"}
    )

    # Then the server saw a generated correlation id, and the log line names the call but not the token
    assert echo.requests[0].headers.get(CORRELATION_HEADER)
    assert "connector call" in caplog.text
    assert "tok-SECRET" not in caplog.text and all(
        "tok-SECRET" not in str(r.__dict__) for r in caplog.records
    )


def test_no_answer_in_time_is_a_connector_timeout(echo: EchoFake, calls: list[CallRecord]) -> None:
    # Given a system that answers after the read timeout
    echo.inject(delay_seconds=1.0)
    http = ConnectorHttp("psa", Governance(read_timeout_seconds=0.2))

    # When called / Then the failure is the retryable ConnectorTimeout, and recorded as such
    with pytest.raises(ConnectorTimeout) as raised:
        http.request("GET", echo.url + "/slow", operation="allocations")
    assert raised.value.system == "psa"
    assert calls[-1].outcome == "timeout" and calls[-1].status is None


def test_a_refused_connection_is_connector_unavailable() -> None:
    # Given a port nobody listens on (a server started and stopped)
    with EchoFake() as fake:
        url = fake.url
    http = ConnectorHttp("erp", FAST)

    # When called / Then ConnectorUnavailable
    with pytest.raises(ConnectorUnavailable):
        http.request("GET", url + "/x", operation="list_customers")


def test_the_breaker_opens_after_consecutive_failures_and_stops_calling(
    echo: EchoFake, calls: list[CallRecord]
) -> None:
    # Given a system failing with 503 and a breaker opening after 3 failures for 30 s
    clock = FakeClock()
    echo.inject(503, {"error": "down"}, times=10)
    http = ConnectorHttp("erp", Governance(breaker_failures=3, breaker_reset_seconds=30), clock=clock)

    # When 3 calls fail, then a fourth is attempted
    for _ in range(3):
        assert http.request("GET", echo.url + "/x", operation="list_customers").status == 503
    with pytest.raises(ConnectorUnavailable, match="not called"):
        http.request("GET", echo.url + "/x", operation="list_customers")

    # Then the fourth never reached the system, and the record says why
    assert len(echo.requests) == 3
    assert calls[-1].outcome == "circuit_open"


def test_after_the_pause_one_trial_call_closes_the_breaker_when_it_succeeds(echo: EchoFake) -> None:
    # Given an open breaker
    clock = FakeClock()
    echo.inject(500, times=2)
    http = ConnectorHttp("erp", Governance(breaker_failures=2, breaker_reset_seconds=30), clock=clock)
    for _ in range(2):
        http.request("GET", echo.url + "/x", operation="op")
    assert http.governor.breaker.state == "open"

    # When the pause is over and the system is back
    clock.now += 31
    response = http.request("GET", echo.url + "/x", operation="op")

    # Then the trial call went out and the breaker is closed again
    assert response.status == 200 and http.governor.breaker.state == "closed"


def test_a_failed_trial_call_opens_the_breaker_again() -> None:
    # Given a half-open breaker
    clock = FakeClock()
    breaker = CircuitBreaker(failures=1, reset_after_seconds=10, clock=clock)
    breaker.failed()
    clock.now += 11

    # When the trial fails
    breaker.before_call()
    breaker.failed()

    # Then it is open for another pause, and a second caller is refused during the trial
    assert breaker.state == "open"
    clock.now += 11
    breaker.before_call()
    with pytest.raises(Exception, match="circuit open"):
        breaker.before_call()


def test_client_errors_do_not_open_the_breaker(echo: EchoFake) -> None:
    # Given a breaker opening after 2 failures, and a system answering 404 and 429
    echo.inject(404, times=3)
    echo.inject(429, times=3)
    http = ConnectorHttp("crm", Governance(breaker_failures=2))

    # When six such answers come back
    for _ in range(6):
        http.request("GET", echo.url + "/x", operation="op")

    # Then the system is still called: it answered, it is not down
    assert http.governor.breaker.state == "closed"


def test_no_more_calls_are_in_flight_than_the_cap(echo: EchoFake) -> None:
    # Given a cap of 2 concurrent calls and a slow system
    echo.inject(delay_seconds=0.15, times=6)
    http = ConnectorHttp("hris", Governance(max_concurrency=2, slot_wait_seconds=10))
    errors: list[Exception] = []

    def call() -> None:
        try:
            http.request("GET", echo.url + "/x", operation="list_workers")
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    # When six threads call at once
    threads = [threading.Thread(target=call) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    # Then all succeeded, never more than two at a time
    assert not errors
    assert len(echo.requests) == 6 and echo.max_in_flight <= 2


def test_a_call_that_finds_no_free_slot_in_time_is_rate_limited_locally(echo: EchoFake) -> None:
    # Given a cap of 1 and its only slot taken
    http = ConnectorHttp("hris", Governance(max_concurrency=1, slot_wait_seconds=0))
    http.governor.slots.acquire()
    try:
        # When another call comes / Then it is refused as rate limited, without calling
        with pytest.raises(ConnectorRateLimited):
            http.request("GET", echo.url + "/x", operation="list_workers")
    finally:
        http.governor.slots.release()
    assert echo.requests == []


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (429, ConnectorRateLimited),
        (503, ConnectorUnavailable),
        (502, ConnectorUnavailable),
        (404, RecordNotFound),
        (401, ConnectorAuthFailed),
        (422, ConnectorRequestRejected),
    ],
)
def test_http_statuses_become_the_names_the_state_machines_retry_by(
    status: int, error: type[Exception]
) -> None:
    # Given an error answer / When mapped / Then the failure has the port's name and the system
    found = error_for_status(HttpResponse(status, {}), system="erp", operation="get_customer", record_id="C1")
    assert type(found) is error and found.system == "erp"


def test_retry_after_is_read_as_seconds_or_as_an_http_date() -> None:
    # Given Retry-After in both forms RFC 9110 allows
    later = datetime.now(UTC) + timedelta(seconds=120)
    # Then both give seconds to wait
    assert retry_after_seconds(HttpResponse(429, {"retry-after": "7"})) == 7.0
    wait = retry_after_seconds(HttpResponse(429, {"retry-after": format_datetime(later, usegmt=True)}))
    assert wait is not None and 100 < wait <= 120
    assert retry_after_seconds(HttpResponse(429, {"retry-after": "soon"})) is None


def test_a_rate_limit_carries_the_systems_retry_after() -> None:
    found = error_for_status(HttpResponse(429, {"retry-after": "30"}), system="crm", operation="q")
    assert isinstance(found, ConnectorRateLimited) and found.retry_after_seconds == 30.0


def test_a_token_is_fetched_once_and_again_only_when_refused_or_expired() -> None:
    # Given a token source that counts fetches and expires tokens after an hour
    clock = FakeClock()
    issued: list[str] = []

    def fetch() -> AccessToken:
        issued.append(f"t{len(issued) + 1}")
        return AccessToken(issued[-1], expires_at=clock.now + 3600)

    cache = TokenCache(fetch, clock=clock)

    # When used three times, then refused once, then used after expiry
    first = cache.get()
    assert cache.get() is first and cache.get() is first
    cache.invalidate(first)
    second = cache.get()
    clock.now += 3600
    third = cache.get()

    # Then three fetches in all
    assert [first.value, second.value, third.value] == ["t1", "t2", "t3"]


def test_external_ids_are_url_safe_stable_and_distinct() -> None:
    # Given idempotency keys with characters a URL path segment cannot hold
    a, b = external_id("customer#001Dn0000000001"), external_id("customer/001Dn0000000001")
    # Then each maps to a safe, stable value and they stay distinct
    assert a == external_id("customer#001Dn0000000001")
    assert a != b and all(c.isalnum() or c in "-_." for c in a + b)
    assert external_id("project-ok_1.2") == "project-ok_1.2"


@pytest.mark.parametrize(("status", "error"), [(429, ConnectorRateLimited), (503, ConnectorUnavailable)])
def test_retry_after_is_honoured_by_every_caller_until_it_has_passed(
    echo: EchoFake, status: int, error: type[Exception]
) -> None:
    # Given a system answering with Retry-After: 30
    clock = FakeClock()
    echo.inject(status, {"error": "slow down"}, headers={"Retry-After": "30"})
    http = ConnectorHttp("crm", FAST, clock=clock)
    assert http.request("GET", echo.url + "/x", operation="op").status == status

    # When another call comes 10 s later / Then it fails the same way without reaching the system
    clock.now += 10
    with pytest.raises(error) as raised:
        http.request("GET", echo.url + "/x", operation="op")
    assert len(echo.requests) == 1
    if isinstance(raised.value, ConnectorRateLimited):
        assert raised.value.retry_after_seconds == 20

    # And once the wait is over, calls go out again
    clock.now += 21
    assert http.request("GET", echo.url + "/x", operation="op").status == 200
