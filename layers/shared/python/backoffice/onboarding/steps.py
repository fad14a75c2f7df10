"""The onboarding workflow's steps as plain functions over ports: what each Lambda handler calls.

Each step takes the case's ids and pointers (never whole documents), talks to systems through the connector ports,
and returns what the next state needs. Facts read from the SOW are kept in S3 under the case, not in the state.

Here: what every step shares (the deal, the SOW's facts in S3, the steps' exceptions) and step 1. The later steps
are modules of their own (``reading_step``, ``contract_review_step``, ``customer_step``, ``project_step``,
``staffing_step``), so a handler's cold start imports its own step's rules and readers, not every step's; their
names are exported here too, each imported from its module when first used (PEP 562).
"""

from __future__ import annotations

import importlib
import json
from typing import TYPE_CHECKING, Any

from backoffice.connectors.ports import CrmPort
from backoffice.json_files import put_json
from backoffice.models import Document, OpportunityClosedWon, parse_event_as
from backoffice.onboarding.sow_documents import SowFacts

if TYPE_CHECKING:
    from backoffice.onboarding.contract_review_step import (
        SUGGESTIONS_SHOWN,
        clause_suggestions,
        contract_risk,
        contract_risk_policy,
        legal_review_subject,
    )
    from backoffice.onboarding.customer_step import (
        CustomerOutcome,
        client_of_record,
        match_or_create_customer,
    )
    from backoffice.onboarding.project_step import ProjectOutcome, create_project
    from backoffice.onboarding.reading_step import (
        read_statement_of_work,
        read_statement_of_work_from_analysis,
    )
    from backoffice.onboarding.staffing_step import request_staffing

_EXPORTS: dict[str, str] = {
    "read_statement_of_work": "backoffice.onboarding.reading_step",
    "read_statement_of_work_from_analysis": "backoffice.onboarding.reading_step",
    "SUGGESTIONS_SHOWN": "backoffice.onboarding.contract_review_step",
    "clause_suggestions": "backoffice.onboarding.contract_review_step",
    "contract_risk": "backoffice.onboarding.contract_review_step",
    "contract_risk_policy": "backoffice.onboarding.contract_review_step",
    "legal_review_subject": "backoffice.onboarding.contract_review_step",
    "CustomerOutcome": "backoffice.onboarding.customer_step",
    "client_of_record": "backoffice.onboarding.customer_step",
    "match_or_create_customer": "backoffice.onboarding.customer_step",
    "ProjectOutcome": "backoffice.onboarding.project_step",
    "create_project": "backoffice.onboarding.project_step",
    "request_staffing": "backoffice.onboarding.staffing_step",
}

__all__ = [
    "SUGGESTIONS_SHOWN",
    "CustomerNeedsReview",
    "CustomerOutcome",
    "ProjectCannotBeSetUp",
    "ProjectOutcome",
    "StatementOfWorkMissing",
    "StatementOfWorkNeedsOcr",
    "StatementOfWorkUnreadable",
    "clause_suggestions",
    "client_of_record",
    "contract_risk",
    "contract_risk_policy",
    "create_project",
    "deal_of",
    "facts_key",
    "facts_summary",
    "fetch_statement_of_work",
    "legal_review_subject",
    "load_facts",
    "match_or_create_customer",
    "read_statement_of_work",
    "read_statement_of_work_from_analysis",
    "request_staffing",
    "store_facts",
]


if not TYPE_CHECKING:  # type checkers read the imports above; a misspelt name stays an error for them

    def __getattr__(name: str) -> Any:
        module = _EXPORTS.get(name)
        if module is None:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        globals()[name] = value
        return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})


class StatementOfWorkMissing(Exception):
    """No SOW on the event and none attached to the opportunity in the CRM."""


class StatementOfWorkUnreadable(Exception):
    """The SOW could not be read (scanned without OCR, corrupt, or missing the facts a project needs)."""


class StatementOfWorkNeedsOcr(StatementOfWorkUnreadable):
    """The SOW is a scan (no text layer): Amazon Textract reads it when the firm has turned it on, else a person."""


class CustomerNeedsReview(Exception):
    """The client is close to an existing ERP customer but not certainly the same: a person decides."""


class ProjectCannotBeSetUp(Exception):
    """The SOW's facts do not make a project (for example fixed fee without milestones)."""


def deal_of(event: dict[str, Any]) -> OpportunityClosedWon:
    _, deal = parse_event_as(event, OpportunityClosedWon)
    return deal


# -- 1. fetch -----------------------------------------------------------------------------------------------------


def fetch_statement_of_work(deal: OpportunityClosedWon, crm: CrmPort) -> Document:
    """The SOW named on the event, else the one attached to the opportunity in the CRM."""
    if deal.sow_document is not None:
        return deal.sow_document
    attached = crm.sow_document(deal.opportunity.id)
    if attached is None:
        raise StatementOfWorkMissing(
            f"opportunity {deal.opportunity.id} has no statement of work attached in the CRM; attach the signed "
            "SOW and resume the case"
        )
    return attached


# -- 2. the SOW's facts, kept in S3 under the case ----------------------------------------------------------


def facts_key(case_id: str) -> str:
    return f"cases/{case_id}/sow-facts.json"


def store_facts(s3: Any, bucket: str, case_id: str, facts: SowFacts) -> str:
    key = facts_key(case_id)
    put_json(s3, bucket, key, facts.to_json_dict())
    return key


def load_facts(s3: Any, bucket: str, key: str) -> SowFacts:
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    return SowFacts.from_json_dict(json.loads(body))


def facts_summary(facts: SowFacts) -> dict[str, Any]:
    total = facts.total_fees()
    return {
        "title": facts.title,
        "billing_model": facts.billing_model,
        "currency": facts.currency,
        "total_fees": str(total) if total is not None else None,
        "effective_date": facts.effective_date.isoformat() if facts.effective_date else None,
        "end_date": facts.end_date.isoformat() if facts.end_date else None,
        "sections": len(facts.clauses),
    }
