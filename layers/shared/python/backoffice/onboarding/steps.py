"""The onboarding workflow's steps as plain functions over ports: what each Lambda handler calls.

Each step takes the case's ids and pointers (never whole documents), talks to systems through the connector ports,
and returns what the next state needs. Facts read from the SOW are kept in S3 under the case, not in the state.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NoReturn

from backoffice.assist.models import ClauseSuggestion
from backoffice.connectors.ports import (
    CrmPort,
    ErpPort,
    HrisPort,
    PsaPort,
    RecordNotFound,
    ResourceRequest,
    all_pages,
)
from backoffice.extraction import ExtractionResult, NormalizedDocument, read_local_document
from backoffice.extraction.textract_backend import DocumentAnalysis
from backoffice.firm_settings import firm_config_section
from backoffice.json_files import put_json
from backoffice.models import Client, Document, OpportunityClosedWon, ProjectTemplate, parse_event_as
from backoffice.onboarding.contract_risk import (
    ContractRiskPolicy,
    RiskAssessment,
    assess_contract_risk,
    split_sentences,
)
from backoffice.onboarding.customers import CustomerMatchPolicy, MatchDecision, match_customer
from backoffice.onboarding.project_setup import ProjectSetupPolicy, client_code, plan_project
from backoffice.onboarding.sow_documents import SowFacts, UnreadableSow, contract_from_sow, parse_sow_text
from backoffice.onboarding.staffing import Allocation, RoleRequest, StaffingPolicy, plan_staffing


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


# -- 2. read ------------------------------------------------------------------------------------------------------


def read_statement_of_work(pdf: bytes) -> SowFacts:
    """The SOW's facts from a digital PDF, read by the embedded extractor (no AWS call). A scan has no text layer:
    it needs OCR (Textract), so it goes to a person; a corrupt, encrypted or non-PDF file says why."""
    read = read_local_document(pdf)
    if isinstance(read, ExtractionResult):
        _unreadable(read)
    return _facts_of(read)


def read_statement_of_work_from_analysis(analysis: DocumentAnalysis) -> SowFacts:
    """The SOW's facts from what Amazon Textract read of a scan, taken as from a local read: its lines."""
    if analysis.document is None:
        _unreadable(analysis.result)
    return _facts_of(analysis.document)


def _facts_of(document: NormalizedDocument) -> SowFacts:
    return parse_sow_text("\n".join(line.text for page in document.pages for line in page.lines))


def _unreadable(result: ExtractionResult) -> NoReturn:
    why = result.error.message if result.error else "; ".join(result.reasons)
    error = StatementOfWorkNeedsOcr if result.status == "needs_ocr" else StatementOfWorkUnreadable
    raise error(f"the SOW cannot be read ({result.status}): {why}")


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


# -- 3. contract risk ---------------------------------------------------------------------------------------------


def contract_risk_policy() -> ContractRiskPolicy | None:
    """The ``contract_risk_policy`` of the deployed firm configuration; None: the defaults (DOMAIN.md section 5)."""
    section = firm_config_section("contract_risk_policy")
    return ContractRiskPolicy.from_json_dict(section) if section is not None else None


def contract_risk(facts: SowFacts, policy: ContractRiskPolicy | None = None) -> RiskAssessment:
    """The SOW's risks under ``policy``, else the firm's (``contract_risk_policy``)."""
    return assess_contract_risk(facts.clauses, facts.figures(), policy or contract_risk_policy())


# At most this many of the assistant's suggestions go to legal (the trail keeps every label it gave).
SUGGESTIONS_SHOWN = 20


def clause_suggestions(
    facts: SowFacts, risk: RiskAssessment, classify: Callable[[Sequence[str]], list[ClauseSuggestion]]
) -> list[dict[str, str]]:
    """The sentences the rules did not flag that the assistant (``clause_detection``) labels as a risk type or other
    nonstandard language: shown to legal as "model suggests", never raising the risk level or blocking anything.
    A sentence the rules flagged, or a label the rules already found in its section, is not repeated."""
    sentences = [
        (clause.section, sentence) for clause in facts.clauses for sentence in split_sentences(clause.text)
    ]
    if not sentences:
        return []
    ruled = {(finding.section, finding.rule) for finding in risk.findings}
    ruled_sentences = [" ".join(finding.sentence.split()) for finding in risk.findings]
    shown: list[dict[str, str]] = []
    for suggestion in classify([sentence for _, sentence in sentences]):
        if suggestion.label == "standard" or not 0 <= suggestion.index < len(sentences):
            continue
        section, sentence = sentences[suggestion.index]
        if (section, suggestion.label) in ruled or any(
            sentence in r or r in sentence for r in ruled_sentences
        ):
            continue
        shown.append(
            {
                "section": section,
                "label": suggestion.label,
                "sentence": sentence,
                "why": suggestion.why,
                "model_id": suggestion.model_id,
            }
        )
    return shown[:SUGGESTIONS_SHOWN]


def legal_review_subject(
    deal: OpportunityClosedWon,
    facts: SowFacts,
    risk: RiskAssessment,
    document: str,
    suggestions: Sequence[Mapping[str, str]] = (),
) -> dict[str, Any]:
    """What legal sees in the approval e-mail: the deal, the figures, each finding with its sentence, then what the
    assistant suggests beyond the rules (labelled as such: legal judges it, nothing follows from it)."""
    total = facts.total_fees()
    suggested = [
        f"Model suggests (not a rule finding; yours to judge): §{s['section']} {s['label'].replace('_', ' ')}: "
        f"“{s['sentence']}” — {s['why']}"
        for s in suggestions
    ]
    return {
        "title": f"Contract review: {facts.title or deal.opportunity.name}",
        "client": deal.client.customer_name,
        "amount": str(total if total is not None else deal.opportunity.amount),
        "currency": facts.currency or deal.opportunity.currency,
        "service_line": deal.service_line,
        "risk_level": risk.level,
        "risk_score": float(risk.score),
        "reasons": [
            f"§{f.section} {f.rule.replace('_', ' ')} ({f.severity}): “{f.sentence}” — {f.explanation}"
            for f in risk.findings
        ]
        + suggested,
        # The findings in structure, for the approval summary (approvals.summary).
        "risks": [{"label": f.rule, "severity": f.severity, "sentence": f.sentence} for f in risk.findings],
        "model_suggestions": list(suggestions),
        "document": document,
    }


# -- 4. customer --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CustomerOutcome:
    customer_id: str
    decision: str  # existing | created
    reasons: list[str]


def client_of_record(client: Client, crm: CrmPort) -> Client:
    """The deal's client with the tax id the CRM keeps for its account.

    A tax id never travels in the workflow's state (``start_case`` leaves it out of the execution input), so the
    step that matches the customer reads it from the CRM, the system of record of the account. An account the
    CRM does not have (or keeps without a tax id) leaves the client as the event gave it."""
    try:
        recorded = crm.get_account(client.id)
    except RecordNotFound:
        return client
    if recorded.tax_id is None:
        return client
    return client.model_copy(update={"tax_id": recorded.tax_id})


def match_or_create_customer(
    client: Client, erp: ErpPort, policy: CustomerMatchPolicy | None = None
) -> tuple[CustomerOutcome, MatchDecision]:
    existing = all_pages(erp.list_customers)
    decision = match_customer(client, existing, policy)
    if decision.kind == "existing" and decision.customer_id:
        return CustomerOutcome(decision.customer_id, "existing", list(decision.reasons)), decision
    if decision.kind == "review":
        raise CustomerNeedsReview("; ".join(decision.reasons) or "a near match needs a person to decide")
    created = erp.create_customer(client, idempotency_key=f"customer#{client.id}")
    return CustomerOutcome(created.id, "created", list(decision.reasons)), decision


# -- 5. project ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProjectOutcome:
    project_id: str
    project_code: str
    project_name: str
    created: bool
    warnings: list[str]


def create_project(
    deal: OpportunityClosedWon,
    customer_id: str,
    facts: SowFacts,
    psa: PsaPort,
    templates: list[ProjectTemplate],
    policy: ProjectSetupPolicy | None = None,
) -> ProjectOutcome:
    existing = psa.find_project_by_opportunity(deal.opportunity.id)
    if existing is not None:
        return ProjectOutcome(existing.id, existing.id, existing.project_name, False, [])
    try:
        contract = contract_from_sow(
            facts,
            contract_id=f"SOW-{deal.opportunity.id}",
            client_id=customer_id,
            opportunity_id=deal.opportunity.id,
        )
    except UnreadableSow as error:
        raise ProjectCannotBeSetUp(str(error)) from None
    client = deal.client.model_copy(update={"id": customer_id})
    code = client_code(client.customer_name)
    year = (facts.effective_date or deal.opportunity.close_date).year
    plan = plan_project(
        deal.opportunity,
        client,
        contract,
        templates,
        policy,
        seq=psa.next_project_sequence(code, year),
        service_line=deal.service_line,
        estimated_hours=facts.hours_by_role,
    )
    if not plan.ready:
        raise ProjectCannotBeSetUp("; ".join(plan.reasons))
    created = psa.create_project(plan.project, idempotency_key=f"project#{deal.opportunity.id}")
    return ProjectOutcome(
        created.id, plan.project_code, plan.project.project_name, created.created, list(plan.warnings)
    )


# -- 6. staffing --------------------------------------------------------------------------------------------------


def request_staffing(
    project_id: str,
    facts: SowFacts,
    psa: PsaPort,
    hris: HrisPort,
    policy: StaffingPolicy | None = None,
) -> dict[str, Any]:
    if facts.effective_date is None or facts.end_date is None:
        return {"requests": [], "conflicts": ["the SOW has no term; staffing waits for dates"]}
    workers = all_pages(hris.list_workers)
    booked = [
        Allocation(
            worker_id=a.worker_id,
            project_id=a.project_id,
            start=a.start,
            end=a.end,
            hours_per_week=a.hours_per_week,
        )
        for a in psa.allocations(facts.effective_date, facts.end_date)
    ]
    requested = [
        RoleRequest(role=role, hours=hours, start=facts.effective_date, end=facts.end_date)
        for role, hours in facts.hours_by_role.items()
    ]
    plan = plan_staffing(requested, workers, booked, policy, project_id=project_id)
    requests: list[dict[str, Any]] = []
    conflicts: list[str] = []
    for role in plan.roles:
        proposed = [c.worker_id for c in role.candidates]
        notes = [f"{c.kind}: {c.detail}" for c in role.conflicts]
        created = psa.create_resource_request(
            ResourceRequest(
                project_id=project_id,
                role=role.request.role,
                hours=Decimal(role.request.hours),
                start=role.request.start,
                end=role.request.end,
                skills=tuple(role.request.skills),
                candidate_ids=tuple(proposed),
                conflicts=tuple(notes),
            ),
            idempotency_key=role.assignment_key,
        )
        requests.append({"id": created.id, "role": role.request.role, "proposed": role.proposed_worker_id})
        conflicts.extend(f"{role.request.role}: {note}" for note in notes)
    return {"requests": requests, "conflicts": conflicts}
