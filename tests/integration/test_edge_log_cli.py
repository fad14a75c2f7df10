"""``backoffice edge`` against a running ``backoffice serve``: what the edge refused before any function ran is
listed from its access log, as an operator reads API Gateway's access log and S3's access logs in AWS."""

from __future__ import annotations

import http.client
import json

from infra.edge import API_MAX_BODY_BYTES
from tests.integration import test_local_server_cli as served

server = served.server  # the fixture: a real ``backoffice serve`` process


def test_a_post_over_10_mb_to_a_served_gateway_is_listed_by_backoffice_edge(server: str) -> None:
    port = int(server.rsplit(":", 1)[1]) + 1  # the server's API gateway listens next to it
    # When a POST announcing 10 MB + 1 byte reaches an upload link
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.putrequest("POST", "/uploads/some-link-id")
    connection.putheader("Content-Length", str(API_MAX_BODY_BYTES + 1))
    connection.endheaders()
    assert connection.getresponse().status == 413
    connection.close()
    # Then the operator's command lists it by resource path, with the quota that refused it
    listed = served.cli(server, "edge")
    assert listed.returncode == 0, listed.stderr
    assert "POST /uploads/{link_id} 413 (API Gateway payload quota)" in listed.stdout
    assert "some-link-id" not in listed.stdout
    [record] = json.loads(served.cli(server, "edge", "--json").stdout)["api"]
    assert (record["status"], record["ip"]) == ("413", "127.0.0.1")
