"""The local stand-in for S3's presigned GET: what it serves, and what it refuses as S3 would (no AWS)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from backoffice.local.s3_get import LocalS3Get, PresignedGets

SIGNED_AT = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
S3_URL = (
    "https://backoffice-reports-123456789012.s3.amazonaws.com/process-reports/2026-12-07/report.html"
    "?versionId=v1&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=local%2F20261207%2Fus-east-1%2Fs3%2Faws4_request"
    "&X-Amz-Date=20261207T090000Z&X-Amz-Expires=300&X-Amz-SignedHeaders=host&X-Amz-Signature=abc123"
)
GATEWAY = "http://127.0.0.1:4567"


@dataclass
class OneObject:
    def get_object(self, **params: Any) -> dict[str, Any]:
        assert params == {
            "Bucket": "backoffice-reports-123456789012",
            "Key": "process-reports/2026-12-07/report.html",
            "VersionId": "v1",
        }
        return {"Body": io.BytesIO(b"<html>report</html>"), "ContentType": "text/html", "VersionId": "v1"}


def gateway_at(moment: datetime) -> tuple[PresignedGets, LocalS3Get]:
    gets = PresignedGets()
    return gets, LocalS3Get(gets, iam=lambda: None, s3=OneObject, clock=lambda: moment)


def answer(s3_get: LocalS3Get, local_url: str) -> tuple[int, bytes]:
    path, _, query = local_url[len(GATEWAY) :].partition("?")
    status, _, body = s3_get.handle(path, query)
    return status, body


def test_a_signed_url_points_at_the_gateway_and_serves_the_signed_version_while_it_lives() -> None:
    # Given a presigned GET signed at 09:00 for five minutes
    gets, s3_get = gateway_at(SIGNED_AT + timedelta(minutes=4))
    local = gets.point_at(GATEWAY, S3_URL)

    # Then it names the gateway, the bucket and the key, and is served within its five minutes
    assert local.startswith(
        f"{GATEWAY}/_local/s3/backoffice-reports-123456789012/process-reports/2026-12-07/"
    )
    assert answer(s3_get, local) == (200, b"<html>report</html>")


def test_a_url_past_its_expiry_is_refused_as_s3_refuses_it() -> None:
    gets, s3_get = gateway_at(SIGNED_AT + timedelta(minutes=5))
    status, body = answer(s3_get, gets.point_at(GATEWAY, S3_URL))
    assert status == 403 and b"<Message>Request has expired</Message>" in body


def test_a_changed_or_unsigned_url_is_refused() -> None:
    # Given a signed URL
    gets, s3_get = gateway_at(SIGNED_AT)
    local = gets.point_at(GATEWAY, S3_URL)

    # When its key, its lifetime or its signature is changed, or it has none
    changed_key = local.replace("report.html", "report.json")
    longer = local.replace("X-Amz-Expires=300", "X-Amz-Expires=604800")
    forged = local.replace("X-Amz-Signature=abc123", "X-Amz-Signature=abc124")
    unsigned = local.split("?", 1)[0]

    # Then none is served
    for url in (changed_key, longer, forged):
        status, body = answer(s3_get, url)
        assert status == 403 and b"<Code>SignatureDoesNotMatch</Code>" in body, url
    assert answer(s3_get, unsigned)[0] == 403
