"""A fake SaaS server: ``ThreadingHTTPServer`` on 127.0.0.1 with a free port, started and stopped cleanly.

Subclasses route requests (``route``). Every request is kept in ``requests`` (method, path, query, headers, body)
so tests can assert on what the adapter sent; ``inject`` queues faults (a status with a body and headers, or a
delay) for the next matching requests, answered instead of the request or, ``applied``, after it was served (a
lost answer: the system did the work, the client sees the error); ``max_in_flight`` is the most requests seen at once.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: Message
    body: bytes
    url: str

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # bytes as is, anything else as JSON
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Fault:
    reply: Reply | None
    times: int
    path_prefix: str
    method: str | None
    delay_seconds: float
    applied: bool = False


def _default(value: object) -> object:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(type(value).__name__)


def json_bytes(value: Any) -> bytes:
    return json.dumps(value, default=_default).encode()


class FakeServer:
    """Subclasses implement ``route(request) -> Reply``."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.in_flight = 0
        self.max_in_flight = 0

    # -- lifecycle ------------------------------------------------------------------------------------------------

    def start(self) -> Self:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body leave in one segment: no Nagle / delayed-ACK pause per response.
            disable_nagle_algorithm = True
            wbufsize = 1 << 16

            def _serve(self) -> None:
                fake._dispatch(self)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _serve

            def log_message(self, format: str, *args: Any) -> None:  # quiet tests
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        server = self._server
        # A short poll interval makes stop() quick (shutdown waits for the loop's next poll).
        self._thread = threading.Thread(
            target=lambda: server.serve_forever(poll_interval=0.02), name=type(self).__name__, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the fake server is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    # -- faults and inspection ------------------------------------------------------------------------------------

    def inject(
        self,
        status: int | None = None,
        body: Any = None,
        *,
        headers: dict[str, str] | None = None,
        times: int = 1,
        path_prefix: str = "",
        method: str | None = None,
        delay_seconds: float = 0.0,
        applied: bool = False,
    ) -> None:
        """The next ``times`` requests under ``path_prefix`` get this reply (or are only delayed, status None);
        ``applied``: the request is served first and its answer replaced by this one (the answer was lost)."""
        reply = Reply(status, body, dict(headers or {})) if status is not None else None
        with self._lock:
            self._faults.append(Fault(reply, times, path_prefix, method, delay_seconds, applied))

    def requests_to(self, path_part: str, method: str | None = None) -> list[Request]:
        return [r for r in self.requests if path_part in r.path and (method is None or r.method == method)]

    def clear_requests(self) -> None:
        with self._lock:
            self.requests.clear()

    def _take_fault(self, request: Request) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if request.path.startswith(fault.path_prefix) and fault.method in (None, request.method):
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
                    return fault
        return None

    # -- serving --------------------------------------------------------------------------------------------------

    def route(self, request: Request) -> Reply:
        raise NotImplementedError

    def _dispatch(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        parts = urlsplit(handler.path)
        request = Request(
            method=handler.command,
            path=parts.path,
            query=parse_qs(parts.query, keep_blank_values=True),
            headers=handler.headers,
            body=body,
            url=self.url + handler.path,
        )
        with self._lock:
            self.requests.append(request)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            fault = self._take_fault(request)
            if fault is not None and fault.delay_seconds:
                time.sleep(fault.delay_seconds)
            if fault is not None and fault.reply is not None and not fault.applied:
                reply = fault.reply
            else:
                try:
                    reply = self.route(request)
                except Exception as error:  # a bug in the fake shows as a 500 with its name
                    reply = Reply(500, {"fake_error": f"{type(error).__name__}: {error}"})
                if fault is not None and fault.reply is not None:
                    reply = fault.reply  # applied, and the answer lost
            self._write(handler, reply)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test)
        finally:
            with self._lock:
                self.in_flight -= 1

    @staticmethod
    def _write(handler: BaseHTTPRequestHandler, reply: Reply) -> None:
        if isinstance(reply.body, bytes):
            payload = reply.body
            content_type = "application/octet-stream"
        elif reply.body is None:
            payload = b""
            content_type = None
        else:
            payload = json_bytes(reply.body)
            content_type = "application/json;charset=UTF-8"
        handler.send_response(reply.status)
        headers = dict(reply.headers)
        if content_type and not any(k.lower() == "content-type" for k in headers):
            headers["Content-Type"] = content_type
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        if payload and handler.command != "HEAD":
            handler.wfile.write(payload)
        handler.wfile.flush()


def iterate_batches(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
