"""JSON documents in S3, the way every step stores its working data: encrypted with the stack's key (SSE-KMS),
typed ``application/json``."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any


def put_json(
    s3: Any,
    bucket: str,
    key: str,
    body: Mapping[str, Any] | Sequence[Any],
    *,
    default: Callable[[Any], Any] | None = None,
    sort_keys: bool = False,
) -> dict[str, Any]:
    """Writes ``body`` (an object, or an array such as a Distributed Map's items) as JSON at ``key``; S3's answer
    (with the ``VersionId`` on a versioned bucket)."""
    response: dict[str, Any] = s3.put_object(
        Bucket=bucket,
        Key=key,
        Body=json.dumps(body, default=default, sort_keys=sort_keys).encode(),
        ContentType="application/json",
        ServerSideEncryption="aws:kms",
    )
    return response


def get_json(s3: Any, bucket: str, key: str) -> Any:
    """The JSON document at ``key``, decoded."""
    return json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
