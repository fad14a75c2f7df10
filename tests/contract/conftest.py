"""Fixtures of the connector contract tests: fake SaaS servers on 127.0.0.1 and a fresh governance per test."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pytest

from backoffice.connectors.http import CallRecord, Governance, call_context, reset_governors
from backoffice.models import Document, DocumentType
from tests.contract.fakes.jwt_check import new_rsa_key
from tests.contract.fakes.netsuite_fake import NetSuiteFake
from tests.contract.fakes.rest_fake import RestFake
from tests.contract.fakes.salesforce_fake import SalesforceFake

# Short timeouts keep failure tests quick; nothing here asserts on time.
FAST = Governance(connect_timeout_seconds=1.0, read_timeout_seconds=2.0, slot_wait_seconds=2.0)


@pytest.fixture(scope="session")
def rsa_key() -> tuple[str, str]:
    """(private PEM, public PEM): the connected app's / integration record's certificate key."""
    return new_rsa_key()


@pytest.fixture(autouse=True)
def fresh_governance() -> Iterator[None]:
    # Circuit breakers and concurrency caps are per process: each test starts with closed breakers.
    reset_governors()
    yield
    reset_governors()


@pytest.fixture
def calls() -> Iterator[list[CallRecord]]:
    """Every outbound call of the test, as the recorder sees it."""
    recorded: list[CallRecord] = []
    with call_context(correlation_id="case-0001", recorder=recorded.append):
        yield recorded


@pytest.fixture
def salesforce_fake(rsa_key: tuple[str, str]) -> Iterator[SalesforceFake]:
    with SalesforceFake(public_key_pem=rsa_key[1]) as fake:
        yield fake


@pytest.fixture
def netsuite_fake(rsa_key: tuple[str, str]) -> Iterator[NetSuiteFake]:
    with NetSuiteFake(public_key_pem=rsa_key[1]) as fake:
        yield fake


@pytest.fixture
def rest_fake() -> Iterator[RestFake]:
    with RestFake() as fake:
        yield fake


class MemoryUploader:
    """Stands in for S3: keeps what was uploaded and returns the pointer S3DocumentUploader would."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}

    def upload(
        self, *, key: str, content: bytes, content_type: str, file_name: str, document_type: DocumentType
    ) -> Document:
        self.files[key] = content
        return Document(
            bucket="documents-test",
            key=key,
            content_type=content_type,
            document_type=document_type,
            sha256=hashlib.sha256(content).hexdigest(),
            size_bytes=len(content),
            file_name=file_name,
        )
