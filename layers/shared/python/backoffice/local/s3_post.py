"""S3's browser upload (POST Object with a presigned policy) for the local runtime.

moto's S3 runs in this process (or in ``backoffice serve``'s moto server, which stores a POST without checking its
policy), so a browser has nowhere to post a presigned form that would be refused as S3 refuses it. The local
gateway serves this endpoint at ``/_local/s3/<bucket>``: it checks what S3 checks (Signature Version 4 over the
policy, expiry, every condition, no field without a condition, ``content-length-range`` on the file) and then what
IAM checks, the signer's permission to put that key (a presigned POST is authorized when it arrives, as the
identity that signed it), and stores the file into moto through boto3, answering with S3's redirect or XML error.

``PresignedPosts`` is installed around botocore's POST presigner while the gateway runs: every form a handler
signs points at this endpoint (in-process and in server mode alike), and the function whose role signed it is
remembered by its signature. Locally every function shares one set of credentials, so that record stands in for
the role AWS would read from the credential.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape
from typing import Any
from urllib.parse import quote

from botocore.signers import S3PostPresigner

from backoffice.local.iam import CallContext, IamEnforcer, current_principal, request_authorizations
from backoffice.local.iam_policy import Decision, Request, evaluate

PATH_PREFIX = "/_local/s3/"
# The local endpoint holds a POST in memory to parse it: refuse larger ones unread. S3 takes up to 5 GB; every
# policy this product signs caps the file far lower (backoffice.vendors.uploads.MAX_UPLOAD_BYTES).
LOCAL_MAX_POST_BYTES = 64 * 1024 * 1024
# Form fields S3 does not look for in the policy (Amazon S3 API Reference, "Creating a POST policy").
_UNCONDITIONED = {"policy", "x-amz-signature", "file"}

Response = tuple[int, dict[str, str], bytes]


class PresignedPosts:
    """Points presigned POSTs at the local endpoint and remembers which principal signed each one."""

    def __init__(self) -> None:
        self._signers: dict[str, tuple[str, str]] = {}
        self._lock = threading.Lock()
        self._saved: Any = None

    def install(self, endpoint_url: str) -> None:
        if self._saved is not None:
            return
        original = S3PostPresigner.generate_presigned_post
        self._saved = original
        posts = self

        def generate_presigned_post(presigner: S3PostPresigner, *args: Any, **kwargs: Any) -> dict[str, Any]:
            result: dict[str, Any] = original(presigner, *args, **kwargs)
            fields = result["fields"]
            bucket = next(
                (
                    c["bucket"]
                    for c in kwargs.get("conditions") or []
                    if isinstance(c, dict) and "bucket" in c
                ),
                None,
            )
            if bucket is not None:
                result["url"] = f"{endpoint_url.rstrip('/')}{PATH_PREFIX}{quote(str(bucket))}"
            principal = current_principal()
            if principal is not None:
                with posts._lock:
                    posts._signers[str(fields.get("x-amz-signature"))] = principal
            return result

        S3PostPresigner.generate_presigned_post = generate_presigned_post

    def uninstall(self) -> None:
        if self._saved is not None:
            S3PostPresigner.generate_presigned_post = self._saved
            self._saved = None

    def signer(self, signature: str) -> tuple[str, str] | None:
        with self._lock:
            return self._signers.get(signature)


class PostRefused(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass(frozen=True)
class FormPart:
    name: str
    value: bytes
    filename: str | None = None


class LocalS3Post:
    """``POST /_local/s3/<bucket>``: an S3 browser upload, checked as S3 and IAM would, stored into moto."""

    def __init__(
        self,
        posts: PresignedPosts,
        *,
        iam: Callable[[], IamEnforcer | None],
        s3: Callable[[], Any],
    ) -> None:
        self.posts = posts
        self._iam = iam
        self._s3 = s3

    def handle(self, path: str, headers: Mapping[str, str], read: Callable[[int], bytes]) -> Response:
        try:
            return self._handle(path, headers, read)
        except PostRefused as refused:
            return _error(refused.status, refused.code, refused.message)

    def _handle(self, path: str, headers: Mapping[str, str], read: Callable[[int], bytes]) -> Response:
        bucket = path[len(PATH_PREFIX) :].strip("/")
        if not bucket or "/" in bucket:
            raise PostRefused(
                405, "MethodNotAllowed", "The specified method is not allowed against this resource."
            )
        raw_length = headers.get("Content-Length")
        if raw_length is None:
            raise PostRefused(411, "MissingContentLength", "You must provide the Content-Length HTTP header.")
        length = int(raw_length)
        if length > LOCAL_MAX_POST_BYTES:
            raise PostRefused(400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size")
        parts = parse_form(headers.get("Content-Type", ""), read(length))
        fields = _fields_before_file(parts)
        file = next((p for p in parts if p.name.lower() == "file"), None)
        if file is None:
            raise PostRefused(
                400,
                "InvalidArgument",
                "Bucket POST must contain a field named 'file'.  If it is specified, "
                "please check the order of the fields.",
            )
        policy = self._verified_policy(fields)
        _check_conditions(policy, fields, bucket, len(file.value))
        key = fields["key"].replace("${filename}", file.filename or "")
        self._authorize(fields["x-amz-signature"], bucket, key)
        stored = self._s3().put_object(
            Bucket=bucket,
            Key=key,
            Body=file.value,
            ContentType=fields.get("content-type", "binary/octet-stream"),
        )
        etag = str(stored.get("ETag", ""))
        response_headers = {"ETag": etag, "Location": f"/{bucket}/{quote(key)}"}
        if stored.get("VersionId"):
            response_headers["x-amz-version-id"] = str(stored["VersionId"])
        redirect = fields.get("success_action_redirect") or fields.get("redirect")
        if redirect:
            separator = "&" if "?" in redirect else "?"
            query = f"bucket={quote(bucket)}&key={quote(key)}&etag={quote(etag)}"
            return 303, {**response_headers, "Location": f"{redirect}{separator}{query}"}, b""
        status = int(fields.get("success_action_status") or 204)
        return (status if status in (200, 201) else 204), response_headers, b""

    # -- S3's checks -----------------------------------------------------------------------------------------------

    def _verified_policy(self, fields: Mapping[str, str]) -> dict[str, Any]:
        if "policy" not in fields:
            # Without a policy the POST is anonymous, and the product's buckets take nothing anonymously.
            raise PostRefused(403, "AccessDenied", "Access Denied")
        if "x-amz-algorithm" not in fields and "awsaccesskeyid" in fields:
            raise PostRefused(
                400,
                "InvalidRequest",
                "The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.",
            )
        for required in ("x-amz-algorithm", "x-amz-credential", "x-amz-date", "x-amz-signature"):
            if required not in fields:
                raise PostRefused(
                    400, "InvalidArgument", f"Bucket POST must contain a field named '{required}'."
                )
        if fields["x-amz-algorithm"] != "AWS4-HMAC-SHA256":
            raise PostRefused(400, "InvalidArgument", "Only AWS4-HMAC-SHA256 is supported")
        credential = fields["x-amz-credential"].split("/")
        if len(credential) != 5 or credential[3] != "s3" or credential[4] != "aws4_request":
            raise PostRefused(
                400, "AuthorizationQueryParametersError", "Invalid credential in x-amz-credential"
            )
        access_key, day, region = credential[0], credential[1], credential[2]
        secret = _local_secret(access_key)
        if secret is None:
            raise PostRefused(
                403, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records."
            )
        token = fields.get("x-amz-security-token")
        if token is not None and token != os.environ.get("AWS_SESSION_TOKEN"):
            raise PostRefused(400, "InvalidToken", "The provided token is malformed or otherwise invalid.")
        expected = _signature(secret, day, region, fields["policy"])
        if not hmac.compare_digest(expected, fields["x-amz-signature"]):
            raise PostRefused(
                403,
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided. Check your key "
                "and signing method.",
            )
        try:
            policy: dict[str, Any] = json.loads(base64.b64decode(fields["policy"]))
        except ValueError:
            raise PostRefused(400, "InvalidPolicyDocument", "Invalid Policy: Invalid JSON.") from None
        expiration = policy.get("expiration")
        if not isinstance(expiration, str):
            raise PostRefused(400, "InvalidPolicyDocument", "Invalid Policy: Policy missing expiration.")
        if datetime.now(UTC) >= _iso8601(expiration):
            raise PostRefused(403, "AccessDenied", "Invalid according to Policy: Policy expired.")
        return policy

    # -- IAM's check -----------------------------------------------------------------------------------------------

    def _authorize(self, signature: str, bucket: str, key: str) -> None:
        """The signer's role must allow s3:PutObject on the key (and the KMS use S3 makes for it to encrypt)."""
        enforcer = self._iam()
        principal = self.posts.signer(signature)
        if enforcer is None or principal is None:
            return  # IAM off, or signed by the runtime itself (the account's administrator)
        statements = enforcer.iam.policies.get(principal, [])
        context_region, account = enforcer.region, enforcer.account
        role = enforcer.iam.roles.get(principal, f"arn:aws:iam::{account}:role/unknown").rsplit("/", 1)[-1]
        context = CallContext(context_region, account)
        checks = request_authorizations("s3", "PutObject", {"Bucket": bucket, "Key": key}, context)
        key_arn = enforcer.iam.encrypted.get(f"arn:aws:s3:::{bucket}")
        if key_arn:
            via = {"kms:ViaService": f"s3.{context_region}.amazonaws.com"}
            checks.append(Request("kms:GenerateDataKey", str(key_arn), via))
        for check in checks:
            if evaluate(statements, check) is not Decision.ALLOWED:
                message = (
                    f"User: arn:aws:sts::{account}:assumed-role/{role}/{principal[1]} is not authorized "
                    f"to perform: {check.action} on resource: {check.resource}"
                )
                with enforcer._lock:
                    enforcer.denied.append(message)
                raise PostRefused(403, "AccessDenied", "Access Denied")


def parse_form(content_type: str, body: bytes) -> list[FormPart]:
    """The parts of a multipart/form-data body, in order."""
    kind, _, params = content_type.partition(";")
    if kind.strip().lower() != "multipart/form-data":
        raise PostRefused(
            412, "PreconditionFailed", "Bucket POST must be of the enclosure-type multipart/form-data"
        )
    boundary = ""
    for param in params.split(";"):
        name, _, value = param.strip().partition("=")
        if name.lower() == "boundary":
            boundary = value.strip().strip('"')
    if not boundary:
        raise PostRefused(400, "MalformedPOSTRequest", "The body of your POST request is not well-formed.")
    parts: list[FormPart] = []
    for chunk in body.split(b"--" + boundary.encode())[1:]:
        if chunk.startswith(b"--"):
            break
        chunk = chunk.removeprefix(b"\r\n").removesuffix(b"\r\n")
        head, separator, data = chunk.partition(b"\r\n\r\n")
        if not separator:
            raise PostRefused(
                400, "MalformedPOSTRequest", "The body of your POST request is not well-formed."
            )
        disposition = _disposition(head.decode("utf-8", "replace"))
        if "name" in disposition:
            parts.append(FormPart(disposition["name"], data, disposition.get("filename")))
    return parts


def _disposition(head: str) -> dict[str, str]:
    for line in head.split("\r\n"):
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-disposition":
            found = {}
            for item in value.split(";")[1:]:
                key, _, raw = item.strip().partition("=")
                found[key.lower()] = raw.strip().strip('"')
            return found
    return {}


def _fields_before_file(parts: list[FormPart]) -> dict[str, str]:
    """Form fields by lower-case name; S3 ignores what follows the file."""
    fields: dict[str, str] = {}
    for part in parts:
        if part.name.lower() == "file":
            break
        fields[part.name.lower()] = part.value.decode("utf-8", "replace")
    return fields


def _check_conditions(policy: Mapping[str, Any], fields: Mapping[str, str], bucket: str, size: int) -> None:
    values = {**fields, "bucket": bucket}
    covered: set[str] = set()
    for condition in policy.get("conditions") or []:
        if isinstance(condition, dict):
            for name, expected in condition.items():
                covered.add(name.lower())
                if values.get(name.lower()) != str(expected):
                    raise _condition_failed(["eq", f"${name}", expected])
            continue
        if not isinstance(condition, list) or not condition:
            raise PostRefused(400, "InvalidPolicyDocument", "Invalid Policy: Invalid Condition.")
        operator = str(condition[0]).lower()
        if operator == "content-length-range":
            low, high = int(condition[1]), int(condition[2])
            if size > high:
                raise PostRefused(
                    400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size"
                )
            if size < low:
                raise PostRefused(
                    400, "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed size"
                )
            continue
        name = str(condition[1]).lstrip("$").lower()
        covered.add(name)
        value, expected = values.get(name), str(condition[2])
        if operator == "eq" and value != expected:
            raise _condition_failed(condition)
        if operator == "starts-with" and not (value or "").startswith(expected):
            raise _condition_failed(condition)
        if operator not in ("eq", "starts-with"):
            raise PostRefused(400, "InvalidPolicyDocument", f"Invalid Policy: Invalid Condition: {operator}")
    extra = sorted(
        name
        for name in fields
        if name not in covered and name not in _UNCONDITIONED and not name.startswith("x-ignore-")
    )
    if extra:
        raise PostRefused(
            403, "AccessDenied", f"Invalid according to Policy: Extra input fields: {', '.join(extra)}"
        )


def _condition_failed(condition: Any) -> PostRefused:
    return PostRefused(
        403, "AccessDenied", f"Invalid according to Policy: Policy Condition failed: {json.dumps(condition)}"
    )


def _signature(secret: str, day: str, region: str, policy: str) -> str:
    """Signature Version 4 for a POST: the policy (base64, as posted) signed with the day's S3 signing key."""

    def sign(key: bytes, message: str) -> bytes:
        return hmac.new(key, message.encode(), hashlib.sha256).digest()

    key = sign(sign(sign(sign(f"AWS4{secret}".encode(), day), region), "s3"), "aws4_request")
    return hmac.new(key, policy.encode(), hashlib.sha256).hexdigest()


def _local_secret(access_key: str) -> str | None:
    """The secret of the credentials the local runtime hands out (every handler's, and its own)."""
    if access_key and access_key == os.environ.get("AWS_ACCESS_KEY_ID"):
        return os.environ.get("AWS_SECRET_ACCESS_KEY")
    return None


def _iso8601(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def _error(status: int, code: str, message: str) -> Response:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{escape(code)}</Code><Message>{escape(message)}</Message>"
        f"<RequestId>{uuid.uuid4().hex[:16].upper()}</RequestId></Error>"
    )
    return status, {"Content-Type": "application/xml"}, body.encode()


def is_s3_post(path: str) -> bool:
    return path.startswith(PATH_PREFIX)


__all__ = ["PATH_PREFIX", "LocalS3Post", "PostRefused", "PresignedPosts", "is_s3_post", "parse_form"]
