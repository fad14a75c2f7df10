"""boto3 clients built once per Lambda container (or local process) and reused across invocations."""

from __future__ import annotations

import threading
from typing import Any

import boto3
from botocore.config import Config

_clients: dict[tuple[str, str | None, str | None, float | None], Any] = {}
_lock = threading.Lock()


def client(
    service: str,
    *,
    signature_version: str | None = None,
    region: str | None = None,
    timeout_seconds: float | None = None,
) -> Any:
    """A shared client for ``service``. Endpoints and credentials come from the environment, as in Lambda.

    ``signature_version``: for S3 presigned POSTs, which botocore still signs with Signature Version 2 unless told
    ``s3v4`` (S3 refuses Version 2 on buckets created since June 2020). ``region``: another region than the
    function's (Bedrock's model may live elsewhere). ``timeout_seconds``: connect and read timeouts, and a single
    attempt (the caller has a fallback, and a retry would double the wait): the assistant's Bedrock client."""
    key = (service, signature_version, region, timeout_seconds)
    with _lock:
        if key not in _clients:
            options: dict[str, Any] = {}
            if signature_version:
                options["signature_version"] = signature_version
            if timeout_seconds is not None:
                options.update(
                    connect_timeout=min(timeout_seconds, 5),
                    read_timeout=timeout_seconds,
                    retries={"total_max_attempts": 1, "mode": "standard"},
                )
            config = Config(**options) if options else None
            _clients[key] = boto3.client(service, config=config, region_name=region)
        return _clients[key]


def reset_clients() -> None:
    """Forget cached clients (the local runtime calls this when it points the process at a new endpoint)."""
    with _lock:
        _clients.clear()
