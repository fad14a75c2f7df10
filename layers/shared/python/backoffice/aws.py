"""boto3 clients built once per Lambda container (or local process) and reused across invocations."""

from __future__ import annotations

import threading
from typing import Any

import boto3
from botocore.config import Config

_clients: dict[tuple[str, str | None], Any] = {}
_lock = threading.Lock()


def client(service: str, *, signature_version: str | None = None) -> Any:
    """A shared client for ``service``. Endpoints and credentials come from the environment, as in Lambda.

    ``signature_version``: for S3 presigned POSTs, which botocore still signs with Signature Version 2 unless told
    ``s3v4`` (S3 refuses Version 2 on buckets created since June 2020)."""
    key = (service, signature_version)
    with _lock:
        if key not in _clients:
            config = Config(signature_version=signature_version) if signature_version else None
            _clients[key] = boto3.client(service, config=config)
        return _clients[key]


def reset_clients() -> None:
    """Forget cached clients (the local runtime calls this when it points the process at a new endpoint)."""
    with _lock:
        _clients.clear()
