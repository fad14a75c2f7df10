"""The local gateway under a burst of parallel connections, and the access log of what its edge refuses: what no
function sees (API Gateway's 413, a WAF block, a refused S3 upload) is on record where AWS records it."""

from __future__ import annotations

import http.client
import json
import socket
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from backoffice.local.gateway import S3_ACCESS_STREAM, LocalGateway, edge_records
from backoffice.local.runtime import LocalRuntime
from infra.catalog import CATALOG
from infra.edge import API_MAX_BODY_BYTES

PARALLEL = 50


@pytest.fixture
def quick_gateway() -> Iterator[LocalGateway]:
    """A gateway whose functions answer at once, with the deployed edge's firewall."""

    def invoke(function: str, event: dict[str, Any]) -> tuple[Any, dict[str, Any] | None]:
        return {"statusCode": 200, "headers": {}, "body": f"{event['httpMethod']} done"}, None

    local = LocalGateway(CATALOG, invoke)
    local.start()
    try:
        yield local
    finally:
        local.stop()


def exchange(local: LocalGateway, method: str, ready: threading.Barrier) -> tuple[int, bytes]:
    """Connect, wait until every other client has connected too, then send one request."""
    connection = http.client.HTTPConnection(local.host, local.port, timeout=30)
    connection.connect()
    ready.wait(30)
    body = b"decision=approve" if method == "POST" else None
    headers = {"Content-Type": "application/x-www-form-urlencoded"} if body else {}
    connection.request(method, "/approvals/some-link-id", body=body, headers=headers)
    response = connection.getresponse()
    answer = (response.status, response.read())
    connection.close()
    return answer


def test_fifty_parallel_connections_are_all_answered_none_reset(quick_gateway: LocalGateway) -> None:
    # Given 50 clients that connect at the same moment, half sending GETs and half POSTs
    ready = threading.Barrier(PARALLEL)
    methods = ["GET", "POST"] * (PARALLEL // 2)
    # When they all send their request
    with ThreadPoolExecutor(PARALLEL) as pool:
        answers = list(pool.map(lambda m: exchange(quick_gateway, m, ready), methods))
    # Then every one is answered by its function (no connection reset, no refusal)
    assert answers == [(200, f"{m} done".encode()) for m in methods]


def test_the_listen_backlog_takes_a_burst_before_any_connection_is_accepted(
    quick_gateway: LocalGateway,
) -> None:
    # Given the accept loop is not running, as when every thread is busy
    quick_gateway._server.shutdown()
    sockets = []
    try:
        # When 50 clients connect at once, then the loop resumes
        for _ in range(PARALLEL):
            s = socket.create_connection((quick_gateway.host, quick_gateway.port), timeout=5)
            sockets.append(s)
        thread = threading.Thread(target=quick_gateway._server.serve_forever, daemon=True)
        thread.start()
        for s in sockets:
            s.sendall(b"GET /approvals/x HTTP/1.1\r\nHost: local\r\nConnection: close\r\n\r\n")
        # Then each one is answered
        assert all(s.recv(64).startswith(b"HTTP/1.1 200") for s in sockets)
    finally:
        for s in sockets:
            s.close()


def test_a_post_over_10_mb_is_413_and_on_the_edge_access_log(runtime: LocalRuntime) -> None:
    assert runtime.gateway is not None
    connection = http.client.HTTPConnection(runtime.gateway.host, runtime.gateway.port, timeout=30)
    # When a POST to an approval link announces 10 MB + 1 byte
    connection.putrequest("POST", "/approvals/some-link-id")
    connection.putheader("Content-Type", "application/x-www-form-urlencoded")
    connection.putheader("Content-Length", str(API_MAX_BODY_BYTES + 1))
    connection.putheader("User-Agent", "attack-probe/1.0")
    connection.endheaders()
    response = connection.getresponse()
    # Then API Gateway's 413 comes back and no function ran
    assert response.status == 413
    connection.close()
    assert not [i for i in runtime.lambdas.invocations if i.function == "decide_approval"]
    # And the edge's access log (CloudWatch Logs, as the stage's) has the request, by its resource path only
    [record] = [r for r in edge_records(runtime.client("logs")) if r["status"] == "413"]
    assert record["resourcePath"] == "/approvals/{link_id}" and "some-link-id" not in json.dumps(record)
    assert (record["httpMethod"], record["ip"], record["refusedBy"]) == (
        "POST",
        "127.0.0.1",
        "API Gateway payload quota",
    )


def test_a_refused_s3_browser_upload_is_on_the_s3_access_log(runtime: LocalRuntime) -> None:
    assert runtime.gateway is not None
    # When a browser posts a form without a policy to the documents bucket
    boundary = "b0undary"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="key"\r\n\r\ncases/x/vendor/w9.pdf\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="w9.pdf"\r\n'
        f"Content-Type: application/pdf\r\n\r\n%PDF-1.4\r\n--{boundary}--\r\n"
    ).encode()
    connection = http.client.HTTPConnection(runtime.gateway.host, runtime.gateway.port, timeout=30)
    connection.request(
        "POST",
        f"/_local/s3/{runtime.documents_bucket}",
        body=body,
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}", "User-Agent": "probe/2"},
    )
    assert connection.getresponse().status == 403
    connection.close()
    # Then S3's server access log has the refusal with its error code, address and user agent
    [record] = edge_records(runtime.client("logs"), S3_ACCESS_STREAM)
    assert (record["httpStatus"], record["errorCode"], record["userAgent"]) == (
        403,
        "AccessDenied",
        "probe/2",
    )
    assert record["bucket"] == runtime.documents_bucket and record["remoteIp"] == "127.0.0.1"
