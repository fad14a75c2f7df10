"""boto3 clients built once per Lambda container (or local process) and reused across invocations."""

from __future__ import annotations

import threading
from typing import Any

import boto3

_clients: dict[str, Any] = {}
_lock = threading.Lock()


def client(service: str) -> Any:
    """A shared client for ``service``. Endpoints and credentials come from the environment, as in Lambda."""
    with _lock:
        if service not in _clients:
            _clients[service] = boto3.client(service)
        return _clients[service]


def reset_clients() -> None:
    """Forget cached clients (the local runtime calls this when it points the process at a new endpoint)."""
    with _lock:
        _clients.clear()
