"""What kind of file a document is, and whether it can be read at all, before any extractor sees it.

A bad document (a Word file sent as a W-9, a password-protected PDF, a download cut short) is a fact about the
document, not a fault of the system: it becomes an ``ExtractionError`` that a handler audits and routes to a
person. Retrying would only repeat the same answer, so none of these is ever raised to a Retry policy.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final, Literal

from backoffice.extraction.model import ErrorKind, ExtractionFailure

FileKind = Literal["pdf", "png", "jpeg", "tiff"]

# Amazon Textract's limits for asynchronous PDF and TIFF analysis.
TEXTRACT_MAX_BYTES: Final = 500 * 1024 * 1024
TEXTRACT_MAX_PAGES: Final = 3000
# Synchronous analysis (single-page images): 10 MB.
TEXTRACT_SYNC_MAX_BYTES: Final = 10 * 1024 * 1024

CONTENT_TYPES: Final[dict[FileKind, str]] = {
    "pdf": "application/pdf",
    "png": "image/png",
    "jpeg": "image/jpeg",
    "tiff": "image/tiff",
}


class BadDocument(ExtractionFailure):
    """A document that cannot be read. Carries the structured ``ExtractionError`` a handler audits."""

    kind: ErrorKind = "corrupt"


class UnsupportedDocument(BadDocument):
    kind = "unsupported_format"


class EncryptedDocument(BadDocument):
    kind = "encrypted"


class EmptyDocument(BadDocument):
    kind = "empty_document"


class DocumentTooLarge(BadDocument):
    kind = "too_large"


class TooManyPages(BadDocument):
    kind = "too_many_pages"


class TruncatedDocument(BadDocument):
    kind = "truncated"


class CorruptDocument(BadDocument):
    kind = "corrupt"


class UnreadableDocument(BadDocument):
    kind = "unreadable"


def sniff(head: bytes) -> FileKind | None:
    """The file kind from its first bytes (a file name or a declared content type is not evidence)."""
    # The PDF header may follow a little junk (some mail gateways prepend a few bytes); readers accept it
    # within the first kilobyte, and so does this.
    if b"%PDF-" in head[:1024]:
        return "pdf"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return "tiff"
    return None


def check_size(size_bytes: int, *, max_bytes: int = TEXTRACT_MAX_BYTES) -> None:
    """Refuse an empty file and one above Textract's size limit (checked before reading it into memory)."""
    if size_bytes == 0:
        raise EmptyDocument("the file is empty (0 bytes)")
    if size_bytes > max_bytes:
        raise DocumentTooLarge(
            f"the file is {size_bytes / 1024 / 1024:.0f} MB; the limit is {max_bytes / 1024 / 1024:.0f} MB",
            "split the document or ask the sender for a smaller file",
        )


def check_page_count(pages: int, *, max_pages: int = TEXTRACT_MAX_PAGES) -> None:
    if pages == 0:
        raise EmptyDocument("the PDF has no pages")
    if pages > max_pages:
        raise TooManyPages(f"the PDF has {pages} pages; the limit is {max_pages}", "split the document")


def classify(data: bytes, *, max_bytes: int = TEXTRACT_MAX_BYTES) -> FileKind:
    """The kind of a document's bytes, or the ``BadDocument`` that says why it cannot be read."""
    check_size(len(data), max_bytes=max_bytes)
    kind = sniff(data[:1024])
    if kind is None:
        raise UnsupportedDocument(
            "not a PDF or an image (PNG, JPEG, TIFF)",
            "ask the sender for the document as a PDF or a scan",
        )
    if kind == "pdf" and b"%%EOF" not in data[-1024:]:
        # Every complete PDF ends with %%EOF; a file without it was cut short in transfer.
        raise TruncatedDocument("the PDF is incomplete (no end-of-file marker): it was cut short")
    return kind


def read_document_bytes(source: str | Path | bytes, *, max_bytes: int = TEXTRACT_MAX_BYTES) -> bytes:
    """The bytes of a document given as a path or as bytes; the size is checked before the file is read."""
    if isinstance(source, bytes):
        check_size(len(source), max_bytes=max_bytes)
        return source
    path = Path(source)
    try:
        check_size(path.stat().st_size, max_bytes=max_bytes)
        return path.read_bytes()
    except FileNotFoundError:
        raise UnreadableDocument(f"no such file: {path.name}") from None
    except IsADirectoryError:
        raise UnreadableDocument(f"a directory, not a document: {path.name}") from None
    except PermissionError:
        raise UnreadableDocument(f"not allowed to read {path.name}") from None
