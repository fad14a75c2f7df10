"""S3's presigned GET for the local runtime: a link a handler signs opens in a browser, refused as S3 refuses it.

A presigned GetObject URL names ``<bucket>.s3.amazonaws.com``, which a browser cannot reach locally, and moto (in
this process or in ``backoffice serve``) serves it without checking the signature or the expiry. So while the
gateway runs, ``PresignedGets`` points every presigned GetObject at the gateway's ``/_local/s3/<bucket>/<key>`` and
remembers, by its signature, the query that was signed and the function whose role signed it (locally every
function shares one set of credentials, so that record stands in for the role AWS reads from the credential).

``LocalS3Get`` answers such a GET as S3 would: a query that differs from a signed one is ``SignatureDoesNotMatch``
(the record replaces recomputing Signature Version 4 over a host the URL no longer names), a URL past
``X-Amz-Date + X-Amz-Expires`` is ``AccessDenied`` (Request has expired), and the signer's role must allow
``s3:GetObject`` (``GetObjectVersion`` for a version) on the object and the KMS decrypt S3 makes for it; only then is
the object read from moto and returned. Not emulated: S3 also refuses a URL whose signing credentials have expired;
local credentials do not expire (the report links are built so that this never matters: backoffice.reports.links).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

from botocore.exceptions import ClientError
from botocore.signers import RequestSigner

from backoffice.local.iam import CallContext, IamEnforcer, current_principal, request_authorizations
from backoffice.local.iam_policy import Decision, Request, evaluate
from backoffice.local.s3_post import PATH_PREFIX, Response, _error

_AMZ_DATE = "%Y%m%dT%H%M%SZ"


@dataclass(frozen=True)
class SignedGet:
    bucket: str
    key: str
    query: dict[str, list[str]]
    principal: tuple[str, str] | None


class PresignedGets:
    """Points presigned GetObject URLs at the local endpoint and remembers what each signature signed, and who."""

    def __init__(self) -> None:
        self._signed: dict[str, SignedGet] = {}
        self._lock = threading.Lock()
        self._saved: Any = None

    def install(self, endpoint_url: str) -> None:
        if self._saved is not None:
            return
        original = RequestSigner.generate_presigned_url
        self._saved = original
        gets = self

        def generate_presigned_url(
            signer: RequestSigner, request_dict: Any, operation_name: str, *args: Any, **kwargs: Any
        ) -> str:
            url: str = original(signer, request_dict, operation_name, *args, **kwargs)
            if operation_name != "GetObject":
                return url
            return gets.point_at(endpoint_url, url)

        RequestSigner.generate_presigned_url = generate_presigned_url

    def uninstall(self) -> None:
        if self._saved is not None:
            RequestSigner.generate_presigned_url = self._saved
            self._saved = None

    def point_at(self, endpoint_url: str, url: str) -> str:
        """The local URL of a signed S3 GET (virtual-hosted or path-style), recorded under its signature."""
        parts = urlsplit(url)
        host = parts.hostname or ""
        if ".s3." in host or host.endswith(".s3.amazonaws.com"):
            bucket, key = host.split(".s3.", 1)[0], parts.path.lstrip("/")
        else:
            bucket, _, key = parts.path.lstrip("/").partition("/")
        key = unquote(key)
        query = parse_qs(parts.query, keep_blank_values=True)
        signature = (query.get("X-Amz-Signature") or [""])[0]
        with self._lock:
            self._signed[signature] = SignedGet(bucket, key, query, current_principal())
        return f"{endpoint_url.rstrip('/')}{PATH_PREFIX}{quote(bucket)}/{quote(key)}?{parts.query}"

    def signed(self, signature: str) -> SignedGet | None:
        with self._lock:
            return self._signed.get(signature)


class LocalS3Get:
    """``GET /_local/s3/<bucket>/<key>?<presigned query>``: the object, if S3 and IAM would hand it over."""

    def __init__(
        self,
        gets: PresignedGets,
        *,
        iam: Callable[[], IamEnforcer | None],
        s3: Callable[[], Any],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.gets, self._iam, self._s3, self._clock = gets, iam, s3, clock

    def handle(self, path: str, raw_query: str) -> Response:
        bucket, _, key = path[len(PATH_PREFIX) :].partition("/")
        bucket, key = unquote(bucket), unquote(key)
        query = parse_qs(raw_query, keep_blank_values=True)
        if "X-Amz-Signature" not in query:
            # Unsigned: anonymous, and the product's buckets give nothing to anonymous callers.
            return _error(403, "AccessDenied", "Access Denied")
        signed = self.gets.signed(query["X-Amz-Signature"][0])
        if signed is None or (signed.bucket, signed.key, signed.query) != (bucket, key, query):
            return _error(
                403,
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided. Check your key "
                "and signing method.",
            )
        if self._expired(query):
            return _error(403, "AccessDenied", "Request has expired")
        version = query["versionId"][0] if query.get("versionId") else None
        if not self._allowed(signed.principal, bucket, key, version):
            return _error(403, "AccessDenied", "Access Denied")
        params = {"Bucket": bucket, "Key": key, **({"VersionId": version} if version else {})}
        try:
            stored = self._s3().get_object(**params)
        except ClientError as error:
            status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 404))
            code = str(error.response.get("Error", {}).get("Code", "NoSuchKey"))
            return _error(status, code, str(error.response.get("Error", {}).get("Message", "")))
        headers = {
            "Content-Type": str(stored.get("ContentType") or "binary/octet-stream"),
            "ETag": str(stored.get("ETag", "")),
        }
        if stored.get("VersionId"):
            headers["x-amz-version-id"] = str(stored["VersionId"])
        return 200, headers, bytes(stored["Body"].read())

    def _expired(self, query: Mapping[str, list[str]]) -> bool:
        try:
            signed_at = datetime.strptime(query["X-Amz-Date"][0], _AMZ_DATE).replace(tzinfo=UTC)
            lifetime = int(query["X-Amz-Expires"][0])
        except (KeyError, ValueError):
            return True
        return self._clock() >= signed_at + timedelta(seconds=lifetime)

    def _allowed(self, principal: tuple[str, str] | None, bucket: str, key: str, version: str | None) -> bool:
        """The signer's role allows the read of the object and S3's decrypt of it with the stack's key."""
        enforcer = self._iam()
        if enforcer is None or principal is None:
            return True  # IAM off, or signed by the runtime itself (the account's administrator)
        statements = enforcer.iam.policies.get(principal, [])
        context = CallContext(enforcer.region, enforcer.account)
        params = {"Bucket": bucket, "Key": key, **({"VersionId": version} if version else {})}
        checks = request_authorizations("s3", "GetObject", params, context)
        key_arn = enforcer.iam.encrypted.get(f"arn:aws:s3:::{bucket}")
        if key_arn:
            checks.append(
                Request(
                    "kms:Decrypt", str(key_arn), {"kms:ViaService": f"s3.{enforcer.region}.amazonaws.com"}
                )
            )
        denied = [check for check in checks if evaluate(statements, check) is not Decision.ALLOWED]
        for check in denied:
            with enforcer._lock:
                enforcer.denied.append(
                    f"{principal[1]} is not authorized to perform: {check.action} on resource: {check.resource}"
                )
        return not denied


def is_s3_get(method: str, path: str) -> bool:
    return method in ("GET", "HEAD") and path.startswith(PATH_PREFIX) and "/" in path[len(PATH_PREFIX) :]


__all__ = ["LocalS3Get", "PresignedGets", "is_s3_get"]
