"""Salesforce as the CRM port: opportunities, their accounts as clients, and their statements of work.

The finance close lists every Account (``CloseCrmPort.list_accounts``) by SOQL, in the query's batches (a page
token is the ``nextRecordsUrl``), each mapped as ``get_account`` maps one.

The SOW: files linked to the opportunity (``ContentDocumentLink`` -> latest ``ContentVersion``), the one whose title
says SOW or statement of work; its ``VersionData`` is downloaded and stored in S3 through the injected uploader.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from backoffice.connectors.ports import Page
from backoffice.connectors.s3_upload import DocumentUploader
from backoffice.connectors.salesforce_api import SYSTEM, SalesforceApi, salesforce_id, soql_literal
from backoffice.connectors.salesforce_records import load_record
from backoffice.connectors.salesforce_settings import SalesforceSettings
from backoffice.models import Client, Document, Opportunity

_CONTENT_TYPES = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "doc": "application/msword",
    "txt": "text/plain",
}

_OPPORTUNITY_FIELDS = (
    "Id",
    "AccountId",
    "Name",
    "StageName",
    "Amount",
    "CloseDate",
    "IsClosed",
    "IsWon",
    "Probability",
    "OwnerId",
)


def account_fields(settings: SalesforceSettings) -> list[str]:
    """The Account fields ``client_of_account`` reads: the standard ones and those the settings name."""
    optional = (
        settings.country_code_field,
        settings.account_tax_id_field,
        settings.account_billing_email_field,
        settings.account_payment_terms_field,
        "CurrencyIsoCode" if settings.multi_currency else None,
    )
    return [
        "Id",
        "Name",
        "BillingStreet",
        "BillingCity",
        "BillingState",
        "BillingPostalCode",
        "BillingCountry",
        *(f for f in optional if f),
    ]


def _terms_days(value: Any) -> int | None:
    """Payment terms as days: a number, the net days of a label ("Net 30", "2% 10 Net 30", "30 days"), 0 for "Due
    on receipt"; None for anything else (a label that names no days is not guessed)."""
    if isinstance(value, bool) or value in (None, ""):
        return None
    if isinstance(value, int | float | Decimal):
        return int(value)
    if re.fullmatch(r"\s*due\s+(?:up)?on\s+receipt\s*", str(value), re.IGNORECASE):
        return 0
    text = str(value)
    found = re.search(r"\bnet\s*(\d{1,3})\b", text, re.IGNORECASE) or re.fullmatch(
        r"\s*(\d{1,3})(?:\s*days?)?\s*", text, re.IGNORECASE
    )
    return int(found[1]) if found else None


def client_of_account(
    record: Mapping[str, Any], settings: SalesforceSettings, client_id: str | None = None
) -> Client:
    """An Account as the canonical ``Client``: the CRM's account of a deal, and the PSA's account of a client.
    ``client_id``: the id the client goes by (the PSA knows its clients by the ERP's customer id), else the
    Account's."""
    street = [line.strip() for line in str(record.get("BillingStreet") or "").splitlines() if line.strip()]
    country = record.get(settings.country_code_field) if settings.country_code_field else None
    if not country and isinstance(record.get("BillingCountry"), str) and len(record["BillingCountry"]) == 2:
        country = record["BillingCountry"].upper()
    address = None
    if street and record.get("BillingCity") and country:
        address = {
            "line1": street[0],
            "line2": ", ".join(street[1:]) or None,
            "city": record["BillingCity"],
            "region": record.get("BillingState"),
            "postal_code": record.get("BillingPostalCode"),
            "country": country,
        }
    terms = settings.account_payment_terms_field
    client: Client = load_record(
        Client,
        {
            "id": client_id or record.get("Id"),
            "customer_name": record.get("Name"),
            "tax_id": record.get(settings.account_tax_id_field) if settings.account_tax_id_field else None,
            "default_currency": record.get("CurrencyIsoCode") or settings.default_currency,
            "payment_terms_days": _terms_days(record.get(terms)) if terms else None,
            "billing_email": (
                record.get(settings.account_billing_email_field)
                if settings.account_billing_email_field
                else None
            ),
            "address": address,
        },
        "Account",
    )
    return client


class SalesforceCrm:
    """``CrmPort`` on Salesforce: opportunities, their accounts as clients, their SOW files."""

    system = SYSTEM

    def __init__(self, api: SalesforceApi, uploader: DocumentUploader) -> None:
        self.api = api
        self.uploader = uploader

    def get_opportunity(self, opportunity_id: str) -> Opportunity:
        record_id = salesforce_id(opportunity_id, "opportunity")
        fields = [*_OPPORTUNITY_FIELDS, *(["CurrencyIsoCode"] if self.api.settings.multi_currency else [])]
        record = self.api.get_record("Opportunity", record_id, fields, operation="get_opportunity")
        opportunity: Opportunity = load_record(
            Opportunity,
            {
                "id": record.get("Id"),
                "account_id": record.get("AccountId"),
                "name": record.get("Name"),
                "stage_name": record.get("StageName"),
                "amount": record.get("Amount") if record.get("Amount") is not None else 0,
                "close_date": record.get("CloseDate"),
                "is_closed": record.get("IsClosed"),
                "is_won": record.get("IsWon"),
                "currency": record.get("CurrencyIsoCode") or self.api.settings.default_currency,
                "probability": record.get("Probability"),
                "owner_id": record.get("OwnerId"),
            },
            "Opportunity",
        )
        return opportunity

    def get_account(self, account_id: str) -> Client:
        """The Account as the canonical ``Client`` (billing address, currency, optional tax id, e-mail and payment
        terms fields)."""
        record_id = salesforce_id(account_id, "account")
        record = self.api.get_record(
            "Account", record_id, account_fields(self.api.settings), operation="get_account"
        )
        return client_of_account(record, self.api.settings)

    def list_accounts(self, page_token: str | None = None) -> Page[Client]:
        """A batch of the org's Accounts as canonical clients (prospects too: the finance close compares only the
        accounts it can link to a customer), ordered by Id so that batches neither skip nor repeat one."""
        settings = self.api.settings
        if page_token:
            records, following = self.api.query_page(next_url=page_token, operation="list_accounts")
        else:
            records, following = self.api.query_page(
                f"SELECT {', '.join(account_fields(settings))} FROM Account ORDER BY Id",
                operation="list_accounts",
            )
        return Page([client_of_account(record, settings) for record in records], following)

    def sow_document(self, opportunity_id: str) -> Document | None:
        record_id = salesforce_id(opportunity_id, "opportunity")
        links = self.api.query(
            f"SELECT ContentDocumentId FROM ContentDocumentLink WHERE LinkedEntityId = {soql_literal(record_id)}",
            operation="list_attachments",
        )
        document_ids = sorted(
            {str(link["ContentDocumentId"]) for link in links if link.get("ContentDocumentId")}
        )
        if not document_ids:
            return None
        versions = list(
            self.api.query(
                "SELECT Id, Title, PathOnClient, FileExtension, ContentSize, ContentDocumentId, CreatedDate "
                f"FROM ContentVersion WHERE ContentDocumentId IN ({', '.join(soql_literal(d) for d in document_ids)}) "
                "AND IsLatest = true ORDER BY CreatedDate DESC",
                operation="list_attachment_versions",
            )
        )
        pattern = re.compile(self.api.settings.sow_title_pattern)
        named = [
            v
            for v in versions
            if pattern.search(str(v.get("Title") or "")) or pattern.search(str(v.get("PathOnClient") or ""))
        ]
        if not named:
            return None
        # The newest PDF that says it is the SOW; a Word draft only when there is no PDF.
        named.sort(key=lambda v: str(v.get("FileExtension") or "").lower() != "pdf")
        version = named[0]
        version_id = salesforce_id(str(version["Id"]), "content version")
        content = self.api.download(
            f"sobjects/ContentVersion/{version_id}/VersionData",
            operation="download_attachment",
            record_id=version_id,
        )
        extension = str(version.get("FileExtension") or "pdf").lower()
        file_name = str(
            version.get("PathOnClient") or f"{version.get('Title') or 'statement-of-work'}.{extension}"
        )
        safe_name = re.sub(r"[^A-Za-z0-9._]+", "-", file_name).strip("-") or f"statement-of-work.{extension}"
        return self.uploader.upload(
            key=f"crm/opportunities/{record_id}/{version_id}/{safe_name}",
            content=content,
            content_type=_CONTENT_TYPES.get(extension, "application/octet-stream"),
            file_name=file_name,
            document_type="sow",
        )
