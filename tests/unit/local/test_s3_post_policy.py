"""The local S3 browser-upload endpoint checks a presigned POST as S3 does: a form botocore signs is taken as signed,
and a change to it, an expired one, or a file outside the size range gets S3's error. No AWS: an in-memory bucket."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.config import Config

from backoffice.local.s3_post import LocalS3Post, PresignedPosts

BUCKET = "documents"
KEY = "cases/c-1/vendor/w9.pdf"


class MemoryBucket:
    def __init__(self) -> None:
        self.objects: dict[str, tuple[bytes, str]] = {}

    def put_object(self, *, Bucket: str, Key: str, Body: bytes, ContentType: str) -> dict[str, Any]:
        self.objects[Key] = (Body, ContentType)
        return {"ETag": '"etag"', "VersionId": "v1"}


@pytest.fixture
def signed(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """A presigned POST for a PDF of 1 to 100 bytes at KEY, signed with the process's credentials."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "local")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "local-secret")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "local-token")
    s3 = boto3.client("s3", region_name="us-east-1", config=Config(signature_version="s3v4"))
    post: dict[str, Any] = s3.generate_presigned_post(
        Bucket=BUCKET,
        Key=KEY,
        Fields={"Content-Type": "application/pdf"},
        Conditions=[["content-length-range", 1, 100], {"Content-Type": "application/pdf"}],
        ExpiresIn=600,
    )
    return post


def send(fields: dict[str, str], data: bytes) -> tuple[int, bytes, MemoryBucket]:
    bucket = MemoryBucket()
    endpoint = LocalS3Post(PresignedPosts(), iam=lambda: None, s3=lambda: bucket)
    boundary = uuid.uuid4().hex
    body = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
        for k, v in fields.items()
    )
    body += (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="w9.pdf"\r\n\r\n'.encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}", "Content-Length": str(len(body))}
    chunks = iter([body])
    status, _, answer = endpoint.handle(f"/_local/s3/{BUCKET}", headers, lambda size: next(chunks))
    return status, answer, bucket


def test_a_form_as_signed_is_stored(signed: dict[str, Any]) -> None:
    # When the form is posted as signed with a 10-byte PDF
    status, _, bucket = send(signed["fields"], b"%PDF-1.7\n%")
    # Then S3's default answer, and the object with the form's content type
    assert status == 204
    assert bucket.objects == {KEY: (b"%PDF-1.7\n%", "application/pdf")}


@pytest.mark.parametrize(
    ("change", "data", "code"),
    [
        ({"Content-Type": "text/html"}, b"<html>", "AccessDenied"),
        ({"key": "cases/c-2/vendor/w9.pdf"}, b"%PDF", "AccessDenied"),
        ({"x-amz-signature": "0" * 64}, b"%PDF", "SignatureDoesNotMatch"),
        ({"x-amz-credential": "someone/20260101/us-east-1/s3/aws4_request"}, b"%PDF", "InvalidAccessKeyId"),
        ({}, b"%PDF" + b"0" * 97, "EntityTooLarge"),
        ({"success_action_redirect": "https://elsewhere.example/"}, b"%PDF", "AccessDenied"),
    ],
)
def test_a_changed_or_out_of_range_post_gets_s3s_error_and_stores_nothing(
    signed: dict[str, Any], change: dict[str, str], data: bytes, code: str
) -> None:
    # When the form is posted with a change the policy does not allow
    status, answer, bucket = send({**signed["fields"], **change}, data)
    # Then S3's error, and nothing stored
    assert f"<Code>{code}</Code>".encode() in answer and status in (400, 403)
    assert bucket.objects == {}


def test_an_expired_form_is_refused(signed: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the clock past the policy's expiry
    import backoffice.local.s3_post as s3_post

    later = datetime.now(UTC) + timedelta(minutes=11)

    class Clock(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> Any:
            return later

    monkeypatch.setattr(s3_post, "datetime", Clock)
    # When the form is posted
    status, answer, bucket = send(signed["fields"], b"%PDF")
    # Then the policy has expired
    assert status == 403 and b"Policy expired" in answer and bucket.objects == {}
