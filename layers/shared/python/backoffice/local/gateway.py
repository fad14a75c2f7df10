"""The local stand-in for API Gateway: the catalog's API routes on 127.0.0.1, served by the real handlers.

Each HTTP request becomes the REST API proxy event API Gateway would send (path parameters, query string, headers,
source IP, body), the route's function is invoked through the same in-process Lambda path the state machines use, and
its response is written back. Extra pages (the operator console) can be mounted with ``mount``.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from infra.catalog import ApiRoute, Catalog

Invoke = Callable[[str, dict[str, Any]], tuple[Any, dict[str, Any] | None]]
# A mounted page: (method, path, query, body) -> (status, headers, body bytes), or None when it does not handle it.
Mounted = Callable[[str, str, dict[str, list[str]], bytes], tuple[int, dict[str, str], bytes] | None]


BINARY_MEDIA_TYPES = ("multipart/form-data", "application/pdf", "application/octet-stream")


def _compile(route: ApiRoute) -> re.Pattern[str]:
    pattern = re.sub(r"\\\{([A-Za-z_][A-Za-z0-9_]*)\\\}", r"(?P<\1>[^/]+)", re.escape(route.path))
    return re.compile(f"^{pattern}$")


class LocalGateway:
    def __init__(self, catalog: Catalog, invoke: Invoke, host: str = "127.0.0.1", port: int = 0) -> None:
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError("the local gateway only listens on the loopback interface")
        self._routes = [(route, _compile(route)) for route in catalog.api_routes]
        self._invoke = invoke
        self._mounted: list[Mounted] = []
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

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self.host, self.port = host, int(self._server.server_address[1])
        self.url = f"http://{host}:{self.port}"
        self._thread: threading.Thread | None = None

    def mount(self, page: Mounted) -> None:
        self._mounted.append(page)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._server.serve_forever, name="local-gateway", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # -- requests -----------------------------------------------------------------------------------------------

    def _serve(self, request: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(request.path)
        length = int(request.headers.get("Content-Length") or 0)
        body = request.rfile.read(length) if length else b""
        query = parse_qs(parts.query, keep_blank_values=True)
        try:
            status, headers, payload = self._dispatch(request, method, parts.path, query, body)
        except Exception as error:  # the gateway answers 502 as API Gateway does when the integration fails
            status, headers = 502, {"Content-Type": "application/json"}
            payload = json.dumps({"message": "Internal server error", "type": type(error).__name__}).encode()
        request.send_response(status)
        for key, value in headers.items():
            request.send_header(key, value)
        request.send_header("Content-Length", str(len(payload)))
        request.end_headers()
        if method != "HEAD":
            request.wfile.write(payload)

    def _dispatch(
        self,
        request: BaseHTTPRequestHandler,
        method: str,
        path: str,
        query: dict[str, list[str]],
        body: bytes,
    ) -> tuple[int, dict[str, str], bytes]:
        for route, pattern in self._routes:
            match = pattern.match(path)
            if match and route.method == method:
                return self._call(route, request, method, path, match.groupdict(), query, body)
        for page in self._mounted:
            answer = page(method, path, query, body)
            if answer is not None:
                return answer
        return 404, {"Content-Type": "application/json"}, b'{"message":"Not Found"}'

    def _call(
        self,
        route: ApiRoute,
        request: BaseHTTPRequestHandler,
        method: str,
        path: str,
        path_parameters: dict[str, str],
        query: dict[str, list[str]],
        body: bytes,
    ) -> tuple[int, dict[str, str], bytes]:
        headers = {k: v for k, v in request.headers.items()}
        content_type = (headers.get("Content-Type") or "").lower()
        binary = content_type.startswith(BINARY_MEDIA_TYPES)
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
            # API Gateway passes binary media types (file uploads) base64-encoded, text as it came.
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
