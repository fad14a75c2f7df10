"""Where a file downloaded from a system goes: S3, as the ``Document`` pointer workflows pass around."""

from __future__ import annotations

import hashlib
from typing import Any, Protocol

from backoffice.models import Document, DocumentType


class DocumentUploader(Protocol):
    """Stores a file downloaded from a system and returns the pointer workflows pass around."""

    def upload(
        self, *, key: str, content: bytes, content_type: str, file_name: str, document_type: DocumentType
    ) -> Document: ...


class S3DocumentUploader:
    def __init__(self, s3: Any, bucket: str) -> None:
        self.s3, self.bucket = s3, bucket

    def upload(
        self, *, key: str, content: bytes, content_type: str, file_name: str, document_type: DocumentType
    ) -> Document:
        put = self.s3.put_object(Bucket=self.bucket, Key=key, Body=content, ContentType=content_type)
        return Document(
            bucket=self.bucket,
            key=key,
            version_id=put.get("VersionId"),
            content_type=content_type,
            document_type=document_type,
            sha256=hashlib.sha256(content).hexdigest(),
            size_bytes=len(content),
            file_name=file_name,
        )
