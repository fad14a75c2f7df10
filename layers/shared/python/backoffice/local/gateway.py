"""The local stand-in for API Gateway and its WAF web ACL: the catalog's API routes on 127.0.0.1, served by the
real handlers, refused where AWS would refuse them.

Each HTTP request to an API route goes through what the deployed edge does, in this order: API Gateway's 10 MB
body quota (413, read from Content-Length, the body left unread), the web ACL of ``infra/edge.py`` (the same
description ``infra/api.py`` builds the ACL from: the per-address rate limit and the body limits, answered 403 as
API Gateway answers a WAF block), then the REST API proxy event API Gateway would send (path parameters, query
string, headers, source IP, body) to the route's function through the in-process Lambda path the state machines
use, with API Gateway's 29 s integration timeout (504). The managed rule groups' pattern rules (SQL injection,
cross-site scripting, known bad inputs) are not emulated; their body size rule is.

``/_local/s3/<bucket>`` is S3's browser upload (``local/s3_post.py``), outside the API's edge as S3 is. Extra pages
(the operator console, local schedules) can be mounted with ``mount``; they are local tools, not the API, so the
edge does not apply to them.

What the edge refuses never reaches a function, so it cannot be on a case's audit trail; in AWS it is in the
stage's access log (``infra/api.py``: one JSON line per request, resource path never request path, so link ids
stay out) and S3's server access logs. The gateway writes the same records to CloudWatch Logs (``EdgeLog``: the
``api-access`` stream with the stage's fields plus the refusing quota or WAF rule, the ``s3-access`` stream for
refused browser uploads), which ``backoffice edge`` lists. It listens with a backlog of ``LISTEN_BACKLOG`` and a
thread per connection, so a burst of parallel requests queues instead of being reset.
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from backoffice.local.iam import IamEnforcer
from backoffice.local.s3_get import LocalS3Get, PresignedGets, is_s3_get
from backoffice.local.s3_post import PATH_PREFIX, LocalS3Post, PresignedPosts, is_s3_post
from infra.catalog import ApiRoute, Catalog
from infra.edge import (
    API_BINARY_MEDIA_TYPES,
    API_INTEGRATION_TIMEOUT_SECONDS,
    API_MAX_BODY_BYTES,
    FIREWALL,
    Firewall,
    RateLimit,
)

Invoke = Callable[[str, dict[str, Any]], tuple[Any, dict[str, Any] | None]]
# A mounted page: (method, path, query, body) -> (status, headers, body bytes), or None when it does not handle it.
Mounted = Callable[[str, str, dict[str, list[str]], bytes], tuple[int, dict[str, str], bytes] | None]
Answer = tuple[int, dict[str, str], bytes]

BINARY_MEDIA_TYPES = API_BINARY_MEDIA_TYPES
# A refused body this small is read and dropped so the connection can serve the next request; a larger one is
# never read, and the connection is closed instead.
_DRAIN_LIMIT = 64 * 1024
_JSON = {"Content-Type": "application/json"}
# socketserver's default listen backlog is 5: a burst of parallel connections overflowed it before the accept loop
# caught up (connection resets under 20 clients; connects past the 6th stall while the loop is busy). The kernel
# caps the value at net.core.somaxconn.
LISTEN_BACKLOG = 512
EDGE_LOG_GROUP = "/local/backoffice/edge"
API_ACCESS_STREAM = "api-access"
S3_ACCESS_STREAM = "s3-access"
_S3_ERROR_CODE = re.compile(rb"<Code>([^<]*)</Code>")


class _Server(ThreadingHTTPServer):
    request_queue_size = LISTEN_BACKLOG
    daemon_threads = True


class EdgeLog:
    """The edge's access logs in CloudWatch Logs, as API Gateway's stage writes them (and S3's server access log,
    for refused browser uploads): one JSON record per request, refusals named by the quota or rule that refused."""

    def __init__(self, logs: Callable[[], Any] | None, group: str = EDGE_LOG_GROUP) -> None:
        """``logs``: the CloudWatch Logs client factory; None keeps the records in memory only (a gateway
        started without a runtime has no AWS to write to)."""
        self._logs, self.group = logs, group
        self._lock = threading.Lock()
        self._streams: set[str] = set()
        self.records: list[tuple[str, dict[str, Any]]] = []

    def write(self, stream: str, record: dict[str, Any]) -> None:
        line = json.dumps(record, sort_keys=True)
        with self._lock:  # one writer at a time keeps each stream's events in order
            if self._logs is None:
                self.records.append((stream, record))
                return
            logs = self._logs()
            if stream not in self._streams:
                for create in (
                    lambda: logs.create_log_group(logGroupName=self.group),
                    lambda: logs.create_log_stream(logGroupName=self.group, logStreamName=stream),
                ):
                    with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
                        create()
                self._streams.add(stream)
            logs.put_log_events(
                logGroupName=self.group,
                logStreamName=stream,
                logEvents=[{"timestamp": int(time.time() * 1000), "message": line}],
            )


def edge_records(
    logs: Any, stream: str = API_ACCESS_STREAM, group: str = EDGE_LOG_GROUP
) -> list[dict[str, Any]]:
    """The records of one edge log stream, oldest first (none when the gateway has written none)."""
    try:
        events = logs.get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True)["events"]
    except logs.exceptions.ResourceNotFoundException:
        return []
    return [json.loads(e["message"]) for e in events]


def _compile(route: ApiRoute) -> re.Pattern[str]:
    pattern = re.sub(r"\\\{([A-Za-z_][A-Za-z0-9_]*)\\\}", r"(?P<\1>[^/]+)", re.escape(route.path))
    return re.compile(f"^{pattern}$")


class RateCounter:
    """WAF's rate-based rule: the requests of one address in the trailing 5 minutes, blocked above the limit."""

    WINDOW_SECONDS = 300.0

    def __init__(self, limit: RateLimit, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self._clock = clock
        self._seen: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def over_limit(self, address: str) -> bool:
        now = self._clock()
        with self._lock:
            seen = self._seen.setdefault(address, deque())
            seen.append(now)
            while seen and seen[0] <= now - self.WINDOW_SECONDS:
                seen.popleft()
            return len(seen) > self.limit.requests_per_5_minutes


class LocalGateway:
    def __init__(
        self,
        catalog: Catalog,
        invoke: Invoke,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        firewall: Firewall = FIREWALL,
        max_body_bytes: int = API_MAX_BODY_BYTES,
        integration_timeout_seconds: float = API_INTEGRATION_TIMEOUT_SECONDS,
        iam: Callable[[], IamEnforcer | None] = lambda: None,
        s3: Callable[[], Any] | None = None,
        logs: Callable[[], Any] | None = None,
    ) -> None:
        """``iam``: the runtime's IAM enforcer (presigned POSTs are authorized against their signer's role);
        ``s3``: the client S3 browser uploads are stored with (default: the process's shared client);
        ``logs``: the CloudWatch Logs client the edge's access logs go to (default: kept in memory)."""
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError("the local gateway only listens on the loopback interface")
        self._routes = [(route, _compile(route)) for route in catalog.api_routes]
        self._invoke = invoke
        self._mounted: list[Mounted] = []
        self.firewall = firewall
        self.max_body_bytes = max_body_bytes
        self.integration_timeout_seconds = integration_timeout_seconds
        self.rate = RateCounter(firewall.rate_limit)
        self.presigned_posts = PresignedPosts()
        self.s3_post = LocalS3Post(self.presigned_posts, iam=iam, s3=s3 or _shared_s3)
        # Presigned GETs (a report link's redirect) open here, checked as S3 checks them (local/s3_get.py).
        self.presigned_gets = PresignedGets()
        self.s3_get = LocalS3Get(self.presigned_gets, iam=iam, s3=s3 or _shared_s3)
        self.blocked: list[str] = []  # the edge's refusals, "<status> <rule or quota> <path>"
        self.edge_log = EdgeLog(logs)
        self._request = threading.local()  # what the access log needs to know of the request being answered
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                gateway._serve(self, "GET")

            def do_HEAD(self) -> None:
                gateway._serve(self, "HEAD")

            def do_POST(self) -> None:
                gateway._serve(self, "POST")

            def log_message(self, format: str, *args: Any) -> None:
                # Access logs would hold approval link ids: keep them off, as on the API Gateway stage.
                return

        self._server = _Server((host, port), Handler)
        self.host, self.port = host, int(self._server.server_address[1])
        self.url = f"http://{host}:{self.port}"
        self._thread: threading.Thread | None = None

    def mount(self, page: Mounted) -> None:
        self._mounted.append(page)

    def start(self) -> None:
        # Forms a handler signs from now on post to this gateway's S3 endpoint.
        self.presigned_posts.install(self.url)
        self.presigned_gets.install(self.url)
        # serve_forever checks for shutdown every poll_interval (0.5 s by default): stopping a runtime waited that long.
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.02},
            name="local-gateway",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        self.presigned_posts.uninstall()
        self.presigned_gets.uninstall()
        self._server.shutdown()
        self._server.server_close()

    # -- requests -----------------------------------------------------------------------------------------------

    def _serve(self, request: BaseHTTPRequestHandler, method: str) -> None:
        body = _Body(request)
        self._request.__dict__.clear()
        started = datetime.now(UTC)
        try:
            status, headers, payload = self._answer(request, method, body)
        except Exception as error:  # the gateway answers 502 as API Gateway does when the integration fails
            status, headers = 502, dict(_JSON)
            payload = json.dumps({"message": "Internal server error", "type": type(error).__name__}).encode()
        try:
            self._log(request, method, started, status, payload)
        except Exception as error:  # a failed log write must not change the answer
            self.blocked.append(f"access log not written: {type(error).__name__}: {error}")
        body.finish()
        request.send_response(status)
        for key, value in headers.items():
            request.send_header(key, value)
        request.send_header("Content-Length", str(len(payload)))
        if request.close_connection:
            request.send_header("Connection", "close")
        request.end_headers()
        if method != "HEAD":
            request.wfile.write(payload)

    def _answer(self, request: BaseHTTPRequestHandler, method: str, body: _Body) -> Answer:
        parts = urlsplit(request.path)
        path = parts.path
        query = parse_qs(parts.query, keep_blank_values=True)
        if method == "POST" and is_s3_post(path):
            self._request.s3_bucket = path[len(PATH_PREFIX) :].strip("/")
            return self.s3_post.handle(path, dict(request.headers.items()), body.read)
        if is_s3_get(method, path):
            self._request.s3_bucket = path[len(PATH_PREFIX) :].split("/", 1)[0]
            self._request.s3_operation = f"REST.{method}.OBJECT"
            return self.s3_get.handle(path, parts.query)
        resource = next((route.path for route, pattern in self._routes if pattern.match(path)), None)
        if resource is None:
            return self._mounted_page(method, path, query, body)
        self._request.resource_path = resource
        refused = self._edge(request, path, body)
        if refused is not None:
            return refused
        data = body.read(body.length)
        for route, pattern in self._routes:
            match = pattern.match(path)
            if match and route.method == method:
                return self._call_with_timeout(route, request, method, path, match.groupdict(), query, data)
        # API Gateway's answer to a method the resource does not have.
        return (
            403,
            {**_JSON, "x-amzn-ErrorType": "MissingAuthenticationTokenException"},
            (b'{"message":"Missing Authentication Token"}'),
        )

    def _edge(self, request: BaseHTTPRequestHandler, path: str, body: _Body) -> Answer | None:
        """What refuses the request before any function runs: API Gateway's body quota, then the web ACL."""
        if body.chunked:
            return self._refuse(411, "Content-Length", path, {"message": "Length Required"})
        if body.length > self.max_body_bytes:
            return self._refuse(413, "API Gateway payload quota", path, {"message": "Request Too Long"})
        address = str(request.client_address[0])
        rate = self.firewall.rate_limit
        if self.rate.over_limit(address):
            return self._waf_block(rate.name, path)
        limit = self.firewall.body_limit(path)
        if limit is not None and body.length > limit.max_bytes:
            return self._waf_block(limit.name, path)
        return None

    def _waf_block(self, rule: str, path: str) -> Answer:
        # API Gateway's answer when its web ACL blocks a request; the rule's name is a local-only aid.
        status, headers, payload = self._refuse(403, rule, path, {"message": "Forbidden"})
        return (
            status,
            {**headers, "x-amzn-ErrorType": "ForbiddenException", "x-local-waf-rule": rule},
            payload,
        )

    def _refuse(self, status: int, why: str, path: str, message: dict[str, str]) -> Answer:
        self.blocked.append(f"{status} {why} {path}")
        self._request.refused_by = why
        return status, dict(_JSON), json.dumps(message).encode()

    def _mounted_page(self, method: str, path: str, query: dict[str, list[str]], body: _Body) -> Answer:
        if body.chunked or body.length > self.max_body_bytes:
            return 413, dict(_JSON), b'{"message":"Request Too Long"}'
        data = body.read(body.length)
        for page in self._mounted:
            answer = page(method, path, query, data)
            if answer is not None:
                return answer
        return 404, dict(_JSON), b'{"message":"Not Found"}'

    def _call_with_timeout(
        self,
        route: ApiRoute,
        request: BaseHTTPRequestHandler,
        method: str,
        path: str,
        path_parameters: dict[str, str],
        query: dict[str, list[str]],
        body: bytes,
    ) -> Answer:
        """The integration runs on its own thread; past the timeout API Gateway answers 504 and the function
        runs on to its end, as a Lambda does."""
        outcome: list[Answer | BaseException] = []

        def run() -> None:
            try:
                outcome.append(self._call(route, request, method, path, path_parameters, query, body))
            except BaseException as error:  # handed to the request's thread
                outcome.append(error)

        worker = threading.Thread(target=run, name=f"integration-{route.function}", daemon=True)
        worker.start()
        worker.join(self.integration_timeout_seconds)
        if not outcome:
            self.blocked.append(f"504 integration timeout {path}")
            self._request.refused_by = "integration timeout"
            return 504, dict(_JSON), b'{"message": "Endpoint request timed out"}'
        result = outcome[0]
        if isinstance(result, BaseException):
            raise result
        return result

    def _log(
        self, request: BaseHTTPRequestHandler, method: str, started: datetime, status: int, payload: bytes
    ) -> None:
        """One access log record per API request (the stage's fields), and one per refused S3 browser upload."""
        seen = self._request.__dict__
        ip = str(request.client_address[0])
        if "resource_path" in seen:
            record = {
                "requestId": str(uuid.uuid4()),
                "ip": ip,
                "requestTime": started.strftime("%d/%b/%Y:%H:%M:%S +0000"),
                "httpMethod": method,
                "resourcePath": seen["resource_path"],
                "status": str(status),
                "protocol": request.request_version,
                "responseLength": str(len(payload)),
            }
            if "refused_by" in seen:
                # In AWS: the 413/411 status in the stage's access log, the rule in the web ACL's sampled requests.
                record["refusedBy"] = seen["refused_by"]
            self.edge_log.write(API_ACCESS_STREAM, record)
        elif "s3_bucket" in seen and status >= 400:
            code = _S3_ERROR_CODE.search(payload)
            self.edge_log.write(
                S3_ACCESS_STREAM,
                {
                    "bucket": seen["s3_bucket"],
                    "time": started.strftime("[%d/%b/%Y:%H:%M:%S +0000]"),
                    "remoteIp": ip,
                    "operation": seen.get("s3_operation", "REST.POST.OBJECT"),
                    "httpStatus": status,
                    "errorCode": code.group(1).decode() if code else "-",
                    "userAgent": (request.headers.get("User-Agent") or "-")[:256],
                },
            )

    def _call(
        self,
        route: ApiRoute,
        request: BaseHTTPRequestHandler,
        method: str,
        path: str,
        path_parameters: dict[str, str],
        query: dict[str, list[str]],
        body: bytes,
    ) -> Answer:
        headers = dict(request.headers.items())
        content_type = (headers.get("Content-Type") or "").lower()
        binary = bool(BINARY_MEDIA_TYPES) and content_type.startswith(BINARY_MEDIA_TYPES)
        event = {
            "resource": route.path,
            "path": path,
            "httpMethod": method,
            "headers": headers,
            "multiValueHeaders": {k: [v] for k, v in headers.items()},
            "queryStringParameters": {k: v[-1] for k, v in query.items()} or None,
            "multiValueQueryStringParameters": query or None,
            "pathParameters": path_parameters or None,
            "stageVariables": None,
            # API Gateway passes binary media types base64-encoded, text as it came.
            "body": (base64.b64encode(body).decode() if binary else body.decode("utf-8", "replace"))
            if body
            else None,
            "isBase64Encoded": bool(body) and binary,
            "requestContext": {
                "resourcePath": route.path,
                "httpMethod": method,
                "path": f"/local{path}",
                "stage": "local",
                "requestId": str(uuid.uuid4()),
                "identity": {"sourceIp": request.client_address[0], "userAgent": headers.get("User-Agent")},
            },
        }
        result, error = self._invoke(route.function, event)
        if error:
            raise RuntimeError(f"{error['errorType']}: {error['errorMessage']}")
        response_headers = dict(result.get("headers") or {})
        for key, values in (result.get("multiValueHeaders") or {}).items():
            response_headers[key] = ", ".join(values)
        payload = result.get("body") or ""
        data = base64.b64decode(payload) if result.get("isBase64Encoded") else payload.encode()
        return int(result.get("statusCode", 200)), response_headers, data


class _Body:
    """A request's body, read only when asked and at most Content-Length bytes; a body left unread is dropped
    when small, else the connection is closed without reading it."""

    def __init__(self, request: BaseHTTPRequestHandler) -> None:
        self._request = request
        self.chunked = "chunked" in (request.headers.get("Transfer-Encoding") or "").lower()
        try:
            self.length = max(0, int(request.headers.get("Content-Length") or 0))
        except ValueError:
            self.length, self.chunked = 0, True  # unreadable: treated as a body of unknown length
        self._consumed = 0

    def read(self, size: int) -> bytes:
        size = max(0, min(size, self.length - self._consumed))
        data = self._request.rfile.read(size) if size else b""
        self._consumed += len(data)
        return data

    def finish(self) -> None:
        left = self.length - self._consumed
        if self.chunked or left > _DRAIN_LIMIT:
            self._request.close_connection = True
        elif left > 0:
            self.read(left)


def _shared_s3() -> Any:
    from backoffice import aws

    return aws.client("s3")
